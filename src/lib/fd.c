#include "fd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closing or flagging fds one by one, for kernels before close_range (5.9) or its flags (5.11). */
static int each_fd_from(int min_fd, bool close_them)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < min_fd || fd == self)
			continue;
		if (close_them)
			close(fd);
		else
			fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
	}
	closedir(d);
	return 0;
}

int b_cloexec_from(int min_fd)
{
	if (syscall(SYS_close_range, (unsigned int)min_fd, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	return each_fd_from(min_fd, false);
}

void b_close_fds_except(int min_fd, const int *keep, size_t n)
{
	int sorted[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k < sizeof sorted / sizeof sorted[0]; i++)
		if (keep[i] >= min_fd)
			sorted[k++] = keep[i];
	qsort(sorted, k, sizeof *sorted, cmp_int);
	unsigned int from = (unsigned int)min_fd;
	for (size_t i = 0; i < k; i++) {
		if ((unsigned int)sorted[i] > from)
			syscall(SYS_close_range, from, (unsigned int)sorted[i] - 1, 0);
		if ((unsigned int)sorted[i] >= from)
			from = (unsigned int)sorted[i] + 1;
	}
	if (syscall(SYS_close_range, from, ~0U, 0) < 0 && errno == ENOSYS)
		each_fd_from((int)from, true);
}

int b_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int b_read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}
