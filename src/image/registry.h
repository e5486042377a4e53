/*
 * Registries: `docker pull` and `docker push` over the distribution API v2 (libcurl), into and out
 * of an img_env. Loopback registries (127.0.0.0/8, ::1, localhost) and those named insecure: HTTPS
 * without verification when they speak it, else plain HTTP; others HTTPS with verification. Anonymous access, bearer
 * tokens from the registry's WWW-Authenticate challenge (realm, service, scope; one token reused across requests) and
 * basic auth with the credentials of X-Registry-Auth.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "image/image.h"
#include "lib/err.h"

/*
 * Where registries' certificates are looked for, in order: <dir>/<host[:port]>/ with, as Docker
 * reads them, every *.crt a CA trusted besides the system's, and a *.cert with its *.key a client
 * certificate. Read at each pull, push or login, so that new files need no restart. Set once
 * before the first request (berthd: certs.d beside its daemon.json, then /etc/docker/certs.d);
 * dirs NULL-terminated, copied. Until then: /etc/berth/certs.d, /etc/docker/certs.d.
 */
int img_registry_certs_dirs_set(const char *const *dirs, berr *e);

/*
 * Docker Hub's mirrors ("http(s)://host[:port]", as --registry-mirror): a pull of a docker.io image
 * asks them first, in order, and Docker Hub when none has the manifest. Set once before the first
 * pull; urls NULL-terminated (or NULL: none), copied. Another scheme: EINVAL.
 */
int img_registry_mirrors_set(const char *const *urls, berr *e);

/* Credentials as the docker CLI sends them (X-Registry-Auth). Every field may be NULL. */
struct img_registry_auth {
	char *username, *password, *identity_token, *registry_token;
};

/*
 * Decode an X-Registry-Auth header: base64url (padding optional; standard base64 accepted too) of
 * {"username","password","serveraddress","identitytoken","registrytoken"}. NULL, "" and "{}" give
 * no credentials. A value that is not that: EINVAL.
 */
int img_registry_auth_parse(const char *header, struct img_registry_auth *out, berr *e);
void img_registry_auth_free(struct img_registry_auth *a);

/*
 * The registry a login's server address names: "host[:port]" from "host:port", "http(s)://host/..."
 * ...; Docker Hub's addresses ("", "docker.io", "https://index.docker.io/v1/") give "docker.io".
 */
char *img_registry_server_domain(const char *server);

struct img_registry_opts;

/*
 * `docker login`: o->auth's credentials checked against server's registry (GET /v2/ with them; a
 * Bearer challenge answered by a token from its realm). Refused: EACCES with Docker's words
 * ("login attempt to http://host/v2/ failed with status: 401 Unauthorized"); unreachable: EIO.
 */
int img_registry_login(const char *server, const struct img_registry_opts *o, berr *e);

/*
 * Progress as Docker streams it: id is a layer's short ID (12 hex digits) or NULL for a line of its
 * own; status is Docker's word ("Pulling fs layer", "Downloading", "Download complete", "Extracting",
 * "Pull complete", "Already exists", "Preparing", "Pushing", "Pushed", "Layer already exists",
 * "Mounted from x" ...). current/total are bytes for "Downloading", "Extracting" and "Pushing"
 * (total -1 when unknown), else 0. Never called from two threads at once.
 */
typedef void (*img_progress_fn)(void *arg, const char *id, const char *status, int64_t current, int64_t total);

struct img_registry_opts {
	char *const *insecure_registries;     /* "host[:port]" reached over plain HTTP; NULL-terminated or NULL */
	const struct img_registry_auth *auth; /* may be NULL */
	img_progress_fn progress;             /* may be NULL */
	void *progress_arg;
};

struct img_pull_result {
	char *id;        /* the image ID (its config's digest) */
	char *digest;    /* the manifest (or index) digest the reference resolved to: "Digest: ..." */
	char *reference; /* familiar: "busybox:latest", "127.0.0.1:5000/x@sha256:..." */
	bool up_to_date; /* the reference named this image already ("Image is up to date for ...") */
};

/*
 * `docker pull reference`: the manifest (by tag or digest; from an index, the manifest of platform,
 * "os[/arch[/variant]]", NULL: the host's), the config, and the layers (up to three at a time),
 * each streamed into the content store and checked against its digest; layers not present yet
 * are unpacked, and the image is recorded in one transaction with the reference's tag and with
 * "repository@digest" (so that name@digest resolves). On any failure nothing stays (as load).
 * The first progress call comes once the manifest is known: errors before it (a bad reference,
 * an unknown image or tag, a registry that cannot be reached) come before any progress.
 * Unknown image or tag: ENOENT with Docker's words ("manifest for x:y not found: manifest unknown:
 * manifest unknown"); a bad reference or platform: EINVAL. Free out with img_pull_result_free.
 */
int img_pull(struct img_env *env, const char *reference, const char *platform, const struct img_registry_opts *o,
	     struct img_pull_result *out, berr *e);
void img_pull_result_free(struct img_pull_result *r);

struct img_push_result {
	char *digest; /* the manifest's digest */
	int64_t size; /* the manifest's length */
};

/*
 * `docker push name:tag`: the image's layer blobs (HEAD first: blobs the registry has are skipped;
 * a blob of another repository of the same registry that the image is tagged in is mounted;
 * others uploaded whole), its config, then its manifest (the stored one, or an OCI manifest made
 * of its config and layers) under the tag. reference must name a tag ("repo:tag"). A layer whose
 * blob is not in the store is made again from its directory as a plain tar. After the push the
 * image is also known as "repository@digest". Not tagged so: ENOENT "An image does not exist
 * locally with the tag: x".
 */
int img_push(struct img_env *env, const char *reference, const struct img_registry_opts *o, struct img_push_result *out,
	     berr *e);
void img_push_result_free(struct img_push_result *r);
