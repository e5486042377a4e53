/*
 * The distribution API v2 over libcurl: manifests and blobs of one repository, the token dance
 * (a 401 with a Bearer challenge fetches a token from its realm, a Basic one takes the user's
 * credentials; the request is then made again once), and the registry's errors in Docker's words.
 * Every request has an easy handle of its own; connections, DNS and TLS sessions are shared
 * between the threads of one client.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "image/libcurl_lazy.h"
#include "image/manifest.h"
#include "image/registry_internal.h"
#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define DOCKER_HUB_ENDPOINT "registry-1.docker.io"
#define CONNECT_TIMEOUT_S   30
#define STALL_TIMEOUT_S     60 /* a transfer that moves no byte for this long is given up */
#define TOKEN_MAX           (1 << 20)

static const char ACCEPT_MANIFESTS[] =
    "Accept: " IMG_MT_OCI_INDEX ", " IMG_MT_OCI_MANIFEST ", " IMG_MT_DOCKER_LIST ", " IMG_MT_DOCKER_MANIFEST;

struct reg_client {
	char *domain, *repo, *actions;
	char *base;       /* "https://host:port" */
	bool skip_verify; /* an insecure registry spoken to over HTTPS: its certificate is not checked */
	char *basic;      /* "Basic <base64 user:password>" or NULL */
	char *registry_token;
	char *certs_dir; /* the certs.d/<domain> directory that has files for us, or NULL */
	char *ca_blob;   /* the system's CAs and certs.d's *.crt, PEM; NULL: libcurl's own */
	size_t ca_blob_len;
	char *client_cert, *client_key; /* certs.d's *.cert and *.key */
	pthread_mutex_t mu;             /* guards authz */
	char *authz;                    /* the Authorization header value that worked last, or NULL */
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
};

static pthread_mutex_t certs_mu = PTHREAD_MUTEX_INITIALIZER; /* guards certs_dirs and mirrors */
static char **certs_dirs;                                    /* NULL: the defaults */

int img_registry_certs_dirs_set(const char *const *dirs, berr *e)
{
	size_t n = 0;
	while (dirs && dirs[n])
		n++;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return berr_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(dirs[i]))) {
			b_strv_free(v);
			return berr_set(e, ENOMEM, "out of memory");
		}
	pthread_mutex_lock(&certs_mu);
	b_strv_free(certs_dirs);
	certs_dirs = v;
	pthread_mutex_unlock(&certs_mu);
	return 0;
}

static char **mirrors; /* guarded by certs_mu too */

int img_registry_mirrors_set(const char *const *urls, berr *e)
{
	size_t n = 0;
	while (urls && urls[n]) {
		if (strncmp(urls[n], "http://", 7) != 0 && strncmp(urls[n], "https://", 8) != 0)
			return berr_invalid(e, "invalid mirror: unsupported scheme \"%s\" (http or https)", urls[n]);
		n++;
	}
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return berr_set(e, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(urls[i]))) {
			b_strv_free(v);
			return berr_set(e, ENOMEM, "out of memory");
		}
	pthread_mutex_lock(&certs_mu);
	b_strv_free(mirrors);
	mirrors = v;
	pthread_mutex_unlock(&certs_mu);
	return 0;
}

char **reg_mirrors(void)
{
	pthread_mutex_lock(&certs_mu);
	size_t n = 0;
	while (mirrors && mirrors[n])
		n++;
	char **v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(mirrors[i]))) {
			b_strv_free(v);
			v = NULL;
		}
	pthread_mutex_unlock(&certs_mu);
	return v;
}

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "out of memory");
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct reg_client *c = arg;
	pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct reg_client *c = arg;
	pthread_mutex_unlock(&c->share_mu[data]);
}

/* The host of a domain without its port: "127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" -> "::1". */
static char *domain_host(const char *domain)
{
	if (domain[0] == '[') {
		const char *end = strchr(domain, ']');
		return end ? strndup(domain + 1, (size_t)(end - domain - 1)) : strdup(domain);
	}
	const char *colon = strchr(domain, ':');
	return colon ? strndup(domain, (size_t)(colon - domain)) : strdup(domain);
}

