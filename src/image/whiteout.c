/* OCI whiteouts (".wh.<name>", ".wh..wh..opq") and their overlayfs form (0/0 char devices, opaque xattr). */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/unpack_internal.h"

#define WH_PREFIX      ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE      ".wh..wh..opq"

bool img_whiteout_name(const char *component)
{
	return strncmp(component, WH_PREFIX, strlen(WH_PREFIX)) == 0;
}

enum img_whiteout_kind img_whiteout_kind(const char *base, const char **target)
{
	if (!img_whiteout_name(base))
		return IMG_WH_NONE;
	if (strcmp(base, WH_OPAQUE) == 0)
		return IMG_WH_OPAQUE;
	/* AUFS metadata (".wh..wh.plnk" ...) other than the opaque marker has no meaning here. */
	if (strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)) == 0)
		return IMG_WH_INVALID;
	const char *name = base + strlen(WH_PREFIX);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return IMG_WH_INVALID;
	*target = name;
	return IMG_WH_FILE;
}

bool img_whiteout_is(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

int img_whiteout_make(int dirfd, const char *name)
{
	return mknodat(dirfd, name, S_IFCHR | 0000, makedev(0, 0));
}

int img_whiteout_set_opaque(int dirfd)
{
	return fsetxattr(dirfd, "trusted.overlay.opaque", "y", 1, 0);
}
