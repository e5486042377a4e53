/*
 * `berth cp`: files between a container and here, over GET/HEAD/PUT /containers/{id}/archive,
 * with docker's path rules (archive.PrepareArchiveCopy): a file onto a directory lands inside it,
 * onto a new name takes that name; "dir/." copies the directory's contents.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "cli/cp_tar.h"
#include "lib/cleanup.h"
#include "lib/fd.h"

/* Go's os.FileMode bits, as the stat header carries them. */
#define GO_MODE_DIR     (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)

struct path_info {
	char *path; /* after following symlinks at the destination */
	bool exists, is_dir;
};

/* ---------- paths as docker's archive package splits them ---------- */

static bool ends_with_dot(const char *p)
{
	size_t n = strlen(p);
	return (n == 1 && p[0] == '.') || (n >= 2 && p[n - 1] == '.' && p[n - 2] == '/');
}

static bool asserts_directory(const char *p)
{
	size_t n = strlen(p);
	return (n && p[n - 1] == '/') || ends_with_dot(p);
}

/* Lexically cleaned path (Go's filepath.Clean), freshly allocated. */
static char *clean_path(const char *p)
{
	bool abs = p[0] == '/';
	size_t n = strlen(p);
	char *out = malloc(n + 2), *parts = strdup(p);
	if (!out || !parts) {
		free(out);
		free(parts);
		return NULL;
	}
	size_t len = 0, depth = 0; /* depth: components we may pop with ".." */
	if (abs)
		out[len++] = '/';
	char *save = NULL;
	for (char *tok = strtok_r(parts, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			if (depth) {
				while (len > (abs ? 1u : 0u) && out[len - 1] != '/')
					len--;
				if (len > (abs ? 1u : 0u))
					len--;
				depth--;
				continue;
			}
			if (abs)
				continue;
		} else {
			depth++;
		}
		if (len && out[len - 1] != '/')
			out[len++] = '/';
		memcpy(out + len, tok, strlen(tok));
		len += strlen(tok);
	}
	if (!len)
		out[len++] = '.';
	out[len] = '\0';
	free(parts);
	return out;
}

/* SplitPathDirEntry: "a/b/" -> ("a", "b"); "a/b/." -> ("a/b", "."). Both freshly allocated. */
static int split_dir_entry(const char *p, char **dir, char **base)
{
	_cleanup_free_ char *cleaned = clean_path(p);
	if (!cleaned)
		return -1;
	if (ends_with_dot(p) && strcmp(cleaned, ".") != 0) {
		*dir = strdup(cleaned);
		*base = strdup(".");
	} else {
		char *slash = strrchr(cleaned, '/');
		if (!slash) {
			*dir = strdup(".");
			*base = strdup(cleaned);
		} else if (slash == cleaned) {
			*dir = strdup("/");
			*base = strdup(slash[1] ? slash + 1 : "/");
		} else {
			*dir = strndup(cleaned, (size_t)(slash - cleaned));
			*base = strdup(slash + 1);
		}
	}
	return *dir && *base ? 0 : -1;
}

static char *join_path(const char *dir, const char *rel)
{
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s/%s", dir, rel);
	char *out = clean_path(b.s);
	cli_buf_free(&b);
	return out;
}

/* An absolute local path that keeps a trailing "/" or "/." (docker's resolveLocalPath). */
static char *absolute_local(const char *p)
{
	struct cli_buf b = {0};
	if (p[0] == '/') {
		cli_buf_add(&b, "%s", p);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		cli_buf_add(&b, "%s/%s", cwd, p);
	}
	char *cleaned = clean_path(b.s);
	cli_buf_free(&b);
	if (cleaned && asserts_directory(p) && strcmp(cleaned, "/") != 0) {
		struct cli_buf k = {0};
		cli_buf_add(&k, "%s%s", cleaned, ends_with_dot(p) ? "/." : "/");
		free(cleaned);
		cleaned = k.s;
	}
	return cleaned;
}