/* Insecure: loopback (as Docker treats it) and the registries named so. */
static bool insecure_registry(const char *domain, char *const *insecure, const char *host)
{
	if (strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0)
		return true;
	for (char *const *p = insecure; p && *p; p++) {
		const char *v = *p;
		if (strncmp(v, "http://", 7) == 0)
			v += 7;
		else if (strncmp(v, "https://", 8) == 0)
			v += 8;
		size_t n = strlen(v);
		while (n && v[n - 1] == '/')
			n--;
		if ((strlen(domain) == n && strncmp(domain, v, n) == 0) ||
		    (strlen(host) == n && strncmp(host, v, n) == 0))
			return true;
	}
	return false;
}

static int choose_scheme(struct reg_client *c, berr *e);

/* Append a file's bytes (and a newline) to the CA blob; files that cannot be read are skipped. */
static int blob_add(struct reg_client *c, const char *path, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	berr ignored = {0};
	if (b_read_file(path, &text, &len, &ignored) < 0) {
		berr_clear(&ignored);
		return 0;
	}
	char *b = realloc(c->ca_blob, c->ca_blob_len + len + 2);
	if (!b)
		return oom(e);
	memcpy(b + c->ca_blob_len, text, len);
	b[c->ca_blob_len + len] = '\n';
	c->ca_blob = b;
	c->ca_blob_len += len + 1;
	c->ca_blob[c->ca_blob_len] = '\0';
	return 0;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n > t && strcmp(s + n - t, tail) == 0;
}

/* certs.d/<domain>/ of the first directory that has one: its CAs and client certificate. */
static int load_certs(struct reg_client *c, berr *e)
{
	static const char *const defaults[] = {"/etc/berth/certs.d", "/etc/docker/certs.d", NULL};
	pthread_mutex_lock(&certs_mu);
	_cleanup_strv_ char **dirs = NULL;
	size_t n = 0;
	const char *const *src = certs_dirs ? (const char *const *)certs_dirs : defaults;
	while (src[n])
		n++;
	dirs = calloc(n + 1, sizeof *dirs);
	for (size_t i = 0; dirs && i < n; i++)
		dirs[i] = strdup(src[i]);
	pthread_mutex_unlock(&certs_mu);
	if (!dirs)
		return oom(e);
	for (size_t i = 0; i < n; i++) {
		if (!dirs[i])
			return oom(e);
		_cleanup_free_ char *dir = NULL;
		if (asprintf(&dir, "%s/%s", dirs[i], c->domain) < 0) {
			dir = NULL;
			return oom(e);
		}
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *de;
		int r = 0;
		while (r == 0 && (de = readdir(d))) {
			_cleanup_free_ char *path = NULL;
			if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
				path = NULL;
				r = oom(e);
				break;
			}
			if (ends_with(de->d_name, ".crt")) {
				if (!c->ca_blob) {
					/* Docker adds these to the system's roots: start from libcurl's bundle. */
					CURL *h = curl_easy_init();
					char *bundle = NULL;
					if (h && curl_easy_getinfo(h, CURLINFO_CAINFO, &bundle) == CURLE_OK && bundle)
						r = blob_add(c, bundle, e);
					if (h)
						curl_easy_cleanup(h);
				}
				if (r == 0)
					r = blob_add(c, path, e);
			} else if (ends_with(de->d_name, ".cert") && !c->client_cert) {
				c->client_cert = strdup(path);
				size_t len = strlen(path);
				if (c->client_cert && (c->client_key = malloc(len)))
					snprintf(c->client_key, len, "%.*s.key", (int)(len - 5), path);
				if (!c->client_cert || !c->client_key)
					r = oom(e);
			}
		}
		closedir(d);
		if (r < 0)
			return -1;
		if (c->client_cert && access(c->client_key, R_OK) != 0)
			return berr_plain(e, EINVAL, "%s: client certificate %s without its key %s", c->domain,
					  c->client_cert, c->client_key);
		if (c->ca_blob || c->client_cert) {
			c->certs_dir = steal_ptr(dir);
			break;
		}
	}
	return 0;
}

