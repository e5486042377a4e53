/*
 * The engine: containers as Docker knows them, over the image, storage and oci layers. One handle
 * per daemon; every function is safe to call from any thread (the API serves each connection on a
 * thread of its own). Errors carry Docker's wording and an errnum the API maps to a status:
 * ENOENT 404, EBUSY/EEXIST 409, EINVAL 400, ENOTSUP 501, others 500.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "image/image.h"
#include "lib/err.h"

struct eng;

struct eng_opts {
	const char *data_root;     /* images, layers, containers, volumes, berth.db */
	const char *exec_root;     /* run state: the runtime's state, sockets */
	const char *cgroup_parent; /* default "/berth" */
	/* The default bridge (net_attach.h): its name (default berth0), --bip, --default-address-pool. */
	const char *bridge, *bip;
	const char *const *address_pools;
	size_t n_address_pools;
	int mtu; /* --mtu: of the default bridge and, unless they say otherwise, user networks; 0: berth's default */
	char *const *insecure_registries; /* --insecure-registry: "host[:port]", NULL-terminated */
};

/* Open the data root and adopt what a previous daemon left: running containers are found again. */
int eng_open(const struct eng_opts *o, struct eng **out, berr *e);
/* Wake everything that waits on containers (wait, logs --follow, attach) for a shutdown. */
void eng_shutdown(struct eng *eng);
/* Has eng_shutdown been called? (Long streams end then.) */
bool eng_shutting_down(struct eng *eng);
/* Stop watching; running containers go on (live restore). NULL is fine. */
void eng_close(struct eng *eng);

/* A handle on the image side for the calling thread (image/ handles are not thread-safe). */
int eng_image_env(struct eng *eng, struct img_env **out, berr *e);
const char *eng_data_root(const struct eng *eng);
/* The registries pulled from and pushed to over plain HTTP (NULL-terminated, or NULL). */
char *const *eng_insecure_registries(const struct eng *eng);

/* POST /containers/create: body is Docker's ContainerCreateRequest, name may be NULL. */
int eng_container_create(struct eng *eng, const char *name, json_t *body, json_t *warnings, char **id, berr *e);
int eng_container_start(struct eng *eng, const char *name, berr *e);
/* timeout < 0: the container's StopTimeout or 10 s. signal NULL: the container's StopSignal. */
int eng_container_stop(struct eng *eng, const char *name, int timeout, const char *signal, berr *e);
int eng_container_restart(struct eng *eng, const char *name, int timeout, const char *signal, berr *e);
/* signal: a name ("KILL", "SIGKILL") or a number; NULL: SIGKILL. */
int eng_container_kill(struct eng *eng, const char *name, const char *signal, berr *e);
int eng_container_pause(struct eng *eng, const char *name, bool pause, berr *e);
/*
 * Waiting for a container (POST /containers/{id}/wait). begin finds it now (ENOENT; a bad
 * condition: EINVAL) and holds it, so that an exit or a removal that comes before or between the
 * steps is not missed. condition: "not-running" (default), "next-exit" (an exit after begin),
 * "removed". step waits up to timeout_ms (< 0: no limit; reached: ETIMEDOUT; the daemon shutting
 * down: ESHUTDOWN) and gives the exit code; it may be called again after a timeout.
 */
struct eng_wait;
int eng_container_wait_begin(struct eng *eng, const char *name, const char *condition, struct eng_wait **out, berr *e);
int eng_container_wait_step(struct eng_wait *w, int timeout_ms, int *code, berr *e);
void eng_container_wait_end(struct eng_wait *w);
int eng_container_remove(struct eng *eng, const char *name, bool force, bool volumes, berr *e);
/* GET /containers/{id}/json. */
int eng_container_inspect(struct eng *eng, const char *name, json_t **out, berr *e);
/* GET /containers/json: filters is the decoded "filters" parameter (may be NULL). limit < 0: all. */
int eng_container_list(struct eng *eng, bool all, int limit, json_t *filters, json_t **out, berr *e);
/* The same list as JSON text (malloc'd, *len bytes), from rows cached per container. */
int eng_container_list_text(struct eng *eng, bool all, int limit, json_t *filters, char **out, size_t *len, berr *e);
/* POST /containers/{id}/rename: Docker's name rules (EINVAL), a name in use: EEXIST. */
int eng_container_rename(struct eng *eng, const char *name, const char *new_name, berr *e);
/*
 * POST /containers/prune: remove the containers that are not running and pass filters (until, label,
 * label!; may be NULL). *report: {"ContainersDeleted": [ids] or null, "SpaceReclaimed": bytes}.
 */
int eng_container_prune(struct eng *eng, json_t *filters, json_t **report, berr *e);

