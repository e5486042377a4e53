/* cgroup v1: resource knobs of the memory, cpu, cpuset, blkio, hugetlb and devices
 * controllers, and the v1 freezer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cleanup.h"
#include "cgroup_internal.h"

/* The kernel's "operation not supported" that is not EOPNOTSUPP (include/linux/errno.h). */
#define KERNEL_ENOTSUPP 524

int cg_v1_cpuset_inherit(const char *dir, const char *parent, berr *e)
{
	static const char *const knobs[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < ARRAY_SIZE(knobs); i++) {
		_cleanup_free_ char *mine = NULL, *theirs = NULL;
		if (cg_read(dir, knobs[i], &mine, e) < 0)
			return -1;
		if (*mine)
			continue;
		if (cg_read(parent, knobs[i], &theirs, e) < 0)
			return -1;
		if (*theirs && cg_write(dir, knobs[i], theirs, e) < 0)
			return -1;
	}
	return 0;
}

static int write_i64(const char *dir, const char *file, int64_t v, berr *e)
{
	return cg_writef(dir, file, e, "%" PRId64, v);
}

bool cg_v1_memsw_first(uint64_t cur_limit, int64_t new_swap)
{
	/*
	 * The kernel keeps memsw >= limit after every single write: when the new memsw
	 * still covers the current limit, raise it first; otherwise lower the limit first.
	 */
	return new_swap == -1 || (new_swap > 0 && (uint64_t)new_swap >= cur_limit);
}

/* Kernel memory limits are deprecated: write them only where the kernel still has the file. */
static int write_kmem(const char *dir, const char *file, int64_t v, berr *e)
{
	if (!cg_exists(dir, file))
		return 0;
	berr le = {0};
	if (write_i64(dir, file, v, &le) == 0)
		return 0;
	if (le.errnum == EOPNOTSUPP || le.errnum == KERNEL_ENOTSUPP) {
		berr_clear(&le);
		return 0;
	}
	return cg_err_move(e, &le);
}

int cg_v1_set_memory(const char *dir, const struct oci_resources *r, berr *e)
{
	int64_t limit = r->memory.has_limit ? r->memory.limit : 0;
	int64_t swap = r->memory.has_swap ? r->memory.swap : 0;
	const char *memsw = "memory.memsw.limit_in_bytes";
	/* Unlimited memory with swap unsaid lifts the swap limit too (docker update --memory -1). */
	if (limit == -1 && swap == 0 && cg_exists(dir, memsw))
		swap = -1;
	if (r->memory.has_check_before_update && r->memory.check_before_update && limit > 0 &&
	    cg_check_usage(dir, "memory.usage_in_bytes", limit, e) < 0)
		return -1;
	if (limit && swap) {
		uint64_t cur;
		if (cg_read_u64(dir, "memory.limit_in_bytes", &cur, e) < 0)
			return -1;
		if (cg_v1_memsw_first(cur, swap)) {
			if (write_i64(dir, memsw, swap, e) < 0 || write_i64(dir, "memory.limit_in_bytes", limit, e) < 0)
				return -1;
		} else {
			if (write_i64(dir, "memory.limit_in_bytes", limit, e) < 0 || write_i64(dir, memsw, swap, e) < 0)
				return -1;
		}
	} else if (limit) {
		if (write_i64(dir, "memory.limit_in_bytes", limit, e) < 0)
			return -1;
	} else if (swap) {
		if (write_i64(dir, memsw, swap, e) < 0)
			return -1;
	}
	if (r->memory.has_reservation && r->memory.reservation &&
	    write_i64(dir, "memory.soft_limit_in_bytes", r->memory.reservation, e) < 0)
		return -1;
	if (r->memory.has_kernel && r->memory.kernel &&
	    write_kmem(dir, "memory.kmem.limit_in_bytes", r->memory.kernel, e) < 0)
		return -1;
	if (r->memory.has_kernel_tcp && r->memory.kernel_tcp &&
	    write_kmem(dir, "memory.kmem.tcp.limit_in_bytes", r->memory.kernel_tcp, e) < 0)
		return -1;
	/* UINT64_MAX is -1 read into the unsigned field: "leave it to the kernel". */
	if (r->memory.has_swappiness && r->memory.swappiness != UINT64_MAX) {
		if (r->memory.swappiness > 100)
			return berr_invalid(e, "memory.swappiness %" PRIu64 " is out of range 0-100",
					    r->memory.swappiness);
		if (cg_writef(dir, "memory.swappiness", e, "%" PRIu64, r->memory.swappiness) < 0)
			return -1;
	}
	if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer &&
	    cg_write(dir, "memory.oom_control", "1", e) < 0)
		return -1;
	return 0;
}

