/*
 * Registry credentials as the docker CLI keeps them: config.json in $DOCKER_CONFIG (else
 * ~/.docker), {"auths": {"<registry>": {"auth": base64("user:password")}}}, mode 0600; other keys
 * of the file are kept as they are. Sent to berthd as X-Registry-Auth (base64url JSON).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_internal.h"
#include "lib/base64.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/registry_host.h"

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"

char *cli_config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG");
	char *path = NULL;
	int n;
	if (dir && *dir) {
		n = asprintf(&path, "%s/config.json", dir);
	} else {
		const char *home = getenv("HOME");
		n = asprintf(&path, "%s/.docker/config.json", home && *home ? home : "/root");
	}
	return n < 0 ? NULL : path;
}

char *cli_registry_key(const char *server)
{
	bool hub;
	char *host = b_registry_host(server, &hub);
	return hub ? strdup(DOCKER_HUB_KEY) : host;
}

char *cli_image_registry_key(const char *image)
{
	/* Docker's rule: a first component with '.' or ':', or "localhost", names a registry. */
	size_t n = strcspn(image, "/");
	if (!image[n])
		return strdup(DOCKER_HUB_KEY);
	char *first = strndup(image, n);
	if (!first)
		return NULL;
	if (!memchr(first, '.', n) && !memchr(first, ':', n) && strcmp(first, "localhost") != 0) {
		free(first);
		return strdup(DOCKER_HUB_KEY);
	}
	char *key = cli_registry_key(first);
	free(first);
	return key;
}

/* The whole file, or an empty object when there is none. */
static json_t *config_load(const char *path, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (b_read_file(path, &text, &len, e) < 0) {
		if (e->errnum != ENOENT)
			return NULL;
		berr_clear(e);
		json_t *doc = json_object();
		if (!doc)
			berr_set(e, ENOMEM, "out of memory");
		return doc;
	}
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je);
	if (!json_is_object(doc)) {
		json_decref(doc);
		berr_invalid(e, "reading %s: %s", path, doc ? "not a JSON object" : je.text);
		return NULL;
	}
	return doc;
}

static int config_save(const char *path, json_t *doc, berr *e)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return berr_set(e, ENOMEM, "out of memory");
	*strrchr(dir, '/') = '\0';
	if (b_mkdir_p(dir, 0700, e) < 0)
		return -1;
	_cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (!text)
		return berr_set(e, ENOMEM, "encoding %s", path);
	size_t len = strlen(text);
	char *nl = realloc(text, len + 2);
	if (!nl)
		return berr_set(e, ENOMEM, "out of memory");
	text = nl;
	memcpy(text + len, "\n", 2);
	if (b_write_file_atomic(path, text, len + 1, 0600, e) < 0)
		return -1;
	/* An older file may have had a wider mode: the credentials are for its owner only. */
	if (chmod(path, 0600) < 0)
		return berr_sys(e, "chmod %s", path);
	return 0;
}

int cli_creds_get(const char *key, char **user, char **password, berr *e)
{
	*user = *password = NULL;
	_cleanup_free_ char *path = cli_config_path();
	if (!path)
		return berr_set(e, ENOMEM, "out of memory");
	json_t *doc = config_load(path, e);
	if (!doc)
		return -1;
	json_t *entry = json_object_get(json_object_get(doc, "auths"), key);
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	int r = 0;
	if (auth && *auth) {
		_cleanup_free_ char *pair = b_base64_decode(auth, NULL);
		char *colon = pair ? strchr(pair, ':') : NULL;
		if (!colon) {
			r = berr_invalid(e, "reading %s: the auth of %s is not base64 of user:password", path, key);
		} else {
			*colon = '\0';
			*user = strdup(pair);
			*password = strdup(colon + 1);
			r = 1;
		}
	} else if (json_string_value(json_object_get(entry, "username"))) {
		*user = strdup(json_string_value(json_object_get(entry, "username")));
		const char *p = json_string_value(json_object_get(entry, "password"));
		*password = strdup(p ? p : "");
		r = 1;
	}
	json_decref(doc);
	if (r == 1 && (!*user || !*password)) {
		free(*user);
		free(*password);
		*user = *password = NULL;
		return berr_set(e, ENOMEM, "out of memory");
	}
	return r;
}

int cli_creds_store(const char *key, const char *user, const char *password, berr *e)
{
	_cleanup_free_ char *path = cli_config_path(), *pair = NULL, *auth = NULL;
	if (!path || asprintf(&pair, "%s:%s", user, password) < 0 ||
	    !(auth = b_base64_encode(pair, strlen(pair), false)))
		return berr_set(e, ENOMEM, "out of memory");
	json_t *doc = config_load(path, e);
	if (!doc)
		return -1;
	json_t *auths = json_object_get(doc, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(doc, "auths", auths);
	}
	json_object_set_new(auths, key, json_pack("{s:s}", "auth", auth));
	int r = config_save(path, doc, e);
	json_decref(doc);
	return r < 0 ? berr_wrap(e, "storing the credentials") : 0;
}

int cli_creds_erase(const char *key, berr *e)
{
	_cleanup_free_ char *path = cli_config_path();
	if (!path)
		return berr_set(e, ENOMEM, "out of memory");
	json_t *doc = config_load(path, e);
	if (!doc)
		return -1;
	json_t *auths = json_object_get(doc, "auths");
	int r = 0;
	if (json_object_get(auths, key)) {
		json_object_del(auths, key);
		r = config_save(path, doc, e) < 0 ? berr_wrap(e, "removing the credentials") : 1;
	}
	json_decref(doc);
	return r;
}

char *cli_registry_auth_header(const char *image)
{
	_cleanup_free_ char *key = cli_image_registry_key(image), *user = NULL, *password = NULL;
	berr e = {0};
	if (!key || cli_creds_get(key, &user, &password, &e) <= 0) {
		if (e.msg)
			fprintf(stderr, "WARNING: %s\n", berr_msg(&e));
		berr_clear(&e);
		return NULL;
	}
	json_t *doc = json_pack("{s:s, s:s, s:s}", "username", user, "password", password, "serveraddress", key);
	_cleanup_free_ char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	_cleanup_free_ char *enc = text ? b_base64_encode(text, strlen(text), true) : NULL;
	char *line = NULL;
	if (!enc || asprintf(&line, "X-Registry-Auth: %s", enc) < 0)
		return NULL;
	return line;
}
