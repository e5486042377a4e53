/*
 * Exec instances: their records (memory and berth.db), their monitors (one berth-monitor in exec
 * mode per started exec, watched through a pidfd by a thread of ours), create, start, inspect and
 * resize. Everything here runs under the engine's lock but the monitor's start.
 */
#include "engine/exec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/monitor.h"
#include "engine/restart.h"
#include "engine/names.h"
#include "lib/cleanup.h"
#include "lib/detach_keys.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/proc.h"

struct exec {
	char id[65], ctr_id[65];
	json_t *doc; /* Docker's inspect shape plus BerthConfig, BerthStarted, BerthMonitor */
	pid_t monitor_pid;
	int monitor_pidfd; /* watched while >= 0 */
	struct exec *next;
};

struct eng_execs {
	struct exec_db *db;
	struct exec *list; /* in creation order */
	int epfd, stop_efd;
	pthread_t watcher;
	bool watcher_started;
};

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static char *exec_dir(struct eng *eng, const struct exec *x)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s/execs/%s", eng->containers_dir, x->ctr_id, x->id) < 0)
		return NULL;
	return p;
}

static struct exec *exec_find(struct eng *eng, const char *id)
{
	if (!eng->execs || !id)
		return NULL;
	for (struct exec *x = eng->execs->list; x; x = x->next)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

static int exec_lookup(struct eng *eng, const char *id, struct exec **out, berr *e)
{
	*out = exec_find(eng, id);
	return *out ? 0 : berr_plain(e, ENOENT, "No such exec instance: %s", id ? id : "");
}

static int exec_save(struct eng *eng, struct exec *x, berr *e)
{
	return exec_db_put(eng->execs->db, x->id, x->ctr_id, x->doc, e);
}

static void exec_free(struct exec *x)
{
	json_decref(x->doc);
	free(x);
}

static bool exec_running(const struct exec *x)
{
	return json_is_true(json_object_get(x->doc, "Running"));
}

/*
 * An event of x's container (under the lock), as Docker names them: "exec_create: sh -c date",
 * "exec_start: ...", "exec_die", each with execID in its attributes. extra is stolen.
 */
static void exec_event(struct eng *eng, struct exec *x, const char *verb, bool with_command, json_t *extra)
{
	json_t *attrs = extra ? extra : json_object();
	json_object_set_new(attrs, "execID", json_string(x->id));
	json_t *pc = json_object_get(x->doc, "ProcessConfig");
	size_t len = strlen(verb) + 3 + strlen(json_string_value(json_object_get(pc, "entrypoint")) ?: "");
	size_t i;
	json_t *arg;
	json_array_foreach (json_object_get(pc, "arguments"), i, arg)
		len += 1 + strlen(json_string_value(arg) ?: "");
	_cleanup_free_ char *action = malloc(len + 1);
	struct ctr *c;
	berr e = {0};
	if (!action || ctr_find(eng, x->ctr_id, &c, &e) < 0) {
		berr_clear(&e);
		json_decref(attrs);
		return;
	}
	strcpy(action, verb);
	if (with_command) {
		strcat(action, ": ");
		strcat(action, json_string_value(json_object_get(pc, "entrypoint")) ?: "");
		json_array_foreach (json_object_get(pc, "arguments"), i, arg) {
			strcat(action, " ");
			strcat(action, json_string_value(arg) ?: "");
		}
	}
	ctr_event(eng, c, action, attrs);
	ctr_put(eng, c);
}

/* Let go of a monitor's pidfd: reaped and closed when it has ended, else the watcher does it then. */
static void release_monitor(struct eng_execs *xs, int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	if (poll(&p, 1, 0) != 1)
		return;
	siginfo_t info;
	waitid((idtype_t)3 /* P_PIDFD */, (id_t)pidfd, &info, WEXITED | WNOHANG);
	epoll_ctl(xs->epfd, EPOLL_CTL_DEL, pidfd, NULL);
	close(pidfd);
}

/* The exec has ended: its exit.json (written by its monitor) gives the exit code, 255 without one. */
static void exec_finish(struct eng *eng, struct exec *x)
{
	int code = 255;
	_cleanup_free_ char *dir = exec_dir(eng, x);
	_cleanup_free_ char *path = NULL, *text = NULL;
	berr e = {0};
	if (dir && asprintf(&path, "%s/exit.json", dir) > 0 && b_read_file(path, &text, NULL, &e) == 0) {
		json_t *doc = json_loads(text, 0, NULL);
		if (json_is_integer(json_object_get(doc, "ExitCode")))
			code = (int)json_integer_value(json_object_get(doc, "ExitCode"));
		json_decref(doc);
	}
	berr_clear(&e);
	json_object_set_new(x->doc, "Running", json_false());
	json_object_set_new(x->doc, "ExitCode", json_integer(code));
	json_object_set_new(x->doc, "Pid", json_integer(0));
	json_object_del(x->doc, "BerthMonitor");
	if (x->monitor_pidfd >= 0)
		release_monitor(eng->execs, x->monitor_pidfd);
	x->monitor_pidfd = -1;
	x->monitor_pid = 0;
	if (exec_save(eng, x, &e) < 0) {
		fprintf(stderr, "berthd: exec %s: %s\n", x->id, berr_msg(&e));
		berr_clear(&e);
	}
	exec_event(eng, x, "exec_die", false, eng_event_number("exitCode", code));
	pthread_cond_broadcast(&eng->changed);
}

/* A running exec whose monitor has written exit.json is done, even if the watcher has not seen it yet. */
static void exec_refresh(struct eng *eng, struct exec *x)
{
	if (!exec_running(x))
		return;
	_cleanup_free_ char *dir = exec_dir(eng, x);
	_cleanup_free_ char *path = NULL;
	if (dir && asprintf(&path, "%s/exit.json", dir) > 0 && access(path, F_OK) == 0)
		exec_finish(eng, x);
}

static void *watcher_main(void *arg)
{
	struct eng *eng = arg;
	struct eng_execs *xs = eng->execs;
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(xs->epfd, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == xs->stop_efd)
				return NULL;
			pthread_mutex_lock(&eng->lock);
			struct exec *found = NULL;
			for (struct exec *x = xs->list; x && !found; x = x->next)
				if (x->monitor_pidfd == fd)
					found = x;
			if (found)
				exec_finish(eng, found);
			else
				release_monitor(xs, fd); /* a forgotten exec's monitor */
			pthread_mutex_unlock(&eng->lock);
		}
	}
}

