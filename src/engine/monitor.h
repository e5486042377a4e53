/*
 * The monitor: one small process per running container, between berthd and the container's init.
 * It creates and starts the container in-process (oci/), holds its stdio (pipes, or the pty's
 * master), writes the json-file log, waits for the init and records how it ended in exit.json, so
 * that a daemon that was stopped or killed meanwhile learns it when it comes back.
 *
 * It is a binary of its own, berth-monitor, next to berthd's; berthd keeps one sealed in-memory copy
 * of it (eng_monitor_image_open) and executes every monitor from that copy. On the status pipe it says {"Ready":true}
 * once it listens for attach connections, waits for a byte on the go pipe, starts the container and says {"Pid":123} or
 * {"Error":"...","Errno":2}.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "lib/err.h"

struct eng_monitor_args {
	int exe_fd;               /* the monitor's executable: eng_monitor_image_open's copy */
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
 * The monitor's executable, found next to the running one's (/proc/self/exe): a sealed in-memory
 * copy (O_CLOEXEC), so that nothing in a container can write to the binary its monitor and the
 * container's own early process run from (CVE-2019-5736), and every monitor shares its pages.
 */
int eng_monitor_image_open(berr *e);

/*
 * Fork and exec the monitor (a->exe_fd) in a session of its own, and
 * wait for the container to start. *monitor gets the monitor's pid, *pid the container's init.
 * A container that fails to start: -1 with the runtime's error; the monitor has exited.
 */
int eng_monitor_spawn(const struct eng_monitor_args *a, pid_t *monitor, pid_t *pid, berr *e);

/*
 * main() of "berth-monitor DIR RUNTIME_ROOT ID LOG_PATH OPEN_STDIN STDIN_ONCE MODE LOG_MAX_SIZE
 * LOG_MAX_FILES" (fd 3: the status pipe, fd 4: the go pipe, fd 5: berthd's copy of the executable,
 * closed at once; LOG_PATH "" for none, rotated at
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

/*
 * A container's monitor writes {"Pid":N,"StartTime":T} (lib/proc.h) to this file in DIR before it
 * says it is ready, and removes it when it ends.
 */
#define ENG_MONITOR_FILE "monitor.json"

/* The monitor's file name, and its argv[0]. */
#define ENG_MONITOR_ARGV0 "berth-monitor"
