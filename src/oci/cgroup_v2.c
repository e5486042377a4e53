/* cgroup v2: controllers passed down through cgroup.subtree_control, resource knobs in v2
 * units, "unified" keys, cgroup.freeze and cgroup.kill. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/cleanup.h"
#include "cgroup_internal.h"

uint64_t cg_v2_shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_v2_blkio_to_io_weight(uint64_t weight)
{
	if (weight < 10)
		weight = 10;
	if (weight > 1000)
		weight = 1000;
	return 1 + ((weight - 10) * 9999) / 990;
}

/* Is word one of the space-separated words of list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

int cg_v2_enable_controllers(const char *dir, bool all, char *const *needed, berr *e)
{
	_cleanup_free_ char *avail = NULL, *enabled = NULL, *want = NULL;
	if (cg_read(dir, "cgroup.controllers", &avail, e) < 0 ||
	    cg_read(dir, "cgroup.subtree_control", &enabled, e) < 0)
		return -1;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);
	if (!f)
		return berr_sys(e, "enabling controllers in %s", dir);
	const char *sep = "";
	char *save = NULL;
	for (char *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		if (!has_word(enabled, c) && (all || cg_strv_has(needed, c))) {
			fprintf(f, "%s+%s", sep, c);
			sep = " ";
		}
	}
	if (fclose(f) != 0)
		return berr_set(e, ENOMEM, "enabling controllers in %s", dir);
	if (!*want)
		return 0;
	/* All in one write; when the kernel refuses one, go one by one and keep the needed ones' errors. */
	berr le = {0};
	if (cg_write(dir, "cgroup.subtree_control", want, &le) == 0)
		return 0;
	berr_clear(&le);
	save = NULL;
	for (char *c = strtok_r(want, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		if (cg_write(dir, "cgroup.subtree_control", c, &le) < 0) {
			if (cg_strv_has(needed, c + 1))
				return cg_err_move(e, &le);
			berr_clear(&le);
		}
	}
	return 0;
}

/* "max" for -1 (unlimited), else the number. */
static int write_limit(const char *dir, const char *file, int64_t v, berr *e)
{
	if (v == -1)
		return cg_write(dir, file, "max", e);
	if (v < 0)
		return berr_invalid(e, "%s/%s: %" PRId64 " is not a limit", dir, file, v);
	return cg_writef(dir, file, e, "%" PRId64, v);
}

int cg_v2_set_memory(const char *dir, const struct oci_resources *r, berr *e)
{
	int64_t limit = r->memory.has_limit ? r->memory.limit : 0;
	int64_t swap = r->memory.has_swap ? r->memory.swap : 0;
	if (r->memory.has_check_before_update && r->memory.check_before_update && limit > 0 &&
	    cg_check_usage(dir, "memory.current", limit, e) < 0)
		return -1;
	/* The spec's swap is memory+swap, as in v1; memory.swap.max counts swap alone. */
	if (swap == -1 || (limit == -1 && swap == 0)) {
		/* Unlimited memory with swap unsaid lifts the swap limit too, where swap is accounted. */
		if ((swap == -1 || cg_exists(dir, "memory.swap.max")) && cg_write(dir, "memory.swap.max", "max", e) < 0)
			return -1;
	} else if (swap) {
		int64_t mem = limit;
		if (!mem) {
			/* An update of swap alone is against the limit in force. */
			_cleanup_free_ char *cur = NULL;
			if (cg_read(dir, "memory.max", &cur, e) < 0)
				return -1;
			mem = strcmp(cur, "max") != 0 ? strtoll(cur, NULL, 10) : -1;
		}
		if (mem <= 0)
			return berr_invalid(e, "memory swap limit %" PRId64 " needs a memory limit", swap);
		if (swap < mem)
			return berr_invalid(e, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64, swap,
					    mem);
		if (cg_writef(dir, "memory.swap.max", e, "%" PRId64, swap - mem) < 0)
			return -1;
	}
	if (limit && write_limit(dir, "memory.max", limit, e) < 0)
		return -1;
	if (r->memory.has_reservation && r->memory.reservation &&
	    write_limit(dir, "memory.low", r->memory.reservation, e) < 0)
		return -1;
	/* kernel, kernelTCP, swappiness and disableOOMKiller have no v2 knob; runc ignores them too. */
	return 0;
}

