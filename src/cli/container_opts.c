/* run/create flags -> the body of POST /containers/create, mapped as docker's CLI maps them. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"
#include "lib/cleanup.h"

const struct cli_flag cli_container_flags[] = {
    {"add-host", 0, CLI_LIST, "list", "Add a custom host-to-IP mapping (host:ip)", NULL},
    {"attach", 'a', CLI_LIST, "list", "Attach to STDIN, STDOUT or STDERR", NULL},
    {"cap-add", 0, CLI_LIST, "list", "Add Linux capabilities", NULL},
    {"cap-drop", 0, CLI_LIST, "list", "Drop Linux capabilities", NULL},
    {"cpu-shares", 'c', CLI_INT, "int", "CPU shares (relative weight)", NULL},
    {"cpus", 0, CLI_STRING, "decimal", "Number of CPUs", NULL},
    {"cpuset-cpus", 0, CLI_STRING, "string", "CPUs in which to allow execution (0-3, 0,1)", NULL},
    {"detach", 'd', CLI_BOOL, NULL, "Run container in background and print container ID", NULL},
    {"detach-keys", 0, CLI_STRING, "string", "Override the key sequence for detaching a container", NULL},
    {"device", 0, CLI_LIST, "list", "Add a host device to the container", NULL},
    {"dns", 0, CLI_LIST, "list", "Set custom DNS servers", NULL},
    {"dns-option", 0, CLI_LIST, "list", "Set DNS options", NULL},
    {"dns-search", 0, CLI_LIST, "list", "Set custom DNS search domains", NULL},
    {"entrypoint", 0, CLI_STRING, "string", "Overwrite the default ENTRYPOINT of the image", NULL},
    {"env", 'e', CLI_LIST, "list", "Set environment variables", NULL},
    {"env-file", 0, CLI_LIST, "list", "Read in a file of environment variables", NULL},
    {"expose", 0, CLI_LIST, "list", "Expose a port or a range of ports", NULL},
    {"hostname", 'h', CLI_STRING, "string", "Container host name", NULL},
    {"init", 0, CLI_BOOL, NULL, "Run an init inside the container that forwards signals and reaps processes", NULL},
    {"interactive", 'i', CLI_BOOL, NULL, "Keep STDIN open even if not attached", NULL},
    {"ip", 0, CLI_STRING, "string", "IPv4 address (e.g., 172.30.100.104)", NULL},
    {"label", 'l', CLI_LIST, "list", "Set meta data on a container", NULL},
    {"log-opt", 0, CLI_LIST, "list", "Log driver options", NULL},
    {"mac-address", 0, CLI_STRING, "string", "Container MAC address (e.g., 92:d0:c6:0a:29:33)", NULL},
    {"memory", 'm', CLI_STRING, "bytes", "Memory limit", NULL},
    {"memory-swap", 0, CLI_STRING, "bytes", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
     NULL},
    {"mount", 0, CLI_LIST, "mount", "Attach a filesystem mount to the container", NULL},
    {"name", 0, CLI_STRING, "string", "Assign a name to the container", NULL},
    {"network", 0, CLI_STRING, "network", "Connect a container to a network", NULL},
    {"network-alias", 0, CLI_LIST, "list", "Add network-scoped alias for the container", NULL},
    {"pids-limit", 0, CLI_INT, "int", "Tune container pids limit (set -1 for unlimited)", NULL},
    {"platform", 0, CLI_STRING, "string", "Set platform if server is multi-platform capable", NULL},
    {"privileged", 0, CLI_BOOL, NULL, "Give extended privileges to this container", NULL},
    {"publish", 'p', CLI_LIST, "list", "Publish a container's port(s) to the host", NULL},
    {"publish-all", 'P', CLI_BOOL, NULL, "Publish all exposed ports to random ports", NULL},
    {"pull", 0, CLI_STRING, "string", "Pull image before running (\"always\", \"missing\", \"never\")", "missing"},
    {"quiet", 'q', CLI_BOOL, NULL, "Suppress the pull output", NULL},
    {"read-only", 0, CLI_BOOL, NULL, "Mount the container's root filesystem as read only", NULL},
    {"restart", 0, CLI_STRING, "string", "Restart policy to apply when a container exits", "no"},
    {"rm", 0, CLI_BOOL, NULL, "Automatically remove the container and its associated anonymous volumes when it exits",
     NULL},
    {"security-opt", 0, CLI_LIST, "list", "Security Options", NULL},
    {"shm-size", 0, CLI_STRING, "bytes", "Size of /dev/shm", NULL},
    {"sig-proxy", 0, CLI_BOOL, NULL, "Proxy received signals to the process", "true"},
    {"stop-signal", 0, CLI_STRING, "string", "Signal to stop the container", NULL},
    {"stop-timeout", 0, CLI_INT, "int", "Timeout (in seconds) to stop a container", NULL},
    {"sysctl", 0, CLI_LIST, "map", "Sysctl options", NULL},
    {"tmpfs", 0, CLI_LIST, "list", "Mount a tmpfs directory", NULL},
    {"tty", 't', CLI_BOOL, NULL, "Allocate a pseudo-TTY", NULL},
    {"ulimit", 0, CLI_LIST, "ulimit", "Ulimit options", NULL},
    {"user", 'u', CLI_STRING, "string", "Username or UID (format: <name|uid>[:<group|gid>])", NULL},
    {"volume", 'v', CLI_LIST, "list", "Bind mount a volume", NULL},
    {"workdir", 'w', CLI_STRING, "string", "Working directory inside the container", NULL},
    {0},
};

/* A bad value: docker's message; the exit status is decided by the caller (125). */
static int bad(struct cli_args *a, const char *flag, const char *value, const char *why, berr *e)
{
	cli_bad_flag_value(a, flag, value, why);
	return berr_plain(e, EINVAL, "%s", "");
}