/* ---------- the container's side ---------- */

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* The X-Docker-Container-Path-Stat header: base64 of {"name","size","mode","mtime","linkTarget"}. */
static json_t *decode_stat(const char *b64)
{
	size_t n = strlen(b64);
	_cleanup_free_ char *text = malloc(n + 1);
	if (!text)
		return NULL;
	size_t len = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value(b64[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			text[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	return json_loadb(text, len, 0, NULL);
}

static char *archive_query(const char *ctr, const char *path)
{
	_cleanup_free_ char *id = cli_escape(ctr);
	struct cli_buf b = {0};
	cli_buf_add(&b, "/containers/%s/archive", id);
	cli_buf_query(&b, "path", path);
	return b.s;
}

/* HEAD the path: its stat, or NULL with the reply in *r (404 ...) or *e (no daemon). */
static json_t *stat_in_container(struct cli *c, const char *ctr, const char *path, struct cli_resp *r, berr *e)
{
	_cleanup_free_ char *query = archive_query(ctr, path);
	char *header = NULL;
	struct cli_stream_req req = {.method = "HEAD",
				     .path = query,
				     .upload_fd = -1,
				     .header_name = "X-Docker-Container-Path-Stat",
				     .header_value = &header};
	if (cli_http_stream(c, &req, r, e) < 0)
		return NULL;
	json_t *st = r->status == 200 && header ? decode_stat(header) : NULL;
	free(header);
	return st;
}

static uint64_t stat_mode(json_t *st)
{
	return (uint64_t)json_integer_value(json_object_get(st, "mode"));
}

/* ---------- progress, as docker prints it on a terminal ---------- */

struct progress {
	bool on;            /* stderr is a terminal and no -q */
	const char *header; /* "Copying from container - " */
	size_t total;
	struct timespec last;
};

static void progress_add(void *arg, size_t bytes)
{
	struct progress *p = arg;
	p->total += bytes;
	if (!p->on)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 100)
		return;
	p->last = now;
	char size[32];
	cli_human_size((double)p->total, size, sizeof size);
	fprintf(stderr, "\0338\033[2K%s%s", p->header, size);
	fflush(stderr);
}

static void progress_start(struct progress *p)
{
	clock_gettime(CLOCK_MONOTONIC, &p->last);
	if (p->on) {
		fputs("\0337\033[?25lPreparing to copy...", stderr);
		fflush(stderr);
	}
}

static void progress_end(struct progress *p, const char *ctr, const char *dst)
{
	if (!p->on)
		return;
	char size[32];
	cli_human_size((double)p->total, size, sizeof size);
	fprintf(stderr, "\033[?25h\0338\033[2KSuccessfully copied %s to %s%s%s\n", size, ctr ? ctr : "", ctr ? ":" : "",
		dst);
}

/* ---------- from the container ---------- */

struct download {
	struct cli *c;
	char *query;
	int fd; /* the pipe's write end */
	char *stat_header;
	struct cli_resp resp;
	berr e;
	int rc;
};

static int pipe_sink(void *arg, const char *buf, size_t len)
{
	return b_write_all(*(int *)arg, buf, len);
}

static void *download_run(void *arg)
{
	struct download *d = arg;
	struct cli_stream_req req = {.method = "GET",
				     .path = d->query,
				     .upload_fd = -1,
				     .sink = pipe_sink,
				     .sink_arg = &d->fd,
				     .header_name = "X-Docker-Container-Path-Stat",
				     .header_value = &d->stat_header};
	d->rc = cli_http_stream(d->c, &req, &d->resp, &d->e);
	close(d->fd);
	return NULL;
}

/* CopyInfoDestinationPath: follow symlinks at dst; a missing dst needs its parent directory. */
static int local_destination(const char *path, struct path_info *out, berr *e)
{
	char *p = strdup(path);
	struct stat st;
	int n = 0;
	int r = lstat(p, &st);
	while (r == 0 && S_ISLNK(st.st_mode)) {
		if (++n > 10) {
			free(p);
			return berr_plain(e, ELOOP, "too many symlinks in %s", path);
		}
		char target[PATH_MAX];
		ssize_t len = readlink(p, target, sizeof target - 1);
		if (len < 0) {
			free(p);
			return berr_sys(e, "readlink %s", path);
		}
		target[len] = '\0';
		char *next;
		if (target[0] == '/') {
			next = strdup(target);
		} else {
			char *dir, *base;
			split_dir_entry(p, &dir, &base);
			next = join_path(dir, target);
			free(dir);
			free(base);
		}
		free(p);
		p = next;
		r = lstat(p, &st);
	}
	out->path = p;
	if (r == 0) {
		out->exists = true;
		out->is_dir = S_ISDIR(st.st_mode);
		return 0;
	}
	if (errno != ENOENT)
		return berr_sys(e, "lstat %s", p);
	char *dir, *base;
	split_dir_entry(p, &dir, &base);
	int rc = 0;
	if (stat(dir, &st) < 0)
		rc = berr_sys(e, "stat %s", dir);
	else if (!S_ISDIR(st.st_mode))
		rc = berr_plain(e, ENOTDIR, "not a directory");
	free(dir);
	free(base);
	return rc;
}

/*
 * PrepareArchiveCopy: where the archive goes (*dir) and what its top entry *from becomes (*to,
 * NULL when it keeps its name). rebase_name: the name of the link -L followed, which the target
 * takes.
 */
static int prepare_copy(const char *src_path, bool src_is_dir, const char *rebase_name, const struct path_info *dst,
			char **dir, char **from, char **to, berr *e)
{
	char *dst_dir, *dst_base, *src_dir, *src_base;
	if (split_dir_entry(dst->path, &dst_dir, &dst_base) < 0 || split_dir_entry(src_path, &src_dir, &src_base) < 0)
		return berr_plain(e, ENOMEM, "copying");
	free(src_dir);
	*to = NULL;
	*from = src_base;
	if (dst->exists && dst->is_dir) {
		*to = rebase_name ? strdup(rebase_name) : NULL;
		*dir = strdup(dst->path);
		free(dst_dir);
		free(dst_base);
		return 0;
	}
	if (dst->exists && src_is_dir) {
		free(dst_dir);
		free(dst_base);
		free(*from);
		*from = NULL;
		return berr_plain(e, EISDIR, "cannot copy directory");
	}
	if (!dst->exists && !src_is_dir && asserts_directory(dst->path)) {
		free(dst_dir);
		free(dst_base);
		free(*from);
		*from = NULL;
		return berr_plain(e, ENOENT, "no such directory");
	}
	*dir = dst_dir;
	*to = dst_base;
	return 0;
}

/* docker's ValidateOutputPath: the parent must exist, and the path be a directory or a file. */
static bool valid_output_path(const char *path)
{
	_cleanup_free_ char *cleaned = clean_path(path);
	char *dir = NULL, *base = NULL;
	bool ok = true;
	struct stat st;
	if (cleaned && split_dir_entry(cleaned, &dir, &base) == 0 && strcmp(dir, ".") != 0 && stat(dir, &st) < 0 &&
	    errno == ENOENT) {
		fprintf(stderr, "invalid output path: directory \"%s\" does not exist\n", dir);
		ok = false;
	} else if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "invalid output path: \"%s\" must be a directory or a regular file\n", path);
		ok = false;
	}
	free(dir);
	free(base);
	return ok;
}

