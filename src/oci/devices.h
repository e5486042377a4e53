/* The device cgroup rules a container gets: the config's, then the devices it is given. */
#pragma once
#include "spec.h"

/*
 * The rules to apply: the config's own, then (as runc does) allows for mknod of
 * any node, for the default /dev devices, the pty devices, and for every
 * linux.devices entry, so a config that denies everything first still works.
 * *out is a malloc'd array whose strings point into s (free only the array).
 */
int oci_devices_effective_rules(const struct oci_spec *s, struct oci_device_cgroup **out, size_t *n, berr *e);
