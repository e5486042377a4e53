/* berth pull and berth push: POST /images/create and /images/{name}/push, progress as docker shows it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/cleanup.h"

/* name (without tag or digest) and the tag or digest of an image reference; tag NULL when none. */
static void split_reference(const char *ref, char **name, char **tag)
{
	const char *at = strchr(ref, '@'), *slash = strrchr(ref, '/');
	const char *colon = strrchr(slash ? slash : ref, ':');
	if (at) {
		*name = strndup(ref, (size_t)(at - ref));
		*tag = strdup(at + 1);
	} else if (colon) {
		*name = strndup(ref, (size_t)(colon - ref));
		*tag = strdup(colon + 1);
	} else {
		*name = strdup(ref);
		*tag = NULL;
	}
}

/* The reference as docker prints it after a pull: "docker.io/library/busybox:latest". */
static char *qualified(const char *name, const char *tag)
{
	size_t n = strcspn(name, "/");
	bool has_domain =
	    name[n] && (memchr(name, '.', n) || memchr(name, ':', n) || strncmp(name, "localhost/", 10) == 0);
	char *out = NULL;
	if (asprintf(&out, "%s%s%s%s%s", has_domain ? "" : "docker.io/", !has_domain && !name[n] ? "library/" : "",
		     name, strncmp(tag, "sha256:", 7) == 0 ? "@" : ":", tag) < 0)
		return NULL;
	return out;
}

/* Stream a registry request's progress to out; returns 0, or an exit status after printing. */
static int registry_stream(struct cli *c, const char *path, const char *image, FILE *out, bool quiet,
			   const char *prefix)
{
	_cleanup_free_ char *auth = cli_registry_auth_header(image);
	struct cli_pull_progress p;
	cli_pull_progress_init(&p, quiet ? NULL : out, !quiet && isatty(fileno(out)));
	struct cli_stream_req req = {.method = "POST",
				     .path = path,
				     .upload_fd = -1,
				     .header = auth,
				     .sink = cli_pull_progress_feed,
				     .sink_arg = &p};
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http_stream(c, &req, &r, &e);
	int status = 0;
	if (rc < 0) {
		cli_print_connect_error(c, prefix, &e);
		berr_clear(&e);
		status = CLI_EXIT_FAIL;
	} else if (r.status >= 300) {
		cli_print_daemon_error(prefix, &r);
		status = CLI_EXIT_FAIL;
	} else if (p.error) {
		fprintf(stderr, "%s%s\n", prefix ? prefix : "", p.error);
		status = CLI_EXIT_FAIL;
	}
	if (rc == 0)
		cli_resp_free(&r);
	cli_pull_progress_free(&p);
	return status;
}

int cli_pull_image(struct cli *c, const char *image, const char *platform, FILE *out, bool quiet, const char *prefix)
{
	_cleanup_free_ char *name = NULL, *tag = NULL;
	split_reference(image, &name, &tag);
	if (!name)
		return CLI_EXIT_FAIL;
	struct cli_buf path = {0};
	cli_buf_add(&path, "/images/create");
	cli_buf_query(&path, "fromImage", name);
	cli_buf_query(&path, "tag", tag ? tag : "latest");
	if (platform && *platform)
		cli_buf_query(&path, "platform", platform);
	int status = registry_stream(c, path.s, image, out, quiet, prefix);
	cli_buf_free(&path);
	return status;
}

int cli_verb_pull(struct cli *c, struct cli_args *a)
{
	if (cli_arg_bool(a, "all-tags")) {
		fprintf(stderr, "berth pull --all-tags is not supported yet\n");
		return CLI_EXIT_FAIL;
	}
	_cleanup_free_ char *name = NULL, *tag = NULL;
	split_reference(a->pos[0], &name, &tag);
	if (!name)
		return CLI_EXIT_FAIL;
	bool quiet = cli_arg_bool(a, "quiet");
	if (!tag && !quiet)
		printf("Using default tag: latest\n");
	fflush(stdout);
	int status = cli_pull_image(c, a->pos[0], cli_arg_str(a, "platform"), stdout, quiet, NULL);
	_cleanup_free_ char *full = qualified(name, tag ? tag : "latest");
	if (status == 0 && full)
		printf("%s\n", full); /* docker prints the whole reference last, also when quiet */
	return status;
}

int cli_verb_push(struct cli *c, struct cli_args *a)
{
	const char *image = a->pos[0];
	_cleanup_free_ char *name = NULL, *tag = NULL;
	split_reference(image, &name, &tag);
	if (!name)
		return CLI_EXIT_FAIL;
	if (tag && strncmp(tag, "sha256:", 7) == 0) {
		fprintf(stderr, "berth push: a digest reference cannot be pushed: %s\n", image);
		return CLI_EXIT_FAIL;
	}
	if (!tag && !cli_arg_bool(a, "all-tags")) {
		if (!cli_arg_bool(a, "quiet"))
			printf("Using default tag: latest\n");
		tag = strdup("latest");
	}
	struct cli_buf path = {0};
	char *esc = cli_escape(name);
	/* The name's slashes stay: berthd's route takes a name of several segments. */
	for (char *s = strstr(esc, "%2F"); s; s = strstr(s, "%2F")) {
		*s = '/';
		memmove(s + 1, s + 3, strlen(s + 3) + 1);
	}
	cli_buf_add(&path, "/images/%s/push", esc);
	free(esc);
	if (tag)
		cli_buf_query(&path, "tag", tag);
	int status = registry_stream(c, path.s, image, stdout, cli_arg_bool(a, "quiet"), NULL);
	cli_buf_free(&path);
	if (status == 0 && cli_arg_bool(a, "quiet"))
		printf("%s\n", image);
	return status;
}
