/* berth run and berth create: the container's body from the flags, then create (and start, attach). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

#define RUN_PREFIX "berth: "

/* The image named on the command line, through berthd; progress to stderr as docker shows it. */
static int pull_for_run(struct cli *c, struct cli_args *a, const char *prefix)
{
	return cli_pull_image(c, a->pos[0], cli_arg_str(a, "platform"), stderr, cli_arg_bool(a, "quiet"), prefix) == 0
		   ? 0
		   : CLI_EXIT_ENGINE;
}

/*
 * POST /containers/create; the new ID in *id. --pull always pulls first, missing pulls when
 * berthd does not have the image and asks again. Prints docker's messages; returns an exit status.
 */
static int create_container(struct cli *c, struct cli_args *a, json_t *body, char **id, const char *prefix)
{
	const char *policy = cli_arg_str(a, "pull");
	if (strcmp(policy, "always") != 0 && strcmp(policy, "missing") != 0 && strcmp(policy, "never") != 0) {
		fprintf(stderr, "%sinvalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"\n",
			prefix, policy);
		return CLI_EXIT_ENGINE;
	}
	if (strcmp(policy, "always") == 0 && pull_for_run(c, a, prefix) != 0)
		return CLI_EXIT_ENGINE;
	bool may_pull = strcmp(policy, "missing") == 0;
again:;
	struct cli_buf path = {0};
	cli_buf_add(&path, "/containers/create");
	const char *name = cli_arg_str(a, "name");
	if (name)
		cli_buf_query(&path, "name", name);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "POST", path.s, body, &r, &e);
	cli_buf_free(&path);
	if (rc < 0) {
		cli_print_connect_error(c, prefix, &e);
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	if (r.status != 201 && r.status != 200) {
		const char *msg = cli_resp_message(&r);
		if (r.status == 404 && strstr(msg, "image")) {
			/* Named as docker names it: with its default tag. */
			const char *ref = a->pos[0], *slash = strrchr(ref, '/');
			bool tagged = strchr(slash ? slash : ref, ':') || strchr(ref, '@');
			fprintf(stderr, "Unable to find image '%s%s' locally\n", ref, tagged ? "" : ":latest");
			if (may_pull) {
				cli_resp_free(&r);
				if (pull_for_run(c, a, prefix) != 0)
					return CLI_EXIT_ENGINE;
				may_pull = false;
				goto again;
			}
		}
		cli_print_daemon_error(prefix, &r);
		fprintf(stderr, "See 'berth %s --help'.\n", a->verb->name);
		cli_resp_free(&r);
		return CLI_EXIT_ENGINE;
	}
	json_t *doc = cli_resp_json(&r, &e);
	cli_resp_free(&r);
	const char *cid = doc ? json_string_value(json_object_get(doc, "Id")) : NULL;
	if (!cid) {
		fprintf(stderr, "%s%s\n", prefix, doc ? "berthd's reply has no Id" : berr_msg(&e));
		json_decref(doc);
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	size_t i;
	json_t *w;
	json_array_foreach (json_object_get(doc, "Warnings"), i, w)
		if (json_is_string(w))
			fprintf(stderr, "WARNING: %s\n", json_string_value(w));
	*id = strdup(cid);
	json_decref(doc);
	return 0;
}

int cli_verb_create(struct cli *c, struct cli_args *a)
{
	json_t *body;
	berr e = {0};
	if (cli_container_config(a, &body, &e) < 0) {
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	char *id = NULL;
	int rc = create_container(c, a, body, &id, "");
	json_decref(body);
	if (rc == 0)
		printf("%s\n", id);
	free(id);
	return rc;
}

static int start_detached(struct cli *c, const char *id)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s/start", esc);
	free(esc);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "POST", path.s, NULL, &r, &e);
	cli_buf_free(&path);
	if (rc < 0) {
		cli_print_connect_error(c, RUN_PREFIX, &e);
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	int code = 0;
	if (r.status >= 300) {
		cli_print_daemon_error(RUN_PREFIX, &r);
		code = cli_start_error_code(cli_resp_message(&r));
	}
	cli_resp_free(&r);
	return code;
}

int cli_verb_run(struct cli *c, struct cli_args *a)
{
	bool detach = cli_arg_bool(a, "detach"), tty = cli_arg_bool(a, "tty");
	bool interactive = cli_arg_bool(a, "interactive");
	if (!detach && tty && interactive && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "the input device is not a TTY\n");
		return CLI_EXIT_FAIL;
	}
	json_t *body;
	berr e = {0};
	if (cli_container_config(a, &body, &e) < 0) {
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	bool at_in = json_is_true(json_object_get(body, "AttachStdin"));
	bool autoremove = cli_arg_bool(a, "rm");
	char *id = NULL;
	int rc = create_container(c, a, body, &id, RUN_PREFIX);
	json_decref(body);
	if (rc != 0)
		return rc;
	if (detach) {
		rc = start_detached(c, id);
		if (rc == 0)
			printf("%s\n", id);
		free(id);
		return rc;
	}
	struct cli_attach_opts ao = {.tty = tty,
				     .in = at_in,
				     .start = true,
				     .autoremove = autoremove,
				     .sig_proxy = cli_arg_bool(a, "sig-proxy"),
				     .detach_keys = cli_arg_str(a, "detach-keys"),
				     .err_prefix = RUN_PREFIX};
	int code = cli_attach_and_wait(c, id, &ao);
	free(id);
	if (code == CLI_DETACHED)
		return 0; /* as docker run */
	return code < 0 ? -code : code;
}