static int watch(struct eng *eng, struct exec *x, berr *e)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = x->monitor_pidfd};
	if (epoll_ctl(eng->execs->epfd, EPOLL_CTL_ADD, x->monitor_pidfd, &ev) < 0)
		return berr_sys(e, "watching the monitor of exec %s", x->id);
	return 0;
}

static bool container_known(struct eng *eng, const char *id)
{
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return true;
	return false;
}

struct adopt_ctx {
	struct eng *eng;
	json_t *stale; /* container IDs whose records outlived them */
};

static int adopt(void *arg, json_t *doc, berr *e)
{
	struct adopt_ctx *a = arg;
	struct eng *eng = a->eng;
	const char *id = json_string_value(json_object_get(doc, "ID"));
	const char *cid = json_string_value(json_object_get(doc, "ContainerID"));
	if (!id || !cid || strlen(id) != 64 || strlen(cid) != 64)
		return 0;
	if (!container_known(eng, cid)) {
		json_array_append_new(a->stale, json_string(cid));
		return 0;
	}
	struct exec *x = calloc(1, sizeof *x);
	if (!x)
		return berr_set(e, ENOMEM, "exec %s", id);
	memcpy(x->id, id, 65);
	memcpy(x->ctr_id, cid, 65);
	x->doc = json_incref(doc);
	x->monitor_pidfd = -1;
	struct exec **tail = &eng->execs->list;
	while (*tail)
		tail = &(*tail)->next;
	*tail = x;
	bool started = json_is_true(json_object_get(doc, "BerthStarted"));
	if (!started || !json_is_null(json_object_get(doc, "ExitCode")))
		return 0;
	/* Still running? Its monitor is alive and is the same process (not a reused pid). */
	json_t *mon = json_object_get(doc, "BerthMonitor");
	pid_t pid = (pid_t)json_integer_value(json_object_get(mon, "Pid"));
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(mon, "StartTime"));
	int fd = pid > 0 ? pidfd_open_(pid) : -1;
	if (fd >= 0 && b_proc_start_time(pid) == start) {
		x->monitor_pid = pid;
		x->monitor_pidfd = fd;
		return watch(eng, x, e);
	}
	if (fd >= 0)
		close(fd);
	exec_finish(eng, x);
	return 0;
}

