/*
 * `docker load`: an image archive (docker save form or OCI image layout, in a tar that may be
 * compressed) into the store, the layers dir and the database.
 *
 * One pass over the tar: every member that may be a blob streams into the content store as it
 * passes (verified against its name when the name is a digest, blobs/sha256/<hex>); the few small
 * JSON members that say what the archive holds (manifest.json, index.json, oci-layout) stay in
 * memory; the order of the members does not matter. Then the images are resolved from those,
 * their layers unpacked from the stored blobs, and everything recorded in one transaction. A
 * failure anywhere takes back what the load added: the layer dirs it made and the blobs nothing
 * refers to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "image/archive_internal.h"
#include "image/config.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/unpack.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/libarchive_lazy.h"

#define META_MAX     (64 << 20) /* manifest.json, index.json, oci-layout: held in memory */
#define CONFIG_MAX   (32 << 20)
#define MANIFEST_MAX (4 << 20)
#define LINK_HOPS    32 /* symlinks followed from one member name */
#define INDEX_DEPTH  4  /* nested indexes followed from index.json */
#define BLOB_PREFIX  "blobs/sha256/"

#define ANNOTATION_REF_NAME        "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

/* A member of the archive: a blob in the store, or another name for a member (a link). */
struct member {
	char *name;
	char *link; /* the name it points to (clean), or NULL */
	char digest[B_DIGEST_LEN + 1];
};

/* An image found in the archive. */
struct limg {
	char *where; /* for messages: "manifest.json", "index.json: manifests[1]" */
	char *id;    /* the config's digest */
	char *manifest_digest, *manifest_media_type;
	struct img_config cfg;
	char **chain_ids;
	struct img_strv tags;   /* canonical references */
	struct img_strv blobs;  /* the layer blobs, bottom first */
	struct img_strv lnames; /* what the archive calls each layer, for messages */
};

/* A layer this load unpacked or found in place, to be registered. */
struct llayer {
	const char *chain, *diff, *parent, *blob; /* point into an limg */
	int64_t size, blob_size;
};

struct load {
	struct img_env *env;
	struct member *m;
	size_t n, cap;
	char *manifest_json, *index_json, *oci_layout;
	size_t manifest_len, index_len, oci_layout_len;
	struct img_strv blobs; /* every blob the archive brought: pruned at the end unless referenced */
	struct limg *imgs;
	size_t nimgs;
	struct llayer *layers;
	size_t nlayers;
	struct img_strv made; /* dirs this load created: removed on failure */
};

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

static void limg_free(struct limg *g)
{
	free(g->where);
	free(g->id);
	free(g->manifest_digest);
	free(g->manifest_media_type);
	img_config_free(&g->cfg);
	b_strv_free(g->chain_ids);
	img_strv_free(&g->tags);
	img_strv_free(&g->blobs);
	img_strv_free(&g->lnames);
}

static void load_free(struct load *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->m[i].name);
		free(l->m[i].link);
	}
	free(l->m);
	free(l->manifest_json);
	free(l->index_json);
	free(l->oci_layout);
	img_strv_free(&l->blobs);
	for (size_t i = 0; i < l->nimgs; i++)
		limg_free(&l->imgs[i]);
	free(l->imgs);
	free(l->layers);
	img_strv_free(&l->made);
}

/* ---- names ---- */

/*
 * A member name made plain: "./a//b/" -> "a/b"; "." and empty components dropped, ".." applied.
 * NULL for the root itself, a name that climbs out of it, or no memory.
 */
static char *clean_name(const char *name)
{
	size_t len = strlen(name);
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const char *p = name;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (o == 0) {
				free(out);
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	if (!o) {
		free(out);
		return NULL;
	}
	return out;
}

/* Where a symlink at name pointing to target leads, as a clean member name (NULL: nowhere). */
static char *link_target(const char *name, const char *target)
{
	if (target[0] == '/')
		return clean_name(target);
	const char *slash = strrchr(name, '/');
	_cleanup_free_ char *joined = NULL;
	if (asprintf(&joined, "%.*s/%s", slash ? (int)(slash - name) : 0, name, target) < 0)
		return NULL;
	return clean_name(joined);
}

static bool is_hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && s[64] == '\0';
}

/* ---- the pass over the tar ---- */

static struct member *member_new(struct load *l, char *name, berr *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct member *m = realloc(l->m, cap * sizeof *m);
		if (!m) {
			free(name);
			oom(e);
			return NULL;
		}
		l->m = m;
		l->cap = cap;
	}
	struct member *m = &l->m[l->n++];
	*m = (struct member){.name = name};
	return m;
}

