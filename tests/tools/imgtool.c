/*
 * imgtool: a test driver for image archives over a data root (not a product binary).
 *
 *   imgtool --root DIR load [-i FILE]                       FILE or stdin; prints "Loaded image: ..."
 *   imgtool --root DIR save -o FILE [--format docker|oci] NAME...   "-o -": stdout
 *   imgtool --root DIR images [--no-trunc]                  REPOSITORY TAG IMAGE ID
 *   imgtool --root DIR inspect NAME                         JSON: Id, RepoTags, DiffIds, ChainIds, ...
 *   imgtool --root DIR rootfs NAME [DIR]                    lower dirs, top-most first; with DIR, also
 *                                                           an overlay mounted there (DIR.upper, DIR.work)
 *   imgtool --root DIR rmi [-f] NAME...
 *   imgtool layer-tar LAYERDIR                              the canonical tar of a layer dir, to stdout;
 *                                                           its sha256 on stderr
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "image/image.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "storage/overlay.h"

static int fail(berr *e)
{
	fprintf(stderr, "imgtool: %s\n", berr_msg(e));
	berr_clear(e);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: imgtool --root DIR load [-i FILE] | save -o FILE [--format docker|oci] NAME... |\n"
			"       images [--no-trunc] | inspect NAME | rootfs NAME [DIR] | rmi [-f] NAME...\n"
			"       imgtool layer-tar LAYERDIR\n");
	return 2;
}

static int cmd_load(struct img_env *env, int argc, char **argv)
{
	const char *file = NULL;
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "+i:")) != -1) {
		if (c != 'i')
			return usage();
		file = optarg;
	}
	if (optind != argc)
		return usage();
	_cleanup_close_ int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : dup(0);
	if (fd < 0) {
		fprintf(stderr, "imgtool: %s: %s\n", file ? file : "stdin", strerror(errno));
		return 1;
	}
	berr e = {0};
	_cleanup_strv_ char **loaded = NULL;
	if (img_load_archive(env, fd, &loaded, &e) < 0)
		return fail(&e);
	for (char **l = loaded; *l; l++)
		printf("%s\n", *l);
	return 0;
}

static int cmd_save(struct img_env *env, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	const char *out = NULL;
	enum img_archive_format fmt = IMG_ARCHIVE_DOCKER;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'f' && strcmp(optarg, "docker") == 0)
			fmt = IMG_ARCHIVE_DOCKER;
		else if (c == 'f' && strcmp(optarg, "oci") == 0)
			fmt = IMG_ARCHIVE_OCI;
		else
			return usage();
	}
	if (!out || optind == argc)
		return usage();
	berr e = {0};
	if (strcmp(out, "-") == 0) {
		if (img_save_archive(env, argv + optind, (size_t)(argc - optind), fmt, 1, &e) < 0)
			return fail(&e);
		return 0;
	}
	/* Written beside FILE, renamed over it when whole. */
	_cleanup_free_ char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp-XXXXXX", out) < 0)
		return 1;
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "imgtool: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	if (img_save_archive(env, argv + optind, (size_t)(argc - optind), fmt, fd, &e) < 0) {
		unlink(tmp);
		return fail(&e);
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, out) < 0) {
		fprintf(stderr, "imgtool: %s: %s\n", out, strerror(errno));
		unlink(tmp);
		return 1;
	}
	return 0;
}

static void print_row(const char *repo, const char *tag, const char *id, bool no_trunc)
{
	const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
	if (no_trunc)
		printf("%-40s %-20s %s\n", repo, tag, id);
	else
		printf("%-40s %-20s %.12s\n", repo, tag, hex);
}

static int cmd_images(struct img_env *env, int argc, char **argv)
{
	bool no_trunc = argc > 1 && strcmp(argv[1], "--no-trunc") == 0;
	if (argc > 1 + no_trunc)
		return usage();
	berr e = {0};
	struct img_db_image *imgs = NULL;
	size_t n = 0;
	if (img_db_list(env->db, true, &imgs, &n, &e) < 0)
		return fail(&e);
	printf("%-40s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID");
	for (size_t i = 0; i < n; i++) {
		bool shown = false;
		for (char **t = imgs[i].tags; t && *t; t++) {
			struct img_ref ref = {0};
			if (img_ref_parse(*t, &ref, &e) < 0) {
				berr_clear(&e);
				continue;
			}
			_cleanup_free_ char *repo = img_ref_familiar_repository(&ref);
			print_row(repo ? repo : "?", ref.tag ? ref.tag : "<none>", imgs[i].id, no_trunc);
			img_ref_free(&ref);
			shown = true;
		}
		if (!shown)
			print_row("<none>", "<none>", imgs[i].id, no_trunc);
	}
	img_db_images_free(imgs, n);
	return 0;
}

