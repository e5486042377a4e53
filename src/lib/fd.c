#include "fd.h"

#include <linux/close_range.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
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
	syscall(SYS_close_range, from, ~0U, 0);
}
