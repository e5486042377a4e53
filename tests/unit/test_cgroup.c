/* cgroup module: layout detection, path resolution, and resource writing into fake cgroupfs trees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "oci/cgroup.h"
#include "oci/cgroup_internal.h"

#define FIXTURES "../fixtures/cgroup/"
#define CTR      "mygroup/ctr1"

/* ---------- fixtures and the fake cgroupfs ---------- */

static char *fixture(const char *name)
{
	char *text = NULL;
	berr e = {0};
	_cleanup_free_ char *path = NULL;
	assert_true(asprintf(&path, FIXTURES "%s", name) > 0);
	if (b_read_file(path, &text, NULL, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	return text;
}

static void copy_tree(const char *src, const char *dst)
{
	assert_int_equal(mkdir(dst, 0755) == 0 || errno == EEXIST, 1);
	_cleanup_closedir_ DIR *d = opendir(src);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *s = NULL, *t = NULL;
		assert_true(asprintf(&s, "%s/%s", src, de->d_name) > 0 && asprintf(&t, "%s/%s", dst, de->d_name) > 0);
		struct stat st;
		assert_int_equal(lstat(s, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			copy_tree(s, t);
		} else {
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;
			berr e = {0};
			assert_int_equal(b_read_file(s, &buf, &len, &e), 0);
			assert_int_equal(b_write_file(t, buf, len, 0644, &e), 0);
		}
	}
}

/* One temporary root per test: the fake /sys/fs/cgroup, and a log of every knob write. */
struct world {
	char root[64];
	char *log;
};
static struct world *W;

/* Knob writes as the kernel takes them (the old value is replaced), logged as "rel/path=value". */
static int record_write(const char *path, const char *value, berr *e)
{
	const char *rel = path;
	if (!strncmp(path, W->root, strlen(W->root)))
		rel = path + strlen(W->root) + 1;
	char *line = NULL;
	assert_true(asprintf(&line, "%s%s=%s\n", W->log ? W->log : "", rel, value) > 0);
	free(W->log);
	W->log = line;
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		assert_int_equal(truncate(path, 0), 0);
	return b_write_knob(path, value, e);
}

static int setup(void **state)
{
	W = calloc(1, sizeof(*W));
	strcpy(W->root, "/tmp/test_cgroup.XXXXXX");
	if (!W || !mkdtemp(W->root))
		return -1;
	cg_knob_writer = record_write;
	*state = W;
	return 0;
}

static int teardown(void **state)
{
	berr e = {0};
	b_remove_tree(W->root, &e);
	berr_clear(&e);
	free(W->log);
	free(W);
	W = NULL;
	cg_knob_writer = b_write_knob;
	return 0;
}

/* Fill the temporary root with a fixture tree ("fs-v1" ...). */
static void use_tree(const char *name)
{
	_cleanup_free_ char *src = NULL;
	assert_true(asprintf(&src, FIXTURES "%s", name) > 0);
	copy_tree(src, W->root);
}

/* Contents of root/rel without the trailing newline. */
static char *knob(const char *rel)
{
	_cleanup_free_ char *path = NULL;
	char *s = NULL;
	size_t len = 0;
	berr e = {0};
	assert_true(asprintf(&path, "%s/%s", W->root, rel) > 0);
	if (b_read_file(path, &s, &len, &e) < 0)
		fail_msg("%s", berr_msg(&e));
	while (len && s[len - 1] == '\n')
		s[--len] = '\0';
	return s;
}

#define assert_knob(rel, want)                         \
	do {                                           \
		_cleanup_free_ char *got_ = knob(rel); \
		assert_string_equal(got_, want);       \
	} while (0)

/* root + "/" + rel */
static char *at_root(const char *rel)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", W->root, rel) > 0);
	return p;
}

static void assert_dir(const struct oci_cgroup *cg, const char *controller, const char *rel)
{
	const char *got = oci_cgroup_controller_dir(cg, controller);
	if (!rel) {
		assert_null(got);
		return;
	}
	_cleanup_free_ char *want = at_root(rel);
	assert_non_null(got);
	assert_string_equal(got, want);
}

/* The logged writes, one "file=value" per line, must contain these lines in this order. */
static void assert_log_order(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	const char *from = W->log ? W->log : "";
	for (const char *want = first; want; want = va_arg(ap, const char *)) {
		_cleanup_free_ char *line = NULL;
		assert_true(asprintf(&line, "%s\n", want) > 0);
		const char *at = strstr(from, line);
		if (!at)
			fail_msg("write \"%s\" missing or out of order in:\n%s", want, W->log ? W->log : "");
		from = at + strlen(line);
	}
	va_end(ap);
}

static bool logged(const char *needle)
{
	return W->log && strstr(W->log, needle);
}

static struct oci_cgroup *open_ok(const char *mountinfo, const char *self, const char *path, bool create,
				  const struct oci_resources *res)
{
	_cleanup_free_ char *mi = fixture(mountinfo), *sc = fixture(self);
	struct oci_cgroup *cg = NULL;
	berr e = {0};
	if (oci_cgroup_open_at(W->root, mi, sc, path, "ctr9", create, res, &cg, &e) < 0)
		fail_msg("open %s: %s", path ? path : "(null)", berr_msg(&e));
	return cg;
}

/* Open expected to fail: returns the error (to be cleared by the caller). */
static berr open_err(const char *mountinfo, const char *self, const char *path, const char *id, bool create,
		     const struct oci_resources *res)
{
	_cleanup_free_ char *mi = fixture(mountinfo), *sc = fixture(self);
	struct oci_cgroup *cg = NULL;
	berr e = {0};
	assert_int_equal(oci_cgroup_open_at(W->root, mi, sc, path, id, create, res, &cg, &e), -1);
	assert_null(cg);
	assert_non_null(e.msg);
	return e;
}

/* Replace root/rel's contents (what the fake kernel would now report). */
static void put(const char *rel, const char *content)
{
	_cleanup_free_ char *p = at_root(rel);
	berr e = {0};
	assert_int_equal(b_write_file(p, content, strlen(content), 0644, &e), 0);
}

static void mkdirs(const char *rel)
{
	_cleanup_free_ char *p = at_root(rel);
	berr e = {0};
	assert_int_equal(b_mkdir_p(p, 0755, &e), 0);
}

/* ---------- layout ---------- */

static enum oci_cgroup_layout layout_of(const char *name)
{
	_cleanup_free_ char *text = fixture(name);
	enum oci_cgroup_layout l;
	berr e = {0};
	if (oci_cgroup_detect_layout(text, &l, &e) < 0)
		fail_msg("%s: %s", name, berr_msg(&e));
	return l;
}

static void test_detect_layout(void **state)
{
	/* Lists "/" after its children, as hosts whose early mounts were moved in at boot do. */
	assert_int_equal(layout_of("mountinfo/legacy-combined.txt"), OCI_CGROUP_LEGACY);
	assert_int_equal(layout_of("mountinfo/container-v1.txt"), OCI_CGROUP_LEGACY);
	assert_int_equal(layout_of("mountinfo/hybrid.txt"), OCI_CGROUP_HYBRID);
	assert_int_equal(layout_of("mountinfo/hybrid-ubuntu.txt"), OCI_CGROUP_HYBRID);
	assert_int_equal(layout_of("mountinfo/unified.txt"), OCI_CGROUP_UNIFIED);
	/* cgroup2 mounted over /sys/fs/cgroup hides the v1 hierarchies under it. */
	assert_int_equal(layout_of("mountinfo/overmounted.txt"), OCI_CGROUP_UNIFIED);
	/* cgroups mounted outside /sys/fs/cgroup (a container's rootfs, a private cgroup2) do not count. */
	assert_int_equal(layout_of("mountinfo/elsewhere.txt"), OCI_CGROUP_LEGACY);

	_cleanup_free_ char *none = fixture("mountinfo/none.txt");
	enum oci_cgroup_layout l;
	berr e = {0};
	assert_int_equal(oci_cgroup_detect_layout(none, &l, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	assert_non_null(strstr(berr_msg(&e), "/sys/fs/cgroup"));
	berr_clear(&e);
	assert_int_equal(oci_cgroup_detect_layout("", &l, &e), -1);
	berr_clear(&e);
}

static void test_combined_controllers(void **state)
{
	use_tree("fs-v1");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/" CTR, false, NULL);
	assert_int_equal(oci_cgroup_layout_of(cg), OCI_CGROUP_LEGACY);
	assert_string_equal(oci_cgroup_path(cg), "/" CTR);
	/* "cpu,cpuacct" is one hierarchy: both names lead to its directory. */
	assert_dir(cg, "cpu", "cpu,cpuacct/" CTR);
	assert_dir(cg, "cpuacct", "cpu,cpuacct/" CTR);
	assert_dir(cg, "net_cls", "net_cls,net_prio/" CTR);
	assert_dir(cg, "net_prio", "net_cls,net_prio/" CTR);
	assert_dir(cg, "name=systemd", "systemd/" CTR);
	assert_dir(cg, "memory", "memory/" CTR);
	assert_dir(cg, "perf_event", "perf_event/" CTR);
	/* not options: release_agent=..., xattr */
	assert_dir(cg, "xattr", NULL);
	assert_dir(cg, "unified", NULL);
	assert_dir(cg, "rdma", NULL);
	oci_cgroup_free(cg);
}

static void test_hybrid_ubuntu_hierarchies(void **state)
{
	mkdirs("freezer/x");
	struct oci_cgroup *cg = open_ok("mountinfo/hybrid-ubuntu.txt", "self/hybrid.txt", "/x", false, NULL);
	assert_int_equal(oci_cgroup_layout_of(cg), OCI_CGROUP_HYBRID);
	assert_dir(cg, "cpu", "cpu,cpuacct/x");
	assert_dir(cg, "rdma", "rdma/x");
	assert_dir(cg, "name=systemd", "systemd/x");
	assert_dir(cg, "unified", "unified/x");
	oci_cgroup_free(cg);
}

/* ---------- paths ---------- */

static void test_path_absolute(void **state)
{
	mkdirs("freezer/" CTR);
	struct oci_cgroup *cg =
	    open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/mygroup//./x/../ctr1/", false, NULL);
	/* Absolute: from each hierarchy's root, whatever our own cgroup is. */
	assert_string_equal(oci_cgroup_path(cg), "/" CTR);
	assert_dir(cg, "freezer", "freezer/" CTR);
	assert_dir(cg, "memory", "memory/" CTR);
	assert_dir(cg, "cpu", "cpu,cpuacct/" CTR);
	oci_cgroup_free(cg);
}

static void test_path_default(void **state)
{
	mkdirs("freezer/ctr9");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", NULL, false, NULL);
	assert_string_equal(oci_cgroup_path(cg), "/ctr9");
	assert_dir(cg, "pids", "pids/ctr9");
	oci_cgroup_free(cg);
	cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "", false, NULL);
	assert_string_equal(oci_cgroup_path(cg), "/ctr9");
	oci_cgroup_free(cg);
}

static void test_path_relative(void **state)
{
	mkdirs("freezer/user.slice/session-2.scope/berth/ctr1");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "berth/ctr1", false, NULL);
	/* Each hierarchy from our own cgroup in it (/proc/self/cgroup). */
	assert_dir(cg, "freezer", "freezer/user.slice/session-2.scope/berth/ctr1");
	assert_dir(cg, "memory", "memory/user.slice/user-1000.slice/session-2.scope/berth/ctr1");
	assert_dir(cg, "name=systemd", "systemd/user.slice/user-1000.slice/session-2.scope/berth/ctr1");
	/* "cpuacct,cpu" in /proc/self/cgroup is the cpu,cpuacct hierarchy. */
	assert_dir(cg, "cpu", "cpu,cpuacct/user.slice/berth/ctr1");
	assert_dir(cg, "cpuset", "cpuset/berth/ctr1");
	/* Given back as an absolute cgroupsPath, the path names the same cgroup. */
	assert_string_equal(oci_cgroup_path(cg), "/user.slice/session-2.scope/berth/ctr1");
	oci_cgroup_free(cg);

	mkdirs("freezer/user.slice/sibling");
	cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "../sibling", false, NULL);
	assert_dir(cg, "freezer", "freezer/user.slice/sibling");
	oci_cgroup_free(cg);
}

