/*
 * `berth stats`: containers' resource use from GET /containers/{id}/stats, one stream (a thread)
 * per container, figured as docker's CLI figures it (CPU % from the deltas to precpu_stats, memory
 * without the inactive page cache) and printed in its table: once with --no-stream, else every
 * half second (redrawn in place on a terminal, one block after another elsewhere).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"

struct stats_entry {
	char *asked; /* as given, or the ID when listed */
	json_t *last;
	bool done;
	struct cli_resp resp; /* the reply, for its error */
	int rc;
	berr e;
	/* the thread's own copy of the host (each request has a connection of its own) */
	struct cli conn;
	bool stream;
	char *line; /* the partial JSON line */
	size_t line_len;
	pthread_t thread;
	bool started;
	bool removed; /* the container stopped or went (when following): no longer shown */
};

/* The containers watched; entries are never freed while a stream may run (we exit instead). */
static struct {
	struct stats_entry **v;
	size_t n, cap;
} watched;

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

static void take_doc(struct stats_entry *s, const char *text, size_t len)
{
	json_t *doc = json_loadb(text, len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return;
	}
	pthread_mutex_lock(&stats_lock);
	json_decref(s->last);
	s->last = doc;
	pthread_mutex_unlock(&stats_lock);
}

/* The body: one JSON document a line. */
static int stats_sink(void *arg, const char *buf, size_t len)
{
	struct stats_entry *s = arg;
	char *grown = realloc(s->line, s->line_len + len + 1);
	if (!grown)
		return -1;
	s->line = grown;
	memcpy(s->line + s->line_len, buf, len);
	s->line_len += len;
	char *nl;
	while ((nl = memchr(s->line, '\n', s->line_len))) {
		size_t n = (size_t)(nl - s->line);
		if (n)
			take_doc(s, s->line, n);
		memmove(s->line, nl + 1, s->line_len - n - 1);
		s->line_len -= n + 1;
	}
	return 0;
}

static void *stats_run(void *arg)
{
	struct stats_entry *s = arg;
	char *id = cli_escape(s->asked);
	struct cli_buf path = {0};
	cli_buf_add(&path, "/containers/%s/stats?stream=%s", id, s->stream ? "true" : "false");
	struct cli_stream_req req = {
	    .method = "GET", .path = path.s, .upload_fd = -1, .sink = stats_sink, .sink_arg = s};
	s->rc = cli_http_stream(&s->conn, &req, &s->resp, &s->e);
	if (s->line_len)
		take_doc(s, s->line, s->line_len);
	pthread_mutex_lock(&stats_lock);
	s->done = true;
	pthread_mutex_unlock(&stats_lock);
	free(id);
	cli_buf_free(&path);
	return NULL;
}

static uint64_t num(json_t *doc, const char *path)
{
	json_t *v = doc;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v)
	       : json_is_real(v)  ? (uint64_t)json_real_value(v)
				  : 0;
}

