/* Shared between cgroup.c, cgroup_v1.c, cgroup_v2.c and cgroup_v2_devices.c; not a public face. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

/* One mounted hierarchy and the container's cgroup in it. */
struct cg_hier {
	bool v2;
	char *mountpoint;   /* where it is mounted, remapped under the sysfs root */
	char *mount_root;   /* the hierarchy path shown at the mountpoint ("/" unless bind-mounted) */
	char **controllers; /* v1: from the mount options ("cpu", "name=systemd"); v2: the root's cgroup.controllers */
	char *rel;          /* the container's cgroup under mountpoint, "/a/b" */
	char *dir;          /* mountpoint + rel */
	bool present;       /* the directory exists (open with create=false may find it missing) */
	char *created_top;  /* topmost directory this open made, to undo a failed create */
};

struct oci_cgroup {
	enum oci_cgroup_layout layout;
	struct cg_hier *h;
	size_t n;
	char *path;
};

/* ---- cgroup.c: knobs and helpers ---- */

bool cg_strv_has(char *const *v, const char *s);

/* Every knob write goes through this (b_write_knob); unit tests put a recorder in its place. */
extern int (*cg_knob_writer)(const char *path, const char *value, berr *e);
/* dir/file <- value; the error names the full path and the value. */
int cg_write(const char *dir, const char *file, const char *value, berr *e);
int cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* dir/file with trailing whitespace removed. */
int cg_read(const char *dir, const char *file, char **out, berr *e);
bool cg_exists(const char *dir, const char *file);
int cg_read_u64(const char *dir, const char *file, uint64_t *out, berr *e);
/* Refuse a memory limit below what the cgroup already uses (memory.checkBeforeUpdate). */
int cg_check_usage(const char *dir, const char *usage_file, int64_t limit, berr *e);
/* Hand a local error on to the caller's e (which may be NULL). Returns -1. */
int cg_err_move(berr *dst, berr *src);

/* "2MB", "1GB", "64KB": a hugepage size as the kernel names its hugetlb files. */
bool cg_valid_pagesize(const char *s);
/* Monotonic milliseconds, and a nap, for waiting on the freezer. */
int64_t cg_now_ms(void);
void cg_sleep_ms(long ms);

/* Knobs named alike in v1 and v2. */
int cg_set_pids(const char *dir, const struct oci_resources *r, berr *e);
int cg_set_cpuset(const char *dir, const struct oci_resources *r, berr *e);

/* ---- cgroup_v1.c ---- */

/* A new v1 cpuset cgroup starts with no cpus and mems: copy the parent's so a process may enter. */
int cg_v1_cpuset_inherit(const char *dir, const char *parent, berr *e);
/* True when memory.memsw.limit_in_bytes must be written before memory.limit_in_bytes. */
bool cg_v1_memsw_first(uint64_t cur_limit, int64_t new_swap);
int cg_v1_set_memory(const char *dir, const struct oci_resources *r, berr *e);
int cg_v1_set_cpu(const char *dir, const struct oci_resources *r, berr *e);
int cg_v1_set_blkio(const char *dir, const struct oci_resources *r, berr *e);
int cg_v1_set_hugetlb(const char *dir, const struct oci_resources *r, berr *e);
int cg_v1_set_devices(const char *dir, const struct oci_resources *r, berr *e);
int cg_v1_freeze(const char *dir, bool frozen, berr *e);
int cg_v1_is_frozen(const char *dir, bool *frozen, berr *e);

/* ---- cgroup_v2.c ---- */

/* cpu.shares (2..262144) -> cpu.weight (1..10000), runc's mapping. */
uint64_t cg_v2_shares_to_weight(uint64_t shares);
/* blkio.weight (10..1000) -> io.weight (1..10000). */
uint64_t cg_v2_blkio_to_io_weight(uint64_t weight);
/*
 * Enable in dir's cgroup.subtree_control what its cgroup.controllers offers (all) or the
 * offered ones in needed (NULL-terminated); a failure matters only for a needed one.
 */
int cg_v2_enable_controllers(const char *dir, bool all, char *const *needed, berr *e);
int cg_v2_set_memory(const char *dir, const struct oci_resources *r, berr *e);
int cg_v2_set_cpu(const char *dir, const struct oci_resources *r, berr *e);
int cg_v2_set_io(const char *dir, const struct oci_resources *r, berr *e);
int cg_v2_set_hugetlb(const char *dir, const struct oci_resources *r, berr *e);
int cg_v2_set_unified(const char *dir, const struct oci_resources *r, berr *e);
int cg_v2_freeze(const char *dir, bool frozen, berr *e);
int cg_v2_is_frozen(const char *dir, bool *frozen, berr *e);
/* Write cgroup.kill; *done is false when the kernel has no cgroup.kill. */
int cg_v2_kill(const char *dir, bool *done, berr *e);

/* ---- cgroup_v2_devices.c ---- */

struct bpf_insn;
/*
 * The BPF_PROG_TYPE_CGROUP_DEVICE program for the device rules: the last matching rule
 * decides, no match allows (a new cgroup inherits "allow all" unless a rule denies it).
 */
int cg_v2_devices_build(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **out, size_t *count, berr *e);
/* Load that program and attach it to the cgroup dir, replacing the programs attached before. */
int cg_v2_set_devices(const char *dir, const struct oci_resources *r, berr *e);

/* hugetlb.<size>.<suffix> (and its .rsvd. twin where the kernel has it) for every limit: v1 "limit_in_bytes", v2 "max".
 */
int cg_set_hugetlb(const char *dir, const struct oci_resources *r, const char *suffix, berr *e);
