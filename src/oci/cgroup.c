/* The container's cgroup: which hierarchies are mounted, where its directory is in each, and the
 * operations that are alike in every layout (enter, list, kill, remove). */
#include "cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fs.h"
#include "cgroup_internal.h"

#define SYS_CGROUP "/sys/fs/cgroup"

/* ---------- small helpers ---------- */

bool cg_strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* Split s at any of seps, dropping empty pieces; NULL-terminated. */
static char **strv_split(const char *s, const char *seps)
{
	size_t n = 0, cap = 4;
	char **v = calloc(cap, sizeof(*v));
	_cleanup_free_ char *copy = strdup(s);
	if (!v || !copy) {
		free(v);
		return NULL;
	}
	char *save = NULL;
	for (char *tok = strtok_r(copy, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
		}
		if (!(v[n++] = strdup(tok)))
			goto oom;
		v[n] = NULL;
	}
	return v;
oom:
	strv_free(v);
	return NULL;
}

static bool strv_same_set(char *const *a, char *const *b)
{
	if (strv_len(a) != strv_len(b))
		return false;
	for (; a && *a; a++)
		if (!cg_strv_has(b, *a))
			return false;
	return true;
}

/* path is base or lies below it. */
static bool path_under(const char *path, const char *base)
{
	if (!strcmp(base, "/"))
		return path[0] == '/';
	size_t n = strlen(base);
	return !strncmp(path, base, n) && (path[n] == '\0' || path[n] == '/');
}

bool cg_valid_pagesize(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	return digits > 0 && s[digits] && strchr("KMGT", s[digits]) && !strcmp(s + digits + 1, "B");
}

int64_t cg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int cg_err_move(berr *dst, berr *src)
{
	if (dst) {
		berr_clear(dst);
		*dst = *src;
		*src = (berr){0};
	} else {
		berr_clear(src);
	}
	return -1;
}

/* ---------- knobs ---------- */

int (*cg_knob_writer)(const char *path, const char *value, berr *e) = b_write_knob;

int cg_write(const char *dir, const char *file, const char *value, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return berr_set(e, ENOMEM, "writing %s/%s", dir, file);
	return cg_knob_writer(path, value, e);
}

int cg_writef(const char *dir, const char *file, berr *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *value = NULL;
	int r = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (r < 0)
		return berr_set(e, ENOMEM, "writing %s/%s", dir, file);
	return cg_write(dir, file, value, e);
}

int cg_read(const char *dir, const char *file, char **out, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, file) < 0)
		return berr_set(e, ENOMEM, "reading %s/%s", dir, file);
	char *s = NULL;
	size_t len = 0;
	if (b_read_file(path, &s, &len, e) < 0)
		return -1;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	*out = s;
	return 0;
}

bool cg_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *path = NULL;
	return asprintf(&path, "%s/%s", dir, file) >= 0 && b_path_exists(path);
}

int cg_read_u64(const char *dir, const char *file, uint64_t *out, berr *e)
{
	_cleanup_free_ char *s = NULL;
	if (cg_read(dir, file, &s, e) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || errno)
		return berr_set(e, 0, "reading %s/%s: \"%s\" is not a number", dir, file, s);
	*out = v;
	return 0;
}

int cg_check_usage(const char *dir, const char *usage_file, int64_t limit, berr *e)
{
	uint64_t usage;
	if (cg_read_u64(dir, usage_file, &usage, e) < 0)
		return -1;
	if (limit > 0 && usage > (uint64_t)limit)
		return berr_invalid(e, "memory limit %" PRId64 " is below the current usage %" PRIu64 " of %s", limit,
				    usage, dir);
	return 0;
}

int cg_set_pids(const char *dir, const struct oci_resources *r, berr *e)
{
	if (!r->pids.has_limit)
		return 0;
	if (r->pids.limit <= 0)
		return cg_write(dir, "pids.max", "max", e);
	return cg_writef(dir, "pids.max", e, "%lld", (long long)r->pids.limit);
}

int cg_set_cpuset(const char *dir, const struct oci_resources *r, berr *e)
{
	if (r->cpu.cpus && *r->cpu.cpus && cg_write(dir, "cpuset.cpus", r->cpu.cpus, e) < 0)
		return -1;
	if (r->cpu.mems && *r->cpu.mems && cg_write(dir, "cpuset.mems", r->cpu.mems, e) < 0)
		return -1;
	return 0;
}

/* ---------- mountinfo ---------- */

static void hiers_free(struct cg_hier *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].mountpoint);
		free(h[i].mount_root);
		strv_free(h[i].controllers);
		free(h[i].rel);
		free(h[i].dir);
		free(h[i].created_top);
	}
	free(h);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo; undo it in place. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Super options of a v1 mount that are not controllers. */
