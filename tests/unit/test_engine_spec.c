/*
 * The engine's side of a create: Config merged with the image's, mounts parsed with Docker's rules
 * and messages, and the OCI spec built with Docker's defaults and each HostConfig option. Every spec
 * built here must be accepted by the runtime's own parser (and its seccomp profile by the runtime's
 * compiler): that is what lets berth-runtime run it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <linux/capability.h>

#include "engine/spec.h"
#include "engine/spec_internal.h"
#include "image/config.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "oci/caps.h"
#include "oci/seccomp.h"
#include "oci/spec.h"

#define ID "4f3a9c1e2b7d8a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29"

static char tmpdir[64];
static char rootfs[128];

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON (%s): %s", je.text, text);
	return j;
}

static void want_error(int r, berr *e, const char *want)
{
	assert_int_equal(r, -1);
	if (!strstr(berr_msg(e), want))
		fail_msg("error \"%s\" does not mention \"%s\"", berr_msg(e), want);
	berr_clear(e);
}

/* A JSON value and text compare equal (keys in any order). */
static void assert_json(json_t *got, const char *want_text)
{
	json_t *want = J(want_text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		fail_msg("got %s, want %s", g ? g : "(null)", want_text);
	}
	json_decref(want);
}

static bool str_in(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* ---------- images ---------- */

static void image_parse(const char *config, struct img_config *img)
{
	char *text = NULL;
	assert_true(asprintf(&text, "{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}, \"config\": %s}", config) >
		    0);
	berr e = {0};
	if (img_config_parse(text, strlen(text), img, &e) < 0)
		fail_msg("image config: %s", berr_msg(&e));
	free(text);
}

static json_t *merge_ok(const char *request, const char *image_config)
{
	struct img_config img = {0};
	if (image_config)
		image_parse(image_config, &img);
	json_t *req = request ? J(request) : NULL, *out = NULL;
	berr e = {0};
	if (eng_config_merge(req, image_config ? &img : NULL, "busybox", &out, &e) < 0)
		fail_msg("merge: %s", berr_msg(&e));
	json_decref(req);
	img_config_free(&img);
	return out;
}

static void merge_fails(const char *request, const char *want)
{
	json_t *req = J(request), *out = NULL;
	berr e = {0};
	want_error(eng_config_merge(req, NULL, "busybox", &out, &e), &e, want);
	assert_null(out);
	json_decref(req);
}

/* ---------- merge ---------- */

static void test_merge_shape(void **state)
{
	(void)state;
	json_t *m = merge_ok("{\"Cmd\": [\"sh\"], \"AttachStdout\": true}", NULL);
	/* The keys of inspect's Config, in Docker's order; omitempty ones absent. */
	static const char *const keys[] = {"Hostname",     "Domainname", "User",      "AttachStdin", "AttachStdout",
					   "AttachStderr", "Tty",        "OpenStdin", "StdinOnce",   "Env",
					   "Cmd",          "Image",      "Volumes",   "WorkingDir",  "Entrypoint",
					   "OnBuild",      "Labels",     NULL};
	void *it = json_object_iter(m);
	for (size_t i = 0; keys[i]; i++, it = json_object_iter_next(m, it)) {
		assert_non_null(it);
		assert_string_equal(json_object_iter_key(it), keys[i]);
	}
	assert_null(it);
	assert_json(json_object_get(m, "Cmd"), "[\"sh\"]");
	assert_true(json_is_true(json_object_get(m, "AttachStdout")));
	assert_string_equal(json_string_value(json_object_get(m, "Image")), "busybox");
	assert_true(json_is_null(json_object_get(m, "Env")));
	assert_true(json_is_null(json_object_get(m, "Entrypoint")));
	assert_json(json_object_get(m, "Labels"), "{}");
	json_decref(m);
}

static void test_merge_env(void **state)
{
	(void)state;
	const char *image = "{\"Env\": [\"PATH=/usr/bin:/bin\", \"A=image\", \"B=image\"]}";
	json_t *m = merge_ok("{\"Env\": [\"A=request\", \"C=request\"]}", image);
	assert_json(json_object_get(m, "Env"), "[\"A=request\", \"C=request\", \"PATH=/usr/bin:/bin\", \"B=image\"]");
	json_decref(m);
	m = merge_ok("{}", image);
	assert_json(json_object_get(m, "Env"), "[\"PATH=/usr/bin:/bin\", \"A=image\", \"B=image\"]");
	json_decref(m);
	/* A key without '=' in the request still shadows the image's. */
	m = merge_ok("{\"Env\": [\"A\"]}", image);
	assert_json(json_object_get(m, "Env"), "[\"A\", \"PATH=/usr/bin:/bin\", \"B=image\"]");
	json_decref(m);
}

static void test_merge_cmd_entrypoint(void **state)
{
	(void)state;
	const char *image = "{\"Entrypoint\": [\"/ep\"], \"Cmd\": [\"img-cmd\"]}";
	json_t *m = merge_ok("{}", image);
	assert_json(json_object_get(m, "Entrypoint"), "[\"/ep\"]");
	assert_json(json_object_get(m, "Cmd"), "[\"img-cmd\"]");
	json_decref(m);

	m = merge_ok("{\"Cmd\": [\"mine\"]}", image);
	assert_json(json_object_get(m, "Entrypoint"), "[\"/ep\"]");
	assert_json(json_object_get(m, "Cmd"), "[\"mine\"]");
	json_decref(m);

	/* An Entrypoint in the request drops the image's Cmd... */
	m = merge_ok("{\"Entrypoint\": [\"/other\"]}", image);
	assert_json(json_object_get(m, "Entrypoint"), "[\"/other\"]");
	assert_true(json_is_null(json_object_get(m, "Cmd")));
	json_decref(m);

	/* ...unless Cmd is given too. */
	m = merge_ok("{\"Entrypoint\": [\"/other\"], \"Cmd\": [\"x\"]}", image);
	assert_json(json_object_get(m, "Cmd"), "[\"x\"]");
	json_decref(m);

	/* --entrypoint "": no entrypoint at all, and not the image's Cmd either. */
	m = merge_ok("{\"Entrypoint\": [\"\"]}", image);
	assert_true(json_is_null(json_object_get(m, "Entrypoint")));
	assert_true(json_is_null(json_object_get(m, "Cmd")));
	json_decref(m);

	/* A string is a one-element list (Docker's StrSlice). */
	m = merge_ok("{\"Cmd\": \"echo hi\"}", NULL);
	assert_json(json_object_get(m, "Cmd"), "[\"echo hi\"]");
	json_decref(m);

	/* An empty Cmd takes the image's. */
	m = merge_ok("{\"Cmd\": []}", image);
	assert_json(json_object_get(m, "Cmd"), "[\"img-cmd\"]");
	json_decref(m);
}

static void test_merge_fields(void **state)
{
	(void)state;
	const char *image =
	    "{\"User\": \"daemon\", \"WorkingDir\": \"/srv\", \"StopSignal\": \"SIGQUIT\","
	    " \"Labels\": {\"a\": \"image\", \"b\": \"image\"}, \"Volumes\": {\"/data\": {}},"
	    " \"ExposedPorts\": {\"80/tcp\": {}}, \"OnBuild\": [\"RUN true\"],"
	    " \"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], \"Interval\": 5000000000, \"Retries\": 3}}";
	json_t *m = merge_ok("{}", image);
	assert_string_equal(json_string_value(json_object_get(m, "User")), "daemon");
	assert_string_equal(json_string_value(json_object_get(m, "WorkingDir")), "/srv");
	assert_string_equal(json_string_value(json_object_get(m, "StopSignal")), "SIGQUIT");
	assert_json(json_object_get(m, "Labels"), "{\"a\": \"image\", \"b\": \"image\"}");
	assert_json(json_object_get(m, "Volumes"), "{\"/data\": {}}");
	assert_json(json_object_get(m, "ExposedPorts"), "{\"80/tcp\": {}}");
	assert_true(json_is_null(json_object_get(m, "OnBuild")));
	assert_json(json_object_get(m, "Healthcheck"),
		    "{\"Test\": [\"CMD\", \"true\"], \"Interval\": 5000000000, \"Retries\": 3}");
	assert_null(json_object_get(m, "StopTimeout"));
	json_decref(m);

	m = merge_ok("{\"User\": \"1000\", \"WorkingDir\": \"/w\", \"StopSignal\": \"SIGTERM\", \"StopTimeout\": 3,"
		     " \"Labels\": {\"a\": \"mine\"}, \"Volumes\": {\"/logs\": {}}, \"ExposedPorts\": {\"53/udp\": {}},"
		     " \"Healthcheck\": {\"Timeout\": 2000000000}, \"Hostname\": \"h\", \"Domainname\": \"d\","
		     " \"Tty\": true, \"OpenStdin\": true}",
		     image);
	assert_string_equal(json_string_value(json_object_get(m, "User")), "1000");
	assert_string_equal(json_string_value(json_object_get(m, "WorkingDir")), "/w");
	assert_string_equal(json_string_value(json_object_get(m, "StopSignal")), "SIGTERM");
	assert_int_equal(json_integer_value(json_object_get(m, "StopTimeout")), 3);
	assert_json(json_object_get(m, "Labels"), "{\"a\": \"mine\", \"b\": \"image\"}");
	assert_json(json_object_get(m, "Volumes"), "{\"/logs\": {}, \"/data\": {}}");
	assert_json(json_object_get(m, "ExposedPorts"), "{\"53/udp\": {}, \"80/tcp\": {}}");
	/* The image's Healthcheck fills what the request's left at zero. */
	assert_json(json_object_get(m, "Healthcheck"), "{\"Test\": [\"CMD\", \"true\"], \"Timeout\": 2000000000,"
						       " \"Interval\": 5000000000, \"Retries\": 3}");
	assert_string_equal(json_string_value(json_object_get(m, "Hostname")), "h");
	assert_string_equal(json_string_value(json_object_get(m, "Domainname")), "d");
	assert_true(json_is_true(json_object_get(m, "Tty")));
	json_decref(m);
}

static void test_merge_errors(void **state)
{
	(void)state;
	merge_fails("{\"Env\": \"A=1\"}", "Config.Env: expected an array, got a string");
	merge_fails("{\"Env\": [1]}", "Config.Env[0]: expected a string, got an integer");
	merge_fails("{\"Cmd\": {}}", "Config.Cmd: expected an array of strings, got an object");
	merge_fails("{\"Tty\": \"yes\"}", "Config.Tty: expected a boolean, got a string");
	merge_fails("{\"Labels\": {\"a\": 1}}", "Config.Labels.a: expected a string");
	merge_fails("{\"ExposedPorts\": {\"http/tcp\": {}}}", "invalid port specification: \"http\"");
	merge_fails("{\"ExposedPorts\": {\"70000/tcp\": {}}}", "invalid port specification: \"70000\"");
	merge_fails("{\"WorkingDir\": \"rel\"}",
		    "the working directory 'rel' is invalid, it needs to be an absolute path");
	merge_fails("{\"Healthcheck\": {\"Interval\": 10}}", "Interval in Healthcheck cannot be less than 1ms");
	merge_fails("{\"Healthcheck\": {\"Retries\": -1}}", "Retries in Healthcheck cannot be negative");
	merge_fails("[]", "Config: expected an object, got an array");
}

/* ---------- mounts ---------- */

static struct eng_mount *mounts_ok(const char *hc, const char *config, size_t *n)
{
	json_t *h = hc ? J(hc) : NULL, *c = config ? J(config) : NULL;
	struct eng_mount *m = NULL;
	berr e = {0};
	if (eng_mounts_parse(h, c, &m, n, &e) < 0)
		fail_msg("mounts: %s", berr_msg(&e));
	json_decref(h);
	json_decref(c);
	return m;
}

static void mounts_fail(const char *hc, const char *config, const char *want)
{
	json_t *h = J(hc), *c = config ? J(config) : NULL;
	struct eng_mount *m = NULL;
	size_t n = 99;
	berr e = {0};
	int r = eng_mounts_parse(h, c, &m, &n, &e);
	if (r == 0)
		fail_msg("%s: parsed, expected \"%s\"", hc, want);
	want_error(r, &e, want);
	assert_null(m);
	json_decref(h);
	json_decref(c);
}

static void bind_fails(const char *bind, const char *want)
{
	json_t *h = json_pack("{s:[s]}", "Binds", bind);
	struct eng_mount *m = NULL;
	size_t n;
	berr e = {0};
	int r = eng_mounts_parse(h, NULL, &m, &n, &e);
	if (r == 0)
		fail_msg("bind \"%s\" parsed, expected \"%s\"", bind, want);
	want_error(r, &e, want);
	json_decref(h);
}

static void test_mounts_binds(void **state)
{
	(void)state;
	size_t n;
	struct eng_mount *m = mounts_ok(
	    "{\"Binds\": [\"/srv/a/:/data//x\", \"/srv/b:/ro:ro,rshared\", \"myvol:/v\", \"vol2:/w:nocopy,ro\","
	    " \"/anon\", \"/srv/c:/z:Z,rw,cached\"]}",
	    NULL, &n);
	assert_int_equal(n, 6);
	assert_int_equal(m[0].type, ENG_MOUNT_BIND);
	assert_string_equal(m[0].source, "/srv/a");
	assert_string_equal(m[0].destination, "/data/x");
	assert_false(m[0].read_only);
	assert_string_equal(m[0].propagation, "rprivate");
	assert_true(m[0].create_source);
	assert_true(m[1].read_only);
	assert_string_equal(m[1].propagation, "rshared");
	assert_int_equal(m[2].type, ENG_MOUNT_VOLUME);
	assert_string_equal(m[2].source, "myvol");
	assert_null(m[2].propagation);
	assert_true(m[3].no_copy);
	assert_true(m[3].read_only);
	assert_int_equal(m[4].type, ENG_MOUNT_VOLUME);
	assert_null(m[4].source);
	assert_string_equal(m[4].destination, "/anon");
	assert_false(m[5].read_only);
	eng_mounts_free(m, n);
}

static void test_mounts_bind_errors(void **state)
{
	(void)state;
	bind_fails("", "invalid volume specification: ''");
	bind_fails(":/x", "invalid volume specification: ':/x'");
	bind_fails("/foo:rw", "invalid volume specification: '/foo:rw'");
	bind_fails("/a:/b:c:d", "invalid volume specification: '/a:/b:c:d'");
	bind_fails("/a:/b:xyz", "invalid mode: xyz");
	bind_fails("/a:/b:ro,rw", "invalid mode: ro,rw");
	bind_fails("/a:b",
		   "invalid volume specification: '/a:b': invalid mount config for type \"bind\": invalid mount "
		   "path: 'b' mount path must be absolute");
	bind_fails("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid "
			   "specification: destination can't be '/'");
	bind_fails("/a:/b:nocopy", "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
	bind_fails("vol:/b:rshared",
		   "invalid mount config for type \"volume\": field BindOptions must not be specified");
	bind_fails("v:/b", "volume name is too short, names should be at least two alphanumeric characters");
	bind_fails("a$b:/b", "\"a$b\" includes invalid characters for a local volume name");
}

static void test_mounts_api(void **state)
{
	(void)state;
	size_t n;
	char hc[512];
	snprintf(
	    hc, sizeof hc,
	    "{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/host\", \"ReadOnly\": true,"
	    " \"BindOptions\": {\"Propagation\": \"rslave\", \"NonRecursive\": true}},"
	    " {\"Type\": \"volume\", \"Source\": \"data\", \"Target\": \"/data\", \"VolumeOptions\": {\"NoCopy\": "
	    "true}},"
	    " {\"Type\": \"volume\", \"Target\": \"/anon\"},"
	    " {\"Type\": \"tmpfs\", \"Target\": \"/t\", \"TmpfsOptions\": {\"SizeBytes\": 67108864, \"Mode\": 1023}}]}",
	    tmpdir);
	struct eng_mount *m = mounts_ok(hc, NULL, &n);
	assert_int_equal(n, 4);
	assert_int_equal(m[0].type, ENG_MOUNT_BIND);
	assert_string_equal(m[0].source, tmpdir);
	assert_true(m[0].read_only);
	assert_true(m[0].non_recursive);
	assert_false(m[0].create_source);
	assert_string_equal(m[0].propagation, "rslave");
	assert_int_equal(m[1].type, ENG_MOUNT_VOLUME);
	assert_true(m[1].no_copy);
	assert_null(m[2].source);
	assert_int_equal(m[3].type, ENG_MOUNT_TMPFS);
	assert_string_equal(m[3].options, "mode=1777,size=64m");
	eng_mounts_free(m, n);

	mounts_fail("{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"/nonexistent-berth\", \"Target\": \"/x\"}]}",
		    NULL,
		    "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-berth");
	mounts_fail("{\"Mounts\": [{\"Type\": \"bind\", \"Target\": \"/x\"}]}", NULL,
		    "invalid mount config for type \"bind\": field Source must not be empty");
	mounts_fail("{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"/\"}]}", NULL,
		    "invalid mount config for type \"bind\": field Target must not be empty");
	mounts_fail("{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/x\","
		    " \"BindOptions\": {\"Propagation\": \"sideways\"}}]}",
		    NULL, "invalid mount config for type \"bind\": invalid propagation mode: sideways");
	mounts_fail(
	    "{\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"/\", \"Target\": \"/x\", \"VolumeOptions\": {}}]}", NULL,
	    "invalid mount config for type \"bind\": field VolumeOptions must not be specified");
	mounts_fail("{\"Mounts\": [{\"Type\": \"tmpfs\", \"Source\": \"x\", \"Target\": \"/x\"}]}", NULL,
		    "invalid mount config for type \"tmpfs\": field Source must not be specified");
	mounts_fail(
	    "{\"Mounts\": [{\"Type\": \"volume\", \"Target\": \"/x\", \"ReadOnly\": true}]}", NULL,
	    "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes");
	mounts_fail("{\"Mounts\": [{\"Type\": \"npipe\", \"Target\": \"/x\"}]}", NULL,
		    "invalid mount config for type \"npipe\": mount type unknown");
	mounts_fail("{\"Mounts\": [{\"Type\": \"volume\", \"Target\": \"x\"}]}", NULL,
		    "invalid mount config for type \"volume\": invalid mount path: 'x' mount path must be absolute");
	mounts_fail("{\"Mounts\": [1]}", NULL, "HostConfig.Mounts[0]: expected an object, got an integer");
}

static void test_mounts_tmpfs_and_volumes(void **state)
{
	(void)state;
	size_t n;
	struct eng_mount *m = mounts_ok("{\"Tmpfs\": {\"/run\": \"size=1m,exec\", \"/ro\": \"ro\"},"
					" \"Binds\": [\"/srv:/data\"]}",
					"{\"Volumes\": {\"/data\": {}, \"/run\": {}, \"/cache/\": {}}}", &n);
	/* Binds, then Tmpfs, then the volumes nothing covers. */
	assert_int_equal(n, 4);
	assert_string_equal(m[0].destination, "/data");
	assert_int_equal(m[1].type, ENG_MOUNT_TMPFS);
	assert_string_equal(m[1].destination, "/run");
	assert_string_equal(m[1].options, "size=1m,exec");
	assert_false(m[1].read_only);
	assert_string_equal(m[2].destination, "/ro");
	assert_true(m[2].read_only);
	assert_int_equal(m[3].type, ENG_MOUNT_VOLUME);
	assert_string_equal(m[3].destination, "/cache");
	assert_null(m[3].source);
	eng_mounts_free(m, n);

	/* Nothing at all is an empty list, not an error. */
	m = mounts_ok(NULL, NULL, &n);
	assert_non_null(m);
	assert_int_equal(n, 0);
	eng_mounts_free(m, n);

	mounts_fail("{\"Tmpfs\": {\"/run\": \"size=1m,foo\"}}", NULL, "Invalid tmpfs option [\"foo\"]");
	mounts_fail("{\"Tmpfs\": {\"run\": \"\"}}", NULL, "invalid mount path: 'run' mount path must be absolute");
	mounts_fail("{\"Tmpfs\": {\"/\": \"\"}}", NULL, "invalid specification: destination can't be '/'");
	mounts_fail("{}", "{\"Volumes\": {\"rel\": {}}}", "invalid mount path: 'rel' mount path must be absolute");
}

static void test_mounts_duplicates(void **state)
{
	(void)state;
	mounts_fail("{\"Binds\": [\"/a:/data\", \"/b:/data/\"]}", NULL, "Duplicate mount point: /data");
	mounts_fail("{\"Binds\": [\"/a:/run\"], \"Tmpfs\": {\"/run\": \"\"}}", NULL, "Duplicate mount point: /run");
	mounts_fail("{\"Binds\": [\"v1:/data\"], \"Mounts\": [{\"Type\": \"volume\", \"Target\": \"/data\"}]}", NULL,
		    "Duplicate mount point: /data");
	mounts_fail("{\"Mounts\": [{\"Type\": \"tmpfs\", \"Target\": \"/t\"}], \"Tmpfs\": {\"/t\": \"\"}}", NULL,
		    "Duplicate mount point: /t");
}

static void test_tmpfs_options(void **state)
{
	(void)state;
	json_t *o = NULL;
	berr e = {0};
	assert_int_equal(eng_tmpfs_options("size=1m,exec,mode=700,size=2m", true, &o, &e), 0);
	/* The last of a kind wins: exec over noexec, size=2m over size=1m; "ro" appended last. */
	assert_json(o, "[\"nosuid\", \"nodev\", \"rprivate\", \"exec\", \"mode=700\", \"size=2m\", \"ro\"]");
	json_decref(o);
	assert_int_equal(eng_tmpfs_options(NULL, false, &o, &e), 0);
	assert_json(o, "[\"noexec\", \"nosuid\", \"nodev\", \"rprivate\"]");
	json_decref(o);
	want_error(eng_tmpfs_options("bogus=1", false, &o, &e), &e, "Invalid tmpfs option [\"bogus=1\"]");
}

/* ---------- specs ---------- */

/* The built spec, checked by the runtime's parser and (when there is one) its seccomp compiler. */
static json_t *runtime_accepts(json_t *spec)
{
	char *text = json_dumps(spec, JSON_COMPACT);
	assert_non_null(text);
	struct oci_spec *s = NULL;
	berr e = {0};
	if (oci_spec_parse(text, &s, &e) < 0)
		fail_msg("the runtime refuses the spec: %s\n%s", berr_msg(&e), text);
	if (s->linux_.seccomp) {
		struct oci_seccomp_filter *f = NULL;
		if (oci_seccomp_prepare(s->linux_.seccomp, &f, &e) < 0)
			fail_msg("the runtime cannot compile the seccomp profile: %s", berr_msg(&e));
		oci_seccomp_filter_free(f);
	}
	oci_spec_free(s);
	free(text);
	return spec;
}

/* Build from a request's Config and HostConfig as the daemon does: merge, mounts, spec. */
static int build(const char *config, const char *hc, json_t **spec, berr *e)
{
	json_t *c = J(config ? config : "{\"Cmd\": [\"sh\"]}"), *h = hc ? J(hc) : NULL, *merged = NULL;
	struct eng_mount *m = NULL;
	size_t n = 0;
	int r = eng_config_merge(c, NULL, "busybox", &merged, e);
	if (r == 0)
		r = eng_mounts_parse(h, merged, &m, &n, e);
	/* Volumes stand for directories of the daemon's: here, the temp dir. */
	for (size_t i = 0; r == 0 && i < n; i++)
		if (m[i].type == ENG_MOUNT_VOLUME) {
			free(m[i].source);
			m[i].source = strdup(tmpdir);
			m[i].type = ENG_MOUNT_BIND;
		}
	if (r == 0) {
		struct eng_spec_input in = {.id = ID,
					    .config = merged,
					    .host_config = h,
					    .rootfs = rootfs,
					    .hostname_path = "/etc/hostname",
					    .hosts_path = "/etc/hosts",
					    .resolv_conf_path = "/etc/resolv.conf",
					    .mounts = m,
					    .n_mounts = n};
		r = eng_spec_build(&in, spec, e);
	}
	eng_mounts_free(m, n);
	json_decref(merged);
	json_decref(c);
	json_decref(h);
	return r;
}

static json_t *spec_ok(const char *config, const char *hc)
{
	json_t *s = NULL;
	berr e = {0};
	if (build(config, hc, &s, &e) < 0)
		fail_msg("spec: %s", berr_msg(&e));
	return runtime_accepts(s);
}

static void spec_fails(const char *config, const char *hc, const char *want)
{
	json_t *s = NULL;
	berr e = {0};
	int r = build(config, hc, &s, &e);
	if (r == 0)
		fail_msg("built a spec for %s, expected \"%s\"", hc ? hc : config, want);
	want_error(r, &e, want);
	assert_null(s);
}

static json_t *path(json_t *j, const char *p)
{
	_cleanup_free_ char *copy = strdup(p);
	char *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
		j = json_object_get(j, k);
	return j;
}

static json_t *find_mount(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(spec, "mounts"), i, m)
		if (!strcmp(json_string_value(json_object_get(m, "destination")), dest))
			return m;
	return NULL;
}

static bool has_ns(json_t *spec, const char *type)
{
	size_t i;
	json_t *ns;
	json_array_foreach (path(spec, "linux.namespaces"), i, ns)
		if (!strcmp(json_string_value(json_object_get(ns, "type")), type))
			return true;
	return false;
}

static uint64_t caps_of(json_t *list)
{
	uint64_t m = 0;
	berr e = {0};
	assert_int_equal(oci_caps_parse_list(list, "test", &m, &e), 0);
	return m;
}

static void test_spec_defaults(void **state)
{
	(void)state;
	json_t *s = spec_ok("{\"Cmd\": [\"echo\", \"hi\"], \"Env\": [\"A=1\"]}", NULL);
	assert_string_equal(json_string_value(path(s, "ociVersion")), "1.0.2-dev");
	assert_string_equal(json_string_value(path(s, "root.path")), rootfs);
	assert_false(json_is_true(path(s, "root.readonly")));
	assert_string_equal(json_string_value(path(s, "hostname")), "4f3a9c1e2b7d");
	assert_json(path(s, "process.args"), "[\"echo\", \"hi\"]");
	assert_json(path(s, "process.env"), "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
					    " \"HOSTNAME=4f3a9c1e2b7d\", \"A=1\"]");
	assert_string_equal(json_string_value(path(s, "process.cwd")), "/");
	assert_false(json_is_true(path(s, "process.terminal")));
	assert_false(json_is_true(path(s, "process.noNewPrivileges")));
	assert_int_equal(json_integer_value(path(s, "process.user.uid")), 0);
	assert_int_equal(json_integer_value(path(s, "process.user.gid")), 0);
	/* root is listed in "wheel" (10) of the fake rootfs */
	assert_json(path(s, "process.user.additionalGids"), "[0, 10]");

	/* Docker's 14 capabilities in bounding, effective and permitted; no inheritable, no ambient. */
	uint64_t want = eng_caps_default() & eng_caps_all();
	assert_int_equal(__builtin_popcountll(eng_caps_default()), 14);
	assert_true(caps_of(path(s, "process.capabilities.bounding")) == want);
	assert_true(caps_of(path(s, "process.capabilities.effective")) == want);
	assert_true(caps_of(path(s, "process.capabilities.permitted")) == want);
	assert_null(path(s, "process.capabilities.inheritable"));
	assert_null(path(s, "process.capabilities.ambient"));
	assert_true(str_in(path(s, "process.capabilities.bounding"), "CAP_NET_BIND_SERVICE"));
	assert_false(str_in(path(s, "process.capabilities.bounding"), "CAP_SYS_ADMIN"));

	/* Namespaces: mount, network, uts, pid, ipc; no user namespace. */
	assert_true(has_ns(s, "mount") && has_ns(s, "network") && has_ns(s, "uts") && has_ns(s, "pid") &&
		    has_ns(s, "ipc"));
	assert_false(has_ns(s, "user"));

	/* Mounts, with Docker's options. */
	assert_json(json_object_get(find_mount(s, "/proc"), "options"), "[\"nosuid\", \"noexec\", \"nodev\"]");
	assert_json(find_mount(s, "/dev"),
		    "{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
		    " \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}");
	assert_non_null(find_mount(s, "/dev/pts"));
	assert_non_null(find_mount(s, "/dev/mqueue"));
	assert_json(json_object_get(find_mount(s, "/sys"), "options"), "[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]");
	assert_true(str_in(json_object_get(find_mount(s, "/sys/fs/cgroup"), "options"), "ro"));
	assert_json(json_object_get(find_mount(s, "/dev/shm"), "options"),
		    "[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=67108864\"]");
	assert_json(find_mount(s, "/etc/hosts"), "{\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\":"
						 " \"/etc/hosts\", \"options\": [\"rbind\", \"rprivate\"]}");
	assert_non_null(find_mount(s, "/etc/resolv.conf"));
	assert_non_null(find_mount(s, "/etc/hostname"));

	/* Masked and read-only paths. */
	static const char *const masked[] = {"/proc/asound",
					     "/proc/acpi",
					     "/proc/kcore",
					     "/proc/keys",
					     "/proc/latency_stats",
					     "/proc/timer_list",
					     "/proc/timer_stats",
					     "/proc/sched_debug",
					     "/proc/scsi",
					     "/sys/firmware",
					     NULL};
	for (const char *const *p = masked; *p; p++)
		assert_true(str_in(path(s, "linux.maskedPaths"), *p));
	assert_json(path(s, "linux.readonlyPaths"),
		    "[\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]");

	/* Devices: deny all, then Docker's list. */
	json_t *rules = path(s, "linux.resources.devices");
	assert_json(json_array_get(rules, 0), "{\"allow\": false, \"access\": \"rwm\"}");
	assert_json(json_array_get(rules, 2), "{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3,"
					      " \"access\": \"rwm\"}");
	assert_null(path(s, "linux.devices"));

	assert_string_equal(json_string_value(path(s, "linux.cgroupsPath")), "/berth/berth-" ID);
	assert_json(
	    path(s, "linux.sysctl"),
	    "{\"net.ipv4.ping_group_range\": \"0 2147483647\", \"net.ipv4.ip_unprivileged_port_start\": \"0\"}");
	assert_int_equal(json_integer_value(path(s, "process.oomScoreAdj")), 0);
	assert_null(path(s, "process.rlimits"));
	json_decref(s);
}

static json_t *rule_named(json_t *seccomp, const char *name)
{
	size_t i;
	json_t *r;
	json_array_foreach (json_object_get(seccomp, "syscalls"), i, r)
		if (str_in(json_object_get(r, "names"), name))
			return r;
	return NULL;
}

static void test_spec_seccomp_default(void **state)
{
	(void)state;
	json_t *s = spec_ok(NULL, NULL);
	json_t *sc = path(s, "linux.seccomp");
	assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), EPERM);
