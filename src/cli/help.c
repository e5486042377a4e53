/* --help pages: berth's and each verb's, laid out as docker's. */
#include <string.h>

#include "cli/cli_internal.h"

void cli_help_verb(FILE *f, const struct cli_verb *verb)
{
	fprintf(f, "\nUsage:  berth %s %s\n\n%s\n", verb->name, verb->usage, verb->summary);
	if (verb->aliases && verb->aliases[0]) {
		fprintf(f, "\nAliases:\n  ");
		for (size_t i = 0; verb->aliases[i]; i++)
			fprintf(f, "%s%s", i ? ", " : "", verb->aliases[i]);
		fprintf(f, "\n");
	}
	if (!verb->run) {
		fprintf(f, "\nThis command is not supported yet by berth.\n");
		return;
	}
	size_t width = 0;
	for (const struct cli_flag *fl = verb->flags; fl && fl->name; fl++) {
		size_t w = 6 + strlen(fl->name) + (fl->type_name ? 1 + strlen(fl->type_name) : 0);
		if (w > width)
			width = w;
	}
	if (width < 12)
		width = 12;
	fprintf(f, "\nOptions:\n");
	for (const struct cli_flag *fl = verb->flags; fl && fl->name; fl++) {
		char left[128];
		if (fl->shorthand)
			snprintf(left, sizeof left, "-%c, --%s%s%s", fl->shorthand, fl->name, fl->type_name ? " " : "",
				 fl->type_name ? fl->type_name : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", fl->name, fl->type_name ? " " : "",
				 fl->type_name ? fl->type_name : "");
		fprintf(f, "  %-*s   %s", (int)width, left, fl->help);
		if (fl->dflt && fl->kind != CLI_BOOL && *fl->dflt)
			fprintf(f, " (default %s)", fl->dflt);
		else if (fl->dflt && fl->kind == CLI_BOOL && strcmp(fl->dflt, "true") == 0)
			fprintf(f, " (default true)");
		fprintf(f, "\n");
	}
	fprintf(f, "      --%-*s   Print usage\n", (int)width - 6, "help");
}

void cli_help_main(FILE *f)
{
	fprintf(f, "\nUsage:  berth [OPTIONS] COMMAND\n\n"
		   "Run and manage containers on berthd, with docker's commands and flags\n\n"
		   "Options:\n"
		   "  -H, --host string   Daemon socket to connect to (default unix:///run/berth/berth.sock,\n"
		   "                      or $BERTH_HOST, or $DOCKER_HOST)\n"
		   "  -v, --version       Print version information and quit\n"
		   "  -h, --help          Print usage\n\n"
		   "Commands:\n");
	for (size_t i = 0; cli_verbs[i]; i++)
		if (cli_verbs[i]->run || cli_verbs[i]->group)
			fprintf(f, "  %-10s  %s\n", cli_verbs[i]->name, cli_verbs[i]->summary);
	fprintf(f, "\nNot supported yet:\n ");
	size_t col = 1;
	for (size_t i = 0; cli_verbs[i]; i++) {
		if (cli_verbs[i]->run || cli_verbs[i]->group)
			continue;
		size_t n = strlen(cli_verbs[i]->name) + 1;
		if (col + n > 78) {
			fprintf(f, "\n ");
			col = 1;
		}
		fprintf(f, " %s", cli_verbs[i]->name);
		col += n;
	}
	fprintf(f, "\n\nRun 'berth COMMAND --help' for more information on a command.\n");
}