static bool is_v1_flag(const char *opt)
{
	static const char *const flags[] = {
	    "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "none",
	};
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strcmp(opt, flags[i]))
			return true;
	/* release_agent=... and the like; name=... is the one option that names a hierarchy. */
	return strchr(opt, '=') && strncmp(opt, "name=", 5) != 0;
}

static char **v1_controllers(const char *superopts)
{
	char **opts = strv_split(superopts, ",");
	if (!opts)
		return NULL;
	size_t w = 0;
	for (size_t r = 0; opts[r]; r++) {
		if (is_v1_flag(opts[r]))
			free(opts[r]);
		else
			opts[w++] = opts[r];
	}
	opts[w] = NULL;
	return opts;
}

/* Drop entry i, keeping the order. */
static void hier_remove(struct cg_hier *h, size_t *n, size_t i)
{
	free(h[i].mountpoint);
	free(h[i].mount_root);
	strv_free(h[i].controllers);
	memmove(&h[i], &h[i + 1], (*n - i - 1) * sizeof(*h));
	(*n)--;
}

/* One line of mountinfo; the strings point into a copy of the text. */
struct mnt {
	long id, parent;
	char *root, *mountpoint, *fstype, *superopts;
};

/* "id parent maj:min root mountpoint options [optional fields...] - fstype source superoptions" */
static bool mountinfo_line(char *line, struct mnt *m)
{
	char *f[64];
	size_t nf = 0;
	char *save = NULL;
	for (char *tok = strtok_r(line, " ", &save); tok && nf < ARRAY_SIZE(f); tok = strtok_r(NULL, " ", &save))
		f[nf++] = tok;
	size_t sep = 6;
	while (sep < nf && strcmp(f[sep], "-") != 0)
		sep++;
	if (sep + 3 >= nf)
		return false;
	m->id = strtol(f[0], NULL, 10);
	m->parent = strtol(f[1], NULL, 10);
	m->root = f[3];
	m->mountpoint = f[4];
	m->fstype = f[sep + 1];
	m->superopts = f[sep + 3];
	unescape_octal(m->root);
	unescape_octal(m->mountpoint);
	return true;
}

/*
 * Is mount m out of sight: did another mount go on top of it or of one of its ancestors,
 * over a path that covers m's mountpoint? (mountinfo's order is not the mount order: a
 * root moved in at boot can be listed after its children, so the parent ids decide.)
 */
static bool mount_hidden(const struct mnt *all, size_t n, size_t m)
{
	size_t chain[32], depth = 0; /* m, its parent mount, that one's parent ... */
	for (size_t cur = m; depth < ARRAY_SIZE(chain);) {
		chain[depth++] = cur;
		size_t p = 0;
		while (p < n && (all[p].id != all[cur].parent || p == cur))
			p++;
		if (p == n)
			break;
		cur = p;
	}
	for (size_t i = 0; i < n; i++) {
		if (!path_under(all[m].mountpoint, all[i].mountpoint))
			continue;
		size_t k = 0;
		while (k < depth && chain[k] != i)
			k++;
		if (k < depth)
			continue; /* an ancestor: m is mounted inside it */
		for (k = 0; k < depth && all[i].parent != all[chain[k]].id; k++)
			;
		if (k == depth)
			continue; /* elsewhere in the tree */
		/* i sits on ancestor chain[k]; it hides m unless a mount between them covers i's spot. */
		bool covered = false;
		for (size_t j = 0; j < k && !covered; j++)
			covered = path_under(all[i].mountpoint, all[chain[j]].mountpoint);
		if (!covered)
			return true;
	}
	return false;
}

/* Pick the layout from the hierarchies and drop v1 ones that a unified /sys/fs/cgroup makes moot. */
static int settle_layout(struct cg_hier *h, size_t *n, enum oci_cgroup_layout *layout, berr *e)
{
	bool v1 = false, v2 = false, v2_at_top = false;
	for (size_t i = 0; i < *n; i++) {
		if (h[i].v2) {
			v2 = true;
			v2_at_top |= !strcmp(h[i].mountpoint, SYS_CGROUP);
		} else {
			v1 = true;
		}
	}
	if (v2_at_top) {
		for (size_t i = *n; i-- > 0;)
			if (!h[i].v2)
				hier_remove(h, n, i);
		*layout = OCI_CGROUP_UNIFIED;
	} else if (v1) {
		*layout = v2 ? OCI_CGROUP_HYBRID : OCI_CGROUP_LEGACY;
	} else if (v2) {
		*layout = OCI_CGROUP_UNIFIED;
	} else {
		return berr_set(e, ENOENT, "no cgroup filesystem is mounted under " SYS_CGROUP);
	}
	return 0;
}

