/* Attaching to containers over an upgraded connection, and sizing their terminal. */
#pragma once
#include "api/api_internal.h"
#include "lib/detach_keys.h"

void api_container_attach(struct api_request *r);
void api_container_resize(struct api_request *r);
/*
 * Reply 101 ("Upgrade: tcp"), then, on a thread of its own, relay between the upgraded connection
 * and the stream open(arg) gives (an fd it hands over, or -1 to just close): its output to the
 * client, the client's input to it when in, until its end or, with a terminal, until the client
 * types keys (NULL: none). arg_free(arg) when done.
 */
void api_hijack(struct api_request *r, int (*open)(void *arg), void *arg, void (*arg_free)(void *arg), bool in,
		bool out, bool err, bool tty, const struct b_detach_keys *keys);
