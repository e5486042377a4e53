/*
 * The OCI process of an exec: the container's own process (its config.json) with the exec's
 * command, env, working directory, user and terminal. Everything else (capabilities, rlimits,
 * no_new_privs, oom score) is the container's, as Docker's exec inherits them; Privileged gives
 * every capability the daemon holds.
 */
#include "engine/exec_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/spec_internal.h"
#include "lib/cleanup.h"

static bool env_has(json_t *env, const char *key)
{
	size_t klen = strlen(key), i;
	json_t *v;
	json_array_foreach (env, i, v) {
		const char *s = json_string_value(v);
		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=')
			return true;
	}
	return false;
}

/* The container's env with TERM as Docker's exec has it: xterm with a terminal unless Config.Env says otherwise. */
static json_t *exec_env(json_t *ctr_env, json_t *ctr_config, json_t *exec_config, bool tty)
{
	json_t *env = json_deep_copy(ctr_env ? ctr_env : json_array());
	if (!env)
		return NULL;
	json_t *config_env = json_object_get(ctr_config, "Env");
	if (!env_has(config_env, "TERM")) {
		eng_env_apply(env, "TERM");
		if (tty)
			eng_env_apply(env, "TERM=xterm");
	}
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(exec_config, "Env"), i, v)
		eng_env_apply(env, json_string_value(v));
	return env;
}

static int set_user(json_t *proc, const char *rootfs, const char *user, json_t *group_add, berr *e)
{
	struct eng_user u;
	if (eng_user_resolve(rootfs, user, group_add, &u, e) < 0)
		return -1;
	json_t *gids = json_array();
	for (size_t i = 0; gids && i < u.n_gids; i++)
		json_array_append_new(gids, json_integer(u.gids[i]));
	json_t *obj = json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)u.uid, "gid", (json_int_t)u.gid, "additionalGids",
				gids ? gids : json_array());
	eng_user_free(&u);
	if (!obj)
		return berr_set(e, ENOMEM, "exec user");
	json_object_set_new(proc, "user", obj);
	return 0;
}

int eng_exec_process(const struct eng_exec_process_input *in, json_t **out, berr *e)
{
	json_t *ctr_process = json_object_get(in->ctr_spec, "process");
	if (!json_is_object(ctr_process))
		return berr_set(e, EIO, "the container's config.json has no process");
	json_t *proc = json_deep_copy(ctr_process);
	if (!proc)
		return berr_set(e, ENOMEM, "exec process");
	json_t *cfg = in->exec_config;
	bool tty = json_is_true(json_object_get(cfg, "Tty"));
	const char *user = json_string_value(json_object_get(cfg, "User"));
	const char *cwd = json_string_value(json_object_get(cfg, "WorkingDir"));
	json_object_set(proc, "args", json_object_get(cfg, "Cmd"));
	json_t *env = exec_env(json_object_get(ctr_process, "env"), json_object_get(in->ctr_doc, "Config"), cfg, tty);
	if (!env) {
		json_decref(proc);
		return berr_set(e, ENOMEM, "exec env");
	}
	json_object_set_new(proc, "env", env);
	if (cwd && *cwd) {
		_cleanup_free_ char *clean = eng_path_clean(cwd);
		json_object_set_new(proc, "cwd", json_string(clean ? clean : cwd));
	}
	if (user && *user) {
		const char *rootfs = json_string_value(json_object_get(in->ctr_doc, "Rootfs"));
		json_t *group_add = json_object_get(json_object_get(in->ctr_doc, "HostConfig"), "GroupAdd");
		if (set_user(proc, rootfs ? rootfs : "/nonexistent", user, group_add, e) < 0) {
			json_decref(proc);
			return -1;
		}
	}
	json_object_set_new(proc, "terminal", json_boolean(tty));
	json_object_del(proc, "consoleSize");
	if (tty && in->height > 0 && in->width > 0)
		json_object_set_new(proc, "consoleSize",
				    json_pack("{s:i, s:i}", "height", in->height, "width", in->width));
	if (json_is_true(json_object_get(cfg, "Privileged"))) {
		uint64_t all = eng_caps_all();
		json_object_set_new(proc, "capabilities",
				    json_pack("{s:o, s:o, s:o}", "bounding", eng_caps_json(all), "effective",
					      eng_caps_json(all), "permitted", eng_caps_json(all)));
		json_object_del(proc, "apparmorProfile");
	}
	*out = proc;
	return 0;
}
