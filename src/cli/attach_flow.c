/*
 * Attaching to a container as docker's CLI does for run, start -a and attach: the hijacked
 * stream first, a wait that is already in flight, then the start, the streams, and the exit code.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

json_t *cli_container_inspect(struct cli *c, const char *id, struct cli_resp *resp, berr *e)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s/json", esc);
	free(esc);
	int r = cli_http(c, "GET", path.s, NULL, resp, e);
	cli_buf_free(&path);
	if (r < 0 || resp->status != 200)
		return NULL;
	return cli_resp_json(resp, e);
}

int cli_start_error_code(const char *message)
{
	/* Docker's rule, by the words of the runtime's error. */
	if (strstr(message, "executable file not found") || strstr(message, "no such file or directory") ||
	    strstr(message, "No such file or directory") || strstr(message, "system cannot find the file specified"))
		return CLI_EXIT_NOT_FOUND;
	if (strstr(message, "permission denied") || strstr(message, "Permission denied") ||
	    strstr(message, "is a directory") || strstr(message, "Is a directory"))
		return CLI_EXIT_NOT_EXEC;
	return CLI_EXIT_ENGINE;
}

/* The reply of a raw request that failed: print its message as a daemon error. */
static void print_conn_error(struct cli_conn *cn, const char *prefix)
{
	struct cli_resp r = {.status = cn->status};
	berr e = {0};
	if (cli_conn_read_body(cn, &r.body, &r.len, &e) < 0)
		r.body = strdup("");
	cli_print_daemon_error(prefix, &r);
	cli_resp_free(&r);
	berr_clear(&e);
}

static int open_attach(struct cli *c, const char *id, const struct cli_attach_opts *o, struct cli_conn *cn)
{
	const char *prefix = o->err_prefix;
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s/attach?stream=1&stdin=%d&stdout=1&stderr=1", esc, o->in ? 1 : 0);
	free(esc);
	if (o->detach_keys)
		cli_buf_query(&path, "detachKeys", o->detach_keys);
	berr e = {0};
	int r = cli_conn_request(c, "POST", path.s, "Connection: Upgrade\r\nUpgrade: tcp\r\n", NULL, cn, &e);
	cli_buf_free(&path);
	if (r < 0) {
		cli_print_connect_error(c, prefix, &e);
		berr_clear(&e);
		return -1;
	}
	if (cn->status != 101 && cn->status != 200) {
		print_conn_error(cn, prefix);
		cli_conn_close(cn);
		return -1;
	}
	return 0;
}

static int open_wait(struct cli *c, const char *id, const char *condition, struct cli_conn *cn, const char *prefix)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s/wait?condition=%s", esc, condition);
	free(esc);
	berr e = {0};
	int r = cli_conn_request(c, "POST", path.s, "Connection: close\r\n", NULL, cn, &e);
	cli_buf_free(&path);
	if (r < 0) {
		cli_print_connect_error(c, prefix, &e);
		berr_clear(&e);
		return -1;
	}
	if (cn->status != 200) {
		print_conn_error(cn, prefix);
		cli_conn_close(cn);
		return -1;
	}
	return 0;
}

/*
 * The container's exit code once it has stopped, from its inspect; -1 while it runs, -2 when it is
 * gone (removed) or cannot be read.
 */
static int stopped_exit_code(struct cli *c, const char *id)
{
	struct cli_resp r;
	berr e = {0};
	json_t *info = cli_container_inspect(c, id, &r, &e);
	berr_clear(&e);
	cli_resp_free(&r);
	if (!info)
		return -2;
	json_t *state = json_object_get(info, "State");
	int code = -1;
	if (!json_is_true(json_object_get(state, "Running")) && !json_is_true(json_object_get(state, "Restarting")) &&
	    json_is_integer(json_object_get(state, "ExitCode")))
		code = (int)json_integer_value(json_object_get(state, "ExitCode"));
	json_decref(info);
	return code;
}

/*
 * Wait for the wait's reply. Its output has ended, so the container is ending: when the reply is
 * slow to come (a daemon that took its exit count only after this container's exit would wait
 * for another one), its inspect gives the code instead: false then, with *code set.
 */
static bool wait_reply_ready(struct cli *c, struct cli_conn *cn, const char *id, int *code)
{
	if (cn->extra_len)
		return true;
	for (int tries = 0;; tries++) {
		struct pollfd p = {.fd = cn->fd, .events = POLLIN};
		int n = poll(&p, 1, 1000);
		if (n != 0)
			return true;
		int k = stopped_exit_code(c, id);
		if (k >= 0) {
			*code = k;
			return false;
		}
		if (k == -2 && tries >= 5)
			return true; /* gone: the reply says how */
	}
}

