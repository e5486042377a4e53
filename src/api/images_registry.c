/*
 * Pull and push: POST /images/create?fromImage= (reached through images.c's create) and
 * POST /images/{name}/push, streaming Docker's JSON progress lines.
 *
 * An error before the first line (a bad reference, an unknown image, a registry that cannot be
 * reached) is an HTTP error as Docker gives it; after it, an {"error", "errorDetail"} line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/events.h"
#include "image/image.h"
#include "image/reference.h"
#include "image/registry.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/json.h"

struct registry_job {
	struct eng *eng;
	char *reference; /* pull: the whole reference; push: "repo" (tag NULL: every tag) */
	char *tag;
	char *platform;
	struct img_registry_auth auth;
	int fd;       /* the reply stream while the producer runs */
	bool started; /* a line went out: errors are lines now */
};

static void job_free(void *arg)
{
	struct registry_job *j = arg;
	free(j->reference);
	free(j->tag);
	free(j->platform);
	img_registry_auth_free(&j->auth);
	free(j);
}

/* One JSON line to the client; a client that went away does not stop the work. */
static void send_line(struct registry_job *j, json_t *line)
{
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	json_decref(line);
	if (!text)
		return;
	size_t len = strlen(text);
	char *nl = realloc(text, len + 2);
	if (nl) {
		text = nl;
		text[len] = '\n';
		text[len + 1] = '\0';
		b_write_all(j->fd, text, len + 1);
		j->started = true;
	}
	free(text);
}

static void on_progress(void *arg, const char *id, const char *status, int64_t current, int64_t total)
{
	struct registry_job *j = arg;
	json_t *line = json_pack("{s:s}", "status", status);
	if (!line)
		return;
	if (id && strncmp(status, "Pulling from ", 13) == 0) {
		json_object_set_new(line, "id", json_string(id)); /* the tag or digest, not a layer */
	} else if (id) {
		json_t *detail = json_object();
		if (current || total > 0) {
			json_object_set_new(detail, "current", json_integer(current));
			if (total >= 0)
				json_object_set_new(detail, "total", json_integer(total));
		}
		json_object_set_new(line, "progressDetail", detail);
		json_object_set_new(line, "id", json_string(id));
	}
	send_line(j, line);
}

/* A failure after the stream started: Docker's error line, and the reply ends well. */
static int fail(struct registry_job *j, berr *e)
{
	if (!j->started)
		return -1;
	send_line(j, json_pack("{s:s, s:{s:s}}", "error", berr_msg(e), "errorDetail", "message", berr_msg(e)));
	berr_clear(e);
	return 0;
}

static int pull_produce(void *arg, int fd, berr *e)
{
	struct registry_job *j = arg;
	j->fd = fd;
	struct img_env *env = NULL;
	if (eng_image_env(j->eng, &env, e) < 0)
		return -1;
	struct img_registry_opts o = {.insecure_registries = eng_insecure_registries(j->eng),
				      .auth = &j->auth,
				      .progress = on_progress,
				      .progress_arg = j};
	struct img_pull_result res = {0};
	int r = img_pull(env, j->reference, j->platform, &o, &res, e);
	img_env_close(env);
	if (r < 0)
		return fail(j, e);
	eng_image_event(j->eng, "pull", res.id, res.reference);
	_cleanup_free_ char *digest = NULL, *status = NULL;
	if (asprintf(&digest, "Digest: %s", res.digest) < 0 ||
	    asprintf(&status, "Status: %s for %s", res.up_to_date ? "Image is up to date" : "Downloaded newer image",
		     res.reference) < 0) {
		img_pull_result_free(&res);
		return berr_set(e, ENOMEM, "out of memory");
	}
	send_line(j, json_pack("{s:s}", "status", digest));
	send_line(j, json_pack("{s:s}", "status", status));
	img_pull_result_free(&res);
	return 0;
}

