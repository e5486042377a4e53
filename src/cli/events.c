/*
 * `berth events` (and `system events`): GET /events as it streams, one line an event in docker's
 * layout: "2024-01-01T00:00:00.000000000Z container start ID (image=..., name=...)", or --format.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_internal.h"

struct events_out {
	struct cli_template *tmpl; /* --format, else docker's line */
	bool go_json;              /* --format '{{json .}}': the event as Go marshals its struct */
	char *line;                /* a partial JSON line */
	size_t line_len;
	int failed;
};

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* RFC3339 with nanoseconds in local time, as Go's RFC3339NanoFixed prints it. */
static void event_time(json_t *ev, struct cli_buf *out)
{
	json_int_t nano = json_integer_value(json_object_get(ev, "timeNano"));
	time_t sec = nano ? (time_t)(nano / 1000000000) : (time_t)json_integer_value(json_object_get(ev, "time"));
	long nsec = nano ? (long)(nano % 1000000000) : 0;
	if (!sec)
		return;
	struct tm tm;
	localtime_r(&sec, &tm);
	char date[32];
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	cli_buf_add(out, "%s.%09ld", date, nsec);
	long off = tm.tm_gmtoff;
	if (off == 0)
		cli_buf_add(out, "Z ");
	else
		cli_buf_add(out, "%c%02ld:%02ld ", off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60);
}

static void event_line(json_t *ev, struct cli_buf *out)
{
	event_time(ev, out);
	json_t *actor = json_object_get(ev, "Actor");
	cli_buf_add(out, "%s %s %s", json_string_value(json_object_get(ev, "Type")) ?: "",
		    json_string_value(json_object_get(ev, "Action")) ?: "",
		    json_string_value(json_object_get(actor, "ID")) ?: "");
	json_t *attrs = json_object_get(actor, "Attributes");
	size_t n = json_object_size(attrs);
	if (n) {
		const char **keys = calloc(n, sizeof *keys);
		size_t k = 0;
		const char *key;
		json_t *v;
		json_object_foreach (attrs, key, v)
			keys[k++] = key;
		qsort(keys, k, sizeof *keys, compare_keys);
		cli_buf_add(out, " (");
		for (size_t i = 0; i < k; i++)
			cli_buf_add(out, "%s%s=%s", i ? ", " : "", keys[i],
				    json_string_value(json_object_get(attrs, keys[i])) ?: "");
		cli_buf_add(out, ")");
		free(keys);
	}
}

/* A new object: the event's fields in the order of Go's events.Message, attributes sorted (a Go map). */
static json_t *ordered_event(json_t *ev)
{
	static const char *const order[] = {"status", "id",    "from", "Type",    "Action",
					    "Actor",  "scope", "time", "timeNano"};
	json_t *out = json_object();
	for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
		json_t *v = json_object_get(ev, order[i]);
		if (!v)
			continue;
		if (strcmp(order[i], "Actor") == 0) {
			json_t *actor = json_object(), *attrs = json_object_get(v, "Attributes");
			json_t *id = json_object_get(v, "ID");
			json_object_set_new(actor, "ID", id ? json_incref(id) : json_string(""));
			char *sorted = json_dumps(attrs ? attrs : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
			json_object_set_new(actor, "Attributes", json_loads(sorted ? sorted : "{}", 0, NULL));
			free(sorted);
			v = actor;
			json_object_set_new(out, order[i], v);
		} else {
			json_object_set(out, order[i], v);
		}
	}
	return out;
}

static void print_event(struct events_out *o, const char *text, size_t len)
{
	json_t *ev = json_loadb(text, len, 0, NULL);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return;
	}
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	berr e = {0};
	if (o->go_json) {
		json_t *ordered = ordered_event(ev);
		char *text_out = json_dumps(ordered, JSON_COMPACT);
		cli_buf_add(&out, "%s", text_out ? text_out : "");
		free(text_out);
		json_decref(ordered);
	} else if (o->tmpl) {
		if (cli_template_exec(o->tmpl, ev, &out, &e) < 0) {
			fprintf(stderr, "%s\n", berr_msg(&e));
			berr_clear(&e);
			o->failed = 1;
		}
	} else {
		event_line(ev, &out);
	}
	if (!o->failed) {
		fputs(out.s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	cli_buf_free(&out);
	json_decref(ev);
}

static int events_sink(void *arg, const char *buf, size_t len)
{
	struct events_out *o = arg;
	char *grown = realloc(o->line, o->line_len + len + 1);
	if (!grown)
		return -1;
	o->line = grown;
	memcpy(o->line + o->line_len, buf, len);
	o->line_len += len;
	char *nl;
	while ((nl = memchr(o->line, '\n', o->line_len))) {
		size_t n = (size_t)(nl - o->line);
		if (n)
			print_event(o, o->line, n);
		memmove(o->line, nl + 1, o->line_len - n - 1);
		o->line_len -= n + 1;
	}
	return o->failed ? -1 : 0;
}

int cli_verb_events(struct cli *c, struct cli_args *a)
{
	struct events_out o = {0};
	const char *format = cli_arg_str(a, "format");
	berr e = {0};
	if (format && *format) {
		bool table;
		char *text = cli_format_prepare(format, &table);
		o.go_json = strcmp(text, "{{json .}}") == 0;
		o.tmpl = cli_template_parse(text, &e);
		free(text);
		if (!o.tmpl) {
			fprintf(stderr, "template parsing error: %s\n", berr_msg(&e));
			berr_clear(&e);
			return CLI_EXIT_ENGINE;
		}
	}
	char *filters = NULL;
	int rc = cli_filters_json(a, &filters);
	if (rc) {
		cli_template_free(o.tmpl);
		return rc;
	}
	struct cli_buf path = {0};
	cli_buf_add(&path, "/events");
	const char *keys[] = {"since", "until"};
	for (size_t i = 0; i < 2; i++) {
		const char *v = cli_arg_str(a, keys[i]);
		if (v && *v) {
			char *t = cli_timestamp_arg(v);
			cli_buf_query(&path, keys[i], t);
			free(t);
		}
	}
	if (filters)
		cli_buf_query(&path, "filters", filters);
	free(filters);
	struct cli_stream_req req = {
	    .method = "GET", .path = path.s, .upload_fd = -1, .sink = events_sink, .sink_arg = &o};
	struct cli_resp r;
	int status = 0;
	if (cli_http_stream(c, &req, &r, &e) < 0) {
		if (!o.failed)
			cli_print_connect_error(c, "", &e);
		status = CLI_EXIT_FAIL;
	} else {
		if (r.status >= 300) {
			cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
		} else if (o.line_len) {
			print_event(&o, o.line, o.line_len);
		}
		cli_resp_free(&r);
	}
	berr_clear(&e);
	cli_buf_free(&path);
	cli_template_free(o.tmpl);
	free(o.line);
	return status;
}