static void test_path_bind_mounted_root(void **state)
{
	/* In a container the hierarchy's /docker/<id> is what is mounted at /sys/fs/cgroup/<ctrl>. */
	mkdirs("freezer/app/sub");
	struct oci_cgroup *cg = open_ok("mountinfo/container-v1.txt", "self/container-v1.txt", "sub", false, NULL);
	assert_dir(cg, "freezer", "freezer/app/sub");
	assert_dir(cg, "memory", "memory/app/sub");
	assert_dir(cg, "cpu", "cpu,cpuacct/sub");
	assert_string_equal(oci_cgroup_path(cg), "/app/sub");
	oci_cgroup_free(cg);
	mkdirs("freezer/abs");
	cg = open_ok("mountinfo/container-v1.txt", "self/container-v1.txt", "/abs", false, NULL);
	assert_dir(cg, "memory", "memory/abs");
	oci_cgroup_free(cg);
}

static void test_path_systemd_form(void **state)
{
	mkdirs("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope");
	struct oci_cgroup *cg = open_ok("mountinfo/unified.txt", "self/unified.txt",
					"kubepods-burstable-pod12.slice:cri-containerd:abc", false, NULL);
	assert_string_equal(
	    oci_cgroup_path(cg),
	    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12.slice/cri-containerd-abc.scope");
	oci_cgroup_free(cg);
	mkdirs("system.slice/docker-abc.scope");
	cg = open_ok("mountinfo/unified.txt", "self/unified.txt", ":docker:abc", false, NULL);
	assert_string_equal(oci_cgroup_path(cg), "/system.slice/docker-abc.scope");
	oci_cgroup_free(cg);
	mkdirs("p-n.scope");
	cg = open_ok("mountinfo/unified.txt", "self/unified.txt", "-.slice:p:n", false, NULL);
	assert_string_equal(oci_cgroup_path(cg), "/p-n.scope");
	oci_cgroup_free(cg);

	berr e = open_err("mountinfo/unified.txt", "self/unified.txt", "notaslice:p:n", "x", false, NULL);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
}

static void test_path_errors(void **state)
{
	/* The root cgroup is nobody's container. */
	berr e = open_err("mountinfo/legacy-combined.txt", "self/legacy.txt", "/a/../..", "x", true, NULL);
	assert_int_equal(e.errnum, EINVAL);
	assert_non_null(strstr(e.msg, "root cgroup"));
	berr_clear(&e);
	e = open_err("mountinfo/legacy-combined.txt", "self/legacy.txt", NULL, "a/b", false, NULL);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	/* Opening one that exists nowhere. */
	e = open_err("mountinfo/legacy-combined.txt", "self/legacy.txt", "/nothere", "x", false, NULL);
	assert_int_equal(e.errnum, ENOENT);
	assert_non_null(strstr(e.msg, "/nothere"));
	berr_clear(&e);
}

/* ---------- v1 ---------- */

static void test_v1_resources(void **state)
{
	use_tree("fs-v1");
	struct oci_device_cgroup devs[] = {
	    {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
	    {.allow = true, .type = 'b', .major = 8, .minor = -1, .access = "r"},
	};
	struct oci_weight_device wd[] = {{.major = 8, .minor = 0, .has_weight = true, .weight = 300}};
	struct oci_throttle_device rbps[] = {{8, 0, 1048576}};
	struct oci_throttle_device wiops[] = {{8, 0, 100}, {8, 16, 200}};
	struct oci_hugepage_limit hp[] = {{.page_size = "2MB", .limit = 4194304}};
	struct oci_resources r = {0};
	r.memory.has_limit = true, r.memory.limit = 104857600;
	r.memory.has_swap = true, r.memory.swap = 209715200;
	r.memory.has_reservation = true, r.memory.reservation = 52428800;
	r.memory.has_swappiness = true, r.memory.swappiness = 10;
	r.memory.has_disable_oom_killer = true, r.memory.disable_oom_killer = true;
	r.memory.has_kernel = true, r.memory.kernel = 1 << 20; /* no memory.kmem.limit_in_bytes here: skipped */
	r.memory.has_kernel_tcp = true, r.memory.kernel_tcp = 1 << 20;
	r.cpu.has_shares = true, r.cpu.shares = 512;
	r.cpu.has_quota = true, r.cpu.quota = 50000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	r.cpu.cpus = "2-3";
	r.pids.has_limit = true, r.pids.limit = 0;
	r.block_io.has_weight = true, r.block_io.weight = 500;
	r.block_io.weight_device = wd, r.block_io.n_weight_device = 1;
	r.block_io.throttle_read_bps = rbps, r.block_io.n_throttle_read_bps = 1;
	r.block_io.throttle_write_iops = wiops, r.block_io.n_throttle_write_iops = 2;
	r.hugepage_limits = hp, r.n_hugepage_limits = 1;
	r.devices = devs, r.n_devices = ARRAY_SIZE(devs);

	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/" CTR, true, &r);

	/* A new cpuset level gets its parent's cpus and mems before anything can enter. */
	assert_knob("cpuset/mygroup/cpuset.cpus", "0-3");
	assert_knob("cpuset/mygroup/cpuset.mems", "0");
	assert_knob("cpuset/" CTR "/cpuset.cpus", "2-3");
	assert_knob("cpuset/" CTR "/cpuset.mems", "0");
	assert_log_order("cpuset/mygroup/cpuset.cpus=0-3", "cpuset/" CTR "/cpuset.cpus=0-3",
			 "cpuset/" CTR "/cpuset.cpus=2-3", NULL);

	assert_knob("memory/" CTR "/memory.limit_in_bytes", "104857600");
	assert_knob("memory/" CTR "/memory.memsw.limit_in_bytes", "209715200");
	/* Lowering from unlimited: the limit first, so that memsw >= limit holds at every step. */
	assert_log_order("memory/" CTR "/memory.limit_in_bytes=104857600",
			 "memory/" CTR "/memory.memsw.limit_in_bytes=209715200", NULL);
	assert_knob("memory/" CTR "/memory.soft_limit_in_bytes", "52428800");
	assert_knob("memory/" CTR "/memory.swappiness", "10");
	assert_knob("memory/" CTR "/memory.oom_control", "1");
	assert_knob("memory/" CTR "/memory.kmem.tcp.limit_in_bytes", "1048576");

	assert_knob("cpu,cpuacct/" CTR "/cpu.shares", "512");
	assert_knob("cpu,cpuacct/" CTR "/cpu.cfs_quota_us", "50000");
	assert_knob("cpu,cpuacct/" CTR "/cpu.cfs_period_us", "100000");
	assert_false(logged("cpu.rt_"));

	assert_knob("pids/" CTR "/pids.max", "max");

	/* No blkio.weight on this kernel: BFQ's knobs. */
	assert_knob("blkio/" CTR "/blkio.bfq.weight", "500");
	assert_knob("blkio/" CTR "/blkio.bfq.weight_device", "8:0 300");
	assert_knob("blkio/" CTR "/blkio.throttle.read_bps_device", "8:0 1048576");
	assert_log_order("blkio/" CTR "/blkio.throttle.write_iops_device=8:0 100",
			 "blkio/" CTR "/blkio.throttle.write_iops_device=8:16 200", NULL);

	assert_knob("hugetlb/" CTR "/hugetlb.2MB.limit_in_bytes", "4194304");
	assert_knob("hugetlb/" CTR "/hugetlb.2MB.rsvd.limit_in_bytes", "4194304");
	assert_knob("hugetlb/" CTR "/hugetlb.1GB.limit_in_bytes", "9223372036854771712");

	/* Deny-all first, then each rule in order. */
	assert_log_order("devices/" CTR "/devices.deny=a", "devices/" CTR "/devices.allow=c 1:3 rwm",
			 "devices/" CTR "/devices.allow=c *:* m", "devices/" CTR "/devices.allow=b 8:* r", NULL);
	oci_cgroup_free(cg);
}

static void test_v1_memsw_order(void **state)
{
	/* Pure rule: memsw first exactly when the new memsw still covers the current limit. */
	assert_true(cg_v1_memsw_first(100, 200));
	assert_true(cg_v1_memsw_first(100, 100));
	assert_false(cg_v1_memsw_first(300, 200));
	assert_true(cg_v1_memsw_first(UINT64_C(9223372036854771712), -1));
	assert_false(cg_v1_memsw_first(UINT64_C(9223372036854771712), 209715200));

	use_tree("fs-v1");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/" CTR, false, NULL);
	struct oci_resources r = {0};
	berr e = {0};
	r.memory.has_limit = r.memory.has_swap = true;

	r.memory.limit = 104857600, r.memory.swap = 209715200;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	/* Growing: memsw first. */
	r.memory.limit = 314572800, r.memory.swap = 419430400;
	free(W->log), W->log = NULL;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_log_order("memory/" CTR "/memory.memsw.limit_in_bytes=419430400",
			 "memory/" CTR "/memory.limit_in_bytes=314572800", NULL);
	/* Shrinking: the limit first. */
	r.memory.limit = 52428800, r.memory.swap = 62914560;
	free(W->log), W->log = NULL;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_log_order("memory/" CTR "/memory.limit_in_bytes=52428800",
			 "memory/" CTR "/memory.memsw.limit_in_bytes=62914560", NULL);
	/* Unlimited memory with swap unsaid: swap unlimited too, memsw first. */
	r.memory.limit = -1, r.memory.has_swap = false;
	free(W->log), W->log = NULL;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_log_order("memory/" CTR "/memory.memsw.limit_in_bytes=-1", "memory/" CTR "/memory.limit_in_bytes=-1",
			 NULL);
	/* checkBeforeUpdate: below the usage (73400320) is refused. */
	r.memory.limit = 1048576, r.memory.has_check_before_update = r.memory.check_before_update = true;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_non_null(strstr(e.msg, "73400320"));
	berr_clear(&e);
	oci_cgroup_free(cg);
}

static void test_v1_errors(void **state)
{
	use_tree("fs-v1");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/" CTR, false, NULL);
	berr e = {0};

	/* A kernel without CFQ or BFQ: asking for a weight is an error naming both knobs. */
	_cleanup_free_ char *bfq = at_root("blkio/" CTR "/blkio.bfq.weight");
	assert_int_equal(unlink(bfq), 0);
	struct oci_resources r = {0};
	r.block_io.has_weight = true, r.block_io.weight = 500;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_non_null(strstr(e.msg, "blkio.weight"));
	assert_non_null(strstr(e.msg, "blkio.bfq.weight"));
	berr_clear(&e);

	/* Errors name the file and the value. */
	_cleanup_free_ char *limit = at_root("memory/" CTR "/memory.limit_in_bytes");
	assert_int_equal(unlink(limit), 0);
	assert_int_equal(symlink("/dev/full", limit), 0);
	r = (struct oci_resources){0};
	r.memory.has_limit = true, r.memory.limit = 104857600;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	_cleanup_free_ char *want = NULL;
	assert_true(asprintf(&want, "writing \"104857600\" to %s: %s", limit, strerror(ENOSPC)) > 0);
	assert_string_equal(e.msg, want);
	berr_clear(&e);

	/* A missing knob is named too. */
	_cleanup_free_ char *memsw = at_root("memory/" CTR "/memory.memsw.limit_in_bytes");
	assert_int_equal(unlink(memsw), 0);
	r = (struct oci_resources){0};
	r.memory.has_swap = true, r.memory.swap = 209715200;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, ENOENT);
	assert_non_null(strstr(e.msg, memsw));
	berr_clear(&e);

	r = (struct oci_resources){0};
	r.memory.has_swappiness = true, r.memory.swappiness = 101;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);

	/* "unified" keys are v2 files. */
	char *kv[] = {"memory.high", "1000000", NULL};
	r = (struct oci_resources){0};
	r.unified = kv;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	assert_non_null(strstr(e.msg, "memory.high"));
	berr_clear(&e);

	/* A device rule the kernel would not understand. */
	struct oci_device_cgroup bad[] = {{.allow = true, .type = 'x', .major = 1, .minor = 3, .access = "rwm"}};
	r = (struct oci_resources){0};
	r.devices = bad, r.n_devices = 1;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	oci_cgroup_free(cg);
}

