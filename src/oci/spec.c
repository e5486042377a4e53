/* config.json -> struct oci_spec, with errors that name the offending field. */
#include "spec.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "../lib/cleanup.h"
#include "../lib/fs.h"
#include "../lib/json.h"
#include "caps.h"
#include "seccomp.h"

static const struct {
	const char *name, *proc_name;
	int flag;
} ns_table[OCI_NS_COUNT] = {
    [OCI_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [OCI_NS_NETWORK] = {"network", "net", CLONE_NEWNET},
    [OCI_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
    [OCI_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [OCI_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [OCI_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [OCI_NS_TIME] = {"time", "time", 0x80 /* CLONE_NEWTIME */},
};

const char *oci_ns_name(enum oci_ns_type t)
{
	return ns_table[t].name;
}
const char *oci_ns_proc_name(enum oci_ns_type t)
{
	return ns_table[t].proc_name;
}
int oci_ns_clone_flag(enum oci_ns_type t)
{
	return ns_table[t].flag;
}

static const struct {
	const char *name;
	int resource;
} rlimit_table[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

/* ---------- mount options ---------- */

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flag_table[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
};

static const struct {
	const char *name;
	unsigned long flags;
} propagation_table[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

/* Options that only steer the runtime and never reach the kernel. */
static const char *const ignored_options[] = {"tmpcopyup", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

int oci_mount_parse_options(struct oci_mount *m, berr *e)
{
	size_t data_len = 0;
	_cleanup_free_ char *data = NULL;
	m->flags = m->clear_flags = m->propagation = 0;
	m->bind = m->recursive_bind = m->recursive_ro = m->recursive_rw = false;
	if (m->type && (!strcmp(m->type, "bind") || !strcmp(m->type, "rbind")))
		m->bind = true;
	for (char **o = m->options; o && *o; o++) {
		const char *opt = *o;
		bool known = false;
		if (!strcmp(opt, "rro") || !strcmp(opt, "rrw")) {
			m->recursive_ro = opt[1] == 'r' && opt[2] == 'o';
			m->recursive_rw = !m->recursive_ro;
			continue;
		}
		if (!strcmp(opt, "idmap") || !strcmp(opt, "ridmap"))
			return berr_invalid(e, "mount %s: option \"%s\" is not supported", m->destination, opt);
		if (!strcmp(opt, "bind") || !strcmp(opt, "rbind")) {
			m->bind = true;
			m->recursive_bind |= opt[0] == 'r';
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(mount_flag_table) && !known; i++) {
			if (strcmp(opt, mount_flag_table[i].name))
				continue;
			known = true;
			if (mount_flag_table[i].clear) {
				m->flags &= ~mount_flag_table[i].flag;
				m->clear_flags |= mount_flag_table[i].flag;
			} else {
				m->flags |= mount_flag_table[i].flag;
				m->clear_flags &= ~mount_flag_table[i].flag;
			}
		}
		for (size_t i = 0; i < ARRAY_SIZE(propagation_table) && !known; i++) {
			if (!strcmp(opt, propagation_table[i].name)) {
				known = true;
				m->propagation = propagation_table[i].flags;
			}
		}
		if (known || in_list(opt, ignored_options))
			continue;
		/* Anything else is the filesystem's own option (size=, mode=, lowerdir= ...). */
		size_t n = strlen(opt);
		char *grown = realloc(data, data_len + n + 2);
		if (!grown)
			return berr_set(e, ENOMEM, "mount %s: options", m->destination);
		data = grown;
		if (data_len)
			data[data_len++] = ',';
		memcpy(data + data_len, opt, n + 1);
		data_len += n;
	}
	if (m->type && !strcmp(m->type, "rbind"))
		m->recursive_bind = true;
	free(m->data);
	m->data = steal_ptr(data);
	return 0;
}

/* ---------- parsing helpers ---------- */

#define TRY(x)                     \
	do {                       \
		if ((x) < 0)       \
			return -1; \
	} while (0)

static char *fieldf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fieldf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int need_object(json_t *v, const char *field, berr *e)
{
	if (!json_is_object(v))
		return berr_invalid(e, "%s: expected an object", field);
	return 0;
}

static int parse_u32(json_t *obj, const char *field, const char *key, uint32_t *out, bool required, berr *e)
{
	uint64_t v = 0;
	bool present = false;
	TRY(b_json_u64(obj, field, key, &v, &present, e));
	if (!present) {
		if (required)
			return berr_invalid(e, "%s.%s: required", field, key);
		return 0;
	}
	if (v > UINT32_MAX)
		return berr_set(e, ERANGE, "%s.%s: %llu is out of range", field, key, (unsigned long long)v);
	*out = (uint32_t)v;
	return 0;
}

/* ---------- process ---------- */

static int parse_user(json_t *p, struct oci_user *u, berr *e)
{
	json_t *uo;
	TRY(b_json_obj(p, "process", "user", &uo, e));
	if (!uo)
		return 0;
	uint32_t v = 0;
	TRY(parse_u32(uo, "process.user", "uid", &v, false, e));
	u->uid = v;
	v = 0;
	TRY(parse_u32(uo, "process.user", "gid", &v, false, e));
	u->gid = v;
	uint32_t um = 0;
	if (json_object_get(uo, "umask") && !json_is_null(json_object_get(uo, "umask"))) {
		TRY(parse_u32(uo, "process.user", "umask", &um, false, e));
		u->has_umask = true;
		u->umask = um;
	}
	TRY(b_json_str(uo, "process.user", "username", &u->username, NULL, e));
	json_t *gids;
	TRY(b_json_arr(uo, "process.user", "additionalGids", &gids, e));
	if (gids) {
		u->n_additional_gids = json_array_size(gids);
		u->additional_gids = calloc(u->n_additional_gids + 1, sizeof(gid_t));
		if (!u->additional_gids)
			return berr_set(e, ENOMEM, "process.user.additionalGids");
		for (size_t i = 0; i < u->n_additional_gids; i++) {
			json_t *g = json_array_get(gids, i);
			if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > UINT32_MAX)
				return berr_invalid(e, "process.user.additionalGids[%zu]: expected a group id", i);
			u->additional_gids[i] = (gid_t)json_integer_value(g);
		}
	}
	return 0;
}

static int parse_rlimits(json_t *p, struct oci_process *proc, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(p, "process", "rlimits", &arr, e));
	if (!arr)
		return 0;
	proc->n_rlimits = json_array_size(arr);
	proc->rlimits = calloc(proc->n_rlimits + 1, sizeof *proc->rlimits);
	if (!proc->rlimits)
		return berr_set(e, ENOMEM, "process.rlimits");
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		_cleanup_free_ char *f = fieldf("process.rlimits[%zu]", i);
		json_t *r = json_array_get(arr, i);
		struct oci_rlimit *rl = &proc->rlimits[i];
		TRY(need_object(r, f, e));
		TRY(b_json_str(r, f, "type", &rl->type, NULL, e));
		if (!rl->type)
			return berr_invalid(e, "%s.type: required", f);
		rl->resource = -1;
		for (size_t k = 0; k < ARRAY_SIZE(rlimit_table); k++)
			if (!strcmp(rl->type, rlimit_table[k].name))
				rl->resource = rlimit_table[k].resource;
		if (rl->resource < 0)
			return berr_invalid(e, "%s.type: unknown rlimit \"%s\"", f, rl->type);
		TRY(b_json_u64(r, f, "soft", &rl->soft, NULL, e));
		TRY(b_json_u64(r, f, "hard", &rl->hard, NULL, e));
	}
	return 0;
}

static int parse_capabilities(json_t *p, struct oci_process *proc, berr *e)
{
	json_t *c;
	TRY(b_json_obj(p, "process", "capabilities", &c, e));
	if (!c)
		return 0;
	proc->has_capabilities = true;
	static const char *const names[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
	uint64_t *sets[] = {&proc->capabilities.bounding, &proc->capabilities.effective,
			    &proc->capabilities.inheritable, &proc->capabilities.permitted,
			    &proc->capabilities.ambient};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		json_t *arr;
		_cleanup_free_ char *f = fieldf("process.capabilities.%s", names[i]);
		TRY(b_json_arr(c, "process.capabilities", names[i], &arr, e));
		*sets[i] = 0;
		if (arr)
			TRY(oci_caps_parse_list(arr, f, sets[i], e));
	}
	return 0;
}

static int parse_process_obj(json_t *p, struct oci_process *proc, berr *e)
{
	TRY(need_object(p, "process", e));
	TRY(b_json_bool(p, "process", "terminal", &proc->terminal, NULL, e));
	json_t *cs;
	TRY(b_json_obj(p, "process", "consoleSize", &cs, e));
	if (cs) {
		uint32_t h = 0, w = 0;
		TRY(parse_u32(cs, "process.consoleSize", "height", &h, true, e));
		TRY(parse_u32(cs, "process.consoleSize", "width", &w, true, e));
		proc->has_console_size = true;
		proc->console_size.height = h;
		proc->console_size.width = w;
	}
	TRY(parse_user(p, &proc->user, e));
	TRY(b_json_strv(p, "process", "args", &proc->args, e));
	if (!proc->args || !proc->args[0])
		return berr_invalid(e, "process.args: must name the program to run");
	TRY(b_json_strv(p, "process", "env", &proc->env, e));
	TRY(b_json_str(p, "process", "cwd", &proc->cwd, NULL, e));
	if (!proc->cwd)
		return berr_invalid(e, "process.cwd: required");
	if (proc->cwd[0] != '/')
		return berr_invalid(e, "process.cwd: must be an absolute path, got \"%s\"", proc->cwd);
	TRY(parse_capabilities(p, proc, e));
	TRY(parse_rlimits(p, proc, e));
	TRY(b_json_bool(p, "process", "noNewPrivileges", &proc->no_new_privileges, NULL, e));
	TRY(b_json_str(p, "process", "apparmorProfile", &proc->apparmor_profile, NULL, e));
	TRY(b_json_str(p, "process", "selinuxLabel", &proc->selinux_label, NULL, e));
	int64_t adj = 0;
	bool has_adj = false;
	TRY(b_json_i64(p, "process", "oomScoreAdj", &adj, &has_adj, e));
	if (has_adj && (adj < -1000 || adj > 1000))
		return berr_invalid(e, "process.oomScoreAdj: %lld is outside -1000..1000", (long long)adj);
	proc->has_oom_score_adj = has_adj;
	proc->oom_score_adj = (int)adj;
	return 0;
}

int oci_process_parse(const char *json_text, struct oci_process *out, berr *e)
{
	json_t *j = b_json_parse(json_text, "process", e);
	if (!j)
		return -1;
	memset(out, 0, sizeof *out);
	int r = parse_process_obj(j, out, e);
	json_decref(j);
	if (r < 0)
		oci_process_free(out);
	return r;
}

/* ---------- mounts, hooks ---------- */

static int parse_mounts(json_t *root, struct oci_spec *s, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(root, "", "mounts", &arr, e));
	if (!arr)
		return 0;
	s->n_mounts = json_array_size(arr);
	s->mounts = calloc(s->n_mounts + 1, sizeof *s->mounts);
	if (!s->mounts)
		return berr_set(e, ENOMEM, "mounts");
	for (size_t i = 0; i < s->n_mounts; i++) {
		_cleanup_free_ char *f = fieldf("mounts[%zu]", i);
		json_t *mo = json_array_get(arr, i);
		struct oci_mount *m = &s->mounts[i];
		TRY(need_object(mo, f, e));
		TRY(b_json_str(mo, f, "destination", &m->destination, NULL, e));
		TRY(b_json_str(mo, f, "source", &m->source, NULL, e));
		TRY(b_json_str(mo, f, "type", &m->type, NULL, e));
		TRY(b_json_strv(mo, f, "options", &m->options, e));
		if (!m->destination || !*m->destination)
			return berr_invalid(e, "%s.destination: required", f);
		if (m->destination[0] != '/')
			return berr_invalid(e, "%s.destination: must be an absolute path, got \"%s\"", f,
					    m->destination);
		TRY(oci_mount_parse_options(m, e));
		if (!m->type && !m->bind)
			return berr_invalid(e, "%s (%s): type is required unless the options say bind", f,
					    m->destination);
		if (m->bind && !m->source)
			return berr_invalid(e, "%s (%s): a bind mount needs a source", f, m->destination);
	}
	return 0;
}

static int parse_hook_list(json_t *hooks, const char *key, struct oci_hook **out, size_t *n, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(hooks, "hooks", key, &arr, e));
	if (!arr)
		return 0;
	*n = json_array_size(arr);
	*out = calloc(*n + 1, sizeof **out);
	if (!*out)
		return berr_set(e, ENOMEM, "hooks.%s", key);
	for (size_t i = 0; i < *n; i++) {
		_cleanup_free_ char *f = fieldf("hooks.%s[%zu]", key, i);
		json_t *h = json_array_get(arr, i);
		struct oci_hook *hk = &(*out)[i];
		TRY(need_object(h, f, e));
		TRY(b_json_str(h, f, "path", &hk->path, NULL, e));
		if (!hk->path || hk->path[0] != '/')
			return berr_invalid(e, "%s.path: must be an absolute path", f);
		TRY(b_json_strv(h, f, "args", &hk->args, e));
		TRY(b_json_strv(h, f, "env", &hk->env, e));
		int64_t t = 0;
		TRY(b_json_i64(h, f, "timeout", &t, &hk->has_timeout, e));
		if (hk->has_timeout && (t <= 0 || t > 86400))
			return berr_invalid(e, "%s.timeout: must be 1..86400 seconds, got %lld", f, (long long)t);
		hk->timeout = (int)t;
	}
	return 0;
}

static int parse_hooks(json_t *root, struct oci_spec *s, berr *e)
{
	json_t *h;
	TRY(b_json_obj(root, "", "hooks", &h, e));
	if (!h)
		return 0;
	struct oci_hooks *k = &s->hooks;
	TRY(parse_hook_list(h, "prestart", &k->prestart, &k->n_prestart, e));
	TRY(parse_hook_list(h, "createRuntime", &k->create_runtime, &k->n_create_runtime, e));
	TRY(parse_hook_list(h, "createContainer", &k->create_container, &k->n_create_container, e));
	TRY(parse_hook_list(h, "startContainer", &k->start_container, &k->n_start_container, e));
	TRY(parse_hook_list(h, "poststart", &k->poststart, &k->n_poststart, e));
	TRY(parse_hook_list(h, "poststop", &k->poststop, &k->n_poststop, e));
	return 0;
}

/* ---------- linux ---------- */

static int parse_namespaces(json_t *lx, struct oci_linux *l, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(lx, "linux", "namespaces", &arr, e));
	if (!arr)
		return 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		_cleanup_free_ char *f = fieldf("linux.namespaces[%zu]", i);
		json_t *ns = json_array_get(arr, i);
		_cleanup_free_ char *type = NULL, *path = NULL;
		TRY(need_object(ns, f, e));
		TRY(b_json_str(ns, f, "type", &type, NULL, e));
		TRY(b_json_str(ns, f, "path", &path, NULL, e));
		if (!type)
			return berr_invalid(e, "%s.type: required", f);
		int t = -1;
		for (int k = 0; k < OCI_NS_COUNT; k++)
			if (!strcmp(type, ns_table[k].name))
				t = k;
		if (t < 0)
			return berr_invalid(e, "%s.type: unknown namespace type \"%s\"", f, type);
		if (l->namespaces[t].present)
			return berr_invalid(e, "%s: namespace \"%s\" listed twice", f, type);
		l->namespaces[t].present = true;
		if (path && *path)
			l->namespaces[t].path = steal_ptr(path);
	}
	return 0;
}

static int parse_id_mappings(json_t *lx, const char *key, struct oci_id_mapping **out, size_t *n, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(lx, "linux", key, &arr, e));
	if (!arr)
		return 0;
	*n = json_array_size(arr);
	*out = calloc(*n + 1, sizeof **out);
	if (!*out)
		return berr_set(e, ENOMEM, "linux.%s", key);
	for (size_t i = 0; i < *n; i++) {
		_cleanup_free_ char *f = fieldf("linux.%s[%zu]", key, i);
		json_t *m = json_array_get(arr, i);
		TRY(need_object(m, f, e));
		TRY(parse_u32(m, f, "containerID", &(*out)[i].container_id, true, e));
		TRY(parse_u32(m, f, "hostID", &(*out)[i].host_id, true, e));
		TRY(parse_u32(m, f, "size", &(*out)[i].size, true, e));
	}
	return 0;
}

