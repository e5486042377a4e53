/* Image references: Docker's grammar (distribution/reference), matched by hand, and its normalisation. */
#include "image/reference.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"

#define LEGACY_DOMAIN   "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define SHA256_ALGO     "sha256"
#define SHA256_HEX_LEN  64
#define TAG_MAX         128
#define DIGEST_HEX_MIN  32

/* A piece of the input: p == NULL when absent. */
struct span {
	const char *p;
	size_t n;
};

struct ref_spans {
	struct span domain, path, tag, digest;
};

/* ASCII classes only: the grammar is ASCII, and the locale must not change it. */
static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || is_upper(c);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool has_upper(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_upper(p[i]))
			return true;
	return false;
}

/* path-component := [a-z0-9]+ ( ( [._] | "__" | "-"+ ) [a-z0-9]+ )* */
static bool match_path_component(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < n && is_lower_alnum(p[i]))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (p[i] == '.')
			i++;
		else if (p[i] == '_')
			i += (i + 1 < n && p[i + 1] == '_') ? 2 : 1;
		else if (p[i] == '-')
			while (i < n && p[i] == '-')
				i++;
		else
			return false;
	}
}

/* path := path-component ( '/' path-component )* */
static bool match_path(const char *p, size_t n)
{
	for (;;) {
		const char *slash = memchr(p, '/', n);
		size_t len = slash ? (size_t)(slash - p) : n;
		if (!match_path_component(p, len))
			return false;
		if (!slash)
			return true;
		p += len + 1;
		n -= len + 1;
	}
}

/* domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool match_domain_component(const char *p, size_t n)
{
	if (n == 0 || !is_alnum(p[0]) || !is_alnum(p[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!is_alnum(p[i]) && p[i] != '-')
			return false;
	return true;
}

/* domain := ( domain-component ( '.' domain-component )* | '[' [a-fA-F0-9:]+ ']' ) ( ':' [0-9]+ )? */
static bool match_domain(const char *p, size_t n)
{
	size_t host;
	if (n > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', n);
		if (!close || close == p + 1)
			return false;
		host = (size_t)(close - p) + 1;
		for (size_t i = 1; i + 1 < host; i++)
			if (!is_xdigit(p[i]) && p[i] != ':')
				return false;
	} else {
		const char *colon = memchr(p, ':', n);
		host = colon ? (size_t)(colon - p) : n;
		for (size_t i = 0;;) {
			const char *dot = memchr(p + i, '.', host - i);
			size_t len = dot ? (size_t)(dot - (p + i)) : host - i;
			if (!match_domain_component(p + i, len))
				return false;
			if (!dot)
				break;
			i += len + 1;
		}
	}
	if (host == n)
		return true;
	if (p[host] != ':' || host + 1 == n)
		return false;
	for (size_t i = host + 1; i < n; i++)
		if (!is_digit(p[i]))
			return false;
	return true;
}