int eng_execs_open(struct eng *eng, const char *db_path, berr *e)
{
	struct eng_execs *xs = calloc(1, sizeof *xs);
	if (!xs)
		return berr_set(e, ENOMEM, "exec instances");
	xs->epfd = xs->stop_efd = -1;
	eng->execs = xs;
	xs->epfd = epoll_create1(EPOLL_CLOEXEC);
	xs->stop_efd = eventfd(0, EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = xs->stop_efd};
	if (xs->epfd < 0 || xs->stop_efd < 0 || epoll_ctl(xs->epfd, EPOLL_CTL_ADD, xs->stop_efd, &ev) < 0)
		return berr_sys(e, "setting up the exec watcher");
	if (exec_db_open(db_path, &xs->db, e) < 0)
		return -1;
	struct adopt_ctx a = {eng, json_array()};
	int r = exec_db_each(xs->db, adopt, &a, e);
	size_t i;
	json_t *v;
	json_array_foreach (a.stale, i, v) {
		berr ignored = {0};
		exec_db_delete_container(xs->db, json_string_value(v), &ignored);
		berr_clear(&ignored);
	}
	json_decref(a.stale);
	if (r < 0)
		return -1;
	if (pthread_create(&xs->watcher, NULL, watcher_main, eng) != 0)
		return berr_set(e, EAGAIN, "starting the exec watcher");
	xs->watcher_started = true;
	return 0;
}

void eng_execs_close(struct eng *eng)
{
	struct eng_execs *xs = eng->execs;
	if (!xs)
		return;
	if (xs->watcher_started) {
		uint64_t one = 1;
		if (write(xs->stop_efd, &one, sizeof one) == (ssize_t)sizeof one)
			pthread_join(xs->watcher, NULL);
	}
	while (xs->list) {
		struct exec *x = xs->list;
		xs->list = x->next;
		if (x->monitor_pidfd >= 0)
			close(x->monitor_pidfd);
		exec_free(x);
	}
	exec_db_close(xs->db);
	if (xs->epfd >= 0)
		close(xs->epfd);
	if (xs->stop_efd >= 0)
		close(xs->stop_efd);
	free(xs);
	eng->execs = NULL;
}

