/*
 * Docker's default seccomp profile, restated as our own table and turned into linux.seccomp.
 *
 * Facts from Docker's documentation ("Seccomp security profiles for Docker") and its profile
 * (moby/moby profiles/seccomp/default.json and default_linux.go, Docker 24-27): an allow-list with
 * the default action SCMP_ACT_ERRNO (EPERM); a large set of ordinary system calls allowed to every
 * container; some allowed only when the container holds a capability (mount, unshare, setns ...
 * with CAP_SYS_ADMIN, ptrace with CAP_SYS_PTRACE ...); clone allowed without CAP_SYS_ADMIN only
 * when it asks for no new namespace; clone3 answering ENOSYS without CAP_SYS_ADMIN, so that libc
 * falls back to clone, whose flags the filter can see; personality only with the values that
 * programs use (PER_LINUX, PER_LINUX32, UNAME26 and the query 0xffffffff); socket of every family
 * but AF_VSOCK; and a few calls of one architecture. The grouping below is ours.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/capability.h>

#include "engine/spec_internal.h"
#include "lib/cleanup.h"
#include "oci/spec.h"

/* Allowed to every container, by what they are for. */
static const char *const always_allowed[] = {
    /* reading and writing files */
    "access faccessat faccessat2 open openat openat2 creat close close_range read readv pread64 preadv preadv2 "
    "write writev pwrite64 pwritev pwritev2 lseek _llseek dup dup2 dup3 fcntl fcntl64 flock fsync fdatasync sync "
    "syncfs sync_file_range truncate truncate64 ftruncate ftruncate64 fallocate fadvise64 fadvise64_64 readahead "
    "copy_file_range sendfile sendfile64 splice tee vmsplice ioctl",
    /* file metadata and extended attributes */
    "stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64 chmod "
    "fchmod fchmodat chown chown32 fchown fchown32 fchownat lchown lchown32 utime utimes utimensat utimensat_time64 "
    "futimesat umask getxattr lgetxattr fgetxattr setxattr lsetxattr fsetxattr listxattr llistxattr flistxattr "
    "removexattr lremovexattr fremovexattr",
    /* the directory tree */
    "chdir fchdir getcwd getdents getdents64 mkdir mkdirat mknod mknodat rmdir rename renameat renameat2 link linkat "
    "symlink symlinkat unlink unlinkat readlink readlinkat name_to_handle_at inotify_init inotify_init1 "
    "inotify_add_watch inotify_rm_watch fanotify_mark",
    /* waiting for events */
    "select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create epoll_create1 epoll_ctl "
    "epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 eventfd eventfd2 signalfd signalfd4 "
    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 pipe pipe2 io_setup "
    "io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 io_uring_setup io_uring_enter "
    "io_uring_register futex futex_time64 futex_waitv",
    /* memory */
    "brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock munlockall "
    "remap_file_pages membarrier memfd_create memfd_secret pkey_alloc pkey_free pkey_mprotect",
    /* processes, threads and their limits */
    "fork vfork execve execveat exit exit_group wait4 waitid waitpid getpid getppid gettid getpgid setpgid getpgrp "
    "getsid setsid prctl getpriority setpriority ioprio_get ioprio_set getrlimit setrlimit ugetrlimit prlimit64 "
    "getrusage times sysinfo uname set_tid_address set_robust_list get_robust_list rseq get_thread_area "
    "set_thread_area restart_syscall seccomp capget capset pidfd_open pidfd_send_signal process_mrelease "
    "landlock_create_ruleset landlock_add_rule landlock_restrict_self getcpu getrandom",
    /* scheduling */
    "sched_yield sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam sched_setparam "
    "sched_getscheduler sched_setscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval "
    "sched_rr_get_interval_time64",
    /* user and group ids */
    "getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid "
    "getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 "
    "setresuid setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32",
    /* signals */
    "kill tkill tgkill rt_sigaction rt_sigprocmask rt_sigpending rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn "
    "rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 sigaltstack sigprocmask sigreturn pause",
    /* clocks and timers (reading; setting the clock needs CAP_SYS_TIME below) */
    "time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 clock_nanosleep "
    "clock_nanosleep_time64 nanosleep clock_adjtime clock_adjtime64 adjtimex alarm getitimer setitimer "
    "timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64",
    /* sockets (socket itself is below: every family but AF_VSOCK) */
    "socketcall socketpair bind connect listen accept accept4 getsockname getpeername getsockopt setsockopt "
    "shutdown send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64",
    /* System V and POSIX IPC */
    "ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat shmdt shmctl "
    "mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64 mq_notify "
    "mq_getsetattr",
    /* reading another process's memory: allowed since kernel 4.8 made it respect seccomp */
    "process_vm_readv process_vm_writev ptrace",
};

/* Only on this build's architecture. */
#if defined(__x86_64__)
#define ARCH_ONLY "arch_prctl modify_ldt"
#elif defined(__i386__)
#define ARCH_ONLY "modify_ldt"
#elif defined(__aarch64__) || defined(__arm__)
#define ARCH_ONLY "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"
#elif defined(__powerpc64__)
#define ARCH_ONLY "sync_file_range2 swapcontext"
#elif defined(__s390x__) || defined(__s390__)
#define ARCH_ONLY "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"
#elif defined(__riscv)
#define ARCH_ONLY "riscv_flush_icache"
#else
#define ARCH_ONLY ""
#endif

