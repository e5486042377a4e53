/* Seccomp: name tables, field-named errors, a Docker-like profile, and filters loaded in forked children. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "oci/seccomp.h"

/* Checks inside a forked child: report on stderr and exit non-zero (never run cmocka there). */
#define CHILD_CHECK(cond)                                                                                            \
	do {                                                                                                         \
		if (!(cond)) {                                                                                       \
			dprintf(2, "child: %s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			_exit(1);                                                                                    \
		}                                                                                                    \
	} while (0)

static char *names_none[] = {NULL};

/* --- building profiles --- */

static struct oci_seccomp_syscall rule(char **names, enum oci_seccomp_action a)
{
	return (struct oci_seccomp_syscall){.names = names, .action = a};
}

static struct oci_seccomp_syscall rule_errno(char **names, unsigned ret)
{
	return (struct oci_seccomp_syscall){
	    .names = names, .action = OCI_SCMP_ERRNO, .has_errno_ret = true, .errno_ret = ret};
}

static struct oci_seccomp profile(enum oci_seccomp_action def, struct oci_seccomp_syscall *sc, size_t n)
{
	return (struct oci_seccomp){
	    .default_action = def, .architectures = names_none, .flags = names_none, .syscalls = sc, .n_syscalls = n};
}

static struct oci_seccomp_filter *prepare_ok(const struct oci_seccomp *s)
{
	berr e = {0};
	struct oci_seccomp_filter *f = NULL;
	if (oci_seccomp_prepare(s, &f, &e) < 0)
		fail_msg("prepare: %s", berr_msg(&e));
	assert_non_null(f);
	return f;
}

static void expect_error(const struct oci_seccomp *s, const char *msg)
{
	berr e = {0};
	struct oci_seccomp_filter *f = (void *)1;
	assert_int_equal(oci_seccomp_prepare(s, &f, &e), -1);
	assert_null(f);
	assert_string_equal(berr_msg(&e), msg);
	assert_int_equal(e.errnum, EINVAL);
	berr_clear(&e);
}

/* Load f in the calling (child) process, or exit 1 saying why. */
static int child_load(const struct oci_seccomp_filter *f)
{
	berr e = {0};
	int fd = -2;
	if (oci_seccomp_load(f, &fd, &e) < 0) {
		dprintf(2, "child: %s\n", berr_msg(&e));
		_exit(1);
	}
	return fd;
}

/* Fork, run fn(arg) in the child, return the wait status. */
static int run_child(void (*fn)(void *), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0); /* _exit: no LeakSanitizer pass (it would need ptrace) */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_child_ok(void (*fn)(void *), void *arg)
{
	int status = run_child(fn, arg);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x)", status);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return v[n / 2];
}

/* --- name tables --- */

static size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	return n;
}

static bool strv_has(const char *const *v, const char *s)
{
	for (; *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

static void test_action_names(void **state)
{
	static const struct {
		const char *name;
		enum oci_seccomp_action a;
	} want[] = {
	    {"SCMP_ACT_KILL", OCI_SCMP_KILL},
	    {"SCMP_ACT_KILL_PROCESS", OCI_SCMP_KILL_PROCESS},
	    {"SCMP_ACT_KILL_THREAD", OCI_SCMP_KILL_THREAD},
	    {"SCMP_ACT_TRAP", OCI_SCMP_TRAP},
	    {"SCMP_ACT_ERRNO", OCI_SCMP_ERRNO},
	    {"SCMP_ACT_TRACE", OCI_SCMP_TRACE},
	    {"SCMP_ACT_ALLOW", OCI_SCMP_ALLOW},
	    {"SCMP_ACT_LOG", OCI_SCMP_LOG},
	    {"SCMP_ACT_NOTIFY", OCI_SCMP_NOTIFY},
	};
	const char *const *known = oci_seccomp_known_actions();
	assert_int_equal(strv_len(known), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		assert_int_equal(oci_seccomp_action_from_name(want[i].name), want[i].a);
		assert_true(strv_has(known, want[i].name));
	}
	assert_int_equal(oci_seccomp_action_from_name("SCMP_ACT_FOO"), -1);
	assert_int_equal(oci_seccomp_action_from_name("scmp_act_allow"), -1);
	assert_int_equal(oci_seccomp_action_from_name(""), -1);
	assert_int_equal(oci_seccomp_action_from_name(NULL), -1);
}

static void test_known_lists(void **state)
{
	const char *const *ops = oci_seccomp_known_operators();
	assert_int_equal(strv_len(ops), 7);
	const char *op_names[] = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
				  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};
	for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
		assert_true(strv_has(ops, op_names[i]));

	const char *const *flags = oci_seccomp_known_flags();
	assert_int_equal(strv_len(flags), 4);
	assert_true(strv_has(flags, "SECCOMP_FILTER_FLAG_TSYNC"));
	assert_true(strv_has(flags, "SECCOMP_FILTER_FLAG_LOG"));
	assert_true(strv_has(flags, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"));
	assert_true(strv_has(flags, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));

	/* Every architecture we list can be added to a filter. */
	const char *const *archs = oci_seccomp_known_archs();
	assert_true(strv_len(archs) >= 19);
	int added = 0;
	const char *must[] = {"SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
			      "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC64LE",
			      "SCMP_ARCH_S390X",   "SCMP_ARCH_RISCV64", "SCMP_ARCH_PARISC64"};
	for (size_t i = 0; i < ARRAY_SIZE(must); i++)
		assert_true(strv_has(archs, must[i]));
	for (size_t i = 0; archs[i]; i++) {
		char *one[] = {(char *)archs[i], NULL};
		struct oci_seccomp s = profile(OCI_SCMP_ALLOW, NULL, 0);
		s.architectures = one;
		/* libseccomp mixes architectures of one byte order only: the others are refused. */
		berr e = {0};
		struct oci_seccomp_filter *f = NULL;
		if (oci_seccomp_prepare(&s, &f, &e) == 0) {
			oci_seccomp_filter_free(f);
			added++;
			continue;
		}
		assert_non_null(strstr(berr_msg(&e), "cannot share a filter with this machine's architecture"));
		berr_clear(&e);
	}
	assert_true(added >= 3);
}

/* --- validation --- */

static void test_errors(void **state)
{
	char *chdir_names[] = {"chdir", NULL};
	struct oci_seccomp_arg args[2] = {{.index = 0, .value = 1, .op = "SCMP_CMP_EQ"},
					  {.index = 1, .value = 2, .op = "SCMP_CMP_FOO"}};
	struct oci_seccomp_syscall sc[2] = {rule_errno(chdir_names, 1), rule_errno(chdir_names, 2)};
	sc[1].args = args;
	sc[1].n_args = 2;
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 2);
	expect_error(&s, "linux.seccomp.syscalls[1].args[1].op: unknown operator \"SCMP_CMP_FOO\"");

	args[1].op = "SCMP_CMP_GT";
	args[1].index = 6;
	expect_error(&s, "linux.seccomp.syscalls[1].args[1].index: 6 is out of range (0-5)");
	args[1].index = 5;
	oci_seccomp_filter_free(prepare_ok(&s));

	sc[0].errno_ret = 4095;
	expect_error(&s, "linux.seccomp.syscalls[0].errnoRet: 4095 is out of range (0-4094)");
	sc[0].errno_ret = 4094;
	oci_seccomp_filter_free(prepare_ok(&s));
	sc[0].action = OCI_SCMP_TRACE;
	sc[0].errno_ret = 70000;
	expect_error(&s, "linux.seccomp.syscalls[0].errnoRet: 70000 is out of range (0-65535)");
	sc[0].errno_ret = 65535;
	oci_seccomp_filter_free(prepare_ok(&s));
	sc[0].action = OCI_SCMP_ERRNO;
	sc[0].errno_ret = 1;
	/* errnoRet means nothing to other actions. */
	sc[0].action = OCI_SCMP_LOG;
	sc[0].errno_ret = 70000;
	oci_seccomp_filter_free(prepare_ok(&s));
	sc[0].action = OCI_SCMP_ERRNO;
	sc[0].errno_ret = 1;

	sc[1].action = (enum oci_seccomp_action)42;
	expect_error(&s, "linux.seccomp.syscalls[1].action: unknown action 42");
	sc[1].action = OCI_SCMP_ERRNO;

	s.default_action = (enum oci_seccomp_action) - 1;
	expect_error(&s, "linux.seccomp.defaultAction: unknown action -1");
	s.default_action = OCI_SCMP_ERRNO;
	s.has_default_errno_ret = true;
	s.default_errno_ret = 65536;
	expect_error(&s, "linux.seccomp.defaultErrnoRet: 65536 is out of range (0-4094)");
	s.default_errno_ret = 4094;
	oci_seccomp_filter_free(prepare_ok(&s));
	s.default_action = OCI_SCMP_ALLOW;

	char *archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX", NULL};
	s.architectures = archs;
	expect_error(&s, "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");
	s.architectures = names_none;

	char *flags[] = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NEW_LISTENER", NULL};
	s.flags = flags;
	expect_error(&s, "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"");
	s.flags = names_none;

	/* NULL profile: no filter, and loading none is a no-op. */
	struct oci_seccomp_filter *f = (void *)1;
	berr e = {0};
	assert_int_equal(oci_seccomp_prepare(NULL, &f, &e), 0);
	assert_null(f);
	int fd = 7;
	assert_int_equal(oci_seccomp_load(NULL, &fd, &e), 0);
	assert_int_equal(fd, -1);
}

static void test_skips(void **state)
{
	/* Unknown syscall names are skipped; so is a rule with the default action. */
	char *names[] = {"no_such_syscall_xyz", "chdir", "landlock_frobnicate", NULL};
	char *only_unknown[] = {"no_such_syscall_xyz", NULL};
	struct oci_seccomp_syscall sc[3] = {rule_errno(names, 1), rule(names, OCI_SCMP_ALLOW),
					    rule(only_unknown, OCI_SCMP_KILL)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 3);
	struct oci_seccomp_filter *f = prepare_ok(&s);
	assert_true(oci_seccomp_filter_size(f) > 0);
	oci_seccomp_filter_free(f);

	/* ERRNO with the default's errno is the default; with another errno it is not. */
	s.default_action = OCI_SCMP_ERRNO;
	sc[1] = rule(names, OCI_SCMP_ERRNO); /* EPERM, like the default */
	oci_seccomp_filter_free(prepare_ok(&s));
}

/* --- loading in children --- */

struct load_case {
	struct oci_seccomp_filter *f;
};

static void child_errno_chdir(void *arg)
{
	struct load_case *lc = arg;
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHILD_CHECK(child_load(lc->f) == -1);
	/* We did not set no_new_privs: the caller decides. */
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	errno = 0;
	CHILD_CHECK(chdir("/") == -1 && errno == 38);
	char buf[256];
	CHILD_CHECK(getcwd(buf, sizeof(buf)) != NULL);
	CHILD_CHECK(fchdir(-1) == -1 && errno == EBADF);
}

static void test_errno(void **state)
{
	char *names[] = {"chdir", NULL};
	struct oci_seccomp_syscall sc[] = {rule_errno(names, 38)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 1);
	struct load_case lc = {prepare_ok(&s)};
	expect_child_ok(child_errno_chdir, &lc);
	oci_seccomp_filter_free(lc.f);
}

static void child_kill(void *arg)
{
	struct load_case *lc = arg;
	child_load(lc->f);
	CHILD_CHECK(getpid() > 0);
	chdir("/");
	_exit(3); /* not reached */
}

static void test_kill_process(void **state)
{
	char *names[] = {"chdir", NULL};
	struct oci_seccomp_syscall sc[] = {rule(names, OCI_SCMP_KILL_PROCESS)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 1);
	struct load_case lc = {prepare_ok(&s)};
	int status = run_child(child_kill, &lc);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);

	/* SCMP_ACT_KILL is KILL_THREAD: for a single-threaded child the same end. */
	sc[0].action = OCI_SCMP_KILL;
	oci_seccomp_filter_free(lc.f);
	lc.f = prepare_ok(&s);
	status = run_child(child_kill, &lc);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	oci_seccomp_filter_free(lc.f);
}

static void child_args(void *arg)
{
	struct load_case *lc = arg;
	child_load(lc->f);
	/* close: arg0 == 900 or arg0 == 901 (one index twice: any of them) */
	CHILD_CHECK(close(900) == -1 && errno == 123);
	CHILD_CHECK(close(901) == -1 && errno == 123);
	CHILD_CHECK(close(902) == -1 && errno == EBADF);
	/* close: (arg0 & 0xff000) == 0x30000 */
	CHILD_CHECK(close(0x30fff) == -1 && errno == 124);
	CHILD_CHECK(close(0x30000) == -1 && errno == 124);
	CHILD_CHECK(close(0x40fff) == -1 && errno == EBADF);
	/* dup3: arg0 == 950 and arg1 >= 951 (two indexes: all of them) */
	CHILD_CHECK(dup3(950, 951, 0) == -1 && errno == 125);
	CHILD_CHECK(dup3(950, 960, 0) == -1 && errno == 125);
	CHILD_CHECK(dup3(950, 949, 0) == -1 && errno == EBADF);
	CHILD_CHECK(dup3(951, 951, 0) == -1 && errno == EINVAL);
}

static void test_args(void **state)
{
	char *close_names[] = {"close", NULL}, *dup3_names[] = {"dup3", NULL};
	struct oci_seccomp_arg either[] = {{.index = 0, .value = 900, .op = "SCMP_CMP_EQ"},
					   {.index = 0, .value = 901, .op = "SCMP_CMP_EQ"}};
	struct oci_seccomp_arg masked[] = {
	    {.index = 0, .value = 0xff000, .value_two = 0x30000, .op = "SCMP_CMP_MASKED_EQ"}};
	struct oci_seccomp_arg both[] = {{.index = 0, .value = 950, .op = "SCMP_CMP_EQ"},
					 {.index = 1, .value = 951, .op = "SCMP_CMP_GE"}};
	struct oci_seccomp_syscall sc[] = {rule_errno(close_names, 123), rule_errno(close_names, 124),
					   rule_errno(dup3_names, 125)};
	sc[0].args = either;
	sc[0].n_args = 2;
	sc[1].args = masked;
	sc[1].n_args = 1;
	sc[2].args = both;
	sc[2].n_args = 2;
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, ARRAY_SIZE(sc));
	struct load_case lc = {prepare_ok(&s)};
	expect_child_ok(child_args, &lc);
	oci_seccomp_filter_free(lc.f);
}

static void child_flags(void *arg)
{
	struct load_case *lc = arg;
	CHILD_CHECK(child_load(lc->f) == -1);
	CHILD_CHECK(chdir("/") == -1 && errno == 39);
}

static void test_flags(void **state)
{
	char *names[] = {"chdir", NULL};
	char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
			 "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
	char *archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86", NULL};
	struct oci_seccomp_syscall sc[] = {rule_errno(names, 39)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 1);
	s.flags = flags;
	s.architectures = archs;
	struct load_case lc = {prepare_ok(&s)};
	expect_child_ok(child_flags, &lc);
	oci_seccomp_filter_free(lc.f);
}

/* Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses; with no_new_privs it takes it. */
static void child_no_admin(void *arg)
{
	struct load_case *lc = arg;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	CHILD_CHECK(syscall(SYS_capget, &hdr, data) == 0);
	data[0].effective &= ~(1u << CAP_SYS_ADMIN);
	CHILD_CHECK(syscall(SYS_capset, &hdr, data) == 0);
	berr e = {0};
	int fd;
	CHILD_CHECK(oci_seccomp_load(lc->f, &fd, &e) == -1);
	CHILD_CHECK(e.errnum == EACCES);
	CHILD_CHECK(strstr(berr_msg(&e), "no_new_privs") != NULL);
	berr_clear(&e);
	CHILD_CHECK(chdir("/") == 0);
	CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHILD_CHECK(child_load(lc->f) == -1);
	CHILD_CHECK(chdir("/") == -1 && errno == 40);
}

static void test_no_new_privs(void **state)
{
	char *names[] = {"chdir", NULL};
	struct oci_seccomp_syscall sc[] = {rule_errno(names, 40)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 1);
	struct load_case lc = {prepare_ok(&s)};
	expect_child_ok(child_no_admin, &lc);
	oci_seccomp_filter_free(lc.f);
}

/* SCMP_ACT_NOTIFY: the child hands its listener to the parent, which answers chdir for it. */
struct notify_case {
	struct oci_seccomp_filter *f;
	int sock; /* child's end */
};

static void child_notify(void *arg)
{
	struct notify_case *nc = arg;
	int fd = child_load(nc->f);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	char byte = 'x';
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	CHILD_CHECK(sendmsg(nc->sock, &msg, 0) == 1);
	close(fd);
	/* The supervisor answers -ENOTNAM for chdir. */
	CHILD_CHECK(chdir("/") == -1 && errno == ENOTNAM);
	CHILD_CHECK(getpid() > 0);
}

static void test_notify(void **state)
{
	char *names[] = {"chdir", NULL};
	char *flags[] = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL};
	struct oci_seccomp_syscall sc[] = {rule(names, OCI_SCMP_NOTIFY)};
	struct oci_seccomp s = profile(OCI_SCMP_ALLOW, sc, 1);
	s.flags = flags;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct notify_case nc = {prepare_ok(&s), sv[1]};

	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		child_notify(&nc);
		_exit(0);
	}
	close(sv[1]);

	char byte;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	assert_int_equal(recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC), 1);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	assert_non_null(c);
	int listener;
	memcpy(&listener, CMSG_DATA(c), sizeof(int));

	struct seccomp_notif req;
	memset(&req, 0, sizeof(req));
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
	assert_int_equal(req.pid, pid);
	assert_int_equal(req.data.nr, SYS_chdir);
	struct seccomp_notif_resp resp = {.id = req.id, .error = -ENOTNAM};
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);

	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(listener);
	close(sv[0]);
	oci_seccomp_filter_free(nc.f);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child failed (status %#x)", status);
}