void eng_execs_forget_container(struct eng *eng, const char *container_id)
{
	struct eng_execs *xs = eng->execs;
	if (!xs)
		return;
	for (struct exec **p = &xs->list; *p;) {
		struct exec *x = *p;
		if (strcmp(x->ctr_id, container_id) != 0) {
			p = &x->next;
			continue;
		}
		*p = x->next;
		/* A monitor still running stays watched: the watcher reaps it when it ends. */
		if (x->monitor_pidfd >= 0)
			release_monitor(xs, x->monitor_pidfd);
		exec_free(x);
	}
	berr e = {0};
	if (exec_db_delete_container(xs->db, container_id, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", container_id, berr_msg(&e));
		berr_clear(&e);
	}
	pthread_cond_broadcast(&eng->changed);
}

/* ---------- create ---------- */

static int check_type(json_t *body, const char *key, bool (*is)(const json_t *), const char *what, berr *e)
{
	json_t *v = json_object_get(body, key);
	if (v && !json_is_null(v) && !is(v))
		return berr_invalid(e, "exec config: %s: expected %s, got %s", key, what, b_json_type_name(v));
	return 0;
}

static bool is_string(const json_t *v)
{
	return json_is_string(v);
}

static bool is_bool(const json_t *v)
{
	return json_is_boolean(v);
}

static bool is_string_array(const json_t *v)
{
	if (!json_is_array(v))
		return false;
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return false;
	return true;
}

/* The exec's config from the request, checked; a new object. */
static int parse_config(json_t *body, json_t **out, berr *e)
{
	if (!json_is_object(body))
		return berr_invalid(e, "exec config: expected a JSON object, got %s", b_json_type_name(body));
	static const char *const strings[] = {"WorkingDir", "User", "DetachKeys"};
	static const char *const bools[] = {"Privileged",   "Tty",          "AttachStdin",
					    "AttachStdout", "AttachStderr", "Detach"};
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
		if (check_type(body, strings[i], is_string, "a string", e) < 0)
			return -1;
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		if (check_type(body, bools[i], is_bool, "a boolean", e) < 0)
			return -1;
	if (check_type(body, "Cmd", is_string_array, "an array of strings", e) < 0 ||
	    check_type(body, "Env", is_string_array, "an array of strings", e) < 0)
		return -1;
	json_t *cmd = json_object_get(body, "Cmd");
	if (json_array_size(cmd) == 0)
		return berr_invalid(e, "No exec command specified");
	const char *cwd = json_string_value(json_object_get(body, "WorkingDir"));
	if (cwd && *cwd && cwd[0] != '/')
		return berr_invalid(e, "the working directory '%s' is invalid, it needs to be an absolute path", cwd);
	const char *keys = json_string_value(json_object_get(body, "DetachKeys"));
	struct b_detach_keys parsed;
	if (keys && *keys && b_detach_keys_parse(keys, &parsed, e) < 0) {
		berr_clear(e);
		return berr_invalid(e, "Invalid escape keys (%s) provided", keys);
	}
	/* ConsoleSize [height, width] (API 1.42): the terminal's size unless the start gives one. */
	json_t *size = json_object_get(body, "ConsoleSize");
	if (size && !json_is_null(size)) {
		json_t *h = json_array_get(size, 0), *w = json_array_get(size, 1);
		if (json_array_size(size) != 2 || !json_is_integer(h) || !json_is_integer(w) ||
		    json_integer_value(h) < 0 || json_integer_value(w) < 0 || json_integer_value(h) > 65535 ||
		    json_integer_value(w) > 65535)
			return berr_invalid(e, "exec config: ConsoleSize: expected [height, width]");
	}
	json_t *env = json_object_get(body, "Env");
	const char *user = json_string_value(json_object_get(body, "User"));
	*out = json_pack("{s:O, s:o, s:s, s:s, s:b, s:b}", "Cmd", cmd, "Env", env ? json_deep_copy(env) : json_array(),
			 "WorkingDir", cwd ? cwd : "", "User", user ? user : "", "Privileged",
			 json_is_true(json_object_get(body, "Privileged")), "Tty",
			 json_is_true(json_object_get(body, "Tty")));
	if (*out && json_is_array(size))
		json_object_set(*out, "ConsoleSize", size);
	return *out ? 0 : berr_set(e, ENOMEM, "exec config");
}

/* Docker's getActiveContainer: exec needs a running, unpaused container that is not waiting to restart. */
static int check_active(struct ctr *c, berr *e)
{
	if (ctr_restarting(c))
		return berr_plain(e, EBUSY, "Container %s is restarting, wait until the container is running", c->id);
	if (!ctr_running(c))
		return berr_plain(e, EBUSY, "Container %s is not running", c->id);
	if (strcmp(ctr_status(c), "paused") == 0)
		return berr_plain(e, EBUSY, "Container %s is paused, unpause the container before exec", c->id);
	return 0;
}

static int create_exec(struct eng *eng, const char *container, json_t *body, char **id, berr *e)
{
	json_t *config = NULL;
	if (parse_config(body, &config, e) < 0)
		return -1;
	json_t *cmd = json_object_get(config, "Cmd");
	json_t *args = json_array();
	for (size_t i = 1; i < json_array_size(cmd); i++)
		json_array_append(args, json_array_get(cmd, i));
	const char *keys = json_string_value(json_object_get(body, "DetachKeys"));
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	int r = ctr_find(eng, container, &c, e);
	if (r == 0) {
		r = check_active(c, e);
		if (r == 0) {
			struct exec *x = calloc(1, sizeof *x);
			if (!x) {
				r = berr_set(e, ENOMEM, "exec");
				goto done;
			}
			do
				eng_id_generate(x->id);
			while (exec_find(eng, x->id));
			memcpy(x->ctr_id, c->id, 65);
			x->monitor_pidfd = -1;
			x->doc = json_pack(
			    "{s:s, s:b, s:n, s:{s:b, s:s, s:O, s:b, s:O}, s:b, s:b, s:b, s:b, s:s, s:s, s:i, s:O}",
			    "ID", x->id, "Running", 0, "ExitCode", "ProcessConfig", "tty",
			    json_is_true(json_object_get(config, "Tty")), "entrypoint",
			    json_string_value(json_array_get(cmd, 0)), "arguments", args, "privileged",
			    json_is_true(json_object_get(config, "Privileged")), "user",
			    json_object_get(config, "User"), "OpenStdin",
			    json_is_true(json_object_get(body, "AttachStdin")), "OpenStderr",
			    json_is_true(json_object_get(body, "AttachStderr")), "OpenStdout",
			    json_is_true(json_object_get(body, "AttachStdout")), "CanRemove", 0, "ContainerID", c->id,
			    "DetachKeys", keys ? keys : "", "Pid", 0, "BerthConfig", config);
			if (!x->doc) {
				free(x);
				r = berr_set(e, ENOMEM, "exec");
			} else if ((r = exec_save(eng, x, e)) < 0) {
				exec_free(x);
			} else {
				struct exec **tail = &eng->execs->list;
				while (*tail)
					tail = &(*tail)->next;
				*tail = x;
				exec_event(eng, x, "exec_create", true, NULL);
				*id = strdup(x->id);
				if (!*id)
					r = berr_set(e, ENOMEM, "exec");
			}
		}
	done:
		ctr_put(eng, c);
	}
	pthread_mutex_unlock(&eng->lock);
	json_decref(args);
	json_decref(config);
	return r;
}

int eng_exec_create(struct eng *eng, const char *container, json_t *body, char **id, berr *e)
{
	static const char *const names[] = {"Cmd",          "Env",        "WorkingDir",  "User",
					    "Privileged",   "Tty",        "AttachStdin", "AttachStdout",
					    "AttachStderr", "DetachKeys", "ConsoleSize", NULL};
	if (!json_is_object(body))
		return create_exec(eng, container, body, id, e);
	json_t *folded = b_json_fold_keys(body, names);
	if (!folded)
		return berr_set(e, ENOMEM, "exec config");
	int r = create_exec(eng, container, folded, id, e);
	json_decref(folded);
	return r;
}

/* ---------- start ---------- */

void eng_exec_started_free(struct eng_exec_started *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->failed);
	s->failed = NULL;
}