/* The blob a member name leads to (links followed; the last member of a name wins, as in tar). */
static const struct member *member_find(struct load *l, const char *path)
{
	_cleanup_free_ char *name = clean_name(path);
	if (!name)
		return NULL;
	for (int hop = 0; hop < LINK_HOPS; hop++) {
		const struct member *found = NULL;
		for (size_t i = l->n; i-- > 0;)
			if (strcmp(l->m[i].name, name) == 0) {
				found = &l->m[i];
				break;
			}
		if (!found)
			return NULL;
		if (!found->link)
			return found;
		free(name);
		if (!(name = strdup(found->link)))
			return NULL;
	}
	return NULL;
}

static int read_data_error(struct archive *a, const char *name, berr *e)
{
	int err = archive_errno(a) > 0 ? archive_errno(a) : EIO;
	return berr_plain(e, err, "%s: reading the archive: %s", name,
			  archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* A small member whole into memory. */
static int read_small(struct archive *a, const char *name, char **out, size_t *len, berr *e)
{
	size_t cap = 4096, used = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return oom(e);
	for (;;) {
		if (used + 1 == cap) {
			if (cap >= META_MAX)
				return berr_plain(e, EFBIG, "%s: more than %d bytes", name, META_MAX);
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb)
				return oom(e);
			buf = nb;
		}
		la_ssize_t n = archive_read_data(a, buf + used, cap - used - 1);
		if (n < 0)
			return read_data_error(a, name, e);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	free(*out);
	*out = steal_ptr(buf);
	*len = used;
	return 0;
}

/* A member into the content store; a blobs/sha256/<hex> name must match its content. */
static int store_member(struct load *l, struct archive *a, struct archive_entry *ent, struct member *m, berr *e)
{
	const char *expected = NULL;
	char want[B_DIGEST_LEN + 1];
	if (strncmp(m->name, BLOB_PREFIX, strlen(BLOB_PREFIX)) == 0 && is_hex64(m->name + strlen(BLOB_PREFIX))) {
		snprintf(want, sizeof want, "sha256:%s", m->name + strlen(BLOB_PREFIX));
		expected = want;
	}
	int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1;
	if (expected && img_store_has(l->env->store, expected)) {
		/* Content-addressed: the store's copy (verified when it came in) is this blob. */
		int64_t have = -1;
		_cleanup_close_ int fd = -1;
		if (img_store_open_blob(l->env->store, expected, &fd, &have, e) < 0)
			return berr_wrap(e, "%s", m->name);
		if (size < 0 || size == have) {
			memcpy(m->digest, expected, sizeof want);
			return img_strv_add_unique(&l->blobs, expected, e);
		}
	}
	struct img_blob_writer *w = NULL;
	if (img_blob_writer_new(l->env->store, expected, size, &w, e) < 0)
		return berr_wrap(e, "%s", m->name);
	int64_t off = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t at;
		int r = archive_read_data_block(a, &buf, &len, &at);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			read_data_error(a, m->name, e);
			img_blob_writer_abort(w);
			return -1;
		}
		if (at != off) {
			img_blob_writer_abort(w);
			return berr_invalid(e, "%s: a sparse file, not a blob", m->name);
		}
		if (img_blob_write(w, buf, len, e) < 0) {
			img_blob_writer_abort(w);
			return berr_wrap(e, "%s", m->name);
		}
		off += (int64_t)len;
	}
	if (img_blob_writer_commit(w, m->digest, e) < 0)
		return berr_wrap(e, "%s", m->name);
	return img_strv_add_unique(&l->blobs, m->digest, e);
}

/* The legacy per-layer files of docker save ("<id>/VERSION", "<id>/json"): nothing reads them. */
static bool is_v1_metadata(const char *name)
{
	const char *slash = strchr(name, '/');
	return slash && !strchr(slash + 1, '/') &&
	       (strcmp(slash + 1, "VERSION") == 0 || strcmp(slash + 1, "json") == 0);
}

