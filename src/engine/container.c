/* Containers' lifecycle: create, start, stop, kill, pause, wait, remove. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/exec.h"
#include "engine/host_support.h"
#include "engine/logs.h"
#include "engine/events.h"
#include "engine/monitor.h"
#include "engine/names.h"
#include "engine/net_attach.h"
#include "engine/restart.h"
#include "engine/signals.h"
#include "engine/spec.h"
#include "engine/volumes.h"
#include "image/config.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/timefmt.h"
#include "lib/proc.h"
#include "oci/container.h"
#include "storage/overlay.h"

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void lock(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
}

static void unlock(struct eng *eng)
{
	pthread_mutex_unlock(&eng->lock);
}

/* The image's config, parsed. */
static int load_image_config(struct img_env *img, const char *image_id, struct img_config *cfg, berr *e)
{
	struct img_db_image rec = {0};
	if (img_db_image_get(img->db, image_id, &rec, e) < 0)
		return -1;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r =
	    img_store_read(img->store, rec.config_digest ? rec.config_digest : rec.id, 16 << 20, false, &text, &len, e);
	img_db_image_free(&rec);
	if (r < 0)
		return berr_wrap(e, "image %s: config", image_id);
	return img_config_parse(text, len, cfg, e) < 0 ? berr_wrap(e, "image %s: config", image_id) : 0;
}

/* The host's resolv.conf without loopback name servers (unreachable from a network namespace). */
static char *resolv_conf_for_container(void)
{
	_cleanup_free_ char *text = NULL;
	berr e = {0};
	if (b_read_file("/etc/resolv.conf", &text, NULL, &e) < 0) {
		berr_clear(&e);
		return strdup("");
	}
	size_t cap = strlen(text) + 1;
	char *out = calloc(1, cap);
	if (!out)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "nameserver", 10) == 0 && (strstr(line, " 127.") || strstr(line, " ::1")))
			continue;
		strcat(out, line);
		strcat(out, "\n");
	}
	return out;
}

static int write_etc_files(struct eng *eng, struct ctr *c, const char *hostname, berr *e)
{
	_cleanup_free_ char *hn_path = ctr_path(eng, c, "hostname");
	_cleanup_free_ char *hosts_path = ctr_path(eng, c, "hosts");
	_cleanup_free_ char *resolv_path = ctr_path(eng, c, "resolv.conf");
	_cleanup_free_ char *hn = NULL, *hosts = NULL;
	_cleanup_free_ char *resolv = resolv_conf_for_container();
	if (!hn_path || !hosts_path || !resolv_path || !resolv || asprintf(&hn, "%s\n", hostname) < 0 ||
	    asprintf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
			     "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n") < 0)
		return berr_set(e, ENOMEM, "container %s", c->id);
	if (b_write_file_atomic(hn_path, hn, strlen(hn), 0644, e) < 0 ||
	    b_write_file_atomic(hosts_path, hosts, strlen(hosts), 0644, e) < 0 ||
	    b_write_file_atomic(resolv_path, resolv, strlen(resolv), 0644, e) < 0)
		return -1;
	json_object_set_new(c->doc, "HostnamePath", json_string(hn_path));
	json_object_set_new(c->doc, "HostsPath", json_string(hosts_path));
	json_object_set_new(c->doc, "ResolvConfPath", json_string(resolv_path));
	return 0;
}

/* Named and anonymous volumes (volumes.h) as bind mounts of their directories, Docker's "Mounts" entries alongside. */
static int resolve_mounts(struct eng *eng, struct eng_mount *m, size_t n, json_t *mounts_doc, berr *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *type = m[i].type == ENG_MOUNT_BIND    ? "bind"
				   : m[i].type == ENG_MOUNT_TMPFS ? "tmpfs"
								  : "volume";
		json_t *entry =
		    json_pack("{s:s, s:s, s:b}", "Type", type, "Destination", m[i].destination, "RW", !m[i].read_only);
		if (!entry)
			return berr_set(e, ENOMEM, "mounts");
		if (m[i].type == ENG_MOUNT_VOLUME) {
			/* The volume store makes it when missing; an anonymous one gets its name there. */
			if (eng_volume_attach_locked(eng, &m[i], entry, e) < 0) {
				json_decref(entry);
				return -1;
			}
		} else if (m[i].type == ENG_MOUNT_BIND) {
			json_object_set_new(entry, "Source", json_string(m[i].source ? m[i].source : ""));
		} else {
			json_object_set_new(entry, "Source", json_string(""));
		}
		json_object_set_new(entry, "Mode", json_string(m[i].read_only ? "ro" : ""));
		json_object_set_new(entry, "Propagation", json_string(m[i].propagation ? m[i].propagation : ""));
		/* What the spec needs again at each start, tmpfs options included; inspect leaves it out. */
		if (m[i].options)
			json_object_set_new(entry, "BerthOptions", json_string(m[i].options));
		if (m[i].create_source)
			json_object_set_new(entry, "BerthCreateSource", json_true());
		if (m[i].non_recursive)
			json_object_set_new(entry, "BerthNonRecursive", json_true());
		json_array_append_new(mounts_doc, entry);
	}
	return 0;
}

