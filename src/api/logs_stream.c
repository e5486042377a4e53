/*
 * GET /containers/{id}/logs: entries of the container's json-file log, filtered (stdout, stderr,
 * since, until, tail), optionally time-stamped, framed as Docker frames them when the container
 * has no terminal (8 bytes: stream, 0, 0, 0, big-endian length), and followed while it runs.
 */
#include "api/logs_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/logs.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"

struct logs_ctx {
	struct eng *eng;
	char *name;
	FILE *f;
	bool follow, want_out, want_err, timestamps, tty;
	bool has_since, has_until;
	struct timespec since, until;
	/* An entry that did not fit in the last buffer. */
	char *pending;
	size_t pending_len, pending_off;
	bool ended;
};

static void logs_free(void *cls)
{
	struct logs_ctx *c = cls;
	if (c->f)
		fclose(c->f);
	free(c->name);
	free(c->pending);
	free(c);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The next entry to send, framed, into c->pending; false at the end of what is there now. */
static bool next_entry(struct logs_ctx *c)
{
	for (;;) {
		char *line = NULL;
		size_t cap = 0;
		long at = ftell(c->f);
		ssize_t n = getline(&line, &cap, c->f);
		if (n <= 0 || line[n - 1] != '\n') {
			/* Nothing more, or a line the monitor is still writing: come back for it. */
			free(line);
			clearerr(c->f);
			if (at >= 0)
				fseek(c->f, at, SEEK_SET);
			return false;
		}
		struct eng_log_entry ent;
		berr e = {0};
		int r = eng_log_decode(line, (size_t)n - 1, &ent, &e);
		free(line);
		berr_clear(&e);
		if (r < 0)
			continue; /* not ours: skip it as Docker's reader does */
		bool want = (ent.stream == ENG_LOG_STDOUT ? c->want_out : c->want_err) &&
			    !(c->has_since && before(&ent.time, &c->since)) &&
			    !(c->has_until && !before(&ent.time, &c->until));
		if (!want) {
			eng_log_entry_free(&ent);
			continue;
		}
		char ts[B_TIME_LEN + 1] = "";
		if (c->timestamps) {
			b_time_format(&ent.time, ts);
			strcat(ts, " ");
		}
		size_t ts_len = strlen(ts), header = c->tty ? 0 : 8, len = ts_len + ent.len;
		free(c->pending);
		c->pending = malloc(header + len);
		if (!c->pending) {
			eng_log_entry_free(&ent);
			return false;
		}
		if (header) {
			c->pending[0] = (char)ent.stream;
			c->pending[1] = c->pending[2] = c->pending[3] = 0;
			c->pending[4] = (char)((len >> 24) & 0xff);
			c->pending[5] = (char)((len >> 16) & 0xff);
			c->pending[6] = (char)((len >> 8) & 0xff);
			c->pending[7] = (char)(len & 0xff);
		}
		memcpy(c->pending + header, ts, ts_len);
		memcpy(c->pending + header + ts_len, ent.data, ent.len);
		c->pending_len = header + len;
		c->pending_off = 0;
		eng_log_entry_free(&ent);
		return true;
	}
}

static ssize_t logs_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct logs_ctx *c = cls;
	for (;;) {
		size_t out = 0;
		while (out < max) {
			if (c->pending_off < c->pending_len) {
				size_t n = c->pending_len - c->pending_off;
				if (n > max - out)
					n = max - out;
				memcpy(buf + out, c->pending + c->pending_off, n);
				c->pending_off += n;
				out += n;
				continue;
			}
			if (!next_entry(c))
				break;
		}
		if (out > 0)
			return (ssize_t)out;
		if (!c->follow || c->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* Caught up: wait for more output or for the container to stop, then read what is left once more. */
		if (eng_container_wait_stopped(c->eng, c->name, 250))
			c->ended = true;
	}
}

/* Position f at the start of the last `tail` lines. */
static void seek_tail(FILE *f, long long tail)
{
	if (tail < 0)
		return;
	if (fseek(f, 0, SEEK_END) < 0)
		return;
	long end = ftell(f), pos = end;
	long long lines = 0;
	char buf[8192];
	while (pos > 0) {
		long chunk = pos > (long)sizeof buf ? (long)sizeof buf : pos;
		pos -= chunk;
		fseek(f, pos, SEEK_SET);
		if (fread(buf, 1, (size_t)chunk, f) != (size_t)chunk)
			break;
		for (long i = chunk - 1; i >= 0; i--) {
			if (buf[i] != '\n' || pos + i == end - 1)
				continue;
			if (++lines == tail) {
				fseek(f, pos + i + 1, SEEK_SET);
				return;
			}
		}
	}
	if (tail == 0)
		fseek(f, end, SEEK_SET);
	else
		fseek(f, 0, SEEK_SET);
}

void api_container_logs(struct api_request *r)
{
	bool out = api_query_bool(r, "stdout", false), err = api_query_bool(r, "stderr", false);
	if (!out && !err) {
		api_reply_message(r, 400, "You must choose at least one stream");
		return;
	}
	struct logs_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	c->eng = r->eng;
	c->want_out = out;
	c->want_err = err;
	c->follow = api_query_bool(r, "follow", false);
	c->timestamps = api_query_bool(r, "timestamps", false);
	const char *since = api_query(r, "since"), *until = api_query(r, "until"), *tail = api_query(r, "tail");
	if (since && *since && strcmp(since, "0") != 0) {
		if (!b_time_parse(since, &c->since)) {
			api_reply_message(r, 400, "invalid value for since: \"%s\"", since);
			logs_free(c);
			return;
		}
		c->has_since = true;
	}
	if (until && *until && strcmp(until, "0") != 0) {
		if (!b_time_parse(until, &c->until)) {
			api_reply_message(r, 400, "invalid value for until: \"%s\"", until);
			logs_free(c);
			return;
		}
		c->has_until = true;
	}
	long long tail_n = -1;
	if (tail && *tail && strcmp(tail, "all") != 0) {
		char *end;
		tail_n = strtoll(tail, &end, 10);
		if (*end || tail_n < 0)
			tail_n = -1; /* Docker reads a bad tail as "all" */
	}
	struct eng_log_source src;
	berr e = {0};
	if (eng_container_log_source(r->eng, r->params[0], &src, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		logs_free(c);
		return;
	}
	c->tty = src.tty;
	c->name = strdup(r->params[0]);
	c->f = fopen(src.path, "re");
	eng_log_source_free(&src);
	if (!c->f && errno != ENOENT) {
		api_reply_message(r, 500, "opening the log: %s", strerror(errno));
		logs_free(c);
		return;
	}
	if (!c->f)
		c->f = fopen("/dev/null", "re"); /* never started: no log yet */
	seek_tail(c->f, tail_n);
	api_reply_stream(r, 200,
			 c->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
			 logs_read, c, logs_free);
}
