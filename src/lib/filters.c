/* Docker's `filters` query parameter (filters.h). */
#include <string.h>

#include "lib/filters.h"

int b_filters_check(json_t *filters, const char *const *known, berr *e)
{
	const char *k;
	json_t *v;
	json_object_foreach (filters, k, v) {
		bool ok = false;
		for (const char *const *p = known; *p && !ok; p++)
			ok = strcmp(*p, k) == 0;
		if (!ok)
			return berr_invalid(e, "invalid filter '%s'", k);
		if (!json_is_array(v) && !json_is_object(v))
			return berr_invalid(e, "invalid filter '%s': expected a list of values", k);
		size_t i;
		json_t *item;
		if (json_is_array(v))
			json_array_foreach (v, i, item)
				if (!json_is_string(item))
					return berr_invalid(e, "invalid filter '%s': expected a list of strings", k);
	}
	return 0;
}

bool b_filter_given(json_t *filters, const char *name)
{
	json_t *v = json_object_get(filters, name);
	return v && json_is_array(v) ? json_array_size(v) > 0 : json_object_size(v) > 0;
}

bool b_filter_any(json_t *filters, const char *name, bool (*match)(const char *value, void *arg), void *arg)
{
	if (!b_filter_given(filters, name))
		return true;
	json_t *vals = json_object_get(filters, name);
	if (json_is_array(vals)) {
		size_t i;
		json_t *v;
		json_array_foreach (vals, i, v)
			if (json_is_string(v) && match(json_string_value(v), arg))
				return true;
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach (vals, k, v)
		if (match(k, arg))
			return true;
	return false;
}

bool b_labels_match(json_t *labels, const char *filter)
{
	const char *eq = strchr(filter, '=');
	if (!eq)
		return json_object_get(labels, filter) != NULL;
	char key[512];
	size_t klen = (size_t)(eq - filter);
	if (klen >= sizeof key)
		return false;
	memcpy(key, filter, klen);
	key[klen] = '\0';
	const char *val = json_string_value(json_object_get(labels, key));
	return val && strcmp(val, eq + 1) == 0;
}
