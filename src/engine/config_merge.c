/*
 * A create request's Config over its image's, as Docker's daemon merges them (daemon/commit.go
 * merge(), then the reset of an Entrypoint of [""]), written in the shape of Config in
 * GET /containers/{id}/json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spec.h"
#include "engine/spec_internal.h"
#include "lib/json.h"

#define F "Config"

/* Docker's containertypes.MinimumDuration: 1ms. */
#define MIN_DURATION_NS 1000000

static json_t *strv_json(char *const *v)
{
	if (!v)
		return json_null();
	json_t *a = json_array();
	for (; a && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

/* The key of "K=V" (all of it without '='), compared as Docker does: up to the first '='. */
static bool same_key(const char *a, const char *b)
{
	size_t la = strcspn(a, "="), lb = strcspn(b, "=");
	return la == lb && !strncmp(a, b, la);
}

static int check_port_keys(json_t *ports, berr *e)
{
	const char *k;
	json_t *v;
	json_object_foreach (ports, k, v) {
		/* "80/tcp": the number part must be a port (nat.ParsePort). */
		size_t n = strcspn(k, "/");
		bool ok = n > 0 && n <= 5;
		unsigned long port = 0;
		for (size_t i = 0; i < n && ok; i++) {
			ok = k[i] >= '0' && k[i] <= '9';
			port = port * 10 + (unsigned long)(k[i] - '0');
		}
		if (!ok || port > 65535)
			return berr_invalid(e, "invalid port specification: \"%.*s\"", (int)n, k);
	}
	return 0;
}

/* Config.Healthcheck of the request, checked as Docker checks it. */
static int check_healthcheck(json_t *hc, berr *e)
{
	const char *F_HC = F ".Healthcheck";
	json_t *test = NULL;
	if (eng_jstrarr(hc, F_HC, "Test", &test, e) < 0)
		return -1;
	static const char *const durations[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
	for (size_t i = 0; i < sizeof durations / sizeof *durations; i++) {
		int64_t d = 0;
		if (eng_ji64(hc, F_HC, durations[i], &d, e) < 0)
			return -1;
		if (d != 0 && d < MIN_DURATION_NS)
			return berr_invalid(e, "%s in Healthcheck cannot be less than 1ms", durations[i]);
	}
	int64_t retries = 0;
	if (eng_ji64(hc, F_HC, "Retries", &retries, e) < 0)
		return -1;
	if (retries < 0)
		return berr_invalid(e, "Retries in Healthcheck cannot be negative");
	return 0;
}

static json_t *image_healthcheck(const struct img_healthcheck *h)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (h->test)
		json_object_set_new(o, "Test", strv_json(h->test));
	if (h->interval)
		json_object_set_new(o, "Interval", json_integer(h->interval));
	if (h->timeout)
		json_object_set_new(o, "Timeout", json_integer(h->timeout));
	if (h->start_period)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period));
	if (h->start_interval)
		json_object_set_new(o, "StartInterval", json_integer(h->start_interval));
	if (h->retries)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

/* The request's Healthcheck with the image's values where the request left zero (Docker's rule). */
static json_t *merge_healthcheck(json_t *req, const struct img_healthcheck *img)
{
	if (!img)
		return req ? json_deep_copy(req) : NULL;
	json_t *from_image = image_healthcheck(img);
	if (!req || !from_image)
		return from_image;
	json_t *out = json_deep_copy(req);
	if (!out) {
		json_decref(from_image);
		return NULL;
	}
	static const char *const keys[] = {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		json_t *mine = json_object_get(out, keys[i]);
		json_t *theirs = json_object_get(from_image, keys[i]);
		bool unset = !mine || json_is_null(mine) || (json_is_integer(mine) && !json_integer_value(mine)) ||
			     (json_is_array(mine) && !json_array_size(mine));
		if (unset && theirs)
			json_object_set(out, keys[i], theirs);
	}
	json_decref(from_image);
	return out;
}

struct request {
	const char *hostname, *domainname, *user, *working_dir, *stop_signal, *mac_address;
	bool attach_stdin, attach_stdout, attach_stderr, tty, open_stdin, stdin_once, network_disabled, args_escaped;
	json_t *exposed_ports, *env, *healthcheck, *volumes, *onbuild, *labels;
	json_t *cmd, *entrypoint, *shell; /* owned */
	bool has_entrypoint, has_stop_timeout;
	int64_t stop_timeout;
};

static void request_free(struct request *r)
{
	json_decref(r->cmd);
	json_decref(r->entrypoint);
	json_decref(r->shell);
}

static int request_read(json_t *c, struct request *r, berr *e)
{
	if (c && !json_is_object(c) && !json_is_null(c))
		return berr_invalid(e, "Config: expected an object, got %s", b_json_type_name(c));
	const struct {
		const char *key;
		const char **out;
	} strs[] = {
	    {"Hostname", &r->hostname},      {"Domainname", &r->domainname},  {"User", &r->user},
	    {"WorkingDir", &r->working_dir}, {"StopSignal", &r->stop_signal}, {"MacAddress", &r->mac_address},
	};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		if (eng_jstr(c, F, strs[i].key, strs[i].out, e) < 0)
			return -1;
	const char *image = NULL;
	if (eng_jstr(c, F, "Image", &image, e) < 0)
		return -1;
	const struct {
		const char *key;
		bool *out;
	} bools[] = {
	    {"AttachStdin", &r->attach_stdin},
	    {"AttachStdout", &r->attach_stdout},
	    {"AttachStderr", &r->attach_stderr},
	    {"Tty", &r->tty},
	    {"OpenStdin", &r->open_stdin},
	    {"StdinOnce", &r->stdin_once},
	    {"NetworkDisabled", &r->network_disabled},
	    {"ArgsEscaped", &r->args_escaped},
	};
	for (size_t i = 0; i < sizeof bools / sizeof *bools; i++)
		if (eng_jbool(c, F, bools[i].key, bools[i].out, e) < 0)
			return -1;
	if (eng_jobj(c, F, "ExposedPorts", &r->exposed_ports, e) < 0 || eng_jstrarr(c, F, "Env", &r->env, e) < 0 ||
	    eng_jobj(c, F, "Healthcheck", &r->healthcheck, e) < 0 || eng_jobj(c, F, "Volumes", &r->volumes, e) < 0 ||
	    eng_jstrarr(c, F, "OnBuild", &r->onbuild, e) < 0 || eng_jobj(c, F, "Labels", &r->labels, e) < 0)
		return -1;
	if (eng_jstrslice(c, F, "Cmd", &r->cmd, NULL, e) < 0 ||
	    eng_jstrslice(c, F, "Entrypoint", &r->entrypoint, &r->has_entrypoint, e) < 0 ||
	    eng_jstrslice(c, F, "Shell", &r->shell, NULL, e) < 0)
		return -1;
	json_t *st = json_is_object(c) ? json_object_get(c, "StopTimeout") : NULL;
	if (st && !json_is_null(st)) {
		if (eng_ji64(c, F, "StopTimeout", &r->stop_timeout, e) < 0)
			return -1;
		r->has_stop_timeout = true;
	}
	const char *k;
	json_t *v;
	if (r->labels)
		json_object_foreach (r->labels, k, v)
			if (!json_is_string(v))
				return berr_invalid(e, F ".Labels.%s: expected a string, got %s", k,
						    b_json_type_name(v));
	if (r->exposed_ports && check_port_keys(r->exposed_ports, e) < 0)
		return -1;
	if (r->healthcheck && check_healthcheck(r->healthcheck, e) < 0)
		return -1;
	if (r->working_dir && *r->working_dir && r->working_dir[0] != '/')
		return berr_invalid(e, "the working directory '%s' is invalid, it needs to be an absolute path",
				    r->working_dir);
	return 0;
}

/* Env: the request's, then every image variable whose key the request does not set. */
static json_t *merge_env(json_t *req, char *const *img)
{
	if (!req || !json_array_size(req))
		return strv_json(img);
	json_t *out = json_deep_copy(req);
	for (; out && img && *img; img++) {
		bool found = false;
		size_t i;
		json_t *v;
		json_array_foreach (req, i, v)
			if (same_key(json_string_value(v), *img)) {
				found = true;
				break;
			}
		if (!found)
			json_array_append_new(out, json_string(*img));
	}
	return out;
}

/* ExposedPorts and Volumes: the union (the request's keys first). */
static json_t *merge_set(json_t *req, char *const *img)
{
	json_t *out = req ? json_deep_copy(req) : json_object();
	for (; out && img && *img; img++)
		if (!json_object_get(out, *img))
			json_object_set_new(out, *img, json_object());
	return out;
}

static json_t *merge_labels(json_t *req, char *const *img)
{
	json_t *out = req ? json_deep_copy(req) : json_object();
	for (; out && img && img[0] && img[1]; img += 2)
		if (!json_object_get(out, img[0]))
			json_object_set_new(out, img[0], json_string(img[1]));
	return out;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

int eng_config_merge(json_t *request_config, const struct img_config *image, const char *image_name, json_t **merged,
		     berr *e)
{
	static const struct img_config no_image;
	const struct img_config *img = image ? image : &no_image;
	struct request r = {0};
	*merged = NULL;
	if (request_read(request_config, &r, e) < 0) {
		request_free(&r);
		return -1;
	}

	/* Cmd and Entrypoint: an Entrypoint in the request (even []) keeps the image's out, and its Cmd too. */
	json_t *cmd = json_incref(r.cmd), *entrypoint = json_incref(r.entrypoint);
	bool args_escaped = r.args_escaped;
	if (!json_array_size(entrypoint)) {
		if (!json_array_size(cmd)) {
			json_decref(cmd);
			cmd = img->has_cmd ? strv_json(img->cmd) : NULL;
			args_escaped = img->args_escaped;
		}
		if (!r.has_entrypoint) {
			json_decref(entrypoint);
			entrypoint = img->has_entrypoint ? strv_json(img->entrypoint) : NULL;
		}
	}
	/* An Entrypoint of [""] means "none" (docker run --entrypoint ""). */
	if (json_array_size(entrypoint) == 1 && !*json_string_value(json_array_get(entrypoint, 0))) {
		json_decref(entrypoint);
		entrypoint = NULL;
	}

	json_t *env = merge_env(r.env, img->env);
	json_t *ports = (r.exposed_ports && json_object_size(r.exposed_ports)) || img->exposed_ports
			    ? merge_set(r.exposed_ports, img->exposed_ports)
			    : NULL;
	json_t *volumes =
	    (r.volumes && json_object_size(r.volumes)) || img->volumes ? merge_set(r.volumes, img->volumes) : NULL;
	json_t *labels = merge_labels(r.labels, img->labels);
	json_t *hc = merge_healthcheck(r.healthcheck, img->healthcheck);
	const char *user = r.user && *r.user ? r.user : or_empty(img->user);
	const char *wd = r.working_dir && *r.working_dir ? r.working_dir : or_empty(img->working_dir);
	const char *stop_signal = r.stop_signal && *r.stop_signal ? r.stop_signal : img->stop_signal;

	json_t *out = json_object();
	if (!out || !env || !labels) {
		json_decref(out);
		out = NULL;
		goto done;
	}
	json_object_set_new(out, "Hostname", json_string(or_empty(r.hostname)));
	json_object_set_new(out, "Domainname", json_string(or_empty(r.domainname)));
	json_object_set_new(out, "User", json_string(user));
	json_object_set_new(out, "AttachStdin", json_boolean(r.attach_stdin));
	json_object_set_new(out, "AttachStdout", json_boolean(r.attach_stdout));
	json_object_set_new(out, "AttachStderr", json_boolean(r.attach_stderr));
	if (ports && json_object_size(ports))
		json_object_set(out, "ExposedPorts", ports);
	json_object_set_new(out, "Tty", json_boolean(r.tty));
	json_object_set_new(out, "OpenStdin", json_boolean(r.open_stdin));
	json_object_set_new(out, "StdinOnce", json_boolean(r.stdin_once));
	json_object_set(out, "Env", env);
	json_object_set_new(out, "Cmd", cmd ? json_incref(cmd) : json_null());
	if (hc)
		json_object_set(out, "Healthcheck", hc);
	if (args_escaped)
		json_object_set_new(out, "ArgsEscaped", json_true());
	json_object_set_new(out, "Image", json_string(or_empty(image_name)));
	json_object_set_new(out, "Volumes", volumes && json_object_size(volumes) ? json_incref(volumes) : json_null());
	json_object_set_new(out, "WorkingDir", json_string(wd));
	json_object_set_new(out, "Entrypoint", entrypoint ? json_incref(entrypoint) : json_null());
	if (r.network_disabled)
		json_object_set_new(out, "NetworkDisabled", json_true());
	if (r.mac_address && *r.mac_address)
		json_object_set_new(out, "MacAddress", json_string(r.mac_address));
	/* OnBuild is the request's: a container does not inherit its image's ONBUILD triggers. */
	json_object_set_new(out, "OnBuild", r.onbuild ? json_deep_copy(r.onbuild) : json_null());
	json_object_set(out, "Labels", labels);
	if (stop_signal && *stop_signal)
		json_object_set_new(out, "StopSignal", json_string(stop_signal));
	if (r.has_stop_timeout)
		json_object_set_new(out, "StopTimeout", json_integer(r.stop_timeout));
	if (json_array_size(r.shell))
		json_object_set(out, "Shell", r.shell);

done:
	json_decref(cmd);
	json_decref(entrypoint);
	json_decref(env);
	json_decref(ports);
	json_decref(volumes);
	json_decref(labels);
	json_decref(hc);
	request_free(&r);
	if (!out)
		return berr_set(e, ENOMEM, "merging the container's config");
	*merged = out;
	return 0;
}
