/* Docker's flag syntax: --flag=value, --flag value, -abc clusters, -tvalue, `--`, bools with =false. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_internal.h"
#include "lib/json.h"

static int flag_count(const struct cli_verb *verb)
{
	int n = 0;
	while (verb->flags && verb->flags[n].name)
		n++;
	return n;
}

static int flag_index(const struct cli_verb *verb, const char *name, size_t len)
{
	for (int i = 0; verb->flags && verb->flags[i].name; i++)
		if (strlen(verb->flags[i].name) == len && strncmp(verb->flags[i].name, name, len) == 0)
			return i;
	return -1;
}

static int short_index(const struct cli_verb *verb, char c)
{
	for (int i = 0; verb->flags && verb->flags[i].name; i++)
		if (verb->flags[i].shorthand == c)
			return i;
	return -1;
}

static void hint(const struct cli_verb *verb)
{
	fprintf(stderr, "See 'berth %s --help'.\n", verb->name);
}

int cli_usage_error(const struct cli_verb *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("berth: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	hint(verb);
	return CLI_EXIT_ENGINE;
}

/* "-t, --time" or "--rm": how docker names a flag in messages. */
static void flag_label(const struct cli_flag *f, char *out, size_t len)
{
	if (f->shorthand)
		snprintf(out, len, "-%c, --%s", f->shorthand, f->name);
	else
		snprintf(out, len, "--%s", f->name);
}

int cli_bad_flag_value(const struct cli_args *a, const char *name, const char *value, const char *why)
{
	int i = flag_index(a->verb, name, strlen(name));
	char label[96];
	if (i >= 0)
		flag_label(&a->verb->flags[i], label, sizeof label);
	else
		snprintf(label, sizeof label, "--%s", name);
	fprintf(stderr, "invalid argument \"%s\" for \"%s\" flag: %s\n", value, label, why);
	hint(a->verb);
	return CLI_EXIT_ENGINE;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(v, yes[i]) == 0)
			return (*out = true);
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool is_integer(const char *v)
{
	if (*v == '-' || *v == '+')
		v++;
	if (!*v)
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

static int strv_push(char ***v, const char *s)
{
	size_t n = b_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof *nv);
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[n] = strdup(s)))
		return -1;
	nv[n + 1] = NULL;
	return 0;
}

/* Record one value of flag i, checking its kind; prints the error itself. */
static int set_value(struct cli_args *a, int i, const char *value)
{
	const struct cli_flag *f = &a->verb->flags[i];
	char label[96];
	flag_label(f, label, sizeof label);
	if (f->kind == CLI_BOOL) {
		bool b;
		if (!parse_bool(value, &b)) {
			fprintf(stderr,
				"invalid argument \"%s\" for \"%s\" flag: strconv.ParseBool: parsing \"%s\": "
				"invalid syntax\n",
				value, label, value);
			hint(a->verb);
			return -1;
		}
		value = b ? "true" : "false";
	} else if (f->kind == CLI_INT && !is_integer(value)) {
		fprintf(stderr,
			"invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax\n",
			value, label, value);
		hint(a->verb);
		return -1;
	}
	if (f->kind != CLI_LIST && a->values[i]) {
		b_strv_free(a->values[i]);
		a->values[i] = NULL;
	}
	if (strv_push(&a->values[i], value) < 0) {
		fprintf(stderr, "berth: out of memory\n");
		return -1;
	}
	return 0;
}

static bool wants_help_short(const struct cli_verb *verb)
{
	return short_index(verb, 'h') < 0;
}

