/* Containers as the API shows them: inspect (GET /containers/{id}/json) and list (GET /containers/json). */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/net_attach.h"
#include "lib/cleanup.h"
#include "lib/timefmt.h"

/* The record with what only the engine keeps taken out, and the computed parts added. */
static json_t *inspect_doc(struct eng *eng, struct ctr *c)
{
	json_t *out = json_deep_copy(c->doc);
	if (!out)
		return NULL;
	json_object_del(out, "BerthMonitor");
	json_object_del(out, "BerthManuallyStopped");
	json_object_del(out, "Rootfs");
	/* Docker counts a container waiting to restart as running. */
	if (strcmp(ctr_status(c), "restarting") == 0)
		json_object_set_new(json_object_get(out, "State"), "Running", json_true());
	json_t *mounts = json_object_get(out, "Mounts"), *m;
	size_t i;
	json_array_foreach (mounts, i, m) {
		json_object_del(m, "BerthOptions");
		json_object_del(m, "BerthCreateSource");
		json_object_del(m, "BerthNonRecursive");
		json_object_del(m, "BerthNoCopy");
		json_object_del(m, "Anonymous");
	}
	_cleanup_free_ char *upper = ctr_path(eng, c, "upper"), *work = ctr_path(eng, c, "work"),
			    *merged = ctr_path(eng, c, "rootfs");
	json_object_set_new(out, "GraphDriver",
			    json_pack("{s:s, s:{s:s?, s:s?, s:s?}}", "Name", "overlay2", "Data", "MergedDir", merged,
				      "UpperDir", upper, "WorkDir", work));
	json_object_set_new(out, "ExecIDs", json_null());
	json_object_del(out, "BerthNetwork");
	json_object_set_new(out, "NetworkSettings", ctr_net_settings(eng, c));
	return out;
}

int eng_container_inspect(struct eng *eng, const char *name, json_t **out, berr *e)
{
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	int r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		*out = inspect_doc(eng, c);
		if (!*out)
			r = berr_set(e, ENOMEM, "inspecting %s", c->id);
		ctr_put(eng, c);
	}
	pthread_mutex_unlock(&eng->lock);
	return r;
}

/* Docker's go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "3 hours" ... */
static void human_duration(double secs, char *buf, size_t size)
{
	long s = (long)secs;
	if (s < 1)
		snprintf(buf, size, "Less than a second");
	else if (s == 1)
		snprintf(buf, size, "1 second");
	else if (s < 60)
		snprintf(buf, size, "%ld seconds", s);
	else if (s / 60 == 1)
		snprintf(buf, size, "About a minute");
	else if (s / 60 < 60)
		snprintf(buf, size, "%ld minutes", s / 60);
	else if ((long)(s / 3600.0 + 0.5) == 1)
		snprintf(buf, size, "About an hour");
	else if (s / 3600 < 48)
		snprintf(buf, size, "%ld hours", (long)(s / 3600.0 + 0.5));
	else if (s / 3600 < 24 * 7 * 2)
		snprintf(buf, size, "%ld days", s / 86400);
	else if (s / 3600 < 24 * 30 * 2)
		snprintf(buf, size, "%ld weeks", s / (86400 * 7));
	else if (s / 3600 < 24 * 365 * 2)
		snprintf(buf, size, "%ld months", s / (86400 * 30));
	else
		snprintf(buf, size, "%ld years", s / (86400 * 365));
}

static double seconds_since(const char *rfc3339)
{
	struct timespec t, now;
	if (!rfc3339 || !b_time_parse(rfc3339, &t))
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(now.tv_sec - t.tv_sec) + (now.tv_nsec - t.tv_nsec) / 1e9;
}

