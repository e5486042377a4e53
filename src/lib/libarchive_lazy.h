/*
 * libarchive, loaded at first use (lib/lazy_lib.h): linked in, it and the libraries it needs
 * (libxml2, ICU, libstdc++ ...) cost berthd ~2.5 MB of resident pages before any tar was read,
 * and the CLI's start more time than most of its commands take (bench/cli). Include it instead
 * of <archive.h> and <archive_entry.h>: the names below then call through the table. Every entry
 * point that makes an archive or an entry holds libarchive_lib first.
 */
#pragma once
#include <archive.h>
#include <archive_entry.h>

#include "lib/lazy_lib.h"

#define LIBARCHIVE_FUNCTIONS(X)                    \
	X(archive_entry_atime)                     \
	X(archive_entry_atime_is_set)              \
	X(archive_entry_atime_nsec)                \
	X(archive_entry_copy_hardlink)             \
	X(archive_entry_copy_pathname)             \
	X(archive_entry_copy_symlink)              \
	X(archive_entry_filetype)                  \
	X(archive_entry_free)                      \
	X(archive_entry_gid)                       \
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
	X(archive_entry_set_filetype)              \
	X(archive_entry_set_gid)                   \
	X(archive_entry_set_mtime)                 \
	X(archive_entry_set_pathname)              \
	X(archive_entry_set_perm)                  \
	X(archive_entry_set_rdev)                  \
	X(archive_entry_set_size)                  \
	X(archive_entry_set_uid)                   \
	X(archive_entry_size)                      \
	X(archive_entry_size_is_set)               \
	X(archive_entry_symlink)                   \
	X(archive_entry_uid)                       \
	X(archive_entry_xattr_add_entry)           \
	X(archive_entry_xattr_next)                \
	X(archive_entry_xattr_reset)               \
	X(archive_errno)                           \
	X(archive_error_string)                    \
	X(archive_format)                          \
	X(archive_read_append_filter)              \
	X(archive_read_data)                       \
	X(archive_read_data_block)                 \
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
	X(archive_read_open_fd)                    \
	X(archive_read_support_filter_all)         \
	X(archive_read_support_filter_bzip2)       \
	X(archive_read_support_filter_gzip)        \
	X(archive_read_support_filter_xz)          \
	X(archive_read_support_filter_zstd)        \
	X(archive_read_support_format_empty)       \
	X(archive_read_support_format_raw)         \
	X(archive_read_support_format_tar)         \
	X(archive_set_error)                       \
	X(archive_write_add_filter_none)           \
	X(archive_write_close)                     \
	X(archive_write_data)                      \
	X(archive_write_free)                      \
	X(archive_write_header)                    \
	X(archive_write_new)                       \
	X(archive_write_open)                      \
	X(archive_write_set_bytes_in_last_block)   \
	X(archive_write_set_format_pax_restricted)

struct libarchive_fns {
	LIBARCHIVE_FUNCTIONS(LAZY_FIELD)
};
extern struct libarchive_fns libarchive_fn;

/* libarchive.so.13: lazy_lib_hold and lazy_lib_release it around its use, or lazy_lib_pin it. */
extern struct lazy_lib libarchive_lib;

