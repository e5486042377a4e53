/* berth start: start stopped containers, or one with -a, streaming its output to its exit code. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

static int start_attached(struct cli *c, struct cli_args *a)
{
	if (a->npos > 1) {
		fprintf(stderr, "you cannot start and attach multiple containers at once\n");
		return CLI_EXIT_FAIL;
	}
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
	json_t *cfg = json_object_get(info, "Config");
	bool tty = json_is_true(json_object_get(cfg, "Tty"));
	bool in = cli_arg_bool(a, "interactive") && json_is_true(json_object_get(cfg, "OpenStdin"));
	bool autoremove = json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove"));
	/* Attach by ID: a name may be gone with --rm before the wait is read. */
	char *id = strdup(json_string_value(json_object_get(info, "Id")) ?: a->pos[0]);
	json_decref(info);
	struct cli_attach_opts ao = {.tty = tty,
				     .in = in,
				     .start = true,
				     .autoremove = autoremove,
				     .sig_proxy = true,
				     .detach_keys = cli_arg_str(a, "detach-keys"),
				     .err_prefix = ""};
	int code = cli_attach_and_wait(c, id, &ao);
	free(id);
	if (code == CLI_DETACHED)
		return 0; /* as docker start -a */
	/* A failure to start is the verb's failure (1), as docker's start -a reports it. */
	return code < 0 ? CLI_EXIT_FAIL : code;
}

int cli_verb_start(struct cli *c, struct cli_args *a)
{
	if (cli_arg_bool(a, "attach") || cli_arg_bool(a, "interactive"))
		return start_attached(c, a);
	int status = 0;
	struct cli_buf failed = {0};
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *esc = cli_escape(a->pos[i]);
		cli_buf_add(&path, "/containers/%s/start", esc);
		free(esc);
		struct cli_resp r;
		berr e = {0};
		int rc = cli_http(c, "POST", path.s, NULL, &r, &e);
		cli_buf_free(&path);
		if (rc < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			cli_buf_free(&failed);
			return CLI_EXIT_FAIL;
		}
		if (r.status >= 300 && r.status != 304) {
			cli_print_daemon_error("", &r);
			cli_buf_add(&failed, "%s%s", failed.s ? ", " : "", a->pos[i]);
			status = CLI_EXIT_FAIL;
		} else {
			printf("%s\n", a->pos[i]);
			fflush(stdout);
		}
		cli_resp_free(&r);
	}
	if (failed.s)
		fprintf(stderr, "Error: failed to start containers: %s\n", failed.s);
	cli_buf_free(&failed);
	return status;
}
