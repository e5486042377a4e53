/* Image configs: parse, round trip with unknown fields, --change instructions as Docker applies them, chain IDs. */
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
#include "image/config.h"

#define C8(c) c c c c c c c c
#define DG(c) "sha256:" C8(c) C8(c) C8(c) C8(c) C8(c) C8(c) C8(c) C8(c)

/* What the classic builder wrote (nginx-like): Docker's full container config, container_config, nulls. */
static const char docker_config[] =
    "{\"architecture\":\"amd64\","
    "\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":false,"
    "\"AttachStderr\":false,\"ExposedPorts\":{\"80/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,"
    "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",\"NGINX_VERSION=1.25.4\"],"
    "\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],\"Image\":\"" DG(
	"7") "\",\"Volumes\":null,\"WorkingDir\":\"\","
	     "\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"OnBuild\":null,"
	     "\"Labels\":{\"maintainer\":\"NGINX Docker Maintainers "
	     "<docker-maint@nginx.com>\"},\"StopSignal\":\"SIGQUIT\"},"
	     "\"container\":\"4b4d3f4e0a5e9c1b\","
	     "\"container_config\":{\"Hostname\":\"4b4d3f4e0a5e\",\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"CMD "
	     "[\\\"nginx\\\" \\\"-g\\\" \\\"daemon off;\\\"]\"],\"Labels\":{}},"
	     "\"created\":\"2024-02-14T18:50:26.912297155Z\",\"docker_version\":\"20.10.23\","
	     "\"history\":[{\"created\":\"2024-02-13T00:37:11.283162183Z\",\"created_by\":\"/bin/sh -c #(nop) ADD "
	     "file:b86ae1c7ca3586d8feedcd9ff1b2b1e8ab872caf6587618f1da689045a5d7ae4 in / \"},"
	     "{\"created\":\"2024-02-13T00:37:11.673209401Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD [\\\"bash\\\"]\","
	     "\"empty_layer\":true},"
	     "{\"created\":\"2024-02-14T18:50:26.109765245Z\",\"created_by\":\"/bin/sh -c set -x && apt-get update\"},"
	     "{\"created\":\"2024-02-14T18:50:26.912297155Z\",\"created_by\":\"/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT\","
	     "\"empty_layer\":true}],"
	     "\"os\":\"linux\","
	     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG("1") "\",\"" DG("2") "\"]}}";

/* What BuildKit writes: sorted keys, comment, healthcheck, shell, variant, and a field of its own. */
static const char buildkit_config[] =
    "{\"architecture\":\"arm64\",\"config\":{\"Env\":[\"PATH=/usr/local/bin:/usr/bin:/bin\",\"HOME=/root\"],"
    "\"Entrypoint\":null,\"Cmd\":[],\"WorkingDir\":\"/srv\",\"ArgsEscaped\":true,\"OnBuild\":null,"
    "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q -O- localhost || exit 1\"],\"Interval\":30000000000,"
    "\"Timeout\":5000000000,\"StartPeriod\":10000000000,\"StartInterval\":2000000000,\"Retries\":3},"
    "\"Shell\":[\"/bin/ash\",\"-eo\",\"pipefail\",\"-c\"],\"Volumes\":{\"/data\":{}},\"User\":\"app\"},"
    "\"created\":\"2024-05-01T10:00:00Z\","
    "\"history\":[{\"created\":\"2024-04-01T00:00:00Z\",\"created_by\":\"/bin/sh -c #(nop) ADD file:x in / \"},"
    "{\"created\":\"2024-05-01T10:00:00Z\",\"created_by\":\"HEALTHCHECK &{[\\\"CMD-SHELL\\\"]}\","
    "\"comment\":\"buildkit.dockerfile.v0\",\"empty_layer\":true,\"x-extra\":1}],"
    "\"moby.buildkit.buildinfo.v1\":\"eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==\","
    "\"os\":\"linux\",\"os.features\":[\"sse4\"],\"variant\":\"v8\","
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG("3") "\"]}}";

static void assert_err_has(berr *e, const char *needle)
{
	if (!e->msg || !strstr(e->msg, needle))
		fail_msg("error \"%s\" does not contain \"%s\"", berr_msg(e), needle);
	assert_int_equal(e->errnum, EINVAL);
	berr_clear(e);
}

static void parse_ok(const char *doc, struct img_config *c)
{
	berr e = {0};
	if (img_config_parse(doc, strlen(doc), c, &e) < 0)
		fail_msg("parse: %s", berr_msg(&e));
}

