/* GET /containers/{id}/logs: the json-file log as Docker streams it. */
#pragma once
#include "api/api_internal.h"

void api_container_logs(struct api_request *r);

/*
 * The container's log so far, as attach with logs=1 sends it before the live stream: the entries
 * of the wanted streams, framed unless the container has a terminal, written to fd. 0, or -1
 * when fd broke; a container whose log cannot be read has nothing to replay.
 */
int api_logs_replay(struct eng *eng, const char *id, bool out, bool err, int fd);
