/* Restart policies and log options as Docker checks them, log rotation, and `until` times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/logs.h"
#include "engine/restart.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/timefmt.h"

/* The message of checking this HostConfig, or NULL when it passes. */
static char *policy_error(const char *host_config_json)
{
	json_t *hc = json_loads(host_config_json, 0, NULL);
	assert_non_null(hc);
	berr e = {0};
	char *msg = NULL;
	if (eng_restart_policy_check(hc, &e) < 0) {
		assert_int_equal(e.errnum, EINVAL);
		msg = strdup(berr_msg(&e));
	}
	berr_clear(&e);
	json_decref(hc);
	return msg;
}

static void test_restart_policy_check(void **state)
{
	const char *ok[] = {
	    "{}",
	    "{\"RestartPolicy\": {\"Name\": \"no\"}}",
	    "{\"RestartPolicy\": {\"Name\": \"\", \"MaximumRetryCount\": 3}}",
	    "{\"RestartPolicy\": {\"Name\": \"always\"}}",
	    "{\"RestartPolicy\": {\"Name\": \"unless-stopped\", \"MaximumRetryCount\": 0}}",
	    "{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": 5}}",
	    "{\"AutoRemove\": true, \"RestartPolicy\": {\"Name\": \"no\"}}",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		_cleanup_free_ char *msg = policy_error(ok[i]);
		assert_null(msg);
	}
	const struct {
		const char *in, *msg;
	} bad[] = {
	    {"{\"RestartPolicy\": {\"Name\": \"sometimes\"}}",
	     "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or "
	     "'unless-stopped'"},
	    {"{\"RestartPolicy\": {\"Name\": \"on-failure\", \"MaximumRetryCount\": -1}}",
	     "invalid restart policy: maximum retry count cannot be negative"},
	    {"{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 2}}",
	     "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
	    {"{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": -2}}",
	     "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"},
	    {"{\"AutoRemove\": true, \"RestartPolicy\": {\"Name\": \"always\"}}",
	     "can't create 'AutoRemove' container with restart policy"},
	    {"{\"RestartPolicy\": \"always\"}", "HostConfig.RestartPolicy: expected an object, got a string"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		_cleanup_free_ char *msg = policy_error(bad[i].in);
		assert_non_null(msg);
		assert_string_equal(msg, bad[i].msg);
	}
}

static void test_size_parse(void **state)
{
	const struct {
		const char *in;
		long long v;
	} ok[] = {{"1k", 1000},   {"10m", 10000000}, {"1.5k", 1500},       {"20MB", 20000000},
		  {"3KiB", 3000}, {"7", 7},          {"2 g", 2000000000LL}};
	berr e = {0};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		long long v = 0;
		assert_int_equal(eng_size_parse(ok[i].in, &v, &e), 0);
		assert_int_equal(v, ok[i].v);
	}
	const char *bad[] = {"", "abc", "-1k", "10x", "1kk"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long long v;
		assert_int_equal(eng_size_parse(bad[i], &v, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		assert_non_null(strstr(berr_msg(&e), "invalid size: '"));
		berr_clear(&e);
	}
}

static int log_check(const char *json, berr *e)
{
	json_t *lc = json_loads(json, 0, NULL);
	assert_non_null(lc);
	int r = eng_log_config_check(lc, e);
	json_decref(lc);
	return r;
}

static void test_log_config_check(void **state)
{
	berr e = {0};
	const char *ok[] = {
	    "{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1k\", \"max-file\": \"3\"}}",
	    "{\"Type\": \"\", \"Config\": {\"max-file\": \"100\"}}",
	    "{\"Type\": \"local\", \"Config\": {\"max-size\": \"20m\", \"compress\": \"true\"}}",
	    "{\"Type\": \"none\", \"Config\": {\"anything\": \"goes\"}}",
	    "{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1m\", \"max-file\": \"2\", \"compress\": \"1\"}}",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (log_check(ok[i], &e) < 0)
			fail_msg("%s: %s", ok[i], berr_msg(&e));
	}
	const struct {
		const char *in, *msg;
		int errnum;
	} bad[] = {
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"abc\"}}", "invalid size: 'abc'", EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"0\"}}", "max-size must be a positive number",
	     EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-file\": \"0\"}}", "max-file cannot be less than 1", EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-file\": \"x\"}}",
	     "strconv.Atoi: parsing \"x\": invalid syntax", EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"compress\": \"true\"}}",
	     "compress cannot be true when max-file is less than 2 or max-size is not set", EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"color\": \"red\"}}",
	     "unknown log opt 'color' for json-file log driver", EINVAL},
	    {"{\"Type\": \"local\", \"Config\": {\"tag\": \"x\"}}", "unknown log opt 'tag' for log driver local",
	     EINVAL},
	    {"{\"Type\": \"nope\"}", "logger: no log driver named 'nope' is registered", EINVAL},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-size\": 10}}",
	     "HostConfig.LogConfig.Config.max-size: expected a string, got an integer", EINVAL},
	    {"{\"Type\": \"syslog\"}",
	     "logging driver syslog is not supported yet by berthd (json-file, local and none are)", ENOTSUP},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(log_check(bad[i].in, &e), -1);
		assert_string_equal(berr_msg(&e), bad[i].msg);
		assert_int_equal(e.errnum, bad[i].errnum);
		berr_clear(&e);
	}
}