static int parse_devices(json_t *lx, struct oci_linux *l, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(lx, "linux", "devices", &arr, e));
	if (!arr)
		return 0;
	l->n_devices = json_array_size(arr);
	l->devices = calloc(l->n_devices + 1, sizeof *l->devices);
	if (!l->devices)
		return berr_set(e, ENOMEM, "linux.devices");
	for (size_t i = 0; i < l->n_devices; i++) {
		_cleanup_free_ char *f = fieldf("linux.devices[%zu]", i);
		json_t *d = json_array_get(arr, i);
		struct oci_device *dev = &l->devices[i];
		_cleanup_free_ char *type = NULL;
		TRY(need_object(d, f, e));
		TRY(b_json_str(d, f, "path", &dev->path, NULL, e));
		TRY(b_json_str(d, f, "type", &type, NULL, e));
		if (!dev->path || dev->path[0] != '/')
			return berr_invalid(e, "%s.path: must be an absolute path", f);
		if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
			return berr_invalid(e, "%s.type: must be one of c, b, u, p", f);
		dev->type = type[0];
		TRY(b_json_i64(d, f, "major", &dev->major, NULL, e));
		TRY(b_json_i64(d, f, "minor", &dev->minor, NULL, e));
		uint32_t v = 0;
		if (json_object_get(d, "fileMode")) {
			TRY(parse_u32(d, f, "fileMode", &v, false, e));
			dev->has_file_mode = true;
			dev->file_mode = v;
		}
		if (json_object_get(d, "uid")) {
			TRY(parse_u32(d, f, "uid", &v, false, e));
			dev->has_uid = true;
			dev->uid = v;
		}
		if (json_object_get(d, "gid")) {
			TRY(parse_u32(d, f, "gid", &v, false, e));
			dev->has_gid = true;
			dev->gid = v;
		}
	}
	return 0;
}

