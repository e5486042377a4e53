/* What the engine's files share: the handle, the in-memory containers, the lock that guards both. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "engine/container_db.h"
#include "engine/engine.h"
#include "engine/volume_store.h"
#include "image/image.h"

/* An attach waiting for the container to start (eng_container_attach). */
struct pending_attach {
	char *header; /* the JSON line for the monitor */
	int fd;       /* connected, or -1 */
	bool done;
	berr err;
	struct pending_attach *next;
};

struct ctr {
	char id[65];
	char *name;  /* with its leading '/' */
	json_t *doc; /* the record (container_db.h); "State" is kept current */
	pid_t monitor_pid;
	int monitor_pidfd; /* watched by the reaper while >= 0 */
	unsigned exits;    /* how many times it has stopped: next-exit waits for a change */
	bool removing, removed;
	int refs; /* the list's reference and every waiter's */
	struct pending_attach *pending;
	/* Restart policy (restart.c): the last back-off, a pending restart and when it is due. */
	unsigned restart_delay_ms;
	bool restart_pending, restart_fresh, restart_canceled;
	struct timespec restart_at; /* CLOCK_MONOTONIC */
	/*
	 * Its row of GET /containers/json as JSON text without "Status" (which moves with the clock)
	 * and the closing brace: ps with hundreds of containers copies these instead of building and
	 * dumping a tree per row. Made on demand, dropped by ctr_save, which every change goes through.
	 */
	char *list_row;
	size_t list_row_len;
	struct ctr *next;
};

struct eng {
	char *data_root, *exec_root, *containers_dir, *volumes_dir, *runtime_root, *cgroup_parent;
	char **insecure_registries; /* NULL-terminated, or NULL */
	char *init_path;            /* berth-init, next to the daemon's binary (HostConfig.Init) */
	int monitor_exe;            /* the sealed copy of berth-monitor that every monitor runs from */
	pthread_mutex_t lock;       /* guards everything below, img and db included */
	pthread_cond_t changed;
	struct img_env *img;
	struct eng_db *db;
	struct vol_store *vols;
	struct ctr *ctrs; /* in creation order */
	int epfd, stop_efd;
	int restart_tfd; /* restart.c's timer, on epfd */
	pthread_t reaper;
	bool reaper_started;
	bool shutting_down;
	struct eng_events *events; /* events.c; its lock is taken after this one when both are */
	struct eng_net *net;       /* net_attach.c: the default bridge, address leases, nftables */
	struct eng_execs *execs;   /* exec.c */
};

/* Under the lock: the container a name, full ID or unique ID prefix names, with a reference. */
int ctr_find(struct eng *eng, const char *name, struct ctr **out, berr *e);
/* Drop a reference (under the lock); frees a removed container's memory with its last one. */
void ctr_put(struct eng *eng, struct ctr *c);
/* Write the record (under the lock). */
int ctr_save(struct eng *eng, struct ctr *c, berr *e);
/* Start watching the monitor (under the lock). */
int ctr_watch(struct eng *eng, struct ctr *c, berr *e);
/* The state strings of a record. */
const char *ctr_status(const struct ctr *c);
/* A monitor runs it (paused too). While "restarting" the record says false; inspect shows Docker's true. */
bool ctr_running(const struct ctr *c);
/* "containers/<id>/<file>" (malloc'd). */
char *ctr_path(struct eng *eng, const struct ctr *c, const char *file);
/* Mark the container exited from its exit.json (or 255 without one), under the lock. */
void ctr_mark_exited(struct eng *eng, struct ctr *c);

/* Start c (under the lock), as POST /containers/{id}/start does but without its checks' resets. */
int ctr_start_locked(struct eng *eng, struct ctr *c, berr *e);
/* Does another container have this name ("/name")? *by: its ID. */
bool ctr_name_taken(struct eng *eng, const char *name, const char **by);

/* Connect the attaches waiting for c's start to its monitor (under the lock, when the monitor is ready). */
void ctr_connect_pending(struct eng *eng, struct ctr *c);
/* Fail them (under the lock): the container was removed or did not start. */
void ctr_fail_pending(struct eng *eng, struct ctr *c, const char *why);

/* Docker's exit codes for a process that could not be run: 127 not found, 126 not executable, else 128. */
int eng_start_failure_code(const char *msg);

/* Report a container's event (events.h), under the lock: its name, image and labels, and extra (stolen). */
void ctr_event(struct eng *eng, struct ctr *c, const char *action, json_t *extra);

/*
 * Mount the root filesystem of container id (containers/<id>/rootfs) over image_id's layers, with
 * its init layer on top; make_init (at create) makes containers/<id> and the init layer first and
 * removes them again on failure. A mounted rootfs is left as it is. Under the engine lock and the
 * image lock (shared).
 */
int ctr_rootfs_mount(struct eng *eng, const char *id, const char *image_id, bool make_init, char **rootfs, berr *e);

/* The zero time Docker writes for "never". */
#define ENG_TIME_ZERO "0001-01-01T00:00:00Z"
