/*
 * libarchive, loaded when `cp` first needs it (libarchive_lazy.c): linked in, its libraries
 * (libxml2, ICU ...) took longer to load than most of berth's commands take (bench/cli).
 * Include after <archive.h> and <archive_entry.h>: the names below then call through the table.
 */
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include "lib/err.h"

#define CLI_LIBARCHIVE_FUNCTIONS(X)                \
	X(archive_entry_atime)                     \
	X(archive_entry_atime_is_set)              \
	X(archive_entry_atime_nsec)                \
	X(archive_entry_filetype)                  \
	X(archive_entry_free)                      \
	X(archive_entry_hardlink)                  \
	X(archive_entry_linkify)                   \
	X(archive_entry_linkresolver_free)         \
	X(archive_entry_linkresolver_new)          \
	X(archive_entry_linkresolver_set_strategy) \
	X(archive_entry_mtime)                     \
	X(archive_entry_mtime_nsec)                \
	X(archive_entry_new)                       \
	X(archive_entry_pathname)                  \
	X(archive_entry_perm)                      \
	X(archive_entry_rdev)                      \
	X(archive_entry_set_pathname)              \
	X(archive_entry_size)                      \
	X(archive_entry_symlink)                   \
	X(archive_errno)                           \
	X(archive_error_string)                    \
	X(archive_format)                          \
	X(archive_read_data)                       \
	X(archive_read_data_into_fd)               \
	X(archive_read_disk_descend)               \
	X(archive_read_disk_new)                   \
	X(archive_read_disk_open)                  \
	X(archive_read_disk_set_standard_lookup)   \
	X(archive_read_disk_set_symlink_hybrid)    \
	X(archive_read_disk_set_symlink_physical)  \
	X(archive_read_free)                       \
	X(archive_read_new)                        \
	X(archive_read_next_header)                \
	X(archive_read_next_header2)               \
	X(archive_read_open)                       \
	X(archive_read_support_format_tar)         \
	X(archive_set_error)                       \
	X(archive_write_close)                     \
	X(archive_write_data)                      \
	X(archive_write_free)                      \
	X(archive_write_header)                    \
	X(archive_write_new)                       \
	X(archive_write_open)                      \
	X(archive_write_set_bytes_in_last_block)   \
	X(archive_write_set_format_pax_restricted)

struct cli_libarchive {
#define CLI_LA_FIELD(f) __typeof__(f) *f;
	CLI_LIBARCHIVE_FUNCTIONS(CLI_LA_FIELD)
#undef CLI_LA_FIELD
};
extern struct cli_libarchive cli_la;

/* Load libarchive.so.13 once; an error says what is missing. */
int cli_libarchive_load(berr *e);

#ifndef CLI_LIBARCHIVE_LOADER
#define archive_entry_atime                     cli_la.archive_entry_atime
#define archive_entry_atime_is_set              cli_la.archive_entry_atime_is_set
#define archive_entry_atime_nsec                cli_la.archive_entry_atime_nsec
#define archive_entry_filetype                  cli_la.archive_entry_filetype
#define archive_entry_free                      cli_la.archive_entry_free
#define archive_entry_hardlink                  cli_la.archive_entry_hardlink
#define archive_entry_linkify                   cli_la.archive_entry_linkify
#define archive_entry_linkresolver_free         cli_la.archive_entry_linkresolver_free
#define archive_entry_linkresolver_new          cli_la.archive_entry_linkresolver_new
#define archive_entry_linkresolver_set_strategy cli_la.archive_entry_linkresolver_set_strategy
#define archive_entry_mtime                     cli_la.archive_entry_mtime
#define archive_entry_mtime_nsec                cli_la.archive_entry_mtime_nsec
#define archive_entry_new                       cli_la.archive_entry_new
#define archive_entry_pathname                  cli_la.archive_entry_pathname
#define archive_entry_perm                      cli_la.archive_entry_perm
#define archive_entry_rdev                      cli_la.archive_entry_rdev
#define archive_entry_set_pathname              cli_la.archive_entry_set_pathname
#define archive_entry_size                      cli_la.archive_entry_size
#define archive_entry_symlink                   cli_la.archive_entry_symlink
#define archive_errno                           cli_la.archive_errno
#define archive_error_string                    cli_la.archive_error_string
#define archive_format                          cli_la.archive_format
#define archive_read_data                       cli_la.archive_read_data
#define archive_read_data_into_fd               cli_la.archive_read_data_into_fd
#define archive_read_disk_descend               cli_la.archive_read_disk_descend
#define archive_read_disk_new                   cli_la.archive_read_disk_new
#define archive_read_disk_open                  cli_la.archive_read_disk_open
#define archive_read_disk_set_standard_lookup   cli_la.archive_read_disk_set_standard_lookup
#define archive_read_disk_set_symlink_hybrid    cli_la.archive_read_disk_set_symlink_hybrid
#define archive_read_disk_set_symlink_physical  cli_la.archive_read_disk_set_symlink_physical
#define archive_read_free                       cli_la.archive_read_free
#define archive_read_new                        cli_la.archive_read_new
#define archive_read_next_header                cli_la.archive_read_next_header
#define archive_read_next_header2               cli_la.archive_read_next_header2
#define archive_read_open                       cli_la.archive_read_open
#define archive_read_support_format_tar         cli_la.archive_read_support_format_tar
#define archive_set_error                       cli_la.archive_set_error
#define archive_write_close                     cli_la.archive_write_close
#define archive_write_data                      cli_la.archive_write_data
#define archive_write_free                      cli_la.archive_write_free
#define archive_write_header                    cli_la.archive_write_header
#define archive_write_new                       cli_la.archive_write_new
#define archive_write_open                      cli_la.archive_write_open
#define archive_write_set_bytes_in_last_block   cli_la.archive_write_set_bytes_in_last_block
#define archive_write_set_format_pax_restricted cli_la.archive_write_set_format_pax_restricted
#endif