static int parse_throttle(json_t *bio, const char *key, struct oci_throttle_device **out, size_t *n, berr *e)
{
	json_t *arr;
	TRY(b_json_arr(bio, "linux.resources.blockIO", key, &arr, e));
	if (!arr)
		return 0;
	*n = json_array_size(arr);
	*out = calloc(*n + 1, sizeof **out);
	if (!*out)
		return berr_set(e, ENOMEM, "linux.resources.blockIO.%s", key);
	for (size_t i = 0; i < *n; i++) {
		_cleanup_free_ char *f = fieldf("linux.resources.blockIO.%s[%zu]", key, i);
		json_t *t = json_array_get(arr, i);
		TRY(need_object(t, f, e));
		TRY(b_json_i64(t, f, "major", &(*out)[i].major, NULL, e));
		TRY(b_json_i64(t, f, "minor", &(*out)[i].minor, NULL, e));
		TRY(b_json_u64(t, f, "rate", &(*out)[i].rate, NULL, e));
	}
	return 0;
}

static int parse_resources(json_t *lx, struct oci_linux *l, berr *e)
{
	json_t *r;
	TRY(b_json_obj(lx, "linux", "resources", &r, e));
	if (!r)
		return 0;
	l->has_resources = true;
	struct oci_resources *res = &l->resources;
	const char *F = "linux.resources";

	json_t *devs;
	TRY(b_json_arr(r, F, "devices", &devs, e));
	if (devs) {
		res->n_devices = json_array_size(devs);
		res->devices = calloc(res->n_devices + 1, sizeof *res->devices);
		if (!res->devices)
			return berr_set(e, ENOMEM, "linux.resources.devices");
		for (size_t i = 0; i < res->n_devices; i++) {
			_cleanup_free_ char *f = fieldf("linux.resources.devices[%zu]", i);
			json_t *d = json_array_get(devs, i);
			struct oci_device_cgroup *dc = &res->devices[i];
			_cleanup_free_ char *type = NULL;
			bool has_major = false, has_minor = false;
			TRY(need_object(d, f, e));
			TRY(b_json_bool(d, f, "allow", &dc->allow, NULL, e));
			TRY(b_json_str(d, f, "type", &type, NULL, e));
			if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
				return berr_invalid(e, "%s.type: must be one of a, c, b", f);
			dc->type = type ? type[0] : 'a';
			TRY(b_json_i64(d, f, "major", &dc->major, &has_major, e));
			TRY(b_json_i64(d, f, "minor", &dc->minor, &has_minor, e));
			if (!has_major)
				dc->major = -1;
			if (!has_minor)
				dc->minor = -1;
			TRY(b_json_str(d, f, "access", &dc->access, NULL, e));
			if (dc->access && strspn(dc->access, "rwm") != strlen(dc->access))
				return berr_invalid(e, "%s.access: \"%s\" is not a subset of rwm", f, dc->access);
		}
	}

	json_t *mem;
	TRY(b_json_obj(r, F, "memory", &mem, e));
	if (mem) {
		const char *M = "linux.resources.memory";
		TRY(b_json_i64(mem, M, "limit", &res->memory.limit, &res->memory.has_limit, e));
		TRY(b_json_i64(mem, M, "reservation", &res->memory.reservation, &res->memory.has_reservation, e));
		TRY(b_json_i64(mem, M, "swap", &res->memory.swap, &res->memory.has_swap, e));
		TRY(b_json_i64(mem, M, "kernel", &res->memory.kernel, &res->memory.has_kernel, e));
		TRY(b_json_i64(mem, M, "kernelTCP", &res->memory.kernel_tcp, &res->memory.has_kernel_tcp, e));
		TRY(b_json_u64(mem, M, "swappiness", &res->memory.swappiness, &res->memory.has_swappiness, e));
		if (res->memory.has_swappiness && res->memory.swappiness > 100)
			return berr_invalid(e, "%s.swappiness: %llu is above 100", M,
					    (unsigned long long)res->memory.swappiness);
		TRY(b_json_bool(mem, M, "disableOOMKiller", &res->memory.disable_oom_killer,
				&res->memory.has_disable_oom_killer, e));
		TRY(b_json_bool(mem, M, "useHierarchy", &res->memory.use_hierarchy, &res->memory.has_use_hierarchy, e));
		TRY(b_json_bool(mem, M, "checkBeforeUpdate", &res->memory.check_before_update,
				&res->memory.has_check_before_update, e));
		if (res->memory.has_limit && res->memory.limit < -1)
			return berr_invalid(e, "%s.limit: %lld is negative", M, (long long)res->memory.limit);
	}

	json_t *cpu;
	TRY(b_json_obj(r, F, "cpu", &cpu, e));
	if (cpu) {
		const char *C = "linux.resources.cpu";
		TRY(b_json_u64(cpu, C, "shares", &res->cpu.shares, &res->cpu.has_shares, e));
		TRY(b_json_i64(cpu, C, "quota", &res->cpu.quota, &res->cpu.has_quota, e));
		TRY(b_json_u64(cpu, C, "period", &res->cpu.period, &res->cpu.has_period, e));
		TRY(b_json_i64(cpu, C, "realtimeRuntime", &res->cpu.realtime_runtime, &res->cpu.has_realtime_runtime,
			       e));
		TRY(b_json_u64(cpu, C, "realtimePeriod", &res->cpu.realtime_period, &res->cpu.has_realtime_period, e));
		TRY(b_json_str(cpu, C, "cpus", &res->cpu.cpus, NULL, e));
		TRY(b_json_str(cpu, C, "mems", &res->cpu.mems, NULL, e));
		TRY(b_json_i64(cpu, C, "idle", &res->cpu.idle, &res->cpu.has_idle, e));
	}

	json_t *pids;
	TRY(b_json_obj(r, F, "pids", &pids, e));
	if (pids)
		TRY(b_json_i64(pids, "linux.resources.pids", "limit", &res->pids.limit, &res->pids.has_limit, e));

	json_t *bio;
	TRY(b_json_obj(r, F, "blockIO", &bio, e));
	if (bio) {
		const char *B = "linux.resources.blockIO";
		uint32_t v = 0;
		if (json_object_get(bio, "weight")) {
			TRY(parse_u32(bio, B, "weight", &v, false, e));
			res->block_io.has_weight = true;
			res->block_io.weight = (uint16_t)v;
		}
		if (json_object_get(bio, "leafWeight")) {
			TRY(parse_u32(bio, B, "leafWeight", &v, false, e));
			res->block_io.has_leaf_weight = true;
			res->block_io.leaf_weight = (uint16_t)v;
		}
		json_t *wd;
		TRY(b_json_arr(bio, B, "weightDevice", &wd, e));
		if (wd) {
			res->block_io.n_weight_device = json_array_size(wd);
			res->block_io.weight_device =
			    calloc(res->block_io.n_weight_device + 1, sizeof(struct oci_weight_device));
			if (!res->block_io.weight_device)
				return berr_set(e, ENOMEM, "%s.weightDevice", B);
			for (size_t i = 0; i < res->block_io.n_weight_device; i++) {
				_cleanup_free_ char *f = fieldf("%s.weightDevice[%zu]", B, i);
				json_t *d = json_array_get(wd, i);
				struct oci_weight_device *w = &res->block_io.weight_device[i];
				TRY(need_object(d, f, e));
				TRY(b_json_i64(d, f, "major", &w->major, NULL, e));
				TRY(b_json_i64(d, f, "minor", &w->minor, NULL, e));
				if (json_object_get(d, "weight")) {
					TRY(parse_u32(d, f, "weight", &v, false, e));
					w->has_weight = true;
					w->weight = (uint16_t)v;
				}
				if (json_object_get(d, "leafWeight")) {
					TRY(parse_u32(d, f, "leafWeight", &v, false, e));
					w->has_leaf_weight = true;
					w->leaf_weight = (uint16_t)v;
				}
			}
		}
		TRY(parse_throttle(bio, "throttleReadBpsDevice", &res->block_io.throttle_read_bps,
				   &res->block_io.n_throttle_read_bps, e));
		TRY(parse_throttle(bio, "throttleWriteBpsDevice", &res->block_io.throttle_write_bps,
				   &res->block_io.n_throttle_write_bps, e));
		TRY(parse_throttle(bio, "throttleReadIOPSDevice", &res->block_io.throttle_read_iops,
				   &res->block_io.n_throttle_read_iops, e));
		TRY(parse_throttle(bio, "throttleWriteIOPSDevice", &res->block_io.throttle_write_iops,
				   &res->block_io.n_throttle_write_iops, e));
	}

	json_t *hp;
	TRY(b_json_arr(r, F, "hugepageLimits", &hp, e));
	if (hp) {
		res->n_hugepage_limits = json_array_size(hp);
		res->hugepage_limits = calloc(res->n_hugepage_limits + 1, sizeof *res->hugepage_limits);
		if (!res->hugepage_limits)
			return berr_set(e, ENOMEM, "linux.resources.hugepageLimits");
		for (size_t i = 0; i < res->n_hugepage_limits; i++) {
			_cleanup_free_ char *f = fieldf("linux.resources.hugepageLimits[%zu]", i);
			json_t *h = json_array_get(hp, i);
			TRY(need_object(h, f, e));
			TRY(b_json_str(h, f, "pageSize", &res->hugepage_limits[i].page_size, NULL, e));
			if (!res->hugepage_limits[i].page_size)
				return berr_invalid(e, "%s.pageSize: required", f);
			TRY(b_json_u64(h, f, "limit", &res->hugepage_limits[i].limit, NULL, e));
		}
	}
	TRY(b_json_str_map(r, F, "unified", &res->unified, e));
	return 0;
}