static int copy_from_container(struct cli *c, const char *ctr, const char *src, const char *dst, bool follow,
			       bool quiet)
{
	berr e = {0};
	struct cli_resp r = {0};
	_cleanup_free_ char *src_path = strdup(src);
	_cleanup_free_ char *rebase_name = NULL;
	if (follow) {
		/* A failed stat has no message (HEAD): the GET below says what is wrong. */
		json_t *st = stat_in_container(c, ctr, src, &r, &e);
		cli_resp_free(&r);
		berr_clear(&e);
		const char *target = st ? json_string_value(json_object_get(st, "linkTarget")) : NULL;
		if (st && (stat_mode(st) & GO_MODE_SYMLINK) && target && *target) {
			char *dir, *base;
			split_dir_entry(src, &dir, &base);
			free(src_path);
			src_path = target[0] == '/' ? strdup(target) : join_path(dir, target);
			rebase_name = base;
			free(dir);
		}
		json_decref(st);
	}
	_cleanup_free_ char *query = archive_query(ctr, src_path);
	if (strcmp(dst, "-") == 0) {
		int out = STDOUT_FILENO;
		struct cli_stream_req req = {
		    .method = "GET", .path = query, .upload_fd = -1, .sink = pipe_sink, .sink_arg = &out};
		int status = 0;
		if (cli_http_stream(c, &req, &r, &e) < 0) {
			cli_print_connect_error(c, "", &e);
			status = CLI_EXIT_FAIL;
		} else if (r.status != 200) {
			cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
		}
		berr_clear(&e);
		cli_resp_free(&r);
		return status;
	}
	_cleanup_free_ char *dst_abs = absolute_local(dst);
	if (dst_abs && !valid_output_path(dst_abs))
		return CLI_EXIT_FAIL;
	int fds[2];
	if (!dst_abs || pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "copying: %s\n", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	struct download d = {.c = c, .query = query, .fd = fds[1]};
	pthread_t thread;
	if (pthread_create(&thread, NULL, download_run, &d) != 0) {
		close(fds[0]);
		close(fds[1]);
		fprintf(stderr, "copying: cannot start a thread\n");
		return CLI_EXIT_FAIL;
	}
	/* The first bytes come after the headers: the stat header is there once they are read. */
	char head[65536];
	ssize_t got;
	do
		got = read(fds[0], head, sizeof head);
	while (got < 0 && errno == EINTR);
	int status = 0;
	struct path_info info = {0};
	char *dir = NULL, *from = NULL, *to = NULL;
	struct progress prog = {.on = !quiet && isatty(STDERR_FILENO), .header = "Copying from container - "};
	if (got > 0) {
		json_t *st = d.stat_header ? decode_stat(d.stat_header) : NULL;
		bool is_dir = st && (stat_mode(st) & GO_MODE_DIR);
		json_decref(st);
		if (local_destination(dst_abs, &info, &e) < 0 ||
		    prepare_copy(src_path, is_dir, rebase_name, &info, &dir, &from, &to, &e) < 0) {
			status = CLI_EXIT_FAIL;
		} else {
			progress_start(&prog);
			progress_add(&prog, (size_t)got);
			struct cli_tar_progress tp = {progress_add, &prog};
			if (cli_tar_unpack(fds[0], head, (size_t)got, dir, to ? from : NULL, to, &tp, &e) < 0)
				status = CLI_EXIT_FAIL;
			/* Whatever follows the archive's end (block padding) is read too. */
			char sink[4096];
			while (status == 0 && read(fds[0], sink, sizeof sink) > 0)
				;
		}
	}
	close(fds[0]); /* a download still running stops on its next write */
	pthread_join(thread, NULL);
	if (d.rc < 0 && got <= 0) {
		cli_print_connect_error(c, "", &d.e);
		status = CLI_EXIT_FAIL;
	} else if (d.rc == 0 && d.resp.status != 200) {
		cli_print_daemon_error("", &d.resp);
		status = CLI_EXIT_FAIL;
	} else if (status) {
		if (prog.on)
			fputs("\033[?25h\0338\033[2K", stderr);
		fprintf(stderr, "%s\n", berr_msg(&e));
	} else if (got <= 0) {
		fprintf(stderr, "copying from %s:%s: the daemon sent no archive\n", ctr, src);
		status = CLI_EXIT_FAIL;
	} else {
		progress_end(&prog, NULL, dst_abs);
	}
	berr_clear(&e);
	berr_clear(&d.e);
	cli_resp_free(&d.resp);
	free(d.stat_header);
	free(info.path);
	free(dir);
	free(from);
	free(to);
	return status;
}

/* ---------- to the container ---------- */

struct upload {
	const char *path, *name;
	bool follow;
	int fd; /* the pipe's write end */
	struct progress *progress;
	berr e;
	int rc;
};

static void *upload_run(void *arg)
{
	struct upload *u = arg;
	struct cli_tar_progress tp = {progress_add, u->progress};
	u->rc = cli_tar_pack(u->path, u->name, u->follow, u->fd, &tp, &u->e);
	close(u->fd);
	return NULL;
}

static int put_archive(struct cli *c, const char *ctr, const char *dir, bool copy_owner, int fd, struct cli_resp *r,
		       berr *e)
{
	_cleanup_free_ char *id = cli_escape(ctr);
	struct cli_buf q = {0};
	cli_buf_add(&q, "/containers/%s/archive", id);
	cli_buf_query(&q, "path", dir);
	cli_buf_query(&q, "noOverwriteDirNonDir", "true");
	if (copy_owner)
		cli_buf_query(&q, "copyUIDGID", "true");
	struct cli_stream_req req = {
	    .method = "PUT", .path = q.s, .upload_fd = fd, .content_type = "application/x-tar"};
	int rc = cli_http_stream(c, &req, r, e);
	cli_buf_free(&q);
	return rc;
}

/* A tar on our stdin, unpacked into the destination directory. */
static int upload_stdin(struct cli *c, const char *ctr, const char *dst, const struct path_info *info, bool copy_owner)
{
	if (!info->is_dir) {
		fprintf(stderr, "destination \"%s:%s\" must be a directory\n", ctr, dst);
		return CLI_EXIT_FAIL;
	}
	berr e = {0};
	struct cli_resp r = {0};
	int status = 0;
	if (put_archive(c, ctr, info->path, copy_owner, STDIN_FILENO, &r, &e) < 0) {
		cli_print_connect_error(c, "", &e);
		status = CLI_EXIT_FAIL;
	} else if (r.status != 200) {
		cli_print_daemon_error("", &r);
		status = CLI_EXIT_FAIL;
	}
	berr_clear(&e);
	cli_resp_free(&r);
	return status;
}

/* A local path packed (in a thread) as it streams up to the container. */
static int upload_local(struct cli *c, const char *src, const char *ctr, const struct path_info *info, bool follow,
			bool copy_owner, bool quiet)
{
	berr e = {0};
	struct cli_resp r = {0};
	_cleanup_free_ char *src_abs = absolute_local(src);
	struct stat lst;
	if (!src_abs || (follow ? stat(src_abs, &lst) : lstat(src_abs, &lst)) < 0) {
		/* Go's wording: "lstat /x: no such file or directory". */
		char why[128];
		snprintf(why, sizeof why, "%s", strerror(errno));
		why[0] = (char)tolower((unsigned char)why[0]);
		fprintf(stderr, "lstat %s: %s\n", src_abs ? src_abs : src, why);
		return CLI_EXIT_FAIL;
	}
	char *dir = NULL, *from = NULL, *to = NULL;
	if (prepare_copy(src_abs, S_ISDIR(lst.st_mode), NULL, info, &dir, &from, &to, &e) < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	/* Pack the source's own path ("dir" for "dir/."), its entries named as they land. */
	char *pack_dir = NULL, *pack_base = NULL;
	split_dir_entry(src_abs, &pack_dir, &pack_base);
	char *pack_path = strcmp(pack_base, ".") == 0 ? strdup(pack_dir) : join_path(pack_dir, pack_base);
	free(pack_dir);
	free(pack_base);
	struct progress prog = {.on = !quiet && isatty(STDERR_FILENO), .header = "Copying to container - "};
	struct upload u = {.path = pack_path, .name = to ? to : from, .follow = follow, .progress = &prog};
	int status = 0, fds[2];
	pthread_t thread;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "copying: %s\n", strerror(errno));
		status = CLI_EXIT_FAIL;
	} else {
		u.fd = fds[1];
		progress_start(&prog);
		if (pthread_create(&thread, NULL, upload_run, &u) != 0) {
			close(fds[0]);
			close(fds[1]);
			fprintf(stderr, "copying: cannot start a thread\n");
			status = CLI_EXIT_FAIL;
		}
	}
	if (status == 0) {
		int rc = put_archive(c, ctr, dir, copy_owner, fds[0], &r, &e);
		close(fds[0]); /* a packer still writing stops on its next write */
		pthread_join(thread, NULL);
		if (prog.on && (rc < 0 || r.status != 200 || u.rc < 0))
			fputs("\033[?25h\0338\033[2K", stderr);
		if (rc < 0) {
			cli_print_connect_error(c, "", &e);
			status = CLI_EXIT_FAIL;
		} else if (r.status != 200) {
			cli_print_daemon_error("", &r);
			status = CLI_EXIT_FAIL;
		} else if (u.rc < 0) {
			fprintf(stderr, "%s\n", berr_msg(&u.e));
			status = CLI_EXIT_FAIL;
		} else {
			progress_end(&prog, ctr, info->path);
		}
		berr_clear(&u.e);
	}
	berr_clear(&e);
	cli_resp_free(&r);
	free(pack_path);
	free(dir);
	free(from);
	free(to);
	return status;
}