int cg_v2_set_cpu(const char *dir, const struct oci_resources *r, berr *e)
{
	if ((r->cpu.has_realtime_runtime && r->cpu.realtime_runtime) ||
	    (r->cpu.has_realtime_period && r->cpu.realtime_period))
		return berr_set(e, ENOTSUP,
				"cpu.realtimeRuntime and cpu.realtimePeriod: cgroup v2 has no realtime knobs");
	if (r->cpu.has_shares && r->cpu.shares &&
	    cg_writef(dir, "cpu.weight", e, "%" PRIu64, cg_v2_shares_to_weight(r->cpu.shares)) < 0)
		return -1;
	int64_t quota = r->cpu.has_quota ? r->cpu.quota : 0;
	uint64_t period = r->cpu.has_period ? r->cpu.period : 0;
	if (quota || period) {
		/* cpu.max is "quota period"; a period alone keeps the quota in force. */
		_cleanup_free_ char *q = NULL, *cur = NULL;
		berr ignored = {0};
		if (quota > 0) {
			if (asprintf(&q, "%" PRId64, quota) < 0)
				q = NULL;
		} else if (quota < 0 || cg_read(dir, "cpu.max", &cur, &ignored) < 0) {
			q = strdup("max");
		} else {
			q = strndup(cur, strcspn(cur, " "));
		}
		berr_clear(&ignored);
		if (!q)
			return berr_set(e, ENOMEM, "setting %s/cpu.max", dir);
		if (period ? cg_writef(dir, "cpu.max", e, "%s %" PRIu64, q, period) < 0
			   : cg_write(dir, "cpu.max", q, e) < 0)
			return -1;
	}
	if (r->cpu.has_idle && cg_writef(dir, "cpu.idle", e, "%" PRId64, r->cpu.idle) < 0)
		return -1;
	return 0;
}

static int write_io_max(const char *dir, const char *key, const struct oci_throttle_device *t, size_t n, berr *e)
{
	for (size_t i = 0; i < n; i++) {
		/* 0 lifts the limit, as it does in v1. */
		int r = t[i].rate ? cg_writef(dir, "io.max", e, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t[i].major,
					      t[i].minor, key, t[i].rate)
				  : cg_writef(dir, "io.max", e, "%" PRId64 ":%" PRId64 " %s=max", t[i].major,
					      t[i].minor, key);
		if (r < 0)
			return -1;
	}
	return 0;
}

int cg_v2_set_io(const char *dir, const struct oci_resources *r, berr *e)
{
	const __typeof__(r->block_io) *b = &r->block_io;
	/* BFQ takes blkio's 10-1000 scale as it is; io.weight (blk-iocost) is 1-10000. */
	bool bfq = cg_exists(dir, "io.bfq.weight");
	if (b->has_weight && b->weight) {
		int rc;
		if (bfq)
			rc = cg_writef(dir, "io.bfq.weight", e, "%u", b->weight);
		else if (cg_exists(dir, "io.weight"))
			rc = cg_writef(dir, "io.weight", e, "%" PRIu64, cg_v2_blkio_to_io_weight(b->weight));
		else
			rc = berr_set(e, ENOTSUP, "setting blkio weight %u: %s has neither io.bfq.weight nor io.weight",
				      b->weight, dir);
		if (rc < 0)
			return -1;
	}
	/* leafWeight has no v2 counterpart (it was CFQ's); runc ignores it too. */
	for (size_t i = 0; i < b->n_weight_device; i++) {
		const struct oci_weight_device *w = &b->weight_device[i];
		if (!w->has_weight)
			continue;
		int rc = bfq ? cg_writef(dir, "io.bfq.weight", e, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
					 w->weight)
			     : cg_writef(dir, "io.weight", e, "%" PRId64 ":%" PRId64 " %" PRIu64, w->major, w->minor,
					 cg_v2_blkio_to_io_weight(w->weight));
		if (rc < 0)
			return -1;
	}
	if (write_io_max(dir, "rbps", b->throttle_read_bps, b->n_throttle_read_bps, e) < 0 ||
	    write_io_max(dir, "wbps", b->throttle_write_bps, b->n_throttle_write_bps, e) < 0 ||
	    write_io_max(dir, "riops", b->throttle_read_iops, b->n_throttle_read_iops, e) < 0 ||
	    write_io_max(dir, "wiops", b->throttle_write_iops, b->n_throttle_write_iops, e) < 0)
		return -1;
	return 0;
}

