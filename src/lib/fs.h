/* Files and paths: whole-file reads and writes, atomic replacement, resolution inside a root. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Write all of buf to path (created with mode, truncated). */
int b_write_file(const char *path, const void *buf, size_t len, mode_t mode, berr *e);
/* Write a string to an existing file such as a cgroup or /proc knob (no O_CREAT, no O_TRUNC). */
int b_write_knob(const char *path, const char *value, berr *e);
int b_write_knobat(int dirfd, const char *name, const char *value, berr *e);
/* Atomically replace path: temp file in the same directory, fsync, rename. */
int b_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode, berr *e);
/*
 * The same without the fsync: readers see the old file or the new one, never half of one, but a
 * crash of the machine may lose the new one. For files made again before they are needed.
 */
int b_write_file_replace(const char *path, const void *buf, size_t len, mode_t mode, berr *e);
/* Read a whole file; *out is NUL-terminated and *len (if given) excludes the NUL. */
int b_read_file(const char *path, char **out, size_t *len, berr *e);
int b_read_fileat(int dirfd, const char *name, char **out, size_t *len, berr *e);
/* mkdir -p. */
int b_mkdir_p(const char *path, mode_t mode, berr *e);
/* rm -rf of a tree we own; never crosses into another mount. */
int b_remove_tree(const char *path, berr *e);
bool b_path_exists(const char *path);

/*
 * Open path inside the directory rootfd as if rootfd were "/": "..", absolute
 * symlinks and relative symlinks all stay inside it (openat2 RESOLVE_IN_ROOT).
 * Returns the fd or -1 with errno set.
 */
int b_open_in_root(int rootfd, const char *path, int flags, mode_t mode);
/*
 * Make path (and its parents) as directories inside rootfd, resolving every
 * component inside the root, and return an O_PATH fd of it; with as_file the
 * last component is created as an empty regular file instead (a bind-mount
 * target for a file). An existing last component is opened as it is.
 */
int b_mkpath_in_root(int rootfd, const char *path, mode_t mode, bool as_file, berr *e);
/* "/proc/self/fd/N" for an fd, to name an opened object in mount(2) and friends. */
void b_fd_path(int fd, char buf[static 32]);
