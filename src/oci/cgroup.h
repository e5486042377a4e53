/* The container's cgroup: layout detection, creation, resource limits, freezing, killing, removal. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spec.h"

enum oci_cgroup_layout {
	OCI_CGROUP_LEGACY,  /* v1 only */
	OCI_CGROUP_HYBRID,  /* v1 controllers + cgroup2 at <root>/unified (with few or no controllers) */
	OCI_CGROUP_UNIFIED, /* v2 */
};

/* Opaque: the container's cgroup in every hierarchy. */
struct oci_cgroup;

/* Layout from a /proc/self/mountinfo text (only cgroup mounts under /sys/fs/cgroup count). */
int oci_cgroup_detect_layout(const char *mountinfo_text, enum oci_cgroup_layout *out, berr *e);

/*
 * Resolve the container's cgroup from config cgroupsPath (NULL/empty => "/<id>").
 * Absolute paths are relative to each hierarchy's mount; relative ones to the calling
 * process's own cgroup in that hierarchy (/proc/self/cgroup), as runc does; a systemd
 * "slice:prefix:name" path is expanded to the cgroup systemd would give that scope.
 * create=true: mkdir in every hierarchy (v1: every mounted one, name=systemd included;
 * the unified one too in hybrid) and apply res (may be NULL); on failure what was made
 * is removed again. create=false: open the existing one; fails with errnum ENOENT when
 * it exists in no hierarchy.
 */
int oci_cgroup_open(const char *cgroups_path, const char *id, bool create, const struct oci_resources *res,
		    struct oci_cgroup **out, berr *e);
/* Same, with the system paths replaced (unit tests): sysfs_cgroup_root stands for /sys/fs/cgroup. */
int oci_cgroup_open_at(const char *sysfs_cgroup_root, const char *mountinfo_text, const char *self_cgroup_text,
		       const char *cgroups_path, const char *id, bool create, const struct oci_resources *res,
		       struct oci_cgroup **out, berr *e);

/* Apply the fields of res that are set (runc update semantics). */
int oci_cgroup_update(struct oci_cgroup *cg, const struct oci_resources *res, berr *e);
/* Put pid into the cgroup in every hierarchy. */
int oci_cgroup_enter(struct oci_cgroup *cg, pid_t pid, berr *e);
/* Freeze or thaw, and wait until the kernel reports the new state. */
int oci_cgroup_freeze(struct oci_cgroup *cg, bool frozen, berr *e);
int oci_cgroup_is_frozen(struct oci_cgroup *cg, bool *frozen, berr *e);
/* Every process in the cgroup and below it; *pids is malloc'ed (NULL when n is 0). */
int oci_cgroup_pids(struct oci_cgroup *cg, pid_t **pids, size_t *n, berr *e);
/* Signal every process (cgroup.kill for SIGKILL where the kernel has it). */
int oci_cgroup_kill_all(struct oci_cgroup *cg, int sig, berr *e);
/* rmdir in every hierarchy, children first, retrying briefly while busy; a missing cgroup is fine. */
int oci_cgroup_destroy(struct oci_cgroup *cg, berr *e);

/*
 * The resolved path under the hierarchy's mount, e.g. "/mygroup/ctr1"; given back as
 * cgroupsPath it opens the same cgroup. (With a relative cgroupsPath and a process whose
 * cgroups differ between v1 hierarchies, it is the path in the freezer hierarchy.)
 */
const char *oci_cgroup_path(const struct oci_cgroup *cg);
/*
 * Directory that holds a controller's knobs ("memory", "cpuacct", "name=systemd"), or NULL
 * when no hierarchy has it; "unified" names the cgroup2 directory in any layout.
 */
const char *oci_cgroup_controller_dir(const struct oci_cgroup *cg, const char *controller);
enum oci_cgroup_layout oci_cgroup_layout_of(const struct oci_cgroup *cg);
void oci_cgroup_free(struct oci_cgroup *cg);
