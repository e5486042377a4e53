/* berth version and berth info: the client's facts and berthd's /version and /info, as docker lays them out. */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli/cli_internal.h"

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

static json_t *fetch(struct cli *c, const char *path, bool *unreachable)
{
	struct cli_resp r;
	berr e = {0};
	*unreachable = false;
	if (cli_http(c, "GET", path, NULL, &r, &e) < 0) {
		cli_print_connect_error(c, "", &e);
		berr_clear(&e);
		*unreachable = true;
		return NULL;
	}
	if (r.status != 200) {
		cli_print_daemon_error("", &r);
		cli_resp_free(&r);
		return NULL;
	}
	json_t *doc = cli_resp_json(&r, &e);
	if (!doc)
		fprintf(stderr, "%s\n", berr_msg(&e));
	berr_clear(&e);
	cli_resp_free(&r);
	return doc;
}

static const char *arch(void)
{
	static struct utsname u;
	uname(&u);
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return u.machine;
}

static json_t *client_facts(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Version", CLI_VERSION, "APIVersion", CLI_API_VERSION,
			 "DefaultAPIVersion", CLI_API_VERSION, "Os", "linux", "Arch", arch(), "BuildTime",
			 __DATE__ " " __TIME__, "Context", "default");
}

/* --format over {Client, Server}: as docker's version/info templates see them. */
static int print_format(const char *format, json_t *data)
{
	bool table;
	char *text = cli_format_prepare(format, &table);
	berr e = {0};
	struct cli_template *t = cli_template_parse(text, &e);
	free(text);
	if (!t) {
		fprintf(stderr, "template parsing error: %s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	struct cli_buf out = {0};
	int rc = cli_template_exec(t, data, &out, &e);
	cli_template_free(t);
	if (rc < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		cli_buf_free(&out);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", out.s);
	cli_buf_free(&out);
	return 0;
}

int cli_verb_version(struct cli *c, struct cli_args *a)
{
	bool unreachable;
	json_t *client = client_facts();
	json_t *server = fetch(c, "/version", &unreachable);
	const char *format = cli_arg_str(a, "format");
	int rc = server ? 0 : CLI_EXIT_FAIL;
	if (format && *format) {
		json_t *data = json_pack("{s:O, s:O}", "Client", client, "Server", server ? server : json_null());
		int frc = print_format(format, data);
		json_decref(data);
		json_decref(client);
		json_decref(server);
		return rc ? rc : frc;
	}
	printf("Client:\n");
	printf(" Version:           %s\n", CLI_VERSION);
	printf(" API version:       %s\n", CLI_API_VERSION);
	printf(" Built:             %s\n", str(client, "BuildTime"));
	printf(" OS/Arch:           linux/%s\n", arch());
	printf(" Context:           default\n");
	if (server) {
		printf("\nServer: %s\n", str(json_object_get(server, "Platform"), "Name"));
		printf(" Engine:\n");
		printf("  Version:          %s\n", str(server, "Version"));
		printf("  API version:      %s (minimum version %s)\n", str(server, "ApiVersion"),
		       str(server, "MinAPIVersion"));
		printf("  Git commit:       %s\n", str(server, "GitCommit"));
		printf("  Built:            %s\n", str(server, "BuildTime"));
		printf("  OS/Arch:          %s/%s\n", str(server, "Os"), str(server, "Arch"));
		printf("  Kernel version:   %s\n", str(server, "KernelVersion"));
	}
	json_decref(client);
	json_decref(server);
	return rc;
}

/* Docker's BytesSize: binary units, 4 significant digits ("23.54GiB"). */
static void bytes_size(double v, char *out, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	size_t i = 0;
	while (v >= 1024 && i + 1 < sizeof units / sizeof *units) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, "%.4g%s", v, units[i]);
}

int cli_verb_info(struct cli *c, struct cli_args *a)
{
	bool unreachable;
	json_t *info = fetch(c, "/info", &unreachable);
	const char *format = cli_arg_str(a, "format");
	if (format && *format) {
		int rc = info ? print_format(format, info) : CLI_EXIT_FAIL;
		json_decref(info);
		return rc;
	}
	printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n", CLI_VERSION);
	if (!info)
		return CLI_EXIT_FAIL;
	char mem[32];
	bytes_size((double)json_integer_value(json_object_get(info, "MemTotal")), mem, sizeof mem);
#define I(key) ((long long)json_integer_value(json_object_get(info, key)))
	printf("\nServer:\n");
	printf(" Containers: %lld\n  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n", I("Containers"),
	       I("ContainersRunning"), I("ContainersPaused"), I("ContainersStopped"));
	printf(" Images: %lld\n", I("Images"));
	printf(" Server Version: %s\n", str(info, "ServerVersion"));
	printf(" Storage Driver: %s\n", str(info, "Driver"));
	size_t i;
	json_t *pair;
	json_array_foreach (json_object_get(info, "DriverStatus"), i, pair)
		printf("  %s: %s\n", json_string_value(json_array_get(pair, 0)) ?: "",
		       json_string_value(json_array_get(pair, 1)) ?: "");
	printf(" Logging Driver: %s\n", str(info, "LoggingDriver"));
	printf(" Cgroup Driver: %s\n", str(info, "CgroupDriver"));
	printf(" Cgroup Version: %s\n", str(info, "CgroupVersion"));
	printf(" Default Runtime: %s\n", str(info, "DefaultRuntime"));
	printf(" Live Restore Enabled: %s\n",
	       json_is_true(json_object_get(info, "LiveRestoreEnabled")) ? "true" : "false");
	printf(" Kernel Version: %s\n", str(info, "KernelVersion"));
	printf(" Operating System: %s\n", str(info, "OperatingSystem"));
	printf(" OSType: %s\n", str(info, "OSType"));
	printf(" Architecture: %s\n", str(info, "Architecture"));
	printf(" CPUs: %lld\n", I("NCPU"));
	printf(" Total Memory: %s\n", mem);
	printf(" Name: %s\n", str(info, "Name"));
	printf(" ID: %s\n", str(info, "ID"));
	printf(" Docker Root Dir: %s\n", str(info, "DockerRootDir"));
	printf(" Debug Mode: %s\n", json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
#undef I
	json_decref(info);
	return 0;
}
