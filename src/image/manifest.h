/*
 * Image manifests and indexes: the OCI image manifest and index (image-spec v1.1) and Docker's
 * distribution schema 2 manifest and manifest list, parsed into one shape and written back
 * canonically; and the choice of one manifest from an index for a platform, as Docker makes it.
 * Pure parsing: nothing here touches the disk or the network.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Manifests and indexes. */
#define IMG_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
/* Refused: schema 1 (removed from Docker; unsigned and signed forms). */
#define IMG_MT_DOCKER_SCHEMA1        "application/vnd.docker.distribution.manifest.v1+json"
#define IMG_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Image configs. */
#define IMG_MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define IMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
/* The OCI 1.1 empty descriptor's type ("{}", for artifacts). */
#define IMG_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"

/* Layers. */
#define IMG_MT_OCI_LAYER                 "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_LAYER_GZIP            "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ZSTD            "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_OCI_LAYER_NONDIST         "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define IMG_MT_OCI_LAYER_NONDIST_GZIP    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_NONDIST_ZSTD    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define IMG_MT_DOCKER_LAYER              "application/vnd.docker.image.rootfs.diff.tar"
#define IMG_MT_DOCKER_LAYER_GZIP         "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_LAYER_FOREIGN_GZIP "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* BuildKit's annotation on the attestation manifests it adds to an index (never run). */
#define IMG_ANNOTATION_REFERENCE_TYPE  "vnd.docker.reference.type"
#define IMG_REFERENCE_TYPE_ATTESTATION "attestation-manifest"

/*
 * A content descriptor. Strings and lists are owned. urls and annotations are NULL when absent;
 * annotations is a NULL-terminated k0,v0,k1,v1,... list. The platform is only meaningful when
 * has_platform (it is then at least os and architecture; variant and os_version may be NULL).
 */
struct img_descriptor {
	char *media_type;
	char *digest; /* "sha256:<64 lowercase hex>" (other algorithms are refused) */
	int64_t size; /* >= 0 */
	char **urls;
	char **annotations;
	char *artifact_type; /* OCI 1.1 artifactType; NULL when absent */
	char *data;          /* OCI 1.1 embedded content (base64, as written); NULL when absent */
	struct {
		char *os, *architecture, *variant, *os_version;
	} platform;
	bool has_platform;
};

/* An image manifest (OCI, or Docker schema 2: the same shape). */
struct img_manifest {
	char *media_type;   /* always set after a parse: the document's, or IMG_MT_OCI_MANIFEST when it has none */
	int schema_version; /* 2 */
	char *artifact_type;
	struct img_descriptor config;
	struct img_descriptor *layers; /* bottom layer first */
	size_t n_layers;
	struct img_descriptor *subject; /* OCI 1.1 referrers; NULL when absent */
	char **annotations;
};

/* An image index (OCI, or a Docker manifest list). */
struct img_index {
	char *media_type; /* always set after a parse: the document's, or IMG_MT_OCI_INDEX when it has none */
	int schema_version;
	char *artifact_type;
	struct img_descriptor *manifests;
	size_t n_manifests;
	struct img_descriptor *subject;
	char **annotations;
};

enum img_doc_kind { IMG_DOC_MANIFEST, IMG_DOC_INDEX };

/*
 * Which kind of document json is: from its mediaType; when it has none, from content_type (the
 * registry's Content-Type, parameters ignored; NULL, generic types such as application/json and
 * unknown ones say nothing); when neither says, from its shape ("manifests" -> index,
 * "config"/"layers" -> manifest). Errors: invalid JSON, not an object, schema 1 (by mediaType,
 * Content-Type or schemaVersion 1), an unknown mediaType, a shape that says nothing.
 */
int img_doc_kind_of(const char *json, size_t len, const char *content_type, enum img_doc_kind *kind, berr *e);

/*
 * Parse and validate. *out is zeroed first and left zeroed on failure. Every error names the field
 * ("layers[2].digest: invalid digest \"sha256:12\"", "config: missing", "schemaVersion: expected an
 * integer, got a string"). Checked: schemaVersion 2, mediaType (absent, or a manifest type for
 * img_manifest_parse, an index type for img_index_parse), each descriptor's mediaType (any string),
 * digest (sha256), size (>= 0), urls, annotations (strings), platform (os and architecture).
 * Duplicate keys are refused (two readers must never see two different documents).
 */