/* The exit code the wait reply carries; -1 with a message printed when it carries none. */
static int finish_wait(struct cli_conn *cn, const char *prefix)
{
	char *body = NULL;
	size_t len = 0;
	berr e = {0};
	int code = -1;
	if (cli_conn_read_body(cn, &body, &len, &e) < 0) {
		fprintf(stderr, "%s%s\n", prefix, berr_msg(&e));
		berr_clear(&e);
		return -1;
	}
	json_t *doc = json_loadb(body, len, 0, NULL);
	json_t *status = doc ? json_object_get(doc, "StatusCode") : NULL;
	const char *msg = doc ? json_string_value(json_object_get(json_object_get(doc, "Error"), "Message")) : NULL;
	if (msg && *msg)
		fprintf(stderr, "%sError waiting for the container: %s\n", prefix, msg);
	else if (json_is_integer(status))
		code = (int)json_integer_value(status);
	else
		fprintf(stderr, "%sError waiting for the container: the wait ended without a status\n", prefix);
	json_decref(doc);
	free(body);
	return code;
}

/* Until the daemon has removed an AutoRemove container (a 404 says it already has). */
static void wait_removed(struct cli *c, const char *id)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s/wait?condition=removed", esc);
	free(esc);
	struct cli_resp r;
	berr e = {0};
	if (cli_http(c, "POST", path.s, NULL, &r, &e) == 0)
		cli_resp_free(&r);
	berr_clear(&e);
	cli_buf_free(&path);
}

int cli_attach_and_wait(struct cli *c, const char *id, const struct cli_attach_opts *o)
{
	bool tty = o->tty, in = o->in, start = o->start, autoremove = o->autoremove;
	const char *err_prefix = o->err_prefix;
	struct cli_conn att = {.fd = -1}, wt = {.fd = -1};
	int fail = start ? -CLI_EXIT_ENGINE : -CLI_EXIT_FAIL;
	if (open_attach(c, id, o, &att) < 0)
		return fail;
	/*
	 * next-exit even with --rm: it answers with the code at the exit, or at the removal when the
	 * exit came first; "removed" would leave no code to read once the container is gone. The
	 * removal itself is waited for afterwards, so `run --rm` returns with the container gone.
	 */
	const char *condition = start || autoremove ? "next-exit" : "not-running";
	if (open_wait(c, id, condition, &wt, err_prefix) < 0) {
		cli_conn_close(&att);
		return fail;
	}
	berr e = {0};
	struct cli_pump_opts po = {.tty = tty,
				   .send_stdin = in,
				   .sig_proxy = o->sig_proxy && !tty,
				   .container = id,
				   .cli = c,
				   .detach_keys = o->detach_keys};
	/* Signals from the start on: one that comes before the streams are pumped is proxied then. */
	if (cli_pump_signals(&po, true, &e) < 0) {
		fprintf(stderr, "%s%s\n", err_prefix, berr_msg(&e));
		berr_clear(&e);
		cli_conn_close(&att);
		cli_conn_close(&wt);
		return fail;
	}
	if (start) {
		struct cli_buf path = {0};
		char *esc = cli_escape(id);
		cli_buf_add(&path, "/containers/%s/start", esc);
		free(esc);
		struct cli_resp r;
		int rc = cli_http(c, "POST", path.s, NULL, &r, &e);
		cli_buf_free(&path);
		if (rc < 0 || r.status >= 300) {
			int code = CLI_EXIT_ENGINE;
			if (rc < 0) {
				cli_print_connect_error(c, err_prefix, &e);
			} else {
				cli_print_daemon_error(err_prefix, &r);
				code = cli_start_error_code(cli_resp_message(&r));
			}
			cli_resp_free(&r);
			berr_clear(&e);
			cli_pump_signals(&po, false, NULL);
			cli_conn_close(&att);
			cli_conn_close(&wt);
			return -code;
		}
		cli_resp_free(&r);
	}
	if (tty)
		cli_term_resize(c, "containers", id);
	if (tty && in && isatty(STDIN_FILENO) && cli_term_raw(&e) < 0) {
		fprintf(stderr, "%s%s\n", err_prefix, berr_msg(&e));
		berr_clear(&e);
	}
	int pr = cli_pump(&att, &po, &e);
	cli_term_restore();
	cli_conn_close(&att);
	if (pr < 0) {
		fprintf(stderr, "%s%s\n", err_prefix, berr_msg(&e));
		berr_clear(&e);
	}
	if (pr == 1) {
		/* Detached: the container goes on, and so does its --rm. */
		cli_conn_close(&wt);
		return CLI_DETACHED;
	}
	int code = -1;
	if (wait_reply_ready(c, &wt, id, &code))
		code = finish_wait(&wt, err_prefix);
	cli_conn_close(&wt);
	if (autoremove)
		wait_removed(c, id);
	return code < 0 ? fail : code;
}
