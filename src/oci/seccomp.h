/* Seccomp filters from linux.seccomp: validated and compiled to BPF ahead of time, loaded late. */
#pragma once

#include "../lib/err.h"
#include "spec.h"

/* A compiled filter: the BPF program and the seccomp(2) flags to load it with. */
struct oci_seccomp_filter;

/*
 * Validate s and compile it to BPF (in the runtime, before the container process is
 * cloned) so that the container init only has to make one seccomp(2) call. Errors name
 * the field: unknown action, architecture, operator or flag, an argument index above 5,
 * an errnoRet above 65535. Syscall names this libseccomp does not know are skipped (a
 * profile lists syscalls of newer kernels), as are rules whose action is the default
 * action. s == NULL gives *out == NULL. Compiled programs are kept in a small process-wide
 * cache keyed by the whole profile (thread-safe), and on disk when seccomp_cache.h says where,
 * so that each profile is compiled once, not once per process.
 */
int oci_seccomp_prepare(const struct oci_seccomp *s, struct oci_seccomp_filter **out, berr *e);

/*
 * Install the filter on the calling thread (all threads with SECCOMP_FILTER_FLAG_TSYNC).
 * No-new-privs is left as the caller set it: without it the caller needs CAP_SYS_ADMIN.
 * When the profile uses SCMP_ACT_NOTIFY, *listener_fd gets the notification fd
 * (O_CLOEXEC), else -1; with listener_fd NULL that fd is closed. f == NULL does nothing.
 */
int oci_seccomp_load(const struct oci_seccomp_filter *f, int *listener_fd, berr *e);

void oci_seccomp_filter_free(struct oci_seccomp_filter *f);

/* Number of BPF instructions of a prepared filter (for tests and diagnostics). */
unsigned oci_seccomp_filter_size(const struct oci_seccomp_filter *f);

/* Supported names, for `berth-runtime features`: static NULL-terminated arrays. */
const char *const *oci_seccomp_known_actions(void);
const char *const *oci_seccomp_known_operators(void);
const char *const *oci_seccomp_known_archs(void);
const char *const *oci_seccomp_known_flags(void);

/* "SCMP_ACT_ERRNO" -> OCI_SCMP_ERRNO ..., -1 if unknown. */
int oci_seccomp_action_from_name(const char *name);
