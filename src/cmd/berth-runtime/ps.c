/* ps: the container's processes, as JSON pids or through ps(1) filtered to them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lib/cleanup.h"
#include "../../oci/container.h"
#include "cli.h"

static bool has_pid(const pid_t *pids, size_t n, pid_t p)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == p)
			return true;
	return false;
}

int rt_ps(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {0}};
	const char *format = "table";
	int c;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f')
			return rt_usage_error("ps", "unknown option %s", argv[optind - 1]);
		format = optarg;
	}
	if (optind >= argc)
		return rt_usage_error("ps", "usage: ps [--format table|json] <container-id> [ps options]");
	const char *id = argv[optind++];
	if (strcmp(format, "table") && strcmp(format, "json"))
		return rt_usage_error("ps", "invalid format option \"%s\"", format);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	berr e = {0};
	if (oci_container_pids(rt_globals.root, id, &pids, &n, &e) < 0)
		return rt_fail(&e);
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		return 0;
	}
	/* Table: run ps with the given options (default -ef) and keep the header and our pids. */
	int fds[2];
	if (pipe(fds) < 0)
		return 1;
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		int extra = argc - optind;
		char **args = calloc((size_t)extra + 2, sizeof *args);
		args[0] = "ps";
		if (extra == 0) {
			args[1] = "-ef";
		} else {
			for (int i = 0; i < extra; i++)
				args[i + 1] = argv[optind + i];
		}
		execvp("ps", args);
		_exit(127);
	}
	close(fds[1]);
	_cleanup_fclose_ FILE *f = fdopen(fds[0], "r");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int pid_col = -1;
	bool header = true;
	while (f && getline(&line, &cap, f) > 0) {
		if (header) {
			/* Find the PID column in the header. */
			_cleanup_free_ char *copy = strdup(line);
			char *save = NULL;
			int col = 0;
			for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++)
				if (!strcmp(t, "PID"))
					pid_col = col;
			fputs(line, stdout);
			header = false;
			continue;
		}
		_cleanup_free_ char *copy = strdup(line);
		char *save = NULL;
		int col = 0;
		for (char *t = strtok_r(copy, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save), col++) {
			if (col == pid_col) {
				if (has_pid(pids, n, (pid_t)atoi(t)))
					fputs(line, stdout);
				break;
			}
		}
	}
	int status;
	waitpid(child, &status, 0);
	if (pid_col < 0) {
		fprintf(stderr, "berth-runtime ps: couldn't find PID field in ps output\n");
		return 1;
	}
	return 0;
}
