/*
 * Container logs in Docker's json-file form: one JSON object a line,
 * {"log":"text\n","stream":"stdout","time":"2006-01-02T15:04:05.999999999Z"}. The monitor writes
 * them; the API reads them back for `docker logs`.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

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
 * Buffers a stream's output into log lines: text up to each '\n' is one entry, as is a run of
 * 16 KiB without one (Docker splits long lines the same way), and what is left at the end.
 */
struct eng_log_splitter {
	enum eng_log_stream stream;
	char *buf;
	size_t len, cap;
};

/* Feed what was read; complete lines are written to fd. */
int eng_log_splitter_feed(struct eng_log_splitter *s, int fd, const char *data, size_t len, berr *e);
/* Write what is left (a last line without '\n') and free the buffer. */
int eng_log_splitter_flush(struct eng_log_splitter *s, int fd, berr *e);
