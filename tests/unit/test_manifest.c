/* Manifests and indexes: real-world shaped documents, field-named errors, platform choice, canonical JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/digest.h"
#include "lib/err.h"
#include "lib/json.h"
#include "image/manifest.h"

/* "sha256:" and 64 times the character c. */
#define C8(c)   c c c c c c c c
#define DG(c)   "sha256:" C8(c) C8(c) C8(c) C8(c) C8(c) C8(c) C8(c) C8(c)
#define D_CFG   DG("c")
#define D_L0    DG("0")
#define D_L1    DG("1")
#define D_AMD   DG("a")
#define D_ARM64 DG("b")
#define D_ARM7  DG("d")
#define D_S390  DG("e")
#define D_ATT1  DG("f")
#define D_ATT2  DG("9")

/* What `docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/s390x --push` makes. */
static const char oci_index[] =
    "{\n"
    "  \"schemaVersion\": 2,\n"
    "  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
    "  \"manifests\": [\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_AMD "\", \"size\": 1040,\n"
    "     \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}},\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_ARM64 "\", \"size\": 1040,\n"
    "     \"platform\": {\"architecture\": \"arm64\", \"os\": \"linux\", \"variant\": \"v8\"}},\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_ARM7 "\", \"size\": 1040,\n"
    "     \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v7\"}},\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_S390 "\", \"size\": 1040,\n"
    "     \"platform\": {\"architecture\": \"s390x\", \"os\": \"linux\"}},\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_ATT1 "\", \"size\": 566,\n"
    "     \"annotations\": {\"vnd.docker.reference.digest\": \"" D_AMD "\",\n"
    "                     \"vnd.docker.reference.type\": \"attestation-manifest\"},\n"
    "     \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}},\n"
    "    {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": \"" D_ATT2 "\", \"size\": 566,\n"
    "     \"annotations\": {\"vnd.docker.reference.digest\": \"" D_ARM64 "\",\n"
    "                     \"vnd.docker.reference.type\": \"attestation-manifest\"},\n"
    "     \"platform\": {\"architecture\": \"unknown\", \"os\": \"unknown\"}}\n"
    "  ],\n"
    "  \"annotations\": {\"org.opencontainers.image.created\": \"2024-05-01T10:00:00Z\"}\n"
    "}\n";

/* A Docker Hub manifest list of the busybox kind (several arm levels, 386, ppc64le). */
static const char docker_list[] =
    "{\n"
    "   \"manifests\": [\n"
    "      {\"digest\": \"" DG(
	"1") "\", \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
	     "       \"platform\": {\"architecture\": \"amd64\", \"os\": \"linux\"}, \"size\": 528},\n"
	     "      {\"digest\": \"" DG(
		 "2") "\", \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
		      "       \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": \"v5\"}, "
		      "\"size\": 528},\n"
		      "      {\"digest\": \"" DG(
			  "3") "\", \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
			       "       \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", \"variant\": "
			       "\"v6\"}, \"size\": 528},\n"
			       "      {\"digest\": \"" DG(
				   "4") "\", \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
					"       \"platform\": {\"architecture\": \"arm\", \"os\": \"linux\", "
					"\"variant\": \"v7\"}, \"size\": 528},\n"
					"      {\"digest\": \"" DG(
					    "5") "\", \"mediaType\": "
						 "\"application/vnd.docker.distribution.manifest.v2+json\",\n"
						 "       \"platform\": {\"architecture\": \"arm64\", \"os\": "
						 "\"linux\", \"variant\": \"v8\"}, \"size\": 528},\n"
						 "      {\"digest\": \"" DG(
						     "6") "\", \"mediaType\": "
							  "\"application/vnd.docker.distribution.manifest.v2+json\",\n"
							  "       \"platform\": {\"architecture\": \"386\", \"os\": "
							  "\"linux\"}, \"size\": 528},\n"
							  "      {\"digest\": \"" DG(
							      "7") "\", \"mediaType\": "
								   "\"application/"
								   "vnd.docker.distribution.manifest.v2+json\",\n"
								   "       \"platform\": {\"architecture\": "
								   "\"ppc64le\", \"os\": \"linux\"}, \"size\": 528},\n"
								   "      {\"digest\": \"" DG(
								       "8") "\", \"mediaType\": "
									    "\"application/"
									    "vnd.docker.distribution.manifest.v2+"
									    "json\",\n"
									    "       \"platform\": {\"architecture\": "
									    "\"amd64\", \"os\": \"windows\", "
									    "\"os.version\": \"10.0.17763.5820\"},\n"
									    "       \"size\": 1162}\n"
									    "   ],\n"
									    "   \"mediaType\": "
									    "\"application/"
									    "vnd.docker.distribution.manifest.list.v2+"
									    "json\",\n"
									    "   \"schemaVersion\": 2\n"
									    "}";

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CFG "\",\"size\":1471},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D_L0 "\","
    "\"size\":3623807},"
    "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D_L1 "\",\"size\":93,"
    "\"annotations\":{\"org.opencontainers.image.title\":\"app.tar\"}}],"
    "\"annotations\":{\"org.opencontainers.image.base.name\":\"docker.io/library/alpine:3.19\","
    "\"org.opencontainers.image.base.digest\":\"" DG("4") "\"}}";

