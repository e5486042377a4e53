/* The berth client's parts: verbs, flags, HTTP to berthd, streams, terminal, output formatting. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lib/err.h"

/* Exit statuses as docker's CLI uses them. */
enum {
	CLI_EXIT_FAIL = 1,        /* a verb that failed (daemon error, missing object) */
	CLI_EXIT_ENGINE = 125,    /* bad flags, or `run` failing before the container ran */
	CLI_EXIT_NOT_EXEC = 126,  /* the command cannot be executed */
	CLI_EXIT_NOT_FOUND = 127, /* the command was not found */
};

/* ---------- flags (flags.c) ---------- */

enum cli_flag_kind {
	CLI_BOOL,   /* --rm, --rm=false */
	CLI_STRING, /* last one wins */
	CLI_LIST,   /* repeatable: -e A -e B */
	CLI_INT,    /* a string checked to be an integer */
};

struct cli_flag {
	const char *name; /* long name without dashes */
	char shorthand;   /* 0 when none */
	enum cli_flag_kind kind;
	const char *type_name; /* "string", "list", "int", "bytes" ... in help */
	const char *help;
	const char *dflt; /* shown in help and returned by cli_arg_str when unset */
};

struct cli;
struct cli_args;

struct cli_verb {
	const char *name;
	const char *usage;   /* after "berth NAME": "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
	const char *summary; /* one line for `berth --help` */
	const struct cli_flag *flags;
	int min_args, max_args; /* max_args -1: any */
	bool interspersed;      /* flags may follow positional arguments (false: stop at the first) */
	int (*run)(struct cli *c, struct cli_args *a);
	const char *const *aliases; /* "container ls" style names, for help */
	bool group;                 /* a command of subcommands (volume): dispatched by cli.c */
};

struct cli_args {
	const struct cli_verb *verb;
	char ***values; /* per flag, the values given (NULL-terminated), NULL when never given */
	char **pos;     /* positional arguments (NULL-terminated) */
	size_t npos;
};

/*
 * Parse argv (after the verb) by the verb's flags. On a usage error prints docker's message
 * ("unknown flag: --foo" + "See 'berth run --help'.") and returns -1; returns 1 after printing
 * help for --help; 0 otherwise.
 */