int cli_args_parse(const struct cli_verb *verb, int argc, char **argv, struct cli_args *out)
{
	memset(out, 0, sizeof *out);
	out->verb = verb;
	int nflags = flag_count(verb);
	out->values = calloc((size_t)nflags + 1, sizeof *out->values);
	out->pos = calloc((size_t)argc + 1, sizeof *out->pos);
	if (!out->values || !out->pos) {
		fprintf(stderr, "berth: out of memory\n");
		return -1;
	}
	bool flags_done = false;
	for (int k = 0; k < argc; k++) {
		char *arg = argv[k];
		if (flags_done || arg[0] != '-' || arg[1] == '\0') {
			out->pos[out->npos++] = arg;
			if (!verb->interspersed)
				flags_done = true;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			flags_done = true;
			continue;
		}
		if (arg[1] == '-') {
			const char *name = arg + 2;
			const char *eq = strchr(name, '=');
			size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
			if (nlen == 4 && strncmp(name, "help", 4) == 0) {
				cli_help_verb(stdout, verb);
				return 1;
			}
			int i = flag_index(verb, name, nlen);
			if (i < 0) {
				fprintf(stderr, "unknown flag: --%.*s\n", (int)nlen, name);
				hint(verb);
				return -1;
			}
			const char *value;
			if (eq)
				value = eq + 1;
			else if (verb->flags[i].kind == CLI_BOOL)
				value = "true";
			else if (k + 1 < argc)
				value = argv[++k];
			else {
				fprintf(stderr, "flag needs an argument: --%s\n", verb->flags[i].name);
				hint(verb);
				return -1;
			}
			if (set_value(out, i, value) < 0)
				return -1;
			continue;
		}
		/* A cluster of shorthands: -dit, -e FOO, -eFOO, -d=false. */
		for (const char *p = arg + 1; *p; p++) {
			if (*p == 'h' && wants_help_short(verb)) {
				cli_help_verb(stdout, verb);
				return 1;
			}
			int i = short_index(verb, *p);
			if (i < 0) {
				fprintf(stderr, "unknown shorthand flag: '%c' in %s\n", *p, arg);
				hint(verb);
				return -1;
			}
			const char *value;
			if (p[1] == '=') {
				value = p + 2;
			} else if (verb->flags[i].kind == CLI_BOOL) {
				if (set_value(out, i, "true") < 0)
					return -1;
				continue;
			} else if (p[1]) {
				value = p + 1;
			} else if (k + 1 < argc) {
				value = argv[++k];
			} else {
				fprintf(stderr, "flag needs an argument: '%c' in -%c\n", *p, *p);
				hint(verb);
				return -1;
			}
			if (set_value(out, i, value) < 0)
				return -1;
			break;
		}
	}
	out->pos[out->npos] = NULL;
	if ((int)out->npos < verb->min_args) {
		if (verb->min_args == verb->max_args)
			cli_usage_error(verb, "'berth %s' requires exactly %d argument%s", verb->name, verb->min_args,
					verb->min_args == 1 ? "" : "s");
		else
			cli_usage_error(verb, "'berth %s' requires at least %d argument%s", verb->name, verb->min_args,
					verb->min_args == 1 ? "" : "s");
		return -1;
	}
	if (verb->max_args >= 0 && (int)out->npos > verb->max_args) {
		if (verb->max_args == 0)
			cli_usage_error(verb, "'berth %s' accepts no arguments", verb->name);
		else if (verb->max_args == verb->min_args)
			cli_usage_error(verb, "'berth %s' requires exactly %d argument%s", verb->name, verb->max_args,
					verb->max_args == 1 ? "" : "s");
		else
			cli_usage_error(verb, "'berth %s' requires at most %d arguments", verb->name, verb->max_args);
		return -1;
	}
	return 0;
}

void cli_args_free(struct cli_args *a)
{
	if (a->values) {
		int n = flag_count(a->verb);
		for (int i = 0; i < n; i++)
			b_strv_free(a->values[i]);
		free(a->values);
	}
	free(a->pos);
	memset(a, 0, sizeof *a);
}

static int index_of(const struct cli_args *a, const char *name)
{
	int i = flag_index(a->verb, name, strlen(name));
	if (i < 0) {
		/* A verb asking for a flag it does not declare is a bug of ours. */
		fprintf(stderr, "berth: internal error: verb %s has no flag --%s\n", a->verb->name, name);
		abort();
	}
	return i;
}

bool cli_arg_given(const struct cli_args *a, const char *name)
{
	return a->values[index_of(a, name)] != NULL;
}

bool cli_arg_bool(const struct cli_args *a, const char *name)
{
	int i = index_of(a, name);
	const char *v = a->values[i] ? a->values[i][b_strv_len(a->values[i]) - 1] : a->verb->flags[i].dflt;
	return v && strcmp(v, "true") == 0;
}

const char *cli_arg_str(const struct cli_args *a, const char *name)
{
	int i = index_of(a, name);
	if (a->values[i])
		return a->values[i][b_strv_len(a->values[i]) - 1];
	return a->verb->flags[i].dflt;
}

char *const *cli_arg_list(const struct cli_args *a, const char *name)
{
	static char *const empty[] = {NULL};
	int i = index_of(a, name);
	return a->values[i] ? a->values[i] : empty;
}
