/* /networks: list, inspect, create, remove, prune, connect and disconnect (engine/networks.h). */
#include <errno.h>
#include <stdlib.h>
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

/* Docker answers 403 for what it forbids on networks (predefined ones, one in use, overlapping pools). */
static void reply_network_error(struct api_request *r, const berr *e)
{
	if (e->errnum == EPERM)
		api_reply_message(r, 403, "%s", berr_msg(e));
	else
		api_reply_error(r, e);
}

static void create(struct api_request *r)
{
	json_t *body;
	if (!api_body_json(r, false, &body))
		return;
	berr e = {0};
	char *id = NULL;
	if (eng_network_create(r->eng, body, &id, &e) < 0)
		reply_network_error(r, &e);
	else
		api_reply_json(r, 201, json_pack("{s:s, s:s}", "Id", id, "Warning", ""));
	free(id);
	json_decref(body);
	berr_clear(&e);
}

static void remove_(struct api_request *r)
{
	berr e = {0};
	if (eng_network_remove(r->eng, r->params[0], &e) < 0)
		reply_network_error(r, &e);
	else
		api_reply_empty(r, 204);
	berr_clear(&e);
}

static void prune(struct api_request *r)
{
	json_t *filters;
	if (!api_query_filters(r, &filters))
		return;
	berr e = {0};
	json_t *out;
	if (eng_network_prune(r->eng, filters, &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	json_decref(filters);
	berr_clear(&e);
}

static void connection(struct api_request *r, bool connect)
{
	json_t *body;
	if (!api_body_json(r, false, &body))
		return;
	berr e = {0};
	if (eng_network_connect(r->eng, r->params[0], body, connect, &e) < 0)
		reply_network_error(r, &e);
	else
		api_reply_empty(r, 200);
	json_decref(body);
	berr_clear(&e);
}

static void connect_(struct api_request *r)
{
	connection(r, true);
}

static void disconnect(struct api_request *r)
{
	connection(r, false);
}

const struct api_route api_network_routes[] = {
    {"GET", "/networks", list, 0},
    {"POST", "/networks/create", create, 0},
    {"POST", "/networks/prune", prune, 0},
    {"GET", "/networks/*", inspect, 0},
    {"DELETE", "/networks/*", remove_, 0},
    {"POST", "/networks/*/connect", connect_, 0},
    {"POST", "/networks/*/disconnect", disconnect, 0},
    {0},
};
