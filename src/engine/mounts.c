/*
 * HostConfig.Binds, HostConfig.Mounts, HostConfig.Tmpfs and the anonymous volumes of Config.Volumes,
 * parsed and checked as Docker's Linux mount parser does (volume/mounts/linux_parser.go), with its
 * messages: "invalid volume specification: '/a:b'", "invalid mount config for type \"bind\": field
 * Source must not be empty", "Duplicate mount point: /data" ...
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "engine/spec.h"
#include "engine/spec_internal.h"
#include "engine/volume_store.h"
#include "lib/cleanup.h"
#include "lib/json.h"

static const char *const propagation_modes[] = {"private", "rprivate", "shared", "rshared", "slave", "rslave", NULL};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* ---------- tmpfs options (Docker's MergeTmpfsOptions) ---------- */

#define PROPAGATION_KEY (~0UL) /* every propagation mode shares one slot */

static const struct {
	const char *name;
	unsigned long flag;
} tmpfs_flags[] = {
    {"ro", MS_RDONLY},
    {"rw", MS_RDONLY},
    {"suid", MS_NOSUID},
    {"nosuid", MS_NOSUID},
    {"dev", MS_NODEV},
    {"nodev", MS_NODEV},
    {"exec", MS_NOEXEC},
    {"noexec", MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS},
    {"async", MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC},
    {"remount", MS_REMOUNT},
    {"mand", MS_MANDLOCK},
    {"nomand", MS_MANDLOCK},
    {"atime", MS_NOATIME},
    {"noatime", MS_NOATIME},
    {"diratime", MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME},
    {"bind", MS_BIND},
    {"rbind", MS_BIND | MS_REC},
    {"relatime", MS_RELATIME},
    {"norelatime", MS_RELATIME},
    {"strictatime", MS_STRICTATIME},
    {"nostrictatime", MS_STRICTATIME},
    {"private", PROPAGATION_KEY},
    {"rprivate", PROPAGATION_KEY},
    {"shared", PROPAGATION_KEY},
    {"rshared", PROPAGATION_KEY},
    {"slave", PROPAGATION_KEY},
    {"rslave", PROPAGATION_KEY},
    {"unbindable", PROPAGATION_KEY},
    {"runbindable", PROPAGATION_KEY},
};

static const char *const tmpfs_data_keys[] = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol", NULL};

static bool tmpfs_flag(const char *opt, unsigned long *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs_flags); i++)
		if (!strcmp(opt, tmpfs_flags[i].name)) {
			*key = tmpfs_flags[i].flag;
			return true;
		}
	return false;
}

int eng_tmpfs_options(const char *data, bool read_only, json_t **out, berr *e)
{
	/* Docker's defaults for every tmpfs it mounts, then what the request asked for. */
	json_t *in = json_pack("[ssss]", "noexec", "nosuid", "nodev", "rprivate");
	if (!in)
		return berr_set(e, ENOMEM, "tmpfs options");
	_cleanup_free_ char *copy = strdup(data ? data : "");
	if (!copy) {
		json_decref(in);
		return berr_set(e, ENOMEM, "tmpfs options");
	}
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(in, json_string(tok));
	if (read_only)
		json_array_append_new(in, json_string("ro"));

	/* Last one wins: walk backwards, keep the first of each flag slot and of each data key. */
	json_t *merged = json_array();
	unsigned long seen_flags[ARRAY_SIZE(tmpfs_flags)];
	size_t n_seen_flags = 0;
	json_t *seen_data = json_object();
	int r = 0;
	for (size_t i = json_array_size(in); i-- > 0 && merged && seen_data;) {
		const char *opt = json_string_value(json_array_get(in, i));
		unsigned long key;
		if (!strcmp(opt, "defaults"))
			continue;
		if (tmpfs_flag(opt, &key)) {
			bool dup = false;
			for (size_t k = 0; k < n_seen_flags; k++)
				dup |= seen_flags[k] == key;
			if (!dup) {
				seen_flags[n_seen_flags++] = key;
				json_array_insert_new(merged, 0, json_string(opt));
			}
			continue;
		}
		const char *eq = strchr(opt, '=');
		_cleanup_free_ char *name = eq ? strndup(opt, (size_t)(eq - opt)) : NULL;
		if (!eq || !name || !in_list(name, tmpfs_data_keys)) {
			r = berr_invalid(e, "Invalid tmpfs option [\"%s\"]", opt);
			break;
		}
		if (!json_object_get(seen_data, name)) {
			json_object_set_new(seen_data, name, json_true());
			json_array_insert_new(merged, 0, json_string(opt));
		}
	}
	json_decref(in);
	json_decref(seen_data);
	if (r == 0 && !merged)
		r = berr_set(e, ENOMEM, "tmpfs options");
	if (r < 0) {
		json_decref(merged);
		return -1;
	}
	*out = merged;
	return 0;
}

