/*
 * `berth system df`: GET /system/df summed up as docker's CLI sums it (TYPE TOTAL ACTIVE SIZE
 * RECLAIMABLE), or with -v each image, container, volume and build cache entry.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_internal.h"

static json_int_t int_at(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void size4(json_int_t n, char *out, size_t len)
{
	cli_human_size_prec((double)n, 4, out, len);
}

/* "12.3MB (45%)": docker shows the share of the total when there is one. */
static void reclaimable(json_int_t part, json_int_t total, bool percent, char *out, size_t len)
{
	char s[32];
	size4(part, s, sizeof s);
	if (percent && total > 0)
		snprintf(out, len, "%s (%lld%%)", s, (long long)(part * 100 / total));
	else
		snprintf(out, len, "%s", s);
}

static json_t *summary_row(const char *type, size_t total, size_t active, json_int_t size, json_int_t reclaim,
			   bool percent)
{
	char t[32], a[32], s[32], r[64];
	snprintf(t, sizeof t, "%zu", total);
	snprintf(a, sizeof a, "%zu", active);
	size4(size, s, sizeof s);
	reclaimable(reclaim, size, percent, r, sizeof r);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", type, "TotalCount", t, "Active", a, "Size", s,
			 "Reclaimable", r);
}

static bool container_active(json_t *ct)
{
	const char *state = json_string_value(json_object_get(ct, "State")) ?: "";
	return strstr(state, "running") || strstr(state, "paused") || strstr(state, "restarting");
}

static int summary(json_t *df, const char *format)
{
	json_t *rows = json_array(), *v;
	size_t i, active = 0;
	/* Images: the layers' size; what no container's image holds is reclaimable. */
	json_int_t layers = int_at(df, "LayersSize"), used = 0;
	json_array_foreach (json_object_get(df, "Images"), i, v)
		if (int_at(v, "Containers") > 0) {
			active++;
			if (int_at(v, "Size") != -1 && int_at(v, "SharedSize") != -1)
				used += int_at(v, "Size") - int_at(v, "SharedSize");
		}
	json_array_append_new(rows, summary_row("Images", json_array_size(json_object_get(df, "Images")), active,
						layers, layers - used, true));
	json_int_t size = 0, reclaim = 0;
	active = 0;
	json_array_foreach (json_object_get(df, "Containers"), i, v) {
		json_int_t rw = int_at(v, "SizeRw");
		if (rw < 0)
			rw = 0;
		size += rw;
		if (container_active(v))
			active++;
		else
			reclaim += rw;
	}
	json_array_append_new(rows, summary_row("Containers", json_array_size(json_object_get(df, "Containers")),
						active, size, reclaim, true));
	size = reclaim = 0;
	active = 0;
	json_array_foreach (json_object_get(df, "Volumes"), i, v) {
		json_t *usage = json_object_get(v, "UsageData");
		json_int_t s = int_at(usage, "Size");
		if (int_at(usage, "RefCount") > 0)
			active++;
		if (s == -1)
			continue;
		size += s;
		if (int_at(usage, "RefCount") <= 0)
			reclaim += s;
	}
	json_array_append_new(rows, summary_row("Local Volumes", json_array_size(json_object_get(df, "Volumes")),
						active, size, reclaim, true));
	size = 0;
	json_int_t in_use = 0;
	active = 0;
	json_array_foreach (json_object_get(df, "BuildCache"), i, v) {
		bool shared = json_is_true(json_object_get(v, "Shared"));
		if (json_is_true(json_object_get(v, "InUse"))) {
			active++;
			if (!shared)
				in_use += int_at(v, "Size");
		}
		if (!shared)
			size += int_at(v, "Size");
	}
	json_array_append_new(rows, summary_row("Build Cache", json_array_size(json_object_get(df, "BuildCache")),
						active, size, size - in_use, false));
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active",
				   "ACTIVE", "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
	int rc = cli_print_rows(rows, format,
				"table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", header);
	json_decref(rows);
	json_decref(header);
	return rc;
}

static void ago(json_int_t then, char *out, size_t len)
{
	char d[48];
	cli_human_duration((int64_t)time(NULL) - then, d, sizeof d);
	snprintf(out, len, "%s ago", d);
}

static void short_id(const char *id, char out[13])
{
	if (id && strncmp(id, "sha256:", 7) == 0)
		id += 7;
	snprintf(out, 13, "%s", id ? id : "");
}

/* docker's Ellipsis: at most n characters (runes), the last one "…". */
static void ellipsis(const char *s, size_t n, struct cli_buf *out)
{
	size_t runes = 0, i = 0, cut = 0;
	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (runes == n - 1)
				cut = i;
			runes++;
		}
	if (runes <= n)
		cli_buf_add(out, "%s", s);
	else
		cli_buf_add(out, "%.*s…", (int)cut, s);
}