/* "Up 3 minutes", "Up 2 hours (Paused)", "Exited (0) 5 seconds ago", "Created". */
static void status_text(struct ctr *c, char *buf, size_t size)
{
	json_t *st = json_object_get(c->doc, "State");
	const char *status = ctr_status(c);
	char d[64];
	if (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0) {
		human_duration(seconds_since(json_string_value(json_object_get(st, "StartedAt"))), d, sizeof d);
		snprintf(buf, size, "Up %s%s", d, strcmp(status, "paused") == 0 ? " (Paused)" : "");
	} else if (strcmp(status, "restarting") == 0) {
		human_duration(seconds_since(json_string_value(json_object_get(st, "FinishedAt"))), d, sizeof d);
		snprintf(buf, size, "Restarting (%d) %s ago", (int)json_integer_value(json_object_get(st, "ExitCode")),
			 d);
	} else if (strcmp(status, "exited") == 0) {
		human_duration(seconds_since(json_string_value(json_object_get(st, "FinishedAt"))), d, sizeof d);
		snprintf(buf, size, "Exited (%d) %s ago", (int)json_integer_value(json_object_get(st, "ExitCode")), d);
	} else {
		snprintf(buf, size, "Created");
	}
}

/* Values of a filter: {"name": ["a","b"]} or the old {"name": {"a": true}}. */
static bool filter_values(json_t *filters, const char *key, json_t **vals)
{
	json_t *v = json_object_get(filters, key);
	*vals = v;
	return v != NULL;
}

