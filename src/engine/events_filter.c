/* The filters of GET /events, matched the way Docker's daemon matches them (daemon/events/filter.go). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "image/reference.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/json.h"

static const char *const known_keys[] = {"type",   "event",   "container", "image",  "label",
					 "volume", "network", "daemon",    "plugin", "scope",
					 "node",   "service", "secret",    "config", NULL};

struct eng_events_filter {
	json_t *filters; /* checked by b_filters_check */
};

void eng_events_filter_free(struct eng_events_filter *f)
{
	if (!f)
		return;
	json_decref(f->filters);
	free(f);
}

int eng_events_filter_new(json_t *filters, struct eng_events_filter **out, berr *e)
{
	*out = NULL;
	if (!filters)
		return 0;
	if (!json_is_object(filters))
		return berr_invalid(e, "invalid filter: expected a JSON object, got %s", b_json_type_name(filters));
	if (b_filters_check(filters, known_keys, e) < 0)
		return -1;
	struct eng_events_filter *f = calloc(1, sizeof *f);
	if (!f || !(f->filters = json_deep_copy(filters))) {
		free(f);
		return berr_set(e, ENOMEM, "filters");
	}
	*out = f;
	return 0;
}

static bool same(const char *value, void *source)
{
	return strcmp(value, source) == 0;
}

static bool prefix_of(const char *value, void *source)
{
	return strncmp(source, value, strlen(value)) == 0;
}

/* Docker's filters.ExactMatch: true when the key is not given or one of its values is source. */
static bool exact(const struct eng_events_filter *f, const char *key, const char *source)
{
	if (!b_filter_given(f->filters, key))
		return true;
	return source && b_filter_any(f->filters, key, same, (void *)source);
}

/* filters.FuzzyMatch: ExactMatch, or a value is a prefix of source. */
static bool fuzzy(const struct eng_events_filter *f, const char *key, const char *source)
{
	if (!b_filter_given(f->filters, key))
		return true;
	return source && b_filter_any(f->filters, key, prefix_of, (void *)source);
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
	if (!b_filter_given(f->filters, "image"))
		return true;
	const char *name = json_string_value(json_object_get(attrs, strcmp(type, "image") == 0 ? "name" : "image"));
	if (exact(f, "image", actor_id) || (name && exact(f, "image", name)))
		return true;
	_cleanup_free_ char *id_repo = strip_tag(actor_id);
	_cleanup_free_ char *name_repo = name ? strip_tag(name) : NULL;
	return (id_repo && exact(f, "image", id_repo)) || (name_repo && exact(f, "image", name_repo));
}

static bool label_missing(const char *value, void *attrs)
{
	return !b_labels_match(attrs, value);
}

/* label=key or label=key=value, every one of them (filters.MatchKVList). */
static bool match_labels(const struct eng_events_filter *f, json_t *attrs)
{
	return !b_filter_given(f->filters, "label") || !b_filter_any(f->filters, "label", label_missing, attrs);
}

static bool exec_like(const char *value, void *unused)
{
	return !strcmp(value, "health_status") || !strcmp(value, "exec_create") || !strcmp(value, "exec_start");
}

/* health_status, exec_create and exec_start carry a suffix ("exec_start: sh"): those match by prefix. */
static bool match_event(const struct eng_events_filter *f, const char *action)
{
	if (b_filter_given(f->filters, "event") && b_filter_any(f->filters, "event", exec_like, NULL))
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
