/* top's ps parsing, the cgroup counters of v1 and v2 in Docker's shapes, /proc/net/dev, the event bus and its filters.
 */
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

#include "engine/events.h"
#include "engine/stats.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"

static void test_top_parse(void **state)
{
	const char *ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
			 "root           1       0  0 10:00 ?        00:00:01 /sbin/init splash\n"
			 "root         500       1  0 10:01 ?        00:00:00 sleep 300\n"
			 "root         501     500  0 10:01 ?        00:00:00 sh -c echo  a   b\n"
			 "\n";
	pid_t pids[] = {500, 501};
	json_t *out;
	berr e = {0};
	assert_int_equal(eng_top_parse(ps, pids, 2, &out, &e), 0);
	json_t *titles = json_object_get(out, "Titles"), *procs = json_object_get(out, "Processes");
	assert_int_equal(json_array_size(titles), 8);
	assert_int_equal(json_array_size(procs), 2);
	assert_string_equal(json_string_value(json_array_get(json_array_get(procs, 0), 1)), "500");
	assert_string_equal(json_string_value(json_array_get(json_array_get(procs, 0), 7)), "sleep 300");
	/* The overhanging fields join the last column, single-spaced as Docker joins them. */
	assert_string_equal(json_string_value(json_array_get(json_array_get(procs, 1), 7)), "sh -c echo a b");
	json_decref(out);

	/* Thread lines ("-" PID, ps -L / m) stay with the process above them. */
	const char *threads = "PID TID CMD\n7 - sleep\n- 7 -\n- 8 -\n9 - other\n- 9 -\n";
	pid_t seven = 7;
	assert_int_equal(eng_top_parse(threads, &seven, 1, &out, &e), 0);
	assert_int_equal(json_array_size(json_object_get(out, "Processes")), 3);
	json_decref(out);

	assert_int_equal(eng_top_parse("USER CMD\nroot x\n", pids, 2, &out, &e), -1);
	assert_string_equal(berr_msg(&e), "Couldn't find PID field in ps output");
	berr_clear(&e);
	assert_int_equal(eng_top_parse("PID CMD\nabc x\n", pids, 2, &out, &e), -1);
	assert_non_null(strstr(berr_msg(&e), "Unexpected pid 'abc'"));
	berr_clear(&e);
}

