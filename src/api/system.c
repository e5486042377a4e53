/* System: /_ping, /version, /info. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/server.h"

#define BERTH_VERSION "0.1.0"

static void ping(struct api_request *r)
{
	api_reply_text(r, 200, "text/plain; charset=utf-8", "OK");
	MHD_add_response_header(r->resp, "Builder-Version", "1");
	MHD_add_response_header(r->resp, "Cache-Control", "no-cache, no-store, must-revalidate");
	MHD_add_response_header(r->resp, "Pragma", "no-cache");
}

static void version(struct api_request *r)
{
	struct utsname u;
	uname(&u);
	api_reply_json(r, 200,
		       json_pack("{s:{s:s}, s:[{s:s, s:s, s:{s:s, s:s}}], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
				 "s:s}",
				 "Platform", "Name", "berth", "Components", "Name", "Engine", "Version", BERTH_VERSION,
				 "Details", "ApiVersion", API_VERSION, "MinAPIVersion", API_MIN_VERSION, "Version",
				 BERTH_VERSION, "ApiVersion", API_VERSION, "MinAPIVersion", API_MIN_VERSION,
				 "GitCommit", "", "GoVersion", "none (C)", "Os", "linux", "Arch", "amd64",
				 "KernelVersion", u.release, "BuildTime", __DATE__));
}

static void info(struct api_request *r)
{
	struct eng_counts n;
	eng_counts(r->eng, &n);
	struct utsname u;
	uname(&u);
	char hostname[256] = "";
	gethostname(hostname, sizeof hostname - 1);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	json_t *doc = json_pack(
	    "{s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:s, s:[[ss]], s:b, s:b, s:b, s:b, s:b, s:b, s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:{s:[], s:[s,s,s], s:[s]}, s:s, s:[], s:b, s:b}",
	    "ID", "berth", "Containers", n.containers, "ContainersRunning", n.running, "ContainersPaused", n.paused,
	    "ContainersStopped", n.stopped, "Images", n.images, "Driver", "overlay2", "DockerRootDir",
	    eng_data_root(r->eng), "DriverStatus", "Backing Filesystem", "extfs", "MemoryLimit", 1, "SwapLimit", 1,
	    "CpuCfsPeriod", 1, "CpuCfsQuota", 1, "IPv4Forwarding", 1, "Debug", 0, "LoggingDriver", "json-file",
	    "CgroupDriver", "cgroupfs", "CgroupVersion",
	    access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1", "KernelVersion", u.release,
	    "OperatingSystem", "linux", "OSType", "linux", "NCPU", (json_int_t)cpus, "MemTotal", (json_int_t)mem,
	    "Name", hostname, "ServerVersion", BERTH_VERSION, "Architecture", "x86_64", "DefaultRuntime", "berth",
	    "IndexServerAddress", "https://index.docker.io/v1/", "Plugins", "Volume", "Network", "bridge", "host",
	    "null", "Log", "json-file", "InitBinary", "", "SecurityOptions", "LiveRestoreEnabled", 1,
	    "ExperimentalBuild", 0);
	api_reply_json(r, 200, doc);
}

const struct api_route api_system_routes[] = {
    {"GET", "/_ping", ping, 0},
    {"GET", "/version", version, 0},
    {"GET", "/info", info, 0},
    {0},
};