static bool valid_env_name(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* "K=V" as is; "K" alone takes K's value from our environment, or is left out when unset. */
static int add_env(json_t *env, const char *item, const char *where, berr *e)
{
	const char *eq = strchr(item, '=');
	size_t n = eq ? (size_t)(eq - item) : strlen(item);
	if (n == 0)
		return berr_invalid(e, "invalid environment variable: %s", item);
	if (!valid_env_name(item, n))
		return berr_invalid(e, "%svariable '%.*s' contains whitespaces", where, (int)n, item);
	if (eq) {
		json_array_append_new(env, json_string(item));
		return 0;
	}
	const char *v = getenv(item);
	if (v) {
		struct cli_buf b = {0};
		cli_buf_add(&b, "%s=%s", item, v);
		json_array_append_new(env, json_string(b.s));
		cli_buf_free(&b);
	}
	return 0;
}

static int read_env_file(json_t *env, const char *path, berr *e)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return berr_sys(e, "open %s", path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		if ((r = add_env(env, p, "", e)) < 0)
			break;
	}
	free(line);
	return r;
}

int cli_env_from_flags(struct cli_args *a, json_t *env, berr *e)
{
	for (char *const *f = cli_arg_list(a, "env-file"); *f; f++)
		if (read_env_file(env, *f, e) < 0) {
			fprintf(stderr, "berth: %s\n", berr_msg(e));
			fprintf(stderr, "See 'berth %s --help'.\n", a->verb->name);
			return -1;
		}
	for (char *const *x = cli_arg_list(a, "env"); *x; x++)
		if (add_env(env, *x, "", e) < 0) {
			cli_bad_flag_value(a, "env", *x, berr_msg(e));
			return -1;
		}
	return 0;
}

static int set_ram(json_t *obj, const char *key, struct cli_args *a, const char *flag, berr *e)
{
	const char *v = cli_arg_str(a, flag);
	if (!v)
		return 0;
	int64_t bytes;
	if (strcmp(flag, "memory-swap") == 0 && strcmp(v, "-1") == 0)
		bytes = -1;
	else if (!cli_parse_ram(v, &bytes)) {
		char why[256];
		snprintf(why, sizeof why, "invalid size: '%s'", v);
		return bad(a, flag, v, why, e);
	}
	json_object_set_new(obj, key, json_integer(bytes));
	return 0;
}