/* ---------- the list being built ---------- */

struct list {
	struct eng_mount *m;
	size_t n, cap;
};

static int list_add(struct list *l, const struct eng_mount *m, berr *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct eng_mount *grown = realloc(l->m, cap * sizeof *grown);
		if (!grown)
			return berr_set(e, ENOMEM, "mounts");
		l->m = grown;
		l->cap = cap;
	}
	l->m[l->n++] = *m;
	return 0;
}

static bool list_has(const struct list *l, const char *dest)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->m[i].destination, dest))
			return true;
	return false;
}

static void mount_clear(struct eng_mount *m)
{
	free(m->source);
	free(m->destination);
	free(m->propagation);
	free(m->options);
	json_decref(m->volume_labels);
	json_decref(m->volume_options);
	memset(m, 0, sizeof *m);
}

void eng_mounts_free(struct eng_mount *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		mount_clear(&m[i]);
	free(m);
}

/* ---------- checks shared by the three sources ---------- */

/* Docker's linuxValidateNotRoot and linuxValidateAbsolute, in that order. */
static int check_destination(const char *dest, berr *e)
{
	_cleanup_free_ char *clean = eng_path_clean(dest);
	if (!clean)
		return berr_set(e, ENOMEM, "mounts");
	if (!strcmp(clean, "/"))
		return berr_invalid(e, "invalid specification: destination can't be '/'");
	if (dest[0] != '/')
		return berr_invalid(e, "invalid mount path: '%s' mount path must be absolute", dest);
	return 0;
}

/* ---------- HostConfig.Binds ---------- */

struct bind_mode {
	bool ro, nocopy, copy;
	const char *propagation;
};

/* Docker's linuxValidMountMode: comma-separated, at most one of each kind. */
static bool parse_mode(const char *mode, struct bind_mode *m, char **prop_out)
{
	memset(m, 0, sizeof *m);
	*prop_out = NULL;
	if (!*mode)
		return true;
	_cleanup_free_ char *copy = strdup(mode);
	if (!copy)
		return false;
	int rw = 0, label = 0, prop = 0, cp = 0, consistency = 0;
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "rw") || !strcmp(o, "ro")) {
			rw++;
			m->ro = !strcmp(o, "ro");
		} else if (!strcmp(o, "z") || !strcmp(o, "Z")) {
			label++; /* SELinux relabelling: nothing to do without SELinux */
		} else if (in_list(o, propagation_modes)) {
			prop++;
			free(*prop_out);
			*prop_out = strdup(o);
		} else if (!strcmp(o, "nocopy")) {
			cp++;
			m->nocopy = true;
		} else if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated")) {
			consistency++;
		} else {
			free(*prop_out);
			*prop_out = NULL;
			return false;
		}
	}
	/* An empty item ("ro,") is not a mode either. */
	if (mode[strlen(mode) - 1] == ',' || strstr(mode, ",,") || mode[0] == ',' || rw > 1 || label > 1 || prop > 1 ||
	    cp > 1 || consistency > 1) {
		free(*prop_out);
		*prop_out = NULL;
		return false;
	}
	m->propagation = *prop_out;
	return true;
}

