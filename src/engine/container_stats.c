/* GET /containers/{id}/stats: one sample of Docker's stats JSON, from the container's cgroup and /proc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "engine/stats.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/timefmt.h"
#include "oci/cgroup.h"
#include "oci/state.h"

/* Docker's zero cpu_stats: what precpu_stats is before a second sample, and all of a stopped container's. */
static json_t *zero_cpu_stats(void)
{
	return json_pack("{s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}}", "cpu_usage", "total_usage", 0, "usage_in_kernelmode",
			 0, "usage_in_usermode", 0, "throttling_data", "periods", 0, "throttled_periods", 0,
			 "throttled_time", 0);
}

static json_t *zero_blkio_stats(void)
{
	return json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "io_service_bytes_recursive",
			 "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
			 "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive");
}

/* The host's CPU time in ns (the first seven fields of /proc/stat's "cpu" line, as Docker sums them). */
static void system_cpu(uint64_t *ns, int *online)
{
	*ns = 0;
	*online = 0;
	_cleanup_free_ char *text = NULL;
	berr e = {0};
	if (b_read_file("/proc/stat", &text, NULL, &e) < 0) {
		berr_clear(&e);
		return;
	}
	long hz = sysconf(_SC_CLK_TCK);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "cpu", 3) != 0)
			break;
		if (line[3] != ' ') {
			(*online)++;
			continue;
		}
		unsigned long long f[7] = {0};
		if (sscanf(line + 3, "%llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
			   &f[6]) == 7 &&
		    hz > 0) {
			unsigned long long ticks = f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6];
			*ns = (uint64_t)ticks * (1000000000ULL / (uint64_t)hz);
		}
	}
}

static uint64_t machine_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

/* Where each controller's knobs are: its v1 hierarchy, else cgroup2 (hybrid takes what each has). */
static struct eng_cgroup_knobs knobs_of(const struct oci_cgroup *cg, const char *controller)
{
	const char *dir = oci_cgroup_controller_dir(cg, controller);
	const char *unified = oci_cgroup_controller_dir(cg, "unified");
	return (struct eng_cgroup_knobs){dir, dir && unified && strcmp(dir, unified) == 0};
}

/* The counters of a running container; -1 when its cgroup is gone (it stopped meanwhile). */
static int read_cgroup(struct eng *eng, const char *id, struct eng_cgroup_stats *out, berr *e)
{
	struct oci_state st;
	if (oci_state_load(eng->runtime_root, id, &st, e) < 0)
		return -1;
	struct oci_cgroup *cg = NULL;
	int r = oci_cgroup_open(st.cgroup_path, id, false, NULL, &cg, e);
	oci_state_free(&st);
	if (r < 0)
		return -1;
	struct eng_cgroup_where w = {
	    .memory = knobs_of(cg, "memory"),
	    .cpuacct = knobs_of(cg, "cpuacct"),
	    .cpu = knobs_of(cg, "cpu"),
	    .pids = knobs_of(cg, "pids"),
	    .blkio = knobs_of(cg, "blkio"),
	};
	/* cgroup2 has no cpuacct: its cpu.stat counts usage whether or not the cpu controller is on. */
	if (!w.cpuacct.dir)
		w.cpuacct = (struct eng_cgroup_knobs){oci_cgroup_controller_dir(cg, "unified"), true};
	if (w.cpu.v2)
		w.cpu = (struct eng_cgroup_knobs){0};
	if (!w.blkio.dir)
		w.blkio = knobs_of(cg, "io");
	r = eng_cgroup_stats_read(&w, machine_memory(), out, e);
	oci_cgroup_free(cg);
	return r;
}

int eng_container_stats(struct eng *eng, const char *name, json_t *prev, json_t **out, berr *e)
{
	*out = NULL;
	char id[65];
	_cleanup_free_ char *cname = NULL;
	pid_t pid = 0;
	bool running = false, host_net = false;
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		memcpy(id, c->id, sizeof id);
		cname = strdup(c->name);
		running = ctr_running(c);
		pid = (pid_t)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "Pid"));
		const char *mode =
		    json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"));
		host_net = mode && strcmp(mode, "host") == 0;
		ctr_put(eng, c);
	}
	pthread_mutex_unlock(&eng->lock);
	if (r < 0)
		return -1;
	if (!cname)
		return berr_set(e, ENOMEM, "stats of %s", id);

	struct eng_cgroup_stats cs = {0};
	if (running) {
		berr ce = {0};
		if (read_cgroup(eng, id, &cs, &ce) < 0)
			running = false; /* it stopped while we looked: Docker's zeros */
		berr_clear(&ce);
	}
	json_t *doc;
	if (!running) {
		doc = json_pack("{s:s, s:s, s:{}, s:o, s:i, s:{}, s:o, s:o, s:{}, s:s, s:s}", "read", ENG_TIME_ZERO,
				"preread", ENG_TIME_ZERO, "pids_stats", "blkio_stats", zero_blkio_stats(), "num_procs",
				0, "storage_stats", "cpu_stats", zero_cpu_stats(), "precpu_stats", zero_cpu_stats(),
				"memory_stats", "name", cname, "id", id);
	} else {
		char now[B_TIME_LEN];
		b_time_now(now);
		uint64_t system_ns;
		int online;
		system_cpu(&system_ns, &online);
		json_object_set_new(cs.cpu_stats, "system_cpu_usage", json_integer((json_int_t)system_ns));
		json_object_set_new(cs.cpu_stats, "online_cpus", json_integer(online));
		const char *preread = json_string_value(json_object_get(prev, "read"));
		json_t *precpu = json_object_get(prev, "cpu_stats");
		doc = json_pack("{s:s, s:s, s:O, s:O, s:i, s:{}, s:O, s:o, s:O, s:s, s:s}", "read", now, "preread",
				preread ? preread : ENG_TIME_ZERO, "pids_stats", cs.pids_stats, "blkio_stats",
				cs.blkio_stats, "num_procs", 0, "storage_stats", "cpu_stats", cs.cpu_stats,
				"precpu_stats", precpu ? json_deep_copy(precpu) : zero_cpu_stats(), "memory_stats",
				cs.memory_stats, "name", cname, "id", id);
		/* The container's own network namespace, seen through its init; none of its own with host. */
		_cleanup_free_ char *net_dev = NULL, *path = NULL;
		berr ne = {0};
		if (doc && !host_net && pid > 0 && asprintf(&path, "/proc/%d/net/dev", (int)pid) > 0 &&
		    b_read_file(path, &net_dev, NULL, &ne) == 0) {
			json_t *nets = eng_net_dev_parse(net_dev);
			if (nets)
				json_object_set_new(doc, "networks", nets);
		}
		berr_clear(&ne);
		eng_cgroup_stats_free(&cs);
	}
	if (!doc)
		return berr_set(e, ENOMEM, "stats of %s", id);
	*out = doc;
	return 0;
}
