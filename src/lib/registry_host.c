#include "lib/registry_host.h"

#include <string.h>

char *b_registry_host(const char *server, bool *hub)
{
	static const char *const hub_names[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
	const char *v = server ? server : "";
	if (strncmp(v, "http://", 7) == 0)
		v += 7;
	else if (strncmp(v, "https://", 8) == 0)
		v += 8;
	size_t n = strcspn(v, "/");
	*hub = n == 0;
	for (size_t i = 0; i < sizeof hub_names / sizeof *hub_names && !*hub; i++)
		*hub = strlen(hub_names[i]) == n && strncmp(v, hub_names[i], n) == 0;
	return *hub ? NULL : strndup(v, n);
}