static int take_member(struct load *l, struct archive *a, struct archive_entry *ent, berr *e)
{
	const char *raw = archive_entry_pathname(ent);
	char *name = raw ? clean_name(raw) : NULL;
	if (!name)
		return 0; /* the root, a name climbing out, or one the locale cannot show: nothing we read */
	const char *hardlink = archive_entry_hardlink(ent);
	if (hardlink) {
		struct member *m = member_new(l, name, e);
		if (!m)
			return -1;
		if (!(m->link = clean_name(hardlink)))
			return berr_invalid(e, "%s: hard link to \"%s\", outside the archive", m->name, hardlink);
		return 0;
	}
	switch (archive_entry_filetype(ent)) {
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(ent);
		struct member *m = member_new(l, name, e);
		if (!m)
			return -1;
		m->link = target ? link_target(m->name, target) : NULL;
		if (!m->link)
			m->link = strdup(""); /* leads nowhere: finds nothing */
		return m->link ? 0 : oom(e);
	}
	case AE_IFREG: break;
	default: free(name); return 0;
	}
	struct {
		const char *name;
		char **data;
		size_t *len;
	} meta[] = {
	    {"manifest.json", &l->manifest_json, &l->manifest_len},
	    {"index.json", &l->index_json, &l->index_len},
	    {"oci-layout", &l->oci_layout, &l->oci_layout_len},
	};
	for (size_t i = 0; i < ARRAY_SIZE(meta); i++)
		if (strcmp(name, meta[i].name) == 0) {
			int r = read_small(a, name, meta[i].data, meta[i].len, e);
			free(name);
			return r;
		}
	if (is_v1_metadata(name) || strcmp(name, "repositories") == 0) {
		free(name);
		return 0;
	}
	struct member *m = member_new(l, name, e);
	if (!m)
		return -1;
	if (store_member(l, a, ent, m, e) < 0) {
		m->digest[0] = '\0';
		return -1;
	}
	return 0;
}

/* Register a decompression filter only when libarchive does it itself (never through a program). */
static void add_filter(struct archive *a, int (*add)(struct archive *))
{
	struct archive *probe = archive_read_new();
	if (!probe)
		return;
	int r = add(probe);
	archive_read_free(probe);
	if (r == ARCHIVE_OK)
		add(a);
}

static int read_archive(struct load *l, int fd, berr *e)
{
	_cleanup_lazy_release_ struct lazy_lib *held = lazy_lib_held(&libarchive_lib, e);
	if (!held)
		return -1;
	struct archive *a = archive_read_new();
	if (!a)
		return oom(e);
	archive_read_support_format_tar(a);
	add_filter(a, archive_read_support_filter_gzip);
	add_filter(a, archive_read_support_filter_zstd);
	add_filter(a, archive_read_support_filter_xz);
	add_filter(a, archive_read_support_filter_bzip2);
	int ret = -1;
	if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
		berr_invalid(e, "not a tar archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		struct archive_entry *ent;
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			berr_invalid(e, "%s: %s", l->n ? "reading the archive" : "not a tar archive",
				     archive_error_string(a));
			if (archive_errno(a) > 0)
				e->errnum = archive_errno(a);
			goto out;
		}
		if (take_member(l, a, ent, e) < 0)
			goto out;
	}
	ret = 0;
out:
	archive_read_free(a);
	return ret;
}

/* ---- what the archive holds ---- */

static struct limg *limg_find(struct load *l, const char *id)
{
	for (size_t i = 0; i < l->nimgs; i++)
		if (strcmp(l->imgs[i].id, id) == 0)
			return &l->imgs[i];
	return NULL;
}

/* A blob of the archive (or already in the store) that a descriptor names; size checked when known. */
static int blob_check(struct load *l, const char *where, const char *what, const char *digest, int64_t size, berr *e)
{
	int64_t have = 0;
	_cleanup_close_ int fd = -1;
	if (!img_store_has(l->env->store, digest))
		return berr_plain(e, ENOENT, "%s: %s: " BLOB_PREFIX "%s: not in the archive", where, what,
				  b_digest_hex(digest));
	if (img_store_open_blob(l->env->store, digest, &fd, &have, e) < 0)
		return berr_wrap(e, "%s: %s", where, what);
	if (size >= 0 && have != size)
		return berr_invalid(e, "%s: %s: " BLOB_PREFIX "%s: %lld bytes, the descriptor says %lld", where, what,
				    b_digest_hex(digest), (long long)have, (long long)size);
	return 0;
}

static int read_blob(struct load *l, const char *where, const char *what, const char *digest, int64_t size, size_t max,
		     char **data, size_t *len, berr *e)
{
	if (blob_check(l, where, what, digest, size, e) < 0)
		return -1;
	if (img_store_read(l->env->store, digest, max, false, data, len, e) < 0)
		return berr_wrap(e, "%s: %s", where, what);
	return 0;
}

/* The chain IDs of a layer stack as a NULL-terminated list of strings (what the database takes). */
static int chain_list(char *const *diff_ids, size_t n, char ***out, berr *e)
{
	_cleanup_free_ char(*ids)[B_DIGEST_LEN + 1] = calloc(n + 1, sizeof *ids);
	if (!ids)
		return oom(e);
	if (img_chain_ids(diff_ids, n, ids, e) < 0)
		return -1;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return oom(e);
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(ids[i]))) {
			b_strv_free(v);
			return oom(e);
		}
	*out = v;
	return 0;
}

