/*
 * The `filters` query parameter of Docker's list and prune endpoints: a JSON object of filter
 * names to values, {"label": ["a=b", "c"]} or the older form {"label": {"a=b": true}}.
 */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"

/*
 * Every filter name is one of known (NULL-terminated) and holds a list of strings or an object;
 * else EINVAL with Docker's "invalid filter 'x'".
 */
int b_filters_check(json_t *filters, const char *const *known, berr *e);
/* Does match(value, arg) hold for any value of filters[name]? True when the filter is absent. */
bool b_filter_any(json_t *filters, const char *name, bool (*match)(const char *value, void *arg), void *arg);
/* Is filters[name] given (with at least one value)? */
bool b_filter_given(json_t *filters, const char *name);
/* A label filter ("key" or "key=value") against a Labels object (NULL: no labels). */
bool b_labels_match(json_t *labels, const char *filter);
