/* Times as the Docker API writes and reads them: RFC 3339 with nanoseconds, or Unix seconds. */
#pragma once
#include <stdbool.h>
#include <time.h>

/* Room for "2006-01-02T15:04:05.999999999Z" and its NUL, with margin for any year. */
#define B_TIME_LEN 64

/* UTC, nanoseconds always written (Docker's State.StartedAt, log "time"). */
void b_time_format(const struct timespec *t, char out[B_TIME_LEN]);
/* The current wall-clock time so formatted. */
void b_time_now(char out[B_TIME_LEN]);
/*
 * Read "2006-01-02T15:04:05[.frac](Z|+hh:mm)" or Unix seconds "1700000000[.frac]" (what `since` and
 * `until` take). false on anything else.
 */
bool b_time_parse(const char *s, struct timespec *out);
/*
 * What Docker's `until` filters take: a Go duration before now ("10m", "1h30m"), what b_time_parse
 * reads, or a date "2006-01-02" / "2006-01-02T15:04:05" without a zone (UTC).
 */
bool b_time_parse_ago(const char *s, const struct timespec *now, struct timespec *out);