int img_manifest_parse(const char *json, size_t len, struct img_manifest *out, berr *e);
int img_index_parse(const char *json, size_t len, struct img_index *out, berr *e);

/* A platform to run. Owned strings; variant NULL when none. */
struct img_platform {
	char *os, *architecture, *variant;
};

/*
 * Parse "os[/arch[/variant]]" as Docker's --platform does (containerd's platforms.Parse):
 * names are lower-cased and normalised ("x86_64" -> amd64, "aarch64" -> arm64, "armhf" -> arm/v7,
 * "i386" -> 386, "macos" -> darwin); "linux/arm64/v8" keeps its v8, "linux/arm/v7" its v7; a lone
 * OS takes the host's architecture and a lone architecture the OS linux. NULL or "" is the host's
 * platform (linux/amd64 on x86-64 hosts, linux/arm64/v8 on arm64 ones ...).
 * Errors: more than three parts, a part that is empty or not [A-Za-z0-9_.-]+, a lone word that is
 * neither a known OS nor a known architecture.
 */
int img_platform_parse(const char *s, struct img_platform *out, berr *e);
/* "os/arch[/variant]" (malloc'd; NULL when out of memory). */
char *img_platform_string(const struct img_platform *p);
/* Do (os, arch, variant) name the platform p exactly, after normalisation (arm64 = arm64/v8, arm = arm/v7)? */
bool img_platform_matches(const struct img_platform *p, const char *os, const char *arch, const char *variant);
void img_platform_free(struct img_platform *p);

/*
 * The manifest of idx to pull or run for want (NULL: the host's), as Docker picks it
 * (platforms.Only): the exact platform first (arm64 counting as arm64/v8, arm as arm/v7), then the
 * ones it can also run, best first: amd64/vN -> lower amd64 levels -> 386; arm/vN -> arm/vN-1 ...
 * arm/v5; arm64 -> arm/v8 ... arm/v5. Among equals, the first in the index. An entry without a
 * platform is a last resort. Entries that are not image manifests (nested indexes, artifacts) and
 * BuildKit's attestation manifests ("unknown/unknown", vnd.docker.reference.type
 * attestation-manifest) are never chosen. *out points into idx.
 * No match: ENOENT, "no matching manifest for linux/amd64 in the manifest list entries".
 */
int img_index_select(const struct img_index *idx, const struct img_platform *want, const struct img_descriptor **out,
		     berr *e);

/*
 * Canonical serialisation for save/commit/push: compact, keys in the order of the specs' Go
 * structs (schemaVersion, mediaType, artifactType, config, layers|manifests, subject, annotations;
 * in a descriptor mediaType, digest, size, urls, annotations, data, platform, artifactType), map
 * keys sorted, absent and empty optional fields left out. A NULL media_type is written as the OCI
 * type and a schema_version of 0 as 2. The digest of the manifest is over exactly these bytes;
 * serialise(parse(serialise(m))) == serialise(m). NULL when out of memory or a string is not UTF-8.
 */
char *img_manifest_to_json(const struct img_manifest *m);
char *img_index_to_json(const struct img_index *idx);

/* Is mt one of the manifest (not index) media types we read? */
bool img_media_type_is_manifest(const char *mt);
/* Is mt one of the index media types we read? */
bool img_media_type_is_index(const char *mt);

/* How a layer blob is compressed, from its media type. */
enum img_compression { IMG_COMPRESSION_NONE, IMG_COMPRESSION_GZIP, IMG_COMPRESSION_ZSTD };
/* Error (EINVAL) "unsupported layer media type \"...\"" for anything that is not a layer tar. */
int img_layer_compression(const char *media_type, enum img_compression *out, berr *e);

/* Free the fields and zero the struct; NULL and zeroed structs are fine. */
void img_descriptor_free(struct img_descriptor *d);
void img_manifest_free(struct img_manifest *m);
void img_index_free(struct img_index *i);
