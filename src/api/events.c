/*
 * GET /events: the daemon's events as JSON lines, the kept ones within since/until first, then the
 * new ones as they come, until `until` or the client goes away. filters: type, event, container,
 * image, label, volume, network, daemon (Docker's matching, events_filter.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/events.h"
#include "lib/timefmt.h"

enum { EVENTS_WAIT_MS = 500 };

struct events_ctx {
	struct eng_events *bus;
	struct MHD_Connection *conn;
	struct eng_events_reader rd;
	struct eng_events_filter *filt;
	char *pending;
	size_t pending_len, pending_off;
};

static void events_free(void *cls)
{
	struct events_ctx *c = cls;
	eng_events_filter_free(c->filt);
	free(c->pending);
	free(c);
}

static ssize_t events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct events_ctx *c = cls;
	while (c->pending_off == c->pending_len) {
		berr e = {0};
		char *line = NULL;
		int r = eng_events_read(c->bus, &c->rd, EVENTS_WAIT_MS, &line, &e);
		int why = e.errnum;
		berr_clear(&e);
		if (r == 0) {
			free(c->pending);
			c->pending = line;
			c->pending_len = strlen(line);
			c->pending_off = 0;
			break;
		}
		if (why == ETIMEDOUT && !api_client_gone(c->conn))
			continue;
		/* past `until`, the daemon stopping, or nobody reading any more */
		return why == ETIMEDOUT ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	}
	size_t n = c->pending_len - c->pending_off;
	if (n > max)
		n = max;
	memcpy(buf, c->pending + c->pending_off, n);
	c->pending_off += n;
	return (ssize_t)n;
}

/* since/until: Unix seconds ("1700000000.5") or RFC 3339; false with a 400 reply for anything else. */
static bool time_param(struct api_request *r, const char *key, bool *has, struct timespec *t)
{
	const char *v = api_query(r, key);
	*has = v && *v;
	if (*has && !b_time_parse(v, t)) {
		api_reply_message(r, 400, "invalid value for %s: \"%s\": expected Unix seconds or an RFC 3339 time",
				  key, v);
		return false;
	}
	return true;
}

static void events(struct api_request *r)
{
	struct eng_events_reader rd = {0};
	json_t *filters;
	if (!time_param(r, "since", &rd.has_since, &rd.since) || !time_param(r, "until", &rd.has_until, &rd.until) ||
	    !api_query_filters(r, &filters))
		return;
	if (rd.has_since && rd.has_until &&
	    (rd.until.tv_sec < rd.since.tv_sec ||
	     (rd.until.tv_sec == rd.since.tv_sec && rd.until.tv_nsec < rd.since.tv_nsec))) {
		json_decref(filters);
		api_reply_message(r, 400, "`since` time (%s) cannot be after `until` time (%s)", api_query(r, "since"),
				  api_query(r, "until"));
		return;
	}
	berr e = {0};
	struct eng_events_filter *filt = NULL;
	int rc = eng_events_filter_new(filters, &filt, &e);
	json_decref(filters);
	if (rc < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	struct events_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		eng_events_filter_free(filt);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	c->bus = eng_events_of(r->eng);
	c->conn = r->conn;
	c->filt = filt;
	c->rd = rd;
	c->rd.filt = filt;
	eng_events_reader_init(c->bus, &c->rd);
	api_reply_stream(r, 200, "application/json", events_read, c, events_free);
}

const struct api_route api_event_routes[] = {
    {"GET", "/events", events, 0},
    {0},
};
