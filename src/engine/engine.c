/* The engine handle: opening the data root, re-adopting containers, watching monitors, lookups. */
#include "engine/engine_internal.h"
#include "engine/monitor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/exec.h"
#include "engine/net_attach.h"
#include "engine/restart.h"
#include "engine/events.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/timefmt.h"
#include "lib/proc.h"
#include "oci/container.h"
#include "storage/overlay.h"

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

const char *eng_data_root(const struct eng *eng)
{
	return eng->data_root;
}

char *const *eng_insecure_registries(const struct eng *eng)
{
	return eng->insecure_registries;
}

int eng_image_env(struct eng *eng, struct img_env **out, berr *e)
{
	return img_env_open(eng->data_root, out, e);
}

char *ctr_path(struct eng *eng, const struct ctr *c, const char *file)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s/%s", eng->containers_dir, c->id, file) < 0)
		return NULL;
	return p;
}

const char *ctr_status(const struct ctr *c)
{
	const char *s = json_string_value(json_object_get(json_object_get(c->doc, "State"), "Status"));
	return s ? s : "created";
}

bool ctr_running(const struct ctr *c)
{
	return json_is_true(json_object_get(json_object_get(c->doc, "State"), "Running"));
}

int ctr_save(struct eng *eng, struct ctr *c, berr *e)
{
	free(c->list_row); /* the record changed: so may its ps row */
	c->list_row = NULL;
	return eng_db_put(eng->db, c->id, c->name, c->doc, e);
}

int ctr_find(struct eng *eng, const char *name, struct ctr **out, berr *e)
{
	if (!name || !*name)
		return berr_plain(e, ENOENT, "No such container: %s", name ? name : "");
	const char *bare = name[0] == '/' ? name + 1 : name;
	struct ctr *found = NULL;
	for (struct ctr *c = eng->ctrs; c && !found; c = c->next)
		if (strcmp(c->id, name) == 0)
			found = c;
	for (struct ctr *c = eng->ctrs; c && !found; c = c->next)
		if (strcmp(c->name + 1, bare) == 0)
			found = c;
	if (!found) {
		size_t len = strlen(name);
		for (struct ctr *c = eng->ctrs; c; c = c->next) {
			if (strncmp(c->id, name, len) != 0)
				continue;
			if (found)
				return berr_plain(e, EINVAL, "multiple IDs found with provided prefix: %s", name);
			found = c;
		}
	}
	if (!found)
		return berr_plain(e, ENOENT, "No such container: %s", name);
	found->refs++;
	*out = found;
	return 0;
}

static void ctr_free(struct ctr *c)
{
	if (c->monitor_pidfd >= 0)
		close(c->monitor_pidfd);
	json_decref(c->doc);
	free(c->list_row);
	free(c->name);
	free(c);
}

void ctr_put(struct eng *eng, struct ctr *c)
{
	(void)eng;
	if (--c->refs == 0)
		ctr_free(c);
}

int ctr_watch(struct eng *eng, struct ctr *c, berr *e)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->monitor_pidfd};
	if (epoll_ctl(eng->epfd, EPOLL_CTL_ADD, c->monitor_pidfd, &ev) < 0)
		return berr_sys(e, "watching the monitor of %s", c->id);
	return 0;
}

void ctr_mark_exited(struct eng *eng, struct ctr *c)
{
	int code = 255;
	bool oom = false;
	char finished[B_TIME_LEN];
	b_time_now(finished);
	_cleanup_free_ char *path = ctr_path(eng, c, "exit.json");
	_cleanup_free_ char *text = NULL;
	berr e = {0};
	if (path && b_read_file(path, &text, NULL, &e) == 0) {
		json_t *doc = json_loads(text, 0, NULL);
		json_t *jc = json_object_get(doc, "ExitCode");
		const char *f = json_string_value(json_object_get(doc, "FinishedAt"));
		if (json_is_integer(jc))
			code = (int)json_integer_value(jc);
		oom = json_is_true(json_object_get(doc, "OOMKilled"));
		if (f && strlen(f) < sizeof finished)
			strcpy(finished, f);
		json_decref(doc);
	}
	berr_clear(&e);
	json_t *st = json_object_get(c->doc, "State");
	json_object_set_new(st, "Status", json_string("exited"));
	json_object_set_new(st, "Running", json_false());
	json_object_set_new(st, "Paused", json_false());
	json_object_set_new(st, "Pid", json_integer(0));
	json_object_set_new(st, "ExitCode", json_integer(code));
	json_object_set_new(st, "FinishedAt", json_string(finished));
	json_object_set_new(st, "OOMKilled", json_boolean(oom));
	json_object_del(c->doc, "BerthMonitor");
	ctr_net_release(eng, c);
	if (c->monitor_pidfd >= 0) {
		epoll_ctl(eng->epfd, EPOLL_CTL_DEL, c->monitor_pidfd, NULL);
		close(c->monitor_pidfd);
		c->monitor_pidfd = -1;
	}
	c->monitor_pid = 0;
	c->exits++;
	if (oom)
		ctr_event(eng, c, "oom", NULL);
	ctr_event(eng, c, "die", eng_event_number("exitCode", code));
	if (ctr_save(eng, c, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&e));
		berr_clear(&e);
	}
	pthread_cond_broadcast(&eng->changed);
}

