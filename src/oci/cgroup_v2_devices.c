/* cgroup v2 device rules: v2 has no devices controller, so the rules become a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, written instruction by instruction and attached
 * to the cgroup with bpf(2). */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "cgroup_internal.h"

/*
 * Registers of the program: R1 holds the struct bpf_cgroup_dev_ctx on entry and is
 * scratch afterwards; R2 the device type (BPF_DEVCG_DEV_*), R3 the access asked for
 * (BPF_DEVCG_ACC_* bits), R4 the major, R5 the minor; R0 the verdict (1 allow, 0 deny).
 */
enum { R0, R1, R2, R3, R4, R5 };

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (int16_t)(o), .imm = (int32_t)(i)})
#define LDX_W(dst, src, off)       INSN(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV64_REG(dst, src)        INSN(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV32_REG(dst, src)        INSN(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm)        INSN(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define ALU32_IMM(op, dst, imm)    INSN(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN(BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT_INSN()                INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

static int access_bits(const char *access, int *bits)
{
	*bits = 0;
	if (!access || !*access)
		access = "rwm";
	for (const char *p = access; *p; p++) {
		switch (*p) {
		case 'r': *bits |= BPF_DEVCG_ACC_READ; break;
		case 'w': *bits |= BPF_DEVCG_ACC_WRITE; break;
		case 'm': *bits |= BPF_DEVCG_ACC_MKNOD; break;
		default: return -1;
		}
	}
	return 0;
}

/*
 * One rule: tests that jump past the block when the device does not match, then the
 * verdict. *always says the block has no test: nothing after it can run.
 */
static size_t rule_block(const struct oci_device_cgroup *d, int bits, struct bpf_insn *out, bool *always)
{
	struct bpf_insn tests[8];
	size_t n = 0;
	/* Jump offsets are fixed up below, once the block's length is known. */
	if (d->type != 'a') {
		tests[n++] = JMP_IMM(BPF_JNE, R2, d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
		if (d->major >= 0)
			tests[n++] = JMP_IMM(BPF_JNE, R4, d->major, 0);
		if (d->minor >= 0)
			tests[n++] = JMP_IMM(BPF_JNE, R5, d->minor, 0);
	}
	if (bits != ACC_ALL) {
		/* An allow must cover every access asked for; a deny refuses any access it names. */
		tests[n++] = MOV32_REG(R1, R3);
		if (d->allow) {
			tests[n++] = ALU32_IMM(BPF_AND, R1, ~bits & ACC_ALL);
			tests[n++] = JMP_IMM(BPF_JNE, R1, 0, 0);
		} else {
			tests[n++] = ALU32_IMM(BPF_AND, R1, bits);
			tests[n++] = JMP_IMM(BPF_JEQ, R1, 0, 0);
		}
	}
	size_t len = n + 2;
	*always = n == 0;
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(tests[i].code) == BPF_JMP)
			tests[i].off = (int16_t)(len - (i + 1));
		out[i] = tests[i];
	}
	out[n] = MOV64_IMM(R0, d->allow ? 1 : 0);
	out[n + 1] = EXIT_INSN();
	return len;
}

