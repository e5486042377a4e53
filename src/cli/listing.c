/* Lists (ps, images) printed by a Go template: docker's default tables or the user's --format. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

int cli_print_rows(json_t *rows, const char *format, const char *dflt, json_t *header)
{
	return cli_print_rows_to(stdout, rows, format, dflt, header);
}

int cli_print_rows_to(FILE *f, json_t *rows, const char *format, const char *dflt, json_t *header)
{
	if (!format || !*format || strcmp(format, "table") == 0)
		format = dflt;
	bool table;
	char *text = cli_format_prepare(format, &table);
	berr e = {0};
	struct cli_template *t = cli_template_parse(text, &e);
	free(text);
	if (!t) {
		fprintf(stderr, "template parsing error: %s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	struct cli_buf out = {0};
	cli_buf_add(&out, "%s", "");
	int rc = 0;
	if (table && cli_template_exec(t, header, &out, &e) == 0)
		cli_buf_add(&out, "\n");
	size_t i;
	json_t *row;
	json_array_foreach (rows, i, row) {
		if (rc == 0 && cli_template_exec(t, row, &out, &e) < 0) {
			rc = CLI_EXIT_ENGINE;
			break;
		}
		cli_buf_add(&out, "\n");
	}
	cli_template_free(t);
	if (rc) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		cli_buf_free(&out);
		return rc;
	}
	berr_clear(&e);
	if (table)
		cli_table_print(f, out.s, 10);
	else
		fputs(out.s, f);
	cli_buf_free(&out);
	return 0;
}
