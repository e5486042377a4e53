/*
 * What a container's processes are and what they use: GET /containers/{id}/top and
 * GET /containers/{id}/stats, in Docker's JSON shapes, read from the container's cgroup (v1, v2
 * and the hybrid layout) and from /proc.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "lib/err.h"

struct eng;

/*
 * {"Titles": [...], "Processes": [[...]]}: `ps ps_args` (NULL or "": "-ef") with the rows of the
 * container's processes. Not running: EBUSY. A ps that fails: EIO with ps's first line of errors.
 * ps_args renaming a column to PID ("-o user=PID"): EINVAL.
 */
int eng_container_top(struct eng *eng, const char *name, const char *ps_args, json_t **out, berr *e);
/* The parts of top, for tests: the argument check, and ps's output kept to the rows of pids. */
int eng_top_check_args(const char *ps_args, berr *e);
int eng_top_parse(const char *output, const pid_t *pids, size_t n_pids, json_t **out, berr *e);

/*
 * One sample of Docker's stats JSON (read, preread, pids_stats, blkio_stats, cpu_stats,
 * precpu_stats, memory_stats, networks, name, id). prev: the sample before it (precpu_stats and
 * preread come from it), or NULL. A container that is not running gives Docker's zeros.
 */
int eng_container_stats(struct eng *eng, const char *name, json_t *prev, json_t **out, berr *e);

/* Where a controller's knobs are: a v1 hierarchy's directory, or the cgroup2 one (v2). dir NULL: none. */
struct eng_cgroup_knobs {
	const char *dir;
	bool v2;
};
struct eng_cgroup_where {
	struct eng_cgroup_knobs memory, cpuacct /* v2: cpu.stat */, cpu /* throttling */, pids, blkio /* v2: io */;
};
/* What a cgroup's knobs say, in Docker's shapes; missing knobs read as zeros. */
struct eng_cgroup_stats {
	json_t *cpu_stats; /* cpu_usage, throttling_data */
	json_t *memory_stats, *pids_stats, *blkio_stats;
};
/* mem_total caps memory_stats.limit (an unlimited cgroup shows the machine's memory, as in Docker). */
int eng_cgroup_stats_read(const struct eng_cgroup_where *w, uint64_t mem_total, struct eng_cgroup_stats *out, berr *e);
void eng_cgroup_stats_free(struct eng_cgroup_stats *s);
/* Docker's "networks" from a /proc/<pid>/net/dev text: every interface but lo; NULL when none. */
json_t *eng_net_dev_parse(const char *text);