/* What happens after a container stops on its own: --rm. */
static void after_exit(struct eng *eng, const char *id)
{
	pthread_mutex_lock(&eng->lock);
	struct ctr *c = NULL;
	berr e = {0};
	bool auto_remove = false;
	if (ctr_find(eng, id, &c, &e) == 0) {
		auto_remove = json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "AutoRemove"));
		ctr_put(eng, c);
	}
	berr_clear(&e);
	pthread_mutex_unlock(&eng->lock);
	if (auto_remove && eng_container_remove(eng, id, true, true, &e) < 0) {
		if (e.errnum != ENOENT)
			fprintf(stderr, "berthd: removing %s after it exited: %s\n", id, berr_msg(&e));
		berr_clear(&e);
	}
}

static void *reaper_main(void *arg)
{
	struct eng *eng = arg;
	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(eng->epfd, evs, 16, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == eng->stop_efd)
				return NULL;
			if (evs[i].data.fd == eng->restart_tfd) {
				eng_restart_due(eng);
				continue;
			}
			char id[65] = "";
			pthread_mutex_lock(&eng->lock);
			for (struct ctr *c = eng->ctrs; c; c = c->next) {
				if (c->monitor_pidfd != evs[i].data.fd)
					continue;
				siginfo_t info;
				/* Our own child: reap it. An adopted one (a previous daemon's) is init's to reap. */
				waitid((idtype_t)3 /* P_PIDFD */, (id_t)c->monitor_pidfd, &info, WEXITED | WNOHANG);
				ctr_mark_exited(eng, c);
				ctr_restart_after_exit(eng, c);
				memcpy(id, c->id, sizeof id);
				break;
			}
			pthread_mutex_unlock(&eng->lock);
			if (id[0])
				after_exit(eng, id);
		}
	}
}

/* The monitor that containers/<id>/monitor.json names, if it still runs: SIGKILL, and wait for its end. */
static void end_unrecorded_monitor(struct eng *eng, struct ctr *c)
{
	_cleanup_free_ char *path = ctr_path(eng, c, ENG_MONITOR_FILE);
	json_t *who = path ? json_load_file(path, 0, NULL) : NULL;
	pid_t pid = (pid_t)json_integer_value(json_object_get(who, "Pid"));
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(who, "StartTime"));
	json_decref(who);
	int fd = pid > 0 ? pidfd_open_(pid) : -1;
	if (fd >= 0 && b_proc_start_time(pid) == start) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		poll(&p, 1, 5000);
	}
	if (fd >= 0)
		close(fd);
	if (path)
		unlink(path);
}

