/* Verbs that do one request per container named: stop restart kill pause unpause wait rm. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* Add the verb's query to the path; NULL when nothing to add. */
typedef void (*query_fn)(struct cli_args *a, struct cli_buf *path);

/* One request per argument; print the argument (or the reply's line) on success, errors as docker does. */
static int each_container(struct cli *c, struct cli_args *a, const char *method, const char *suffix, query_fn query,
			  bool print_status_code)
{
	int status = 0;
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *esc = cli_escape(a->pos[i]);
		cli_buf_add(&path, "/containers/%s%s", esc, suffix);
		free(esc);
		if (query)
			query(a, &path);
		struct cli_resp r;
		berr e = {0};
		int rc = cli_http(c, method, path.s, NULL, &r, &e);
		cli_buf_free(&path);
		if (rc < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			return CLI_EXIT_FAIL;
		}
		if (r.status >= 300 && r.status != 304) {
			cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
		} else if (print_status_code) {
			json_t *doc = json_loadb(r.body, r.len, 0, NULL);
			json_t *code = doc ? json_object_get(doc, "StatusCode") : NULL;
			const char *msg =
			    doc ? json_string_value(json_object_get(json_object_get(doc, "Error"), "Message")) : NULL;
			if (msg && *msg) {
				fprintf(stderr, "Error response from daemon: %s\n", msg);
				status = CLI_EXIT_FAIL;
			} else if (json_is_integer(code)) {
				printf("%lld\n", (long long)json_integer_value(code));
			} else {
				fprintf(stderr, "Error response from daemon: wait ended without a status for %s\n",
					a->pos[i]);
				status = CLI_EXIT_FAIL;
			}
			json_decref(doc);
		} else {
			printf("%s\n", a->pos[i]);
		}
		fflush(stdout);
		cli_resp_free(&r);
	}
	return status;
}

static void stop_query(struct cli_args *a, struct cli_buf *path)
{
	const char *t = cli_arg_str(a, "time");
	const char *s = cli_arg_str(a, "signal");
	if (t)
		cli_buf_query(path, "t", t);
	if (s)
		cli_buf_query(path, "signal", s);
}

int cli_verb_stop(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/stop", stop_query, false);
}

int cli_verb_restart(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/restart", stop_query, false);
}

static void kill_query(struct cli_args *a, struct cli_buf *path)
{
	const char *s = cli_arg_str(a, "signal");
	if (s && *s)
		cli_buf_query(path, "signal", s);
}

int cli_verb_kill(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/kill", kill_query, false);
}

int cli_verb_pause(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/pause", NULL, false);
}

int cli_verb_unpause(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/unpause", NULL, false);
}

int cli_verb_wait(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "POST", "/wait", NULL, true);
}

static void rm_query(struct cli_args *a, struct cli_buf *path)
{
	if (cli_arg_bool(a, "force"))
		cli_buf_query(path, "force", "1");
	if (cli_arg_bool(a, "volumes"))
		cli_buf_query(path, "v", "1");
	if (cli_arg_bool(a, "link"))
		cli_buf_query(path, "link", "1");
}

int cli_verb_rm(struct cli *c, struct cli_args *a)
{
	return each_container(c, a, "DELETE", "", rm_query, false);
}
