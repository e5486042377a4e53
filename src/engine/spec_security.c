/*
 * Capabilities (Docker's default set, CapAdd/CapDrop, Privileged) and HostConfig.SecurityOpt
 * (no-new-privileges, seccomp=unconfined|builtin|<profile JSON>, systempaths=unconfined; label and
 * apparmor accepted and left to a host that has them).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <linux/capability.h>

#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "oci/caps.h"
#include "oci/spec.h"

#define BIT(c) (UINT64_C(1) << (c))

uint64_t eng_caps_all(void)
{
	uint64_t m = 0;
	int last = oci_cap_last();
	for (int i = 0; i <= last && i < 64; i++)
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
			m |= BIT(i);
	return m;
}

uint64_t eng_caps_default(void)
{
	static const int caps[] = {
	    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
	    CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
	    CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	    CAP_KILL,    CAP_AUDIT_WRITE,
	};
	uint64_t m = 0;
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
		m |= BIT(caps[i]);
	return m;
}

json_t *eng_caps_json(uint64_t caps)
{
	_cleanup_strv_ char **names = oci_caps_to_names(caps);
	json_t *arr = json_array();
	if (!names || !arr) {
		json_decref(arr);
		return NULL;
	}
	for (char **n = names; *n; n++)
		json_array_append_new(arr, json_string(*n));
	return arr;
}

/* Docker's NormalizeLegacyCapabilities: upper case, "CAP_" added, "ALL" kept as itself. */
static int caps_normalize(json_t *list, const char *field, uint64_t *mask, bool *all, berr *e)
{
	*mask = 0;
	*all = false;
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		_cleanup_free_ char *name = malloc(n + 5);
		if (!name)
			return berr_set(e, ENOMEM, "%s", field);
		bool prefixed = n >= 4 && !strncasecmp(s, "CAP_", 4);
		snprintf(name, n + 5, "%s%s", prefixed ? "" : "CAP_", s);
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		if (!strcasecmp(s, "ALL")) {
			*all = true;
			continue;
		}
		int cap = oci_cap_from_name(name);
		if (cap < 0 || cap > oci_cap_last())
			return berr_invalid(e, "unknown capability: \"%s\"", name);
		*mask |= BIT(cap);
	}
	return 0;
}

int eng_caps_compute(json_t *hc, uint64_t *out, berr *e)
{
	bool privileged = false;
	json_t *add = NULL, *drop = NULL;
	if (eng_jbool(hc, "HostConfig", "Privileged", &privileged, e) < 0 ||
	    eng_jstrarr(hc, "HostConfig", "CapAdd", &add, e) < 0 ||
	    eng_jstrarr(hc, "HostConfig", "CapDrop", &drop, e) < 0)
		return -1;
	uint64_t all = eng_caps_all();
	uint64_t add_mask, drop_mask;
	bool add_all, drop_all;
	if (caps_normalize(add, "HostConfig.CapAdd", &add_mask, &add_all, e) < 0 ||
	    caps_normalize(drop, "HostConfig.CapDrop", &drop_mask, &drop_all, e) < 0)
		return -1;
	if (privileged) {
		*out = all;
		return 0;
	}
	/* Asking by name for what the daemon does not hold would fail at start: say so now. */
	uint64_t missing = add_mask & ~all;
	if (missing && !add_all) {
		_cleanup_strv_ char **names = oci_caps_to_names(missing & -missing);
		return berr_invalid(
		    e, "capability %s cannot be added: the daemon does not hold it (not in its bounding set)",
		    names && names[0] ? names[0] : "?");
	}
	if (add_all)
		*out = all & ~drop_mask;
	else if (drop_all)
		*out = add_mask & all;
	else
		*out = ((eng_caps_default() & all) & ~drop_mask) | (add_mask & all);
	return 0;
}

int eng_security_opts(json_t *hc, struct eng_security *out, berr *e)
{
	memset(out, 0, sizeof *out);
	json_t *opts = NULL;
	if (eng_jstrarr(hc, "HostConfig", "SecurityOpt", &opts, e) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach (opts, i, v) {
		const char *opt = json_string_value(v);
		if (!strcmp(opt, "no-new-privileges")) {
			out->no_new_privs = true;
			continue;
		}
		if (!strcmp(opt, "disable"))
			continue; /* label=disable in its old spelling: no SELinux labels to disable */
		/* "key=value", or the old "key:value". */
		const char *sep = strchr(opt, '=');
		if (!sep)
			sep = strchr(opt, ':');
		if (!sep)
			return berr_invalid(e, "invalid --security-opt 1: \"%s\"", opt);
		size_t klen = (size_t)(sep - opt);
		const char *val = sep + 1;
		if (klen == 5 && !strncmp(opt, "label", 5))
			continue; /* SELinux: not on this host */
		if (klen == 8 && !strncmp(opt, "apparmor", 8))
			continue; /* AppArmor: not on this host */
		if (klen == 7 && !strncmp(opt, "seccomp", 7)) {
			out->seccomp_unconfined = !strcmp(val, "unconfined");
			out->seccomp_profile = out->seccomp_unconfined || !strcmp(val, "builtin") ? NULL : val;
			continue;
		}
		if (klen == 17 && !strncmp(opt, "no-new-privileges", 17)) {
			if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "t") || !strcmp(val, "T") ||
			    !strcmp(val, "TRUE") || !strcmp(val, "True"))
				out->no_new_privs = true;
			else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "f") || !strcmp(val, "F") ||
				 !strcmp(val, "FALSE") || !strcmp(val, "False"))
				out->no_new_privs = false;
			else
				return berr_invalid(e, "invalid --security-opt 2: \"%s\"", opt);
			continue;
		}
		if (klen == 11 && !strncmp(opt, "systempaths", 11)) {
			if (strcmp(val, "unconfined"))
				return berr_invalid(e, "invalid --security-opt 2: \"%s\"", opt);
			out->systempaths_unconfined = true;
			continue;
		}
		return berr_invalid(e, "invalid --security-opt 2: \"%s\"", opt);
	}
	return 0;
}