int cg_v2_devices_build(const struct oci_device_cgroup *rules, size_t n, struct bpf_insn **out, size_t *count, berr *e)
{
	static const struct bpf_insn prologue[] = {
	    LDX_W(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type)),
	    MOV64_REG(R3, R2),
	    ALU32_IMM(BPF_AND, R2, 0xffff),
	    ALU32_IMM(BPF_RSH, R3, 16),
	    LDX_W(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major)),
	    LDX_W(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor)),
	};
	/* Each rule takes at most 3 tests + 3 access insns + verdict + exit. */
	struct bpf_insn *p = calloc(ARRAY_SIZE(prologue) + n * 8 + 2, sizeof(*p));
	if (!p)
		return berr_set(e, ENOMEM, "building the device filter");
	memcpy(p, prologue, sizeof(prologue));
	size_t len = ARRAY_SIZE(prologue);
	/*
	 * The last matching rule decides, as when v1 applies the rules one after the other; the
	 * verifier refuses unreachable code, so nothing follows a rule that matches everything.
	 */
	bool always = false;
	for (size_t i = n; i-- > 0 && !always;) {
		const struct oci_device_cgroup *d = &rules[i];
		int bits;
		if (d->type != 'a' && d->type != 'b' && d->type != 'c') {
			free(p);
			return berr_invalid(e, "device rule %zu: type '%c' is not one of a, b, c", i,
					    d->type ? d->type : '?');
		}
		if (access_bits(d->access, &bits) < 0) {
			free(p);
			return berr_invalid(e, "device rule %zu: access \"%s\" is not a subset of \"rwm\"", i,
					    d->access);
		}
		if (d->major > INT32_MAX || d->minor > INT32_MAX || d->major < -1 || d->minor < -1) {
			free(p);
			return berr_invalid(e, "device rule %zu: %lld:%lld is not a device number", i,
					    (long long)d->major, (long long)d->minor);
		}
		len += rule_block(d, bits, p + len, &always);
	}
	/* No rule matched: a new cgroup starts from its parent's "allow everything". */
	if (!always) {
		p[len++] = MOV64_IMM(R0, 1);
		p[len++] = EXIT_INSN();
	}
	*out = p;
	*count = len;
	return 0;
}

static int bpf_call(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int prog_load(const struct bpf_insn *insns, size_t n, berr *e)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uintptr_t) "Apache-2.0";
	int fd = bpf_call(BPF_PROG_LOAD, &a); /* bpf fds are O_CLOEXEC */
	if (fd >= 0)
		return fd;
	int err = errno;
	/* Load again with the verifier's log, to say why. */
	size_t log_size = 1 << 16;
	_cleanup_free_ char *log = calloc(1, log_size);
	if (log) {
		a.log_level = 1;
		a.log_buf = (uintptr_t)log;
		a.log_size = (uint32_t)log_size;
		fd = bpf_call(BPF_PROG_LOAD, &a);
		if (fd >= 0)
			return fd;
		/* The verifier's complaint is its last line before the "processed N insns" summary. */
		const char *why = NULL;
		char *save = NULL;
		for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "processed ", 10) != 0)
				why = line;
		if (why)
			return berr_set(e, err, "loading the device filter (BPF verifier: %s)", why);
	}
	return berr_set(e, err, "loading the device filter (BPF)");
}

/* Ids of the device programs attached to the cgroup itself (not inherited). */
static int attached_progs(int cgfd, const char *dir, uint32_t *ids, uint32_t *n, berr *e)
{
	union bpf_attr q;
	memset(&q, 0, sizeof(q));
	q.query.target_fd = (uint32_t)cgfd;
	q.query.attach_type = BPF_CGROUP_DEVICE;
	q.query.prog_ids = (uintptr_t)ids;
	q.query.prog_cnt = *n;
	if (bpf_call(BPF_PROG_QUERY, &q) < 0)
		return berr_sys(e, "listing the device filters of %s", dir);
	*n = q.query.prog_cnt;
	return 0;
}

static int detach_prog(int cgfd, const char *dir, uint32_t id, berr *e)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	_cleanup_close_ int fd = bpf_call(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "opening the old device filter %u of %s", id, dir);
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	if (bpf_call(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
		return berr_sys(e, "detaching the old device filter %u from %s", id, dir);
	return 0;
}

int cg_v2_set_devices(const char *dir, const struct oci_resources *r, berr *e)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n = 0;
	if (cg_v2_devices_build(r->devices, r->n_devices, &insns, &n, e) < 0)
		return -1;
	_cleanup_close_ int prog = prog_load(insns, n, e);
	if (prog < 0)
		return -1;
	_cleanup_close_ int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return berr_sys(e, "opening cgroup %s", dir);
	uint32_t old[64], n_old = ARRAY_SIZE(old);
	if (attached_progs(cgfd, dir, old, &n_old, e) < 0)
		return -1;
	/* New filter in before the old ones go: with several attached, each must allow. */
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf_call(BPF_PROG_ATTACH, &a) < 0)
		return berr_sys(e, "attaching the device filter to %s", dir);
	for (uint32_t i = 0; i < n_old; i++)
		if (detach_prog(cgfd, dir, old[i], e) < 0)
			return -1;
	return 0;
}
