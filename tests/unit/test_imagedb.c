/* Image metadata database: round trips, Docker's name resolution and rmi rules, atomicity, crashes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/imagedb.h"
#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/err.h"
#include "lib/fs.h"

#define DL         (B_DIGEST_LEN + 1)
#define MAX_LAYERS 8

/* Checks inside a forked child: report on stderr and exit non-zero (never run cmocka there). */
#define CHILD_CHECK(cond)                                                                                            \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			dprintf(2, "child: %s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			_exit(1);                                                                                    \
		}                                                                                                    \
	} while (0)

struct fixture {
	char *dir;
	char *path;
	struct img_db *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	char tmpl[] = "/tmp/berth-test-imagedb-XXXXXX";
	if (!mkdtemp(tmpl) || !(f->dir = strdup(tmpl)) || asprintf(&f->path, "%s/berth.db", tmpl) < 0) {
		free(f->dir);
		free(f);
		return -1;
	}
	berr e = {0};
	if (img_db_open(f->path, &f->db, &e) < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	img_db_close(f->db);
	int r = b_remove_tree(f->dir, &e);
	berr_clear(&e);
	free(f->dir);
	free(f->path);
	free(f);
	return r;
}

static void reopen(struct fixture *f)
{
	berr e = {0};
	img_db_close(f->db);
	f->db = NULL;
	if (img_db_open(f->path, &f->db, &e) < 0)
		fail_msg("reopening: %s", berr_msg(&e));
}

/* The call failed with errnum and exactly msg. */
static void assert_err(berr *e, int errnum, const char *msg)
{
	if (strcmp(berr_msg(e), msg))
		fail_msg("error \"%s\", expected \"%s\"", berr_msg(e), msg);
	assert_int_equal(e->errnum, errnum);
	berr_clear(e);
}

/* The call failed with errnum and a message holding needle. */
static void assert_err_has(berr *e, int errnum, const char *needle)
{
	if (!strstr(berr_msg(e), needle))
		fail_msg("error \"%s\" does not contain \"%s\"", berr_msg(e), needle);
	assert_int_equal(e->errnum, errnum);
	berr_clear(e);
}

#define OK(call)                                                                       \
	do {                                                                           \
		if ((call) < 0)                                                        \
			fail_msg("%s failed: %s", #call, berr_msg(&e));                \
		if (e.msg)                                                             \
			fail_msg("%s succeeded but left \"%s\"", #call, berr_msg(&e)); \
	} while (0)

static void digest_of(const char *seed, char out[DL])
{
	b_sha256_of(seed, strlen(seed), out);
}

/* An image's IDs computed here from seeds: config -> ID, each diff seed -> diff ID -> chain ID. */
struct fake {
	char id[DL];
	char chains[MAX_LAYERS][DL];
	char diffs[MAX_LAYERS][DL];
	char *chain_ptrs[MAX_LAYERS];
	char *diff_ptrs[MAX_LAYERS];
	size_t n;
};

static void fake_init(struct fake *fk, const char *config_seed, const char *const *diff_seeds)
{
	memset(fk, 0, sizeof(*fk));
	digest_of(config_seed, fk->id);
	for (size_t i = 0; diff_seeds && diff_seeds[i]; i++) {
		assert_true(i < MAX_LAYERS);
		digest_of(diff_seeds[i], fk->diffs[i]);
		if (i == 0) {
			strcpy(fk->chains[0], fk->diffs[0]);
		} else {
			char buf[2 * DL];
			snprintf(buf, sizeof buf, "%s %s", fk->chains[i - 1], fk->diffs[i]);
			b_sha256_of(buf, strlen(buf), fk->chains[i]);
		}
		fk->chain_ptrs[i] = fk->chains[i];
		fk->diff_ptrs[i] = fk->diffs[i];
		fk->n = i + 1;
	}
}

static void fake_layers(struct img_db *db, const struct fake *fk)
{
	berr e = {0};
	for (size_t i = 0; i < fk->n; i++) {
		char gz[DL], seed[100];
		snprintf(seed, sizeof seed, "gz:%s", fk->diffs[i]);
		digest_of(seed, gz);
		OK(img_db_layer_put(db, fk->chains[i], fk->diffs[i], i ? fk->chains[i - 1] : NULL,
				    (int64_t)(i + 1) * 100, gz, (int64_t)(i + 1) * 40, &e));
	}
}

static struct img_db_image fake_image(struct fake *fk, const char *created, const char *manifest, const char *parent,
				      const char **tags)
{
	return (struct img_db_image){
	    .id = fk->id,
	    .created = (char *)created,
	    .size = -1,
	    .config_digest = fk->id,
	    .manifest_digest = (char *)manifest,
	    .manifest_media_type = manifest ? "application/vnd.oci.image.manifest.v1+json" : NULL,
	    .os = "linux",
	    .architecture = "amd64",
	    .parent_id = (char *)parent,
	    .chain_ids = fk->chain_ptrs,
	    .diff_ids = fk->diff_ptrs,
	    .n_layers = fk->n,
	    .tags = (char **)tags,
	};
}

/* Register the layers and store the image. */
static void fake_store(struct img_db *db, struct fake *fk, const char *created, const char *manifest,
		       const char *parent, const char **tags)
{
	berr e = {0};
	fake_layers(db, fk);
	struct img_db_image img = fake_image(fk, created, manifest, parent, tags);
	OK(img_db_image_put(db, &img, &e));
}

static void assert_resolves(struct img_db *db, const char *name, const char *id)
{
	berr e = {0};
	char *got = NULL;
	if (img_db_resolve(db, name, &got, &e) < 0)
		fail_msg("resolving \"%s\": %s", name, berr_msg(&e));
	if (strcmp(got, id))
		fail_msg("\"%s\" resolved to %s, not %s", name, got, id);
	free(got);
}

static void assert_resolve_fails(struct img_db *db, const char *name, int errnum, const char *msg)
{
	berr e = {0};
	char *got = NULL;
	if (img_db_resolve(db, name, &got, &e) == 0)
		fail_msg("\"%s\" resolved to %s", name, got);
	assert_null(got);
	assert_err(&e, errnum, msg);
}

static size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

/* v is exactly the NULL-terminated list of expected strings. */
static void assert_strv(char **v, ...)
{
	va_list ap;
	va_start(ap, v);
	size_t i = 0;
	const char *want;
	while ((want = va_arg(ap, const char *))) {
		if (!v || !v[i])
			fail_msg("missing element %zu \"%s\"", i, want);
		if (strcmp(v[i], want))
			fail_msg("element %zu is \"%s\", expected \"%s\"", i, v[i], want);
		i++;
	}
	va_end(ap);
	assert_non_null(v);
	if (v[i])
		fail_msg("unexpected element %zu \"%s\"", i, v[i]);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A query's single integer answer, through SQLite directly (another connection). */
static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *s = NULL;
	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(s));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *s = NULL;
	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(s, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(s);
}

/* PRAGMA integrity_check through a fresh connection. */
static void assert_integrity(const char *path)
{
	sqlite3 *s = NULL;
	assert_int_equal(sqlite3_open_v2(path, &s, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(s);
}

static const char *const LAYERS3[] = {"diff-a", "diff-b", "diff-c", NULL};

/* --- tests ------------------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake fk;
	fake_init(&fk, "config-1", LAYERS3);
	char manifest[DL], parent[DL];
	digest_of("manifest-1", manifest);
	digest_of("config-parent", parent);
	const char *tags[] = {"busybox", "localhost:5000/x/y:v1", NULL};
	int64_t before = now_ns();
	fake_layers(f->db, &fk);
	struct img_db_image in = fake_image(&fk, "2024-01-02T03:04:05.123456789Z", manifest, parent, tags);
	in.variant = "v8";
	OK(img_db_image_put(f->db, &in, &e));

	struct img_db_image out;
	OK(img_db_image_get(f->db, fk.id, &out, &e));
	assert_string_equal(out.id, fk.id);
	assert_string_equal(out.created, "2024-01-02T03:04:05.123456789Z");
	assert_int_equal(out.size, 100 + 200 + 300); /* computed from the layers */
	assert_string_equal(out.config_digest, fk.id);
	assert_string_equal(out.manifest_digest, manifest);
	assert_string_equal(out.manifest_media_type, "application/vnd.oci.image.manifest.v1+json");
	assert_string_equal(out.os, "linux");
	assert_string_equal(out.architecture, "amd64");
	assert_string_equal(out.variant, "v8");
	assert_string_equal(out.parent_id, parent);
	assert_true(out.added_at >= before && out.added_at <= now_ns());
	assert_int_equal(out.n_layers, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(out.chain_ids[i], fk.chains[i]);
		assert_string_equal(out.diff_ids[i], fk.diffs[i]);
	}
	assert_null(out.chain_ids[3]);
	assert_null(out.diff_ids[3]);
	assert_strv(out.tags, "docker.io/library/busybox:latest", "localhost:5000/x/y:v1", NULL);
	int64_t added = out.added_at;
	img_db_image_free(&out);
	img_db_image_free(&out); /* zeroed: safe */

	/* Bare hex works as an ID; the data survives a reopen. */
	reopen(f);
	OK(img_db_image_get(f->db, fk.id + 7, &out, &e));
	assert_string_equal(out.id, fk.id);
	img_db_image_free(&out);

	/* Replace: fields change, added_at stays, a NULL manifest keeps the recorded one, tags stay. */
	in = fake_image(&fk, "2024-01-02T03:04:05Z", NULL, NULL, NULL);
	in.size = 42;
	in.architecture = "arm64";
	in.n_layers = 2;
	OK(img_db_image_put(f->db, &in, &e));
	OK(img_db_image_get(f->db, fk.id, &out, &e));
	assert_int_equal(out.size, 42);
	assert_string_equal(out.architecture, "arm64");
	assert_null(out.variant);
	assert_null(out.parent_id);
	assert_string_equal(out.manifest_digest, manifest);
	assert_string_equal(out.manifest_media_type, "application/vnd.oci.image.manifest.v1+json");
	assert_int_equal(out.added_at, added);
	assert_int_equal(out.n_layers, 2);
	assert_strv(out.tags, "docker.io/library/busybox:latest", "localhost:5000/x/y:v1", NULL);
	img_db_image_free(&out);

	/* An explicit added_at is taken. */
	in.added_at = 12345;
	OK(img_db_image_put(f->db, &in, &e));
	OK(img_db_image_get(f->db, fk.id, &out, &e));
	assert_int_equal(out.added_at, 12345);
	img_db_image_free(&out);

	/* Missing. */
	char other[DL];
	digest_of("nothing", other);
	assert_int_equal(img_db_image_get(f->db, other, &out, &e), -1);
	char msg[128];
	snprintf(msg, sizeof msg, "No such image: %s", other);
	assert_err(&e, ENOENT, msg);
	assert_null(out.id);
	assert_int_equal(img_db_image_get(f->db, "busybox", &out, &e), -1);
	assert_err(&e, ENOENT, "No such image: busybox");

	/* An image without layers is fine. */
	struct fake empty;
	fake_init(&empty, "config-empty", NULL);
	fake_store(f->db, &empty, NULL, NULL, NULL, NULL);
	OK(img_db_image_get(f->db, empty.id, &out, &e));
	assert_int_equal(out.n_layers, 0);
	assert_non_null(out.chain_ids);
	assert_null(out.chain_ids[0]);
	assert_int_equal(out.size, 0);
	assert_null(out.created);
	assert_strv(out.tags, NULL);
	img_db_image_free(&out);
	OK(img_db_check(f->db, &e));
}

static void test_put_validation(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake fk;
	fake_init(&fk, "config-v", LAYERS3);
	struct img_db_image in = fake_image(&fk, NULL, NULL, NULL, NULL);

	/* Layers not registered. */
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	char msg[256];
	snprintf(msg, sizeof msg, "image %s: layer %s is not registered", fk.id, fk.chains[0]);
	assert_err(&e, ENOENT, msg);
	fake_layers(f->db, &fk);

	in.id = "sha256:nothex";
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err(&e, EINVAL, "invalid image ID \"sha256:nothex\"");
	in.id = fk.id;

	char other[DL];
	digest_of("other", other);
	in.config_digest = other;
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err_has(&e, EINVAL, "is not the image ID");
	in.config_digest = NULL; /* = the ID */

	in.manifest_digest = "md5:abc";
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err_has(&e, EINVAL, "invalid manifest digest \"md5:abc\"");
	in.manifest_digest = NULL;

	in.parent_id = "parent";
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err_has(&e, EINVAL, "invalid parent ID \"parent\"");
	in.parent_id = NULL;

	/* Chain IDs that do not follow from the diff IDs. */
	char *swapped[3] = {fk.chains[0], fk.chains[2], fk.chains[1]};
	in.chain_ids = swapped;
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err_has(&e, EINVAL, "layer 1: chain ID");
	in.chain_ids = fk.chain_ptrs;

	/* A bad tag fails the whole put: no image row either. */
	const char *bad_tags[] = {"good:tag", "bad tag", NULL};
	in.tags = (char **)bad_tags;
	assert_int_equal(img_db_image_put(f->db, &in, &e), -1);
	assert_err(&e, EINVAL, "invalid reference format");
	struct img_db_image out;
	assert_int_equal(img_db_image_get(f->db, fk.id, &out, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	berr_clear(&e);
	char *id = NULL;
	assert_int_equal(img_db_resolve(f->db, "good:tag", &id, &e), -1);
	berr_clear(&e);

	in.tags = NULL;
	OK(img_db_image_put(f->db, &in, &e));

	/* Layer registration checks its input too. */
	assert_int_equal(img_db_layer_put(f->db, "sha256:zz", fk.diffs[0], NULL, 1, NULL, -1, &e), -1);
	assert_err(&e, EINVAL, "invalid chain ID \"sha256:zz\"");
	assert_int_equal(img_db_layer_put(f->db, fk.chains[1], fk.diffs[1], NULL, 1, NULL, -1, &e), -1);
	assert_err_has(&e, EINVAL, "the chain ID does not follow from parent (none)");
	assert_int_equal(img_db_layer_put(f->db, fk.chains[1], fk.diffs[1], fk.chains[0], -5, NULL, -1, &e), -1);
	assert_err_has(&e, EINVAL, "invalid size -5");
	assert_int_equal(img_db_layer_put(f->db, fk.chains[0], fk.diffs[0], NULL, 1, "gz", -1, &e), -1);
	assert_err_has(&e, EINVAL, "invalid compressed digest \"gz\"");
}

static void test_resolve(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a, b;
	fake_init(&a, "config-a", LAYERS3);
	const char *const lb[] = {"diff-x", NULL};
	fake_init(&b, "config-b", lb);
	char ma[DL], mb[DL];
	digest_of("manifest-a", ma);
	digest_of("manifest-b", mb);
	const char *ta[] = {"busybox", NULL};
	const char *tb[] = {"localhost:5000/ns/app:v1", NULL};
	fake_store(f->db, &a, "2024-01-01T00:00:00Z", ma, NULL, ta);
	fake_store(f->db, &b, "2024-01-02T00:00:00Z", mb, NULL, tb);

	/* Names, normalised as Docker does. */
	assert_resolves(f->db, "busybox", a.id);
	assert_resolves(f->db, "busybox:latest", a.id);
	assert_resolves(f->db, "library/busybox", a.id);
	assert_resolves(f->db, "docker.io/library/busybox:latest", a.id);
	assert_resolves(f->db, "index.docker.io/library/busybox", a.id);
	assert_resolves(f->db, "localhost:5000/ns/app:v1", b.id);
	assert_resolve_fails(f->db, "localhost:5000/ns/app", ENOENT, "No such image: localhost:5000/ns/app:latest");
	assert_resolve_fails(f->db, "busybox:1.36", ENOENT, "No such image: busybox:1.36");
	assert_resolve_fails(f->db, "x", ENOENT, "No such image: x:latest");

	/* IDs: full, bare hex, prefixes with and without the algorithm. */
	assert_resolves(f->db, a.id, a.id);
	assert_resolves(f->db, a.id + 7, a.id);
	char prefix[32];
	snprintf(prefix, sizeof prefix, "%.12s", a.id + 7);
	assert_resolves(f->db, prefix, a.id);
	snprintf(prefix, sizeof prefix, "sha256:%.5s", b.id + 7);
	assert_resolves(f->db, prefix, b.id);
	char missing[DL], msg[160];
	digest_of("missing", missing);
	snprintf(msg, sizeof msg, "No such image: %s", missing);
	assert_resolve_fails(f->db, missing, ENOENT, msg);
	assert_resolve_fails(f->db, missing + 7, ENOENT, msg);

	/* name@digest: the manifest digest, in a repository the image is known in. */
	char ref[256];
	snprintf(ref, sizeof ref, "busybox@%s", ma);
	assert_resolves(f->db, ref, a.id);
	snprintf(ref, sizeof ref, "docker.io/library/busybox:latest@%s", ma);
	assert_resolves(f->db, ref, a.id);
	snprintf(ref, sizeof ref, "localhost:5000/ns/app@%s", mb);
	assert_resolves(f->db, ref, b.id);
	snprintf(ref, sizeof ref, "other@%s", ma);
	snprintf(msg, sizeof msg, "No such image: other@%s", ma);
	assert_resolve_fails(f->db, ref, ENOENT, msg);
	snprintf(ref, sizeof ref, "busybox@%s", mb);
	snprintf(msg, sizeof msg, "No such image: busybox@%s", mb);
	assert_resolve_fails(f->db, ref, ENOENT, msg);
	/* A stored digest reference (what a pull by digest records) works in its own right. */
	char md[DL];
	digest_of("manifest-by-digest", md);
	snprintf(ref, sizeof ref, "registry.example/team/tool@%s", md);
	OK(img_db_tag(f->db, b.id, ref, &e));
	assert_resolves(f->db, ref, b.id);

	/* A tag wins over an ID prefix that reads the same, as in Docker. */
	snprintf(prefix, sizeof prefix, "%.6s", a.id + 7);
	assert_resolves(f->db, prefix, a.id);
	OK(img_db_tag(f->db, b.id, prefix, &e));
	assert_resolves(f->db, prefix, b.id);

	/* Not a name at all. */
	assert_resolve_fails(f->db, "bad name!", EINVAL, "invalid reference format");
	assert_resolve_fails(f->db, "", EINVAL, "invalid reference format");
}

static void test_resolve_ambiguous(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* Two configs whose digests start with the same hex digit. */
	struct fake a, b;
	fake_init(&a, "amb-0", NULL);
	char seed[32];
	for (int i = 1;; i++) {
		snprintf(seed, sizeof seed, "amb-%d", i);
		fake_init(&b, seed, NULL);
		if (b.id[7] == a.id[7])
			break;
	}
	fake_store(f->db, &a, NULL, NULL, NULL, NULL);
	fake_store(f->db, &b, NULL, NULL, NULL, NULL);
	char prefix[16], msg[128];
	snprintf(prefix, sizeof prefix, "%c", a.id[7]);
	snprintf(msg, sizeof msg, "image ID prefix %s is ambiguous: it matches several images", prefix);
	assert_resolve_fails(f->db, prefix, ENOENT, msg);
	snprintf(prefix, sizeof prefix, "sha256:%c", a.id[7]);
	snprintf(msg, sizeof msg, "image ID prefix %s is ambiguous: it matches several images", prefix);
	assert_resolve_fails(f->db, prefix, ENOENT, msg);
	/* Long enough, each is unique. */
	assert_resolves(f->db, a.id + 7, a.id);
	assert_resolves(f->db, b.id + 7, b.id);
	/* A hex digit that starts neither. */
	char none = 0;
	for (const char *h = "0123456789abcdef"; *h && !none; h++)
		if (*h != a.id[7])
			none = *h;
	snprintf(prefix, sizeof prefix, "%c", none);
	snprintf(msg, sizeof msg, "No such image: %c:latest", none);
	assert_resolve_fails(f->db, prefix, ENOENT, msg);
	(void)e;
}

static void test_tag_untag(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a, b;
	fake_init(&a, "config-a", LAYERS3);
	fake_init(&b, "config-b", LAYERS3);
	fake_store(f->db, &a, NULL, NULL, NULL, NULL);
	fake_store(f->db, &b, NULL, NULL, NULL, NULL);

	OK(img_db_tag(f->db, a.id, "app:v1", &e));
	OK(img_db_tag(f->db, a.id + 7, "app", &e)); /* bare hex ID */
	assert_resolves(f->db, "app:v1", a.id);
	assert_resolves(f->db, "app", a.id);

	/* The tag moves. */
	OK(img_db_tag(f->db, b.id, "docker.io/library/app:v1", &e));
	assert_resolves(f->db, "app:v1", b.id);
	struct img_db_image out;
	OK(img_db_image_get(f->db, a.id, &out, &e));
	assert_strv(out.tags, "docker.io/library/app:latest", NULL);
	img_db_image_free(&out);
	OK(img_db_image_get(f->db, b.id, &out, &e));
	assert_strv(out.tags, "docker.io/library/app:v1", NULL);
	img_db_image_free(&out);
	/* Tagging again with the same is fine. */
	OK(img_db_tag(f->db, b.id, "app:v1", &e));

	/* Refused. */
	char missing[DL], msg[128];
	digest_of("missing", missing);
	assert_int_equal(img_db_tag(f->db, missing, "app:v2", &e), -1);
	snprintf(msg, sizeof msg, "No such image: %s", missing);
	assert_err(&e, ENOENT, msg);
	assert_int_equal(img_db_tag(f->db, "app", "app:v2", &e), -1);
	assert_err(&e, ENOENT, "No such image: app");
	char ref[200];
	snprintf(ref, sizeof ref, "app:v2@%s", missing);
	assert_int_equal(img_db_tag(f->db, a.id, ref, &e), -1);
	assert_err(&e, EINVAL, "refusing to create a tag with a digest reference");
	assert_int_equal(img_db_tag(f->db, a.id, "UPPER", &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);

	/* Untag. */
	OK(img_db_untag(f->db, "app", &e));
	assert_resolve_fails(f->db, "app", ENOENT, "No such image: app:latest");
	assert_int_equal(img_db_untag(f->db, "app", &e), -1);
	assert_err(&e, ENOENT, "No such image: app:latest");
	assert_resolves(f->db, "app:v1", b.id);
	OK(img_db_untag(f->db, "docker.io/library/app:v1", &e));
	assert_resolve_fails(f->db, "app:v1", ENOENT, "No such image: app:v1");
	/* The images stay, untagged. */
	OK(img_db_image_get(f->db, a.id, &out, &e));
	assert_strv(out.tags, NULL);
	img_db_image_free(&out);
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a, b, c, d;
	fake_init(&a, "config-a", LAYERS3);
	fake_init(&b, "config-b", LAYERS3);
	fake_init(&c, "config-c", LAYERS3);
	fake_init(&d, "config-d", NULL);
	const char *ta[] = {"a", NULL};
	const char *tb[] = {"b:1", "b:2", NULL};
	fake_store(f->db, &d, NULL, NULL, NULL, NULL); /* no created time: last */
	fake_store(f->db, &a, "2020-05-01T00:00:00Z", NULL, NULL, ta);
	fake_store(f->db, &b, "2022-05-01T10:00:00.5+02:00", NULL, NULL, tb);
	fake_store(f->db, &c, "2021-05-01T00:00:00.123456789Z", NULL, NULL, NULL);

	struct img_db_image *imgs = NULL;
	size_t n = 0;
	OK(img_db_list(f->db, false, &imgs, &n, &e));
	assert_int_equal(n, 2);
	assert_string_equal(imgs[0].id, b.id);
	assert_string_equal(imgs[1].id, a.id);
	assert_strv(imgs[0].tags, "docker.io/library/b:1", "docker.io/library/b:2", NULL);
	assert_int_equal(imgs[1].n_layers, 3);
	assert_string_equal(imgs[1].chain_ids[2], a.chains[2]);
	img_db_images_free(imgs, n);

	OK(img_db_list(f->db, true, &imgs, &n, &e));
	assert_int_equal(n, 4);
	assert_string_equal(imgs[0].id, b.id);
	assert_string_equal(imgs[1].id, c.id);
	assert_string_equal(imgs[2].id, a.id);
	assert_string_equal(imgs[3].id, d.id);
	assert_strv(imgs[1].tags, NULL);
	img_db_images_free(imgs, n);

	/* Empty database. */
	OK(img_db_untag(f->db, "a", &e));
	OK(img_db_untag(f->db, "b:1", &e));
	OK(img_db_untag(f->db, "b:2", &e));
	OK(img_db_list(f->db, false, &imgs, &n, &e));
	assert_int_equal(n, 0);
	assert_non_null(imgs);
	img_db_images_free(imgs, n);
}

static void test_delete_conflicts(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a;
	fake_init(&a, "config-a", LAYERS3);
	const char *ta[] = {"a:1", "b:1", NULL};
	fake_store(f->db, &a, NULL, NULL, NULL, ta);
	char id12[13];
	snprintf(id12, sizeof id12, "%.12s", a.id + 7);
	char msg[300];
	char **unused = NULL;

	/* By ID, references in two repositories: must be forced. */
	assert_int_equal(img_db_image_delete(f->db, a.id, false, &unused, &e), -1);
	snprintf(msg, sizeof msg,
		 "conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", id12);
	assert_err(&e, EBUSY, msg);
	assert_null(unused);
	assert_resolves(f->db, "a:1", a.id);
	assert_resolves(f->db, "b:1", a.id);

	/* By one of its references: just the untag. */
	struct img_db_removal rm;
	OK(img_db_image_remove(f->db, "a:1", false, true, &rm, &e));
	assert_strv(rm.untagged, "a:1", NULL);
	assert_strv(rm.deleted, NULL);
	assert_strv(rm.unused_chain_ids, NULL);
	img_db_removal_free(&rm);
	assert_resolve_fails(f->db, "a:1", ENOENT, "No such image: a:1");

	/* A container uses it: removing its last reference must be forced. */
	const char *ctr = "c0ffee0123456789c0ffee0123456789c0ffee0123456789c0ffee0123456789";
	OK(img_db_container_use(f->db, ctr, a.id, true, &e));
	assert_int_equal(img_db_image_remove(f->db, "b:1", false, true, &rm, &e), -1);
	snprintf(msg, sizeof msg,
		 "conflict: unable to remove repository reference \"b:1\" (must force) - container c0ffee012345 is "
		 "using its referenced image %s",
		 id12);
	assert_err(&e, EBUSY, msg);
	assert_null(rm.untagged);
	assert_resolves(f->db, "b:1", a.id);
	/* By ID too. */
	assert_int_equal(img_db_image_delete(f->db, a.id, false, &unused, &e), -1);
	snprintf(msg, sizeof msg,
		 "conflict: unable to delete %s (must be forced) - image is being used by stopped container "
		 "c0ffee012345",
		 id12);
	assert_err(&e, EBUSY, msg);
	assert_int_equal(img_db_image_remove(f->db, id12, false, true, &rm, &e), -1);
	assert_err(&e, EBUSY, msg);
	assert_resolves(f->db, "b:1", a.id);

	/* Forced: gone, but the container keeps its layers. */
	OK(img_db_image_remove(f->db, "b:1", true, true, &rm, &e));
	assert_strv(rm.untagged, "b:1", NULL);
	assert_strv(rm.deleted, a.id, NULL);
	assert_strv(rm.unused_chain_ids, NULL);
	img_db_removal_free(&rm);
	struct img_db_image out;
	assert_int_equal(img_db_image_get(f->db, a.id, &out, &e), -1);
	berr_clear(&e);
	for (size_t i = 0; i < a.n; i++)
		assert_true(img_db_layer_exists(f->db, a.chains[i]));
	size_t n = 0;
	OK(img_db_layers_unused(f->db, &unused, &n, &e));
	assert_int_equal(n, 0);
	b_strv_freep(&unused);
	assert_int_equal(img_db_layer_delete(f->db, a.chains[0], &e), -1);
	snprintf(msg, sizeof msg, "layer %s is in use by container %s", a.chains[0], ctr);
	assert_err(&e, EBUSY, msg);
	/* The container goes: now its layers are unused. */
	OK(img_db_container_use(f->db, ctr, NULL, false, &e));
	OK(img_db_layers_unused(f->db, &unused, &n, &e));
	assert_int_equal(n, 3);
	b_strv_freep(&unused);

	/* Recording a container for a missing image fails. */
	assert_int_equal(img_db_container_use(f->db, ctr, a.id, true, &e), -1);
	snprintf(msg, sizeof msg, "No such image: %s", a.id);
	assert_err(&e, ENOENT, msg);
	assert_int_equal(img_db_image_delete(f->db, a.id, false, NULL, &e), -1);
	assert_err(&e, ENOENT, msg);
	assert_int_equal(img_db_image_remove(f->db, "a:1", false, true, &rm, &e), -1);
	assert_err(&e, ENOENT, "No such image: a:1");
}

static void test_delete_by_id(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a, b;
	fake_init(&a, "config-a", LAYERS3);
	fake_init(&b, "config-b", LAYERS3);
	char ma[DL], ref[200];
	digest_of("manifest-a", ma);
	snprintf(ref, sizeof ref, "busybox@%s", ma);
	/* One tag and a digest reference in the same repository: a "single reference", no force needed. */
	const char *ta[] = {"busybox:1.36", ref, NULL};
	fake_store(f->db, &a, NULL, ma, NULL, ta);
	struct img_db_removal rm;
	char prefix[16];
	snprintf(prefix, sizeof prefix, "%.8s", a.id + 7);
	OK(img_db_image_remove(f->db, prefix, false, true, &rm, &e));
	char familiar_digest[200];
	snprintf(familiar_digest, sizeof familiar_digest, "busybox@%s", ma);
	assert_strv(rm.untagged, "busybox:1.36", familiar_digest, NULL);
	assert_strv(rm.deleted, a.id, NULL);
	assert_strv(rm.unused_chain_ids, a.chains[2], a.chains[1], a.chains[0], NULL);
	img_db_removal_free(&rm);
	for (size_t i = 0; i < a.n; i++)
		assert_false(img_db_layer_exists(f->db, a.chains[i]));

	/* Removing the last tag of a repository takes its digest references along, then the image. */
	fake_store(f->db, &b, NULL, ma, NULL, ta);
	OK(img_db_image_remove(f->db, "busybox:1.36", false, true, &rm, &e));
	assert_strv(rm.untagged, "busybox:1.36", familiar_digest, NULL);
	assert_strv(rm.deleted, b.id, NULL);
	img_db_removal_free(&rm);

	/* Two tags in one repository are not a single reference; force removes both. */
	const char *tb[] = {"app:1", "app:2", NULL};
	fake_store(f->db, &b, NULL, NULL, NULL, tb);
	assert_int_equal(img_db_image_delete(f->db, b.id, false, NULL, &e), -1);
	assert_err_has(&e, EBUSY, "image is referenced in multiple repositories");
	char **unused = NULL;
	OK(img_db_image_delete(f->db, b.id + 7, true, &unused, &e));
	assert_strv(unused, b.chains[2], b.chains[1], b.chains[0], NULL);
	b_strv_freep(&unused);
	assert_resolve_fails(f->db, "app:1", ENOENT, "No such image: app:1");

	/* Untagged image by ID. */
	fake_store(f->db, &a, NULL, NULL, NULL, NULL);
	OK(img_db_image_delete(f->db, a.id, false, NULL, &e));
	OK(img_db_check(f->db, &e));
}

static void test_delete_parents(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* base <- mid <- top, as commits make them: each adds a layer. */
	const char *const lbase[] = {"d1", NULL};
	const char *const lmid[] = {"d1", "d2", NULL};
	const char *const ltop[] = {"d1", "d2", "d3", NULL};
	struct fake base, mid, top;
	fake_init(&base, "config-base", lbase);
	fake_init(&mid, "config-mid", lmid);
	fake_init(&top, "config-top", ltop);
	const char *tbase[] = {"base", NULL};
	const char *ttop[] = {"top", NULL};
	fake_store(f->db, &base, NULL, NULL, NULL, tbase);
	fake_store(f->db, &mid, NULL, NULL, base.id, NULL);
	fake_store(f->db, &top, NULL, NULL, mid.id, ttop);

	/* A parent cannot go, not even forced. */
	char msg[200];
	snprintf(msg, sizeof msg,
		 "conflict: unable to delete %.12s (cannot be forced) - image has dependent child images", mid.id + 7);
	assert_int_equal(img_db_image_delete(f->db, mid.id, true, NULL, &e), -1);
	assert_err(&e, EBUSY, msg);
	/* By its tag: the tag goes, the image stays (untagged) for its child. */
	struct img_db_removal rm;
	OK(img_db_image_remove(f->db, "base", false, true, &rm, &e));
	assert_strv(rm.untagged, "base:latest", NULL);
	assert_strv(rm.deleted, NULL);
	img_db_removal_free(&rm);
	struct img_db_image out;
	OK(img_db_image_get(f->db, base.id, &out, &e));
	img_db_image_free(&out);

	/* Without prune only top goes; with prune its untagged ancestors follow. */
	OK(img_db_tag(f->db, base.id, "base", &e));
	OK(img_db_image_remove(f->db, "top", false, false, &rm, &e));
	assert_strv(rm.deleted, top.id, NULL);
	assert_strv(rm.unused_chain_ids, top.chains[2], NULL);
	img_db_removal_free(&rm);
	fake_store(f->db, &top, NULL, NULL, mid.id, ttop);
	OK(img_db_image_remove(f->db, "top", false, true, &rm, &e));
	/* base is tagged: the pruning stops under it. */
	assert_strv(rm.deleted, top.id, mid.id, NULL);
	assert_strv(rm.unused_chain_ids, top.chains[2], mid.chains[1], NULL);
	img_db_removal_free(&rm);
	OK(img_db_image_get(f->db, base.id, &out, &e));
	img_db_image_free(&out);
}

static void test_shared_layers(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	const char *const la[] = {"shared-1", "shared-2", "only-a", NULL};
	const char *const lb[] = {"shared-1", "shared-2", "only-b", NULL};
	struct fake a, b;
	fake_init(&a, "config-a", la);
	fake_init(&b, "config-b", lb);
	assert_string_equal(a.chains[1], b.chains[1]);
	const char *ta[] = {"a", NULL};
	const char *tb[] = {"b", NULL};
	fake_store(f->db, &a, NULL, NULL, NULL, ta);
	fake_store(f->db, &b, NULL, NULL, NULL, tb);

	char **unused = NULL;
	size_t n = 0;
	OK(img_db_image_delete(f->db, a.id, false, &unused, &e));
	assert_strv(unused, a.chains[2], NULL);
	b_strv_freep(&unused);
	assert_false(img_db_layer_exists(f->db, a.chains[2])); /* marked for deletion */
	assert_true(img_db_layer_exists(f->db, a.chains[0]));
	assert_true(img_db_layer_exists(f->db, a.chains[1]));

	/* A layer being deleted cannot be used until it is registered again. */
	struct img_db_image img = fake_image(&a, NULL, NULL, NULL, NULL);
	assert_int_equal(img_db_image_put(f->db, &img, &e), -1);
	assert_err_has(&e, EBUSY, "is being deleted");
	/* Registered layers nobody uses: the one being deleted. */
	OK(img_db_layers_unused(f->db, &unused, &n, &e));
	assert_int_equal(n, 1);
	assert_strv(unused, a.chains[2], NULL);
	b_strv_freep(&unused);

	char msg[300];
	assert_int_equal(img_db_layer_delete(f->db, a.chains[1], &e), -1);
	snprintf(msg, sizeof msg, "layer %s is in use by image %s", a.chains[1], b.id);
	assert_err(&e, EBUSY, msg);
	OK(img_db_layer_delete(f->db, a.chains[2], &e));
	OK(img_db_layer_delete(f->db, a.chains[2], &e)); /* missing is fine */
	OK(img_db_layers_unused(f->db, &unused, &n, &e));
	assert_int_equal(n, 0);
	assert_null(unused[0]);
	b_strv_freep(&unused);

	OK(img_db_image_delete(f->db, b.id, false, &unused, &e));
	assert_strv(unused, b.chains[2], b.chains[1], b.chains[0], NULL);
	b_strv_freep(&unused);
	for (size_t i = 0; i < b.n; i++) {
		assert_false(img_db_layer_exists(f->db, b.chains[i]));
		OK(img_db_layer_delete(f->db, b.chains[i], &e));
	}
	OK(img_db_check(f->db, &e));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layers"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layer_blobs"), 0);
}

static void test_referenced_blobs(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	char **blobs = NULL;
	size_t n = 99;
	OK(img_db_referenced_blobs(f->db, &blobs, &n, &e));
	assert_int_equal(n, 0);
	assert_null(blobs[0]);
	b_strv_freep(&blobs);

	struct fake a, b;
	fake_init(&a, "config-a", LAYERS3);
	fake_init(&b, "config-b", LAYERS3); /* same layers */
	char ma[DL];
	digest_of("manifest-a", ma);
	fake_store(f->db, &a, NULL, ma, NULL, NULL);
	fake_store(f->db, &b, NULL, NULL, NULL, NULL);
	/* The same layer known as another compressed blob (zstd from another registry). */
	char zst[DL];
	digest_of("zstd-layer", zst);
	OK(img_db_layer_put(f->db, a.chains[0], a.diffs[0], NULL, 100, zst, 30, &e));
	OK(img_db_layer_put(f->db, a.chains[0], a.diffs[0], NULL, 100, NULL, -1, &e));

	OK(img_db_referenced_blobs(f->db, &blobs, &n, &e));
	/* 2 configs, 1 manifest, 3 gzip layers, 1 zstd layer. */
	assert_int_equal(n, 7);
	assert_int_equal(strv_len(blobs), 7);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(blobs[i - 1], blobs[i]) < 0);
	const char *want[] = {a.id, b.id, ma, zst};
	for (size_t w = 0; w < ARRAY_SIZE(want); w++) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= !strcmp(blobs[i], want[w]);
		if (!found)
			fail_msg("%s not listed", want[w]);
	}
	b_strv_freep(&blobs);
	/* The first compressed digest stays the layer's. */
	char gz[DL], seed[100];
	snprintf(seed, sizeof seed, "gz:%s", a.diffs[0]);
	digest_of(seed, gz);
	char sql[300];
	snprintf(sql, sizeof sql,
		 "SELECT compressed_digest = '%s' AND compressed_size = 40 FROM layers WHERE chain_id = '%s'", gz,
		 a.chains[0]);
	assert_int_equal(raw_int(f->path, sql), 1);
}

struct tx_case {
	struct fake *fk;
	struct fake *other;
	int step;
};

static int tx_fails_half_way(struct img_db *db, void *arg, berr *e)
{
	struct tx_case *c = arg;
	fake_layers(db, c->fk);
	struct img_db_image img = fake_image(c->fk, NULL, NULL, NULL, NULL);
	if (img_db_image_put(db, &img, e) < 0 || img_db_tag(db, c->fk->id, "half", e) < 0)
		return -1;
	c->step = 1;
	return berr_invalid(e, "changed my mind");
}

static int tx_inner_fails(struct img_db *db, void *arg, berr *e)
{
	struct tx_case *c = arg;
	fake_layers(db, c->other);
	struct img_db_image img = fake_image(c->other, NULL, NULL, NULL, NULL);
	if (img_db_image_put(db, &img, e) < 0)
		return -1;
	return berr_invalid(e, "inner failure");
}

static int tx_outer_survives(struct img_db *db, void *arg, berr *e)
{
	struct tx_case *c = arg;
	fake_layers(db, c->fk);
	struct img_db_image img = fake_image(c->fk, NULL, NULL, NULL, NULL);
	if (img_db_image_put(db, &img, e) < 0)
		return -1;
	/* A nested transaction fails: only its part is undone. */
	if (img_db_tx(db, tx_inner_fails, c, e) == 0)
		return berr_invalid(e, "the inner transaction should have failed");
	if (strcmp(berr_msg(e), "inner failure"))
		return -1;
	berr_clear(e);
	/* A write that fails on its own (unknown image) leaves the rest of the transaction alone. */
	char missing[DL];
	digest_of("missing", missing);
	if (img_db_tag(db, missing, "nope", e) == 0)
		return berr_invalid(e, "tagging a missing image should have failed");
	berr_clear(e);
	return img_db_tag(db, c->fk->id, "whole", e);
}

static void test_tx_atomic(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a, b;
	fake_init(&a, "config-a", LAYERS3);
	const char *const lb[] = {"other-1", NULL};
	fake_init(&b, "config-b", lb);
	struct tx_case c = {&a, &b, 0};

	assert_int_equal(img_db_tx(f->db, tx_fails_half_way, &c, &e), -1);
	assert_err(&e, EINVAL, "changed my mind");
	assert_int_equal(c.step, 1); /* everything before the failure had succeeded */
	for (size_t i = 0; i < a.n; i++)
		assert_false(img_db_layer_exists(f->db, a.chains[i]));
	assert_resolve_fails(f->db, "half", ENOENT, "No such image: half:latest");
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	OK(img_db_list(f->db, true, &imgs, &n, &e));
	assert_int_equal(n, 0);
	img_db_images_free(imgs, n);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layers"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layer_blobs"), 0);

	/* Savepoints. */
	OK(img_db_tx(f->db, tx_outer_survives, &c, &e));
	assert_resolves(f->db, "whole", a.id);
	assert_false(img_db_layer_exists(f->db, b.chains[0]));
	OK(img_db_list(f->db, true, &imgs, &n, &e));
	assert_int_equal(n, 1);
	img_db_images_free(imgs, n);

	/* The handle is usable afterwards, in and out of transactions. */
	OK(img_db_tag(f->db, a.id, "after", &e));
	assert_resolves(f->db, "after", a.id);
	OK(img_db_check(f->db, &e));
}

/* A child commits and dies without closing anything; the parent finds the data. */
static void test_crash_after_commit(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	struct fake a;
	fake_init(&a, "config-crash", LAYERS3);
	/* SQLite's per-process lock bookkeeping must not be inherited: no handle open across fork. */
	img_db_close(f->db);
	f->db = NULL;
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct img_db *db = NULL;
		berr ce = {0};
		CHILD_CHECK(img_db_open(f->path, &db, &ce) == 0);
		for (size_t i = 0; i < a.n; i++)
			CHILD_CHECK(img_db_layer_put(db, a.chains[i], a.diffs[i], i ? a.chains[i - 1] : NULL, 10, NULL,
						     -1, &ce) == 0);
		const char *tags[] = {"crash:survivor", NULL};
		struct img_db_image img = {.id = a.id,
					   .size = -1,
					   .chain_ids = a.chain_ptrs,
					   .diff_ids = a.diff_ptrs,
					   .n_layers = a.n,
					   .tags = (char **)tags};
		CHILD_CHECK(img_db_image_put(db, &img, &ce) == 0);
		_exit(0); /* no close, no checkpoint */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The commits are in the WAL, not yet in the main file. */
	_cleanup_free_ char *wal = NULL;
	assert_true(asprintf(&wal, "%s-wal", f->path) > 0);
	struct stat st;
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 0);

