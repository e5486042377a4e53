#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static int log_fd = STDERR_FILENO;
static bool log_json;
static enum b_log_level log_level = B_LOG_WARN;

static const char *level_names[] = {"error", "warning", "info", "debug"};

int b_log_open(const char *path, bool json, enum b_log_level level)
{
	log_json = json;
	log_level = level;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	log_fd = fd;
	return 0;
}

bool b_log_enabled(enum b_log_level level)
{
	return level <= log_level;
}

int b_log_fd(void)
{
	return log_fd;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

void b_log(enum b_log_level level, const char *fmt, ...)
{
	if (!b_log_enabled(level))
		return;
	int saved = errno;
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = saved;
		return;
	}
	char when[64];
	now_rfc3339(when, sizeof when);
	char *line = NULL;
	if (log_json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level_names[level], "msg", msg, "time", when);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (s && asprintf(&line, "%s\n", s) < 0)
			line = NULL;
		free(s);
	} else if (log_fd == STDERR_FILENO && level == B_LOG_ERROR) {
		if (asprintf(&line, "%s\n", msg) < 0)
			line = NULL;
	} else {
		if (asprintf(&line, "time=\"%s\" level=%s msg=\"%s\"\n", when, level_names[level], msg) < 0)
			line = NULL;
	}
	if (line) {
		ssize_t w = write(log_fd, line, strlen(line));
		(void)w;
	}
	free(line);
	free(msg);
	errno = saved;
}
