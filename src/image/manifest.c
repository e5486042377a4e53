/* Manifests and indexes (OCI image-spec, Docker distribution schema 2): parse, choose, write. */
#include "image/manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/json.h"

#define SCHEMA1_MSG                                                                                                 \
	"Docker Image manifest version 2, schema 1 is not supported (Docker removed it); the image must be pushed " \
	"again as OCI or Docker schema 2"

/* The message alone with errnum (berr_set would append strerror). Returns -1. */
__attribute__((format(printf, 3, 4))) static int set_msg(berr *e, int errnum, const char *fmt, ...)
{
	if (!e)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(e->msg);
	e->msg = msg;
	e->errnum = errnum;
	return -1;
}

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "parsing manifest");
}

/* "<where>.<key>" or "<key>" at the top. */
static int missing(berr *e, const char *where, const char *key)
{
	return berr_invalid(e, "%s%s%s: missing", where, *where ? "." : "", key);
}

/* Parse the whole buffer; it must hold one JSON object. */
static json_t *load_object(const char *json, size_t len, berr *e)
{
	if (!json) {
		berr_invalid(e, "empty document");
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		berr_invalid(e, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		berr_invalid(e, "expected a JSON object, got %s", b_json_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* OCI digest grammar: algorithm ":" encoded, algorithm = [a-z0-9]+ ([+._-][a-z0-9]+)*, encoded [a-zA-Z0-9=_-]+. */
static bool digest_well_formed(const char *d)
{
	const char *colon = strchr(d, ':');
	if (!colon || colon == d || !colon[1])
		return false;
	bool after_sep = true;
	for (const char *p = d; p < colon; p++) {
		if (is_lower_alnum(*p)) {
			after_sep = false;
		} else if (strchr("+._-", *p) && !after_sep) {
			after_sep = true;
		} else {
			return false;
		}
	}
	if (after_sep)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!is_lower_alnum(*p) && !(*p >= 'A' && *p <= 'Z') && !strchr("=_-", *p))
			return false;
	return true;
}

static int check_digest(const char *where, const char *d, berr *e)
{
	if (b_digest_valid(d))
		return 0;
	if (digest_well_formed(d) && strncmp(d, "sha256:", 7))
		return berr_invalid(e, "%s.digest: unsupported digest algorithm \"%.*s\" (only sha256 is supported)",
				    where, (int)(strchr(d, ':') - d), d);
	return berr_invalid(e, "%s.digest: invalid digest \"%s\"", where, d);
}

/* A required, non-empty string member. */
static int req_str(json_t *obj, const char *where, const char *key, char **out, berr *e)
{
	bool present = false;
	if (b_json_str(obj, where, key, out, &present, e) < 0)
		return -1;
	if (!present)
		return missing(e, where, key);
	if (!**out)
		return berr_invalid(e, "%s%s%s: must not be empty", where, *where ? "." : "", key);
	return 0;
}

static int parse_descriptor(json_t *j, const char *where, struct img_descriptor *d, berr *e)
{
	if (!json_is_object(j))
		return berr_invalid(e, "%s: expected an object, got %s", where, b_json_type_name(j));
	if (req_str(j, where, "mediaType", &d->media_type, e) < 0)
		return -1;
	bool present = false;
	if (b_json_str(j, where, "digest", &d->digest, &present, e) < 0)
		return -1;
	if (!present)
		return missing(e, where, "digest");
	if (check_digest(where, d->digest, e) < 0)
		return -1;
	if (b_json_i64(j, where, "size", &d->size, &present, e) < 0)
		return -1;
	if (!present)
		return missing(e, where, "size");
	if (d->size < 0)
		return berr_invalid(e, "%s.size: must not be negative, got %lld", where, (long long)d->size);
	if (b_json_strv(j, where, "urls", &d->urls, e) < 0 ||
	    b_json_str_map(j, where, "annotations", &d->annotations, e) < 0 ||
	    b_json_str(j, where, "artifactType", &d->artifact_type, NULL, e) < 0 ||
	    b_json_str(j, where, "data", &d->data, NULL, e) < 0)
		return -1;
	json_t *p = NULL;
	if (b_json_obj(j, where, "platform", &p, e) < 0)
		return -1;
	if (!p)
		return 0;
	_cleanup_free_ char *pw = NULL;
	if (asprintf(&pw, "%s.platform", where) < 0)
		return oom(e);
	if (req_str(p, pw, "architecture", &d->platform.architecture, e) < 0 ||
	    req_str(p, pw, "os", &d->platform.os, e) < 0 ||
	    b_json_str(p, pw, "variant", &d->platform.variant, NULL, e) < 0 ||
	    b_json_str(p, pw, "os.version", &d->platform.os_version, NULL, e) < 0)
		return -1;
	d->has_platform = true;
	return 0;
}

/* key (an array member of root) -> descriptors; where each is "<key>[i]". */
static int parse_descriptor_array(json_t *root, const char *key, struct img_descriptor **out, size_t *n, berr *e)
{
	json_t *arr = NULL;
	if (b_json_arr(root, "", key, &arr, e) < 0)
		return -1;
	if (!arr)
		return missing(e, "", key);
	size_t count = json_array_size(arr);
	*out = calloc(count ? count : 1, sizeof **out);
	if (!*out)
		return oom(e);
	*n = count;
	for (size_t i = 0; i < count; i++) {
		char where[64];
		snprintf(where, sizeof where, "%s[%zu]", key, i);
		if (parse_descriptor(json_array_get(arr, i), where, &(*out)[i], e) < 0)
			return -1;
	}
	return 0;
}

static int parse_subject(json_t *root, struct img_descriptor **out, berr *e)
{
	json_t *s = NULL;
	if (b_json_obj(root, "", "subject", &s, e) < 0)
		return -1;
	if (!s)
		return 0;
	*out = calloc(1, sizeof **out);
	if (!*out)
		return oom(e);
	return parse_descriptor(s, "subject", *out, e);
}

bool img_media_type_is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, IMG_MT_OCI_MANIFEST) || !strcmp(mt, IMG_MT_DOCKER_MANIFEST));
}

