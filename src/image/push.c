/*
 * `docker push`: an image's blobs, then its manifest, to a registry.
 *
 * Everything to send is opened first, under the shared lock of the layers (an open blob survives
 * an rmi that runs meanwhile); the network part runs without the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry_internal.h"
#include "lib/cleanup.h"
#include "lib/json.h"

#define SHORT_ID_LEN   12
#define PROGRESS_EVERY (512 << 10)
#define PUSH_WORKERS   3 /* blobs sent side by side (dockerd: max-concurrent-uploads, 5) */

struct pblob {
	const char *digest; /* points into the manifest */
	char *short_id;     /* for progress: the layer's diff ID, short; NULL for the config */
	int fd;
	int64_t size;
};

struct push {
	struct img_env *env;
	const struct img_registry_opts *o;
	struct img_ref ref;
	struct img_db_image img;
	char *manifest_json;
	size_t manifest_len;
	char *manifest_type;
	struct img_manifest m;
	struct pblob *blobs; /* layers bottom first, then the config */
	size_t n;
	struct img_strv mount_from; /* other repositories of the same registry the image is tagged in */
	/* Shared by the upload workers. */
	pthread_mutex_t mu; /* guards progress calls, next and err */
	size_t next;
	atomic_bool failed;
	berr err;
	struct reg_client *c;
};

/* One blob being sent, for its progress. */
struct sending {
	struct push *p;
	const char *id;
	int64_t said;
};

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

/* One progress line; the callback never runs on two threads at once. */
static void say(struct push *p, const char *id, const char *status, int64_t current, int64_t total)
{
	if (!p->o || !p->o->progress)
		return;
	pthread_mutex_lock(&p->mu);
	p->o->progress(p->o->progress_arg, id, status, current, total);
	pthread_mutex_unlock(&p->mu);
}

static void push_free(struct push *p)
{
	img_ref_free(&p->ref);
	img_db_image_free(&p->img);
	free(p->manifest_json);
	free(p->manifest_type);
	img_manifest_free(&p->m);
	for (size_t i = 0; i < p->n; i++) {
		free(p->blobs[i].short_id);
		if (p->blobs[i].fd >= 0)
			close(p->blobs[i].fd);
	}
	free(p->blobs);
	img_strv_free(&p->mount_from);
}

/* The image's manifest as stored, or one made of its config and layer blobs (OCI). */
static int find_manifest(struct push *p, berr *e)
{
	if (p->img.manifest_digest && img_store_has(p->env->store, p->img.manifest_digest)) {
		if (img_store_read(p->env->store, p->img.manifest_digest, REG_MANIFEST_MAX, true, &p->manifest_json,
				   &p->manifest_len, e) < 0 ||
		    img_manifest_parse(p->manifest_json, p->manifest_len, &p->m, e) < 0)
			return berr_wrap(e, "manifest %s", p->img.manifest_digest);
		if (p->m.n_layers != p->img.n_layers)
			return berr_invalid(e, "manifest %s: %zu layers, the image has %zu", p->img.manifest_digest,
					    p->m.n_layers, p->img.n_layers);
		return (p->manifest_type = strdup(p->m.media_type)) ? 0 : oom(e);
	}
	/* No manifest: the layers as the plain tars their diff IDs name, made again where needed. */
	size_t n = p->img.n_layers;
	_cleanup_free_ struct img_descriptor *ls = calloc(n + 1, sizeof *ls);
	if (!ls)
		return oom(e);
	for (size_t j = 0; j < n; j++) {
		const char *diff = p->img.diff_ids[j];
		if (!img_store_has(p->env->store, diff)) {
			_cleanup_free_ char *dir = img_env_layer_dir(p->env, p->img.chain_ids[j]);
			if (!dir)
				return oom(e);
			char tmpl[] = "/tmp/berth-push-XXXXXX";
			_cleanup_close_ int fd = mkostemp(tmpl, O_CLOEXEC);
			if (fd < 0)
				return berr_sys(e, "creating a temp file");
			unlink(tmpl);
			char got[B_DIGEST_LEN + 1];
			uint64_t size = 0;
			if (img_layer_tar(dir, fd, got, &size, e) < 0)
				return berr_wrap(e, "layer %zu", j);
			if (strcmp(got, diff) != 0)
				return berr_plain(
				    e, EIO,
				    "layer %zu: its blob is not in the store and its directory gives %s, not %s", j,
				    got, diff);
			struct img_blob_writer *w = NULL;
			char buf[1 << 16];
			ssize_t k = 0;
			if (lseek(fd, 0, SEEK_SET) < 0)
				return berr_sys(e, "layer %zu", j);
			if (img_blob_writer_new(p->env->store, diff, (int64_t)size, &w, e) < 0)
				return -1;
			while ((k = read(fd, buf, sizeof buf)) > 0)
				if (img_blob_write(w, buf, (size_t)k, e) < 0) {
					img_blob_writer_abort(w);
					return -1;
				}
			if (k < 0) {
				img_blob_writer_abort(w);
				return berr_sys(e, "layer %zu", j);
			}
			if (img_blob_writer_commit(w, NULL, e) < 0)
				return -1;
		}
		_cleanup_close_ int bfd = -1;
		int64_t size = 0;
		if (img_store_open_blob(p->env->store, diff, &bfd, &size, e) < 0)
			return -1;
		ls[j] = (struct img_descriptor){.media_type = IMG_MT_OCI_LAYER, .digest = (char *)diff, .size = size};
	}
	int64_t csize = 0;
	_cleanup_close_ int cfd = -1;
	if (img_store_open_blob(p->env->store, p->img.config_digest, &cfd, &csize, e) < 0)
		return berr_wrap(e, "config");
	struct img_manifest m = {
	    .media_type = IMG_MT_OCI_MANIFEST,
	    .schema_version = 2,
	    .config = {.media_type = IMG_MT_OCI_CONFIG, .digest = p->img.config_digest, .size = csize},
	    .layers = ls,
	    .n_layers = n,
	};
	if (!(p->manifest_json = img_manifest_to_json(&m)))
		return oom(e);
	p->manifest_len = strlen(p->manifest_json);
	if (img_manifest_parse(p->manifest_json, p->manifest_len, &p->m, e) < 0)
		return -1;
	return (p->manifest_type = strdup(IMG_MT_OCI_MANIFEST)) ? 0 : oom(e);
}

