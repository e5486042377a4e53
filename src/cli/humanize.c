/* Sizes, durations and values written and read the way docker's CLI does. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

void cli_human_duration(int64_t seconds, char *out, size_t len)
{
	if (seconds < 1) {
		snprintf(out, len, "Less than a second");
		return;
	}
	if (seconds == 1) {
		snprintf(out, len, "1 second");
		return;
	}
	if (seconds < 60) {
		snprintf(out, len, "%lld seconds", (long long)seconds);
		return;
	}
	int64_t minutes = seconds / 60;
	if (minutes == 1) {
		snprintf(out, len, "About a minute");
		return;
	}
	if (minutes < 60) {
		snprintf(out, len, "%lld minutes", (long long)minutes);
		return;
	}
	int64_t hours = (int64_t)((double)seconds / 3600.0 + 0.5);
	if (hours == 1)
		snprintf(out, len, "About an hour");
	else if (hours < 48)
		snprintf(out, len, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(out, len, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(out, len, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(out, len, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(out, len, "%lld years", (long long)(seconds / 3600 / 24 / 365));
}

void cli_human_size(double bytes, char *out, size_t len)
{
	cli_human_size_prec(bytes, 3, out, len);
}

void cli_human_size_prec(double bytes, int prec, char *out, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
	size_t i = 0;
	while (bytes >= 1000.0 && i + 1 < sizeof units / sizeof *units) {
		bytes /= 1000.0;
		i++;
	}
	snprintf(out, len, "%.*g%s", prec, bytes, units[i]);
}

void cli_human_size_binary(double bytes, char *out, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
	size_t i = 0;
	while (bytes >= 1024.0 && i + 1 < sizeof units / sizeof *units) {
		bytes /= 1024.0;
		i++;
	}
	snprintf(out, len, "%.4g%s", bytes, units[i]);
}

bool cli_parse_ram(const char *s, int64_t *out)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return false;
	double v = strtod(s, &end);
	if (end == s)
		return false;
	if (*end == ' ')
		end++;
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1024.0; break;
	case 'm': mult = 1024.0 * 1024; break;
	case 'g': mult = 1024.0 * 1024 * 1024; break;
	case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
	case 'p': mult = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
	default: break;
	}
	if (mult != 1)
		end++;
	if (*end == 'i' || *end == 'I') {
		if (mult == 1)
			return false;
		end++;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return false;
	*out = (int64_t)(v * mult);
	return true;
}

bool cli_parse_duration(const char *s, double *out)
{
	static const struct {
		const char *unit;
		double seconds;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"µs", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
	double total = 0;
	const char *p = s;
	if (!*p)
		return false;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || !*end)
			return false; /* a number without its unit */
		size_t best = 0;
		double mult = 0;
		for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
			size_t n = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, n) == 0 && n > best) {
				best = n;
				mult = units[i].seconds;
			}
		}
		if (!best)
			return false;
		total += v * mult;
		p = end + best;
	}
	*out = total;
	return true;
}

static void go_print_number(json_t *v, struct cli_buf *out)
{
	if (json_is_integer(v)) {
		cli_buf_add(out, "%lld", (long long)json_integer_value(v));
		return;
	}
	double d = json_real_value(v);
	if (d == floor(d) && fabs(d) < 1e21)
		cli_buf_add(out, "%.0f", d);
	else
		cli_buf_add(out, "%g", d);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void cli_go_print(json_t *v, struct cli_buf *out)
{
	switch (json_typeof(v)) {
	case JSON_STRING: cli_buf_add(out, "%s", json_string_value(v)); break;
	case JSON_INTEGER:
	case JSON_REAL: go_print_number(v, out); break;
	case JSON_TRUE: cli_buf_add(out, "true"); break;
	case JSON_FALSE: cli_buf_add(out, "false"); break;
	case JSON_NULL: cli_buf_add(out, "<nil>"); break;
	case JSON_ARRAY: {
		cli_buf_add(out, "[");
		size_t i;
		json_t *item;
		json_array_foreach (v, i, item) {
			if (i)
				cli_buf_add(out, " ");
			cli_go_print(item, out);
		}
		cli_buf_add(out, "]");
		break;
	}
	case JSON_OBJECT: {
		/* Go prints a map with its keys sorted. */
		size_t n = json_object_size(v), i = 0;
		const char **keys = calloc(n + 1, sizeof *keys);
		if (!keys)
			abort();
		const char *k;
		json_t *item;
		json_object_foreach (v, k, item)
			keys[i++] = k;
		qsort(keys, n, sizeof *keys, key_cmp);
		cli_buf_add(out, "map[");
		for (i = 0; i < n; i++) {
			if (i)
				cli_buf_add(out, " ");
			cli_buf_add(out, "%s:", keys[i]);
			cli_go_print(json_object_get(v, keys[i]), out);
		}
		cli_buf_add(out, "]");
		free(keys);
		break;
	}
	}
}