#if defined(__x86_64__)
	assert_json(json_object_get(sc, "architectures"),
		    "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]");
	assert_non_null(rule_named(sc, "arch_prctl"));
#endif
	/* Ordinary calls allowed; the CAP_SYS_ADMIN ones not, clone only without namespace flags. */
	static const char *const allowed[] = {"read",   "write",  "openat",         "execve", "futex",  "epoll_pwait",
					      "setuid", "ptrace", "io_uring_setup", "statx",  "capset", NULL};
	for (const char *const *n = allowed; *n; n++) {
		json_t *r = rule_named(sc, *n);
		if (!r)
			fail_msg("%s is not allowed", *n);
		assert_null(json_object_get(r, "args"));
	}
	static const char *const refused[] = {"mount",      "umount2",     "unshare", "setns",  "reboot",
					      "kexec_load", "init_module", "bpf",     "keyctl", "add_key",
					      "pivot_root", "swapon",      NULL};
	for (const char *const *n = refused; *n; n++)
		if (rule_named(sc, *n))
			fail_msg("%s is allowed", *n);
	json_t *clone = rule_named(sc, "clone");
	assert_non_null(clone);
	assert_json(json_object_get(clone, "args"),
		    "[{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"}]");
	json_t *clone3 = rule_named(sc, "clone3");
	assert_string_equal(json_string_value(json_object_get(clone3, "action")), "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
	json_t *socket = rule_named(sc, "socket");
	assert_json(json_object_get(socket, "args"),
		    "[{\"index\": 0, \"value\": 40, \"valueTwo\": 0, \"op\": \"SCMP_CMP_NE\"}]");
	json_t *pers = rule_named(sc, "personality");
	assert_non_null(pers);
	json_decref(s);

	/* CAP_SYS_ADMIN and CAP_SYS_CHROOT open their calls; clone is then free. */
	if (eng_caps_all() >> CAP_SYS_ADMIN & 1) {
		s = spec_ok(NULL, "{\"CapAdd\": [\"SYS_ADMIN\"], \"CapDrop\": [\"SYS_CHROOT\"]}");
		sc = path(s, "linux.seccomp");
		assert_non_null(rule_named(sc, "mount"));
		assert_non_null(rule_named(sc, "unshare"));
		assert_null(rule_named(sc, "chroot"));
		clone = rule_named(sc, "clone");
		assert_null(json_object_get(clone, "args"));
		assert_string_equal(json_string_value(json_object_get(rule_named(sc, "clone3"), "action")),
				    "SCMP_ACT_ALLOW");
		json_decref(s);
	}
	s = spec_ok(NULL, "{\"CapAdd\": [\"sys_ptrace\", \"CAP_SYS_TIME\"]}");
	sc = path(s, "linux.seccomp");
	assert_non_null(rule_named(sc, "kcmp"));
	assert_non_null(rule_named(sc, "clock_settime"));
	json_decref(s);
}

