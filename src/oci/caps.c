/* Capabilities of the container process: names, what we hold, bounding set, capset and ambient. */
#include "caps.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/cleanup.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

int oci_cap_from_name(const char *name)
{
	if (!name || strncmp(name, "CAP_", 4) != 0 || !name[4])
		return -1;
	/* libcap matches any case and also takes numbers; the spec writes CAP_ and upper case. */
	for (const char *p = name + 4; *p; p++)
		if (!(isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
			return -1;
	cap_value_t v;
	if (cap_from_name(name, &v) != 0 || v < 0 || v > 63)
		return -1;
	return v;
}

/* "CAP_CHOWN" for 0; false when this build has no name for the number. */
static bool cap_name(int cap, char *buf, size_t size)
{
	char *n = cap_to_name(cap);
	bool ok = n && !isdigit((unsigned char)n[0]) && strncmp(n, "cap_", 4) == 0 && strlen(n) < size;
	if (ok) {
		for (size_t i = 0; n[i]; i++)
			buf[i] = (char)toupper((unsigned char)n[i]);
		buf[strlen(n)] = '\0';
	}
	cap_free(n);
	return ok;
}

/* For messages: the name, or "capability N". */
static const char *cap_label(int cap, char buf[static 64])
{
	if (!cap_name(cap, buf, 64))
		snprintf(buf, 64, "capability %d", cap);
	return buf;
}

static int cap_last_probe(void)
{
	/* A small integer written by the kernel: a fixed buffer is enough. */
	char buf[32];
	_cleanup_close_ int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n > 0) {
		buf[n] = '\0';
		char *end;
		errno = 0;
		long v = strtol(buf, &end, 10);
		if (!errno && end != buf && v >= 0 && v <= 63)
			return (int)v;
	}
	/* No /proc: PR_CAPBSET_READ says EINVAL past the last capability. */
	int last = 0;
	while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

int oci_cap_last(void)
{
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (v < 0) {
		v = cap_last_probe();
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

static uint64_t caps_valid_mask(void)
{
	int last = oci_cap_last();
	return last >= 63 ? UINT64_MAX : CAP_BIT(last + 1) - 1;
}

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	*eff = data[0].effective | (uint64_t)data[1].effective << 32;
	*prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	*inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

uint64_t oci_caps_held(void)
{
	uint64_t bnd = 0, eff, prm, inh;
	int last = oci_cap_last();
	for (int i = 0; i <= last; i++)
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
			bnd |= CAP_BIT(i);
	if (caps_get(&eff, &prm, &inh) < 0)
		return 0;
	return bnd & prm & caps_valid_mask();
}

int oci_caps_drop_bounding(const struct oci_capabilities *c, berr *e)
{
	int last = oci_cap_last();
	for (int i = 0; i <= last; i++) {
		if (c->bounding & CAP_BIT(i))
			continue;
		int r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
		if (r < 0 && errno == EINVAL)
			continue; /* not a capability of this kernel */
		char name[64];
		if (r < 0)
			return berr_sys(e, "reading %s in the bounding set", cap_label(i, name));
		if (r == 0)
			continue; /* already out */
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0)
			return berr_sys(e, "dropping %s from the bounding set", cap_label(i, name));
	}
	return 0;
}

int oci_caps_apply(const struct oci_capabilities *c, berr *e)
{
	uint64_t held = oci_caps_held();
	uint64_t prm = c->permitted & held, eff = c->effective & held;
	uint64_t inh = c->inheritable & held, amb = c->ambient & held;
	char name[64];

	/* capset would only say EPERM; say which capability is wrong. */
	if (eff & ~prm) {
		int cap = __builtin_ctzll(eff & ~prm);
		return berr_invalid(e, "process.capabilities.effective: %s is not in the permitted set",
				    cap_label(cap, name));
	}

	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].effective = (uint32_t)eff;
	data[1].effective = (uint32_t)(eff >> 32);
	data[0].permitted = (uint32_t)prm;
	data[1].permitted = (uint32_t)(prm >> 32);
	data[0].inheritable = (uint32_t)inh;
	data[1].inheritable = (uint32_t)(inh >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return berr_sys(e,
				"setting capabilities (permitted %#" PRIx64 ", effective %#" PRIx64
				", inheritable %#" PRIx64 ")",
				prm, eff, inh);

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		/* EINVAL: a kernel before 4.3 has no ambient set, so it is empty already. */
		if (errno == EINVAL && !amb)
			return 0;
		return berr_sys(e, "clearing the ambient capability set");
	}
	for (int i = 0; i < 64; i++) {
		if (!(amb & CAP_BIT(i)))
			continue;
		/* The kernel refuses an ambient capability that is not permitted and inheritable. */
		if (!(prm & inh & CAP_BIT(i)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return berr_sys(e, "raising %s in the ambient set", cap_label(i, name));
	}
	return 0;
}

int oci_caps_parse_list(const void *json_array, const char *field, uint64_t *mask, berr *e)
{
	const json_t *arr = json_array;
	*mask = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return berr_invalid(e, "%s: expected an array of capability names", field);
	uint64_t m = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);
		if (!json_is_string(v))
			return berr_invalid(e, "%s[%zu]: expected a string", field, i);
		int cap = oci_cap_from_name(json_string_value(v));
		if (cap < 0)
			return berr_invalid(e, "%s[%zu]: unknown capability \"%s\"", field, i, json_string_value(v));
		m |= CAP_BIT(cap);
	}
	*mask = m;
	return 0;
}

char **oci_caps_to_names(uint64_t mask)
{
	size_t n = (size_t)__builtin_popcountll(mask), k = 0;
	_cleanup_strv_ char **v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (int i = 0; i < 64; i++) {
		char name[64];
		if (!(mask & CAP_BIT(i)) || !cap_name(i, name, sizeof(name)))
			continue;
		if (!(v[k] = strdup(name)))
			return NULL;
		k++;
	}
	return steal_ptr(v);
}
