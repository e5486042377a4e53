#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void b_time_format(const struct timespec *t, char out[B_TIME_LEN])
{
	struct tm tm;
	time_t s = t->tv_sec;
	gmtime_r(&s, &tm);
	snprintf(out, B_TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)t->tv_nsec);
}

void b_time_now(char out[B_TIME_LEN])
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	b_time_format(&t, out);
}

/* ".123" -> nanoseconds; advances *p past the digits. */
static long parse_fraction(const char **p)
{
	long ns = 0;
	int digits = 0;
	if (**p != '.')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		if (digits < 9) {
			ns = ns * 10 + (**p - '0');
			digits++;
		}
		(*p)++;
	}
	for (; digits < 9; digits++)
		ns *= 10;
	return ns;
}

bool b_time_parse(const char *s, struct timespec *out)
{
	if (!s || !*s)
		return false;
	const char *p = s;
	if (strchr(s, '-') == NULL || (s[0] != '-' && strchr(s, 'T') == NULL)) {
		/* Unix seconds with an optional fraction. */
		char *end;
		long long sec = strtoll(s, &end, 10);
		if (end == s)
			return false;
		p = end;
		long ns = parse_fraction(&p);
		if (*p)
			return false;
		out->tv_sec = (time_t)sec;
		out->tv_nsec = ns;
		return true;
	}
	struct tm tm = {0};
	int n = 0;
	if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &n) != 6)
		return false;
	p += n;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	long ns = parse_fraction(&p);
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		int sign = *p == '-' ? -1 : 1;
		if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2)
			return false;
		p += 1 + n;
		offset = sign * (hh * 3600L + mm * 60L);
	} else {
		return false;
	}
	if (*p)
		return false;
	out->tv_sec = timegm(&tm) - offset;
	out->tv_nsec = ns;
	return true;
}

/* A Go duration ("1h30m", "10s", "1.5h", "300ms") in nanoseconds; false when s is not one. */
static bool parse_go_duration(const char *s, long double *ns)
{
	static const struct {
		const char *unit;
		long double ns;
	} units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
	const char *p = s;
	long double total = 0;
	if (*p == '+')
		p++;
	if (!*p)
		return false;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
		long double v = strtold(p, &end);
		if (end == p)
			return false;
		p = end;
		size_t best = 0, best_len = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t len = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, len) == 0 && len > best_len) {
				best = i;
				best_len = len;
			}
		}
		if (!best_len)
			return false; /* Go wants a unit after every number (but "0") */
		total += v * units[best].ns;
		p += best_len;
	}
	*ns = total;
	return true;
}

bool b_time_parse_ago(const char *s, const struct timespec *now, struct timespec *out)
{
	long double ns;
	if (s && strcmp(s, "0") != 0 && parse_go_duration(s, &ns)) {
		long double t = (long double)now->tv_sec * 1e9L + now->tv_nsec - ns;
		out->tv_sec = (time_t)(t / 1e9L);
		out->tv_nsec = (long)(t - (long double)out->tv_sec * 1e9L);
		if (out->tv_nsec < 0) {
			out->tv_sec--;
			out->tv_nsec += 1000000000L;
		}
		return true;
	}
	if (b_time_parse(s, out))
		return true;
	/* A date alone, or a time without a zone: UTC (the daemon's zone). */
	struct tm tm = {0};
	int n = 0;
	if (!s || sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
		return false;
	const char *p = s + n;
	if (*p == 'T' && sscanf(p, "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 3)
		p += n;
	if (*p)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	out->tv_sec = timegm(&tm);
	out->tv_nsec = 0;
	return true;
}