	OK(img_db_open(f->path, &f->db, &e));
	assert_resolves(f->db, "crash:survivor", a.id);
	struct img_db_image out;
	OK(img_db_image_get(f->db, a.id, &out, &e));
	assert_int_equal(out.n_layers, 3);
	assert_int_equal(out.size, 30);
	img_db_image_free(&out);
	OK(img_db_check(f->db, &e));
}

/* Register layer "<prefix>-<i>" (a bottom layer: chain ID = diff ID) without cmocka (children use it). */
static int put_numbered_layer(struct img_db *db, const char *prefix, long i, berr *e)
{
	char seed[64], d[DL];
	snprintf(seed, sizeof seed, "%s-%ld", prefix, i);
	digest_of(seed, d);
	return img_db_layer_put(db, d, d, NULL, i, NULL, -1, e);
}

static bool numbered_layer_exists(struct img_db *db, const char *prefix, long i)
{
	char seed[64], d[DL];
	snprintf(seed, sizeof seed, "%s-%ld", prefix, i);
	digest_of(seed, d);
	return img_db_layer_exists(db, d);
}

/* Insert layers forever inside one transaction; say so on the pipe after a while. */
static int tx_forever(struct img_db *db, void *arg, berr *e)
{
	int fd = *(int *)arg;
	for (long i = 0;; i++) {
		if (put_numbered_layer(db, "uncommitted", i, e) < 0)
			return -1;
		if (i == 2000 && write(fd, "x", 1) != 1)
			return berr_sys(e, "write");
	}
}