/* Under the lock: the process.json of x in its directory, made now. */
static int prepare(struct eng *eng, struct exec *x, struct ctr *c, int height, int width, const char *dir, berr *e)
{
	_cleanup_free_ char *spec_path = ctr_path(eng, c, "config.json"), *text = NULL;
	if (!spec_path)
		return berr_set(e, ENOMEM, "exec %s", x->id);
	if (b_read_file(spec_path, &text, NULL, e) < 0)
		return berr_wrap(e, "exec %s: the container's spec", x->id);
	json_error_t jerr;
	json_t *spec = json_loads(text, 0, &jerr);
	if (!spec)
		return berr_set(e, EIO, "exec %s: %s: %s", x->id, spec_path, jerr.text);
	struct eng_exec_process_input in = {.ctr_spec = spec,
					    .ctr_doc = c->doc,
					    .exec_config = json_object_get(x->doc, "BerthConfig"),
					    .height = height,
					    .width = width};
	json_t *proc = NULL;
	int r = eng_exec_process(&in, &proc, e);
	json_decref(spec);
	if (r < 0)
		return -1;
	_cleanup_free_ char *proc_text = json_dumps(proc, JSON_COMPACT), *proc_path = NULL;
	json_decref(proc);
	if (!proc_text || asprintf(&proc_path, "%s/process.json", dir) < 0)
		return berr_set(e, ENOMEM, "exec %s", x->id);
	if (b_mkdir_p(dir, 0700, e) < 0)
		return -1;
	return b_write_file_atomic(proc_path, proc_text, strlen(proc_text), 0600, e);
}

