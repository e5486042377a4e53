/* Seccomp filters from linux.seccomp: validated and compiled to BPF ahead of time, loaded late. */
#include "seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "seccomp_cache.h"

/*
 * Why we compile here and call seccomp(2) ourselves instead of seccomp_load(): libseccomp
 * generates the BPF program on every seccomp_load(), which for Docker's profile costs far
 * more than the system call that installs it. prepare() runs libseccomp up to the BPF
 * (seccomp_export_bpf into a memfd, read back into memory that the cloned container
 * process inherits) and load() is a single seccomp(SECCOMP_SET_MODE_FILTER) with the
 * flags the profile asked for. The flags are the kernel's own, so the libseccomp
 * attributes that only translate into them (SCMP_FLTATR_CTL_TSYNC, _LOG, _SSB, _NNP) are
 * not needed, and SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which libseccomp 2.5 has no
 * attribute for, can be passed as well.
 */
struct oci_seccomp_filter {
	struct sock_filter *insns;
	unsigned short len;
	unsigned long flags; /* SECCOMP_FILTER_FLAG_* asked for by the profile */
	bool notify;         /* some rule (or the default) is SCMP_ACT_NOTIFY */
};

#define FIELD    "linux.seccomp"
#define MAX_ARGS 6 /* syscall arguments 0..5 */