/* Docker schema 2 as the registry serves it (three-space indent, mediaType first). */
static const char docker_manifest[] =
    "{\n"
    "   \"schemaVersion\": 2,\n"
    "   \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
    "   \"config\": {\n"
    "      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
    "      \"size\": 1457,\n"
    "      \"digest\": \"" D_CFG "\"\n"
    "   },\n"
    "   \"layers\": [\n"
    "      {\n"
    "         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
    "         \"size\": 2152262,\n"
    "         \"digest\": \"" D_L0 "\"\n"
    "      },\n"
    "      {\n"
    "         \"mediaType\": \"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\",\n"
    "         \"size\": 1069,\n"
    "         \"digest\": \"" D_L1 "\",\n"
    "         \"urls\": [\"https://mcr.microsoft.com/v2/windows/blobs/" D_L1 "\"]\n"
    "      }\n"
    "   ]\n"
    "}";

static const char schema1[] = "{\"schemaVersion\":1,\"name\":\"library/hello\",\"tag\":\"latest\","
			      "\"architecture\":\"amd64\",\"fsLayers\":[{\"blobSum\":\"" D_L0 "\"}],"
			      "\"history\":[{\"v1Compatibility\":\"{}\"}]}";

static void assert_err_has(berr *e, const char *needle)
{
	if (!e->msg || !strstr(e->msg, needle))
		fail_msg("error \"%s\" does not contain \"%s\"", berr_msg(e), needle);
	berr_clear(e);
}

static void test_oci_manifest(void **state)
{
	berr e = {0};
	struct img_manifest m;
	assert_int_equal(img_manifest_parse(oci_manifest, strlen(oci_manifest), &m, &e), 0);
	assert_string_equal(m.media_type, IMG_MT_OCI_MANIFEST);
	assert_int_equal(m.schema_version, 2);
	assert_string_equal(m.config.media_type, IMG_MT_OCI_CONFIG);
	assert_string_equal(m.config.digest, D_CFG);
	assert_int_equal(m.config.size, 1471);
	assert_false(m.config.has_platform);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[0].media_type, IMG_MT_OCI_LAYER_GZIP);
	assert_string_equal(m.layers[0].digest, D_L0);
	assert_int_equal(m.layers[0].size, 3623807);
	assert_null(m.layers[0].annotations);
	assert_string_equal(m.layers[1].annotations[0], "org.opencontainers.image.title");
	assert_string_equal(m.layers[1].annotations[1], "app.tar");
	assert_null(m.layers[1].annotations[2]);
	assert_int_equal(b_strv_len(m.annotations), 4);
	assert_null(m.subject);

	enum img_compression c;
	assert_int_equal(img_layer_compression(m.layers[0].media_type, &c, &e), 0);
	assert_int_equal(c, IMG_COMPRESSION_GZIP);
	assert_int_equal(img_layer_compression(m.layers[1].media_type, &c, &e), 0);
	assert_int_equal(c, IMG_COMPRESSION_ZSTD);
	assert_int_equal(img_layer_compression(m.config.media_type, &c, &e), -1);
	assert_err_has(&e, "unsupported layer media type \"application/vnd.oci.image.config.v1+json\"");
	img_manifest_free(&m);
	img_manifest_free(&m); /* zeroed: a second free is harmless */
}

static void test_docker_manifest(void **state)
{
	berr e = {0};
	struct img_manifest m;
	assert_int_equal(img_manifest_parse(docker_manifest, strlen(docker_manifest), &m, &e), 0);
	assert_string_equal(m.media_type, IMG_MT_DOCKER_MANIFEST);
	assert_string_equal(m.config.media_type, IMG_MT_DOCKER_CONFIG);
	assert_int_equal(m.config.size, 1457);
	assert_int_equal(m.n_layers, 2);
	assert_string_equal(m.layers[1].media_type, IMG_MT_DOCKER_LAYER_FOREIGN_GZIP);
	assert_string_equal(m.layers[1].urls[0], "https://mcr.microsoft.com/v2/windows/blobs/" D_L1);
	assert_null(m.layers[1].urls[1]);
	enum img_compression c = IMG_COMPRESSION_ZSTD;
	assert_int_equal(img_layer_compression(IMG_MT_DOCKER_LAYER_GZIP, &c, &e), 0);
	assert_int_equal(c, IMG_COMPRESSION_GZIP);
	assert_int_equal(img_layer_compression(IMG_MT_DOCKER_LAYER, &c, &e), 0);
	assert_int_equal(c, IMG_COMPRESSION_NONE);
	img_manifest_free(&m);
}

