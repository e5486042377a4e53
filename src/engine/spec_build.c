/*
 * The OCI runtime spec of a container: Docker's defaults (oci/defaults.go of moby: namespaces,
 * mounts, masked and read-only paths, capabilities, the device allow-list, its seccomp profile)
 * with the container's Config and HostConfig applied as daemon/oci_linux.go applies them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "engine/spec.h"
#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define HC             "HostConfig"
#define DEFAULT_PATH   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM    (64LL << 20)
#define DEFAULT_PARENT "/berth"

static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Sysctls that belong to the IPC namespace (runc's list). */
static const char *const ipc_sysctls[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
					  "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
					  "kernel.shmmni", "kernel.shm_rmid_forced", NULL};

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (; a && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* ---------- the modes of HostConfig ---------- */

struct modes {
	const char *network, *ipc, *pid, *uts, *userns, *cgroupns;
	bool net_host, net_container, ipc_host, ipc_none, pid_host, uts_host, cgroupns_private;
};

static int read_modes(json_t *hc, struct modes *m, berr *e)
{
	memset(m, 0, sizeof *m);
	m->network = m->ipc = m->pid = m->uts = m->userns = m->cgroupns = "";
	if (eng_jstr(hc, HC, "NetworkMode", &m->network, e) < 0 || eng_jstr(hc, HC, "IpcMode", &m->ipc, e) < 0 ||
	    eng_jstr(hc, HC, "PidMode", &m->pid, e) < 0 || eng_jstr(hc, HC, "UTSMode", &m->uts, e) < 0 ||
	    eng_jstr(hc, HC, "UsernsMode", &m->userns, e) < 0 || eng_jstr(hc, HC, "CgroupnsMode", &m->cgroupns, e) < 0)
		return -1;
	m->net_host = !strcmp(m->network, "host");
	m->net_container = starts_with(m->network, "container:");

	const char *ipc = m->ipc;
	if (*ipc && strcmp(ipc, "private") && strcmp(ipc, "shareable") && strcmp(ipc, "host") && strcmp(ipc, "none") &&
	    !(starts_with(ipc, "container:") && ipc[10]))
		return berr_invalid(e, "invalid IPC mode: %s", ipc);
	if (starts_with(ipc, "container:"))
		return berr_plain(e, ENOTSUP,
				  "IPC mode %s: sharing another container's IPC namespace is not supported yet", ipc);
	m->ipc_host = !strcmp(ipc, "host");
	m->ipc_none = !strcmp(ipc, "none");

	if (*m->pid && strcmp(m->pid, "host") && !(starts_with(m->pid, "container:") && m->pid[10]))
		return berr_invalid(e, "invalid PID mode: %s", m->pid);
	if (starts_with(m->pid, "container:"))
		return berr_plain(
		    e, ENOTSUP, "PID mode %s: sharing another container's PID namespace is not supported yet", m->pid);
	m->pid_host = !strcmp(m->pid, "host");

	if (*m->uts && strcmp(m->uts, "host"))
		return berr_invalid(e, "invalid UTS mode: %s", m->uts);
	m->uts_host = !strcmp(m->uts, "host");

	if (*m->userns && strcmp(m->userns, "host"))
		return berr_invalid(e, "invalid USER mode: %s", m->userns);

	if (*m->cgroupns && strcmp(m->cgroupns, "private") && strcmp(m->cgroupns, "host"))
		return berr_invalid(e, "invalid cgroup namespace mode: %s", m->cgroupns);
	if (*m->cgroupns) {
		m->cgroupns_private = !strcmp(m->cgroupns, "private");
	} else {
		/* Docker's default: private on a cgroup v2 host, the host's on v1 and hybrid hosts. */
		struct statfs sf;
		m->cgroupns_private = statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
	}
	return 0;
}

/* ---------- process ---------- */

void eng_env_apply(json_t *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	bool remove = kv[klen] != '=';
	size_t i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *cur = json_string_value(v);
		if (strncmp(cur, kv, klen) || (cur[klen] != '=' && cur[klen] != '\0'))
			continue;
		if (remove)
			json_array_remove(env, i);
		else
			json_array_set_new(env, i, json_string(kv));
		return;
	}
	if (!remove)
		json_array_append_new(env, json_string(kv));
}

