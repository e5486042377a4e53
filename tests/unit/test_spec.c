/* config.json parsing: fields, defaults, mount options, and errors that name the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "lib/err.h"
#include "oci/spec.h"

#define MINIMAL_PROCESS "\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}"

static struct oci_spec *parse_ok(const char *text)
{
	struct oci_spec *s = NULL;
	berr e = {0};
	int r = oci_spec_parse(text, &s, &e);
	if (r < 0)
		fail_msg("unexpected error: %s", berr_msg(&e));
	berr_clear(&e);
	return s;
}

/* Parse must fail with a message containing want. */
static void parse_fails(const char *text, const char *want)
{
	struct oci_spec *s = NULL;
	berr e = {0};
	assert_int_equal(oci_spec_parse(text, &s, &e), -1);
	assert_null(s);
	if (!strstr(berr_msg(&e), want))
		fail_msg("error \"%s\" does not mention \"%s\"", berr_msg(&e), want);
	berr_clear(&e);
}

static void test_full_config(void **state)
{
	(void)state;
	struct oci_spec *s = parse_ok(
	    "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
	    " \"hostname\": \"h1\", \"domainname\": \"d1\","
	    " \"process\": {\"terminal\": true, \"consoleSize\": {\"height\": 24, \"width\": 80},"
	    "   \"user\": {\"uid\": 1000, \"gid\": 100, \"umask\": 18, \"additionalGids\": [5, 6]},"
	    "   \"args\": [\"sh\", \"-c\", \"true\"], \"env\": [\"A=1\"], \"cwd\": \"/work\","
	    "   \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"effective\": [\"CAP_KILL\"]},"
	    "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 2048}],"
	    "   \"noNewPrivileges\": true, \"oomScoreAdj\": 100},"
	    " \"mounts\": [{\"destination\": \"/data\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\", "
	    "\"rprivate\"]},"
	    "   {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\", "
	    "\"size=1m\", \"mode=1777\"]}],"
	    " \"hooks\": {\"poststop\": [{\"path\": \"/bin/true\", \"args\": [\"true\"], \"timeout\": 5}]},"
	    " \"annotations\": {\"k\": \"v\"},"
	    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"},"
	    "   {\"type\": \"mount\"}, {\"type\": \"user\"}],"
	    "   \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	    "   \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
	    "   \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229, \"fileMode\": "
	    "438}],"
	    "   \"cgroupsPath\": \"/a/b\","
	    "   \"resources\": {\"memory\": {\"limit\": 33554432, \"swap\": 67108864}, \"cpu\": {\"shares\": 512, "
	    "\"quota\": 20000, \"period\": 100000, \"cpus\": \"0\"},"
	    "     \"pids\": {\"limit\": 20}, \"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, "
	    "\"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rw\"}],"
	    "     \"blockIO\": {\"weight\": 500, \"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": "
	    "1048576}]}},"
	    "   \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}, \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": "
	    "[\"/proc/sys\"],"
	    "   \"rootfsPropagation\": \"rslave\","
	    "   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"], "
	    "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]}}}");
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "h1");
	assert_true(s->process.terminal);
	assert_int_equal(s->process.console_size.width, 80);
	assert_int_equal(s->process.user.uid, 1000);
	assert_int_equal(s->process.user.umask, 18);
	assert_int_equal(s->process.user.n_additional_gids, 2);
	assert_string_equal(s->process.args[2], "true");
	assert_int_equal(s->process.capabilities.bounding, (1ULL << 0) | (1ULL << 5));
	assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(s->process.rlimits[0].hard, 2048);
	assert_int_equal(s->process.oom_score_adj, 100);
	assert_true(s->mounts[0].bind && s->mounts[0].recursive_bind);
	assert_true(s->mounts[0].flags & MS_RDONLY);
	assert_int_equal(s->mounts[0].propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(s->mounts[1].data, "size=1m,mode=1777");
	assert_true(s->mounts[1].flags & MS_NOSUID);
	assert_int_equal(s->hooks.n_poststop, 1);
	assert_int_equal(s->hooks.poststop[0].timeout, 5);
	assert_string_equal(s->annotations[0], "k");
	assert_true(s->linux_.namespaces[OCI_NS_PID].present);
	assert_null(s->linux_.namespaces[OCI_NS_PID].path);
	assert_string_equal(s->linux_.namespaces[OCI_NS_NETWORK].path, "/proc/1/ns/net");
	assert_false(s->linux_.namespaces[OCI_NS_IPC].present);
	assert_int_equal(s->linux_.uid_mappings[0].host_id, 100000);
	assert_int_equal(s->linux_.devices[0].minor, 229);
	assert_int_equal(s->linux_.devices[0].file_mode, 0666);
	struct oci_resources *r = &s->linux_.resources;
	assert_true(r->memory.has_limit && r->memory.limit == 33554432);
	assert_false(r->memory.has_reservation);
	assert_int_equal(r->cpu.shares, 512);
	assert_string_equal(r->cpu.cpus, "0");
	assert_int_equal(r->pids.limit, 20);
	assert_int_equal(r->n_devices, 2);
	assert_int_equal(r->devices[0].major, -1);
	assert_int_equal(r->devices[1].type, 'c');
	assert_int_equal(r->block_io.weight, 500);
	assert_int_equal(r->block_io.throttle_read_bps[0].rate, 1048576);
	assert_string_equal(s->linux_.sysctl[1], "1");
	assert_int_equal(s->linux_.seccomp->n_syscalls, 1);
	assert_int_equal(s->linux_.seccomp->syscalls[0].errno_ret, 1);
	oci_spec_free(s);
}

