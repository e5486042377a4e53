/* The image config: parse, write back (unknown fields kept), copy, free, chain IDs. */
#include "image/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "image config");
}

/* Present and not null. */
static json_t *member(json_t *o, const char *key)
{
	json_t *v = o ? json_object_get(o, key) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

/* The keys of an object member ("ExposedPorts": {"80/tcp": {}}) as a strv; absent -> NULL. */
static int parse_keys(json_t *o, const char *field, const char *key, char ***out, berr *e)
{
	json_t *v = NULL;
	if (b_json_obj(o, field, key, &v, e) < 0)
		return -1;
	if (!v)
		return 0;
	char **list = calloc(json_object_size(v) + 1, sizeof *list);
	if (!list)
		return oom(e);
	size_t i = 0;
	const char *k;
	json_t *val;
	json_object_foreach (v, k, val) {
		if (!(list[i++] = strdup(k))) {
			b_strv_free(list);
			return oom(e);
		}
	}
	*out = list;
	return 0;
}

static int parse_healthcheck(json_t *cfg, struct img_healthcheck **out, berr *e)
{
	json_t *h = NULL;
	if (b_json_obj(cfg, "config", "Healthcheck", &h, e) < 0)
		return -1;
	if (!h)
		return 0;
	struct img_healthcheck *hc = calloc(1, sizeof *hc);
	if (!hc)
		return oom(e);
	*out = hc;
	const char *f = "config.Healthcheck";
	int64_t retries = 0;
	if (b_json_strv(h, f, "Test", &hc->test, e) < 0 || b_json_i64(h, f, "Interval", &hc->interval, NULL, e) < 0 ||
	    b_json_i64(h, f, "Timeout", &hc->timeout, NULL, e) < 0 ||
	    b_json_i64(h, f, "StartPeriod", &hc->start_period, NULL, e) < 0 ||
	    b_json_i64(h, f, "StartInterval", &hc->start_interval, NULL, e) < 0 ||
	    b_json_i64(h, f, "Retries", &retries, NULL, e) < 0)
		return -1;
	if (retries < 0 || retries > INT32_MAX)
		return berr_invalid(e, "%s.Retries: out of range: %lld", f, (long long)retries);
	hc->retries = (int)retries;
	return 0;
}

static int parse_container_config(json_t *root, struct img_config *c, berr *e)
{
	json_t *cfg = NULL;
	if (b_json_obj(root, "", "config", &cfg, e) < 0)
		return -1;
	if (!cfg)
		return 0;
	const char *f = "config";
	c->has_entrypoint = member(cfg, "Entrypoint") != NULL;
	c->has_cmd = member(cfg, "Cmd") != NULL;
	if (b_json_str(cfg, f, "User", &c->user, NULL, e) < 0 || b_json_strv(cfg, f, "Env", &c->env, e) < 0 ||
	    b_json_strv(cfg, f, "Entrypoint", &c->entrypoint, e) < 0 || b_json_strv(cfg, f, "Cmd", &c->cmd, e) < 0 ||
	    b_json_str(cfg, f, "WorkingDir", &c->working_dir, NULL, e) < 0 ||
	    parse_keys(cfg, f, "ExposedPorts", &c->exposed_ports, e) < 0 ||
	    parse_keys(cfg, f, "Volumes", &c->volumes, e) < 0 || b_json_str_map(cfg, f, "Labels", &c->labels, e) < 0 ||
	    b_json_str(cfg, f, "StopSignal", &c->stop_signal, NULL, e) < 0 ||
	    parse_healthcheck(cfg, &c->healthcheck, e) < 0 || b_json_strv(cfg, f, "OnBuild", &c->onbuild, e) < 0 ||
	    b_json_strv(cfg, f, "Shell", &c->shell, e) < 0 ||
	    b_json_bool(cfg, f, "ArgsEscaped", &c->args_escaped, NULL, e) < 0)
		return -1;
	return 0;
}

static int parse_rootfs(json_t *root, struct img_config *c, berr *e)
{
	json_t *rootfs = NULL;
	if (b_json_obj(root, "", "rootfs", &rootfs, e) < 0)
		return -1;
	if (!rootfs)
		return berr_invalid(e, "rootfs: missing");
	_cleanup_free_ char *type = NULL;
	bool present = false;
	if (b_json_str(rootfs, "rootfs", "type", &type, &present, e) < 0)
		return -1;
	if (!present)
		return berr_invalid(e, "rootfs.type: missing");
	if (strcmp(type, "layers"))
		return berr_invalid(e, "rootfs.type: expected \"layers\", got \"%s\"", type);
	if (b_json_strv(rootfs, "rootfs", "diff_ids", &c->diff_ids, e) < 0)
		return -1;
	if (!c->diff_ids && !(c->diff_ids = calloc(1, sizeof *c->diff_ids)))
		return oom(e);
	c->n_diff_ids = b_strv_len(c->diff_ids);
	for (size_t i = 0; i < c->n_diff_ids; i++)
		if (!b_digest_valid(c->diff_ids[i]))
			return berr_invalid(e, "rootfs.diff_ids[%zu]: invalid digest \"%s\"", i, c->diff_ids[i]);
	return 0;
}

static int parse_history(json_t *root, struct img_config *c, berr *e)
{
	json_t *h = NULL;
	if (b_json_arr(root, "", "history", &h, e) < 0)
		return -1;
	if (!h || !json_array_size(h))
		return 0;
	c->history = calloc(json_array_size(h), sizeof *c->history);
	if (!c->history)
		return oom(e);
	c->n_history = json_array_size(h);
	for (size_t i = 0; i < c->n_history; i++) {
		json_t *item = json_array_get(h, i);
		struct img_history *hi = &c->history[i];
		char where[48];
		snprintf(where, sizeof where, "history[%zu]", i);
		if (!json_is_object(item))
			return berr_invalid(e, "%s: expected an object, got %s", where, b_json_type_name(item));
		if (b_json_str(item, where, "created", &hi->created, NULL, e) < 0 ||
		    b_json_str(item, where, "created_by", &hi->created_by, NULL, e) < 0 ||
		    b_json_str(item, where, "author", &hi->author, NULL, e) < 0 ||
		    b_json_str(item, where, "comment", &hi->comment, NULL, e) < 0 ||
		    b_json_bool(item, where, "empty_layer", &hi->empty_layer, NULL, e) < 0)
			return -1;
	}
	return 0;
}

int img_config_parse(const char *json, size_t len, struct img_config *out, berr *e)
{
	memset(out, 0, sizeof *out);
	if (!json)
		return berr_invalid(e, "empty document");
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return berr_invalid(e, "invalid JSON at line %d, column %d: %s", je.line, je.column, je.text);
	out->raw = root;
	if (!json_is_object(root)) {
		berr_invalid(e, "expected a JSON object, got %s", b_json_type_name(root));
		goto fail;
	}
	if (b_json_str(root, "", "architecture", &out->architecture, NULL, e) < 0 ||
	    b_json_str(root, "", "os", &out->os, NULL, e) < 0 ||
	    b_json_str(root, "", "variant", &out->variant, NULL, e) < 0 ||
	    b_json_str(root, "", "created", &out->created, NULL, e) < 0 ||
	    b_json_str(root, "", "author", &out->author, NULL, e) < 0 || parse_container_config(root, out, e) < 0 ||
	    parse_rootfs(root, out, e) < 0 || parse_history(root, out, e) < 0)
		goto fail;
	return 0;
fail:
	img_config_free(out);
	return -1;
}

/* ---- writing ---- */

/*
 * null, false, 0: what raw may hold for a field the struct leaves unset without the two
 * disagreeing. ("", [] and {} parse to empty but present values, so a struct field that is
 * NULL where raw has one of them was cleared on purpose.)
 */
static bool is_unset_form(json_t *v)
{
	return json_is_null(v) || json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0);
}

