/*
 * spectool: a test driver for the engine's spec building (not a product binary).
 *
 *   spectool BUNDLE ROOTFS < request.json
 *
 * request.json: {"Config": {...}, "HostConfig": {...}, "Image": <image config JSON or null>,
 *                "ImageName": "busybox", "Id": "<64 hex>", "CgroupParent": "/berth", "NetnsPath": null}
 * Only Config is required. It merges Config with the image's (eng_config_merge), parses the mounts
 * (eng_mounts_parse), makes volumes as BUNDLE/volumes/<name>/_data (anonymous ones get a name),
 * writes BUNDLE/hostname, hosts and resolv.conf, and writes BUNDLE/config.json (eng_spec_build) and
 * BUNDLE/config.merged.json (the merged Config). Errors: "spectool: <message>" and exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/spec.h"
#include "image/config.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

static int fail(berr *e)
{
	fprintf(stderr, "spectool: %s\n", berr_msg(e));
	berr_clear(e);
	return 1;
}

static char *read_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t n;
	while (buf && (n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (cap - len < 2) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int write_json(const char *dir, const char *name, json_t *j, berr *e)
{
	_cleanup_free_ char *path = NULL, *text = json_dumps(j, JSON_INDENT(1));
	if (!text || asprintf(&path, "%s/%s", dir, name) < 0)
		return berr_set(e, ENOMEM, "%s", name);
	return b_write_file(path, text, strlen(text), 0644, e);
}

static int write_text(const char *dir, const char *name, const char *text, char **path, berr *e)
{
	if (asprintf(path, "%s/%s", dir, name) < 0)
		return berr_set(e, ENOMEM, "%s", name);
	return b_write_file(*path, text, strlen(text), 0644, e);
}

/* Volumes become binds of BUNDLE/volumes/<name>/_data, as the daemon makes them of its volumes dir. */
static int resolve_volumes(const char *bundle, struct eng_mount *m, size_t n, berr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].type != ENG_MOUNT_VOLUME)
			continue;
		if (!m[i].source) {
			char name[32];
			snprintf(name, sizeof name, "anon%zu", i);
			m[i].source = strdup(name);
		}
		char *data = NULL;
		if (!m[i].source || asprintf(&data, "%s/volumes/%s/_data", bundle, m[i].source) < 0)
			return berr_set(e, ENOMEM, "volumes");
		if (b_mkdir_p(data, 0755, e) < 0) {
			free(data);
			return -1;
		}
		free(m[i].source);
		m[i].source = data;
		m[i].type = ENG_MOUNT_BIND;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: spectool BUNDLE ROOTFS < request.json\n");
		return 2;
	}
	/* Absolute paths: the spec names files that the runtime opens from elsewhere. */
	_cleanup_free_ char *bundle = realpath(argv[1], NULL), *rootfs = realpath(argv[2], NULL);
	if (!bundle || !rootfs) {
		fprintf(stderr, "spectool: %s: %s\n", bundle ? argv[2] : argv[1], strerror(errno));
		return 1;
	}
	berr e = {0};
	_cleanup_free_ char *text = read_stdin();
	if (!text) {
		fprintf(stderr, "spectool: reading stdin: out of memory\n");
		return 1;
	}
	json_t *req = b_json_parse(text, "request", &e);
	if (!req)
		return fail(&e);
	json_t *config = json_object_get(req, "Config"), *hc = json_object_get(req, "HostConfig");
	json_t *image_json = json_object_get(req, "Image");
	const char *image_name = json_string_value(json_object_get(req, "ImageName"));
	const char *id = json_string_value(json_object_get(req, "Id"));
	const char *cgroup_parent = json_string_value(json_object_get(req, "CgroupParent"));
	const char *netns = json_string_value(json_object_get(req, "NetnsPath"));
	if (!id)
		id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	if (hc && json_is_null(hc))
		hc = NULL;

	struct img_config image = {0};
	bool have_image = json_is_object(image_json);
	if (have_image) {
		/* The parser wants rootfs; a test's image may leave it out. */
		json_t *copy = json_deep_copy(image_json);
		if (!json_object_get(copy, "rootfs"))
			json_object_set_new(copy, "rootfs", json_pack("{s:s, s:[]}", "type", "layers", "diff_ids"));
		_cleanup_free_ char *img_text = json_dumps(copy, JSON_COMPACT);
		json_decref(copy);
		if (!img_text || img_config_parse(img_text, strlen(img_text), &image, &e) < 0) {
			json_decref(req);
			return fail(&e);
		}
	}

	json_t *merged = NULL, *spec = NULL;
	struct eng_mount *mounts = NULL;
	size_t n_mounts = 0;
	_cleanup_free_ char *hn_path = NULL, *hosts_path = NULL, *resolv_path = NULL;
	int r = eng_config_merge(config, have_image ? &image : NULL, image_name ? image_name : "test", &merged, &e);
	if (r == 0)
		r = eng_mounts_parse(hc, merged, &mounts, &n_mounts, &e);
	if (r == 0)
		r = resolve_volumes(bundle, mounts, n_mounts, &e);
	if (r == 0) {
		const char *hostname = json_string_value(json_object_get(merged, "Hostname"));
		char hn[80];
		if (hostname && *hostname)
			snprintf(hn, sizeof hn, "%.63s\n", hostname);
		else
			snprintf(hn, sizeof hn, "%.12s\n", id);
		r = write_text(bundle, "hostname", hn, &hn_path, &e);
		if (r == 0)
			r = write_text(bundle, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n",
				       &hosts_path, &e);
		if (r == 0)
			r = write_text(bundle, "resolv.conf", "nameserver 127.0.0.1\n", &resolv_path, &e);
	}
	if (r == 0) {
		struct eng_spec_input in = {
		    .id = id,
		    .config = merged,
		    .host_config = hc,
		    .rootfs = rootfs,
		    .hostname_path = hn_path,
		    .hosts_path = hosts_path,
		    .resolv_conf_path = resolv_path,
		    .cgroup_parent = cgroup_parent,
		    .netns_path = netns,
		    .mounts = mounts,
		    .n_mounts = n_mounts,
		};
		r = eng_spec_build(&in, &spec, &e);
	}
	if (r == 0)
		r = write_json(bundle, "config.merged.json", merged, &e);
	if (r == 0)
		r = write_json(bundle, "config.json", spec, &e);
	eng_mounts_free(mounts, n_mounts);
	json_decref(spec);
	json_decref(merged);
	json_decref(req);
	img_config_free(&image);
	return r < 0 ? fail(&e) : 0;
}
