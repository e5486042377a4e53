/*
 * Config.User and HostConfig.GroupAdd -> uid, gid and additional gids, read from the rootfs's
 * /etc/passwd and /etc/group with the rules of runc's GetExecUser and GetAdditionalGroups, which
 * Docker uses, and their messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "lib/fs.h"

#define MAX_ID         2147483647L /* runc's maxID: ids are 31-bit */
#define MAX_TABLE_SIZE (32 << 20)

struct entry {
	char *name;
	long id, gid; /* passwd: uid and gid; group: gid */
	char *home;
	char **members; /* group: NULL-terminated */
};

struct table {
	struct entry *e;
	size_t n;
	bool present; /* the file exists */
};

static void entry_free(struct entry *en)
{
	free(en->name);
	free(en->home);
	for (char **m = en->members; m && *m; m++)
		free(*m);
	free(en->members);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		entry_free(&t->e[i]);
	free(t->e);
	memset(t, 0, sizeof *t);
}

/* A decimal id, or -1. */
static long parse_id(const char *s)
{
	if (!*s)
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		return -1;
	return v;
}

/* Split a line on ':' into at most n fields (missing ones are ""). */
static void split_fields(char *line, char **f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f[i] = line;
		char *c = line ? strchr(line, ':') : NULL;
		if (c) {
			*c = '\0';
			line = c + 1;
		} else {
			line = NULL;
		}
		if (!f[i])
			f[i] = "";
	}
}

static char **split_members(const char *list)
{
	size_t n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	size_t k = 0;
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len && !(v[k++] = strndup(p, len)))
			break;
		p += len;
		if (*p == ',')
			p++;
	}
	return v;
}

/*
 * Read /etc/passwd or /etc/group of the rootfs. Opened inside it (RESOLVE_IN_ROOT), non-blocking
 * (a FIFO planted by an image must not hang the daemon) and only when a regular file.
 */
static int table_read(int rootfd, const char *path, bool group, struct table *t, berr *e)
{
	memset(t, 0, sizeof *t);
	_cleanup_close_ int fd = b_open_in_root(rootfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return berr_sys(e, "opening %s in the container's root", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "%s in the container's root", path);
	if (!S_ISREG(st.st_mode))
		return berr_invalid(e, "%s in the container's root is not a regular file", path);
	/* An image could ship a huge one to exhaust the daemon's memory; real ones are a few KiB. */
	if (st.st_size > MAX_TABLE_SIZE)
		return berr_invalid(e, "%s in the container's root is larger than %d MiB", path, MAX_TABLE_SIZE >> 20);
	FILE *f = fdopen(fd, "r");
	if (!f)
		return berr_sys(e, "reading %s", path);
	fd = -1;
	t->present = true;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
				   line[len - 1] == '\t'))
			line[--len] = '\0';
		char *start = line + strspn(line, " \t");
		if (!*start)
			continue;
		char *f_[7];
		split_fields(start, f_, group ? 4 : 7);
		struct entry en = {.id = parse_id(f_[2]), .gid = group ? -1 : parse_id(f_[3])};
		if (en.id < 0)
			continue; /* a line we cannot read names nobody */
		en.name = strdup(f_[0]);
		en.home = group ? NULL : strdup(f_[5]);
		en.members = group ? split_members(f_[3]) : NULL;
		struct entry *grown = realloc(t->e, (t->n + 1) * sizeof *grown);
		if (grown)
			t->e = grown;
		if (!grown || !en.name || (!group && !en.home) || (group && !en.members)) {
			/* Owned by the table from here, so that one free path releases it. */
			if (grown)
				t->e[t->n++] = en;
			else
				entry_free(&en);
			r = berr_set(e, ENOMEM, "reading %s", path);
			break;
		}
		t->e[t->n++] = en;
	}
	if (r == 0 && ferror(f))
		r = berr_sys(e, "reading %s", path);
	fclose(f);
	return r;
}

void eng_user_free(struct eng_user *u)
{
	free(u->gids);
	free(u->home);
	memset(u, 0, sizeof *u);
}

static int add_gid(struct eng_user *u, uint32_t gid, bool dedupe, berr *e)
{
	if (dedupe)
		for (size_t i = 0; i < u->n_gids; i++)
			if (u->gids[i] == gid)
				return 0;
	uint32_t *grown = realloc(u->gids, (u->n_gids + 1) * sizeof *grown);
	if (!grown)
		return berr_set(e, ENOMEM, "groups");
	u->gids = grown;
	u->gids[u->n_gids++] = gid;
	return 0;
}

