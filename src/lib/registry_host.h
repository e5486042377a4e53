/* The registry a server argument names (`login SERVER`, an auth's serveraddress), as Docker reads it. */
#pragma once
#include <stdbool.h>

/*
 * The host[:port] of server without its scheme and path; NULL with *hub set when server is empty
 * or one of Docker Hub's names (docker.io, index.docker.io, registry-1.docker.io); NULL with
 * *hub false when out of memory.
 */
char *b_registry_host(const char *server, bool *hub);
