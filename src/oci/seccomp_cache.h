/*
 * Compiled seccomp filters kept on disk, for the processes that each compile a profile once and
 * exit (a container's monitor, a berth-runtime command): compiling Docker's profile with
 * libseccomp costs 10-30 ms, reading it back a few microseconds.
 */
#pragma once
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Keep the files in STATE_ROOT/@seccomp (made 0700 on the first write; '@' is in no container
 * ID, so it never meets a container's state); NULL: no disk cache. Process-wide.
 */
void oci_seccomp_cache_use_root(const char *state_root);

/*
 * The program compiled for key (the whole profile, as seccomp.c's profile_key writes it, with
 * libseccomp's version): a malloc'd copy in *insns, or false when there is none. A file whose key
 * is not key byte for byte is a miss.
 */
bool oci_seccomp_cache_load(const char *key, size_t key_len, struct sock_filter **insns, unsigned short *len,
			    bool *notify);

/* Keep the program for key; a failure to write only means no cache. */
void oci_seccomp_cache_store(const char *key, size_t key_len, const struct sock_filter *insns, unsigned short len,
			     bool notify);
