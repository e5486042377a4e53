#include "engine/logs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/fd.h"
#include "lib/strbuf.h"
#include "lib/timefmt.h"

enum { MAX_LINE = 16 * 1024 };

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void put_json_string(struct b_strbuf *b, const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	b_strbuf_putn(b, "\"", 1);
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			b_strbuf_putn(b, esc, 2);
			i++;
		} else if (c == '\n') {
			b_strbuf_putn(b, "\\n", 2);
			i++;
		} else if (c == '\r') {
			b_strbuf_putn(b, "\\r", 2);
			i++;
		} else if (c == '\t') {
			b_strbuf_putn(b, "\\t", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			b_strbuf_putn(b, esc, 6);
			i++;
		} else {
			size_t n = utf8_seq(s + i, len - i);
			if (n == 0) {
				b_strbuf_putn(b, "\\ufffd", 6);
				i++;
			} else {
				b_strbuf_putn(b, data + i, n);
				i += n;
			}
		}
	}
	b_strbuf_putn(b, "\"", 1);
}

char *eng_log_encode(enum eng_log_stream stream, const char *data, size_t len, const struct timespec *t,
		     size_t *len_out)
{
	struct b_strbuf b = {0};
	char ts[B_TIME_LEN];
	b_time_format(t, ts);
	b_strbuf_putn(&b, "{\"log\":", 7);
	put_json_string(&b, data, len);
	const char *mid =
	    stream == ENG_LOG_STDERR ? ",\"stream\":\"stderr\",\"time\":\"" : ",\"stream\":\"stdout\",\"time\":\"";
	b_strbuf_putn(&b, mid, strlen(mid));
	b_strbuf_putn(&b, ts, strlen(ts));
	b_strbuf_putn(&b, "\"}\n", 3);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len_out = b.len;
	return b.p;
}

int eng_log_decode(const char *line, size_t len, struct eng_log_entry *out, berr *e)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *doc = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
	if (!doc)
		return berr_invalid(e, "log line: %s", jerr.text);
	json_t *log = json_object_get(doc, "log");
	const char *stream = json_string_value(json_object_get(doc, "stream"));
	const char *time = json_string_value(json_object_get(doc, "time"));
	if (!json_is_string(log) || !stream || !time || !b_time_parse(time, &out->time)) {
		json_decref(doc);
		return berr_invalid(e, "log line: not a json-file entry");
	}
	out->stream = strcmp(stream, "stderr") == 0 ? ENG_LOG_STDERR : ENG_LOG_STDOUT;
	out->len = json_string_length(log);
	out->data = malloc(out->len + 1);
	if (!out->data) {
		json_decref(doc);
		return berr_set(e, ENOMEM, "log line");
	}
	memcpy(out->data, json_string_value(log), out->len);
	out->data[out->len] = '\0';
	json_decref(doc);
	return 0;
}

void eng_log_entry_free(struct eng_log_entry *entry)
{
	free(entry->data);
	entry->data = NULL;
}

char *eng_log_file_name(const char *path, int n)
{
	char *name = NULL;
	if ((n > 0 ? asprintf(&name, "%s.%d", path, n) : asprintf(&name, "%s", path)) < 0)
		return NULL;
	return name;
}

int eng_log_file_open(struct eng_log_file *f, const char *path, long long max_size, int max_files, berr *e)
{
	*f = (struct eng_log_file){.path = path, .max_size = max_size, .max_files = max_files < 1 ? 1 : max_files};
	f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (f->fd < 0)
		return berr_sys(e, "opening the log %s", path);
	struct stat st;
	if (fstat(f->fd, &st) == 0)
		f->size = st.st_size;
	return 0;
}

void eng_log_file_close(struct eng_log_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* PATH.<n-1> goes, PATH.<i> becomes PATH.<i+1>, PATH becomes PATH.1, and a new PATH is opened. */
static int rotate(struct eng_log_file *f, berr *e)
{
	if (f->max_files < 2) {
		if (ftruncate(f->fd, 0) < 0)
			return berr_sys(e, "emptying the log %s", f->path);
		f->size = 0;
		return 0;
	}
	for (int i = f->max_files - 1; i >= 1; i--) {
		char *from = eng_log_file_name(f->path, i - 1), *to = eng_log_file_name(f->path, i);
		int r = from && to && rename(from, to) < 0 && errno != ENOENT ? -1 : 0;
		if (r < 0)
			berr_sys(e, "rotating the log %s", from);
		free(from);
		free(to);
		if (r < 0)
			return -1;
	}
	int fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return berr_sys(e, "opening the log %s", f->path);
	close(f->fd);
	f->fd = fd;
	f->size = 0;
	return 0;
}

int eng_log_file_write(struct eng_log_file *f, const char *data, size_t len, berr *e)
{
	if (f->max_size > 0 && f->size >= f->max_size && f->path && rotate(f, e) < 0)
		return -1;
	if (b_write_all(f->fd, data, len) < 0)
		return berr_sys(e, "writing the log");
	f->size += (long long)len;
	return 0;
}

static int write_entry(enum eng_log_stream stream, struct eng_log_file *f, const char *data, size_t len, berr *e)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	size_t n;
	char *line = eng_log_encode(stream, data, len, &now, &n);
	if (!line)
		return berr_set(e, ENOMEM, "encoding a log line");
	int r = eng_log_file_write(f, line, n, e);
	free(line);
	return r;
}

int eng_log_splitter_feed(struct eng_log_splitter *s, struct eng_log_file *f, const char *data, size_t len, berr *e)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t line_len = nl ? (size_t)(nl - data) + 1 : len;
		size_t take = line_len;
		if (s->len + take > MAX_LINE)
			take = MAX_LINE - s->len;
		if (s->len == 0 && nl && take == line_len) {
			/* A whole line with nothing buffered: no copy. */
			if (write_entry(s->stream, f, data, take, e) < 0)
				return -1;
		} else {
			if (s->len + take > s->cap) {
				char *p = realloc(s->buf, MAX_LINE);
				if (!p)
					return berr_set(e, ENOMEM, "buffering a log line");
				s->buf = p;
				s->cap = MAX_LINE;
			}
			memcpy(s->buf + s->len, data, take);
			s->len += take;
			if (s->buf[s->len - 1] == '\n' || s->len == MAX_LINE) {
				if (write_entry(s->stream, f, s->buf, s->len, e) < 0)
					return -1;
				s->len = 0;
			}
		}
		data += take;
		len -= take;
	}
	return 0;
}

int eng_log_splitter_flush(struct eng_log_splitter *s, struct eng_log_file *f, berr *e)
{
	int r = 0;
	if (s->len > 0)
		r = write_entry(s->stream, f, s->buf, s->len, e);
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
	return r;
}
