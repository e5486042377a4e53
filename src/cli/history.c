/* berth history: GET /images/{name}/history as docker's table. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_internal.h"

#define HISTORY_TABLE "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

int cli_verb_history(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/images/");
	/* References keep their slashes and colons in the path, as berthd's routes read them. */
	for (const unsigned char *p = (const unsigned char *)a->pos[0]; *p; p++)
		cli_buf_add(&path,
			    strchr("/:@._-", *p) || (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z')
				? "%c"
				: "%%%02X",
			    *p);
	cli_buf_add(&path, "/history");
	json_t *doc = cli_get_json(c, path.s);
	cli_buf_free(&path);
	if (!doc)
		return CLI_EXIT_FAIL;
	bool trunc = !cli_arg_bool(a, "no-trunc"), human = cli_arg_bool(a, "human");
	json_t *rows = json_array();
	size_t i;
	json_t *h;
	json_array_foreach (doc, i, h) {
		const char *id = json_string_value(json_object_get(h, "Id")) ?: "<missing>";
		if (trunc && strncmp(id, "sha256:", 7) == 0)
			id += 7;
		char short_id[13];
		snprintf(short_id, sizeof short_id, "%s", id);
		time_t created = (time_t)json_integer_value(json_object_get(h, "Created"));
		char dur[64], ago[96], size[32], when[64];
		cli_human_duration((int64_t)(time(NULL) - created), dur, sizeof dur);
		/* An image that does not say when a step ran shows N/A, as docker's history does. */
		snprintf(ago, sizeof ago, created ? "%s ago" : "N/A", dur);
		struct tm tm;
		localtime_r(&created, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", &tm);
		json_int_t bytes = json_integer_value(json_object_get(h, "Size"));
		if (human)
			cli_human_size((double)bytes, size, sizeof size);
		else
			snprintf(size, sizeof size, "%lld", (long long)bytes);
		const char *by = json_string_value(json_object_get(h, "CreatedBy")) ?: "";
		struct cli_buf shown = {0};
		size_t n = strlen(by);
		if (trunc && n > 45)
			cli_buf_add(&shown, "%.44s…", by);
		else
			cli_buf_add(&shown, "%s", by);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
						      trunc && strcmp(id, "<missing>") ? short_id : id, "CreatedSince",
						      human ? ago : when, "CreatedAt", when, "CreatedBy", shown.s,
						      "Size", size, "Comment",
						      json_string_value(json_object_get(h, "Comment")) ?: ""));
		cli_buf_free(&shown);
	}
	json_decref(doc);
	json_t *header =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince", "CREATED", "CreatedAt",
		      "CREATED AT", "CreatedBy", "CREATED BY", "Size", "SIZE", "Comment", "COMMENT");
	const char *format = cli_arg_bool(a, "quiet") ? "{{.ID}}" : cli_arg_str(a, "format");
	int rc = cli_print_rows(rows, format, HISTORY_TABLE, header);
	json_decref(header);
	json_decref(rows);
	return rc;
}
