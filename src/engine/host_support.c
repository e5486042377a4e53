#include "engine/host_support.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

static bool blkio_weight;
static pthread_once_t probed = PTHREAD_ONCE_INIT;

/*
 * A block I/O weight needs CFQ (gone since 5.0) or BFQ under cgroup v1's blkio, or the io
 * controller of cgroup v2 (weights through BFQ or io.cost).
 */
static void probe(void)
{
	if (access("/sys/fs/cgroup/blkio", F_OK) == 0) {
		blkio_weight = access("/sys/fs/cgroup/blkio/blkio.weight", F_OK) == 0 ||
			       access("/sys/fs/cgroup/blkio/blkio.bfq.weight", F_OK) == 0;
		return;
	}
	_cleanup_free_ char *controllers = NULL;
	berr e = {0};
	if (b_read_file("/sys/fs/cgroup/cgroup.controllers", &controllers, NULL, &e) < 0) {
		berr_clear(&e);
		return;
	}
	for (char *save = NULL, *c = strtok_r(controllers, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		if (strcmp(c, "io") == 0)
			blkio_weight = true;
}

static void drop(json_t *host_config, const char *key, json_t *zero, json_t *warnings, const char *warning)
{
	json_t *v = json_object_get(host_config, key);
	bool set = json_is_integer(v) ? json_integer_value(v) != 0 : json_array_size(v) > 0;
	if (set) {
		json_object_set(host_config, key, zero);
		json_array_append_new(warnings, json_string(warning));
	}
	json_decref(zero);
}

void eng_host_config_drop_unsupported(json_t *host_config, json_t *warnings)
{
	pthread_once(&probed, probe);
	if (!json_is_object(host_config) || blkio_weight)
		return;
	drop(host_config, "BlkioWeight", json_integer(0), warnings,
	     "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
	drop(host_config, "BlkioWeightDevice", json_array(), warnings,
	     "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device "
	     "discarded.");
}