static int copy_to_container(struct cli *c, const char *src, const char *ctr, const char *dst, bool follow,
			     bool copy_owner, bool quiet)
{
	berr e = {0};
	struct cli_resp r = {0};
	struct path_info info = {.path = strdup(dst)};
	/* The destination's stat; a failure is ignored (docker's too): the parent may still take it. */
	json_t *st = stat_in_container(c, ctr, dst, &r, &e);
	cli_resp_free(&r);
	berr_clear(&e);
	const char *target = st ? json_string_value(json_object_get(st, "linkTarget")) : NULL;
	if (st && (stat_mode(st) & GO_MODE_SYMLINK) && target && *target) {
		char *dir, *base;
		split_dir_entry(dst, &dir, &base);
		free(info.path);
		info.path = target[0] == '/' ? strdup(target) : join_path(dir, target);
		free(dir);
		free(base);
		json_decref(st);
		st = stat_in_container(c, ctr, info.path, &r, &e);
		cli_resp_free(&r);
		berr_clear(&e);
	}
	if (st) {
		info.exists = true;
		info.is_dir = stat_mode(st) & GO_MODE_DIR;
		json_decref(st);
	}
	int status;
	if (strcmp(src, "-") == 0)
		status = upload_stdin(c, ctr, dst, &info, copy_owner);
	else
		status = upload_local(c, src, ctr, &info, follow, copy_owner, quiet);
	free(info.path);
	return status;
}