static void test_top_check_args(void **state)
{
	berr e = {0};
	assert_int_equal(eng_top_check_args("-ef", &e), 0);
	assert_int_equal(eng_top_check_args("-o pid=PID,comm", &e), 0);
	assert_int_equal(eng_top_check_args("-o user=UID", &e), 0);
	assert_int_equal(eng_top_check_args("-o user=PID", &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	assert_string_equal(berr_msg(&e), "specifying \"user=PID\" is not allowed");
	berr_clear(&e);
	assert_int_equal(eng_top_check_args("-o pid,user= PIDX", &e), -1);
	assert_string_equal(berr_msg(&e), "specifying \"pid,user=PIDX\" is not allowed");
	berr_clear(&e);
}

static void put(const char *dir, const char *file, const char *text)
{
	_cleanup_free_ char *path = NULL;
	assert_true(asprintf(&path, "%s/%s", dir, file) > 0);
	berr e = {0};
	assert_int_equal(b_write_file(path, text, strlen(text), 0644, &e), 0);
}

static json_int_t num(json_t *doc, const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	char *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && doc; k = strtok_r(NULL, ".", &save))
		doc = json_object_get(doc, k);
	assert_true(json_is_integer(doc));
	return json_integer_value(doc);
}

static void test_cgroup_v1(void **state)
{
	char tmpl[] = "/tmp/berth-cgstats-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	put(dir, "memory.usage_in_bytes", "1000\n");
	put(dir, "memory.max_usage_in_bytes", "2000\n");
	put(dir, "memory.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory.failcnt", "0\n");
	put(dir, "memory.stat", "cache 10\nrss 20\ntotal_inactive_file 30\nshmem 5\n");
	put(dir, "cpuacct.usage", "5000000\n");
	put(dir, "cpuacct.usage_percpu", "3000000 2000000 \n");
	char stat[64];
	long hz = sysconf(_SC_CLK_TCK);
	snprintf(stat, sizeof stat, "user %ld\nsystem %ld\n", hz, 2 * hz);
	put(dir, "cpuacct.stat", stat);
	put(dir, "cpu.stat", "nr_periods 4\nnr_throttled 1\nthrottled_time 777\n");
	put(dir, "pids.current", "3\n");
	put(dir, "pids.max", "max\n");
	put(dir, "blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 512\nTotal 4608\n");
	put(dir, "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 1\nTotal 2\n");
	struct eng_cgroup_where w = {{dir, false}, {dir, false}, {dir, false}, {dir, false}, {dir, false}};
	struct eng_cgroup_stats s;
	berr e = {0};
	assert_int_equal(eng_cgroup_stats_read(&w, 1 << 30, &s, &e), 0);
	assert_int_equal(num(s.memory_stats, "usage"), 1000);
	assert_int_equal(num(s.memory_stats, "max_usage"), 2000);
	assert_int_equal(num(s.memory_stats, "limit"), 1 << 30); /* unlimited: the machine's memory */
	assert_int_equal(num(s.memory_stats, "stats.total_inactive_file"), 30);
	assert_int_equal(num(s.memory_stats, "stats.rss"), 20);
	assert_null(json_object_get(json_object_get(s.memory_stats, "stats"), "shmem")); /* not one of Docker's */
	assert_null(json_object_get(s.memory_stats, "failcnt"));
	assert_int_equal(num(s.cpu_stats, "cpu_usage.total_usage"), 5000000);
	assert_int_equal(num(s.cpu_stats, "cpu_usage.usage_in_usermode"), 1000000000);
	assert_int_equal(num(s.cpu_stats, "cpu_usage.usage_in_kernelmode"), 2000000000);
	assert_int_equal(json_array_size(json_object_get(json_object_get(s.cpu_stats, "cpu_usage"), "percpu_usage")),
			 2);
	assert_int_equal(num(s.cpu_stats, "throttling_data.periods"), 4);
	assert_int_equal(num(s.cpu_stats, "throttling_data.throttled_time"), 777);
	assert_int_equal(num(s.pids_stats, "current"), 3);
	assert_null(json_object_get(s.pids_stats, "limit"));
	json_t *bytes = json_object_get(s.blkio_stats, "io_service_bytes_recursive");
	assert_int_equal(json_array_size(bytes), 2); /* "Total" left out */
	assert_string_equal(json_string_value(json_object_get(json_array_get(bytes, 0), "op")), "Read");
	assert_int_equal(num(json_array_get(bytes, 0), "value"), 4096);
	assert_true(json_is_null(json_object_get(s.blkio_stats, "sectors_recursive")));
	eng_cgroup_stats_free(&s);
	berr_clear(&e);

	/* A limit below the machine's memory is the limit. */
	put(dir, "memory.limit_in_bytes", "67108864\n");
	put(dir, "pids.max", "50\n");
	assert_int_equal(eng_cgroup_stats_read(&w, 1 << 30, &s, &e), 0);
	assert_int_equal(num(s.memory_stats, "limit"), 64 << 20);
	assert_int_equal(num(s.pids_stats, "limit"), 50);
	eng_cgroup_stats_free(&s);
	b_remove_tree(dir, &e);
}

static void test_cgroup_v2(void **state)
{
	char tmpl[] = "/tmp/berth-cgstats-XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	put(dir, "memory.current", "4096\n");
	put(dir, "memory.max", "max\n");
	put(dir, "memory.stat", "anon 100\nfile 200\ninactive_file 50\n");
	put(dir, "cpu.stat",
	    "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 2\nnr_throttled 1\n"
	    "throttled_usec 3\n");
	put(dir, "pids.current", "2\n");
	put(dir, "pids.max", "100\n");
	put(dir, "io.stat", "8:0 rbytes=1024 wbytes=2048 rios=1 wios=2 dbytes=0 dios=0\n");
	struct eng_cgroup_where w = {{dir, true}, {dir, true}, {NULL, false}, {dir, true}, {dir, true}};
	struct eng_cgroup_stats s;
	berr e = {0};
	assert_int_equal(eng_cgroup_stats_read(&w, 1 << 30, &s, &e), 0);
	assert_int_equal(num(s.memory_stats, "usage"), 4096);
	assert_null(json_object_get(s.memory_stats, "max_usage"));
	assert_int_equal(num(s.memory_stats, "limit"), 1 << 30);
	assert_int_equal(num(s.memory_stats, "stats.inactive_file"), 50);
	assert_int_equal(num(s.cpu_stats, "cpu_usage.total_usage"), 10000);
	assert_int_equal(num(s.cpu_stats, "cpu_usage.usage_in_usermode"), 6000);
	assert_null(json_object_get(json_object_get(s.cpu_stats, "cpu_usage"), "percpu_usage"));
	assert_int_equal(num(s.cpu_stats, "throttling_data.throttled_time"), 3000);
	assert_int_equal(num(s.pids_stats, "limit"), 100);
	json_t *bytes = json_object_get(s.blkio_stats, "io_service_bytes_recursive");
	assert_int_equal(json_array_size(bytes), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(bytes, 1), "op")), "write");
	assert_int_equal(num(json_array_get(bytes, 1), "value"), 2048);
	eng_cgroup_stats_free(&s);

	/* Nothing there (a controller not mounted): zeros, not an error. */
	struct eng_cgroup_where none = {0};
	assert_int_equal(eng_cgroup_stats_read(&none, 1 << 30, &s, &e), 0);
	assert_int_equal(num(s.cpu_stats, "cpu_usage.total_usage"), 0);
	assert_int_equal(json_object_size(s.memory_stats), 0);
	eng_cgroup_stats_free(&s);
	b_remove_tree(dir, &e);
}