static void test_no_media_type(void **state)
{
	/* OCI makes mediaType optional: the parse fills in the OCI type. */
	berr e = {0};
	const char *doc = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"" D_CFG
			  "\",\"size\":2},\"layers\":[]}";
	struct img_manifest m;
	assert_int_equal(img_manifest_parse(doc, strlen(doc), &m, &e), 0);
	assert_string_equal(m.media_type, IMG_MT_OCI_MANIFEST);
	assert_int_equal(m.n_layers, 0);
	img_manifest_free(&m);

	const char *idx = "{\"schemaVersion\":2,\"manifests\":[]}";
	struct img_index i;
	assert_int_equal(img_index_parse(idx, strlen(idx), &i, &e), 0);
	assert_string_equal(i.media_type, IMG_MT_OCI_INDEX);
	assert_int_equal(i.n_manifests, 0);
	img_index_free(&i);
}

static void test_doc_kind(void **state)
{
	berr e = {0};
	enum img_doc_kind k = IMG_DOC_INDEX;
	assert_int_equal(img_doc_kind_of(oci_manifest, strlen(oci_manifest), NULL, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_MANIFEST);
	assert_int_equal(img_doc_kind_of(docker_manifest, strlen(docker_manifest), NULL, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_MANIFEST);
	assert_int_equal(img_doc_kind_of(oci_index, strlen(oci_index), NULL, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_INDEX);
	assert_int_equal(img_doc_kind_of(docker_list, strlen(docker_list), NULL, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_INDEX);
	/* the document's mediaType wins over a wrong Content-Type */
	assert_int_equal(img_doc_kind_of(docker_list, strlen(docker_list), IMG_MT_DOCKER_MANIFEST, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_INDEX);

	/* no mediaType: Content-Type (with parameters, any case), then the shape */
	const char *bare_index = "{\"schemaVersion\":2,\"manifests\":[]}";
	const char *bare_manifest = "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}";
	const char *neither = "{\"schemaVersion\":2}";
	k = IMG_DOC_MANIFEST;
	assert_int_equal(img_doc_kind_of(neither, strlen(neither),
					 " Application/VND.oci.image.index.v1+json ; charset=utf-8", &k, &e),
			 0);
	assert_int_equal(k, IMG_DOC_INDEX);
	assert_int_equal(img_doc_kind_of(neither, strlen(neither), IMG_MT_DOCKER_MANIFEST, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_MANIFEST);
	assert_int_equal(img_doc_kind_of(bare_index, strlen(bare_index), "application/json", &k, &e), 0);
	assert_int_equal(k, IMG_DOC_INDEX);
	assert_int_equal(img_doc_kind_of(bare_manifest, strlen(bare_manifest), NULL, &k, &e), 0);
	assert_int_equal(k, IMG_DOC_MANIFEST);
	assert_int_equal(img_doc_kind_of(neither, strlen(neither), "application/octet-stream", &k, &e), -1);
	assert_err_has(&e, "not an image manifest nor an index");

	/* schema 1: by schemaVersion, by Content-Type, by mediaType, by shape */
	assert_int_equal(img_doc_kind_of(schema1, strlen(schema1), NULL, &k, &e), -1);
	assert_err_has(&e, "schema 1");
	assert_int_equal(img_doc_kind_of(neither, strlen(neither), IMG_MT_DOCKER_SCHEMA1_SIGNED, &k, &e), -1);
	assert_err_has(&e, "schema 1");
	const char *s1mt = "{\"mediaType\":\"" IMG_MT_DOCKER_SCHEMA1 "\"}";
	assert_int_equal(img_doc_kind_of(s1mt, strlen(s1mt), NULL, &k, &e), -1);
	assert_err_has(&e, "schema 1");
	const char *s1shape = "{\"fsLayers\":[]}";
	assert_int_equal(img_doc_kind_of(s1shape, strlen(s1shape), NULL, &k, &e), -1);
	assert_err_has(&e, "schema 1");

	const char *unknown = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example.thing+json\"}";
	assert_int_equal(img_doc_kind_of(unknown, strlen(unknown), NULL, &k, &e), -1);
	assert_err_has(&e, "mediaType: unsupported media type \"application/vnd.example.thing+json\"");
	assert_int_equal(img_doc_kind_of("[1]", 3, NULL, &k, &e), -1);
	assert_err_has(&e, "expected a JSON object, got an array");
	assert_int_equal(img_doc_kind_of("{\"a\":", 5, NULL, &k, &e), -1);
	assert_err_has(&e, "invalid JSON at line 1");
}

struct bad_case {
	const char *json;
	const char *err;
};

#define CFG_OK    "\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"" D_CFG "\",\"size\":7}"
#define LAYER_OK  "{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L0 "\",\"size\":5}"
#define MAN(body) "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\"," body "}"

static const struct bad_case bad_manifests[] = {
    {MAN(CFG_OK ",\"layers\":[" LAYER_OK "," LAYER_OK ",{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP
		"\",\"digest\":\"sha256:12\",\"size\":1}]"),
     "layers[2].digest: invalid digest \"sha256:12\""},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"size\":1}]"), "layers[0].digest: missing"},
    {MAN(CFG_OK ",\"layers\":[" LAYER_OK ",{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1
		"\",\"size\":-1}]"),
     "layers[1].size: must not be negative, got -1"},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1 "\"}]"),
     "layers[0].size: missing"},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1 "\",\"size\":\"5\"}]"),
     "layers[0].size: expected an integer, got a string"},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1 "\",\"size\":1.5}]"),
     "layers[0].size: expected an integer, got a number"},
    {MAN(CFG_OK ",\"layers\":[{\"digest\":\"" D_L1 "\",\"size\":1}]"), "layers[0].mediaType: missing"},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":7,\"digest\":\"" D_L1 "\",\"size\":1}]"),
     "layers[0].mediaType: expected a string, got an integer"},
    {MAN(CFG_OK ",\"layers\":[\"" D_L1 "\"]"), "layers[0]: expected an object, got a string"},
    {MAN(CFG_OK ",\"layers\":{}"), "layers: expected an array, got an object"},
    {MAN(CFG_OK), "layers: missing"},
    {MAN("\"layers\":[]"), "config: missing"},
    {MAN("\"config\":[],\"layers\":[]"), "config: expected an object, got an array"},
    {MAN("\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"" DG("A") "\",\"size\":7},\"layers\":[]"),
     "config.digest: invalid digest \"sha256:AAAA"},
    {MAN("\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"sha512:" C8("ab") C8("ab") C8("ab") C8("ab")
	     C8("ab") C8("ab") C8("ab") C8("ab") "\",\"size\":7},\"layers\":[]"),
     "config.digest: unsupported digest algorithm \"sha512\""},
    {MAN("\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG "\",\"digest\":\"nocolon\",\"size\":7},\"layers\":[]"),
     "config.digest: invalid digest \"nocolon\""},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1
		"\",\"size\":1,\"urls\":[1]}]"),
     "layers[0].urls[0]: expected a string, got an integer"},
    {MAN(CFG_OK ",\"layers\":[{\"mediaType\":\"" IMG_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D_L1
		"\",\"size\":1,\"annotations\":{\"a\":true}}]"),
     "layers[0].annotations.a: expected a string, got a boolean"},
    {MAN(CFG_OK ",\"layers\":[],\"annotations\":[]"), "annotations: expected an object, got an array"},
    {"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example+json\"," CFG_OK ",\"layers\":[]}",
     "mediaType: unsupported media type \"application/vnd.example+json\""},
    {"{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX "\",\"manifests\":[]}",
     "mediaType: \"application/vnd.oci.image.index.v1+json\" is an image index, not a manifest"},
    {"{\"schemaVersion\":2,\"manifests\":[]}", "config: missing (the document is an image index, not a manifest)"},
    {"{\"schemaVersion\":3," CFG_OK ",\"layers\":[]}", "schemaVersion: unsupported version 3 (expected 2)"},
    {"{\"schemaVersion\":\"2\"," CFG_OK ",\"layers\":[]}", "schemaVersion: expected an integer, got a string"},
    {"{" CFG_OK ",\"layers\":[]}", "schemaVersion: missing"},
    {schema1, "schema 1"},
    {"{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_DOCKER_SCHEMA1_SIGNED "\"}", "schema 1"},
    {"{\"schemaVersion\":2,\"schemaVersion\":2," CFG_OK ",\"layers\":[]}", "duplicate object key"},
    {"[]", "expected a JSON object, got an array"},
    {"", "invalid JSON"},
};