/* A child is killed in the middle of a long transaction: the database stays whole, without it. */
static void test_sigkill_mid_transaction(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	/* SQLite's per-process lock bookkeeping must not be inherited: no handle open across fork. */
	img_db_close(f->db);
	f->db = NULL;
	int ready[2];
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		struct img_db *db = NULL;
		berr ce = {0};
		CHILD_CHECK(img_db_open(f->path, &db, &ce) == 0);
		CHILD_CHECK(put_numbered_layer(db, "committed", 0, &ce) == 0);
		int r = img_db_tx(db, tx_forever, &ready[1], &ce);
		dprintf(2, "child: the transaction ended: %d %s\n", r, berr_msg(&ce));
		_exit(1);
	}
	close(ready[1]);
	char x;
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	usleep(20 * 1000); /* more uncommitted rows, maybe a spill of the page cache to the WAL */
	assert_int_equal(kill(pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_integrity(f->path);
	OK(img_db_open(f->path, &f->db, &e));
	OK(img_db_check(f->db, &e));
	assert_true(numbered_layer_exists(f->db, "committed", 0));
	assert_false(numbered_layer_exists(f->db, "uncommitted", 0));
	assert_false(numbered_layer_exists(f->db, "uncommitted", 2000));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layers"), 1);
	/* The dead writer's lock is gone: writing works at once. */
	OK(put_numbered_layer(f->db, "after", 0, &e));
	assert_true(numbered_layer_exists(f->db, "after", 0));
}

/*
 * A child commits small transactions and acknowledges each on a pipe (as the daemon answers a
 * client); it is killed at some instant. Every acknowledged commit is there afterwards.
 */
static void test_sigkill_loses_nothing_acknowledged(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	img_db_close(f->db);
	f->db = NULL;
	for (int round = 0; round < 6; round++) {
		char prefix[32];
		snprintf(prefix, sizeof prefix, "round%d", round);
		int acks[2];
		assert_int_equal(pipe2(acks, O_CLOEXEC), 0);
		fflush(NULL);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(acks[0]);
			struct img_db *db = NULL;
			berr ce = {0};
			CHILD_CHECK(img_db_open(f->path, &db, &ce) == 0);
			for (int32_t i = 0;; i++) {
				CHILD_CHECK(put_numbered_layer(db, prefix, i, &ce) == 0);
				CHILD_CHECK(write(acks[1], &i, sizeof i) == sizeof i);
			}
		}
		close(acks[1]);
		int32_t last = -1, got;
		/* Let it run for a while that differs per round, so the kill lands at different points. */
		for (int k = 0; k < 3 + round * 4 && read(acks[0], &got, sizeof got) == sizeof got; k++)
			last = got;
		usleep((useconds_t)(round * 700));
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		while (read(acks[0], &got, sizeof got) == sizeof got)
			last = got;
		close(acks[0]);
		assert_true(last >= 2);

		OK(img_db_open(f->path, &f->db, &e));
		OK(img_db_check(f->db, &e));
		for (int32_t i = 0; i <= last; i++)
			if (!numbered_layer_exists(f->db, prefix, i))
				fail_msg("round %d: acknowledged commit %d of %d lost", round, i, last);
		img_db_close(f->db);
		f->db = NULL;
	}
	assert_integrity(f->path);
	OK(img_db_open(f->path, &f->db, &e));
}

