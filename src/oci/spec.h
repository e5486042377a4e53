/* The OCI runtime configuration (config.json, runtime-spec v1.1) as C structures. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/err.h"

/* Optional integers: has_x tells whether the config set x. */
#define OCI_OPT(type, name) \
	bool has_##name;    \
	type name

struct oci_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* ignored on Linux, kept for round-trips */
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	char *type;   /* "RLIMIT_NOFILE" as written */
	uint64_t soft, hard;
};

/* A capability set is a 64-bit mask of CAP_* bits. */
struct oci_capabilities {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct oci_console_size {
	unsigned height, width;
};

struct oci_process {
	bool terminal;
	OCI_OPT(struct oci_console_size, console_size);
	struct oci_user user;
	char **args; /* NULL-terminated */
	char **env;  /* NULL-terminated, "K=V" */
	char *cwd;
	bool has_capabilities;
	struct oci_capabilities capabilities;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	OCI_OPT(int, oom_score_adj);
	char *selinux_label;
};

struct oci_mount {
	char *destination;
	char *source;
	char *type;
	char **options; /* as written, NULL-terminated */
	/* Derived from options by oci_mount_parse_options(). */
	unsigned long flags;       /* MS_* applied at mount time */
	unsigned long clear_flags; /* MS_* explicitly cleared ("rw", "suid" ...) */
	unsigned long propagation; /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE, with MS_REC */
	char *data;                /* filesystem-specific options joined with ',' */
	bool bind;                 /* "bind" or "rbind" */
	bool recursive_bind;       /* "rbind" */
	bool recursive_ro;         /* "rro": read-only down the whole tree (mount_setattr) */
	bool recursive_rw;         /* "rrw" */
				   /* uid/gid mappings of an idmapped mount (rarely used) */
};

struct oci_hook {
	char *path;
	char **args;
	char **env;
	OCI_OPT(int, timeout); /* seconds */
};

struct oci_hooks {
	struct oci_hook *prestart, *create_runtime, *create_container, *start_container, *poststart, *poststop;
	size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart, n_poststop;
};

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_COUNT
};

struct oci_namespace {
	bool present;
	char *path; /* NULL: create a new one */
};

struct oci_id_mapping {
	uint32_t container_id, host_id, size;
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u', 'p' */
	int64_t major, minor;
	OCI_OPT(mode_t, file_mode);
	OCI_OPT(uid_t, uid);
	OCI_OPT(gid_t, gid);
};

struct oci_device_cgroup {
	bool allow;
	char type;            /* 'a', 'c', 'b' */
	int64_t major, minor; /* -1 means any */
	char *access;         /* "rwm" subset */
};

struct oci_weight_device {
	int64_t major, minor;
	OCI_OPT(uint16_t, weight);
	OCI_OPT(uint16_t, leaf_weight);
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB" */
	uint64_t limit;
};

struct oci_resources {
	struct oci_device_cgroup *devices;
	size_t n_devices;
	struct {
		OCI_OPT(int64_t, limit);
		OCI_OPT(int64_t, reservation);
		OCI_OPT(int64_t, swap);
		OCI_OPT(int64_t, kernel);
		OCI_OPT(int64_t, kernel_tcp);
		OCI_OPT(uint64_t, swappiness);
		OCI_OPT(bool, disable_oom_killer);
		OCI_OPT(bool, use_hierarchy);
		OCI_OPT(bool, check_before_update);
	} memory;
	struct {
		OCI_OPT(uint64_t, shares);
		OCI_OPT(int64_t, quota);
		OCI_OPT(uint64_t, period);
		OCI_OPT(int64_t, realtime_runtime);
		OCI_OPT(uint64_t, realtime_period);
		char *cpus;
		char *mems;
		OCI_OPT(int64_t, idle);
	} cpu;
	struct {
		OCI_OPT(int64_t, limit);
	} pids;
	struct {
		OCI_OPT(uint16_t, weight);
		OCI_OPT(uint16_t, leaf_weight);
		struct oci_weight_device *weight_device;
		size_t n_weight_device;
		struct oci_throttle_device *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
		    *throttle_write_iops;
		size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops, n_throttle_write_iops;
	} block_io;
	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;
	/* "unified": cgroup v2 file name -> value, NULL-terminated pairs */
	char **unified; /* k0, v0, k1, v1, ..., NULL */
};

enum oci_seccomp_action {
	OCI_SCMP_KILL,
	OCI_SCMP_KILL_PROCESS,
	OCI_SCMP_KILL_THREAD,
	OCI_SCMP_TRAP,
	OCI_SCMP_ERRNO,
	OCI_SCMP_TRACE,
	OCI_SCMP_ALLOW,
	OCI_SCMP_LOG,
	OCI_SCMP_NOTIFY,
};

struct oci_seccomp_arg {
	unsigned index;
	uint64_t value, value_two;
	char *op; /* "SCMP_CMP_EQ" ... as written; seccomp.c maps it */
};

struct oci_seccomp_syscall {
	char **names; /* NULL-terminated */
	enum oci_seccomp_action action;
	OCI_OPT(unsigned, errno_ret);
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	enum oci_seccomp_action default_action;
	OCI_OPT(unsigned, default_errno_ret);
	char **architectures; /* "SCMP_ARCH_X86_64" ..., NULL-terminated */
	char **flags;         /* "SECCOMP_FILTER_FLAG_LOG" ..., NULL-terminated */
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_linux {
	struct oci_namespace namespaces[OCI_NS_COUNT];
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	bool has_resources;
	struct oci_resources resources;
	char *rootfs_propagation;
	char **masked_paths;   /* NULL-terminated */
	char **readonly_paths; /* NULL-terminated */
	char *mount_label;
	char **sysctl;               /* k0, v0, k1, v1, ..., NULL */
	struct oci_seccomp *seccomp; /* NULL: none */
	char *personality_domain;
};

struct oci_spec {
	char *oci_version;
	char *root_path;
	bool root_readonly;
	bool has_process;
	struct oci_process process;
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hooks hooks;
	char **annotations; /* k0, v0, ..., NULL */
	struct oci_linux linux_;
};

/* Parse config.json text; errors name the field ("process.args[0]: expected a string"). */
int oci_spec_parse(const char *json_text, struct oci_spec **out, berr *e);
int oci_spec_load(const char *path, struct oci_spec **out, berr *e);
/* Parse the "process" object alone (runc exec --process). */
int oci_process_parse(const char *json_text, struct oci_process *out, berr *e);
void oci_process_free(struct oci_process *p);
void oci_spec_free(struct oci_spec *s);

/* Translate a mount's options into flags, propagation and data (used by the parser too). */
int oci_mount_parse_options(struct oci_mount *m, berr *e);

/* Capability name ("CAP_CHOWN") -> number, or -1. */
int oci_cap_from_name(const char *name);
const char *oci_ns_name(enum oci_ns_type t);      /* "pid", "network" ... as in config.json */
const char *oci_ns_proc_name(enum oci_ns_type t); /* "pid", "net" ... as in /proc/PID/ns */
int oci_ns_clone_flag(enum oci_ns_type t);
