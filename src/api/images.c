/* /images: list, inspect, history, import, load, save, tag, remove, prune. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/events.h"
#include "image/image.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/json.h"

static void load(struct api_request *r)
{
	berr e = {0};
	struct img_env *env = NULL;
	_cleanup_strv_ char **loaded = NULL;
	if (eng_image_env(r->eng, &env, &e) < 0 || img_load_archive(env, r->body_fd, &loaded, &e) < 0) {
		img_env_close(env);
		/* A bad archive is the client's fault; the message names what is wrong with it. */
		if (e.errnum != ENOSPC && e.errnum != EIO && e.errnum != ENOMEM)
			e.errnum = EINVAL;
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	img_env_close(env);
	/* Docker's answer: a JSON stream of {"stream": "Loaded image: busybox:latest\n"}. */
	size_t cap = 1, len = 0;
	for (char **p = loaded; p && *p; p++)
		cap += strlen(*p) + 32;
	_cleanup_free_ char *text = calloc(1, cap);
	if (!text) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	for (char **p = loaded; p && *p; p++) {
		eng_image_event(r->eng, "load", *p, *p);
		json_t *line = json_pack("{s:s+}", "stream", *p, "\n");
		char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
		json_decref(line);
		if (s && len + strlen(s) + 2 <= cap) {
			len += (size_t)sprintf(text + len, "%s\n", s);
		}
		free(s);
	}
	api_reply_text(r, 200, "application/json", text);
}

struct save_job {
	struct eng *eng;
	char **names;
	size_t n;
};

static void save_job_free(void *p)
{
	struct save_job *j = p;
	b_strv_free(j->names);
	free(j);
}

static int save_produce(void *arg, int fd, berr *e)
{
	struct save_job *j = arg;
	struct img_env *env = NULL;
	if (eng_image_env(j->eng, &env, e) < 0)
		return -1;
	int r = img_save_archive(env, j->names, j->n, IMG_ARCHIVE_DOCKER, fd, e);
	img_env_close(env);
	return r;
}