static void test_net_dev(void **state)
{
	const char *text =
	    "Inter-|   Receive                                                |  Transmit\n"
	    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls "
	    "carrier compressed\n"
	    "    lo:    3267      29    0    0    0     0          0         0     3267      29    0    0    0     0  "
	    "     0          0\n"
	    "  eth0: 65277493    2250    1    2    0     0          0         0   121254    1711    3    4    0     0  "
	    "     0          0\n";
	json_t *nets = eng_net_dev_parse(text);
	assert_non_null(nets);
	assert_int_equal(json_object_size(nets), 1);
	assert_int_equal(num(nets, "eth0.rx_bytes"), 65277493);
	assert_int_equal(num(nets, "eth0.rx_dropped"), 2);
	assert_int_equal(num(nets, "eth0.tx_packets"), 1711);
	assert_int_equal(num(nets, "eth0.tx_dropped"), 4);
	json_decref(nets);
	assert_null(eng_net_dev_parse("h\nh\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"));
}

static struct eng_events_filter *filter(const char *json)
{
	json_t *doc = json_loads(json, 0, NULL);
	struct eng_events_filter *f = NULL;
	berr e = {0};
	assert_int_equal(eng_events_filter_new(doc, &f, &e), 0);
	json_decref(doc);
	return f;
}