bool img_media_type_is_index(const char *mt)
{
	return mt && (!strcmp(mt, IMG_MT_OCI_INDEX) || !strcmp(mt, IMG_MT_DOCKER_LIST));
}

static bool is_schema1(const char *mt)
{
	return !strcmp(mt, IMG_MT_DOCKER_SCHEMA1) || !strcmp(mt, IMG_MT_DOCKER_SCHEMA1_SIGNED);
}

/*
 * The common head of both documents: schema 1 refused, then mediaType checked against the
 * expected kind (absent is fine: OCI makes it optional), then schemaVersion 2.
 */
static int parse_head(json_t *root, bool want_index, char **media_type, int *schema_version, berr *e)
{
	int64_t version = 0;
	bool has_version = false;
	if (b_json_i64(root, "", "schemaVersion", &version, &has_version, e) < 0)
		return -1;
	if (has_version && version == 1)
		return berr_invalid(e, SCHEMA1_MSG);
	bool has_mt = false;
	if (b_json_str(root, "", "mediaType", media_type, &has_mt, e) < 0)
		return -1;
	if (has_mt) {
		const char *mt = *media_type;
		if (is_schema1(mt))
			return berr_invalid(e, SCHEMA1_MSG);
		if (want_index && img_media_type_is_manifest(mt))
			return berr_invalid(e, "mediaType: \"%s\" is an image manifest, not an index", mt);
		if (!want_index && img_media_type_is_index(mt))
			return berr_invalid(e, "mediaType: \"%s\" is an image index, not a manifest", mt);
		if (want_index ? !img_media_type_is_index(mt) : !img_media_type_is_manifest(mt))
			return berr_invalid(e, "mediaType: unsupported media type \"%s\"", mt);
	} else {
		/* No mediaType: the other kind's shape is an error, not an empty document of this one. */
		if (want_index && !json_object_get(root, "manifests") &&
		    (json_object_get(root, "config") || json_object_get(root, "layers")))
			return berr_invalid(e, "manifests: missing (the document is an image manifest, not an index)");
		if (!want_index && !json_object_get(root, "config") && json_object_get(root, "manifests"))
			return berr_invalid(e, "config: missing (the document is an image index, not a manifest)");
		*media_type = strdup(want_index ? IMG_MT_OCI_INDEX : IMG_MT_OCI_MANIFEST);
		if (!*media_type)
			return oom(e);
	}
	if (!has_version)
		return missing(e, "", "schemaVersion");
	if (version != 2)
		return berr_invalid(e, "schemaVersion: unsupported version %lld (expected 2)", (long long)version);
	*schema_version = 2;
	return 0;
}

