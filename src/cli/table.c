/* Tab-separated lines aligned as docker's tables are (Go tabwriter: min width 10, padding 3). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

enum { PADDING = 3 };

/* Width on screen as tabwriter counts it: one per UTF-8 character. */
static size_t text_width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			w++;
	return w;
}

void cli_table_print(FILE *f, const char *text, size_t min_width)
{
	/* Column widths over every line: a cell is text ended by a tab; the last part is not aligned. */
	size_t *widths = NULL, ncols = 0;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		size_t col = 0;
		for (const char *p = line, *end = line + len; p < end; col++) {
			const char *tab = memchr(p, '\t', (size_t)(end - p));
			if (!tab)
				break;
			if (col >= ncols) {
				widths = realloc(widths, (col + 1) * sizeof *widths);
				if (!widths)
					abort();
				widths[col] = min_width;
				ncols = col + 1;
			}
			size_t w = text_width(p, (size_t)(tab - p)) + PADDING;
			if (w > widths[col])
				widths[col] = w;
			p = tab + 1;
		}
		line += len + (eol ? 1 : 0);
	}
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *p = line, *end = line + len;
		for (size_t col = 0; p < end; col++) {
			const char *tab = memchr(p, '\t', (size_t)(end - p));
			if (!tab) {
				fwrite(p, 1, (size_t)(end - p), f);
				break;
			}
			size_t w = text_width(p, (size_t)(tab - p));
			fwrite(p, 1, (size_t)(tab - p), f);
			for (size_t i = w; i < widths[col]; i++)
				fputc(' ', f);
			p = tab + 1;
		}
		fputc('\n', f);
		line += len + (eol ? 1 : 0);
	}
	free(widths);
}