static int parse_seccomp(json_t *lx, struct oci_linux *l, berr *e)
{
	json_t *sc;
	TRY(b_json_obj(lx, "linux", "seccomp", &sc, e));
	if (!sc)
		return 0;
	const char *F = "linux.seccomp";
	struct oci_seccomp *s = calloc(1, sizeof *s);
	if (!s)
		return berr_set(e, ENOMEM, "%s", F);
	l->seccomp = s;
	_cleanup_free_ char *def = NULL;
	TRY(b_json_str(sc, F, "defaultAction", &def, NULL, e));
	if (!def)
		return berr_invalid(e, "%s.defaultAction: required", F);
	int a = oci_seccomp_action_from_name(def);
	if (a < 0)
		return berr_invalid(e, "%s.defaultAction: unknown action \"%s\"", F, def);
	s->default_action = (enum oci_seccomp_action)a;
	uint32_t v = 0;
	if (json_object_get(sc, "defaultErrnoRet")) {
		TRY(parse_u32(sc, F, "defaultErrnoRet", &v, false, e));
		s->has_default_errno_ret = true;
		s->default_errno_ret = v;
	}
	TRY(b_json_strv(sc, F, "architectures", &s->architectures, e));
	TRY(b_json_strv(sc, F, "flags", &s->flags, e));
	TRY(b_json_str(sc, F, "listenerPath", &s->listener_path, NULL, e));
	TRY(b_json_str(sc, F, "listenerMetadata", &s->listener_metadata, NULL, e));
	json_t *arr;
	TRY(b_json_arr(sc, F, "syscalls", &arr, e));
	if (!arr)
		return 0;
	s->n_syscalls = json_array_size(arr);
	s->syscalls = calloc(s->n_syscalls + 1, sizeof *s->syscalls);
	if (!s->syscalls)
		return berr_set(e, ENOMEM, "%s.syscalls", F);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		_cleanup_free_ char *f = fieldf("%s.syscalls[%zu]", F, i);
		json_t *so = json_array_get(arr, i);
		struct oci_seccomp_syscall *sy = &s->syscalls[i];
		_cleanup_free_ char *action = NULL;
		TRY(need_object(so, f, e));
		TRY(b_json_strv(so, f, "names", &sy->names, e));
		if (!sy->names || !sy->names[0])
			return berr_invalid(e, "%s.names: required", f);
		TRY(b_json_str(so, f, "action", &action, NULL, e));
		if (!action)
			return berr_invalid(e, "%s.action: required", f);
		a = oci_seccomp_action_from_name(action);
		if (a < 0)
			return berr_invalid(e, "%s.action: unknown action \"%s\"", f, action);
		sy->action = (enum oci_seccomp_action)a;
		if (json_object_get(so, "errnoRet")) {
			TRY(parse_u32(so, f, "errnoRet", &v, false, e));
			sy->has_errno_ret = true;
			sy->errno_ret = v;
		}
		json_t *args;
		TRY(b_json_arr(so, f, "args", &args, e));
		if (!args)
			continue;
		sy->n_args = json_array_size(args);
		sy->args = calloc(sy->n_args + 1, sizeof *sy->args);
		if (!sy->args)
			return berr_set(e, ENOMEM, "%s.args", f);
		for (size_t k = 0; k < sy->n_args; k++) {
			_cleanup_free_ char *af = fieldf("%s.args[%zu]", f, k);
			json_t *ao = json_array_get(args, k);
			TRY(need_object(ao, af, e));
			TRY(parse_u32(ao, af, "index", &sy->args[k].index, true, e));
			TRY(b_json_u64(ao, af, "value", &sy->args[k].value, NULL, e));
			TRY(b_json_u64(ao, af, "valueTwo", &sy->args[k].value_two, NULL, e));
			TRY(b_json_str(ao, af, "op", &sy->args[k].op, NULL, e));
			if (!sy->args[k].op)
				return berr_invalid(e, "%s.op: required", af);
		}
	}
	return 0;
}

