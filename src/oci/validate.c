#include "validate.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool private_ns(const struct oci_spec *s, enum oci_ns_type t)
{
	const struct oci_namespace *ns = &s->linux_.namespaces[t];
	if (!ns->present)
		return false;
	if (!ns->path)
		return true;
	/* Joining a namespace by path: private unless it is our own. */
	char self[64];
	snprintf(self, sizeof self, "/proc/self/ns/%s", oci_ns_proc_name(t));
	struct stat a, b;
	return stat(ns->path, &a) == 0 && stat(self, &b) == 0 && (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static int check_sysctl(const struct oci_spec *s, const char *key, berr *e)
{
	static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
					       "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
					       "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
	bool ipc = starts_with(key, "fs.mqueue.");
	for (const char *const *k = ipc_keys; *k && !ipc; k++)
		ipc = !strcmp(key, *k);
	if (ipc) {
		if (!private_ns(s, OCI_NS_IPC))
			return berr_invalid(e, "linux.sysctl %s: needs a private IPC namespace", key);
		return 0;
	}
	if (starts_with(key, "net.")) {
		if (!private_ns(s, OCI_NS_NETWORK))
			return berr_invalid(
			    e, "linux.sysctl %s: needs a private network namespace (it would change the host's)", key);
		return 0;
	}
	if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname")) {
		if (!private_ns(s, OCI_NS_UTS))
			return berr_invalid(e, "linux.sysctl %s: needs a private UTS namespace", key);
		return 0;
	}
	return berr_invalid(e, "linux.sysctl %s: not namespaced, it would change the host", key);
}

int oci_spec_validate_for_create(const struct oci_spec *s, berr *e)
{
	const struct oci_linux *l = &s->linux_;
	if (l->namespaces[OCI_NS_TIME].present)
		return berr_invalid(e, "linux.namespaces: the time namespace is not supported");
	if (!l->namespaces[OCI_NS_MOUNT].present)
		return berr_invalid(e, "linux.namespaces: a mount namespace is required");
	if (l->namespaces[OCI_NS_MOUNT].path)
		return berr_invalid(e, "linux.namespaces: joining a mount namespace by path is not supported");
	if (s->hostname && *s->hostname && !private_ns(s, OCI_NS_UTS))
		return berr_invalid(e, "hostname: setting it needs a private UTS namespace");
	if (s->domainname && *s->domainname && !private_ns(s, OCI_NS_UTS))
		return berr_invalid(e, "domainname: setting it needs a private UTS namespace");
	for (char **kv = l->sysctl; kv && kv[0] && kv[1]; kv += 2)
		if (check_sysctl(s, kv[0], e) < 0)
			return -1;
	return 0;
}
