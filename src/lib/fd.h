/* Descriptor housekeeping. */
#pragma once
#include <stddef.h>

/* Close every fd >= min_fd except those listed (negative entries are ignored). */
void b_close_fds_except(int min_fd, const int *keep, size_t n);
/* Write all of buf, resuming after short writes and EINTR; -1 with errno on failure. */
int b_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes, resuming after short reads and EINTR; -1 with errno (EIO at an early end). */
int b_read_exact(int fd, void *buf, size_t len);
/* Mark every fd >= min_fd close-on-exec (close_range, or /proc/self/fd on kernels without it). */
int b_cloexec_from(int min_fd);
