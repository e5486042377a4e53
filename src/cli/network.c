/* berth network create|ls|inspect|rm|connect|disconnect|prune over berthd's /networks routes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

int cli_verb_network_create(struct cli *c, struct cli_args *a)
{
	json_t *body = json_pack("{s:s, s:s, s:b, s:o, s:b}", "Name", a->pos[0], "Driver",
				 cli_arg_str(a, "driver") ?: "bridge", "Internal", cli_arg_bool(a, "internal"),
				 "Labels", cli_key_values(cli_arg_list(a, "label")), "CheckDuplicate", 1);
	char *const *subnets = cli_arg_list(a, "subnet"), *const *gateways = cli_arg_list(a, "gateway"),
		    *const *ranges = cli_arg_list(a, "ip-range");
	if (*subnets) {
		json_t *configs = json_array();
		for (size_t i = 0; subnets[i]; i++) {
			json_t *conf = json_pack("{s:s}", "Subnet", subnets[i]);
			/* The gateway and range go with the first subnet. */
			if (i == 0 && gateways[0])
				json_object_set_new(conf, "Gateway", json_string(gateways[0]));
			if (i == 0 && ranges[0])
				json_object_set_new(conf, "IPRange", json_string(ranges[0]));
			json_array_append_new(configs, conf);
		}
		json_object_set_new(body, "IPAM", json_pack("{s:s, s:o}", "Driver", "default", "Config", configs));
	} else if (*gateways || *ranges) {
		json_decref(body);
		fprintf(stderr, "Error response from daemon: %s\n",
			*gateways ? "every gateway must have a corresponding subnet"
				  : "every ip-range must have a corresponding subnet");
		return CLI_EXIT_FAIL;
	}
	json_t *doc;
	int status = cli_call(c, "POST", "/networks/create", body, &doc);
	json_decref(body);
	if (status == 0)
		printf("%s\n", json_string_value(json_object_get(doc, "Id")) ?: "");
	json_decref(doc);
	return status;
}

static int by_name(const void *x, const void *y)
{
	const char *a = json_string_value(json_object_get(*(json_t *const *)x, "Name")) ?: "";
	const char *b = json_string_value(json_object_get(*(json_t *const *)y, "Name")) ?: "";
	return strcmp(a, b);
}

int cli_verb_network_ls(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/networks");
	char *filters = NULL;
	int bad = cli_filters_json(a, &filters);
	if (bad) {
		cli_buf_free(&path);
		return bad;
	}
	if (filters)
		cli_buf_query(&path, "filters", filters);
	free(filters);
	json_t *doc = cli_get_json(c, path.s);
	cli_buf_free(&path);
	if (!doc)
		return CLI_EXIT_FAIL;
	bool no_trunc = cli_arg_bool(a, "no-trunc");
	json_t *rows = json_array();
	/* By name, as docker's CLI sorts them. */
	size_t count = json_array_size(doc);
	json_t **sorted = calloc(count ? count : 1, sizeof *sorted);
	for (size_t k = 0; sorted && k < count; k++)
		sorted[k] = json_array_get(doc, k);
	if (sorted)
		qsort(sorted, count, sizeof *sorted, by_name);
	for (size_t k = 0; sorted && k < count; k++) {
		json_t *n = sorted[k];
		const char *id = json_string_value(json_object_get(n, "Id")) ?: "";
		json_array_append_new(rows,
				      json_pack("{s:s%, s:O, s:O, s:O}", "ID", id,
						no_trunc || strlen(id) < 12 ? strlen(id) : (size_t)12, "Name",
						json_object_get(n, "Name"), "Driver", json_object_get(n, "Driver"),
						"Scope", json_object_get(n, "Scope")));
	}
	free(sorted);
	json_decref(doc);
	json_t *header =
	    json_pack("{s:s, s:s, s:s, s:s}", "ID", "NETWORK ID", "Name", "NAME", "Driver", "DRIVER", "Scope", "SCOPE");
	const char *format = cli_arg_bool(a, "quiet") ? "{{.ID}}" : cli_arg_str(a, "format");
	int rc = cli_print_rows(rows, format, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", header);
	json_decref(header);
	json_decref(rows);
	return rc;
}

int cli_verb_network_inspect(struct cli *c, struct cli_args *a)
{
	return cli_inspect_each(c, a, "networks");
}

int cli_verb_network_rm(struct cli *c, struct cli_args *a)
{
	int status = 0;
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *esc = cli_escape(a->pos[i]);
		cli_buf_add(&path, "/networks/%s", esc);
		free(esc);
		if (cli_call(c, "DELETE", path.s, NULL, NULL) == 0)
			printf("%s\n", a->pos[i]);
		else
			status = CLI_EXIT_FAIL;
		cli_buf_free(&path);
	}
	return status;
}

/* connect and disconnect: POST /networks/{id}/(dis)connect with the container. */
static int attach_request(struct cli *c, struct cli_args *a, const char *action, json_t *body)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(a->pos[0]);
	cli_buf_add(&path, "/networks/%s/%s", esc, action);
	free(esc);
	int status = cli_call(c, "POST", path.s, body, NULL);
	cli_buf_free(&path);
	json_decref(body);
	return status;
}

int cli_verb_network_connect(struct cli *c, struct cli_args *a)
{
	json_t *ep = json_object();
	const char *ip = cli_arg_str(a, "ip");
	if (ip && *ip)
		json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
	char *const *aliases = cli_arg_list(a, "alias");
	if (*aliases) {
		json_t *arr = json_array();
		for (; *aliases; aliases++)
			json_array_append_new(arr, json_string(*aliases));
		json_object_set_new(ep, "Aliases", arr);
	}
	return attach_request(c, a, "connect", json_pack("{s:s, s:o}", "Container", a->pos[1], "EndpointConfig", ep));
}

int cli_verb_network_disconnect(struct cli *c, struct cli_args *a)
{
	return attach_request(c, a, "disconnect",
			      json_pack("{s:s, s:b}", "Container", a->pos[1], "Force", cli_arg_bool(a, "force")));
}

int cli_verb_network_prune(struct cli *c, struct cli_args *a)
{
	if (!cli_arg_bool(a, "force") &&
	    !cli_confirm("WARNING! This will remove all custom networks not used by at least one container.\n"))
		return 0;
	json_t *doc;
	int status = cli_call(c, "POST", "/networks/prune", NULL, &doc);
	if (status)
		return status;
	json_t *deleted = json_object_get(doc, "NetworksDeleted");
	if (json_array_size(deleted)) {
		printf("Deleted Networks:\n");
		size_t i;
		json_t *v;
		json_array_foreach (deleted, i, v)
			printf("%s\n", json_string_value(v) ?: "");
	}
	json_decref(doc);
	return 0;
}