static int build_env(json_t *cfg, const char *hostname, bool tty, json_t **out, berr *e)
{
	json_t *env = json_array(), *list = NULL;
	if (!env)
		return berr_set(e, ENOMEM, "env");
	if (eng_jstrarr(cfg, "Config", "Env", &list, e) < 0) {
		json_decref(env);
		return -1;
	}
	json_array_append_new(env, json_string(DEFAULT_PATH));
	char *h = NULL;
	if (asprintf(&h, "HOSTNAME=%s", hostname ? hostname : "") >= 0)
		json_array_append_new(env, json_string(h));
	free(h);
	if (tty)
		json_array_append_new(env, json_string("TERM=xterm"));
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v)
		eng_env_apply(env, json_string_value(v));
	*out = env;
	return 0;
}

/* Where HostConfig.Init's binary appears in the container (Docker's path). */
#define INIT_DEST "/sbin/docker-init"

/* --init: the init runs first, the command after "--" as its child. */
static int add_init(const struct eng_spec_input *in, json_t *process, berr *e)
{
	if (!in->init_path || access(in->init_path, X_OK) < 0)
		return berr_plain(e, ENOENT, "--init: the init binary %s was not found next to berthd",
				  in->init_path ? in->init_path : "berth-init");
	json_t *args = json_object_get(process, "args");
	if (json_array_insert_new(args, 0, json_string("--")) < 0 ||
	    json_array_insert_new(args, 0, json_string(INIT_DEST)) < 0)
		return berr_set(e, ENOMEM, "--init");
	return 0;
}

static int build_args(json_t *cfg, json_t **out, berr *e)
{
	json_t *ep = NULL, *cmd = NULL;
	if (eng_jstrarr(cfg, "Config", "Entrypoint", &ep, e) < 0 || eng_jstrarr(cfg, "Config", "Cmd", &cmd, e) < 0)
		return -1;
	json_t *args = json_array();
	if (!args)
		return berr_set(e, ENOMEM, "args");
	/* An Entrypoint of [""] is no entrypoint (the merge resets it too; a record written before may not). */
	if (ep && !(json_array_size(ep) == 1 && !*json_string_value(json_array_get(ep, 0))))
		json_array_extend(args, ep);
	if (cmd)
		json_array_extend(args, cmd);
	if (!json_array_size(args)) {
		json_decref(args);
		return berr_invalid(e, "No command specified");
	}
	*out = args;
	return 0;
}