/*
 * The cgroup hierarchies of a mountinfo text: visible mounts under /sys/fs/cgroup, one entry
 * per hierarchy.
 * With sysfs_root set, mountpoints are rewritten from /sys/fs/cgroup to it.
 */
static int mounts_parse(const char *mountinfo, const char *sysfs_root, struct cg_hier **out, size_t *n_out,
			enum oci_cgroup_layout *layout, berr *e)
{
	struct cg_hier *h = NULL;
	size_t n = 0, cap = 0, nm = 0, mcap = 0;
	_cleanup_free_ struct mnt *all = NULL;
	_cleanup_free_ char *text = strdup(mountinfo ? mountinfo : "");
	if (!text)
		return berr_set(e, ENOMEM, "parsing mountinfo");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (nm == mcap) {
			struct mnt *na = realloc(all, (mcap = mcap ? mcap * 2 : 64) * sizeof(*all));
			if (!na)
				goto oom;
			all = na;
		}
		if (mountinfo_line(line, &all[nm]))
			nm++;
	}
	for (size_t i = 0; i < nm; i++) {
		const struct mnt *m = &all[i];
		bool v2 = !strcmp(m->fstype, "cgroup2");
		if ((!v2 && strcmp(m->fstype, "cgroup") != 0) || !path_under(m->mountpoint, SYS_CGROUP) ||
		    mount_hidden(all, nm, i))
			continue;
		char **ctrls = v2 ? calloc(1, sizeof(char *)) : v1_controllers(m->superopts);
		if (!ctrls)
			goto oom;
		/* One entry per hierarchy, however often it is mounted. */
		bool dup = !v2 && !ctrls[0];
		for (size_t j = 0; j < n && !dup; j++)
			dup = h[j].v2 == v2 && (v2 || strv_same_set(h[j].controllers, ctrls));
		if (dup) {
			strv_free(ctrls);
			continue;
		}
		if (n == cap) {
			struct cg_hier *nh = realloc(h, (cap = cap ? cap * 2 : 16) * sizeof(*h));
			if (!nh) {
				strv_free(ctrls);
				goto oom;
			}
			h = nh;
		}
		h[n++] = (struct cg_hier){
		    .v2 = v2,
		    .controllers = ctrls,
		    .mountpoint = strdup(m->mountpoint),
		    .mount_root = strdup(m->root),
		};
		if (!h[n - 1].mountpoint || !h[n - 1].mount_root)
			goto oom;
	}
	enum oci_cgroup_layout lay;
	if (settle_layout(h, &n, &lay, e) < 0) {
		hiers_free(h, n);
		return -1;
	}
	if (sysfs_root) {
		for (size_t i = 0; i < n; i++) {
			char *m = NULL;
			if (asprintf(&m, "%s%s", sysfs_root, h[i].mountpoint + strlen(SYS_CGROUP)) < 0)
				goto oom;
			free(h[i].mountpoint);
			h[i].mountpoint = m;
		}
	}
	*layout = lay;
	*out = h;
	*n_out = n;
	return 0;
oom:
	hiers_free(h, n);
	return berr_set(e, ENOMEM, "parsing mountinfo");
}

int oci_cgroup_detect_layout(const char *mountinfo_text, enum oci_cgroup_layout *out, berr *e)
{
	struct cg_hier *h = NULL;
	size_t n = 0;
	if (mounts_parse(mountinfo_text, NULL, &h, &n, out, e) < 0)
		return -1;
	hiers_free(h, n);
	return 0;
}

/* ---------- where the container's cgroup is ---------- */

