/*
 * Exec instances: a further process in a running container, as Docker's exec (POST
 * /containers/{id}/exec, /exec/{id}/start, /exec/{id}/json, /exec/{id}/resize). Each started exec
 * runs under a berth-monitor of its own (monitor.h, "exec" mode), so it lives on when the API
 * connection that started it closes or the daemon restarts. Records are kept in berth.db until
 * their container is removed, as Docker keeps them.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "engine/engine.h"
#include "lib/err.h"

/*
 * POST /containers/{id}/exec. body is Docker's ExecConfig (Cmd, Env, WorkingDir, User,
 * Privileged, Tty, AttachStdin/Stdout/Stderr, DetachKeys). *id: the new exec's ID (malloc'd).
 * A container that is not running or is paused: EBUSY (409); a bad body: EINVAL (400).
 */
int eng_exec_create(struct eng *eng, const char *container, json_t *body, char **id, berr *e);

/*
 * POST /exec/{id}/start comes in two steps, as Docker's: claim the exec (the checks that make the
 * reply an error: unknown exec ENOENT; already started, its container stopped or paused EBUSY),
 * then, once the client holds the upgraded connection, launch its process, so that none of its
 * output comes before the client reads the stream. height/width > 0: the terminal's first size
 * (ConsoleSize). *tty: the stream is raw, else in Docker's 8-byte frames; *in: it takes input.
 */
int eng_exec_claim(struct eng *eng, const char *id, int height, int width, bool *tty, bool *in, berr *e);

/* What the launch gave. */
struct eng_exec_started {
	int fd;       /* not detached: the exec's stdio stream (output, and input when AttachStdin), else -1 */
	char *failed; /* not detached: the process could not run (ExitCode 126/127 recorded), fd is -1 */
};
void eng_exec_started_free(struct eng_exec_started *s);

/* Launch a claimed exec. Detached: returns once the process runs, a failure to run is the error. */
int eng_exec_launch(struct eng *eng, const char *id, bool detach, struct eng_exec_started *out, berr *e);
/* Give a claim back when the launch cannot happen (the upgrade failed): the exec may be started again. */
void eng_exec_unclaim(struct eng *eng, const char *id);
/* GET /exec/{id}/json. */
int eng_exec_inspect(struct eng *eng, const char *id, json_t **out, berr *e);
/* POST /exec/{id}/resize: waits a little for an exec that is being started, as Docker does. */
int eng_exec_resize(struct eng *eng, const char *id, int height, int width, berr *e);

/* ---- for the engine's own files ---- */
struct eng_execs;
/* Read the records (after the containers are adopted) and watch the running ones. */
int eng_execs_open(struct eng *eng, const char *db_path, berr *e);
void eng_execs_close(struct eng *eng);
/* Forget every exec of a container being removed (under the engine's lock). */
void eng_execs_forget_container(struct eng *eng, const char *container_id);

/*
 * The monitor's side (in its exec mode, cwd the exec's directory): run process.json in the
 * running container id as the runtime's exec does. *pid: the process, our child; *pty: the
 * terminal's master when process.json asks for one, else -1.
 */
int eng_exec_run(const char *runtime_root, const char *id, pid_t *pid, int *pty, berr *e);