/* X-Registry-Auth into job; false with an error reply set. */
static bool take_auth(struct api_request *r, struct registry_job *j)
{
	berr e = {0};
	if (img_registry_auth_parse(api_header(r, "X-Registry-Auth"), &j->auth, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return false;
	}
	return true;
}

void api_image_pull(struct api_request *r)
{
	const char *from = api_query(r, "fromImage"), *tag = api_query(r, "tag");
	struct img_ref ref = {0};
	berr e = {0};
	/* Docker's rule: a tag parameter replaces the name's tag; one that is a digest pins it. */
	if (img_ref_parse_name(from ? from : "", &ref, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	if (tag && *tag) {
		char **slot = strncmp(tag, "sha256:", 7) == 0 ? &ref.digest : &ref.tag;
		free(*slot);
		if (!(*slot = strdup(tag))) {
			img_ref_free(&ref);
			api_reply_message(r, 500, "out of memory");
			return;
		}
		if (slot == &ref.digest) {
			free(ref.tag);
			ref.tag = NULL;
		}
	}
	_cleanup_free_ char *whole = img_ref_string(&ref);
	img_ref_free(&ref);
	struct registry_job *j = calloc(1, sizeof *j);
	const char *platform = api_query(r, "platform");
	if (!whole || !j || !(j->reference = strdup(whole)) ||
	    (platform && *platform && !(j->platform = strdup(platform)))) {
		if (j)
			job_free(j);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	/* The whole reference again: a digest or tag from the parameter must be valid too. */
	if (img_ref_parse(j->reference, &ref, &e) < 0) {
		job_free(j);
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	img_ref_free(&ref);
	j->eng = r->eng;
	if (!take_auth(r, j)) {
		job_free(j);
		return;
	}
	api_reply_produced(r, "application/json", pull_produce, j, job_free);
}

/* ---- push ---- */

/* The tags of repository (canonical "domain/path") held locally, canonical "repo:tag". */
static int repository_tags(struct eng *eng, const char *repository, struct img_env *env, char ***out, berr *e)
{
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	if (img_db_list(env->db, false, &imgs, &n, e) < 0)
		return -1;
	size_t cap = 1, used = 0;
	char **v = calloc(cap, sizeof *v);
	int r = v ? 0 : berr_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n && r == 0; i++)
		for (char **t = imgs[i].tags; t && *t && r == 0; t++) {
			size_t len = strlen(repository);
			if (strncmp(*t, repository, len) != 0 || (*t)[len] != ':')
				continue;
			char **nv = realloc(v, (used + 2) * sizeof *nv);
			if (!nv || !(nv[used] = strdup(*t))) {
				if (nv)
					v = nv;
				r = berr_set(e, ENOMEM, "out of memory");
				break;
			}
			v = nv;
			v[++used] = NULL;
		}
	img_db_images_free(imgs, n);
	if (r < 0) {
		b_strv_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

static int push_produce(void *arg, int fd, berr *e)
{
	struct registry_job *j = arg;
	j->fd = fd;
	struct img_env *env = NULL;
	if (eng_image_env(j->eng, &env, e) < 0)
		return -1;
	_cleanup_strv_ char **refs = NULL;
	if (j->tag) {
		if (!(refs = calloc(2, sizeof *refs)) || asprintf(&refs[0], "%s:%s", j->reference, j->tag) < 0) {
			img_env_close(env);
			return berr_set(e, ENOMEM, "out of memory");
		}
	} else if (repository_tags(j->eng, j->reference, env, &refs, e) < 0) {
		img_env_close(env);
		return -1;
	}
	if (!refs[0]) {
		img_env_close(env);
		struct img_ref ref = {0};
		_cleanup_free_ char *fam = NULL;
		if (img_ref_parse_name(j->reference, &ref, e) == 0)
			fam = img_ref_familiar_repository(&ref);
		img_ref_free(&ref);
		berr_clear(e);
		return berr_plain(e, ENOENT, "An image does not exist locally with the tag: %s",
				  fam ? fam : j->reference);
	}
	struct img_registry_opts o = {.insecure_registries = eng_insecure_registries(j->eng),
				      .auth = &j->auth,
				      .progress = on_progress,
				      .progress_arg = j};
	int r = 0;
	for (char **p = refs; *p && r == 0; p++) {
		struct img_push_result res = {0};
		if (img_push(env, *p, &o, &res, e) < 0) {
			r = -1;
			break;
		}
		const char *t = strrchr(*p, ':') + 1;
		send_line(j, json_pack("{s:{}, s:{s:s, s:s, s:I}}", "progressDetail", "aux", "Tag", t, "Digest",
				       res.digest, "Size", (json_int_t)res.size));
		eng_image_event(j->eng, "push", *p, *p);
		img_push_result_free(&res);
	}
	img_env_close(env);
	return r < 0 ? fail(j, e) : 0;
}

static void push(struct api_request *r)
{
	const char *tag = api_query(r, "tag");
	struct img_ref ref = {0};
	berr e = {0};
	if (img_ref_parse_name(r->params[0], &ref, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		return;
	}
	if (ref.digest) {
		img_ref_free(&ref);
		api_reply_message(r, 400, "cannot push a digest reference");
		return;
	}
	struct registry_job *j = calloc(1, sizeof *j);
	const char *want_tag = tag && *tag ? tag : ref.tag;
	struct img_ref repo = {.domain = ref.domain, .path = ref.path};
	if (!j || !(j->reference = img_ref_string(&repo)) || (want_tag && !(j->tag = strdup(want_tag)))) {
		img_ref_free(&ref);
		if (j)
			job_free(j);
		api_reply_message(r, 500, "out of memory");
		return;
	}
	img_ref_free(&ref);
	j->eng = r->eng;
	if (!take_auth(r, j)) {
		job_free(j);
		return;
	}
	api_reply_produced(r, "application/json", push_produce, j, job_free);
}

/* ---- login ---- */

/*
 * POST /auth: the credentials checked against the registry, as dockerd does; nothing is kept (the
 * client stores them and sends them with each pull and push).
 */
static void login(struct api_request *r)
{
	json_t *body = NULL;
	if (!api_body_json(r, false, &body))
		return;
	const char *user = json_string_value(json_object_get(body, "username"));
	const char *password = json_string_value(json_object_get(body, "password"));
	const char *server = json_string_value(json_object_get(body, "serveraddress"));
	const char *identity = json_string_value(json_object_get(body, "identitytoken"));
	if ((!user || !*user) && identity && *identity) {
		json_decref(body);
		api_reply_message(r, 501, "login with an identity token is not supported yet by berthd");
		return;
	}
	if (!user || !*user) {
		json_decref(body);
		api_reply_message(r, 400, "login: a username is required");
		return;
	}
	struct img_registry_auth auth = {.username = (char *)user, .password = (char *)password};
	struct img_registry_opts o = {.insecure_registries = eng_insecure_registries(r->eng), .auth = &auth};
	berr e = {0};
	if (img_registry_login(server, &o, &e) < 0) {
		if (e.errnum == EACCES)
			api_reply_message(r, 401, "%s", berr_msg(&e));
		else
			api_reply_error(r, &e);
		berr_clear(&e);
	} else {
		api_reply_json(r, 200, json_pack("{s:s, s:s}", "Status", "Login Succeeded", "IdentityToken", ""));
	}
	json_decref(body);
}

const struct api_route api_image_registry_routes[] = {
    {"POST", "/images/**/push", push, 0},
    {"POST", "/auth", login, 0},
    {0},
};