/* --- a Docker-like profile --- */

/* The allow-list of Docker's default profile (as of moby 24-25), with a few names no kernel has. */
static char *docker_allowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "arch_prctl",
    "modify_ldt",
    "no_such_syscall_2031",
    NULL,
};

struct docker_profile {
	struct oci_seccomp s;
	struct oci_seccomp_syscall sc[5];
	struct oci_seccomp_arg pers[5], clone_arg[1];
};

static char *personality_names[] = {"personality", NULL};
static char *clone_names[] = {"clone", NULL};
static char *clone3_names[] = {"clone3", NULL};
static char *x86_archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL};

static void docker_profile_init(struct docker_profile *p)
{
	memset(p, 0, sizeof(*p));
	static const uint64_t personas[] = {0x0, 0x0008, 0x20000, 0x20008, 0xffffffff};
	for (size_t i = 0; i < 5; i++)
		p->pers[i] = (struct oci_seccomp_arg){.index = 0, .value = personas[i], .op = "SCMP_CMP_EQ"};
	/* clone without any namespace flag: (flags & 0x7E020000) == 0 */
	p->clone_arg[0] =
	    (struct oci_seccomp_arg){.index = 0, .value = 0x7E020000, .value_two = 0, .op = "SCMP_CMP_MASKED_EQ"};
	p->sc[0] = rule(docker_allowed, OCI_SCMP_ALLOW);
	p->sc[1] = rule(personality_names, OCI_SCMP_ALLOW);
	p->sc[1].args = p->pers;
	p->sc[1].n_args = 5;
	p->sc[2] = rule(clone_names, OCI_SCMP_ALLOW);
	p->sc[2].args = p->clone_arg;
	p->sc[2].n_args = 1;
	p->sc[3] = rule_errno(clone3_names, ENOSYS); /* so that libc falls back to clone */
	p->s = profile(OCI_SCMP_ERRNO, p->sc, 4);
	p->s.has_default_errno_ret = true;
	p->s.default_errno_ret = EPERM;
	p->s.architectures = x86_archs;
}