static void test_log_rotation_settings(void **state)
{
	const struct {
		const char *in;
		bool file;
		long long size;
		int files;
	} cases[] = {
	    {"{\"Type\": \"json-file\", \"Config\": {}}", true, 10000000, 3},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1k\"}}", true, 1000, 1},
	    {"{\"Type\": \"json-file\", \"Config\": {\"max-size\": \"1k\", \"max-file\": \"3\"}}", true, 1000, 3},
	    {"{\"Type\": \"local\", \"Config\": {}}", true, 20000000, 5},
	    {"{\"Type\": \"none\", \"Config\": {}}", false, 10000000, 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *lc = json_loads(cases[i].in, 0, NULL);
		bool file;
		long long size;
		int files;
		eng_log_config_rotation(lc, &file, &size, &files);
		assert_int_equal(file, cases[i].file);
		assert_int_equal(size, cases[i].size);
		assert_int_equal(files, cases[i].files);
		json_decref(lc);
	}
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void test_log_file_rotates(void **state)
{
	char dir[] = "/tmp/berth-test-rotate-XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_free_ char *path = NULL;
	assert_true(asprintf(&path, "%s/x-json.log", dir) > 0);
	struct eng_log_file f;
	berr e = {0};
	assert_int_equal(eng_log_file_open(&f, path, 100, 3, &e), 0);
	char line[41];
	/* 10 entries of 40 bytes: a file is full after 3 (120 >= 100), so 4 files' worth, 3 kept. */
	for (int i = 0; i < 10; i++) {
		snprintf(line, sizeof line, "%039d\n", i);
		assert_int_equal(eng_log_file_write(&f, line, 40, &e), 0);
	}
	eng_log_file_close(&f);
	_cleanup_free_ char *p1 = eng_log_file_name(path, 1), *p2 = eng_log_file_name(path, 2),
			    *p3 = eng_log_file_name(path, 3);
	assert_int_equal(file_size(path), 40); /* entry 9 */
	assert_int_equal(file_size(p1), 120);  /* entries 6-8 */
	assert_int_equal(file_size(p2), 120);  /* entries 3-5 */
	assert_int_equal(file_size(p3), -1);   /* 0-2 are gone */
	_cleanup_free_ char *text = NULL;
	assert_int_equal(b_read_file(p2, &text, NULL, &e), 0);
	assert_int_equal(atoi(text), 3);
	/* One file only: emptied instead of rotated. */
	assert_int_equal(eng_log_file_open(&f, path, 50, 1, &e), 0);
	assert_int_equal(eng_log_file_write(&f, line, 40, &e), 0); /* 40 + 40 */
	assert_int_equal(eng_log_file_write(&f, line, 40, &e), 0); /* full: emptied, then 40 */
	eng_log_file_close(&f);
	assert_int_equal(file_size(path), 40);
	unlink(path);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
}

static void test_time_parse_ago(void **state)
{
	struct timespec now = {.tv_sec = 1700000000, .tv_nsec = 0}, t;
	assert_true(b_time_parse_ago("10m", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000 - 600);
	assert_true(b_time_parse_ago("1h30m", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000 - 5400);
	assert_true(b_time_parse_ago("1.5s", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000 - 2);
	assert_int_equal(t.tv_nsec, 500000000);
	assert_true(b_time_parse_ago("2023-11-14T22:13:20Z", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000);
	assert_true(b_time_parse_ago("1700000000", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000);
	assert_true(b_time_parse_ago("2023-11-14", &now, &t));
	assert_int_equal(t.tv_sec, 1700000000 - (22 * 3600 + 13 * 60 + 20));
	assert_false(b_time_parse_ago("soon", &now, &t));
	assert_false(b_time_parse_ago("10", &now, &t) && t.tv_sec != 10);
	assert_false(b_time_parse_ago("5 minutes", &now, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_restart_policy_check), cmocka_unit_test(test_size_parse),
	    cmocka_unit_test(test_log_config_check),     cmocka_unit_test(test_log_rotation_settings),
	    cmocka_unit_test(test_log_file_rotates),     cmocka_unit_test(test_time_parse_ago),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