static int build_process(const struct eng_spec_input *in, json_t *hc, const char *hostname, uint64_t caps,
			 const struct eng_security *sec, json_t **out, berr *e)
{
	json_t *cfg = in->config;
	bool tty = false;
	const char *user_spec = "", *cwd = "";
	json_t *group_add = NULL, *console = NULL;
	int64_t oom = 0;
	if (eng_jbool(cfg, "Config", "Tty", &tty, e) < 0 || eng_jstr(cfg, "Config", "User", &user_spec, e) < 0 ||
	    eng_jstr(cfg, "Config", "WorkingDir", &cwd, e) < 0 || eng_jstrarr(hc, HC, "GroupAdd", &group_add, e) < 0 ||
	    eng_jarr(hc, HC, "ConsoleSize", &console, e) < 0 || eng_ji64(hc, HC, "OomScoreAdj", &oom, e) < 0)
		return -1;
	if (oom < -1000 || oom > 1000)
		return berr_invalid(e, "Invalid value %lld, range for oom score adj is [-1000, 1000]", (long long)oom);
	if (*cwd && cwd[0] != '/')
		return berr_invalid(e, "the working directory '%s' is invalid, it needs to be an absolute path", cwd);

	json_t *args = NULL, *env = NULL, *rlimits = NULL;
	struct eng_user user;
	if (build_args(cfg, &args, e) < 0)
		return -1;
	if (build_env(cfg, hostname, tty, &env, e) < 0) {
		json_decref(args);
		return -1;
	}
	if (eng_user_resolve(in->rootfs, user_spec, group_add, &user, e) < 0) {
		json_decref(args);
		json_decref(env);
		return -1;
	}
	if (eng_spec_rlimits(hc, &rlimits, e) < 0) {
		json_decref(args);
		json_decref(env);
		eng_user_free(&user);
		return -1;
	}
	json_t *gids = json_array();
	for (size_t i = 0; gids && i < user.n_gids; i++)
		json_array_append_new(gids, json_integer(user.gids[i]));
	_cleanup_free_ char *clean_cwd = eng_path_clean(*cwd ? cwd : "/");
	json_t *p = json_pack("{s:b, s:{s:I, s:I, s:o}, s:o, s:o, s:s, s:{s:o, s:o, s:o}, s:b, s:i}", "terminal", tty,
			      "user", "uid", (json_int_t)user.uid, "gid", (json_int_t)user.gid, "additionalGids", gids,
			      "args", args, "env", env, "cwd", clean_cwd ? clean_cwd : "/", "capabilities", "bounding",
			      eng_caps_json(caps), "effective", eng_caps_json(caps), "permitted", eng_caps_json(caps),
			      "noNewPrivileges", sec->no_new_privs, "oomScoreAdj", (int)oom);
	eng_user_free(&user);
	if (!p) {
		json_decref(rlimits);
		return berr_set(e, ENOMEM, "process");
	}
	if (rlimits)
		json_object_set_new(p, "rlimits", rlimits);
	/* ConsoleSize [height, width], when a terminal is asked for. */
	if (tty && json_array_size(console) == 2) {
		json_int_t h = json_integer_value(json_array_get(console, 0)),
			   w = json_integer_value(json_array_get(console, 1));
		if (h > 0 && w > 0)
			json_object_set_new(p, "consoleSize", json_pack("{s:I, s:I}", "height", h, "width", w));
	}
	*out = p;
	return 0;
}

/* ---------- mounts ---------- */

static json_t *mount_obj(const char *dest, const char *type, const char *source, json_t *options)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", source, "options",
			 options ? options : json_array());
}

static bool covered(json_t *user_dests, const char *dest)
{
	return json_object_get(user_dests, dest) != NULL;
}