/* An unset field: drop what raw had, unless it was an empty form. */
static void unset(json_t *o, const char *key)
{
	json_t *old = json_object_get(o, key);
	if (old && !is_unset_form(old))
		json_object_del(o, key);
}

static int set_str(json_t *o, const char *key, const char *s)
{
	if (!s) {
		unset(o, key);
		return 0;
	}
	return json_object_set_new(o, key, json_string(s));
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && v && v[i]; i++) {
		if (json_array_append_new(a, json_string(v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int set_strv(json_t *o, const char *key, char *const *v, bool present)
{
	if (!present) {
		unset(o, key);
		return 0;
	}
	return json_object_set_new(o, key, strv_json(v));
}

/* A set of keys as {"k": {}, ...}. */
static int set_keys(json_t *o, const char *key, char *const *v)
{
	if (!v) {
		unset(o, key);
		return 0;
	}
	json_t *m = json_object();
	for (size_t i = 0; m && v[i]; i++) {
		if (json_object_set_new(m, v[i], json_object())) {
			json_decref(m);
			return -1;
		}
	}
	return json_object_set_new(o, key, m);
}

static int set_map(json_t *o, const char *key, char *const *kv)
{
	if (!kv) {
		unset(o, key);
		return 0;
	}
	json_t *m = json_object();
	for (size_t i = 0; m && kv[i] && kv[i + 1]; i += 2) {
		if (json_object_set_new(m, kv[i], json_string(kv[i + 1]))) {
			json_decref(m);
			return -1;
		}
	}
	return json_object_set_new(o, key, m);
}

static int set_i64(json_t *o, const char *key, int64_t v)
{
	if (!v) {
		unset(o, key);
		return 0;
	}
	return json_object_set_new(o, key, json_integer(v));
}

static int set_true(json_t *o, const char *key, bool v)
{
	if (!v) {
		unset(o, key);
		return 0;
	}
	return json_object_set_new(o, key, json_true());
}

/* o[key] as an object to write into: raw's when it is one, else a new one (set only if filled). */
static json_t *child_object(json_t *o, const char *key, bool *fresh)
{
	json_t *v = json_object_get(o, key);
	*fresh = !json_is_object(v);
	return *fresh ? json_object() : v;
}

/* Attach a fresh child when it got anything (or must exist). */
static int adopt(json_t *o, const char *key, json_t *child, bool fresh, bool always)
{
	if (!fresh)
		return 0;
	if (always || json_object_size(child))
		return json_object_set_new(o, key, child);
	json_decref(child);
	return 0;
}

static int write_healthcheck(json_t *cfg, const struct img_healthcheck *h)
{
	if (!h) {
		unset(cfg, "Healthcheck");
		return 0;
	}
	bool fresh;
	json_t *o = child_object(cfg, "Healthcheck", &fresh);
	if (!o)
		return -1;
	if (set_strv(o, "Test", h->test, h->test != NULL) || set_i64(o, "Interval", h->interval) ||
	    set_i64(o, "Timeout", h->timeout) || set_i64(o, "StartPeriod", h->start_period) ||
	    set_i64(o, "StartInterval", h->start_interval) || set_i64(o, "Retries", h->retries)) {
		if (fresh)
			json_decref(o);
		return -1;
	}
	return adopt(cfg, "Healthcheck", o, fresh, true);
}

static int write_container_config(json_t *root, const struct img_config *c)
{
	bool fresh;
	json_t *cfg = child_object(root, "config", &fresh);
	if (!cfg)
		return -1;
	if (set_str(cfg, "User", c->user) || set_strv(cfg, "Env", c->env, c->env != NULL) ||
	    set_strv(cfg, "Entrypoint", c->entrypoint, c->has_entrypoint) || set_strv(cfg, "Cmd", c->cmd, c->has_cmd) ||
	    set_str(cfg, "WorkingDir", c->working_dir) || set_keys(cfg, "ExposedPorts", c->exposed_ports) ||
	    set_keys(cfg, "Volumes", c->volumes) || set_map(cfg, "Labels", c->labels) ||
	    set_str(cfg, "StopSignal", c->stop_signal) || write_healthcheck(cfg, c->healthcheck) ||
	    set_strv(cfg, "OnBuild", c->onbuild, c->onbuild != NULL) ||
	    set_strv(cfg, "Shell", c->shell, c->shell != NULL) || set_true(cfg, "ArgsEscaped", c->args_escaped)) {
		if (fresh)
			json_decref(cfg);
		return -1;
	}
	return adopt(root, "config", cfg, fresh, false);
}

static int write_rootfs(json_t *root, const struct img_config *c)
{
	bool fresh;
	json_t *r = child_object(root, "rootfs", &fresh);
	if (!r)
		return -1;
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < c->n_diff_ids; i++) {
		if (json_array_append_new(ids, json_string(c->diff_ids[i]))) {
			json_decref(ids);
			ids = NULL;
		}
	}
	if (json_object_set_new(r, "type", json_string("layers")) || json_object_set_new(r, "diff_ids", ids)) {
		if (fresh)
			json_decref(r);
		return -1;
	}
	return adopt(root, "rootfs", r, fresh, true);
}

static int write_history(json_t *root, const struct img_config *c)
{
	if (!c->n_history) {
		unset(root, "history");
		return 0;
	}
	json_t *old = json_object_get(root, "history");
	json_t *arr = json_array();
	if (!arr)
		return -1;
	for (size_t i = 0; i < c->n_history; i++) {
		const struct img_history *h = &c->history[i];
		json_t *prev = json_is_array(old) ? json_array_get(old, i) : NULL;
		json_t *o = json_is_object(prev) ? json_incref(prev) : json_object();
		if (json_array_append_new(arr, o) || set_str(o, "created", h->created) ||
		    set_str(o, "created_by", h->created_by) || set_str(o, "author", h->author) ||
		    set_str(o, "comment", h->comment) || set_true(o, "empty_layer", h->empty_layer)) {
			json_decref(arr);
			return -1;
		}
	}
	return json_object_set_new(root, "history", arr);
}

char *img_config_to_json(const struct img_config *c)
{
	json_t *root = c->raw && json_is_object(c->raw) ? json_deep_copy(c->raw) : json_object();
	if (!root)
		return NULL;
	char *s = NULL;
	if (set_str(root, "architecture", c->architecture) || set_str(root, "os", c->os) ||
	    set_str(root, "variant", c->variant) || set_str(root, "created", c->created) ||
	    set_str(root, "author", c->author) || write_container_config(root, c) || write_rootfs(root, c) ||
	    write_history(root, c))
		goto out;
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(root);
	return s;
}

/* ---- copy and free ---- */

static int dup_str(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -1;
}

int img_config_copy(const struct img_config *src, struct img_config *dst, berr *e)
{
	memset(dst, 0, sizeof *dst);
	dst->has_entrypoint = src->has_entrypoint;
	dst->has_cmd = src->has_cmd;
	dst->args_escaped = src->args_escaped;
	dst->n_diff_ids = src->n_diff_ids;
	if (dup_str(src->architecture, &dst->architecture) || dup_str(src->os, &dst->os) ||
	    dup_str(src->variant, &dst->variant) || dup_str(src->created, &dst->created) ||
	    dup_str(src->author, &dst->author) || dup_str(src->user, &dst->user) || b_strv_dup(src->env, &dst->env) ||
	    b_strv_dup(src->entrypoint, &dst->entrypoint) || b_strv_dup(src->cmd, &dst->cmd) ||
	    dup_str(src->working_dir, &dst->working_dir) || b_strv_dup(src->exposed_ports, &dst->exposed_ports) ||
	    b_strv_dup(src->volumes, &dst->volumes) || b_strv_dup(src->labels, &dst->labels) ||
	    dup_str(src->stop_signal, &dst->stop_signal) || b_strv_dup(src->onbuild, &dst->onbuild) ||
	    b_strv_dup(src->shell, &dst->shell))
		goto fail;
	/* diff_ids may be given without its NULL terminator: copy n of them. */
	if (src->diff_ids || src->n_diff_ids) {
		if (!(dst->diff_ids = calloc(src->n_diff_ids + 1, sizeof *dst->diff_ids)))
			goto fail;
		for (size_t i = 0; i < src->n_diff_ids; i++)
			if (dup_str(src->diff_ids[i], &dst->diff_ids[i]))
				goto fail;
	}
	if (src->healthcheck) {
		if (!(dst->healthcheck = malloc(sizeof *dst->healthcheck)))
			goto fail;
		*dst->healthcheck = *src->healthcheck;
		if (b_strv_dup(src->healthcheck->test, &dst->healthcheck->test))
			goto fail;
	}
	if (src->n_history) {
		if (!(dst->history = calloc(src->n_history, sizeof *dst->history)))
			goto fail;
		dst->n_history = src->n_history;
		for (size_t i = 0; i < src->n_history; i++) {
			const struct img_history *s = &src->history[i];
			struct img_history *d = &dst->history[i];
			d->empty_layer = s->empty_layer;
			if (dup_str(s->created, &d->created) || dup_str(s->created_by, &d->created_by) ||
			    dup_str(s->author, &d->author) || dup_str(s->comment, &d->comment))
				goto fail;
		}
	}
	if (src->raw && !(dst->raw = json_deep_copy(src->raw)))
		goto fail;
	return 0;
fail:
	img_config_free(dst);
	return oom(e);
}

void img_config_free(struct img_config *c)
{
	if (!c)
		return;
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->created);
	free(c->author);
	free(c->user);
	b_strv_free(c->env);
	b_strv_free(c->entrypoint);
	b_strv_free(c->cmd);
	free(c->working_dir);
	b_strv_free(c->exposed_ports);
	b_strv_free(c->volumes);
	b_strv_free(c->labels);
	free(c->stop_signal);
	if (c->healthcheck) {
		b_strv_free(c->healthcheck->test);
		free(c->healthcheck);
	}
	b_strv_free(c->onbuild);
	b_strv_free(c->shell);
	if (c->diff_ids) {
		for (size_t i = 0; i < c->n_diff_ids; i++)
			free(c->diff_ids[i]);
		free(c->diff_ids);
	}
	for (size_t i = 0; i < c->n_history; i++) {
		free(c->history[i].created);
		free(c->history[i].created_by);
		free(c->history[i].author);
		free(c->history[i].comment);
	}
	free(c->history);
	json_decref(c->raw);
	memset(c, 0, sizeof *c);
}

/* ---- chain IDs ---- */

int img_chain_ids(char *const *diff_ids, size_t n, char (*out)[B_DIGEST_LEN + 1], berr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (!b_digest_valid(diff_ids[i]))
			return berr_invalid(e, "diff_ids[%zu]: invalid digest \"%s\"", i,
					    diff_ids[i] ? diff_ids[i] : "(null)");
		if (i == 0) {
			memcpy(out[0], diff_ids[0], B_DIGEST_LEN + 1);
			continue;
		}
		struct b_sha256 *h = b_sha256_new();
		if (!h)
			return berr_set(e, ENOMEM, "computing chain IDs");
		b_sha256_update(h, out[i - 1], B_DIGEST_LEN);
		b_sha256_update(h, " ", 1);
		b_sha256_update(h, diff_ids[i], B_DIGEST_LEN);
		b_sha256_final(h, out[i]);
	}
	return 0;
}