static void test_bad_manifests(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_manifests); i++) {
		berr e = {0};
		struct img_manifest m;
		const char *j = bad_manifests[i].json;
		if (img_manifest_parse(j, strlen(j), &m, &e) == 0)
			fail_msg("case %zu parsed: %s", i, j);
		if (!e.msg || !strstr(e.msg, bad_manifests[i].err))
			fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, berr_msg(&e),
				 bad_manifests[i].err);
		assert_int_equal(e.errnum, EINVAL);
		berr_clear(&e);
		/* left zeroed */
		assert_null(m.media_type);
		assert_null(m.layers);
		assert_null(m.config.digest);
	}
}

#define IDX(body)   "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX "\"," body "}"
#define ENTRY(plat) "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" D_AMD "\",\"size\":5" plat "}"

static const struct bad_case bad_indexes[] = {
    {IDX("\"manifests\":[" ENTRY("") "," ENTRY(",\"platform\":{\"os\":\"linux\"}") "]"),
     "manifests[1].platform.architecture: missing"},
    {IDX("\"manifests\":[" ENTRY(",\"platform\":{\"architecture\":\"amd64\",\"os\":5}") "]"),
     "manifests[0].platform.os: expected a string, got an integer"},
    {IDX("\"manifests\":[" ENTRY(",\"platform\":{\"architecture\":\"\",\"os\":\"linux\"}") "]"),
     "manifests[0].platform.architecture: must not be empty"},
    {IDX("\"manifests\":[" ENTRY(",\"platform\":\"linux/amd64\"") "]"),
     "manifests[0].platform: expected an object, got a string"},
    {IDX("\"manifests\":[{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" D_AMD "\",\"size\":-5}]"),
     "manifests[0].size: must not be negative, got -5"},
    {IDX("\"manifests\":null"), "manifests: missing"},
    {"{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_DOCKER_MANIFEST "\",\"manifests\":[]}",
     "is an image manifest, not an index"},
    {"{\"schemaVersion\":2," CFG_OK ",\"layers\":[]}", "manifests: missing (the document is an image manifest"},
    {"{\"schemaVersion\":1,\"manifests\":[]}", "schema 1"},
};