int reg_client_new_at(const char *endpoint, const char *domain, const char *repository, const char *actions,
		      const struct img_registry_opts *o, struct reg_client **out, berr *e)
{
	/* A mirror: its own host is the one certs.d and messages name. */
	_cleanup_free_ char *mirror_host = NULL;
	bool explicit_scheme = false;
	if (endpoint) {
		bool tls = strncmp(endpoint, "https://", 8) == 0;
		if (!tls && strncmp(endpoint, "http://", 7) != 0)
			return berr_invalid(e, "mirror %s: the scheme must be http or https", endpoint);
		const char *h = endpoint + (tls ? 8 : 7);
		if (!(mirror_host = strndup(h, strcspn(h, "/"))))
			return oom(e);
		domain = mirror_host;
		explicit_scheme = true;
	}
	/* Held for the client's life: the daemon unloads libcurl once no client is left. */
	if (lazy_lib_hold(&libcurl_lib, e) < 0)
		return -1;
	struct reg_client *c = calloc(1, sizeof *c);
	if (!c) {
		lazy_lib_release(&libcurl_lib);
		return oom(e);
	}
	pthread_mutex_init(&c->mu, NULL);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_mu[i], NULL);
	*out = c;
	_cleanup_free_ char *host = domain_host(domain);
	if (!host || !(c->domain = strdup(domain)) || !(c->repo = strdup(repository)) ||
	    !(c->actions = strdup(actions)))
		return oom(e);
	c->skip_verify = insecure_registry(domain, o ? o->insecure_registries : NULL, host);
	if (explicit_scheme) {
		size_t n = strlen(endpoint);
		while (n && endpoint[n - 1] == '/')
			n--;
		c->base = strndup(endpoint, n);
	} else if (asprintf(&c->base, "https://%s", strcmp(domain, "docker.io") == 0 ? DOCKER_HUB_ENDPOINT : domain) <
		   0) {
		c->base = NULL;
	}
	if (!c->base)
		return oom(e);
	const struct img_registry_auth *a = o ? o->auth : NULL;
	if (a && a->username && *a->username) {
		_cleanup_free_ char *pair = NULL, *enc = NULL;
		if (asprintf(&pair, "%s:%s", a->username, a->password ? a->password : "") < 0)
			return oom(e);
		if (!(enc = b_base64_encode(pair, strlen(pair), false)) || asprintf(&c->basic, "Basic %s", enc) < 0) {
			c->basic = NULL;
			return oom(e);
		}
	}
	if (a && a->registry_token && *a->registry_token && !(c->registry_token = strdup(a->registry_token)))
		return oom(e);
	if (strncmp(c->base, "https:", 6) == 0 && load_certs(c, e) < 0)
		return -1;
	if (!(c->share = curl_share_init()))
		return oom(e);
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return c->skip_verify && !explicit_scheme ? choose_scheme(c, e) : 0;
}

int reg_client_new(const char *domain, const char *repository, const char *actions, const struct img_registry_opts *o,
		   struct reg_client **out, berr *e)
{
	return reg_client_new_at(NULL, domain, repository, actions, o, out, e);
}

void reg_client_free(struct reg_client *c)
{
	if (!c)
		return;
	if (c->share)
		curl_share_cleanup(c->share);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_mu[i]);
	pthread_mutex_destroy(&c->mu);
	free(c->domain);
	free(c->repo);
	free(c->actions);
	free(c->base);
	free(c->basic);
	free(c->registry_token);
	free(c->certs_dir);
	free(c->ca_blob);
	free(c->client_cert);
	free(c->client_key);
	free(c->authz);
	free(c);
	lazy_lib_release(&libcurl_lib);
}

/* ---- one request ---- */

struct req {
	const char *method; /* GET HEAD POST PUT */
	const char *url;
	const char *accept;       /* a whole "Accept: ..." header, or NULL */
	const char *content_type; /* of the body */
	const char *authz;        /* an Authorization value for this request only (token fetch), or NULL */
	bool no_auth;             /* never the client's token (a token request, a redirect elsewhere) */
	const char *body;         /* a body in memory ... */
	size_t body_len;
	int body_fd;                             /* ... or from a file (-1: none) */
	int64_t body_start, body_size, body_off; /* the file's bytes [start, start + size) */
	int64_t sent_total;                      /* for progress: the whole blob (0: body_size) */
	const char *extra_header;                /* one more header line, or NULL */
	reg_sink_fn sink;                        /* where a 2xx body goes (NULL: kept in resp) */
	void *sink_arg;
	int64_t range_from; /* > 0: "Range: bytes=N-", and only a 206 goes to the sink */
	bool range_ignored; /* a 200 came instead */
	berr sink_err;
	bool sink_failed;
	reg_sent_fn sent;
	void *sent_arg;
	bool follow;
	CURL *h;
	/* The answer. */
	long status;
	char *resp;
	size_t resp_len, resp_cap;
	bool resp_too_big;
	char *ctype, *location, *www_auth;
};

