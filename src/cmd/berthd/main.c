/* berthd: the daemon. Flags and daemon.json, the socket, the pid file, signals;
 * the rest is api/ and engine/. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "api/server.h"
#include "engine/engine.h"
#include "engine/events.h"
#include "engine/monitor.h"
#include "image/registry.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/lazy_lib.h"

struct daemon_opts {
	char *host, *data_root, *exec_root, *pidfile, *log_level, *config_file, *cgroup_parent;
	char *bridge, *bip;
	char **pools; /* --default-address-pool "base=CIDR,size=N", NULL-terminated */
	size_t n_pools;
	int mtu; /* --mtu; 0: berth's default */
	bool live_restore;
	char **insecure_registries; /* NULL-terminated */
	size_t n_insecure;
	char **mirrors; /* --registry-mirror: Docker Hub's mirrors, "http(s)://host[:port]", NULL-terminated */
	size_t n_mirrors;
};

/* Add a registry reached over plain HTTP (--insecure-registry, daemon.json insecure-registries). */
static int add_insecure(struct daemon_opts *o, const char *value)
{
	char **v = realloc(o->insecure_registries, (o->n_insecure + 2) * sizeof *v);
	if (!v)
		return -1;
	o->insecure_registries = v;
	if (!(v[o->n_insecure] = strdup(value)))
		return -1;
	v[++o->n_insecure] = NULL;
	return 0;
}

/* Add a mirror of Docker Hub (--registry-mirror, daemon.json registry-mirrors). */
static int add_mirror(struct daemon_opts *o, const char *value)
{
	char **v = realloc(o->mirrors, (o->n_mirrors + 2) * sizeof *v);
	if (!v)
		return -1;
	o->mirrors = v;
	if (!(v[o->n_mirrors] = strdup(value)))
		return -1;
	v[++o->n_mirrors] = NULL;
	return 0;
}

/* Add a network pool (--default-address-pool, daemon.json default-address-pools). */
static int add_pool(struct daemon_opts *o, const char *value)
{
	char **v = realloc(o->pools, (o->n_pools + 2) * sizeof *v);
	if (!v)
		return -1;
	o->pools = v;
	if (!(v[o->n_pools] = strdup(value)))
		return -1;
	v[++o->n_pools] = NULL;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: berthd [OPTIONS]\n\n"
		   "A container engine serving the Docker Engine API.\n\n"
		   "Options:\n"
		   "  -H, --host string             Daemon socket to listen on (default "
		   "unix:///run/berth/berth.sock)\n"
		   "      --data-root string        Root of persistent state (default "
		   "/var/lib/berth)\n"
		   "      --exec-root string        Root of run state (default /run/berth)\n"
		   "  -p, --pidfile string          Path of the pid file (default "
		   "/run/berth/berthd.pid)\n"
		   "      --config-file string      Daemon configuration file (default "
		   "/etc/berth/daemon.json)\n"
		   "  -l, --log-level string        debug, info, warn, error, fatal "
		   "(default info)\n"
		   "  -D, --debug                   Debug logging\n"
		   "      --live-restore bool       Keep containers running while the "
		   "daemon is down (default true)\n"
		   "      --cgroup-parent string    Parent cgroup of containers (default "
		   "/berth)\n"
		   "      --insecure-registry list  Registries reached over plain HTTP\n"
		   "      --registry-mirror list    Preferred Docker registry mirror\n"
		   "      --bridge string           Name of the default bridge (default berth0)\n"
		   "      --bip string              Address of the default bridge (default "
		   "172.17.0.1/16, or the next free pool)\n"
		   "      --default-address-pool    Pools for networks: base=CIDR,size=N\n"
		   "      --mtu int                 MTU of the networks' bridges and veths (default 65535)\n"
		   "  -h, --help                    This help\n");
}

static int set(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -1;
}

/* daemon.json: the keys Docker's has that apply here; flags given on the
 * command line win. */
