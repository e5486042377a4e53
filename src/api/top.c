/* GET /containers/{id}/top: the container's processes as the host's ps shows them. */
#include "api/api_internal.h"
#include "engine/stats.h"

static void top(struct api_request *r)
{
	berr e = {0};
	json_t *out;
	if (eng_container_top(r->eng, r->params[0], api_query(r, "ps_args"), &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	berr_clear(&e);
}

const struct api_route api_top_routes[] = {
    {"GET", "/containers/*/top", top, 0},
    {0},
};