static void test_spec_security_opts(void **state)
{
	(void)state;
	json_t *s = spec_ok(NULL, "{\"SecurityOpt\": [\"no-new-privileges\", \"seccomp=unconfined\"]}");
	assert_true(json_is_true(path(s, "process.noNewPrivileges")));
	assert_null(path(s, "linux.seccomp"));
	json_decref(s);
	s = spec_ok(NULL,
		    "{\"SecurityOpt\": [\"no-new-privileges:true\", \"label=disable\", \"apparmor=unconfined\"]}");
	assert_true(json_is_true(path(s, "process.noNewPrivileges")));
	assert_non_null(path(s, "linux.seccomp"));
	json_decref(s);
	s = spec_ok(NULL, "{\"SecurityOpt\": [\"no-new-privileges=false\", \"systempaths=unconfined\"]}");
	assert_false(json_is_true(path(s, "process.noNewPrivileges")));
	assert_null(path(s, "linux.maskedPaths"));
	assert_null(path(s, "linux.readonlyPaths"));
	json_decref(s);

	/* An inline profile in Docker's format. */
	json_t *profile = J(
	    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
	    " \"subArchitectures\": [\"SCMP_ARCH_X86\"]}, {\"architecture\": \"SCMP_ARCH_AARCH64\","
	    " \"subArchitectures\": [\"SCMP_ARCH_ARM\"]}],"
	    " \"syscalls\": [{\"name\": \"mkdir\", \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},"
	    " {\"names\": [\"chroot\"], \"action\": \"SCMP_ACT_ERRNO\", \"excludes\": {\"caps\": "
	    "[\"CAP_SYS_CHROOT\"]}},"
	    " {\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
	    " {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"3.0\"}}]}");
	char *ptext = json_dumps(profile, JSON_COMPACT);
	json_t *hc = json_pack("{s:[s+]}", "SecurityOpt", "seccomp=", ptext);
	char *hctext = json_dumps(hc, JSON_COMPACT);
	s = spec_ok(NULL, hctext);
	json_t *sc = path(s, "linux.seccomp");
	assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ALLOW");
#if defined(__x86_64__)
	assert_json(json_object_get(sc, "architectures"), "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"]");
#endif
	assert_json(json_object_get(sc, "syscalls"), "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", "
						     "\"errnoRet\": 1}, {\"names\": [\"getpid\"], \"action\": "
						     "\"SCMP_ACT_ERRNO\"}]");
	json_decref(s);
	free(ptext);
	free(hctext);
	json_decref(hc);
	json_decref(profile);

	spec_fails(NULL, "{\"SecurityOpt\": [\"seccomp={bad\"]}", "Decoding seccomp profile failed");
	spec_fails(NULL, "{\"SecurityOpt\": [\"foo=bar\"]}", "invalid --security-opt 2: \"foo=bar\"");
	spec_fails(NULL, "{\"SecurityOpt\": [\"nonsense\"]}", "invalid --security-opt 1: \"nonsense\"");
	spec_fails(NULL, "{\"SecurityOpt\": [\"no-new-privileges=maybe\"]}", "invalid --security-opt 2");
	spec_fails(
	    NULL,
	    "{\"SecurityOpt\": [\"seccomp={\\\"defaultAction\\\": \\\"SCMP_ACT_ALLOW\\\", \\\"syscalls\\\":"
	    " [{\\\"name\\\": \\\"a\\\", \\\"names\\\": [\\\"b\\\"], \\\"action\\\": \\\"SCMP_ACT_ALLOW\\\"}]}\"]}",
	    "use either 'name' or 'names'");
}

