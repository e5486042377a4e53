/*
 * HostConfig's resources, devices and ulimits -> linux.resources, linux.devices and process.rlimits,
 * with the checks and messages of Docker's daemon (verifyPlatformContainerResources and the spec
 * options of daemon/oci_linux.go).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/magic.h>

#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"

#define HC "HostConfig"

#define MIN_MEMORY (6LL << 20) /* Docker's linuxMinMemory */
#define MIN_SHARES 2
#define MAX_SHARES 262144

static bool cgroup_v2(void)
{
	struct statfs sf;
	return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Whether the memory controller limits swap here (Docker's SwapLimit). */
static bool swap_limit_supported(void)
{
	if (!cgroup_v2())
		return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
	return access("/sys/fs/cgroup/system.slice/memory.swap.max", F_OK) == 0 ||
	       access("/sys/fs/cgroup/init.scope/memory.swap.max", F_OK) == 0 ||
	       access("/sys/fs/cgroup/user.slice/memory.swap.max", F_OK) == 0;
}

static int online_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* ---------- cpuset lists ("0-3,5") ---------- */

#define LIST_MAX 8192 /* more CPUs or memory nodes than any machine has */

/* Parse a list into a bitmap; false for a bad format (Docker's parsers.ParseUintList). */
static bool parse_list(const char *s, unsigned char *bits)
{
	memset(bits, 0, LIST_MAX / 8);
	if (!*s)
		return true;
	const char *p = s;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return false;
		unsigned long a = strtoul(p, &end, 10), b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			b = strtoul(p, &end, 10);
			p = end;
			if (b < a)
				return false;
		}
		if (b >= LIST_MAX)
			return false;
		for (unsigned long i = a; i <= b; i++)
			bits[i / 8] |= (unsigned char)(1u << (i % 8));
		if (*p == ',') {
			p++;
			if (!*p)
				return false;
		} else if (*p) {
			return false;
		}
	}
	return true;
}

/* The first of a list of files that exists, trimmed; "" when none. */
static char *read_first(const char *const *paths)
{
	for (; *paths; paths++) {
		char *text = NULL;
		berr e = {0};
		if (b_read_file(*paths, &text, NULL, &e) == 0) {
			text[strcspn(text, "\n")] = '\0';
			if (*text)
				return text;
		}
		free(text);
		berr_clear(&e);
	}
	return strdup("");
}

static int check_cpuset(const char *want, bool cpus, berr *e)
{
	if (!want || !*want)
		return 0;
	static const char *const cpu_files[] = {"/sys/fs/cgroup/cpuset/cpuset.effective_cpus",
						"/sys/fs/cgroup/cpuset.cpus.effective",
						"/sys/devices/system/cpu/online", NULL};
	static const char *const mem_files[] = {"/sys/fs/cgroup/cpuset/cpuset.effective_mems",
						"/sys/fs/cgroup/cpuset.mems.effective",
						"/sys/devices/system/node/online", NULL};
	/* On the stack: the daemon builds specs on several threads at once. */
	unsigned char want_bits[LIST_MAX / 8], have_bits[LIST_MAX / 8];
	if (!parse_list(want, want_bits))
		return berr_invalid(e, "Invalid value %s for cpuset %s: invalid format: %s", want,
				    cpus ? "cpus" : "mems", want);
	_cleanup_free_ char *have = read_first(cpus ? cpu_files : mem_files);
	if (!have)
		return berr_set(e, ENOMEM, "cpuset");
	if (!*have || !parse_list(have, have_bits))
		return 0; /* cannot tell: let the kernel judge */
	for (size_t i = 0; i < sizeof want_bits; i++)
		if (want_bits[i] & ~have_bits[i]) {
			if (cpus)
				return berr_invalid(e, "Requested CPUs are not available - requested %s, available: %s",
						    want, have);
			return berr_invalid(e, "Requested memory nodes are not available - requested %s, available: %s",
					    want, have);
		}
	return 0;
}

