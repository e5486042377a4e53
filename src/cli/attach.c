/* berth attach: our stdio to a running container's, until its output ends; its exit code after. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

int cli_verb_attach(struct cli *c, struct cli_args *a)
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
	json_t *state = json_object_get(info, "State");
	if (!json_is_true(json_object_get(state, "Running"))) {
		fprintf(stderr, "You cannot attach to a stopped container, start it first\n");
		json_decref(info);
		return CLI_EXIT_FAIL;
	}
	if (json_is_true(json_object_get(state, "Paused"))) {
		fprintf(stderr, "You cannot attach to a paused container, unpause it first\n");
		json_decref(info);
		return CLI_EXIT_FAIL;
	}
	json_t *cfg = json_object_get(info, "Config");
	bool tty = json_is_true(json_object_get(cfg, "Tty"));
	bool in = !cli_arg_bool(a, "no-stdin") && json_is_true(json_object_get(cfg, "OpenStdin"));
	if (tty && in && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		json_decref(info);
		return CLI_EXIT_FAIL;
	}
	bool autoremove = json_is_true(json_object_get(json_object_get(info, "HostConfig"), "AutoRemove"));
	char *id = strdup(json_string_value(json_object_get(info, "Id")) ?: a->pos[0]);
	json_decref(info);
	struct cli_attach_opts ao = {.tty = tty,
				     .in = in,
				     .autoremove = autoremove,
				     .sig_proxy = cli_arg_bool(a, "sig-proxy"),
				     .detach_keys = cli_arg_str(a, "detach-keys"),
				     .err_prefix = ""};
	int code = cli_attach_and_wait(c, id, &ao);
	free(id);
	if (code == CLI_DETACHED) {
		fprintf(stderr, "read escape sequence\n"); /* docker attach's words, and its status */
		return CLI_EXIT_FAIL;
	}
	return code < 0 ? -code : code;
}