static int adopt(void *arg, const char *id, json_t *doc, berr *e)
{
	struct eng *eng = arg;
	struct ctr *c = calloc(1, sizeof *c);
	if (!c)
		return berr_set(e, ENOMEM, "container %s", id);
	snprintf(c->id, sizeof c->id, "%s", id);
	c->name = strdup(json_string_value(json_object_get(doc, "Name")) ?: id);
	c->doc = json_incref(doc);
	c->monitor_pidfd = -1;
	c->refs = 1;
	struct ctr **tail = &eng->ctrs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	if (!ctr_running(c)) {
		/*
		 * A start that a crash cut between spawning the monitor and recording it: the container
		 * may run, but its start was never acknowledged. End the monitor, which kills a container
		 * it is still creating, then what it started; the record stays as it was.
		 */
		end_unrecorded_monitor(eng, c);
		_cleanup_free_ char *state = NULL;
		struct stat st;
		if (asprintf(&state, "%s/%s", eng->runtime_root, id) >= 0 && stat(state, &st) == 0) {
			berr ignored = {0};
			if (oci_container_kill(eng->runtime_root, id, SIGKILL, true, &ignored) < 0)
				berr_clear(&ignored);
			if (oci_container_delete(eng->runtime_root, id, true, &ignored) < 0)
				berr_clear(&ignored);
		}
		return 0;
	}
	/* Still running? Its monitor is alive and is the same process (not a reused pid). */
	json_t *mon = json_object_get(doc, "BerthMonitor");
	pid_t pid = (pid_t)json_integer_value(json_object_get(mon, "Pid"));
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(mon, "StartTime"));
	int fd = pid > 0 ? pidfd_open_(pid) : -1;
	if (fd >= 0 && b_proc_start_time(pid) == start) {
		c->monitor_pid = pid;
		c->monitor_pidfd = fd;
		return ctr_watch(eng, c, e);
	}
	if (fd >= 0)
		close(fd);
	/* It ended while no daemon watched: exit.json says how. */
	ctr_mark_exited(eng, c);
	return 0;
}

static void eng_free(struct eng *eng)
{
	eng_execs_close(eng);
	while (eng->ctrs) {
		struct ctr *c = eng->ctrs;
		eng->ctrs = c->next;
		ctr_free(c);
	}
	img_env_close(eng->img);
	eng_db_close(eng->db);
	eng_events_free(eng->events);
	vol_store_close(eng->vols);
	eng_net_close(eng);
	if (eng->epfd >= 0)
		close(eng->epfd);
	if (eng->stop_efd >= 0)
		close(eng->stop_efd);
	if (eng->restart_tfd >= 0)
		close(eng->restart_tfd);
	if (eng->monitor_exe >= 0)
		close(eng->monitor_exe);
	free(eng->data_root);
	free(eng->exec_root);
	free(eng->containers_dir);
	free(eng->volumes_dir);
	free(eng->runtime_root);
	free(eng->cgroup_parent);
	for (size_t i = 0; eng->insecure_registries && eng->insecure_registries[i]; i++)
		free(eng->insecure_registries[i]);
	free(eng->insecure_registries);
	free(eng->init_path);
	pthread_mutex_destroy(&eng->lock);
	pthread_cond_destroy(&eng->changed);
	free(eng);
}

/*
 * Container directories without a record: a create that a crash cut between making the root
 * filesystem and recording the container. Nobody can know them: unmount and remove them, and
 * forget their use of an image.
 */
static void remove_unrecorded(struct eng *eng)
{
	_cleanup_closedir_ DIR *d = opendir(eng->containers_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) != 64)
			continue;
		bool known = false;
		for (struct ctr *c = eng->ctrs; c && !known; c = c->next)
			known = strcmp(c->id, de->d_name) == 0;
		if (known)
			continue;
		berr e = {0};
		if (stor_rootfs_remove(eng->containers_dir, de->d_name, &e) < 0)
			fprintf(stderr, "berthd: removing what a crash left of container %s: %s\n", de->d_name,
				berr_msg(&e));
		berr_clear(&e);
		img_db_container_use(eng->img->db, de->d_name, NULL, false, &e);
		berr_clear(&e);
	}
}

