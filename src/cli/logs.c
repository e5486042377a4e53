/* berth logs: GET /containers/{id}/logs, demultiplexed (or raw for a terminal), -f -t --tail --since --until. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/fd.h"
#include "lib/timefmt.h"

/* Docker's GetTimestamp: a duration ("10m") before now, a date, or Unix seconds -> "sec.nsec". */
char *cli_timestamp_arg(const char *v)
{
	double d;
	struct timespec ts;
	struct cli_buf b = {0};
	if (cli_parse_duration(v, &d)) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double t = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - d;
		cli_buf_add(&b, "%.9f", t);
	} else if (b_time_parse(v, &ts)) {
		cli_buf_add(&b, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
	} else {
		cli_buf_add(&b, "%s", v);
	}
	return b.s;
}

static int raw_sink(void *arg, const char *buf, size_t len)
{
	return b_write_all(STDOUT_FILENO, buf, len);
}

static int demux_sink(void *arg, const char *buf, size_t len)
{
	return cli_demux_feed(arg, buf, len);
}

int cli_verb_logs(struct cli *c, struct cli_args *a)
{
	struct cli_resp r;
	berr e = {0};
	json_t *info = cli_container_inspect(c, a->pos[0], &r, &e);
	if (!info) {
		if (r.status)
			cli_print_daemon_error("", &r);
		else
			cli_print_connect_error(c, "", &e);
		cli_resp_free(&r);
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	cli_resp_free(&r);
	bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
	json_decref(info);

	struct cli_buf path = {0};
	char *esc = cli_escape(a->pos[0]);
	cli_buf_add(&path, "/containers/%s/logs?stdout=1&stderr=1", esc);
	free(esc);
	if (cli_arg_bool(a, "follow"))
		cli_buf_query(&path, "follow", "1");
	if (cli_arg_bool(a, "timestamps"))
		cli_buf_query(&path, "timestamps", "1");
	if (cli_arg_bool(a, "details"))
		cli_buf_query(&path, "details", "1");
	const char *v;
	if ((v = cli_arg_str(a, "tail")))
		cli_buf_query(&path, "tail", v);
	const char *keys[] = {"since", "until"};
	for (size_t i = 0; i < 2; i++) {
		if ((v = cli_arg_str(a, keys[i])) && *v) {
			char *t = cli_timestamp_arg(v);
			cli_buf_query(&path, keys[i], t);
			free(t);
		}
	}
	struct cli_demux dm = {0};
	struct cli_stream_req req = {
	    .method = "GET", .path = path.s, .upload_fd = -1, .sink = tty ? raw_sink : demux_sink, .sink_arg = &dm};
	int rc = cli_http_stream(c, &req, &r, &e);
	cli_buf_free(&path);
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		berr_clear(&e);
		cli_resp_free(&r);
		return CLI_EXIT_FAIL;
	}
	int status = 0;
	if (r.status >= 300) {
		cli_print_daemon_error("", &r);
		status = CLI_EXIT_FAIL;
	}
	cli_resp_free(&r);
	return status;
}