int cg_v2_set_hugetlb(const char *dir, const struct oci_resources *r, berr *e)
{
	return cg_set_hugetlb(dir, r, "max", e);
}

int cg_v2_set_unified(const char *dir, const struct oci_resources *r, berr *e)
{
	for (char **kv = r->unified; kv && kv[0] && kv[1]; kv += 2) {
		const char *key = kv[0];
		/* A key names a file of this cgroup, never a path out of it. */
		if (!*key || strchr(key, '/') || !strcmp(key, ".") || !strcmp(key, ".."))
			return berr_invalid(e, "unified resource \"%s\" is not a cgroup file name", key);
		if (cg_write(dir, key, kv[1], e) < 0) {
			if (e && e->errnum == ENOENT)
				return berr_wrap(e, "unified resource %s (is its controller enabled?)", key);
			return berr_wrap(e, "unified resource %s", key);
		}
	}
	return 0;
}

/* The "frozen" field of cgroup.events: 1, 0, -1 when the kernel has none, -2 on error. */
static int events_frozen(const char *dir, berr *e)
{
	_cleanup_free_ char *events = NULL;
	if (cg_read(dir, "cgroup.events", &events, e) < 0)
		return -2;
	char *save = NULL;
	for (char *line = strtok_r(events, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "frozen ", 7))
			return line[7] == '1';
	return -1;
}

int cg_v2_is_frozen(const char *dir, bool *frozen, berr *e)
{
	int f = events_frozen(dir, e);
	if (f == -2)
		return -1;
	if (f >= 0) {
		*frozen = f == 1;
		return 0;
	}
	_cleanup_free_ char *s = NULL;
	if (cg_read(dir, "cgroup.freeze", &s, e) < 0)
		return -1;
	*frozen = !strcmp(s, "1");
	return 0;
}

int cg_v2_freeze(const char *dir, bool frozen, berr *e)
{
	if (cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", e) < 0)
		return -1;
	/* The write only asks; cgroup.events says when every task has stopped (or resumed). */
	int64_t deadline = cg_now_ms() + 5000;
	long nap = 1;
	for (;;) {
		int f = events_frozen(dir, e);
		if (f == -2)
			return -1;
		if (f == -1 || f == (int)frozen)
			return 0;
		if (cg_now_ms() > deadline) {
			if (frozen)
				cg_write(dir, "cgroup.freeze", "0", NULL);
			return berr_set(e, ETIMEDOUT, "%s %s: cgroup.events still says frozen %d after 5 seconds",
					frozen ? "freezing" : "thawing", dir, f);
		}
		cg_sleep_ms(nap);
		if (nap < 10)
			nap *= 2;
	}
}

int cg_v2_kill(const char *dir, bool *done, berr *e)
{
	/* cgroup.kill (5.14+) kills the whole subtree at once, forks in flight included. */
	*done = cg_exists(dir, "cgroup.kill");
	return *done ? cg_write(dir, "cgroup.kill", "1", e) : 0;
}