static void test_v1_enter_freeze(void **state)
{
	use_tree("fs-v1");
	struct oci_cgroup *cg = open_ok("mountinfo/legacy-combined.txt", "self/legacy.txt", "/" CTR, false, NULL);
	berr e = {0};
	assert_int_equal(oci_cgroup_enter(cg, 4242, &e), 0);
	static const char *const hier[] = {"systemd", "cpu,cpuacct", "net_cls,net_prio", "cpuset",
					   "memory",  "blkio",       "devices",          "freezer",
					   "pids",    "hugetlb",     "perf_event"};
	for (size_t i = 0; i < ARRAY_SIZE(hier); i++) {
		_cleanup_free_ char *rel = NULL;
		assert_true(asprintf(&rel, "%s/" CTR "/cgroup.procs", hier[i]) > 0);
		assert_knob(rel, "4242");
	}
	bool frozen = true;
	assert_int_equal(oci_cgroup_is_frozen(cg, &frozen, &e), 0);
	assert_false(frozen);
	assert_int_equal(oci_cgroup_freeze(cg, true, &e), 0);
	assert_knob("freezer/" CTR "/freezer.state", "FROZEN");
	assert_int_equal(oci_cgroup_is_frozen(cg, &frozen, &e), 0);
	assert_true(frozen);
	assert_int_equal(oci_cgroup_freeze(cg, false, &e), 0);
	assert_knob("freezer/" CTR "/freezer.state", "THAWED");
	oci_cgroup_free(cg);
}