/* One row of docker's stats table from a stats document (NULL: not read yet). */
static json_t *stats_row(const struct stats_entry *s, json_t *doc, bool trunc)
{
	char cpu[32] = "--", mem[80] = "-- / --", memp[32] = "--", net[80] = "--", blk[80] = "--", pids[32] = "--";
	const char *id = doc ? json_string_value(json_object_get(doc, "id")) : NULL;
	const char *name = doc ? json_string_value(json_object_get(doc, "name")) : NULL;
	if (doc) {
		double cpu_delta = (double)num(doc, "cpu_stats.cpu_usage.total_usage") -
				   (double)num(doc, "precpu_stats.cpu_usage.total_usage");
		double sys_delta =
		    (double)num(doc, "cpu_stats.system_cpu_usage") - (double)num(doc, "precpu_stats.system_cpu_usage");
		double online = (double)num(doc, "cpu_stats.online_cpus");
		if (online == 0)
			online = (double)json_array_size(json_object_get(
			    json_object_get(json_object_get(doc, "cpu_stats"), "cpu_usage"), "percpu_usage"));
		double cpu_pct = sys_delta > 0 && cpu_delta > 0 ? cpu_delta / sys_delta * online * 100.0 : 0;
		snprintf(cpu, sizeof cpu, "%.2f%%", cpu_pct);
		/* Memory without the page cache the kernel may drop (cgroup v1, then v2). */
		double usage = (double)num(doc, "memory_stats.usage");
		json_t *mstats = json_object_get(json_object_get(doc, "memory_stats"), "stats");
		json_t *inactive = json_object_get(mstats, "total_inactive_file");
		if (!inactive)
			inactive = json_object_get(mstats, "inactive_file");
		if (inactive && (double)json_integer_value(inactive) < usage)
			usage -= (double)json_integer_value(inactive);
		double limit = (double)num(doc, "memory_stats.limit");
		char used_s[32], limit_s[32];
		cli_human_size_binary(usage, used_s, sizeof used_s);
		cli_human_size_binary(limit, limit_s, sizeof limit_s);
		snprintf(mem, sizeof mem, "%s / %s", used_s, limit_s);
		snprintf(memp, sizeof memp, "%.2f%%", limit != 0 ? usage / limit * 100.0 : 0.0);
		double rx = 0, tx = 0, rd = 0, wr = 0;
		const char *k;
		json_t *v;
		json_object_foreach (json_object_get(doc, "networks"), k, v) {
			rx += (double)num(v, "rx_bytes");
			tx += (double)num(v, "tx_bytes");
		}
		size_t i;
		json_array_foreach (json_object_get(json_object_get(doc, "blkio_stats"), "io_service_bytes_recursive"),
				    i, v) {
			const char *op = json_string_value(json_object_get(v, "op"));
			if (op && strcasecmp(op, "read") == 0)
				rd += (double)num(v, "value");
			else if (op && strcasecmp(op, "write") == 0)
				wr += (double)num(v, "value");
		}
		char a[32], b[32];
		cli_human_size(rx, a, sizeof a);
		cli_human_size(tx, b, sizeof b);
		snprintf(net, sizeof net, "%s / %s", a, b);
		cli_human_size(rd, a, sizeof a);
		cli_human_size(wr, b, sizeof b);
		snprintf(blk, sizeof blk, "%s / %s", a, b);
		snprintf(pids, sizeof pids, "%llu", (unsigned long long)num(doc, "pids_stats.current"));
	}
	char short_id[13];
	const char *shown_id = id ? id : s->asked;
	if (trunc) {
		snprintf(short_id, sizeof short_id, "%s", shown_id);
		shown_id = short_id;
	}
	if (name && *name == '/')
		name++;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", s->asked, "ID", shown_id, "Name",
			 name && *name ? name : "--", "CPUPerc", cpu, "MemUsage", mem, "MemPerc", memp, "NetIO", net,
			 "BlockIO", blk, "PIDs", pids);
}

static const char stats_default[] =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/* The table of what the streams have said so far, into a string (printed in one write). */
static int render(const char *format, bool trunc, char **text)
{
	json_t *rows = json_array();
	pthread_mutex_lock(&stats_lock);
	for (size_t i = 0; i < watched.n; i++)
		if (!watched.v[i]->removed)
			json_array_append_new(rows, stats_row(watched.v[i], watched.v[i]->last, trunc));
	pthread_mutex_unlock(&stats_lock);
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Container", "CONTAINER", "ID",
				   "CONTAINER ID", "Name", "NAME", "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT",
				   "MemPerc", "MEM %", "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS");
	size_t len = 0;
	FILE *f = open_memstream(text, &len);
	int rc = f ? cli_print_rows_to(f, rows, format, stats_default, header) : CLI_EXIT_FAIL;
	if (f)
		fclose(f);
	json_decref(rows);
	json_decref(header);
	return rc;
}

