/* Whole directory trees we may not trust (a container's root): copied and measured without following a link. */
#pragma once
#include <stdint.h>

#include "err.h"

/*
 * Copy what the directory src_fd holds into the (empty) directory dst_fd, as Docker fills a new
 * volume from the image: directories, regular files, symbolic links, device nodes, FIFOs and
 * sockets with their owners, modes, extended attributes and times; hard links stay hard links.
 * No link in the source is ever followed. Then dst_fd takes src_fd's owner and mode.
 */
int b_tree_copy(int src_fd, int dst_fd, berr *e);
/* The bytes of everything below dir_fd that is not a directory, each hard-linked inode once (du --apparent-size). */
int b_tree_size(int dir_fd, int64_t *bytes, berr *e);
