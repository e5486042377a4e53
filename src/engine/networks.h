/*
 * Networks as the API shows them (/networks): the predefined bridge (the default bridge), host and
 * none, and user networks (user_networks.c), in Docker's shapes.
 */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "engine/engine.h"
#include "lib/err.h"

/* GET /networks: filters (may be NULL) name, id, driver, type, scope, label, dangling; *out a new array. */
int eng_network_list(struct eng *eng, json_t *filters, json_t **out, berr *e);
/* GET /networks/{id}: by name, ID or unique ID prefix; Containers lists the running ones on it. */
int eng_network_inspect(struct eng *eng, const char *name, json_t **out, berr *e);
/* POST /networks/create; *id malloc'd. */
int eng_network_create(struct eng *eng, json_t *body, char **id, berr *e);
/* DELETE /networks/{id}: a predefined network or one in use is EPERM with Docker's words; unknown ENOENT. */
int eng_network_remove(struct eng *eng, const char *name, berr *e);
/* POST /networks/prune: filters label, label!, until; *out {"NetworksDeleted": [...]}. */
int eng_network_prune(struct eng *eng, json_t *filters, json_t **out, berr *e);
/* POST /networks/{id}/connect (connect) or /disconnect: body {Container, EndpointConfig} or {Container, Force}. */
int eng_network_connect(struct eng *eng, const char *name, json_t *body, bool connect, berr *e);
