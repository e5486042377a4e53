/*
 * The Docker Engine API over HTTP on a unix socket (libmicrohttpd, a thread per connection so that
 * long answers such as wait, logs --follow and event streams can block without holding others up).
 */
#pragma once
#include "engine/engine.h"
#include "lib/err.h"

/* The API version we speak and the oldest we accept (/v1.xx/ prefixes, /_ping's API-Version). */
#define API_VERSION     "1.43"
#define API_MIN_VERSION "1.24"

struct api_server;

/* Serve on listen_fd (a listening socket; the server owns it from here). */
int api_server_start(struct eng *eng, int listen_fd, struct api_server **out, berr *e);
/* How many requests have ended so far (the daemon gives memory back once they stop for a while). */
unsigned long api_server_requests_done(struct api_server *s);
/* Stop accepting and close every connection. NULL is fine. */
void api_server_stop(struct api_server *s);
