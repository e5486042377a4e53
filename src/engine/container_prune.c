/* POST /containers/prune: remove every container that is not running, as Docker's filters allow. */
#include "engine/engine_internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/restart.h"
#include "lib/cleanup.h"
#include "lib/filters.h"
#include "lib/timefmt.h"
#include "lib/tree.h"

static const char *const prune_filters[] = {"label", "label!", "until", NULL};

/* Docker's MatchKVList: every value of filters[key] matches the labels. */
static bool labels_match_all(json_t *filters, const char *key, json_t *labels)
{
	json_t *vals = json_object_get(filters, key), *v;
	size_t i;
	const char *k;
	json_array_foreach (vals, i, v)
		if (!json_is_string(v) || !b_labels_match(labels, json_string_value(v)))
			return false;
	if (json_is_object(vals))
		json_object_foreach (vals, k, v)
			if (!b_labels_match(labels, k))
				return false;
	return true;
}

/* The until filter's time; *has false when there is none. */
static int until_of(json_t *filters, bool *has, struct timespec *until, berr *e)
{
	*has = false;
	json_t *vals = json_object_get(filters, "until");
	size_t n = json_is_array(vals) ? json_array_size(vals) : json_object_size(vals);
	if (n == 0)
		return 0;
	if (n > 1)
		return berr_invalid(e, "more than one until filter specified");
	const char *v = json_is_array(vals) ? json_string_value(json_array_get(vals, 0))
					    : json_object_iter_key(json_object_iter(vals));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (!v || !b_time_parse_ago(v, &now, until))
		return berr_invalid(e, "failed to parse value as time or duration: \"%s\"", v ? v : "");
	*has = true;
	return 0;
}

/* The bytes of the container's writable layer (what removing it gives back). */
static int64_t layer_size(struct eng *eng, const char *id)
{
	_cleanup_free_ char *upper = NULL;
	if (asprintf(&upper, "%s/%s/upper", eng->containers_dir, id) < 0)
		return 0;
	_cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int64_t bytes = 0;
	berr e = {0};
	if (fd < 0 || b_tree_size(fd, &bytes, &e) < 0)
		bytes = 0;
	berr_clear(&e);
	return bytes;
}

int eng_container_prune(struct eng *eng, json_t *filters, json_t **report, berr *e)
{
	static atomic_flag running = ATOMIC_FLAG_INIT;
	if (filters && b_filters_check(filters, prune_filters, e) < 0)
		return -1;
	bool has_until;
	struct timespec until;
	if (until_of(filters, &has_until, &until, e) < 0)
		return -1;
	if (atomic_flag_test_and_set(&running))
		return berr_plain(e, EBUSY, "a prune operation is already running");

	/* The candidates first; each is then removed as DELETE /containers/{id} would (no force). */
	size_t n = 0, cap = 0;
	char **ids = NULL;
	pthread_mutex_lock(&eng->lock);
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (ctr_running(c) || ctr_restarting(c) || c->removing)
			continue;
		json_t *labels = json_object_get(json_object_get(c->doc, "Config"), "Labels");
		struct timespec created;
		if (has_until && b_time_parse(json_string_value(json_object_get(c->doc, "Created")) ?: "", &created) &&
		    (created.tv_sec > until.tv_sec ||
		     (created.tv_sec == until.tv_sec && created.tv_nsec > until.tv_nsec)))
			continue;
		if (!labels_match_all(filters, "label", labels))
			continue;
		if (json_object_get(filters, "label!") && labels_match_all(filters, "label!", labels))
			continue;
		if (n == cap) {
			char **p = realloc(ids, (cap = cap ? cap * 2 : 16) * sizeof *p);
			if (!p)
				break;
			ids = p;
		}
		if (!(ids[n] = strdup(c->id)))
			break;
		n++;
	}
	pthread_mutex_unlock(&eng->lock);

	json_t *deleted = json_array();
	int64_t reclaimed = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t size = layer_size(eng, ids[i]);
		berr err = {0};
		if (eng_container_remove(eng, ids[i], false, false, &err) == 0) {
			json_array_append_new(deleted, json_string(ids[i]));
			reclaimed += size;
		} else if (err.errnum != ENOENT) {
			/* Started meanwhile, or a removal failed: Docker logs it and goes on. */
			fprintf(stderr, "berthd: prune: %s\n", berr_msg(&err));
		}
		berr_clear(&err);
		free(ids[i]);
	}
	free(ids);
	char bytes[32];
	snprintf(bytes, sizeof bytes, "%lld", (long long)reclaimed);
	eng_event(eng, "container", "prune", "", json_pack("{s:s}", "reclaimed", bytes));
	atomic_flag_clear(&running);
	*report = json_pack("{s:o, s:I}", "ContainersDeleted", json_array_size(deleted) ? deleted : json_null(),
			    "SpaceReclaimed", (json_int_t)reclaimed);
	if (!json_array_size(deleted))
		json_decref(deleted);
	return *report ? 0 : berr_set(e, ENOMEM, "pruning containers");
}