static void test_spec_capabilities(void **state)
{
	(void)state;
	uint64_t all = eng_caps_all();
	json_t *s = spec_ok(NULL, "{\"CapAdd\": [\"ALL\"], \"CapDrop\": [\"net_raw\", \"CAP_MKNOD\"]}");
	uint64_t got = caps_of(path(s, "process.capabilities.bounding"));
	assert_true(got == (all & ~((UINT64_C(1) << CAP_NET_RAW) | (UINT64_C(1) << CAP_MKNOD))));
	json_decref(s);

	s = spec_ok(NULL, "{\"CapDrop\": [\"all\"], \"CapAdd\": [\"chown\"]}");
	assert_json(path(s, "process.capabilities.bounding"), "[\"CAP_CHOWN\"]");
	json_decref(s);

	s = spec_ok(NULL, "{\"CapDrop\": [\"CHOWN\", \"KILL\"], \"CapAdd\": [\"NET_ADMIN\"]}");
	json_t *b = path(s, "process.capabilities.bounding");
	assert_false(str_in(b, "CAP_CHOWN"));
	assert_false(str_in(b, "CAP_KILL"));
	assert_true(str_in(b, "CAP_NET_ADMIN"));
	assert_true(str_in(b, "CAP_SETUID"));
	json_decref(s);

	spec_fails(NULL, "{\"CapAdd\": [\"FOO\"]}", "unknown capability: \"CAP_FOO\"");
	spec_fails(NULL, "{\"CapDrop\": [\"cap_bar\"]}", "unknown capability: \"CAP_BAR\"");
	/* One this daemon cannot hand on (this machine's bounding set lacks CAP_SYS_RESOURCE). */
	if (!(all >> CAP_SYS_RESOURCE & 1))
		spec_fails(NULL, "{\"CapAdd\": [\"SYS_RESOURCE\"]}", "CAP_SYS_RESOURCE cannot be added");
}