static const char *const action_names[] = {
    [OCI_SCMP_KILL] = "SCMP_ACT_KILL",
    [OCI_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [OCI_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [OCI_SCMP_TRAP] = "SCMP_ACT_TRAP",
    [OCI_SCMP_ERRNO] = "SCMP_ACT_ERRNO",
    [OCI_SCMP_TRACE] = "SCMP_ACT_TRACE",
    [OCI_SCMP_ALLOW] = "SCMP_ACT_ALLOW",
    [OCI_SCMP_LOG] = "SCMP_ACT_LOG",
    [OCI_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
    NULL,
};

static const char *const operator_names[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};
static const enum scmp_compare operator_values[] = {
    SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ,
};

/* Architectures: those of libseccomp 2.5, and the newer ones when built against a later one. */
#ifdef SCMP_ARCH_LOONGARCH64
#define ARCH_LOONGARCH64(X) X(LOONGARCH64)
#else
#define ARCH_LOONGARCH64(X)
#endif
#ifdef SCMP_ARCH_M68K
#define ARCH_M68K(X) X(M68K)
#else
#define ARCH_M68K(X)
#endif
#ifdef SCMP_ARCH_SH
#define ARCH_SH(X) X(SH) X(SHEB)
#else
#define ARCH_SH(X)
#endif
/* clang-format off */
#define ARCH_LIST(X)                                                                    \
	X(X86) X(X86_64) X(X32) X(ARM) X(AARCH64) X(MIPS) X(MIPS64) X(MIPS64N32)        \
	X(MIPSEL) X(MIPSEL64) X(MIPSEL64N32) X(PPC) X(PPC64) X(PPC64LE) X(S390) X(S390X) \
	X(PARISC) X(PARISC64) X(RISCV64) ARCH_LOONGARCH64(X) ARCH_M68K(X) ARCH_SH(X)
/* clang-format on */

#define ARCH_NAME(n)  "SCMP_ARCH_" #n,
#define ARCH_TOKEN(n) SCMP_ARCH_##n,
static const char *const arch_names[] = {ARCH_LIST(ARCH_NAME) NULL};
static const uint32_t arch_tokens[] = {ARCH_LIST(ARCH_TOKEN)};

/*
 * Flags go to seccomp(2) as they are. WAIT_KILLABLE_RECV only means something with a
 * notification listener (the kernel refuses it without one), so it is dropped for a
 * profile without SCMP_ACT_NOTIFY, and dropped too by a kernel older than 5.19 that does
 * not know it: the listener then works as before, only a notified task can be
 * interrupted by any signal while it waits.
 */
static const char *const flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    NULL,
};
static const unsigned long flag_values[] = {
    SECCOMP_FILTER_FLAG_TSYNC,
    SECCOMP_FILTER_FLAG_LOG,
    SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

_Static_assert(ARRAY_SIZE(action_names) == OCI_SCMP_NOTIFY + 2, "one name per action");
_Static_assert(ARRAY_SIZE(operator_names) == ARRAY_SIZE(operator_values) + 1, "one value per operator");
_Static_assert(ARRAY_SIZE(arch_names) == ARRAY_SIZE(arch_tokens) + 1, "one token per architecture");
_Static_assert(ARRAY_SIZE(flag_names) == ARRAY_SIZE(flag_values) + 1, "one value per flag");

const char *const *oci_seccomp_known_actions(void)
{
	return action_names;
}
const char *const *oci_seccomp_known_operators(void)
{
	return operator_names;
}
const char *const *oci_seccomp_known_archs(void)
{
	return arch_names;
}
const char *const *oci_seccomp_known_flags(void)
{
	return flag_names;
}

static int name_index(const char *const *names, const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int oci_seccomp_action_from_name(const char *name)
{
	return name_index(action_names, name);
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* The libseccomp action for a profile action; errnoRet (EPERM when absent) feeds ERRNO and TRACE. */
static int action_value(enum oci_seccomp_action a, bool has_ret, unsigned ret, const char *field, const char *ret_field,
			uint32_t *out, berr *e)
{
	/* TRACE passes 16 bits to the tracer; libseccomp takes an errno below MAX_ERRNO (4095). */
	if (has_ret && a == OCI_SCMP_ERRNO && ret > 4094)
		return berr_invalid(e, "%s: %u is out of range (0-4094)", ret_field, ret);
	if (has_ret && a == OCI_SCMP_TRACE && ret > 0xffff)
		return berr_invalid(e, "%s: %u is out of range (0-65535)", ret_field, ret);
	unsigned data = has_ret ? ret : EPERM;
	switch (a) {
	case OCI_SCMP_KILL:
	case OCI_SCMP_KILL_THREAD: *out = SCMP_ACT_KILL_THREAD; return 0;
	case OCI_SCMP_KILL_PROCESS: *out = SCMP_ACT_KILL_PROCESS; return 0;
	case OCI_SCMP_TRAP: *out = SCMP_ACT_TRAP; return 0;
	case OCI_SCMP_ERRNO: *out = SCMP_ACT_ERRNO(data); return 0;
	case OCI_SCMP_TRACE: *out = SCMP_ACT_TRACE(data); return 0;
	case OCI_SCMP_ALLOW: *out = SCMP_ACT_ALLOW; return 0;
	case OCI_SCMP_LOG: *out = SCMP_ACT_LOG; return 0;
	case OCI_SCMP_NOTIFY: *out = SCMP_ACT_NOTIFY; return 0;
	}
	return berr_invalid(e, "%s: unknown action %d", field, (int)a);
}

/* Check a rule's arguments and turn them into libseccomp comparisons; *split when an index repeats. */
static int rule_conditions(const struct oci_seccomp_syscall *sc, size_t i, struct scmp_arg_cmp *conds, bool *split,
			   berr *e)
{
	unsigned seen[MAX_ARGS] = {0};
	*split = false;
	for (size_t k = 0; k < sc->n_args; k++) {
		const struct oci_seccomp_arg *a = &sc->args[k];
		if (a->index >= MAX_ARGS)
			return berr_invalid(e, FIELD ".syscalls[%zu].args[%zu].index: %u is out of range (0-5)", i, k,
					    a->index);
		int op = name_index(operator_names, a->op);
		if (op < 0)
			return berr_invalid(e, FIELD ".syscalls[%zu].args[%zu].op: unknown operator \"%s\"", i, k,
					    a->op ? a->op : "");
		/* MASKED_EQ: value is the mask, valueTwo the value, as libseccomp's datum_a/datum_b. */
		conds[k] = (struct scmp_arg_cmp){
		    .arg = a->index, .op = operator_values[op], .datum_a = a->value, .datum_b = a->value_two};
		if (seen[a->index]++)
			*split = true;
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct oci_seccomp *s, uint32_t def, bool *notify, berr *e)
{
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		char field[64], ret_field[64];
		snprintf(field, sizeof(field), FIELD ".syscalls[%zu].action", i);
		snprintf(ret_field, sizeof(ret_field), FIELD ".syscalls[%zu].errnoRet", i);
		uint32_t act;
		if (action_value(sc->action, sc->has_errno_ret, sc->errno_ret, field, ret_field, &act, e) < 0)
			return -1;
		_cleanup_free_ struct scmp_arg_cmp *conds = NULL;
		if (sc->n_args && !(conds = calloc(sc->n_args, sizeof(*conds))))
			return berr_sys(e, FIELD ".syscalls[%zu]", i);
		bool split;
		if (rule_conditions(sc, i, conds, &split, e) < 0)
			return -1;
		/* libseccomp refuses a rule that repeats the default action; it would change nothing. */
		if (act == def)
			continue;
		for (size_t j = 0; sc->names && sc->names[j]; j++) {
			int nr = seccomp_syscall_resolve_name(sc->names[j]);
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown to this libseccomp: a newer kernel's syscall */
			int rc;
			if (!split) {
				rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)sc->n_args, conds);
			} else {
				/*
				 * libseccomp cannot compare one argument twice in a rule; like runc,
				 * make each comparison a rule of its own (any one of them matches).
				 */
				rc = 0;
				for (size_t k = 0; k < sc->n_args && rc == 0; k++)
					rc = seccomp_rule_add_array(ctx, act, nr, 1, &conds[k]);
			}
			if (rc < 0)
				return berr_set(e, -rc, FIELD ".syscalls[%zu].names[%zu]: adding a rule for \"%s\"", i,
						j, sc->names[j]);
			if (sc->action == OCI_SCMP_NOTIFY)
				*notify = true;
		}
	}
	return 0;
}

/* Compile ctx to BPF into f->insns. */
static int export_bpf(scmp_filter_ctx ctx, struct oci_seccomp_filter *f, berr *e)
{
	_cleanup_close_ int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "compiling the seccomp filter: memfd_create");
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return berr_set(e, -rc, "compiling the seccomp filter");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "compiling the seccomp filter: fstat");
	size_t size = (size_t)st.st_size, n = size / sizeof(struct sock_filter);
	if (size == 0 || size % sizeof(struct sock_filter))
		return berr_set(e, EIO, "compiling the seccomp filter: libseccomp wrote %zu bytes of BPF", size);
	if (n > BPF_MAXINSNS)
		return berr_set(e, E2BIG,
				FIELD ": the filter compiles to %zu BPF instructions, the kernel takes at most %d", n,
				BPF_MAXINSNS);
	if (!(f->insns = malloc(size)))
		return berr_sys(e, "compiling the seccomp filter");
	for (size_t done = 0; done < size;) {
		ssize_t r = pread(fd, (char *)f->insns + done, size - done, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return berr_set(e, r < 0 ? errno : EIO, "compiling the seccomp filter: reading the BPF back");
		done += (size_t)r;
	}
	f->len = (unsigned short)n;
	return 0;
}

/*
 * Everything that shapes the BPF, written to m after validating it: the cache key.
 * Errors here are the profile's; libseccomp's own refusals come later, in compile().
 */
static int profile_key(const struct oci_seccomp *s, uint32_t def, FILE *m, berr *e)
{
	/* The program depends on libseccomp and on what it found the kernel can do (its API level):
	 * both are part of the key, as the key outlives the process in the disk cache. */
	const struct scmp_version *v = seccomp_version();
	fprintf(m, "libseccomp %u.%u.%u api %u\n", v->major, v->minor, v->micro, seccomp_api_get());
	fwrite(&def, sizeof(def), 1, m);
	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		int k = name_index(arch_names, s->architectures[i]);
		if (k < 0)
			return berr_invalid(e, FIELD ".architectures[%zu]: unknown architecture \"%s\"", i,
					    s->architectures[i]);
		fwrite(&k, sizeof(k), 1, m);
	}
	fputc('\n', m);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		const struct oci_seccomp_syscall *sc = &s->syscalls[i];
		char field[64], ret_field[64];
		snprintf(field, sizeof(field), FIELD ".syscalls[%zu].action", i);
		snprintf(ret_field, sizeof(ret_field), FIELD ".syscalls[%zu].errnoRet", i);
		uint32_t act;
		if (action_value(sc->action, sc->has_errno_ret, sc->errno_ret, field, ret_field, &act, e) < 0)
			return -1;
		_cleanup_free_ struct scmp_arg_cmp *conds = NULL;
		if (sc->n_args && !(conds = calloc(sc->n_args, sizeof(*conds))))
			return berr_sys(e, FIELD ".syscalls[%zu]", i);
		bool split;
		if (rule_conditions(sc, i, conds, &split, e) < 0)
			return -1;
		fwrite(&act, sizeof(act), 1, m);
		fwrite(&sc->n_args, sizeof(sc->n_args), 1, m);
		for (size_t k = 0; k < sc->n_args; k++) {
			uint32_t ai[2] = {conds[k].arg, (uint32_t)conds[k].op};
			fwrite(ai, sizeof(ai), 1, m);
			fwrite(&conds[k].datum_a, sizeof(conds[k].datum_a), 1, m);
			fwrite(&conds[k].datum_b, sizeof(conds[k].datum_b), 1, m);
		}
		for (size_t j = 0; sc->names && sc->names[j]; j++)
			fwrite(sc->names[j], strlen(sc->names[j]) + 1, 1, m);
		fputc('\n', m);
	}
	return 0;
}