static int read_config_file(struct daemon_opts *o, bool required, const bool *given, berr *e)
{
	_cleanup_free_ char *text = NULL;
	if (b_read_file(o->config_file, &text, NULL, e) < 0) {
		if (!required && e->errnum == ENOENT) {
			berr_clear(e);
			return 0;
		}
		return -1;
	}
	if (text[strspn(text, " \t\r\n")] == '\0')
		return 0; /* an empty file configures nothing */
	json_error_t jerr;
	json_t *doc = json_loads(text, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return berr_invalid(e, "%s: %s", o->config_file, doc ? "expected a JSON object" : jerr.text);
	}
	static const struct {
		const char *key;
		size_t off;
		int flag;
	} keys[] = {
	    {"data-root", offsetof(struct daemon_opts, data_root), 'r'},
	    {"exec-root", offsetof(struct daemon_opts, exec_root), 'x'},
	    {"pidfile", offsetof(struct daemon_opts, pidfile), 'p'},
	    {"log-level", offsetof(struct daemon_opts, log_level), 'l'},
	    {"cgroup-parent", offsetof(struct daemon_opts, cgroup_parent), 'c'},
	    {"bridge", offsetof(struct daemon_opts, bridge), 'n'},
	    {"bip", offsetof(struct daemon_opts, bip), 'b'},
	};
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys) && r == 0; i++) {
		json_t *v = json_object_get(doc, keys[i].key);
		if (!v || given[keys[i].flag])
			continue;
		if (!json_is_string(v))
			r = berr_invalid(e, "%s: %s: expected a string", o->config_file, keys[i].key);
		else
			set((char **)((char *)o + keys[i].off), json_string_value(v));
	}
	json_t *hosts = json_object_get(doc, "hosts");
	if (r == 0 && hosts && !given['H']) {
		if (!json_is_array(hosts) || json_array_size(hosts) != 1 || !json_is_string(json_array_get(hosts, 0)))
			r = berr_invalid(e, "%s: hosts: expected one address", o->config_file);
		else
			set(&o->host, json_string_value(json_array_get(hosts, 0)));
	}
	/* Docker's form: [{"base": "10.10.0.0/16", "size": 24}]. */
	json_t *insecure = json_object_get(doc, "insecure-registries");
	if (r == 0 && insecure && !given['i']) {
		size_t i;
		json_t *v;
		if (!json_is_array(insecure))
			r = berr_invalid(e, "%s: insecure-registries: expected a list of strings", o->config_file);
		json_array_foreach (insecure, i, v) {
			if (r == 0 && !json_is_string(v))
				r = berr_invalid(e, "%s: insecure-registries: expected a list of strings",
						 o->config_file);
			else if (r == 0 && add_insecure(o, json_string_value(v)) < 0)
				r = berr_set(e, ENOMEM, "%s", o->config_file);
		}
	}
	json_t *mirrors = json_object_get(doc, "registry-mirrors");
	if (r == 0 && mirrors && !given['m']) {
		size_t i;
		json_t *v;
		if (!json_is_array(mirrors))
			r = berr_invalid(e, "%s: registry-mirrors: expected a list of strings", o->config_file);
		json_array_foreach (mirrors, i, v) {
			if (r == 0 && !json_is_string(v))
				r = berr_invalid(e, "%s: registry-mirrors: expected a list of strings", o->config_file);
			else if (r == 0 && add_mirror(o, json_string_value(v)) < 0)
				r = berr_set(e, ENOMEM, "%s", o->config_file);
		}
	}
	json_t *pools = json_object_get(doc, "default-address-pools");
	if (r == 0 && pools && !given['a']) {
		size_t i;
		json_t *v;
		if (!json_is_array(pools))
			r = berr_invalid(e, "%s: default-address-pools: expected a list", o->config_file);
		json_array_foreach (pools, i, v) {
			const char *base = json_string_value(json_object_get(v, "base"));
			json_t *size = json_object_get(v, "size");
			char *pool = NULL;
			if (r == 0 && (!base || !json_is_integer(size)))
				r = berr_invalid(e, "%s: default-address-pools: expected {\"base\": CIDR, \"size\": N}",
						 o->config_file);
			else if (r == 0 && asprintf(&pool, "base=%s,size=%d", base, (int)json_integer_value(size)) < 0)
				r = berr_set(e, ENOMEM, "%s", o->config_file);
			else if (r == 0 && add_pool(o, pool) < 0)
				r = berr_set(e, ENOMEM, "%s", o->config_file);
			free(pool);
		}
	}
	json_t *mtu = json_object_get(doc, "mtu");
	if (r == 0 && mtu && !given['M']) {
		if (!json_is_integer(mtu) || json_integer_value(mtu) < 0 || json_integer_value(mtu) > 65535)
			r = berr_invalid(e, "%s: mtu: expected a number from 68 to 65535", o->config_file);
		else
			o->mtu = (int)json_integer_value(mtu);
	}
	json_t *lr = json_object_get(doc, "live-restore");
	if (r == 0 && lr && !given['L']) {
		if (!json_is_boolean(lr))
			r = berr_invalid(e, "%s: live-restore: expected true or false", o->config_file);
		else
			o->live_restore = json_is_true(lr);
	}
	json_decref(doc);
	return r;
}

