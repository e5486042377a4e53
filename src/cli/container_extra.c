/* Container verbs that read one thing from berthd: top, diff, rename, export. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

static char *container_path(const char *id, const char *suffix)
{
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/containers/%s%s", esc, suffix);
	free(esc);
	return path.s;
}

int cli_verb_top(struct cli *c, struct cli_args *a)
{
	char *path = container_path(a->pos[0], "/top");
	struct cli_buf p = {.s = path, .len = strlen(path), .cap = strlen(path) + 1};
	if (a->npos > 1) {
		struct cli_buf args = {0};
		for (size_t i = 1; i < a->npos; i++)
			cli_buf_add(&args, "%s%s", i > 1 ? " " : "", a->pos[i]);
		cli_buf_query(&p, "ps_args", args.s);
		cli_buf_free(&args);
	}
	json_t *doc = cli_get_json(c, p.s);
	cli_buf_free(&p);
	if (!doc)
		return CLI_EXIT_FAIL;
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	size_t i, j;
	json_t *v, *row;
	json_array_foreach (json_object_get(doc, "Titles"), i, v)
		cli_buf_add(&out, "%s%s", i ? "\t" : "", json_string_value(v) ?: "");
	cli_buf_add(&out, "\n");
	json_array_foreach (json_object_get(doc, "Processes"), i, row) {
		json_array_foreach (row, j, v)
			cli_buf_add(&out, "%s%s", j ? "\t" : "", json_string_value(v) ?: "");
		cli_buf_add(&out, "\n");
	}
	/* docker top's tabwriter: columns at least 20 wide. */
	cli_table_print(stdout, out.s, 20);
	cli_buf_free(&out);
	json_decref(doc);
	return 0;
}

int cli_verb_diff(struct cli *c, struct cli_args *a)
{
	char *path = container_path(a->pos[0], "/changes");
	json_t *doc = cli_get_json(c, path);
	free(path);
	if (!doc)
		return CLI_EXIT_FAIL;
	size_t i;
	json_t *ch;
	json_array_foreach (doc, i, ch) {
		json_int_t kind = json_integer_value(json_object_get(ch, "Kind"));
		printf("%c %s\n",
		       kind == 1   ? 'A'
		       : kind == 2 ? 'D'
				   : 'C',
		       json_string_value(json_object_get(ch, "Path")) ?: "");
	}
	json_decref(doc);
	return 0;
}

int cli_verb_rename(struct cli *c, struct cli_args *a)
{
	char *path = container_path(a->pos[0], "/rename");
	struct cli_buf p = {.s = path, .len = strlen(path), .cap = strlen(path) + 1};
	cli_buf_query(&p, "name", a->pos[1]);
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http(c, "POST", p.s, NULL, &r, &e);
	cli_buf_free(&p);
	int status = 0;
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		status = CLI_EXIT_FAIL;
	} else if (r.status >= 300) {
		cli_print_daemon_error("", &r);
		status = CLI_EXIT_FAIL;
	}
	berr_clear(&e);
	cli_resp_free(&r);
	return status;
}

int cli_verb_export(struct cli *c, struct cli_args *a)
{
	char *path = container_path(a->pos[0], "/export");
	int status = cli_download(c, path, cli_arg_str(a, "output"), "export container");
	free(path);
	return status;
}