static void test_spec_privileged(void **state)
{
	(void)state;
	json_t *s = spec_ok(NULL, "{\"Privileged\": true, \"CapDrop\": [\"ALL\"]}");
	/* Every capability of the bounding set, whatever CapDrop says. */
	assert_true(caps_of(path(s, "process.capabilities.bounding")) == eng_caps_all());
	assert_true(caps_of(path(s, "process.capabilities.effective")) == eng_caps_all());
	assert_null(path(s, "linux.seccomp"));
	assert_null(path(s, "linux.maskedPaths"));
	assert_null(path(s, "linux.readonlyPaths"));
	assert_false(str_in(json_object_get(find_mount(s, "/sys"), "options"), "ro"));
	assert_false(str_in(json_object_get(find_mount(s, "/sys/fs/cgroup"), "options"), "ro"));
	assert_json(path(s, "linux.resources.devices"), "[{\"allow\": true, \"access\": \"rwm\"}]");
	/* The host's devices, /dev/null among them. */
	json_t *null_dev = NULL;
	size_t i;
	json_t *d;
	json_array_foreach (path(s, "linux.devices"), i, d)
		if (!strcmp(json_string_value(json_object_get(d, "path")), "/dev/null"))
			null_dev = d;
	assert_non_null(null_dev);
	assert_int_equal(json_integer_value(json_object_get(null_dev, "major")), 1);
	assert_int_equal(json_integer_value(json_object_get(null_dev, "minor")), 3);
	json_decref(s);
}

