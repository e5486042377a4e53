/* `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, from NetworkSettings.Ports. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

/* Go's net.JoinHostPort: an IPv6 address in brackets. */
static void join_host_port(json_t *binding, struct cli_buf *out)
{
	const char *ip = json_string_value(json_object_get(binding, "HostIp")) ?: "";
	const char *port = json_string_value(json_object_get(binding, "HostPort")) ?: "";
	cli_buf_add(out, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
}

/* Natural order, as docker sorts the lines: runs of digits compare as numbers. */
static int natural_compare(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			char *ea, *eb;
			unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);
			if (na != nb)
				return na < nb ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int cli_verb_port(struct cli *c, struct cli_args *a)
{
	struct cli_resp r;
	berr e = {0};
	json_t *info = cli_container_inspect(c, a->pos[0], &r, &e);
	if (!info) {
		if (e.msg)
			cli_print_connect_error(c, "", &e);
		else
			cli_print_daemon_error("", &r);
		berr_clear(&e);
		cli_resp_free(&r);
		return CLI_EXIT_FAIL;
	}
	cli_resp_free(&r);
	json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
	size_t cap = 16, n = 0;
	char **lines = calloc(cap, sizeof *lines);
	int status = 0;
	const char *want = a->npos > 1 ? a->pos[1] : NULL;
	if (want) {
		char port[32], key[64];
		const char *slash = strchr(want, '/');
		snprintf(port, sizeof port, "%.*s", slash ? (int)(slash - want) : (int)strlen(want), want);
		char *end;
		unsigned long num = strtoul(port, &end, 10);
		if (!*port || *end || num > 65535 || !isdigit((unsigned char)port[0])) {
			fprintf(stderr, "Error: invalid port (%s): strconv.ParseUint: parsing \"%s\": %s\n", port, port,
				*end || !*port || !isdigit((unsigned char)port[0]) ? "invalid syntax"
										   : "value out of range");
			status = CLI_EXIT_FAIL;
		} else {
			snprintf(key, sizeof key, "%s/%s", port, slash && slash[1] ? slash + 1 : "tcp");
			json_t *list = json_object_get(ports, key), *b;
			size_t i;
			json_array_foreach (list, i, b) {
				struct cli_buf line = {0};
				join_host_port(b, &line);
				if (n == cap)
					lines = realloc(lines, (cap *= 2) * sizeof *lines);
				lines[n++] = line.s;
			}
			if (!n) {
				fprintf(stderr, "Error: No public port '%s' published for %s\n", want, a->pos[0]);
				status = CLI_EXIT_FAIL;
			}
		}
	} else {
		const char *from;
		json_t *list;
		json_object_foreach (ports, from, list) {
			size_t i;
			json_t *b;
			json_array_foreach (list, i, b) {
				struct cli_buf line = {0};
				cli_buf_add(&line, "%s -> ", from);
				join_host_port(b, &line);
				if (n == cap)
					lines = realloc(lines, (cap *= 2) * sizeof *lines);
				lines[n++] = line.s;
			}
		}
	}
	qsort(lines, n, sizeof *lines, natural_compare);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	json_decref(info);
	return status;
}