/* docker's splitCpArg: "/x" and "./x:y" are local; "ctr:path" names a container. */
static char *split_arg(const char *arg, const char **path)
{
	const char *colon = strchr(arg, ':');
	*path = arg;
	if (arg[0] == '/' || !colon || arg[0] == '.')
		return NULL;
	*path = colon + 1;
	return strndup(arg, (size_t)(colon - arg));
}

int cli_verb_cp(struct cli *c, struct cli_args *a)
{
	const char *src, *dst;
	_cleanup_free_ char *src_ctr = split_arg(a->pos[0], &src);
	_cleanup_free_ char *dst_ctr = split_arg(a->pos[1], &dst);
	if (src_ctr && dst_ctr) {
		fprintf(stderr, "copying between containers is not supported\n");
		return CLI_EXIT_FAIL;
	}
	if (!src_ctr && !dst_ctr) {
		fprintf(stderr, "must specify at least one container source\n");
		return CLI_EXIT_FAIL;
	}
	/* The local side of a pipe may close early: a write error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	bool quiet = cli_arg_bool(a, "quiet");
	if (src_ctr)
		return copy_from_container(c, src_ctr, src, dst, cli_arg_bool(a, "follow-link"), quiet);
	return copy_to_container(c, src, dst_ctr, dst, cli_arg_bool(a, "follow-link"), cli_arg_bool(a, "archive"),
				 quiet);
}