bool ctr_name_taken(struct eng *eng, const char *name, const char **by)
{
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (strcmp(c->name, name) == 0) {
			*by = c->id;
			return true;
		}
	}
	return false;
}

static bool id_taken(struct eng *eng, const char *id)
{
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		if (strncmp(c->id, id, 12) == 0)
			return true;
	return false;
}

/* A fresh ID whose short form is not all digits (it would read as a number) nor taken. */
static void new_id(struct eng *eng, char id[65])
{
	for (;;) {
		eng_id_generate(id);
		bool digits = true;
		for (int i = 0; i < 12; i++)
			if (id[i] < '0' || id[i] > '9')
				digits = false;
		if (!digits && !id_taken(eng, id))
			return;
	}
}

struct create_work {
	struct ctr *c;
	char *image_id;
	struct img_config image;
	json_t *merged;
	struct eng_mount *mounts;
	size_t n_mounts;
	bool dir_made, image_used;
};

static void create_work_free(struct create_work *w)
{
	free(w->image_id);
	img_config_free(&w->image);
	json_decref(w->merged);
	eng_mounts_free(w->mounts, w->n_mounts);
}

static int create_locked(struct eng *eng, const char *name, json_t *body, struct create_work *w, berr *e)
{
	json_t *host_config = json_object_get(body, "HostConfig");
	if (host_config && !json_is_object(host_config))
		return berr_invalid(e, "HostConfig: expected an object, got %s", b_json_type_name(host_config));
	if (eng_restart_policy_check(host_config, e) < 0 ||
	    eng_log_config_check(json_object_get(host_config, "LogConfig"), e) < 0)
		return -1;
	const char *image_name = json_string_value(json_object_get(body, "Image"));
	if (!image_name || !*image_name)
		return berr_invalid(e, "No image specified: the request's Image is empty");
	if (img_db_resolve(eng->img->db, image_name, &w->image_id, e) < 0 ||
	    load_image_config(eng->img, w->image_id, &w->image, e) < 0)
		return -1;
	/* The request's Config is the body itself, minus the host and network parts. */
	json_t *request_config = json_deep_copy(body);
	json_object_del(request_config, "HostConfig");
	json_object_del(request_config, "NetworkingConfig");
	int r = eng_config_merge(request_config, &w->image, image_name, &w->merged, e);
	json_decref(request_config);
	if (r < 0)
		return -1;
	json_t *cmd = json_object_get(w->merged, "Cmd"), *ep = json_object_get(w->merged, "Entrypoint");
	if (json_array_size(cmd) == 0 && json_array_size(ep) == 0)
		return berr_invalid(e, "No command specified");
	if (eng_mounts_parse(host_config, w->merged, &w->mounts, &w->n_mounts, e) < 0 ||
	    ctr_net_check(eng, host_config, json_object_get(body, "NetworkingConfig"), e) < 0 ||
	    ctr_net_check_mac(w->merged, e) < 0)
		return -1;

	/* Name and ID. */
	char gen[64];
	_cleanup_free_ char *slash_name = NULL;
	if (name && *name) {
		if (!eng_name_valid(name))
			return berr_invalid(
			    e, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
		if (asprintf(&slash_name, "%s%s", name[0] == '/' ? "" : "/", name) < 0)
			return berr_set(e, ENOMEM, "container name");
		const char *by;
		if (ctr_name_taken(eng, slash_name, &by))
			return berr_plain(
			    e, EEXIST,
			    "Conflict. The container name \"%s\" is already in use by container \"%s\". You "
			    "have to remove (or rename) that container to be able to reuse that name.",
			    slash_name, by);
	} else {
		const char *by;
		for (int tries = 0;; tries++) {
			eng_name_generate(gen, sizeof gen);
			if (tries > 8)
				snprintf(gen + strlen(gen), sizeof gen - strlen(gen), "%d", tries);
			free(slash_name);
			if (asprintf(&slash_name, "/%s", gen) < 0)
				return berr_set(e, ENOMEM, "container name");
			if (!ctr_name_taken(eng, slash_name, &by))
				break;
		}
	}
	struct ctr *c = calloc(1, sizeof *c);
	if (!c)
		return berr_set(e, ENOMEM, "container");
	w->c = c;
	c->monitor_pidfd = -1;
	c->refs = 1;
	new_id(eng, c->id);
	c->name = steal_ptr(slash_name);

	/* The root filesystem: the image's layers and an init layer under a writable layer of its own. */
	_cleanup_free_ char *rootfs = NULL;
	if (img_env_lock(eng->img, false, e) < 0)
		return -1;
	r = ctr_rootfs_mount(eng, c->id, w->image_id, true, &rootfs, e);
	if (r == 0)
		w->dir_made = true;
	if (r == 0 && (r = img_db_container_use(eng->img->db, c->id, w->image_id, true, e)) == 0)
		w->image_used = true;
	img_env_unlock(eng->img);
	if (r < 0)
		return -1;

	char created[B_TIME_LEN];
	b_time_now(created);
	json_t *mounts_doc = json_array();
	c->doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "Id", c->id, "Created",
			   created, "Name", c->name, "Image", w->image_id, "Driver", "overlay2", "Platform", "linux",
			   "RestartCount", 0, "MountLabel", "", "ProcessLabel", "", "AppArmorProfile", "", "Rootfs",
			   rootfs, "Mounts", mounts_doc);
	if (!c->doc)
		return berr_set(e, ENOMEM, "container %s", c->id);
	json_t *hc = host_config ? json_deep_copy(host_config) : json_object();
	if (!json_object_get(hc, "NetworkMode"))
		json_object_set_new(hc, "NetworkMode", json_string("default"));
	json_t *log_config = json_object_get(hc, "LogConfig");
	if (!json_is_object(log_config))
		json_object_set_new(hc, "LogConfig",
				    log_config = json_pack("{s:s, s:{}}", "Type", "json-file", "Config"));
	if (!*(json_string_value(json_object_get(log_config, "Type")) ?: ""))
		json_object_set_new(log_config, "Type", json_string("json-file")); /* Docker's default driver */
	if (!json_is_object(json_object_get(log_config, "Config")))
		json_object_set_new(log_config, "Config", json_object());
	if (!json_object_get(hc, "RestartPolicy"))
		json_object_set_new(hc, "RestartPolicy", json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
	json_object_set_new(c->doc, "HostConfig", hc);
	if (ctr_net_record(eng, c, json_object_get(body, "NetworkingConfig"), e) < 0)
		return -1;
	json_object_set(c->doc, "Config", w->merged);
	/* Path and Args: what runs, Entrypoint then Cmd. */
	json_t *argv = json_array();
	json_array_extend(argv, ep);
	json_array_extend(argv, cmd);
	json_object_set_new(c->doc, "Path", json_string(json_string_value(json_array_get(argv, 0))));
	json_array_remove(argv, 0);
	json_object_set_new(c->doc, "Args", argv);
	json_object_set_new(c->doc, "State",
			    json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s}", "Status", "created",
				      "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0, "Pid", 0,
				      "ExitCode", 0, "Error", "", "StartedAt", ENG_TIME_ZERO, "FinishedAt",
				      ENG_TIME_ZERO));
	_cleanup_free_ char *log_path = NULL;
	if (asprintf(&log_path, "%s/%s/%s-json.log", eng->containers_dir, c->id, c->id) < 0)
		return berr_set(e, ENOMEM, "container %s", c->id);
	bool log_file;
	long long log_max_size;
	int log_max_files;
	eng_log_config_rotation(log_config, &log_file, &log_max_size, &log_max_files);
	json_object_set_new(c->doc, "LogPath", json_string(log_file ? log_path : "")); /* Docker's for "none" */
	const char *hostname = json_string_value(json_object_get(w->merged, "Hostname"));
	char short_id[13];
	memcpy(short_id, c->id, 12);
	short_id[12] = '\0';
	char host_name[256] = "";
	const char *mode = json_string_value(json_object_get(host_config, "NetworkMode"));
	if ((!hostname || !*hostname) && mode && strcmp(mode, "host") == 0) {
		/* The host's network, the host's name (the spec builder says the same). */
		gethostname(host_name, sizeof host_name - 1);
		hostname = host_name;
	} else if (!hostname || !*hostname) {
		hostname = short_id;
		json_object_set_new(w->merged, "Hostname", json_string(short_id));
	}
	if (write_etc_files(eng, c, hostname, e) < 0 || resolve_mounts(eng, w->mounts, w->n_mounts, mounts_doc, e) < 0)
		return -1;
	if (ctr_save(eng, c, e) < 0)
		return -1;
	struct ctr **tail = &eng->ctrs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
	w->c = NULL;
	return 0;
}

