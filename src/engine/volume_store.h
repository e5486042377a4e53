/*
 * The local volume driver's volumes: a record in berth.db (table engine_volumes, Docker's inspect
 * shape as JSON) and a directory volumes/<name>/_data. Creation and removal are atomic across a
 * crash: a volume is made in a staging directory and recorded in one transaction before it takes
 * its name; it is removed by renaming its directory away (the point of no return) before its record
 * goes. vol_store_open finishes or undoes what a crash interrupted.
 * Not thread-safe: the engine calls it under its lock.
 */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"

struct vol_store;

int vol_store_open(const char *db_path, const char *volumes_dir, struct vol_store **out, berr *e);
void vol_store_close(struct vol_store *s);

/*
 * Create the volume name with labels and the local driver's options (DriverOpts: type, device, o;
 * either may be NULL). The options are checked as Docker's local driver does; those berthd cannot
 * mount (types other than tmpfs, without o=bind) are ENOTSUP. A name already there: *doc is that
 * volume and *created false (Docker's create is idempotent). *doc is Docker's Volume object.
 */
int vol_store_create(struct vol_store *s, const char *name, json_t *labels, json_t *options, json_t **doc,
		     bool *created, berr *e);
/* Docker's Volume object of name; ENOENT "get NAME: no such volume". */
int vol_store_get(struct vol_store *s, const char *name, json_t **doc, berr *e);
/* Every volume, by name. *arr is a new array of Volume objects. */
int vol_store_list(struct vol_store *s, json_t **arr, berr *e);
/* Unmount (when its options mounted something), forget and delete the volume. */
int vol_store_remove(struct vol_store *s, const char *name, berr *e);
/*
 * Make the volume's directory ready for a container: its file system mounted there when its
 * options name one. *path (may be NULL) is the directory, malloc'd.
 */
int vol_store_mount(struct vol_store *s, const char *name, char **path, berr *e);
/* Whether the volume's directory holds nothing (a new volume, to be filled from the image). */
int vol_store_empty(struct vol_store *s, const char *name, bool *empty, berr *e);
/* The local driver's rule for names: "[a-zA-Z0-9][a-zA-Z0-9_.-]+", with Docker's messages (EINVAL). */
int vol_name_check(const char *name, berr *e);
