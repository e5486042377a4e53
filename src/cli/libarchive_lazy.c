/* Loading libarchive at run time for `cp` (libarchive_lazy.h says why). */
#define CLI_LIBARCHIVE_LOADER
#include <dlfcn.h>
#include <errno.h>

#include "cli/libarchive_lazy.h"

struct cli_libarchive cli_la;

int cli_libarchive_load(berr *e)
{
	static void *lib;
	if (lib)
		return 0;
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return berr_plain(e, ENOENT, "cp needs libarchive (Debian package libarchive13): %s", dlerror());
#define CLI_LA_LOAD(f)                                                                               \
	if (!(*(void **)&cli_la.f = dlsym(h, #f))) {                                                 \
		dlclose(h);                                                                          \
		return berr_plain(e, ENOENT, "cp needs libarchive: libarchive.so.13 has no %s", #f); \
	}
	CLI_LIBARCHIVE_FUNCTIONS(CLI_LA_LOAD)
#undef CLI_LA_LOAD
	lib = h;
	return 0;
}