int eng_container_create(struct eng *eng, const char *name, json_t *body, json_t *warnings, char **id, berr *e)
{
	if (!json_is_object(body))
		return berr_invalid(e, "Config cannot be empty in order to create a container");
	eng_host_config_drop_unsupported(json_object_get(body, "HostConfig"), warnings);
	struct create_work w = {0};
	lock(eng);
	int r = create_locked(eng, name, body, &w, e);
	if (r == 0) {
		struct ctr *last = eng->ctrs;
		while (last->next)
			last = last->next;
		*id = strdup(last->id);
		ctr_event(eng, last, "create", NULL);
	} else if (w.c) {
		berr undo = {0};
		if (w.c->doc)
			eng_volumes_remove_anonymous_locked(eng, w.c);
		if (w.image_used)
			img_db_container_use(eng->img->db, w.c->id, NULL, false, &undo);
		if (w.dir_made)
			stor_rootfs_remove(eng->containers_dir, w.c->id, &undo);
		berr_clear(&undo);
		json_decref(w.c->doc);
		free(w.c->name);
		free(w.c);
	}
	unlock(eng);
	create_work_free(&w);
	return r;
}

/* The mounts of the record, as eng_spec_build takes them (volumes are binds of their _data). */
static int mounts_from_doc(json_t *doc, struct eng_mount **out, size_t *n, berr *e)
{
	json_t *arr = json_object_get(doc, "Mounts");
	size_t count = json_array_size(arr);
	struct eng_mount *m = calloc(count ? count : 1, sizeof *m);
	if (!m)
		return berr_set(e, ENOMEM, "mounts");
	for (size_t i = 0; i < count; i++) {
		json_t *entry = json_array_get(arr, i);
		const char *type = json_string_value(json_object_get(entry, "Type"));
		const char *src = json_string_value(json_object_get(entry, "Source"));
		const char *prop = json_string_value(json_object_get(entry, "Propagation"));
		const char *opts = json_string_value(json_object_get(entry, "BerthOptions"));
		m[i].type = type && strcmp(type, "tmpfs") == 0 ? ENG_MOUNT_TMPFS : ENG_MOUNT_BIND;
		m[i].source = src && *src ? strdup(src) : NULL;
		m[i].destination = strdup(json_string_value(json_object_get(entry, "Destination")) ?: "/");
		m[i].read_only = !json_is_true(json_object_get(entry, "RW"));
		m[i].propagation = prop && *prop ? strdup(prop) : NULL;
		m[i].options = opts ? strdup(opts) : NULL;
		m[i].create_source = json_is_true(json_object_get(entry, "BerthCreateSource"));
		m[i].non_recursive = json_is_true(json_object_get(entry, "BerthNonRecursive"));
	}
	*out = m;
	*n = count;
	return 0;
}

