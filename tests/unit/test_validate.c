/* Checks before create (sysctls, namespaces) and the device cgroup rules a container gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/err.h"
#include "oci/devices.h"
#include "oci/spec.h"
#include "oci/validate.h"

static struct oci_spec *parse(const char *linux_json)
{
	char *text = NULL;
	assert_true(asprintf(&text,
			     "{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"r\"},"
			     " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}, \"linux\": %s}",
			     linux_json) > 0);
	struct oci_spec *s = NULL;
	berr e = {0};
	if (oci_spec_parse(text, &s, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	free(text);
	return s;
}

static void expect(const char *linux_json, const char *error /* NULL: accepted */)
{
	struct oci_spec *s = parse(linux_json);
	berr e = {0};
	int r = oci_spec_validate_for_create(s, &e);
	if (!error) {
		if (r < 0)
			fail_msg("refused: %s", berr_msg(&e));
	} else {
		assert_int_equal(r, -1);
		if (!strstr(berr_msg(&e), error))
			fail_msg("\"%s\" does not mention \"%s\"", berr_msg(&e), error);
	}
	berr_clear(&e);
	oci_spec_free(s);
}

#define NS_ALL "[{\"type\": \"mount\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}]"

static void test_sysctls_follow_their_namespace(void **state)
{
	(void)state;
	expect("{\"namespaces\": " NS_ALL ", \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}}", NULL);
	expect("{\"namespaces\": [{\"type\": \"mount\"}], \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}}",
	       "needs a private network namespace");
	expect("{\"namespaces\": " NS_ALL ", \"sysctl\": {\"kernel.shmmax\": \"1\", \"fs.mqueue.msg_max\": \"9\"}}",
	       NULL);
	expect("{\"namespaces\": [{\"type\": \"mount\"}], \"sysctl\": {\"kernel.msgmax\": \"1\"}}",
	       "needs a private IPC namespace");
	expect("{\"namespaces\": [{\"type\": \"mount\"}], \"sysctl\": {\"kernel.domainname\": \"x\"}}",
	       "needs a private UTS namespace");
	expect("{\"namespaces\": " NS_ALL ", \"sysctl\": {\"vm.swappiness\": \"1\"}}", "not namespaced");
	/* Joining our own namespace by path is not private. */
	expect("{\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"network\", \"path\": \"/proc/self/ns/net\"}],"
	       " \"sysctl\": {\"net.core.somaxconn\": \"1\"}}",
	       "needs a private network namespace");
}

static void test_namespace_rules(void **state)
{
	(void)state;
	expect("{\"namespaces\": [{\"type\": \"pid\"}]}", "a mount namespace is required");
	expect("{\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"time\"}]}", "time namespace is not supported");
	expect("{\"namespaces\": [{\"type\": \"mount\", \"path\": \"/proc/1/ns/mnt\"}]}",
	       "joining a mount namespace by path is not supported");
}

static void test_hostname_needs_uts(void **state)
{
	(void)state;
	struct oci_spec *s = parse("{\"namespaces\": [{\"type\": \"mount\"}]}");
	s->hostname = strdup("h");
	berr e = {0};
	assert_int_equal(oci_spec_validate_for_create(s, &e), -1);
	assert_non_null(strstr(berr_msg(&e), "private UTS namespace"));
	berr_clear(&e);
	oci_spec_free(s);
}

static void test_device_rules(void **state)
{
	(void)state;
	struct oci_spec *s =
	    parse("{\"namespaces\": [{\"type\": \"mount\"}],"
		  " \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229},"
		  "               {\"path\": \"/dev/p\", \"type\": \"p\", \"major\": 0, \"minor\": 0}],"
		  " \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]}}");
	struct oci_device_cgroup *rules = NULL;
	size_t n = 0;
	berr e = {0};
	assert_int_equal(oci_devices_effective_rules(s, &rules, &n, &e), 0);
	/* The config's deny-all first, then the defaults, then the config's device (not the fifo). */
	assert_false(rules[0].allow);
	assert_int_equal(rules[0].type, 'a');
	bool null_ok = false, fuse_ok = false;
	for (size_t i = 1; i < n; i++) {
		assert_true(rules[i].allow);
		null_ok |= rules[i].type == 'c' && rules[i].major == 1 && rules[i].minor == 3;
		fuse_ok |= rules[i].type == 'c' && rules[i].major == 10 && rules[i].minor == 229;
		assert_false(rules[i].major == 0 && rules[i].minor == 0);
	}
	assert_true(null_ok && fuse_ok);
	assert_int_equal(rules[n - 1].major, 10);
	free(rules);
	oci_spec_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sysctls_follow_their_namespace),
	    cmocka_unit_test(test_namespace_rules),
	    cmocka_unit_test(test_hostname_needs_uts),
	    cmocka_unit_test(test_device_rules),
	};
	return cmocka_run_group_tests_name("validate", tests, NULL, NULL);
}
