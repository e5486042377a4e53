/*
 * The Go-template forms docker's --format users write, over JSON data: text, {{.A.B}}, pipelines
 * with `|`, the functions docker adds (json upper lower title split join truncate pad len index
 * print println), and {{if}} / {{with}} / {{range}} ... {{else}} ... {{end}}.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli_internal.h"

enum node_kind { N_TEXT, N_ACTION, N_IF, N_WITH, N_RANGE };

struct node {
	enum node_kind kind;
	char *text;                /* N_TEXT */
	char *pipe;                /* the pipeline's source text, evaluated when run */
	struct node *body, *other; /* lists: then / else */
	struct node *next;
};

struct cli_template {
	struct node *root;
};

static void nodes_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		free(n->text);
		free(n->pipe);
		nodes_free(n->body);
		nodes_free(n->other);
		free(n);
		n = next;
	}
}

void cli_template_free(struct cli_template *t)
{
	if (!t)
		return;
	nodes_free(t->root);
	free(t);
}

/* ---------- parsing into text and actions ---------- */

struct parser {
	const char *src, *p;
	berr *e;
};

static struct node *new_node(enum node_kind kind)
{
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		abort();
	n->kind = kind;
	return n;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* Read the next action's inner text; *text gets the literal text before it. 0 at the end. */
static int next_action(struct parser *ps, char **text, char **inner, berr *e)
{
	const char *open = strstr(ps->p, "{{");
	size_t tlen = open ? (size_t)(open - ps->p) : strlen(ps->p);
	const char *inner_start = open ? open + 2 : NULL;
	if (open && inner_start[0] == '-' && isspace((unsigned char)inner_start[1])) {
		while (tlen && isspace((unsigned char)ps->p[tlen - 1]))
			tlen--;
		inner_start++;
	}
	*text = strndup(ps->p, tlen);
	if (!open) {
		ps->p += strlen(ps->p);
		*inner = NULL;
		return 0;
	}
	const char *close = strstr(inner_start, "}}");
	if (!close)
		return berr_invalid(e, "template: unclosed action");
	const char *inner_end = close;
	const char *after = close + 2;
	if (inner_end > inner_start && inner_end[-1] == '-' && inner_end - 1 > inner_start &&
	    isspace((unsigned char)inner_end[-2])) {
		inner_end--;
		while (isspace((unsigned char)*after))
			after++;
	}
	*inner = trim_dup(inner_start, (size_t)(inner_end - inner_start));
	ps->p = after;
	return 1;
}

static bool starts_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	return strncmp(s, word, n) == 0 && (s[n] == '\0' || isspace((unsigned char)s[n]));
}

/* Parse a list of nodes up to {{end}} / {{else}} (returned in *stop) or the end of the text. */
static int parse_list(struct parser *ps, struct node **out, char **stop, berr *e)
{
	struct node **tail = out;
	*stop = NULL;
	for (;;) {
		char *text = NULL, *inner = NULL;
		int r = next_action(ps, &text, &inner, e);
		if (r < 0)
			return -1;
		if (text && *text) {
			struct node *n = new_node(N_TEXT);
			n->text = text;
			*tail = n;
			tail = &n->next;
		} else {
			free(text);
		}
		if (r == 0)
			return 0;
		if (strcmp(inner, "end") == 0 || strcmp(inner, "else") == 0) {
			*stop = inner;
			return 0;
		}
		if (strncmp(inner, "/*", 2) == 0) {
			free(inner);
			continue;
		}
		enum node_kind kind = N_ACTION;
		const char *pipe = inner;
		if (starts_word(inner, "if"))
			kind = N_IF, pipe = inner + 2;
		else if (starts_word(inner, "with"))
			kind = N_WITH, pipe = inner + 4;
		else if (starts_word(inner, "range"))
			kind = N_RANGE, pipe = inner + 5;
		struct node *n = new_node(kind);
		n->pipe = trim_dup(pipe, strlen(pipe));
		free(inner);
		*tail = n;
		tail = &n->next;
		if (!*n->pipe)
			return berr_invalid(e, "template: missing value for command");
		if (kind == N_ACTION)
			continue;
		char *s;
		if (parse_list(ps, &n->body, &s, e) < 0)
			return -1;
		if (s && strcmp(s, "else") == 0) {
			free(s);
			if (parse_list(ps, &n->other, &s, e) < 0)
				return -1;
		}
		if (!s || strcmp(s, "end") != 0) {
			free(s);
			return berr_invalid(e, "template: unexpected EOF");
		}
		free(s);
	}
}

