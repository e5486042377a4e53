/* /images: load, save, tag, remove (list, inspect, history, import, commit come with the image operations). */
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

struct collect {
	char **v;
	size_t n;
	bool failed;
};

static enum MHD_Result collect_names(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct collect *c = cls;
	if (strcmp(key, "names") != 0 || !value)
		return MHD_YES;
	char **v = realloc(c->v, (c->n + 2) * sizeof *v);
	if (!v) {
		c->failed = true;
		return MHD_NO;
	}
	c->v = v;
	c->v[c->n] = strdup(value);
	c->v[++c->n] = NULL;
	return MHD_YES;
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
	struct collect c = {0};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_names, &c);
	if (c.failed || c.n == 0) {
		b_strv_free(c.v);
		api_reply_message(r, c.failed ? 500 : 400, c.failed ? "out of memory" : "no image names given");
		return;
	}
	start_save(r, c.v, c.n);
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
    {"GET", "/images/json", not_yet, 0},
    {"GET", "/images/**/json", not_yet, 0},
    {"GET", "/images/**/history", not_yet, 0},
    {"POST", "/images/create", not_yet, API_STREAM_BODY},
    {"POST", "/images/prune", not_yet, 0},
    {"POST", "/images/**/push", not_yet, 0},
    {"GET", "/images/search", not_yet, 0},
    {"POST", "/commit", not_yet, 0},
    {"POST", "/build", not_yet, API_STREAM_BODY},
    {0},
};