/* ---------- block I/O ---------- */

static int device_numbers(const char *path, const char *field, int64_t *major, int64_t *minor, berr *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_sys(e, "%s: stat %s", field, path);
	if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
		return berr_invalid(e, "%s: %s is not a device", field, path);
	*major = major(st.st_rdev);
	*minor = minor(st.st_rdev);
	return 0;
}

/* [{Path, Rate}] -> [{major, minor, rate}] */
static int throttle_list(json_t *hc, const char *key, json_t *blkio, const char *oci_key, berr *e)
{
	json_t *list = NULL;
	if (eng_jarr(hc, HC, key, &list, e) < 0)
		return -1;
	if (!json_array_size(list))
		return 0;
	json_t *out = json_array();
	json_object_set_new(blkio, oci_key, out);
	size_t i;
	json_t *d;
	json_array_foreach (list, i, d) {
		char field[64];
		snprintf(field, sizeof field, HC ".%s[%zu]", key, i);
		const char *path = NULL;
		int64_t rate = 0, major, minor;
		if (!json_is_object(d))
			return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(d));
		if (eng_jstr(d, field, "Path", &path, e) < 0 || eng_ji64(d, field, "Rate", &rate, e) < 0)
			return -1;
		if (!path)
			return berr_invalid(e, "%s.Path: required", field);
		if (rate < 0)
			return berr_invalid(e, "%s.Rate: must not be negative", field);
		if (device_numbers(path, field, &major, &minor, e) < 0)
			return -1;
		json_array_append_new(out, json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major, "minor",
						     (json_int_t)minor, "rate", (json_int_t)rate));
	}
	return 0;
}

static int blkio(json_t *hc, json_t *res, berr *e)
{
	int64_t weight = 0;
	json_t *wdev = NULL;
	if (eng_ji64(hc, HC, "BlkioWeight", &weight, e) < 0 || eng_jarr(hc, HC, "BlkioWeightDevice", &wdev, e) < 0)
		return -1;
	if (weight && (weight < 10 || weight > 1000))
		return berr_invalid(e, "Range of blkio weight is from 10 to 1000");
	json_t *b = json_object();
	if (!b)
		return berr_set(e, ENOMEM, "blockIO");
	json_object_set_new(res, "blockIO", b);
	if (weight)
		json_object_set_new(b, "weight", json_integer(weight));
	size_t i;
	json_t *d;
	if (json_array_size(wdev)) {
		json_t *out = json_array();
		json_object_set_new(b, "weightDevice", out);
		json_array_foreach (wdev, i, d) {
			char field[64];
			snprintf(field, sizeof field, HC ".BlkioWeightDevice[%zu]", i);
			const char *path = NULL;
			int64_t w = 0, major, minor;
			if (!json_is_object(d))
				return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(d));
			if (eng_jstr(d, field, "Path", &path, e) < 0 || eng_ji64(d, field, "Weight", &w, e) < 0)
				return -1;
			if (!path)
				return berr_invalid(e, "%s.Path: required", field);
			if (w < 10 || w > 1000)
				return berr_invalid(e, "invalid weight for device: %s:%lld (must be 10-1000)", path,
						    (long long)w);
			if (device_numbers(path, field, &major, &minor, e) < 0)
				return -1;
			json_array_append_new(out, json_pack("{s:I, s:I, s:I}", "major", (json_int_t)major, "minor",
							     (json_int_t)minor, "weight", (json_int_t)w));
		}
	}
	if (throttle_list(hc, "BlkioDeviceReadBps", b, "throttleReadBpsDevice", e) < 0 ||
	    throttle_list(hc, "BlkioDeviceWriteBps", b, "throttleWriteBpsDevice", e) < 0 ||
	    throttle_list(hc, "BlkioDeviceReadIOps", b, "throttleReadIOPSDevice", e) < 0 ||
	    throttle_list(hc, "BlkioDeviceWriteIOps", b, "throttleWriteIOPSDevice", e) < 0)
		return -1;
	if (!json_object_size(b))
		json_object_del(res, "blockIO");
	return 0;
}