/* The containers to watch: those named, else the running ones (all with -a). */
static int stats_targets(struct cli *c, struct cli_args *a, char ***out, size_t *n)
{
	*n = 0;
	if (a->npos) {
		*out = calloc(a->npos, sizeof **out);
		for (size_t i = 0; i < a->npos; i++)
			(*out)[(*n)++] = strdup(a->pos[i]);
		return 0;
	}
	json_t *list = cli_get_json(c, cli_arg_bool(a, "all") ? "/containers/json?all=1" : "/containers/json");
	if (!list)
		return -1;
	*out = calloc(json_array_size(list) + 1, sizeof **out);
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v)
		(*out)[(*n)++] = strdup(json_string_value(json_object_get(v, "Id")) ?: "");
	json_decref(list);
	return 0;
}

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* Start watching a container (once); the caller holds stats_lock. */
static void watch(struct cli *c, const char *id, bool stream)
{
	for (size_t i = 0; i < watched.n; i++)
		if (strcmp(watched.v[i]->asked, id) == 0) {
			watched.v[i]->removed = false;
			return;
		}
	if (watched.n == watched.cap) {
		size_t cap = watched.cap ? watched.cap * 2 : 16;
		struct stats_entry **v = realloc(watched.v, cap * sizeof *v);
		if (!v)
			return;
		watched.v = v;
		watched.cap = cap;
	}
	struct stats_entry *s = calloc(1, sizeof *s);
	if (!s || !(s->asked = strdup(id))) {
		free(s);
		return;
	}
	s->stream = stream;
	s->conn = (struct cli){.host = c->host, .sock_path = c->sock_path};
	s->started = pthread_create(&s->thread, NULL, stats_run, s) == 0;
	s->done = !s->started;
	watched.v[watched.n++] = s;
}

/* Without arguments, docker follows the containers that start (and with -a, that are made) and
 * those that stop or go, by the event stream: so do we. */
struct follow {
	struct cli *c;
	struct cli conn;
	bool all;
	char *line;
	size_t line_len;
};

static void follow_event(struct follow *f, const char *text, size_t len)
{
	json_t *ev = json_loadb(text, len, 0, NULL);
	const char *action = json_string_value(json_object_get(ev, "Action"));
	const char *id = json_string_value(json_object_get(json_object_get(ev, "Actor"), "ID"));
	if (action && id) {
		pthread_mutex_lock(&stats_lock);
		if (strcmp(action, "start") == 0 || (f->all && strcmp(action, "create") == 0)) {
			watch(f->c, id, true);
		} else if (strcmp(action, "destroy") == 0 || (!f->all && strcmp(action, "die") == 0)) {
			for (size_t i = 0; i < watched.n; i++)
				if (strcmp(watched.v[i]->asked, id) == 0)
					watched.v[i]->removed = true;
		}
		pthread_mutex_unlock(&stats_lock);
	}
	json_decref(ev);
}

static int follow_sink(void *arg, const char *buf, size_t len)
{
	struct follow *f = arg;
	char *grown = realloc(f->line, f->line_len + len + 1);
	if (!grown)
		return -1;
	f->line = grown;
	memcpy(f->line + f->line_len, buf, len);
	f->line_len += len;
	char *nl;
	while ((nl = memchr(f->line, '\n', f->line_len))) {
		size_t n = (size_t)(nl - f->line);
		if (n)
			follow_event(f, f->line, n);
		memmove(f->line, nl + 1, f->line_len - n - 1);
		f->line_len -= n + 1;
	}
	return 0;
}

static void *follow_run(void *arg)
{
	struct follow *f = arg;
	struct cli_buf path = {0};
	cli_buf_add(&path, "/events");
	cli_buf_query(&path, "filters", "{\"type\":{\"container\":true}}");
	struct cli_stream_req req = {
	    .method = "GET", .path = path.s, .upload_fd = -1, .sink = follow_sink, .sink_arg = f};
	struct cli_resp r;
	berr e = {0};
	if (cli_http_stream(&f->conn, &req, &r, &e) == 0)
		cli_resp_free(&r);
	berr_clear(&e);
	cli_buf_free(&path);
	return NULL;
}

