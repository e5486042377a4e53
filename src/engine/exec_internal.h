/* What the exec files share: the process an exec runs, and the table its records live in. */
#pragma once
#include <jansson.h>

#include "engine/engine_internal.h"
#include "engine/exec.h"

struct eng_exec_process_input {
	json_t *ctr_spec;    /* the container's config.json */
	json_t *ctr_doc;     /* the container's record (Config, HostConfig, Rootfs) */
	json_t *exec_config; /* the exec's Cmd, Env, WorkingDir, User, Privileged, Tty */
	int height, width;   /* the terminal's first size; 0: none */
};
/* The exec's OCI process (process.json for the runtime's exec). *out is new. */
int eng_exec_process(const struct eng_exec_process_input *in, json_t **out, berr *e);

/*
 * The table engine_execs in berth.db: one row per exec, its record as JSON. A connection of its
 * own (SQLite serialises it with the containers' one). Not thread-safe: used under the engine's lock.
 */
struct exec_db;
int exec_db_open(const char *path, struct exec_db **out, berr *e);
void exec_db_close(struct exec_db *db);
int exec_db_put(struct exec_db *db, const char *id, const char *container_id, json_t *doc, berr *e);
int exec_db_delete_container(struct exec_db *db, const char *container_id, berr *e);
/* Every record, oldest first. */
int exec_db_each(struct exec_db *db, int (*fn)(void *arg, json_t *doc, berr *e), void *arg, berr *e);
