/* Image verbs: images, load, save, tag, rmi. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/fd.h"

/* An image reference in a path: kept as written (berthd's routes take slashes and colons), other bytes escaped. */
static char *image_path_part(const char *ref)
{
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s", "");
	for (const unsigned char *p = (const unsigned char *)ref; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("._-/:@", *p))
			cli_buf_add(&b, "%c", *p);
		else
			cli_buf_add(&b, "%%%02X", *p);
	}
	return b.s;
}

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

/* ---------- images ---------- */

#define IMAGES_TABLE "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"

static void add_row(json_t *rows, json_t *img, const char *repo, const char *tag, const char *digest, bool trunc)
{
	json_t *row = json_object();
	const char *id = json_string_value(json_object_get(img, "Id")) ?: "";
	if (trunc && strncmp(id, "sha256:", 7) == 0)
		json_object_set_new(row, "ID", json_stringn(id + 7, strlen(id + 7) < 12 ? strlen(id + 7) : 12));
	else
		json_object_set_new(row, "ID", json_string(id));
	json_object_set_new(row, "Repository", json_string(repo));
	json_object_set_new(row, "Tag", json_string(tag));
	json_object_set_new(row, "Digest", json_string(digest));
	time_t created = (time_t)json_integer_value(json_object_get(img, "Created"));
	char when[64], dur[64], ago[96], size[32];
	struct tm tm;
	localtime_r(&created, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	cli_human_duration((int64_t)(time(NULL) - created), dur, sizeof dur);
	snprintf(ago, sizeof ago, "%s ago", dur);
	json_object_set_new(row, "CreatedAt", json_string(when));
	json_object_set_new(row, "CreatedSince", json_string(ago));
	cli_human_size((double)json_integer_value(json_object_get(img, "Size")), size, sizeof size);
	json_object_set_new(row, "Size", json_string(size));
	json_int_t containers = json_integer_value(json_object_get(img, "Containers"));
	char n[32];
	snprintf(n, sizeof n, "%lld", (long long)containers);
	json_object_set_new(row, "Containers", json_string(containers < 0 ? "N/A" : n));
	json_array_append_new(rows, row);
}

int cli_verb_images(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/images/json");
	if (cli_arg_bool(a, "all"))
		cli_buf_query(&path, "all", "1");
	if (cli_arg_bool(a, "digests"))
		cli_buf_query(&path, "digests", "1");
	json_t *f = json_object();
	if (a->npos)
		json_object_set_new(f, "reference", json_pack("{s:b}", a->pos[0], 1));
	for (char *const *l = cli_arg_list(a, "filter"); *l; l++) {
		const char *eq = strchr(*l, '=');
		if (!eq) {
			json_decref(f);
			cli_buf_free(&path);
			return cli_bad_flag_value(a, "filter", *l, "bad format of filter (expected name=value)");
		}
		char *key = strndup(*l, (size_t)(eq - *l));
		json_t *vals = json_object_get(f, key);
		if (!vals)
			json_object_set_new(f, key, vals = json_object());
		json_object_set_new(vals, eq + 1, json_true());
		free(key);
	}
	if (json_object_size(f)) {
		char *text = json_dumps(f, JSON_COMPACT);
		cli_buf_query(&path, "filters", text);
		free(text);
	}
	json_decref(f);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "GET", path.s, NULL, &r, &e);
	cli_buf_free(&path);
	if (rc < 0 || r.status != 200)
		return fail_request(c, &r, &e, rc);
	json_t *list = cli_resp_json(&r, &e);
	cli_resp_free(&r);
	if (!json_is_array(list)) {
		fprintf(stderr, "%s\n", list ? "berthd's image list is not a list" : berr_msg(&e));
		json_decref(list);
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	bool trunc = !cli_arg_bool(a, "no-trunc");
	json_t *rows = json_array();
	size_t i, j;
	json_t *img, *tag;
	json_array_foreach (list, i, img) {
		json_t *tags = json_object_get(img, "RepoTags");
		json_t *digests = json_object_get(img, "RepoDigests");
		const char *digest = "<none>";
		json_t *d0 = json_array_get(digests, 0);
		if (json_is_string(d0) && strchr(json_string_value(d0), '@'))
			digest = strchr(json_string_value(d0), '@') + 1;
		size_t shown = 0;
		json_array_foreach (tags, j, tag) {
			const char *ref = json_string_value(tag);
			if (!ref || strcmp(ref, "<none>:<none>") == 0)
				continue;
			const char *colon = strrchr(ref, ':');
			if (colon && strchr(colon, '/'))
				colon = NULL;
			char *repo = strndup(ref, colon ? (size_t)(colon - ref) : strlen(ref));
			add_row(rows, img, repo, colon ? colon + 1 : "<none>", digest, trunc);
			free(repo);
			shown++;
		}
		if (!shown)
			add_row(rows, img, "<none>", "<none>", digest, trunc);
	}
	json_decref(list);
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY", "Tag", "TAG",
				   "ID", "IMAGE ID", "Digest", "DIGEST", "CreatedSince", "CREATED", "CreatedAt",
				   "CREATED AT", "Size", "SIZE", "Containers", "CONTAINERS");
	const char *format = cli_arg_str(a, "format");
	if (cli_arg_bool(a, "quiet")) {
		/* -q: each image once. */
		json_t *seen = json_object(), *ids = json_array();
		json_array_foreach (rows, i, img) {
			const char *id = json_string_value(json_object_get(img, "ID"));
			if (!json_object_get(seen, id)) {
				json_object_set_new(seen, id, json_true());
				json_array_append(ids, img);
			}
		}
		json_decref(seen);
		json_decref(rows);
		rows = ids;
		format = "{{.ID}}";
	} else if (cli_arg_bool(a, "digests") && (!format || !*format)) {
		format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	}
	rc = cli_print_rows(rows, format, IMAGES_TABLE, header);
	json_decref(header);
	json_decref(rows);
	return rc;
}