/* Build the libseccomp filter for s and compile it into f. */
static int compile(const struct oci_seccomp *s, uint32_t def, struct oci_seccomp_filter *f, berr *e)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return berr_invalid(e, FIELD ".defaultAction: %s is not supported by libseccomp or the kernel",
				    action_names[s->default_action]);

	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		int k = name_index(arch_names, s->architectures[i]);
		int rc = seccomp_arch_add(ctx, arch_tokens[k]);
		if (rc == -EDOM)
			return berr_invalid(e,
					    FIELD
					    ".architectures[%zu]: \"%s\" cannot share a filter with this machine's "
					    "architecture (byte order or word size differ)",
					    i, s->architectures[i]);
		if (rc < 0 && rc != -EEXIST)
			return berr_set(e, -rc, FIELD ".architectures[%zu]: adding \"%s\"", i, s->architectures[i]);
	}

	bool notify = s->default_action == OCI_SCMP_NOTIFY;
	if (add_rules(ctx, s, def, &notify, e) < 0)
		return -1;

	/*
	 * A binary tree of syscall numbers instead of a list: about half again the compile time
	 * (paid once per profile thanks to the cache), and every syscall the container makes
	 * that is not in the kernel's always-allowed cache gets through the filter faster.
	 */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0)
		return berr_set(e, -rc, "setting the seccomp filter's optimization level");
	if (export_bpf(ctx, f, e) < 0)
		return -1;
	f->notify = notify;
	return 0;
}