int cg_v1_set_cpu(const char *dir, const struct oci_resources *r, berr *e)
{
	if (r->cpu.has_shares && r->cpu.shares && cg_writef(dir, "cpu.shares", e, "%" PRIu64, r->cpu.shares) < 0)
		return -1;
	uint64_t period = r->cpu.has_period ? r->cpu.period : 0;
	int64_t quota = r->cpu.has_quota ? r->cpu.quota : 0;
	bool period_pending = false;
	if (period) {
		/*
		 * A shorter period can be refused (EINVAL) while the old quota over it would exceed
		 * the parent's; when a quota comes too, try the period again after it.
		 */
		berr le = {0};
		if (cg_writef(dir, "cpu.cfs_period_us", &le, "%" PRIu64, period) < 0) {
			if (le.errnum != EINVAL || !quota)
				return cg_err_move(e, &le);
			berr_clear(&le);
			period_pending = true;
		}
	}
	if (quota && write_i64(dir, "cpu.cfs_quota_us", quota, e) < 0)
		return -1;
	if (period_pending && cg_writef(dir, "cpu.cfs_period_us", e, "%" PRIu64, period) < 0)
		return -1;
	/* The runtime is checked against the period: period first. */
	if (r->cpu.has_realtime_period && r->cpu.realtime_period &&
	    cg_writef(dir, "cpu.rt_period_us", e, "%" PRIu64, r->cpu.realtime_period) < 0)
		return -1;
	if (r->cpu.has_realtime_runtime && r->cpu.realtime_runtime &&
	    write_i64(dir, "cpu.rt_runtime_us", r->cpu.realtime_runtime, e) < 0)
		return -1;
	if (r->cpu.has_idle && (r->cpu.idle || cg_exists(dir, "cpu.idle")) &&
	    write_i64(dir, "cpu.idle", r->cpu.idle, e) < 0)
		return -1;
	return 0;
}

