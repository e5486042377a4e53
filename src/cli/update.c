/* `berth update`: POST /containers/{id}/update with the resource flags docker's update has. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* The update body from the flags given; NULL after printing a bad value. */
static json_t *update_body(struct cli_args *a)
{
	json_t *body = json_object();
	berr e = {0};
	static const char *const sizes[][2] = {
	    {"memory", "Memory"}, {"memory-swap", "MemorySwap"}, {"memory-reservation", "MemoryReservation"}};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		if (cli_opt_ram(body, sizes[i][1], a, sizes[i][0], &e) < 0)
			goto bad;
	static const char *const ints[][2] = {{"cpu-shares", "CpuShares"},
					      {"cpu-period", "CpuPeriod"},
					      {"cpu-quota", "CpuQuota"},
					      {"pids-limit", "PidsLimit"},
					      {"blkio-weight", "BlkioWeight"}};
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
		const char *v = cli_arg_str(a, ints[i][0]);
		if (v)
			json_object_set_new(body, ints[i][1], json_integer(strtoll(v, NULL, 10)));
	}
	const char *v;
	if ((v = cli_arg_str(a, "cpus"))) {
		char *end;
		double cpus = strtod(v, &end);
		if (end == v || *end || cpus < 0 || !isfinite(cpus)) {
			char why[200];
			snprintf(why, sizeof why, "failed to parse %s as a rational number", v);
			cli_bad_flag_value(a, "cpus", v, why);
			goto bad;
		}
		json_object_set_new(body, "NanoCpus", json_integer((json_int_t)llround(cpus * 1e9)));
	}
	if ((v = cli_arg_str(a, "cpuset-cpus")))
		json_object_set_new(body, "CpusetCpus", json_string(v));
	if ((v = cli_arg_str(a, "cpuset-mems")))
		json_object_set_new(body, "CpusetMems", json_string(v));
	/* The policy's name is the daemon's to judge, as with docker's update. */
	if ((v = cli_arg_str(a, "restart"))) {
		const char *colon = strchr(v, ':');
		long long max = 0;
		if (colon) {
			char *end;
			max = strtoll(colon + 1, &end, 10);
			if (!colon[1] || *end) {
				cli_bad_flag_value(a, "restart", v, "maximum retry count must be an integer");
				goto bad;
			}
		}
		json_object_set_new(body, "RestartPolicy",
				    json_pack("{s:s%, s:I}", "Name", v, colon ? (size_t)(colon - v) : strlen(v),
					      "MaximumRetryCount", (json_int_t)max));
	}
	return body;
bad:
	berr_clear(&e);
	json_decref(body);
	return NULL;
}

int cli_verb_update(struct cli *c, struct cli_args *a)
{
	bool any = false;
	for (const struct cli_flag *f = a->verb->flags; f->name; f++)
		any |= cli_arg_given(a, f->name);
	if (!any) {
		fprintf(stderr, "you must provide one or more flags when using this command\n");
		return CLI_EXIT_FAIL;
	}
	json_t *body = update_body(a);
	if (!body)
		return CLI_EXIT_ENGINE;
	/* As docker: each container that took it is named on stdout, warnings after, errors at the end. */
	json_t *warnings = json_array();
	struct cli_buf errors = {0};
	for (size_t i = 0; i < a->npos; i++) {
		char *id = cli_escape(a->pos[i]);
		struct cli_buf path = {0};
		cli_buf_add(&path, "/containers/%s/update", id);
		free(id);
		struct cli_resp r;
		berr e = {0};
		if (cli_http(c, "POST", path.s, body, &r, &e) < 0) {
			cli_print_connect_error(c, "", &e);
			berr_clear(&e);
			cli_buf_free(&path);
			cli_buf_free(&errors);
			json_decref(warnings);
			json_decref(body);
			return CLI_EXIT_FAIL;
		}
		if (r.status >= 300) {
			cli_buf_add(&errors, "%sError response from daemon: %s", errors.len ? "\n" : "",
				    cli_resp_message(&r));
		} else {
			printf("%s\n", a->pos[i]);
			json_t *doc = json_loadb(r.body, r.len, 0, NULL);
			json_array_extend(warnings, json_object_get(doc, "Warnings"));
			json_decref(doc);
		}
		cli_resp_free(&r);
		cli_buf_free(&path);
	}
	size_t k;
	json_t *w;
	json_array_foreach (warnings, k, w)
		if (json_is_string(w))
			printf("%s\n", json_string_value(w));
	json_decref(warnings);
	json_decref(body);
	if (errors.len) {
		fprintf(stderr, "%s\n", errors.s);
		cli_buf_free(&errors);
		return CLI_EXIT_FAIL;
	}
	return 0;
}
