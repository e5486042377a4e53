/*
 * The monitor: one small process per running container, between berthd and the container's init.
 * It creates and starts the container in-process (oci/), holds its stdio (pipes, or the pty's
 * master), writes the json-file log, waits for the init and records how it ended in exit.json, so
 * that a daemon that was stopped or killed meanwhile learns it when it comes back.
 *
 * berthd runs it as its own executable under the name "berth-monitor" (eng_monitor_spawn). On the
 * status pipe it says {"Ready":true} once it listens for attach connections, waits for a byte on
 * the go pipe, starts the container and says {"Pid":123} or {"Error":"...","Errno":2}.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "lib/err.h"

struct eng_monitor_args {
	const char *dir;          /* containers/<id>: config.json (the bundle), the log, exit.json */
	const char *runtime_root; /* the oci/ state root */
	const char *id;
	const char *log_path;   /* NULL: no log */
	long long log_max_size; /* rotation (logs.h's eng_log_file); <= 0: none */
	int log_max_files;
	bool open_stdin, stdin_once; /* Config.OpenStdin: the container's stdin is a pipe attach writes to */
	bool exec;                   /* an exec's process in the running container id (dir holds process.json) */
	/* Called when the monitor listens for attach connections, before the container starts. */
	void (*on_ready)(void *arg);
	void *on_ready_arg;
};

/*
 * Fork and exec the monitor (the daemon's own binary, /proc/self/exe) in a session of its own, and
 * wait for the container to start. *monitor gets the monitor's pid, *pid the container's init.
 * A container that fails to start: -1 with the runtime's error; the monitor has exited.
 */
int eng_monitor_spawn(const struct eng_monitor_args *a, pid_t *monitor, pid_t *pid, berr *e);

/*
 * main() of "berth-monitor DIR RUNTIME_ROOT ID LOG_PATH OPEN_STDIN STDIN_ONCE MODE LOG_MAX_SIZE
 * LOG_MAX_FILES" (fd 3: the status pipe, fd 4: the go pipe; LOG_PATH "" for none, rotated at
 * LOG_MAX_SIZE bytes, 0 never; MODE "run", or "exec": run DIR/process.json in the running
 * container ID with eng_exec_run, and leave the container's runtime state alone at the end).
 * It listens on DIR/attach.sock: a client sends one JSON line,
 * {"Stdin":true,"Stdout":true,"Stderr":true}, then gets the output (raw with a terminal, else in
 * Docker's 8-byte frames) and may send input; or {"Resize":[height,width]} to size the terminal.
 */
int eng_monitor_main(int argc, char **argv);

/*
 * Connect to the attach socket of the monitor whose directory is dir and send header, one JSON
 * line as eng_monitor_main reads it. The connected socket, or -1.
 */
int eng_monitor_connect(const char *dir, const char *header, berr *e);

/* The name the daemon's main() recognises in argv[0]. */
#define ENG_MONITOR_ARGV0 "berth-monitor"
