/* GET /system/df: what images, containers and volumes take on disk, in Docker's shape. */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "engine/engine.h"

/* Which parts to compute (the API's ?type=, Docker 1.42): all false means all of them. */
struct eng_df_parts {
	bool images, containers, volumes;
};

/*
 * {"LayersSize", "Images", "Containers", "Volumes", "BuildCache": []}: LayersSize is what the
 * images' unpacked layers take; each image with its Size, SharedSize (its layers that other
 * images use too) and the number of containers that use it; each container as the list shows it
 * with SizeRw (its writable layer) and SizeRootFs; each volume with UsageData {Size, RefCount}.
 * Sizes are walks of the trees.
 */
int eng_disk_usage(struct eng *eng, const struct eng_df_parts *parts, json_t **out, berr *e);
