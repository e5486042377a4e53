/* The event bus: a ring of recent events, each kept with its JSON line, and readers woken by a condvar. */
#include "engine/events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "image/reference.h"
#include "lib/cleanup.h"

struct event {
	uint64_t seq;
	struct timespec time;
	char *type, *action, *actor_id;
	json_t *attrs; /* never changed once recorded: readers look at it under the bus lock */
	char *line;    /* the JSON line as sent */
};

struct eng_events {
	pthread_mutex_t lock;
	pthread_cond_t added;
	struct event ring[ENG_EVENTS_KEPT];
	uint64_t seq; /* the next event's number; the ring holds [seq - kept, seq) */
	bool shutting_down;
};

static void event_clear(struct event *ev)
{
	free(ev->type);
	free(ev->action);
	free(ev->actor_id);
	json_decref(ev->attrs);
	free(ev->line);
	memset(ev, 0, sizeof *ev);
}

int eng_events_new(struct eng_events **out, berr *e)
{
	struct eng_events *bus = calloc(1, sizeof *bus);
	if (!bus)
		return berr_set(e, ENOMEM, "the event bus");
	pthread_mutex_init(&bus->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bus->added, &ca);
	pthread_condattr_destroy(&ca);
	*out = bus;
	return 0;
}

void eng_events_free(struct eng_events *bus)
{
	if (!bus)
		return;
	for (size_t i = 0; i < ENG_EVENTS_KEPT; i++)
		event_clear(&bus->ring[i]);
	pthread_mutex_destroy(&bus->lock);
	pthread_cond_destroy(&bus->added);
	free(bus);
}

void eng_events_shutdown(struct eng_events *bus)
{
	pthread_mutex_lock(&bus->lock);
	bus->shutting_down = true;
	pthread_cond_broadcast(&bus->added);
	pthread_mutex_unlock(&bus->lock);
}

/* Docker's events.Message; container and image events keep the older status/id/from fields too. */
static char *event_line(const struct event *ev)
{
	json_t *msg = json_object();
	bool container = strcmp(ev->type, "container") == 0;
	if (container || strcmp(ev->type, "image") == 0) {
		json_object_set_new(msg, "status", json_string(ev->action));
		json_object_set_new(msg, "id", json_string(ev->actor_id));
		const char *from = json_string_value(json_object_get(ev->attrs, "image"));
		if (container && from)
			json_object_set_new(msg, "from", json_string(from));
	}
	json_object_set_new(msg, "Type", json_string(ev->type));
	json_object_set_new(msg, "Action", json_string(ev->action));
	json_object_set_new(msg, "Actor", json_pack("{s:s, s:O}", "ID", ev->actor_id, "Attributes", ev->attrs));
	json_object_set_new(msg, "scope", json_string("local"));
	json_object_set_new(msg, "time", json_integer((json_int_t)ev->time.tv_sec));
	json_object_set_new(msg, "timeNano",
			    json_integer((json_int_t)ev->time.tv_sec * 1000000000 + (json_int_t)ev->time.tv_nsec));
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	char *line = NULL;
	if (text && asprintf(&line, "%s\n", text) < 0)
		line = NULL;
	free(text);
	return line;
}

