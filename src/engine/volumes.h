/*
 * Volumes as Docker's daemon has them (local driver only): create, inspect, list, remove, prune and
 * the sizes /system/df shows, over the volume store (volume_store.h); and what containers need from
 * them: a volume made when a container names one, filled from the image before the first start,
 * the anonymous ones removed with their container. Safe from any thread (the engine's lock).
 */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "engine/engine.h"
#include "engine/spec.h"

/* The label Docker puts on the volumes it names itself (a container's anonymous volumes). */
#define ENG_VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

/* POST /volumes/create: body is Docker's VolumeCreateOptions (may be NULL). *out: the Volume object. */
int eng_volume_create(struct eng *eng, json_t *body, json_t **out, berr *e);
/* GET /volumes/{name}. */
int eng_volume_inspect(struct eng *eng, const char *name, json_t **out, berr *e);
/* GET /volumes: filters (may be NULL) name, label, dangling, driver. *out: an array of Volume objects. */
int eng_volume_list(struct eng *eng, json_t *filters, json_t **out, berr *e);
/*
 * DELETE /volumes/{name}: a volume a container uses (running or not) is EBUSY "remove NAME: volume
 * is in use - [ids]"; force makes a missing volume no error.
 */
int eng_volume_remove(struct eng *eng, const char *name, bool force, berr *e);
/*
 * POST /volumes/prune: the volumes no container uses, that match filters (label, label!, all); only
 * anonymous ones unless all_volumes. *out: {"VolumesDeleted": [...], "SpaceReclaimed": n}.
 */
int eng_volume_prune(struct eng *eng, json_t *filters, bool all_volumes, json_t **out, berr *e);
/* For /system/df: every Volume with UsageData {Size, RefCount}. */
int eng_volume_usage(struct eng *eng, json_t **out, berr *e);

/* The engine's side (callers hold the engine's lock). */
struct ctr;
/*
 * At a container's create: the volume mount m names, made when missing (an anonymous one gets a
 * 64-hex name and the anonymous label, and m->source that name). entry (the container's "Mounts"
 * item) gets Name, Driver and Source.
 */
int eng_volume_attach_locked(struct eng *eng, struct eng_mount *m, json_t *entry, berr *e);
/*
 * Before a container starts: each of its volumes mounted (when its options say so) and, when it is
 * empty, filled from the container's root file system at its mount point (unless nocopy), as
 * Docker does.
 */
int eng_volumes_prepare_locked(struct eng *eng, json_t *doc, const char *rootfs, berr *e);
/* At a container's removal with v=1: its anonymous volumes that no other container uses. */
void eng_volumes_remove_anonymous_locked(struct eng *eng, struct ctr *c);
