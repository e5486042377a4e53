/*
 * A cgroup's counters in Docker's stats shapes: v1 (memory, cpuacct, cpu, pids, blkio hierarchies),
 * v2 (one directory) and the hybrid layout (each controller where it is mounted).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/stats.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

/* The knob's text, or NULL when the file is not there (a controller not mounted, an older kernel). */
static char *knob(const char *dir, const char *file)
{
	if (!dir)
		return NULL;
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return NULL;
	char *text = NULL;
	berr e = {0};
	if (b_read_file(path, &text, NULL, &e) < 0)
		text = NULL;
	berr_clear(&e);
	return text;
}

/* A number knob; "max" (no limit) and anything unreadable: *out = dflt, false. */
static bool knob_u64(const char *dir, const char *file, uint64_t dflt, uint64_t *out)
{
	_cleanup_free_ char *text = knob(dir, file);
	*out = dflt;
	if (!text)
		return false;
	char *end;
	errno = 0;
	uint64_t v = strtoull(text, &end, 10);
	if (end == text || errno)
		return false;
	*out = v;
	return true;
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat): the value of key, or 0. */
static uint64_t keyed(const char *text, const char *key)
{
	size_t len = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, len) == 0 && line[len] == ' ')
			return strtoull(line + len + 1, NULL, 10);
	return 0;
}

static json_t *u64(uint64_t v)
{
	/* JSON integers here are signed 64-bit: larger counters do not occur, limits are capped before. */
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *keyed_object(const char *text, const char *const *keys, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, keys[i], u64(text ? keyed(text, keys[i]) : 0));
	return o;
}

/* The memory.stat keys Docker reports, per version (daemon/stats_unix.go). */
static const char *const memory_v1_keys[] = {
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
};
static const char *const memory_v2_keys[] = {
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
};

static json_t *memory_stats(const struct eng_cgroup_knobs *k, uint64_t mem_total)
{
	json_t *m = json_object();
	if (!k->dir)
		return m;
	uint64_t usage, limit, max_usage, failcnt;
	_cleanup_free_ char *stat = knob(k->dir, "memory.stat");
	if (k->v2) {
		knob_u64(k->dir, "memory.current", 0, &usage);
		knob_u64(k->dir, "memory.max", UINT64_MAX, &limit);
		json_object_set_new(m, "usage", u64(usage));
		json_object_set_new(m, "stats", keyed_object(stat, memory_v2_keys, ARRAY_SIZE(memory_v2_keys)));
	} else {
		knob_u64(k->dir, "memory.usage_in_bytes", 0, &usage);
		knob_u64(k->dir, "memory.max_usage_in_bytes", 0, &max_usage);
		knob_u64(k->dir, "memory.failcnt", 0, &failcnt);
		knob_u64(k->dir, "memory.limit_in_bytes", UINT64_MAX, &limit);
		json_object_set_new(m, "usage", u64(usage));
		json_object_set_new(m, "max_usage", u64(max_usage));
		json_object_set_new(m, "stats", keyed_object(stat, memory_v1_keys, ARRAY_SIZE(memory_v1_keys)));
		if (failcnt)
			json_object_set_new(m, "failcnt", u64(failcnt));
	}
	json_object_set_new(m, "limit", u64(mem_total && limit > mem_total ? mem_total : limit));
	return m;
}

static json_t *throttling(uint64_t periods, uint64_t throttled, uint64_t time_ns)
{
	return json_pack("{s:o, s:o, s:o}", "periods", u64(periods), "throttled_periods", u64(throttled),
			 "throttled_time", u64(time_ns));
}

