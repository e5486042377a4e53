/*
 * Progress of a long transfer (load, save) on a terminal, drawn as docker's progress bars are
 * ("Loading archive  [=====>     ]  12.3MB/45.6MB", the bar only on a terminal wider than 110
 * columns), redrawn in place and erased at the end; nothing at all when not on a terminal.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_internal.h"

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void draw(struct cli_progress *p)
{
	char done[32], total[32];
	cli_human_size_prec(p->done, 4, done, sizeof done);
	fprintf(p->out, "\r\033[2K%s  ", p->label);
	if (p->total > 0) {
		unsigned rows, cols;
		if (cli_term_size(&rows, &cols) && cols > 110) {
			int bars = (int)(p->done / p->total * 100) / 2;
			if (bars > 50)
				bars = 50;
			fprintf(p->out, "[%.*s>%*s] ", bars,
				"==================================================", 50 - bars, "");
		}
		cli_human_size_prec(p->total, 4, total, sizeof total);
		fprintf(p->out, "%8s/%s", done, total);
	} else {
		fprintf(p->out, "%8s", done);
	}
	fflush(p->out);
	p->drawn = true;
}

void cli_progress_start(struct cli_progress *p, const char *label, double total, FILE *out)
{
	*p = (struct cli_progress){.label = label, .total = total, .out = out, .on = isatty(fileno(out))};
	p->last_ms = now_ms() - 100; /* the first bytes draw the line */
}

void cli_progress_add(void *arg, size_t bytes)
{
	struct cli_progress *p = arg;
	p->done += (double)bytes;
	if (!p->on)
		return;
	long long t = now_ms();
	if (t - p->last_ms < 100)
		return;
	p->last_ms = t;
	draw(p);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->on && p->drawn) {
		fputs("\r\033[2K", p->out);
		fflush(p->out);
	}
}
