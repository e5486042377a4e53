#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../lib/cleanup.h"
#include "../lib/fs.h"

/* Flags a bind remount must keep, or the kernel refuses it when they are locked (user namespaces). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

/* Remount the bind mount at path with flags on top of what it has (less what the config cleared). */
static int remount_bind(const char *path, unsigned long flags, unsigned long clear, const char *what, berr *e)
{
	unsigned long cur = locked_flags(path);
	unsigned long want = ((cur & ~clear) | flags) & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
							 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | want, NULL) < 0)
		return berr_sys(e, "remounting %s", what);
	return 0;
}

/* ---------- cgroup filesystem inside the container ---------- */

/* One line of /proc/self/cgroup: "4:memory:/x/y", "1:name=systemd:/x", "0::/x". */
static int mount_cgroup_tree(int rootfd, const struct oci_mount *m, bool new_cgroupns, berr *e)
{
	_cleanup_close_ int dest = b_mkpath_in_root(rootfd, m->destination, 0755, false, e);
	char p[32];
	if (dest < 0)
		return berr_wrap(e, "mount %s", m->destination);
	b_fd_path(dest, p);
	if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		return berr_sys(e, "mounting tmpfs for cgroups at %s", m->destination);
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return berr_sys(e, "reading /proc/self/cgroup");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		const char *ctrls = c1 + 1, *cpath = c2 + 1;
		const char *dirname = ctrls;
		const char *fstype = "cgroup";
		if (!*ctrls) {
			dirname = "unified";
			fstype = "cgroup2";
		} else if (!strncmp(ctrls, "name=", 5)) {
			dirname = ctrls + 5;
		}
		_cleanup_free_ char *sub = NULL, *host = NULL, *hostroot = NULL;
		if (asprintf(&sub, "%s/%s", m->destination, dirname) < 0)
			return berr_set(e, ENOMEM, "cgroup mounts");
		_cleanup_close_ int sfd = b_mkpath_in_root(rootfd, sub, 0755, false, e);
		if (sfd < 0)
			return berr_wrap(e, "mount %s", m->destination);
		char sp[32];
		b_fd_path(sfd, sp);
		unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (m->flags & MS_RDONLY);
		int r;
		if (new_cgroupns) {
			/* In its own cgroup namespace a fresh mount shows the container's cgroup as its root. */
			r = mount("cgroup", sp, fstype, flags, !strcmp(fstype, "cgroup2") ? NULL : ctrls);
		} else {
			/* Otherwise bind the container's own cgroup directory from the host hierarchy. */
			if (asprintf(&hostroot, "/sys/fs/cgroup/%s", dirname) < 0 ||
			    asprintf(&host, "%s%s", hostroot, cpath) < 0)
				return berr_set(e, ENOMEM, "cgroup mounts");
			r = mount(host, sp, NULL, MS_BIND | MS_REC, NULL);
			if (r == 0 && (flags & MS_RDONLY)) {
				_cleanup_close_ int again = b_open_in_root(rootfd, sub, O_PATH, 0);
				char ap[32];
				b_fd_path(again, ap);
				r = mount(NULL, ap, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
			}
		}
		if (r < 0 && errno != ENOENT)
			return berr_sys(e, "mounting cgroup %s at %s", ctrls, sub);
	}
	/* Controllers mounted together (cpu,cpuacct) are also reachable by each name, as on the host. */
	if (m->flags & MS_RDONLY) {
		_cleanup_close_ int again = b_open_in_root(rootfd, m->destination, O_PATH, 0);
		char ap[32];
		b_fd_path(again, ap);
		if (mount(NULL, ap, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=755") < 0)
			return berr_sys(e, "remounting %s read-only", m->destination);
	}
	return 0;
}

/* ---------- one mount of the config ---------- */

static int do_mount(int rootfd, const struct oci_spec *s, const struct oci_mount *m, bool in_userns, berr *e)
{
	const char *type = m->type ? m->type : "none";
	if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
		bool new_ns = s->linux_.namespaces[OCI_NS_CGROUP].present && !s->linux_.namespaces[OCI_NS_CGROUP].path;
		return mount_cgroup_tree(rootfd, m, new_ns, e);
	}
	bool src_is_file = false;
	if (m->bind) {
		struct stat st;
		if (stat(m->source, &st) < 0)
			return berr_sys(e, "mount %s: bind source %s", m->destination, m->source);
		src_is_file = !S_ISDIR(st.st_mode);
	}
	_cleanup_close_ int dest = b_mkpath_in_root(rootfd, m->destination, 0755, src_is_file, e);
	if (dest < 0)
		return berr_wrap(e, "mount %s", m->destination);
	char p[32];
	b_fd_path(dest, p);
	unsigned long flags = m->flags & ~(MS_REMOUNT);
	if (m->bind) {
		if (mount(m->source, p, NULL, MS_BIND | (m->recursive_bind ? MS_REC : 0), NULL) < 0)
			return berr_sys(e, "bind-mounting %s at %s", m->source, m->destination);
	} else {
		/* Mount flags that only a remount may apply go in the first call for a fresh filesystem. */
		const char *source = m->source ? m->source : type;
		int r = mount(source, p, type, flags, m->data);
		/* sysfs of a network namespace we do not own cannot be mounted: bind the host's, as runc does. */
		if (r < 0 && errno == EPERM && !strcmp(type, "sysfs")) {
			r = mount("/sys", p, NULL, MS_BIND | MS_REC, NULL);
			if (r == 0) {
				_cleanup_close_ int again = b_open_in_root(rootfd, m->destination, O_PATH, 0);
				char ap[32];
				b_fd_path(again, ap);
				if (remount_bind(ap, flags | MS_RDONLY, 0, m->destination, e) < 0)
					return -1;
			}
		}
		if (r < 0) {
			if (errno == ENODEV)
				return berr_set(e, ENODEV, "mount %s: unknown filesystem type \"%s\"", m->destination,
						type);
			return berr_sys(e, "mounting %s (%s) at %s", source, type, m->destination);
		}
	}
	/* The fd still names the directory under the new mount: reopen it to reach the mount itself. */
	_cleanup_close_ int mounted = b_open_in_root(rootfd, m->destination, O_PATH, 0);
	if (mounted < 0)
		return berr_sys(e, "mount %s: reopening after mount", m->destination);
	b_fd_path(mounted, p);
	if (m->bind && (flags & ~(MS_REC | MS_BIND) || m->clear_flags)) {
		if (remount_bind(p, flags, m->clear_flags, m->destination, e) < 0)
			return -1;
	}
	if (m->recursive_ro || m->recursive_rw) {
		struct mount_attr attr = {.attr_set = m->recursive_ro ? MOUNT_ATTR_RDONLY : 0,
					  .attr_clr = m->recursive_rw ? MOUNT_ATTR_RDONLY : 0};
		if (syscall(SYS_mount_setattr, AT_FDCWD, p, AT_RECURSIVE, &attr, sizeof attr) < 0)
			return berr_sys(e, "mount %s: applying %s", m->destination, m->recursive_ro ? "rro" : "rrw");
	}
	if (m->propagation && mount(NULL, p, NULL, m->propagation, NULL) < 0)
		return berr_sys(e, "setting propagation of %s", m->destination);
	(void)in_userns;
	return 0;
}

/* ---------- /dev ---------- */

static const struct {
	const char *name;
	unsigned major, minor;
} default_devices[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static int make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor, mode_t mode,
		       bool has_owner, uid_t uid, gid_t gid, bool in_userns, berr *e)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return berr_set(e, ENOMEM, "device %s", path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = b_mkpath_in_root(rootfd, *dir ? dir : "/", 0755, false, e);
	if (dfd < 0)
		return berr_wrap(e, "device %s", path);
	char dp[32];
	b_fd_path(dfd, dp);
	_cleanup_close_ int dirfd = open(dp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dirfd < 0)
		return berr_sys(e, "device %s: opening its directory", path);
	unlinkat(dirfd, name, 0);
	if (in_userns) {
		/* No mknod in a user namespace: bind the host's node onto an empty file. */
		_cleanup_free_ char *host = NULL;
		if (asprintf(&host, "%s", path) < 0)
			return berr_set(e, ENOMEM, "device %s", path);
		int f = openat(dirfd, name, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (f < 0)
			return berr_sys(e, "creating %s", path);
		close(f);
		_cleanup_close_ int t = b_open_in_root(rootfd, path, O_PATH, 0);
		char tp[32];
		b_fd_path(t, tp);
		if (mount(host, tp, NULL, MS_BIND, NULL) < 0)
			return berr_sys(e, "binding %s to %s", host, path);
		return 0;
	}
	mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
	if (mknodat(dirfd, name, kind | (mode & 07777), makedev(major, minor)) < 0)
		return berr_sys(e, "creating device %s", path);
	/* mknod honours the umask; set the mode the config asked for. */
	if (fchmodat(dirfd, name, mode & 07777, 0) < 0)
		return berr_sys(e, "chmod of device %s", path);
	if (has_owner && fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berr_sys(e, "chown of device %s", path);
	return 0;
}

static bool dev_is_bind(const struct oci_spec *s)
{
	for (size_t i = 0; i < s->n_mounts; i++)
		if (!strcmp(s->mounts[i].destination, "/dev") && s->mounts[i].bind)
			return true;
	return false;
}

static int setup_dev(int rootfd, const struct oci_spec *s, bool in_userns, berr *e)
{
	if (!dev_is_bind(s)) {
		for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
			char path[32];
			snprintf(path, sizeof path, "/dev/%s", default_devices[i].name);
			if (make_device(rootfd, path, 'c', default_devices[i].major, default_devices[i].minor, 0666,
					true, 0, 0, in_userns, e) < 0)
				return -1;
		}
		static const char *const links[][2] = {
		    {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
		    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
		    {"pts/ptmx", "/dev/ptmx"},
		};
		_cleanup_close_ int dev = b_mkpath_in_root(rootfd, "/dev", 0755, false, e);
		if (dev < 0)
			return -1;
		char dp[32];
		b_fd_path(dev, dp);
		_cleanup_close_ int devdir = open(dp, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (devdir < 0)
			return berr_sys(e, "opening /dev of the container");
		for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
			const char *name = links[i][1] + 5;
			unlinkat(devdir, name, 0);
			if (symlinkat(links[i][0], devdir, name) < 0 && errno != EEXIST)
				return berr_sys(e, "creating symlink %s", links[i][1]);
		}
	}
	for (size_t i = 0; i < s->linux_.n_devices; i++) {
		const struct oci_device *d = &s->linux_.devices[i];
		mode_t mode = d->has_file_mode ? d->file_mode : 0666;
		if (make_device(rootfd, d->path, d->type, (unsigned)d->major, (unsigned)d->minor, mode,
				d->has_uid || d->has_gid, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, in_userns,
				e) < 0)
			return berr_wrap(e, "linux.devices");
	}
	return 0;
}

/* ---------- the whole tree ---------- */

/*
 * Make the mount that holds path private: mount(MS_PRIVATE) succeeds only on
 * a mount point, so walk up from path's parent until one takes it.
 */
static int make_parent_mount_private(const char *path, berr *e)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return berr_set(e, ENOMEM, "rootfs propagation");
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) == 0)
			return 0;
		if (errno != EINVAL)
			return berr_sys(e, "making %s private", dir);
		if (!strcmp(dir, "/"))
			break;
	}
	return berr_set(e, EINVAL, "no mount point above the rootfs %s", path);
}