/* What `logs` needs: the log file and whether the container is still running (follow). */
struct eng_log_source {
	char *path;
	bool tty;
	bool readable; /* false: LogConfig "none" (no log to read) */
	int max_files; /* path, path.1 ... path.<max_files - 1> after rotations */
};
int eng_container_log_source(struct eng *eng, const char *name, struct eng_log_source *out, berr *e);
void eng_log_source_free(struct eng_log_source *s);
/*
 * Wait until the container is not running any more or timeout_ms passes (follow mode of logs).
 * true when it is not running.
 */
bool eng_container_wait_stopped(struct eng *eng, const char *name, int timeout_ms);

/* `docker info` figures. */
struct eng_counts {
	int containers, running, paused, stopped, images;
};
void eng_counts(struct eng *eng, struct eng_counts *out);

/*
 * A connection to the container's stdio (POST /containers/{id}/attach): the output it asked for
 * (raw with a terminal, else in Docker's 8-byte frames) until the container stops, and what it
 * writes goes to the container's stdin (when stdin and Config.OpenStdin). begin registers the
 * attach at once (before the API's 101: a start that follows at once must not run without it):
 * a running container is connected now, one not running yet is connected by its start and sees
 * all of its output. finish waits for that connection and gives the socket (*fd, the caller's);
 * cancel drops an attach that will not be finished. Both free a.
 */
struct eng_attach;
int eng_container_attach_begin(struct eng *eng, const char *name, bool in, bool out, bool err, struct eng_attach **a,
			       berr *e);
int eng_container_attach_finish(struct eng_attach *a, int *fd, berr *e);
void eng_container_attach_cancel(struct eng_attach *a);
/* The terminal's size (POST /containers/{id}/resize). */
int eng_container_resize(struct eng *eng, const char *name, int height, int width, berr *e);
/* Config.Tty of the container; false when unknown. */
bool eng_container_tty(struct eng *eng, const char *name);

/* Is there such a container? ENOENT with Docker's message otherwise. */
int eng_container_check(struct eng *eng, const char *name, berr *e);
/*
 * `docker diff` (GET /containers/{id}/changes): what the container changed in its image, as
 * [{"Path": "/etc/passwd", "Kind": 0|1|2}] (modified, added, deleted), in Docker's order. The
 * runtime's mount points live in the container's init layer and are not listed.
 */
int eng_container_changes(struct eng *eng, const char *name, json_t **out, berr *e);
/* `docker export` (GET /containers/{id}/export): the container's root filesystem as a tar, to fd. */
int eng_container_export(struct eng *eng, const char *name, int fd, berr *e);

struct eng_commit_opts {
	json_t *config;       /* POST /commit's body: fields given replace the container's Config (may be NULL) */
	char *const *changes; /* Dockerfile instructions applied after */
	size_t n_changes;
	const char *author, *comment; /* may be NULL */
	const char *reference;        /* "repo[:tag]"; NULL: untagged */
	bool pause;                   /* freeze a running container while its changes are read (Docker's default) */
};
/* `docker commit`: a new image of the container's image plus its changes; id gets the image's ID. */
int eng_container_commit(struct eng *eng, const char *name, const struct eng_commit_opts *o, char id[B_DIGEST_LEN + 1],
			 berr *e);

/*
 * `docker cp`: paths inside the container, resolved in its root and never out of it (a running
 * container's mounts included). path_stat gives Docker's X-Docker-Container-Path-Stat object
 * ({name, size, mode (Go's FileMode), mtime, linkTarget}); archive_get writes the path as a tar
 * whose top entry is its last component; archive_put extracts a tar into the directory path. A
 * missing path: ENOENT "Could not find the file ..."; a read-only rootfs: EROFS.
 */
int eng_container_path_stat(struct eng *eng, const char *name, const char *path, json_t **out, berr *e);
int eng_container_archive_get(struct eng *eng, const char *name, const char *path, int out_fd, berr *e);
int eng_container_archive_put(struct eng *eng, const char *name, const char *path, int in_fd,
			      const struct img_extract_opts *o, berr *e);

/*
 * `docker update` (POST /containers/{id}/update): the resource fields of HostConfig (Memory,
 * MemorySwap, MemoryReservation, NanoCpus, CpuShares, CpuPeriod, CpuQuota, CpusetCpus, CpusetMems,
 * PidsLimit, BlkioWeight ...) and RestartPolicy; fields zero or absent keep their values. Checked
 * as create checks them (EINVAL, Docker's messages); a running container's cgroup takes them at once.
 */
int eng_container_update(struct eng *eng, const char *name, json_t *body, berr *e);
