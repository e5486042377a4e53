/*
 * `docker pull`: manifest (through an index to the platform's), config and layers from a registry
 * into the content store, the layers unpacked, the image recorded in one transaction.
 *
 * The downloads run without the layers' lock (the content store takes concurrent writers), up to
 * three layers at a time, so that a long pull does not hold up containers starting from other
 * images. The unpacking and the record are done under the exclusive lock, as a load does, and a
 * failure anywhere takes back what the pull added: the layer dirs it made, the blobs nothing
 * refers to.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/config.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry_internal.h"
#include "image/unpack.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define PULL_WORKERS      3
#define DOWNLOAD_ATTEMPTS 3 /* a broken layer download is resumed this many times, less one */
#define UNPACK_WORKERS    2 /* layers unpacked side by side */
#define CONFIG_MAX        (32 << 20)
#define PROGRESS_EVERY    (512 << 10) /* bytes between two "Downloading" lines of one layer */
#define SHORT_ID_LEN      12
#define INDEX_DEPTH       2 /* an index naming an index is followed this deep */

struct player {
	const char *blob, *diff, *chain, *parent; /* point into the manifest, config, chain list */
	int64_t blob_size;
	char short_id[SHORT_ID_LEN + 1];
	bool present; /* unpacked and registered before this pull */
	bool fetch;   /* the blob is not in the store: download it */
	int64_t size; /* uncompressed size, of the layers this pull unpacks */
	char *dir;    /* layers/<chain>/diff, for a layer this pull unpacks */
	int fd;       /* its blob, open until unpacked */
};

struct pull {
	struct img_env *env;
	const struct img_registry_opts *o;
	struct reg_client *c;
	struct img_ref ref;
	char top_digest[B_DIGEST_LEN + 1];      /* what the reference resolved to */
	char manifest_digest[B_DIGEST_LEN + 1]; /* the image manifest */
	char *manifest_json, *manifest_type;
	size_t manifest_len;
	struct img_manifest m;
	struct img_config cfg;
	char **chains;
	struct player *layers;
	size_t n;
	struct img_strv added; /* blobs this pull stored: pruned at the end unless referenced */
	struct img_strv made;  /* layer dirs this pull created: removed on failure */
	char *old_manifest;    /* the manifest the image had before, if another */
	/* Shared by the download workers. */
	pthread_mutex_t mu;
	size_t next;
	atomic_bool failed;
	berr err;
};

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

/* One progress line; the callback never runs on two threads at once. */
static void say(struct pull *p, const char *id, const char *status, int64_t current, int64_t total)
{
	if (!p->o || !p->o->progress)
		return;
	pthread_mutex_lock(&p->mu);
	p->o->progress(p->o->progress_arg, id, status, current, total);
	pthread_mutex_unlock(&p->mu);
}