int eng_start_failure_code(const char *msg)
{
	if (strstr(msg, "not found") || strstr(msg, "No such file"))
		return 127;
	if (strstr(msg, "ermission denied") || strstr(msg, "not executable"))
		return 126;
	return 128;
}

struct ready_ctx {
	struct eng *eng;
	struct ctr *c;
};

static void on_monitor_ready(void *arg)
{
	struct ready_ctx *rc = arg;
	ctr_connect_pending(rc->eng, rc->c);
}

static int start_locked(struct eng *eng, struct ctr *c, berr *e)
{
	const char *status = ctr_status(c);
	if (strcmp(status, "running") == 0 || strcmp(status, "restarting") == 0)
		return berr_plain(e, EALREADY, "container %s is already running", c->id);
	if (strcmp(status, "paused") == 0)
		return berr_plain(e, EBUSY, "cannot start a paused container, try unpause instead");
	if (c->removing)
		return berr_plain(e, EBUSY, "container is marked for removal and cannot be started");

	/* The rootfs is mounted again after a reboot; a mounted one is left as it is. */
	const char *image_id = json_string_value(json_object_get(c->doc, "Image"));
	_cleanup_free_ char *rootfs = NULL;
	if (img_env_lock(eng->img, false, e) < 0)
		return -1;
	int r = ctr_rootfs_mount(eng, c->id, image_id, false, &rootfs, e);
	img_env_unlock(eng->img);
	if (r < 0)
		return -1;

	/* Volumes mounted and, when empty, filled from the image (Docker's copy-up). */
	if (eng_volumes_prepare_locked(eng, c->doc, rootfs, e) < 0)
		return -1;
	struct eng_mount *mounts = NULL;
	size_t n_mounts = 0;
	if (mounts_from_doc(c->doc, &mounts, &n_mounts, e) < 0)
		return -1;
	_cleanup_free_ char *hn = ctr_path(eng, c, "hostname"), *hosts = ctr_path(eng, c, "hosts"),
			    *resolv = ctr_path(eng, c, "resolv.conf"), *config_path = ctr_path(eng, c, "config.json"),
			    *exit_path = ctr_path(eng, c, "exit.json"), *dir = ctr_path(eng, c, "."),
			    *netns = ctr_net_netns_path(eng, c);
	struct eng_spec_input in = {
	    .id = c->id,
	    .config = json_object_get(c->doc, "Config"),
	    .host_config = json_object_get(c->doc, "HostConfig"),
	    .rootfs = rootfs,
	    .hostname_path = hn,
	    .hosts_path = hosts,
	    .resolv_conf_path = resolv,
	    .cgroup_parent = eng->cgroup_parent,
	    .netns_path = netns,
	    .init_path = eng->init_path,
	    .mounts = mounts,
	    .n_mounts = n_mounts,
	};
	json_t *spec = NULL;
	r = eng_spec_build(&in, &spec, e);
	eng_mounts_free(mounts, n_mounts);
	if (r < 0)
		return -1;
	char *text = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	if (!text)
		return berr_set(e, ENOMEM, "container %s: config.json", c->id);
	/* Made anew at every start: no need to wait for the disk. */
	r = b_write_file_replace(config_path, text, strlen(text), 0600, e);
	free(text);
	if (r < 0)
		return -1;
	unlink(exit_path);

	json_t *config = json_object_get(c->doc, "Config");
	bool log_file;
	long long log_max_size;
	int log_max_files;
	eng_log_config_rotation(json_object_get(json_object_get(c->doc, "HostConfig"), "LogConfig"), &log_file,
				&log_max_size, &log_max_files);
	struct ready_ctx rc = {eng, c};
	struct eng_monitor_args ma = {
	    .exe_fd = eng->monitor_exe,
	    .dir = dir,
	    .runtime_root = eng->runtime_root,
	    .id = c->id,
	    .log_path = log_file ? json_string_value(json_object_get(c->doc, "LogPath")) : NULL,
	    .log_max_size = log_max_size,
	    .log_max_files = log_max_files,
	    .open_stdin = json_is_true(json_object_get(config, "OpenStdin")),
	    .stdin_once = json_is_true(json_object_get(config, "StdinOnce")),
	    .on_ready = on_monitor_ready,
	    .on_ready_arg = &rc,
	};
	pid_t monitor = 0, pid = 0;
	json_t *st = json_object_get(c->doc, "State");
	if (ctr_net_attach(eng, c, e) < 0) {
		/* Docker keeps why a start failed, with exit code 128 when none was set. */
		json_object_set_new(st, "Error", json_string(berr_msg(e)));
		json_object_set_new(st, "ExitCode", json_integer(128));
		berr saved = {0};
		ctr_save(eng, c, &saved);
		berr_clear(&saved);
		return -1;
	}
	if (eng_monitor_spawn(&ma, &monitor, &pid, e) < 0) {
		ctr_net_release(eng, c);
		ctr_fail_pending(eng, c, berr_msg(e));
		int code = eng_start_failure_code(berr_msg(e));
		json_object_set_new(st, "Error", json_string(berr_msg(e)));
		json_object_set_new(st, "ExitCode", json_integer(code));
		berr saved = {0};
		ctr_save(eng, c, &saved);
		berr_clear(&saved);
		/* A command that cannot run is the request's fault (Docker answers 400). */
		if (code != 128)
			e->errnum = EINVAL;
		return -1;
	}
	c->monitor_pid = monitor;
	c->monitor_pidfd = pidfd_open_(monitor);
	char started[B_TIME_LEN];
	b_time_now(started);
	json_object_set_new(st, "Status", json_string("running"));
	json_object_set_new(st, "Running", json_true());
	json_object_set_new(st, "Paused", json_false());
	json_object_set_new(st, "Pid", json_integer(pid));
	json_object_set_new(st, "ExitCode", json_integer(0));
	json_object_set_new(st, "Error", json_string(""));
	json_object_set_new(st, "StartedAt", json_string(started));
	json_object_set_new(st, "FinishedAt", json_string(ENG_TIME_ZERO));
	json_object_set_new(
	    c->doc, "BerthMonitor",
	    json_pack("{s:i, s:I}", "Pid", (int)monitor, "StartTime", (json_int_t)b_proc_start_time(monitor)));
	if (c->monitor_pidfd < 0 || ctr_watch(eng, c, e) < 0) {
		/* Cannot watch it: treat the container as gone rather than lose track of it. */
		kill(monitor, SIGKILL);
		return berr_sys(e, "watching the monitor of %s", c->id);
	}
	r = ctr_save(eng, c, e);
	pthread_cond_broadcast(&eng->changed);
	if (r == 0)
		ctr_event(eng, c, "start", NULL);
	return r;
}

