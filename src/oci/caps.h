/* Capabilities of the container process: names, what we hold, bounding set, capset and ambient. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "../lib/err.h"
#include "spec.h"

/* int oci_cap_from_name(const char *name) is declared in spec.h and defined in caps.c:
 * "CAP_CHOWN" -> 0, -1 for a name this build does not know (upper case with the CAP_
 * prefix only, as the runtime spec writes them). */

/* Highest capability number the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int oci_cap_last(void);

/*
 * The capabilities this process can hand on: bounding set & permitted set. A privileged
 * container's "all capabilities" means all of these; every set we apply is masked with it.
 */
uint64_t oci_caps_held(void);

/* Drop from the bounding set every capability not in c->bounding (needs CAP_SETPCAP). */
int oci_caps_drop_bounding(const struct oci_capabilities *c, berr *e);

/*
 * Set permitted, effective and inheritable (capset v3), then the ambient set: cleared,
 * then each ambient capability raised if it is both permitted and inheritable (others
 * are skipped, as runc does). Every set is first masked with oci_caps_held(). Called
 * after setuid/setgid, with PR_SET_KEEPCAPS set by the caller.
 */
int oci_caps_apply(const struct oci_capabilities *c, berr *e);

/*
 * A JSON array of capability names (a json_t *) -> mask. field names the array in
 * errors ("process.capabilities.bounding"); an unknown name is an error
 * ("process.capabilities.bounding[2]: unknown capability \"CAP_FOO\""). A NULL array
 * gives an empty mask.
 */
int oci_caps_parse_list(const void *json_array, const char *field, uint64_t *mask, berr *e);

/* Mask -> NULL-terminated, newly allocated list of "CAP_*" names (bits without a name in
 * this build are left out). NULL when out of memory. */
char **oci_caps_to_names(uint64_t mask);