struct connect_ctx {
	const char *dir;
	const char *header; /* NULL: detached, nobody to connect */
	int fd;
	berr err;
};

/* The monitor listens: connect the start's stream before the process runs, so no output is lost. */
static void connect_stream(void *arg)
{
	struct connect_ctx *cc = arg;
	if (cc->header)
		cc->fd = eng_monitor_connect(cc->dir, cc->header, &cc->err);
}

int eng_exec_claim(struct eng *eng, const char *id, int height, int width, bool *tty, bool *in, berr *e)
{
	pthread_mutex_lock(&eng->lock);
	struct exec *x;
	struct ctr *c = NULL;
	int r = exec_lookup(eng, id, &x, e);
	if (r == 0 && !json_is_null(json_object_get(x->doc, "ExitCode")))
		r = berr_plain(e, EBUSY, "Error: Exec command %s has already run", x->id);
	else if (r == 0 && json_is_true(json_object_get(x->doc, "BerthStarted")))
		r = berr_plain(e, EBUSY, "Error: Exec command %s is already running", x->id);
	if (r == 0 && (r = ctr_find(eng, x->ctr_id, &c, e)) == 0)
		r = check_active(c, e);
	_cleanup_free_ char *dir = r == 0 ? exec_dir(eng, x) : NULL;
	if (r == 0 && !dir)
		r = berr_set(e, ENOMEM, "exec %s", id);
	if (r == 0 && (height <= 0 || width <= 0)) {
		json_t *size = json_object_get(json_object_get(x->doc, "BerthConfig"), "ConsoleSize");
		height = (int)json_integer_value(json_array_get(size, 0));
		width = (int)json_integer_value(json_array_get(size, 1));
	}
	if (r == 0)
		r = prepare(eng, x, c, height, width, dir, e);
	if (r == 0) {
		json_object_set_new(x->doc, "BerthStarted", json_true());
		r = exec_save(eng, x, e);
		*tty = json_is_true(json_object_get(json_object_get(x->doc, "ProcessConfig"), "tty"));
		*in = json_is_true(json_object_get(x->doc, "OpenStdin"));
	}
	if (c)
		ctr_put(eng, c);
	pthread_mutex_unlock(&eng->lock);
	return r;
}

