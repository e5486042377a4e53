/* berth-runtime: an OCI runtime with runc's command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../oci/selfclone.h"
#include "../../oci/state.h"
#include "cli.h"

#define BERTH_VERSION "0.1.0"

struct rt_globals rt_globals = {.root = "/run/berth-runtime", .log_format = "text"};

static const struct {
	const char *name;
	rt_verb_fn fn;
	bool runs_code_in_container; /* needs the sealed self-copy */
	const char *help;
} verbs[] = {
    {"create", rt_create, true, "create a container"},
    {"start", rt_start, false, "executes the user defined process in a created container"},
    {"run", rt_run, true, "create and run a container"},
    {"state", rt_state, false, "output the state of a container"},
    {"kill", rt_kill, false, "kill sends the specified signal (default: SIGTERM) to the container's init process"},
    {"delete", rt_delete, false, "delete any resources held by the container"},
    {"list", rt_list, false, "lists containers started by berth-runtime with the given root"},
    {"exec", rt_exec, true, "execute new process inside the container"},
    {"ps", rt_ps, false, "ps displays the processes running inside a container"},
    {"pause", rt_pause, false, "pause suspends all processes inside the container"},
    {"resume", rt_resume, false, "resumes all processes that have been previously paused"},
    {"spec", rt_spec, false, "create a new specification file"},
    {"features", rt_features, false, "show the enabled features"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: berth-runtime [global options] command [command options] [arguments...]\n\n"
		   "An OCI runtime with runc's command line.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		fprintf(f, "   %-10s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f,
		"\nGlobal options:\n"
		"   --root value        root directory for storage of container state (default: /run/berth-runtime)\n"
		"   --log value         set the log file to write runtime logs to (default: stderr)\n"
		"   --log-format value  set the log format ('text' (default), or 'json')\n"
		"   --debug             enable debug logging\n"
		"   --systemd-cgroup    use systemd cgroups (not supported: berth-runtime manages cgroupfs)\n"
		"   --version, -v       print the version\n"
		"   --help, -h          show help\n");
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 1, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_CRIU, OPT_ROOTLESS };
	static const struct option opts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"log", required_argument, NULL, OPT_LOG},
	    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	    {"debug", no_argument, NULL, OPT_DEBUG},
	    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD},
	    {"criu", required_argument, NULL, OPT_CRIU},
	    {"rootless", required_argument, NULL, OPT_ROOTLESS},
	    {"version", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT: rt_globals.root = optarg; break;
		case OPT_LOG: rt_globals.log_path = optarg; break;
		case OPT_LOG_FORMAT: rt_globals.log_format = optarg; break;
		case OPT_DEBUG: rt_globals.debug = true; break;
		case OPT_SYSTEMD: rt_globals.systemd_cgroup = true; break;
		case OPT_CRIU:
		case OPT_ROOTLESS: break;
		case 'v': printf("berth-runtime version " BERTH_VERSION "\nspec: " OCI_VERSION "\n"); return 0;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "berth-runtime: unknown global option %s\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}
	if (strcmp(rt_globals.log_format, "text") && strcmp(rt_globals.log_format, "json")) {
		fprintf(stderr, "berth-runtime: unknown log format \"%s\" (use text or json)\n", rt_globals.log_format);
		return 1;
	}
	if (b_log_open(rt_globals.log_path, !strcmp(rt_globals.log_format, "json"),
		       rt_globals.debug ? B_LOG_DEBUG : B_LOG_WARN) < 0) {
		fprintf(stderr, "berth-runtime: opening log file %s: %m\n", rt_globals.log_path);
		return 1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *verb = argv[optind];
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		if (strcmp(verb, verbs[i].name))
			continue;
		if (verbs[i].runs_code_in_container && !getenv("BERTH_RUNTIME_NO_SELFCLONE")) {
			berr e = {0};
			if (oci_selfclone_ensure(argv, &e) < 0)
				return rt_fail(&e);
		}
		int vargc = argc - optind;
		char **vargv = argv + optind;
		optind = 0; /* reset getopt for the verb */
		return verbs[i].fn(vargc, vargv);
	}
	fprintf(stderr, "berth-runtime: no such command: %s\n", verb);
	return 1;
}