/* Defined by the loader and by tests linked with libarchive: they call its own symbols. */
#ifndef LIBARCHIVE_DIRECT
#define archive_entry_atime                     libarchive_fn.archive_entry_atime
#define archive_entry_atime_is_set              libarchive_fn.archive_entry_atime_is_set
#define archive_entry_atime_nsec                libarchive_fn.archive_entry_atime_nsec
#define archive_entry_copy_hardlink             libarchive_fn.archive_entry_copy_hardlink
#define archive_entry_copy_pathname             libarchive_fn.archive_entry_copy_pathname
#define archive_entry_copy_symlink              libarchive_fn.archive_entry_copy_symlink
#define archive_entry_filetype                  libarchive_fn.archive_entry_filetype
#define archive_entry_free                      libarchive_fn.archive_entry_free
#define archive_entry_gid                       libarchive_fn.archive_entry_gid
#define archive_entry_hardlink                  libarchive_fn.archive_entry_hardlink
#define archive_entry_linkify                   libarchive_fn.archive_entry_linkify
#define archive_entry_linkresolver_free         libarchive_fn.archive_entry_linkresolver_free
#define archive_entry_linkresolver_new          libarchive_fn.archive_entry_linkresolver_new
#define archive_entry_linkresolver_set_strategy libarchive_fn.archive_entry_linkresolver_set_strategy
#define archive_entry_mtime                     libarchive_fn.archive_entry_mtime
#define archive_entry_mtime_nsec                libarchive_fn.archive_entry_mtime_nsec
#define archive_entry_new                       libarchive_fn.archive_entry_new
#define archive_entry_pathname                  libarchive_fn.archive_entry_pathname
#define archive_entry_perm                      libarchive_fn.archive_entry_perm
#define archive_entry_rdev                      libarchive_fn.archive_entry_rdev
#define archive_entry_set_filetype              libarchive_fn.archive_entry_set_filetype
#define archive_entry_set_gid                   libarchive_fn.archive_entry_set_gid
#define archive_entry_set_mtime                 libarchive_fn.archive_entry_set_mtime
#define archive_entry_set_pathname              libarchive_fn.archive_entry_set_pathname
#define archive_entry_set_perm                  libarchive_fn.archive_entry_set_perm
#define archive_entry_set_rdev                  libarchive_fn.archive_entry_set_rdev
#define archive_entry_set_size                  libarchive_fn.archive_entry_set_size
#define archive_entry_set_uid                   libarchive_fn.archive_entry_set_uid
#define archive_entry_size                      libarchive_fn.archive_entry_size
#define archive_entry_size_is_set               libarchive_fn.archive_entry_size_is_set
#define archive_entry_symlink                   libarchive_fn.archive_entry_symlink
#define archive_entry_uid                       libarchive_fn.archive_entry_uid
#define archive_entry_xattr_add_entry           libarchive_fn.archive_entry_xattr_add_entry
#define archive_entry_xattr_next                libarchive_fn.archive_entry_xattr_next
#define archive_entry_xattr_reset               libarchive_fn.archive_entry_xattr_reset
#define archive_errno                           libarchive_fn.archive_errno
#define archive_error_string                    libarchive_fn.archive_error_string
#define archive_format                          libarchive_fn.archive_format
#define archive_read_append_filter              libarchive_fn.archive_read_append_filter
#define archive_read_data                       libarchive_fn.archive_read_data
#define archive_read_data_block                 libarchive_fn.archive_read_data_block
#define archive_read_data_into_fd               libarchive_fn.archive_read_data_into_fd
#define archive_read_disk_descend               libarchive_fn.archive_read_disk_descend
#define archive_read_disk_new                   libarchive_fn.archive_read_disk_new
#define archive_read_disk_open                  libarchive_fn.archive_read_disk_open
#define archive_read_disk_set_standard_lookup   libarchive_fn.archive_read_disk_set_standard_lookup
#define archive_read_disk_set_symlink_hybrid    libarchive_fn.archive_read_disk_set_symlink_hybrid
#define archive_read_disk_set_symlink_physical  libarchive_fn.archive_read_disk_set_symlink_physical
#define archive_read_free                       libarchive_fn.archive_read_free
#define archive_read_new                        libarchive_fn.archive_read_new
#define archive_read_next_header                libarchive_fn.archive_read_next_header
#define archive_read_next_header2               libarchive_fn.archive_read_next_header2
#define archive_read_open                       libarchive_fn.archive_read_open
#define archive_read_open_fd                    libarchive_fn.archive_read_open_fd
#define archive_read_support_filter_all         libarchive_fn.archive_read_support_filter_all
#define archive_read_support_filter_bzip2       libarchive_fn.archive_read_support_filter_bzip2
#define archive_read_support_filter_gzip        libarchive_fn.archive_read_support_filter_gzip
#define archive_read_support_filter_xz          libarchive_fn.archive_read_support_filter_xz
#define archive_read_support_filter_zstd        libarchive_fn.archive_read_support_filter_zstd
#define archive_read_support_format_empty       libarchive_fn.archive_read_support_format_empty
#define archive_read_support_format_raw         libarchive_fn.archive_read_support_format_raw
#define archive_read_support_format_tar         libarchive_fn.archive_read_support_format_tar
#define archive_set_error                       libarchive_fn.archive_set_error
#define archive_write_add_filter_none           libarchive_fn.archive_write_add_filter_none
#define archive_write_close                     libarchive_fn.archive_write_close
#define archive_write_data                      libarchive_fn.archive_write_data
#define archive_write_free                      libarchive_fn.archive_write_free
#define archive_write_header                    libarchive_fn.archive_write_header
#define archive_write_new                       libarchive_fn.archive_write_new
#define archive_write_open                      libarchive_fn.archive_write_open
#define archive_write_set_bytes_in_last_block   libarchive_fn.archive_write_set_bytes_in_last_block
#define archive_write_set_format_pax_restricted libarchive_fn.archive_write_set_format_pax_restricted
#endif
