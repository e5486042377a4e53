#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../lib/cleanup.h"
#include "../lib/fs.h"
#include "../lib/json.h"
#include "cgroup.h"

int oci_id_validate(const char *id, berr *e)
{
	if (!id || !*id)
		return berr_invalid(e, "container id cannot be empty");
	if (!strcmp(id, ".") || !strcmp(id, "..") || strlen(id) > 1024)
		return berr_invalid(e, "invalid container id \"%s\"", id);
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
			return berr_invalid(e, "invalid container id \"%s\": only letters, digits and _+-. are allowed",
					    id);
	return 0;
}

int oci_state_dir(const char *root, const char *id, char **out, berr *e)
{
	if (oci_id_validate(id, e) < 0)
		return -1;
	if (asprintf(out, "%s/%s", root, id) < 0)
		return berr_set(e, ENOMEM, "state of %s", id);
	return 0;
}

void oci_now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

uint64_t oci_pid_start_time(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (b_read_file(path, &text, NULL, NULL) < 0)
		return 0;
	/* The command name may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(text, ')');
	if (!p)
		return 0;
	p += 2; /* field 3: state */
	if (*p == 'Z' || *p == 'X')
		return 0;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

int oci_state_save(const char *dir, const struct oci_state *s, berr *e)
{
	json_t *ann = json_object();
	for (char **a = s->annotations; a && a[0] && a[1]; a += 2)
		json_object_set_new(ann, a[0], json_string(a[1]));
	json_t *o =
	    json_pack("{s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:b}", "id", s->id, "pid", (int)s->pid,
		      "pid_start_time", (json_int_t)s->pid_start_time, "bundle", s->bundle, "rootfs", s->rootfs,
		      "created", s->created, "owner", s->owner ? s->owner : "", "cgroup_path",
		      s->cgroup_path ? s->cgroup_path : "", "annotations", ann, "systemd_cgroup", s->systemd_cgroup);
	if (!o)
		return berr_set(e, ENOMEM, "encoding state of %s", s->id);
	_cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return berr_set(e, ENOMEM, "encoding state of %s", s->id);
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/" OCI_STATE_FILE, dir) < 0)
		return berr_set(e, ENOMEM, "state of %s", s->id);
	return b_write_file_atomic(path, text, strlen(text), 0600, e);
}

int oci_state_load(const char *root, const char *id, struct oci_state *s, berr *e)
{
	memset(s, 0, sizeof *s);
	_cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL;
	if (oci_state_dir(root, id, &dir, e) < 0)
		return -1;
	if (asprintf(&path, "%s/" OCI_STATE_FILE, dir) < 0)
		return berr_set(e, ENOMEM, "state of %s", id);
	if (b_read_file(path, &text, NULL, e) < 0) {
		if (e && e->errnum == ENOENT)
			return berr_set(e, ENOENT, "container \"%s\" does not exist", id);
		return -1;
	}
	json_t *j = b_json_parse(text, path, e);
	if (!j)
		return -1;
	int64_t pid = 0, st = 0;
	int r = 0;
	r |= b_json_str(j, "state", "id", &s->id, NULL, e);
	r |= b_json_i64(j, "state", "pid", &pid, NULL, e);
	r |= b_json_i64(j, "state", "pid_start_time", &st, NULL, e);
	r |= b_json_str(j, "state", "bundle", &s->bundle, NULL, e);
	r |= b_json_str(j, "state", "rootfs", &s->rootfs, NULL, e);
	r |= b_json_str(j, "state", "created", &s->created, NULL, e);
	r |= b_json_str(j, "state", "owner", &s->owner, NULL, e);
	r |= b_json_str(j, "state", "cgroup_path", &s->cgroup_path, NULL, e);
	r |= b_json_str_map(j, "state", "annotations", &s->annotations, e);
	r |= b_json_bool(j, "state", "systemd_cgroup", &s->systemd_cgroup, NULL, e);
	json_decref(j);
	s->pid = (pid_t)pid;
	s->pid_start_time = (uint64_t)st;
	if (r < 0 || !s->id || !s->bundle) {
		oci_state_free(s);
		if (r == 0)
			berr_invalid(e, "%s: incomplete state", path);
		return berr_wrap(e, "reading state of container \"%s\"", id);
	}
	return 0;
}

void oci_state_free(struct oci_state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->owner);
	free(s->cgroup_path);
	b_strv_free(s->annotations);
	memset(s, 0, sizeof *s);
}

enum oci_status oci_state_status(const char *root, const struct oci_state *s)
{
	if (s->pid <= 0 || oci_pid_start_time(s->pid) != s->pid_start_time)
		return OCI_STATUS_STOPPED;
	_cleanup_free_ char *sock = NULL;
	if (asprintf(&sock, "%s/%s/" OCI_START_SOCKET, root, s->id) >= 0 && b_path_exists(sock))
		return OCI_STATUS_CREATED;
	struct oci_cgroup *cg = NULL;
	bool frozen = false;
	if (oci_cgroup_open(s->cgroup_path, s->id, false, NULL, &cg, NULL) == 0) {
		oci_cgroup_is_frozen(cg, &frozen, NULL);
		oci_cgroup_free(cg);
	}
	return frozen ? OCI_STATUS_PAUSED : OCI_STATUS_RUNNING;
}

const char *oci_status_name(enum oci_status st)
{
	switch (st) {
	case OCI_STATUS_CREATING: return "creating";
	case OCI_STATUS_CREATED: return "created";
	case OCI_STATUS_RUNNING: return "running";
	case OCI_STATUS_PAUSED: return "paused";
	case OCI_STATUS_STOPPED: return "stopped";
	}
	return "unknown";
}

char *oci_state_to_json(const struct oci_state *s, enum oci_status st, bool pretty)
{
	json_t *ann = json_object();
	for (char **a = s->annotations; a && a[0] && a[1]; a += 2)
		json_object_set_new(ann, a[0], json_string(a[1]));
	int pid = st == OCI_STATUS_STOPPED ? 0 : (int)s->pid;
	json_t *o =
	    json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o}", "ociVersion", OCI_VERSION, "id", s->id, "pid",
		      pid, "status", oci_status_name(st), "bundle", s->bundle, "rootfs", s->rootfs ? s->rootfs : "",
		      "created", s->created ? s->created : "", "owner", s->owner ? s->owner : "", "annotations", ann);
	if (!o)
		return NULL;
	char *text = json_dumps(o, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
