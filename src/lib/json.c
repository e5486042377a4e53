#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

/*
 * jansson holds integers as int64 and refuses larger literals, but OCI fields
 * are uint64 (an rlimit of 18446744073709551615 means unlimited). Such
 * literals become strings with a marker that b_json_u64 understands.
 */
#define U64_MARK "\001u64:"

static bool above_int64(const char *digits, size_t n)
{
	static const char max_i64[] = "9223372036854775807";
	static const char max_u64[] = "18446744073709551615";
	if (n < sizeof max_i64 - 1 || n > sizeof max_u64 - 1)
		return false;
	if (n == sizeof max_i64 - 1 && memcmp(digits, max_i64, n) <= 0)
		return false;
	return n < sizeof max_u64 - 1 || memcmp(digits, max_u64, n) <= 0;
}

static char *mark_big_integers(const char *text)
{
	size_t len = strlen(text), extra = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c >= '0' && c <= '9' && (i == 0 || !strchr("-.0123456789eE+", text[i - 1]))) {
			size_t n = strspn(text + i, "0123456789");
			if (!strchr(".eE", text[i + n]) && above_int64(text + i, n))
				extra += 8 + strlen(U64_MARK);
			i += n - 1;
		}
	}
	if (!extra)
		return NULL;
	char *out = malloc(len + extra + 1), *o = out;
	if (!out)
		return NULL;
	in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			*o++ = c;
			if (c == '\\' && i + 1 < len)
				*o++ = text[++i];
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		if (c >= '0' && c <= '9' && (i == 0 || !strchr("-.0123456789eE+", text[i - 1]))) {
			size_t n = strspn(text + i, "0123456789");
			if (!strchr(".eE", text[i + n]) && above_int64(text + i, n)) {
				o += sprintf(o, "\"\\u0001u64:%.*s\"", (int)n, text + i);
				i += n - 1;
				continue;
			}
		}
		*o++ = c;
	}
	*o = '\0';
	return out;
}

json_t *b_json_parse(const char *text, const char *what, berr *e)
{
	json_error_t je;
	char *marked = mark_big_integers(text);
	json_t *j = json_loads(marked ? marked : text, JSON_REJECT_DUPLICATES, &je);
	free(marked);
	if (!j)
		berr_invalid(e, "%s: invalid JSON at line %d, column %d: %s", what, je.line, je.column, je.text);
	return j;
}

const char *b_json_type_name(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

static int wrong_type(berr *e, const char *field, const char *key, const char *want, json_t *v)
{
	return berr_invalid(e, "%s%s%s: expected %s, got %s", field, *field ? "." : "", key, want, b_json_type_name(v));
}

/* Missing and null members both count as absent. */
static json_t *member(json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

int b_json_str(json_t *obj, const char *field, const char *key, char **out, bool *present, berr *e)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return wrong_type(e, field, key, "a string", v);
	char *s = strdup(json_string_value(v));
	if (!s)
		return berr_set(e, ENOMEM, "%s.%s", field, key);
	free(*out);
	*out = s;
	return 0;
}

int b_json_bool(json_t *obj, const char *field, const char *key, bool *out, bool *present, berr *e)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return wrong_type(e, field, key, "a boolean", v);
	*out = json_is_true(v);
	return 0;
}

int b_json_i64(json_t *obj, const char *field, const char *key, int64_t *out, bool *present, berr *e)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return wrong_type(e, field, key, "an integer", v);
	*out = json_integer_value(v);
	return 0;
}

int b_json_u64(json_t *obj, const char *field, const char *key, uint64_t *out, bool *present, berr *e)
{
	json_t *v = member(obj, key);
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	/* Literals above INT64_MAX arrive marked by b_json_parse. */
	if (json_is_string(v) && !strncmp(json_string_value(v), U64_MARK, strlen(U64_MARK))) {
		*out = strtoull(json_string_value(v) + strlen(U64_MARK), NULL, 10);
		return 0;
	}
	if (!json_is_integer(v))
		return wrong_type(e, field, key, "an unsigned integer", v);
	if (json_integer_value(v) < 0)
		return berr_invalid(e, "%s%s%s: must not be negative, got %lld", field, *field ? "." : "", key,
				    (long long)json_integer_value(v));
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int b_json_strv(json_t *obj, const char *field, const char *key, char ***out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wrong_type(e, field, key, "an array of strings", v);
	size_t n = json_array_size(v);
	char **list = calloc(n + 1, sizeof *list);
	if (!list)
		return berr_set(e, ENOMEM, "%s.%s", field, key);
	for (size_t i = 0; i < n; i++) {
		json_t *item = json_array_get(v, i);
		if (!json_is_string(item)) {
			b_strv_free(list);
			return berr_invalid(e, "%s%s%s[%zu]: expected a string, got %s", field, *field ? "." : "", key,
					    i, b_json_type_name(item));
		}
		list[i] = strdup(json_string_value(item));
		if (!list[i]) {
			b_strv_free(list);
			return berr_set(e, ENOMEM, "%s.%s", field, key);
		}
	}
	b_strv_free(*out);
	*out = list;
	return 0;
}

int b_json_str_map(json_t *obj, const char *field, const char *key, char ***out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong_type(e, field, key, "an object", v);
	size_t n = json_object_size(v), i = 0;
	char **list = calloc(2 * n + 1, sizeof *list);
	if (!list)
		return berr_set(e, ENOMEM, "%s.%s", field, key);
	const char *k;
	json_t *val;
	json_object_foreach (v, k, val) {
		if (!json_is_string(val)) {
			b_strv_free(list);
			return berr_invalid(e, "%s%s%s.%s: expected a string, got %s", field, *field ? "." : "", key, k,
					    b_json_type_name(val));
		}
		list[i++] = strdup(k);
		list[i++] = strdup(json_string_value(val));
		if (!list[i - 1] || !list[i - 2]) {
			b_strv_free(list);
			return berr_set(e, ENOMEM, "%s.%s", field, key);
		}
	}
	b_strv_free(*out);
	*out = list;
	return 0;
}

int b_json_obj(json_t *obj, const char *field, const char *key, json_t **out, berr *e)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong_type(e, field, key, "an object", v);
	*out = v;
	return 0;
}

int b_json_arr(json_t *obj, const char *field, const char *key, json_t **out, berr *e)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wrong_type(e, field, key, "an array", v);
	*out = v;
	return 0;
}

void b_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t b_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int b_strv_dup(char *const *v, char ***out)
{
	*out = NULL;
	if (!v)
		return 0;
	size_t n = b_strv_len(v);
	char **d = calloc(n + 1, sizeof *d);
	if (!d)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(d[i] = strdup(v[i]))) {
			b_strv_free(d);
			return -1;
		}
	}
	*out = d;
	return 0;
}

static const char *folded_name(const char *key, const char *const *names)
{
	for (const char *const *n = names; *n; n++)
		if (strcasecmp(key, *n) == 0)
			return *n;
	return NULL;
}

json_t *b_json_fold_keys(json_t *obj, const char *const *names)
{
	json_t *out = json_object();
	if (!out || !json_is_object(obj))
		return out;
	const char *key;
	json_t *v;
	/* Exact spellings and unknown keys first, so that they win over folded ones. */
	json_object_foreach (obj, key, v) {
		const char *name = folded_name(key, names);
		if (!name || strcmp(name, key) == 0)
			json_object_set(out, key, v);
	}
	json_object_foreach (obj, key, v) {
		const char *name = folded_name(key, names);
		if (name && strcmp(name, key) != 0 && !json_object_get(out, name))
			json_object_set(out, name, v);
	}
	return out;
}