/* Lexically clean an absolute path: "//", "." and ".." (stopping at "/") go, no trailing "/". */
static char *path_clean(const char *p)
{
	char *out = malloc(strlen(p) + 2);
	if (!out)
		return NULL;
	size_t w = 0;
	for (const char *s = p; *s;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		const char *end = strchrnul(s, '/');
		size_t l = (size_t)(end - s);
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			while (w > 0 && out[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
		} else if (!(l == 1 && s[0] == '.')) {
			out[w++] = '/';
			memcpy(out + w, s, l);
			w += l;
		}
		s = end;
	}
	if (w == 0)
		out[w++] = '/';
	out[w] = '\0';
	return out;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* runc's --systemd-cgroup form "slice:prefix:name": no leading "/", exactly two colons. */
static bool is_systemd_form(const char *p)
{
	const char *c1 = strchr(p, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	return p[0] != '/' && c2 && !strchr(c2 + 1, ':');
}

/*
 * "a-b.slice:prefix:name" -> "/a.slice/a-b.slice/prefix-name.scope": the cgroup systemd
 * gives that scope, so that cgroupfs and systemd-managed hosts agree on where it lives.
 */
static int systemd_expand(const char *in, char **out, berr *e)
{
	const char *c1 = strchr(in, ':'), *c2 = strchr(c1 + 1, ':');
	_cleanup_free_ char *slice = strndup(in, (size_t)(c1 - in));
	_cleanup_free_ char *prefix = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
	const char *name = c2 + 1;
	if (!slice || !prefix)
		return berr_set(e, ENOMEM, "cgroups path %s", in);
	if (strchr(in, '/') || !*name)
		return berr_invalid(e, "cgroups path \"%s\": expected \"slice:prefix:name\"", in);
	if (!*slice) {
		free(slice);
		if (!(slice = strdup("system.slice")))
			return berr_set(e, ENOMEM, "cgroups path %s", in);
	}
	bool root_slice = !strcmp(slice, "-.slice");
	size_t stem = ends_with(slice, ".slice") ? strlen(slice) - strlen(".slice") : 0;
	if (!root_slice && (stem == 0 || slice[0] == '-' || slice[stem - 1] == '-' || strstr(slice, "--")))
		return berr_invalid(e, "cgroups path \"%s\": \"%s\" is not a slice name", in, slice);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return berr_sys(e, "cgroups path %s", in);
	/* Each dash opens a nested slice: a-b-c.slice lives in a.slice/a-b.slice/. */
	if (!root_slice)
		for (size_t i = 0; i <= stem; i++)
			if (i == stem || slice[i] == '-')
				fprintf(f, "/%.*s.slice", (int)i, slice);
	if (ends_with(name, ".slice"))
		fprintf(f, "/%s", name);
	else if (*prefix)
		fprintf(f, "/%s-%s.scope", prefix, name);
	else
		fprintf(f, "/%s.scope", name);
	if (fclose(f) != 0) {
		free(buf);
		return berr_set(e, ENOMEM, "cgroups path %s", in);
	}
	*out = buf;
	return 0;
}

/* The cgroupsPath to resolve: as given, expanded from the systemd form, or "/<id>". */
static int wanted_path(const char *cgroups_path, const char *id, char **out, berr *e)
{
	if (cgroups_path && *cgroups_path) {
		if (is_systemd_form(cgroups_path))
			return systemd_expand(cgroups_path, out, e);
		*out = strdup(cgroups_path);
	} else {
		if (!id || !*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
			return berr_invalid(e, "container id \"%s\" cannot name a cgroup", id ? id : "");
		if (asprintf(out, "/%s", id) < 0)
			*out = NULL;
	}
	return *out ? 0 : berr_set(e, ENOMEM, "cgroups path");
}

/* The process's cgroup in hierarchy h from a /proc/self/cgroup text; "/" when it is not listed. */
static char *self_cgroup_of(const char *text, const struct cg_hier *h)
{
	_cleanup_free_ char *copy = strdup(text ? text : "");
	if (!copy)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* hierarchy-id:controller-list:path */
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		bool match;
		if (h->v2) {
			match = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
		} else {
			char **ctrls = strv_split(c1 + 1, ",");
			if (!ctrls)
				return NULL;
			match = ctrls[0] && strv_same_set(ctrls, h->controllers);
			strv_free(ctrls);
		}
		if (match)
			return strdup(c2 + 1);
	}
	return strdup("/");
}

/* Set h->rel and h->dir for the wanted path (absolute, or relative to our own cgroup). */
static int resolve(struct cg_hier *h, const char *want, const char *self_text, berr *e)
{
	_cleanup_free_ char *joined = NULL;
	if (want[0] == '/') {
		joined = strdup(want);
	} else {
		_cleanup_free_ char *self = self_cgroup_of(self_text, h);
		if (!self)
			return berr_set(e, ENOMEM, "resolving cgroups path %s", want);
		/* /proc/self/cgroup names hierarchy paths; the mount shows mount_root at its top. */
		const char *under = self;
		if (strcmp(h->mount_root, "/") != 0) {
			if (!path_under(self, h->mount_root))
				return berr_set(e, ENOENT,
						"resolving cgroups path %s: this process's cgroup %s is outside the "
						"part %s of the hierarchy mounted at %s",
						want, self, h->mount_root, h->mountpoint);
			under = self + strlen(h->mount_root);
		}
		if (asprintf(&joined, "%s/%s", under, want) < 0)
			joined = NULL;
	}
	if (!joined || !(h->rel = path_clean(joined)) || asprintf(&h->dir, "%s%s", h->mountpoint, h->rel) < 0) {
		h->dir = NULL;
		return berr_set(e, ENOMEM, "resolving cgroups path %s", want);
	}
	if (!strcmp(h->rel, "/"))
		return berr_invalid(e, "cgroups path \"%s\" resolves to the root cgroup of %s", want, h->mountpoint);
	return 0;
}

/* A v2 hierarchy's controllers: its top's cgroup.controllers (none when unreadable). */
static int read_v2_controllers(struct cg_hier *h, berr *e)
{
	_cleanup_free_ char *s = NULL;
	berr ignored = {0};
	if (cg_read(h->mountpoint, "cgroup.controllers", &s, &ignored) < 0) {
		berr_clear(&ignored);
		return 0;
	}
	char **v = strv_split(s, " \t\n");
	if (!v)
		return berr_set(e, ENOMEM, "reading %s/cgroup.controllers", h->mountpoint);
	strv_free(h->controllers);
	h->controllers = v;
	return 0;
}

static struct cg_hier *v1_with(const struct oci_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->h[i].v2 && cg->h[i].present && cg_strv_has(cg->h[i].controllers, controller))
			return &cg->h[i];
	return NULL;
}

static struct cg_hier *unified_of(const struct oci_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2 && cg->h[i].present)
			return &cg->h[i];
	return NULL;
}

/* Where freezing happens: the v1 freezer, else cgroup.freeze of cgroup2. */
static struct cg_hier *freezer_of(const struct oci_cgroup *cg)
{
	struct cg_hier *h = v1_with(cg, "freezer");
	return h ? h : unified_of(cg);
}

/* The hierarchy that names the container (path, process list): the freezer's, else the first. */
static struct cg_hier *primary(const struct oci_cgroup *cg)
{
	struct cg_hier *h = freezer_of(cg);
	for (size_t i = 0; !h && i < cg->n; i++)
		if (cg->h[i].present)
			h = &cg->h[i];
	return h;
}

/* ---------- resources ---------- */

static bool memory_wanted(const struct oci_resources *r)
{
	return (r->memory.has_limit && r->memory.limit) || (r->memory.has_reservation && r->memory.reservation) ||
	       (r->memory.has_swap && r->memory.swap) || (r->memory.has_kernel && r->memory.kernel) ||
	       (r->memory.has_kernel_tcp && r->memory.kernel_tcp) || r->memory.has_swappiness ||
	       (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
}

static bool cpu_wanted(const struct oci_resources *r)
{
	return (r->cpu.has_shares && r->cpu.shares) || (r->cpu.has_quota && r->cpu.quota) ||
	       (r->cpu.has_period && r->cpu.period) || (r->cpu.has_realtime_runtime && r->cpu.realtime_runtime) ||
	       (r->cpu.has_realtime_period && r->cpu.realtime_period) || r->cpu.has_idle;
}

static bool cpuset_wanted(const struct oci_resources *r)
{
	return (r->cpu.cpus && *r->cpu.cpus) || (r->cpu.mems && *r->cpu.mems);
}

static bool pids_wanted(const struct oci_resources *r)
{
	return r->pids.has_limit;
}

static bool io_wanted(const struct oci_resources *r)
{
	return (r->block_io.has_weight && r->block_io.weight) ||
	       (r->block_io.has_leaf_weight && r->block_io.leaf_weight) || r->block_io.n_weight_device ||
	       r->block_io.n_throttle_read_bps || r->block_io.n_throttle_write_bps ||
	       r->block_io.n_throttle_read_iops || r->block_io.n_throttle_write_iops;
}

static bool hugetlb_wanted(const struct oci_resources *r)
{
	return r->n_hugepage_limits > 0;
}

static bool devices_wanted(const struct oci_resources *r)
{
	return r->n_devices > 0;
}

typedef int (*cg_setter)(const char *dir, const struct oci_resources *r, berr *e);

/* One controller's resources, and where they go in v1 and in v2. */
static const struct controller {
	const char *v1, *v2; /* v2 NULL: done by cgroup2 itself (BPF), any directory will do */
	bool (*wanted)(const struct oci_resources *r);
	cg_setter set_v1, set_v2;
} controllers[] = {
    /* cpuset first: on v1 nothing may enter before it has cpus and mems. */
    {"cpuset", "cpuset", cpuset_wanted, cg_set_cpuset, cg_set_cpuset},
    {"memory", "memory", memory_wanted, cg_v1_set_memory, cg_v2_set_memory},
    {"cpu", "cpu", cpu_wanted, cg_v1_set_cpu, cg_v2_set_cpu},
    {"pids", "pids", pids_wanted, cg_set_pids, cg_set_pids},
    {"blkio", "io", io_wanted, cg_v1_set_blkio, cg_v2_set_io},
    {"hugetlb", "hugetlb", hugetlb_wanted, cg_v1_set_hugetlb, cg_v2_set_hugetlb},
    {"devices", NULL, devices_wanted, cg_v1_set_devices, cg_v2_set_devices},
};

/* The v2 controllers res needs enabled (unified keys count by their prefix). */
static char **needed_controllers(const struct oci_resources *r)
{
	size_t cap = ARRAY_SIZE(controllers) + 1 + (r ? strv_len(r->unified) / 2 : 0), n = 0;
	char **v = calloc(cap, sizeof(*v));
	if (!v || !r)
		return v;
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++)
		if (controllers[i].v2 && controllers[i].wanted(r) && !(v[n++] = strdup(controllers[i].v2)))
			goto oom;
	for (char **kv = r->unified; kv && kv[0] && kv[1]; kv += 2) {
		const char *dot = strchr(kv[0], '.');
		if (!dot || !strncmp(kv[0], "cgroup.", 7))
			continue;
		if (!(v[n++] = strndup(kv[0], (size_t)(dot - kv[0]))))
			goto oom;
	}
	return v;
oom:
	strv_free(v);
	return NULL;
}

static const char *layout_name(enum oci_cgroup_layout l)
{
	return l == OCI_CGROUP_UNIFIED ? "cgroup v2" : l == OCI_CGROUP_HYBRID ? "hybrid" : "cgroup v1";
}

static int apply(struct oci_cgroup *cg, const struct oci_resources *r, berr *e)
{
	if (r->unified && r->unified[0] && cg->layout != OCI_CGROUP_UNIFIED)
		return berr_invalid(e, "unified resources (\"%s\") need cgroup v2, and this host's cgroups are %s",
				    r->unified[0], layout_name(cg->layout));
	for (size_t i = 0; i < ARRAY_SIZE(controllers); i++) {
		const struct controller *c = &controllers[i];
		if (!c->wanted(r))
			continue;
		/* v1 where mounted; else cgroup2 when it offers the controller (hugetlb on hybrid hosts). */
		struct cg_hier *h = v1_with(cg, c->v1);
		if (!h) {
			h = unified_of(cg);
			if (h && c->v2 && !cg_strv_has(h->controllers, c->v2))
				h = NULL;
		}
		if (!h)
			return berr_set(e, ENOTSUP, "%s limits are set, but no cgroup hierarchy has the %s controller",
					c->v1, c->v1);
		if ((h->v2 ? c->set_v2 : c->set_v1)(h->dir, r, e) < 0)
			return -1;
	}
	struct cg_hier *u = unified_of(cg);
	if (r->unified && r->unified[0] && u)
		return cg_v2_set_unified(u->dir, r, e);
	return 0;
}

int oci_cgroup_update(struct oci_cgroup *cg, const struct oci_resources *res, berr *e)
{
	return res ? apply(cg, res, e) : 0;
}

/* ---------- open ---------- */

/* mkdir every level of the container's cgroup in h, preparing each as the kernel wants. */
static int create_in(struct cg_hier *h, bool all_controllers, char *const *needed, berr *e)
{
	_cleanup_free_ char *cur = strdup(h->dir);
	if (!cur)
		return berr_set(e, ENOMEM, "creating cgroup %s", h->dir);
	for (char *s = cur + strlen(h->mountpoint) + 1;;) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		_cleanup_free_ char *parent = strndup(cur, (size_t)(s - 1 - cur));
		if (!parent)
			return berr_set(e, ENOMEM, "creating cgroup %s", h->dir);
		/* v2: a child gets only the controllers its parent passes down. */
		if (h->v2 && cg_v2_enable_controllers(parent, all_controllers, needed, e) < 0)
			return -1;
		if (mkdir(cur, 0755) == 0) {
			if (!h->created_top && !(h->created_top = strdup(cur)))
				return berr_set(e, ENOMEM, "creating cgroup %s", h->dir);
		} else if (errno != EEXIST) {
			return berr_sys(e, "creating cgroup directory %s", cur);
		}
		if (!h->v2 && cg_strv_has(h->controllers, "cpuset") && cg_v1_cpuset_inherit(cur, parent, e) < 0)
			return -1;
		if (!slash)
			break;
		*slash = '/';
		s = slash + 1;
	}
	h->present = true;
	return 0;
}