static void test_bad_indexes(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_indexes); i++) {
		berr e = {0};
		struct img_index idx;
		const char *j = bad_indexes[i].json;
		if (img_index_parse(j, strlen(j), &idx, &e) == 0)
			fail_msg("case %zu parsed: %s", i, j);
		if (!e.msg || !strstr(e.msg, bad_indexes[i].err))
			fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, berr_msg(&e), bad_indexes[i].err);
		berr_clear(&e);
		assert_null(idx.manifests);
	}
}

static void test_oci_index(void **state)
{
	berr e = {0};
	struct img_index idx;
	assert_int_equal(img_index_parse(oci_index, strlen(oci_index), &idx, &e), 0);
	assert_string_equal(idx.media_type, IMG_MT_OCI_INDEX);
	assert_int_equal(idx.n_manifests, 6);
	assert_true(idx.manifests[1].has_platform);
	assert_string_equal(idx.manifests[1].platform.architecture, "arm64");
	assert_string_equal(idx.manifests[1].platform.variant, "v8");
	assert_null(idx.manifests[0].platform.variant);
	assert_string_equal(idx.manifests[4].platform.os, "unknown");
	assert_string_equal(idx.annotations[0], "org.opencontainers.image.created");
	img_index_free(&idx);

	assert_int_equal(img_index_parse(docker_list, strlen(docker_list), &idx, &e), 0);
	assert_string_equal(idx.media_type, IMG_MT_DOCKER_LIST);
	assert_int_equal(idx.n_manifests, 8);
	assert_string_equal(idx.manifests[7].platform.os_version, "10.0.17763.5820");
	img_index_free(&idx);
}

/* Select from doc for the platform string; expect digest (NULL: the "no matching manifest" error). */
static void check_select(const char *doc, const char *platform, const char *digest, const char *err)
{
	berr e = {0};
	struct img_index idx;
	struct img_platform p;
	assert_int_equal(img_index_parse(doc, strlen(doc), &idx, &e), 0);
	if (img_platform_parse(platform, &p, &e) < 0)
		fail_msg("platform %s: %s", platform, berr_msg(&e));
	const struct img_descriptor *d = NULL;
	int r = img_index_select(&idx, &p, &d, &e);
	if (digest) {
		if (r < 0)
			fail_msg("%s: %s", platform, berr_msg(&e));
		if (strcmp(d->digest, digest))
			fail_msg("%s: chose %s, expected %s", platform, d->digest, digest);
	} else {
		if (r == 0)
			fail_msg("%s: chose %s, expected no match", platform, d->digest);
		assert_int_equal(e.errnum, ENOENT);
		assert_string_equal(e.msg, err);
		berr_clear(&e);
	}
	img_platform_free(&p);
	img_index_free(&idx);
}

static void test_select_buildx(void **state)
{
	check_select(oci_index, "linux/amd64", D_AMD, NULL);
	check_select(oci_index, "linux/x86_64", D_AMD, NULL);
	check_select(oci_index, "linux/amd64/v1", D_AMD, NULL);
	check_select(oci_index, "amd64", D_AMD, NULL);
	check_select(oci_index, "LINUX/AMD64", D_AMD, NULL);
	/* arm64 is arm64/v8 both ways */
	check_select(oci_index, "linux/arm64", D_ARM64, NULL);
	check_select(oci_index, "linux/arm64/v8", D_ARM64, NULL);
	check_select(oci_index, "linux/aarch64", D_ARM64, NULL);
	check_select(oci_index, "linux/arm", D_ARM7, NULL);
	check_select(oci_index, "linux/arm/v7", D_ARM7, NULL);
	check_select(oci_index, "linux/armhf", D_ARM7, NULL);
	/* arm/v8 (32-bit on an armv8 CPU) runs v7 */
	check_select(oci_index, "linux/arm/v8", D_ARM7, NULL);
	check_select(oci_index, "linux/s390x", D_S390, NULL);
	/* no fallback downwards: v6 cannot run v7 */
	check_select(oci_index, "linux/arm/v6", NULL,
		     "no matching manifest for linux/arm/v6 in the manifest list entries");
	check_select(oci_index, "linux/ppc64le", NULL,
		     "no matching manifest for linux/ppc64le in the manifest list entries");
	check_select(oci_index, "windows/amd64", NULL,
		     "no matching manifest for windows/amd64 in the manifest list entries");
	/* the attestation manifests are never chosen, even when asked for their platform */
	check_select(oci_index, "unknown/unknown", NULL,
		     "no matching manifest for unknown/unknown in the manifest list entries");
	/* amd64/v2 runs the baseline (v1) amd64 image */
	check_select(oci_index, "linux/amd64/v2", D_AMD, NULL);
}

