/*
 * From what a Docker client asks for to what the runtime runs: the container's Config merged with
 * its image's (as `docker create` merges them), HostConfig's mounts parsed, and the OCI runtime spec
 * (config.json) built with Docker's defaults (namespaces, mounts, capabilities, seccomp profile,
 * masked and read-only paths, devices) and the request's options applied.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "image/config.h"
#include "lib/err.h"

/*
 * The container's Config as inspect shows it: the request's Config (may be NULL) over the image's
 * (may be NULL): Env merged by key (the request wins), Cmd and Entrypoint as Docker takes them (an
 * Entrypoint in the request drops the image's Cmd unless Cmd is given too), WorkingDir, User,
 * Labels (merged), ExposedPorts and Volumes (merged), StopSignal, Healthcheck, OnBuild not carried,
 * Image set to image_name. A bad request field is EINVAL naming it ("Config.Env: expected an
 * array, got a string"). *merged is a new object.
 */
int eng_config_merge(json_t *request_config, const struct img_config *image, const char *image_name, json_t **merged,
		     berr *e);

enum eng_mount_type {
	ENG_MOUNT_BIND,   /* source is a host path */
	ENG_MOUNT_VOLUME, /* source is a volume name; NULL or "" = anonymous (the engine names it) */
	ENG_MOUNT_TMPFS,
};

struct eng_mount {
	enum eng_mount_type type;
	char *source;      /* host path, volume name, or NULL */
	char *destination; /* absolute path in the container, cleaned */
	bool read_only;
	char *propagation; /* "rprivate" ... or NULL */
	char *options;     /* tmpfs: "size=65536k,mode=1777" style; NULL: none */
	bool no_copy;      /* volume: do not fill a new volume from the image (nocopy) */
	/* Added after the first draft; zero keeps the old meaning. */
	bool non_recursive; /* bind: "bind" instead of "rbind" (BindOptions.NonRecursive) */
	bool create_source; /* bind: make a missing source directory at start (-v binds, CreateMountpoint) */
	/* volume (Mounts' VolumeOptions): what a volume this mount makes is created with; NULL: none. */
	json_t *volume_labels;  /* Labels */
	json_t *volume_options; /* DriverConfig.Options (the local driver's type, device, o) */
};

/*
 * Every mount the container asks for, in order: HostConfig.Binds ("src:dst[:opts]", a src without
 * '/' is a volume name), HostConfig.Mounts (Type bind/volume/tmpfs), HostConfig.Tmpfs, then the
 * merged Config.Volumes that no other mount covers (anonymous volumes). Docker's validation and
 * messages: a relative destination, a duplicate mount point ("Duplicate mount point: /data"), an
 * unknown option or type are EINVAL. Free with eng_mounts_free.
 */
int eng_mounts_parse(json_t *host_config, json_t *merged_config, struct eng_mount **out, size_t *n, berr *e);
void eng_mounts_free(struct eng_mount *m, size_t n);

/* What the engine has prepared for a container, for eng_spec_build. */
struct eng_spec_input {
	const char *id;            /* 64 hex digits */
	json_t *config;            /* merged Config (eng_config_merge) */
	json_t *host_config;       /* the request's HostConfig (may be NULL) */
	const char *rootfs;        /* absolute path of the mounted root filesystem */
	const char *hostname_path; /* files bind-mounted at /etc/hostname, /etc/hosts, /etc/resolv.conf; NULL: none */
	const char *hosts_path;
	const char *resolv_conf_path;
	const char *cgroup_parent; /* the daemon's (--cgroup-parent), used when HostConfig.CgroupParent is empty */
	const char *netns_path;    /* join this network namespace; NULL: a new one unless NetworkMode is "host" */
	const char *init_path;     /* HostConfig.Init's binary, bind-mounted at /sbin/docker-init; NULL: none */
	/* The mounts of eng_mounts_parse with volumes resolved: type BIND with the volume's host path. */
	const struct eng_mount *mounts;
	size_t n_mounts;
};

/*
 * The OCI runtime spec (ociVersion 1.0.2-dev shape, as berth-runtime and runc read it) of a
 * container. Docker's defaults: new pid, ipc, uts, mount, network namespaces (HostConfig
 * PidMode/IpcMode/UTSMode/NetworkMode "host" share the host's instead), Docker's default
 * capabilities, its default seccomp profile (SecurityOpt "seccomp=unconfined" or an inline JSON
 * profile override it), masked and read-only paths, /proc /dev /dev/pts /dev/shm (ShmSize, 64 MiB
 * default) /dev/mqueue /sys /sys/fs/cgroup mounts, the default device allow-list; hostname the
 * first 12 hex of id unless Config.Hostname; process args Entrypoint + Cmd, env with a default PATH,
 * cwd WorkingDir or "/", user resolved in the rootfs's /etc/passwd and /etc/group (names and
 * "user:group", GroupAdd), Tty, no_new_privs for "no-new-privileges"; HostConfig resources
 * (Memory, MemorySwap, MemoryReservation, NanoCpus, CpuShares, CpuPeriod, CpuQuota, CpusetCpus,
 * CpusetMems, PidsLimit, BlkioWeight, OomKillDisable), Ulimits, OomScoreAdj, Sysctls, CapAdd and
 * CapDrop ("ALL", with or without "CAP_"), Privileged (every capability the daemon holds, all
 * devices, no masks, no seccomp), ReadonlyRootfs, Devices, the mounts; cgroupsPath
 * "<CgroupParent or cgroup_parent>/berth-<id>". A value Docker refuses is EINVAL with Docker's
 * message (e.g. "Minimum memory limit allowed is 6MB"). *spec is a new object.
 */
int eng_spec_build(const struct eng_spec_input *in, json_t **spec, berr *e);