static void child_docker(void *arg)
{
	struct load_case *lc = arg;
	child_load(lc->f);
	CHILD_CHECK(getpid() > 0);
	CHILD_CHECK(chdir("/") == 0);
	/* Not in the list: EPERM (without the filter swapoff would say ENOENT, unshare succeed). */
	CHILD_CHECK(swapoff("/nonexistent-berth") == -1 && errno == EPERM);
	CHILD_CHECK(unshare(CLONE_NEWUTS) == -1 && errno == EPERM);
	CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	/* personality: the listed values only. */
	CHILD_CHECK(personality(0xffffffff) >= 0);
	CHILD_CHECK(personality(PER_LINUX) == 0);
	CHILD_CHECK(personality(ADDR_NO_RANDOMIZE) == -1 && errno == EPERM);
	/* clone for fork is allowed, for a new namespace it is not. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	CHILD_CHECK(pid > 0);
	int status;
	CHILD_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
	long r = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, 0);
	if (r == 0)
		_exit(0); /* the filter failed to stop it: the parent's check reports it */
	CHILD_CHECK(r == -1 && errno == EPERM);
}

#define REPS 21

/* Children report a duration (ns) here. */
static int time_pipe[2] = {-1, -1};

static void report_ns(int64_t dt)
{
	CHILD_CHECK(write(time_pipe[1], &dt, sizeof(dt)) == sizeof(dt));
}

