/* Checks a config must pass before anything is created for it. */
#pragma once
#include "../lib/err.h"
#include "spec.h"

/*
 * Settings that would reach outside the container: a hostname without its own
 * UTS namespace, sysctls of a namespace the container shares with the host
 * (runc's rules), no mount namespace.
 */
int oci_spec_validate_for_create(const struct oci_spec *s, berr *e);