static void assert_strv(char *const *v, ...)
{
	va_list ap;
	va_start(ap, v);
	size_t i = 0;
	for (const char *want; (want = va_arg(ap, const char *)); i++) {
		if (!v || !v[i])
			fail_msg("list ends at %zu, expected \"%s\"", i, want);
		if (strcmp(v[i], want))
			fail_msg("[%zu] = \"%s\", expected \"%s\"", i, v[i], want);
	}
	va_end(ap);
	if (!v)
		fail_msg("list is NULL");
	if (v[i])
		fail_msg("list goes on at %zu: \"%s\"", i, v[i]);
}

static void test_parse_docker(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	assert_string_equal(c.architecture, "amd64");
	assert_string_equal(c.os, "linux");
	assert_null(c.variant);
	assert_string_equal(c.created, "2024-02-14T18:50:26.912297155Z");
	assert_string_equal(c.user, "");
	assert_strv(c.env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.4",
		    NULL);
	assert_true(c.has_cmd);
	assert_strv(c.cmd, "nginx", "-g", "daemon off;", NULL);
	assert_true(c.has_entrypoint);
	assert_strv(c.entrypoint, "/docker-entrypoint.sh", NULL);
	assert_strv(c.exposed_ports, "80/tcp", NULL);
	assert_null(c.volumes);
	assert_null(c.onbuild);
	assert_strv(c.labels, "maintainer", "NGINX Docker Maintainers <docker-maint@nginx.com>", NULL);
	assert_string_equal(c.stop_signal, "SIGQUIT");
	assert_null(c.healthcheck);
	assert_false(c.args_escaped);
	assert_int_equal(c.n_diff_ids, 2);
	assert_string_equal(c.diff_ids[1], DG("2"));
	assert_null(c.diff_ids[2]);
	assert_int_equal(c.n_history, 4);
	assert_false(c.history[0].empty_layer);
	assert_true(c.history[1].empty_layer);
	assert_null(c.history[1].comment);
	img_config_free(&c);
	img_config_free(&c);
}

static void test_parse_buildkit(void **state)
{
	struct img_config c;
	parse_ok(buildkit_config, &c);
	assert_string_equal(c.variant, "v8");
	assert_false(c.has_entrypoint); /* null */
	assert_null(c.entrypoint);
	assert_true(c.has_cmd); /* [] */
	assert_non_null(c.cmd);
	assert_null(c.cmd[0]);
	assert_true(c.args_escaped);
	assert_non_null(c.healthcheck);
	assert_strv(c.healthcheck->test, "CMD-SHELL", "wget -q -O- localhost || exit 1", NULL);
	assert_int_equal(c.healthcheck->interval, 30000000000LL);
	assert_int_equal(c.healthcheck->timeout, 5000000000LL);
	assert_int_equal(c.healthcheck->start_period, 10000000000LL);
	assert_int_equal(c.healthcheck->start_interval, 2000000000LL);
	assert_int_equal(c.healthcheck->retries, 3);
	assert_strv(c.shell, "/bin/ash", "-eo", "pipefail", "-c", NULL);
	assert_strv(c.volumes, "/data", NULL);
	assert_string_equal(c.history[1].comment, "buildkit.dockerfile.v0");
	img_config_free(&c);
}

/* An untouched config comes back as the same JSON value (key order and spacing aside). */
static void assert_same_json(const char *a, const char *b)
{
	json_t *ja = json_loads(a, 0, NULL), *jb = json_loads(b, 0, NULL);
	assert_non_null(ja);
	assert_non_null(jb);
	if (!json_equal(ja, jb))
		fail_msg("JSON differs:\n%s\n%s", a, b);
	json_decref(ja);
	json_decref(jb);
}

static void test_round_trip(void **state)
{
	const char *docs[] = {docker_config, buildkit_config};
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct img_config c, c2;
		parse_ok(docs[i], &c);
		_cleanup_free_ char *j1 = img_config_to_json(&c);
		assert_non_null(j1);
		assert_same_json(docs[i], j1);
		parse_ok(j1, &c2);
		_cleanup_free_ char *j2 = img_config_to_json(&c2);
		assert_string_equal(j1, j2);
		img_config_free(&c);
		img_config_free(&c2);
	}

	/* canonical: compact, keys sorted at every level */
	struct img_config c;
	parse_ok(buildkit_config, &c);
	_cleanup_free_ char *j = img_config_to_json(&c);
	const char *head =
	    "{\"architecture\":\"arm64\",\"config\":{\"ArgsEscaped\":true,\"Cmd\":[],\"Entrypoint\":null,";
	assert_memory_equal(j, head, strlen(head));
	assert_non_null(strstr(j, "\"moby.buildkit.buildinfo.v1\":\"eyJmcm9udGVuZCI6ImRvY2tlcmZpbGUudjAifQ==\""));
	assert_non_null(strstr(j, "\"os.features\":[\"sse4\"]"));
	assert_non_null(strstr(j, "\"empty_layer\":true,\"x-extra\":1}"));
	assert_non_null(strstr(j, "\"rootfs\":{\"diff_ids\":[\"" DG("3") "\"],\"type\":\"layers\"}"));
	assert_null(strchr(j, '\n'));
	img_config_free(&c);
}

