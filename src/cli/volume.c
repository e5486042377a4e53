/* berth volume create|ls|inspect|rm|prune over berthd's /volumes routes, and what the object verbs share. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_internal.h"

int cli_call(struct cli *c, const char *method, const char *path, json_t *body, json_t **out)
{
	struct cli_resp r;
	berr e = {0};
	int status = 0;
	if (out)
		*out = NULL;
	if (cli_http(c, method, path, body, &r, &e) < 0) {
		cli_print_connect_error(c, "", &e);
		status = CLI_EXIT_FAIL;
	} else if (r.status >= 300) {
		cli_print_daemon_error("", &r);
		status = CLI_EXIT_FAIL;
	} else if (out && !(*out = cli_resp_json(&r, &e))) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		status = CLI_EXIT_FAIL;
	}
	berr_clear(&e);
	cli_resp_free(&r);
	return status;
}

json_t *cli_key_values(char *const *list)
{
	json_t *map = json_object();
	for (; *list; list++) {
		const char *eq = strchr(*list, '=');
		char *k = strndup(*list, eq ? (size_t)(eq - *list) : strlen(*list));
		json_object_set_new(map, k, json_string(eq ? eq + 1 : ""));
		free(k);
	}
	return map;
}

int cli_verb_volume_create(struct cli *c, struct cli_args *a)
{
	const char *name = a->npos ? a->pos[0] : cli_arg_str(a, "name");
	if (a->npos && cli_arg_str(a, "name") && strcmp(cli_arg_str(a, "name"), a->pos[0]) != 0)
		return cli_usage_error(a->verb, "conflicting options: either specify --name or provide positional arg, "
						"not both");
	json_t *body =
	    json_pack("{s:s, s:o, s:o}", "Driver", cli_arg_str(a, "driver") ?: "local", "DriverOpts",
		      cli_key_values(cli_arg_list(a, "opt")), "Labels", cli_key_values(cli_arg_list(a, "label")));
	if (name)
		json_object_set_new(body, "Name", json_string(name));
	json_t *vol;
	int status = cli_call(c, "POST", "/volumes/create", body, &vol);
	json_decref(body);
	if (status == 0)
		printf("%s\n", json_string_value(json_object_get(vol, "Name")) ?: "");
	json_decref(vol);
	return status;
}

int cli_verb_volume_ls(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/volumes");
	char *const *filters = cli_arg_list(a, "filter");
	if (*filters) {
		json_t *f = json_object();
		for (; *filters; filters++) {
			const char *eq = strchr(*filters, '=');
			if (!eq) {
				json_decref(f);
				cli_buf_free(&path);
				return cli_bad_flag_value(a, "filter", *filters,
							  "bad format of filter (expected name=value)");
			}
			char *k = strndup(*filters, (size_t)(eq - *filters));
			json_t *vals = json_object_get(f, k);
			if (!vals)
				json_object_set_new(f, k, vals = json_object());
			json_object_set_new(vals, eq + 1, json_true());
			free(k);
		}
		char *text = json_dumps(f, JSON_COMPACT);
		cli_buf_query(&path, "filters", text);
		free(text);
		json_decref(f);
	}
	json_t *doc = cli_get_json(c, path.s);
	cli_buf_free(&path);
	if (!doc)
		return CLI_EXIT_FAIL;
	json_t *rows = json_array();
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(doc, "Volumes"), i, v) {
		json_t *row = json_deep_copy(v);
		const char *k;
		json_t *val;
		struct cli_buf labels = {0};
		cli_buf_add(&labels, "%s", "");
		json_object_foreach (json_object_get(v, "Labels"), k, val)
			cli_buf_add(&labels, "%s%s=%s", labels.len ? "," : "", k, json_string_value(val) ?: "");
		json_object_set_new(row, "Labels", json_string(labels.s));
		cli_buf_free(&labels);
		json_array_append_new(rows, row);
	}
	json_decref(doc);
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Driver", "DRIVER", "Name", "VOLUME NAME", "Mountpoint",
				   "MOUNTPOINT", "Labels", "LABELS", "Scope", "SCOPE");
	const char *format = cli_arg_bool(a, "quiet") ? "{{.Name}}" : cli_arg_str(a, "format");
	int rc = cli_print_rows(rows, format, "table {{.Driver}}\t{{.Name}}", header);
	json_decref(header);
	json_decref(rows);
	return rc;
}

int cli_verb_volume_inspect(struct cli *c, struct cli_args *a)
{
	return cli_inspect_each(c, a, "volumes");
}

int cli_inspect_each(struct cli *c, struct cli_args *a, const char *collection)
{
	const char *format = cli_arg_str(a, "format");
	struct cli_template *t = NULL;
	berr e = {0};
	if (format && *format) {
		bool table;
		char *text = cli_format_prepare(format, &table);
		t = cli_template_parse(text, &e);
		free(text);
		if (!t) {
			fprintf(stderr, "template parsing error: %s\n", berr_msg(&e));
			berr_clear(&e);
			return CLI_EXIT_FAIL;
		}
	}
	int status = 0;
	json_t *found = json_array();
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *esc = cli_escape(a->pos[i]);
		cli_buf_add(&path, "/%s/%s", collection, esc);
		free(esc);
		json_t *v;
		if (cli_call(c, "GET", path.s, NULL, &v) != 0) {
			status = CLI_EXIT_FAIL;
		} else if (t) {
			struct cli_buf out = {0};
			if (cli_template_exec(t, v, &out, &e) < 0) {
				fprintf(stderr, "%s\n", berr_msg(&e));
				berr_clear(&e);
				status = CLI_EXIT_FAIL;
			} else {
				printf("%s\n", out.s);
			}
			cli_buf_free(&out);
			json_decref(v);
		} else {
			json_array_append_new(found, v);
		}
		cli_buf_free(&path);
	}
	if (!t) {
		char *text = json_dumps(found, JSON_INDENT(4));
		printf("%s\n", text ? text : "[]");
		free(text);
	}
	cli_template_free(t);
	json_decref(found);
	return status;
}

int cli_verb_volume_rm(struct cli *c, struct cli_args *a)
{
	int status = 0;
	for (size_t i = 0; i < a->npos; i++) {
		struct cli_buf path = {0};
		char *esc = cli_escape(a->pos[i]);
		cli_buf_add(&path, "/volumes/%s", esc);
		free(esc);
		if (cli_arg_bool(a, "force"))
			cli_buf_query(&path, "force", "1");
		if (cli_call(c, "DELETE", path.s, NULL, NULL) == 0)
			printf("%s\n", a->pos[i]);
		else
			status = CLI_EXIT_FAIL;
		cli_buf_free(&path);
	}
	return status;
}

int cli_verb_volume_prune(struct cli *c, struct cli_args *a)
{
	if (!cli_arg_bool(a, "force") &&
	    !cli_confirm("WARNING! This will remove anonymous local volumes not used by at least one container.\n"))
		return 0;
	struct cli_buf path = {0};
	cli_buf_add(&path, "/volumes/prune");
	if (cli_arg_bool(a, "all"))
		cli_buf_query(&path, "filters", "{\"all\":{\"true\":true}}");
	json_t *doc;
	int status = cli_call(c, "POST", path.s, NULL, &doc);
	cli_buf_free(&path);
	if (status)
		return status;
	json_t *deleted = json_object_get(doc, "VolumesDeleted");
	if (json_array_size(deleted)) {
		printf("Deleted Volumes:\n");
		size_t i;
		json_t *v;
		json_array_foreach (deleted, i, v)
			printf("%s\n", json_string_value(v) ?: "");
		printf("\n");
	}
	char size[32];
	cli_human_size((double)json_integer_value(json_object_get(doc, "SpaceReclaimed")), size, sizeof size);
	printf("Total reclaimed space: %s\n", size);
	json_decref(doc);
	return 0;
}