/* ---------- v2 ---------- */

static void test_v2_conversions(void **state)
{
	assert_int_equal(cg_v2_shares_to_weight(2), 1);
	assert_int_equal(cg_v2_shares_to_weight(1024), 39);
	assert_int_equal(cg_v2_shares_to_weight(262144), 10000);
	assert_int_equal(cg_v2_shares_to_weight(1), 1);
	assert_int_equal(cg_v2_shares_to_weight(1000000), 10000);
	assert_int_equal(cg_v2_blkio_to_io_weight(10), 1);
	assert_int_equal(cg_v2_blkio_to_io_weight(500), 4950);
	assert_int_equal(cg_v2_blkio_to_io_weight(1000), 10000);
}

static void test_v2_resources(void **state)
{
	use_tree("fs-v2");
	struct oci_weight_device wd[] = {{.major = 8, .minor = 0, .has_weight = true, .weight = 1000}};
	struct oci_throttle_device rbps[] = {{8, 0, 1048576}};
	struct oci_throttle_device wiops[] = {{8, 16, 0}};
	struct oci_hugepage_limit hp[] = {{.page_size = "2MB", .limit = 4194304}};
	char *kv[] = {"memory.high", "90000000", NULL};
	struct oci_resources r = {0};
	r.memory.has_limit = true, r.memory.limit = 104857600;
	r.memory.has_swap = true, r.memory.swap = 314572800;
	r.memory.has_reservation = true, r.memory.reservation = 52428800;
	r.memory.has_disable_oom_killer = true, r.memory.disable_oom_killer = true;
	r.cpu.has_shares = true, r.cpu.shares = 1024;
	r.cpu.has_quota = true, r.cpu.quota = 50000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	r.cpu.has_idle = true, r.cpu.idle = 1;
	r.cpu.cpus = "0-1", r.cpu.mems = "0";
	r.pids.has_limit = true, r.pids.limit = 100;
	r.block_io.has_weight = true, r.block_io.weight = 500;
	r.block_io.weight_device = wd, r.block_io.n_weight_device = 1;
	r.block_io.throttle_read_bps = rbps, r.block_io.n_throttle_read_bps = 1;
	r.block_io.throttle_write_iops = wiops, r.block_io.n_throttle_write_iops = 1;
	r.hugepage_limits = hp, r.n_hugepage_limits = 1;
	r.unified = kv;

	struct oci_cgroup *cg = open_ok("mountinfo/unified.txt", "self/unified.txt", "/" CTR, true, &r);
	assert_int_equal(oci_cgroup_layout_of(cg), OCI_CGROUP_UNIFIED);
	assert_dir(cg, "memory", CTR);
	assert_dir(cg, "unified", CTR);
	assert_dir(cg, "net_cls", NULL);

	/* Every ancestor passes its controllers down. */
	assert_knob("cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
	assert_knob("mygroup/cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc");
	assert_knob(CTR "/cgroup.subtree_control", "");

	assert_knob(CTR "/memory.max", "104857600");
	assert_knob(CTR "/memory.swap.max", "209715200"); /* swap alone: 300M - 100M */
	assert_knob(CTR "/memory.low", "52428800");
	assert_knob(CTR "/memory.oom.group", "0");
	assert_knob(CTR "/memory.high", "90000000");
	assert_knob(CTR "/cpu.weight", "39");
	assert_knob(CTR "/cpu.max", "50000 100000");
	assert_knob(CTR "/cpu.idle", "1");
	assert_knob(CTR "/cpuset.cpus", "0-1");
	assert_knob(CTR "/cpuset.mems", "0");
	assert_knob(CTR "/pids.max", "100");
	assert_log_order(CTR "/io.weight=4950", CTR "/io.weight=8:0 10000", NULL);
	assert_log_order(CTR "/io.max=8:0 rbps=1048576", CTR "/io.max=8:16 wiops=max", NULL);
	assert_knob(CTR "/hugetlb.2MB.max", "4194304");
	assert_knob(CTR "/hugetlb.2MB.rsvd.max", "4194304");
	oci_cgroup_free(cg);
}

static void test_v2_updates(void **state)
{
	use_tree("fs-v2");
	struct oci_cgroup *cg = open_ok("mountinfo/unified.txt", "self/unified.txt", "/" CTR, false, NULL);
	struct oci_resources r = {0};
	berr e = {0};

	r.cpu.has_quota = true, r.cpu.quota = 20000;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/cpu.max", "20000"); /* the kernel keeps the period */
	/* A period alone keeps the quota in force. */
	put(CTR "/cpu.max", "20000 100000\n");
	r = (struct oci_resources){0};
	r.cpu.has_period = true, r.cpu.period = 50000;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/cpu.max", "20000 50000");
	r.cpu.has_quota = true, r.cpu.quota = -1;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/cpu.max", "max 50000");

	r = (struct oci_resources){0};
	r.pids.has_limit = true, r.pids.limit = -1;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/pids.max", "max");

	/* Swap alone is measured against the memory.max in force. */
	r = (struct oci_resources){0};
	r.memory.has_limit = true, r.memory.limit = 104857600;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	r = (struct oci_resources){0};
	r.memory.has_swap = true, r.memory.swap = 157286400;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/memory.swap.max", "52428800");
	r.memory.swap = 1048576; /* below the limit */
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	/* Unlimited. */
	r = (struct oci_resources){0};
	r.memory.has_limit = true, r.memory.limit = -1;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob(CTR "/memory.max", "max");
	assert_knob(CTR "/memory.swap.max", "max");

	r = (struct oci_resources){0};
	r.cpu.has_realtime_runtime = true, r.cpu.realtime_runtime = 1000;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, ENOTSUP);
	berr_clear(&e);

	char *evil[] = {"../../etc/passwd", "x", NULL};
	r = (struct oci_resources){0};
	r.unified = evil;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	char *missing[] = {"memory.nosuch", "1", NULL};
	r.unified = missing;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_non_null(strstr(e.msg, "memory.nosuch"));
	berr_clear(&e);
	oci_cgroup_free(cg);
}