/* Remove what a failed create made, leaf first, up to the first level it made. */
static void undo_create(struct oci_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		if (!h->created_top)
			continue;
		_cleanup_free_ char *p = strdup(h->dir);
		while (p) {
			rmdir(p);
			char *slash = strrchr(p, '/');
			if (!strcmp(p, h->created_top) || !slash || slash == p)
				break;
			*slash = '\0';
		}
	}
}

static int create_all(struct oci_cgroup *cg, const struct oci_resources *res, berr *e)
{
	_cleanup_strv_ char **needed = needed_controllers(res);
	if (!needed)
		return berr_set(e, ENOMEM, "creating cgroup");
	for (size_t i = 0; i < cg->n; i++) {
		/* Hybrid: cgroup2 holds the processes; it gets controllers only for what v1 lacks. */
		if (create_in(&cg->h[i], cg->layout == OCI_CGROUP_UNIFIED, needed, e) < 0)
			return -1;
	}
	return res ? apply(cg, res, e) : 0;
}

int oci_cgroup_open_at(const char *sysfs_cgroup_root, const char *mountinfo_text, const char *self_cgroup_text,
		       const char *cgroups_path, const char *id, bool create, const struct oci_resources *res,
		       struct oci_cgroup **out, berr *e)
{
	*out = NULL;
	_cleanup_free_ char *want = NULL;
	if (wanted_path(cgroups_path, id, &want, e) < 0)
		return -1;
	struct oci_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return berr_set(e, ENOMEM, "opening cgroup %s", want);
	if (mounts_parse(mountinfo_text, sysfs_cgroup_root, &cg->h, &cg->n, &cg->layout, e) < 0)
		goto fail;
	for (size_t i = 0; i < cg->n; i++) {
		struct cg_hier *h = &cg->h[i];
		if ((h->v2 && read_v2_controllers(h, e) < 0) || resolve(h, want, self_cgroup_text, e) < 0)
			goto fail;
		struct stat st;
		h->present = stat(h->dir, &st) == 0 && S_ISDIR(st.st_mode);
	}
	if (create) {
		if (create_all(cg, res, e) < 0) {
			undo_create(cg);
			goto fail;
		}
	} else if (!primary(cg)) {
		berr_set(e, ENOENT, "cgroup %s does not exist", want);
		goto fail;
	}
	if (!(cg->path = strdup(primary(cg)->rel))) {
		berr_set(e, ENOMEM, "opening cgroup %s", want);
		goto fail;
	}
	*out = cg;
	return 0;
fail:
	oci_cgroup_free(cg);
	return -1;
}