/* A new image of the archive, or the one with the same config (another entry naming it). */
static int limg_add(struct load *l, const char *where, const char *config_digest, const char *config_what,
		    struct limg **out, berr *e)
{
	struct limg *g = limg_find(l, config_digest);
	if (g) {
		*out = g;
		return 0;
	}
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (read_blob(l, where, config_what, config_digest, -1, CONFIG_MAX, &json, &len, e) < 0)
		return -1;
	struct img_config cfg = {0};
	if (img_config_parse(json, len, &cfg, e) < 0)
		return berr_wrap(e, "%s: %s", where, config_what);
	char **chains = NULL;
	if (chain_list(cfg.diff_ids, cfg.n_diff_ids, &chains, e) < 0) {
		img_config_free(&cfg);
		return berr_wrap(e, "%s: %s", where, config_what);
	}
	struct limg *imgs = realloc(l->imgs, (l->nimgs + 1) * sizeof *imgs);
	if (!imgs) {
		img_config_free(&cfg);
		b_strv_free(chains);
		return oom(e);
	}
	l->imgs = imgs;
	g = &l->imgs[l->nimgs++];
	*g = (struct limg){.cfg = cfg, .chain_ids = chains};
	if (!(g->where = strdup(where)) || !(g->id = strdup(config_digest)))
		return oom(e);
	*out = g;
	return 0;
}

/* A RepoTags entry or an annotation as a canonical name:tag; NULL (and 0) when it is no such thing. */
static int tag_of(const char *s, char **out, berr *e)
{
	struct img_ref ref = {0};
	*out = NULL;
	if (img_ref_parse_name(s, &ref, e) < 0)
		return -1;
	int r = 0;
	if (ref.tag && !ref.digest && !(*out = img_ref_string(&ref)))
		r = oom(e);
	img_ref_free(&ref);
	return r;
}

/* One entry of manifest.json. */
static int docker_image(struct load *l, json_t *entry, const char *where, berr *e)
{
	_cleanup_free_ char *config = NULL, *config_what = NULL;
	_cleanup_strv_ char **layers = NULL, **tags = NULL;
	if (!json_is_object(entry))
		return berr_invalid(e, "%s: expected an object", where);
	bool present = false;
	if (b_json_str(entry, "", "Config", &config, &present, e) < 0 ||
	    b_json_strv(entry, "", "Layers", &layers, e) < 0 || b_json_strv(entry, "", "RepoTags", &tags, e) < 0)
		return berr_wrap(e, "%s", where);
	if (!present)
		return berr_invalid(e, "%s: Config: missing", where);
	const struct member *cm = member_find(l, config);
	if (!cm)
		return berr_plain(e, ENOENT, "%s: Config: %s: not in the archive", where, config);
	if (asprintf(&config_what, "Config: %s", config) < 0) {
		config_what = NULL;
		return oom(e);
	}
	struct limg *g;
	if (limg_add(l, where, cm->digest, config_what, &g, e) < 0)
		return -1;
	size_t nl = b_strv_len(layers);
	if (nl != g->cfg.n_diff_ids)
		return berr_invalid(e, "%s: Layers: %zu layers, but the config's rootfs.diff_ids has %zu", where, nl,
				    g->cfg.n_diff_ids);
	bool fresh = g->blobs.n == 0;
	for (size_t j = 0; j < nl; j++) {
		const struct member *lm = member_find(l, layers[j]);
		if (!lm)
			return berr_plain(e, ENOENT, "%s: Layers[%zu]: %s: not in the archive", where, j, layers[j]);
		if (fresh && (img_strv_add(&g->blobs, lm->digest, e) < 0 || img_strv_add(&g->lnames, layers[j], e) < 0))
			return -1;
	}
	for (size_t j = 0; tags && tags[j]; j++) {
		_cleanup_free_ char *tag = NULL;
		if (tag_of(tags[j], &tag, e) < 0)
			return berr_wrap(e, "%s: RepoTags[%zu]: \"%s\"", where, j, tags[j]);
		if (!tag)
			return berr_invalid(e, "%s: RepoTags[%zu]: \"%s\" is not a name:tag", where, j, tags[j]);
		if (img_strv_add_unique(&g->tags, tag, e) < 0)
			return -1;
	}
	return 0;
}

/* The images of a docker save archive (manifest.json). */
static int docker_images(struct load *l, berr *e)
{
	json_t *root = b_json_parse(l->manifest_json, "manifest.json", e);
	if (!root)
		return -1;
	int ret = 0;
	if (!json_is_array(root))
		ret = berr_invalid(e, "manifest.json: expected an array of images");
	size_t n = json_is_array(root) ? json_array_size(root) : 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		_cleanup_free_ char *where = NULL;
		if ((n == 1 ? asprintf(&where, "manifest.json") : asprintf(&where, "manifest.json: [%zu]", i)) < 0) {
			where = NULL;
			ret = oom(e);
			break;
		}
		ret = docker_image(l, json_array_get(root, i), where, e);
	}
	json_decref(root);
	return ret;
}

