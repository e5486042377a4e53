/* The engine's small parts: json-file log lines, the line splitter, signal names, container names, times. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/logs.h"
#include "engine/names.h"
#include "engine/signals.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/timefmt.h"

static void test_encode_decode_round_trip(void **state)
{
	struct timespec t = {.tv_sec = 1700000000, .tv_nsec = 123456789};
	const char text[] = "quote\" back\\slash tab\t ctl\x01 nl\n";
	size_t len;
	_cleanup_free_ char *line = eng_log_encode(ENG_LOG_STDERR, text, sizeof text - 1, &t, &len);
	assert_non_null(line);
	assert_int_equal(line[len - 1], '\n');
	assert_non_null(strstr(line, "\"stream\":\"stderr\""));
	assert_non_null(strstr(line, "\"time\":\"2023-11-14T22:13:20.123456789Z\""));
	struct eng_log_entry ent;
	berr e = {0};
	assert_int_equal(eng_log_decode(line, len - 1, &ent, &e), 0);
	assert_int_equal(ent.stream, ENG_LOG_STDERR);
	assert_int_equal(ent.len, sizeof text - 1);
	assert_memory_equal(ent.data, text, sizeof text - 1);
	assert_int_equal(ent.time.tv_sec, t.tv_sec);
	assert_int_equal(ent.time.tv_nsec, t.tv_nsec);
	eng_log_entry_free(&ent);
}

static void test_invalid_utf8_becomes_replacement(void **state)
{
	struct timespec t = {0};
	size_t len;
	_cleanup_free_ char *line = eng_log_encode(ENG_LOG_STDOUT, "a\xff\xc3\x28z", 5, &t, &len);
	assert_non_null(line);
	assert_non_null(strstr(line, "\"log\":\"a\\ufffd\\ufffd(z\""));
	/* Valid multi-byte text passes through unchanged. */
	_cleanup_free_ char *ok = eng_log_encode(ENG_LOG_STDOUT, "h\xc3\xa9", 3, &t, &len);
	assert_non_null(strstr(ok, "\"log\":\"h\xc3\xa9\""));
}

static void test_decode_rejects_foreign_lines(void **state)
{
	struct eng_log_entry ent;
	berr e = {0};
	assert_int_equal(eng_log_decode("not json", 8, &ent, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	const char *no_time = "{\"log\":\"x\",\"stream\":\"stdout\"}";
	assert_int_equal(eng_log_decode(no_time, strlen(no_time), &ent, &e), -1);
	berr_clear(&e);
}

/* Feed the splitter in pieces; read back the entries it wrote. */
static char **split(const char *const *pieces, size_t n, size_t *count)
{
	char path[] = "/tmp/berth-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	struct eng_log_splitter s = {.stream = ENG_LOG_STDOUT};
	struct eng_log_file f = {.fd = fd};
	berr e = {0};
	for (size_t i = 0; i < n; i++)
		assert_int_equal(eng_log_splitter_feed(&s, &f, pieces[i], strlen(pieces[i]), &e), 0);
	assert_int_equal(eng_log_splitter_flush(&s, &f, &e), 0);
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf = calloc(1, (size_t)size + 1);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	close(fd);
	char **out = calloc((size_t)size + 1, sizeof *out);
	*count = 0;
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct eng_log_entry ent;
		assert_int_equal(eng_log_decode(l, strlen(l), &ent, &e), 0);
		out[(*count)++] = ent.data;
	}
	free(buf);
	return out;
}

static void test_splitter_lines(void **state)
{
	const char *pieces[] = {"one\ntw", "o\nthr", "ee", "\nlast"};
	size_t n;
	char **got = split(pieces, 4, &n);
	assert_int_equal(n, 4);
	assert_string_equal(got[0], "one\n");
	assert_string_equal(got[1], "two\n");
	assert_string_equal(got[2], "three\n");
	assert_string_equal(got[3], "last"); /* the end without a newline is kept */
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	free(got);
}

static void test_splitter_long_line(void **state)
{
	size_t big = 40000;
	char *text = malloc(big + 2);
	memset(text, 'x', big);
	text[big] = '\n';
	text[big + 1] = '\0';
	const char *pieces[] = {text};
	size_t n;
	char **got = split(pieces, 1, &n);
	/* 16 KiB pieces, as Docker splits long lines. */
	assert_int_equal(n, 3);
	assert_int_equal(strlen(got[0]), 16384);
	assert_int_equal(strlen(got[1]), 16384);
	assert_int_equal(strlen(got[2]), big - 2 * 16384 + 1);
	for (size_t i = 0; i < n; i++)
		free(got[i]);
	free(got);
	free(text);
}

static void test_signals(void **state)
{
	int sig;
	berr e = {0};
	const struct {
		const char *in;
		int sig;
	} ok[] = {{"KILL", SIGKILL}, {"SIGTERM", SIGTERM},         {"sigusr1", SIGUSR1},     {"9", 9},
		  {"HUP", SIGHUP},   {"SIGRTMIN+1", SIGRTMIN + 1}, {"RTMAX-1", SIGRTMAX - 1}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(eng_signal_parse(ok[i].in, &sig, &e), 0);
		assert_int_equal(sig, ok[i].sig);
	}
	const char *bad[] = {"NOPE", "0", "-1", "999", "SIGRTMIN+99", "9x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(eng_signal_parse(bad[i], &sig, &e), -1);
		assert_int_equal(e.errnum, EINVAL);
		assert_non_null(strstr(berr_msg(&e), "Invalid signal"));
		berr_clear(&e);
	}
}

static void test_names(void **state)
{
	assert_true(eng_name_valid("web"));
	assert_true(eng_name_valid("/web_1.a-b"));
	assert_false(eng_name_valid("a"));
	assert_false(eng_name_valid("_web"));
	assert_false(eng_name_valid("bad name"));
	assert_false(eng_name_valid("x/y"));
	char buf[64];
	for (int i = 0; i < 50; i++) {
		eng_name_generate(buf, sizeof buf);
		assert_true(eng_name_valid(buf));
		assert_non_null(strchr(buf, '_'));
	}
	char id[65];
	eng_id_generate(id);
	assert_int_equal(strlen(id), 64);
	assert_int_equal(strspn(id, "0123456789abcdef"), 64);
}

static void test_times(void **state)
{
	struct timespec t;
	assert_true(b_time_parse("2023-11-14T22:13:20.5Z", &t));
	assert_int_equal(t.tv_sec, 1700000000);
	assert_int_equal(t.tv_nsec, 500000000);
	assert_true(b_time_parse("2023-11-14T23:13:20+01:00", &t));
	assert_int_equal(t.tv_sec, 1700000000);
	assert_true(b_time_parse("1700000000.25", &t));
	assert_int_equal(t.tv_sec, 1700000000);
	assert_int_equal(t.tv_nsec, 250000000);
	assert_false(b_time_parse("", &t));
	assert_false(b_time_parse("yesterday", &t));
	assert_false(b_time_parse("2023-11-14", &t));
	char out[B_TIME_LEN];
	struct timespec in = {.tv_sec = 0, .tv_nsec = 7};
	b_time_format(&in, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000007Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_decode_round_trip),
	    cmocka_unit_test(test_invalid_utf8_becomes_replacement),
	    cmocka_unit_test(test_decode_rejects_foreign_lines),
	    cmocka_unit_test(test_splitter_lines),
	    cmocka_unit_test(test_splitter_long_line),
	    cmocka_unit_test(test_signals),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
