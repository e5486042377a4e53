/*
 * What this host's cgroups can enforce, and Docker's way with the rest: a container asking for a
 * resource control the host lacks is created without it, with a warning, rather than refused
 * (verifyPlatformContainerResources in Docker's daemon).
 */
#pragma once
#include <jansson.h>

/* Drop from host_config what this host cannot enforce; one Docker warning each into warnings. */
void eng_host_config_drop_unsupported(json_t *host_config, json_t *warnings);