void eng_events_emit(struct eng_events *bus, const char *type, const char *action, const char *actor_id, json_t *attrs)
{
	if (!attrs)
		attrs = json_object();
	struct event ev = {0};
	ev.type = strdup(type);
	ev.action = strdup(action);
	ev.actor_id = strdup(actor_id ? actor_id : "");
	ev.attrs = attrs;
	if (!bus || !ev.type || !ev.action || !ev.actor_id || !ev.attrs) {
		event_clear(&ev);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	/* Stamped under the lock: the ring stays in time order, which `since` and `until` rely on. */
	clock_gettime(CLOCK_REALTIME, &ev.time);
	ev.seq = bus->seq;
	ev.line = event_line(&ev);
	if (ev.line) {
		struct event *slot = &bus->ring[bus->seq % ENG_EVENTS_KEPT];
		event_clear(slot);
		*slot = ev;
		bus->seq++;
		pthread_cond_broadcast(&bus->added);
	} else {
		event_clear(&ev);
	}
	pthread_mutex_unlock(&bus->lock);
}

static uint64_t oldest(const struct eng_events *bus)
{
	return bus->seq > ENG_EVENTS_KEPT ? bus->seq - ENG_EVENTS_KEPT : 0;
}

void eng_events_reader_init(struct eng_events *bus, struct eng_events_reader *rd)
{
	pthread_mutex_lock(&bus->lock);
	rd->next = rd->has_since || rd->has_until ? oldest(bus) : bus->seq;
	pthread_mutex_unlock(&bus->lock);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (long)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* The monotonic clock ms from now (the condvar's clock). */
static struct timespec monotonic_in(long ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (ms < 0)
		ms = 0;
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

int eng_events_read(struct eng_events *bus, struct eng_events_reader *rd, int timeout_ms, char **line, berr *e)
{
	*line = NULL;
	struct timespec deadline = monotonic_in(timeout_ms);
	int r = 0;
	bool timed_out = false;
	pthread_mutex_lock(&bus->lock);
	for (;;) {
		if (rd->next < oldest(bus))
			rd->next = oldest(bus); /* a reader that fell behind the ring loses the oldest */
		bool passed_until = false;
		while (rd->next < bus->seq) {
			const struct event *ev = &bus->ring[rd->next % ENG_EVENTS_KEPT];
			if (rd->has_until && before(&rd->until, &ev->time)) {
				passed_until = true;
				break;
			}
			rd->next++;
			if (rd->has_since && before(&ev->time, &rd->since))
				continue;
			if (!eng_events_filter_match(rd->filt, ev->type, ev->action, ev->actor_id, ev->attrs))
				continue;
			if (!(*line = strdup(ev->line)))
				r = berr_set(e, ENOMEM, "reading events");
			goto out;
		}
		if (passed_until || (rd->has_until && ms_until(&rd->until) < 0)) {
			r = berr_plain(e, ERANGE, "past the end of the events asked for");
			goto out;
		}
		if (bus->shutting_down) {
			r = berr_plain(e, ESHUTDOWN, "the daemon is shutting down");
			goto out;
		}
		if (timed_out) {
			r = berr_plain(e, ETIMEDOUT, "no event yet");
			goto out;
		}
		struct timespec wake = deadline;
		if (rd->has_until) {
			/* Wake at `until` when it comes first, to end the stream then. */
			struct timespec at = monotonic_in(ms_until(&rd->until) + 1);
			if (before(&at, &wake))
				wake = at;
		}
		if (pthread_cond_timedwait(&bus->added, &bus->lock, &wake) == ETIMEDOUT && !before(&wake, &deadline))
			timed_out = true; /* one more look at the ring, then give up */
	}
out:
	pthread_mutex_unlock(&bus->lock);
	return r;
}

/* ---- emitting through the engine ---- */

struct eng_events *eng_events_of(struct eng *eng)
{
	return eng->events;
}

void eng_event(struct eng *eng, const char *type, const char *action, const char *actor_id, json_t *attrs)
{
	eng_events_emit(eng->events, type, action, actor_id, attrs);
}

void ctr_event(struct eng *eng, struct ctr *c, const char *action, json_t *extra)
{
	json_t *attrs = json_object();
	json_t *config = json_object_get(c->doc, "Config");
	json_t *labels = json_object_get(config, "Labels");
	const char *k;
	json_t *v;
	/* Labels first: name and image win over labels of the same key, as in Docker. */
	json_object_foreach (labels, k, v)
		if (json_is_string(v))
			json_object_set(attrs, k, v);
	const char *image = json_string_value(json_object_get(config, "Image"));
	json_object_set_new(attrs, "image", json_string(image ? image : ""));
	json_object_set_new(attrs, "name", json_string(c->name[0] == '/' ? c->name + 1 : c->name));
	if (extra)
		json_object_update(attrs, extra);
	json_decref(extra);
	eng_events_emit(eng->events, "container", action, c->id, attrs);
}

void eng_container_event(struct eng *eng, const char *name, const char *action, json_t *extra)
{
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	berr e = {0};
	if (ctr_find(eng, name, &c, &e) == 0) {
		ctr_event(eng, c, action, extra);
		ctr_put(eng, c);
	} else {
		json_decref(extra);
	}
	berr_clear(&e);
	pthread_mutex_unlock(&eng->lock);
}

void eng_daemon_event(struct eng *eng, const char *action)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	eng_events_emit(eng->events, "daemon", action, ENG_DAEMON_ID, json_pack("{s:s}", "name", host));
}

json_t *eng_event_number(const char *key, long long value)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", value);
	return json_pack("{s:s}", key, text);
}

/* "myrepo" -> "myrepo:latest", "docker.io/library/busybox:1" -> "busybox:1": the name as Docker reports it. */
static char *familiar(const char *name)
{
	struct img_ref ref = {0};
	berr e = {0};
	char *out = NULL;
	if (!img_ref_is_id_prefix(name) && img_ref_parse(name, &ref, &e) == 0)
		out = img_ref_familiar(&ref);
	img_ref_free(&ref);
	berr_clear(&e);
	return out ? out : strdup(name);
}

void eng_image_event(struct eng *eng, const char *action, const char *image, const char *name)
{
	if (!image)
		return;
	_cleanup_free_ char *id = NULL;
	if (strncmp(image, "sha256:", 7) != 0) {
		berr e = {0};
		pthread_mutex_lock(&eng->lock);
		img_db_resolve(eng->img->db, image, &id, &e);
		pthread_mutex_unlock(&eng->lock);
		berr_clear(&e);
	}
	_cleanup_free_ char *shown = familiar(name && *name ? name : image);
	eng_events_emit(eng->events, "image", action, id ? id : image,
			json_pack("{s:s}", "name", shown ? shown : image));
}

void eng_image_removal_events(struct eng *eng, const char *image_id, char **untagged, char **deleted)
{
	for (char **p = untagged; p && *p; p++)
		eng_image_event(eng, "untag", image_id ? image_id : *p, *p);
	for (char **p = deleted; p && *p; p++)
		eng_image_event(eng, "delete", *p, *p);
}
