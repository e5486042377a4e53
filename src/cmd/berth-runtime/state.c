/* state and list. */
#include <getopt.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/cleanup.h"
#include "../../oci/state.h"
#include "cli.h"

int rt_state(int argc, char **argv)
{
	const char *id;
	int c;
	while ((c = getopt_long(argc, argv, "+", (struct option[]){{0}}, NULL)) != -1)
		return rt_usage_error("state", "unknown option %s", argv[optind - 1]);
	if (rt_one_id(argc, argv, optind, "state", &id) < 0)
		return 1;
	berr e = {0};
	struct oci_state st;
	if (oci_state_load(rt_globals.root, id, &st, &e) < 0)
		return rt_fail(&e);
	_cleanup_free_ char *json = oci_state_to_json(&st, oci_state_status(rt_globals.root, &st), true);
	oci_state_free(&st);
	if (!json)
		return 1;
	printf("%s\n", json);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_list(int argc, char **argv)
{
	enum { O_FORMAT = 'f', O_QUIET = 'q' };
	static const struct option opts[] = {
	    {"format", required_argument, NULL, O_FORMAT},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {0},
	};
	const char *format = "table";
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
		switch (c) {
		case O_FORMAT: format = optarg; break;
		case O_QUIET: quiet = true; break;
		default: return rt_usage_error("list", "unknown option %s", argv[optind - 1]);
		}
	}
	if (strcmp(format, "table") && strcmp(format, "json"))
		return rt_usage_error("list", "invalid format option \"%s\"", format);
	char **ids = NULL;
	size_t n = 0;
	_cleanup_closedir_ DIR *d = opendir(rt_globals.root);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **g = realloc(ids, (n + 1) * sizeof *g);
		if (!g)
			break;
		ids = g;
		ids[n++] = strdup(de->d_name);
	}
	if (n)
		qsort(ids, n, sizeof *ids, by_name);
	json_t *arr = json_array();
	if (!quiet && !strcmp(format, "table"))
		printf("%-12s %-10s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++) {
		struct oci_state st;
		if (ids[i] && oci_state_load(rt_globals.root, ids[i], &st, NULL) == 0) {
			enum oci_status status = oci_state_status(rt_globals.root, &st);
			int pid = status == OCI_STATUS_STOPPED ? 0 : (int)st.pid;
			const char *owner = st.owner && *st.owner ? st.owner : "root";
			if (quiet)
				printf("%s\n", st.id);
			else if (!strcmp(format, "table"))
				printf("%-12s %-10d %-10s %-40s %-31s %s\n", st.id, pid, oci_status_name(status),
				       st.bundle, st.created, owner);
			else
				json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
								     "ociVersion", OCI_VERSION, "id", st.id, "pid", pid,
								     "status", oci_status_name(status), "bundle",
								     st.bundle, "created", st.created, "owner", owner));
			oci_state_free(&st);
		}
		free(ids[i]);
	}
	free(ids);
	if (!quiet && !strcmp(format, "json")) {
		_cleanup_free_ char *s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
	}
	json_decref(arr);
	return 0;
}