int oci_rootfs_prepare(const struct oci_spec *s, const char *rootfs, bool in_userns,
		       int (*before_cgroup_mount)(void *arg, berr *e), void *arg, berr *e)
{
	unsigned long prop = MS_SLAVE | MS_REC;
	if (s->linux_.rootfs_propagation) {
		struct oci_mount tmp = {0};
		char *opts[] = {s->linux_.rootfs_propagation, NULL};
		tmp.options = opts;
		tmp.destination = "/";
		if (oci_mount_parse_options(&tmp, e) < 0)
			return -1;
		free(tmp.data);
		prop = tmp.propagation;
	}
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return berr_sys(e, "setting propagation of /");
	/* pivot_root needs the new root to be a mount point whose parent is not shared. */
	if ((prop & MS_SHARED) && make_parent_mount_private(rootfs, e) < 0)
		return -1;
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berr_sys(e, "bind-mounting the rootfs %s", rootfs);
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berr_sys(e, "opening the rootfs %s", rootfs);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const char *type = s->mounts[i].type;
		if (before_cgroup_mount && type && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))) {
			if (before_cgroup_mount(arg, e) < 0)
				return -1;
			before_cgroup_mount = NULL;
		}
		if (do_mount(rootfd, s, &s->mounts[i], in_userns, e) < 0)
			return -1;
	}
	return setup_dev(rootfd, s, in_userns, e);
}