static void test_select_docker_list(void **state)
{
	check_select(docker_list, "linux/amd64", DG("1"), NULL);
	check_select(docker_list, "linux/arm/v5", DG("2"), NULL);
	check_select(docker_list, "linux/armel", DG("3"), NULL);
	check_select(docker_list, "linux/arm/v6", DG("3"), NULL);
	check_select(docker_list, "linux/arm", DG("4"), NULL);
	check_select(docker_list, "linux/arm64", DG("5"), NULL);
	check_select(docker_list, "linux/386", DG("6"), NULL);
	check_select(docker_list, "linux/i386", DG("6"), NULL);
	check_select(docker_list, "linux/ppc64le", DG("7"), NULL);
	check_select(docker_list, "windows/amd64", DG("8"), NULL);
	check_select(docker_list, "linux/riscv64", NULL,
		     "no matching manifest for linux/riscv64 in the manifest list entries");
}

static void test_select_fallbacks(void **state)
{
	/* Only 386 and arm/v6: amd64 falls back to 386; arm64 to the best arm below v8. */
	const char *doc = IDX(
	    "\"manifests\":["
	    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DG(
		"1") "\",\"size\":5,"
		     "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"}},"
		     "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DG(
			 "2") "\",\"size\":5,"
			      "\"platform\":{\"architecture\":\"386\",\"os\":\"linux\"}},"
			      "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DG(
				  "3") "\",\"size\":5,"
				       "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
				       "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST
				       "\",\"digest\":\"" DG("4") "\",\"size\":5,"
								  "\"platform\":{\"architecture\":\"amd64\",\"os\":"
								  "\"linux\",\"variant\":\"v2\"}}"
								  "]");
	check_select(doc, "linux/amd64", DG("2"), NULL);
	check_select(doc, "linux/amd64/v3", DG("4"), NULL);
	check_select(doc, "linux/amd64/v2", DG("4"), NULL);
	check_select(doc, "linux/arm64", DG("3"), NULL);
	check_select(doc, "linux/arm/v7", DG("3"), NULL);
	check_select(doc, "linux/arm/v5", DG("1"), NULL);
	check_select(doc, "linux/s390x", NULL, "no matching manifest for linux/s390x in the manifest list entries");

	/* Equal matches: the first in the index. An entry without a platform: the last resort. */
	const char *doc2 =
	    IDX("\"manifests\":["
		"{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DG(
		    "5") "\",\"size\":5},"
			 "{\"mediaType\":\"" IMG_MT_OCI_INDEX "\",\"digest\":\"" DG(
			     "6") "\",\"size\":5,"
				  "\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}},"
				  "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DG(
				      "7") "\",\"size\":5,"
					   "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
					   "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST
					   "\",\"digest\":\"" DG("8") "\",\"size\":5,"
								      "\"platform\":{\"architecture\":\"arm64\",\"os\":"
								      "\"linux\",\"variant\":\"v8\"}}"
								      "]");
	check_select(doc2, "linux/arm64/v8", DG("7"), NULL);
	check_select(doc2, "linux/amd64", DG("5"), NULL);
	/* a nested index is not a manifest to run */
	check_select(doc2, "linux/s390x", DG("5"), NULL);
}

static void test_select_host_default(void **state)
{
	berr e = {0};
	struct img_index idx;
	assert_int_equal(img_index_parse(oci_index, strlen(oci_index), &idx, &e), 0);
	const struct img_descriptor *d = NULL;
	assert_int_equal(img_index_select(&idx, NULL, &d, &e), 0);
#if defined(__x86_64__)
	assert_string_equal(d->digest, D_AMD);
#elif defined(__aarch64__)
	assert_string_equal(d->digest, D_ARM64);
#endif
	img_index_free(&idx);
}

struct platform_case {
	const char *in;
	const char *os, *arch, *variant; /* NULL os: an error containing variant */
};