int ctr_start_locked(struct eng *eng, struct ctr *c, berr *e)
{
	return start_locked(eng, c, e);
}

static int remove_locked(struct eng *eng, struct ctr *c, bool force, bool volumes, berr *e);

int eng_container_start(struct eng *eng, const char *name, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		if (!ctr_running(c) && !ctr_restarting(c))
			ctr_restart_reset(c); /* a start by hand: the restart policy starts over */
		r = start_locked(eng, c, e);
		/* --rm: a container that could not start goes too, as Docker does (the CLI waits for its removal). */
		if (r < 0 && e->errnum != EALREADY &&
		    json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "AutoRemove"))) {
			berr ignored = {0};
			remove_locked(eng, c, true, true, &ignored);
			berr_clear(&ignored);
		}
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

static int deadline_wait(struct eng *eng, const struct timespec *deadline)
{
	if (!deadline)
		return pthread_cond_wait(&eng->changed, &eng->lock);
	return pthread_cond_timedwait(&eng->changed, &eng->lock, deadline);
}

/* Wait (under the lock) until c has stopped or the deadline (NULL: none) passes; true when it has. */
static bool wait_exit_locked(struct eng *eng, struct ctr *c, unsigned exits_before, const struct timespec *deadline)
{
	while (c->exits == exits_before && ctr_running(c) && !c->removed)
		if (deadline_wait(eng, deadline) == ETIMEDOUT)
			return false;
	return true;
}