static int parse_linux(json_t *root, struct oci_spec *s, berr *e)
{
	json_t *lx;
	TRY(b_json_obj(root, "", "linux", &lx, e));
	if (!lx)
		return 0;
	struct oci_linux *l = &s->linux_;
	TRY(parse_namespaces(lx, l, e));
	TRY(parse_id_mappings(lx, "uidMappings", &l->uid_mappings, &l->n_uid_mappings, e));
	TRY(parse_id_mappings(lx, "gidMappings", &l->gid_mappings, &l->n_gid_mappings, e));
	TRY(parse_devices(lx, l, e));
	TRY(b_json_str(lx, "linux", "cgroupsPath", &l->cgroups_path, NULL, e));
	TRY(parse_resources(lx, l, e));
	TRY(b_json_str(lx, "linux", "rootfsPropagation", &l->rootfs_propagation, NULL, e));
	if (l->rootfs_propagation) {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(propagation_table); i++)
			ok |= !strcmp(l->rootfs_propagation, propagation_table[i].name);
		if (!ok)
			return berr_invalid(e, "linux.rootfsPropagation: unknown propagation \"%s\"",
					    l->rootfs_propagation);
	}
	TRY(b_json_strv(lx, "linux", "maskedPaths", &l->masked_paths, e));
	TRY(b_json_strv(lx, "linux", "readonlyPaths", &l->readonly_paths, e));
	TRY(b_json_str(lx, "linux", "mountLabel", &l->mount_label, NULL, e));
	TRY(b_json_str_map(lx, "linux", "sysctl", &l->sysctl, e));
	TRY(parse_seccomp(lx, l, e));
	json_t *pers;
	TRY(b_json_obj(lx, "linux", "personality", &pers, e));
	if (pers)
		TRY(b_json_str(pers, "linux.personality", "domain", &l->personality_domain, NULL, e));
	if (l->personality_domain && strcmp(l->personality_domain, "LINUX") && strcmp(l->personality_domain, "LINUX32"))
		return berr_invalid(e, "linux.personality.domain: unknown domain \"%s\"", l->personality_domain);
	if ((l->n_uid_mappings || l->n_gid_mappings) && !l->namespaces[OCI_NS_USER].present)
		return berr_invalid(e, "linux.uidMappings: given without a user namespace");
	return 0;
}