/* Docker's default mounts, less those a user mount replaces. */
static void default_mounts(json_t *mounts, json_t *user_dests, const struct modes *m, bool privileged, int64_t shm)
{
	bool dev = covered(user_dests, "/dev");
	struct {
		const char *dest, *type, *source;
		json_t *opts;
	} d[] = {
	    {"/proc", "proc", "proc", json_pack("[sss]", "nosuid", "noexec", "nodev")},
	    {"/dev", "tmpfs", "tmpfs", json_pack("[ssss]", "nosuid", "strictatime", "mode=755", "size=65536k")},
	    {"/dev/pts", "devpts", "devpts",
	     json_pack("[ssssss]", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")},
	    {"/sys", "sysfs", "sysfs", json_pack("[sss]", "nosuid", "noexec", "nodev")},
	    {"/sys/fs/cgroup", "cgroup", "cgroup", json_pack("[sss]", "nosuid", "noexec", "nodev")},
	    {"/dev/mqueue", "mqueue", "mqueue", json_pack("[sss]", "nosuid", "noexec", "nodev")},
	    {"/dev/shm", "tmpfs", "shm", NULL},
	};
	/* Read-only /sys and cgroups unless privileged. */
	if (!privileged) {
		json_array_append_new(d[3].opts, json_string("ro"));
		json_array_insert_new(d[4].opts, 0, json_string("ro"));
	}
	if (m->ipc_host) {
		d[6].type = "bind";
		d[6].source = "/dev/shm";
		d[6].opts = json_pack("[ss]", "rbind", "rprivate");
	} else {
		char size[48];
		snprintf(size, sizeof size, "size=%lld", (long long)shm);
		d[6].opts = json_pack("[sssss]", "nosuid", "noexec", "nodev", "mode=1777", size);
	}
	for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
		bool skip = covered(user_dests, d[i].dest) || (dev && starts_with(d[i].dest, "/dev/")) ||
			    (m->ipc_none && !strcmp(d[i].dest, "/dev/shm"));
		if (skip) {
			json_decref(d[i].opts);
			continue;
		}
		json_array_append_new(mounts, mount_obj(d[i].dest, d[i].type, d[i].source, d[i].opts));
	}
}

static size_t depth(const char *dest)
{
	size_t n = 0;
	for (; *dest; dest++)
		n += *dest == '/';
	return n;
}

/* Stable sort by the number of path components, as Docker orders mounts (parents before children). */
static void sort_by_depth(json_t *list)
{
	size_t n = json_array_size(list);
	for (size_t i = 1; i < n; i++) {
		json_t *cur = json_incref(json_array_get(list, i));
		size_t d = depth(json_string_value(json_object_get(cur, "destination")));
		size_t j = i;
		while (j > 0 &&
		       depth(json_string_value(json_object_get(json_array_get(list, j - 1), "destination"))) > d)
			j--;
		if (j != i) {
			json_array_remove(list, i);
			json_array_insert(list, j, cur);
		}
		json_decref(cur);
	}
}

/* The propagation of the root that a shared or slave bind needs (Docker raises it to rshared or rslave). */
static void raise_root_propagation(const char **root, const char *prop)
{
	if (!prop)
		return;
	bool shared = !strcmp(prop, "shared") || !strcmp(prop, "rshared");
	bool slave = !strcmp(prop, "slave") || !strcmp(prop, "rslave");
	bool root_shared = *root && (!strcmp(*root, "shared") || !strcmp(*root, "rshared"));
	bool root_slave = *root && (!strcmp(*root, "slave") || !strcmp(*root, "rslave"));
	if (shared && !root_shared)
		*root = "shared";
	else if (slave && !root_shared && !root_slave)
		*root = "rslave";
}

static json_t *bind_obj(const char *dest, const char *source, bool ro, bool non_recursive, const char *prop)
{
	json_t *opts = json_pack("[s]", non_recursive ? "bind" : "rbind");
	if (ro)
		json_array_append_new(opts, json_string("ro"));
	if (prop && *prop)
		json_array_append_new(opts, json_string(prop));
	return mount_obj(dest, "bind", source, opts);
}

static int user_mounts(const struct eng_spec_input *in, bool readonly_root, json_t *list, const char **root_prop,
		       berr *e)
{
	for (size_t i = 0; i < in->n_mounts; i++) {
		const struct eng_mount *m = &in->mounts[i];
		if (!m->destination || m->destination[0] != '/')
			return berr_invalid(e, "mount %s: the destination must be an absolute path",
					    m->destination ? m->destination : "");
		if (m->type == ENG_MOUNT_TMPFS) {
			json_t *opts = NULL;
			if (eng_tmpfs_options(m->options, m->read_only, &opts, e) < 0)
				return berr_wrap(e, "tmpfs %s", m->destination);
			json_array_append_new(list, mount_obj(m->destination, "tmpfs", "tmpfs", opts));
			continue;
		}
		/* A volume reaches us as a bind of its directory; one still named only is a caller's bug. */
		if (!m->source || m->source[0] != '/')
			return berr_invalid(e, "mount %s: volume \"%s\" has no host directory", m->destination,
					    m->source ? m->source : "");
		if (m->create_source && !b_path_exists(m->source) && b_mkdir_p(m->source, 0755, e) < 0)
			return berr_wrap(e, "creating the bind source of %s", m->destination);
		raise_root_propagation(root_prop, m->propagation);
		json_array_append_new(
		    list, bind_obj(m->destination, m->source, m->read_only, m->non_recursive, m->propagation));
	}
	/* /etc/hostname, /etc/hosts, /etc/resolv.conf: writable unless the root is read-only. */
	const struct {
		const char *dest, *src;
	} net[] = {{"/etc/resolv.conf", in->resolv_conf_path},
		   {"/etc/hostname", in->hostname_path},
		   {"/etc/hosts", in->hosts_path}};
	for (size_t i = 0; i < ARRAY_SIZE(net); i++) {
		if (!net[i].src)
			continue;
		bool taken = false;
		for (size_t k = 0; k < in->n_mounts && !taken; k++)
			taken = !strcmp(in->mounts[k].destination, net[i].dest);
		if (!taken)
			json_array_append_new(list,
					      bind_obj(net[i].dest, net[i].src, readonly_root, false, "rprivate"));
	}
	sort_by_depth(list);
	return 0;
}

/* ---------- namespaces, sysctls, paths ---------- */

static json_t *namespaces(const struct eng_spec_input *in, const struct modes *m)
{
	json_t *ns = json_array();
	json_array_append_new(ns, json_pack("{s:s}", "type", "mount"));
	if (!m->net_host) {
		json_t *net = json_pack("{s:s}", "type", "network");
		if (in->netns_path)
			json_object_set_new(net, "path", json_string(in->netns_path));
		json_array_append_new(ns, net);
	}
	if (!m->uts_host)
		json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
	if (!m->pid_host)
		json_array_append_new(ns, json_pack("{s:s}", "type", "pid"));
	if (!m->ipc_host)
		json_array_append_new(ns, json_pack("{s:s}", "type", "ipc"));
	if (m->cgroupns_private)
		json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
	return ns;
}

static int check_sysctl(const char *key, const struct modes *m, bool private_net, bool has_hostname, berr *e)
{
	bool ipc = starts_with(key, "fs.mqueue.");
	for (const char *const *k = ipc_sysctls; *k && !ipc; k++)
		ipc = !strcmp(key, *k);
	if (ipc) {
		if (m->ipc_host)
			return berr_invalid(e, "sysctl \"%s\" is not allowed in the hosts ipc namespace", key);
		return 0;
	}
	if (starts_with(key, "net.")) {
		if (!private_net)
			return berr_invalid(e, "sysctl \"%s\" not allowed in host network namespace", key);
		return 0;
	}
	if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname")) {
		if (m->uts_host)
			return berr_invalid(e, "sysctl \"%s\" is not allowed in host UTS namespace", key);
		if (has_hostname && !strcmp(key, "kernel.hostname"))
			return berr_invalid(
			    e, "sysctl \"%s\" is not allowed as it conflicts with the OCI \"hostname\" field", key);
		return 0;
	}
	return berr_invalid(e, "sysctl \"%s\" is not in a separate kernel namespace", key);
}