static void test_platform_parse(void **state)
{
	static const struct platform_case cases[] = {
	    {"linux/amd64", "linux", "amd64", NULL},
	    {"linux/x86_64", "linux", "amd64", NULL},
	    {"linux/x86-64", "linux", "amd64", NULL},
	    {"linux/amd64/v1", "linux", "amd64", NULL},
	    {"linux/amd64/v3", "linux", "amd64", "v3"},
	    {"linux/arm64", "linux", "arm64", NULL},
	    {"linux/arm64/v8", "linux", "arm64", "v8"},
	    {"linux/arm64/8", "linux", "arm64", "v8"},
	    {"linux/aarch64", "linux", "arm64", NULL},
	    {"linux/arm64/v9.0", "linux", "arm64", "v9"},
	    {"linux/arm", "linux", "arm", NULL},
	    {"linux/arm/v7", "linux", "arm", "v7"},
	    {"linux/arm/7", "linux", "arm", "v7"},
	    {"linux/arm/v6", "linux", "arm", "v6"},
	    {"linux/armhf", "linux", "arm", NULL},
	    {"linux/armel", "linux", "arm", "v6"},
	    {"linux/i386", "linux", "386", NULL},
	    {"Linux/AMD64", "linux", "amd64", NULL},
	    {"macos/arm64", "darwin", "arm64", NULL},
	    {"windows/amd64", "windows", "amd64", NULL},
	    {"s390x", "linux", "s390x", NULL},
	    {"aarch64", "linux", "arm64", NULL},
	    {"arm", "linux", "arm", NULL},
	    {"foo/bar", "foo", "bar", NULL},
	    {"linux/amd64/v2/x", NULL, NULL, "\"linux/amd64/v2/x\": cannot parse platform specifier"},
	    {"linux//amd64", NULL, NULL, "\"\" is an invalid component of \"linux//amd64\""},
	    {"linux/amd 64", NULL, NULL, "\"amd 64\" is an invalid component"},
	    {"linux/", NULL, NULL, "is an invalid component"},
	    {"plan10", NULL, NULL, "\"plan10\": unknown operating system or architecture"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		berr e = {0};
		struct img_platform p;
		int r = img_platform_parse(cases[i].in, &p, &e);
		if (!cases[i].os) {
			if (r == 0)
				fail_msg("%s parsed", cases[i].in);
			if (!strstr(berr_msg(&e), cases[i].variant))
				fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].in, berr_msg(&e), cases[i].variant);
			berr_clear(&e);
			continue;
		}
		if (r < 0)
			fail_msg("%s: %s", cases[i].in, berr_msg(&e));
		assert_string_equal(p.os, cases[i].os);
		assert_string_equal(p.architecture, cases[i].arch);
		if (cases[i].variant)
			assert_string_equal(p.variant, cases[i].variant);
		else if (p.variant)
			fail_msg("%s: variant %s, expected none", cases[i].in, p.variant);
		img_platform_free(&p);
	}

	/* a lone OS takes the host's architecture; NULL and "" are the host's platform */
	berr e = {0};
	struct img_platform p, host;
	assert_int_equal(img_platform_parse(NULL, &host, &e), 0);
	assert_string_equal(host.os, "linux");
	assert_int_equal(img_platform_parse("", &p, &e), 0);
	assert_string_equal(p.architecture, host.architecture);
	img_platform_free(&p);
	assert_int_equal(img_platform_parse("linux", &p, &e), 0);
	assert_string_equal(p.architecture, host.architecture);
	img_platform_free(&p);
#if defined(__x86_64__)
	_cleanup_free_ char *s = img_platform_string(&host);
	assert_string_equal(s, "linux/amd64");
#endif
	img_platform_free(&host);

	assert_int_equal(img_platform_parse("linux/arm64/v8", &p, &e), 0);
	_cleanup_free_ char *s2 = img_platform_string(&p);
	assert_string_equal(s2, "linux/arm64/v8");
	assert_true(img_platform_matches(&p, "linux", "arm64", NULL));
	assert_true(img_platform_matches(&p, "linux", "aarch64", "8"));
	assert_false(img_platform_matches(&p, "linux", "arm", "v8"));
	assert_false(img_platform_matches(&p, "linux", "arm64", "v9"));
	img_platform_free(&p);
	assert_int_equal(img_platform_parse("linux/arm", &p, &e), 0);
	assert_true(img_platform_matches(&p, "linux", "arm", "v7"));
	assert_false(img_platform_matches(&p, "linux", "arm", "v6"));
	img_platform_free(&p);
}