static void test_events_filter(void **state)
{
	json_t *attrs = json_pack("{s:s, s:s, s:s}", "name", "web", "image", "busybox:latest", "team", "blue");
	struct eng_events_filter *f = filter("{\"container\": {\"we\": true}, \"event\": [\"start\"]}");
	assert_true(eng_events_filter_match(f, "container", "start", "abc", attrs));
	assert_false(eng_events_filter_match(f, "container", "stop", "abc", attrs));
	eng_events_filter_free(f);
	f = filter("{\"container\": [\"abc\"]}");
	assert_true(eng_events_filter_match(f, "container", "start", "abcdef", attrs));
	assert_false(eng_events_filter_match(f, "container", "start", "xyz", attrs));
	eng_events_filter_free(f);
	f = filter("{\"image\": [\"busybox\"], \"label\": [\"team=blue\", \"name\"]}");
	assert_true(eng_events_filter_match(f, "container", "die", "abc", attrs));
	eng_events_filter_free(f);
	f = filter("{\"label\": [\"team=red\"]}");
	assert_false(eng_events_filter_match(f, "container", "die", "abc", attrs));
	eng_events_filter_free(f);
	f = filter("{\"event\": [\"exec_start\"]}");
	assert_true(eng_events_filter_match(f, "container", "exec_start: sh -c true", "abc", attrs));
	eng_events_filter_free(f);
	f = filter("{\"type\": [\"image\"]}");
	assert_false(eng_events_filter_match(f, "container", "die", "abc", attrs));
	eng_events_filter_free(f);
	json_decref(attrs);

	berr e = {0};
	json_t *bad = json_pack("{s:[s]}", "colour", "red");
	assert_int_equal(eng_events_filter_new(bad, &f, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	assert_string_equal(berr_msg(&e), "invalid filter 'colour'");
	berr_clear(&e);
	json_decref(bad);
	bad = json_pack("{s:i}", "type", 3);
	assert_int_equal(eng_events_filter_new(bad, &f, &e), -1);
	berr_clear(&e);
	json_decref(bad);
}

static void test_events_bus(void **state)
{
	struct eng_events *bus;
	berr e = {0};
	assert_int_equal(eng_events_new(&bus, &e), 0);
	struct eng_events_reader live = {0};
	eng_events_reader_init(bus, &live);
	char *line = NULL;
	assert_int_equal(eng_events_read(bus, &live, 10, &line, &e), -1);
	assert_int_equal(e.errnum, ETIMEDOUT);
	berr_clear(&e);
	struct timespec before;
	clock_gettime(CLOCK_REALTIME, &before);
	/* More than the ring keeps: the oldest fall out. */
	for (int i = 0; i < ENG_EVENTS_KEPT + 5; i++) {
		char id[16];
		snprintf(id, sizeof id, "c%d", i);
		eng_events_emit(bus, "container", "start", id, json_pack("{s:s, s:s}", "name", id, "image", "busybox"));
	}
	assert_int_equal(eng_events_read(bus, &live, 10, &line, &e), 0);
	json_t *ev = json_loads(line, 0, NULL);
	free(line);
	assert_string_equal(json_string_value(json_object_get(ev, "id")), "c5");
	assert_string_equal(json_string_value(json_object_get(ev, "from")), "busybox");
	assert_string_equal(json_string_value(json_object_get(ev, "scope")), "local");
	assert_true(json_integer_value(json_object_get(ev, "timeNano")) >= (json_int_t)before.tv_sec * 1000000000);
	json_decref(ev);

	/* since/until: the kept ones in the window, then the end. */
	struct eng_events_reader past = {.has_since = true, .since = before, .has_until = true};
	clock_gettime(CLOCK_REALTIME, &past.until);
	eng_events_reader_init(bus, &past);
	int n = 0;
	while (eng_events_read(bus, &past, 10, &line, &e) == 0) {
		free(line);
		n++;
	}
	assert_int_equal(e.errnum, ERANGE);
	berr_clear(&e);
	assert_int_equal(n, ENG_EVENTS_KEPT);
	eng_events_shutdown(bus);
	struct eng_events_reader after = {0};
	eng_events_reader_init(bus, &after);
	assert_int_equal(eng_events_read(bus, &after, 1000, &line, &e), -1);
	assert_int_equal(e.errnum, ESHUTDOWN);
	berr_clear(&e);
	eng_events_free(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_top_parse),  cmocka_unit_test(test_top_check_args),
	    cmocka_unit_test(test_cgroup_v1),  cmocka_unit_test(test_cgroup_v2),
	    cmocka_unit_test(test_net_dev),    cmocka_unit_test(test_events_filter),
	    cmocka_unit_test(test_events_bus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