static void test_modify_and_write(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	/* cleared fields disappear (a stale value must not survive from raw); empty ones are written */
	free(c.stop_signal);
	c.stop_signal = NULL;
	b_strv_free(c.entrypoint);
	c.entrypoint = NULL;
	c.has_entrypoint = false;
	b_strv_free(c.cmd);
	c.cmd = calloc(1, sizeof *c.cmd);
	free(c.user);
	c.user = strdup("www-data");
	/* commit appends a layer and a history entry */
	c.diff_ids = realloc(c.diff_ids, 4 * sizeof *c.diff_ids);
	c.diff_ids[2] = strdup(DG("5"));
	c.diff_ids[3] = NULL;
	c.n_diff_ids = 3;
	c.history = realloc(c.history, 5 * sizeof *c.history);
	c.history[4] = (struct img_history){.created = strdup("2024-06-01T00:00:00Z"),
					    .author = strdup("me"),
					    .comment = strdup("fixed"),
					    .created_by = strdup("bash")};
	c.n_history = 5;
	_cleanup_free_ char *j = img_config_to_json(&c);
	assert_non_null(j);
	assert_null(strstr(j, "StopSignal"));
	assert_null(strstr(j, "docker-entrypoint"));
	assert_non_null(strstr(j, "\"Cmd\":[]"));
	assert_non_null(strstr(j, "\"User\":\"www-data\""));
	assert_non_null(strstr(j, "\"Volumes\":null")); /* untouched null kept */
	assert_non_null(strstr(j, "\"docker_version\":\"20.10.23\""));
	assert_non_null(strstr(j, "\"container_config\":{"));
	assert_non_null(strstr(j, "\"AttachStdin\":false"));
	assert_non_null(strstr(j, "{\"author\":\"me\",\"comment\":\"fixed\",\"created\":\"2024-06-01T00:00:00Z\","
				  "\"created_by\":\"bash\"}]"));
	struct img_config c2;
	parse_ok(j, &c2);
	assert_int_equal(c2.n_diff_ids, 3);
	assert_false(c2.has_entrypoint);
	assert_true(c2.has_cmd);
	assert_null(c2.cmd[0]);
	img_config_free(&c2);

	/* a copy is independent and writes the same */
	struct img_config cp;
	berr e = {0};
	assert_int_equal(img_config_copy(&c, &cp, &e), 0);
	img_config_free(&c);
	_cleanup_free_ char *jc = img_config_to_json(&cp);
	assert_string_equal(j, jc);
	img_config_free(&cp);
}

static void test_from_scratch(void **state)
{
	/* docker import: a config with no raw document */
	struct img_config c = {0};
	c.architecture = strdup("amd64");
	c.os = strdup("linux");
	c.created = strdup("2024-06-01T00:00:00Z");
	c.diff_ids = calloc(2, sizeof *c.diff_ids);
	c.diff_ids[0] = strdup(DG("1"));
	c.n_diff_ids = 1;
	berr e = {0};
	_cleanup_free_ char *bare = img_config_to_json(&c);
	assert_string_equal(bare, "{\"architecture\":\"amd64\",\"created\":\"2024-06-01T00:00:00Z\",\"os\":\"linux\","
				  "\"rootfs\":{\"diff_ids\":[\"" DG("1") "\"],\"type\":\"layers\"}}");
	char *const changes[] = {"ENV DEBUG=true", "CMD [\"/bin/sh\"]", "EXPOSE 8080"};
	assert_int_equal(img_config_apply_changes(&c, changes, 3, &e), 0);
	_cleanup_free_ char *j = img_config_to_json(&c);
	assert_string_equal(j,
			    "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"DEBUG=true\"],"
			    "\"ExposedPorts\":{\"8080/tcp\":{}}},\"created\":\"2024-06-01T00:00:00Z\",\"os\":\"linux\","
			    "\"rootfs\":{\"diff_ids\":[\"" DG("1") "\"],\"type\":\"layers\"}}");
	img_config_free(&c);

	/* no layers at all: diff_ids is still written */
	struct img_config empty = {0};
	_cleanup_free_ char *je = img_config_to_json(&empty);
	assert_string_equal(je, "{\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}}");
}