static const char *annotation(char **annotations, const char *key)
{
	for (size_t i = 0; annotations && annotations[i] && annotations[i + 1]; i += 2)
		if (strcmp(annotations[i], key) == 0)
			return annotations[i + 1];
	return NULL;
}

/*
 * The names an index entry gives its image: io.containerd.image.name, and a ref.name that is a
 * whole reference. A bare tag ("latest", the OCI convention) names no repository: not a name here.
 */
static int oci_tags(struct limg *g, const char *where, char **annotations, berr *e)
{
	const char *cname = annotation(annotations, ANNOTATION_CONTAINERD_NAME);
	const char *rname = annotation(annotations, ANNOTATION_REF_NAME);
	if (cname) {
		_cleanup_free_ char *tag = NULL;
		if (tag_of(cname, &tag, e) < 0)
			return berr_wrap(e, "%s: annotation %s: \"%s\"", where, ANNOTATION_CONTAINERD_NAME, cname);
		if (tag && img_strv_add_unique(&g->tags, tag, e) < 0)
			return -1;
	}
	if (rname && strpbrk(rname, "/:")) {
		_cleanup_free_ char *tag = NULL;
		berr ignored = {0};
		/* Not a reference (an OCI ref.name may be any tag-like string): no name from it. */
		if (tag_of(rname, &tag, &ignored) < 0)
			berr_clear(&ignored);
		if (tag && img_strv_add_unique(&g->tags, tag, e) < 0)
			return -1;
	}
	return 0;
}

static bool is_config_type(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_CONFIG) == 0 || strcmp(mt, IMG_MT_DOCKER_CONFIG) == 0);
}

/* The image of manifest m (described by d), with the names of its index entry. */
static int oci_manifest(struct load *l, const struct img_descriptor *d, const struct img_manifest *m, const char *where,
			char **annotations, bool names_only, berr *e)
{
	if (!is_config_type(m->config.media_type))
		return 0; /* an artifact (signature, attestation ...), not an image */
	struct limg *g = NULL;
	if (names_only) {
		g = limg_find(l, m->config.digest);
		if (g && !g->manifest_digest &&
		    (!(g->manifest_digest = strdup(d->digest)) || !(g->manifest_media_type = strdup(m->media_type))))
			return oom(e);
		return 0;
	}
	if (limg_add(l, where, m->config.digest, "config", &g, e) < 0)
		return -1;
	if (m->n_layers != g->cfg.n_diff_ids)
		return berr_invalid(e, "%s: layers: %zu layers, but the config's rootfs.diff_ids has %zu", where,
				    m->n_layers, g->cfg.n_diff_ids);
	bool fresh = g->blobs.n == 0;
	for (size_t j = 0; j < m->n_layers; j++) {
		enum img_compression c;
		char what[32];
		snprintf(what, sizeof what, "layers[%zu]", j);
		if (img_layer_compression(m->layers[j].media_type, &c, e) < 0)
			return berr_wrap(e, "%s: %s", where, what);
		if (blob_check(l, where, what, m->layers[j].digest, m->layers[j].size, e) < 0)
			return -1;
		char *lname = NULL;
		if (asprintf(&lname, BLOB_PREFIX "%s", b_digest_hex(m->layers[j].digest)) < 0)
			return oom(e);
		if (!fresh) {
			free(lname);
			continue;
		}
		if (img_strv_add(&g->blobs, m->layers[j].digest, e) < 0 || img_strv_take(&g->lnames, lname, e) < 0)
			return -1;
	}
	if (!g->manifest_digest &&
	    (!(g->manifest_digest = strdup(d->digest)) || !(g->manifest_media_type = strdup(m->media_type))))
		return oom(e);
	return oci_tags(g, where, annotations, e);
}

/*
 * The image an index.json entry leads to (through nested indexes, the host's platform), added with
 * the entry's names. An entry that is not an image (an artifact) is passed over. With
 * names_only the entry only tells which manifest the image has (docker archives that also carry
 * an OCI layout): then what is not there is not an error.
 */