static int64_t timed_child(void (*fn)(void *), void *arg)
{
	expect_child_ok(fn, arg);
	int64_t dt = -1;
	assert_int_equal(read(time_pipe[0], &dt, sizeof(dt)), sizeof(dt));
	return dt;
}

static void child_time_load(void *arg)
{
	struct load_case *lc = arg;
	int64_t t0 = now_ns();
	child_load(lc->f);
	report_ns(now_ns() - t0);
}

/* The same allow-list through libseccomp's own seccomp_load(), which compiles BPF on every load. */
static void child_time_libseccomp_load(void *arg)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	CHILD_CHECK(ctx != NULL);
	CHILD_CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0);
	CHILD_CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X86) == 0);
	CHILD_CHECK(seccomp_arch_add(ctx, SCMP_ARCH_X32) == 0);
	for (size_t i = 0; docker_allowed[i]; i++) {
		int nr = seccomp_syscall_resolve_name(docker_allowed[i]);
		if (nr != __NR_SCMP_ERROR)
			CHILD_CHECK(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) == 0);
	}
	int64_t t0 = now_ns();
	CHILD_CHECK(seccomp_load(ctx) == 0);
	report_ns(now_ns() - t0);
}

static void test_docker_profile(void **state)
{
	struct docker_profile p;
	docker_profile_init(&p);

	/* Cold: a different defaultErrnoRet each time makes each profile new to the cache. */
	int64_t cold[REPS], warm[REPS];
	struct oci_seccomp_filter *f = NULL;
	for (int i = 0; i < REPS; i++) {
		oci_seccomp_filter_free(f);
		p.s.default_errno_ret = 1000 + (unsigned)i;
		int64_t t0 = now_ns();
		f = prepare_ok(&p.s);
		cold[i] = now_ns() - t0;
	}
	p.s.default_errno_ret = EPERM;
	unsigned size = 0;
	for (int i = 0; i < REPS; i++) {
		oci_seccomp_filter_free(f);
		int64_t t0 = now_ns();
		f = prepare_ok(&p.s);
		warm[i] = now_ns() - t0;
		if (i == 0)
			size = oci_seccomp_filter_size(f);
		assert_int_equal(oci_seccomp_filter_size(f), size);
	}
	struct load_case lc = {f};
	expect_child_ok(child_docker, &lc);

	assert_int_equal(pipe2(time_pipe, O_CLOEXEC), 0);
	int64_t load[REPS], lib_load[REPS];
	for (int i = 0; i < REPS; i++) {
		load[i] = timed_child(child_time_load, &lc);
		lib_load[i] = timed_child(child_time_libseccomp_load, NULL);
	}
	close(time_pipe[0]);
	close(time_pipe[1]);
	print_message(
	    "docker-like profile (%zu names, 3 archs): %u BPF instructions; prepare %.3f ms (cached: %.3f ms), "
	    "load %.3f ms (libseccomp's seccomp_load of the same: %.3f ms) [medians of %d]\n",
	    ARRAY_SIZE(docker_allowed) - 1, size, median(cold, REPS) / 1e6, median(warm, REPS) / 1e6,
	    median(load, REPS) / 1e6, median(lib_load, REPS) / 1e6, REPS);
	oci_seccomp_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_action_names),   cmocka_unit_test(test_known_lists),
	    cmocka_unit_test(test_errors),         cmocka_unit_test(test_skips),
	    cmocka_unit_test(test_errno),          cmocka_unit_test(test_kill_process),
	    cmocka_unit_test(test_args),           cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_no_new_privs),   cmocka_unit_test(test_notify),
	    cmocka_unit_test(test_docker_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