/*
 * Compiled filters by profile. Docker's profile costs milliseconds to compile and every
 * container of a daemon uses the same few profiles, so a long-lived process compiles each
 * once. The key is the whole validated profile (not a hash of it), the value a copy of the
 * BPF: libseccomp output depends on nothing else that can change while we run.
 */
#define CACHE_SIZE 8
static struct cached_filter {
	char *key;
	size_t key_len;
	struct sock_filter *insns;
	unsigned short len;
	bool notify;
} cache[CACHE_SIZE];
static unsigned cache_next;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool cache_get(const char *key, size_t key_len, struct oci_seccomp_filter *f)
{
	bool hit = false;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SIZE && !hit; i++) {
		struct cached_filter *c = &cache[i];
		if (!c->key || c->key_len != key_len || memcmp(c->key, key, key_len) != 0)
			continue;
		if ((f->insns = malloc(c->len * sizeof(*c->insns)))) {
			memcpy(f->insns, c->insns, c->len * sizeof(*c->insns));
			f->len = c->len;
			f->notify = c->notify;
			hit = true;
		}
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* Remember f under key (taking key). Out of memory just means no caching. */
static void cache_put(char *key, size_t key_len, const struct oci_seccomp_filter *f)
{
	struct sock_filter *insns = malloc(f->len * sizeof(*insns));
	if (!insns) {
		free(key);
		return;
	}
	memcpy(insns, f->insns, f->len * sizeof(*insns));
	pthread_mutex_lock(&cache_lock);
	struct cached_filter *c = &cache[cache_next++ % CACHE_SIZE];
	free(c->key);
	free(c->insns);
	*c = (struct cached_filter){.key = key, .key_len = key_len, .insns = insns, .len = f->len, .notify = f->notify};
	pthread_mutex_unlock(&cache_lock);
}

int oci_seccomp_prepare(const struct oci_seccomp *s, struct oci_seccomp_filter **out, berr *e)
{
	*out = NULL;
	if (!s)
		return 0;

	uint32_t def;
	if (action_value(s->default_action, s->has_default_errno_ret, s->default_errno_ret, FIELD ".defaultAction",
			 FIELD ".defaultErrnoRet", &def, e) < 0)
		return -1;

	unsigned long flags = 0;
	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		int k = name_index(flag_names, s->flags[i]);
		if (k < 0)
			return berr_invalid(e, FIELD ".flags[%zu]: unknown flag \"%s\"", i, s->flags[i]);
		flags |= flag_values[k];
	}

	_cleanup_free_ char *key = NULL;
	size_t key_len = 0;
	{
		_cleanup_fclose_ FILE *m = open_memstream(&key, &key_len);
		if (!m)
			return berr_sys(e, "preparing the seccomp filter");
		if (profile_key(s, def, m, e) < 0)
			return -1;
		int bad = ferror(m);
		if (fclose(steal_ptr(m)) != 0 || bad)
			return berr_set(e, ENOMEM, "preparing the seccomp filter");
	}

	_cleanup_free_ struct oci_seccomp_filter *f = calloc(1, sizeof(*f));
	if (!f)
		return berr_sys(e, "preparing the seccomp filter");
	if (!cache_get(key, key_len, f)) {
		if (!oci_seccomp_cache_load(key, key_len, &f->insns, &f->len, &f->notify)) {
			if (compile(s, def, f, e) < 0) {
				free(f->insns);
				return -1;
			}
			oci_seccomp_cache_store(key, key_len, f->insns, f->len, f->notify);
		}
		cache_put(steal_ptr(key), key_len, f);
	}
	f->flags = flags;
	if (!f->notify)
		f->flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	*out = steal_ptr(f);
	return 0;
}

