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

int oci_selfclone_ensure(char **argv, berr *e)
{
	_cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return berr_sys(e, "opening /proc/self/exe");
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return 0;
	struct stat st;
	if (fstat(self, &st) < 0)
		return berr_sys(e, "stat of /proc/self/exe");
	_cleanup_close_ int mem = memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mem < 0)
		return berr_sys(e, "memfd_create");
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(mem, self, NULL, (size_t)left);
		if (n <= 0)
			return berr_sys(e, "copying the runtime binary");
		left -= n;
	}
	if (fcntl(mem, F_ADD_SEALS, SEALS) < 0)
		return berr_sys(e, "sealing the runtime copy");
	fexecve(mem, argv, environ);
	return berr_sys(e, "re-executing the sealed runtime copy");
}