int img_manifest_parse(const char *json, size_t len, struct img_manifest *out, berr *e)
{
	memset(out, 0, sizeof *out);
	json_t *root = load_object(json, len, e);
	if (!root)
		return -1;
	int r = -1;
	json_t *cfg = NULL;
	if (parse_head(root, false, &out->media_type, &out->schema_version, e) < 0)
		goto out;
	if (b_json_obj(root, "", "config", &cfg, e) < 0)
		goto out;
	if (!cfg) {
		missing(e, "", "config");
		goto out;
	}
	if (parse_descriptor(cfg, "config", &out->config, e) < 0 ||
	    parse_descriptor_array(root, "layers", &out->layers, &out->n_layers, e) < 0 ||
	    parse_subject(root, &out->subject, e) < 0 ||
	    b_json_str(root, "", "artifactType", &out->artifact_type, NULL, e) < 0 ||
	    b_json_str_map(root, "", "annotations", &out->annotations, e) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	if (r < 0)
		img_manifest_free(out);
	return r;
}

int img_index_parse(const char *json, size_t len, struct img_index *out, berr *e)
{
	memset(out, 0, sizeof *out);
	json_t *root = load_object(json, len, e);
	if (!root)
		return -1;
	int r = -1;
	if (parse_head(root, true, &out->media_type, &out->schema_version, e) < 0 ||
	    parse_descriptor_array(root, "manifests", &out->manifests, &out->n_manifests, e) < 0 ||
	    parse_subject(root, &out->subject, e) < 0 ||
	    b_json_str(root, "", "artifactType", &out->artifact_type, NULL, e) < 0 ||
	    b_json_str_map(root, "", "annotations", &out->annotations, e) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	if (r < 0)
		img_index_free(out);
	return r;
}

/* A Content-Type's media type (parameters and blanks dropped) equals mt, ignoring case? */
static bool content_type_is(const char *ct, const char *mt)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == strlen(mt) && !strncasecmp(ct, mt, n);
}

int img_doc_kind_of(const char *json, size_t len, const char *content_type, enum img_doc_kind *kind, berr *e)
{
	json_t *root = load_object(json, len, e);
	if (!root)
		return -1;
	int r = -1;
	int64_t version = 0;
	_cleanup_free_ char *mt = NULL;
	if (b_json_i64(root, "", "schemaVersion", &version, NULL, e) < 0 ||
	    b_json_str(root, "", "mediaType", &mt, NULL, e) < 0)
		goto out;
	if (version == 1) {
		berr_invalid(e, SCHEMA1_MSG);
		goto out;
	}
	if (mt) {
		if (img_media_type_is_manifest(mt)) {
			*kind = IMG_DOC_MANIFEST;
		} else if (img_media_type_is_index(mt)) {
			*kind = IMG_DOC_INDEX;
		} else if (is_schema1(mt)) {
			berr_invalid(e, SCHEMA1_MSG);
			goto out;
		} else {
			berr_invalid(e, "mediaType: unsupported media type \"%s\"", mt);
			goto out;
		}
		r = 0;
		goto out;
	}
	if (content_type) {
		static const char *const manifests[] = {IMG_MT_OCI_MANIFEST, IMG_MT_DOCKER_MANIFEST};
		static const char *const indexes[] = {IMG_MT_OCI_INDEX, IMG_MT_DOCKER_LIST};
		static const char *const schema1[] = {IMG_MT_DOCKER_SCHEMA1, IMG_MT_DOCKER_SCHEMA1_SIGNED};
		for (size_t i = 0; i < 2; i++) {
			if (content_type_is(content_type, manifests[i])) {
				*kind = IMG_DOC_MANIFEST;
				r = 0;
				goto out;
			}
			if (content_type_is(content_type, indexes[i])) {
				*kind = IMG_DOC_INDEX;
				r = 0;
				goto out;
			}
			if (content_type_is(content_type, schema1[i])) {
				berr_invalid(e, SCHEMA1_MSG);
				goto out;
			}
		}
	}
	if (json_object_get(root, "fsLayers") || json_object_get(root, "signatures")) {
		berr_invalid(e, SCHEMA1_MSG);
		goto out;
	}
	if (json_object_get(root, "manifests")) {
		*kind = IMG_DOC_INDEX;
		r = 0;
	} else if (json_object_get(root, "config") || json_object_get(root, "layers")) {
		*kind = IMG_DOC_MANIFEST;
		r = 0;
	} else {
		berr_invalid(e, "not an image manifest nor an index: no mediaType, and neither \"manifests\" nor "
				"\"config\"");
	}
out:
	json_decref(root);
	return r;
}

/* ---- platforms ---- */

static const char *const known_os[] = {"aix",     "android", "darwin",  "dragonfly", "freebsd", "hurd",
				       "illumos", "ios",     "js",      "linux",     "nacl",    "netbsd",
				       "openbsd", "plan9",   "solaris", "wasip1",    "windows", "zos"};
static const char *const known_arch[] = {"386",       "amd64",       "amd64p32", "arm",    "armbe",   "arm64",
					 "arm64be",   "loong64",     "mips",     "mipsle", "mips64",  "mips64le",
					 "mips64p32", "mips64p32le", "ppc",      "ppc64",  "ppc64le", "riscv",
					 "riscv64",   "s390",        "s390x",    "sparc",  "sparc64", "wasm"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* The platform this binary runs on: its architecture and variant (NULL when none). */
static void host_arch(const char **arch, const char **variant)
{
	*variant = NULL;
#if defined(__x86_64__)
	*arch = "amd64";
#elif defined(__aarch64__)
	*arch = "arm64";
	*variant = "v8";
#elif defined(__arm__)
	*arch = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
	*variant = "v7";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
	*variant = "v6";
#else
	*variant = "v5";
#endif
#elif defined(__i386__)
	*arch = "386";
#elif defined(__s390x__)
	*arch = "s390x";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
	*arch = "ppc64le";
#elif defined(__powerpc64__)
	*arch = "ppc64";
#elif defined(__riscv) && __riscv_xlen == 64
	*arch = "riscv64";
#elif defined(__loongarch64)
	*arch = "loong64";
#elif defined(__mips64) && defined(__MIPSEL__)
	*arch = "mips64le";
#elif defined(__mips64)
	*arch = "mips64";
#else
	*arch = "amd64";
#endif
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (d)
		for (char *p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return d;
}

/* Replace *s (owned) by a copy of v. */
static int replace(char **s, const char *v)
{
	char *n = strdup(v);
	if (!n)
		return -1;
	free(*s);
	*s = n;
	return 0;
}

/* containerd's normalizeOS, in place. */
static int normalize_os(char **os)
{
	if (!strcmp(*os, "macos"))
		return replace(os, "darwin");
	return 0;
}

/* containerd's normalizeArch, in place (both lower-cased already; variant "" for none). */
static int normalize_arch(char **arch, char **variant)
{
	const char *a = *arch, *v = *variant;
	if (!strcmp(a, "i386"))
		return replace(arch, "386") || replace(variant, "") ? -1 : 0;
	if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64"))
		return replace(arch, "amd64") || (!strcmp(v, "v1") && replace(variant, "")) ? -1 : 0;
	if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		if (replace(arch, "arm64"))
			return -1;
		if (!strcmp(v, "8") || !strcmp(v, "v8") || !strcmp(v, "v8.0"))
			return replace(variant, "");
		if (!strcmp(v, "9") || !strcmp(v, "9.0") || !strcmp(v, "v9.0"))
			return replace(variant, "v9");
		return 0;
	}
	if (!strcmp(a, "armhf"))
		return replace(arch, "arm") || replace(variant, "v7") ? -1 : 0;
	if (!strcmp(a, "armel"))
		return replace(arch, "arm") || replace(variant, "v6") ? -1 : 0;
	if (!strcmp(a, "arm")) {
		if (!*v || !strcmp(v, "7"))
			return replace(variant, "v7");
		if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8")) {
			char buf[3] = {'v', v[0], '\0'};
			return replace(variant, buf);
		}
	}
	return 0;
}

void img_platform_free(struct img_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->architecture);
	free(p->variant);
	memset(p, 0, sizeof *p);
}