/* pids no process can have (above the largest pid_max), so that a stray kill() finds nobody. */
#define NOPID1 4194400
#define NOPID2 4194401
#define NOPID3 4194402

static void test_v2_pids_freeze_kill(void **state)
{
	use_tree("fs-v2");
	berr e = {0};
	char procs[64];
	snprintf(procs, sizeof(procs), "%d\n%d\n", NOPID1, NOPID2);
	put(CTR "/cgroup.procs", procs);
	snprintf(procs, sizeof(procs), "%d\n", NOPID3);
	put(CTR "/sub/cgroup.procs", procs);

	struct oci_cgroup *cg = open_ok("mountinfo/unified.txt", "self/unified.txt", "/" CTR, false, NULL);
	pid_t *pids = NULL;
	size_t n = 0;
	assert_int_equal(oci_cgroup_pids(cg, &pids, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], NOPID1);
	assert_int_equal(pids[1], NOPID2);
	assert_int_equal(pids[2], NOPID3);
	free(pids);

	/* The fake kernel reports frozen at once. */
	put(CTR "/cgroup.events", "populated 1\nfrozen 1\n");
	assert_int_equal(oci_cgroup_freeze(cg, true, &e), 0);
	assert_knob(CTR "/cgroup.freeze", "1");
	bool frozen = false;
	assert_int_equal(oci_cgroup_is_frozen(cg, &frozen, &e), 0);
	assert_true(frozen);

	assert_int_equal(oci_cgroup_kill_all(cg, SIGKILL, &e), 0);
	assert_knob(CTR "/cgroup.kill", "1");
	/* Other signals go process by process (nobody has these pids: ESRCH is fine). */
	assert_int_equal(oci_cgroup_kill_all(cg, SIGTERM, &e), 0);
	oci_cgroup_free(cg);
}

