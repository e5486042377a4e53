/* create, run and start. */
#include <getopt.h>
#include <stdlib.h>

#include "../../oci/container.h"
#include "cli.h"

enum {
	O_BUNDLE = 'b',
	O_PID_FILE = 1000,
	O_CONSOLE,
	O_PRESERVE,
	O_NO_PIVOT,
	O_NO_KEYRING,
	O_DETACH = 'd',
	O_NO_SUBREAPER,
	O_KEEP
};

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, O_BUNDLE},
    {"pid-file", required_argument, NULL, O_PID_FILE},
    {"console-socket", required_argument, NULL, O_CONSOLE},
    {"preserve-fds", required_argument, NULL, O_PRESERVE},
    {"no-pivot", no_argument, NULL, O_NO_PIVOT},
    {"no-new-keyring", no_argument, NULL, O_NO_KEYRING},
    {"detach", no_argument, NULL, O_DETACH},
    {"no-subreaper", no_argument, NULL, O_NO_SUBREAPER},
    {"keep", no_argument, NULL, O_KEEP},
    {0},
};

static int parse(int argc, char **argv, const char *verb, bool allow_detach, struct oci_create_opts *o, bool *detach)
{
	int c;
	o->root = rt_globals.root;
	while ((c = getopt_long(argc, argv, allow_detach ? "+b:d" : "+b:", create_opts, NULL)) != -1) {
		switch (c) {
		case O_BUNDLE: o->bundle = optarg; break;
		case O_PID_FILE: o->pid_file = optarg; break;
		case O_CONSOLE: o->console_socket = optarg; break;
		case O_PRESERVE: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 1 << 20)
				return rt_usage_error(verb, "--preserve-fds: invalid number \"%s\"", optarg);
			o->preserve_fds = (int)n;
			break;
		}
		case O_NO_PIVOT: o->no_pivot = true; break;
		case O_NO_KEYRING: o->no_new_keyring = true; break;
		case O_DETACH:
			if (!allow_detach)
				return rt_usage_error(verb, "unknown option --detach");
			*detach = true;
			break;
		case O_NO_SUBREAPER:
		case O_KEEP: break;
		default: return rt_usage_error(verb, "unknown option %s", argv[optind - 1]);
		}
	}
	if (rt_one_id(argc, argv, optind, verb, &o->id) < 0)
		return 1;
	return rt_check_cgroup_driver();
}

int rt_create(int argc, char **argv)
{
	struct oci_create_opts o = {0};
	bool detach = false;
	if (parse(argc, argv, "create", false, &o, &detach))
		return 1;
	berr e = {0};
	if (oci_container_create(&o, &e) < 0)
		return rt_fail(&e);
	return 0;
}

int rt_run(int argc, char **argv)
{
	struct oci_create_opts o = {0};
	bool detach = false;
	if (parse(argc, argv, "run", true, &o, &detach))
		return 1;
	berr e = {0};
	int code = 0;
	if (oci_container_run(&o, detach, &code, &e) < 0)
		return rt_fail(&e);
	return code;
}

int rt_start(int argc, char **argv)
{
	const char *id;
	int c;
	while ((c = getopt_long(argc, argv, "+", create_opts + 9, NULL)) != -1)
		return rt_usage_error("start", "unknown option %s", argv[optind - 1]);
	if (rt_one_id(argc, argv, optind, "start", &id) < 0)
		return 1;
	berr e = {0};
	if (oci_container_start(rt_globals.root, id, &e) < 0)
		return rt_fail(&e);
	return 0;
}