/* ---------- memory, cpu, pids ---------- */

int eng_spec_resources(json_t *hc, json_t *res, berr *e)
{
	int64_t memory = 0, swap = 0, reservation = 0, kernel = 0, kernel_tcp = 0, nano = 0, shares = 0, period = 0,
		quota = 0, rt_period = 0, rt_runtime = 0, swappiness = -1, pids = 0;
	const char *cpus = NULL, *mems = NULL;
	bool oom_kill_disable = false;
	json_t *pids_v = json_is_object(hc) ? json_object_get(hc, "PidsLimit") : NULL;
	json_t *oom_v = json_is_object(hc) ? json_object_get(hc, "OomKillDisable") : NULL;
	const struct {
		const char *key;
		int64_t *out;
	} ints[] = {
	    {"Memory", &memory},
	    {"MemorySwap", &swap},
	    {"MemoryReservation", &reservation},
	    {"KernelMemory", &kernel},
	    {"KernelMemoryTCP", &kernel_tcp},
	    {"NanoCpus", &nano},
	    {"CpuShares", &shares},
	    {"CpuPeriod", &period},
	    {"CpuQuota", &quota},
	    {"CpuRealtimePeriod", &rt_period},
	    {"CpuRealtimeRuntime", &rt_runtime},
	    {"MemorySwappiness", &swappiness},
	    {"PidsLimit", &pids},
	};
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if (eng_ji64(hc, HC, ints[i].key, ints[i].out, e) < 0)
			return -1;
	if (eng_jstr(hc, HC, "CpusetCpus", &cpus, e) < 0 || eng_jstr(hc, HC, "CpusetMems", &mems, e) < 0 ||
	    eng_jbool(hc, HC, "OomKillDisable", &oom_kill_disable, e) < 0)
		return -1;

	/* Docker's checks, in its order. */
	if (memory != 0 && memory < MIN_MEMORY)
		return berr_invalid(e, "Minimum memory limit allowed is 6MB");
	if (memory > 0 && swap > 0 && swap < memory)
		return berr_invalid(e, "Minimum memoryswap limit should be larger than memory limit, see usage");
	if (memory == 0 && swap > 0)
		return berr_invalid(e, "You should always set the Memory limit when using Memoryswap limit, see usage");
	if (swappiness != -1 && (swappiness < 0 || swappiness > 100))
		return berr_invalid(e, "Invalid value: %lld, valid memory swappiness range is 0-100",
				    (long long)swappiness);
	if (reservation > 0 && reservation < MIN_MEMORY)
		return berr_invalid(e, "Minimum memory reservation allowed is 6MB");
	if (memory > 0 && reservation > 0 && memory < reservation)
		return berr_invalid(e, "Minimum memory limit can not be less than memory reservation limit, see usage");
	if (nano > 0 && period > 0)
		return berr_invalid(e, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (nano > 0 && quota > 0)
		return berr_invalid(e, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	int ncpu = online_cpus();
	if (nano < 0 || nano > (int64_t)ncpu * 1000000000LL)
		return berr_invalid(e, "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu,
				    ncpu);
	if (shares < 0)
		return berr_invalid(e, "shares: invalid argument");
	if (period != 0 && (period < 1000 || period > 1000000))
		return berr_invalid(
		    e, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
	if (quota > 0 && quota < 1000)
		return berr_invalid(e, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (check_cpuset(cpus, true, e) < 0 || check_cpuset(mems, false, e) < 0)
		return -1;

	/* Docker's adjustments: swap twice the memory by default, shares within the kernel's range. */
	bool swap_ok = swap_limit_supported();
	if (memory > 0 && swap == 0 && swap_ok)
		swap = memory * 2;
	if (!swap_ok)
		swap = 0;
	if (shares > 0 && shares < MIN_SHARES)
		shares = MIN_SHARES;
	if (shares > MAX_SHARES)
		shares = MAX_SHARES;

	json_t *mem = json_object(), *cpu = json_object();
	json_object_set_new(res, "memory", mem);
	json_object_set_new(res, "cpu", cpu);
	if (!mem || !cpu)
		return berr_set(e, ENOMEM, "resources");
	if (memory > 0)
		json_object_set_new(mem, "limit", json_integer(memory));
	if (reservation > 0)
		json_object_set_new(mem, "reservation", json_integer(reservation));
	if (swap > 0)
		json_object_set_new(mem, "swap", json_integer(swap));
	if (swappiness >= 0)
		json_object_set_new(mem, "swappiness", json_integer(swappiness));
	if (kernel)
		json_object_set_new(mem, "kernel", json_integer(kernel));
	if (kernel_tcp)
		json_object_set_new(mem, "kernelTCP", json_integer(kernel_tcp));
	if (oom_v && !json_is_null(oom_v))
		json_object_set_new(mem, "disableOOMKiller", json_boolean(oom_kill_disable));

	if (shares > 0)
		json_object_set_new(cpu, "shares", json_integer(shares));
	if (cpus && *cpus)
		json_object_set_new(cpu, "cpus", json_string(cpus));
	if (mems && *mems)
		json_object_set_new(cpu, "mems", json_string(mems));
	if (nano > 0) {
		/* Period 100ms, the quota its share (kernel sched-bwc). */
		json_object_set_new(cpu, "period", json_integer(100000));
		json_object_set_new(cpu, "quota", json_integer(nano * 100000 / 1000000000LL));
	}
	if (period)
		json_object_set_new(cpu, "period", json_integer(period));
	if (quota)
		json_object_set_new(cpu, "quota", json_integer(quota));
	if (rt_period)
		json_object_set_new(cpu, "realtimePeriod", json_integer(rt_period));
	if (rt_runtime)
		json_object_set_new(cpu, "realtimeRuntime", json_integer(rt_runtime));
	if (!json_object_size(mem))
		json_object_del(res, "memory");
	if (!json_object_size(cpu))
		json_object_del(res, "cpu");

	/* PidsLimit: null leaves it; 0 and below mean unlimited. */
	if (pids_v && !json_is_null(pids_v))
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)(pids > 0 ? pids : -1)));
	return blkio(hc, res, e);
}

/* ---------- ulimits ---------- */

static const char *const ulimit_names[] = {"core",     "cpu",        "data",   "fsize", "locks", "memlock",
					   "msgqueue", "nice",       "nofile", "nproc", "rss",   "rtprio",
					   "rttime",   "sigpending", "stack",  NULL};

int eng_spec_rlimits(json_t *hc, json_t **out, berr *e)
{
	json_t *list = NULL;
	*out = NULL;
	if (eng_jarr(hc, HC, "Ulimits", &list, e) < 0)
		return -1;
	if (!json_array_size(list))
		return 0;
	json_t *arr = json_array();
	if (!arr)
		return berr_set(e, ENOMEM, "ulimits");
	size_t i;
	json_t *u;
	json_array_foreach (list, i, u) {
		char field[48];
		snprintf(field, sizeof field, HC ".Ulimits[%zu]", i);
		const char *name = NULL;
		int64_t soft = 0, hard = 0;
		if (!json_is_object(u)) {
			json_decref(arr);
			return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(u));
		}
		if (eng_jstr(u, field, "Name", &name, e) < 0 || eng_ji64(u, field, "Soft", &soft, e) < 0 ||
		    eng_ji64(u, field, "Hard", &hard, e) < 0) {
			json_decref(arr);
			return -1;
		}
		bool known = false;
		for (const char *const *n = ulimit_names; *n && name && !known; n++)
			known = !strcmp(*n, name);
		if (!known) {
			json_decref(arr);
			return berr_invalid(e, "invalid ulimit type: %s", name ? name : "");
		}
		/* Unlimited is 2^64-1, which a JSON integer here cannot carry. */
		if (soft < 0 || hard < 0) {
			json_decref(arr);
			return berr_invalid(e, "ulimit %s: unlimited (-1) or negative limits are not supported", name);
		}
		if (soft > hard) {
			json_decref(arr);
			return berr_invalid(e,
					    "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
					    (long long)soft, (long long)hard);
		}
		char type[32];
		snprintf(type, sizeof type, "RLIMIT_%s", name);
		for (char *p = type; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t)hard, "soft",
						     (json_int_t)soft));
	}
	*out = arr;
	return 0;
}