static void test_minimal_config(void **state)
{
	(void)state;
	struct oci_spec *s = parse_ok("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS "}");
	assert_false(s->root_readonly);
	assert_false(s->process.has_capabilities);
	assert_false(s->linux_.has_resources);
	assert_null(s->linux_.seccomp);
	oci_spec_free(s);
}

static void test_errors_name_the_field(void **state)
{
	(void)state;
	parse_fails("{not json", "invalid JSON at line 1");
	parse_fails("[]", "expected an object");
	parse_fails("{\"root\": {\"path\": \"r\"}}", "ociVersion: required");
	parse_fails("{\"ociVersion\": \"1\", " MINIMAL_PROCESS "}", "root: required");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {}, " MINIMAL_PROCESS "}", "root.path: required");
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": \"sh\", \"cwd\": \"/\"}}",
	    "process.args: expected an array of strings, got a string");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\", 3], "
		    "\"cwd\": \"/\"}}",
		    "process.args[1]: expected a string, got an integer");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [], \"cwd\": \"/\"}}",
		    "process.args: must name the program");
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"rel\"}}",
	    "process.cwd: must be an absolute path");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"linux\": {\"namespaces\": [{\"type\": \"pidd\"}]}}",
		    "linux.namespaces[0].type: unknown namespace type \"pidd\"");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"mounts\": [{\"destination\": \"/x\", \"source\": \"y\"}]}",
		    "type is required unless the options say bind");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"mounts\": [{\"destination\": \"rel\", \"type\": \"tmpfs\"}]}",
		    "mounts[0].destination: must be an absolute path");
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	    " \"rlimits\": [{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]}}",
	    "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	    " \"capabilities\": {\"bounding\": [\"CAP_NOPE\"]}}}",
	    "process.capabilities.bounding[0]");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"linux\": {\"resources\": {\"memory\": {\"limit\": \"lots\"}}}}",
		    "linux.resources.memory.limit: expected an integer, got a string");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_MAYBE\"}}}",
		    "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_MAYBE\"");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"hooks\": {\"prestart\": [{\"path\": \"rel\"}]}}",
		    "hooks.prestart[0].path: must be an absolute path");
	parse_fails("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, " MINIMAL_PROCESS
		    ", \"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1, \"size\": 1}]}}",
		    "without a user namespace");
	parse_fails("{\"ociVersion\": \"1\", \"ociVersion\": \"2\"}", "invalid JSON");
}

