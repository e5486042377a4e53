/* GET /system/df (docker system df). */
#include <string.h>

#include "api/api_internal.h"
#include "engine/disk_usage.h"

static void df(struct api_request *r)
{
	struct eng_df_parts parts = {0};
	/* ?type=container&type=image... (API 1.42); anything else is Docker's 400. */
	const char *type = api_query(r, "type");
	if (type && *type) {
		if (!strcmp(type, "image"))
			parts.images = true;
		else if (!strcmp(type, "container"))
			parts.containers = true;
		else if (!strcmp(type, "volume"))
			parts.volumes = true;
		else if (strcmp(type, "build-cache") != 0) {
			api_reply_message(r, 400, "unknown object type: %s", type);
			return;
		}
	}
	berr e = {0};
	json_t *out;
	if (eng_disk_usage(r->eng, &parts, &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	berr_clear(&e);
}

const struct api_route api_system_df_routes[] = {
    {"GET", "/system/df", df, 0},
    {0},
};