int oci_cgroup_open(const char *cgroups_path, const char *id, bool create, const struct oci_resources *res,
		    struct oci_cgroup **out, berr *e)
{
	_cleanup_free_ char *mountinfo = NULL, *self = NULL;
	if (b_read_file("/proc/self/mountinfo", &mountinfo, NULL, e) < 0 ||
	    b_read_file("/proc/self/cgroup", &self, NULL, e) < 0)
		return -1;
	return oci_cgroup_open_at(SYS_CGROUP, mountinfo, self, cgroups_path, id, create, res, out, e);
}

void oci_cgroup_free(struct oci_cgroup *cg)
{
	if (!cg)
		return;
	hiers_free(cg->h, cg->n);
	free(cg->path);
	free(cg);
}

const char *oci_cgroup_path(const struct oci_cgroup *cg)
{
	return cg->path;
}

enum oci_cgroup_layout oci_cgroup_layout_of(const struct oci_cgroup *cg)
{
	return cg->layout;
}

const char *oci_cgroup_controller_dir(const struct oci_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!cg->h[i].v2 && cg_strv_has(cg->h[i].controllers, controller))
			return cg->h[i].dir;
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].v2 && (!strcmp(controller, "unified") || cg_strv_has(cg->h[i].controllers, controller)))
			return cg->h[i].dir;
	return NULL;
}