static void req_reset_answer(struct req *q)
{
	free(q->resp);
	free(q->ctype);
	free(q->location);
	free(q->www_auth);
	q->resp = q->ctype = q->location = q->www_auth = NULL;
	q->resp_len = q->resp_cap = 0;
	q->resp_too_big = false;
}

static void req_free(struct req *q)
{
	req_reset_answer(q);
	berr_clear(&q->sink_err);
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		req_reset_answer(q); /* a new response (after a redirect or a 100) */
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t nlen = (size_t)(colon - buf);
	const char *v = colon + 1, *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	char **slot = NULL;
	if (nlen == 12 && strncasecmp(buf, "Content-Type", 12) == 0)
		slot = &q->ctype;
	else if (nlen == 8 && strncasecmp(buf, "Location", 8) == 0)
		slot = &q->location;
	else if (nlen == 16 && strncasecmp(buf, "WWW-Authenticate", 16) == 0)
		slot = &q->www_auth;
	if (slot) {
		free(*slot);
		if (!(*slot = strndup(v, (size_t)(end - v))))
			return 0;
	}
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	long code = 0;
	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &code);
	if (q->sink && code >= 200 && code < 300) {
		if (q->range_from > 0 && code != 206) {
			q->range_ignored = true;
			return 0;
		}
		if (q->sink(q->sink_arg, buf, len, &q->sink_err) < 0) {
			q->sink_failed = true;
			return 0;
		}
		return len;
	}
	if (q->resp_len + len > REG_MANIFEST_MAX) {
		q->resp_too_big = true;
		return 0;
	}
	if (q->resp_len + len + 1 > q->resp_cap) {
		size_t cap = q->resp_cap ? q->resp_cap : 4096;
		while (cap < q->resp_len + len + 1)
			cap *= 2;
		char *r = realloc(q->resp, cap);
		if (!r)
			return 0;
		q->resp = r;
		q->resp_cap = cap;
	}
	memcpy(q->resp + q->resp_len, buf, len);
	q->resp_len += len;
	q->resp[q->resp_len] = '\0';
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n;
	if (q->body_fd < 0) {
		size_t left = q->body_len - (size_t)q->body_off;
		size_t k = left < want ? left : want;
		if (!k)
			return 0;
		memcpy(buf, q->body + q->body_off, k);
		q->body_off += (int64_t)k;
		return k;
	}
	int64_t left = q->body_size - q->body_off;
	if ((int64_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	ssize_t k;
	do
		k = pread(q->body_fd, buf, want, q->body_start + q->body_off);
	while (k < 0 && errno == EINTR);
	if (k <= 0)
		return CURL_READFUNC_ABORT;
	q->body_off += k;
	if (q->sent &&
	    q->sent(q->sent_arg, q->body_start + q->body_off, q->sent_total ? q->sent_total : q->body_size) < 0)
		return CURL_READFUNC_ABORT;
	return (size_t)k;
}

/* One transfer; q->status and the answer's fields are set. Transport failures: EIO. */
static int perform_once(struct reg_client *c, struct req *q, berr *e)
{
	req_reset_answer(q);
	q->body_off = 0;
	CURL *h = curl_easy_init();
	if (!h)
		return oom(e);
	q->h = h;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL, *t;
	_cleanup_free_ char *authz_line = NULL, *ctype_line = NULL;
	const char *authz = q->authz;
	_cleanup_free_ char *shared_authz = NULL;
	if (!authz && !q->no_auth) {
		pthread_mutex_lock(&c->mu);
		if (c->authz)
			shared_authz = strdup(c->authz);
		pthread_mutex_unlock(&c->mu);
		authz = shared_authz;
	}
	bool ok = true;
	if (authz) {
		ok = asprintf(&authz_line, "Authorization: %s", authz) >= 0;
		if (!ok)
			authz_line = NULL;
	}
	if (ok && q->content_type) {
		ok = asprintf(&ctype_line, "Content-Type: %s", q->content_type) >= 0;
		if (!ok)
			ctype_line = NULL;
	}
	const char *lines[] = {q->accept, authz_line, ctype_line, q->extra_header, "Expect:"};
	for (size_t i = 0; ok && i < ARRAY_SIZE(lines); i++) {
		if (!lines[i])
			continue;
		if (!(t = curl_slist_append(hdrs, lines[i])))
			ok = false;
		else
			hdrs = t;
	}
	if (!ok) {
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(h);
		return oom(e);
	}
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)STALL_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/1 (linux)");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
	/* Redirects (blobs kept elsewhere): libcurl does not carry our Authorization to another host. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	char range[32];
	if (q->range_from > 0) {
		snprintf(range, sizeof range, "%lld-", (long long)q->range_from);
		curl_easy_setopt(h, CURLOPT_RANGE, range);
	}
	if (c->ca_blob) {
		struct curl_blob blob = {.data = c->ca_blob, .len = c->ca_blob_len, .flags = CURL_BLOB_NOCOPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->skip_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
	}
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 || strcmp(q->method, "PATCH") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		if (strcmp(q->method, "PATCH") == 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, q);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)(q->body_fd >= 0 ? q->body_size : (int64_t)q->body_len));
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
	CURLcode res = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &q->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	q->h = NULL;
	if (res == CURLE_OK)
		return 0;
	if (q->sink_failed) {
		e->errnum = q->sink_err.errnum;
		e->msg = steal_ptr(q->sink_err.msg);
		return -1;
	}
	if (q->range_ignored)
		return berr_plain(e, ERANGE, "%s %s: the registry sent the whole blob, not from byte %lld", q->method,
				  q->url, (long long)q->range_from);
	if (q->resp_too_big)
		return berr_plain(e, EFBIG, "%s %s: the answer is larger than %d bytes", q->method, q->url,
				  REG_MANIFEST_MAX);
	if (res == CURLE_PEER_FAILED_VERIFICATION)
		return berr_plain(e, EIO,
				  "%s %s: the registry's certificate is not trusted (%s): add its CA as "
				  "certs.d/%s/ca.crt in berth's configuration directory or /etc/docker, or name the "
				  "registry with --insecure-registry",
				  q->method, q->url, errbuf[0] ? errbuf : curl_easy_strerror(res), c->domain);
	return berr_plain(e, EIO, "%s %s: %s", q->method, q->url, errbuf[0] ? errbuf : curl_easy_strerror(res));
}

/*
 * An insecure registry as Docker speaks to it: HTTPS without checking its certificate when it
 * answers HTTPS at all (any HTTP status will do), else plain HTTP.
 */
static int choose_scheme(struct reg_client *c, berr *e)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/v2/", c->base) < 0) {
		url = NULL;
		return oom(e);
	}
	struct req q = {.method = "GET", .url = url, .no_auth = true, .body_fd = -1};
	berr ignored = {0};
	int r = perform_once(c, &q, &ignored);
	req_free(&q);
	berr_clear(&ignored);
	if (r == 0)
		return 0;
	char *http = NULL;
	if (asprintf(&http, "http://%s", c->base + strlen("https://")) < 0)
		return oom(e);
	free(c->base);
	c->base = http;
	return 0;
}

