/* ldns's functions, looked up at first use (libldns_lazy.h says why). */
#define LIBLDNS_DIRECT
#include "net/libldns_lazy.h"

#define SYM(f) LAZY_SYM_OF(libldns_fn, f)
LAZY_LIB_DEFINE(libldns_fns, libldns_fn, LIBLDNS_FUNCTIONS(SYM), libldns_lib, .soname = "libldns.so.3",
		.package = "libldns3");