static void deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int signal_locked(struct eng *eng, struct ctr *c, int sig, berr *e)
{
	if (oci_container_kill(eng->runtime_root, c->id, sig, false, e) < 0)
		return berr_wrap(e, "Cannot kill container: %s", c->id);
	ctr_event(eng, c, "kill", eng_event_number("signal", sig));
	return 0;
}

static int stop_locked(struct eng *eng, struct ctr *c, int timeout, const char *signal, berr *e)
{
	if (ctr_restart_cancel(eng, c, true))
		return 0; /* waiting to restart: stopping it is cancelling that */
	if (!ctr_running(c))
		return berr_plain(e, EALREADY, "container %s is not running", c->id);
	json_t *config = json_object_get(c->doc, "Config");
	if (!signal || !*signal)
		signal = json_string_value(json_object_get(config, "StopSignal"));
	int sig = SIGTERM;
	if (signal && *signal && eng_signal_parse(signal, &sig, e) < 0)
		return -1;
	if (timeout < 0) {
		json_t *t = json_object_get(config, "StopTimeout");
		timeout = json_is_integer(t) ? (int)json_integer_value(t) : 10;
	}
	unsigned before = c->exits;
	ctr_restart_manual_stop(eng, c, true);
	/* A frozen container gets its signal only once thawed. */
	if (strcmp(ctr_status(c), "paused") == 0) {
		berr ignored = {0};
		oci_container_pause(eng->runtime_root, c->id, false, &ignored);
		berr_clear(&ignored);
	}
	if (signal_locked(eng, c, sig, e) < 0) {
		if (!ctr_running(c) || c->exits != before)
			berr_clear(e); /* it ended meanwhile */
		else
			return -1;
		return 0;
	}
	struct timespec deadline;
	deadline_in(&deadline, timeout * 1000L);
	if (timeout >= 0 && wait_exit_locked(eng, c, before, &deadline))
		return 0;
	berr ignored = {0};
	signal_locked(eng, c, SIGKILL, &ignored);
	berr_clear(&ignored);
	wait_exit_locked(eng, c, before, NULL);
	return 0;
}