/* ---------- devices ---------- */

static bool valid_perms(const char *p)
{
	return *p && strlen(p) <= 3 && strspn(p, "rwm") == strlen(p);
}

/* One device node: its linux.devices entry and its cgroup rule. */
static int add_device(const char *host_path, const char *container_path, const char *perms, json_t *devices,
		      json_t *rules, bool *added, berr *e)
{
	struct stat st;
	*added = false;
	if (stat(host_path, &st) < 0)
		return berr_sys(e, "stat %s", host_path);
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
		return 0;
	const char *type = S_ISBLK(st.st_mode) ? "b" : "c";
	json_int_t maj = (json_int_t)major(st.st_rdev), min = (json_int_t)minor(st.st_rdev);
	json_array_append_new(devices, json_pack("{s:s, s:s, s:I, s:I, s:i, s:i, s:i}", "path", container_path, "type",
						 type, "major", maj, "minor", min, "fileMode", (int)(st.st_mode & 0777),
						 "uid", (int)st.st_uid, "gid", (int)st.st_gid));
	if (rules)
		json_array_append_new(rules, json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type", type, "major",
						       maj, "minor", min, "access", perms));
	*added = true;
	return 0;
}

/* Every device node below dir (host_prefix) as the same path below container_prefix. */
static int add_device_tree(const char *dir, const char *host_prefix, const char *container_prefix, const char *perms,
			   bool privileged_skips, json_t *devices, json_t *rules, berr *e)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : berr_sys(e, "reading %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		_cleanup_free_ char *path = NULL, *inner = NULL;
		if (asprintf(&path, "%s/%s", dir, n) < 0)
			return berr_set(e, ENOMEM, "devices");
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* What a privileged container gets of the host's /dev: not its pty or shm or queues. */
			if (privileged_skips &&
			    (!strcmp(n, "pts") || !strcmp(n, "shm") || !strcmp(n, "fd") || !strcmp(n, "mqueue") ||
			     !strcmp(n, ".lxc") || !strcmp(n, ".lxd-mounts") || !strcmp(n, ".udev")))
				continue;
			if (add_device_tree(path, host_prefix, container_prefix, perms, privileged_skips, devices,
					    rules, e) < 0)
				return -1;
			continue;
		}
		if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
			continue;
		if (privileged_skips && !strcmp(n, "console"))
			continue;
		if (asprintf(&inner, "%s%s", container_prefix, path + strlen(host_prefix)) < 0)
			return berr_set(e, ENOMEM, "devices");
		bool added;
		berr ignored = {0};
		/* A node that vanished in between is not an error. */
		if (add_device(path, inner, perms, devices, rules, &added, &ignored) < 0)
			berr_clear(&ignored);
	}
	return 0;
}