/* ---------- processes ---------- */

int oci_cgroup_enter(struct oci_cgroup *cg, pid_t pid, berr *e)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->h[i].present && cg_writef(cg->h[i].dir, "cgroup.procs", e, "%d", (int)pid) < 0)
			return -1;
	return 0;
}

static bool entry_is_dir(DIR *d, const struct dirent *de)
{
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
		return false;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	struct stat st;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

/* The processes of dir and of every cgroup below it; a cgroup that vanishes meanwhile has none. */
static int collect_pids(const char *dir, struct pid_list *l, berr *e)
{
	_cleanup_free_ char *procs = NULL;
	berr le = {0};
	if (cg_read(dir, "cgroup.procs", &procs, &le) < 0) {
		if (le.errnum == ENOENT) {
			berr_clear(&le);
			return 0;
		}
		return cg_err_move(e, &le);
	}
	for (char *p = procs; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (l->n == l->cap) {
			pid_t *nv = realloc(l->v, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof(*nv));
			if (!nv)
				return berr_set(e, ENOMEM, "listing the processes of %s", dir);
			l->v = nv;
		}
		l->v[l->n++] = (pid_t)pid;
		p = end;
	}
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : berr_sys(e, "listing cgroup %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!entry_is_dir(d, de))
			continue;
		_cleanup_free_ char *child = NULL;
		if (asprintf(&child, "%s/%s", dir, de->d_name) < 0)
			return berr_set(e, ENOMEM, "listing cgroup %s", dir);
		if (collect_pids(child, l, e) < 0)
			return -1;
	}
	return 0;
}

int oci_cgroup_pids(struct oci_cgroup *cg, pid_t **pids, size_t *n, berr *e)
{
	struct pid_list l = {0};
	*pids = NULL;
	*n = 0;
	struct cg_hier *h = primary(cg);
	if (h && collect_pids(h->dir, &l, e) < 0) {
		free(l.v);
		return -1;
	}
	*pids = l.v;
	*n = l.n;
	return 0;
}

static int freeze_in(const struct cg_hier *h, bool frozen, berr *e)
{
	return h->v2 ? cg_v2_freeze(h->dir, frozen, e) : cg_v1_freeze(h->dir, frozen, e);
}

int oci_cgroup_freeze(struct oci_cgroup *cg, bool frozen, berr *e)
{
	struct cg_hier *h = freezer_of(cg);
	if (!h)
		return berr_set(e, ENOTSUP, "freezing cgroup %s: no freezer hierarchy and no cgroup2", cg->path);
	return freeze_in(h, frozen, e);
}

int oci_cgroup_is_frozen(struct oci_cgroup *cg, bool *frozen, berr *e)
{
	struct cg_hier *h = freezer_of(cg);
	if (!h)
		return berr_set(e, ENOTSUP, "cgroup %s: no freezer hierarchy and no cgroup2", cg->path);
	return h->v2 ? cg_v2_is_frozen(h->dir, frozen, e) : cg_v1_is_frozen(h->dir, frozen, e);
}

int oci_cgroup_kill_all(struct oci_cgroup *cg, int sig, berr *e)
{
	/* cgroup2 holds every process in hybrid too, and cgroup.kill misses no fork. */
	struct cg_hier *u = unified_of(cg);
	if (sig == SIGKILL && u) {
		bool done = false;
		if (cg_v2_kill(u->dir, &done, e) < 0)
			return -1;
		if (done)
			return 0;
	}
	/* Otherwise freeze while signalling, so that no process forks a child we would miss. */
	struct cg_hier *fz = freezer_of(cg);
	bool was_frozen = true, froze = false;
	if (fz && oci_cgroup_is_frozen(cg, &was_frozen, NULL) == 0 && !was_frozen)
		froze = freeze_in(fz, true, NULL) == 0;
	pid_t *pids = NULL;
	size_t n = 0;
	int r = oci_cgroup_pids(cg, &pids, &n, e);
	for (size_t i = 0; i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH && r == 0)
			r = berr_sys(e, "signalling process %d of cgroup %s", (int)pids[i], cg->path);
	free(pids);
	if (froze) {
		berr te = {0};
		if (freeze_in(fz, false, &te) < 0 && r == 0)
			r = cg_err_move(e, &te);
		berr_clear(&te);
	}
	return r;
}

/* rmdir, retrying for about a second while the kernel still counts exiting processes. */
static int rmdir_retry(const char *dir, berr *e)
{
	for (long delay_ms = 1;; delay_ms *= 2) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || delay_ms > 512)
			return berr_sys(e, "removing cgroup %s", dir);
		cg_sleep_ms(delay_ms);
	}
}