static bool filter_match_any(json_t *vals, bool (*match)(struct ctr *c, const char *v), struct ctr *c)
{
	if (json_is_array(vals)) {
		size_t i;
		json_t *v;
		json_array_foreach (vals, i, v)
			if (json_is_string(v) && match(c, json_string_value(v)))
				return true;
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach (vals, k, v)
		if (match(c, k))
			return true;
	return false;
}

static bool match_id(struct ctr *c, const char *v)
{
	return strncmp(c->id, v, strlen(v)) == 0;
}

static bool match_name(struct ctr *c, const char *v)
{
	/* Docker matches names as a regular expression; a substring covers what people type. */
	return strstr(c->name + 1, v[0] == '/' ? v + 1 : v) != NULL;
}

static bool match_status(struct ctr *c, const char *v)
{
	return strcmp(ctr_status(c), v) == 0;
}

static bool match_label(struct ctr *c, const char *v)
{
	json_t *labels = json_object_get(json_object_get(c->doc, "Config"), "Labels");
	const char *eq = strchr(v, '=');
	if (!eq)
		return json_object_get(labels, v) != NULL;
	_cleanup_free_ char *key = strndup(v, (size_t)(eq - v));
	const char *val = json_string_value(json_object_get(labels, key));
	return val && strcmp(val, eq + 1) == 0;
}

/* Label filters must all hold (Docker's AND), where other filters need any one value. */
static bool label_missing(struct ctr *c, const char *v)
{
	return !match_label(c, v);
}

static bool match_exited(struct ctr *c, const char *v)
{
	return strcmp(ctr_status(c), "exited") == 0 &&
	       json_integer_value(json_object_get(json_object_get(c->doc, "State"), "ExitCode")) == atoi(v);
}

static bool match_ancestor(struct ctr *c, const char *v)
{
	const char *image = json_string_value(json_object_get(json_object_get(c->doc, "Config"), "Image"));
	const char *id = json_string_value(json_object_get(c->doc, "Image"));
	if (image && strcmp(image, v) == 0)
		return true;
	if (id && (strcmp(id, v) == 0 || (strncmp(id, "sha256:", 7) == 0 && strncmp(id + 7, v, strlen(v)) == 0)))
		return true;
	/* "busybox" names busybox:latest. */
	if (image && strchr(v, ':') == NULL) {
		size_t n = strlen(v);
		if (strncmp(image, v, n) == 0 && strcmp(image + n, ":latest") == 0)
			return true;
	}
	return false;
}

static const struct {
	const char *key;
	bool (*match)(struct ctr *c, const char *v);
} filter_kinds[] = {
    {"id", match_id},       {"name", match_name},     {"status", match_status},
    {"label", match_label}, {"exited", match_exited}, {"ancestor", match_ancestor},
};

static int check_filters(json_t *filters, berr *e)
{
	const char *k;
	json_t *v;
	json_object_foreach (filters, k, v) {
		bool known = false;
		for (size_t i = 0; i < ARRAY_SIZE(filter_kinds); i++)
			if (strcmp(k, filter_kinds[i].key) == 0)
				known = true;
		if (!known)
			return berr_invalid(e, "invalid filter '%s'", k);
		if (!json_is_array(v) && !json_is_object(v))
			return berr_invalid(e, "invalid filter '%s': expected a list of values", k);
	}
	json_t *status = json_object_get(filters, "status");
	size_t i;
	json_t *s;
	static const char *const statuses[] = {"created", "restarting", "running", "removing",
					       "paused",  "exited",     "dead"};
	json_array_foreach (status, i, s) {
		bool ok = false;
		for (size_t j = 0; j < ARRAY_SIZE(statuses); j++)
			if (json_is_string(s) && strcmp(json_string_value(s), statuses[j]) == 0)
				ok = true;
		if (!ok)
			return berr_invalid(e, "invalid filter 'status=%s'", json_string_value(s) ?: "");
	}
	return 0;
}

/* A row of GET /containers/json but its "Status", which the caller adds. */
static json_t *list_entry_timeless(struct eng *eng, struct ctr *c)
{
	json_t *doc = c->doc, *config = json_object_get(doc, "Config");
	/* Command: Path and Args joined with spaces, an argument with a space in quotes, as Docker's. */
	_cleanup_free_ char *command = NULL;
	size_t command_len = 0;
	FILE *cf = open_memstream(&command, &command_len);
	size_t i;
	if (cf) {
		json_t *a;
		fputs(json_string_value(json_object_get(doc, "Path")) ?: "", cf);
		json_array_foreach (json_object_get(doc, "Args"), i, a) {
			const char *arg = json_string_value(a) ?: "";
			fprintf(cf, strchr(arg, ' ') ? " '%s'" : " %s", arg);
		}
		if (fclose(cf) != 0) {
			free(command);
			command = NULL;
		}
	}
	struct timespec created = {0};
	b_time_parse(json_string_value(json_object_get(doc, "Created")), &created);
	json_t *labels = json_object_get(config, "Labels");
	const char *mode = json_string_value(json_object_get(json_object_get(doc, "HostConfig"), "NetworkMode"));
	json_t *mounts = json_deep_copy(json_object_get(doc, "Mounts")), *m;
	json_array_foreach (mounts, i, m) {
		json_object_del(m, "BerthOptions");
		json_object_del(m, "BerthCreateSource");
		json_object_del(m, "BerthNonRecursive");
		json_object_del(m, "BerthNoCopy");
		json_object_del(m, "Anonymous");
	}
	json_t *row =
	    json_pack("{s:s, s:[s], s:s, s:s, s:s, s:I, s:[], s:O, s:s, s:{s:s}, s:{s:{}}, s:o}", "Id", c->id, "Names",
		      c->name, "Image", json_string_value(json_object_get(config, "Image")) ?: "", "ImageID",
		      json_string_value(json_object_get(doc, "Image")) ?: "", "Command", command ? command : "",
		      "Created", (json_int_t)created.tv_sec, "Ports", "Labels", labels ? labels : json_object(),
		      "State", ctr_status(c), "HostConfig", "NetworkMode", mode ? mode : "default", "NetworkSettings",
		      "Networks", "Mounts", mounts ? mounts : json_array());
	ctr_net_list_fields(eng, c, row);
	return row;
}

static json_t *list_entry(struct eng *eng, struct ctr *c)
{
	json_t *row = list_entry_timeless(eng, c);
	char status[128];
	status_text(c, status, sizeof status);
	json_object_set_new(row, "Status", json_string(status));
	return row;
}

/* Append c's row as JSON text to f: the cached timeless part, then "Status" and the brace. */
static int list_entry_text(struct eng *eng, struct ctr *c, FILE *f)
{
	if (!c->list_row) {
		json_t *row = list_entry_timeless(eng, c);
		char *text = row ? json_dumps(row, JSON_COMPACT) : NULL;
		json_decref(row);
		size_t len = text ? strlen(text) : 0;
		if (len < 2 || text[len - 1] != '}') {
			free(text);
			return -1;
		}
		text[--len] = '\0';
		c->list_row = text;
		c->list_row_len = len;
	}
	char status[128];
	status_text(c, status, sizeof status); /* words and digits: nothing to escape */
	fwrite(c->list_row, 1, c->list_row_len, f);
	fprintf(f, "%s\"Status\":\"%s\"}", c->list_row_len > 1 ? "," : "", status);
	return 0;
}

/*
 * The containers a list shows, newest first as Docker lists them, with the engine locked:
 * each(eng, c, arg) for every one; stops at the first that fails.
 */
static int list_each(struct eng *eng, bool all, int limit, json_t *filters,
		     int (*each)(struct eng *eng, struct ctr *c, void *arg), void *arg)
{
	size_t n = 0;
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		n++;
	_cleanup_free_ struct ctr **v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		return -1;
	size_t k = 0;
	for (struct ctr *c = eng->ctrs; c; c = c->next)
		v[k++] = c;
	bool status_filter = json_object_get(filters, "status") != NULL;
	int shown = 0;
	for (size_t j = k; j-- > 0;) {
		struct ctr *c = v[j];
		if (limit >= 0 && shown >= limit)
			break;
		if (!all && limit < 0 && !status_filter && !ctr_running(c) && strcmp(ctr_status(c), "restarting") != 0)
			continue;
		bool ok = true;
		for (size_t f = 0; f < ARRAY_SIZE(filter_kinds) && ok; f++) {
			json_t *vals;
			if (filter_values(filters, filter_kinds[f].key, &vals))
				ok = filter_kinds[f].match == match_label
					 ? !filter_match_any(vals, label_missing, c)
					 : filter_match_any(vals, filter_kinds[f].match, c);
		}
		if (!ok)
			continue;
		if (each(eng, c, arg) < 0)
			return -1;
		shown++;
	}
	return 0;
}

static int append_row(struct eng *eng, struct ctr *c, void *arg)
{
	return json_array_append_new(arg, list_entry(eng, c));
}

int eng_container_list(struct eng *eng, bool all, int limit, json_t *filters, json_t **out, berr *e)
{
	if (filters && check_filters(filters, e) < 0)
		return -1;
	json_t *arr = json_array();
	if (!arr)
		return berr_set(e, ENOMEM, "listing containers");
	pthread_mutex_lock(&eng->lock);
	int r = list_each(eng, all, limit, filters, append_row, arr);
	pthread_mutex_unlock(&eng->lock);
	if (r < 0) {
		json_decref(arr);
		return berr_set(e, ENOMEM, "listing containers");
	}
	*out = arr;
	return 0;
}

struct text_list {
	FILE *f;
	bool first;
};

static int append_row_text(struct eng *eng, struct ctr *c, void *arg)
{
	struct text_list *t = arg;
	if (!t->first)
		fputc(',', t->f);
	t->first = false;
	return list_entry_text(eng, c, t->f);
}

int eng_container_list_text(struct eng *eng, bool all, int limit, json_t *filters, char **out, size_t *len, berr *e)
{
	if (filters && check_filters(filters, e) < 0)
		return -1;
	char *text = NULL;
	size_t size = 0;
	struct text_list t = {.f = open_memstream(&text, &size), .first = true};
	if (!t.f)
		return berr_sys(e, "listing containers");
	fputc('[', t.f);
	pthread_mutex_lock(&eng->lock);
	int r = list_each(eng, all, limit, filters, append_row_text, &t);
	pthread_mutex_unlock(&eng->lock);
	fputs("]\n", t.f);
	if (fclose(t.f) != 0 || r < 0) {
		free(text);
		return berr_set(e, ENOMEM, "listing containers");
	}
	*out = text;
	*len = size;
	return 0;
}
