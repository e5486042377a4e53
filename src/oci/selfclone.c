#include "selfclone.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/cleanup.h"

extern char **environ;

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

bool oci_is_sealed_copy(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & SEALS) == SEALS;
}

int oci_sealed_copy(int fd, const char *name, berr *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "stat of the executable to copy (%s)", name);
	int mem = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return berr_sys(e, "memfd_create for %s", name);
	for (off_t at = 0; at < st.st_size;) {
		ssize_t n = sendfile(mem, fd, &at, (size_t)(st.st_size - at));
		if (n <= 0) {
			berr_sys(e, "copying %s into memory", name);
			close(mem);
			return -1;
		}
	}
	if (fcntl(mem, F_ADD_SEALS, SEALS) < 0) {
		berr_sys(e, "sealing the copy of %s", name);
		close(mem);
		return -1;
	}
	return mem;
}

int oci_selfclone_ensure(char **argv, berr *e)
{
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berr_sys(e, "opening /proc/self/exe");
	if (oci_is_sealed_copy(self))
		return 0;
	_cleanup_close_ int mem = oci_sealed_copy(self, program_invocation_short_name, e);
	if (mem < 0)
		return -1;
	fexecve(mem, argv, environ);
	return berr_sys(e, "re-executing the sealed runtime copy");
}