static json_t *strv_array(char *const *v)
{
	json_t *arr = json_array();
	for (; *v; v++)
		json_array_append_new(arr, json_string(*v));
	return arr;
}

/* --restart no|always|unless-stopped|on-failure[:N] */
static int restart_policy(struct cli_args *a, json_t *host, berr *e)
{
	const char *v = cli_arg_str(a, "restart");
	if (!v || !*v)
		return 0;
	char name[32];
	long max = 0;
	const char *colon = strchr(v, ':');
	snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - v) : (int)strlen(v), v);
	if (colon) {
		char *end;
		max = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || max < 0)
			return bad(a, "restart", v, "maximum retry count must be a positive integer", e);
	}
	if (strcmp(name, "no") != 0 && strcmp(name, "always") != 0 && strcmp(name, "unless-stopped") != 0 &&
	    strcmp(name, "on-failure") != 0)
		return bad(a, "restart", v, "invalid restart policy", e);
	if (colon && strcmp(name, "on-failure") != 0)
		return bad(a, "restart", v, "maximum retry count can only be used with 'on-failure'", e);
	json_object_set_new(host, "RestartPolicy",
			    json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t)max));
	return 0;
}

/* --ulimit nofile=1024[:2048] */
static int ulimits(struct cli_args *a, json_t *host, berr *e)
{
	char *const *list = cli_arg_list(a, "ulimit");
	if (!*list)
		return 0;
	json_t *arr = json_array();
	json_object_set_new(host, "Ulimits", arr);
	for (; *list; list++) {
		const char *eq = strchr(*list, '=');
		char *end;
		if (!eq || eq == *list)
			return bad(a, "ulimit", *list, "invalid ulimit argument", e);
		long long soft = strtoll(eq + 1, &end, 10), hard = soft;
		if (end == eq + 1 || (*end && *end != ':'))
			return bad(a, "ulimit", *list, "invalid ulimit argument", e);
		if (*end == ':') {
			const char *h = end + 1;
			hard = strtoll(h, &end, 10);
			if (end == h || *end)
				return bad(a, "ulimit", *list, "invalid ulimit argument", e);
		}
		if (soft > hard)
			return bad(a, "ulimit", *list, "ulimit soft limit must be less than or equal to hard limit", e);
		json_array_append_new(arr, json_pack("{s:s%, s:I, s:I}", "Name", *list, (size_t)(eq - *list), "Soft",
						     (json_int_t)soft, "Hard", (json_int_t)hard));
	}
	return 0;
}

static bool csv_bool(const char *v, bool *out)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = false;
		return true;
	}
	return false;
}