static long seccomp_set_filter(unsigned long flags, const struct sock_fprog *prog)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

int oci_seccomp_load(const struct oci_seccomp_filter *f, int *listener_fd, berr *e)
{
	if (listener_fd)
		*listener_fd = -1;
	if (!f)
		return 0;

	struct sock_fprog prog = {.len = f->len, .filter = f->insns};
	unsigned long flags = f->flags;
	if (f->notify) {
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* TSYNC reports a failed thread by returning its id, which would clash with the fd. */
		if (flags & SECCOMP_FILTER_FLAG_TSYNC)
			flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	}

	long rc = seccomp_set_filter(flags, &prog);
	if (rc < 0 && errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
		/* A kernel before 5.19: see flag_names above. */
		flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		rc = seccomp_set_filter(flags, &prog);
	}
	if (rc < 0) {
		if (errno == EACCES)
			return berr_sys(
			    e, "loading the seccomp filter (no_new_privs is not set and CAP_SYS_ADMIN is missing)");
		return berr_sys(e, "loading the seccomp filter");
	}
	if (!f->notify) {
		if (rc > 0) /* TSYNC: thread rc could not be synchronized, nothing was installed */
			return berr_set(e, ESRCH, "loading the seccomp filter: thread %ld cannot take it (TSYNC)", rc);
		return 0;
	}
	if (listener_fd)
		*listener_fd = (int)rc;
	else
		close((int)rc);
	return 0;
}

void oci_seccomp_filter_free(struct oci_seccomp_filter *f)
{
	if (!f)
		return;
	free(f->insns);
	free(f);
}

unsigned oci_seccomp_filter_size(const struct oci_seccomp_filter *f)
{
	return f ? f->len : 0;
}