/* The value of key in a challenge's parameters (realm="...",service="..."); NULL when absent. */
static char *challenge_param(const char *params, const char *key)
{
	const char *p = params;
	size_t klen = strlen(key);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *k = p;
		while (*p && *p != '=' && *p != ',')
			p++;
		if (*p != '=')
			continue;
		bool match = (size_t)(p - k) == klen && strncasecmp(k, key, klen) == 0;
		p++;
		size_t cap = strlen(p) + 1, n = 0;
		char *v = malloc(cap);
		if (!v)
			return NULL;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				v[n++] = *p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',')
				v[n++] = *p++;
		}
		v[n] = '\0';
		if (match)
			return v;
		free(v);
	}
	return NULL;
}

static void set_authz(struct reg_client *c, char *value)
{
	pthread_mutex_lock(&c->mu);
	free(c->authz);
	c->authz = value;
	pthread_mutex_unlock(&c->mu);
}

/* A token from the realm of a Bearer challenge, for our repository and actions. */
static int fetch_token(struct reg_client *c, const char *params, berr *e)
{
	_cleanup_free_ char *realm = challenge_param(params, "realm"), *service = challenge_param(params, "service");
	if (!realm || !*realm)
		return berr_plain(e, EACCES, "%s: a Bearer challenge without a realm", c->domain);
	_cleanup_free_ char *scope = NULL, *url = NULL;
	/* A login asks for no repository: the token only proves the credentials. */
	if (asprintf(&scope, "repository:%s:%s", c->repo, c->actions) < 0)
		return oom(e);
	char *esc_scope = curl_easy_escape(NULL, scope, 0),
	     *esc_service = curl_easy_escape(NULL, service ? service : "", 0);
	bool with_scope = *c->repo != '\0';
	int r = esc_scope && esc_service
		    ? asprintf(&url, "%s%s%s%s%s%s%s", realm, strchr(realm, '?') ? "&" : "?", service ? "service=" : "",
			       service ? esc_service : "", service && with_scope ? "&" : "", with_scope ? "scope=" : "",
			       with_scope ? esc_scope : "")
		    : -1;
	curl_free(esc_scope);
	curl_free(esc_service);
	if (r < 0) {
		url = NULL;
		return oom(e);
	}
	struct req q = {.method = "GET", .url = url, .authz = c->basic, .no_auth = true, .body_fd = -1, .follow = true};
	if (perform_once(c, &q, e) < 0) {
		req_free(&q);
		return berr_wrap(e, "getting a token");
	}
	if (q.status != 200) {
		berr_plain(e, q.status == 401 || q.status == 403 ? EACCES : EIO, "getting a token from %s: HTTP %ld",
			   realm, q.status);
		req_free(&q);
		return -1;
	}
	json_error_t jerr;
	json_t *doc = q.resp ? json_loads(q.resp, 0, &jerr) : NULL;
	req_free(&q);
	const char *tok = json_string_value(json_object_get(doc, "token"));
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(doc, "access_token"));
	if (!tok || !*tok) {
		json_decref(doc);
		return berr_plain(e, EIO, "getting a token from %s: no token in the answer", realm);
	}
	char *authz = NULL;
	if (asprintf(&authz, "Bearer %s", tok) < 0) {
		json_decref(doc);
		return oom(e);
	}
	json_decref(doc);
	set_authz(c, authz);
	return 0;
}

