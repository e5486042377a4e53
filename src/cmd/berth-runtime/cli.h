/* berth-runtime: runc's command line over the oci/ layer. */
#pragma once
#include <stdbool.h>

#include "../../lib/err.h"

struct rt_globals {
	const char *root;
	const char *log_path;
	const char *log_format;
	bool debug;
	bool systemd_cgroup;
};

extern struct rt_globals rt_globals;

/* Each verb: argv[0] is the verb; returns the process exit code. */
typedef int (*rt_verb_fn)(int argc, char **argv);

int rt_create(int argc, char **argv);
int rt_start(int argc, char **argv);
int rt_run(int argc, char **argv);
int rt_state(int argc, char **argv);
int rt_kill(int argc, char **argv);
int rt_delete(int argc, char **argv);
int rt_list(int argc, char **argv);
int rt_exec(int argc, char **argv);
int rt_ps(int argc, char **argv);
int rt_pause(int argc, char **argv);
int rt_resume(int argc, char **argv);
int rt_spec(int argc, char **argv);
int rt_features(int argc, char **argv);

/* Print an error the way runc does (to the log, and to stderr) and return 1. */
int rt_fail(berr *e);
int rt_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exactly one container id argument left after the options. */
int rt_one_id(int argc, char **argv, int optind_, const char *verb, const char **id);
/* Refuse the systemd cgroup driver clearly. */
int rt_check_cgroup_driver(void);
