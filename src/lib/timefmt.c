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