static json_t *strv_json(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; v && (n ? i < n : v[i] != NULL); i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int cmd_inspect(struct img_env *env, int argc, char **argv)
{
	if (argc != 2)
		return usage();
	berr e = {0};
	_cleanup_free_ char *id = NULL;
	if (img_db_resolve(env->db, argv[1], &id, &e) < 0)
		return fail(&e);
	struct img_db_image img = {0};
	if (img_db_image_get(env->db, id, &img, &e) < 0)
		return fail(&e);
	json_t *o = json_pack(
	    "{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:o, s:o, s:o}", "Id", img.id, "Created", img.created,
	    "ManifestDigest", img.manifest_digest, "ManifestMediaType", img.manifest_media_type, "Os", img.os,
	    "Architecture", img.architecture, "Size", (json_int_t)img.size, "RepoTags", strv_json(img.tags, 0),
	    "DiffIds", strv_json(img.diff_ids, img.n_layers), "ChainIds", strv_json(img.chain_ids, img.n_layers));
	img_db_image_free(&img);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!text)
		return 1;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int cmd_rootfs(struct img_env *env, int argc, char **argv)
{
	if (argc != 2 && argc != 3)
		return usage();
	berr e = {0};
	_cleanup_strv_ char **dirs = NULL;
	size_t n = 0;
	if (img_env_lock(env, false, &e) < 0)
		return fail(&e);
	int r = img_rootfs_dirs(env, argv[1], &dirs, &n, &e);
	img_env_unlock(env);
	if (r < 0)
		return fail(&e);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", dirs[i]);
	if (argc == 3) {
		_cleanup_free_ char *upper = NULL, *work = NULL;
		if (asprintf(&upper, "%s.upper", argv[2]) < 0 || asprintf(&work, "%s.work", argv[2]) < 0)
			return 1;
		if (stor_overlay_mount(dirs, n, upper, work, argv[2], &e) < 0)
			return fail(&e);
	}
	return 0;
}

static int cmd_rmi(struct img_env *env, int argc, char **argv)
{
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "+f")) != -1) {
		if (c != 'f')
			return usage();
		force = true;
	}
	if (optind == argc)
		return usage();
	int status = 0;
	for (int i = optind; i < argc; i++) {
		berr e = {0};
		struct img_db_removal r = {0};
		if (img_remove(env, argv[i], force, &r, &e) < 0) {
			status = fail(&e);
			continue;
		}
		for (char **u = r.untagged; *u; u++)
			printf("Untagged: %s\n", *u);
		for (char **d = r.deleted; *d; d++)
			printf("Deleted: %s\n", *d);
		img_db_removal_free(&r);
	}
	return status;
}

static int cmd_layer_tar(int argc, char **argv)
{
	if (argc != 2)
		return usage();
	berr e = {0};
	char digest[B_DIGEST_LEN + 1];
	if (img_layer_tar(argv[1], 1, digest, NULL, &e) < 0)
		return fail(&e);
	fprintf(stderr, "%s\n", digest);
	return 0;
}

int main(int argc, char **argv)
{
	const char *root = NULL;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "--root") == 0) {
		root = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i];
	if (strcmp(cmd, "layer-tar") == 0)
		return cmd_layer_tar(argc - i, argv + i);
	if (!root)
		return usage();
	static const struct {
		const char *name;
		int (*fn)(struct img_env *env, int argc, char **argv);
	} cmds[] = {
	    {"load", cmd_load},       {"save", cmd_save},     {"images", cmd_images},
	    {"inspect", cmd_inspect}, {"rootfs", cmd_rootfs}, {"rmi", cmd_rmi},
	};
	for (size_t k = 0; k < ARRAY_SIZE(cmds); k++) {
		if (strcmp(cmd, cmds[k].name) != 0)
			continue;
		berr e = {0};
		struct img_env *env = NULL;
		if (img_env_open(root, &env, &e) < 0)
			return fail(&e);
		int r = cmds[k].fn(env, argc - i, argv + i);
		fflush(stdout);
		img_env_close(env);
		return r;
	}
	return usage();
}
