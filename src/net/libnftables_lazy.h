/*
 * libnftables, held for each transaction (lib/lazy_lib.h): linked in, it and its libraries
 * (libnftnl, libxtables) kept ~1 MB resident in a daemon that changes its rules only when a
 * network or a published port comes or goes. Include it instead of <nftables/libnftables.h>.
 */
#pragma once
#include <nftables/libnftables.h>

#include "lib/lazy_lib.h"

#define LIBNFTABLES_FUNCTIONS(X)     \
	X(nft_ctx_buffer_error)      \
	X(nft_ctx_buffer_output)     \
	X(nft_ctx_free)              \
	X(nft_ctx_get_error_buffer)  \
	X(nft_ctx_get_output_buffer) \
	X(nft_ctx_new)               \
	X(nft_ctx_output_set_flags)  \
	X(nft_run_cmd_from_buffer)

struct libnftables_fns {
	LIBNFTABLES_FUNCTIONS(LAZY_FIELD)
};
extern struct libnftables_fns libnftables_fn;

/* libnftables.so.1: lazy_lib_hold and lazy_lib_release it around its use, or lazy_lib_pin it. */
extern struct lazy_lib libnftables_lib;

/* Defined by the loader, which takes the library's own symbols. */
#ifndef LIBNFTABLES_DIRECT
#define nft_ctx_buffer_error      libnftables_fn.nft_ctx_buffer_error
#define nft_ctx_buffer_output     libnftables_fn.nft_ctx_buffer_output
#define nft_ctx_free              libnftables_fn.nft_ctx_free
#define nft_ctx_get_error_buffer  libnftables_fn.nft_ctx_get_error_buffer
#define nft_ctx_get_output_buffer libnftables_fn.nft_ctx_get_output_buffer
#define nft_ctx_new               libnftables_fn.nft_ctx_new
#define nft_ctx_output_set_flags  libnftables_fn.nft_ctx_output_set_flags
#define nft_run_cmd_from_buffer   libnftables_fn.nft_run_cmd_from_buffer
#endif