int eng_open(const struct eng_opts *o, struct eng **out, berr *e)
{
	struct eng *eng = calloc(1, sizeof *eng);
	if (!eng)
		return berr_set(e, ENOMEM, "opening the engine");
	eng->epfd = eng->stop_efd = eng->restart_tfd = eng->monitor_exe = -1;
	pthread_mutex_init(&eng->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&eng->changed, &ca);
	pthread_condattr_destroy(&ca);
	_cleanup_free_ char *db_path = NULL;
	if (!(eng->data_root = strdup(o->data_root)) || !(eng->exec_root = strdup(o->exec_root)) ||
	    !(eng->cgroup_parent = strdup(o->cgroup_parent ? o->cgroup_parent : "/berth")) ||
	    asprintf(&eng->containers_dir, "%s/containers", o->data_root) < 0 ||
	    asprintf(&eng->volumes_dir, "%s/volumes", o->data_root) < 0 ||
	    asprintf(&eng->runtime_root, "%s/runtime", o->exec_root) < 0 ||
	    asprintf(&db_path, "%s/berth.db", o->data_root) < 0) {
		eng_free(eng);
		return berr_set(e, ENOMEM, "opening the engine");
	}
	size_t n_insecure = 0;
	while (o->insecure_registries && o->insecure_registries[n_insecure])
		n_insecure++;
	if (n_insecure && !(eng->insecure_registries = calloc(n_insecure + 1, sizeof(char *)))) {
		eng_free(eng);
		return berr_set(e, ENOMEM, "opening the engine");
	}
	for (size_t i = 0; i < n_insecure; i++)
		if (!(eng->insecure_registries[i] = strdup(o->insecure_registries[i]))) {
			eng_free(eng);
			return berr_set(e, ENOMEM, "opening the engine");
		}
	/* --init's binary lives next to the daemon's own (make builds both into one directory). */
	char self[4096];
	ssize_t n_self = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n_self > 0) {
		self[n_self] = '\0';
		char *slash = strrchr(self, '/');
		if (slash && asprintf(&eng->init_path, "%.*s/berth-init", (int)(slash - self), self) < 0)
			eng->init_path = NULL;
	}
	if (eng_events_new(&eng->events, e) < 0 || (eng->monitor_exe = eng_monitor_image_open(e)) < 0) {
		eng_free(eng);
		return -1;
	}
	if (img_env_open(eng->data_root, &eng->img, e) < 0 || b_mkdir_p(eng->containers_dir, 0700, e) < 0 ||
	    b_mkdir_p(eng->volumes_dir, 0700, e) < 0 || b_mkdir_p(eng->runtime_root, 0700, e) < 0 ||
	    eng_db_open(db_path, &eng->db, e) < 0 || vol_store_open(db_path, eng->volumes_dir, &eng->vols, e) < 0) {
		eng_free(eng);
		return -1;
	}
	eng->epfd = epoll_create1(EPOLL_CLOEXEC);
	eng->stop_efd = eventfd(0, EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = eng->stop_efd};
	if (eng->epfd < 0 || eng->stop_efd < 0 || epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->stop_efd, &ev) < 0) {
		berr_sys(e, "setting up the container watcher");
		eng_free(eng);
		return -1;
	}
	if (eng_restart_timer_open(eng, e) < 0) {
		eng_free(eng);
		return -1;
	}
	if (eng_net_open(eng, o, db_path, e) < 0) {
		eng_free(eng);
		return -1;
	}
	if (eng_db_each(eng->db, adopt, eng, e) < 0) {
		eng_free(eng);
		return berr_wrap(e, "restoring containers");
	}
	remove_unrecorded(eng);
	if (eng_net_reconcile(eng, e) < 0) {
		eng_free(eng);
		return berr_wrap(e, "restoring the containers' networks");
	}
	eng_restart_on_daemon_start(eng);
	if (eng_execs_open(eng, db_path, e) < 0) {
		eng_free(eng);
		return berr_wrap(e, "restoring exec instances");
	}
	if (pthread_create(&eng->reaper, NULL, reaper_main, eng) != 0) {
		eng_free(eng);
		return berr_set(e, EAGAIN, "starting the container watcher");
	}
	eng->reaper_started = true;
	*out = eng;
	return 0;
}

void eng_shutdown(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
	eng->shutting_down = true;
	pthread_cond_broadcast(&eng->changed);
	pthread_mutex_unlock(&eng->lock);
	eng_events_shutdown(eng->events);
}

bool eng_shutting_down(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
	bool going = eng->shutting_down;
	pthread_mutex_unlock(&eng->lock);
	return going;
}

void eng_close(struct eng *eng)
{
	if (!eng)
		return;
	if (eng->reaper_started) {
		uint64_t one = 1;
		if (write(eng->stop_efd, &one, sizeof one) < 0) {
			/* the watcher would block forever: leave it, the process is ending */
		} else {
			pthread_join(eng->reaper, NULL);
		}
	}
	eng_free(eng);
}

void eng_counts(struct eng *eng, struct eng_counts *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&eng->lock);
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (c->removed)
			continue;
		out->containers++;
		const char *s = ctr_status(c);
		if (strcmp(s, "running") == 0)
			out->running++;
		else if (strcmp(s, "paused") == 0)
			out->paused++;
		else
			out->stopped++;
	}
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	berr e = {0};
	if (img_db_list(eng->img->db, false, &imgs, &n, &e) == 0)
		out->images = (int)n;
	berr_clear(&e);
	img_db_images_free(imgs, n);
	pthread_mutex_unlock(&eng->lock);
}
