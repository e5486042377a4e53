/* /networks: list and inspect (the predefined bridge, host and none); user networks' verbs are not supported yet. */
#include <errno.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/networks.h"

static void list(struct api_request *r)
{
	json_t *filters;
	if (!api_query_filters(r, &filters))
		return;
	berr e = {0};
	json_t *out;
	if (eng_network_list(r->eng, filters, &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	json_decref(filters);
	berr_clear(&e);
}

static void inspect(struct api_request *r)
{
	berr e = {0};
	json_t *out;
	if (eng_network_inspect(r->eng, r->params[0], &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	berr_clear(&e);
}

static void remove_(struct api_request *r)
{
	berr e = {0};
	if (eng_network_remove(r->eng, r->params[0], &e) < 0) {
		/* Docker answers 403 for the predefined networks. */
		if (e.errnum == EPERM)
			api_reply_message(r, 403, "%s", berr_msg(&e));
		else
			api_reply_error(r, &e);
	} else {
		api_reply_empty(r, 204);
	}
	berr_clear(&e);
}

static void prune(struct api_request *r)
{
	json_t *filters;
	if (!api_query_filters(r, &filters))
		return;
	/* Only the predefined networks exist, and they are never pruned. */
	json_decref(filters);
	api_reply_json(r, 200, json_pack("{s:n}", "NetworksDeleted"));
}

static void not_yet(struct api_request *r)
{
	api_reply_message(r, 501, "user-defined networks (%s %s) are not supported yet by berthd", r->method, r->path);
}

static void connect_(struct api_request *r)
{
	/* The predefined networks take no connect (Docker's words); user networks are not there yet. */
	berr e = {0};
	json_t *out = NULL;
	if (eng_network_inspect(r->eng, r->params[0], &out, &e) < 0)
		api_reply_error(r, &e);
	else
		not_yet(r);
	json_decref(out);
	berr_clear(&e);
}

const struct api_route api_network_routes[] = {
    {"GET", "/networks", list, 0},
    {"POST", "/networks/create", not_yet, 0},
    {"POST", "/networks/prune", prune, 0},
    {"GET", "/networks/*", inspect, 0},
    {"DELETE", "/networks/*", remove_, 0},
    {"POST", "/networks/*/connect", connect_, 0},
    {"POST", "/networks/*/disconnect", connect_, 0},
    {0},
};
