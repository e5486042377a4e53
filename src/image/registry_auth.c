/* X-Registry-Auth: the credentials the docker CLI and the SDKs send with pull and push. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "image/registry.h"
#include "image/registry_internal.h"
#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/registry_host.h"

static int take(json_t *doc, const char *key, char **out)
{
	const char *v = json_string_value(json_object_get(doc, key));
	if (!v || !*v)
		return 0;
	return (*out = strdup(v)) ? 0 : -1;
}

int img_registry_auth_parse(const char *header, struct img_registry_auth *out, berr *e)
{
	memset(out, 0, sizeof *out);
	if (!header || !*header)
		return 0;
	size_t len = 0;
	_cleanup_free_ char *text = b_base64_decode(header, &len);
	if (!text)
		return berr_invalid(e, "X-Registry-Auth: not base64");
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return berr_invalid(e, "X-Registry-Auth: %s", doc ? "expected a JSON object" : jerr.text);
	}
	int r = take(doc, "username", &out->username) | take(doc, "password", &out->password) |
		take(doc, "identitytoken", &out->identity_token) | take(doc, "registrytoken", &out->registry_token);
	json_decref(doc);
	if (r < 0) {
		img_registry_auth_free(out);
		return berr_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

void img_registry_auth_free(struct img_registry_auth *a)
{
	if (!a)
		return;
	free(a->username);
	free(a->password);
	free(a->identity_token);
	free(a->registry_token);
	memset(a, 0, sizeof *a);
}

char *img_registry_server_domain(const char *server)
{
	bool hub;
	char *host = b_registry_host(server, &hub);
	return hub ? strdup("docker.io") : host;
}

int img_registry_login(const char *server, const struct img_registry_opts *o, berr *e)
{
	_cleanup_free_ char *domain = img_registry_server_domain(server);
	if (!domain)
		return berr_set(e, ENOMEM, "out of memory");
	struct reg_client *c = NULL;
	int r = reg_client_new(domain, "", "pull", o, &c, e);
	if (r == 0)
		r = reg_ping(c, e);
	reg_client_free(c);
	return r;
}
