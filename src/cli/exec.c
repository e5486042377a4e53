/* berth exec: a command in a running container, attached as run is; its exit code is ours. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"

/* POST /containers/{id}/exec; the exec's ID, or NULL after printing the daemon's error. */
static char *exec_create(struct cli *c, struct cli_args *a, bool tty, bool in, bool detach)
{
	json_t *env = json_array();
	berr e = {0};
	if (cli_env_from_flags(a, env, &e) < 0) {
		json_decref(env);
		berr_clear(&e);
		return NULL;
	}
	json_t *cmd = json_array();
	for (size_t i = 1; i < a->npos; i++)
		json_array_append_new(cmd, json_string(a->pos[i]));
	json_t *body = json_pack("{s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:b}", "Tty", tty, "AttachStdin", in && !detach,
				 "AttachStdout", !detach, "AttachStderr", !detach, "Detach", detach, "Cmd", cmd, "Env",
				 env, "Privileged", cli_arg_bool(a, "privileged"));
	const char *v;
	if ((v = cli_arg_str(a, "user")))
		json_object_set_new(body, "User", json_string(v));
	if ((v = cli_arg_str(a, "workdir")))
		json_object_set_new(body, "WorkingDir", json_string(v));
	if ((v = cli_arg_str(a, "detach-keys")))
		json_object_set_new(body, "DetachKeys", json_string(v));
	unsigned rows, cols;
	if (tty && cli_term_size(&rows, &cols))
		json_object_set_new(body, "ConsoleSize", json_pack("[i,i]", (int)rows, (int)cols));
	struct cli_buf path = {0};
	char *esc = cli_escape(a->pos[0]);
	cli_buf_add(&path, "/containers/%s/exec", esc);
	free(esc);
	struct cli_resp r;
	int rc = cli_http(c, "POST", path.s, body, &r, &e);
	cli_buf_free(&path);
	json_decref(body);
	char *id = NULL;
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
	} else if (r.status != 201 && r.status != 200) {
		cli_print_daemon_error("", &r);
	} else {
		json_t *doc = cli_resp_json(&r, &e);
		const char *s = doc ? json_string_value(json_object_get(doc, "Id")) : NULL;
		if (s)
			id = strdup(s);
		else
			fprintf(stderr, "berthd's exec reply has no Id\n");
		json_decref(doc);
	}
	berr_clear(&e);
	cli_resp_free(&r);
	return id;
}

/* The exec's exit code from GET /exec/{id}/json, once it is no longer running. */
static int exec_exit_code(struct cli *c, const char *id)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/exec/%s/json", esc);
	free(esc);
	int code = CLI_EXIT_FAIL;
	for (int tries = 0; tries < 200; tries++) {
		struct cli_resp r;
		berr e = {0};
		if (cli_http(c, "GET", path.s, NULL, &r, &e) < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			break;
		}
		if (r.status != 200) {
			cli_print_daemon_error("", &r);
			cli_resp_free(&r);
			break;
		}
		json_t *doc = cli_resp_json(&r, &e);
		berr_clear(&e);
		cli_resp_free(&r);
		bool running = json_is_true(json_object_get(doc, "Running"));
		json_t *ec = json_object_get(doc, "ExitCode");
		if (!running && json_is_integer(ec)) {
			code = (int)json_integer_value(ec);
			json_decref(doc);
			break;
		}
		json_decref(doc);
		/* The stream can end a moment before the daemon records the exit. */
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	cli_buf_free(&path);
	return code;
}

int cli_verb_exec(struct cli *c, struct cli_args *a)
{
	bool tty = cli_arg_bool(a, "tty"), in = cli_arg_bool(a, "interactive"), detach = cli_arg_bool(a, "detach");
	if (!detach && tty && in && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return CLI_EXIT_FAIL;
	}
	char *id = exec_create(c, a, tty, in, detach);
	if (!id)
		return CLI_EXIT_FAIL;
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/exec/%s/start", esc);
	free(esc);
	int status = 0;
	berr e = {0};
	if (detach) {
		json_t *body = json_pack("{s:b, s:b}", "Detach", 1, "Tty", tty);
		struct cli_resp r;
		int rc = cli_http(c, "POST", path.s, body, &r, &e);
		json_decref(body);
		if (rc < 0 || r.status >= 300) {
			if (rc < 0)
				cli_print_connect_error(c, "", &e);
			else
				cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
		}
		cli_resp_free(&r);
		berr_clear(&e);
		cli_buf_free(&path);
		free(id);
		return status;
	}
	unsigned rows = 0, cols = 0;
	json_t *body = json_pack("{s:b, s:b}", "Detach", 0, "Tty", tty);
	if (tty && cli_term_size(&rows, &cols))
		json_object_set_new(body, "ConsoleSize", json_pack("[i,i]", (int)rows, (int)cols));
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	struct cli_conn cn;
	int rc = cli_conn_request(c, "POST", path.s, "Connection: Upgrade\r\nUpgrade: tcp\r\n", text, &cn, &e);
	free(text);
	cli_buf_free(&path);
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		berr_clear(&e);
		free(id);
		return CLI_EXIT_FAIL;
	}
	if (cn.status != 101 && cn.status != 200) {
		struct cli_resp r = {.status = cn.status};
		if (cli_conn_read_body(&cn, &r.body, &r.len, &e) < 0)
			r.body = strdup("");
		cli_print_daemon_error("", &r);
		cli_resp_free(&r);
		cli_conn_close(&cn);
		berr_clear(&e);
		free(id);
		/* Docker's words for a command that cannot run decide 126/127. */
		return CLI_EXIT_NOT_EXEC;
	}
	if (tty)
		cli_term_resize(c, "exec", id);
	if (tty && in && isatty(STDIN_FILENO) && cli_term_raw(&e) < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
	}
	struct cli_pump_opts po = {.tty = tty,
				   .send_stdin = in,
				   .container = a->pos[0],
				   .exec_id = id,
				   .cli = c,
				   .detach_keys = cli_arg_str(a, "detach-keys")};
	rc = cli_pump(&cn, &po, &e);
	cli_term_restore();
	cli_conn_close(&cn);
	if (rc < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
	}
	if (rc == 1) {
		/* Detached: the command goes on; docker's exec reports it as its error. */
		fprintf(stderr, "read escape sequence\n");
		status = CLI_EXIT_FAIL;
	} else {
		status = exec_exit_code(c, id);
	}
	free(id);
	return status;
}
