/*
 * Shared libraries loaded on first use, so that a process maps only what it needs: berthd
 * without a registry or a tar in sight stays small (docs/daemon.md), the CLI starts fast.
 * A table (e.g. lib/libarchive_lazy.h) lists a library's functions in an X-macro, declares a
 * struct of pointers with LAZY_FIELD and defines each function's name as its pointer, so that
 * the callers read as if the library were linked.
 *
 * A caller holds the library while it uses it (lazy_lib_hold ... lazy_lib_release) and the
 * daemon, once quiet, unloads those that nobody holds (lazy_lib_unload_unused); lazy_lib_pin
 * keeps one for the rest of the process.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* One pointer of a table: `__typeof__(f) *f;` keeps the library's own prototype. */
#define LAZY_FIELD(f) __typeof__(f) *f;

struct lazy_sym {
	const char *name;
	void **slot;
};

struct lazy_lib {
	const char *soname;          /* "libarchive.so.13" */
	const char *package;         /* the Debian package that has it, for the error */
	const struct lazy_sym *syms; /* every function the callers use */
	size_t nsyms;
	int (*after_load)(berr *e);  /* optional: the library's own initialisation */
	void (*before_unload)(void); /* optional: its clean-up */
	/* The loader's, under its lock. */
	void *handle;
	unsigned users;
	bool pinned, listed;
	struct lazy_lib *next;
};

/*
 * In a table's own .c: the table fns (a struct fns_type), the library lib whose symbols fill it
 * (sym_list: the X-macro list over `#define SYM(f) LAZY_SYM_OF(fns, f)`), and the rest of lib
 * (.soname, .package, hooks) as designated initialisers.
 */
#define LAZY_SYM_OF(fns, f) {#f, (void **)&fns.f},
#define LAZY_LIB_DEFINE(fns_type, fns, sym_list, lib, ...)      \
	struct fns_type fns;                                    \
	static const struct lazy_sym lib##_syms[] = {sym_list}; \
	struct lazy_lib lib = {.syms = lib##_syms, .nsyms = sizeof lib##_syms / sizeof lib##_syms[0], __VA_ARGS__}

/*
 * Load lib if it is not (any thread) and count one more user. On failure *e names the library,
 * its package and the loader's reason, and a later call tries again.
 */
int lazy_lib_hold(struct lazy_lib *lib, berr *e);
/* One user less; the library stays loaded until lazy_lib_unload_unused. */
void lazy_lib_release(struct lazy_lib *lib);
/* lib held, or NULL with *e set: for `_cleanup_lazy_release_ struct lazy_lib *held = ...`. */
struct lazy_lib *lazy_lib_held(struct lazy_lib *lib, berr *e);
static inline void lazy_lib_releasep(struct lazy_lib **lib)
{
	if (*lib)
		lazy_lib_release(*lib);
}
#define _cleanup_lazy_release_ __attribute__((cleanup(lazy_lib_releasep)))
/* Load lib for the rest of the process. */
int lazy_lib_pin(struct lazy_lib *lib, berr *e);
/* Unload every library that has no user and is not pinned. */
void lazy_lib_unload_unused(void);
