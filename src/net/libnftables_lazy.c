/* libnftables' functions, looked up at first use (libnftables_lazy.h says why). */
#define LIBNFTABLES_DIRECT
#include "net/libnftables_lazy.h"

#define SYM(f) LAZY_SYM_OF(libnftables_fn, f)
LAZY_LIB_DEFINE(libnftables_fns, libnftables_fn, LIBNFTABLES_FUNCTIONS(SYM), libnftables_lib,
		.soname = "libnftables.so.1", .package = "libnftables1");
