/* A container's filesystem over the API: changes (`docker diff`), export, commit, archive (`docker cp`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/events.h"
#include "lib/base64.h"
#include "lib/cleanup.h"

static void changes(struct api_request *r)
{
	berr e = {0};
	json_t *out = NULL;
	if (eng_container_changes(r->eng, r->params[0], &out, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	api_reply_json(r, 200, out);
}

struct export_job {
	struct eng *eng;
	char *name;
};

static void export_job_free(void *p)
{
	struct export_job *j = p;
	free(j->name);
	free(j);
}

static int export_produce(void *arg, int fd, berr *e)
{
	struct export_job *j = arg;
	return eng_container_export(j->eng, j->name, fd, e);
}

static void export_(struct api_request *r)
{
	/* An unknown container is a 404, not a broken stream. */
	berr e = {0};
	if (eng_container_check(r->eng, r->params[0], &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	struct export_job *j = calloc(1, sizeof *j);
	if (!j || !(j->name = strdup(r->params[0]))) {
		free(j);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	j->eng = r->eng;
	eng_container_event(r->eng, r->params[0], "export", NULL);
	api_reply_produced(r, "application/x-tar", export_produce, j, export_job_free);
}

static void commit(struct api_request *r)
{
	const char *name = api_query(r, "container"), *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
	if (!name || !*name) {
		api_reply_message(r, 400, "No container name or ID supplied");
		return;
	}
	_cleanup_free_ char *ref = NULL;
	if (repo && *repo && asprintf(&ref, "%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "") < 0) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	if ((!repo || !*repo) && tag && *tag) {
		api_reply_message(r, 400, "invalid reference format: a tag without a repository");
		return;
	}
	json_t *config = NULL;
	if (!api_body_json(r, true, &config))
		return;
	if (config && !json_is_object(config)) {
		json_decref(config);
		api_reply_message(r, 400, "the body must be a container config (a JSON object)");
		return;
	}
	_cleanup_strv_ char **changes_v = NULL;
	size_t n_changes = 0;
	if (!api_query_all(r, "changes", &changes_v, &n_changes)) {
		json_decref(config);
		return;
	}
	struct eng_commit_opts o = {
	    .config = config,
	    .changes = changes_v,
	    .n_changes = n_changes,
	    .author = api_query(r, "author"),
	    .comment = api_query(r, "comment"),
	    .reference = ref,
	    .pause = api_query_bool(r, "pause", true),
	};
	berr e = {0};
	char id[B_DIGEST_LEN + 1];
	int rc = eng_container_commit(r->eng, name, &o, id, &e);
	json_decref(config);
	if (rc < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	eng_container_event(r->eng, name, "commit", NULL);
	api_reply_json(r, 201, json_pack("{s:s}", "Id", id));
}

/* ---- docker cp ---- */

/* X-Docker-Container-Path-Stat: the path's stat as base64 JSON; false with an error reply set. */
static bool path_stat_header(struct api_request *r, const char *path, char **out)
{
	berr e = {0};
	json_t *st = NULL;
	if (eng_container_path_stat(r->eng, r->params[0], path, &st, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return false;
	}
	_cleanup_free_ char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	size_t len = text ? strlen(text) : 0;
	if (!text || !(*out = b_base64_encode(text, len, false))) {
		api_reply_message(r, 500, "out of memory");
		return false;
	}
	return true;
}

static const char *archive_path(struct api_request *r)
{
	const char *path = api_query(r, "path");
	if (!path || !*path) {
		api_reply_message(r, 400, "bad parameter: path cannot be empty");
		return NULL;
	}
	return path;
}

static void archive_head(struct api_request *r)
{
	const char *path = archive_path(r);
	_cleanup_free_ char *hdr = NULL;
	if (!path || !path_stat_header(r, path, &hdr))
		return;
	api_reply_empty(r, 200);
	MHD_add_response_header(r->resp, "X-Docker-Container-Path-Stat", hdr);
}

struct archive_job {
	struct eng *eng;
	char *name, *path;
};

static void archive_job_free(void *p)
{
	struct archive_job *j = p;
	free(j->name);
	free(j->path);
	free(j);
}

static int archive_produce(void *arg, int fd, berr *e)
{
	struct archive_job *j = arg;
	return eng_container_archive_get(j->eng, j->name, j->path, fd, e);
}

static void archive_get(struct api_request *r)
{
	const char *path = archive_path(r);
	_cleanup_free_ char *hdr = NULL;
	if (!path || !path_stat_header(r, path, &hdr))
		return;
	struct archive_job *j = calloc(1, sizeof *j);
	if (!j || !(j->name = strdup(r->params[0])) || !(j->path = strdup(path))) {
		if (j)
			archive_job_free(j);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	j->eng = r->eng;
	eng_container_event(r->eng, r->params[0], "archive-path", NULL);
	api_reply_produced(r, "application/x-tar", archive_produce, j, archive_job_free);
	if (r->resp && r->status == 200)
		MHD_add_response_header(r->resp, "X-Docker-Container-Path-Stat", hdr);
}

static void archive_put(struct api_request *r)
{
	const char *path = archive_path(r);
	if (!path)
		return;
	struct img_extract_opts o = {
	    .keep_owners = api_query_bool(r, "copyUIDGID", false),
	    .no_overwrite_dir_non_dir = api_query_bool(r, "noOverwriteDirNonDir", false),
	};
	berr e = {0};
	if (eng_container_archive_put(r->eng, r->params[0], path, r->body_fd, &o, &e) < 0) {
		if (e.errnum == EROFS)
			api_reply_message(r, 403, "%s", berr_msg(&e));
		else
			api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	eng_container_event(r->eng, r->params[0], "extract-to-dir", NULL);
	api_reply_empty(r, 200);
}

const struct api_route api_container_fs_routes[] = {
    {"GET", "/containers/*/changes", changes, 0},
    {"GET", "/containers/*/export", export_, 0},
    {"POST", "/commit", commit, 0},
    {"HEAD", "/containers/*/archive", archive_head, 0},
    {"GET", "/containers/*/archive", archive_get, 0},
    {"PUT", "/containers/*/archive", archive_put, API_STREAM_BODY},
    {0},
};