static void test_spec_resources(void **state)
{
	(void)state;
	json_t *s =
	    spec_ok(NULL, "{\"Memory\": 33554432, \"MemoryReservation\": 16777216, \"MemorySwappiness\": 10,"
			  " \"NanoCpus\": 500000000, \"CpuShares\": 512, \"CpusetCpus\": \"0\", \"CpusetMems\": \"0\","
			  " \"PidsLimit\": 20, \"BlkioWeight\": 300, \"OomKillDisable\": true}");
	json_t *mem = path(s, "linux.resources.memory");
	assert_int_equal(json_integer_value(json_object_get(mem, "limit")), 33554432);
	assert_int_equal(json_integer_value(json_object_get(mem, "reservation")), 16777216);
	assert_int_equal(json_integer_value(json_object_get(mem, "swappiness")), 10);
	assert_true(json_is_true(json_object_get(mem, "disableOOMKiller")));
	/* Swap defaults to twice the memory where the kernel limits swap. */
	json_t *swap = json_object_get(mem, "swap");
	if (swap)
		assert_int_equal(json_integer_value(swap), 67108864);
	json_t *cpu = path(s, "linux.resources.cpu");
	assert_int_equal(json_integer_value(json_object_get(cpu, "period")), 100000);
	assert_int_equal(json_integer_value(json_object_get(cpu, "quota")), 50000);
	assert_int_equal(json_integer_value(json_object_get(cpu, "shares")), 512);
	assert_string_equal(json_string_value(json_object_get(cpu, "cpus")), "0");
	assert_string_equal(json_string_value(json_object_get(cpu, "mems")), "0");
	assert_int_equal(json_integer_value(path(s, "linux.resources.pids.limit")), 20);
	assert_int_equal(json_integer_value(path(s, "linux.resources.blockIO.weight")), 300);
	json_decref(s);

	s = spec_ok(NULL, "{\"Memory\": 33554432, \"MemorySwap\": 50331648, \"CpuPeriod\": 50000, \"CpuQuota\": 25000,"
			  " \"PidsLimit\": 0, \"CpuShares\": 1}");
	assert_int_equal(json_integer_value(path(s, "linux.resources.cpu.period")), 50000);
	assert_int_equal(json_integer_value(path(s, "linux.resources.cpu.quota")), 25000);
	assert_int_equal(json_integer_value(path(s, "linux.resources.cpu.shares")), 2);
	assert_int_equal(json_integer_value(path(s, "linux.resources.pids.limit")), -1);
	swap = path(s, "linux.resources.memory.swap");
	if (swap)
		assert_int_equal(json_integer_value(swap), 50331648);
	json_decref(s);

	/* Nothing asked: no limits. */
	s = spec_ok(NULL, "{}");
	assert_null(path(s, "linux.resources.memory"));
	assert_null(path(s, "linux.resources.cpu"));
	assert_null(path(s, "linux.resources.pids"));
	json_decref(s);

	spec_fails(NULL, "{\"Memory\": 1048576}", "Minimum memory limit allowed is 6MB");
	spec_fails(NULL, "{\"Memory\": 33554432, \"MemorySwap\": 1048576}",
		   "Minimum memoryswap limit should be larger than memory limit, see usage");
	spec_fails(NULL, "{\"MemorySwap\": 33554432}",
		   "You should always set the Memory limit when using Memoryswap limit, see usage");
	spec_fails(NULL, "{\"MemoryReservation\": 1024}", "Minimum memory reservation allowed is 6MB");
	spec_fails(NULL, "{\"Memory\": 8388608, \"MemoryReservation\": 16777216}",
		   "Minimum memory limit can not be less than memory reservation limit, see usage");
	spec_fails(NULL, "{\"MemorySwappiness\": 101}", "Invalid value: 101, valid memory swappiness range is 0-100");
	spec_fails(NULL, "{\"NanoCpus\": 1000000000, \"CpuPeriod\": 100000}",
		   "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	spec_fails(NULL, "{\"NanoCpus\": 1000000000, \"CpuQuota\": 100000}",
		   "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	spec_fails(NULL, "{\"NanoCpus\": 1000000000000}", "Range of CPUs is from 0.01 to");
	spec_fails(NULL, "{\"CpuPeriod\": 10}",
		   "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
	spec_fails(NULL, "{\"CpuQuota\": 10}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	spec_fails(NULL, "{\"CpusetCpus\": \"0-\"}", "Invalid value 0- for cpuset cpus");
	spec_fails(NULL, "{\"CpusetCpus\": \"4000\"}", "Requested CPUs are not available - requested 4000");
	spec_fails(NULL, "{\"BlkioWeight\": 5}", "Range of blkio weight is from 10 to 1000");
	spec_fails(NULL, "{\"Memory\": \"1g\"}", "HostConfig.Memory: expected an integer, got a string");
}

static void test_spec_process_options(void **state)
{
	(void)state;
	json_t *s = spec_ok("{\"Cmd\": [\"sh\"], \"Entrypoint\": [\"/bin/env\", \"-i\"], \"Tty\": true,"
			    " \"WorkingDir\": \"/srv/./app/\", \"Env\": [\"PATH=/opt/bin\", \"HOSTNAME\"],"
			    " \"Hostname\": \"web\", \"Domainname\": \"example.org\"}",
			    "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 1024, \"Hard\": 2048}],"
			    " \"OomScoreAdj\": 500, \"ConsoleSize\": [30, 100]}");
	assert_json(path(s, "process.args"), "[\"/bin/env\", \"-i\", \"sh\"]");
	assert_true(json_is_true(path(s, "process.terminal")));
	assert_json(path(s, "process.consoleSize"), "{\"height\": 30, \"width\": 100}");
	assert_string_equal(json_string_value(path(s, "process.cwd")), "/srv/app");
	/* PATH replaced, HOSTNAME removed (a variable without '='), TERM for a terminal. */
	assert_json(path(s, "process.env"), "[\"PATH=/opt/bin\", \"TERM=xterm\"]");
	assert_string_equal(json_string_value(path(s, "hostname")), "web");
	assert_string_equal(json_string_value(path(s, "domainname")), "example.org");
	assert_json(path(s, "process.rlimits"), "[{\"type\": \"RLIMIT_NOFILE\", \"hard\": 2048, \"soft\": 1024}]");
	assert_int_equal(json_integer_value(path(s, "process.oomScoreAdj")), 500);
	json_decref(s);

	spec_fails("{}", NULL, "No command specified");
	spec_fails(NULL, "{\"OomScoreAdj\": 1001}", "Invalid value 1001, range for oom score adj is [-1000, 1000]");
	spec_fails(NULL, "{\"Ulimits\": [{\"Name\": \"bogus\", \"Soft\": 1, \"Hard\": 1}]}",
		   "invalid ulimit type: bogus");
	spec_fails(NULL, "{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 10, \"Hard\": 1}]}",
		   "ulimit soft limit must be less than or equal to hard limit: 10 > 1");
}

static void test_spec_modes(void **state)
{
	(void)state;
	json_t *s = spec_ok(NULL, "{\"NetworkMode\": \"host\", \"PidMode\": \"host\", \"IpcMode\": \"host\"}");
	assert_false(has_ns(s, "network"));
	assert_false(has_ns(s, "pid"));
	assert_false(has_ns(s, "ipc"));
	assert_true(has_ns(s, "uts"));
	/* No private network: none of the network sysctls Docker sets. */
	assert_null(path(s, "linux.sysctl"));
	assert_json(find_mount(s, "/dev/shm"), "{\"destination\": \"/dev/shm\", \"type\": \"bind\", \"source\":"
					       " \"/dev/shm\", \"options\": [\"rbind\", \"rprivate\"]}");
	json_decref(s);

	s = spec_ok(NULL, "{\"UTSMode\": \"host\", \"IpcMode\": \"none\", \"ShmSize\": 1048576}");
	assert_false(has_ns(s, "uts"));
	assert_null(path(s, "hostname"));
	assert_null(find_mount(s, "/dev/shm"));
	json_decref(s);

	s = spec_ok(NULL, "{\"ShmSize\": 1048576, \"CgroupnsMode\": \"private\", \"CgroupParent\": \"/mine\"}");
	assert_true(str_in(json_object_get(find_mount(s, "/dev/shm"), "options"), "size=1048576"));
	assert_true(has_ns(s, "cgroup"));
	assert_string_equal(json_string_value(path(s, "linux.cgroupsPath")), "/mine/berth-" ID);
	json_decref(s);

	s = spec_ok(NULL, "{\"CgroupnsMode\": \"host\", \"ReadonlyRootfs\": true}");
	assert_false(has_ns(s, "cgroup"));
	assert_true(json_is_true(path(s, "root.readonly")));
	/* The network files follow a read-only root. */
	assert_true(str_in(json_object_get(find_mount(s, "/etc/hosts"), "options"), "ro"));
	json_decref(s);

	spec_fails(NULL, "{\"IpcMode\": \"weird\"}", "invalid IPC mode: weird");
	spec_fails(NULL, "{\"PidMode\": \"weird\"}", "invalid PID mode: weird");
	spec_fails(NULL, "{\"UTSMode\": \"container:x\"}", "invalid UTS mode: container:x");
	spec_fails(NULL, "{\"UsernsMode\": \"private\"}", "invalid USER mode: private");
	spec_fails(NULL, "{\"CgroupnsMode\": \"shared\"}", "invalid cgroup namespace mode: shared");
	spec_fails(NULL, "{\"ShmSize\": -1}", "SHM size can not be less than 0");
	spec_fails(NULL, "{\"NetworkMode\": \"container:abc\"}", "network mode container:abc");
}

static void test_spec_sysctls_and_paths(void **state)
{
	(void)state;
	json_t *s = spec_ok(NULL, "{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmax\": \"1000000\","
				  " \"net.ipv4.ping_group_range\": \"1 1\"},"
				  " \"MaskedPaths\": [\"/proc/cpuinfo\"], \"ReadonlyPaths\": []}");
	assert_json(path(s, "linux.sysctl"), "{\"net.ipv4.ping_group_range\": \"1 1\", "
					     "\"net.ipv4.ip_unprivileged_port_start\": \"0\", \"net.ipv4.ip_forward\": "
					     "\"1\", \"kernel.shmmax\": \"1000000\"}");
	assert_json(path(s, "linux.maskedPaths"), "[\"/proc/cpuinfo\"]");
	assert_json(path(s, "linux.readonlyPaths"), "[]");
	json_decref(s);
	spec_fails(NULL, "{\"NetworkMode\": \"host\", \"Sysctls\": {\"net.ipv4.ip_forward\": \"1\"}}",
		   "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace");
	spec_fails(NULL, "{\"IpcMode\": \"host\", \"Sysctls\": {\"kernel.sem\": \"1\"}}",
		   "sysctl \"kernel.sem\" is not allowed in the hosts ipc namespace");
	spec_fails(NULL, "{\"Sysctls\": {\"vm.swappiness\": \"1\"}}",
		   "sysctl \"vm.swappiness\" is not in a separate kernel namespace");
}

static void test_spec_mounts(void **state)
{
	(void)state;
	char hc[512], made[160];
	snprintf(made, sizeof made, "%s/made/by/bind", tmpdir);
	snprintf(hc, sizeof hc,
		 "{\"Binds\": [\"%s:/a/b/c:ro\", \"%s:/z\", \"named:/vol\"], \"Tmpfs\": {\"/run\": \"size=1m,exec\"},"
		 " \"Mounts\": [{\"Type\": \"bind\", \"Source\": \"%s\", \"Target\": \"/shared\","
		 " \"BindOptions\": {\"Propagation\": \"rslave\", \"NonRecursive\": true}}]}",
		 tmpdir, made, tmpdir);
	json_t *s = spec_ok("{\"Cmd\": [\"sh\"], \"Volumes\": {\"/anon\": {}}}", hc);
	json_t *m = find_mount(s, "/a/b/c");
	assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
	assert_json(json_object_get(m, "options"), "[\"rbind\", \"ro\", \"rprivate\"]");
	assert_json(json_object_get(find_mount(s, "/shared"), "options"), "[\"bind\", \"rslave\"]");
	assert_json(json_object_get(find_mount(s, "/run"), "options"),
		    "[\"nosuid\", \"nodev\", \"rprivate\", \"size=1m\", \"exec\"]");
	assert_non_null(find_mount(s, "/vol"));
	assert_non_null(find_mount(s, "/anon"));
	/* A slave bind needs a slave root (Docker raises it to rslave). */
	assert_string_equal(json_string_value(path(s, "linux.rootfsPropagation")), "rslave");
	/* -v with a missing host directory makes it, as Docker does at start. */
	assert_true(b_path_exists(made));
	/* Parents before children: /a/b/c after every one-level mount. */
	size_t i, at_c = 0, at_z = 0;
	json_t *v;
	json_array_foreach (json_object_get(s, "mounts"), i, v) {
		const char *d = json_string_value(json_object_get(v, "destination"));
		if (!strcmp(d, "/a/b/c"))
			at_c = i;
		if (!strcmp(d, "/z"))
			at_z = i;
	}
	assert_true(at_z < at_c);
	json_decref(s);

	/* A user mount replaces the default at the same place; one on /dev replaces all of /dev/... */
	snprintf(hc, sizeof hc, "{\"Binds\": [\"%s:/dev/shm\", \"%s:/etc/hosts\"]}", tmpdir, tmpdir);
	s = spec_ok(NULL, hc);
	assert_string_equal(json_string_value(json_object_get(find_mount(s, "/dev/shm"), "type")), "bind");
	assert_string_equal(json_string_value(json_object_get(find_mount(s, "/etc/hosts"), "source")), tmpdir);
	json_decref(s);
	snprintf(hc, sizeof hc, "{\"Binds\": [\"%s:/dev\"]}", tmpdir);
	s = spec_ok(NULL, hc);
	assert_null(find_mount(s, "/dev/pts"));
	assert_null(find_mount(s, "/dev/shm"));
	json_decref(s);
}

static void test_spec_devices(void **state)
{
	(void)state;
	json_t *s =
	    spec_ok(NULL, "{\"Devices\": [{\"PathOnHost\": \"/dev/null\", \"PathInContainer\": \"/dev/mynull\","
			  " \"CgroupPermissions\": \"rw\"}], \"DeviceCgroupRules\": [\"c 1:5 r\", \"b *:* m\"]}");
	assert_json(path(s, "linux.devices"),
		    "[{\"path\": \"/dev/mynull\", \"type\": \"c\", \"major\": 1, \"minor\": 3,"
		    " \"fileMode\": 438, \"uid\": 0, \"gid\": 0}]");
	json_t *rules = path(s, "linux.resources.devices");
	size_t n = json_array_size(rules);
	assert_json(json_array_get(rules, n - 3),
		    "{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rw\"}");
	assert_json(json_array_get(rules, n - 2),
		    "{\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 5, \"access\": \"r\"}");
	assert_json(json_array_get(rules, n - 1), "{\"allow\": true, \"type\": \"b\", \"access\": \"m\"}");
	json_decref(s);

	spec_fails(NULL, "{\"DeviceCgroupRules\": [\"c 1:5 rx\"]}", "invalid device cgroup rule format: 'c 1:5 rx'");
	spec_fails(NULL, "{\"DeviceCgroupRules\": [\"c  1:5 r\"]}", "invalid device cgroup rule format");
	spec_fails(NULL, "{\"Devices\": [{\"PathOnHost\": \"/dev/null\", \"CgroupPermissions\": \"rwx\"}]}",
		   "invalid device mode: rwx");
	spec_fails(
	    NULL, "{\"Devices\": [{\"PathOnHost\": \"/etc/hostname\"}]}",
	    "error gathering device information while adding custom device \"/etc/hostname\": not a device node");
	spec_fails(NULL, "{\"Devices\": [{\"PathOnHost\": \"/dev/nonexistent-berth\"}]}",
		   "error gathering device information while adding custom device \"/dev/nonexistent-berth\"");
}

/* ---------- users ---------- */

static struct eng_user user_ok(const char *spec, const char *group_add)
{
	struct eng_user u;
	json_t *ga = group_add ? J(group_add) : NULL;
	berr e = {0};
	if (eng_user_resolve(rootfs, spec, ga, &u, &e) < 0)
		fail_msg("user \"%s\": %s", spec, berr_msg(&e));
	json_decref(ga);
	return u;
}

static void user_fails(const char *spec, const char *group_add, const char *want)
{
	struct eng_user u;
	json_t *ga = group_add ? J(group_add) : NULL;
	berr e = {0};
	want_error(eng_user_resolve(rootfs, spec, ga, &u, &e), &e, want);
	json_decref(ga);
}

static void assert_gids(const struct eng_user *u, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	if (u->n_gids != n)
		fail_msg("%zu groups, want %zu", u->n_gids, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(u->gids[i], va_arg(ap, unsigned));
	va_end(ap);
}

static void test_users(void **state)
{
	(void)state;
	struct eng_user u = user_ok("", NULL);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.home, "/root");
	assert_gids(&u, 2, 0, 10);
	eng_user_free(&u);

	u = user_ok("nobody", NULL);
	assert_int_equal(u.uid, 65534);
	assert_int_equal(u.gid, 65534);
	assert_gids(&u, 1, 65534);
	eng_user_free(&u);

	/* tester is in its own group and listed in "users" and "audio". */
	u = user_ok("tester", NULL);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1000);
	assert_string_equal(u.home, "/home/tester");
	assert_gids(&u, 3, 1000, 29, 100);
	eng_user_free(&u);

	/* An explicit group: no supplementary groups. */
	u = user_ok("1000:users", NULL);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 100);
	assert_gids(&u, 1, 100);
	eng_user_free(&u);

	u = user_ok("tester:4321", NULL);
	assert_int_equal(u.gid, 4321);
	eng_user_free(&u);

	/* Numbers not in passwd are fine, with gid 0 and home "/". */
	u = user_ok("4242", NULL);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.home, "/");
	eng_user_free(&u);

	/* GroupAdd: names and numbers, each once. */
	u = user_ok("nobody", "[\"audio\", \"5000\", \"29\", \"users\"]");
	assert_gids(&u, 4, 65534, 29, 5000, 100);
	eng_user_free(&u);

	user_fails("xyz", NULL, "unable to find user xyz: no matching entries in passwd file");
	user_fails("tester:nosuchgroup", NULL, "unable to find group nosuchgroup: no matching entries in group file");
	user_fails("nobody", "[\"nosuchgroup\"]", "Unable to find group nosuchgroup");
	user_fails("3000000000", NULL, "uids and gids must be in range 0-2147483647");
}

static void test_users_stay_inside_root(void **state)
{
	(void)state;
	/* A rootfs whose /etc/passwd is an absolute symlink to a host file that names "escapee". */
	char root2[96], outside[128], link[160], etc[128];
	snprintf(root2, sizeof root2, "%s/root2", tmpdir);
	snprintf(etc, sizeof etc, "%s/etc", root2);
	snprintf(outside, sizeof outside, "%s/outside-passwd", tmpdir);
	snprintf(link, sizeof link, "%s/passwd", etc);
	berr e = {0};
	assert_int_equal(b_mkdir_p(etc, 0755, &e), 0);
	const char *line = "escapee:x:777:777::/:/bin/sh\n";
	assert_int_equal(b_write_file(outside, line, strlen(line), 0644, &e), 0);
	assert_int_equal(symlink(outside, link), 0);
	struct eng_user u;
	want_error(eng_user_resolve(root2, "escapee", NULL, &u, &e), &e, "unable to find user escapee");

	/* A FIFO instead of /etc/group must not block the daemon. */
	char fifo[220];
	snprintf(fifo, sizeof fifo, "%s/group", etc);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	want_error(eng_user_resolve(root2, "0", NULL, &u, &e), &e, "not a regular file");
}

static void test_user_in_spec(void **state)
{
	(void)state;
	json_t *s = spec_ok("{\"Cmd\": [\"id\"], \"User\": \"tester\"}", "{\"GroupAdd\": [\"audio\", \"5000\"]}");
	assert_int_equal(json_integer_value(path(s, "process.user.uid")), 1000);
	assert_int_equal(json_integer_value(path(s, "process.user.gid")), 1000);
	assert_json(path(s, "process.user.additionalGids"), "[1000, 29, 100, 5000]");
	json_decref(s);
	spec_fails("{\"Cmd\": [\"id\"], \"User\": \"xyz\"}", NULL,
		   "unable to find user xyz: no matching entries in passwd file");
}

static void test_path_clean(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"", "."},         {"/", "/"},        {"//a//b/", "/a/b"},        {"/a/./b/../c", "/a/c"},
	    {"/../a", "/a"},   {"a/../..", ".."}, {"a/b/../../../c", "../c"}, {"./", "."},
	    {"/a/b/..", "/a"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *c = eng_path_clean(cases[i][0]);
		if (strcmp(c, cases[i][1]))
			fail_msg("clean(\"%s\") = \"%s\", want \"%s\"", cases[i][0], c, cases[i][1]);
		free(c);
	}
}