static int parse_root(json_t *root, struct oci_spec *s, berr *e)
{
	TRY(need_object(root, "config", e));
	TRY(b_json_str(root, "", "ociVersion", &s->oci_version, NULL, e));
	if (!s->oci_version)
		return berr_invalid(e, "ociVersion: required");
	json_t *r;
	TRY(b_json_obj(root, "", "root", &r, e));
	if (!r)
		return berr_invalid(e, "root: required (the container's root filesystem)");
	TRY(b_json_str(r, "root", "path", &s->root_path, NULL, e));
	if (!s->root_path || !*s->root_path)
		return berr_invalid(e, "root.path: required");
	TRY(b_json_bool(r, "root", "readonly", &s->root_readonly, NULL, e));
	json_t *p;
	TRY(b_json_obj(root, "", "process", &p, e));
	if (p) {
		s->has_process = true;
		TRY(parse_process_obj(p, &s->process, e));
	}
	TRY(b_json_str(root, "", "hostname", &s->hostname, NULL, e));
	TRY(b_json_str(root, "", "domainname", &s->domainname, NULL, e));
	TRY(parse_mounts(root, s, e));
	TRY(parse_hooks(root, s, e));
	TRY(b_json_str_map(root, "", "annotations", &s->annotations, e));
	TRY(parse_linux(root, s, e));
	return 0;
}