/* After a 401: 1 when credentials are now in place (ask again), 0 when there is nothing to try. */
static int authenticate(struct reg_client *c, const char *challenge, berr *e)
{
	if (!challenge)
		return 0;
	if (strncasecmp(challenge, "Bearer", 6) == 0) {
		if (c->registry_token) {
			char *authz = NULL;
			if (asprintf(&authz, "Bearer %s", c->registry_token) < 0)
				return oom(e);
			set_authz(c, authz);
			return 1;
		}
		return fetch_token(c, challenge + 6, e) < 0 ? -1 : 1;
	}
	if (strncasecmp(challenge, "Basic", 5) == 0 && c->basic) {
		char *authz = strdup(c->basic);
		if (!authz)
			return oom(e);
		set_authz(c, authz);
		return 1;
	}
	return 0;
}

static int perform(struct reg_client *c, struct req *q, berr *e)
{
	if (perform_once(c, q, e) < 0)
		return -1;
	if (q->status != 401 || q->no_auth)
		return 0;
	int r = authenticate(c, q->www_auth, e);
	if (r <= 0)
		return r;
	return perform_once(c, q, e);
}

/* The registry's error in Docker's words: "<code, lower case>: <message>", or the HTTP status. */
static int registry_error(struct reg_client *c, const struct req *q, const char *what, berr *e)
{
	int errnum = q->status == 404 ? ENOENT : q->status == 401 || q->status == 403 ? EACCES : EIO;
	json_error_t jerr;
	json_t *doc = q->resp ? json_loads(q->resp, 0, &jerr) : NULL;
	json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *message = json_string_value(json_object_get(first, "message"));
	int r;
	if (code) {
		_cleanup_free_ char *low = strdup(code);
		if (!low) {
			json_decref(doc);
			return oom(e);
		}
		for (char *p = low; *p; p++)
			*p = *p == '_' ? ' ' : (char)tolower((unsigned char)*p);
		r = berr_plain(e, errnum, "%s: %s", low, message ? message : "");
	} else if (q->status == 401) {
		r = berr_plain(e, errnum, "unauthorized: authentication required");
	} else {
		r = berr_plain(e, errnum, "%s %s/%s: %s: HTTP %ld", q->method, c->domain, c->repo, what, q->status);
	}
	json_decref(doc);
	return r;
}