/* ---------- setup ---------- */

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/berth-engine-spec-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", tmpdir);
	char etc[160], p[240];
	snprintf(etc, sizeof etc, "%s/etc", rootfs);
	berr e = {0};
	if (b_mkdir_p(etc, 0755, &e) < 0)
		return -1;
	const char *passwd = "root:x:0:0:root:/root:/bin/sh\n"
			     "# a comment line is not a user\n"
			     "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
			     "\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
	const char *group = "root:x:0:\n"
			    "wheel:x:10:root\n"
			    "audio:x:29:tester,other\n"
			    "users:x:100:tester\n"
			    "tester:x:1000:\n"
			    "nogroup:x:65534:\n";
	snprintf(p, sizeof p, "%s/passwd", etc);
	if (b_write_file(p, passwd, strlen(passwd), 0644, &e) < 0)
		return -1;
	snprintf(p, sizeof p, "%s/group", etc);
	if (b_write_file(p, group, strlen(group), 0644, &e) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	berr e = {0};
	b_remove_tree(tmpdir, &e);
	berr_clear(&e);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_shape),
	    cmocka_unit_test(test_merge_env),
	    cmocka_unit_test(test_merge_cmd_entrypoint),
	    cmocka_unit_test(test_merge_fields),
	    cmocka_unit_test(test_merge_errors),
	    cmocka_unit_test(test_mounts_binds),
	    cmocka_unit_test(test_mounts_bind_errors),
	    cmocka_unit_test(test_mounts_api),
	    cmocka_unit_test(test_mounts_tmpfs_and_volumes),
	    cmocka_unit_test(test_mounts_duplicates),
	    cmocka_unit_test(test_tmpfs_options),
	    cmocka_unit_test(test_spec_defaults),
	    cmocka_unit_test(test_spec_seccomp_default),
	    cmocka_unit_test(test_spec_security_opts),
	    cmocka_unit_test(test_spec_capabilities),
	    cmocka_unit_test(test_spec_privileged),
	    cmocka_unit_test(test_spec_resources),
	    cmocka_unit_test(test_spec_process_options),
	    cmocka_unit_test(test_spec_modes),
	    cmocka_unit_test(test_spec_sysctls_and_paths),
	    cmocka_unit_test(test_spec_mounts),
	    cmocka_unit_test(test_spec_devices),
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_users_stay_inside_root),
	    cmocka_unit_test(test_user_in_spec),
	    cmocka_unit_test(test_path_clean),
	};
	return cmocka_run_group_tests_name("engine_spec", tests, group_setup, group_teardown);
}