static int bind_fail(berr *e, const char *raw, const char *type, const char *why)
{
	return berr_invalid(e, "invalid volume specification: '%s': invalid mount config for type \"%s\": %s", raw,
			    type, why);
}

static int parse_bind(const char *raw, struct eng_mount *out, berr *e)
{
	_cleanup_free_ char *copy = strdup(raw);
	if (!copy)
		return berr_set(e, ENOMEM, "Binds");
	/* Split into at most 4 fields on ':' (Go's strings.SplitN(raw, ":", 4)). */
	char *arr[4] = {0};
	size_t n = 0;
	char *p = copy;
	while (n < 3) {
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		arr[n++] = p;
		p = c + 1;
	}
	arr[n++] = p;
	if (!*arr[0])
		return berr_invalid(e, "invalid volume specification: '%s'", raw);
	const char *src = NULL, *dst = NULL, *mode = "";
	struct bind_mode bm;
	_cleanup_free_ char *prop = NULL;
	switch (n) {
	case 1: dst = arr[0]; break;
	case 2:
		/* "/foo:rw" is a destination with a mode, which a volume cannot have. */
		if (parse_mode(arr[1], &bm, &prop))
			return berr_invalid(e, "invalid volume specification: '%s'", raw);
		free(prop);
		prop = NULL;
		src = arr[0];
		dst = arr[1];
		break;
	case 3:
		src = arr[0];
		dst = arr[1];
		mode = arr[2];
		break;
	default: return berr_invalid(e, "invalid volume specification: '%s'", raw);
	}
	if (!parse_mode(mode, &bm, &prop))
		return berr_invalid(e, "invalid mode: %s", mode);
	bool bind = src && src[0] == '/';
	const char *type = bind ? "bind" : "volume";

	/* validateMountConfig: target, then the type's own rules. */
	berr why = {0};
	if (!*dst)
		return bind_fail(e, raw, type, "field Target must not be empty");
	if (check_destination(dst, &why) < 0) {
		bind_fail(e, raw, type, berr_msg(&why));
		berr_clear(&why);
		return -1;
	}
	if (bind) {
		/* A copy mode or a volume driver would be VolumeOptions, which a bind must not have. */
		if (bm.nocopy)
			return bind_fail(e, raw, type, "field VolumeOptions must not be specified");
	} else {
		if (bm.propagation)
			return bind_fail(e, raw, type, "field BindOptions must not be specified");
		if (src && vol_name_check(src, e) < 0)
			return -1;
	}

	memset(out, 0, sizeof *out);
	out->type = bind ? ENG_MOUNT_BIND : ENG_MOUNT_VOLUME;
	out->source = src ? (bind ? eng_path_clean(src) : strdup(src)) : NULL;
	out->destination = eng_path_clean(dst);
	out->read_only = bm.ro;
	out->no_copy = bm.nocopy;
	/* Binds get Docker's default propagation; volumes keep none. */
	if (bind)
		out->propagation = strdup(bm.propagation ? bm.propagation : "rprivate");
	/* Docker makes a missing source directory of a -v bind when the container starts. */
	out->create_source = bind;
	if ((src && !out->source) || !out->destination || (bind && !out->propagation)) {
		mount_clear(out);
		return berr_set(e, ENOMEM, "Binds");
	}
	return 0;
}

/* ---------- HostConfig.Mounts ---------- */

