/* spec: write a starting config.json; features: what this runtime supports. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/cleanup.h"
#include "../../lib/fs.h"
#include "../../oci/caps.h"
#include "../../oci/seccomp.h"
#include "../../oci/state.h"
#include "cli.h"

/* The starting point `spec` writes: runc's shape, with our hostname. */
static const char default_spec_text[] =
    "{\"ociVersion\": \"" OCI_VERSION "\","
    " \"process\": {\"terminal\": true, \"user\": {\"uid\": 0, \"gid\": 0},"
    "  \"args\": [\"sh\"],"
    "  \"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\"],"
    "  \"cwd\": \"/\","
    "  \"capabilities\": {"
    "   \"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "   \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "   \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "   \"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]},"
    "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
    "  \"noNewPrivileges\": true},"
    " \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
    " \"hostname\": \"berth\","
    " \"mounts\": ["
    "  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
    "   \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},"
    "  {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
    "   \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", \"gid=5\"]},"
    "  {\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},"
    "  {\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\"]},"
    "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},"
    "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
    "   \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}],"
    " \"linux\": {\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
    "  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
    "   {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],"
    "  \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\","
    "   \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\","
    "   \"/sys/firmware\", \"/proc/scsi\"],"
    "  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\"]}}";

static json_t *default_spec(bool rootless)
{
	json_t *spec = json_loads(default_spec_text, JSON_PRESERVE_ORDER, NULL);
	if (spec && rootless) {
		json_t *lx = json_object_get(spec, "linux");
		json_array_append_new(json_object_get(lx, "namespaces"), json_pack("{s:s}", "type", "user"));
		json_object_set_new(
		    lx, "uidMappings",
		    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getuid(), "size", 1));
		json_object_set_new(
		    lx, "gidMappings",
		    json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", (int)getgid(), "size", 1));
	}
	return spec;
}

int rt_spec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"rootless", no_argument, NULL, 'r'},
	    {0},
	};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bundle = optarg; break;
		case 'r': rootless = true; break;
		default: return rt_usage_error("spec", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return rt_usage_error("spec", "takes no arguments");
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return 1;
	berr e = {0};
	if (b_path_exists(path)) {
		berr_set(&e, EEXIST, "File %s exists. Remove it first", path);
		return rt_fail(&e);
	}
	json_t *spec = default_spec(rootless);
	_cleanup_free_ char *text = spec ? json_dumps(spec, JSON_INDENT(8) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(spec);
	if (!text)
		return 1;
	if (b_write_file(path, text, strlen(text), 0666, &e) < 0)
		return rt_fail(&e);
	return 0;
}

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

int rt_features(int argc, char **argv)
{
	if (argc > 1)
		return rt_usage_error("features", "takes no arguments");
	static const char *const hooks[] = {
	    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL};
	static const char *const mount_options[] = {
	    "async",      "atime",         "bind",    "defaults", "dev",         "diratime",  "dirsync",
	    "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",    "nomand",
	    "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime",  "remount",
	    "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",        "shared",
	    "slave",      "strictatime",   "suid",    "sync",     "unbindable",  "tmpcopyup", NULL};
	static const char *const namespaces[] = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts", NULL};
	char **caps = oci_caps_to_names(oci_caps_held() | ((1ULL << (oci_cap_last() + 1)) - 1));
	json_t *f = json_pack(
	    "{s:s, s:s, s:o, s:o, s:{s:o, s:o, s:{s:b, s:b, s:b}, s:{s:b, s:o, s:o, s:o, s:o}, s:{s:b}, s:{s:b}}}",
	    "ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "hooks", strv_json(hooks), "mountOptions",
	    strv_json(mount_options), "linux", "namespaces", strv_json(namespaces), "capabilities",
	    strv_json((const char *const *)caps), "cgroup", "v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1,
	    "actions", strv_json(oci_seccomp_known_actions()), "operators", strv_json(oci_seccomp_known_operators()),
	    "archs", strv_json(oci_seccomp_known_archs()), "knownFlags", strv_json(oci_seccomp_known_flags()),
	    "apparmor", "enabled", 0, "selinux", "enabled", 0);
	for (char **p = caps; p && *p; p++)
		free(*p);
	free(caps);
	if (!f)
		return 1;
	json_object_set_new(f, "annotations", json_pack("{s:s}", "org.berth.runtime.version", "0.1.0"));
	_cleanup_free_ char *text = json_dumps(f, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	json_decref(f);
	printf("%s\n", text ? text : "{}");
	return 0;
}
