/*
 * Networks as the API shows them (GET /networks, GET /networks/{id}): today the predefined ones,
 * bridge (the default bridge), host and none, in Docker's shapes. User networks come later: their
 * verbs are ENOTSUP.
 */
#pragma once
#include <jansson.h>

#include "engine/engine.h"
#include "lib/err.h"

/* GET /networks: filters (may be NULL) name, id, driver, type, scope, label; *out a new array. */
int eng_network_list(struct eng *eng, json_t *filters, json_t **out, berr *e);
/* GET /networks/{id}: by name, ID or unique ID prefix; Containers lists the running ones on it. */
int eng_network_inspect(struct eng *eng, const char *name, json_t **out, berr *e);
/* DELETE /networks/{id}: a predefined network is EPERM with Docker's words; unknown ENOENT. */
int eng_network_remove(struct eng *eng, const char *name, berr *e);