static int oci_entry(struct load *l, const struct img_descriptor *d, const char *where, char **annotations, int depth,
		     bool names_only, berr *e)
{
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	if (read_blob(l, where, "manifest", d->digest, d->size, MANIFEST_MAX, &json, &len, e) < 0)
		return -1;
	enum img_doc_kind kind;
	if (img_doc_kind_of(json, len, d->media_type, &kind, e) < 0)
		return berr_wrap(e, "%s: " BLOB_PREFIX "%s", where, b_digest_hex(d->digest));
	if (kind == IMG_DOC_INDEX) {
		if (depth >= INDEX_DEPTH)
			return berr_invalid(e, "%s: indexes nested more than %d deep", where, INDEX_DEPTH);
		struct img_index idx = {0};
		if (img_index_parse(json, len, &idx, e) < 0)
			return berr_wrap(e, "%s: " BLOB_PREFIX "%s", where, b_digest_hex(d->digest));
		const struct img_descriptor *sel = NULL;
		int r = img_index_select(&idx, NULL, &sel, e);
		if (r == 0) {
			size_t k = (size_t)(sel - idx.manifests);
			_cleanup_free_ char *sub = NULL;
			if (asprintf(&sub, "%s: " BLOB_PREFIX "%.12s: manifests[%zu]", where, b_digest_hex(d->digest),
				     k) < 0)
				r = oom(e);
			else
				r = oci_entry(l, sel, sub, annotations, depth + 1, names_only, e);
		} else {
			berr_wrap(e, "%s: " BLOB_PREFIX "%s", where, b_digest_hex(d->digest));
		}
		img_index_free(&idx);
		return r;
	}
	struct img_manifest m = {0};
	if (img_manifest_parse(json, len, &m, e) < 0)
		return berr_wrap(e, "%s: " BLOB_PREFIX "%s", where, b_digest_hex(d->digest));
	int r = oci_manifest(l, d, &m, where, annotations, names_only, e);
	img_manifest_free(&m);
	return r;
}

static int oci_images(struct load *l, bool names_only, berr *e)
{
	if (l->oci_layout && !names_only) {
		json_t *layout = b_json_parse(l->oci_layout, "oci-layout", e);
		if (!layout)
			return -1;
		_cleanup_free_ char *version = NULL;
		bool present = false;
		int r = b_json_str(layout, "oci-layout", "imageLayoutVersion", &version, &present, e);
		json_decref(layout);
		if (r < 0)
			return -1;
		if (!present || strncmp(version, "1.", 2) != 0)
			return berr_invalid(e, "oci-layout: imageLayoutVersion: \"%s\" is not a version we read (1.x)",
					    present ? version : "");
	}
	struct img_index idx = {0};
	if (img_index_parse(l->index_json, l->index_len, &idx, e) < 0)
		return berr_wrap(e, "index.json");
	int ret = 0;
	for (size_t i = 0; i < idx.n_manifests && ret == 0; i++) {
		_cleanup_free_ char *where = NULL;
		if (asprintf(&where, "index.json: manifests[%zu]", i) < 0) {
			where = NULL;
			ret = oom(e);
			break;
		}
		ret = oci_entry(l, &idx.manifests[i], where, idx.manifests[i].annotations, 0, names_only, e);
	}
	img_index_free(&idx);
	return ret;
}

static int find_images(struct load *l, berr *e)
{
	if (l->manifest_json) {
		if (docker_images(l, e) < 0)
			return -1;
		if (l->index_json) {
			/* Docker 25+ writes an OCI layout beside manifest.json: it names the manifests. */
			berr ignored = {0};
			if (oci_images(l, true, &ignored) < 0)
				berr_clear(&ignored);
		}
	} else if (l->index_json) {
		if (oci_images(l, false, e) < 0)
			return -1;
	} else {
		return berr_invalid(e, "neither manifest.json (docker save) nor index.json (OCI image layout) in the "
				       "archive");
	}
	if (!l->nimgs)
		return berr_invalid(e, "%s: no image in the archive",
				    l->manifest_json ? "manifest.json" : "index.json");
	return 0;
}

/*
 * An image loaded again keeps the manifest it has when the archive brings none; a manifest it
 * loses to the archive's becomes a candidate for pruning.
 */
static int keep_manifest(struct load *l, struct limg *g, berr *e)
{
	struct img_db_image old = {0};
	berr ignored = {0};
	if (img_db_image_get(l->env->db, g->id, &old, &ignored) < 0) {
		berr_clear(&ignored);
		return 0;
	}
	int r = 0;
	if (old.manifest_digest && img_store_has(l->env->store, old.manifest_digest)) {
		if (!g->manifest_digest) {
			if (!(g->manifest_digest = strdup(old.manifest_digest)) ||
			    (old.manifest_media_type && !(g->manifest_media_type = strdup(old.manifest_media_type))))
				r = oom(e);
		} else if (strcmp(g->manifest_digest, old.manifest_digest) != 0) {
			r = img_strv_add_unique(&l->blobs, old.manifest_digest, e);
		}
	}
	img_db_image_free(&old);
	return r;
}

