/*
 * Dockerfile instructions applied to an image config, as `import --change` and `commit --change`
 * take them: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
 * WORKDIR, with Docker's word splitting and $VAR expansion. Each works on a scratch copy, so a bad
 * instruction leaves the config as it was.
 */
#include "image/config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/strbuf.h"

static int oom(berr *e)
{
	return berr_set(e, ENOMEM, "image config change");
}

#define VALID_CHANGES "CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR"
#define WS            " \t\r\n\v\f"
#define MIN_DURATION  1000000 /* 1ms, Docker's floor for healthcheck durations */

static bool is_ws(char c)
{
	return c && strchr(WS, c);
}

static const char *skip_ws(const char *s)
{
	while (is_ws(*s))
		s++;
	return s;
}

/* Append s (owned; freed on failure) to the NULL-terminated *v. */
static int strv_push(char ***v, char *s)
{
	if (!s)
		return -1;
	size_t n = b_strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof *nv);
	if (!nv) {
		free(s);
		return -1;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

static bool strv_has(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* Replace *slot by v (owned). */
static void strv_replace(char ***slot, char **v)
{
	b_strv_free(*slot);
	*slot = v;
}

static void str_replace(char **slot, char *s)
{
	free(*slot);
	*slot = s;
}

/* Whitespace-separated words, nothing else interpreted. */
static int split_ws(const char *s, char ***out)
{
	char **v = calloc(1, sizeof *v);
	if (!v)
		return -1;
	for (s = skip_ws(s); *s; s = skip_ws(s)) {
		size_t n = strcspn(s, WS);
		if (strv_push(&v, strndup(s, n)) < 0) {
			b_strv_free(v);
			return -1;
		}
		s += n;
	}
	*out = v;
	return 0;
}

/*
 * The word splitting of ENV and LABEL (Docker's parseWords): words end at blanks outside
 * quotes; quotes and backslashes stay in the words (the expansion removes them later).
 */
static int split_words(const char *s, char ***out)
{
	enum { IN_SPACES, IN_WORD, IN_QUOTE } phase = IN_SPACES;
	char **v = calloc(1, sizeof *v);
	if (!v)
		return -1;
	struct b_strbuf w = {0};
	bool blank_ok = false;
	char quote = 0;
	for (size_t i = 0;; i++) {
		char c = s[i];
		if (phase == IN_SPACES) {
			if (!c)
				break;
			if (is_ws(c))
				continue;
			phase = IN_WORD;
		}
		if (!c) {
			if ((blank_ok || w.len) && strv_push(&v, b_strbuf_steal(&w)) < 0)
				goto fail;
			break;
		}
		if (phase == IN_WORD) {
			if (is_ws(c)) {
				phase = IN_SPACES;
				if ((blank_ok || w.len) && strv_push(&v, b_strbuf_steal(&w)) < 0)
					goto fail;
				blank_ok = false;
				continue;
			}
			if (c == '\'' || c == '"') {
				quote = c;
				blank_ok = true;
				phase = IN_QUOTE;
			} else if (c == '\\') {
				if (!s[i + 1])
					continue; /* a lone escape at the end is dropped */
				b_strbuf_putc(&w, c);
				c = s[++i];
			}
			b_strbuf_putc(&w, c);
			continue;
		}
		/* IN_QUOTE */
		if (c == quote) {
			phase = IN_WORD;
		} else if (c == '\\' && quote != '\'') {
			if (!s[i + 1]) {
				phase = IN_WORD;
				continue;
			}
			b_strbuf_putc(&w, c);
			c = s[++i];
		}
		b_strbuf_putc(&w, c);
	}
	free(w.p);
	*out = v;
	return 0;
fail:
	free(w.p);
	b_strv_free(v);
	return -1;
}

/* ---- word expansion (Docker's shell lexer: quotes, escapes, $VAR, ${VAR...}) ---- */

struct lex {
	const char *s;
	size_t i;
	char *const *env;
	berr *e;
};

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The value of name in env ("K=V" entries, the last one wins), or NULL when unset. */
static const char *env_lookup(char *const *env, const char *name, size_t n)
{
	const char *found = NULL;
	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			found = env[i] + n + 1;
	return found;
}

static int lex_word(struct lex *l, char stop, struct b_strbuf *out);

static int lex_dollar(struct lex *l, struct b_strbuf *out)
{
	const char *s = l->s;
	l->i++; /* '$' */
	if (s[l->i] != '{') {
		size_t start = l->i;
		while (is_name_char(s[l->i]))
			l->i++;
		if (l->i == start) {
			b_strbuf_putc(out, '$');
			return 0;
		}
		const char *v = env_lookup(l->env, s + start, l->i - start);
		if (v)
			b_strbuf_puts(out, v);
		return 0;
	}
	l->i++;
	size_t start = l->i;
	while (is_name_char(s[l->i]))
		l->i++;
	size_t n = l->i - start;
	if (!n)
		return berr_invalid(l->e, "bad substitution in \"%s\"", s);
	const char *v = env_lookup(l->env, s + start, n);
	char mod = s[l->i];
	if (mod == '}') {
		l->i++;
		if (v)
			b_strbuf_puts(out, v);
		return 0;
	}
	bool colon = mod == ':';
	if (colon)
		mod = s[++l->i];
	if (!mod)
		return berr_invalid(l->e, "missing '}' in substitution in \"%s\"", s);
	if (mod != '-' && mod != '+' && mod != '?')
		return berr_invalid(l->e, "unsupported modifier (%c) in substitution in \"%s\"", mod, s);
	l->i++;
	struct b_strbuf word = {0};
	if (lex_word(l, '}', &word) < 0) {
		free(word.p);
		return -1;
	}
	if (s[l->i] != '}') {
		free(word.p);
		return berr_invalid(l->e, "missing '}' in substitution in \"%s\"", s);
	}
	l->i++;
	bool unset_or_empty = !v || (colon && !*v);
	int r = 0;
	if (mod == '-') {
		b_strbuf_puts(out, unset_or_empty ? (word.p ? word.p : "") : v);
	} else if (mod == '+') {
		if (!unset_or_empty && word.p)
			b_strbuf_puts(out, word.p);
	} else if (unset_or_empty) {
		r = berr_invalid(l->e, "%.*s: %s", (int)n, s + start,
				 word.len ? word.p
				 : v      ? "is not allowed to be empty"
					  : "is not allowed to be unset");
	} else {
		b_strbuf_puts(out, v);
	}
	if (word.failed)
		out->failed = true;
	free(word.p);
	return r;
}

/* Process up to stop (not consumed) or the end. */
static int lex_word(struct lex *l, char stop, struct b_strbuf *out)
{
	const char *s = l->s;
	for (;;) {
		char c = s[l->i];
		if (!c || (stop && c == stop))
			return 0;
		if (c == '\'') {
			const char *end = strchr(s + l->i + 1, '\'');
			if (!end)
				return berr_invalid(
				    l->e, "unexpected end of statement while looking for matching single-quote");
			b_strbuf_putn(out, s + l->i + 1, (size_t)(end - (s + l->i + 1)));
			l->i = (size_t)(end - s) + 1;
		} else if (c == '"') {
			l->i++;
			for (;;) {
				char d = s[l->i];
				if (!d)
					return berr_invalid(
					    l->e,
					    "unexpected end of statement while looking for matching double-quote");
				if (d == '"') {
					l->i++;
					break;
				}
				if (d == '$') {
					if (lex_dollar(l, out) < 0)
						return -1;
					continue;
				}
				if (d == '\\') {
					char nx = s[l->i + 1];
					if (nx == '"' || nx == '$' || nx == '\\') {
						b_strbuf_putc(out, nx);
						l->i += 2;
						continue;
					}
					if (!nx) {
						l->i++;
						continue;
					}
				}
				b_strbuf_putc(out, d);
				l->i++;
			}
		} else if (c == '$') {
			if (lex_dollar(l, out) < 0)
				return -1;
		} else if (c == '\\') {
			l->i++;
			if (!s[l->i])
				return 0;
			b_strbuf_putc(out, s[l->i++]);
		} else {
			b_strbuf_putc(out, c);
			l->i++;
		}
	}
}

/* Expand one word against env: quotes removed, escapes resolved, variables substituted. */
static int expand(const char *word, char *const *env, char **out, berr *e)
{
	struct lex l = {.s = word, .env = env, .e = e};
	struct b_strbuf b = {0};
	if (lex_word(&l, 0, &b) < 0) {
		free(b.p);
		return -1;
	}
	*out = b_strbuf_steal(&b);
	return *out ? 0 : oom(e);
}

/* ---- instruction arguments ---- */

/*
 * ENV and LABEL: "KEY value" (the old form: the rest of the line is the value) or
 * "k=v k2=v2 ..."; keys and values expanded against env. *out: k0,v0,k1,v1,...
 */
static int parse_name_val(const char *rest, const char *cmd, char *const *env, char ***out, berr *e)
{
	_cleanup_strv_ char **words = NULL;
	if (split_words(rest, &words) < 0)
		return oom(e);
	if (!words[0])
		return berr_invalid(e, "%s requires at least one argument", cmd);
	_cleanup_strv_ char **raw = calloc(1, sizeof *raw);
	if (!raw)
		return oom(e);
	if (!strchr(words[0], '=')) {
		size_t n = strcspn(rest, WS);
		const char *value = skip_ws(rest + n);
		if (!rest[n] || !*value)
			return berr_invalid(e, "%s must have two arguments", cmd);
		if (strv_push(&raw, strndup(rest, n)) < 0 || strv_push(&raw, strdup(value)) < 0)
			return oom(e);
	} else {
		for (size_t i = 0; words[i]; i++) {
			char *eq = strchr(words[i], '=');
			if (!eq)
				return berr_invalid(
				    e, "Syntax error - can't find = in \"%s\". Must be of the form: name=value",
				    words[i]);
			if (strv_push(&raw, strndup(words[i], (size_t)(eq - words[i]))) < 0 ||
			    strv_push(&raw, strdup(eq + 1)) < 0)
				return oom(e);
		}
	}
	char **res = calloc(b_strv_len(raw) + 1, sizeof *res);
	if (!res)
		return oom(e);
	for (size_t i = 0; raw[i]; i++) {
		if (i % 2 == 0 && !raw[i][0]) {
			b_strv_free(res);
			return berr_invalid(e, "%s names can not be blank", cmd);
		}
		if (expand(raw[i], env, &res[i], e) < 0) {
			b_strv_free(res);
			return -1;
		}
	}
	*out = res;
	return 0;
}

/*
 * CMD, ENTRYPOINT, HEALTHCHECK CMD, VOLUME: a JSON array of strings, or (when rest does not parse
 * as JSON) the shell form: *json false and the text as the one word (none when empty).
 */
static int parse_maybe_json(const char *rest, char ***out, bool *json, berr *e)
{
	*json = false;
	if (rest[0] == '[') {
		json_t *j = json_loads(rest, 0, NULL);
		if (j && json_is_array(j)) {
			size_t n = json_array_size(j);
			char **v = calloc(n + 1, sizeof *v);
			for (size_t i = 0; v && i < n; i++) {
				json_t *item = json_array_get(j, i);
				if (!json_is_string(item)) {
					json_decref(j);
					b_strv_free(v);
					return berr_invalid(
					    e,
					    "when using JSON array syntax, arrays must be comprised of strings only");
				}
				if (!(v[i] = strdup(json_string_value(item)))) {
					b_strv_free(v);
					v = NULL;
				}
			}
			json_decref(j);
			if (!v)
				return oom(e);
			*out = v;
			*json = true;
			return 0;
		}
		json_decref(j);
	}
	char **v = calloc(2, sizeof *v);
	if (!v || (*rest && !(v[0] = strdup(rest)))) {
		free(v);
		return oom(e);
	}
	*out = v;
	return 0;
}

/* Leading --flags (Docker's extractBuilderFlags): *flags gets "name[=value]" of each; "--" ends them. */
static int extract_flags(const char *rest, char ***flags, const char **args, berr *e)
{
	char **v = calloc(1, sizeof *v);
	if (!v)
		return oom(e);
	const char *p = rest;
	while (p[0] == '-' && p[1] == '-') {
		size_t n = strcspn(p, WS);
		if (n == 2) {
			p = skip_ws(p + 2);
			break;
		}
		if (strv_push(&v, strndup(p + 2, n - 2)) < 0) {
			b_strv_free(v);
			return oom(e);
		}
		p = skip_ws(p + n);
	}
	*flags = v;
	*args = p;
	return 0;
}

/* Go's time.ParseDuration, into nanoseconds; errors in Go's words. */
static int parse_duration(const char *s, int64_t *out, berr *e)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {{"ns", 1},       {"us", 1000},      {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
		     {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return berr_invalid(e, "time: invalid duration \"%s\"", s);
	uint64_t total = 0;
	while (*p) {
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return berr_invalid(e, "time: invalid duration \"%s\"", s);
		uint64_t v = 0;
		bool pre = false, post = false;
		for (; *p >= '0' && *p <= '9'; p++, pre = true) {
			if (v > (UINT64_MAX - 9) / 10)
				return berr_invalid(e, "time: invalid duration \"%s\"", s);
			v = v * 10 + (uint64_t)(*p - '0');
		}
		long double frac = 0, scale = 1;
		if (*p == '.') {
			for (p++; *p >= '0' && *p <= '9'; p++, post = true) {
				if (scale < 1e18L) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
			}
		}
		if (!pre && !post)
			return berr_invalid(e, "time: invalid duration \"%s\"", s);
		const char *u = p;
		while (*p && *p != '.' && !(*p >= '0' && *p <= '9'))
			p++;
		if (u == p)
			return berr_invalid(e, "time: missing unit in duration \"%s\"", s);
		uint64_t unit = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (strlen(units[i].name) == (size_t)(p - u) && !strncmp(u, units[i].name, (size_t)(p - u)))
				unit = units[i].ns;
		if (!unit)
			return berr_invalid(e, "time: unknown unit \"%.*s\" in duration \"%s\"", (int)(p - u), u, s);
		if (v > (uint64_t)INT64_MAX / unit)
			return berr_invalid(e, "time: invalid duration \"%s\"", s);
		v = v * unit + (uint64_t)(frac * ((long double)unit / scale));
		total += v;
		if (total > (uint64_t)INT64_MAX + (neg ? 1 : 0))
			return berr_invalid(e, "time: invalid duration \"%s\"", s);
	}
	*out = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

/* Docker's signal.ParseSignal on Linux: a number other than 0, or a name with or without SIG. */
static bool signal_valid(const char *s)
{
	static const char *const names[] = {
	    "ABRT", "ALRM", "BUS",  "CHLD", "CLD",  "CONT", "FPE",    "HUP",    "ILL",  "INT",  "IO",    "IOT",
	    "KILL", "PIPE", "POLL", "PROF", "PWR",  "QUIT", "SEGV",   "STKFLT", "STOP", "SYS",  "TERM",  "TRAP",
	    "TSTP", "TTIN", "TTOU", "URG",  "USR1", "USR2", "VTALRM", "WINCH",  "XCPU", "XFSZ", "RTMIN", "RTMAX"};
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (*s && !*end && !is_ws(*s) && errno != ERANGE)
		return n != 0;
	_cleanup_free_ char *up = strdup(s);
	if (!up)
		return false;
	for (char *p = up; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	const char *name = strncmp(up, "SIG", 3) ? up : up + 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	/* RTMIN+1 .. RTMIN+15, RTMAX-14 .. RTMAX-1 */
	int k = 0, used = 0;
	if ((sscanf(name, "RTMIN+%d%n", &k, &used) == 1 || sscanf(name, "RTMAX-%d%n", &k, &used) == 1) && !name[used] &&
	    name[6] >= '1' && name[6] <= '9' && (name[3] == 'I' ? k <= 15 : k <= 14))
		return true;
	return false;
}

/* Go's filepath.Clean of a rooted path. */
static char *clean_rooted(const char *path)
{
	_cleanup_strv_ char **parts = calloc(1, sizeof *parts);
	if (!parts)
		return NULL;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && !strncmp(p, "..", 2)) {
			size_t len = b_strv_len(parts);
			if (len) {
				free(parts[len - 1]);
				parts[len - 1] = NULL;
			}
		} else if (n && !(n == 1 && p[0] == '.')) {
			if (strv_push(&parts, strndup(p, n)) < 0)
				return NULL;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	struct b_strbuf b = {0};
	if (!parts[0])
		b_strbuf_putc(&b, '/');
	for (size_t i = 0; parts[i]; i++) {
		b_strbuf_putc(&b, '/');
		b_strbuf_puts(&b, parts[i]);
	}
	return b_strbuf_steal(&b);
}

/* ---- dispatchers (each works on a scratch copy of the config) ---- */

static int do_env(struct img_config *c, const char *rest, berr *e)
{
	_cleanup_strv_ char **kv = NULL;
	if (parse_name_val(rest, "ENV", c->env, &kv, e) < 0)
		return -1;
	if (!c->env && !(c->env = calloc(1, sizeof *c->env)))
		return oom(e);
	for (size_t i = 0; kv[i]; i += 2) {
		char *var = NULL;
		if (asprintf(&var, "%s=%s", kv[i], kv[i + 1]) < 0)
			return oom(e);
		size_t klen = strlen(kv[i]), j;
		for (j = 0; c->env[j]; j++)
			if (!strncmp(c->env[j], kv[i], klen) && (c->env[j][klen] == '=' || !c->env[j][klen]))
				break;
		if (c->env[j])
			str_replace(&c->env[j], var);
		else if (strv_push(&c->env, var) < 0)
			return oom(e);
	}
	return 0;
}

static int do_label(struct img_config *c, const char *rest, berr *e)
{
	_cleanup_strv_ char **kv = NULL;
	if (parse_name_val(rest, "LABEL", c->env, &kv, e) < 0)
		return -1;
	if (!c->labels && !(c->labels = calloc(1, sizeof *c->labels)))
		return oom(e);
	for (size_t i = 0; kv[i]; i += 2) {
		size_t j;
		for (j = 0; c->labels[j] && strcmp(c->labels[j], kv[i]); j += 2)
			;
		if (c->labels[j]) {
			char *v = strdup(kv[i + 1]);
			if (!v)
				return oom(e);
			str_replace(&c->labels[j + 1], v);
			continue;
		}
		if (strv_push(&c->labels, strdup(kv[i])) < 0 || strv_push(&c->labels, strdup(kv[i + 1])) < 0)
			return oom(e);
	}
	return 0;
}

static int do_cmd(struct img_config *c, const char *rest, bool entrypoint, bool *cmd_set, berr *e)
{
	_cleanup_strv_ char **argv = NULL;
	bool json;
	if (parse_maybe_json(rest, &argv, &json, e) < 0)
		return -1;
	size_t n = b_strv_len(argv);
	char **line = NULL;
	if (n && !json) {
		static char *const default_shell[] = {"/bin/sh", "-c", NULL};
		char *const *sh = c->shell && c->shell[0] ? c->shell : default_shell;
		if (b_strv_dup(sh, &line) < 0 || strv_push(&line, strdup(argv[0])) < 0) {
			b_strv_free(line);
			return oom(e);
		}
	} else {
		line = steal_ptr(argv);
	}
	/* Docker: ArgsEscaped is a Windows matter; a non-empty command line clears it on Linux. */
	if (n)
		c->args_escaped = false;
	if (entrypoint) {
		strv_replace(&c->entrypoint, line);
		c->has_entrypoint = true;
		if (!*cmd_set) {
			strv_replace(&c->cmd, NULL);
			c->has_cmd = false;
		}
	} else {
		strv_replace(&c->cmd, line);
		c->has_cmd = true;
		if (n)
			*cmd_set = true;
	}
	return 0;
}

static int do_workdir(struct img_config *c, const char *rest, berr *e)
{
	if (!*rest)
		return berr_invalid(e, "WORKDIR requires exactly one argument");
	_cleanup_free_ char *dir = NULL, *joined = NULL;
	if (expand(rest, c->env, &dir, e) < 0)
		return -1;
	if (!*dir)
		return berr_invalid(e, "cannot normalize nothing");
	if (asprintf(&joined, "/%s/%s", dir[0] == '/' ? "" : c->working_dir ? c->working_dir : "", dir) < 0)
		return oom(e);
	char *clean = clean_rooted(joined);
	if (!clean)
		return oom(e);
	str_replace(&c->working_dir, clean);
	return 0;
}

/* USER and STOPSIGNAL: the whole (expanded) rest. */
static int do_single(struct img_config *c, const char *rest, const char *cmd, char **slot, berr *e)
{
	if (!*rest)
		return berr_invalid(e, "%s requires exactly one argument", cmd);
	char *v = NULL;
	if (expand(rest, c->env, &v, e) < 0)
		return -1;
	if (!strcmp(cmd, "STOPSIGNAL") && !signal_valid(v)) {
		berr_invalid(e, "Invalid signal: %s", v);
		free(v);
		return -1;
	}
	str_replace(slot, v);
	return 0;
}

static int parse_port(const char *s, unsigned *out)
{
	if (!*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return -1;
	unsigned long v = strtoul(s, NULL, 10);
	if (v > 65535)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* One EXPOSE spec ("80", "53/udp", "8000-8010/tcp", "127.0.0.1:80:8080") into ports. */
static int expose_one(const char *spec, char ***ports, berr *e)
{
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return oom(e);
	char *proto = strchr(copy, '/');
	if (proto)
		*proto++ = '\0';
	if (!proto || !*proto)
		proto = "tcp";
	for (char *p = proto; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return berr_invalid(e, "invalid proto: %s", proto);
	/* ip:hostPort:containerPort: only the container's port is exposed */
	char *port = strrchr(copy, ':');
	port = port ? port + 1 : copy;
	unsigned lo, hi;
	char *dash = strchr(port, '-');
	if (dash)
		*dash = '\0';
	if (parse_port(port, &lo) < 0 || (dash && parse_port(dash + 1, &hi) < 0)) {
		if (dash)
			*dash = '-';
		return berr_invalid(e, "invalid containerPort: %s", port);
	}
	if (!dash)
		hi = lo;
	if (hi < lo) {
		*dash = '-';
		return berr_invalid(e, "invalid range specified for container port: %s", port);
	}
	for (unsigned p = lo; p <= hi; p++) {
		char buf[32];
		snprintf(buf, sizeof buf, "%u/%s", p, proto);
		if (!strv_has(*ports, buf) && strv_push(ports, strdup(buf)) < 0)
			return oom(e);
	}
	return 0;
}

static int do_expose(struct img_config *c, const char *rest, berr *e)
{
	_cleanup_strv_ char **words = NULL;
	if (split_ws(rest, &words) < 0)
		return oom(e);
	if (!words[0])
		return berr_invalid(e, "EXPOSE requires at least one argument");
	if (!c->exposed_ports && !(c->exposed_ports = calloc(1, sizeof *c->exposed_ports)))
		return oom(e);
	for (size_t i = 0; words[i]; i++) {
		/* The one instruction where an expansion may become several words. */
		_cleanup_free_ char *x = NULL;
		_cleanup_strv_ char **specs = NULL;
		if (expand(words[i], c->env, &x, e) < 0)
			return -1;
		if (split_ws(x, &specs) < 0)
			return oom(e);
		for (size_t j = 0; specs[j]; j++)
			if (expose_one(specs[j], &c->exposed_ports, e) < 0)
				return -1;
	}
	return 0;
}

static int do_volume(struct img_config *c, const char *rest, berr *e)
{
	_cleanup_strv_ char **vols = NULL;
	bool json;
	if (parse_maybe_json(rest, &vols, &json, e) < 0)
		return -1;
	if (!json) {
		b_strv_free(vols);
		vols = NULL;
		if (split_ws(rest, &vols) < 0)
			return oom(e);
	}
	if (!vols[0])
		return berr_invalid(e, "VOLUME requires at least one argument");
	if (!c->volumes && !(c->volumes = calloc(1, sizeof *c->volumes)))
		return oom(e);
	for (size_t i = 0; vols[i]; i++) {
		char *v = NULL;
		if (expand(vols[i], c->env, &v, e) < 0)
			return -1;
		if (!*skip_ws(v)) {
			free(v);
			return berr_invalid(e, "VOLUME specified can not be an empty string");
		}
		if (strv_has(c->volumes, v))
			free(v);
		else if (strv_push(&c->volumes, v) < 0)
			return oom(e);
	}
	return 0;
}

static int do_onbuild(struct img_config *c, const char *line, const char *rest, berr *e)
{
	if (!*rest)
		return berr_invalid(e, "ONBUILD requires at least one argument");
	size_t n = strcspn(rest, WS);
	if (n == 7 && !strncasecmp(rest, "ONBUILD", 7))
		return berr_invalid(e, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if ((n == 4 && !strncasecmp(rest, "FROM", 4)) || (n == 10 && !strncasecmp(rest, "MAINTAINER", 10))) {
		_cleanup_free_ char *up = strndup(rest, n);
		if (!up)
			return oom(e);
		for (char *p = up; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		return berr_invalid(e, "%s isn't allowed as an ONBUILD trigger", up);
	}
	/* The trigger as written: the line without its leading "ONBUILD ". */
	const char *expr = skip_ws(skip_ws(line) + strlen("ONBUILD"));
	size_t len = strlen(expr);
	while (len && is_ws(expr[len - 1]))
		len--;
	if (!c->onbuild && !(c->onbuild = calloc(1, sizeof *c->onbuild)))
		return oom(e);
	return strv_push(&c->onbuild, strndup(expr, len)) < 0 ? oom(e) : 0;
}

static int do_healthcheck(struct img_config *c, char *const *flags, const char *rest, berr *e)
{
	if (!*rest)
		return berr_invalid(e, "HEALTHCHECK requires at least one argument");
	static const char *const names[] = {"interval", "timeout", "start-period", "start-interval", "retries"};
	const char *values[ARRAY_SIZE(names)] = {0};
	for (size_t i = 0; flags[i]; i++) {
		size_t n = strcspn(flags[i], "=");
		size_t k;
		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (strlen(names[k]) == n && !strncmp(flags[i], names[k], n))
				break;
		if (k == ARRAY_SIZE(names))
			return berr_invalid(e, "Unknown flag: %.*s", (int)n, flags[i]);
		if (!flags[i][n])
			return berr_invalid(e, "Missing a value on flag: --%s", flags[i]);
		if (values[k])
			return berr_invalid(e, "Duplicate flag specified: %s", names[k]);
		values[k] = flags[i] + n + 1;
	}
	size_t n = strcspn(rest, WS);
	_cleanup_free_ char *type = strndup(rest, n);
	if (!type)
		return oom(e);
	for (char *p = type; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	const char *args = skip_ws(rest + n);
	struct img_healthcheck *hc = calloc(1, sizeof *hc);
	if (!hc)
		return oom(e);
	int r = -1;
	if (!strcmp(type, "NONE")) {
		if (*args) {
			berr_invalid(e, "HEALTHCHECK NONE takes no arguments");
			goto out;
		}
		if (strv_push(&hc->test, strdup("NONE")) < 0) {
			oom(e);
			goto out;
		}
	} else if (!strcmp(type, "CMD")) {
		_cleanup_strv_ char **argv = NULL;
		bool json;
		if (parse_maybe_json(args, &argv, &json, e) < 0)
			goto out;
		if (!argv[0]) {
			berr_invalid(e, "Missing command after HEALTHCHECK CMD");
			goto out;
		}
		if (strv_push(&hc->test, strdup(json ? "CMD" : "CMD-SHELL")) < 0) {
			oom(e);
			goto out;
		}
		for (size_t i = 0; argv[i]; i++) {
			if (strv_push(&hc->test, strdup(argv[i])) < 0) {
				oom(e);
				goto out;
			}
		}
		int64_t *durations[] = {&hc->interval, &hc->timeout, &hc->start_period, &hc->start_interval};
		for (size_t k = 0; k < ARRAY_SIZE(durations); k++) {
			if (!values[k])
				continue;
			if (parse_duration(values[k], durations[k], e) < 0)
				goto out;
			if (*durations[k] && *durations[k] < MIN_DURATION) {
				berr_invalid(e, "Interval \"%s\" cannot be less than 1ms", names[k]);
				goto out;
			}
		}
		if (values[4]) {
			char *end;
			errno = 0;
			long long v = strtoll(values[4], &end, 10);
			if (!*values[4] || *end || is_ws(*values[4]) || errno == ERANGE || v > INT32_MAX ||
			    v < INT32_MIN) {
				berr_invalid(e, "strconv.ParseInt: parsing \"%s\": %s", values[4],
					     errno == ERANGE || (*values[4] && !*end) ? "value out of range"
										      : "invalid syntax");
				goto out;
			}
			if (v < 0) {
				berr_invalid(e, "--retries cannot be negative (%lld)", v);
				goto out;
			}
			hc->retries = (int)v;
		}
	} else {
		berr_invalid(e, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
		goto out;
	}
	if (c->healthcheck)
		b_strv_free(c->healthcheck->test);
	free(c->healthcheck);
	c->healthcheck = steal_ptr(hc);
	r = 0;
out:
	if (hc)
		b_strv_free(hc->test);
	free(hc);
	return r;
}

/* ---- lines and instructions ---- */

static const char *const known_instructions[] = {"add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
						 "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
						 "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};
static const char *const change_instructions[] = {"cmd",     "entrypoint", "env",  "expose", "healthcheck", "label",
						  "onbuild", "stopsignal", "user", "volume", "workdir"};

static bool in_names(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return true;
	return false;
}

/* The lower-cased instruction name of a logical line; checks it may be a change. */
static int instruction_name(const char *line, char **out, berr *e)
{
	const char *p = skip_ws(line);
	size_t n = strcspn(p, WS);
	char *name = strndup(p, n);
	if (!name)
		return oom(e);
	for (char *q = name; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	if (!in_names(name, known_instructions, ARRAY_SIZE(known_instructions))) {
		berr_invalid(e, "unknown instruction: %.*s (valid change commands: " VALID_CHANGES ")", (int)n, p);
		free(name);
		return -1;
	}
	if (!in_names(name, change_instructions, ARRAY_SIZE(change_instructions))) {
		berr_invalid(e, "%s is not a valid change command (valid change commands: " VALID_CHANGES ")", name);
		free(name);
		return -1;
	}
	*out = name;
	return 0;
}

static int dispatch(struct img_config *c, const char *line, bool *cmd_set, berr *e)
{
	_cleanup_free_ char *name = NULL;
	if (instruction_name(line, &name, e) < 0)
		return -1;
	const char *p = skip_ws(line);
	p = skip_ws(p + strcspn(p, WS));
	/* The arguments without surrounding blanks. */
	_cleanup_free_ char *rest_all = strdup(p);
	if (!rest_all)
		return oom(e);
	for (size_t n = strlen(rest_all); n && is_ws(rest_all[n - 1]); n--)
		rest_all[n - 1] = '\0';
	_cleanup_strv_ char **flags = NULL;
	const char *rest;
	if (extract_flags(rest_all, &flags, &rest, e) < 0)
		return -1;
	if (flags[0] && strcmp(name, "healthcheck"))
		return berr_invalid(e, "Unknown flag: %.*s", (int)strcspn(flags[0], "="), flags[0]);

	if (!strcmp(name, "env"))
		return do_env(c, rest, e);
	if (!strcmp(name, "label"))
		return do_label(c, rest, e);
	if (!strcmp(name, "cmd"))
		return do_cmd(c, rest, false, cmd_set, e);
	if (!strcmp(name, "entrypoint"))
		return do_cmd(c, rest, true, cmd_set, e);
	if (!strcmp(name, "workdir"))
		return do_workdir(c, rest, e);
	if (!strcmp(name, "user"))
		return do_single(c, rest, "USER", &c->user, e);
	if (!strcmp(name, "stopsignal"))
		return do_single(c, rest, "STOPSIGNAL", &c->stop_signal, e);
	if (!strcmp(name, "expose"))
		return do_expose(c, rest, e);
	if (!strcmp(name, "volume"))
		return do_volume(c, rest, e);
	if (!strcmp(name, "onbuild"))
		return do_onbuild(c, line, rest, e);
	return do_healthcheck(c, flags, rest, e);
}

/*
 * Logical lines of a Dockerfile fragment: a line ending in "\" (blanks after it allowed) goes on
 * in the next one; blank lines and lines starting with # are skipped (inside a continuation too).
 */
static int logical_lines(const char *text, char ***out, berr *e)
{
	char **lines = calloc(1, sizeof *lines);
	if (!lines)
		return oom(e);
	struct b_strbuf cur = {0};
	bool continuing = false;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *l = p;
		p += n + (p[n] == '\n');
		while (n && (l[n - 1] == '\r'))
			n--;
		const char *first = l;
		while (first < l + n && is_ws(*first))
			first++;
		if (first == l + n || *first == '#')
			continue;
		size_t end = n;
		while (end && (l[end - 1] == ' ' || l[end - 1] == '\t'))
			end--;
		bool cont = end && l[end - 1] == '\\';
		b_strbuf_putn(&cur, l, cont ? end - 1 : n);
		if (cont) {
			continuing = true;
			continue;
		}
		continuing = false;
		if (strv_push(&lines, b_strbuf_steal(&cur)) < 0)
			goto fail;
	}
	if (continuing && cur.len && strv_push(&lines, b_strbuf_steal(&cur)) < 0)
		goto fail;
	free(cur.p);
	*out = lines;
	return 0;
fail:
	free(cur.p);
	b_strv_free(lines);
	return oom(e);
}

static int apply_text(struct img_config *c, const char *text, berr *e)
{
	_cleanup_strv_ char **lines = NULL;
	if (logical_lines(text, &lines, e) < 0)
		return -1;
	/* Docker checks every instruction's name before it applies any. */
	for (size_t i = 0; lines[i]; i++) {
		_cleanup_free_ char *name = NULL;
		if (instruction_name(lines[i], &name, e) < 0)
			return -1;
	}
	struct img_config scratch;
	if (img_config_copy(c, &scratch, e) < 0)
		return -1;
	bool cmd_set = false;
	for (size_t i = 0; lines[i]; i++) {
		if (dispatch(&scratch, lines[i], &cmd_set, e) < 0) {
			img_config_free(&scratch);
			return -1;
		}
	}
	/* The copy keeps the terminator of diff_ids and the rest; swap it in. */
	img_config_free(c);
	*c = scratch;
	return 0;
}

int img_config_apply_change(struct img_config *c, const char *instruction, berr *e)
{
	return apply_text(c, instruction ? instruction : "", e);
}

int img_config_apply_changes(struct img_config *c, char *const *changes, size_t n, berr *e)
{
	struct b_strbuf all = {0};
	for (size_t i = 0; i < n; i++) {
		if (i)
			b_strbuf_putc(&all, '\n');
		b_strbuf_puts(&all, changes[i] ? changes[i] : "");
	}
	_cleanup_free_ char *text = b_strbuf_steal(&all);
	if (!text)
		return oom(e);
	return apply_text(c, text, e);
}