static int mount_fail(berr *e, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int mount_fail(berr *e, const char *type, const char *fmt, ...)
{
	va_list ap;
	char *why = NULL;
	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	berr_invalid(e, "invalid mount config for type \"%s\": %s", type, why ? why : "out of memory");
	free(why);
	return -1;
}

/* Docker's ConvertTmpfsOptions: "ro", "mode=1777" (octal), "size=64m" with the largest exact suffix. */
static char *tmpfs_data_from_options(json_t *opts, bool read_only, const char *type, berr *e)
{
	const char *F = "Mounts.TmpfsOptions";
	int64_t size = 0, mode = 0;
	if (eng_ji64(opts, F, "SizeBytes", &size, e) < 0 || eng_ji64(opts, F, "Mode", &mode, e) < 0)
		return NULL;
	if (size < 0) {
		mount_fail(e, type, "invalid tmpfs size %lld: must not be negative", (long long)size);
		return NULL;
	}
	char buf[128] = "";
	size_t w = 0;
	if (read_only)
		w += (size_t)snprintf(buf + w, sizeof buf - w, "ro");
	if (mode)
		w += (size_t)snprintf(buf + w, sizeof buf - w, "%smode=%llo", w ? "," : "", (unsigned long long)mode);
	if (size) {
		const char *suffix = "";
		if (size % (1LL << 30) == 0) {
			size >>= 30;
			suffix = "g";
		} else if (size % (1LL << 20) == 0) {
			size >>= 20;
			suffix = "m";
		} else if (size % (1LL << 10) == 0) {
			size >>= 10;
			suffix = "k";
		}
		snprintf(buf + w, sizeof buf - w, "%ssize=%lld%s", w ? "," : "", (long long)size, suffix);
	}
	char *s = strdup(buf);
	if (!s)
		berr_set(e, ENOMEM, "Mounts");
	return s;
}

/* VolumeOptions.Labels and DriverConfig, for the volume the mount makes: only the local driver. */
static int volume_options_parse(json_t *vol_opts, struct eng_mount *out, berr *e)
{
	json_t *labels = NULL, *driver = NULL, *options = NULL;
	const char *name = NULL;
	if (eng_jobj(vol_opts, "VolumeOptions", "Labels", &labels, e) < 0 ||
	    eng_jobj(vol_opts, "VolumeOptions", "DriverConfig", &driver, e) < 0 ||
	    eng_jstr(driver, "VolumeOptions.DriverConfig", "Name", &name, e) < 0 ||
	    eng_jobj(driver, "VolumeOptions.DriverConfig", "Options", &options, e) < 0)
		return -1;
	if (name && *name && strcmp(name, "local") != 0)
		return berr_plain(e, ENOENT, "error looking up volume plugin %s: plugin \"%s\" not found", name, name);
	out->volume_labels = json_incref(labels);
	out->volume_options = json_incref(options);
	return 0;
}

static int parse_mount(json_t *mo, size_t idx, struct eng_mount *out, berr *e)
{
	char field[48];
	snprintf(field, sizeof field, "HostConfig.Mounts[%zu]", idx);
	if (!json_is_object(mo))
		return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(mo));
	const char *type = "", *src = "", *dst = "";
	bool ro = false;
	json_t *bind_opts = NULL, *vol_opts = NULL, *tmpfs_opts = NULL;
	if (eng_jstr(mo, field, "Type", &type, e) < 0 || eng_jstr(mo, field, "Source", &src, e) < 0 ||
	    eng_jstr(mo, field, "Target", &dst, e) < 0 || eng_jbool(mo, field, "ReadOnly", &ro, e) < 0 ||
	    eng_jobj(mo, field, "BindOptions", &bind_opts, e) < 0 ||
	    eng_jobj(mo, field, "VolumeOptions", &vol_opts, e) < 0 ||
	    eng_jobj(mo, field, "TmpfsOptions", &tmpfs_opts, e) < 0)
		return -1;

	if (!*dst)
		return mount_fail(e, type, "field Target must not be empty");
	berr why = {0};
	if (check_destination(dst, &why) < 0) {
		mount_fail(e, type, "%s", berr_msg(&why));
		berr_clear(&why);
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->read_only = ro;
	if (!strcmp(type, "bind")) {
		const char *prop = NULL;
		bool non_recursive = false, create = false;
		if (!*src)
			return mount_fail(e, type, "field Source must not be empty");
		if (bind_opts) {
			if (eng_jstr(bind_opts, "BindOptions", "Propagation", &prop, e) < 0 ||
			    eng_jbool(bind_opts, "BindOptions", "NonRecursive", &non_recursive, e) < 0 ||
			    eng_jbool(bind_opts, "BindOptions", "CreateMountpoint", &create, e) < 0)
				return -1;
			if (prop && *prop && !in_list(prop, propagation_modes))
				return mount_fail(e, type, "invalid propagation mode: %s", prop);
		}
		if (vol_opts)
			return mount_fail(e, type, "field VolumeOptions must not be specified");
		if (tmpfs_opts)
			return mount_fail(e, type, "field TmpfsOptions must not be specified");
		if (src[0] != '/')
			return mount_fail(e, type, "invalid mount path: '%s' mount path must be absolute", src);
		struct stat st;
		if (!create && stat(src, &st) < 0) {
			if (errno == ENOENT)
				return mount_fail(e, type, "bind source path does not exist: %s", src);
			return mount_fail(e, type, "stat %s: %s", src, strerror(errno));
		}
		out->type = ENG_MOUNT_BIND;
		out->source = eng_path_clean(src);
		out->propagation = strdup(prop && *prop ? prop : "rprivate");
		out->non_recursive = non_recursive;
		out->create_source = create;
		if (!out->source || !out->propagation)
			goto nomem;
	} else if (!strcmp(type, "volume")) {
		if (bind_opts)
			return mount_fail(e, type, "field BindOptions must not be specified");
		if (tmpfs_opts)
			return mount_fail(e, type, "field TmpfsOptions must not be specified");
		if (vol_opts) {
			const char *subpath = NULL;
			if (eng_jbool(vol_opts, "VolumeOptions", "NoCopy", &out->no_copy, e) < 0 ||
			    eng_jstr(vol_opts, "VolumeOptions", "Subpath", &subpath, e) < 0)
				return -1;
			if (subpath && *subpath)
				return berr_plain(
				    e, ENOTSUP,
				    "invalid mount config for type \"volume\": VolumeOptions.Subpath is not supported");
		}
		if (ro && !*src)
			return mount_fail(e, type, "must not set ReadOnly mode when using anonymous volumes");
		if (*src && vol_name_check(src, e) < 0)
			return -1;
		out->type = ENG_MOUNT_VOLUME;
		if (*src && !(out->source = strdup(src)))
			goto nomem;
		if (vol_opts && volume_options_parse(vol_opts, out, e) < 0) {
			mount_clear(out);
			return -1;
		}
	} else if (!strcmp(type, "tmpfs")) {
		if (bind_opts)
			return mount_fail(e, type, "field BindOptions must not be specified");
		if (vol_opts)
			return mount_fail(e, type, "field VolumeOptions must not be specified");
		if (*src)
			return mount_fail(e, type, "field Source must not be specified");
		out->type = ENG_MOUNT_TMPFS;
		if (!(out->options = tmpfs_data_from_options(tmpfs_opts, ro, type, e)))
			return -1;
		json_t *check = NULL;
		if (eng_tmpfs_options(out->options, ro, &check, e) < 0) {
			mount_clear(out);
			return -1;
		}
		json_decref(check);
	} else {
		return mount_fail(e, type, "mount type unknown");
	}
	if (!(out->destination = eng_path_clean(dst)))
		goto nomem;
	return 0;
nomem:
	mount_clear(out);
	return berr_set(e, ENOMEM, "%s", field);
}

/* ---------- all of them ---------- */

static int add_checked(struct list *l, struct eng_mount *m, berr *e)
{
	if (list_has(l, m->destination)) {
		berr_invalid(e, "Duplicate mount point: %s", m->destination);
		mount_clear(m);
		return -1;
	}
	if (list_add(l, m, e) < 0) {
		mount_clear(m);
		return -1;
	}
	return 0;
}

/* Whether one of HostConfig.Tmpfs's destinations is dest (both cleaned). */
static bool on_tmpfs(json_t *tmpfs, const char *dest)
{
	const char *k;
	json_t *v;
	json_object_foreach (tmpfs, k, v) {
		_cleanup_free_ char *clean = eng_path_clean(k);
		if (clean && !strcmp(clean, dest))
			return true;
	}
	return false;
}

static int parse_all(json_t *hc, json_t *config, struct list *l, berr *e)
{
	if (hc && !json_is_object(hc))
		return berr_invalid(e, "HostConfig: expected an object, got %s", b_json_type_name(hc));
	json_t *binds = NULL, *mounts = NULL, *tmpfs = NULL, *volumes = NULL;
	if (eng_jstrarr(hc, "HostConfig", "Binds", &binds, e) < 0 ||
	    eng_jarr(hc, "HostConfig", "Mounts", &mounts, e) < 0 ||
	    eng_jobj(hc, "HostConfig", "Tmpfs", &tmpfs, e) < 0 ||
	    eng_jobj(config, "Config", "Volumes", &volumes, e) < 0)
		return -1;

	size_t i;
	json_t *v;
	const char *k;
	/* Tmpfs destinations first, so that a bind on one of them is a duplicate (as Docker finds it). */
	json_object_foreach (tmpfs, k, v) {
		if (!json_is_string(v))
			return berr_invalid(e, "HostConfig.Tmpfs.%s: expected a string, got %s", k,
					    b_json_type_name(v));
		if (check_destination(k, e) < 0)
			return -1;
	}
	json_array_foreach (binds, i, v) {
		struct eng_mount m;
		if (parse_bind(json_string_value(v), &m, e) < 0)
			return -1;
		if (on_tmpfs(tmpfs, m.destination)) {
			berr_invalid(e, "Duplicate mount point: %s", m.destination);
			mount_clear(&m);
			return -1;
		}
		if (add_checked(l, &m, e) < 0)
			return -1;
	}
	json_array_foreach (mounts, i, v) {
		struct eng_mount m;
		if (parse_mount(v, i, &m, e) < 0)
			return -1;
		if (add_checked(l, &m, e) < 0)
			return -1;
	}
	json_object_foreach (tmpfs, k, v) {
		struct eng_mount m = {.type = ENG_MOUNT_TMPFS};
		const char *data = json_string_value(v);
		json_t *opts = NULL;
		if (eng_tmpfs_options(data, false, &opts, e) < 0)
			return berr_wrap(e, "HostConfig.Tmpfs %s", k);
		/* read-only when the merged options say "ro" */
		size_t j;
		json_t *o;
		json_array_foreach (opts, j, o)
			if (!strcmp(json_string_value(o), "ro"))
				m.read_only = true;
		json_decref(opts);
		m.destination = eng_path_clean(k);
		m.options = *data ? strdup(data) : NULL;
		if (!m.destination || (*data && !m.options)) {
			mount_clear(&m);
			return berr_set(e, ENOMEM, "HostConfig.Tmpfs");
		}
		if (add_checked(l, &m, e) < 0)
			return -1;
	}
	/* Config.Volumes that nothing else covers become anonymous volumes. */
	json_object_foreach (volumes, k, v) {
		if (check_destination(k, e) < 0)
			return berr_wrap(e, "Config.Volumes");
		struct eng_mount m = {.type = ENG_MOUNT_VOLUME};
		if (!(m.destination = eng_path_clean(k)))
			return berr_set(e, ENOMEM, "Config.Volumes");
		if (list_has(l, m.destination)) {
			mount_clear(&m);
			continue;
		}
		if (list_add(l, &m, e) < 0) {
			mount_clear(&m);
			return -1;
		}
	}
	return 0;
}

int eng_mounts_parse(json_t *host_config, json_t *merged_config, struct eng_mount **out, size_t *n, berr *e)
{
	struct list l = {0};
	*out = NULL;
	*n = 0;
	if (parse_all(host_config, merged_config, &l, e) < 0) {
		eng_mounts_free(l.m, l.n);
		return -1;
	}
	/* An empty list is still an allocation, so that callers can tell it from a failure. */
	if (!l.m && !(l.m = calloc(1, sizeof *l.m)))
		return berr_set(e, ENOMEM, "mounts");
	*out = l.m;
	*n = l.n;
	return 0;
}
