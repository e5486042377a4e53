/* A container's state directory under --root: state.json and the start socket. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/err.h"

enum oci_status { OCI_STATUS_CREATING, OCI_STATUS_CREATED, OCI_STATUS_RUNNING, OCI_STATUS_PAUSED, OCI_STATUS_STOPPED };

struct oci_state {
	char *id;
	pid_t pid;
	uint64_t pid_start_time; /* field 22 of /proc/PID/stat: tells a reused pid apart */
	char *bundle;            /* absolute */
	char *rootfs;            /* absolute */
	char *created;           /* RFC 3339 with nanoseconds, UTC */
	char *owner;
	char *cgroup_path;  /* resolved cgroupsPath */
	char **annotations; /* k0, v0, ..., NULL */
	bool systemd_cgroup;
};

/* "<root>/<id>" for a valid id; rejects ids that could name anything else. */
int oci_state_dir(const char *root, const char *id, char **out, berr *e);
int oci_id_validate(const char *id, berr *e);
int oci_state_save(const char *dir, const struct oci_state *s, berr *e);
/* Load a container's state; a missing container is ENOENT with "container \"x\" does not exist". */
int oci_state_load(const char *root, const char *id, struct oci_state *s, berr *e);
void oci_state_free(struct oci_state *s);
/* The status seen now: from the process, the start socket and the freezer. */
enum oci_status oci_state_status(const char *root, const struct oci_state *s);
const char *oci_status_name(enum oci_status st);
/* runc's state JSON for `state` and for hooks' stdin. */
char *oci_state_to_json(const struct oci_state *s, enum oci_status st, bool pretty);
/* Start time of a process, 0 if it does not exist or is a zombie. */
uint64_t oci_pid_start_time(pid_t pid);
void oci_now_rfc3339(char *buf, size_t len);

#define OCI_STATE_FILE   "state.json"
#define OCI_START_SOCKET "start.sock"
#define OCI_CONFIG_COPY  "config.json"
#define OCI_VERSION      "1.1.0"