static void start_save(struct api_request *r, char **names, size_t n)
{
	/* Resolve every name first: an unknown image is a 404, not a broken stream. */
	berr e = {0};
	struct img_env *env = NULL;
	if (eng_image_env(r->eng, &env, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		b_strv_free(names);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *id = NULL;
		if (img_db_resolve(env->db, names[i], &id, &e) < 0) {
			img_env_close(env);
			api_reply_error(r, &e);
			berr_clear(&e);
			b_strv_free(names);
			return;
		}
		eng_image_event(r->eng, "save", id, names[i]);
	}
	img_env_close(env);
	struct save_job *j = calloc(1, sizeof *j);
	if (!j) {
		b_strv_free(names);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	j->eng = r->eng;
	j->names = names;
	j->n = n;
	api_reply_produced(r, "application/x-tar", save_produce, j, save_job_free);
}

static void save_many(struct api_request *r)
{
	char **names = NULL;
	size_t n = 0;
	if (!api_query_all(r, "names", &names, &n))
		return;
	if (n == 0) {
		b_strv_free(names);
		api_reply_message(r, 400, "no image names given");
		return;
	}
	start_save(r, names, n);
}

static void save_one(struct api_request *r)
{
	char **names = calloc(2, sizeof *names);
	if (!names || !(names[0] = strdup(r->params[0]))) {
		free(names);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	start_save(r, names, 1);
}

static void tag(struct api_request *r)
{
	const char *repo = api_query(r, "repo"), *t = api_query(r, "tag");
	if (!repo || !*repo) {
		api_reply_message(r, 400, "repository name (repo parameter) is required");
		return;
	}
	_cleanup_free_ char *ref = NULL;
	if (asprintf(&ref, "%s%s%s", repo, t && *t ? ":" : "", t && *t ? t : "") < 0) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	berr e = {0};
	struct img_env *env = NULL;
	_cleanup_free_ char *id = NULL;
	if (eng_image_env(r->eng, &env, &e) < 0 || img_db_resolve(env->db, r->params[0], &id, &e) < 0 ||
	    img_db_tag(env->db, id, ref, &e) < 0) {
		api_reply_error(r, &e);
	} else {
		api_reply_empty(r, 201);
		eng_image_event(r->eng, "tag", id, ref);
	}
	img_env_close(env);
	berr_clear(&e);
}

static void remove_(struct api_request *r)
{
	berr e = {0};
	struct img_env *env = NULL;
	struct img_db_removal out = {0};
	_cleanup_free_ char *id = NULL; /* the image the untag events name */
	if (eng_image_env(r->eng, &env, &e) < 0 || img_db_resolve(env->db, r->params[0], &id, &e) < 0 ||
	    img_remove(env, r->params[0], api_query_bool(r, "force", false), &out, &e) < 0) {
		api_reply_error(r, &e);
		img_env_close(env);
		berr_clear(&e);
		return;
	}
	img_env_close(env);
	eng_image_removal_events(r->eng, id, out.untagged, out.deleted);
	json_t *arr = json_array();
	for (char **p = out.untagged; p && *p; p++)
		json_array_append_new(arr, json_pack("{s:s}", "Untagged", *p));
	for (char **p = out.deleted; p && *p; p++)
		json_array_append_new(arr, json_pack("{s:s}", "Deleted", *p));
	img_db_removal_free(&out);
	api_reply_json(r, 200, arr);
}

/* A handler's image handle, or an error reply. */
static struct img_env *image_env(struct api_request *r)
{
	berr e = {0};
	struct img_env *env = NULL;
	if (eng_image_env(r->eng, &env, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return NULL;
	}
	return env;
}

static void reply_json_or_error(struct api_request *r, int rc, json_t *out, berr *e)
{
	if (rc < 0) {
		api_reply_error(r, e);
		berr_clear(e);
		return;
	}
	api_reply_json(r, 200, out);
}

static void list(struct api_request *r)
{
	json_t *filters = NULL, *out = NULL;
	if (!api_query_filters(r, &filters))
		return;
	struct img_env *env = image_env(r);
	if (env) {
		berr e = {0};
		int rc = img_list_json(env, api_query_bool(r, "all", false), filters, &out, &e);
		img_env_close(env);
		reply_json_or_error(r, rc, out, &e);
	}
	json_decref(filters);
}

static void inspect(struct api_request *r)
{
	struct img_env *env = image_env(r);
	if (!env)
		return;
	berr e = {0};
	json_t *out = NULL;
	int rc = img_inspect_json(env, r->params[0], &out, &e);
	img_env_close(env);
	reply_json_or_error(r, rc, out, &e);
}

static void history(struct api_request *r)
{
	struct img_env *env = image_env(r);
	if (!env)
		return;
	berr e = {0};
	json_t *out = NULL;
	int rc = img_history_json(env, r->params[0], &out, &e);
	img_env_close(env);
	reply_json_or_error(r, rc, out, &e);
}

/* POST /images/create?fromSrc=-: `docker import` of the body; fromImage: a pull (images_registry.c). */
static void create(struct api_request *r)
{
	const char *src = api_query(r, "fromSrc"), *repo = api_query(r, "repo"), *tag = api_query(r, "tag");
	if (!src) {
		api_image_pull(r);
		return;
	}
	if (strcmp(src, "-") != 0) {
		api_reply_message(r, 501,
				  "importing from a URL is not supported yet by berthd: send the tar as the body");
		return;
	}
	_cleanup_free_ char *ref = NULL;
	if (repo && *repo && asprintf(&ref, "%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "") < 0) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	berr e = {0};
	if (ref) {
		/* Checked before the body is read: a bad name loses no work. */
		struct img_ref parsed = {0};
		if (img_ref_parse(ref, &parsed, &e) < 0) {
			api_reply_error(r, &e);
			berr_clear(&e);
			return;
		}
		bool digest = parsed.digest != NULL;
		img_ref_free(&parsed);
		if (digest) {
			api_reply_message(r, 400, "cannot import digest reference");
			return;
		}
	}
	_cleanup_strv_ char **changes = NULL;
	size_t n_changes = 0;
	if (!api_query_all(r, "changes", &changes, &n_changes))
		return;
	struct img_env *env = image_env(r);
	if (!env)
		return;
	struct img_import_opts o = {
	    .changes = changes,
	    .n_changes = n_changes,
	    .message = api_query(r, "message"),
	    .source = src,
	    .reference = ref,
	    .platform = api_query(r, "platform"),
	};
	char id[B_DIGEST_LEN + 1];
	int rc = img_import(env, r->body_fd, &o, id, &e);
	img_env_close(env);
	if (rc < 0) {
		/* A bad tar or change is the client's fault. */
		if (e.errnum != ENOSPC && e.errnum != ENOMEM)
			e.errnum = EINVAL;
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	eng_image_event(r->eng, "import", id, ref);
	json_t *line = json_pack("{s:s}", "status", id);
	_cleanup_free_ char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	_cleanup_free_ char *body = NULL;
	if (!text || asprintf(&body, "%s\n", text) < 0) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	api_reply_text(r, 200, "application/json", body);
}

/* POST /images/prune: dangling images (or, with dangling=false, every image) that nothing uses. */
static void prune(struct api_request *r)
{
	json_t *filters = NULL;
	if (!api_query_filters(r, &filters))
		return;
	struct img_env *env = image_env(r);
	if (!env) {
		json_decref(filters);
		return;
	}
	berr e = {0};
	json_t *candidates = NULL;
	json_t *deleted = json_array();
	json_int_t reclaimed = 0;
	/* Docker's prune keeps dangling=true unless told dangling=false; the other filters pass through. */
	json_t *list_filters = filters ? json_deep_copy(filters) : json_object();
	json_t *dangling = json_object_get(list_filters, "dangling");
	bool all = dangling && json_is_array(dangling) && json_string_value(json_array_get(dangling, 0)) &&
		   (strcmp(json_string_value(json_array_get(dangling, 0)), "false") == 0 ||
		    strcmp(json_string_value(json_array_get(dangling, 0)), "0") == 0);
	if (all)
		json_object_del(list_filters, "dangling");
	else
		json_object_set_new(list_filters, "dangling", json_pack("[s]", "true"));
	int rc = img_list_json(env, false, list_filters, &candidates, &e);
	size_t i;
	json_t *img;
	json_array_foreach (candidates, i, img) {
		const char *id = json_string_value(json_object_get(img, "Id"));
		struct img_db_removal out = {0};
		berr skip = {0};
		/* In use by a container, or a parent: Docker leaves it and goes on. */
		if (!id || img_remove(env, id, false, &out, &skip) < 0) {
			berr_clear(&skip);
			continue;
		}
		reclaimed += json_integer_value(json_object_get(img, "Size"));
		eng_image_removal_events(r->eng, id, out.untagged, out.deleted);
		for (char **p = out.untagged; p && *p; p++)
			json_array_append_new(deleted, json_pack("{s:s}", "Untagged", *p));
		for (char **p = out.deleted; p && *p; p++)
			json_array_append_new(deleted, json_pack("{s:s}", "Deleted", *p));
		img_db_removal_free(&out);
	}
	img_env_close(env);
	json_decref(candidates);
	json_decref(list_filters);
	json_decref(filters);
	if (rc < 0) {
		json_decref(deleted);
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	api_reply_json(r, 200,
		       json_pack("{s:o, s:I}", "ImagesDeleted",
				 json_array_size(deleted) ? deleted : (json_decref(deleted), json_null()),
				 "SpaceReclaimed", reclaimed));
}

static void not_yet(struct api_request *r)
{
	api_reply_message(r, 501, "%s %s is not supported yet by berthd", r->method, r->path);
}

const struct api_route api_image_routes[] = {
    {"POST", "/images/load", load, API_STREAM_BODY},
    {"GET", "/images/get", save_many, 0},
    {"GET", "/images/**/get", save_one, 0},
    {"POST", "/images/**/tag", tag, 0},
    {"DELETE", "/images/**", remove_, 0},
    {"GET", "/images/json", list, 0},
    {"GET", "/images/**/json", inspect, 0},
    {"GET", "/images/**/history", history, 0},
    {"POST", "/images/create", create, API_STREAM_BODY},
    {"POST", "/images/prune", prune, 0},
    {"GET", "/images/search", not_yet, 0},
    {"POST", "/build", not_yet, API_STREAM_BODY},
    {0},
};