struct cli_template *cli_template_parse(const char *text, berr *e)
{
	struct cli_template *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	struct parser ps = {.src = text, .p = text, .e = e};
	char *stop = NULL;
	if (parse_list(&ps, &t->root, &stop, e) < 0) {
		cli_template_free(t);
		return NULL;
	}
	if (stop) {
		berr_invalid(e, "template: unexpected {{%s}}", stop);
		free(stop);
		cli_template_free(t);
		return NULL;
	}
	return t;
}

/* ---------- evaluating pipelines ---------- */

/* A value that is missing (a map key not there) prints as Go's "<no value>". */
static json_t no_value_marker = {.type = JSON_NULL, .refcount = 1}; /* reads as null to jansson */
#define NO_VALUE (&no_value_marker)

static void value_free(json_t *v)
{
	if (v && v != NO_VALUE)
		json_decref(v);
}

static char *value_string(json_t *v)
{
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s", "");
	if (v == NO_VALUE)
		cli_buf_add(&b, "<no value>");
	else
		cli_go_print(v, &b);
	return b.s;
}

struct eval {
	json_t *dot;
	berr *e;
};

static void skip_space(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static json_t *eval_pipeline(struct eval *ev, const char **p, char endc);

/* The Go type a value would have after decoding into interface{}, for messages. */
static const char *go_type_name(json_t *v)
{
	if (v == NO_VALUE || json_is_null(v))
		return "interface {}";
	if (json_is_string(v))
		return "string";
	if (json_is_number(v))
		return "float64";
	if (json_is_boolean(v))
		return "bool";
	return json_is_array(v) ? "[]interface {}" : "map[string]interface {}";
}

static json_t *field_path(struct eval *ev, json_t *base, const char **p)
{
	json_t *v = base == NO_VALUE ? NO_VALUE : json_incref(base);
	while (**p == '.') {
		(*p)++;
		const char *start = *p;
		while (isalnum((unsigned char)**p) || **p == '_')
			(*p)++;
		if (*p == start)
			break; /* a lone "." is the value itself */
		char *name = strndup(start, (size_t)(*p - start));
		if (v == NO_VALUE || !json_is_object(v)) {
			berr_invalid(ev->e, "template: can't evaluate field %s in type %s", name, go_type_name(v));
			free(name);
			value_free(v);
			return NULL;
		}
		json_t *next = json_object_get(v, name);
		if (!next) {
			/* Docker's Go structs name fields APIVersion where the JSON says ApiVersion: match the case
			 * loosely. */
			const char *k;
			json_t *item;
			json_object_foreach (v, k, item)
				if (!next && strcasecmp(k, name) == 0)
					next = item;
		}
		free(name);
		json_t *nv = next ? json_incref(next) : NO_VALUE;
		value_free(v);
		v = nv;
	}
	return v;
}

static json_t *parse_string_literal(struct eval *ev, const char **p)
{
	char q = **p;
	(*p)++;
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s", "");
	while (**p && **p != q) {
		char c = **p;
		if (q == '"' && c == '\\' && (*p)[1]) {
			(*p)++;
			c = **p == 'n' ? '\n' : **p == 't' ? '\t' : **p;
		}
		cli_buf_add(&b, "%c", c);
		(*p)++;
	}
	if (**p != q) {
		cli_buf_free(&b);
		berr_invalid(ev->e, "template: unterminated quoted string");
		return NULL;
	}
	(*p)++;
	json_t *v = json_string(b.s);
	cli_buf_free(&b);
	return v;
}

/* One operand: .Path, a literal, (pipeline), or a function name (returned as a JSON string tagged by *is_fn). */
static json_t *operand(struct eval *ev, const char **p, char **fn)
{
	*fn = NULL;
	skip_space(p);
	if (**p == '.')
		return field_path(ev, ev->dot, p);
	if (**p == '"' || **p == '`')
		return parse_string_literal(ev, p);
	if (**p == '(') {
		(*p)++;
		json_t *v = eval_pipeline(ev, p, ')');
		if (!v)
			return NULL;
		if (**p != ')') {
			value_free(v);
			berr_invalid(ev->e, "template: unclosed left paren");
			return NULL;
		}
		(*p)++;
		if (**p == '.') {
			json_t *f = field_path(ev, v, p);
			value_free(v);
			return f;
		}
		return v;
	}
	if (isdigit((unsigned char)**p) || **p == '-') {
		char *end;
		long long n = strtoll(*p, &end, 10);
		*p = end;
		return json_integer(n);
	}
	const char *start = *p;
	while (isalnum((unsigned char)**p) || **p == '_')
		(*p)++;
	if (*p == start) {
		berr_invalid(ev->e, "template: unexpected \"%c\" in command", **p);
		return NULL;
	}
	*fn = strndup(start, (size_t)(*p - start));
	if (strcmp(*fn, "true") == 0 || strcmp(*fn, "false") == 0) {
		json_t *b = json_boolean(strcmp(*fn, "true") == 0);
		free(*fn);
		*fn = NULL;
		return b;
	}
	if (strcmp(*fn, "nil") == 0) {
		free(*fn);
		*fn = NULL;
		return json_null();
	}
	return json_null();
}

static json_t *str_result(char *s)
{
	json_t *v = json_string(s ? s : "");
	free(s);
	return v;
}

static json_t *call(struct eval *ev, const char *fn, json_t **args, size_t n)
{
	if (strcmp(fn, "json") == 0 && n == 1) {
		if (args[0] == NO_VALUE)
			return json_string("null");
		return str_result(json_dumps(args[0], JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY));
	}
	if ((strcmp(fn, "upper") == 0 || strcmp(fn, "lower") == 0 || strcmp(fn, "title") == 0) && n == 1) {
		char *s = value_string(args[0]);
		bool word_start = true;
		for (char *c = s; *c; c++) {
			if (fn[0] == 'u')
				*c = (char)toupper((unsigned char)*c);
			else if (fn[0] == 'l')
				*c = (char)tolower((unsigned char)*c);
			else if (word_start)
				*c = (char)toupper((unsigned char)*c);
			word_start = isspace((unsigned char)*c);
		}
		return str_result(s);
	}
	if (strcmp(fn, "len") == 0 && n == 1) {
		json_t *v = args[0];
		size_t len = json_is_array(v)    ? json_array_size(v)
			     : json_is_object(v) ? json_object_size(v)
			     : json_is_string(v) ? json_string_length(v)
						 : 0;
		return json_integer((json_int_t)len);
	}
	if (strcmp(fn, "index") == 0 && n >= 2) {
		json_t *v = json_incref(args[0]);
		for (size_t i = 1; i < n; i++) {
			json_t *next = NULL;
			if (json_is_object(v) && json_is_string(args[i]))
				next = json_object_get(v, json_string_value(args[i]));
			else if (json_is_array(v) && json_is_integer(args[i]))
				next = json_array_get(v, (size_t)json_integer_value(args[i]));
			else if (v != NO_VALUE && !json_is_null(v)) {
				value_free(v);
				berr_invalid(ev->e, "template: error calling index: cannot index %s", "value");
				return NULL;
			}
			json_t *nv = next ? json_incref(next) : NO_VALUE;
			value_free(v);
			v = nv;
		}
		return v;
	}
	if (strcmp(fn, "join") == 0 && n == 2) {
		char *sep = value_string(args[1]);
		struct cli_buf b = {0};
		cli_buf_add(&b, "%s", "");
		size_t i;
		json_t *item;
		if (json_is_array(args[0])) {
			json_array_foreach (args[0], i, item) {
				char *s = value_string(item);
				cli_buf_add(&b, "%s%s", i ? sep : "", s);
				free(s);
			}
		}
		free(sep);
		return str_result(b.s);
	}
	if (strcmp(fn, "split") == 0 && n == 2) {
		char *s = value_string(args[0]), *sep = value_string(args[1]);
		json_t *arr = json_array();
		char *p = s;
		for (char *hit; *sep && (hit = strstr(p, sep)); p = hit + strlen(sep))
			json_array_append_new(arr, json_stringn(p, (size_t)(hit - p)));
		json_array_append_new(arr, json_string(p));
		free(s);
		free(sep);
		return arr;
	}
	if (strcmp(fn, "truncate") == 0 && n == 2 && json_is_integer(args[1])) {
		char *s = value_string(args[0]);
		size_t max = (size_t)json_integer_value(args[1]);
		if (strlen(s) > max)
			s[max] = '\0';
		return str_result(s);
	}
	if (strcmp(fn, "pad") == 0 && n == 3) {
		char *s = value_string(args[0]);
		struct cli_buf b = {0};
		cli_buf_add(&b, "%*s%s%*s", (int)json_integer_value(args[1]), "", s, (int)json_integer_value(args[2]),
			    "");
		free(s);
		return str_result(b.s);
	}
	if (strcmp(fn, "print") == 0 || strcmp(fn, "println") == 0) {
		struct cli_buf b = {0};
		cli_buf_add(&b, "%s", "");
		for (size_t i = 0; i < n; i++) {
			char *s = value_string(args[i]);
			cli_buf_add(&b, "%s%s", i && fn[5] == 'l' ? " " : "", s);
			free(s);
		}
		if (fn[5] == 'l')
			cli_buf_add(&b, "\n");
		return str_result(b.s);
	}
	berr_invalid(ev->e, "template: function \"%s\" not defined or wrong number of arguments", fn);
	return NULL;
}

/* command := operand... ; a leading function name takes the rest (and the piped value last). */
static json_t *eval_command(struct eval *ev, const char **p, char endc, json_t *piped)
{
	json_t *args[16];
	size_t n = 0;
	char *fn = NULL;
	json_t *result = NULL;
	for (;;) {
		skip_space(p);
		if (!**p || **p == '|' || **p == endc)
			break;
		if (n == 14) {
			berr_invalid(ev->e, "template: too many arguments");
			goto out;
		}
		char *name;
		json_t *v = operand(ev, p, &name);
		if (!v)
			goto out;
		if (name) {
			value_free(v);
			if (n || fn) {
				free(name);
				berr_invalid(ev->e, "template: can't give argument to non-function");
				goto out;
			}
			fn = name;
			continue;
		}
		args[n++] = v;
	}
	if (piped) {
		if (piped != NO_VALUE)
			json_incref(piped);
		args[n++] = piped;
	}
	if (fn) {
		result = call(ev, fn, args, n);
	} else if (n == 1) {
		result = args[0];
		n = 0;
	} else {
		berr_invalid(ev->e, n ? "template: can't give argument to non-function" : "template: empty command");
	}
out:
	for (size_t i = 0; i < n; i++)
		value_free(args[i]);
	free(fn);
	return result;
}

static json_t *eval_pipeline(struct eval *ev, const char **p, char endc)
{
	json_t *v = NULL;
	for (;;) {
		json_t *next = eval_command(ev, p, endc, v);
		value_free(v);
		if (!next)
			return NULL;
		v = next;
		skip_space(p);
		if (**p != '|')
			return v;
		(*p)++;
	}
}

static json_t *eval_text(struct eval *ev, const char *src)
{
	const char *p = src;
	json_t *v = eval_pipeline(ev, &p, '\0');
	if (v && *p) {
		value_free(v);
		berr_invalid(ev->e, "template: unexpected \"%c\" in operand", *p);
		return NULL;
	}
	return v;
}

static bool truthy(json_t *v)
{
	if (v == NO_VALUE || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_real(v))
		return json_real_value(v) != 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return true;
}

static int exec_list(const struct node *n, json_t *dot, struct cli_buf *out, berr *e);

static int exec_node(const struct node *n, json_t *dot, struct cli_buf *out, berr *e)
{
	if (n->kind == N_TEXT) {
		cli_buf_add(out, "%s", n->text);
		return 0;
	}
	struct eval ev = {.dot = dot, .e = e};
	json_t *v = eval_text(&ev, n->pipe);
	if (!v)
		return -1;
	int r = 0;
	switch (n->kind) {
	case N_ACTION: {
		char *s = value_string(v);
		cli_buf_add(out, "%s", s);
		free(s);
		break;
	}
	case N_IF: r = exec_list(truthy(v) ? n->body : n->other, dot, out, e); break;
	case N_WITH: r = truthy(v) ? exec_list(n->body, v, out, e) : exec_list(n->other, dot, out, e); break;
	case N_RANGE: {
		size_t i;
		const char *k;
		json_t *item;
		if (!truthy(v))
			r = exec_list(n->other, dot, out, e);
		else if (json_is_array(v))
			json_array_foreach (v, i, item)
				if (r == 0)
					r = exec_list(n->body, item, out, e);
		if (json_is_object(v))
			json_object_foreach (v, k, item)
				if (r == 0)
					r = exec_list(n->body, item, out, e);
		break;
	}
	case N_TEXT: break;
	}
	value_free(v);
	return r;
}

static int exec_list(const struct node *n, json_t *dot, struct cli_buf *out, berr *e)
{
	for (; n; n = n->next)
		if (exec_node(n, dot, out, e) < 0)
			return -1;
	return 0;
}

int cli_template_exec(const struct cli_template *t, json_t *data, struct cli_buf *out, berr *e)
{
	if (!out->s)
		cli_buf_add(out, "%s", "");
	return exec_list(t->root, data, out, e);
}

char *cli_format_prepare(const char *format, bool *is_table)
{
	*is_table = false;
	const char *f = format;
	if (strncmp(f, "table", 5) == 0 && (f[5] == '\0' || isspace((unsigned char)f[5]))) {
		*is_table = true;
		f += 5;
		while (*f == ' ')
			f++;
	}
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s", "");
	for (; *f; f++) {
		if (f[0] == '\\' && f[1] == 't') {
			cli_buf_add(&b, "\t");
			f++;
		} else if (f[0] == '\\' && f[1] == 'n') {
			cli_buf_add(&b, "\n");
			f++;
		} else {
			cli_buf_add(&b, "%c", *f);
		}
	}
	return b.s;
}
