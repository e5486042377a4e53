/* /volumes: create, list, inspect, remove, prune (the local driver). */
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "engine/volumes.h"

static void create(struct api_request *r)
{
	json_t *body;
	if (!api_body_json(r, true, &body))
		return;
	berr e = {0};
	json_t *out;
	if (eng_volume_create(r->eng, body, &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 201, out);
	json_decref(body);
	berr_clear(&e);
}

static void list(struct api_request *r)
{
	json_t *filters;
	if (!api_query_filters(r, &filters))
		return;
	berr e = {0};
	json_t *vols;
	if (eng_volume_list(r->eng, filters, &vols, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, json_pack("{s:o, s:[]}", "Volumes", vols, "Warnings"));
	json_decref(filters);
	berr_clear(&e);
}

static void inspect(struct api_request *r)
{
	berr e = {0};
	json_t *out;
	if (eng_volume_inspect(r->eng, r->params[0], &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	berr_clear(&e);
}

static void remove_(struct api_request *r)
{
	berr e = {0};
	if (eng_volume_remove(r->eng, r->params[0], api_query_bool(r, "force", false), &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_empty(r, 204);
	berr_clear(&e);
}

static void prune(struct api_request *r)
{
	json_t *filters;
	if (!api_query_filters(r, &filters))
		return;
	/* Before API 1.42 a prune took every unused volume; since, only anonymous ones unless all=true. */
	bool all = r->api_minor != 0 && r->api_minor < 42;
	berr e = {0};
	json_t *out;
	if (eng_volume_prune(r->eng, filters, all, &out, &e) < 0)
		api_reply_error(r, &e);
	else
		api_reply_json(r, 200, out);
	json_decref(filters);
	berr_clear(&e);
}

const struct api_route api_volume_routes[] = {
    {"POST", "/volumes/create", create, 0}, {"GET", "/volumes", list, 0},         {"POST", "/volumes/prune", prune, 0},
    {"GET", "/volumes/*", inspect, 0},      {"DELETE", "/volumes/*", remove_, 0}, {0},
};