/* A unix socket listening at path (0660); a stale socket file nobody answers on
 * is replaced. */
static int listen_unix(const char *path, berr *e)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path)
		return berr_invalid(e, "socket path too long: %s", path);
	strcpy(addr.sun_path, path);
	_cleanup_free_ char *dir_copy = strdup(path);
	if (!dir_copy || b_mkdir_p(dirname(dir_copy), 0755, e) < 0)
		return -1;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0) {
		close(probe);
		return berr_plain(e, EADDRINUSE, "another daemon is listening on %s", path);
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "creating the socket");
	mode_t old = umask(0117);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		berr_sys(e, "listening on %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int write_pidfile(const char *path, berr *e)
{
	_cleanup_free_ char *old = NULL;
	berr ignored = {0};
	if (b_read_file(path, &old, NULL, &ignored) == 0) {
		int pid = atoi(old);
		if (pid > 0 && pid != getpid() && kill(pid, 0) == 0) {
			char exe[64], target[4096];
			snprintf(exe, sizeof exe, "/proc/%d/exe", pid);
			ssize_t n = readlink(exe, target, sizeof target - 1);
			if (n > 0) {
				target[n] = '\0';
				if (strstr(target, "berthd"))
					return berr_plain(e, EEXIST,
							  "pid file found, ensure berthd is not running or delete %s",
							  path);
			}
		}
	}
	berr_clear(&ignored);
	_cleanup_free_ char *dir_copy = strdup(path);
	if (!dir_copy || b_mkdir_p(dirname(dir_copy), 0755, e) < 0)
		return -1;
	char text[32];
	snprintf(text, sizeof text, "%d", (int)getpid());
	return b_write_file_atomic(path, text, strlen(text), 0644, e);
}

/* Requests seen ending, and whether memory is to be given back once they stop. */
struct quiet {
	unsigned long requests_done;
	bool pending;
};

/*
 * Called every second: once a whole second went by without a request ending after some did,
 * unload the libraries loaded for them (libarchive, libcurl, libnftables) and give the heap's
 * free pages back, so that an idle daemon is as small after a pull or a load as at its start.
 */
static void reclaim_when_quiet(struct quiet *q, unsigned long requests_done)
{
	if (requests_done != q->requests_done) {
		q->requests_done = requests_done;
		q->pending = true;
		return;
	}
	if (!q->pending)
		return;
	q->pending = false;
	lazy_lib_unload_unused();
	malloc_trim(0);
}

int main(int argc, char **argv)
{
	struct daemon_opts o = {.live_restore = true};
	bool given[256] = {false};
	set(&o.host, "unix:///run/berth/berth.sock");
	set(&o.data_root, getenv("BERTH_ROOT") ? getenv("BERTH_ROOT") : "/var/lib/berth");
	set(&o.exec_root, "/run/berth");
	set(&o.log_level, "info");
	set(&o.config_file, "/etc/berth/daemon.json");
	set(&o.cgroup_parent, "/berth");
	static const struct option long_opts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"data-root", required_argument, NULL, 'r'},
	    {"exec-root", required_argument, NULL, 'x'},
	    {"pidfile", required_argument, NULL, 'p'},
	    {"config-file", required_argument, NULL, 'f'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"debug", no_argument, NULL, 'D'},
	    {"live-restore", optional_argument, NULL, 'L'},
	    {"cgroup-parent", required_argument, NULL, 'c'},
	    {"insecure-registry", required_argument, NULL, 'i'},
	    {"registry-mirror", required_argument, NULL, 'm'},
	    {"bridge", required_argument, NULL, 'n'},
	    {"bip", required_argument, NULL, 'b'},
	    {"default-address-pool", required_argument, NULL, 'a'},
	    {"mtu", required_argument, NULL, 'M'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool pidfile_given = false;
	int c;
	while ((c = getopt_long(argc, argv, "H:p:l:Dh", long_opts, NULL)) != -1) {
		given[c] = true;
		switch (c) {
		case 'H': set(&o.host, optarg); break;
		case 'r': set(&o.data_root, optarg); break;
		case 'x': set(&o.exec_root, optarg); break;
		case 'p':
			set(&o.pidfile, optarg);
			pidfile_given = true;
			break;
		case 'f': set(&o.config_file, optarg); break;
		case 'l': set(&o.log_level, optarg); break;
		case 'D': set(&o.log_level, "debug"); break;
		case 'L': o.live_restore = !optarg || strcmp(optarg, "false") != 0; break;
		case 'c': set(&o.cgroup_parent, optarg); break;
		case 'i':
			if (add_insecure(&o, optarg) < 0)
				return 1;
			break;
		case 'm':
			if (add_mirror(&o, optarg) < 0)
				return 1;
			break;
		case 'n': set(&o.bridge, optarg); break;
		case 'b': set(&o.bip, optarg); break;
		case 'a':
			if (add_pool(&o, optarg) < 0)
				return 1;
			break;
		case 'M': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 0 || v > 65535) {
				fprintf(stderr, "berthd: --mtu %s: expected a number from 68 to 65535\n", optarg);
				return 125;
			}
			o.mtu = (int)v;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: fprintf(stderr, "berthd: see 'berthd --help'\n"); return 125;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "berthd: unexpected argument \"%s\"; see 'berthd --help'\n", argv[optind]);
		return 125;
	}
	berr e = {0};
	if (read_config_file(&o, given['f'], given, &e) < 0) {
		fprintf(stderr, "berthd: configuration: %s\n", berr_msg(&e));
		return 1;
	}
	/* berth's own certs.d is beside its daemon.json (/etc/berth), then Docker's. */
	_cleanup_free_ char *config_dir = strdup(o.config_file), *certs_d = NULL;
	char *slash = config_dir ? strrchr(config_dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	if (!config_dir || asprintf(&certs_d, "%s/certs.d", slash ? (*config_dir ? config_dir : "") : ".") < 0) {
		certs_d = NULL;
		fprintf(stderr, "berthd: out of memory\n");
		return 1;
	}
	if (img_registry_certs_dirs_set((const char *const[]){certs_d, "/etc/docker/certs.d", NULL}, &e) < 0 ||
	    img_registry_mirrors_set((const char *const *)o.mirrors, &e) < 0) {
		fprintf(stderr, "berthd: %s\n", berr_msg(&e));
		return 1;
	}
	if (!o.live_restore)
		fprintf(stderr, "berthd: live-restore off is not supported yet: containers "
				"keep running\n");
	if (!o.pidfile && asprintf(&o.pidfile, "%s/berthd.pid", o.exec_root) < 0)
		return 1;
	(void)pidfile_given;
	if (strncmp(o.host, "unix://", 7) != 0) {
		fprintf(stderr,
			"berthd: -H %s: only unix:// sockets are supported (tcp needs TLS, "
			"not supported yet)\n",
			o.host);
		return 1;
	}
	if (b_mkdir_p(o.exec_root, 0700, &e) < 0 || write_pidfile(o.pidfile, &e) < 0) {
		fprintf(stderr, "berthd: %s\n", berr_msg(&e));
		return 1;
	}
	struct eng_opts eo = {.data_root = o.data_root,
			      .exec_root = o.exec_root,
			      .cgroup_parent = o.cgroup_parent,
			      .bridge = o.bridge,
			      .bip = o.bip,
			      .address_pools = (const char *const *)o.pools,
			      .n_address_pools = o.n_pools,
			      .mtu = o.mtu,
			      .insecure_registries = o.insecure_registries};
	/*
	 * TERM, INT and HUP are taken by sigwait below: blocked before any thread starts, so that none
	 * of the daemon's threads takes one in main's place (children unblock them: monitor.c).
	 */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/*
	 * No bulk page cache per database connection (sqlite's default: 20 pages at once, ~80 KB
	 * each of the daemon's six): pages are allocated as they are needed.
	 */
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
	/*
	 * One malloc arena for all threads: each HTTP connection's thread took an arena of its own,
	 * whose pages stayed resident, half-used, after the request; the daemon's threads seldom
	 * allocate at once (each has its small-block cache).
	 */
	mallopt(M_ARENA_MAX, 1);
	struct eng *eng = NULL;
	if (eng_open(&eo, &eng, &e) < 0) {
		fprintf(stderr, "berthd: %s\n", berr_msg(&e));
		unlink(o.pidfile);
		return 1;
	}
	int fd = listen_unix(o.host + 7, &e);
	struct api_server *srv = NULL;
	if (fd < 0 || api_server_start(eng, fd, &srv, &e) < 0) {
		fprintf(stderr, "berthd: %s\n", berr_msg(&e));
		eng_close(eng);
		unlink(o.pidfile);
		return 1;
	}
	fprintf(stderr, "berthd: API listening on %s\n", o.host + 7);
	struct quiet q = {.pending = true}; /* the start's own garbage too */
	for (;;) {
		const struct timespec tick = {.tv_sec = 1};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				reclaim_when_quiet(&q, api_server_requests_done(srv));
			continue;
		}
		if (sig == SIGHUP) {
			/* registry-mirrors is read afresh, as dockerd does (unless the command line named them). */
			for (size_t i = 0; !given['m'] && i < o.n_mirrors; i++)
				free(o.mirrors[i]);
			if (!given['m']) {
				free(o.mirrors);
				o.mirrors = NULL;
				o.n_mirrors = 0;
			}
			if (read_config_file(&o, false, given, &e) < 0 ||
			    img_registry_mirrors_set((const char *const *)o.mirrors, &e) < 0) {
				fprintf(stderr, "berthd: reloading %s: %s\n", o.config_file, berr_msg(&e));
				berr_clear(&e);
			} else {
				/* The event first: whoever reads the log line may look for it at once. */
				eng_daemon_event(eng, "reload");
				fprintf(stderr, "berthd: reloaded %s\n", o.config_file);
			}
			continue;
		}
		break;
	}
	fprintf(stderr, "berthd: shutting down; containers keep running\n");
	eng_shutdown(eng);
	api_server_stop(srv);
	eng_close(eng);
	unlink(o.host + 7);
	unlink(o.pidfile);
	free(o.host);
	free(o.data_root);
	free(o.exec_root);
	free(o.pidfile);
	free(o.log_level);
	free(o.config_file);
	free(o.cgroup_parent);
	free(o.bridge);
	free(o.bip);
	for (size_t i = 0; i < o.n_pools; i++)
		free(o.pools[i]);
	free(o.pools);
	for (size_t i = 0; i < o.n_insecure; i++)
		free(o.insecure_registries[i]);
	free(o.insecure_registries);
	for (size_t i = 0; i < o.n_mirrors; i++)
		free(o.mirrors[i]);
	free(o.mirrors);
	return 0;
}