static json_t *cpu_stats(const struct eng_cgroup_where *w)
{
	uint64_t total = 0, user = 0, kernel = 0;
	json_t *percpu = NULL;
	const struct eng_cgroup_knobs *acct = &w->cpuacct;
	if (acct->dir && acct->v2) {
		_cleanup_free_ char *stat = knob(acct->dir, "cpu.stat");
		if (stat) {
			total = keyed(stat, "usage_usec") * 1000;
			user = keyed(stat, "user_usec") * 1000;
			kernel = keyed(stat, "system_usec") * 1000;
		}
	} else if (acct->dir) {
		knob_u64(acct->dir, "cpuacct.usage", 0, &total);
		_cleanup_free_ char *stat = knob(acct->dir, "cpuacct.stat");
		long hz = sysconf(_SC_CLK_TCK);
		if (stat && hz > 0) {
			/* Clock ticks to nanoseconds, as Docker converts them. */
			user = keyed(stat, "user") * (1000000000ULL / (uint64_t)hz);
			kernel = keyed(stat, "system") * (1000000000ULL / (uint64_t)hz);
		}
		_cleanup_free_ char *list = knob(acct->dir, "cpuacct.usage_percpu");
		if (list) {
			percpu = json_array();
			for (char *p = list, *end; *p; p = end) {
				uint64_t v = strtoull(p, &end, 10);
				if (end == p)
					break;
				json_array_append_new(percpu, u64(v));
			}
		}
	}
	json_t *usage = json_pack("{s:o}", "total_usage", u64(total));
	if (percpu)
		json_object_set_new(usage, "percpu_usage", percpu);
	json_object_set_new(usage, "usage_in_kernelmode", u64(kernel));
	json_object_set_new(usage, "usage_in_usermode", u64(user));

	/* Throttling: v1's cpu hierarchy (ns), or cgroup2's cpu.stat (µs). */
	const struct eng_cgroup_knobs *thr = w->cpu.dir ? &w->cpu : acct;
	_cleanup_free_ char *stat = thr->dir ? knob(thr->dir, "cpu.stat") : NULL;
	json_t *throttle = !stat     ? throttling(0, 0, 0)
			   : thr->v2 ? throttling(keyed(stat, "nr_periods"), keyed(stat, "nr_throttled"),
						  keyed(stat, "throttled_usec") * 1000)
				     : throttling(keyed(stat, "nr_periods"), keyed(stat, "nr_throttled"),
						  keyed(stat, "throttled_time"));
	return json_pack("{s:o, s:o}", "cpu_usage", usage, "throttling_data", throttle);
}

static json_t *pids_stats(const struct eng_cgroup_knobs *k)
{
	json_t *p = json_object();
	uint64_t v;
	if (knob_u64(k->dir, "pids.current", 0, &v))
		json_object_set_new(p, "current", u64(v));
	/* "max" (no limit) is left out, as Docker leaves out a zero limit. */
	if (knob_u64(k->dir, "pids.max", 0, &v) && v)
		json_object_set_new(p, "limit", u64(v));
	return p;
}

static json_t *blkio_entry(unsigned major, unsigned minor, const char *op, uint64_t value)
{
	return json_pack("{s:I, s:I, s:s, s:o}", "major", (json_int_t)major, "minor", (json_int_t)minor, "op", op,
			 "value", u64(value));
}

/* A v1 blkio file: "8:0 Read 123" lines (or "8:0 123" without an op); "Total N" is left out. NULL: no file. */
static json_t *blkio_v1_file(const char *dir, const char *file)
{
	_cleanup_free_ char *text = knob(dir, file);
	if (!text)
		return NULL;
	json_t *arr = json_array();
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned major, minor;
		char op[32];
		unsigned long long v;
		if (sscanf(line, "%u:%u %31s %llu", &major, &minor, op, &v) == 4)
			json_array_append_new(arr, blkio_entry(major, minor, op, v));
		else if (sscanf(line, "%u:%u %llu", &major, &minor, &v) == 3)
			json_array_append_new(arr, blkio_entry(major, minor, "", v));
	}
	return arr;
}

static const char *const blkio_fields[] = {
    "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
    "io_wait_time_recursive",     "io_merged_recursive",   "io_time_recursive",  "sectors_recursive",
};