struct bad_case {
	const char *json;
	const char *err;
};

#define ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"

static void test_bad_configs(void **state)
{
	static const struct bad_case cases[] = {
	    {"{\"os\":\"linux\"}", "rootfs: missing"},
	    {"{\"rootfs\":[]}", "rootfs: expected an object, got an array"},
	    {"{\"rootfs\":{\"diff_ids\":[]}}", "rootfs.type: missing"},
	    {"{\"rootfs\":{\"type\":\"foo\",\"diff_ids\":[]}}", "rootfs.type: expected \"layers\", got \"foo\""},
	    {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG("1") "\",\"sha256:12\"]}}",
	     "rootfs.diff_ids[1]: invalid digest \"sha256:12\""},
	    {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DG("1") "\",7]}}",
	     "rootfs.diff_ids[1]: expected a string, got an integer"},
	    {"{" ROOTFS ",\"config\":{\"Env\":[\"A=1\",\"B=2\",3]}}",
	     "config.Env[2]: expected a string, got an integer"},
	    {"{" ROOTFS ",\"config\":{\"Cmd\":\"ls\"}}", "config.Cmd: expected an array of strings, got a string"},
	    {"{" ROOTFS ",\"config\":{\"User\":0}}", "config.User: expected a string, got an integer"},
	    {"{" ROOTFS ",\"config\":{\"Labels\":{\"a\":1}}}", "config.Labels.a: expected a string, got an integer"},
	    {"{" ROOTFS ",\"config\":{\"ExposedPorts\":[\"80/tcp\"]}}",
	     "config.ExposedPorts: expected an object, got an array"},
	    {"{" ROOTFS ",\"config\":{\"Healthcheck\":{\"Retries\":\"3\"}}}",
	     "config.Healthcheck.Retries: expected an integer, got a string"},
	    {"{" ROOTFS ",\"config\":{\"Healthcheck\":{\"Retries\":-1}}}", "config.Healthcheck.Retries: out of range"},
	    {"{" ROOTFS ",\"config\":{\"ArgsEscaped\":\"yes\"}}",
	     "config.ArgsEscaped: expected a boolean, got a string"},
	    {"{" ROOTFS ",\"config\":[]}", "config: expected an object, got an array"},
	    {"{" ROOTFS ",\"history\":[{},3]}", "history[1]: expected an object, got an integer"},
	    {"{" ROOTFS ",\"history\":[{\"empty_layer\":\"true\"}]}",
	     "history[0].empty_layer: expected a boolean, got a string"},
	    {"{" ROOTFS ",\"architecture\":64}", "architecture: expected a string, got an integer"},
	    {"{" ROOTFS ",\"os\":\"linux\",\"os\":\"windows\"}", "duplicate object key"},
	    {"\"config\"", "invalid JSON"},
	    {"[]", "expected a JSON object, got an array"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		berr e = {0};
		struct img_config c;
		if (img_config_parse(cases[i].json, strlen(cases[i].json), &c, &e) == 0)
			fail_msg("case %zu parsed: %s", i, cases[i].json);
		if (!e.msg || !strstr(e.msg, cases[i].err))
			fail_msg("case %zu: error \"%s\" does not contain \"%s\"", i, berr_msg(&e), cases[i].err);
		berr_clear(&e);
		assert_null(c.raw);
		assert_null(c.diff_ids);
	}
}

/* ---- --change ---- */

static void change_ok(struct img_config *c, const char *instr)
{
	berr e = {0};
	if (img_config_apply_change(c, instr, &e) < 0)
		fail_msg("%s: %s", instr, berr_msg(&e));
}

static void change_err(struct img_config *c, const char *instr, const char *err)
{
	berr e = {0};
	_cleanup_free_ char *before = img_config_to_json(c);
	if (img_config_apply_change(c, instr, &e) == 0)
		fail_msg("%s: applied", instr);
	if (!e.msg || !strstr(e.msg, err))
		fail_msg("%s: error \"%s\" does not contain \"%s\"", instr, berr_msg(&e), err);
	berr_clear(&e);
	/* nothing changed */
	_cleanup_free_ char *after = img_config_to_json(c);
	assert_string_equal(before, after);
}

static void test_change_env(void **state)
{
	struct img_config c;
	parse_ok(buildkit_config, &c);
	change_ok(&c, "ENV MSG \"hello   world\"");
	change_ok(&c, "ENV A=1 B=\"two words\" C=three\\ words D='single $HOME' E=");
	change_ok(&c, "env PATH=/opt/bin:$PATH");
	change_ok(&c, "ENV X=${HOME}/x Y=${UNSET:-fallback} Z=${HOME:+set} W=${UNSET:+no}V Q=a\\\"b");
	/* expansion sees the environment from before the instruction */
	change_ok(&c, "ENV A=changed F=$A");
	change_ok(&c, "ENV OLD value with  spaces");
	assert_strv(c.env, "PATH=/opt/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/root", "MSG=hello   world", "A=changed",
		    "B=two words", "C=three words", "D=single $HOME", "E=", "X=/root/x", "Y=fallback", "Z=set", "W=V",
		    "Q=a\"b", "F=1", "OLD=value with  spaces", NULL);

	change_err(&c, "ENV", "ENV requires at least one argument");
	change_err(&c, "ENV K", "ENV must have two arguments");
	change_err(&c, "ENV A=1 B", "Syntax error - can't find = in \"B\". Must be of the form: name=value");
	change_err(&c, "ENV =x", "ENV names can not be blank");
	change_err(&c, "ENV A=\"open", "unexpected end of statement while looking for matching double-quote");
	change_err(&c, "ENV A=${UNSET:?required}", "UNSET: required");
	change_err(&c, "ENV A=${UNSET?}", "UNSET: is not allowed to be unset");
	change_err(&c, "ENV A=${HOME%x}", "unsupported modifier (%) in substitution");
	img_config_free(&c);
}

static void test_change_label(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	change_ok(&c, "LABEL version=1.0 \"com.example.description\"=\"a web server\" maintainer=me");
	change_ok(&c, "LABEL vendor ACME Inc.");
	change_ok(&c, "LABEL path=$PATH");
	assert_strv(c.labels, "maintainer", "me", "version", "1.0", "com.example.description", "a web server", "vendor",
		    "ACME Inc.", "path", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL);
	change_err(&c, "LABEL", "LABEL requires at least one argument");
	change_err(&c, "LABEL a=b c", "Syntax error - can't find = in \"c\"");
	img_config_free(&c);
}

/* Does the written document's "config" have the key (null counts)? */
static bool config_has(const char *doc, const char *key)
{
	json_t *j = json_loads(doc, 0, NULL);
	assert_non_null(j);
	bool has = json_object_get(json_object_get(j, "config"), key) != NULL;
	json_decref(j);
	return has;
}

static void test_change_cmd_entrypoint(void **state)
{
	struct img_config c;
	berr e = {0};
	parse_ok(docker_config, &c);
	change_ok(&c, "CMD [\"nginx\", \"-g\", \"daemon off;\"]");
	assert_strv(c.cmd, "nginx", "-g", "daemon off;", NULL);
	change_ok(&c, "CMD echo \"hello $HOME\" && ls");
	assert_strv(c.cmd, "/bin/sh", "-c", "echo \"hello $HOME\" && ls", NULL);
	/* not JSON after all: the shell form */
	change_ok(&c, "CMD [not json");
	assert_strv(c.cmd, "/bin/sh", "-c", "[not json", NULL);
	change_ok(&c, "CMD []");
	assert_true(c.has_cmd);
	assert_strv(c.cmd, NULL);
	change_err(&c, "CMD [\"a\", 1]", "when using JSON array syntax, arrays must be comprised of strings only");
	change_err(&c, "CMD --help", "Unknown flag: help");

	/* ENTRYPOINT alone resets Cmd to null */
	change_ok(&c, "CMD [\"-v\"]");
	change_ok(&c, "ENTRYPOINT [\"/entry.sh\"]");
	assert_strv(c.entrypoint, "/entry.sh", NULL);
	assert_false(c.has_cmd);
	assert_null(c.cmd);
	_cleanup_free_ char *j = img_config_to_json(&c);
	assert_false(config_has(j, "Cmd"));
	assert_true(config_has(j, "Entrypoint"));

	/* ... unless a CMD came first in the same set of changes */
	char *const both[] = {"CMD [\"-v\"]", "ENTRYPOINT /entry.sh --flag"};
	assert_int_equal(img_config_apply_changes(&c, both, 2, &e), 0);
	assert_strv(c.cmd, "-v", NULL);
	assert_strv(c.entrypoint, "/bin/sh", "-c", "/entry.sh --flag", NULL);
	char *const reversed[] = {"ENTRYPOINT [\"/x\"]", "CMD [\"y\"]"};
	assert_int_equal(img_config_apply_changes(&c, reversed, 2, &e), 0);
	assert_strv(c.entrypoint, "/x", NULL);
	assert_strv(c.cmd, "y", NULL);
	/* an empty CMD before does not count */
	char *const empty_cmd[] = {"CMD []", "ENTRYPOINT [\"/z\"]"};
	assert_int_equal(img_config_apply_changes(&c, empty_cmd, 2, &e), 0);
	assert_false(c.has_cmd);
	img_config_free(&c);

	/* the shell form uses the image's SHELL; ArgsEscaped goes */
	parse_ok(buildkit_config, &c);
	assert_true(c.args_escaped);
	change_ok(&c, "ENTRYPOINT exec app");
	assert_strv(c.entrypoint, "/bin/ash", "-eo", "pipefail", "-c", "exec app", NULL);
	assert_false(c.args_escaped);
	_cleanup_free_ char *j2 = img_config_to_json(&c);
	assert_null(strstr(j2, "ArgsEscaped"));
	assert_false(config_has(j2, "Cmd")); /* raw's [] went with the reset: null, not [] */
	img_config_free(&c);
}

static void test_change_workdir_user_signal(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c); /* WorkingDir "" */
	change_ok(&c, "WORKDIR app");
	assert_string_equal(c.working_dir, "/app");
	change_ok(&c, "WORKDIR sub/dir");
	assert_string_equal(c.working_dir, "/app/sub/dir");
	change_ok(&c, "WORKDIR ../../x/./y/");
	assert_string_equal(c.working_dir, "/app/x/y");
	change_ok(&c, "WORKDIR /a//b/../c");
	assert_string_equal(c.working_dir, "/a/c");
	change_ok(&c, "WORKDIR /../..");
	assert_string_equal(c.working_dir, "/");
	change_ok(&c, "ENV BASE=/srv");
	change_ok(&c, "WORKDIR $BASE/www");
	assert_string_equal(c.working_dir, "/srv/www");
	change_err(&c, "WORKDIR", "WORKDIR requires exactly one argument");

	change_ok(&c, "USER 1000:1000");
	assert_string_equal(c.user, "1000:1000");
	change_ok(&c, "USER ${NOBODY:-nobody}");
	assert_string_equal(c.user, "nobody");
	change_err(&c, "USER", "USER requires exactly one argument");

	change_ok(&c, "STOPSIGNAL SIGTERM");
	assert_string_equal(c.stop_signal, "SIGTERM");
	change_ok(&c, "STOPSIGNAL 9");
	assert_string_equal(c.stop_signal, "9");
	change_ok(&c, "STOPSIGNAL usr1");
	assert_string_equal(c.stop_signal, "usr1"); /* kept as written */
	change_ok(&c, "STOPSIGNAL SIGRTMIN+3");
	change_ok(&c, "STOPSIGNAL RTMAX-14");
	change_err(&c, "STOPSIGNAL SIGFOO", "Invalid signal: SIGFOO");
	change_err(&c, "STOPSIGNAL 0", "Invalid signal: 0");
	change_err(&c, "STOPSIGNAL RTMIN+16", "Invalid signal: RTMIN+16");
	change_err(&c, "STOPSIGNAL", "STOPSIGNAL requires exactly one argument");
	img_config_free(&c);
}