/* Allowed with a capability: what that capability is there to permit. */
static const struct {
	int cap;
	const char *names;
} with_cap[] = {
    {CAP_SYS_ADMIN, "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
		    "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
		    "sethostname setns syslog umount umount2 unshare"},
    {CAP_DAC_READ_SEARCH, "open_by_handle_at"},
    {CAP_SYS_BOOT, "reboot"},
    {CAP_SYS_CHROOT, "chroot"},
    {CAP_SYS_MODULE, "delete_module init_module finit_module"},
    {CAP_SYS_PACCT, "acct"},
    {CAP_SYS_PTRACE, "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"},
    {CAP_SYS_RAWIO, "iopl ioperm"},
    {CAP_SYS_TIME, "settimeofday stime clock_settime clock_settime64"},
    {CAP_SYS_TTY_CONFIG, "vhangup"},
    {CAP_SYS_NICE, "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"},
    {CAP_SYSLOG, "syslog"},
#ifdef CAP_BPF
    {CAP_BPF, "bpf"},
#else
    {39, "bpf"},
#endif
#ifdef CAP_PERFMON
    {CAP_PERFMON, "perf_event_open"},
#else
    {38, "perf_event_open"},
#endif
};

/* The flags of every namespace clone(2) can make. */
#define CLONE_NS_FLAGS \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

/* personality(2) values programs use: PER_LINUX, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, and the query. */
static const uint64_t personalities[] = {0x0, 0x20000, 0x0008, 0x20008, 0xffffffff};

static const char *const native_archs[] = {
#if defined(__x86_64__)
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
#elif defined(__i386__)
    "SCMP_ARCH_X86",
#elif defined(__aarch64__)
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
#elif defined(__arm__)
    "SCMP_ARCH_ARM",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "SCMP_ARCH_PPC64LE",
#elif defined(__s390x__)
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_S390",
#elif defined(__riscv) && __riscv_xlen == 64
    "SCMP_ARCH_RISCV64",
#endif
    NULL,
};

const char *const *eng_seccomp_native_archs(void)
{
	return native_archs;
}

const char *eng_seccomp_goarch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__i386__)
	return "386";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "unknown";
#endif
}

/* "a b c" -> ["a", "b", "c"] appended to arr. */
static void append_words(json_t *arr, const char *words)
{
	while (*words) {
		size_t n = strcspn(words, " ");
		if (n)
			json_array_append_new(arr, json_stringn(words, n));
		words += n;
		words += strspn(words, " ");
	}
}

static json_t *rule(const char *names, const char *action)
{
	json_t *list = json_array();
	append_words(list, names);
	return json_pack("{s:o, s:s}", "names", list, "action", action);
}

static json_t *arg(unsigned index, uint64_t value, uint64_t value_two, const char *op)
{
	return json_pack("{s:I, s:I, s:I, s:s}", "index", (json_int_t)index, "value", (json_int_t)value, "valueTwo",
			 (json_int_t)value_two, "op", op);
}

static bool has(uint64_t caps, int cap)
{
	return cap >= 0 && cap < 64 && (caps >> cap & 1);
}

json_t *eng_seccomp_default(uint64_t caps)
{
	json_t *syscalls = json_array(), *archs = json_array();
	if (!syscalls || !archs) {
		json_decref(syscalls);
		json_decref(archs);
		return NULL;
	}
	for (const char *const *a = native_archs; *a; a++)
		json_array_append_new(archs, json_string(*a));

	/* One rule for everything allowed outright. */
	json_t *all = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(always_allowed); i++)
		append_words(all, always_allowed[i]);
	append_words(all, ARCH_ONLY);
	json_array_append_new(syscalls, json_pack("{s:o, s:s}", "names", all, "action", "SCMP_ACT_ALLOW"));

	json_t *socket = rule("socket", "SCMP_ACT_ALLOW");
	json_object_set_new(socket, "args", json_pack("[o]", arg(0, AF_VSOCK, 0, "SCMP_CMP_NE")));
	json_array_append_new(syscalls, socket);
	for (size_t i = 0; i < ARRAY_SIZE(personalities); i++) {
		json_t *p = rule("personality", "SCMP_ACT_ALLOW");
		json_object_set_new(p, "args", json_pack("[o]", arg(0, personalities[i], 0, "SCMP_CMP_EQ")));
		json_array_append_new(syscalls, p);
	}

	for (size_t i = 0; i < ARRAY_SIZE(with_cap); i++)
		if (has(caps, with_cap[i].cap))
			json_array_append_new(syscalls, rule(with_cap[i].names, "SCMP_ACT_ALLOW"));

	if (!has(caps, CAP_SYS_ADMIN)) {
		/* clone without new namespaces (on s390 the flags are the second argument). */
#if defined(__s390x__) || defined(__s390__)
		unsigned flags_arg = 1;
#else
		unsigned flags_arg = 0;
#endif
		json_t *clone = rule("clone", "SCMP_ACT_ALLOW");
		json_object_set_new(clone, "args",
				    json_pack("[o]", arg(flags_arg, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ")));
		json_array_append_new(syscalls, clone);
		/* clone3 hides its flags in memory a filter cannot read: ENOSYS makes libc use clone. */
		json_t *clone3 = rule("clone3", "SCMP_ACT_ERRNO");
		json_object_set_new(clone3, "errnoRet", json_integer(ENOSYS));
		json_array_append_new(syscalls, clone3);
	}

	return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO", "defaultErrnoRet", EPERM,
			 "architectures", archs, "syscalls", syscalls);
}