int oci_rootfs_pivot(const char *rootfs, bool no_pivot, berr *e)
{
	if (chdir(rootfs) < 0)
		return berr_sys(e, "entering the rootfs %s", rootfs);
	if (no_pivot) {
		if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return berr_sys(e, "moving the rootfs to /");
		if (chroot(".") < 0)
			return berr_sys(e, "chroot into the rootfs");
		if (chdir("/") < 0)
			return berr_sys(e, "chdir /");
		return 0;
	}
	/* pivot_root(".", ".") stacks the old root under the new one; detach it right away. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return berr_sys(e, "pivot_root into %s", rootfs);
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return berr_sys(e, "making the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return berr_sys(e, "detaching the old root");
	if (chdir("/") < 0)
		return berr_sys(e, "chdir /");
	return 0;
}

static int write_sysctl(const char *key, const char *value, berr *e)
{
	_cleanup_free_ char *path = NULL;
	if (strstr(key, "..") || strchr(key, '/') == key)
		return berr_invalid(e, "linux.sysctl: invalid key \"%s\"", key);
	if (asprintf(&path, "/proc/sys/%s", key) < 0)
		return berr_set(e, ENOMEM, "sysctl %s", key);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	if (b_write_knob(path, value, e) < 0)
		return berr_wrap(e, "linux.sysctl %s", key);
	return 0;
}

static int mask_path(const char *path, berr *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "masking %s", path);
	int r;
	if (S_ISDIR(st.st_mode))
		r = mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0,mode=0755");
	else
		r = mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (r < 0 && errno != ENOENT)
		return berr_sys(e, "masking %s", path);
	return 0;
}

static int readonly_path(const char *path, berr *e)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 : berr_sys(e, "making %s read-only", path);
	return remount_bind(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, path, e);
}

int oci_rootfs_finalize(const struct oci_spec *s, berr *e)
{
	for (char **kv = s->linux_.sysctl; kv && kv[0] && kv[1]; kv += 2)
		if (write_sysctl(kv[0], kv[1], e) < 0)
			return -1;
	for (char **p = s->linux_.readonly_paths; p && *p; p++)
		if (readonly_path(*p, e) < 0)
			return -1;
	for (char **p = s->linux_.masked_paths; p && *p; p++)
		if (mask_path(*p, e) < 0)
			return -1;
	if (s->root_readonly && remount_bind("/", MS_RDONLY, 0, "the root filesystem read-only", e) < 0)
		return -1;
	return 0;
}

int oci_rootfs_bind_console(const char *slave_path, berr *e)
{
	int fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return berr_sys(e, "binding %s at /dev/console", slave_path);
	return 0;
}
