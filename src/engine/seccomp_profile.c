/*
 * A seccomp profile in Docker's format (what `docker run --security-opt seccomp=profile.json` sends
 * inline) -> linux.seccomp of the OCI spec: archMap resolved to this machine's architectures, rules
 * kept or dropped by their includes/excludes (capabilities of the container's bounding set, Go
 * architecture names, minimum kernel), "name" folded into "names".
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "engine/spec_internal.h"
#include "lib/json.h"
#include "oci/spec.h"

#define F "seccomp profile"

/* Whether the running kernel is at least "major.minor". */
static bool kernel_at_least(const char *want)
{
	int wmaj = 0, wmin = 0, maj = 0, min = 0;
	struct utsname u;
	if (sscanf(want, "%d.%d", &wmaj, &wmin) < 1 || uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) < 1)
		return false;
	return maj > wmaj || (maj == wmaj && min >= wmin);
}

static bool str_in(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

static bool holds(uint64_t caps, const char *name)
{
	int c = oci_cap_from_name(name);
	return c >= 0 && (caps >> c & 1);
}

/* Does a rule's filter match? includes: all must hold; excludes: any one holding drops the rule. */
static int filter_matches(json_t *flt, const char *field, uint64_t caps, bool include, bool *match, berr *e)
{
	json_t *arches = NULL, *cap_list = NULL;
	const char *min_kernel = NULL;
	if (eng_jstrarr(flt, field, "arches", &arches, e) < 0 || eng_jstrarr(flt, field, "caps", &cap_list, e) < 0 ||
	    eng_jstr(flt, field, "minKernel", &min_kernel, e) < 0)
		return -1;
	const char *arch = eng_seccomp_goarch();
	size_t i;
	json_t *v;
	if (include) {
		*match = !json_array_size(arches) || str_in(arches, arch);
		json_array_foreach (cap_list, i, v)
			*match = *match && holds(caps, json_string_value(v));
		if (min_kernel && *min_kernel)
			*match = *match && kernel_at_least(min_kernel);
	} else {
		*match = json_array_size(arches) && str_in(arches, arch);
		json_array_foreach (cap_list, i, v)
			*match = *match || holds(caps, json_string_value(v));
		if (min_kernel && *min_kernel)
			*match = *match || kernel_at_least(min_kernel);
	}
	return 0;
}

static int convert_rule(json_t *call, size_t idx, uint64_t caps, json_t *syscalls, berr *e)
{
	char field[48];
	snprintf(field, sizeof field, F ".syscalls[%zu]", idx);
	if (!json_is_object(call))
		return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(call));
	const char *name = NULL, *action = NULL;
	json_t *names = NULL, *args = NULL, *inc = NULL, *exc = NULL;
	if (eng_jstr(call, field, "name", &name, e) < 0 || eng_jstrarr(call, field, "names", &names, e) < 0 ||
	    eng_jstr(call, field, "action", &action, e) < 0 || eng_jarr(call, field, "args", &args, e) < 0 ||
	    eng_jobj(call, field, "includes", &inc, e) < 0 || eng_jobj(call, field, "excludes", &exc, e) < 0)
		return -1;
	if (name && *name && json_array_size(names))
		return berr_invalid(e, "use either 'name' or 'names'");
	if (!action)
		return berr_invalid(e, "%s.action: required", field);
	bool keep = true;
	if (exc) {
		bool excluded;
		if (filter_matches(exc, "excludes", caps, false, &excluded, e) < 0)
			return -1;
		keep = !excluded;
	}
	if (keep && inc && filter_matches(inc, "includes", caps, true, &keep, e) < 0)
		return -1;
	if (!keep)
		return 0;
	json_t *out = json_pack("{s:o, s:s}", "names", name && *name ? json_pack("[s]", name) : json_deep_copy(names),
				"action", action);
	if (!out)
		return berr_set(e, ENOMEM, "%s", field);
	json_t *errno_ret = json_object_get(call, "errnoRet");
	if (errno_ret && !json_is_null(errno_ret))
		json_object_set(out, "errnoRet", errno_ret);
	if (json_array_size(args))
		json_object_set_new(out, "args", json_deep_copy(args));
	json_array_append_new(syscalls, out);
	return 0;
}

int eng_seccomp_from_docker(json_t *profile, uint64_t caps, json_t **out, berr *e)
{
	*out = NULL;
	if (!json_is_object(profile))
		return berr_invalid(e, F ": expected an object, got %s", b_json_type_name(profile));
	const char *def = NULL;
	json_t *archs = NULL, *arch_map = NULL, *calls = NULL, *flags = NULL;
	if (eng_jstr(profile, F, "defaultAction", &def, e) < 0 ||
	    eng_jstrarr(profile, F, "architectures", &archs, e) < 0 ||
	    eng_jarr(profile, F, "archMap", &arch_map, e) < 0 || eng_jarr(profile, F, "syscalls", &calls, e) < 0 ||
	    eng_jstrarr(profile, F, "flags", &flags, e) < 0)
		return -1;
	if (!def || !*def)
		return berr_invalid(e, F ": defaultAction is required");
	if (json_array_size(archs) && json_array_size(arch_map))
		return berr_invalid(e, "both 'architectures' and 'archMap' are specified in the seccomp profile, use "
				       "either 'architectures' or 'archMap'");
	json_t *spec = json_pack("{s:s}", "defaultAction", def);
	json_t *arch_out = archs ? json_deep_copy(archs) : json_array();
	json_t *syscalls = json_array();
	if (!spec || !arch_out || !syscalls) {
		json_decref(spec);
		json_decref(arch_out);
		json_decref(syscalls);
		return berr_set(e, ENOMEM, F);
	}

	/* archMap: the entry of this machine's architecture and its sub-architectures. */
	const char *native = eng_seccomp_native_archs()[0];
	size_t i;
	json_t *entry;
	json_array_foreach (arch_map, i, entry) {
		const char *a = json_string_value(json_object_get(entry, "architecture"));
		if (!a || !native || strcmp(a, native))
			continue;
		json_array_append_new(arch_out, json_string(a));
		json_t *subs = json_object_get(entry, "subArchitectures");
		size_t k;
		json_t *s;
		json_array_foreach (subs, k, s)
			if (json_is_string(s))
				json_array_append(arch_out, s);
		break;
	}

	static const char *const passed[] = {"defaultErrnoRet", "listenerPath", "listenerMetadata"};
	for (size_t k = 0; k < sizeof passed / sizeof *passed; k++) {
		json_t *v = json_object_get(profile, passed[k]);
		if (v && !json_is_null(v))
			json_object_set(spec, passed[k], v);
	}
	if (json_array_size(flags))
		json_object_set(spec, "flags", flags);
	if (json_array_size(arch_out))
		json_object_set(spec, "architectures", arch_out);
	json_t *call;
	json_array_foreach (calls, i, call) {
		if (convert_rule(call, i, caps, syscalls, e) < 0) {
			json_decref(spec);
			json_decref(arch_out);
			json_decref(syscalls);
			return -1;
		}
	}
	json_object_set(spec, "syscalls", syscalls);
	json_decref(arch_out);
	json_decref(syscalls);
	*out = spec;
	return 0;
}