int eng_exec_launch(struct eng *eng, const char *id, bool detach, struct eng_exec_started *out, berr *e)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	pthread_mutex_lock(&eng->lock);
	struct exec *x;
	if (exec_lookup(eng, id, &x, e) < 0) {
		pthread_mutex_unlock(&eng->lock);
		return -1;
	}
	if (!json_is_true(json_object_get(x->doc, "BerthStarted")) || exec_running(x) ||
	    !json_is_null(json_object_get(x->doc, "ExitCode"))) {
		pthread_mutex_unlock(&eng->lock);
		return berr_plain(e, EBUSY, "exec %s: not claimed, or launched already", id);
	}
	bool in = json_is_true(json_object_get(x->doc, "OpenStdin"));
	char ctr_id[65];
	memcpy(ctr_id, x->ctr_id, sizeof ctr_id);
	_cleanup_free_ char *dir = exec_dir(eng, x);
	_cleanup_free_ char *header = NULL;
	if (!detach && asprintf(&header, "{\"Stdin\":%s,\"Stdout\":%s,\"Stderr\":%s}\n", in ? "true" : "false",
				json_is_true(json_object_get(x->doc, "OpenStdout")) ? "true" : "false",
				json_is_true(json_object_get(x->doc, "OpenStderr")) ? "true" : "false") < 0)
		header = NULL;
	pthread_mutex_unlock(&eng->lock);
	if (!dir || (!detach && !header))
		return berr_set(e, ENOMEM, "exec %s", id);
	int r = 0;

	/* The monitor starts without the lock: a slow start holds up nobody else. */
	struct connect_ctx cc = {.dir = dir, .header = header, .fd = -1};
	struct eng_monitor_args ma = {
	    .exe_fd = eng->monitor_exe,
	    .dir = dir,
	    .runtime_root = eng->runtime_root,
	    .id = ctr_id,
	    .open_stdin = in && !detach,
	    .stdin_once = true,
	    .exec = true,
	    .on_ready = connect_stream,
	    .on_ready_arg = &cc,
	};
	pid_t monitor = 0, pid = 0;
	berr spawn_err = {0};
	int spawned = eng_monitor_spawn(&ma, &monitor, &pid, &spawn_err);

	pthread_mutex_lock(&eng->lock);
	x = exec_find(eng, id);
	if (spawned == 0 && x) {
		x->monitor_pid = monitor;
		x->monitor_pidfd = pidfd_open_(monitor);
		json_object_set_new(x->doc, "Running", json_true());
		json_object_set_new(x->doc, "Pid", json_integer(pid));
		json_object_set_new(
		    x->doc, "BerthMonitor",
		    json_pack("{s:i, s:I}", "Pid", (int)monitor, "StartTime", (json_int_t)b_proc_start_time(monitor)));
		if (x->monitor_pidfd < 0 || watch(eng, x, e) < 0) {
			/* Cannot watch it: do not lose track of it, stop it. */
			kill(monitor, SIGKILL);
			r = berr_sys(e, "watching the monitor of exec %s", id);
		} else {
			r = exec_save(eng, x, e);
			exec_event(eng, x, "exec_start", true, NULL);
		}
	} else if (spawned == 0) {
		/* Forgotten meanwhile (its container was removed): the process dies with the container. */
		r = berr_plain(e, ENOENT, "No such exec instance: %s", id);
		int pfd = pidfd_open_(monitor);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = pfd};
		if (pfd >= 0 && eng->execs && epoll_ctl(eng->execs->epfd, EPOLL_CTL_ADD, pfd, &ev) < 0)
			close(pfd); /* the watcher reaps it with the others otherwise */
	} else if (x) {
		int code = eng_start_failure_code(berr_msg(&spawn_err));
		json_object_set_new(x->doc, "Running", json_false());
		json_object_set_new(x->doc, "ExitCode", json_integer(code));
		berr saved = {0};
		if (exec_save(eng, x, &saved) < 0)
			berr_clear(&saved);
		if (detach) {
			r = berr_plain(e, code == 128 ? EIO : EINVAL, "OCI runtime exec failed: %s",
				       berr_msg(&spawn_err));
		} else if (asprintf(&out->failed, "OCI runtime exec failed: %s", berr_msg(&spawn_err)) < 0) {
			r = berr_set(e, ENOMEM, "exec %s", id);
		}
	} else {
		r = berr_plain(e, ENOENT, "No such exec instance: %s", id);
	}
	pthread_cond_broadcast(&eng->changed);
	pthread_mutex_unlock(&eng->lock);
	berr_clear(&spawn_err);
	if (r == 0 && spawned == 0 && !detach && cc.fd < 0) {
		berr_wrap(&cc.err, "exec %s: connecting its stream", id);
		*e = cc.err;
		r = -1;
	} else {
		berr_clear(&cc.err);
	}
	if (r < 0) {
		if (cc.fd >= 0)
			close(cc.fd);
		eng_exec_started_free(out);
		return -1;
	}
	out->fd = cc.fd;
	return 0;
}

