/* berth completion bash: a bash completion script made from the command table, so it never drifts. */
#include <string.h>

#include "cli/cli_internal.h"

static void flag_words(const struct cli_verb *v)
{
	for (const struct cli_flag *f = v->flags; f && f->name; f++) {
		printf(" --%s", f->name);
		if (f->shorthand)
			printf(" -%c", f->shorthand);
	}
	printf(" --help");
}

/* The flags that take a value: their next word is not completed as a name. */
static void value_flags(const struct cli_verb *v)
{
	for (const struct cli_flag *f = v->flags; f && f->name; f++) {
		if (f->kind == CLI_BOOL)
			continue;
		printf("|--%s", f->name);
		if (f->shorthand)
			printf("|-%c", f->shorthand);
	}
}

/* What a verb's arguments name: containers, images, volumes, or nothing we can list. */
static const char *argument_kind(const char *name)
{
	static const char *const images[] = {"run", "create", "save", "tag", "rmi", "history", "images"};
	static const char *const none[] = {"load", "version", "info", "ps", "completion"};
	for (size_t i = 0; i < sizeof images / sizeof *images; i++)
		if (strcmp(name, images[i]) == 0)
			return "images";
	for (size_t i = 0; i < sizeof none / sizeof *none; i++)
		if (strcmp(name, none[i]) == 0)
			return "none";
	if (strncmp(name, "system ", 7) == 0 || strcmp(name, "events") == 0)
		return "none";
	if (strncmp(name, "volume ", 7) == 0)
		return strcmp(name, "volume create") == 0 || strcmp(name, "volume ls") == 0 ||
			       strcmp(name, "volume prune") == 0
			   ? "none"
			   : "volumes";
	return "containers";
}

static void verb_case(const struct cli_verb *v, const char *pattern)
{
	printf("\t%s)\n\t\tcase \"$prev\" in\n\t\t-H|--host", pattern);
	value_flags(v);
	printf(") return ;;\n\t\tesac\n");
	printf("\t\tif [[ $cur == -* ]]; then\n\t\t\tCOMPREPLY=($(compgen -W \"");
	flag_words(v);
	printf("\" -- \"$cur\"))\n\t\telse\n\t\t\t_berth_names %s\n\t\tfi ;;\n", argument_kind(v->name));
}

int cli_verb_completion(struct cli *c, struct cli_args *a)
{
	if (strcmp(a->pos[0], "bash") != 0) {
		fprintf(stderr, "berth: completion for '%s' is not supported: only bash\n", a->pos[0]);
		return CLI_EXIT_ENGINE;
	}
	printf("# bash completion for berth (berth completion bash > /etc/bash_completion.d/berth)\n");
	/* A named host: completing a word must never start a daemon. */
	printf("_berth_names() {\n"
	       "\tlocal h=${BERTH_HOST:-${DOCKER_HOST:-unix:///run/berth/berth.sock}}\n"
	       "\tcase \"$1\" in\n"
	       "\tcontainers) COMPREPLY=($(compgen -W \"$(berth -H \"$h\" ps -a --format '{{.Names}}' 2>/dev/null)\" "
	       "-- \"$cur\")) ;;\n"
	       "\timages) COMPREPLY=($(compgen -W \"$(berth -H \"$h\" images --format '{{.Repository}}:{{.Tag}}' "
	       "2>/dev/null)\" -- \"$cur\")) ;;\n"
	       "\tvolumes) COMPREPLY=($(compgen -W \"$(berth -H \"$h\" volume ls -q 2>/dev/null)\" -- \"$cur\")) "
	       ";;\n"
	       "\tesac\n"
	       "}\n\n");
	printf("_berth() {\n"
	       "\tlocal cur prev verb i\n"
	       "\tcur=${COMP_WORDS[COMP_CWORD]}\n"
	       "\tprev=${COMP_WORDS[COMP_CWORD-1]}\n"
	       "\tverb=\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tcase \"${COMP_WORDS[i]}\" in\n"
	       "\t\t-H|--host) ((i++)) ;;\n"
	       "\t\t-*) ;;\n"
	       "\t\tvolume|system) verb=\"${COMP_WORDS[i]} ${COMP_WORDS[i+1]}\"; "
	       "[[ $((i + 1)) -lt $COMP_CWORD ]] || verb=${COMP_WORDS[i]}; break ;;\n"
	       "\t\t*) verb=${COMP_WORDS[i]}; break ;;\n"
	       "\t\tesac\n"
	       "\tdone\n"
	       "\tcase \"$verb\" in\n"
	       "\t\"\") COMPREPLY=($(compgen -W \"");
	for (size_t i = 0; cli_verbs[i]; i++)
		if (cli_verbs[i]->run || cli_verbs[i]->group)
			printf(" %s", cli_verbs[i]->name);
	printf(" -H --host --help --version\" -- \"$cur\")) ;;\n");
	printf("\tvolume) COMPREPLY=($(compgen -W \"create inspect ls prune rm\" -- \"$cur\")) ;;\n");
	for (size_t i = 0; cli_verbs[i]; i++)
		if (cli_verbs[i]->run)
			verb_case(cli_verbs[i], cli_verbs[i]->name);
	printf("\tsystem) COMPREPLY=($(compgen -W \"");
	for (size_t i = 0; cli_system_verbs[i]; i++)
		printf(" %s", cli_system_verbs[i]->name + 7);
	printf("\" -- \"$cur\")) ;;\n");
	printf("\tnetwork) COMPREPLY=($(compgen -W \"");
	for (size_t i = 0; cli_network_verbs[i]; i++)
		printf(" %s", cli_network_verbs[i]->name + 8);
	printf("\" -- \"$cur\")) ;;\n");
	const struct cli_verb *const *groups[] = {cli_volume_verbs, cli_system_verbs, cli_network_verbs};
	for (size_t g = 0; g < 3; g++)
		for (size_t i = 0; groups[g][i]; i++) {
			struct cli_buf pat = {0};
			cli_buf_add(&pat, "\"%s\"", groups[g][i]->name);
			verb_case(groups[g][i], pat.s);
			cli_buf_free(&pat);
		}
	printf("\tesac\n}\ncomplete -F _berth berth\n");
	return 0;
}