/*
 * An OCI manifest for an image of a docker save archive, which has none: it records which blob
 * each layer came as (save finds them again, digests unchanged) and gives the image a stable
 * manifest digest, as Docker's containerd store and podman do. Not for layers OCI has no media
 * type for (xz, bzip2): those images stay without one.
 */
static int synth_manifest(struct load *l, struct limg *g, berr *e)
{
	size_t n = g->blobs.n;
	_cleanup_free_ struct img_descriptor *ls = calloc(n + 1, sizeof *ls);
	if (!ls)
		return oom(e);
	for (size_t j = 0; j < n; j++) {
		const char *mt = NULL;
		int64_t size = 0;
		_cleanup_close_ int fd = -1;
		if (img_blob_layer_type(l->env, g->blobs.v[j], &mt, e) < 0 ||
		    img_store_open_blob(l->env->store, g->blobs.v[j], &fd, &size, e) < 0)
			return berr_wrap(e, "%s: Layers[%zu]: %s", g->where, j, g->lnames.v[j]);
		if (!mt)
			return 0;
		ls[j] = (struct img_descriptor){.media_type = (char *)mt, .digest = g->blobs.v[j], .size = size};
	}
	int64_t csize = 0;
	_cleanup_close_ int cfd = -1;
	if (img_store_open_blob(l->env->store, g->id, &cfd, &csize, e) < 0)
		return berr_wrap(e, "%s: Config", g->where);
	struct img_manifest m = {
	    .media_type = IMG_MT_OCI_MANIFEST,
	    .schema_version = 2,
	    .config = {.media_type = IMG_MT_OCI_CONFIG, .digest = g->id, .size = csize},
	    .layers = ls,
	    .n_layers = n,
	};
	_cleanup_free_ char *json = img_manifest_to_json(&m);
	char digest[B_DIGEST_LEN + 1];
	if (!json)
		return oom(e);
	if (img_store_put(l->env->store, json, strlen(json), NULL, digest, e) < 0 ||
	    img_strv_add_unique(&l->blobs, digest, e) < 0)
		return berr_wrap(e, "%s: storing its manifest", g->where);
	if (!(g->manifest_digest = strdup(digest)) || !(g->manifest_media_type = strdup(IMG_MT_OCI_MANIFEST)))
		return oom(e);
	return 0;
}

/* ---- layers ---- */

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const struct llayer *llayer_find(struct load *l, const char *chain)
{
	for (size_t i = 0; i < l->nlayers; i++)
		if (strcmp(l->layers[i].chain, chain) == 0)
			return &l->layers[i];
	return NULL;
}

/* Unpack layer j of g from its stored blob, unless it is in place already. */
static int layer_get(struct load *l, struct limg *g, size_t j, berr *e)
{
	const char *chain = g->chain_ids[j], *blob = g->blobs.v[j];
	if (llayer_find(l, chain))
		return 0;
	struct llayer *ls = realloc(l->layers, (l->nlayers + 1) * sizeof *ls);
	if (!ls)
		return oom(e);
	l->layers = ls;
	struct llayer *ly = &l->layers[l->nlayers];
	*ly = (struct llayer){.chain = chain,
			      .diff = g->cfg.diff_ids[j],
			      .parent = j ? g->chain_ids[j - 1] : NULL,
			      .blob = blob,
			      .size = 0,
			      .blob_size = -1};
	_cleanup_close_ int fd = -1;
	if (img_store_open_blob(l->env->store, blob, &fd, &ly->blob_size, e) < 0)
		return berr_wrap(e, "%s: Layers[%zu]: %s", g->where, j, g->lnames.v[j]);
	_cleanup_free_ char *top = NULL, *diff = NULL;
	if (asprintf(&top, "%s/%s", l->env->layers_dir, b_digest_hex(chain)) < 0 || asprintf(&diff, "%s/diff", top) < 0)
		return oom(e);
	if (img_db_layer_exists(l->env->db, chain) && is_dir(diff)) {
		l->nlayers++;
		return 0;
	}
	/*
	 * Not registered (or not ready): what is there is a leftover of a crash, between an unpack
	 * and its record or in the middle of a removal. Under the lock nobody else works on it.
	 */
	if (mkdir(top, 0700) == 0) {
		if (img_strv_add(&l->made, top, e) < 0)
			return -1;
	} else if (errno == EEXIST) {
		if (b_remove_tree(diff, e) < 0 || img_strv_add(&l->made, diff, e) < 0)
			return -1;
	} else {
		return berr_sys(e, "creating %s", top);
	}
	struct img_unpack_result res;
	if (img_layer_unpack(fd, diff, blob, g->cfg.diff_ids[j], &res, e) < 0)
		return berr_wrap(e, "%s: Layers[%zu]: %s", g->where, j, g->lnames.v[j]);
	ly->size = (int64_t)res.uncompressed_size;
	l->nlayers++;
	return 0;
}