static int sysctls(json_t *hc, const struct modes *m, bool has_hostname, json_t **out, berr *e)
{
	json_t *req = NULL;
	if (eng_jobj(hc, HC, "Sysctls", &req, e) < 0)
		return -1;
	json_t *s = json_object();
	if (!s)
		return berr_set(e, ENOMEM, "sysctls");
	/* A network namespace of its own: ping without CAP_NET_RAW, ports below 1024 without NET_BIND_SERVICE. */
	bool private_net = !m->net_host && !m->net_container;
	if (private_net) {
		json_object_set_new(s, "net.ipv4.ping_group_range", json_string("0 2147483647"));
		json_object_set_new(s, "net.ipv4.ip_unprivileged_port_start", json_string("0"));
	}
	const char *k;
	json_t *v;
	json_object_foreach (req, k, v) {
		if (!json_is_string(v)) {
			json_decref(s);
			return berr_invalid(e, HC ".Sysctls.%s: expected a string, got %s", k, b_json_type_name(v));
		}
		if (check_sysctl(k, m, private_net || m->net_container, has_hostname, e) < 0) {
			json_decref(s);
			return -1;
		}
		json_object_set(s, k, v);
	}
	*out = s;
	return 0;
}

static int path_list(json_t *hc, const char *key, const char *const *defaults, json_t **out, berr *e)
{
	json_t *given = NULL;
	if (eng_jstrarr(hc, HC, key, &given, e) < 0)
		return -1;
	*out = given ? json_deep_copy(given) : strv_json(defaults);
	return *out ? 0 : berr_set(e, ENOMEM, "%s", key);
}

