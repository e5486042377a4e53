/*
 * GET /containers/{id}/top: the host's ps(1) with the caller's options, keeping the rows of the
 * container's processes (those in its cgroup), as Docker's daemon does (daemon/top_unix.go).
 */
#include "engine/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "engine/events.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "oci/container.h"

extern char **environ;

enum { PS_OUTPUT_MAX = 32 << 20, PS_TIMEOUT_MS = 30000 };

struct buf {
	char *data;
	size_t len, cap;
};

static int buf_read(struct buf *b, int fd, berr *e)
{
	if (b->cap - b->len < 4096) {
		size_t cap = b->cap ? b->cap * 2 : 16384;
		char *d = realloc(b->data, cap + 1);
		if (!d)
			return berr_set(e, ENOMEM, "reading the output of ps");
		b->data = d;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
	if (n < 0)
		return errno == EINTR ? 1 : berr_sys(e, "reading the output of ps");
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	if (b->len > PS_OUTPUT_MAX)
		return berr_plain(e, EFBIG, "ps wrote more than %d bytes", PS_OUTPUT_MAX);
	return n == 0 ? 0 : 1;
}

static int spawn_ps(char **argv, int out_fd, int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	int r = posix_spawnp(pid, "ps", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* Read ps's stdout and stderr to their ends (with a time limit), then reap it. */
static int collect_ps(pid_t pid, int out_fd, int err_fd, struct buf *out, berr *e)
{
	struct buf err = {0};
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rc = 0;
	while (rc == 0 && (p[0].fd >= 0 || p[1].fd >= 0)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent > PS_TIMEOUT_MS) {
			rc = berr_plain(e, ETIMEDOUT, "ps did not finish in %d s", PS_TIMEOUT_MS / 1000);
			break;
		}
		int n = poll(p, 2, (int)(PS_TIMEOUT_MS - spent));
		if (n < 0 && errno != EINTR)
			rc = berr_sys(e, "ps: poll");
		for (int i = 0; n > 0 && rc == 0 && i < 2; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			int got = buf_read(i == 0 ? out : &err, p[i].fd, e);
			if (got < 0)
				rc = -1;
			else if (got == 0)
				p[i].fd = -1;
		}
	}
	if (rc < 0)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		/* Docker's message: the first line ps wrote on stderr. */
		char *nl = err.data ? strchr(err.data, '\n') : NULL;
		if (nl)
			*nl = '\0';
		if (err.data && *err.data)
			rc = berr_plain(e, EIO, "ps: %s", err.data);
		else if (WIFEXITED(status))
			rc = berr_plain(e, EIO, "ps: exit status %d", WEXITSTATUS(status));
		else
			rc = berr_plain(e, EIO, "ps: killed by signal %d", WTERMSIG(status));
	}
	free(err.data);
	return rc;
}

/* Run ps with argv; its stdout in *out; a failure carries the first line it wrote on stderr. */
static int run_ps(char **argv, struct buf *out, berr *e)
{
	int o[2], er[2];
	if (pipe2(o, O_CLOEXEC) < 0)
		return berr_sys(e, "ps: pipe");
	if (pipe2(er, O_CLOEXEC) < 0) {
		berr_sys(e, "ps: pipe");
		close(o[0]);
		close(o[1]);
		return -1;
	}
	pid_t pid;
	int r = spawn_ps(argv, o[1], er[1], &pid);
	close(o[1]);
	close(er[1]);
	int rc = r != 0 ? berr_set(e, r, "running ps") : collect_ps(pid, o[0], er[0], out, e);
	close(o[0]);
	close(er[0]);
	return rc;
}

static bool ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The fields of a line split on ASCII white space (Docker's fieldsASCII). */
static json_t *fields_of(const char *line, size_t len)
{
	json_t *v = json_array();
	size_t i = 0;
	while (v && i < len) {
		while (i < len && ascii_space(line[i]))
			i++;
		size_t start = i;
		while (i < len && !ascii_space(line[i]))
			i++;
		if (i > start)
			json_array_append_new(v, json_stringn(line + start, i - start));
	}
	return v;
}

/* Rows with more fields than titles: the overhanging ones join the last column (a command's arguments). */
static json_t *row_of(json_t *fields, size_t n_titles)
{
	size_t n = json_array_size(fields);
	if (n <= n_titles)
		return json_incref(fields);
	json_t *row = json_array();
	for (size_t i = 0; i + 1 < n_titles; i++)
		json_array_append(row, json_array_get(fields, i));
	size_t cap = 1;
	for (size_t i = n_titles - 1; i < n; i++)
		cap += strlen(json_string_value(json_array_get(fields, i))) + 1;
	char *last = calloc(1, cap);
	if (!last) {
		json_decref(row);
		return NULL;
	}
	for (size_t i = n_titles - 1; i < n; i++) {
		if (i > n_titles - 1)
			strcat(last, " ");
		strcat(last, json_string_value(json_array_get(fields, i)));
	}
	json_array_append_new(row, json_string(last));
	free(last);
	return row;
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

int eng_top_parse(const char *output, const pid_t *pids, size_t n_pids, json_t **out, berr *e)
{
	*out = NULL;
	const char *nl = strchr(output, '\n');
	json_t *titles = fields_of(output, nl ? (size_t)(nl - output) : strlen(output));
	json_t *procs = json_array();
	json_t *doc = json_pack("{s:o, s:o}", "Titles", titles, "Processes", procs);
	if (!doc)
		return berr_set(e, ENOMEM, "ps output");
	size_t pid_col = SIZE_MAX;
	for (size_t i = 0; i < json_array_size(titles); i++)
		if (strcmp(json_string_value(json_array_get(titles, i)), "PID") == 0) {
			pid_col = i;
			break;
		}
	if (pid_col == SIZE_MAX) {
		json_decref(doc);
		return berr_plain(e, EIO, "Couldn't find PID field in ps output");
	}
	/* A "-" PID is a thread line of the process above it (ps -L, m): kept with its process. */
	bool last_kept = false;
	for (const char *line = nl ? nl + 1 : ""; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		json_t *fields = fields_of(line, len);
		line += len + (end ? 1 : 0);
		if (json_array_size(fields) <= pid_col) {
			json_decref(fields);
			continue;
		}
		const char *pid_text = json_string_value(json_array_get(fields, pid_col));
		bool keep;
		if (strcmp(pid_text, "-") == 0) {
			keep = last_kept;
		} else {
			char *tail;
			errno = 0;
			long pid = strtol(pid_text, &tail, 10);
			if (*tail || errno || tail == pid_text) {
				berr_plain(e, EIO, "Unexpected pid '%s': not a number", pid_text);
				json_decref(fields);
				json_decref(doc);
				return -1;
			}
			keep = last_kept = has_pid(pids, n_pids, pid);
		}
		if (keep)
			json_array_append_new(procs, row_of(fields, json_array_size(titles)));
		json_decref(fields);
	}
	*out = doc;
	return 0;
}

int eng_top_check_args(const char *ps_args, berr *e)
{
	/* Docker refuses renaming another column to PID ("-o user=PID"): the PID column would lie. */
	for (const char *eq = strchr(ps_args, '='); eq; eq = strchr(eq + 1, '=')) {
		const char *key = eq;
		while (key > ps_args && !ascii_space(key[-1]))
			key--;
		if (key == ps_args)
			continue; /* Docker's pattern wants white space before the key */
		const char *val = eq + 1;
		while (*val && ascii_space(*val))
			val++;
		if (strncmp(val, "PID", 3) != 0)
			continue;
		size_t key_len = (size_t)(eq - key), val_len = 0;
		while (val[val_len] && !ascii_space(val[val_len]))
			val_len++;
		if (key_len != 3 || strncmp(key, "pid", 3) != 0)
			return berr_invalid(e, "specifying \"%.*s=%.*s\" is not allowed", (int)key_len, key,
					    (int)val_len, val);
	}
	return 0;
}

/* "ps" and the caller's options, split on spaces; with pids, "-q" and their list last. */
static char **ps_argv(const char *ps_args, const pid_t *pids, size_t n)
{
	size_t words = 3;
	for (const char *p = ps_args; *p; p++)
		words += *p == ' ';
	char **argv = calloc(words + 1, sizeof *argv);
	_cleanup_free_ char *copy = strdup(ps_args);
	if (!argv || !copy) {
		free(argv);
		return NULL;
	}
	size_t i = 0;
	argv[i++] = strdup("ps");
	char *save = NULL;
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[i++] = strdup(w);
	if (pids) {
		size_t cap = 3 + n * 12;
		char *list = malloc(cap), *at = list;
		if (list) {
			at += sprintf(at, "-q");
			for (size_t k = 0; k < n; k++)
				at += sprintf(at, "%s%d", k ? "," : "", (int)pids[k]);
		}
		argv[i++] = list;
	}
	for (size_t k = 0; k < i; k++)
		if (!argv[k]) {
			b_strv_free(argv);
			return NULL;
		}
	return argv;
}

int eng_container_top(struct eng *eng, const char *name, const char *ps_args, json_t **out, berr *e)
{
	*out = NULL;
	if (!ps_args || !*ps_args)
		ps_args = "-ef";
	if (eng_top_check_args(ps_args, e) < 0)
		return -1;
	char id[65];
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		memcpy(id, c->id, sizeof id);
		if (!ctr_running(c))
			r = berr_plain(e, EBUSY, "Container %s is not running", c->id);
		ctr_put(eng, c);
	}
	pthread_mutex_unlock(&eng->lock);
	if (r < 0)
		return -1;
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (oci_container_pids(eng->runtime_root, id, &pids, &n, e) < 0)
		return berr_wrap(e, "listing the processes of %s", id);
	/* -q with the container's pids spares ps the whole system; some options refuse -q: then without. */
	struct buf output = {0};
	char **argv = ps_argv(ps_args, pids, n);
	berr first = {0};
	r = argv ? run_ps(argv, &output, &first) : berr_set(&first, ENOMEM, "ps");
	b_strv_free(argv);
	if (r < 0) {
		berr_clear(&first);
		free(output.data);
		output = (struct buf){0};
		argv = ps_argv(ps_args, NULL, 0);
		r = argv ? run_ps(argv, &output, e) : berr_set(e, ENOMEM, "ps");
		b_strv_free(argv);
	}
	if (r == 0)
		r = eng_top_parse(output.data ? output.data : "", pids, n, out, e);
	free(output.data);
	if (r == 0)
		eng_container_event(eng, id, "top", NULL);
	return r;
}
