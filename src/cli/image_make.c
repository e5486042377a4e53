/* `berth commit` and `berth import`: new images from a container's changes or from a tar. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

static int fail_request(struct cli *c, struct cli_resp *r, berr *e, int rc)
{
	if (rc < 0)
		cli_print_connect_error(c, "", e);
	else
		cli_print_daemon_error("", r);
	berr_clear(e);
	cli_resp_free(r);
	return CLI_EXIT_FAIL;
}

/* "repo[:tag]" as the API's repo and tag parameters (a ':' after the last '/' starts the tag). */
static void add_reference(struct cli_buf *q, const char *ref)
{
	if (!ref || !*ref)
		return;
	char *copy = strdup(ref);
	if (!copy)
		return;
	char *slash = strrchr(copy, '/'), *colon = strrchr(copy, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		cli_buf_query(q, "tag", colon + 1);
	}
	cli_buf_query(q, "repo", copy);
	free(copy);
}

static void add_changes(struct cli_buf *q, struct cli_args *a)
{
	char *const *changes = cli_arg_list(a, "change");
	for (size_t i = 0; changes && changes[i]; i++)
		cli_buf_query(q, "changes", changes[i]);
}

int cli_verb_commit(struct cli *c, struct cli_args *a)
{
	struct cli_buf q = {0};
	cli_buf_add(&q, "/commit");
	cli_buf_query(&q, "container", a->pos[0]);
	add_reference(&q, a->npos > 1 ? a->pos[1] : NULL);
	if (cli_arg_given(a, "message"))
		cli_buf_query(&q, "comment", cli_arg_str(a, "message"));
	if (cli_arg_given(a, "author"))
		cli_buf_query(&q, "author", cli_arg_str(a, "author"));
	cli_buf_query(&q, "pause", cli_arg_bool(a, "pause") ? "1" : "0");
	add_changes(&q, a);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "POST", q.s, NULL, &r, &e);
	cli_buf_free(&q);
	if (rc < 0 || r.status >= 300)
		return fail_request(c, &r, &e, rc);
	json_t *doc = cli_resp_json(&r, &e);
	const char *id = json_string_value(json_object_get(doc, "Id"));
	int status = 0;
	if (id) {
		printf("%s\n", id);
	} else {
		fprintf(stderr, "berth: commit: %s\n", doc ? "no image ID in the reply" : berr_msg(&e));
		status = CLI_EXIT_FAIL;
	}
	json_decref(doc);
	berr_clear(&e);
	cli_resp_free(&r);
	return status;
}

static int collect_sink(void *arg, const char *buf, size_t len)
{
	cli_buf_add(arg, "%.*s", (int)len, buf);
	return 0;
}

int cli_verb_import(struct cli *c, struct cli_args *a)
{
	const char *src = a->pos[0];
	if (strstr(src, "://")) {
		fprintf(stderr, "berth: import from a URL is not supported yet: download it and import the file\n");
		return CLI_EXIT_FAIL;
	}
	int fd = STDIN_FILENO;
	if (strcmp(src, "-") != 0 && (fd = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "open %s: %s\n", src, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	struct cli_buf q = {0};
	cli_buf_add(&q, "/images/create?fromSrc=-");
	add_reference(&q, a->npos > 1 ? a->pos[1] : NULL);
	if (cli_arg_given(a, "message"))
		cli_buf_query(&q, "message", cli_arg_str(a, "message"));
	if (cli_arg_given(a, "platform"))
		cli_buf_query(&q, "platform", cli_arg_str(a, "platform"));
	add_changes(&q, a);
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	struct cli_stream_req req = {.method = "POST",
				     .path = q.s,
				     .upload_fd = fd,
				     .content_type = "application/x-tar",
				     .sink = collect_sink,
				     .sink_arg = &out};
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http_stream(c, &req, &r, &e);
	if (fd != STDIN_FILENO)
		close(fd);
	cli_buf_free(&q);
	if (rc < 0 || r.status >= 300) {
		cli_buf_free(&out);
		return fail_request(c, &r, &e, rc);
	}
	cli_resp_free(&r);
	/* The reply's lines: {"status": "sha256:..."} is the new image, an "error" fails. */
	int status = 0;
	for (char *p = out.s; p && *p;) {
		char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		json_t *doc = json_loadb(p, n, 0, NULL);
		const char *st = json_string_value(json_object_get(doc, "status"));
		const char *err = json_string_value(json_object_get(doc, "error"));
		if (err) {
			fprintf(stderr, "%s\n", err);
			status = CLI_EXIT_FAIL;
		} else if (st) {
			printf("%s\n", st);
		}
		json_decref(doc);
		p = eol ? eol + 1 : NULL;
	}
	cli_buf_free(&out);
	return status;
}
