/*
 * The image config (OCI image-spec config, Docker image spec v1.2): parsed into a struct, written
 * back with every field it did not know kept, changed by Dockerfile instructions as
 * `docker commit --change` / `docker import --change` change it, and the chain IDs of its layers.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/digest.h"
#include "lib/err.h"

/* config.Healthcheck. Durations in nanoseconds (0: the default); test NULL when absent. */
struct img_healthcheck {
	char **test; /* ["NONE"], ["CMD", exe, args...], ["CMD-SHELL", "command"] */
	int64_t interval, timeout, start_period, start_interval;
	int retries;
};

struct img_history {
	char *created, *created_by, *author, *comment; /* NULL when absent */
	bool empty_layer;
};

/*
 * Every pointer is owned; NULL means absent (null in the document). Lists are NULL-terminated;
 * an empty list (non-NULL, [0] == NULL) is an explicit [] or {} and is written back as such.
 */
struct img_config {
	char *architecture, *os, *variant, *created, *author;
	/* "config": what a container of the image runs with. */
	char *user;
	char **env; /* "K=V" */
	char **entrypoint;
	char **cmd;
	bool has_entrypoint, has_cmd; /* Entrypoint/Cmd present (not null): [] is not the same as null */
	char *working_dir;
	char **exposed_ports; /* "80/tcp" */
	char **volumes;       /* "/data" */
	char **labels;        /* k0,v0,k1,v1,... */
	char *stop_signal;
	struct img_healthcheck *healthcheck;
	char **onbuild;
	char **shell;
	bool args_escaped;
	/* "rootfs": type "layers". */
	char **diff_ids; /* NULL-terminated too */
	size_t n_diff_ids;
	struct img_history *history;
	size_t n_history;
	json_t *raw; /* the parsed document, so unknown fields survive a round trip; NULL when built from scratch */
};

/*
 * Parse and validate. *out is zeroed first and left zeroed on failure. Errors name the field
 * ("config.Env[2]: expected a string, got an integer", "rootfs.diff_ids[1]: invalid digest
 * \"sha256:12\"", "rootfs.type: expected \"layers\", got \"foo\"", "rootfs: missing").
 * architecture and os are not required (old images lack them); rootfs is.
 */
int img_config_parse(const char *json, size_t len, struct img_config *out, berr *e);

/*
 * The document: raw (when set) with the known fields replaced by the struct's, compact, keys
 * sorted at every level (stable: serialise(parse(serialise(c))) == serialise(c)). A field the
 * struct leaves unset (NULL, false, 0; has_cmd/has_entrypoint false) is removed, except where raw
 * holds it as null, false or 0, which is kept as it was: an untouched document comes back as the
 * same JSON value, only its key order and spacing changed. rootfs.diff_ids is always written.
 * History entries are written over raw's entries of the same index (unknown keys in them
 * survive). NULL when out of memory or a string is not UTF-8.
 */
char *img_config_to_json(const struct img_config *c);

/* Deep copy (raw included). dst is overwritten (not freed first). */
int img_config_copy(const struct img_config *src, struct img_config *dst, berr *e);

/*
 * Apply Dockerfile instructions as `docker commit --change` and `docker import --change` do
 * (Docker's builder dispatchers over the config):
 *   ENV K V | ENV K=V K2="V 2" ...   set or replace (keys compared exactly); quotes, backslashes
 *                                     and $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} against the
 *                                     config's Env as it was before the instruction
 *   LABEL k=v ... (and LABEL k v)     the same rules, into Labels
 *   CMD / ENTRYPOINT                  JSON array as is; shell form -> Shell (default
 *                                     ["/bin/sh","-c"]) + the text; ArgsEscaped false. ENTRYPOINT
 *                                     resets Cmd to null unless a CMD came before it in the same call
 *   WORKDIR p                         relative to the previous WorkingDir, cleaned
 *   USER u, STOPSIGNAL s              (the signal checked: a number or a name, SIG optional)
 *   EXPOSE 80 53/udp 8000-8002        "/tcp" by default, ranges expanded, protocols tcp udp sctp
 *   VOLUME ["/a","/b"] | VOLUME /a /b
 *   HEALTHCHECK [--interval=D --timeout=D --start-period=D --start-interval=D --retries=N] CMD ...
 *   HEALTHCHECK NONE
 *   ONBUILD <instruction>             appended as written
 * Instruction names are case-insensitive. A change may hold several lines (Docker joins the
 * changes with newlines and parses them as one Dockerfile): "\" at a line's end continues it,
 * blank lines and # comments are skipped.
 * Errors (EINVAL), with Docker's wording where it has one: "run is not a valid change command"
 * for ADD ARG COPY FROM MAINTAINER RUN SHELL, "unknown instruction: FOO" for anything else (both
 * followed by the list of valid ones), "ENV must have two arguments", "Syntax error - can't find
 * = in \"x\". Must be of the form: name=value", "invalid proto: x", "Invalid signal: x",
 * "Unknown flag: x" ... On failure *c is unchanged (all instructions of the call or none).
 */
int img_config_apply_change(struct img_config *c, const char *instruction, berr *e);
/* Several --change values at once, as one Dockerfile (the ENTRYPOINT/CMD rule above spans them). */
int img_config_apply_changes(struct img_config *c, char *const *changes, size_t n, berr *e);

/*
 * Chain IDs of a layer stack, bottom first: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). Invalid diff IDs: "diff_ids[i]: invalid digest".
 */
int img_chain_ids(char *const *diff_ids, size_t n, char (*out)[B_DIGEST_LEN + 1], berr *e);

/* Free the fields (raw included) and zero *c; NULL and zeroed structs are fine. */
void img_config_free(struct img_config *c);
