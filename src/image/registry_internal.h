/* The distribution API client that pull.c and push.c share: one repository of one registry. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/registry.h"
#include "lib/err.h"

#define REG_MANIFEST_MAX (4 << 20)  /* Docker's limit for a manifest or index */
#define REG_CHUNK_SIZE   (16 << 20) /* blobs larger than this are uploaded in PATCHes of this size */

struct reg_client;

/*
 * A client for repository (a path: "library/busybox") at domain ("docker.io" means Docker Hub's
 * endpoint). actions is what the token asks for: "pull" or "pull,push". Safe to use from several
 * threads at once (connections and the token are shared).
 */
int reg_client_new(const char *domain, const char *repository, const char *actions, const struct img_registry_opts *o,
		   struct reg_client **out, berr *e);
/* The same at another endpoint: a mirror's URL ("http(s)://host[:port][/]") for domain's images. */
int reg_client_new_at(const char *endpoint, const char *domain, const char *repository, const char *actions,
		      const struct img_registry_opts *o, struct reg_client **out, berr *e);
void reg_client_free(struct reg_client *c);

/* A copy of the mirrors of img_registry_mirrors_set (NULL-terminated, maybe empty); NULL: no memory. */
char **reg_mirrors(void);

/*
 * GET /v2/<repo>/manifests/<ref> (a tag or a digest) with the Accept of every manifest and index
 * type we read. *body (NUL-terminated), *len, *content_type (may be NULL when the registry sent
 * none). Registry errors: ENOENT for 404, else EIO; the message is the registry's first error as
 * Docker prints it ("manifest unknown: manifest unknown").
 */
int reg_manifest_get(struct reg_client *c, const char *ref, char **body, size_t *len, char **content_type, berr *e);

/*
 * GET /v2/ with the client's credentials (a Bearer challenge answered by a token from its realm):
 * 0 when the registry takes them, EACCES with Docker's "login attempt to <url> failed with
 * status: 401 Unauthorized" when it does not, EIO when it cannot be reached.
 */
int reg_ping(struct reg_client *c, berr *e);

/* Where a blob's bytes go, as they come; < 0 (with e set) stops the transfer. */
typedef int (*reg_sink_fn)(void *arg, const void *data, size_t len, berr *e);

/*
 * GET /v2/<repo>/blobs/<digest>, redirects followed; every byte to sink. from > 0 asks for the
 * bytes from there on (a download resumed): a registry that sends the whole blob instead fails
 * with ERANGE before the sink sees a byte. A broken transfer or a registry's 5xx: EIO.
 */
int reg_blob_get(struct reg_client *c, const char *digest, int64_t from, reg_sink_fn sink, void *arg, berr *e);

/* HEAD /v2/<repo>/blobs/<digest>: 1 when the registry has it, 0 when not. */
int reg_blob_exists(struct reg_client *c, const char *digest, berr *e);

/* Bytes sent so far by an upload, for progress; < 0 (with e set) stops it. */
typedef int (*reg_sent_fn)(void *arg, int64_t sent, int64_t total);

/*
 * Put a blob from fd (size bytes from offset 0): with from (another repository of the same
 * registry, may be NULL) a cross-repository mount is tried first. *mounted (may be NULL) tells
 * whether the mount did it. Else POST /v2/<repo>/blobs/uploads/, then one PUT of the whole blob,
 * or for one larger than REG_CHUNK_SIZE, PATCHes of that size (Content-Range) and an empty PUT.
 */
int reg_blob_put(struct reg_client *c, const char *digest, int fd, int64_t size, const char *from, bool *mounted,
		 reg_sent_fn sent, void *arg, berr *e);

/* PUT /v2/<repo>/manifests/<ref>. */
int reg_manifest_put(struct reg_client *c, const char *ref, const char *media_type, const char *body, size_t len,
		     berr *e);