int eng_container_stop(struct eng *eng, const char *name, int timeout, const char *signal, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		r = stop_locked(eng, c, timeout, signal, e);
		if (r == 0)
			ctr_event(eng, c, "stop", NULL);
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

int eng_container_restart(struct eng *eng, const char *name, int timeout, const char *signal, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		ctr_restart_cancel(eng, c, true);
		if (ctr_running(c) && (r = stop_locked(eng, c, timeout, signal, e)) == 0)
			ctr_event(eng, c, "stop", NULL);
		if (r == 0) {
			ctr_restart_reset(c);
			r = start_locked(eng, c, e);
		}
		if (r == 0)
			ctr_event(eng, c, "restart", NULL);
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

int eng_container_kill(struct eng *eng, const char *name, const char *signal, berr *e)
{
	int sig = SIGKILL;
	if (signal && *signal && eng_signal_parse(signal, &sig, e) < 0)
		return -1;
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		/* Docker's rule: the stop signal (any signal without a StopSignal) or SIGKILL ends the policy's run. */
		json_t *config = json_object_get(c->doc, "Config");
		const char *stop_signal = json_string_value(json_object_get(config, "StopSignal"));
		int stop_sig = 0;
		berr ignored = {0};
		bool cancel = sig == SIGKILL || !stop_signal || !*stop_signal ||
			      (eng_signal_parse(stop_signal, &stop_sig, &ignored) == 0 && stop_sig == sig);
		berr_clear(&ignored);
		if (ctr_restarting(c)) {
			ctr_restart_manual_stop(eng, c, cancel);
			if (cancel)
				ctr_restart_cancel(eng, c, true);
		} else if (!ctr_running(c)) {
			r = berr_plain(e, EBUSY, "Container %s is not running", c->id);
		} else {
			ctr_restart_manual_stop(eng, c, cancel);
			r = signal_locked(eng, c, sig, e);
			/* Its init has just ended and the monitor is reporting it: Docker takes that as done too. */
			if (r < 0 && (e->errnum == ENOENT || e->errnum == ESRCH)) {
				berr_clear(e);
				r = 0;
			}
		}
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

int eng_container_pause(struct eng *eng, const char *name, bool pause, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		const char *status = ctr_status(c);
		if (ctr_restarting(c))
			r = berr_plain(e, EBUSY, "Container %s is restarting, wait until the container is running",
				       c->id);
		else if (!ctr_running(c))
			r = berr_plain(e, EBUSY, "Container %s is not running", c->id);
		else if (pause && strcmp(status, "paused") == 0)
			r = berr_plain(e, EBUSY, "Container %s is already paused", c->id);
		else if (!pause && strcmp(status, "paused") != 0)
			r = berr_plain(e, EBUSY, "Container %s is not paused", c->id);
		else if ((r = oci_container_pause(eng->runtime_root, c->id, pause, e)) == 0) {
			json_t *st = json_object_get(c->doc, "State");
			json_object_set_new(st, "Status", json_string(pause ? "paused" : "running"));
			json_object_set_new(st, "Paused", json_boolean(pause));
			r = ctr_save(eng, c, e);
			ctr_event(eng, c, pause ? "pause" : "unpause", NULL);
		}
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

static int exit_code_of(const struct ctr *c)
{
	return (int)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "ExitCode"));
}

struct eng_wait {
	struct eng *eng;
	struct ctr *c; /* a reference: the container's record outlives its removal while we wait */
	bool next_exit, removed;
	unsigned before; /* exits when the wait began */
};

int eng_container_wait_begin(struct eng *eng, const char *name, const char *condition, struct eng_wait **out, berr *e)
{
	if (!condition || !*condition)
		condition = "not-running";
	bool next_exit = strcmp(condition, "next-exit") == 0, removed = strcmp(condition, "removed") == 0;
	if (!next_exit && !removed && strcmp(condition, "not-running") != 0)
		return berr_invalid(e, "invalid condition: \"%s\"", condition);
	struct eng_wait *w = calloc(1, sizeof *w);
	if (!w)
		return berr_set(e, ENOMEM, "waiting for %s", name);
	*w = (struct eng_wait){.eng = eng, .next_exit = next_exit, .removed = removed};
	lock(eng);
	int r = ctr_find(eng, name, &w->c, e);
	if (r == 0)
		w->before = w->c->exits;
	unlock(eng);
	if (r < 0) {
		free(w);
		return -1;
	}
	*out = w;
	return 0;
}

int eng_container_wait_step(struct eng_wait *w, int timeout_ms, int *code, berr *e)
{
	struct eng *eng = w->eng;
	struct ctr *c = w->c;
	struct timespec deadline;
	if (timeout_ms >= 0)
		deadline_in(&deadline, timeout_ms);
	int r = 0;
	lock(eng);
	for (;;) {
		bool stopped = !ctr_running(c) && !ctr_restarting(c); /* Docker: restarting is running */
		bool done = w->removed     ? c->removed
			    : w->next_exit ? c->exits != w->before || c->removed
					   : stopped || c->exits != w->before || c->removed;
		if (done)
			break;
		if (eng->shutting_down) {
			r = berr_plain(e, ESHUTDOWN, "the daemon is shutting down");
			break;
		}
		if (deadline_wait(eng, timeout_ms >= 0 ? &deadline : NULL) == ETIMEDOUT) {
			r = berr_plain(e, ETIMEDOUT, "timed out waiting for %s", c->id);
			break;
		}
	}
	*code = exit_code_of(c);
	unlock(eng);
	return r;
}

void eng_container_wait_end(struct eng_wait *w)
{
	if (!w)
		return;
	lock(w->eng);
	ctr_put(w->eng, w->c);
	unlock(w->eng);
	free(w);
}

bool eng_container_wait_stopped(struct eng *eng, const char *name, int timeout_ms)
{
	lock(eng);
	struct ctr *c;
	berr e = {0};
	bool stopped = true;
	if (ctr_find(eng, name, &c, &e) == 0) {
		struct timespec deadline;
		deadline_in(&deadline, timeout_ms);
		stopped = eng->shutting_down || wait_exit_locked(eng, c, c->exits, &deadline) || !ctr_running(c);
		ctr_put(eng, c);
	}
	berr_clear(&e);
	unlock(eng);
	return stopped;
}

static void unlink_ctr(struct eng *eng, struct ctr *c)
{
	for (struct ctr **p = &eng->ctrs; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	c->removed = true;
	ctr_put(eng, c); /* the list's reference */
}

static int remove_locked(struct eng *eng, struct ctr *c, bool force, bool volumes, berr *e)
{
	if (c->removing)
		return berr_plain(e, EBUSY, "removal of container %s is already in progress", c->id);
	if (ctr_restarting(c)) {
		if (!force)
			return berr_plain(e, EBUSY,
					  "You cannot remove a restarting container %s. Stop the container before "
					  "attempting removal or force remove",
					  c->id);
		ctr_restart_cancel(eng, c, true);
	}
	if (ctr_running(c)) {
		if (!force)
			return berr_plain(e, EBUSY,
					  strcmp(ctr_status(c), "paused") == 0
					      ? "cannot remove container \"%s\": container is paused and must be "
						"unpaused first"
					      : "You cannot remove a running container %s. Stop the container before "
						"attempting removal or force remove",
					  c->id);
		c->removing = true;
		if (stop_locked(eng, c, 0, "SIGKILL", e) < 0 && e->errnum != EALREADY) {
			c->removing = false;
			return -1;
		}
		berr_clear(e);
	}
	c->removing = true;
	if (stor_rootfs_remove(eng->containers_dir, c->id, e) < 0) {
		c->removing = false;
		return berr_wrap(e, "removing container %s", c->id);
	}
	berr ignored = {0};
	img_db_container_use(eng->img->db, c->id, NULL, false, &ignored);
	berr_clear(&ignored);
	if (volumes)
		eng_volumes_remove_anonymous_locked(eng, c);
	if (eng_db_delete(eng->db, c->id, e) < 0) {
		c->removing = false;
		return -1;
	}
	eng_execs_forget_container(eng, c->id);
	ctr_fail_pending(eng, c, "the container was removed");
	ctr_event(eng, c, "destroy", NULL);
	unlink_ctr(eng, c);
	pthread_cond_broadcast(&eng->changed);
	return 0;
}

int eng_container_remove(struct eng *eng, const char *name, bool force, bool volumes, berr *e)
{
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		r = remove_locked(eng, c, force, volumes, e);
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

int eng_container_log_source(struct eng *eng, const char *name, struct eng_log_source *out, berr *e)
{
	memset(out, 0, sizeof *out);
	lock(eng);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		out->path = strdup(json_string_value(json_object_get(c->doc, "LogPath")) ?: "");
		long long max_size;
		eng_log_config_rotation(json_object_get(json_object_get(c->doc, "HostConfig"), "LogConfig"),
					&out->readable, &max_size, &out->max_files);
		out->tty = json_is_true(json_object_get(json_object_get(c->doc, "Config"), "Tty"));
		ctr_put(eng, c);
	}
	unlock(eng);
	return r;
}

void eng_log_source_free(struct eng_log_source *s)
{
	free(s->path);
	s->path = NULL;
}
