/*
 * GET /containers/{id}/logs: entries of the container's json-file log, filtered (stdout, stderr,
 * since, until, tail), optionally time-stamped, framed as Docker frames them when the container
 * has no terminal (8 bytes: stream, 0, 0, 0, big-endian length), and followed while it runs.
 * The log may be rotated (PATH.<n> ... PATH.1, then PATH, oldest first): reading goes through them
 * in order, and a follower moves to the new file when the monitor rotates the one it reads.
 */
#include "api/logs_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/logs.h"
#include "lib/cleanup.h"
#include "lib/fd.h"
#include "lib/timefmt.h"

struct logs_ctx {
	struct eng *eng;
	char *name;
	char *path; /* the live log file; its rotated ones are path.1 ... */
	int max_files;
	FILE *f;
	dev_t dev; /* of the file f reads: found again among the rotated ones */
	ino_t ino;
	bool rotation_seen; /* f was rotated away: read to its end once more, then move on */
	bool follow, want_out, want_err, timestamps, tty;
	bool has_since, has_until;
	struct timespec since, until;
	/* An entry that did not fit in the last buffer. */
	char *pending;
	size_t pending_len, pending_off;
	bool ended;
};

static void logs_free(void *cls)
{
	struct logs_ctx *c = cls;
	if (c->f)
		fclose(c->f);
	free(c->name);
	free(c->path);
	free(c->pending);
	free(c);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Open log file number n (0: the live one) as c->f. */
static bool open_file(struct logs_ctx *c, int n)
{
	_cleanup_free_ char *name = eng_log_file_name(c->path, n);
	FILE *f = name ? fopen(name, "re") : NULL;
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		if (f)
			fclose(f);
		return false;
	}
	if (c->f)
		fclose(c->f);
	c->f = f;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->rotation_seen = false;
	return true;
}

/* The number of the file c->f reads now (0: live), -1 when it has been rotated out of existence. */
static int current_number(struct logs_ctx *c)
{
	for (int i = 0; i < c->max_files; i++) {
		_cleanup_free_ char *name = eng_log_file_name(c->path, i);
		struct stat st;
		if (name && stat(name, &st) == 0 && st.st_ino == c->ino && st.st_dev == c->dev)
			return i;
	}
	return -1;
}

/* The oldest log file there is (0 when only the live one). */
static int oldest_number(struct logs_ctx *c)
{
	for (int i = c->max_files - 1; i > 0; i--) {
		_cleanup_free_ char *name = eng_log_file_name(c->path, i);
		if (name && access(name, F_OK) == 0)
			return i;
	}
	return 0;
}

/* At the end of c->f: go on with the next newer file when there is one. */
static bool next_file(struct logs_ctx *c)
{
	if (!c->path)
		return false;
	int cur = c->f ? current_number(c) : -1;
	struct stat st;
	if (cur == 0 && fstat(fileno(c->f), &st) == 0 && st.st_size < ftell(c->f)) {
		fseek(c->f, 0, SEEK_SET); /* with max-file 1 the log is emptied when full */
		return true;
	}
	if (cur == 0)
		return false;
	/* Lines written just before the rotation may have come after our last read: once more first. */
	if (c->f && !c->rotation_seen) {
		c->rotation_seen = true;
		return true;
	}
	return open_file(c, cur > 0 ? cur - 1 : oldest_number(c));
}

/* The next entry to send, framed, into c->pending; false at the end of what is there now. */
static bool next_entry(struct logs_ctx *c)
{
	for (;;) {
		char *line = NULL;
		size_t cap = 0;
		long at = c->f ? ftell(c->f) : -1;
		ssize_t n = c->f ? getline(&line, &cap, c->f) : -1;
		if (n <= 0 || line[n - 1] != '\n') {
			/* Nothing more, or a line the monitor is still writing: come back for it. */
			free(line);
			if (c->f) {
				clearerr(c->f);
				if (at >= 0)
					fseek(c->f, at, SEEK_SET);
			}
			if (n <= 0 && next_file(c))
				continue;
			return false;
		}
		struct eng_log_entry ent;
		berr e = {0};
		int r = eng_log_decode(line, (size_t)n - 1, &ent, &e);
		free(line);
		berr_clear(&e);
		if (r < 0)
			continue; /* not ours: skip it as Docker's reader does */
		bool want = (ent.stream == ENG_LOG_STDOUT ? c->want_out : c->want_err) &&
			    !(c->has_since && before(&ent.time, &c->since)) &&
			    !(c->has_until && !before(&ent.time, &c->until));
		if (!want) {
			eng_log_entry_free(&ent);
			continue;
		}
		char ts[B_TIME_LEN + 1] = "";
		if (c->timestamps) {
			b_time_format(&ent.time, ts);
			strcat(ts, " ");
		}
		size_t ts_len = strlen(ts), header = c->tty ? 0 : 8, len = ts_len + ent.len;
		free(c->pending);
		c->pending = malloc(header + len);
		if (!c->pending) {
			eng_log_entry_free(&ent);
			return false;
		}
		if (header) {
			c->pending[0] = (char)ent.stream;
			c->pending[1] = c->pending[2] = c->pending[3] = 0;
			c->pending[4] = (char)((len >> 24) & 0xff);
			c->pending[5] = (char)((len >> 16) & 0xff);
			c->pending[6] = (char)((len >> 8) & 0xff);
			c->pending[7] = (char)(len & 0xff);
		}
		memcpy(c->pending + header, ts, ts_len);
		memcpy(c->pending + header + ts_len, ent.data, ent.len);
		c->pending_len = header + len;
		c->pending_off = 0;
		eng_log_entry_free(&ent);
		return true;
	}
}