/* "c 1:3 rwm", "a *:* rwm": Docker's DeviceCgroupRules, with its pattern. */
static int cgroup_rule(const char *s, json_t *rules, berr *e)
{
	regex_t re;
	regmatch_t m[5];
	if (regcomp(&re, "^([acb]) ([0-9]+|\\*):([0-9]+|\\*) ([rwm]{1,3})$", REG_EXTENDED) != 0)
		return berr_set(e, ENOMEM, "device cgroup rules");
	int nomatch = regexec(&re, s, 5, m, 0);
	regfree(&re);
	if (nomatch)
		return berr_invalid(e, "invalid device cgroup rule format: '%s'", s);
	char t[2] = {s[0], 0}, access[4] = "";
	memcpy(access, s + m[4].rm_so, (size_t)(m[4].rm_eo - m[4].rm_so));
	json_t *r = json_pack("{s:b, s:s, s:s}", "allow", 1, "type", t, "access", access);
	if (!r)
		return berr_set(e, ENOMEM, "device cgroup rules");
	/* A "*" is left out: the spec's "any". */
	if (s[m[2].rm_so] != '*')
		json_object_set_new(r, "major", json_integer(strtoll(s + m[2].rm_so, NULL, 10)));
	if (s[m[3].rm_so] != '*')
		json_object_set_new(r, "minor", json_integer(strtoll(s + m[3].rm_so, NULL, 10)));
	json_array_append_new(rules, r);
	return 0;
}