int oci_spec_parse(const char *json_text, struct oci_spec **out, berr *e)
{
	json_t *j = b_json_parse(json_text, "config.json", e);
	if (!j)
		return -1;
	struct oci_spec *s = calloc(1, sizeof *s);
	if (!s) {
		json_decref(j);
		return berr_set(e, ENOMEM, "parsing config.json");
	}
	int r = parse_root(j, s, e);
	json_decref(j);
	if (r < 0) {
		berr_wrap(e, "config.json");
		oci_spec_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int oci_spec_load(const char *path, struct oci_spec **out, berr *e)
{
	_cleanup_free_ char *text = NULL;
	if (b_read_file(path, &text, NULL, e) < 0)
		return -1;
	return oci_spec_parse(text, out, e);
}

/* ---------- freeing ---------- */

static void free_hooks(struct oci_hook *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].path);
		b_strv_free(h[i].args);
		b_strv_free(h[i].env);
	}
	free(h);
}

void oci_process_free(struct oci_process *p)
{
	free(p->user.additional_gids);
	free(p->user.username);
	b_strv_free(p->args);
	b_strv_free(p->env);
	free(p->cwd);
	for (size_t i = 0; i < p->n_rlimits; i++)
		free(p->rlimits[i].type);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof *p);
}

static void free_seccomp(struct oci_seccomp *s)
{
	if (!s)
		return;
	b_strv_free(s->architectures);
	b_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		b_strv_free(s->syscalls[i].names);
		for (size_t k = 0; k < s->syscalls[i].n_args; k++)
			free(s->syscalls[i].args[k].op);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	free(s);
}

