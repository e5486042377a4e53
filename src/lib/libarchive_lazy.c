/* libarchive's functions, looked up at first use (libarchive_lazy.h says why). */
#define LIBARCHIVE_DIRECT
#include "lib/libarchive_lazy.h"

#define SYM(f) LAZY_SYM_OF(libarchive_fn, f)
LAZY_LIB_DEFINE(libarchive_fns, libarchive_fn, LIBARCHIVE_FUNCTIONS(SYM), libarchive_lib, .soname = "libarchive.so.13",
		.package = "libarchive13");
