/*
 * The prune verbs' common part, docker's confirmation prompt, and `berth system prune`,
 * `container prune` and `image prune`. `system prune` removes stopped containers, unused
 * networks, (with --volumes) unused anonymous volumes, and dangling images (all unused ones with
 * -a), after the prompt unless -f; then what each prune deleted and docker's "Total reclaimed
 * space" line.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_internal.h"

bool cli_confirm(const char *warning)
{
	printf("%sAre you sure you want to continue? [y/N] ", warning);
	fflush(stdout);
	char line[64] = "";
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	char *answer = line + strspn(line, " \t");
	answer[strcspn(answer, " \t\r\n")] = '\0';
	return strcasecmp(answer, "y") == 0;
}

/* POST one prune; its reply's JSON, or NULL after printing the error. */
static json_t *prune(struct cli *c, const char *what, const char *filters)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/%s/prune", what);
	if (filters)
		cli_buf_query(&path, "filters", filters);
	struct cli_resp r;
	berr e = {0};
	json_t *doc = NULL;
	if (cli_http(c, "POST", path.s, NULL, &r, &e) < 0)
		cli_print_connect_error(c, "", &e);
	else if (r.status >= 300)
		cli_print_daemon_error("", &r);
	else if (!(doc = cli_resp_json(&r, &e)))
		fprintf(stderr, "%s\n", berr_msg(&e));
	berr_clear(&e);
	cli_resp_free(&r);
	cli_buf_free(&path);
	return doc;
}

/* "Deleted Containers:\nID\n...\n" and a blank line, as docker prints each part's report. */
static void print_deleted(json_t *doc, const char *key, const char *title)
{
	json_t *list = json_object_get(doc, key), *v;
	size_t i;
	if (!json_array_size(list))
		return;
	printf("%s:\n", title);
	json_array_foreach (list, i, v) {
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else {
			const char *untagged = json_string_value(json_object_get(v, "Untagged"));
			const char *deleted = json_string_value(json_object_get(v, "Deleted"));
			if (untagged)
				printf("untagged: %s\n", untagged);
			if (deleted)
				printf("deleted: %s\n", deleted);
		}
	}
	printf("\n");
}

/* The filters with one more key=value (dangling=...), as JSON. */
static char *with_filter(const char *filters, const char *key, const char *value)
{
	json_t *f = filters ? json_loads(filters, 0, NULL) : json_object();
	json_t *vals = json_object();
	json_object_set_new(vals, value, json_true());
	json_object_set_new(f, key, vals);
	char *out = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	return out;
}

static bool confirmed(bool all, bool volumes, char *const *filters)
{
	struct cli_buf w = {0};
	cli_buf_add(&w,
		    "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one "
		    "container\n");
	if (volumes)
		cli_buf_add(&w, "  - all anonymous volumes not used by at least one container\n");
	cli_buf_add(&w, "%s",
		    all ? "  - all images without at least one container associated to them\n"
			: "  - all dangling images\n");
	cli_buf_add(&w, "%s", all ? "  - all build cache\n" : "  - unused build cache\n");
	if (*filters) {
		cli_buf_add(&w, "\n  Items to be pruned will be filtered with:\n");
		for (; *filters; filters++)
			cli_buf_add(&w, "  - %s\n", *filters);
	}
	cli_buf_add(&w, "\n");
	bool yes = cli_confirm(w.s);
	cli_buf_free(&w);
	return yes;
}

int cli_verb_system_prune(struct cli *c, struct cli_args *a)
{
	bool all = cli_arg_bool(a, "all"), volumes = cli_arg_bool(a, "volumes");
	char *filters = NULL;
	int rc = cli_filters_json(a, &filters);
	if (rc)
		return rc;
	for (char *const *f = cli_arg_list(a, "filter"); volumes && *f; f++)
		if (strncmp(*f, "until=", 6) == 0) {
			fprintf(stderr, "ERROR: The \"until\" filter is not supported with \"--volumes\"\n");
			free(filters);
			return CLI_EXIT_FAIL;
		}
	if (!cli_arg_bool(a, "force") && !confirmed(all, volumes, cli_arg_list(a, "filter"))) {
		free(filters);
		return 0;
	}
	json_int_t reclaimed = 0;
	int status = 0;
	json_t *doc;
	if ((doc = prune(c, "containers", filters))) {
		print_deleted(doc, "ContainersDeleted", "Deleted Containers");
		reclaimed += json_integer_value(json_object_get(doc, "SpaceReclaimed"));
		json_decref(doc);
	} else {
		status = CLI_EXIT_FAIL;
	}
	if (!status && (doc = prune(c, "networks", filters))) {
		print_deleted(doc, "NetworksDeleted", "Deleted Networks");
		json_decref(doc);
	} else {
		status = CLI_EXIT_FAIL;
	}
	if (!status && volumes) {
		if ((doc = prune(c, "volumes", filters))) {
			print_deleted(doc, "VolumesDeleted", "Deleted Volumes");
			reclaimed += json_integer_value(json_object_get(doc, "SpaceReclaimed"));
			json_decref(doc);
		} else {
			status = CLI_EXIT_FAIL;
		}
	}
	char *image_filters = with_filter(filters, "dangling", all ? "false" : "true");
	if (!status && (doc = prune(c, "images", image_filters))) {
		print_deleted(doc, "ImagesDeleted", "Deleted Images");
		reclaimed += json_integer_value(json_object_get(doc, "SpaceReclaimed"));
		json_decref(doc);
	} else {
		status = CLI_EXIT_FAIL;
	}
	free(image_filters);
	free(filters);
	if (status)
		return status;
	/* berthd builds nothing, so there is no build cache to prune. */
	char size[32];
	cli_human_size_prec((double)reclaimed, 4, size, sizeof size);
	printf("Total reclaimed space: %s\n", size);
	return 0;
}

/* One kind's prune as its own verb: the prompt unless -f, the report, the space reclaimed. */
static int prune_one(struct cli *c, struct cli_args *a, const char *what, const char *warning, const char *key,
		     const char *title, const char *dangling)
{
	char *filters = NULL;
	int rc = cli_filters_json(a, &filters);
	if (rc)
		return rc;
	if (!cli_arg_bool(a, "force") && !cli_confirm(warning)) {
		free(filters);
		return 0;
	}
	char *sent = dangling ? with_filter(filters, "dangling", dangling) : NULL;
	json_t *doc = prune(c, what, sent ? sent : filters);
	free(sent);
	free(filters);
	if (!doc)
		return CLI_EXIT_FAIL;
	print_deleted(doc, key, title);
	char size[32];
	cli_human_size_prec((double)json_integer_value(json_object_get(doc, "SpaceReclaimed")), 4, size, sizeof size);
	printf("Total reclaimed space: %s\n", size);
	json_decref(doc);
	return 0;
}

int cli_verb_container_prune(struct cli *c, struct cli_args *a)
{
	return prune_one(c, a, "containers", "WARNING! This will remove all stopped containers.\n", "ContainersDeleted",
			 "Deleted Containers", NULL);
}

int cli_verb_image_prune(struct cli *c, struct cli_args *a)
{
	bool all = cli_arg_bool(a, "all");
	return prune_one(c, a, "images",
			 all ? "WARNING! This will remove all images without at least one container associated to "
			       "them.\n"
			     : "WARNING! This will remove all dangling images.\n",
			 "ImagesDeleted", "Deleted Images", all ? "false" : "true");
}
