/*
 * POST /containers/{id}/update: new resource limits (and restart policy) for a container, written
 * to its record and, when it runs, to its cgroup at once, as `docker update` does. Fields the
 * request leaves zero or absent keep their values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/restart.h"
#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "oci/cgroup.h"
#include "oci/spec.h"
#include "oci/state.h"

/* The HostConfig fields `docker update` changes. */
static const char *const update_keys[] = {
    "Memory",     "MemorySwap", "MemoryReservation", "KernelMemory",      "NanoCpus",
    "CpuShares",  "CpuPeriod",  "CpuQuota",          "CpuRealtimePeriod", "CpuRealtimeRuntime",
    "CpusetCpus", "CpusetMems", "PidsLimit",         "BlkioWeight",       "RestartPolicy",
};

static bool is_zero(json_t *v)
{
	return !v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
	       (json_is_string(v) && !*json_string_value(v)) ||
	       (json_is_object(v) && !*(json_string_value(json_object_get(v, "Name")) ?: ""));
}

/* The request's resources in OCI form, parsed as the runtime parses config.json. */
static int oci_resources_of(json_t *body, struct oci_spec **out, berr *e)
{
	json_t *res = json_object();
	if (!res)
		return berr_set(e, ENOMEM, "update");
	if (eng_spec_resources(body, res, e) < 0) {
		json_decref(res);
		return -1;
	}
	json_t *spec = json_pack("{s:s, s:{s:s}, s:{s:[s], s:s, s:{s:i, s:i}}, s:{s:o}}", "ociVersion", "1.0.2", "root",
				 "path", "/", "process", "args", "true", "cwd", "/", "user", "uid", 0, "gid", 0,
				 "linux", "resources", res);
	_cleanup_free_ char *text = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
	json_decref(spec);
	if (!text)
		return berr_set(e, ENOMEM, "update");
	return oci_spec_parse(text, out, e);
}

int eng_container_update(struct eng *eng, const char *name, json_t *body, berr *e)
{
	if (!json_is_object(body))
		return berr_invalid(e, "the body must be a JSON object");
	/* Checked before anything changes: Docker's messages for bad values. */
	struct oci_spec *spec = NULL;
	if (oci_resources_of(body, &spec, e) < 0)
		return -1;
	json_t *policy = json_object_get(body, "RestartPolicy");
	int r = 0;
	if (!is_zero(policy)) {
		json_t *probe = json_pack("{s:O}", "RestartPolicy", policy);
		r = probe ? eng_restart_policy_check(probe, e) : berr_set(e, ENOMEM, "update");
		json_decref(probe);
	}
	pthread_mutex_lock(&eng->lock);
	struct ctr *c = NULL;
	if (r == 0)
		r = ctr_find(eng, name, &c, e);
	if (r == 0) {
		/* A copy, put in place only once the cgroup has taken the new limits. */
		json_t *hc = json_deep_copy(json_object_get(c->doc, "HostConfig"));
		if (!hc)
			r = berr_set(e, ENOMEM, "update");
		else if (!is_zero(policy) && json_is_true(json_object_get(hc, "AutoRemove")))
			r = berr_invalid(e, "Restart policy cannot be updated because AutoRemove is enabled for the "
					    "container");
		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(update_keys); i++) {
			json_t *v = json_object_get(body, update_keys[i]);
			if (!is_zero(v))
				json_object_set(hc, update_keys[i], v);
		}
		if (r == 0 && ctr_running(c)) {
			struct oci_state st;
			struct oci_cgroup *cg = NULL;
			if ((r = oci_state_load(eng->runtime_root, c->id, &st, e)) == 0) {
				r = oci_cgroup_open(st.cgroup_path, c->id, false, NULL, &cg, e);
				oci_state_free(&st);
			}
			if (r == 0) {
				r = oci_cgroup_update(cg, &spec->linux_.resources, e);
				oci_cgroup_free(cg);
			}
			if (r < 0)
				berr_wrap(e, "Cannot update container %s", c->id);
		}
		if (r == 0)
			json_object_set(c->doc, "HostConfig", hc);
		json_decref(hc);
		if (r == 0)
			r = ctr_save(eng, c, e);
		if (r == 0)
			ctr_event(eng, c, "update", NULL);
		ctr_put(eng, c);
	}
	pthread_mutex_unlock(&eng->lock);
	oci_spec_free(spec);
	return r;
}