void eng_exec_unclaim(struct eng *eng, const char *id)
{
	pthread_mutex_lock(&eng->lock);
	struct exec *x = exec_find(eng, id);
	if (x && !exec_running(x) && json_is_null(json_object_get(x->doc, "ExitCode"))) {
		json_object_del(x->doc, "BerthStarted");
		berr e = {0};
		if (exec_save(eng, x, &e) < 0)
			berr_clear(&e);
	}
	pthread_mutex_unlock(&eng->lock);
}

/* ---------- inspect, resize ---------- */

int eng_exec_inspect(struct eng *eng, const char *id, json_t **out, berr *e)
{
	pthread_mutex_lock(&eng->lock);
	struct exec *x;
	int r = exec_lookup(eng, id, &x, e);
	if (r == 0) {
		exec_refresh(eng, x);
		json_t *doc = json_deep_copy(x->doc);
		json_object_del(doc, "BerthConfig");
		json_object_del(doc, "BerthStarted");
		json_object_del(doc, "BerthMonitor");
		*out = doc;
		if (!doc)
			r = berr_set(e, ENOMEM, "exec %s", id);
	}
	pthread_mutex_unlock(&eng->lock);
	return r;
}

int eng_exec_resize(struct eng *eng, const char *id, int height, int width, berr *e)
{
	if (height < 0 || width < 0 || height > 65535 || width > 65535)
		return berr_invalid(e, "invalid terminal size %dx%d", height, width);
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 10;
	pthread_mutex_lock(&eng->lock);
	struct exec *x;
	int r = exec_lookup(eng, id, &x, e);
	/* The docker CLI sizes the terminal as it starts the exec: wait for the start, as Docker does. */
	while (r == 0 && !exec_running(x) && json_is_null(json_object_get(x->doc, "ExitCode")) && !eng->shutting_down) {
		if (pthread_cond_timedwait(&eng->changed, &eng->lock, &deadline) == ETIMEDOUT) {
			r = berr_plain(e, EIO, "timeout waiting for exec session ready");
			break;
		}
		r = exec_lookup(eng, id, &x, e);
	}
	if (r == 0)
		exec_refresh(eng, x);
	if (r == 0 && !exec_running(x))
		r = berr_plain(e, EBUSY, "Exec %s is not running", id);
	_cleanup_free_ char *dir = r == 0 ? exec_dir(eng, x) : NULL;
	pthread_mutex_unlock(&eng->lock);
	if (r < 0)
		return -1;
	if (!dir)
		return berr_set(e, ENOMEM, "resizing exec %s", id);
	char header[64];
	snprintf(header, sizeof header, "{\"Resize\":[%d,%d]}\n", height, width);
	int fd = eng_monitor_connect(dir, header, e);
	if (fd < 0)
		return berr_wrap(e, "resizing exec %s", id);
	close(fd);
	return 0;
}
