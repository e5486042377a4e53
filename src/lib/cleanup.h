/* Scope-bound cleanup of memory, descriptors and files, and explicit ownership moves. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <errno.h>

static inline void b_freep(void *p)
{
	free(*(void **)p);
}
static inline void b_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void b_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void b_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void b_strv_freep(char ***v)
{
	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
}

#define _cleanup_free_     __attribute__((cleanup(b_freep)))
#define _cleanup_close_    __attribute__((cleanup(b_closep)))
#define _cleanup_fclose_   __attribute__((cleanup(b_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(b_closedirp)))
#define _cleanup_strv_     __attribute__((cleanup(b_strv_freep)))

/* Hand ownership on: returns the value and leaves the variable empty. */
#define steal_ptr(p)                       \
	({                                 \
		__typeof__(p) _tmp_ = (p); \
		(p) = NULL;                \
		_tmp_;                     \
	})
#define steal_fd(fd)              \
	({                        \
		int _tmp_ = (fd); \
		(fd) = -1;        \
		_tmp_;            \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
