/*
 * What the files behind engine/spec.h share (config_merge.c, mounts.c, spec_*.c, seccomp_default.c):
 * typed views of request fields, tmpfs options, users, capabilities and seccomp profiles.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine/spec.h"
#include "lib/err.h"

/*
 * Typed, borrowed views of an object's members. A missing or null member leaves *out untouched and
 * returns 0; a member of another type is EINVAL "<field>.<key>: expected an array, got a string".
 * field may be "" for a top-level key. obj may be NULL (every member is then absent).
 */
int eng_jstr(json_t *obj, const char *field, const char *key, const char **out, berr *e);
int eng_jbool(json_t *obj, const char *field, const char *key, bool *out, berr *e);
int eng_ji64(json_t *obj, const char *field, const char *key, int64_t *out, berr *e);
int eng_jobj(json_t *obj, const char *field, const char *key, json_t **out, berr *e);
int eng_jarr(json_t *obj, const char *field, const char *key, json_t **out, berr *e);
/* An array whose items are all strings. */
int eng_jstrarr(json_t *obj, const char *field, const char *key, json_t **out, berr *e);
/* Docker's StrSlice (Cmd, Entrypoint, Shell): an array of strings, or one string read as [string]. *out is new. */
int eng_jstrslice(json_t *obj, const char *field, const char *key, json_t **out, bool *present, berr *e);

/* Docker's ReplaceOrAppendEnvValues on a JSON array of "K=V": "K=V" replaces or adds K; "K" alone removes it. */
void eng_env_apply(json_t *env, const char *kv);

/* A path cleaned as Go's path.Clean does: "//a/./b/../c/" -> "/a/c", "" -> ".". Newly allocated. */
char *eng_path_clean(const char *p);

/*
 * The options of a tmpfs mount as Docker writes them into the spec: the defaults "noexec nosuid
 * nodev rprivate", then data ("size=64m,mode=1777,exec"), then "ro" when read_only, merged so that a
 * later flag wins over an earlier one with the same bit (exec over noexec) and a later size= over an
 * earlier one. Unknown options: EINVAL `Invalid tmpfs option ["foo"]`. *out is a new JSON array.
 */
int eng_tmpfs_options(const char *data, bool read_only, json_t **out, berr *e);

/* A user as the spec wants it, resolved in the rootfs's /etc/passwd and /etc/group. */
struct eng_user {
	uint32_t uid, gid;
	uint32_t *gids; /* additional groups: gid first, then the user's groups, then GroupAdd */
	size_t n_gids;
	char *home; /* from passwd, "/" when not found there */
};

/*
 * Resolve "", "name", "uid", "name:group", "uid:gid" ... inside rootfs as runc's GetExecUser does,
 * with Docker's errors ("unable to find user xyz: no matching entries in passwd file"), plus the
 * names or numbers of group_add (an array of strings, may be NULL). The files are opened inside
 * the rootfs (symlinks cannot lead out of it); missing files are fine for numeric ids.
 */
int eng_user_resolve(const char *rootfs, const char *user, json_t *group_add, struct eng_user *out, berr *e);
void eng_user_free(struct eng_user *u);

/* The capabilities this process holds in its bounding set: what "all capabilities" means here. */
uint64_t eng_caps_all(void);
/* Docker's default set (CHOWN DAC_OVERRIDE ... AUDIT_WRITE). */
uint64_t eng_caps_default(void);
/*
 * The container's capability set from HostConfig (Privileged, CapAdd, CapDrop; "ALL", any case,
 * with or without "CAP_"), Docker's TweakCapabilities. An unknown name: EINVAL `unknown capability:
 * "CAP_FOO"`; one asked for by name that this daemon does not hold: EINVAL.
 */
int eng_caps_compute(json_t *host_config, uint64_t *out, berr *e);
/* A JSON array of "CAP_*" names. */
json_t *eng_caps_json(uint64_t caps);

/* HostConfig.SecurityOpt as Docker reads it ("invalid --security-opt 2: \"foo=bar\"" for what it does not know). */
struct eng_security {
	bool no_new_privs;
	bool seccomp_unconfined;
	const char *seccomp_profile; /* an inline profile (borrowed from HostConfig); NULL: Docker's default */
	bool systempaths_unconfined; /* no masked or read-only paths */
};
int eng_security_opts(json_t *host_config, struct eng_security *out, berr *e);

/* Docker's default seccomp profile as linux.seccomp, for a container whose bounding set is caps. */
json_t *eng_seccomp_default(uint64_t caps);
/*
 * A profile in Docker's format (defaultAction, architectures or archMap, syscalls with name or
 * names, includes/excludes by caps, arches and minKernel) -> linux.seccomp for this machine.
 */
int eng_seccomp_from_docker(json_t *profile, uint64_t caps, json_t **out, berr *e);
/* The SCMP_ARCH_* names of this machine, native first (NULL-terminated; empty when unknown). */
const char *const *eng_seccomp_native_archs(void);
/* Go's GOARCH of this build ("amd64", "arm64" ...), as Docker profiles name architectures. */
const char *eng_seccomp_goarch(void);

/* Resources: linux.resources (memory, cpu, pids, blockIO) from HostConfig, with Docker's checks. */
int eng_spec_resources(json_t *host_config, json_t *resources, berr *e);
/* Devices: linux.devices and the cgroup rules (HostConfig.Devices, DeviceCgroupRules, Privileged). */
int eng_spec_devices(json_t *host_config, bool privileged, json_t *devices, json_t *rules, berr *e);
/* process.rlimits from HostConfig.Ulimits; NULL *out when none. */
int eng_spec_rlimits(json_t *host_config, json_t **out, berr *e);