/* ---------- hybrid ---------- */

static void test_hybrid(void **state)
{
	use_tree("fs-hybrid");
	struct oci_hugepage_limit hp[] = {{.page_size = "2MB", .limit = 4194304}};
	struct oci_resources r = {0};
	r.memory.has_limit = true, r.memory.limit = 104857600;
	r.cpu.has_shares = true, r.cpu.shares = 512;
	r.hugepage_limits = hp, r.n_hugepage_limits = 1;
	struct oci_cgroup *cg = open_ok("mountinfo/hybrid.txt", "self/hybrid.txt", "/" CTR, true, &r);
	assert_int_equal(oci_cgroup_layout_of(cg), OCI_CGROUP_HYBRID);
	assert_dir(cg, "cpu", "cpu/" CTR);
	assert_dir(cg, "cpuacct", "cpuacct/" CTR);
	assert_dir(cg, "unified", "unified/" CTR);
	/* hugetlb is not mounted as v1 here: cgroup2 has it. */
	assert_dir(cg, "hugetlb", "unified/" CTR);

	assert_knob("memory/" CTR "/memory.limit_in_bytes", "104857600");
	assert_knob("cpu/" CTR "/cpu.shares", "512");
	assert_knob("cpuset/" CTR "/cpuset.cpus", "0-1");
	assert_knob("unified/" CTR "/hugetlb.2MB.max", "4194304");
	/* cgroup2 passes down only what the v1 side lacks and the container needs. */
	assert_knob("unified/cgroup.subtree_control", "+hugetlb");
	assert_knob("unified/mygroup/cgroup.subtree_control", "+hugetlb");
	/* No memsw knob on this kernel: an unlimited update does not touch it. */
	r = (struct oci_resources){0};
	r.memory.has_limit = true, r.memory.limit = -1;
	berr e = {0};
	assert_int_equal(oci_cgroup_update(cg, &r, &e), 0);
	assert_knob("memory/" CTR "/memory.limit_in_bytes", "-1");

	/* Processes go into every v1 hierarchy and into cgroup2. */
	assert_int_equal(oci_cgroup_enter(cg, 4242, &e), 0);
	static const char *const hier[] = {"cpu",     "cpuacct", "cpuset", "memory",  "devices",
					   "freezer", "blkio",   "pids",   "systemd", "unified"};
	for (size_t i = 0; i < ARRAY_SIZE(hier); i++) {
		_cleanup_free_ char *rel = NULL;
		assert_true(asprintf(&rel, "%s/" CTR "/cgroup.procs", hier[i]) > 0);
		assert_knob(rel, "4242");
	}
	/* The v1 freezer does the freezing; cgroup2's cgroup.kill the killing. */
	assert_int_equal(oci_cgroup_freeze(cg, true, &e), 0);
	assert_knob("freezer/" CTR "/freezer.state", "FROZEN");
	assert_knob("unified/" CTR "/cgroup.freeze", "0");
	assert_int_equal(oci_cgroup_kill_all(cg, SIGKILL, &e), 0);
	assert_knob("unified/" CTR "/cgroup.kill", "1");

	char *kv[] = {"memory.high", "1000000", NULL};
	r = (struct oci_resources){0};
	r.unified = kv;
	assert_int_equal(oci_cgroup_update(cg, &r, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
	oci_cgroup_free(cg);
}

/* ---------- creating and removing ---------- */

static bool exists(const char *rel)
{
	_cleanup_free_ char *p = at_root(rel);
	return b_path_exists(p);
}

static void test_create_destroy(void **state)
{
	/* A layout without cpuset and cgroup2, so that plain mkdir makes a usable tree. */
	static const char *const hier[] = {"systemd", "cpu,cpuacct", "memory", "freezer", "pids"};
	for (size_t i = 0; i < ARRAY_SIZE(hier); i++)
		mkdirs(hier[i]);
	struct oci_cgroup *cg = open_ok("mountinfo/container-v1.txt", "self/container-v1.txt", "/d/ctr", true, NULL);
	berr e = {0};
	for (size_t i = 0; i < ARRAY_SIZE(hier); i++) {
		_cleanup_free_ char *rel = NULL;
		assert_true(asprintf(&rel, "%s/d/ctr", hier[i]) > 0);
		assert_true(exists(rel));
	}
	mkdirs("memory/d/ctr/sub/subsub");
	assert_int_equal(oci_cgroup_destroy(cg, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(hier); i++) {
		_cleanup_free_ char *rel = NULL, *parent = NULL;
		assert_true(asprintf(&rel, "%s/d/ctr", hier[i]) > 0 && asprintf(&parent, "%s/d", hier[i]) > 0);
		assert_false(exists(rel));
		assert_true(exists(parent));
	}
	/* Gone already: fine. */
	assert_int_equal(oci_cgroup_destroy(cg, &e), 0);
	oci_cgroup_free(cg);

	/* A failed create takes away what it made (here: pids.max is missing in the fake tree). */
	struct oci_resources r = {0};
	r.pids.has_limit = true, r.pids.limit = 10;
	e = open_err("mountinfo/container-v1.txt", "self/container-v1.txt", "/new/ctr", "x", true, &r);
	assert_non_null(strstr(e.msg, "pids.max"));
	berr_clear(&e);
	assert_false(exists("pids/new"));
	assert_false(exists("memory/new"));
	assert_true(exists("pids/d"));
}

/* ---------- the v2 device filter, run by a small interpreter ---------- */

/* Execute the subset of eBPF the device filter uses, for one device access. */
static int run_filter(const struct bpf_insn *p, size_t n, char type, uint32_t major, uint32_t minor, const char *acc)
{
	struct bpf_cgroup_dev_ctx ctx = {
	    .access_type = (uint32_t)(type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
	    .major = major,
	    .minor = minor,
	};
	for (const char *a = acc; *a; a++)
		ctx.access_type |= (uint32_t)(*a == 'r'   ? BPF_DEVCG_ACC_READ
					      : *a == 'w' ? BPF_DEVCG_ACC_WRITE
							  : BPF_DEVCG_ACC_MKNOD)
				   << 16;
	uint64_t r[11] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *i = &p[pc];
		uint64_t imm = (uint64_t)(int64_t)i->imm;
		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			assert_int_equal(i->src_reg, 1);
			assert_true(i->off >= 0 && (size_t)i->off + 4 <= sizeof(ctx));
			uint32_t v;
			memcpy(&v, (char *)&ctx + i->off, 4);
			r[i->dst_reg] = v;
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X: r[i->dst_reg] = r[i->src_reg]; break;
		case BPF_ALU | BPF_MOV | BPF_X: r[i->dst_reg] = (uint32_t)r[i->src_reg]; break;
		case BPF_ALU64 | BPF_MOV | BPF_K: r[i->dst_reg] = imm; break;
		case BPF_ALU | BPF_AND | BPF_K: r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm; break;
		case BPF_ALU | BPF_RSH | BPF_K: r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm; break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[i->dst_reg] != imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			if (r[i->dst_reg] == imm)
				pc += (size_t)i->off;
			break;
		case BPF_JMP | BPF_EXIT: return (int)r[0];
		default: fail_msg("unexpected opcode %#x at %zu", i->code, pc);
		}
		assert_true(pc < n);
	}
	fail_msg("the program ran off its end");
	return -1;
}

static void test_v2_device_filter(void **state)
{
	struct oci_device_cgroup rules[] = {
	    {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"}, /* null */
	    {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "r"},   /* zero, read only */
	    {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"}, /* mknod any char */
	    {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"},
	    {.allow = false, .type = 'c', .major = 136, .minor = 3, .access = "w"},
	    {.allow = true, .type = 'b', .major = 8, .minor = 0, .access = NULL},
	};
	struct bpf_insn *p = NULL;
	size_t n = 0;
	berr e = {0};
	assert_int_equal(cg_v2_devices_build(rules, ARRAY_SIZE(rules), &p, &n, &e), 0);
	/* Every jump lands inside; the last instruction exits (the verifier refuses less). */
	for (size_t i = 0; i < n; i++)
		if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT)
			assert_true(i + 1 + (size_t)p[i].off < n);
	assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);

	assert_int_equal(run_filter(p, n, 'c', 1, 3, "rw"), 1);
	assert_int_equal(run_filter(p, n, 'c', 1, 5, "r"), 1);
	assert_int_equal(run_filter(p, n, 'c', 1, 5, "rw"), 0);
	assert_int_equal(run_filter(p, n, 'c', 1, 7, "r"), 0);
	assert_int_equal(run_filter(p, n, 'c', 1, 7, "m"), 1);
	assert_int_equal(run_filter(p, n, 'b', 1, 3, "r"), 0);
	assert_int_equal(run_filter(p, n, 'c', 136, 0, "rw"), 1);
	/* The later deny wins for writes, reads stay allowed. */
	assert_int_equal(run_filter(p, n, 'c', 136, 3, "w"), 0);
	assert_int_equal(run_filter(p, n, 'c', 136, 3, "rw"), 0);
	assert_int_equal(run_filter(p, n, 'c', 136, 3, "r"), 1);
	assert_int_equal(run_filter(p, n, 'b', 8, 0, "rwm"), 1);
	assert_int_equal(run_filter(p, n, 'b', 8, 1, "r"), 0);
	free(p);

	/* Without a deny-all, what no rule names stays allowed (the parent's default). */
	struct oci_device_cgroup open_rules[] = {
	    {.allow = false, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},
	};
	assert_int_equal(cg_v2_devices_build(open_rules, 1, &p, &n, &e), 0);
	assert_int_equal(run_filter(p, n, 'c', 1, 9, "r"), 0);
	assert_int_equal(run_filter(p, n, 'c', 1, 3, "r"), 1);
	free(p);

	/* Privileged: allow everything, and nothing follows that rule. */
	struct oci_device_cgroup all[] = {{.allow = true, .type = 'a', .major = -1, .minor = -1, .access = "rwm"}};
	assert_int_equal(cg_v2_devices_build(all, 1, &p, &n, &e), 0);
	assert_int_equal(run_filter(p, n, 'b', 259, 1, "rwm"), 1);
	assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(p[n - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
	free(p);

	struct oci_device_cgroup bad[] = {{.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwx"}};
	assert_int_equal(cg_v2_devices_build(bad, 1, &p, &n, &e), -1);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_detect_layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_combined_controllers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hybrid_ubuntu_hierarchies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_absolute, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_relative, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_bind_mounted_root, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_systemd_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_path_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_resources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_memsw_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v1_enter_freeze, setup, teardown),
	    cmocka_unit_test(test_v2_conversions),
	    cmocka_unit_test_setup_teardown(test_v2_resources, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_updates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v2_pids_freeze_kill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hybrid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_destroy, setup, teardown),
	    cmocka_unit_test(test_v2_device_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