static json_t *blkio_stats(const struct eng_cgroup_knobs *k)
{
	json_t *b = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(blkio_fields); i++)
		json_object_set_new(b, blkio_fields[i], json_null());
	if (!k->dir)
		return b;
	if (k->v2) {
		/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
		_cleanup_free_ char *text = knob(k->dir, "io.stat");
		if (!text)
			return b;
		json_t *bytes = json_array(), *ios = json_array();
		char *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			unsigned major, minor;
			if (sscanf(line, "%u:%u", &major, &minor) != 2)
				continue;
			uint64_t rb = 0, wb = 0, rio = 0, wio = 0;
			for (char *f = strchr(line, ' '); f; f = strchr(f + 1, ' ')) {
				unsigned long long v;
				if (sscanf(f, " rbytes=%llu", &v) == 1)
					rb = v;
				else if (sscanf(f, " wbytes=%llu", &v) == 1)
					wb = v;
				else if (sscanf(f, " rios=%llu", &v) == 1)
					rio = v;
				else if (sscanf(f, " wios=%llu", &v) == 1)
					wio = v;
			}
			json_array_append_new(bytes, blkio_entry(major, minor, "read", rb));
			json_array_append_new(bytes, blkio_entry(major, minor, "write", wb));
			json_array_append_new(ios, blkio_entry(major, minor, "read", rio));
			json_array_append_new(ios, blkio_entry(major, minor, "write", wio));
		}
		json_object_set_new(b, "io_service_bytes_recursive", bytes);
		json_object_set_new(b, "io_serviced_recursive", ios);
		return b;
	}
	/* v1: the CFQ/BFQ files where the kernel has them, else the throttle ones (bytes and ios only). */
	static const char *const cfq_files[] = {
	    "blkio.io_service_bytes_recursive",
	    "blkio.io_serviced_recursive",
	    "blkio.io_queued_recursive",
	    "blkio.io_service_time_recursive",
	    "blkio.io_wait_time_recursive",
	    "blkio.io_merged_recursive",
	    "blkio.time_recursive",
	    "blkio.sectors_recursive",
	};
	_cleanup_free_ char *probe = knob(k->dir, "blkio.io_serviced_recursive");
	if (probe) {
		for (size_t i = 0; i < ARRAY_SIZE(cfq_files); i++) {
			json_t *arr = blkio_v1_file(k->dir, cfq_files[i]);
			if (arr)
				json_object_set_new(b, blkio_fields[i], arr);
		}
		return b;
	}
	json_t *bytes = blkio_v1_file(k->dir, "blkio.throttle.io_service_bytes_recursive");
	json_t *ios = blkio_v1_file(k->dir, "blkio.throttle.io_serviced_recursive");
	if (bytes)
		json_object_set_new(b, "io_service_bytes_recursive", bytes);
	if (ios)
		json_object_set_new(b, "io_serviced_recursive", ios);
	return b;
}

int eng_cgroup_stats_read(const struct eng_cgroup_where *w, uint64_t mem_total, struct eng_cgroup_stats *out, berr *e)
{
	out->cpu_stats = cpu_stats(w);
	out->memory_stats = memory_stats(&w->memory, mem_total);
	out->pids_stats = pids_stats(&w->pids);
	out->blkio_stats = blkio_stats(&w->blkio);
	if (!out->cpu_stats || !out->memory_stats || !out->pids_stats || !out->blkio_stats) {
		eng_cgroup_stats_free(out);
		return berr_set(e, ENOMEM, "reading cgroup statistics");
	}
	return 0;
}

void eng_cgroup_stats_free(struct eng_cgroup_stats *s)
{
	json_decref(s->cpu_stats);
	json_decref(s->memory_stats);
	json_decref(s->pids_stats);
	json_decref(s->blkio_stats);
	memset(s, 0, sizeof *s);
}

json_t *eng_net_dev_parse(const char *text)
{
	json_t *nets = json_object();
	_cleanup_free_ char *copy = strdup(text ? text : "");
	char *save = NULL;
	int line_no = 0;
	for (char *line = strtok_r(copy, "\n", &save); nets && line; line = strtok_r(NULL, "\n", &save)) {
		if (++line_no <= 2)
			continue; /* the two header lines */
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *name = line;
		while (*name == ' ')
			name++;
		if (strcmp(name, "lo") == 0)
			continue;
		unsigned long long f[16] = {0};
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12],
			   &f[13], &f[14], &f[15]) != 16)
			continue;
		json_object_set_new(nets, name,
				    json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "rx_bytes", u64(f[0]),
					      "rx_packets", u64(f[1]), "rx_errors", u64(f[2]), "rx_dropped", u64(f[3]),
					      "tx_bytes", u64(f[8]), "tx_packets", u64(f[9]), "tx_errors", u64(f[10]),
					      "tx_dropped", u64(f[11])));
	}
	if (json_object_size(nets) == 0) {
		json_decref(nets);
		return NULL;
	}
	return nets;
}