static ssize_t logs_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct logs_ctx *c = cls;
	for (;;) {
		size_t out = 0;
		while (out < max) {
			if (c->pending_off < c->pending_len) {
				size_t n = c->pending_len - c->pending_off;
				if (n > max - out)
					n = max - out;
				memcpy(buf + out, c->pending + c->pending_off, n);
				c->pending_off += n;
				out += n;
				continue;
			}
			if (!next_entry(c))
				break;
		}
		if (out > 0)
			return (ssize_t)out;
		if (!c->follow || c->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		/* Caught up: wait for more output or for the container to stop, then read what is left once more. */
		if (eng_container_wait_stopped(c->eng, c->name, 250))
			c->ended = true;
	}
}

/*
 * In f, from its end, look for the start of the last `want` lines; *found: how many there were
 * (less than want: all of them, and f is left at its start).
 */
static void seek_tail(FILE *f, long long want, long long *found)
{
	*found = 0;
	if (fseek(f, 0, SEEK_END) < 0)
		return;
	long end = ftell(f), pos = end;
	char buf[8192];
	while (pos > 0 && want > 0) {
		long chunk = pos > (long)sizeof buf ? (long)sizeof buf : pos;
		pos -= chunk;
		fseek(f, pos, SEEK_SET);
		if (fread(buf, 1, (size_t)chunk, f) != (size_t)chunk)
			break;
		for (long i = chunk - 1; i >= 0; i--) {
			if (buf[i] != '\n' || pos + i == end - 1)
				continue;
			if (++*found == want) {
				fseek(f, pos + i + 1, SEEK_SET);
				return;
			}
		}
	}
	/* The first line has no newline before it. */
	if (want > 0 && end > 0)
		++*found;
	fseek(f, want == 0 ? end : 0, SEEK_SET);
}

/* Open the file and position where reading starts: the oldest file, or the last `tail` lines across them. */
static void open_for_reading(struct logs_ctx *c, long long tail)
{
	if (tail < 0) {
		int oldest = oldest_number(c);
		if (!open_file(c, oldest) && oldest != 0)
			open_file(c, 0);
		return;
	}
	long long left = tail;
	for (int i = 0; i < c->max_files; i++) {
		if (!open_file(c, i))
			return; /* no older file: c->f (if any) is at the start of the newest we have */
		long long found;
		seek_tail(c->f, left, &found);
		if (found >= left)
			return;
		left -= found;
	}
}

void api_container_logs(struct api_request *r)
{
	bool out = api_query_bool(r, "stdout", false), err = api_query_bool(r, "stderr", false);
	if (!out && !err) {
		api_reply_message(r, 400, "You must choose at least one stream");
		return;
	}
	struct logs_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		api_reply_message(r, 500, "out of memory");
		return;
	}
	c->eng = r->eng;
	c->want_out = out;
	c->want_err = err;
	c->follow = api_query_bool(r, "follow", false);
	c->timestamps = api_query_bool(r, "timestamps", false);
	const char *since = api_query(r, "since"), *until = api_query(r, "until"), *tail = api_query(r, "tail");
	if (since && *since && strcmp(since, "0") != 0) {
		if (!b_time_parse(since, &c->since)) {
			api_reply_message(r, 400, "invalid value for since: \"%s\"", since);
			logs_free(c);
			return;
		}
		c->has_since = true;
	}
	if (until && *until && strcmp(until, "0") != 0) {
		if (!b_time_parse(until, &c->until)) {
			api_reply_message(r, 400, "invalid value for until: \"%s\"", until);
			logs_free(c);
			return;
		}
		c->has_until = true;
	}
	long long tail_n = -1;
	if (tail && *tail && strcmp(tail, "all") != 0) {
		char *end;
		tail_n = strtoll(tail, &end, 10);
		if (*end || tail_n < 0)
			tail_n = -1; /* Docker reads a bad tail as "all" */
	}
	struct eng_log_source src;
	berr e = {0};
	if (eng_container_log_source(r->eng, r->params[0], &src, &e) < 0) {
		api_reply_error(r, &e);
		berr_clear(&e);
		logs_free(c);
		return;
	}
	if (!src.readable) {
		eng_log_source_free(&src);
		logs_free(c);
		api_reply_message(r, 501, "configured logging driver does not support reading");
		return;
	}
	c->tty = src.tty;
	c->name = strdup(r->params[0]);
	c->path = steal_ptr(src.path);
	c->max_files = src.max_files < 1 ? 1 : src.max_files;
	eng_log_source_free(&src);
	/* A container never started has no log yet: a follower finds it when it comes. */
	open_for_reading(c, tail_n);
	api_reply_stream(r, 200,
			 c->tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
			 logs_read, c, logs_free);
}

int api_logs_replay(struct eng *eng, const char *id, bool out, bool err, int fd)
{
	struct eng_log_source src = {0};
	berr e = {0};
	if (eng_container_log_source(eng, id, &src, &e) < 0) {
		berr_clear(&e);
		return 0; /* nothing to replay: the live stream is all there is */
	}
	if (!src.readable) {
		eng_log_source_free(&src);
		return 0;
	}
	struct logs_ctx c = {.eng = eng,
			     .want_out = out,
			     .want_err = err,
			     .tty = src.tty,
			     .path = steal_ptr(src.path),
			     .max_files = src.max_files < 1 ? 1 : src.max_files};
	eng_log_source_free(&src);
	open_for_reading(&c, -1);
	int r = 0;
	while (r == 0 && next_entry(&c))
		r = b_write_all(fd, c.pending, c.pending_len);
	if (c.f)
		fclose(c.f);
	free(c.path);
	free(c.pending);
	return r;
}