static int platform_set(struct img_platform *out, const char *os, const char *arch, const char *variant, berr *e)
{
	out->os = strdup(os);
	out->architecture = strdup(arch);
	out->variant = variant && *variant ? strdup(variant) : NULL;
	if (!out->os || !out->architecture || (variant && *variant && !out->variant)) {
		img_platform_free(out);
		return oom(e);
	}
	return 0;
}

static bool valid_component(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

int img_platform_parse(const char *s, struct img_platform *out, berr *e)
{
	memset(out, 0, sizeof *out);
	const char *harch, *hvariant;
	host_arch(&harch, &hvariant);
	if (!s || !*s)
		return platform_set(out, "linux", harch, hvariant, e);

	const char *parts[3];
	size_t lens[3], n = 0;
	for (const char *p = s;;) {
		size_t l = strcspn(p, "/");
		if (n == 3)
			return berr_invalid(e, "\"%s\": cannot parse platform specifier", s);
		if (!valid_component(p, l))
			return berr_invalid(
			    e,
			    "\"%.*s\" is an invalid component of \"%s\": platform specifier component must "
			    "match \"^[A-Za-z0-9_.-]+$\"",
			    (int)l, p, s);
		parts[n] = p;
		lens[n++] = l;
		if (!p[l])
			break;
		p += l + 1;
	}

	_cleanup_free_ char *first = strndup(parts[0], lens[0]);
	if (!first)
		return oom(e);
	_cleanup_free_ char *os = lower_dup(first);
	_cleanup_free_ char *arch = n > 1 ? strndup(parts[1], lens[1]) : lower_dup(first);
	_cleanup_free_ char *variant = n > 2 ? strndup(parts[2], lens[2]) : strdup("");
	if (!os || !arch || !variant)
		return oom(e);
	_cleanup_free_ char *larch = lower_dup(arch), *lvariant = lower_dup(variant);
	if (!larch || !lvariant || normalize_os(&os) < 0 || normalize_arch(&larch, &lvariant) < 0)
		return oom(e);

	if (n == 1) {
		if (in_list(os, known_os, ARRAY_SIZE(known_os))) {
			/* A lone OS: the host's architecture (and an arm variant other than v7). */
			const char *v = !strcmp(harch, "arm") && hvariant && strcmp(hvariant, "v7") ? hvariant : NULL;
			return platform_set(out, os, harch, v, e);
		}
		if (!strcmp(larch, "arm") && !strcmp(lvariant, "v7"))
			lvariant[0] = '\0';
		if (in_list(larch, known_arch, ARRAY_SIZE(known_arch)))
			return platform_set(out, "linux", larch, lvariant, e);
		return berr_invalid(e, "\"%s\": unknown operating system or architecture", s);
	}
	if (n == 2 && !strcmp(larch, "arm") && !strcmp(lvariant, "v7"))
		lvariant[0] = '\0';
	if (n == 3 && !strcmp(larch, "arm64") && !*lvariant)
		return platform_set(out, os, larch, "v8", e);
	return platform_set(out, os, larch, lvariant, e);
}

char *img_platform_string(const struct img_platform *p)
{
	char *s = NULL;
	bool v = p->variant && *p->variant;
	if (asprintf(&s, "%s/%s%s%s", p->os ? p->os : "", p->architecture ? p->architecture : "", v ? "/" : "",
		     v ? p->variant : "") < 0)
		return NULL;
	return s;
}

/* A platform normalised for comparison: arm64 and arm always carry their variant (v8, v7). */
struct norm {
	char *os, *arch, *variant;
};

static void norm_free(struct norm *n)
{
	free(n->os);
	free(n->arch);
	free(n->variant);
	memset(n, 0, sizeof *n);
}

static int norm_make(const char *os, const char *arch, const char *variant, struct norm *n)
{
	n->os = lower_dup(os);
	n->arch = lower_dup(arch);
	n->variant = lower_dup(variant);
	if (!n->os || !n->arch || !n->variant || normalize_os(&n->os) < 0 ||
	    normalize_arch(&n->arch, &n->variant) < 0 ||
	    (!strcmp(n->arch, "arm64") && !*n->variant && replace(&n->variant, "v8") < 0)) {
		norm_free(n);
		return -1;
	}
	return 0;
}

/* "v<N>" -> N (>= 0), else -1. */
static long variant_level(const char *v)
{
	if (v[0] != 'v' || !v[1] || strlen(v) > 6)
		return -1;
	long n = 0;
	for (const char *p = v + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

/* amd64 levels: "" is v1. */
static long amd64_level(const char *v)
{
	return *v ? variant_level(v) : 1;
}

/*
 * Where have sits in the preference list of want (containerd's platformVector): 0 for the same
 * platform, higher for worse fallbacks, -1 when want cannot use it.
 */
static long platform_rank(const struct norm *want, const struct norm *have)
{
	if (strcmp(want->os, have->os))
		return -1;
	if (!strcmp(want->arch, have->arch) && !strcmp(want->variant, have->variant))
		return 0;
	if (!strcmp(want->arch, "amd64")) {
		long w = amd64_level(want->variant);
		if (!strcmp(have->arch, "amd64")) {
			long h = amd64_level(have->variant);
			return w > 1 && h >= 1 && h < w ? w - h : -1;
		}
		/* 386 after every amd64 level */
		if (!strcmp(have->arch, "386") && !*have->variant)
			return w > 1 ? w : 1;
		return -1;
	}
	if (!strcmp(want->arch, "arm")) {
		long w = variant_level(want->variant), h = variant_level(have->variant);
		if (strcmp(have->arch, "arm") || w <= 5 || h < 5 || h >= w)
			return -1;
		return w - h;
	}
	if (!strcmp(want->arch, "arm64")) {
		/* arm64/vK runs arm/vK, then arm/vK-1 ... arm/v5 */
		if (strcmp(have->arch, "arm"))
			return -1;
		if (!strcmp(have->variant, want->variant))
			return 1;
		long w = variant_level(want->variant), h = variant_level(have->variant);
		if (w <= 5 || h < 5 || h >= w)
			return -1;
		return 1 + (w - h);
	}
	return -1;
}

bool img_platform_matches(const struct img_platform *p, const char *os, const char *arch, const char *variant)
{
	struct norm a = {0}, b = {0};
	if (norm_make(p->os, p->architecture, p->variant, &a) < 0)
		return false;
	bool same = false;
	if (norm_make(os, arch, variant, &b) == 0)
		same = platform_rank(&a, &b) == 0;
	norm_free(&a);
	norm_free(&b);
	return same;
}

static const char *annotation(char *const *ann, const char *key)
{
	for (size_t i = 0; ann && ann[i] && ann[i + 1]; i += 2)
		if (!strcmp(ann[i], key))
			return ann[i + 1];
	return NULL;
}

static bool selectable(const struct img_descriptor *d)
{
	if (!img_media_type_is_manifest(d->media_type))
		return false;
	const char *ref_type = annotation(d->annotations, IMG_ANNOTATION_REFERENCE_TYPE);
	return !ref_type || strcmp(ref_type, IMG_REFERENCE_TYPE_ATTESTATION);
}

int img_index_select(const struct img_index *idx, const struct img_platform *want, const struct img_descriptor **out,
		     berr *e)
{
	struct img_platform host = {0};
	if (!want) {
		if (img_platform_parse(NULL, &host, e) < 0)
			return -1;
		want = &host;
	}
	struct norm w = {0};
	if (norm_make(want->os, want->architecture, want->variant, &w) < 0) {
		img_platform_free(&host);
		return oom(e);
	}
	const struct img_descriptor *best = NULL, *no_platform = NULL;
	long best_rank = LONG_MAX;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct img_descriptor *d = &idx->manifests[i];
		if (!selectable(d))
			continue;
		if (!d->has_platform) {
			if (!no_platform)
				no_platform = d;
			continue;
		}
		struct norm h = {0};
		if (norm_make(d->platform.os, d->platform.architecture, d->platform.variant, &h) < 0) {
			norm_free(&w);
			img_platform_free(&host);
			return oom(e);
		}
		long rank = platform_rank(&w, &h);
		norm_free(&h);
		if (rank >= 0 && rank < best_rank) {
			best = d;
			best_rank = rank;
		}
	}
	norm_free(&w);
	if (!best)
		best = no_platform;
	int r = 0;
	if (best) {
		*out = best;
	} else {
		_cleanup_free_ char *name = img_platform_string(want);
		r = set_msg(e, ENOENT, "no matching manifest for %s in the manifest list entries", name ? name : "?");
	}
	img_platform_free(&host);
	return r;
}

/* ---- writing ---- */

/* Free the fields and zero *d. */
void img_descriptor_free(struct img_descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	b_strv_free(d->urls);
	b_strv_free(d->annotations);
	free(d->artifact_type);
	free(d->data);
	free(d->platform.os);
	free(d->platform.architecture);
	free(d->platform.variant);
	free(d->platform.os_version);
	memset(d, 0, sizeof *d);
}

static void descriptors_free(struct img_descriptor *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		img_descriptor_free(&d[i]);
	free(d);
}

void img_manifest_free(struct img_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->artifact_type);
	img_descriptor_free(&m->config);
	descriptors_free(m->layers, m->n_layers);
	if (m->subject) {
		img_descriptor_free(m->subject);
		free(m->subject);
	}
	b_strv_free(m->annotations);
	memset(m, 0, sizeof *m);
}

void img_index_free(struct img_index *i)
{
	if (!i)
		return;
	free(i->media_type);
	free(i->artifact_type);
	descriptors_free(i->manifests, i->n_manifests);
	if (i->subject) {
		img_descriptor_free(i->subject);
		free(i->subject);
	}
	b_strv_free(i->annotations);
	memset(i, 0, sizeof *i);
}

/* Set o[k] = v (stolen); an absent (NULL) v fails, so every allocation is checked once. */
static int put(json_t *o, const char *k, json_t *v)
{
	return json_object_set_new(o, k, v);
}

/* Set o[k] = s when s is a non-empty string. */
static int put_opt_str(json_t *o, const char *k, const char *s)
{
	return s && *s ? put(o, k, json_string(s)) : 0;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* An annotations list as an object with sorted keys (Go's map order); nothing when empty. */
static int put_map(json_t *o, const char *k, char *const *kv)
{
	size_t n = 0;
	while (kv && kv[2 * n] && kv[2 * n + 1])
		n++;
	if (!n)
		return 0;
	char *const **order = calloc(n, sizeof *order);
	if (!order)
		return -1;
	for (size_t i = 0; i < n; i++)
		order[i] = &kv[2 * i];
	qsort(order, n, sizeof *order, cmp_keys);
	json_t *m = json_object();
	int r = m ? 0 : -1;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = put(m, order[i][0], json_string(order[i][1]));
	free(order);
	if (r < 0) {
		json_decref(m);
		return -1;
	}
	return put(o, k, m);
}

static json_t *descriptor_json(const struct img_descriptor *d)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (put(o, "mediaType", json_string(d->media_type ? d->media_type : "")) ||
	    put(o, "digest", json_string(d->digest ? d->digest : "")) || put(o, "size", json_integer(d->size)))
		goto fail;
	if (d->urls && d->urls[0]) {
		json_t *a = json_array();
		if (put(o, "urls", a))
			goto fail;
		for (char **u = d->urls; *u; u++)
			if (json_array_append_new(a, json_string(*u)))
				goto fail;
	}
	if (put_map(o, "annotations", d->annotations) || put_opt_str(o, "data", d->data))
		goto fail;
	if (d->has_platform) {
		json_t *p = json_object();
		if (put(o, "platform", p) ||
		    put(p, "architecture", json_string(d->platform.architecture ? d->platform.architecture : "")) ||
		    put(p, "os", json_string(d->platform.os ? d->platform.os : "")) ||
		    put_opt_str(p, "os.version", d->platform.os_version) ||
		    put_opt_str(p, "variant", d->platform.variant))
			goto fail;
	}
	if (put_opt_str(o, "artifactType", d->artifact_type))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *descriptors_json(const struct img_descriptor *d, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, descriptor_json(&d[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static char *dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

char *img_manifest_to_json(const struct img_manifest *m)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (put(o, "schemaVersion", json_integer(m->schema_version ? m->schema_version : 2)) ||
	    put(o, "mediaType", json_string(m->media_type ? m->media_type : IMG_MT_OCI_MANIFEST)) ||
	    put_opt_str(o, "artifactType", m->artifact_type) || put(o, "config", descriptor_json(&m->config)) ||
	    put(o, "layers", descriptors_json(m->layers, m->n_layers)) ||
	    (m->subject && put(o, "subject", descriptor_json(m->subject))) ||
	    put_map(o, "annotations", m->annotations)) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

char *img_index_to_json(const struct img_index *idx)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (put(o, "schemaVersion", json_integer(idx->schema_version ? idx->schema_version : 2)) ||
	    put(o, "mediaType", json_string(idx->media_type ? idx->media_type : IMG_MT_OCI_INDEX)) ||
	    put_opt_str(o, "artifactType", idx->artifact_type) ||
	    put(o, "manifests", descriptors_json(idx->manifests, idx->n_manifests)) ||
	    (idx->subject && put(o, "subject", descriptor_json(idx->subject))) ||
	    put_map(o, "annotations", idx->annotations)) {
		json_decref(o);
		return NULL;
	}
	return dump(o);
}

int img_layer_compression(const char *mt, enum img_compression *out, berr *e)
{
	static const struct {
		const char *mt;
		enum img_compression c;
	} layers[] = {
	    {IMG_MT_OCI_LAYER, IMG_COMPRESSION_NONE},
	    {IMG_MT_OCI_LAYER_GZIP, IMG_COMPRESSION_GZIP},
	    {IMG_MT_OCI_LAYER_ZSTD, IMG_COMPRESSION_ZSTD},
	    {IMG_MT_OCI_LAYER_NONDIST, IMG_COMPRESSION_NONE},
	    {IMG_MT_OCI_LAYER_NONDIST_GZIP, IMG_COMPRESSION_GZIP},
	    {IMG_MT_OCI_LAYER_NONDIST_ZSTD, IMG_COMPRESSION_ZSTD},
	    {IMG_MT_DOCKER_LAYER, IMG_COMPRESSION_NONE},
	    {IMG_MT_DOCKER_LAYER_GZIP, IMG_COMPRESSION_GZIP},
	    {IMG_MT_DOCKER_LAYER_FOREIGN_GZIP, IMG_COMPRESSION_GZIP},
	};
	for (size_t i = 0; mt && i < ARRAY_SIZE(layers); i++) {
		if (!strcmp(mt, layers[i].mt)) {
			*out = layers[i].c;
			return 0;
		}
	}
	return berr_invalid(e, "unsupported layer media type \"%s\"", mt ? mt : "");
}
