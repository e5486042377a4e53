/* berth ps: GET /containers/json as docker's table, -q, --no-trunc, --filter and --format. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_internal.h"

#define PS_TABLE "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

/* Docker's Ellipsis: at most max characters, the last one "…" when cut. */
static char *ellipsis(const char *s, size_t max)
{
	size_t chars = 0, i = 0;
	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	if (chars <= max)
		return strdup(s);
	size_t keep = 0, n = 0;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (n == max - 1)
				break;
			n++;
		}
		keep = i + 1;
	}
	struct cli_buf b = {0};
	cli_buf_add(&b, "%.*s…", (int)keep, s);
	return b.s;
}

/* Go's strconv.Quote for the printable text commands are. */
static char *go_quote(const char *s)
{
	struct cli_buf b = {0};
	cli_buf_add(&b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			cli_buf_add(&b, "\\%c", *p);
		else if (*p == '\n')
			cli_buf_add(&b, "\\n");
		else if (*p == '\t')
			cli_buf_add(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			cli_buf_add(&b, "\\x%02x", *p);
		else
			cli_buf_add(&b, "%c", *p);
	}
	cli_buf_add(&b, "\"");
	return b.s;
}

static void set_str(json_t *row, const char *key, const char *value)
{
	json_object_set_new(row, key, json_string(value ? value : ""));
}

static char *joined_labels(json_t *labels)
{
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s", "");
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach (labels, k, v) {
		cli_buf_add(&b, "%s%s=%s", first ? "" : ",", k, json_string_value(v) ?: "");
		first = false;
	}
	return b.s;
}

/* The fields of a row that docker's default table shows, each a malloc'd string. */
static char *id_text(json_t *c, bool trunc)
{
	const char *id = json_string_value(json_object_get(c, "Id")) ?: "";
	return strndup(id, trunc ? 12 : strlen(id));
}

static char *image_text(json_t *c, bool trunc)
{
	const char *image = json_string_value(json_object_get(c, "Image")) ?: "";
	return trunc && strncmp(image, "sha256:", 7) == 0 ? strndup(image + 7, 12) : strdup(image);
}

static char *command_text(json_t *c, bool trunc)
{
	const char *cmd = json_string_value(json_object_get(c, "Command")) ?: "";
	char *cut = trunc ? ellipsis(cmd, 20) : strdup(cmd);
	char *quoted = go_quote(cut);
	free(cut);
	return quoted;
}

static char *running_for_text(json_t *c)
{
	time_t created = (time_t)json_integer_value(json_object_get(c, "Created"));
	char dur[64];
	cli_human_duration((int64_t)(time(NULL) - created), dur, sizeof dur);
	struct cli_buf b = {0};
	cli_buf_add(&b, "%s ago", dur);
	return b.s;
}

static char *names_text(json_t *c)
{
	struct cli_buf names = {0};
	cli_buf_add(&names, "%s", "");
	size_t i;
	json_t *n;
	json_array_foreach (json_object_get(c, "Names"), i, n) {
		const char *name = json_string_value(n) ?: "";
		if (name[0] == '/')
			name++;
		if (strchr(name, '/'))
			continue; /* a link's name, shown by docker only with --no-trunc */
		cli_buf_add(&names, "%s%s", names.len ? "," : "", name);
	}
	return names.s;
}

struct port {
	const char *ip, *type;
	long priv, pub;
};

/* Docker's order: private port, then IP, public port, protocol. */
static int port_cmp(const void *x, const void *y)
{
	const struct port *a = x, *b = y;
	if (a->priv != b->priv)
		return a->priv < b->priv ? -1 : 1;
	int r = strcmp(a->ip, b->ip);
	if (r)
		return r;
	if (a->pub != b->pub)
		return a->pub < b->pub ? -1 : 1;
	return strcmp(a->type, b->type);
}

/* A run of ports on one IP and protocol: "0.0.0.0:9000-9001->9000-9001/udp", "80/tcp". */
struct port_group {
	const char *ip, *type;
	long first, last;
};

static void add_group(struct cli_buf *out, const struct port_group *g)
{
	cli_buf_add(out, "%s", out->len ? ", " : "");
	if (*g->ip)
		cli_buf_add(out, "%s:", g->ip);
	cli_buf_add(out, g->first == g->last ? "%ld" : "%ld-%ld", g->first, g->last);
	if (*g->ip)
		cli_buf_add(out, g->first == g->last ? "->%ld" : "->%ld-%ld", g->first, g->last);
	cli_buf_add(out, "/%s", g->type);
}

/*
 * Docker's DisplayablePorts: ports published on the same number, and exposed ones, grouped into
 * ranges per IP and protocol ("0.0.0.0:9000-9001->9000-9001/udp", "80/tcp") in the order their
 * groups began, then the mappings to another number ("127.0.0.1:8443->443/tcp").
 */
static char *ports_text(json_t *c)
{
	json_t *list = json_object_get(c, "Ports"), *p;
	size_t n = json_array_size(list), i;
	struct port *v = calloc(n ? n : 1, sizeof *v);
	if (!v)
		abort(); /* out of memory in a short-lived client */
	json_array_foreach (list, i, p)
		v[i] = (struct port){json_string_value(json_object_get(p, "IP")) ?: "",
				     json_string_value(json_object_get(p, "Type")) ?: "tcp",
				     (long)json_integer_value(json_object_get(p, "PrivatePort")),
				     (long)json_integer_value(json_object_get(p, "PublicPort"))};
	qsort(v, n, sizeof *v, port_cmp);
	/* The groups in the order they began. */
	struct port_group *g = calloc(n ? n : 1, sizeof *g);
	size_t ng = 0;
	struct cli_buf out = {0}, mapped = {0};
	cli_buf_add(&out, "%s", "");
	cli_buf_add(&mapped, "%s", "");
	for (i = 0; g && i < n; i++) {
		if (*v[i].ip && v[i].pub != v[i].priv) {
			cli_buf_add(&mapped, "%s%s:%ld->%ld/%s", mapped.len ? ", " : "", v[i].ip, v[i].pub, v[i].priv,
				    v[i].type);
			continue;
		}
		size_t k = 0;
		while (k < ng && !(strcmp(g[k].ip, v[i].ip) == 0 && strcmp(g[k].type, v[i].type) == 0))
			k++;
		if (k == ng) {
			g[ng++] = (struct port_group){v[i].ip, v[i].type, v[i].priv, v[i].priv};
		} else if (v[i].priv == g[k].last + 1) {
			g[k].last = v[i].priv;
		} else {
			/* Docker prints the finished run at once, and the key's group starts over. */
			add_group(&out, &g[k]);
			g[k].first = g[k].last = v[i].priv;
		}
	}
	for (size_t k = 0; g && k < ng; k++)
		add_group(&out, &g[k]);
	if (mapped.len)
		cli_buf_add(&out, "%s%s", out.len ? ", " : "", mapped.s);
	cli_buf_free(&mapped);
	free(g);
	free(v);
	return out.s;
}

static void set_owned(json_t *row, const char *key, char *value)
{
	set_str(row, key, value);
	free(value);
}

/* The fields docker's container formatter offers, as strings. */
static json_t *row_of(json_t *c, bool trunc)
{
	json_t *row = json_object();
	set_owned(row, "ID", id_text(c, trunc));
	set_owned(row, "Image", image_text(c, trunc));
	set_owned(row, "Command", command_text(c, trunc));

	time_t created = (time_t)json_integer_value(json_object_get(c, "Created"));
	char when[64];
	struct tm tm;
	localtime_r(&created, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	set_str(row, "CreatedAt", when);
	set_owned(row, "RunningFor", running_for_text(c));

	set_str(row, "State", json_string_value(json_object_get(c, "State")));
	set_str(row, "Status", json_string_value(json_object_get(c, "Status")));
	set_owned(row, "Names", names_text(c));
	set_owned(row, "Ports", ports_text(c));
	set_owned(row, "Labels", joined_labels(json_object_get(c, "Labels")));

	struct cli_buf mounts = {0}, nets = {0};
	cli_buf_add(&mounts, "%s", "");
	cli_buf_add(&nets, "%s", "");
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(c, "Mounts"), i, m) {
		const char *name = json_string_value(json_object_get(m, "Name"));
		const char *src = json_string_value(json_object_get(m, "Source")) ?: "";
		char *shown = name && *name ? (trunc ? ellipsis(name, 15) : strdup(name)) : strdup(src);
		cli_buf_add(&mounts, "%s%s", mounts.len ? "," : "", shown);
		free(shown);
	}
	const char *k;
	json_t *v;
	json_object_foreach (json_object_get(json_object_get(c, "NetworkSettings"), "Networks"), k, v)
		cli_buf_add(&nets, "%s%s", nets.len ? "," : "", k);
	set_str(row, "Mounts", mounts.s);
	set_str(row, "Networks", nets.s);
	cli_buf_free(&mounts);
	cli_buf_free(&nets);

	json_int_t rw = json_integer_value(json_object_get(c, "SizeRw"));
	json_int_t rootfs = json_integer_value(json_object_get(c, "SizeRootFs"));
	char a[32], b[32], size[96];
	cli_human_size((double)rw, a, sizeof a);
	cli_human_size((double)rootfs, b, sizeof b);
	snprintf(size, sizeof size, "%s (virtual %s)", a, b);
	set_str(row, "Size", size);
	set_str(row, "LocalVolumes", "0");
	return row;
}

/*
 * Docker's default table (PS_TABLE) written straight from the list: with hundreds of containers
 * the rows and the template cost as much as decoding the reply.
 */
static void print_default_table(json_t *list, bool trunc)
{
	struct cli_buf text = {0};
	cli_buf_add(&text, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n");
	size_t i;
	json_t *c;
	json_array_foreach (list, i, c) {
		char *f[] = {id_text(c, trunc),   image_text(c, trunc), command_text(c, trunc),
			     running_for_text(c), names_text(c),        ports_text(c)};
		cli_buf_add(&text, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f[0], f[1], f[2], f[3],
			    json_string_value(json_object_get(c, "Status")) ?: "", f[5], f[4]);
		for (size_t k = 0; k < sizeof f / sizeof *f; k++)
			free(f[k]);
	}
	cli_table_print(stdout, text.s, 10);
	cli_buf_free(&text);
}

static json_t *ps_header(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CONTAINER ID",
			 "Image", "IMAGE", "Command", "COMMAND", "CreatedAt", "CREATED AT", "RunningFor", "CREATED",
			 "Status", "STATUS", "Ports", "PORTS", "Names", "NAMES", "Labels", "LABELS", "Mounts", "MOUNTS",
			 "Networks", "NETWORKS", "Size", "SIZE", "State", "STATE", "LocalVolumes", "LOCAL VOLUMES");
}

/* --filter key=value... as docker sends them: {"key": {"value": true}}. */
int cli_filters_json(struct cli_args *a, char **out)
{
	char *const *list = cli_arg_list(a, "filter");
	*out = NULL;
	if (!*list)
		return 0;
	json_t *f = json_object();
	for (; *list; list++) {
		const char *eq = strchr(*list, '=');
		if (!eq) {
			json_decref(f);
			fprintf(stderr,
				"invalid argument \"%s\" for \"-f, --filter\" flag: bad format of filter (expected "
				"name=value)\n",
				*list);
			fprintf(stderr, "See 'berth %s --help'.\n", a->verb->name);
			return CLI_EXIT_ENGINE;
		}
		char *key = strndup(*list, (size_t)(eq - *list));
		json_t *vals = json_object_get(f, key);
		if (!vals)
			json_object_set_new(f, key, vals = json_object());
		json_object_set_new(vals, eq + 1, json_true());
		free(key);
	}
	*out = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	return 0;
}

int cli_verb_ps(struct cli *c, struct cli_args *a)
{
	struct cli_buf path = {0};
	cli_buf_add(&path, "/containers/json");
	bool all = cli_arg_bool(a, "all");
	const char *last = cli_arg_str(a, "last");
	long limit = last ? strtol(last, NULL, 10) : -1;
	if (cli_arg_bool(a, "latest"))
		limit = 1;
	if (limit > 0 || all)
		cli_buf_query(&path, "all", "1");
	if (limit > 0) {
		char n[32];
		snprintf(n, sizeof n, "%ld", limit);
		cli_buf_query(&path, "limit", n);
	}
	if (cli_arg_bool(a, "size"))
		cli_buf_query(&path, "size", "1");
	char *filters;
	int rc = cli_filters_json(a, &filters);
	if (rc) {
		cli_buf_free(&path);
		return rc;
	}
	if (filters)
		cli_buf_query(&path, "filters", filters);
	free(filters);

	struct cli_resp r;
	berr e = {0};
	rc = cli_http(c, "GET", path.s, NULL, &r, &e);
	cli_buf_free(&path);
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	if (r.status != 200) {
		cli_print_daemon_error("", &r);
		cli_resp_free(&r);
		return CLI_EXIT_FAIL;
	}
	json_t *list = cli_resp_json(&r, &e);
	cli_resp_free(&r);
	if (!json_is_array(list)) {
		fprintf(stderr, "%s\n", list ? "berthd's container list is not a list" : berr_msg(&e));
		json_decref(list);
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	bool trunc = !cli_arg_bool(a, "no-trunc");
	const char *fmt = cli_arg_str(a, "format");
	if (!cli_arg_bool(a, "quiet") && (!fmt || !*fmt || strcmp(fmt, "table") == 0)) {
		print_default_table(list, trunc);
		json_decref(list);
		return 0;
	}
	json_t *rows = json_array();
	size_t i;
	json_t *item;
	json_array_foreach (list, i, item)
		json_array_append_new(rows, row_of(item, trunc));
	json_decref(list);
	const char *format = cli_arg_bool(a, "quiet") ? "{{.ID}}" : cli_arg_str(a, "format");
	json_t *header = ps_header();
	rc = cli_print_rows(rows, format, PS_TABLE, header);
	json_decref(header);
	json_decref(rows);
	return rc;
}
