#include "seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fd.h"

/* Bump when seccomp.c compiles a profile differently: files of another format are misses. */
#define MAGIC "BSCMP001"

struct header {
	char magic[8];
	uint32_t key_len;
	uint16_t len;
	uint8_t notify;
	uint8_t pad;
};

static char *cache_dir;

void oci_seccomp_cache_use_root(const char *state_root)
{
	free(cache_dir);
	cache_dir = NULL;
	if (state_root && asprintf(&cache_dir, "%s/@seccomp", state_root) < 0)
		cache_dir = NULL;
}

/* The file's name: FNV-1a of the key (the key inside the file settles collisions). */
static char *file_path(const char *key, size_t key_len)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < key_len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	char *path = NULL;
	if (asprintf(&path, "%s/%016llx.bpf", cache_dir, (unsigned long long)h) < 0)
		return NULL;
	return path;
}

bool oci_seccomp_cache_load(const char *key, size_t key_len, struct sock_filter **insns, unsigned short *len,
			    bool *notify)
{
	if (!cache_dir)
		return false;
	_cleanup_free_ char *path = file_path(key, key_len);
	_cleanup_close_ int fd = path ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
	struct stat st;
	struct header h;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || b_read_exact(fd, &h, sizeof h) < 0 ||
	    memcmp(h.magic, MAGIC, sizeof h.magic) != 0 || h.key_len != key_len || h.len == 0 || h.len > BPF_MAXINSNS ||
	    (uint64_t)st.st_size != sizeof h + key_len + (uint64_t)h.len * sizeof(struct sock_filter))
		return false;
	_cleanup_free_ char *stored = malloc(key_len ? key_len : 1);
	if (!stored || b_read_exact(fd, stored, key_len) < 0 || memcmp(stored, key, key_len) != 0)
		return false;
	struct sock_filter *p = malloc(h.len * sizeof *p);
	if (!p || b_read_exact(fd, p, h.len * sizeof *p) < 0) {
		free(p);
		return false;
	}
	*insns = p;
	*len = h.len;
	*notify = h.notify;
	return true;
}

void oci_seccomp_cache_store(const char *key, size_t key_len, const struct sock_filter *insns, unsigned short len,
			     bool notify)
{
	if (!cache_dir || (mkdir(cache_dir, 0700) < 0 && errno != EEXIST))
		return;
	_cleanup_free_ char *path = file_path(key, key_len), *tmp = NULL;
	if (!path || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return;
	struct header h = {.key_len = (uint32_t)key_len, .len = len, .notify = notify};
	memcpy(h.magic, MAGIC, sizeof h.magic);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	/* Renamed into place whole: a reader never sees half a program. */
	if (b_write_all(fd, &h, sizeof h) < 0 || b_write_all(fd, key, key_len) < 0 ||
	    b_write_all(fd, insns, len * sizeof *insns) < 0 || rename(tmp, path) < 0)
		unlink(tmp);
}