static int remove_tree(const char *dir, berr *e)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : berr_sys(e, "opening cgroup %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!entry_is_dir(d, de))
			continue;
		_cleanup_free_ char *child = NULL;
		if (asprintf(&child, "%s/%s", dir, de->d_name) < 0)
			return berr_set(e, ENOMEM, "removing cgroup %s", dir);
		if (remove_tree(child, e) < 0)
			return -1;
	}
	return rmdir_retry(dir, e);
}

int oci_cgroup_destroy(struct oci_cgroup *cg, berr *e)
{
	int r = 0;
	for (size_t i = 0; i < cg->n; i++) {
		berr le = {0};
		if (remove_tree(cg->h[i].dir, &le) < 0 && r == 0)
			r = cg_err_move(e, &le);
		berr_clear(&le);
		cg->h[i].present = false;
	}
	return r;
}

int cg_set_hugetlb(const char *dir, const struct oci_resources *r, const char *suffix, berr *e)
{
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *h = &r->hugepage_limits[i];
		if (!h->page_size || !cg_valid_pagesize(h->page_size))
			return berr_invalid(e, "hugepage size \"%s\" should look like \"2MB\"",
					    h->page_size ? h->page_size : "");
		_cleanup_free_ char *file = NULL, *rsvd = NULL;
		if (asprintf(&file, "hugetlb.%s.%s", h->page_size, suffix) < 0 ||
		    asprintf(&rsvd, "hugetlb.%s.rsvd.%s", h->page_size, suffix) < 0)
			return berr_set(e, ENOMEM, "setting hugetlb limits in %s", dir);
		if (cg_writef(dir, file, e, "%" PRIu64, h->limit) < 0)
			return -1;
		/* Reservations count too where the kernel tracks them (5.7+). */
		if (cg_exists(dir, rsvd) && cg_writef(dir, rsvd, e, "%" PRIu64, h->limit) < 0)
			return -1;
	}
	return 0;
}