static int added(struct pull *p, const char *digest, berr *e)
{
	pthread_mutex_lock(&p->mu);
	int r = img_strv_add_unique(&p->added, digest, e);
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* ---- small blobs ---- */

/* Where a blob's bytes go as they come: the store, with progress for layers. */
struct dl {
	struct pull *p;
	struct img_blob_writer *w;
	const char *id; /* short ID for progress, NULL: none */
	int64_t got, total, said;
};

static int dl_sink(void *arg, const void *data, size_t len, berr *e)
{
	struct dl *d = arg;
	if (atomic_load(&d->p->failed))
		return berr_plain(e, ECANCELED, "cancelled: another layer failed");
	if (img_blob_write(d->w, data, len, e) < 0)
		return -1;
	d->got += (int64_t)len;
	if (d->id && (d->got - d->said >= PROGRESS_EVERY || d->got == d->total)) {
		d->said = d->got;
		say(d->p, d->id, "Downloading", d->got, d->total);
	}
	return 0;
}

/* Sleep ms milliseconds unless another layer fails meanwhile. */
static void backoff(struct pull *p, int ms)
{
	for (int waited = 0; waited < ms && !atomic_load(&p->failed); waited += 50)
		usleep(50 * 1000);
}

/*
 * Download a blob into the store, checked against digest and size (-1: unknown). A transfer that
 * breaks is resumed from the bytes already written (Range), as Docker does, up to
 * DOWNLOAD_ATTEMPTS times; a registry that cannot resume starts the blob again.
 */
static int fetch_blob(struct pull *p, const char *digest, int64_t size, const char *id, berr *e)
{
	struct dl d = {.p = p, .id = id, .total = size};
	if (img_blob_writer_new(p->env->store, digest, size, &d.w, e) < 0)
		return -1;
	for (int attempt = 1;; attempt++) {
		if (reg_blob_get(p->c, digest, d.got, dl_sink, &d, e) == 0)
			break;
		bool again = (e->errnum == EIO || e->errnum == ERANGE) && attempt < DOWNLOAD_ATTEMPTS &&
			     !atomic_load(&p->failed);
		if (!again) {
			img_blob_writer_abort(d.w);
			return -1;
		}
		bool restart = e->errnum == ERANGE; /* the registry cannot resume: from byte 0 */
		berr_clear(e);
		if (restart) {
			img_blob_writer_abort(d.w);
			d.w = NULL;
			d.got = d.said = 0;
			if (img_blob_writer_new(p->env->store, digest, size, &d.w, e) < 0)
				return -1;
		}
		if (id) {
			char status[64];
			snprintf(status, sizeof status, "Retrying in %d second%s", attempt, attempt == 1 ? "" : "s");
			say(p, id, status, 0, 0);
		}
		backoff(p, attempt * 1000);
	}
	if (id)
		say(p, id, "Verifying Checksum", 0, 0);
	if (img_blob_writer_commit(d.w, NULL, e) < 0)
		return id ? berr_wrap(e, "filesystem layer verification failed for digest %s", digest) : -1;
	return added(p, digest, e);
}

/* ---- manifest and config ---- */

/* Docker's words for a manifest the registry does not have. */
static int not_found(struct pull *p, berr *e)
{
	if (e->errnum != ENOENT)
		return -1;
	struct img_ref shown = {
	    .domain = p->ref.domain, .path = p->ref.path, .tag = p->ref.tag, .digest = p->ref.digest};
	if (shown.digest)
		shown.tag = NULL;
	_cleanup_free_ char *fam = img_ref_familiar(&shown);
	if (strncmp(berr_msg(e), "name unknown", 12) == 0) {
		_cleanup_free_ char *repo = img_ref_familiar_repository(&p->ref);
		return berr_wrap(e, "repository %s not found", repo ? repo : "?");
	}
	return berr_wrap(e, "manifest for %s not found", fam ? fam : "?");
}

/* GET a manifest or index by ref; checked against the digest when ref is one. */
static int get_doc(struct pull *p, const char *ref, char **json, size_t *len, char **type,
		   char digest[B_DIGEST_LEN + 1], berr *e)
{
	if (reg_manifest_get(p->c, ref, json, len, type, e) < 0)
		return -1;
	b_sha256_of(*json, *len, digest);
	if (b_digest_valid(ref) && strcmp(ref, digest) != 0)
		return berr_plain(e, EIO, "manifest verification failed for digest %s: the registry sent %s", ref,
				  digest);
	return 0;
}

static int resolve_manifest(struct pull *p, const char *platform, berr *e)
{
	const char *ref = p->ref.digest ? p->ref.digest : p->ref.tag;
	char *json = NULL, *type = NULL;
	size_t len = 0;
	char digest[B_DIGEST_LEN + 1];
	if (get_doc(p, ref, &json, &len, &type, digest, e) < 0)
		return not_found(p, e);
	memcpy(p->top_digest, digest, sizeof digest);
	for (int depth = 0;; depth++) {
		enum img_doc_kind kind;
		if (img_doc_kind_of(json, len, type, &kind, e) < 0)
			goto fail;
		if (kind == IMG_DOC_MANIFEST)
			break;
		if (depth >= INDEX_DEPTH) {
			berr_invalid(e, "indexes nested more than %d deep", INDEX_DEPTH);
			goto fail;
		}
		struct img_index idx = {0};
		struct img_platform want = {0};
		const struct img_descriptor *sel = NULL;
		if (img_index_parse(json, len, &idx, e) < 0 || img_platform_parse(platform, &want, e) < 0 ||
		    img_index_select(&idx, &want, &sel, e) < 0) {
			img_platform_free(&want);
			img_index_free(&idx);
			goto fail;
		}
		img_platform_free(&want);
		_cleanup_free_ char *next = strdup(sel->digest);
		img_index_free(&idx);
		free(json);
		free(type);
		json = type = NULL;
		if (!next)
			return oom(e);
		if (get_doc(p, next, &json, &len, &type, digest, e) < 0)
			goto fail;
	}
	if (img_manifest_parse(json, len, &p->m, e) < 0)
		goto fail;
	memcpy(p->manifest_digest, digest, sizeof digest);
	p->manifest_json = json;
	p->manifest_len = len;
	p->manifest_type = strdup(p->m.media_type);
	free(type);
	return p->manifest_type ? 0 : oom(e);
fail:
	free(json);
	free(type);
	return -1;
}

/*
 * The client that has the manifest. Docker Hub's images: its mirrors first, in order (without the
 * user's credentials, which are Docker Hub's), then Docker Hub; a mirror that fails in any way is
 * passed over.
 */
static int connect_and_resolve(struct pull *p, const char *platform, berr *e)
{
	if (strcmp(p->ref.domain, "docker.io") == 0) {
		_cleanup_strv_ char **urls = reg_mirrors();
		if (!urls)
			return oom(e);
		struct img_registry_opts mo = p->o ? *p->o : (struct img_registry_opts){0};
		mo.auth = NULL;
		for (char **u = urls; *u; u++) {
			berr ignored = {0};
			if (reg_client_new_at(*u, p->ref.domain, p->ref.path, "pull", &mo, &p->c, &ignored) == 0 &&
			    resolve_manifest(p, platform, &ignored) == 0)
				return 0;
			berr_clear(&ignored);
			reg_client_free(p->c);
			p->c = NULL;
		}
	}
	if (reg_client_new(p->ref.domain, p->ref.path, "pull", p->o, &p->c, e) < 0)
		return -1;
	return resolve_manifest(p, platform, e);
}

static int get_config(struct pull *p, berr *e)
{
	const struct img_descriptor *d = &p->m.config;
	if (d->size > CONFIG_MAX)
		return berr_invalid(e, "config %s: %lld bytes, more than %d", d->digest, (long long)d->size,
				    CONFIG_MAX);
	if (!img_store_has(p->env->store, d->digest) && fetch_blob(p, d->digest, d->size, NULL, e) < 0)
		return berr_wrap(e, "config %s", d->digest);
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (img_store_read(p->env->store, d->digest, CONFIG_MAX, true, &json, &len, e) < 0 ||
	    img_config_parse(json, len, &p->cfg, e) < 0)
		return berr_wrap(e, "config %s", d->digest);
	if (p->cfg.n_diff_ids != p->m.n_layers)
		return berr_invalid(e, "manifest %s: %zu layers, its config has %zu diff IDs", p->manifest_digest,
				    p->m.n_layers, p->cfg.n_diff_ids);
	_cleanup_free_ char(*ids)[B_DIGEST_LEN + 1] = calloc(p->m.n_layers + 1, sizeof *ids);
	if (!ids || !(p->chains = calloc(p->m.n_layers + 1, sizeof *p->chains)) ||
	    !(p->layers = calloc(p->m.n_layers + 1, sizeof *p->layers)))
		return oom(e);
	if (img_chain_ids(p->cfg.diff_ids, p->cfg.n_diff_ids, ids, e) < 0)
		return berr_wrap(e, "config %s", d->digest);
	p->n = p->m.n_layers;
	for (size_t j = 0; j < p->n; j++) {
		enum img_compression comp;
		if (img_layer_compression(p->m.layers[j].media_type, &comp, e) < 0)
			return berr_wrap(e, "manifest %s: layers[%zu]", p->manifest_digest, j);
		if (!(p->chains[j] = strdup(ids[j])))
			return oom(e);
		struct player *l = &p->layers[j];
		*l = (struct player){.blob = p->m.layers[j].digest,
				     .blob_size = p->m.layers[j].size,
				     .diff = p->cfg.diff_ids[j],
				     .chain = p->chains[j],
				     .parent = j ? p->chains[j - 1] : NULL,
				     .fd = -1};
		snprintf(l->short_id, sizeof l->short_id, "%.*s", SHORT_ID_LEN, b_digest_hex(l->blob));
	}
	return 0;
}

/* ---- layers ---- */

static bool layer_in_place(struct img_env *env, const char *chain)
{
	_cleanup_free_ char *dir = img_env_layer_dir(env, chain);
	struct stat st;
	return dir && img_db_layer_exists(env->db, chain) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static void *worker(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next < p->n && !p->layers[p->next].fetch)
			p->next++;
		struct player *l = p->next < p->n && !atomic_load(&p->failed) ? &p->layers[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!l)
			return NULL;
		berr e = {0};
		if (fetch_blob(p, l->blob, l->blob_size, l->short_id, &e) < 0) {
			pthread_mutex_lock(&p->mu);
			/* The first real cause wins over the others' "cancelled". */
			if (!atomic_load(&p->failed) || (p->err.errnum == ECANCELED && e.errnum != ECANCELED)) {
				berr_clear(&p->err);
				p->err = e;
				berr_wrap(&p->err, "layer %s", l->blob);
				atomic_store(&p->failed, true);
			} else {
				berr_clear(&e);
			}
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		say(p, l->short_id, "Download complete", 0, 0);
	}
}

static int download_layers(struct pull *p, berr *e)
{
	size_t todo = 0;
	for (size_t j = 0; j < p->n; j++) {
		struct player *l = &p->layers[j];
		l->present = layer_in_place(p->env, l->chain);
		/* Two layers of one image may share a blob: fetched once. */
		bool earlier = false;
		for (size_t k = 0; k < j; k++)
			earlier |=
			    strcmp(p->layers[k].blob, l->blob) == 0 && (p->layers[k].fetch || !p->layers[k].present);
		l->fetch = !l->present && !earlier && !img_store_has(p->env->store, l->blob);
		say(p, l->short_id, l->present ? "Already exists" : "Pulling fs layer", 0, 0);
		todo += l->fetch;
	}
	pthread_t threads[PULL_WORKERS];
	size_t started = 0;
	for (; started < PULL_WORKERS && started < todo; started++)
		if (pthread_create(&threads[started], NULL, worker, p) != 0)
			break;
	if (todo && !started) {
		/* No thread to be had: download here. */
		worker(p);
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (atomic_load(&p->failed)) {
		*e = p->err;
		p->err = (berr){0};
		return -1;
	}
	for (size_t j = 0; j < p->n; j++)
		if (!p->layers[j].present && !p->layers[j].fetch)
			say(p, p->layers[j].short_id, "Download complete", 0, 0);
	return 0;
}

/* Unpack one layer prepared by unpack_layers. */
static int unpack_one(struct pull *p, struct player *l, berr *e)
{
	say(p, l->short_id, "Extracting", l->blob_size, l->blob_size);
	struct img_unpack_result res;
	int r = img_layer_unpack(l->fd, l->dir, l->blob, l->diff, &res, e);
	close(l->fd);
	l->fd = -1;
	if (r < 0)
		return berr_wrap(e, "layer %s", l->blob);
	l->size = (int64_t)res.uncompressed_size;
	say(p, l->short_id, "Pull complete", 0, 0);
	return 0;
}

static void *unpack_worker(void *arg)
{
	struct pull *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next < p->n && !p->layers[p->next].dir)
			p->next++;
		struct player *l = p->next < p->n && !atomic_load(&p->failed) ? &p->layers[p->next++] : NULL;
		pthread_mutex_unlock(&p->mu);
		if (!l)
			return NULL;
		berr e = {0};
		if (unpack_one(p, l, &e) < 0) {
			pthread_mutex_lock(&p->mu);
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

/*
 * Unpack the layers not in place, under the exclusive lock: their dirs are made first, then the
 * layers unpacked side by side (each into a dir of its own; the kernel's file creation is most
 * of the cost, and two cores share it).
 */
static int unpack_layers(struct pull *p, berr *e)
{
	size_t todo = 0;
	for (size_t j = 0; j < p->n; j++) {
		struct player *l = &p->layers[j];
		if (l->present || layer_in_place(p->env, l->chain)) {
			if (!l->present)
				say(p, l->short_id, "Pull complete", 0, 0);
			l->present = true;
			continue;
		}
		if (!(l->dir = img_env_layer_dir(p->env, l->chain)))
			return oom(e);
		_cleanup_free_ char *top = strndup(l->dir, strlen(l->dir) - strlen("/diff"));
		if (!top)
			return oom(e);
		/* A dir without a ready record is a crash's leftover; nobody else works on it under the lock. */
		if (mkdir(top, 0700) == 0) {
			if (img_strv_add(&p->made, top, e) < 0)
				return -1;
		} else if (errno == EEXIST) {
			if (b_remove_tree(l->dir, e) < 0 || img_strv_add(&p->made, l->dir, e) < 0)
				return -1;
		} else {
			return berr_sys(e, "creating %s", top);
		}
		if (img_store_open_blob(p->env->store, l->blob, &l->fd, NULL, e) < 0)
			return berr_wrap(e, "layer %s", l->blob);
		todo++;
	}
	p->next = 0;
	pthread_t threads[UNPACK_WORKERS];
	size_t started = 0;
	for (; started < UNPACK_WORKERS && started < todo; started++)
		if (pthread_create(&threads[started], NULL, unpack_worker, p) != 0)
			break;
	if (todo && !started)
		unpack_worker(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (atomic_load(&p->failed)) {
		*e = p->err;
		p->err = (berr){0};
		return -1;
	}
	return 0;
}

/* ---- the record ---- */

static char *ref_with(const struct img_ref *r, const char *tag, const char *digest)
{
	struct img_ref x = {.domain = r->domain, .path = r->path, .tag = (char *)tag, .digest = (char *)digest};
	return img_ref_string(&x);
}

static int record_fn(struct img_db *db, void *arg, berr *e)
{
	struct pull *p = arg;
	for (size_t j = 0; j < p->n; j++) {
		const struct player *l = &p->layers[j];
		if (img_db_layer_put(db, l->chain, l->diff, l->parent, l->size, l->blob, l->blob_size, e) < 0)
			return berr_wrap(e, "layer %s", l->blob);
	}
	_cleanup_free_ char *by_tag = p->ref.digest ? NULL : ref_with(&p->ref, p->ref.tag, NULL);
	_cleanup_free_ char *by_digest = ref_with(&p->ref, NULL, p->top_digest);
	if ((!p->ref.digest && !by_tag) || !by_digest)
		return oom(e);
	char *tags[] = {by_digest, by_tag, NULL};
	struct img_db_image img = {
	    .id = p->m.config.digest,
	    .created = p->cfg.created,
	    .size = -1,
	    .config_digest = p->m.config.digest,
	    .manifest_digest = p->manifest_digest,
	    .manifest_media_type = p->manifest_type,
	    .os = p->cfg.os,
	    .architecture = p->cfg.architecture,
	    .variant = p->cfg.variant,
	    .chain_ids = p->chains,
	    .diff_ids = p->cfg.diff_ids,
	    .n_layers = p->n,
	    .tags = tags,
	};
	return img_db_image_put(db, &img, e);
}

/* Did the reference name this image already? Its manifest, if another, may go after the record. */
static int before_record(struct pull *p, bool *up_to_date, berr *e)
{
	_cleanup_free_ char *name = img_ref_string(&p->ref), *id = NULL;
	if (!name)
		return oom(e);
	berr ignored = {0};
	*up_to_date = img_db_resolve(p->env->db, name, &id, &ignored) == 0 && strcmp(id, p->m.config.digest) == 0;
	berr_clear(&ignored);
	struct img_db_image old = {0};
	if (img_db_image_get(p->env->db, p->m.config.digest, &old, &ignored) == 0) {
		if (old.manifest_digest && strcmp(old.manifest_digest, p->manifest_digest) != 0)
			p->old_manifest = strdup(old.manifest_digest);
		img_db_image_free(&old);
	}
	berr_clear(&ignored);
	return 0;
}

static int pull_locked(struct pull *p, struct img_pull_result *out, berr *e)
{
	for (size_t j = 0; j < p->n; j++)
		if (!img_store_has(p->env->store, p->layers[j].blob) && !layer_in_place(p->env, p->layers[j].chain))
			return berr_plain(e, ENOENT, "layer %s: gone from the store during the pull",
					  p->layers[j].blob);
	if (unpack_layers(p, e) < 0)
		return -1;
	if (img_store_put(p->env->store, p->manifest_json, p->manifest_len, p->manifest_digest, NULL, e) < 0 ||
	    added(p, p->manifest_digest, e) < 0)
		return berr_wrap(e, "storing manifest %s", p->manifest_digest);
	if (before_record(p, &out->up_to_date, e) < 0)
		return -1;
	if (img_db_tx(p->env->db, record_fn, p, e) < 0)
		return -1;
	img_strv_free(&p->made); /* recorded: nothing to take back any more */
	if (p->old_manifest)
		img_strv_add_unique(&p->added, p->old_manifest, e);
	return 0;
}

static void pull_free(struct pull *p)
{
	reg_client_free(p->c);
	img_ref_free(&p->ref);
	free(p->manifest_json);
	free(p->manifest_type);
	img_manifest_free(&p->m);
	img_config_free(&p->cfg);
	b_strv_free(p->chains);
	for (size_t j = 0; j < p->n; j++) {
		free(p->layers[j].dir);
		if (p->layers[j].fd >= 0)
			close(p->layers[j].fd);
	}
	free(p->layers);
	img_strv_free(&p->added);
	img_strv_free(&p->made);
	free(p->old_manifest);
	berr_clear(&p->err);
	pthread_mutex_destroy(&p->mu);
}

static int fill_result(struct pull *p, struct img_pull_result *out, berr *e)
{
	struct img_ref shown = {.domain = p->ref.domain,
				.path = p->ref.path,
				.tag = p->ref.digest ? NULL : p->ref.tag,
				.digest = p->ref.digest};
	if (!(out->id = strdup(p->m.config.digest)) || !(out->digest = strdup(p->top_digest)) ||
	    !(out->reference = img_ref_familiar(&shown)))
		return oom(e);
	return 0;
}

int img_pull(struct img_env *env, const char *reference, const char *platform, const struct img_registry_opts *o,
	     struct img_pull_result *out, berr *e)
{
	memset(out, 0, sizeof *out);
	struct pull p = {.env = env, .o = o};
	pthread_mutex_init(&p.mu, NULL);
	int r = -1;
	bool locked = false;
	struct img_platform want = {0};
	_cleanup_free_ char *pulling = NULL;
	if (img_ref_parse(reference, &p.ref, e) < 0 || img_platform_parse(platform, &want, e) < 0)
		goto out;
	img_platform_free(&want);
	if (connect_and_resolve(&p, platform, e) < 0)
		goto out;
	if (asprintf(&pulling, "Pulling from %s", p.ref.path) < 0) {
		pulling = NULL;
		oom(e);
		goto out;
	}
	say(&p, p.ref.digest ? p.ref.digest : p.ref.tag, pulling, 0, 0);
	if (get_config(&p, e) < 0 || download_layers(&p, e) < 0)
		goto out;
	if (img_env_lock(env, true, e) < 0)
		goto out;
	locked = true;
	if (pull_locked(&p, out, e) < 0)
		goto out;
	r = fill_result(&p, out, e);
out:
	if (!locked && p.added.n) {
		berr ignored = {0};
		locked = img_env_lock(env, true, &ignored) == 0;
		berr_clear(&ignored);
	}
	if (locked) {
		for (size_t i = p.made.n; i-- > 0;) {
			berr ignored = {0};
			b_remove_tree(p.made.v[i], &ignored);
			berr_clear(&ignored);
		}
		berr ignored = {0};
		if (img_env_prune_blobs(env, p.added.v, p.added.n, &ignored) < 0)
			berr_clear(&ignored);
		img_env_unlock(env);
	}
	pull_free(&p);
	if (r < 0)
		img_pull_result_free(out);
	return r;
}

void img_pull_result_free(struct img_pull_result *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->digest);
	free(r->reference);
	memset(r, 0, sizeof *r);
}