static int verbose(json_t *df)
{
	json_t *v, *rows = json_array();
	size_t i;
	printf("Images space usage:\n\n");
	json_array_foreach (json_object_get(df, "Images"), i, v) {
		const char *tag0 = json_string_value(json_array_get(json_object_get(v, "RepoTags"), 0));
		char repo[256] = "<none>", tag[128] = "<none>", id[13], created[80], size[32], shared[32], unique[32],
		     containers[32];
		const char *colon = tag0 ? strrchr(tag0, ':') : NULL;
		if (colon && strcmp(tag0, "<none>:<none>") != 0 && !strchr(colon, '/')) {
			snprintf(repo, sizeof repo, "%.*s", (int)(colon - tag0), tag0);
			snprintf(tag, sizeof tag, "%s", colon + 1);
		}
		short_id(json_string_value(json_object_get(v, "Id")), id);
		ago(int_at(v, "Created"), created, sizeof created);
		cli_human_size((double)int_at(v, "Size"), size, sizeof size);
		json_int_t sh = int_at(v, "SharedSize");
		if (sh == -1)
			snprintf(shared, sizeof shared, "N/A");
		else
			cli_human_size((double)sh, shared, sizeof shared);
		if (sh == -1 || int_at(v, "Size") == -1)
			snprintf(unique, sizeof unique, "N/A");
		else
			size4(int_at(v, "Size") - sh, unique, sizeof unique);
		snprintf(containers, sizeof containers, "%lld", (long long)int_at(v, "Containers"));
		json_array_append_new(rows,
				      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", repo, "Tag",
						tag, "ID", id, "CreatedSince", created, "Size", size, "SharedSize",
						shared, "UniqueSize", unique, "Containers", containers));
	}
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Repository", "REPOSITORY", "Tag", "TAG",
				   "ID", "IMAGE ID", "CreatedSince", "CREATED", "Size", "SIZE", "SharedSize",
				   "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "Containers", "CONTAINERS");
	cli_print_rows(rows,
		       "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{."
		       "UniqueSize}}\t{{.Containers}}",
		       NULL, header);
	json_decref(rows);
	json_decref(header);

	printf("\nContainers space usage:\n\n");
	rows = json_array();
	json_array_foreach (json_object_get(df, "Containers"), i, v) {
		char id[13], size[32], created[80], vols[16];
		short_id(json_string_value(json_object_get(v, "Id")), id);
		struct cli_buf cmd = {0};
		cli_buf_add(&cmd, "\"");
		ellipsis(json_string_value(json_object_get(v, "Command")) ?: "", 20, &cmd);
		cli_buf_add(&cmd, "\"");
		size_t nvol = 0, k;
		json_t *m;
		json_array_foreach (json_object_get(v, "Mounts"), k, m)
			if (json_string_value(json_object_get(m, "Name")))
				nvol++;
		snprintf(vols, sizeof vols, "%zu", nvol);
		cli_human_size((double)(int_at(v, "SizeRw") < 0 ? 0 : int_at(v, "SizeRw")), size, sizeof size);
		ago(int_at(v, "Created"), created, sizeof created);
		struct cli_buf names = {0};
		cli_buf_add(&names, "%s", "");
		json_array_foreach (json_object_get(v, "Names"), k, m) {
			const char *n = json_string_value(m) ?: "";
			cli_buf_add(&names, "%s%s", k ? "," : "", *n == '/' ? n + 1 : n);
		}
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id, "Image",
						      json_string_value(json_object_get(v, "Image")) ?: "", "Command",
						      cmd.s, "LocalVolumes", vols, "Size", size, "RunningFor", created,
						      "Status", json_string_value(json_object_get(v, "Status")) ?: "",
						      "Names", names.s));
		cli_buf_free(&cmd);
		cli_buf_free(&names);
	}
	header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CONTAINER ID", "Image", "IMAGE",
			   "Command", "COMMAND", "LocalVolumes", "LOCAL VOLUMES", "Size", "SIZE", "RunningFor",
			   "CREATED", "Status", "STATUS", "Names", "NAMES");
	cli_print_rows(
	    rows,
	    "table "
	    "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
	    NULL, header);
	json_decref(rows);
	json_decref(header);

	printf("\nLocal Volumes space usage:\n\n");
	rows = json_array();
	json_array_foreach (json_object_get(df, "Volumes"), i, v) {
		json_t *usage = json_object_get(v, "UsageData");
		char links[32], size[32];
		snprintf(links, sizeof links, "%lld", (long long)int_at(usage, "RefCount"));
		if (int_at(usage, "Size") == -1)
			snprintf(size, sizeof size, "N/A");
		else
			size4(int_at(usage, "Size"), size, sizeof size);
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "Name",
						      json_string_value(json_object_get(v, "Name")) ?: "", "Links",
						      links, "Size", size));
	}
	header = json_pack("{s:s, s:s, s:s}", "Name", "VOLUME NAME", "Links", "LINKS", "Size", "SIZE");
	cli_print_rows(rows, "table {{.Name}}\t{{.Links}}\t{{.Size}}", NULL, header);
	json_decref(rows);
	json_decref(header);

	json_int_t build = 0;
	json_array_foreach (json_object_get(df, "BuildCache"), i, v)
		if (!json_is_true(json_object_get(v, "Shared")))
			build += int_at(v, "Size");
	char bs[32];
	size4(build, bs, sizeof bs);
	printf("\nBuild cache usage: %s\n\n", bs);
	header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "CACHE ID", "CacheType", "CACHE TYPE", "Size",
			   "SIZE", "CreatedSince", "CREATED", "LastUsedSince", "LAST USED", "UsageCount", "USAGE",
			   "Shared", "SHARED");
	rows = json_array();
	cli_print_rows(
	    rows,
	    "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}"
	    "\t{{.Shared}}",
	    NULL, header);
	json_decref(rows);
	json_decref(header);
	return 0;
}

int cli_verb_system_df(struct cli *c, struct cli_args *a)
{
	json_t *df = cli_get_json(c, "/system/df");
	if (!df)
		return CLI_EXIT_FAIL;
	int rc = cli_arg_bool(a, "verbose") ? verbose(df) : summary(df, cli_arg_str(a, "format"));
	json_decref(df);
	return rc;
}
