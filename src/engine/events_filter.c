/* The filters of GET /events, matched the way Docker's daemon matches them (daemon/events/filter.go). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/json.h"

static const char *const known_keys[] = {"type",   "event",  "container", "image", "label",   "volume", "network",
					 "daemon", "plugin", "scope",     "node",  "service", "secret", "config"};

struct eng_events_filter {
	char **values[ARRAY_SIZE(known_keys)]; /* NULL-terminated, NULL when the key is not given */
};

static int key_index(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
		if (strcmp(known_keys[i], key) == 0)
			return (int)i;
	return -1;
}

void eng_events_filter_free(struct eng_events_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(known_keys); i++)
		b_strv_free(f->values[i]);
	free(f);
}

static int add_value(char ***v, const char *s, berr *e)
{
	size_t n = b_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof *nv);
	if (!nv)
		return berr_set(e, ENOMEM, "filters");
	*v = nv;
	nv[n + 1] = NULL;
	if (!(nv[n] = strdup(s)))
		return berr_set(e, ENOMEM, "filters");
	return 0;
}

int eng_events_filter_new(json_t *filters, struct eng_events_filter **out, berr *e)
{
	*out = NULL;
	if (!filters)
		return 0;
	if (!json_is_object(filters))
		return berr_invalid(e, "invalid filter: expected a JSON object, got %s", b_json_type_name(filters));
	struct eng_events_filter *f = calloc(1, sizeof *f);
	if (!f)
		return berr_set(e, ENOMEM, "filters");
	const char *key;
	json_t *val;
	json_object_foreach (filters, key, val) {
		int k = key_index(key);
		if (k < 0) {
			eng_events_filter_free(f);
			return berr_invalid(e, "invalid filter '%s'", key);
		}
		/* Docker's two forms: {"key": {"value": true}} and the older {"key": ["value"]}. */
		const char *name;
		json_t *item;
		size_t i;
		int r = 0;
		if (json_is_object(val)) {
			json_object_foreach (val, name, item)
				if (r == 0 && json_is_true(item))
					r = add_value(&f->values[k], name, e);
		} else if (json_is_array(val)) {
			json_array_foreach (val, i, item) {
				if (!json_is_string(item)) {
					r = berr_invalid(e, "invalid filter '%s': expected strings, got %s", key,
							 b_json_type_name(item));
					break;
				}
				if (r == 0)
					r = add_value(&f->values[k], json_string_value(item), e);
			}
		} else {
			r = berr_invalid(e, "invalid filter '%s': expected an object or a list, got %s", key,
					 b_json_type_name(val));
		}
		if (r < 0) {
			eng_events_filter_free(f);
			return -1;
		}
	}
	*out = f;
	return 0;
}

static char **values_of(const struct eng_events_filter *f, const char *key)
{
	int k = key_index(key);
	return k < 0 ? NULL : f->values[k];
}

/* Docker's filters.ExactMatch: true when the key is not given or one of its values is source. */
static bool exact(const struct eng_events_filter *f, const char *key, const char *source)
{
	char **v = values_of(f, key);
	if (!v || !*v)
		return true;
	for (; *v; v++)
		if (source && strcmp(*v, source) == 0)
			return true;
	return false;
}

/* filters.FuzzyMatch: ExactMatch, or a value is a prefix of source. */
static bool fuzzy(const struct eng_events_filter *f, const char *key, const char *source)
{
	if (exact(f, key, source))
		return true;
	for (char **v = values_of(f, key); source && *v; v++)
		if (strncmp(source, *v, strlen(*v)) == 0)
			return true;
	return false;
}

/* The actor's ID or name, by prefix: container, volume, network, daemon ... filters. */
static bool fuzzy_name(const struct eng_events_filter *f, const char *key, const char *actor_id, json_t *attrs)
{
	return fuzzy(f, key, actor_id) || fuzzy(f, key, json_string_value(json_object_get(attrs, "name")));
}

/* "busybox:latest" -> "busybox" (Docker's stripTag); anything that is no reference stays as it is. */
static char *strip_tag(const char *image)
{
	struct img_ref ref = {0};
	berr e = {0};
	char *out = NULL;
	if (image && img_ref_parse_name(image, &ref, &e) == 0)
		out = img_ref_familiar_repository(&ref);
	img_ref_free(&ref);
	berr_clear(&e);
	return out ? out : strdup(image ? image : "");
}

static bool match_image(const struct eng_events_filter *f, const char *type, const char *actor_id, json_t *attrs)
{
	if (!values_of(f, "image"))
		return true;
	const char *name = json_string_value(json_object_get(attrs, strcmp(type, "image") == 0 ? "name" : "image"));
	if (exact(f, "image", actor_id) || (name && exact(f, "image", name)))
		return true;
	_cleanup_free_ char *id_repo = strip_tag(actor_id);
	_cleanup_free_ char *name_repo = name ? strip_tag(name) : NULL;
	return (id_repo && exact(f, "image", id_repo)) || (name_repo && exact(f, "image", name_repo));
}

/* label=key or label=key=value, every one of them (filters.MatchKVList). */
static bool match_labels(const struct eng_events_filter *f, json_t *attrs)
{
	char **v = values_of(f, "label");
	if (!v || !*v)
		return true;
	for (; *v; v++) {
		const char *eq = strchr(*v, '=');
		_cleanup_free_ char *key = eq ? strndup(*v, (size_t)(eq - *v)) : strdup(*v);
		const char *have = key ? json_string_value(json_object_get(attrs, key)) : NULL;
		if (!have || (eq && strcmp(have, eq + 1) != 0))
			return false;
	}
	return true;
}

/* health_status, exec_create and exec_start carry a suffix ("exec_start: sh"): those match by prefix. */
static bool match_event(const struct eng_events_filter *f, const char *action)
{
	for (char **v = values_of(f, "event"); v && *v; v++)
		if (!strcmp(*v, "health_status") || !strcmp(*v, "exec_create") || !strcmp(*v, "exec_start"))
			return fuzzy(f, "event", action);
	return exact(f, "event", action);
}

bool eng_events_filter_match(const struct eng_events_filter *f, const char *type, const char *action,
			     const char *actor_id, json_t *attrs)
{
	if (!f)
		return true;
	return match_event(f, action) && exact(f, "type", type) && exact(f, "scope", "local") &&
	       fuzzy_name(f, "daemon", actor_id, attrs) && fuzzy_name(f, "container", actor_id, attrs) &&
	       fuzzy_name(f, "plugin", actor_id, attrs) && fuzzy_name(f, "volume", actor_id, attrs) &&
	       fuzzy_name(f, "network", actor_id, attrs) && match_image(f, type, actor_id, attrs) &&
	       fuzzy_name(f, "node", actor_id, attrs) && fuzzy_name(f, "service", actor_id, attrs) &&
	       fuzzy_name(f, "secret", actor_id, attrs) && fuzzy_name(f, "config", actor_id, attrs) &&
	       match_labels(f, attrs);
}