static char *repo_url(struct reg_client *c, const char *kind, const char *ref)
{
	char *url = NULL;
	if (asprintf(&url, "%s/v2/%s/%s/%s", c->base, c->repo, kind, ref ? ref : "") < 0)
		return NULL;
	return url;
}

int reg_manifest_get(struct reg_client *c, const char *ref, char **body, size_t *len, char **content_type, berr *e)
{
	_cleanup_free_ char *url = repo_url(c, "manifests", ref);
	if (!url)
		return oom(e);
	struct req q = {.method = "GET", .url = url, .accept = ACCEPT_MANIFESTS, .body_fd = -1, .follow = true};
	int r = perform(c, &q, e);
	if (r == 0 && q.status != 200)
		r = registry_error(c, &q, "manifest", e);
	if (r == 0) {
		*body = q.resp ? steal_ptr(q.resp) : strdup("");
		*len = q.resp_len;
		*content_type = steal_ptr(q.ctype);
		if (!*body)
			r = oom(e);
	}
	req_free(&q);
	return r;
}

int reg_blob_get(struct reg_client *c, const char *digest, int64_t from, reg_sink_fn sink, void *arg, berr *e)
{
	_cleanup_free_ char *url = repo_url(c, "blobs", digest);
	if (!url)
		return oom(e);
	struct req q = {.method = "GET",
			.url = url,
			.body_fd = -1,
			.sink = sink,
			.sink_arg = arg,
			.range_from = from,
			.follow = true};
	int r = perform(c, &q, e);
	if (r == 0 && q.status != 200 && q.status != 206)
		r = registry_error(c, &q, digest, e);
	req_free(&q);
	return r;
}

int reg_blob_exists(struct reg_client *c, const char *digest, berr *e)
{
	_cleanup_free_ char *url = repo_url(c, "blobs", digest);
	if (!url)
		return oom(e);
	struct req q = {.method = "HEAD", .url = url, .body_fd = -1, .follow = true};
	int r = perform(c, &q, e);
	if (r == 0)
		r = q.status == 200 ? 1 : q.status == 404 ? 0 : registry_error(c, &q, digest, e);
	req_free(&q);
	return r;
}

/* An upload session's Location made absolute, with "digest=<d>" added. */
static char *upload_url(struct reg_client *c, const char *location, const char *digest)
{
	char *esc = curl_easy_escape(NULL, digest, 0), *url = NULL;
	if (!esc)
		return NULL;
	bool absolute = strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0;
	if (asprintf(&url, "%s%s%sdigest=%s", absolute ? "" : c->base, location, strchr(location, '?') ? "&" : "?",
		     esc) < 0)
		url = NULL;
	curl_free(esc);
	return url;
}