int eng_spec_devices(json_t *hc, bool privileged, json_t *devices, json_t *rules, berr *e)
{
	json_t *list = NULL, *crules = NULL;
	if (eng_jarr(hc, HC, "Devices", &list, e) < 0 || eng_jstrarr(hc, HC, "DeviceCgroupRules", &crules, e) < 0)
		return -1;
	if (privileged) {
		/* Every device of the host, and access to all of them. */
		json_array_clear(rules);
		json_array_append_new(rules, json_pack("{s:b, s:s}", "allow", 1, "access", "rwm"));
		if (add_device_tree("/dev", "/dev", "/dev", "rwm", true, devices, NULL, e) < 0)
			return -1;
	}
	size_t i;
	json_t *d;
	json_array_foreach (list, i, d) {
		char field[48];
		snprintf(field, sizeof field, HC ".Devices[%zu]", i);
		const char *host = NULL, *inside = NULL, *perms = NULL;
		if (!json_is_object(d))
			return berr_invalid(e, "%s: expected an object, got %s", field, b_json_type_name(d));
		if (eng_jstr(d, field, "PathOnHost", &host, e) < 0 ||
		    eng_jstr(d, field, "PathInContainer", &inside, e) < 0 ||
		    eng_jstr(d, field, "CgroupPermissions", &perms, e) < 0)
			return -1;
		if (!host || !*host)
			return berr_invalid(e, "%s.PathOnHost: required", field);
		if (!inside || !*inside)
			inside = host;
		if (!perms || !*perms)
			perms = "rwm";
		if (!valid_perms(perms))
			return berr_invalid(e, "invalid device mode: %s", perms);
		if (inside[0] != '/')
			return berr_invalid(e, "%s is not an absolute path", inside);
		/* A symlink on the host stands for what it points to. */
		_cleanup_free_ char *resolved = realpath(host, NULL);
		const char *src = resolved ? resolved : host;
		struct stat st;
		if (stat(src, &st) < 0)
			return berr_set(e, errno,
					"error gathering device information while adding custom device \"%s\"", host);
		bool added = false;
		if (S_ISDIR(st.st_mode)) {
			size_t before = json_array_size(devices);
			if (add_device_tree(src, src, inside, perms, false, devices, rules, e) < 0)
				return -1;
			added = json_array_size(devices) > before;
		} else if (add_device(src, inside, perms, devices, privileged ? NULL : rules, &added, e) < 0) {
			return -1;
		}
		if (!added)
			return berr_invalid(
			    e,
			    "error gathering device information while adding custom device \"%s\": not a "
			    "device node",
			    host);
	}
	if (!privileged) {
		json_array_foreach (crules, i, d)
			if (cgroup_rule(json_string_value(d), rules, e) < 0)
				return -1;
	}
	return 0;
}