static int write_throttle(const char *dir, const char *file, const struct oci_throttle_device *t, size_t n, berr *e)
{
	for (size_t i = 0; i < n; i++)
		if (cg_writef(dir, file, e, "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor, t[i].rate) < 0)
			return -1;
	return 0;
}

int cg_v1_set_blkio(const char *dir, const struct oci_resources *r, berr *e)
{
	/* blkio.weight is CFQ's, gone since 5.0; BFQ names its own. */
	const char *weight = cg_exists(dir, "blkio.weight")       ? "blkio.weight"
			     : cg_exists(dir, "blkio.bfq.weight") ? "blkio.bfq.weight"
								  : NULL;
	const char *weight_device =
	    weight && !strcmp(weight, "blkio.bfq.weight") ? "blkio.bfq.weight_device" : "blkio.weight_device";
	if (r->block_io.has_weight && r->block_io.weight) {
		if (!weight)
			return berr_set(e, ENOTSUP,
					"setting blkio weight %u: %s has neither blkio.weight nor blkio.bfq.weight "
					"(no CFQ or BFQ I/O scheduler)",
					r->block_io.weight, dir);
		if (cg_writef(dir, weight, e, "%u", r->block_io.weight) < 0)
			return -1;
	}
	if (r->block_io.has_leaf_weight && r->block_io.leaf_weight &&
	    cg_writef(dir, "blkio.leaf_weight", e, "%u", r->block_io.leaf_weight) < 0)
		return -1;
	for (size_t i = 0; i < r->block_io.n_weight_device; i++) {
		const struct oci_weight_device *w = &r->block_io.weight_device[i];
		if (w->has_weight &&
		    cg_writef(dir, weight_device, e, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor, w->weight) < 0)
			return -1;
		if (w->has_leaf_weight && cg_writef(dir, "blkio.leaf_weight_device", e, "%" PRId64 ":%" PRId64 " %u",
						    w->major, w->minor, w->leaf_weight) < 0)
			return -1;
	}
	const __typeof__(r->block_io) *b = &r->block_io;
	if (write_throttle(dir, "blkio.throttle.read_bps_device", b->throttle_read_bps, b->n_throttle_read_bps, e) <
		0 ||
	    write_throttle(dir, "blkio.throttle.write_bps_device", b->throttle_write_bps, b->n_throttle_write_bps, e) <
		0 ||
	    write_throttle(dir, "blkio.throttle.read_iops_device", b->throttle_read_iops, b->n_throttle_read_iops, e) <
		0 ||
	    write_throttle(dir, "blkio.throttle.write_iops_device", b->throttle_write_iops, b->n_throttle_write_iops,
			   e) < 0)
		return -1;
	return 0;
}

int cg_v1_set_hugetlb(const char *dir, const struct oci_resources *r, berr *e)
{
	return cg_set_hugetlb(dir, r, "limit_in_bytes", e);
}

/* "c 1:3 rwm", "b *:* m", "a" (the kernel reads "a" as every device and access). */
static char *device_rule(const struct oci_device_cgroup *d)
{
	char *s = NULL, maj[24], min[24];
	const char *access = d->access && *d->access ? d->access : "rwm";
	if (d->type == 'a')
		return strdup("a");
	if (d->major < 0)
		strcpy(maj, "*");
	else
		snprintf(maj, sizeof(maj), "%" PRId64, d->major);
	if (d->minor < 0)
		strcpy(min, "*");
	else
		snprintf(min, sizeof(min), "%" PRId64, d->minor);
	return asprintf(&s, "%c %s:%s %s", d->type, maj, min, access) < 0 ? NULL : s;
}

int cg_v1_set_devices(const char *dir, const struct oci_resources *r, berr *e)
{
	/*
	 * In order, each rule to devices.allow or devices.deny: a leading deny-all ("a" to
	 * devices.deny) empties the list, and the allows after it open what they name.
	 */
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_cgroup *d = &r->devices[i];
		if (!d->type || !strchr("abc", d->type))
			return berr_invalid(e, "device rule %zu: type '%c' is not one of a, b, c", i, d->type);
		if (d->access && strspn(d->access, "rwm") != strlen(d->access))
			return berr_invalid(e, "device rule %zu: access \"%s\" is not a subset of \"rwm\"", i,
					    d->access);
		_cleanup_free_ char *rule = device_rule(d);
		if (!rule)
			return berr_set(e, ENOMEM, "setting device rules in %s", dir);
		if (cg_write(dir, d->allow ? "devices.allow" : "devices.deny", rule, e) < 0)
			return -1;
	}
	return 0;
}

int cg_v1_is_frozen(const char *dir, bool *frozen, berr *e)
{
	_cleanup_free_ char *state = NULL;
	if (cg_read(dir, "freezer.state", &state, e) < 0)
		return -1;
	*frozen = !strcmp(state, "FROZEN");
	return 0;
}

int cg_v1_freeze(const char *dir, bool frozen, berr *e)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	int64_t deadline = cg_now_ms() + 5000;
	long nap = 1;
	/*
	 * The state stays FREEZING while some task has not reached the freezer yet (one in
	 * uninterruptible sleep, one just forked); asking again makes the kernel retry them.
	 */
	for (;;) {
		_cleanup_free_ char *state = NULL;
		if (cg_write(dir, "freezer.state", want, e) < 0 || cg_read(dir, "freezer.state", &state, e) < 0)
			return -1;
		if (!strcmp(state, want))
			return 0;
		if (cg_now_ms() > deadline) {
			if (frozen)
				cg_write(dir, "freezer.state", "THAWED", NULL);
			return berr_set(e, ETIMEDOUT, "%s %s: still %s after 5 seconds",
					frozen ? "freezing" : "thawing", dir, state);
		}
		cg_sleep_ms(nap);
		if (nap < 10)
			nap *= 2;
	}
}