static void test_mount_options(void **state)
{
	(void)state;
	char *opts[] = {"ro",      "rw",       "nosuid",    "nodev", "noexec", "exec",
			"rshared", "size=10m", "tmpcopyup", "uid=5", NULL};
	struct oci_mount m = {.destination = "/x", .type = "tmpfs", .options = opts};
	berr e = {0};
	assert_int_equal(oci_mount_parse_options(&m, &e), 0);
	assert_false(m.flags & MS_RDONLY); /* rw after ro wins */
	assert_true(m.clear_flags & MS_RDONLY);
	assert_true(m.flags & MS_NOSUID);
	assert_true(m.flags & MS_NODEV);
	assert_false(m.flags & MS_NOEXEC);
	assert_int_equal(m.propagation, MS_SHARED | MS_REC);
	assert_string_equal(m.data, "size=10m,uid=5");
	assert_false(m.bind);
	free(m.data);

	char *bind_opts[] = {"bind", NULL};
	struct oci_mount b = {.destination = "/y", .options = bind_opts};
	assert_int_equal(oci_mount_parse_options(&b, &e), 0);
	assert_true(b.bind);
	assert_false(b.recursive_bind);
	assert_null(b.data);

	struct oci_mount rb = {.destination = "/z", .type = "rbind"};
	assert_int_equal(oci_mount_parse_options(&rb, &e), 0);
	assert_true(rb.bind && rb.recursive_bind);
}

static void test_uint64_values(void **state)
{
	(void)state;
	/* podman --ulimit memlock=-1:-1 writes RLIM_INFINITY as a uint64 literal, beyond what jansson holds. */
	struct oci_spec *s =
	    parse_ok("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"],"
		     " \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_MEMLOCK\","
		     " \"soft\": 18446744073709551615, \"hard\": 9223372036854775808}]}}");
	assert_true(s->process.rlimits[0].soft == UINT64_MAX);
	assert_true(s->process.rlimits[0].hard == 9223372036854775808ULL);
	oci_spec_free(s);
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1.5e3, \"hard\": 1}]}}",
	    "process.rlimits[0].soft: expected an unsigned integer, got a number");
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 18446744073709551616, \"hard\": 1}]}}",
	    "invalid JSON");
	/* Marked literals are numbers only: a string that looks alike stays a string. */
	parse_fails(
	    "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}, \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
	    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": \"18446744073709551615\", \"hard\": 1}]}}",
	    "expected an unsigned integer, got a string");
}

static void test_recursive_mount_options(void **state)
{
	(void)state;
	char *opts[] = {"rbind", "rro", NULL};
	struct oci_mount m = {.destination = "/x", .options = opts};
	berr e = {0};
	assert_int_equal(oci_mount_parse_options(&m, &e), 0);
	assert_true(m.recursive_ro && !m.recursive_rw && m.recursive_bind);
	char *idmap[] = {"bind", "idmap", NULL};
	struct oci_mount i = {.destination = "/y", .options = idmap};
	assert_int_equal(oci_mount_parse_options(&i, &e), -1);
	assert_non_null(strstr(berr_msg(&e), "\"idmap\" is not supported"));
	berr_clear(&e);
}

static void test_process_parse(void **state)
{
	(void)state;
	struct oci_process p;
	berr e = {0};
	assert_int_equal(
	    oci_process_parse(
		"{\"args\": [\"ls\"], \"cwd\": \"/tmp\", \"env\": [\"X=1\"], \"user\": {\"uid\": 7, \"gid\": 8}}", &p,
		&e),
	    0);
	assert_string_equal(p.args[0], "ls");
	assert_int_equal(p.user.gid, 8);
	oci_process_free(&p);
	assert_int_equal(oci_process_parse("{\"args\": [\"ls\"]}", &p, &e), -1);
	assert_non_null(strstr(berr_msg(&e), "process.cwd: required"));
	berr_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config),
	    cmocka_unit_test(test_minimal_config),
	    cmocka_unit_test(test_errors_name_the_field),
	    cmocka_unit_test(test_mount_options),
	    cmocka_unit_test(test_process_parse),
	    cmocka_unit_test(test_uint64_values),
	    cmocka_unit_test(test_recursive_mount_options),
	};
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