/* ---------- load ---------- */

static int collect_sink(void *arg, const char *buf, size_t len)
{
	cli_buf_add(arg, "%.*s", (int)len, buf);
	return 0;
}

/* The JSON-lines progress of load: "stream" lines to stdout, an "error" fails. */
static int print_json_messages(const char *text)
{
	int status = 0;
	const char *p = text;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		json_t *doc = json_loadb(p, n, 0, NULL);
		const char *s = doc ? json_string_value(json_object_get(doc, "stream")) : NULL;
		const char *err = doc ? json_string_value(json_object_get(doc, "error")) : NULL;
		if (err) {
			fflush(stdout);
			fprintf(stderr, "%s\n", err);
			status = CLI_EXIT_FAIL;
		} else if (s) {
			fputs(s, stdout);
		} else if (!doc && n) {
			printf("%.*s\n", (int)n, p);
		}
		json_decref(doc);
		p = eol ? eol + 1 : NULL;
	}
	return status;
}

int cli_verb_load(struct cli *c, struct cli_args *a)
{
	const char *input = cli_arg_str(a, "input");
	int fd = STDIN_FILENO;
	if (input && *input) {
		fd = open(input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "open %s: %s\n", input, strerror(errno));
			return CLI_EXIT_FAIL;
		}
	} else if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "requested load from stdin, but stdin is empty\n");
		return CLI_EXIT_FAIL;
	}
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	/* On a terminal, the archive's bytes as they go up (berthd reports only the result). */
	struct cli_progress prog;
	struct stat st;
	bool quiet = cli_arg_bool(a, "quiet");
	cli_progress_start(&prog, "Loading archive",
			   fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (double)st.st_size : 0, stdout);
	prog.on &= !quiet;
	struct cli_stream_req req = {.method = "POST",
				     .path = quiet ? "/images/load?quiet=1" : "/images/load?quiet=0",
				     .upload_fd = fd,
				     .content_type = "application/x-tar",
				     .sink = collect_sink,
				     .sink_arg = &out,
				     .progress = cli_progress_add,
				     .progress_arg = &prog};
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http_stream(c, &req, &r, &e);
	cli_progress_end(&prog);
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0 || r.status >= 300) {
		cli_buf_free(&out);
		return fail_request(c, &r, &e, rc);
	}
	cli_resp_free(&r);
	int status = print_json_messages(out.s);
	cli_buf_free(&out);
	return status;
}

/* ---------- save ---------- */

int cli_verb_save(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/images/get");
	for (size_t i = 0; i < a->npos; i++)
		cli_buf_query(&path, "names", a->pos[i]);
	int status = cli_download(c, path.s, cli_arg_str(a, "output"), "save image");
	cli_buf_free(&path);
	return status;
}

/* ---------- tag, rmi ---------- */

int cli_verb_tag(struct cli *c, struct cli_args *a)
{
	const char *target = a->pos[1];
	const char *colon = strrchr(target, ':');
	if (colon && strchr(colon, '/'))
		colon = NULL;
	char *repo = strndup(target, colon ? (size_t)(colon - target) : strlen(target));
	struct cli_buf path = {0};
	char *src = image_path_part(a->pos[0]);
	cli_buf_add(&path, "/images/%s/tag", src);
	free(src);
	cli_buf_query(&path, "repo", repo);
	cli_buf_query(&path, "tag", colon ? colon + 1 : "latest");
	free(repo);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "POST", path.s, NULL, &r, &e);
	cli_buf_free(&path);
	if (rc < 0 || r.status >= 300)
		return fail_request(c, &r, &e, rc);
	cli_resp_free(&r);
	return 0;
}

int cli_verb_rmi(struct cli *c, struct cli_args *a)
{
	int status = 0;
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *ref = image_path_part(a->pos[i]);
		cli_buf_add(&path, "/images/%s", ref);
		free(ref);
		if (cli_arg_bool(a, "force"))
			cli_buf_query(&path, "force", "1");
		if (cli_arg_bool(a, "no-prune"))
			cli_buf_query(&path, "noprune", "1");
		struct cli_resp r;
		berr e = {0};
		int rc = cli_http(c, "DELETE", path.s, NULL, &r, &e);
		cli_buf_free(&path);
		if (rc < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			return CLI_EXIT_FAIL;
		}
		if (r.status >= 300) {
			cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
			cli_resp_free(&r);
			continue;
		}
		json_t *list = cli_resp_json(&r, &e);
		berr_clear(&e);
		cli_resp_free(&r);
		size_t j;
		json_t *item;
		json_array_foreach (list, j, item) {
			const char *u = json_string_value(json_object_get(item, "Untagged"));
			const char *d = json_string_value(json_object_get(item, "Deleted"));
			if (u)
				printf("Untagged: %s\n", u);
			if (d)
				printf("Deleted: %s\n", d);
		}
		json_decref(list);
	}
	return status;
}