/* --mount type=bind,source=/a,target=/b,readonly ... as a HostConfig.Mounts entry. */
static int parse_mount(struct cli_args *a, const char *spec, json_t **out, berr *e)
{
	json_t *m = json_object();
	json_t *bind = NULL, *vol = NULL, *tmpfs = NULL;
	const char *type = "volume";
	char *copy = strdup(spec), *save = NULL;
	int r = 0;
	for (char *field = strtok_r(copy, ",", &save); field; field = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(field, '=');
		char *val = eq ? eq + 1 : NULL;
		if (eq)
			*eq = '\0';
		char why[300];
		bool b;
		if (strcmp(field, "type") == 0 && val) {
			type = spec + (val - copy);
			json_object_set_new(m, "Type", json_stringn(val, strlen(val)));
		} else if ((strcmp(field, "source") == 0 || strcmp(field, "src") == 0) && val) {
			json_object_set_new(m, "Source", json_string(val));
		} else if ((strcmp(field, "target") == 0 || strcmp(field, "destination") == 0 ||
			    strcmp(field, "dst") == 0) &&
			   val) {
			json_object_set_new(m, "Target", json_string(val));
		} else if (strcmp(field, "readonly") == 0 || strcmp(field, "ro") == 0) {
			if (!csv_bool(val, &b)) {
				snprintf(why, sizeof why, "invalid value for %s: %s", field, val);
				r = bad(a, "mount", spec, why, e);
				break;
			}
			json_object_set_new(m, "ReadOnly", json_boolean(b));
		} else if (strcmp(field, "consistency") == 0 && val) {
			json_object_set_new(m, "Consistency", json_string(val));
		} else if (strcmp(field, "bind-propagation") == 0 && val) {
			if (!bind)
				bind = json_object();
			json_object_set_new(bind, "Propagation", json_string(val));
		} else if (strcmp(field, "bind-nonrecursive") == 0 || strcmp(field, "bind-recursive") == 0) {
			if (!bind)
				bind = json_object();
			if (strcmp(field, "bind-nonrecursive") == 0 && csv_bool(val, &b))
				json_object_set_new(bind, "NonRecursive", json_boolean(b));
		} else if (strcmp(field, "volume-nocopy") == 0) {
			if (!vol)
				vol = json_object();
			json_object_set_new(vol, "NoCopy", json_boolean(!val || strcmp(val, "false") != 0));
		} else if ((strcmp(field, "volume-label") == 0 || strcmp(field, "volume-opt") == 0) && val) {
			if (!vol)
				vol = json_object();
			const char *key = strcmp(field, "volume-label") == 0 ? "Labels" : "DriverConfig";
			json_t *map = json_object_get(vol, key);
			if (!map) {
				map = json_object();
				json_object_set_new(vol, key, map);
			}
			if (strcmp(key, "DriverConfig") == 0) {
				json_t *opts = json_object_get(map, "Options");
				if (!opts)
					json_object_set_new(map, "Options", opts = json_object());
				map = opts;
			}
			char *kv = strchr(val, '=');
			if (kv)
				*kv = '\0';
			json_object_set_new(map, val, json_string(kv ? kv + 1 : ""));
		} else if (strcmp(field, "volume-driver") == 0 && val) {
			if (!vol)
				vol = json_object();
			json_t *dc = json_object_get(vol, "DriverConfig");
			if (!dc)
				json_object_set_new(vol, "DriverConfig", dc = json_object());
			json_object_set_new(dc, "Name", json_string(val));
		} else if (strcmp(field, "tmpfs-size") == 0 && val) {
			int64_t bytes;
			if (!cli_parse_ram(val, &bytes)) {
				snprintf(why, sizeof why, "invalid value for %s: %s", field, val);
				r = bad(a, "mount", spec, why, e);
				break;
			}
			if (!tmpfs)
				tmpfs = json_object();
			json_object_set_new(tmpfs, "SizeBytes", json_integer(bytes));
		} else if (strcmp(field, "tmpfs-mode") == 0 && val) {
			if (!tmpfs)
				tmpfs = json_object();
			json_object_set_new(tmpfs, "Mode", json_integer(strtol(val, NULL, 8)));
		} else {
			if (!val)
				snprintf(why, sizeof why, "invalid field '%s' must be a key=value pair", field);
			else
				snprintf(why, sizeof why, "unexpected key '%s' in '%s=%s'", field, field, val);
			r = bad(a, "mount", spec, why, e);
			break;
		}
	}
	(void)type;
	if (r == 0 && !json_object_get(m, "Target"))
		r = bad(a, "mount", spec, "target is required", e);
	if (r == 0 && !json_object_get(m, "Type"))
		json_object_set_new(m, "Type", json_string("volume"));
	if (bind)
		json_object_set_new(m, "BindOptions", bind);
	if (vol)
		json_object_set_new(m, "VolumeOptions", vol);
	if (tmpfs)
		json_object_set_new(m, "TmpfsOptions", tmpfs);
	free(copy);
	if (r < 0) {
		json_decref(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* --device /dev/x[:/dev/y[:rwm]] */
static json_t *parse_device(const char *spec)
{
	char *copy = strdup(spec);
	char *parts[3] = {copy, NULL, NULL};
	for (int i = 0; i < 2 && parts[i]; i++) {
		char *c = strchr(parts[i], ':');
		if (c) {
			*c = '\0';
			parts[i + 1] = c + 1;
		}
	}
	const char *perm = "rwm", *inside = parts[0];
	if (parts[1] && parts[2]) {
		inside = parts[1];
		perm = parts[2];
	} else if (parts[1]) {
		if (strspn(parts[1], "rwm") == strlen(parts[1]) && parts[1][0] != '/')
			perm = parts[1];
		else
			inside = parts[1];
	}
	json_t *d =
	    json_pack("{s:s, s:s, s:s}", "PathOnHost", parts[0], "PathInContainer", inside, "CgroupPermissions", perm);
	free(copy);
	return d;
}

/* seccomp=<file> becomes the profile's text, as docker's CLI sends it. */
static int security_opts(struct cli_args *a, json_t *host, berr *e)
{
	char *const *list = cli_arg_list(a, "security-opt");
	if (!*list)
		return 0;
	json_t *arr = json_array();
	json_object_set_new(host, "SecurityOpt", arr);
	for (; *list; list++) {
		const char *v = *list;
		if (strncmp(v, "seccomp=", 8) == 0 && strcmp(v + 8, "unconfined") != 0 &&
		    strcmp(v + 8, "builtin") != 0) {
			json_error_t je;
			json_t *profile = json_load_file(v + 8, 0, &je);
			if (!profile) {
				char why[600];
				snprintf(why, sizeof why, "opening seccomp profile (%s) failed: %s", v + 8, je.text);
				return bad(a, "security-opt", v, why, e);
			}
			char *text = json_dumps(profile, JSON_COMPACT);
			json_decref(profile);
			struct cli_buf b = {0};
			cli_buf_add(&b, "seccomp=%s", text ? text : "");
			free(text);
			json_array_append_new(arr, json_string(b.s));
			cli_buf_free(&b);
			continue;
		}
		if (strchr(v, '=') == NULL && strchr(v, ':') == NULL && strcmp(v, "no-new-privileges") != 0)
			return bad(a, "security-opt", v, "Invalid --security-opt", e);
		json_array_append_new(arr, json_string(v));
	}
	return 0;
}

static int key_value_map(struct cli_args *a, const char *flag, json_t *obj, const char *key, bool need_value, berr *e)
{
	char *const *list = cli_arg_list(a, flag);
	if (!*list)
		return 0;
	json_t *map = json_object();
	json_object_set_new(obj, key, map);
	for (; *list; list++) {
		const char *eq = strchr(*list, '=');
		if ((need_value && !eq) || eq == *list) {
			char why[300];
			snprintf(why, sizeof why, "%s must be in the format key=value", *list);
			return bad(a, flag, *list, why, e);
		}
		char *k = strndup(*list, eq ? (size_t)(eq - *list) : strlen(*list));
		json_object_set_new(map, k, json_string(eq ? eq + 1 : ""));
		free(k);
	}
	return 0;
}

/* Fill cfg and its HostConfig from the flags; -1 after printing docker's message. */
static int fill_config(struct cli_args *a, json_t *cfg, json_t *host, berr *e)
{
	const char *v;
	bool detach = cli_arg_bool(a, "detach"), interactive = cli_arg_bool(a, "interactive");

	json_object_set_new(cfg, "Image", json_string(a->pos[0]));
	if (a->npos > 1)
		json_object_set_new(cfg, "Cmd", strv_array(a->pos + 1));
	if (cli_arg_given(a, "entrypoint")) {
		v = cli_arg_str(a, "entrypoint");
		/* --entrypoint "" resets the image's entrypoint. */
		json_object_set_new(cfg, "Entrypoint", json_pack("[s]", v));
	}
	json_object_set_new(cfg, "Tty", json_boolean(cli_arg_bool(a, "tty")));
	json_object_set_new(cfg, "OpenStdin", json_boolean(interactive));

	/* Which streams `run` attaches: -a, else stdout and stderr (plus stdin with -i) unless -d. */
	bool at_in = false, at_out = false, at_err = false;
	char *const *attach = cli_arg_list(a, "attach");
	if (*attach) {
		if (detach) {
			cli_usage_error(a->verb, "Conflicting options: -a and -d");
			return berr_plain(e, EINVAL, "%s", "");
		}
		for (; *attach; attach++) {
			if (strcasecmp(*attach, "stdin") == 0)
				at_in = true;
			else if (strcasecmp(*attach, "stdout") == 0)
				at_out = true;
			else if (strcasecmp(*attach, "stderr") == 0)
				at_err = true;
			else {
				bad(a, "attach", *attach, "valid streams are STDIN, STDOUT and STDERR", e);
				return -1;
			}
		}
	} else if (!detach) {
		at_out = at_err = true;
		at_in = interactive;
	}
	json_object_set_new(cfg, "AttachStdin", json_boolean(at_in));
	json_object_set_new(cfg, "AttachStdout", json_boolean(at_out));
	json_object_set_new(cfg, "AttachStderr", json_boolean(at_err));
	json_object_set_new(cfg, "StdinOnce", json_boolean(interactive && at_in));

	json_t *env = json_array();
	json_object_set_new(cfg, "Env", env);
	if (cli_env_from_flags(a, env, e) < 0)
		return -1;

	if ((v = cli_arg_str(a, "hostname")))
		json_object_set_new(cfg, "Hostname", json_string(v));
	if ((v = cli_arg_str(a, "mac-address")))
		json_object_set_new(cfg, "MacAddress", json_string(v));
	if ((v = cli_arg_str(a, "user")))
		json_object_set_new(cfg, "User", json_string(v));
	if ((v = cli_arg_str(a, "workdir"))) {
		if (v[0] != '/') {
			fprintf(stderr,
				"berth: Error response from daemon: the working directory '%s' is invalid, it "
				"needs to be an absolute path\n",
				v);
			berr_plain(e, EINVAL, "%s", "");
			return -1;
		}
		json_object_set_new(cfg, "WorkingDir", json_string(v));
	}
	if (key_value_map(a, "label", cfg, "Labels", false, e) < 0)
		return -1;
	if ((v = cli_arg_str(a, "stop-signal")))
		json_object_set_new(cfg, "StopSignal", json_string(v));
	if ((v = cli_arg_str(a, "stop-timeout")))
		json_object_set_new(cfg, "StopTimeout", json_integer(strtoll(v, NULL, 10)));

	/* -v SRC:DST[:OPTS] is a bind (or named volume); -v /path alone an anonymous volume. */
	json_t *binds = json_array(), *volumes = json_object();
	for (char *const *x = cli_arg_list(a, "volume"); *x; x++) {
		if (!**x) {
			bad(a, "volume", *x, "bad format for path: ", e);
			json_decref(binds);
			json_decref(volumes);
			return -1;
		}
		if (strchr(*x, ':'))
			json_array_append_new(binds, json_string(*x));
		else
			json_object_set_new(volumes, *x, json_object());
	}
	if (json_array_size(binds))
		json_object_set(host, "Binds", binds);
	if (json_object_size(volumes))
		json_object_set(cfg, "Volumes", volumes);
	json_decref(binds);
	json_decref(volumes);

	char *const *mounts = cli_arg_list(a, "mount");
	if (*mounts) {
		json_t *arr = json_array();
		json_object_set_new(host, "Mounts", arr);
		for (; *mounts; mounts++) {
			json_t *m;
			if (parse_mount(a, *mounts, &m, e) < 0)
				return -1;
			json_array_append_new(arr, m);
		}
	}
	char *const *tmpfs = cli_arg_list(a, "tmpfs");
	if (*tmpfs) {
		json_t *map = json_object();
		json_object_set_new(host, "Tmpfs", map);
		for (; *tmpfs; tmpfs++) {
			const char *colon = strchr(*tmpfs, ':');
			char *path = strndup(*tmpfs, colon ? (size_t)(colon - *tmpfs) : strlen(*tmpfs));
			json_object_set_new(map, path, json_string(colon ? colon + 1 : ""));
			free(path);
		}
	}
	char *const *devices = cli_arg_list(a, "device");
	if (*devices) {
		json_t *arr = json_array();
		json_object_set_new(host, "Devices", arr);
		for (; *devices; devices++)
			json_array_append_new(arr, parse_device(*devices));
	}

	if (restart_policy(a, host, e) < 0)
		return -1;
	bool rm = cli_arg_bool(a, "rm");
	v = cli_arg_str(a, "restart");
	if (rm && v && *v && strcmp(v, "no") != 0) {
		fprintf(stderr, "berth: Conflicting options: --restart and --rm\n");
		fprintf(stderr, "See 'berth %s --help'.\n", a->verb->name);
		berr_plain(e, EINVAL, "%s", "");
		return -1;
	}
	json_object_set_new(host, "AutoRemove", json_boolean(rm));
	if (set_ram(host, "Memory", a, "memory", e) < 0 || set_ram(host, "MemorySwap", a, "memory-swap", e) < 0 ||
	    set_ram(host, "ShmSize", a, "shm-size", e) < 0)
		return -1;
	if ((v = cli_arg_str(a, "cpus"))) {
		char *end;
		double cpus = strtod(v, &end);
		if (end == v || *end || cpus < 0 || !isfinite(cpus)) {
			char why[200];
			snprintf(why, sizeof why, "failed to parse %s as a rational number", v);
			bad(a, "cpus", v, why, e);
			return -1;
		}
		json_object_set_new(host, "NanoCpus", json_integer((json_int_t)llround(cpus * 1e9)));
	}
	if ((v = cli_arg_str(a, "cpu-shares")))
		json_object_set_new(host, "CpuShares", json_integer(strtoll(v, NULL, 10)));
	if ((v = cli_arg_str(a, "cpuset-cpus")))
		json_object_set_new(host, "CpusetCpus", json_string(v));
	if ((v = cli_arg_str(a, "pids-limit")))
		json_object_set_new(host, "PidsLimit", json_integer(strtoll(v, NULL, 10)));
	if (ulimits(a, host, e) < 0)
		return -1;
	if (*cli_arg_list(a, "cap-add"))
		json_object_set_new(host, "CapAdd", strv_array(cli_arg_list(a, "cap-add")));
	if (*cli_arg_list(a, "cap-drop"))
		json_object_set_new(host, "CapDrop", strv_array(cli_arg_list(a, "cap-drop")));
	json_object_set_new(host, "Privileged", json_boolean(cli_arg_bool(a, "privileged")));
	json_object_set_new(host, "ReadonlyRootfs", json_boolean(cli_arg_bool(a, "read-only")));
	if (cli_arg_given(a, "init"))
		json_object_set_new(host, "Init", json_boolean(cli_arg_bool(a, "init")));
	if (security_opts(a, host, e) < 0)
		return -1;
	if (key_value_map(a, "sysctl", host, "Sysctls", true, e) < 0)
		return -1;
	if (*cli_arg_list(a, "log-opt")) {
		json_t *lc = json_object();
		json_object_set_new(lc, "Type", json_string(""));
		json_object_set_new(host, "LogConfig", lc);
		if (key_value_map(a, "log-opt", lc, "Config", true, e) < 0)
			return -1;
	}
	v = cli_arg_str(a, "network");
	json_object_set_new(host, "NetworkMode", json_string(v && *v ? v : "default"));
	if (cli_network_flags(a, cfg, host, e) < 0)
		return -1;
	unsigned rows, cols;
	if (cli_arg_bool(a, "tty") && cli_term_size(&rows, &cols))
		json_object_set_new(host, "ConsoleSize", json_pack("[i,i]", (int)rows, (int)cols));
	return 0;
}

int cli_container_config(struct cli_args *a, json_t **body_out, berr *e)
{
	json_t *cfg = json_object(), *host = json_object();
	json_object_set_new(cfg, "HostConfig", host);
	if (fill_config(a, cfg, host, e) < 0) {
		json_decref(cfg);
		return -1;
	}
	*body_out = cfg;
	return 0;
}

int cli_opt_ram(json_t *obj, const char *key, struct cli_args *a, const char *flag, berr *e)
{
	return set_ram(obj, key, a, flag, e);
}
