/*
 * libcurl, loaded when the first registry client is made (lib/lazy_lib.h): linked in, it and
 * the libraries it needs (OpenSSL, Kerberos, LDAP, SASL, ssh2, nghttp2 ...) cost berthd ~2 MB
 * of resident pages that a daemon which never pulls had no use for. Include it instead of
 * <curl/curl.h>; curl_easy_setopt and the other variadic functions are called through their
 * pointers with their usual arguments (curl's compile-time option type checks are off, as
 * they are macros over the linked names).
 */
#pragma once
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "lib/lazy_lib.h"

#define LIBCURL_FUNCTIONS(X)   \
	X(curl_easy_cleanup)   \
	X(curl_easy_escape)    \
	X(curl_easy_getinfo)   \
	X(curl_easy_init)      \
	X(curl_easy_perform)   \
	X(curl_easy_setopt)    \
	X(curl_easy_strerror)  \
	X(curl_free)           \
	X(curl_global_cleanup) \
	X(curl_global_init)    \
	X(curl_share_cleanup)  \
	X(curl_share_init)     \
	X(curl_share_setopt)   \
	X(curl_slist_append)   \
	X(curl_slist_free_all)

struct libcurl_fns {
	LIBCURL_FUNCTIONS(LAZY_FIELD)
};
extern struct libcurl_fns libcurl_fn;

/* libcurl.so.4: lazy_lib_hold and lazy_lib_release it around its use, or lazy_lib_pin it. */
extern struct lazy_lib libcurl_lib;

/* Defined by the loader, which takes the library's own symbols. */
#ifndef LIBCURL_DIRECT
/* curl.h defines these three as macros that only count the arguments. */
#undef curl_easy_getinfo
#undef curl_easy_setopt
#undef curl_share_setopt
#define curl_easy_cleanup   libcurl_fn.curl_easy_cleanup
#define curl_easy_escape    libcurl_fn.curl_easy_escape
#define curl_easy_getinfo   libcurl_fn.curl_easy_getinfo
#define curl_easy_init      libcurl_fn.curl_easy_init
#define curl_easy_perform   libcurl_fn.curl_easy_perform
#define curl_easy_setopt    libcurl_fn.curl_easy_setopt
#define curl_easy_strerror  libcurl_fn.curl_easy_strerror
#define curl_free           libcurl_fn.curl_free
#define curl_global_cleanup libcurl_fn.curl_global_cleanup
#define curl_global_init    libcurl_fn.curl_global_init
#define curl_share_cleanup  libcurl_fn.curl_share_cleanup
#define curl_share_init     libcurl_fn.curl_share_init
#define curl_share_setopt   libcurl_fn.curl_share_setopt
#define curl_slist_append   libcurl_fn.curl_slist_append
#define curl_slist_free_all libcurl_fn.curl_slist_free_all
#endif