static void free_resources(struct oci_resources *r)
{
	for (size_t i = 0; i < r->n_devices; i++)
		free(r->devices[i].access);
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_device);
	free(r->block_io.throttle_read_bps);
	free(r->block_io.throttle_write_bps);
	free(r->block_io.throttle_read_iops);
	free(r->block_io.throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	b_strv_free(r->unified);
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->root_path);
	oci_process_free(&s->process);
	free(s->hostname);
	free(s->domainname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].source);
		free(s->mounts[i].type);
		b_strv_free(s->mounts[i].options);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	struct oci_hooks *h = &s->hooks;
	free_hooks(h->prestart, h->n_prestart);
	free_hooks(h->create_runtime, h->n_create_runtime);
	free_hooks(h->create_container, h->n_create_container);
	free_hooks(h->start_container, h->n_start_container);
	free_hooks(h->poststart, h->n_poststart);
	free_hooks(h->poststop, h->n_poststop);
	b_strv_free(s->annotations);
	struct oci_linux *l = &s->linux_;
	for (int i = 0; i < OCI_NS_COUNT; i++)
		free(l->namespaces[i].path);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	free_resources(&l->resources);
	free(l->rootfs_propagation);
	b_strv_free(l->masked_paths);
	b_strv_free(l->readonly_paths);
	free(l->mount_label);
	b_strv_free(l->sysctl);
	free_seccomp(l->seccomp);
	free(l->personality_domain);
	free(s);
}