static void print_stream_errors(struct cli *c, int *status)
{
	pthread_mutex_lock(&stats_lock);
	for (size_t i = 0; i < watched.n; i++) {
		struct stats_entry *s = watched.v[i];
		if (s->done && s->rc < 0) {
			cli_print_connect_error(c, "", &s->e);
			*status = CLI_EXIT_FAIL;
		} else if (s->done && s->resp.status >= 300) {
			cli_print_daemon_error("", &s->resp);
			*status = CLI_EXIT_FAIL;
		}
	}
	pthread_mutex_unlock(&stats_lock);
}

/* One frame: in place on a terminal (home, each line cleared to its end, the rest cleared). */
static void draw_frame(const char *text, bool tty)
{
	if (!tty) {
		fputs(text, stdout);
		fflush(stdout);
		return;
	}
	fputs("\033[H", stdout);
	for (const char *line = text, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl) {
			fputs(line, stdout);
			break;
		}
		fwrite(line, 1, (size_t)(nl - line), stdout);
		fputs("\033[K\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

int cli_verb_stats(struct cli *c, struct cli_args *a)
{
	char **targets = NULL;
	size_t n = 0;
	if (stats_targets(c, a, &targets, &n) < 0)
		return CLI_EXIT_FAIL;
	bool stream = !cli_arg_bool(a, "no-stream");
	bool trunc = !cli_arg_bool(a, "no-trunc");
	bool following = stream && a->npos == 0;
	const char *format = cli_arg_str(a, "format");
	static struct follow f;
	pthread_t follower;
	if (following) {
		/* Subscribed before the list is read again, so that nothing starts unseen in between. */
		f = (struct follow){
		    .c = c, .conn = {.host = c->host, .sock_path = c->sock_path}, .all = cli_arg_bool(a, "all")};
		pthread_create(&follower, NULL, follow_run, &f);
	}
	pthread_mutex_lock(&stats_lock);
	for (size_t i = 0; i < n; i++)
		watch(c, targets[i], stream);
	pthread_mutex_unlock(&stats_lock);
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
	int status = 0;
	if (!stream) {
		for (size_t i = 0; i < watched.n; i++)
			if (watched.v[i]->started)
				pthread_join(watched.v[i]->thread, NULL);
		print_stream_errors(c, &status);
		char *text = NULL;
		if (status == 0 && (status = render(format, trunc, &text)) == 0)
			fputs(text, stdout);
		free(text);
		for (size_t i = 0; i < watched.n; i++) {
			struct stats_entry *s = watched.v[i];
			json_decref(s->last);
			cli_resp_free(&s->resp);
			berr_clear(&s->e);
			free(s->line);
			free(s->asked);
			free(s);
		}
		free(watched.v);
		return status;
	}
	bool tty = isatty(STDOUT_FILENO);
	if (tty)
		fputs("\033[2J", stdout);
	for (;;) {
		nap_ms(500);
		/* Named containers: a stream that failed ends it all, as do all streams ended. */
		bool all_done = true, failed = false;
		pthread_mutex_lock(&stats_lock);
		for (size_t i = 0; i < watched.n; i++) {
			all_done &= watched.v[i]->done;
			failed |= watched.v[i]->done && (watched.v[i]->rc < 0 || watched.v[i]->resp.status >= 300);
		}
		pthread_mutex_unlock(&stats_lock);
		if (!following && failed)
			break;
		char *text = NULL;
		if ((status = render(format, trunc, &text)) != 0) {
			free(text);
			break;
		}
		draw_frame(text, tty);
		free(text);
		if (!following && all_done && watched.n)
			break;
	}
	if (!following)
		print_stream_errors(c, &status);
	fflush(stdout);
	/* Streams still open are left to the exit: their threads block in reads. */
	_exit(status);
}