/*
 * A handle keeps its locks: another process opening and closing the database meanwhile must not
 * find itself the last user, checkpoint and delete the WAL under the live handle (which then
 * commits into a deleted file). Closing any descriptor of the file drops a process's locks, so
 * img_db_open must hold none past SQLite's open.
 */
static void test_other_process_close_keeps_wal(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	img_db_close(f->db);
	f->db = NULL;
	int opened[2], go[2];
	assert_int_equal(pipe2(opened, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(opened[0]);
		close(go[1]);
		struct img_db *db = NULL;
		berr ce = {0};
		CHILD_CHECK(img_db_open(f->path, &db, &ce) == 0);
		CHILD_CHECK(put_numbered_layer(db, "before", 0, &ce) == 0);
		CHILD_CHECK(write(opened[1], "x", 1) == 1);
		char x;
		CHILD_CHECK(read(go[0], &x, 1) == 0);
		CHILD_CHECK(put_numbered_layer(db, "after", 0, &ce) == 0);
		_exit(0); /* the commit is only in the WAL */
	}
	close(opened[1]);
	close(go[0]);
	char x;
	assert_int_equal(read(opened[0], &x, 1), 1);
	/* Another user comes and goes while the child's handle is open. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layers"), 1);
	close(go[1]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(opened[0]);
	OK(img_db_open(f->path, &f->db, &e));
	assert_true(numbered_layer_exists(f->db, "before", 0));
	assert_true(numbered_layer_exists(f->db, "after", 0));
	OK(img_db_check(f->db, &e));
}

struct burst {
	const char *prefix;
	long base;
};

/* Five rows in one transaction, holding the write lock a few milliseconds. */
static int tx_burst(struct img_db *db, void *arg, berr *e)
{
	struct burst *b = arg;
	for (long i = 0; i < 5; i++) {
		if (put_numbered_layer(db, b->prefix, b->base + i, e) < 0)
			return -1;
		usleep(300);
	}
	return 0;
}

/* Two processes write at the same time: the busy timeout serialises them, both succeed. */
static void test_concurrent_processes(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	img_db_close(f->db);
	f->db = NULL;
	enum { WRITERS = 2, TXS = 40 };
	int go[2];
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid_t pids[WRITERS];
	fflush(NULL);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			close(go[1]);
			struct img_db *db = NULL;
			berr ce = {0};
			CHILD_CHECK(img_db_open(f->path, &db, &ce) == 0);
			char x;
			CHILD_CHECK(read(go[0], &x, 1) == 0); /* all start together */
			struct burst b = {w == 0 ? "writer0" : "writer1", 0};
			for (int t = 0; t < TXS; t++) {
				b.base = t * 5L;
				if (img_db_tx(db, tx_burst, &b, &ce) < 0) {
					dprintf(2, "child %d: %s\n", w, berr_msg(&ce));
					_exit(1);
				}
				/* And a read between writes, which never waits for the writer in WAL mode. */
				CHILD_CHECK(numbered_layer_exists(db, b.prefix, b.base));
			}
			img_db_close(db);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int w = 0; w < WRITERS; w++) {
		int status;
		assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("writer %d failed (status %#x)", w, status);
	}
	OK(img_db_open(f->path, &f->db, &e));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM layers"), WRITERS * TXS * 5);
	OK(img_db_check(f->db, &e));
}

static void test_schema_version(void **state)
{
	struct fixture *f = *state;
	berr e = {0};
	assert_int_equal(raw_int(f->path, "SELECT version FROM schema_versions WHERE component = 'image'"),
			 IMG_DB_SCHEMA_VERSION);
	/* Opening again migrates nothing and changes nothing. */
	reopen(f);
	reopen(f);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_versions"), 1);
	/* Another component's row (the engine's) is left alone. */
	raw_exec(f->path, "INSERT INTO schema_versions (component, version) VALUES ('engine', 7)");
	reopen(f);
	assert_int_equal(raw_int(f->path, "SELECT version FROM schema_versions WHERE component = 'engine'"), 7);

	/* A newer berth wrote it: refused, untouched. */
	img_db_close(f->db);
	f->db = NULL;
	raw_exec(f->path, "UPDATE schema_versions SET version = 99 WHERE component = 'image'");
	struct img_db *db = NULL;
	assert_int_equal(img_db_open(f->path, &db, &e), -1);
	assert_null(db);
	assert_int_equal(e.errnum, ENOTSUP);
	assert_err_has(&e, ENOTSUP, "schema version 99, newer than this berth's 1");
	assert_int_equal(raw_int(f->path, "SELECT version FROM schema_versions WHERE component = 'image'"), 99);
	raw_exec(f->path, "UPDATE schema_versions SET version = 1 WHERE component = 'image'");
	OK(img_db_open(f->path, &f->db, &e));

	/* WAL mode is recorded in the file; foreign keys are on for the handle. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);

	/* Not a database. */
	_cleanup_free_ char *junk = NULL;
	assert_true(asprintf(&junk, "%s/junk.db", f->dir) > 0);
	char garbage[4096];
	memset(garbage, 'x', sizeof garbage);
	OK(b_write_file(junk, garbage, sizeof garbage, 0600, &e));
	assert_int_equal(img_db_open(junk, &db, &e), -1);
	assert_err_has(&e, EIO, "file is not a database");
	/* A directory that does not exist. */
	_cleanup_free_ char *nowhere = NULL;
	assert_true(asprintf(&nowhere, "%s/no/such/dir/berth.db", f->dir) > 0);
	assert_int_equal(img_db_open(nowhere, &db, &e), -1);
	assert_err_has(&e, ENOENT, "opening image database");
}

/* The files are private and no descriptor of them leaks into an exec'd program. */
static void test_files_private_and_cloexec(void **state)
{
	struct fixture *f = *state;
	struct fake a;
	fake_init(&a, "config-a", LAYERS3);
	fake_store(f->db, &a, NULL, NULL, NULL, NULL); /* a write: -wal and -shm exist */
	const char *suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *p = NULL;
		assert_true(asprintf(&p, "%s%s", f->path, suffixes[i]) > 0);
		struct stat st;
		if (stat(p, &st) < 0)
			fail_msg("%s: %s", p, strerror(errno));
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	_cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int seen = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		char link[PATH_MAX], target[PATH_MAX];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, f->path, strlen(f->path)))
			continue;
		seen++;
		int flags = fcntl(fd, F_GETFD);
		if (flags < 0 || !(flags & FD_CLOEXEC))
			fail_msg("fd %d (%s) is not close-on-exec", fd, target);
	}
	assert_true(seen >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve_ambiguous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tag_untag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_conflicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_by_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_parents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_layers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_referenced_blobs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_atomic, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crash_after_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigkill_mid_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigkill_loses_nothing_acknowledged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_process_close_keeps_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_files_private_and_cloexec, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