static void test_change_expose_volume(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	change_ok(&c, "EXPOSE 80 53/udp 8000-8002/TCP 9000/sctp 127.0.0.1:8080:443");
	assert_strv(c.exposed_ports, "80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp", "9000/sctp", "443/tcp",
		    NULL);
	change_ok(&c, "ENV PORTS=\"5000 5001/udp\"");
	change_ok(&c, "EXPOSE $PORTS");
	assert_int_equal(b_strv_len(c.exposed_ports), 9);
	change_err(&c, "EXPOSE 80/xyz", "invalid proto: xyz");
	change_err(&c, "EXPOSE abc", "invalid containerPort: abc");
	change_err(&c, "EXPOSE 70000", "invalid containerPort: 70000");
	change_err(&c, "EXPOSE 90-80", "invalid range specified for container port: 90-80");
	change_err(&c, "EXPOSE", "EXPOSE requires at least one argument");
	_cleanup_free_ char *j = img_config_to_json(&c);
	assert_non_null(strstr(j, "\"ExposedPorts\":{\"443/tcp\":{},\"5000/tcp\":{},\"5001/udp\":{},\"53/udp\":{},"
				  "\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{},\"8002/tcp\":{},\"9000/sctp\":{}}"));

	change_ok(&c, "VOLUME /data /logs");
	change_ok(&c, "VOLUME [\"/var/lib/app\", \"/with space\"]");
	change_ok(&c, "VOLUME /data $HOME/cache");
	assert_strv(c.volumes, "/data", "/logs", "/var/lib/app", "/with space", "/cache", NULL);
	change_err(&c, "VOLUME", "VOLUME requires at least one argument");
	change_err(&c, "VOLUME []", "VOLUME requires at least one argument");
	change_err(&c, "VOLUME [\"/x\", 1]", "arrays must be comprised of strings only");
	change_err(&c, "VOLUME [\"\"]", "VOLUME specified can not be an empty string");
	img_config_free(&c);
}

