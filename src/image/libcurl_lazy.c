/* libcurl's functions, looked up at first use (libcurl_lazy.h says why). */
#define LIBCURL_DIRECT
#include "image/libcurl_lazy.h"

/* curl_global_init after each load, its clean-up before each unload (not thread-safe: the loader's lock covers them).
 */
static int init_curl(berr *e)
{
	CURLcode rc = libcurl_fn.curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return berr_plain(e, EIO, "initialising libcurl: %s", libcurl_fn.curl_easy_strerror(rc));
	return 0;
}

static void cleanup_curl(void)
{
	libcurl_fn.curl_global_cleanup();
}

#define SYM(f) LAZY_SYM_OF(libcurl_fn, f)
LAZY_LIB_DEFINE(libcurl_fns, libcurl_fn, LIBCURL_FUNCTIONS(SYM), libcurl_lib, .soname = "libcurl.so.4",
		.package = "libcurl4", .after_load = init_curl, .before_unload = cleanup_curl);
