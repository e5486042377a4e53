/* Typed views of the fields of a create request, and Go's path.Clean (Docker cleans every mount path with it). */
#include <stdlib.h>
#include <string.h>

#include "engine/spec_internal.h"
#include "lib/json.h"

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

static int wrong(berr *e, const char *field, const char *key, const char *want, json_t *v)
{
	return berr_invalid(e, "%s%s%s: expected %s, got %s", field, *field ? "." : "", key, want, b_json_type_name(v));
}

int eng_jstr(json_t *obj, const char *field, const char *key, const char **out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return wrong(e, field, key, "a string", v);
	*out = json_string_value(v);
	return 0;
}

int eng_jbool(json_t *obj, const char *field, const char *key, bool *out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return wrong(e, field, key, "a boolean", v);
	*out = json_is_true(v);
	return 0;
}

int eng_ji64(json_t *obj, const char *field, const char *key, int64_t *out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return wrong(e, field, key, "an integer", v);
	*out = json_integer_value(v);
	return 0;
}

int eng_jobj(json_t *obj, const char *field, const char *key, json_t **out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_object(v))
		return wrong(e, field, key, "an object", v);
	*out = v;
	return 0;
}

int eng_jarr(json_t *obj, const char *field, const char *key, json_t **out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wrong(e, field, key, "an array", v);
	*out = v;
	return 0;
}

int eng_jstrarr(json_t *obj, const char *field, const char *key, json_t **out, berr *e)
{
	json_t *v = member(obj, key);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return wrong(e, field, key, "an array", v);
	size_t i;
	json_t *item;
	json_array_foreach (v, i, item)
		if (!json_is_string(item))
			return berr_invalid(e, "%s%s%s[%zu]: expected a string, got %s", field, *field ? "." : "", key,
					    i, b_json_type_name(item));
	*out = v;
	return 0;
}

int eng_jstrslice(json_t *obj, const char *field, const char *key, json_t **out, bool *present, berr *e)
{
	json_t *v = member(obj, key);
	*out = NULL;
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	if (json_is_string(v)) {
		*out = json_pack("[O]", v);
		return *out ? 0 : berr_set(e, ENOMEM, "%s.%s", field, key);
	}
	json_t *arr = NULL;
	if (!json_is_array(v))
		return wrong(e, field, key, "an array of strings", v);
	if (eng_jstrarr(obj, field, key, &arr, e) < 0)
		return -1;
	*out = json_deep_copy(arr);
	return *out ? 0 : berr_set(e, ENOMEM, "%s.%s", field, key);
}

char *eng_path_clean(const char *p)
{
	size_t n = strlen(p);
	bool rooted = n && p[0] == '/';
	char *out = malloc(n + 2);
	if (!out)
		return NULL;
	size_t w = 0, dotdot = 0; /* dotdot: where ".." may no longer backtrack */
	size_t r = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}