/* parse -> serialise -> parse -> serialise: the same bytes; the second parse sees the same fields. */
static void test_canonical_manifest(void **state)
{
	const char *docs[] = {oci_manifest, docker_manifest};
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		berr e = {0};
		struct img_manifest m, m2;
		assert_int_equal(img_manifest_parse(docs[i], strlen(docs[i]), &m, &e), 0);
		_cleanup_free_ char *j1 = img_manifest_to_json(&m);
		assert_non_null(j1);
		assert_int_equal(img_manifest_parse(j1, strlen(j1), &m2, &e), 0);
		_cleanup_free_ char *j2 = img_manifest_to_json(&m2);
		assert_string_equal(j1, j2);
		assert_string_equal(m2.media_type, m.media_type);
		assert_int_equal(m2.n_layers, m.n_layers);
		for (size_t l = 0; l < m.n_layers; l++) {
			assert_string_equal(m2.layers[l].digest, m.layers[l].digest);
			assert_int_equal(m2.layers[l].size, m.layers[l].size);
		}
		img_manifest_free(&m);
		img_manifest_free(&m2);
	}

	/* The exact bytes: OCI's key order, compact, annotations sorted. */
	berr e = {0};
	struct img_manifest m;
	assert_int_equal(img_manifest_parse(oci_manifest, strlen(oci_manifest), &m, &e), 0);
	_cleanup_free_ char *j = img_manifest_to_json(&m);
	assert_string_equal(
	    j, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	       "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CFG
	       "\",\"size\":1471},"
	       "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" D_L0 "\","
	       "\"size\":3623807},"
	       "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" D_L1 "\",\"size\":93,"
	       "\"annotations\":{\"org.opencontainers.image.title\":\"app.tar\"}}],"
	       "\"annotations\":{\"org.opencontainers.image.base.digest\":\"" DG(
		   "4") "\","
			"\"org.opencontainers.image.base.name\":\"docker.io/library/alpine:3.19\"}}");
	img_manifest_free(&m);

	/* Built by hand (what commit does): defaults filled in. */
	struct img_descriptor layer = {.media_type = IMG_MT_OCI_LAYER_GZIP, .digest = D_L0, .size = 10};
	struct img_manifest built = {
	    .config = {.media_type = IMG_MT_OCI_CONFIG, .digest = D_CFG, .size = 3},
	    .layers = &layer,
	    .n_layers = 1,
	};
	_cleanup_free_ char *b = img_manifest_to_json(&built);
	assert_string_equal(b,
			    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" D_CFG
			    "\",\"size\":3},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			    "\"digest\":\"" D_L0 "\",\"size\":10}]}");
	/* no layers: [] (OCI requires the array) */
	built.n_layers = 0;
	_cleanup_free_ char *b0 = img_manifest_to_json(&built);
	assert_non_null(strstr(b0, "\"layers\":[]}"));
	/* the digest is over these bytes */
	char d1[B_DIGEST_LEN + 1], d2[B_DIGEST_LEN + 1];
	b_sha256_of(b0, strlen(b0), d1);
	_cleanup_free_ char *b0again = img_manifest_to_json(&built);
	b_sha256_of(b0again, strlen(b0again), d2);
	assert_string_equal(d1, d2);
}

static void test_canonical_index(void **state)
{
	const char *docs[] = {oci_index, docker_list};
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		berr e = {0};
		struct img_index x, x2;
		assert_int_equal(img_index_parse(docs[i], strlen(docs[i]), &x, &e), 0);
		_cleanup_free_ char *j1 = img_index_to_json(&x);
		assert_non_null(j1);
		assert_int_equal(img_index_parse(j1, strlen(j1), &x2, &e), 0);
		_cleanup_free_ char *j2 = img_index_to_json(&x2);
		assert_string_equal(j1, j2);
		assert_int_equal(x2.n_manifests, x.n_manifests);
		for (size_t m = 0; m < x.n_manifests; m++) {
			assert_string_equal(x2.manifests[m].digest, x.manifests[m].digest);
			assert_int_equal(x2.manifests[m].has_platform, x.manifests[m].has_platform);
		}
		img_index_free(&x);
		img_index_free(&x2);
	}

	berr e = {0};
	struct img_index x;
	assert_int_equal(img_index_parse(docker_list, strlen(docker_list), &x, &e), 0);
	_cleanup_free_ char *j = img_index_to_json(&x);
	/* platform keys in the spec's order; os.version kept */
	assert_non_null(strstr(j, "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_DOCKER_LIST "\",\"manifests\":[{"
				  "\"mediaType\":\"" IMG_MT_DOCKER_MANIFEST "\",\"digest\":\"" DG(
				      "1") "\",\"size\":528,"
					   "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"));
	assert_non_null(strstr(j, "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v5\"}"));
	assert_non_null(strstr(
	    j, "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0.17763.5820\"}"));
	img_index_free(&x);

	/* OCI 1.1 fields survive: artifactType, subject, data */
	const char *ref =
	    "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\","
	    "\"artifactType\":\"application/vnd.example.sbom+json\","
	    "\"config\":{\"mediaType\":\"" IMG_MT_OCI_EMPTY "\",\"digest\":\"" DG(
		"4") "\",\"size\":2,\"data\":\"e30=\"},"
		     "\"layers\":[{\"mediaType\":\"application/vnd.example.sbom+json\",\"digest\":\"" D_L0
		     "\",\"size\":1234}],"
		     "\"subject\":{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" D_AMD "\",\"size\":1040}}";
	struct img_manifest m;
	assert_int_equal(img_manifest_parse(ref, strlen(ref), &m, &e), 0);
	assert_string_equal(m.artifact_type, "application/vnd.example.sbom+json");
	assert_string_equal(m.subject->digest, D_AMD);
	assert_string_equal(m.config.data, "e30=");
	_cleanup_free_ char *rj = img_manifest_to_json(&m);
	assert_string_equal(rj, ref);
	img_manifest_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oci_manifest),        cmocka_unit_test(test_docker_manifest),
	    cmocka_unit_test(test_no_media_type),       cmocka_unit_test(test_doc_kind),
	    cmocka_unit_test(test_bad_manifests),       cmocka_unit_test(test_bad_indexes),
	    cmocka_unit_test(test_oci_index),           cmocka_unit_test(test_select_buildx),
	    cmocka_unit_test(test_select_docker_list),  cmocka_unit_test(test_select_fallbacks),
	    cmocka_unit_test(test_select_host_default), cmocka_unit_test(test_platform_parse),
	    cmocka_unit_test(test_canonical_manifest),  cmocka_unit_test(test_canonical_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
