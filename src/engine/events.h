/*
 * The daemon's events (GET /events): a ring of the recent ones, for `since`, and readers that wait
 * on a condition variable for the next. Every part of the engine and the API reports what it does
 * here, in Docker's shape: Type, Action, Actor {ID, Attributes}, scope, time, timeNano (and the
 * older status, id, from of container and image events).
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "lib/err.h"

struct eng;
struct eng_events;

/* The daemon's ID in /info and in its events. */
#define ENG_DAEMON_ID "berth"

/* How many events the ring keeps for `since`: Docker's 256 (about 1 KiB each, against the daemon's memory budget). */
enum { ENG_EVENTS_KEPT = 256 };

int eng_events_new(struct eng_events **out, berr *e);
void eng_events_free(struct eng_events *bus);
/* Wake every reader (the daemon is going away): their next read ends with ESHUTDOWN. */
void eng_events_shutdown(struct eng_events *bus);

/* Record an event. attrs (may be NULL) is stolen: string values only. */
void eng_events_emit(struct eng_events *bus, const char *type, const char *action, const char *actor_id, json_t *attrs);

/*
 * Through the engine's handle, for any part of the daemon: eng_event("volume", "create", name, NULL),
 * eng_event("network", "connect", net_id, json_pack("{s:s}", "container", ctr_id)).
 */
void eng_event(struct eng *eng, const char *type, const char *action, const char *actor_id, json_t *attrs);
/* The daemon's own event ("reload"): its ID as /info gives it, its host name as "name". */
void eng_daemon_event(struct eng *eng, const char *action);
/*
 * A container's event: its name, image and labels are the attributes, extra (may be NULL, stolen)
 * adds to them ("exitCode", "signal" ...). name: a name, ID or ID prefix; an unknown one is ignored.
 * Under the engine's lock use ctr_event (engine_internal.h). exec: "exec_create: CMD", "exec_start:
 * CMD", "exec_die" with "execID" in extra, as Docker names them.
 */
void eng_container_event(struct eng *eng, const char *name, const char *action, json_t *extra);
/* {key: "value"}: Docker's attributes are strings, numbers too ("exitCode": "0", "signal": "15"). */
json_t *eng_event_number(const char *key, long long value);
/*
 * An image's event: load, tag, untag, delete, import, save, pull. image: its ID ("sha256:...") or a
 * name to resolve; name: the reference the event is about (NULL: the image).
 */
void eng_image_event(struct eng *eng, const char *action, const char *image, const char *name);
/* What a removal did (img_remove's lists): "untag" for each reference, "delete" for each image. */
void eng_image_removal_events(struct eng *eng, const char *image_id, char **untagged, char **deleted);

/* ---- reading ---- */

/* The decoded "filters" of GET /events, checked: an unknown key or a bad value is EINVAL. */
struct eng_events_filter;
int eng_events_filter_new(json_t *filters, struct eng_events_filter **out, berr *e);
void eng_events_filter_free(struct eng_events_filter *f);
/* Does the event pass? (type, action, actor_id, attrs as emitted.) NULL passes everything. */
bool eng_events_filter_match(const struct eng_events_filter *f, const char *type, const char *action,
			     const char *actor_id, json_t *attrs);

struct eng_events_reader {
	uint64_t next;                  /* sequence number of the next event to look at */
	bool has_since, has_until;      /* the window */
	struct timespec since, until;   /* inclusive both */
	struct eng_events_filter *filt; /* borrowed; NULL: all */
};
/*
 * Start reading: with since or until, from the oldest kept event (those outside the window are
 * skipped); otherwise from the next one to come.
 */
void eng_events_reader_init(struct eng_events *bus, struct eng_events_reader *rd);
/*
 * The next event that passes, as one JSON line ("...}\n", malloc'd) in *line. Waits up to timeout_ms
 * for one: ETIMEDOUT when none came, ERANGE once the events have passed `until` (the stream ends),
 * ESHUTDOWN when the daemon stops.
 */
int eng_events_read(struct eng_events *bus, struct eng_events_reader *rd, int timeout_ms, char **line, berr *e);
/* The engine's bus. */
struct eng_events *eng_events_of(struct eng *eng);