static int open_blobs(struct push *p, berr *e)
{
	if (!(p->blobs = calloc(p->m.n_layers + 1, sizeof *p->blobs)))
		return oom(e);
	for (size_t j = 0; j <= p->m.n_layers; j++) {
		struct pblob *b = &p->blobs[p->n++];
		b->fd = -1;
		b->digest = j < p->m.n_layers ? p->m.layers[j].digest : p->m.config.digest;
		if (j < p->m.n_layers &&
		    asprintf(&b->short_id, "%.*s", SHORT_ID_LEN, b_digest_hex(p->img.diff_ids[j])) < 0) {
			b->short_id = NULL;
			return oom(e);
		}
		if (img_store_open_blob(p->env->store, b->digest, &b->fd, &b->size, e) < 0)
			return berr_wrap(e, "%s", j < p->m.n_layers ? "layer" : "config");
	}
	return 0;
}

/* Other repositories of the same registry holding the image: where a blob may be mounted from. */
static int mount_sources(struct push *p, berr *e)
{
	for (char **t = p->img.tags; t && *t; t++) {
		struct img_ref r = {0};
		berr ignored = {0};
		if (img_ref_parse(*t, &r, &ignored) < 0) {
			berr_clear(&ignored);
			continue;
		}
		int rc = 0;
		if (strcmp(r.domain, p->ref.domain) == 0 && strcmp(r.path, p->ref.path) != 0)
			rc = img_strv_add_unique(&p->mount_from, r.path, e);
		img_ref_free(&r);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int prepare(struct push *p, berr *e)
{
	_cleanup_free_ char *name = img_ref_string(&p->ref), *id = NULL;
	if (!name)
		return oom(e);
	berr ignored = {0};
	if (img_db_resolve(p->env->db, name, &id, &ignored) < 0) {
		berr_clear(&ignored);
		_cleanup_free_ char *repo = img_ref_familiar_repository(&p->ref);
		return berr_plain(e, ENOENT, "An image does not exist locally with the tag: %s", repo ? repo : name);
	}
	if (img_db_image_get(p->env->db, id, &p->img, e) < 0)
		return -1;
	if (img_env_lock(p->env, false, e) < 0)
		return -1;
	int r = find_manifest(p, e) < 0 || open_blobs(p, e) < 0 || mount_sources(p, e) < 0 ? -1 : 0;
	img_env_unlock(p->env);
	return r;
}

static int on_sent(void *arg, int64_t sent, int64_t total)
{
	struct sending *st = arg;
	if (atomic_load(&st->p->failed))
		return -1; /* another blob failed: this upload stops */
	if (st->id && (sent - st->said >= PROGRESS_EVERY || sent == total)) {
		st->said = sent;
		say(st->p, st->id, "Pushing", sent, total);
	}
	return 0;
}

static int send_blob(struct push *p, struct reg_client *c, struct pblob *b, berr *e)
{
	int has = reg_blob_exists(c, b->digest, e);
	if (has < 0)
		return -1;
	if (has) {
		if (b->short_id)
			say(p, b->short_id, "Layer already exists", 0, 0);
		return 0;
	}
	for (size_t i = 0; i < p->mount_from.n; i++) {
		bool mounted = false;
		berr ignored = {0};
		/* A source the registry will not mount from is no error: the blob is uploaded instead. */
		int r = reg_blob_put(c, b->digest, b->fd, b->size, p->mount_from.v[i], &mounted, NULL, NULL, &ignored);
		berr_clear(&ignored);
		if (r == 0 && mounted) {
			if (b->short_id) {
				_cleanup_free_ char *line = NULL;
				if (asprintf(&line, "Mounted from %s", p->mount_from.v[i]) < 0)
					return oom(e);
				say(p, b->short_id, line, 0, 0);
			}
			return 0;
		}
		if (r == 0)
			return b->short_id ? (say(p, b->short_id, "Pushed", 0, 0), 0) : 0;
	}
	struct sending st = {.p = p, .id = b->short_id};
	if (reg_blob_put(c, b->digest, b->fd, b->size, NULL, NULL, on_sent, &st, e) < 0)
		return -1;
	if (b->short_id)
		say(p, b->short_id, "Pushed", 0, 0);
	return 0;
}

/* An upload worker: the next blob not taken yet, until none is left or one failed. */
static void *upload_worker(void *arg)
{
	struct push *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t i = p->next < p->n ? p->next++ : p->n;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n || atomic_load(&p->failed))
			return NULL;
		struct pblob *b = &p->blobs[i];
		berr e = {0};
		if (send_blob(p, p->c, b, &e) < 0) {
			berr_wrap(&e, "%s %s", b->short_id ? "layer" : "config", b->digest);
			pthread_mutex_lock(&p->mu);
			/* The first failure is the one to report, not the uploads it stopped. */
			if (!atomic_load(&p->failed)) {
				p->err = e;
				atomic_store(&p->failed, true);
			} else {
				berr_clear(&e);
			}
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
	}
}

/* Every blob, PUSH_WORKERS at a time (layers first, the config among the last). */
static int send_blobs(struct push *p, berr *e)
{
	pthread_t t[PUSH_WORKERS];
	size_t started = 0;
	for (; started < PUSH_WORKERS && started < p->n; started++)
		if (pthread_create(&t[started], NULL, upload_worker, p) != 0)
			break;
	if (started == 0)
		upload_worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (atomic_load(&p->failed)) {
		*e = p->err;
		memset(&p->err, 0, sizeof p->err);
		return -1;
	}
	return 0;
}

static int send_all(struct push *p, struct img_push_result *out, berr *e)
{
	_cleanup_free_ char *repo_line = NULL, *repo = img_ref_repository(&p->ref);
	struct img_ref shown = {.domain = p->ref.domain, .path = p->ref.path};
	_cleanup_free_ char *fam = img_ref_familiar_repository(&shown);
	if (!repo || !fam || asprintf(&repo_line, "The push refers to repository [%s]", repo) < 0) {
		repo_line = NULL;
		return oom(e);
	}
	say(p, NULL, repo_line, 0, 0);
	struct reg_client *c = NULL;
	if (reg_client_new(p->ref.domain, p->ref.path, "pull,push", p->o, &c, e) < 0) {
		reg_client_free(c);
		return -1;
	}
	for (size_t i = p->n; i-- > 0;)
		if (p->blobs[i].short_id)
			say(p, p->blobs[i].short_id, "Preparing", 0, 0);
	p->c = c;
	int r = send_blobs(p, e);
	p->c = NULL;
	if (r == 0)
		r = reg_manifest_put(c, p->ref.tag, p->manifest_type, p->manifest_json, p->manifest_len, e);
	reg_client_free(c);
	if (r < 0)
		return -1;
	char digest[B_DIGEST_LEN + 1];
	b_sha256_of(p->manifest_json, p->manifest_len, digest);
	_cleanup_free_ char *done = NULL;
	if (asprintf(&done, "%s: digest: %s size: %zu", p->ref.tag, digest, p->manifest_len) < 0) {
		done = NULL;
		return oom(e);
	}
	say(p, NULL, done, 0, 0);
	/* Docker remembers what it pushed: name@digest resolves from now on. */
	_cleanup_free_ char *by_digest = NULL;
	struct img_ref d = {.domain = p->ref.domain, .path = p->ref.path, .digest = digest};
	berr ignored = {0};
	if ((by_digest = img_ref_string(&d)) && img_db_tag(p->env->db, p->img.id, by_digest, &ignored) < 0)
		berr_clear(&ignored);
	if (!(out->digest = strdup(digest)))
		return oom(e);
	out->size = (int64_t)p->manifest_len;
	return 0;
}

int img_push(struct img_env *env, const char *reference, const struct img_registry_opts *o, struct img_push_result *out,
	     berr *e)
{
	memset(out, 0, sizeof *out);
	struct push p = {.env = env, .o = o};
	pthread_mutex_init(&p.mu, NULL);
	int r = -1;
	if (img_ref_parse(reference, &p.ref, e) < 0)
		goto out;
	if (p.ref.digest) {
		berr_invalid(e, "cannot push a digest reference");
		goto out;
	}
	if (prepare(&p, e) < 0 || send_all(&p, out, e) < 0)
		goto out;
	r = 0;
out:
	push_free(&p);
	pthread_mutex_destroy(&p.mu);
	if (r < 0)
		img_push_result_free(out);
	return r;
}

void img_push_result_free(struct img_push_result *r)
{
	if (!r)
		return;
	free(r->digest);
	memset(r, 0, sizeof *r);
}