int cli_args_parse(const struct cli_verb *verb, int argc, char **argv, struct cli_args *out);
void cli_args_free(struct cli_args *a);
bool cli_arg_given(const struct cli_args *a, const char *name);
bool cli_arg_bool(const struct cli_args *a, const char *name);
/* The last value given, else the flag's default (may be NULL). */
const char *cli_arg_str(const struct cli_args *a, const char *name);
/* Every value given, NULL-terminated; an empty list when none (never NULL). */
char *const *cli_arg_list(const struct cli_args *a, const char *name);
/* Print docker's "invalid argument" message for a bad value; returns CLI_EXIT_ENGINE. */
int cli_bad_flag_value(const struct cli_args *a, const char *name, const char *value, const char *why);
/* "berth: 'berth run' requires at least 1 argument" and the hint; returns CLI_EXIT_ENGINE. */
int cli_usage_error(const struct cli_verb *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------- help (help.c) ---------- */

void cli_help_verb(FILE *f, const struct cli_verb *verb);
void cli_help_main(FILE *f);

/* ---------- verbs (cli.c) ---------- */

const struct cli_verb *cli_verb_find(const char *name);
extern const struct cli_verb *const cli_verbs[];
extern const struct cli_verb *const cli_volume_verbs[];
extern const struct cli_verb *const cli_system_verbs[];
extern const struct cli_verb *const cli_network_verbs[];

/* ---------- talking to berthd (http.c, conn.c) ---------- */

struct cli {
	char *host;        /* as given: unix:///run/berth/berth.sock */
	bool default_host; /* no -H, $BERTH_HOST or $DOCKER_HOST: we may start berthd ourselves */
	char *sock_path;   /* the socket's path */
};

struct cli_resp {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
};

/* -H, else $BERTH_HOST, else $DOCKER_HOST, else the default socket. */
int cli_host_resolve(struct cli *c, const char *flag_host, berr *e);

/*
 * One request; body_json (may be NULL) is sent as application/json. path is already escaped.
 * Fails (-1) only when berthd cannot be reached; an HTTP error is a status in *out.
 */
int cli_http(struct cli *c, const char *method, const char *path, const json_t *body, struct cli_resp *out, berr *e);
void cli_resp_free(struct cli_resp *r);
/* The daemon's {"message": ...} of an error reply, or the body itself. */
const char *cli_resp_message(const struct cli_resp *r);
/* Parse a 2xx reply's body as JSON; an error names the request. */
json_t *cli_resp_json(const struct cli_resp *r, berr *e);

/* Streams: sink gets the body's bytes as they come (only for 2xx replies; errors are collected). */
typedef int (*cli_sink_fn)(void *arg, const char *buf, size_t len);
struct cli_stream_req {
	const char *method, *path;
	int upload_fd;            /* -1: no body; else the body, read to its end */
	const char *content_type; /* of the upload */
	const char *header;       /* one more header line ("X-Registry-Auth: ..."), or NULL */
	cli_sink_fn sink;
	void *sink_arg;
	const char *header_name;                   /* a reply header to keep (e.g. X-Docker-Container-Path-Stat) */
	char **header_value;                       /* its value, freshly allocated, or NULL when absent */
	void (*progress)(void *arg, size_t bytes); /* told of the bytes sent (upload) or received (sink) */
	void *progress_arg;
};
int cli_http_stream(struct cli *c, const struct cli_stream_req *req, struct cli_resp *out, berr *e);

/* Does anything accept connections on the socket? */
bool cli_daemon_answers(const struct cli *c);
/* Start berthd (detached, logging to a file it names) when nothing answers; says what it did. */
void cli_daemon_ensure(struct cli *c);

/* "Error response from daemon: <message>" to stderr, with the verb's prefix (run: "berth: "). */
void cli_print_daemon_error(const char *prefix, const struct cli_resp *r);
/* berthd unreachable: docker's "Cannot connect to the ... daemon at ..." line. */
void cli_print_connect_error(const struct cli *c, const char *prefix, const berr *e);

/* A path segment or query value, %-escaped (caller frees). */
char *cli_escape(const char *s);
/* A growing string for paths and queries. */
struct cli_buf {
	char *s;
	size_t len, cap;
};
void cli_buf_add(struct cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append "&key=escaped(value)" (or "?key=..." for the first). */
void cli_buf_query(struct cli_buf *b, const char *key, const char *value);
void cli_buf_free(struct cli_buf *b);

/* Raw connections (conn.c): attach's hijacked stream and requests that must stay open. */
struct cli_conn {
	int fd;
	long status;
	char *head;  /* the reply's header lines */
	char *extra; /* bytes read past the head (the stream's first bytes) */
	size_t extra_len;
};
/* Send a request on a fresh connection and read the reply's status line and headers. */
int cli_conn_request(struct cli *c, const char *method, const char *path, const char *extra_headers,
		     const char *json_body, struct cli_conn *out, berr *e);
/* Read the rest of the reply (Content-Length, chunked or to EOF) into *body. */
int cli_conn_read_body(struct cli_conn *cn, char **body, size_t *len, berr *e);
void cli_conn_close(struct cli_conn *cn);
/* Value of a header in cn->head (case-insensitive name), freshly allocated, or NULL. */
char *cli_conn_header(const struct cli_conn *cn, const char *name);

/* ---------- streams and the terminal (stream.c, terminal.c) ---------- */

/* Docker's 8-byte frame header demultiplexer: fed bytes in any cut, writes to stdout/stderr. */
struct cli_demux {
	unsigned char head[8];
	size_t head_len;
	size_t left; /* payload bytes left in the current frame */
	int out_fd;  /* where the current frame goes */
};
int cli_demux_feed(struct cli_demux *d, const char *buf, size_t len);

struct cli_pump_opts {
	bool tty;        /* raw stream (no frames) */
	bool send_stdin; /* copy our stdin to the container */
	bool sig_proxy;  /* forward signals we receive as POST /kill */
	const char *container;
	const char *exec_id; /* an exec's terminal to resize instead of the container's */
	struct cli *cli;
	const char *detach_keys; /* --detach-keys; NULL: docker's ctrl-p,ctrl-q */
};
/*
 * Copy between our stdio and an attached connection until the container's output ends.
 * Resizes the container's terminal on SIGWINCH when tty. With a terminal and stdin, the detach
 * keys typed end the session as docker's CLI does. Returns 0 when the output ended, 1 when the
 * user detached, or -1 with *e.
 */
int cli_pump(struct cli_conn *cn, const struct cli_pump_opts *o, berr *e);
/*
 * Catch (on) or release the signals the pump handles; cli_pump catches them itself and releases
 * them at its end. Caught before a start, a signal that comes early waits in a pipe for the pump.
 */
int cli_pump_signals(const struct cli_pump_opts *o, bool on, berr *e);

/* Put stdin's terminal in raw mode (restored by cli_term_restore, also at exit). */
int cli_term_raw(berr *e);
void cli_term_restore(void);
/* Send our terminal's size to the container (POST /containers/{id}/resize); quiet on failure. */
/* Send our terminal's size to a container or exec: kind "containers" or "exec". Quiet on failure. */
void cli_term_resize(struct cli *c, const char *kind, const char *id);
bool cli_term_size(unsigned *rows, unsigned *cols);

/* ---------- output (template.c, table.c, humanize.c) ---------- */

struct cli_template;
/* Parse a Go-template subset: {{.A.B}}, {{json .X}}, {{upper/lower/len/index/join ...}}, text. */
struct cli_template *cli_template_parse(const char *text, berr *e);
/* Append the template's output for data to *out. */
int cli_template_exec(const struct cli_template *t, json_t *data, struct cli_buf *out, berr *e);
void cli_template_free(struct cli_template *t);
/* Docker's --format preprocessing: "table " prefix stripped (*is_table), "\t" and "\n" escapes. */
char *cli_format_prepare(const char *format, bool *is_table);

/*
 * Print rows (JSON objects of strings) by a --format (or dflt when NULL/""/"table"): `table`
 * formats get header's names as the first row and align; others print one line per row.
 * Returns 0, or CLI_EXIT_ENGINE after printing a template error.
 */
int cli_print_rows(json_t *rows, const char *format, const char *dflt, json_t *header);
/* The same, to f (a frame being built). */
int cli_print_rows_to(FILE *f, json_t *rows, const char *format, const char *dflt, json_t *header);

/* Align tab-separated lines as docker's tabwriter does (padding 3; tables use min width 10, top 20). */
void cli_table_print(FILE *f, const char *text, size_t min_width);

/* "Less than a second", "3 minutes", "About an hour", "2 days" ... */
void cli_human_duration(int64_t seconds, char *out, size_t len);
/* "4.26MB" (decimal units, 3 significant digits). */
void cli_human_size(double bytes, char *out, size_t len);
/* "1.5MiB", "512KiB" (binary units, 4 significant digits: docker's units.BytesSize). */
void cli_human_size_binary(double bytes, char *out, size_t len);
/* "512m", "1g", "100" (bytes, binary multiples) -> bytes; false when not a size. */
bool cli_parse_ram(const char *s, int64_t *out);
/* "10m", "1h30m", "5s" (Go durations) -> seconds; false when not one. */
bool cli_parse_duration(const char *s, double *out);
/* A JSON value of a template as Go prints it: strings bare, maps map[k:v], lists [a b]. */
void cli_go_print(json_t *v, struct cli_buf *out);

/* A transfer's progress line on a terminal, as docker's progress bars look (progress.c). */
struct cli_progress {
	const char *label; /* "Loading archive" */
	double total;      /* 0 when unknown */
	double done;
	FILE *out;
	bool on; /* out is a terminal */
	bool drawn;
	long long last_ms;
};
void cli_progress_start(struct cli_progress *p, const char *label, double total, FILE *out);
/* A cli_stream_req.progress callback: counts, and redraws at most every 100 ms. */
void cli_progress_add(void *arg, size_t bytes);
/* Erase the line (the result's own lines follow). */
void cli_progress_end(struct cli_progress *p);

/* ---------- verbs shared pieces ---------- */

/* Container create body from run/create flags (container_opts.c); *name is the --name. */
int cli_container_config(struct cli_args *a, json_t **body, berr *e);
/* -e and --env-file (docker's rules: "K" alone takes our K) appended to env; prints its errors. */
int cli_env_from_flags(struct cli_args *a, json_t *env, berr *e);
/* A size flag (--memory 64m; --memory-swap also -1) into obj[key]; prints docker's error on a bad one. */
int cli_opt_ram(json_t *obj, const char *key, struct cli_args *a, const char *flag, berr *e);
/* -p, -P, --expose, --ip, --network-alias, --dns*, --add-host into cfg and host (publish.c). */
int cli_network_flags(struct cli_args *a, json_t *cfg, json_t *host, berr *e);
/*
 * One request (volume.c): docker's error printed on failure (exit status 1 returned), else 0 and
 * the reply's JSON in *out when out is given.
 */
int cli_call(struct cli *c, const char *method, const char *path, json_t *body, json_t **out);
/* ["k=v", "k"] as {"k": "v", "k": ""}: --label, --opt (volume.c). */
json_t *cli_key_values(char *const *list);
/* Print warning and docker's "Are you sure you want to continue? [y/N] "; true for "y" (prune.c). */
bool cli_confirm(const char *warning);
/* `X inspect`: GET /collection/NAME for each argument, as JSON or by -f/--format (volume.c). */
int cli_inspect_each(struct cli *c, struct cli_args *a, const char *collection);
/* Which of the run/create flags (container_opts.c). */
extern const struct cli_flag cli_container_flags[];

/* GET /containers/{id}/json; NULL (and the reply in *resp for the error) when not found. */
json_t *cli_container_inspect(struct cli *c, const char *id, struct cli_resp *resp, berr *e);
/* Map a start failure's message to docker's exit code: 127 not found, 126 not executable, else 125. */
int cli_start_error_code(const char *message);
struct cli_attach_opts {
	bool tty, in;    /* the container's Tty; our stdin goes to it */
	bool start;      /* start it once attached (run, start -a) */
	bool autoremove; /* its AutoRemove: return once it is gone */
	bool sig_proxy;
	const char *detach_keys; /* --detach-keys, or NULL */
	const char *err_prefix;
};
/* What cli_attach_and_wait returns when the user typed the detach keys (exit codes are < 256). */
enum { CLI_DETACHED = 256 };
/*
 * Attach (stdin when in), start when start is set, stream until the end, then the exit code
 * from a wait that was in flight before the start. Returns the container's code, CLI_DETACHED,
 * or < 0 with a message already printed (the exit status is -that).
 */
int cli_attach_and_wait(struct cli *c, const char *id, const struct cli_attach_opts *o);

/* Verb entry points. */
int cli_verb_run(struct cli *c, struct cli_args *a);
int cli_verb_create(struct cli *c, struct cli_args *a);
int cli_verb_start(struct cli *c, struct cli_args *a);
int cli_verb_attach(struct cli *c, struct cli_args *a);
int cli_verb_stop(struct cli *c, struct cli_args *a);
int cli_verb_restart(struct cli *c, struct cli_args *a);
int cli_verb_kill(struct cli *c, struct cli_args *a);
int cli_verb_pause(struct cli *c, struct cli_args *a);
int cli_verb_unpause(struct cli *c, struct cli_args *a);
int cli_verb_wait(struct cli *c, struct cli_args *a);
int cli_verb_rm(struct cli *c, struct cli_args *a);
int cli_verb_ps(struct cli *c, struct cli_args *a);
int cli_verb_logs(struct cli *c, struct cli_args *a);
int cli_verb_inspect(struct cli *c, struct cli_args *a);
int cli_verb_images(struct cli *c, struct cli_args *a);
int cli_verb_load(struct cli *c, struct cli_args *a);
int cli_verb_save(struct cli *c, struct cli_args *a);
int cli_verb_tag(struct cli *c, struct cli_args *a);
int cli_verb_rmi(struct cli *c, struct cli_args *a);
int cli_verb_version(struct cli *c, struct cli_args *a);
int cli_verb_info(struct cli *c, struct cli_args *a);
int cli_verb_exec(struct cli *c, struct cli_args *a);
int cli_verb_completion(struct cli *c, struct cli_args *a);
int cli_verb_top(struct cli *c, struct cli_args *a);
int cli_verb_diff(struct cli *c, struct cli_args *a);
int cli_verb_rename(struct cli *c, struct cli_args *a);
int cli_verb_export(struct cli *c, struct cli_args *a);
int cli_verb_commit(struct cli *c, struct cli_args *a);
int cli_verb_cp(struct cli *c, struct cli_args *a);
int cli_verb_stats(struct cli *c, struct cli_args *a);
int cli_verb_events(struct cli *c, struct cli_args *a);
int cli_verb_system_df(struct cli *c, struct cli_args *a);
int cli_verb_system_prune(struct cli *c, struct cli_args *a);
int cli_verb_container_prune(struct cli *c, struct cli_args *a);
int cli_verb_image_prune(struct cli *c, struct cli_args *a);
int cli_verb_update(struct cli *c, struct cli_args *a);
int cli_verb_port(struct cli *c, struct cli_args *a);
int cli_verb_import(struct cli *c, struct cli_args *a);
int cli_verb_history(struct cli *c, struct cli_args *a);
int cli_verb_volume_create(struct cli *c, struct cli_args *a);
int cli_verb_volume_ls(struct cli *c, struct cli_args *a);
int cli_verb_volume_inspect(struct cli *c, struct cli_args *a);
int cli_verb_volume_rm(struct cli *c, struct cli_args *a);
int cli_verb_volume_prune(struct cli *c, struct cli_args *a);
int cli_verb_network_create(struct cli *c, struct cli_args *a);
int cli_verb_network_ls(struct cli *c, struct cli_args *a);
int cli_verb_network_inspect(struct cli *c, struct cli_args *a);
int cli_verb_network_rm(struct cli *c, struct cli_args *a);
int cli_verb_network_connect(struct cli *c, struct cli_args *a);
int cli_verb_network_disconnect(struct cli *c, struct cli_args *a);
int cli_verb_network_prune(struct cli *c, struct cli_args *a);
/* GET path; the reply's JSON, or NULL after printing docker's error (exit 1 for the caller). */
json_t *cli_get_json(struct cli *c, const char *path);
/* Write a GET's body to -o's file (atomically) or to stdout (refused on a terminal). */
int cli_download(struct cli *c, const char *path, const char *output, const char *what);

/* ---------- registries (credentials.c, progress.c, pull.c) ---------- */

/* config.json's path: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
char *cli_config_path(void);
/* The key of config.json's auths for a login's server: "host[:port]", Docker Hub's index URL. */
char *cli_registry_key(const char *server);
/* The same for the registry an image reference names. */
char *cli_image_registry_key(const char *image);
/* 1 and the stored credentials of key, 0 when there are none, -1 on a bad file. */
int cli_creds_get(const char *key, char **user, char **password, berr *e);
int cli_creds_store(const char *key, const char *user, const char *password, berr *e);
/* 1 when key's credentials were there and are removed, 0 when there were none. */
int cli_creds_erase(const char *key, berr *e);
/* "X-Registry-Auth: ..." with the stored credentials of image's registry; NULL when none. */
char *cli_registry_auth_header(const char *image);

/* Docker's JSON progress lines to out (NULL: quiet), bars on a terminal; the first error kept. */
struct cli_pull_progress {
	FILE *out;
	bool tty;
	unsigned width;
	char **ids; /* layer lines on the terminal, top to bottom */
	size_t nids;
	struct cli_buf partial; /* a line not ended yet */
	char *error;
};
void cli_pull_progress_init(struct cli_pull_progress *p, FILE *out, bool tty);
int cli_pull_progress_feed(void *arg, const char *buf, size_t len); /* a cli_sink_fn */
void cli_pull_progress_free(struct cli_pull_progress *p);

/*
 * Pull image (a reference) through berthd with the stored credentials, progress to out; prints
 * its errors with prefix and returns an exit status.
 */
int cli_pull_image(struct cli *c, const char *image, const char *platform, FILE *out, bool quiet, const char *prefix);
int cli_verb_pull(struct cli *c, struct cli_args *a);
int cli_verb_push(struct cli *c, struct cli_args *a);
int cli_verb_login(struct cli *c, struct cli_args *a);
int cli_verb_logout(struct cli *c, struct cli_args *a);
/* Docker's GetTimestamp for --since/--until: "10m" before now, a date, or Unix seconds -> "sec.nsec". */
char *cli_timestamp_arg(const char *v);
/* --filter key=value... as {"key": {"value": true}} (NULL when none); CLI_EXIT_ENGINE on a bad one. */
int cli_filters_json(struct cli_args *a, char **out);
/* "4.261MB": decimal units with prec significant digits (docker's units.HumanSizeWithPrecision). */
void cli_human_size_prec(double bytes, int prec, char *out, size_t len);

/* Version of this client, shown by `berth version`. */
#define CLI_VERSION     "0.1.0"
#define CLI_API_VERSION "1.43"