/* tag := [\w][\w.-]{0,127} */
static bool match_tag(const char *p, size_t n)
{
	if (n == 0 || n > TAG_MAX || !is_word(p[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(p[i]) && p[i] != '.' && p[i] != '-')
			return false;
	return true;
}

/* digest := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* ':' [0-9a-fA-F]{32,} */
static bool match_digest(const char *p, size_t n)
{
	size_t i = 0;
	for (;;) {
		if (i == n || !(is_upper(p[i]) || (p[i] >= 'a' && p[i] <= 'z')))
			return false;
		while (i < n && is_alnum(p[i]))
			i++;
		if (i < n && (p[i] == '-' || p[i] == '_' || p[i] == '+' || p[i] == '.')) {
			i++;
			continue;
		}
		break;
	}
	if (i == n || p[i] != ':')
		return false;
	size_t hex = n - (i + 1);
	if (hex < DIGEST_HEX_MIN)
		return false;
	for (i++; i < n; i++)
		if (!is_xdigit(p[i]))
			return false;
	return true;
}

/*
 * reference := name ( ':' tag )? ( '@' digest )?,  name := ( domain '/' )? path.
 * No part but the digest holds '@', and neither path nor tag holds ':', so the digest starts at
 * the first '@' and a tag at the first ':' after the last '/'. Like the regular expression, the
 * first component is taken as the domain whenever that matches.
 */
static bool match_reference(const char *s, struct ref_spans *out)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(s);
	const char *at = memchr(s, '@', len);
	if (at) {
		out->digest = (struct span){at + 1, len - (size_t)(at + 1 - s)};
		if (!match_digest(out->digest.p, out->digest.n))
			return false;
		len = (size_t)(at - s);
	}
	const char *last_slash = memrchr(s, '/', len);
	const char *base = last_slash ? last_slash + 1 : s;
	const char *colon = memchr(base, ':', len - (size_t)(base - s));
	if (colon) {
		out->tag = (struct span){colon + 1, len - (size_t)(colon + 1 - s)};
		if (!match_tag(out->tag.p, out->tag.n))
			return false;
		len = (size_t)(colon - s);
	}
	const char *slash = memchr(s, '/', len);
	if (slash) {
		size_t dlen = (size_t)(slash - s);
		if (match_domain(s, dlen) && match_path(slash + 1, len - dlen - 1)) {
			out->domain = (struct span){s, dlen};
			out->path = (struct span){slash + 1, len - dlen - 1};
			return true;
		}
	}
	if (!match_path(s, len))
		return false;
	out->path = (struct span){s, len};
	return true;
}

/* identifier := [a-f0-9]{64}: an image ID, never a name. */
static bool is_identifier(const char *s)
{
	size_t n = strlen(s);
	if (n != SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_xdigit(s[i]))
			return false;
	return true;
}

/* Docker's digest validation (go-digest) of a digest that already matched the grammar. */
static int check_digest(struct span d, berr *e)
{
	const char *colon = memchr(d.p, ':', d.n);
	size_t alen = (size_t)(colon - d.p);
	const char *hex = colon + 1;
	size_t hlen = d.n - alen - 1;
	if (alen != strlen(SHA256_ALGO) || memcmp(d.p, SHA256_ALGO, alen) != 0) {
		/* go-digest names algorithms in lower case; anything else is malformed, not unknown. */
		if (has_upper(d.p, alen))
			return berr_invalid(e, "invalid checksum digest format");
		return berr_invalid(e, "unsupported digest algorithm");
	}
	if (hlen != SHA256_HEX_LEN)
		return berr_invalid(e, "invalid checksum digest length");
	for (size_t i = 0; i < hlen; i++)
		if (!is_lower_xdigit(hex[i]))
			return berr_invalid(e, "invalid checksum digest format");
	return 0;
}

static char *span_dup(struct span sp)
{
	return sp.p ? strndup(sp.p, sp.n) : NULL;
}

/*
 * Docker's splitDockerDomain: the domain ("docker.io" when the first component is not one) and
 * the rest, with "library/" prepended to a single-component name on docker.io.
 */
static int split_docker_domain(const char *s, char **domain, char **remainder)
{
	const char *slash = strchr(s, '/');
	const char *dom = IMG_REF_DEFAULT_DOMAIN;
	size_t dlen = strlen(IMG_REF_DEFAULT_DOMAIN);
	const char *rest = s;
	if (slash) {
		size_t flen = (size_t)(slash - s);
		bool is_domain = (flen == strlen("localhost") && memcmp(s, "localhost", flen) == 0) ||
				 memchr(s, '.', flen) || memchr(s, ':', flen) || has_upper(s, flen);
		bool legacy = flen == strlen(LEGACY_DOMAIN) && memcmp(s, LEGACY_DOMAIN, flen) == 0;
		if (is_domain && !legacy) {
			dom = s;
			dlen = flen;
		}
		if (is_domain)
			rest = slash + 1;
	}
	bool official = dlen == strlen(IMG_REF_DEFAULT_DOMAIN) && memcmp(dom, IMG_REF_DEFAULT_DOMAIN, dlen) == 0 &&
			!strchr(rest, '/');
	*domain = strndup(dom, dlen);
	if (asprintf(remainder, "%s%s", official ? OFFICIAL_PREFIX : "", rest) < 0)
		*remainder = NULL;
	if (!*domain || !*remainder) {
		free(*domain);
		free(*remainder);
		*domain = *remainder = NULL;
		return -1;
	}
	return 0;
}

static int parse(const char *s, bool default_tag, struct img_ref *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return berr_invalid(e, "invalid reference format");
	if (is_identifier(s))
		return berr_invalid(e, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

	_cleanup_free_ char *domain = NULL;
	_cleanup_free_ char *remainder = NULL;
	if (split_docker_domain(s, &domain, &remainder) < 0)
		return berr_set(e, ENOMEM, "parsing reference");
	size_t remote = strcspn(remainder, ":");
	if (has_upper(remainder, remote))
		return berr_invalid(e, "invalid reference format: repository name (%.*s) must be lowercase",
				    (int)remote, remainder);

	_cleanup_free_ char *full = NULL;
	if (asprintf(&full, "%s/%s", domain, remainder) < 0) {
		full = NULL;
		return berr_set(e, ENOMEM, "parsing reference");
	}
	struct ref_spans sp;
	if (!match_reference(full, &sp)) {
		bool lowered = false;
		for (char *c = full; *c; c++)
			if (is_upper(*c)) {
				*c = (char)(*c - 'A' + 'a');
				lowered = true;
			}
		if (lowered && match_reference(full, &sp))
			return berr_invalid(e, "repository name must be lowercase");
		return berr_invalid(e, "invalid reference format");
	}
	/* Docker would keep a first component that is no valid domain as part of a domain-less
	 * path ("a_b.com/x"); such a name can be neither pulled nor pushed, so refuse it. */
	if (!sp.domain.p)
		return berr_invalid(e, "invalid reference format");
	if (sp.path.n > IMG_REF_NAME_MAX)
		return berr_invalid(e, "repository name must not be more than %d characters", IMG_REF_NAME_MAX);
	if (sp.digest.p && check_digest(sp.digest, e) < 0)
		return -1;

	struct img_ref r = {
	    .domain = span_dup(sp.domain),
	    .path = span_dup(sp.path),
	    .tag = span_dup(sp.tag),
	    .digest = span_dup(sp.digest),
	};
	bool oom = !r.domain || !r.path || (sp.tag.p && !r.tag) || (sp.digest.p && !r.digest);
	if (!sp.tag.p && !sp.digest.p && default_tag) {
		r.tag = strdup(IMG_REF_DEFAULT_TAG);
		oom = oom || !r.tag;
	}
	if (oom) {
		img_ref_free(&r);
		return berr_set(e, ENOMEM, "parsing reference");
	}
	*out = r;
	return 0;
}

int img_ref_parse(const char *s, struct img_ref *out, berr *e)
{
	return parse(s, true, out, e);
}

int img_ref_parse_name(const char *s, struct img_ref *out, berr *e)
{
	return parse(s, false, out, e);
}

/* domain/path[:tag][@digest], with the domain left out when NULL or empty. */
static char *format(const char *domain, const char *path, const char *tag, const char *digest)
{
	char *s = NULL;
	bool dom = domain && *domain;
	if (asprintf(&s, "%s%s%s%s%s%s%s", dom ? domain : "", dom ? "/" : "", path ? path : "", tag ? ":" : "",
		     tag ? tag : "", digest ? "@" : "", digest ? digest : "") < 0)
		return NULL;
	return s;
}

/* Docker's familiarizeName: docker.io dropped, "library/" too when one component follows. */
static void familiar_name(const struct img_ref *r, const char **domain, const char **path)
{
	*domain = r->domain;
	*path = r->path;
	if (!r->domain || strcmp(r->domain, IMG_REF_DEFAULT_DOMAIN) != 0)
		return;
	*domain = NULL;
	size_t plen = strlen(OFFICIAL_PREFIX);
	if (r->path && strncmp(r->path, OFFICIAL_PREFIX, plen) == 0 && !strchr(r->path + plen, '/'))
		*path = r->path + plen;
}

char *img_ref_string(const struct img_ref *r)
{
	return format(r->domain, r->path, r->tag, r->digest);
}

char *img_ref_familiar(const struct img_ref *r)
{
	const char *domain, *path;
	familiar_name(r, &domain, &path);
	return format(domain, path, r->tag, r->digest);
}

char *img_ref_repository(const struct img_ref *r)
{
	return format(r->domain, r->path, NULL, NULL);
}

char *img_ref_familiar_repository(const struct img_ref *r)
{
	const char *domain, *path;
	familiar_name(r, &domain, &path);
	return format(domain, path, NULL, NULL);
}

bool img_ref_is_id_prefix(const char *s)
{
	if (!s)
		return false;
	size_t plen = strlen(SHA256_ALGO ":");
	if (strncmp(s, SHA256_ALGO ":", plen) == 0)
		s += plen;
	size_t n = strlen(s);
	if (n == 0 || n > SHA256_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_xdigit(s[i]))
			return false;
	return true;
}

void img_ref_free(struct img_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