static int record_fn(struct img_db *db, void *arg, berr *e)
{
	struct load *l = arg;
	for (size_t i = 0; i < l->nlayers; i++) {
		const struct llayer *ly = &l->layers[i];
		if (img_db_layer_put(db, ly->chain, ly->diff, ly->parent, ly->size, ly->blob, ly->blob_size, e) < 0)
			return -1;
	}
	for (size_t i = 0; i < l->nimgs; i++) {
		struct limg *g = &l->imgs[i];
		struct img_db_image img = {
		    .id = g->id,
		    .created = g->cfg.created,
		    .size = -1,
		    .config_digest = g->id,
		    .manifest_digest = g->manifest_digest,
		    .manifest_media_type = g->manifest_media_type,
		    .os = g->cfg.os,
		    .architecture = g->cfg.architecture,
		    .variant = g->cfg.variant,
		    .chain_ids = g->chain_ids,
		    .diff_ids = g->cfg.diff_ids,
		    .n_layers = g->cfg.n_diff_ids,
		    .tags = g->tags.v,
		};
		if (img_db_image_put(db, &img, e) < 0)
			return berr_wrap(e, "%s", g->where);
	}
	return 0;
}

/* What docker prints for the images loaded. */
static int report(struct load *l, char ***loaded, berr *e)
{
	_cleanup_img_strv_ struct img_strv out = {0};
	for (size_t i = 0; i < l->nimgs; i++) {
		struct limg *g = &l->imgs[i];
		if (!g->tags.n) {
			char *line = NULL;
			if (asprintf(&line, "Loaded image ID: %s", g->id) < 0)
				line = NULL;
			if (img_strv_take(&out, line, e) < 0)
				return -1;
		}
		for (size_t j = 0; j < g->tags.n; j++) {
			struct img_ref ref = {0};
			if (img_ref_parse(g->tags.v[j], &ref, e) < 0)
				return -1;
			_cleanup_free_ char *fam = img_ref_familiar(&ref);
			img_ref_free(&ref);
			char *line = NULL;
			if (!fam || asprintf(&line, "Loaded image: %s", fam) < 0)
				line = NULL;
			if (img_strv_take(&out, line, e) < 0)
				return -1;
		}
	}
	if (!(*loaded = img_strv_steal(&out)))
		return oom(e);
	return 0;
}

static int load_locked(struct load *l, int fd, char ***loaded, berr *e)
{
	if (read_archive(l, fd, e) < 0 || find_images(l, e) < 0)
		return -1;
	for (size_t i = 0; i < l->nimgs; i++)
		if (keep_manifest(l, &l->imgs[i], e) < 0 ||
		    (!l->imgs[i].manifest_digest && synth_manifest(l, &l->imgs[i], e) < 0))
			return -1;
	for (size_t i = 0; i < l->nimgs; i++)
		for (size_t j = 0; j < l->imgs[i].blobs.n; j++)
			if (layer_get(l, &l->imgs[i], j, e) < 0)
				return -1;
	if (img_db_tx(l->env->db, record_fn, l, e) < 0)
		return -1;
	/* Recorded: nothing to take back any more, whatever happens below. */
	img_strv_free(&l->made);
	if (loaded && report(l, loaded, e) < 0)
		return -1;
	return 0;
}

int img_load_archive(struct img_env *env, int fd, char ***loaded, berr *e)
{
	if (img_env_lock(env, true, e) < 0)
		return berr_wrap(e, "loading archive");
	struct load l = {.env = env};
	int r = load_locked(&l, fd, loaded, e);
	/* Taken back on failure: the layer dirs made, newest first. */
	for (size_t i = l.made.n; i-- > 0;) {
		berr ignored = {0};
		b_remove_tree(l.made.v[i], &ignored);
		berr_clear(&ignored);
	}
	/*
	 * The blobs no image refers to (legacy files, other platforms; everything on failure). One
	 * that cannot be deleted now is garbage for a later prune, not a reason to fail the load.
	 */
	berr ignored = {0};
	if (img_env_prune_blobs(env, l.blobs.v, l.blobs.n, &ignored) < 0)
		berr_clear(&ignored);
	img_env_unlock(env);
	load_free(&l);
	if (r < 0)
		return berr_wrap(e, "loading archive");
	return 0;
}