int reg_blob_put(struct reg_client *c, const char *digest, int fd, int64_t size, const char *from, bool *mounted,
		 reg_sent_fn sent, void *arg, berr *e)
{
	if (mounted)
		*mounted = false;
	_cleanup_free_ char *start = NULL;
	int r = 0;
	if (from) {
		char *esc_d = curl_easy_escape(NULL, digest, 0), *esc_f = curl_easy_escape(NULL, from, 0);
		r = esc_d && esc_f
			? asprintf(&start, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", c->base, c->repo, esc_d, esc_f)
			: -1;
		curl_free(esc_d);
		curl_free(esc_f);
	} else {
		r = asprintf(&start, "%s/v2/%s/blobs/uploads/", c->base, c->repo);
	}
	if (r < 0) {
		start = NULL;
		return oom(e);
	}
	struct req q = {.method = "POST", .url = start, .body_fd = -1};
	if (perform(c, &q, e) < 0) {
		req_free(&q);
		return -1;
	}
	if (from && q.status == 201) {
		if (mounted)
			*mounted = true;
		req_free(&q);
		return 0;
	}
	if (q.status != 202 || !q.location) {
		r = q.status == 202 ? berr_plain(e, EIO, "starting an upload of %s: no Location in the answer", digest)
				    : registry_error(c, &q, digest, e);
		req_free(&q);
		return r;
	}
	_cleanup_free_ char *location = steal_ptr(q.location);
	req_free(&q);
	/* Large blobs go in chunks, each PATCH sending the next piece to the Location it got. */
	for (int64_t off = 0; size > REG_CHUNK_SIZE && off < size;) {
		int64_t n = size - off < REG_CHUNK_SIZE ? size - off : REG_CHUNK_SIZE;
		_cleanup_free_ char *url = NULL, *range = NULL;
		bool absolute = strncmp(location, "http://", 7) == 0 || strncmp(location, "https://", 8) == 0;
		if (asprintf(&url, "%s%s", absolute ? "" : c->base, location) < 0 ||
		    asprintf(&range, "Content-Range: %lld-%lld", (long long)off, (long long)(off + n - 1)) < 0) {
			url = range = NULL;
			return oom(e);
		}
		struct req pq = {.method = "PATCH",
				 .url = url,
				 .content_type = "application/octet-stream",
				 .extra_header = range,
				 .body_fd = fd,
				 .body_start = off,
				 .body_size = n,
				 .sent_total = size,
				 .sent = sent,
				 .sent_arg = arg};
		r = perform(c, &pq, e);
		if (r == 0 && (pq.status != 202 || !pq.location))
			r = pq.status == 202 ? berr_plain(e, EIO, "uploading %s: no Location after a chunk", digest)
					     : registry_error(c, &pq, digest, e);
		if (r == 0) {
			free(location);
			location = steal_ptr(pq.location);
		}
		req_free(&pq);
		if (r < 0)
			return -1;
		off += n;
	}
	bool chunked = size > REG_CHUNK_SIZE;
	_cleanup_free_ char *put = upload_url(c, location, digest);
	if (!put)
		return oom(e);
	struct req p = {.method = "PUT",
			.url = put,
			.content_type = "application/octet-stream",
			.body_fd = chunked ? -1 : fd,
			.body_size = chunked ? 0 : size,
			.sent = chunked ? NULL : sent,
			.sent_arg = arg};
	r = perform(c, &p, e);
	if (r == 0 && p.status != 201)
		r = registry_error(c, &p, digest, e);
	req_free(&p);
	return r;
}

int reg_manifest_put(struct reg_client *c, const char *ref, const char *media_type, const char *body, size_t len,
		     berr *e)
{
	_cleanup_free_ char *url = repo_url(c, "manifests", ref);
	if (!url)
		return oom(e);
	struct req q = {
	    .method = "PUT", .url = url, .content_type = media_type, .body = body, .body_len = len, .body_fd = -1};
	int r = perform(c, &q, e);
	if (r == 0 && q.status != 201)
		r = registry_error(c, &q, "manifest", e);
	req_free(&q);
	return r;
}

int reg_ping(struct reg_client *c, berr *e)
{
	_cleanup_free_ char *url = NULL;
	if (asprintf(&url, "%s/v2/", c->base) < 0) {
		url = NULL;
		return oom(e);
	}
	struct req q = {.method = "GET", .url = url, .body_fd = -1, .follow = true};
	int r = perform(c, &q, e);
	if (r < 0 && e->errnum == EACCES)
		berr_wrap(e, "login attempt to %s failed", url);
	else if (r == 0 && q.status != 200)
		r = berr_plain(e, q.status == 401 || q.status == 403 ? EACCES : EIO,
			       "login attempt to %s failed with status: %ld %s", url, q.status,
			       q.status == 401   ? "Unauthorized"
			       : q.status == 403 ? "Forbidden"
						 : "");
	req_free(&q);
	return r;
}
