/*
 * Container logs in Docker's json-file form: one JSON object a line,
 * {"log":"text\n","stream":"stdout","time":"2006-01-02T15:04:05.999999999Z"}. The monitor writes
 * them; the API reads them back for `docker logs`.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "lib/err.h"

enum eng_log_stream { ENG_LOG_STDOUT = 1, ENG_LOG_STDERR = 2 };

/* A line as it will be written (with its '\n'); malloc'd, *len its length. Invalid UTF-8 becomes U+FFFD. */
char *eng_log_encode(enum eng_log_stream stream, const char *data, size_t len, const struct timespec *t,
		     size_t *len_out);

struct eng_log_entry {
	enum eng_log_stream stream;
	char *data; /* the "log" text, malloc'd */
	size_t len;
	struct timespec time;
};

/* Decode one line (without its '\n'). EINVAL naming what is wrong for a line that is not ours. */
int eng_log_decode(const char *line, size_t len, struct eng_log_entry *out, berr *e);
void eng_log_entry_free(struct eng_log_entry *entry);

/*
 * The json-file log as the monitor writes it: when an entry would start at max_size bytes or more,
 * the file is rotated (PATH.1 the newest of the old ones, up to PATH.<max_files - 1>; with
 * max_files 1 it is emptied instead), as Docker's json-file driver does.
 */
struct eng_log_file {
	const char *path;
	int fd;
	long long size;
	long long max_size; /* <= 0: never rotated */
	int max_files;
};

/* Open (append) path; its current size counts. */
int eng_log_file_open(struct eng_log_file *f, const char *path, long long max_size, int max_files, berr *e);
/* Write one whole entry, rotating first when the file is full. */
int eng_log_file_write(struct eng_log_file *f, const char *data, size_t len, berr *e);
void eng_log_file_close(struct eng_log_file *f);
/* PATH or PATH.<n> (n > 0), malloc'd. */
char *eng_log_file_name(const char *path, int n);

/*
 * HostConfig.LogConfig checked as Docker checks it (Type json-file or "", local, none; their
 * options): EINVAL with Docker's words; ENOTSUP for Docker's drivers berthd does not have.
 * Values Docker checks only at start (max-size, max-file, compress) are checked here already.
 */
int eng_log_config_check(json_t *log_config, berr *e);
/*
 * How the monitor writes the log of a container with this (checked) LogConfig: *file false for
 * "none"; "local" is kept in json-file form. Without max-size: 10 MB and 3 files (berth's default,
 * Docker's json-file grows forever); "local": 20 MB and 5 files (Docker's local defaults).
 */
void eng_log_config_rotation(json_t *log_config, bool *file, long long *max_size, int *max_files);
/* Docker's (go-units) FromHumanSize: "1k" 1000, "10m", "1.5g", "20MB", "3KiB"; EINVAL "invalid size: 'x'". */
int eng_size_parse(const char *s, long long *out, berr *e);

/*
 * Buffers a stream's output into log lines: text up to each '\n' is one entry, as is a run of
 * 16 KiB without one (Docker splits long lines the same way), and what is left at the end.
 */
struct eng_log_splitter {
	enum eng_log_stream stream;
	char *buf;
	size_t len, cap;
};

/* Feed what was read; complete lines are written to f. */
int eng_log_splitter_feed(struct eng_log_splitter *s, struct eng_log_file *f, const char *data, size_t len, berr *e);
/* Write what is left (a last line without '\n') and free the buffer. */
int eng_log_splitter_flush(struct eng_log_splitter *s, struct eng_log_file *f, berr *e);