static int seccomp(const struct eng_security *sec, bool privileged, uint64_t caps, json_t **out, berr *e)
{
	*out = NULL;
	if (privileged || sec->seccomp_unconfined)
		return 0;
	if (!sec->seccomp_profile) {
		*out = eng_seccomp_default(caps);
		return *out ? 0 : berr_set(e, ENOMEM, "seccomp profile");
	}
	json_t *profile = b_json_parse(sec->seccomp_profile, "seccomp profile", e);
	if (!profile)
		return berr_wrap(e, "Decoding seccomp profile failed");
	int r = eng_seccomp_from_docker(profile, caps, out, e);
	json_decref(profile);
	return r;
}

/* ---------- the whole spec ---------- */

static int build(const struct eng_spec_input *in, json_t *spec, berr *e)
{
	json_t *hc = in->host_config, *cfg = in->config;
	if (hc && !json_is_object(hc))
		return berr_invalid(e, "HostConfig: expected an object, got %s", b_json_type_name(hc));
	if (!json_is_object(cfg))
		return berr_invalid(e, "Config: expected an object");
	struct modes m;
	struct eng_security sec;
	uint64_t caps;
	bool privileged = false, readonly_root = false;
	int64_t shm = 0;
	const char *hostname = NULL, *domainname = NULL, *cgroup_parent = NULL;
	if (read_modes(hc, &m, e) < 0 || eng_security_opts(hc, &sec, e) < 0 || eng_caps_compute(hc, &caps, e) < 0 ||
	    eng_jbool(hc, HC, "Privileged", &privileged, e) < 0 ||
	    eng_jbool(hc, HC, "ReadonlyRootfs", &readonly_root, e) < 0 || eng_ji64(hc, HC, "ShmSize", &shm, e) < 0 ||
	    eng_jstr(hc, HC, "CgroupParent", &cgroup_parent, e) < 0 ||
	    eng_jstr(cfg, "Config", "Hostname", &hostname, e) < 0 ||
	    eng_jstr(cfg, "Config", "Domainname", &domainname, e) < 0)
		return -1;
	if (shm < 0)
		return berr_invalid(e, "SHM size can not be less than 0");
	if (m.net_container && !in->netns_path)
		return berr_plain(e, ENOTSUP, "network mode %s: the engine gave no namespace to join", m.network);

	/* Hostname: the request's, the host's for host networking, else the short ID (Docker's order). */
	char short_id[13], host_name[256] = "";
	snprintf(short_id, sizeof short_id, "%s", in->id);
	if (!hostname || !*hostname) {
		if (m.net_host && gethostname(host_name, sizeof host_name - 1) == 0)
			hostname = host_name;
		else
			hostname = short_id;
	}

	json_object_set_new(spec, "ociVersion", json_string("1.0.2-dev"));
	json_t *process = NULL;
	if (build_process(in, hc, hostname, caps, &sec, &process, e) < 0)
		return -1;
	json_object_set_new(spec, "process", process);
	bool init = false;
	if (eng_jbool(hc, HC, "Init", &init, e) < 0)
		return -1;
	if (init && add_init(in, process, e) < 0)
		return -1;
	json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", in->rootfs, "readonly", readonly_root));
	if (!m.uts_host) {
		json_object_set_new(spec, "hostname", json_string(hostname));
		if (domainname && *domainname)
			json_object_set_new(spec, "domainname", json_string(domainname));
	}

	/* Mounts: the defaults, then the container's, each replacing a default at the same place. */
	json_t *user = json_array(), *user_dests = json_object(), *mounts = json_array();
	json_object_set_new(spec, "mounts", mounts);
	const char *root_prop = NULL;
	int r = user_mounts(in, readonly_root, user, &root_prop, e);
	size_t i;
	json_t *v;
	json_array_foreach (user, i, v)
		json_object_set_new(user_dests, json_string_value(json_object_get(v, "destination")), json_true());
	if (r == 0) {
		default_mounts(mounts, user_dests, &m, privileged, shm ? shm : DEFAULT_SHM);
		json_array_extend(mounts, user);
	}
	json_decref(user);
	json_decref(user_dests);
	if (r < 0)
		return -1;
	if (init)
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:[s, s, s]}", "destination", INIT_DEST, "type",
						"bind", "source", in->init_path, "options", "bind", "ro", "nosuid"));

	json_t *lx = json_object();
	json_object_set_new(spec, "linux", lx);
	json_t *sys = NULL;
	if (sysctls(hc, &m, !m.uts_host, &sys, e) < 0)
		return -1;
	if (json_object_size(sys))
		json_object_set_new(lx, "sysctl", sys);
	else
		json_decref(sys);

	/* Docker's device allow-list (the runtime adds /dev/pts and mknod of any node itself). */
	json_t *rules = json_pack("[{s:b, s:s}, {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
				  " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
				  " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s}]",
				  "allow", 0, "access", "rwm",                                          /* deny all */
				  "allow", 1, "type", "c", "major", 1, "minor", 5, "access", "rwm",     /* zero */
				  "allow", 1, "type", "c", "major", 1, "minor", 3, "access", "rwm",     /* null */
				  "allow", 1, "type", "c", "major", 1, "minor", 9, "access", "rwm",     /* urandom */
				  "allow", 1, "type", "c", "major", 1, "minor", 8, "access", "rwm",     /* random */
				  "allow", 1, "type", "c", "major", 5, "minor", 0, "access", "rwm",     /* tty */
				  "allow", 1, "type", "c", "major", 5, "minor", 1, "access", "rwm",     /* console */
				  "allow", 0, "type", "c", "major", 10, "minor", 229, "access", "rwm"); /* fuse */
	json_t *devices = json_array(), *resources = json_object();
	json_object_set_new(lx, "resources", resources);
	json_object_set_new(resources, "devices", rules);
	json_object_set_new(lx, "devices", devices);
	if (!rules || !devices || !resources)
		return berr_set(e, ENOMEM, "spec");
	if (eng_spec_devices(hc, privileged, devices, rules, e) < 0 || eng_spec_resources(hc, resources, e) < 0)
		return -1;
	if (!json_array_size(devices))
		json_object_del(lx, "devices");

	const char *parent = cgroup_parent && *cgroup_parent           ? cgroup_parent
			     : in->cgroup_parent && *in->cgroup_parent ? in->cgroup_parent
								       : DEFAULT_PARENT;
	_cleanup_free_ char *cg = NULL;
	if (asprintf(&cg, "%s%s/berth-%s", parent[0] == '/' ? "" : "/", parent, in->id) < 0)
		return berr_set(e, ENOMEM, "cgroupsPath");
	json_object_set_new(lx, "cgroupsPath", json_string(cg));
	json_object_set_new(lx, "namespaces", namespaces(in, &m));

	if (!privileged && !sec.systempaths_unconfined) {
		json_t *masked = NULL, *ro = NULL;
		if (path_list(hc, "MaskedPaths", masked_paths, &masked, e) < 0)
			return -1;
		json_object_set_new(lx, "maskedPaths", masked);
		if (path_list(hc, "ReadonlyPaths", readonly_paths, &ro, e) < 0)
			return -1;
		json_object_set_new(lx, "readonlyPaths", ro);
	}
	json_t *sc = NULL;
	if (seccomp(&sec, privileged, caps, &sc, e) < 0)
		return -1;
	if (sc)
		json_object_set_new(lx, "seccomp", sc);
	if (root_prop)
		json_object_set_new(lx, "rootfsPropagation", json_string(root_prop));
	return 0;
}

int eng_spec_build(const struct eng_spec_input *in, json_t **spec, berr *e)
{
	*spec = NULL;
	if (!in || !in->id || strlen(in->id) < 12 || !in->rootfs || in->rootfs[0] != '/' || !in->config)
		return berr_invalid(e, "building the spec: an ID, an absolute rootfs and a Config are required");
	json_t *s = json_object();
	if (!s)
		return berr_set(e, ENOMEM, "building the spec");
	if (build(in, s, e) < 0) {
		json_decref(s);
		return -1;
	}
	*spec = s;
	return 0;
}
