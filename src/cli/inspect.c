/* berth inspect: containers (then images) as a JSON array, or each through -f/--format. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* The object named, trying containers then images (or only --type's); NULL when none has it. */
static json_t *find_object(struct cli *c, const char *name, const char *type, int *status)
{
	static const char *const kinds[] = {"container", "image"};
	for (size_t i = 0; i < 2; i++) {
		if (type && *type && strcmp(type, kinds[i]) != 0)
			continue;
		struct cli_buf path = {0};
		char *esc = i == 0 ? cli_escape(name) : strdup(name);
		cli_buf_add(&path, "/%ss/%s/json", kinds[i], esc);
		free(esc);
		struct cli_resp r;
		berr e = {0};
		int rc = cli_http(c, "GET", path.s, NULL, &r, &e);
		cli_buf_free(&path);
		if (rc < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			*status = -1;
			return NULL;
		}
		json_t *doc = r.status == 200 ? cli_resp_json(&r, &e) : NULL;
		berr_clear(&e);
		cli_resp_free(&r);
		if (doc)
			return doc;
	}
	return NULL;
}

int cli_verb_inspect(struct cli *c, struct cli_args *a)
{
	const char *format = cli_arg_str(a, "format");
	const char *type = cli_arg_str(a, "type");
	if (type && *type && strcmp(type, "container") != 0 && strcmp(type, "image") != 0) {
		fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
		return CLI_EXIT_FAIL;
	}
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
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	for (size_t i = 0; i < a->npos; i++) {
		int st = 0;
		json_t *doc = find_object(c, a->pos[i], type, &st);
		if (st < 0) {
			status = CLI_EXIT_FAIL;
			break;
		}
		if (!doc) {
			fflush(stdout);
			fprintf(stderr, "Error: No such object: %s\n", a->pos[i]);
			status = CLI_EXIT_FAIL;
			continue;
		}
		if (t) {
			size_t before = out.len;
			if (cli_template_exec(t, doc, &out, &e) < 0) {
				out.len = before;
				out.s[before] = '\0';
				fprintf(stderr, "%s\n", berr_msg(&e));
				berr_clear(&e);
				status = CLI_EXIT_FAIL;
			} else {
				cli_buf_add(&out, "\n");
			}
			json_decref(doc);
		} else {
			json_array_append_new(found, doc);
		}
	}
	if (t) {
		fputs(out.s, stdout);
	} else {
		char *text = json_dumps(found, JSON_INDENT(4));
		printf("%s\n", text ? text : "[]");
		free(text);
	}
	cli_buf_free(&out);
	cli_template_free(t);
	json_decref(found);
	return status;
}