static void test_change_onbuild_healthcheck(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	change_ok(&c, "ONBUILD RUN echo \"built from $HOME\"");
	change_ok(&c, "onbuild   COPY . /app  ");
	assert_strv(c.onbuild, "RUN echo \"built from $HOME\"", "COPY . /app", NULL);
	change_err(&c, "ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	change_err(&c, "ONBUILD from scratch", "FROM isn't allowed as an ONBUILD trigger");
	change_err(&c, "ONBUILD", "ONBUILD requires at least one argument");

	change_ok(&c, "HEALTHCHECK --interval=30s --timeout=5s --start-period=1m30s --start-interval=500ms "
		      "--retries=3 CMD curl -f http://localhost/ || exit 1");
	assert_strv(c.healthcheck->test, "CMD-SHELL", "curl -f http://localhost/ || exit 1", NULL);
	assert_int_equal(c.healthcheck->interval, 30000000000LL);
	assert_int_equal(c.healthcheck->timeout, 5000000000LL);
	assert_int_equal(c.healthcheck->start_period, 90000000000LL);
	assert_int_equal(c.healthcheck->start_interval, 500000000LL);
	assert_int_equal(c.healthcheck->retries, 3);
	_cleanup_free_ char *j = img_config_to_json(&c);
	assert_non_null(strstr(j, "\"Healthcheck\":{\"Interval\":30000000000,\"Retries\":3,\"StartInterval\":500000000,"
				  "\"StartPeriod\":90000000000,\"Test\":[\"CMD-SHELL\",\"curl -f http://localhost/ || "
				  "exit 1\"],\"Timeout\":5000000000}"));
	/* a new HEALTHCHECK replaces the old one whole */
	change_ok(&c, "HEALTHCHECK CMD [\"/bin/check\", \"--quick\"]");
	assert_strv(c.healthcheck->test, "CMD", "/bin/check", "--quick", NULL);
	assert_int_equal(c.healthcheck->interval, 0);
	assert_int_equal(c.healthcheck->retries, 0);
	change_ok(&c, "HEALTHCHECK --interval=1.5h --timeout=0 cmd true");
	assert_int_equal(c.healthcheck->interval, 5400000000000LL);
	change_ok(&c, "healthcheck none");
	assert_strv(c.healthcheck->test, "NONE", NULL);
	_cleanup_free_ char *j2 = img_config_to_json(&c);
	assert_non_null(strstr(j2, "\"Healthcheck\":{\"Test\":[\"NONE\"]}"));

	change_err(&c, "HEALTHCHECK --interval=500us CMD true", "Interval \"interval\" cannot be less than 1ms");
	change_err(&c, "HEALTHCHECK --timeout=10 CMD true", "time: missing unit in duration \"10\"");
	change_err(&c, "HEALTHCHECK --timeout=3d CMD true", "time: unknown unit \"d\" in duration \"3d\"");
	change_err(&c, "HEALTHCHECK --timeout=fast CMD true", "time: invalid duration \"fast\"");
	change_err(&c, "HEALTHCHECK --retries=-1 CMD true", "--retries cannot be negative (-1)");
	change_err(&c, "HEALTHCHECK --retries=x CMD true", "strconv.ParseInt: parsing \"x\": invalid syntax");
	change_err(&c, "HEALTHCHECK --verbose=1 CMD true", "Unknown flag: verbose");
	change_err(&c, "HEALTHCHECK --interval CMD true", "Missing a value on flag: --interval");
	change_err(&c, "HEALTHCHECK --retries=1 --retries=2 CMD true", "Duplicate flag specified: retries");
	change_err(&c, "HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD");
	change_err(&c, "HEALTHCHECK RUN true", "Unknown type \"RUN\" in HEALTHCHECK (try CMD)");
	change_err(&c, "HEALTHCHECK NONE now", "HEALTHCHECK NONE takes no arguments");
	change_err(&c, "HEALTHCHECK", "HEALTHCHECK requires at least one argument");
	img_config_free(&c);
}

static void test_change_refused(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	change_err(&c, "RUN apt-get update",
		   "run is not a valid change command (valid change commands: CMD, ENTRYPOINT, "
		   "ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, "
		   "WORKDIR)");
	change_err(&c, "FROM scratch", "from is not a valid change command");
	change_err(&c, "Copy a b", "copy is not a valid change command");
	change_err(&c, "ADD a b", "add is not a valid change command");
	change_err(&c, "SHELL [\"/bin/bash\"]", "shell is not a valid change command");
	change_err(&c, "ARG X=1", "arg is not a valid change command");
	change_err(&c, "MAINTAINER me", "maintainer is not a valid change command");
	change_err(&c, "FOO bar", "unknown instruction: FOO (valid change commands: CMD,");
	change_err(&c, "USER bob\nRUN x", "run is not a valid change command");
	change_err(&c, "ENV --flag A=1", "Unknown flag: flag");

	/* all or nothing */
	berr e = {0};
	_cleanup_free_ char *before = img_config_to_json(&c);
	char *const changes[] = {"USER bob", "ENV A=1", "EXPOSE 80/xyz"};
	assert_int_equal(img_config_apply_changes(&c, changes, 3, &e), -1);
	assert_err_has(&e, "invalid proto: xyz");
	_cleanup_free_ char *after = img_config_to_json(&c);
	assert_string_equal(before, after);
	img_config_free(&c);
}

static void test_change_lines(void **state)
{
	struct img_config c;
	parse_ok(docker_config, &c);
	/* blank and comment lines skipped; "\" continues a line (comments inside it too) */
	change_ok(&c, "\n# a comment\n  USER alice  \n\nENV A=1 \\\n    B=2 \\  \n# inside\n    C=3\r\n");
	assert_string_equal(c.user, "alice");
	assert_strv(c.env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.4",
		    "A=1", "B=2", "C=3", NULL);
	/* changes joined as one Dockerfile: a continuation runs into the next change */
	berr e = {0};
	char *const changes[] = {"LABEL a=1 \\", "b=2"};
	assert_int_equal(img_config_apply_changes(&c, changes, 2, &e), 0);
	assert_strv(c.labels, "maintainer", "NGINX Docker Maintainers <docker-maint@nginx.com>", "a", "1", "b", "2",
		    NULL);
	/* nothing at all is fine */
	change_ok(&c, "");
	change_ok(&c, "   \n# only a comment");
	assert_int_equal(img_config_apply_changes(&c, NULL, 0, &e), 0);
	img_config_free(&c);
}

static void test_chain_ids(void **state)
{
	/* diff IDs sha256("layer0".."layer2"); chain IDs computed with python3 hashlib */
	char *const diff[] = {"sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e",
			      "sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2",
			      "sha256:95cf1a2e1698fe3ca1fcc3f653119146b271d0b62e487ec264441e886a11bd06"};
	char out[3][B_DIGEST_LEN + 1];
	berr e = {0};
	assert_int_equal(img_chain_ids(diff, 3, out, &e), 0);
	assert_string_equal(out[0], "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e");
	assert_string_equal(out[1], "sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79");
	assert_string_equal(out[2], "sha256:7ad3896338947cc04ee0b35b50d400ff32538d63f42f85ec87feac78bf71a54d");

	assert_int_equal(img_chain_ids(diff, 0, out, &e), 0);
	char *const bad[] = {diff[0], "sha256:nothex"};
	assert_int_equal(img_chain_ids(bad, 2, out, &e), -1);
	assert_err_has(&e, "diff_ids[1]: invalid digest \"sha256:nothex\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_docker),
	    cmocka_unit_test(test_parse_buildkit),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_modify_and_write),
	    cmocka_unit_test(test_from_scratch),
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_change_env),
	    cmocka_unit_test(test_change_label),
	    cmocka_unit_test(test_change_cmd_entrypoint),
	    cmocka_unit_test(test_change_workdir_user_signal),
	    cmocka_unit_test(test_change_expose_volume),
	    cmocka_unit_test(test_change_onbuild_healthcheck),
	    cmocka_unit_test(test_change_refused),
	    cmocka_unit_test(test_change_lines),
	    cmocka_unit_test(test_chain_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
