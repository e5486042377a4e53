/* HostConfig.LogConfig: Docker's checks of the driver and its options, and the rotation they ask for. */
#include <ctype.h>
#include <errno.h>
#include <math.h> /* isfinite */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/logs.h"
#include "lib/json.h"

enum {
	DEFAULT_MAX_SIZE = 10 * 1000 * 1000, /* berth's json-file default (DESIGN.md) */
	DEFAULT_MAX_FILES = 3,
	LOCAL_MAX_SIZE = 20 * 1000 * 1000, /* Docker's local driver's defaults */
	LOCAL_MAX_FILES = 5,
};

int eng_size_parse(const char *s, long long *out, berr *e)
{
	const char *p = s;
	char *end;
	if (!isdigit((unsigned char)*p))
		return berr_invalid(e, "invalid size: '%s'", s);
	double v = strtod(p, &end);
	p = end;
	while (*p == ' ')
		p++;
	static const char prefixes[] = "kmgtp";
	double mult = 1;
	if (*p) {
		const char *u = strchr(prefixes, tolower((unsigned char)*p));
		if (u) {
			for (const char *q = prefixes; q <= u; q++)
				mult *= 1000;
			p++;
			if (*p == 'i' || *p == 'I')
				p++;
		}
		if (*p == 'b' || *p == 'B')
			p++;
	}
	if (*p || !isfinite(v * mult) || v * mult > 9e18)
		return berr_invalid(e, "invalid size: '%s'", s);
	*out = (long long)(v * mult);
	return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -1;
}

static bool in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(key, *list) == 0)
			return true;
	return false;
}

/* max-size, max-file and compress as Docker's json-file and local drivers read them at start (local has defaults). */
static int check_rotation_values(json_t *config, bool is_local, berr *e)
{
	const char *size = json_string_value(json_object_get(config, "max-size"));
	const char *files = json_string_value(json_object_get(config, "max-file"));
	const char *compress = json_string_value(json_object_get(config, "compress"));
	long long max_size = -1;
	if (size) {
		if (eng_size_parse(size, &max_size, e) < 0)
			return -1;
		if (max_size <= 0)
			return berr_invalid(e, "max-size must be a positive number");
	}
	long max_files = 1;
	if (files) {
		char *end;
		errno = 0;
		max_files = strtol(files, &end, 10);
		if (!*files || *end || errno)
			return berr_invalid(e, "strconv.Atoi: parsing \"%s\": invalid syntax", files);
		if (max_files < 1)
			return berr_invalid(e, "max-file cannot be less than 1");
	}
	bool on = false;
	if (compress) {
		if (parse_bool(compress, &on) < 0)
			return berr_invalid(e, "strconv.ParseBool: parsing \"%s\": invalid syntax", compress);
		if (on && !is_local && (max_files == 1 || max_size == -1))
			return berr_invalid(
			    e, "compress cannot be true when max-file is less than 2 or max-size is not set");
	}
	return 0;
}

int eng_log_config_check(json_t *log_config, berr *e)
{
	if (!log_config || json_is_null(log_config))
		return 0;
	if (!json_is_object(log_config))
		return berr_invalid(e, "HostConfig.LogConfig: expected an object, got %s",
				    b_json_type_name(log_config));
	json_t *jtype = json_object_get(log_config, "Type"), *config = json_object_get(log_config, "Config");
	if (jtype && !json_is_null(jtype) && !json_is_string(jtype))
		return berr_invalid(e, "HostConfig.LogConfig.Type: expected a string, got %s", b_json_type_name(jtype));
	if (config && !json_is_null(config) && !json_is_object(config))
		return berr_invalid(e, "HostConfig.LogConfig.Config: expected an object, got %s",
				    b_json_type_name(config));
	const char *type = json_string_value(jtype) ?: "";
	const char *k;
	json_t *v;
	json_object_foreach (config, k, v)
		if (!json_is_string(v))
			return berr_invalid(e, "HostConfig.LogConfig.Config.%s: expected a string, got %s", k,
					    b_json_type_name(v));
	if (strcmp(type, "none") == 0)
		return 0;
	const char *mode = json_string_value(json_object_get(config, "mode"));
	if (mode && *mode && strcmp(mode, "blocking") != 0 && strcmp(mode, "non-blocking") != 0)
		return berr_invalid(e, "logger: logging mode not supported: %s", mode);
	static const char *const builtin[] = {"mode", "max-buffer-size", NULL};
	static const char *const json_file[] = {"max-file", "max-size",  "compress", "labels", "labels-regex",
						"env",      "env-regex", "tag",      NULL};
	static const char *const local[] = {"max-file", "max-size", "compress", NULL};
	static const char *const others[] = {"syslog", "journald", "gelf",    "fluentd",    "awslogs",
					     "splunk", "etwlogs",  "gcplogs", "logentries", NULL};
	bool is_local = strcmp(type, "local") == 0;
	if (!*type || strcmp(type, "json-file") == 0 || is_local) {
		json_object_foreach (config, k, v) {
			if (in_list(k, builtin) || in_list(k, is_local ? local : json_file))
				continue;
			if (is_local)
				return berr_invalid(e, "unknown log opt '%s' for log driver local", k);
			return berr_invalid(e, "unknown log opt '%s' for json-file log driver", k);
		}
		return check_rotation_values(config, is_local, e);
	}
	if (in_list(type, others))
		return berr_plain(e, ENOTSUP,
				  "logging driver %s is not supported yet by berthd (json-file, local and none are)",
				  type);
	return berr_invalid(e, "logger: no log driver named '%s' is registered", type);
}

void eng_log_config_rotation(json_t *log_config, bool *file, long long *max_size, int *max_files)
{
	const char *type = json_string_value(json_object_get(log_config, "Type")) ?: "";
	json_t *config = json_object_get(log_config, "Config");
	const char *size = json_string_value(json_object_get(config, "max-size"));
	const char *files = json_string_value(json_object_get(config, "max-file"));
	bool is_local = strcmp(type, "local") == 0;
	*file = strcmp(type, "none") != 0;
	berr e = {0};
	if (!size || eng_size_parse(size, max_size, &e) < 0 || *max_size <= 0) {
		*max_size = is_local ? LOCAL_MAX_SIZE : DEFAULT_MAX_SIZE;
		*max_files = is_local ? LOCAL_MAX_FILES : DEFAULT_MAX_FILES;
	} else {
		*max_files = is_local ? LOCAL_MAX_FILES : 1; /* Docker's default with a max-size */
	}
	berr_clear(&e);
	if (files && atoi(files) >= 1)
		*max_files = atoi(files);
}
