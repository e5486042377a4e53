/*
 * Docker's JSON progress lines (pull, push) shown as the docker CLI shows them: on a terminal one
 * line per layer, rewritten in place with a progress bar; elsewhere one plain line per change
 * of status, the byte counts left out.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* units.HumanSize: decimal units, four significant digits ("12.35MB", "512B"). */
static void human(double v, char *out, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	size_t i = 0;
	while (v >= 1000 && i + 1 < sizeof units / sizeof *units) {
		v /= 1000;
		i++;
	}
	snprintf(out, len, "%.4g%s", v, units[i]);
}

/* The bar and counts of a progressDetail; "" when it says nothing. */
static void bar(json_t *detail, unsigned width, struct cli_buf *out)
{
	json_int_t cur = json_integer_value(json_object_get(detail, "current"));
	json_int_t total = json_integer_value(json_object_get(detail, "total"));
	char a[32], b[32];
	if (cur <= 0 && total <= 0)
		return;
	if (total <= 0) {
		human((double)cur, a, sizeof a);
		cli_buf_add(out, "%8s", a);
		return;
	}
	int pct = (int)((double)cur / (double)total * 100) / 2;
	if (pct > 50)
		pct = 50;
	if (width > 110) {
		cli_buf_add(out, "[");
		for (int i = 0; i < pct; i++)
			cli_buf_add(out, "=");
		cli_buf_add(out, ">");
		for (int i = pct; i < 50; i++)
			cli_buf_add(out, " ");
		cli_buf_add(out, "] ");
	}
	if (cur <= total) {
		human((double)cur, a, sizeof a);
		human((double)total, b, sizeof b);
		cli_buf_add(out, "%8s/%s", a, b);
	}
}

void cli_pull_progress_init(struct cli_pull_progress *p, FILE *out, bool tty)
{
	memset(p, 0, sizeof *p);
	p->out = out;
	p->tty = tty;
	unsigned rows = 0, cols = 0;
	p->width = tty && cli_term_size(&rows, &cols) ? cols : 200;
}

static void forget_ids(struct cli_pull_progress *p)
{
	for (size_t i = 0; i < p->nids; i++)
		free(p->ids[i]);
	free(p->ids);
	p->ids = NULL;
	p->nids = 0;
}

void cli_pull_progress_free(struct cli_pull_progress *p)
{
	forget_ids(p);
	free(p->partial.s);
	free(p->error);
	memset(p, 0, sizeof *p);
}

/* One message; an error is kept for the caller. */
static void show(struct cli_pull_progress *p, json_t *m)
{
	const char *err = json_string_value(json_object_get(m, "error"));
	if (err) {
		if (!p->error)
			p->error = strdup(err);
		return;
	}
	if (!p->out)
		return; /* quiet */
	if (json_object_get(m, "aux") && !json_object_get(m, "status"))
		return; /* for the caller's eyes only (push's digest), as the docker CLI does */
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *status = json_string_value(json_object_get(m, "status"));
	const char *stream = json_string_value(json_object_get(m, "stream"));
	json_t *detail = json_object_get(m, "progressDetail");
	struct cli_buf counts = {0};
	bar(detail, p->width, &counts);
	FILE *f = p->out;
	if (!p->tty) {
		if (detail && counts.len) {
			cli_buf_free(&counts);
			return; /* no progress bars off a terminal */
		}
		if (id)
			fprintf(f, "%s: ", id);
		fprintf(f, "%s\n", stream ? stream : status ? status : "");
		cli_buf_free(&counts);
		return;
	}
	size_t diff = 0;
	if (id && detail) {
		size_t line = p->nids;
		for (size_t i = 0; i < p->nids; i++)
			if (strcmp(p->ids[i], id) == 0)
				line = i;
		if (line == p->nids) {
			char **v = realloc(p->ids, (p->nids + 1) * sizeof *v);
			if (v) {
				p->ids = v;
				p->ids[p->nids++] = strdup(id);
			}
			fputc('\n', f);
		}
		diff = p->nids - line;
		if (diff)
			fprintf(f, "\033[%zuA", diff);
	} else {
		forget_ids(p);
	}
	if (detail && !stream)
		fputs("\033[2K\r", f);
	if (id)
		fprintf(f, "%s: ", id);
	if (stream)
		fputs(stream, f);
	else if (detail)
		fprintf(f, "%s %s\r", status ? status : "", counts.s ? counts.s : "");
	else
		fprintf(f, "%s\n", status ? status : "");
	if (id && diff)
		fprintf(f, "\033[%zuB", diff);
	fflush(f);
	cli_buf_free(&counts);
}

int cli_pull_progress_feed(void *arg, const char *buf, size_t len)
{
	struct cli_pull_progress *p = arg;
	cli_buf_add(&p->partial, "%.*s", (int)len, buf);
	char *start = p->partial.s, *nl;
	while ((nl = strchr(start, '\n'))) {
		json_t *m = json_loadb(start, (size_t)(nl - start), 0, NULL);
		if (m)
			show(p, m);
		json_decref(m);
		start = nl + 1;
	}
	size_t rest = strlen(start);
	memmove(p->partial.s, start, rest + 1);
	p->partial.len = rest;
	return 0;
}
