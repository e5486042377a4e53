/* Loading a shared library's functions at first use, and unloading it (lazy_lib.h says why). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lib/lazy_lib.h"

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lazy_lib *loaded_libs; /* every library ever loaded, under load_mu */

static void clear_table(struct lazy_lib *lib)
{
	for (size_t i = 0; i < lib->nsyms; i++)
		*lib->syms[i].slot = NULL;
}

static int load_locked(struct lazy_lib *lib, berr *e)
{
	if (lib->handle)
		return 0;
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return berr_plain(e, ENOENT, "loading %s (Debian package %s): %s", lib->soname, lib->package,
				  dlerror());
	for (size_t i = 0; i < lib->nsyms; i++) {
		void *f = dlsym(h, lib->syms[i].name);
		if (!f) {
			clear_table(lib);
			dlclose(h);
			return berr_plain(e, ENOENT, "loading %s (Debian package %s): it has no %s", lib->soname,
					  lib->package, lib->syms[i].name);
		}
		*lib->syms[i].slot = f;
	}
	if (lib->after_load && lib->after_load(e) < 0) {
		clear_table(lib);
		dlclose(h);
		return -1;
	}
	lib->handle = h;
	if (!lib->listed) {
		lib->next = loaded_libs;
		loaded_libs = lib;
		lib->listed = true;
	}
	return 0;
}

int lazy_lib_hold(struct lazy_lib *lib, berr *e)
{
	pthread_mutex_lock(&load_mu);
	int rc = load_locked(lib, e);
	if (rc == 0)
		lib->users++;
	pthread_mutex_unlock(&load_mu);
	return rc;
}

struct lazy_lib *lazy_lib_held(struct lazy_lib *lib, berr *e)
{
	return lazy_lib_hold(lib, e) < 0 ? NULL : lib;
}

void lazy_lib_release(struct lazy_lib *lib)
{
	pthread_mutex_lock(&load_mu);
	if (lib->users)
		lib->users--;
	pthread_mutex_unlock(&load_mu);
}

int lazy_lib_pin(struct lazy_lib *lib, berr *e)
{
	pthread_mutex_lock(&load_mu);
	int rc = load_locked(lib, e);
	if (rc == 0)
		lib->pinned = true;
	pthread_mutex_unlock(&load_mu);
	return rc;
}

void lazy_lib_unload_unused(void)
{
	pthread_mutex_lock(&load_mu);
	for (struct lazy_lib *lib = loaded_libs; lib; lib = lib->next) {
		if (!lib->handle || lib->users || lib->pinned)
			continue;
		if (lib->before_unload)
			lib->before_unload();
		clear_table(lib); /* a call without a hold then fails at once, not in unmapped code */
		dlclose(lib->handle);
		lib->handle = NULL;
	}
	pthread_mutex_unlock(&load_mu);
}
