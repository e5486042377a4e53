/* Tars of local files for `berth cp` (cp_tar.c): packing a path, unpacking inside a directory. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* Told of every chunk of archive bytes that passes (docker's "Copying ... - 2.05kB"). */
struct cli_tar_progress {
	void (*add)(void *arg, size_t bytes);
	void *arg;
};

/*
 * Write a tar of path to fd, its top entry named `name` (".", "file", "dir" ...) and the rest
 * below it. follow_top packs what a symlink at path points to instead of the link (-L).
 */
int cli_tar_pack(const char *path, const char *name, bool follow_top, int fd, const struct cli_tar_progress *progress,
		 berr *e);

/*
 * Unpack the tar read from fd (after head_len bytes already read into head) inside dir: every
 * name, symlink and hard link resolves as if dir were "/", so nothing lands outside it. The
 * entries' first component `from` is renamed `to` (both NULL: as they are). A directory is never
 * replaced by a file nor a file by a directory; owners are not restored (as docker's cp).
 */
int cli_tar_unpack(int fd, const char *head, size_t head_len, const char *dir, const char *from, const char *to,
		   const struct cli_tar_progress *progress, berr *e);