/* The user and its primary group ("user" or "user:group"), and its groups when named implicitly. */
static int resolve_user(const struct table *pw, const struct table *gr, const char *spec, struct eng_user *u,
			const char **home, berr *e)
{
	_cleanup_free_ char *copy = strdup(spec ? spec : "");
	if (!copy)
		return berr_set(e, ENOMEM, "user");
	char *colon = strchr(copy, ':');
	const char *user_arg = copy, *group_arg = colon ? colon + 1 : "";
	if (colon) {
		*colon = '\0';
		/* A third field is ignored, as runc's parseLine does. */
		char *more = strchr(colon + 1, ':');
		if (more)
			*more = '\0';
	}
	long uid_arg = parse_id(user_arg), gid_arg = parse_id(group_arg);

	u->uid = 0;
	u->gid = 0;
	*home = "/";
	const char *matched = NULL;
	for (size_t i = 0; i < pw->n && !matched; i++) {
		const struct entry *p = &pw->e[i];
		if (!*user_arg ? p->id == 0 : uid_arg >= 0 ? p->id == uid_arg : !strcmp(p->name, user_arg)) {
			matched = p->name;
			u->uid = (uint32_t)p->id;
			u->gid = p->gid >= 0 ? (uint32_t)p->gid : 0;
			*home = p->home;
		}
	}
	if (!matched && *user_arg) {
		/* The same words whether the file is missing or has no such line. */
		if (uid_arg < 0)
			return berr_invalid(e, "unable to find user %s: no matching entries in passwd file", user_arg);
		if (uid_arg > MAX_ID)
			return berr_invalid(e, "uids and gids must be in range 0-%ld", MAX_ID);
		u->uid = (uint32_t)uid_arg;
	}

	if (*group_arg) {
		bool found = false;
		for (size_t i = 0; i < gr->n && !found; i++) {
			const struct entry *g = &gr->e[i];
			if (gid_arg >= 0 ? g->id == gid_arg : !strcmp(g->name, group_arg)) {
				u->gid = (uint32_t)g->id;
				found = true;
			}
		}
		if (!found) {
			if (gid_arg < 0)
				return berr_invalid(e, "unable to find group %s: no matching entries in group file",
						    group_arg);
			if (gid_arg > MAX_ID)
				return berr_invalid(e, "uids and gids must be in range 0-%ld", MAX_ID);
			u->gid = (uint32_t)gid_arg;
		}
	}
	/* Docker lists the primary gid first, then (implicit form only) the groups naming the user. */
	if (add_gid(u, u->gid, false, e) < 0)
		return -1;
	if (*group_arg || !matched)
		return 0;
	for (size_t i = 0; i < gr->n; i++) {
		bool member = false;
		for (char **m = gr->e[i].members; m && *m && !member; m++)
			member = !strcmp(*m, matched);
		if (member && add_gid(u, (uint32_t)gr->e[i].id, false, e) < 0)
			return -1;
	}
	return 0;
}

/* HostConfig.GroupAdd: names or numbers, each once. */
static int resolve_group_add(const struct table *gr, json_t *group_add, struct eng_user *u, berr *e)
{
	size_t k;
	json_t *v;
	json_array_foreach (group_add, k, v) {
		const char *ag = json_string_value(v);
		bool found = false;
		char num[24];
		for (size_t i = 0; i < gr->n && !found; i++) {
			snprintf(num, sizeof num, "%ld", gr->e[i].id);
			if (!strcmp(gr->e[i].name, ag) || !strcmp(num, ag)) {
				found = true;
				if (add_gid(u, (uint32_t)gr->e[i].id, true, e) < 0)
					return -1;
			}
		}
		if (found)
			continue;
		long gid = parse_id(ag);
		if (gid < 0)
			return berr_invalid(e, "Unable to find group %s", ag);
		if (gid > MAX_ID)
			return berr_invalid(e, "uids and gids must be in range 0-%ld", MAX_ID);
		if (add_gid(u, (uint32_t)gid, true, e) < 0)
			return -1;
	}
	return 0;
}

static int resolve(int rootfd, const char *spec, json_t *group_add, struct eng_user *u, berr *e)
{
	struct table pw = {0}, gr = {0};
	const char *home = "/";
	int r = table_read(rootfd, "/etc/passwd", false, &pw, e);
	if (r == 0)
		r = table_read(rootfd, "/etc/group", true, &gr, e);
	if (r == 0)
		r = resolve_user(&pw, &gr, spec, u, &home, e);
	if (r == 0)
		r = resolve_group_add(&gr, group_add, u, e);
	if (r == 0 && !(u->home = strdup(home && *home ? home : "/")))
		r = berr_set(e, ENOMEM, "user");
	table_free(&pw);
	table_free(&gr);
	return r;
}

int eng_user_resolve(const char *rootfs, const char *user, json_t *group_add, struct eng_user *out, berr *e)
{
	memset(out, 0, sizeof *out);
	if (group_add && !json_is_array(group_add))
		return berr_invalid(e, "HostConfig.GroupAdd: expected an array");
	size_t i;
	json_t *v;
	json_array_foreach (group_add, i, v)
		if (!json_is_string(v))
			return berr_invalid(e, "HostConfig.GroupAdd[%zu]: expected a string", i);
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_sys(e, "opening the container's root %s", rootfs);
	if (resolve(rootfd, user, group_add, out, e) < 0) {
		eng_user_free(out);
		return -1;
	}
	return 0;
}
