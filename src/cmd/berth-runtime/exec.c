/* exec: run a new process in a container. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "../../oci/container.h"
#include "cli.h"

static int push(char ***v, size_t *n, const char *s)
{
	char **g = realloc(*v, (*n + 2) * sizeof *g);
	if (!g)
		return -1;
	g[(*n)++] = (char *)s;
	g[*n] = NULL;
	*v = g;
	return 0;
}

int rt_exec(int argc, char **argv)
{
	enum {
		O_PROCESS = 'p',
		O_TTY = 't',
		O_DETACH = 'd',
		O_ENV = 'e',
		O_USER = 'u',
		O_CWD = 1000,
		O_CAP,
		O_PID_FILE,
		O_CONSOLE,
		O_PRESERVE,
		O_NNP,
		O_GROUP,
		O_APPARMOR,
		O_LABEL,
		O_CGROUP,
		O_IGNORE_PAUSED
	};
	static const struct option opts[] = {
	    {"process", required_argument, NULL, O_PROCESS},
	    {"tty", no_argument, NULL, O_TTY},
	    {"detach", no_argument, NULL, O_DETACH},
	    {"env", required_argument, NULL, O_ENV},
	    {"user", required_argument, NULL, O_USER},
	    {"cwd", required_argument, NULL, O_CWD},
	    {"cap", required_argument, NULL, O_CAP},
	    {"pid-file", required_argument, NULL, O_PID_FILE},
	    {"console-socket", required_argument, NULL, O_CONSOLE},
	    {"preserve-fds", required_argument, NULL, O_PRESERVE},
	    {"no-new-privs", no_argument, NULL, O_NNP},
	    {"additional-gids", required_argument, NULL, O_GROUP},
	    {"apparmor", required_argument, NULL, O_APPARMOR},
	    {"process-label", required_argument, NULL, O_LABEL},
	    {"cgroup", required_argument, NULL, O_CGROUP},
	    {"ignore-paused", no_argument, NULL, O_IGNORE_PAUSED},
	    {0},
	};
	struct oci_exec_opts o = {.root = rt_globals.root};
	char **env = NULL, **caps = NULL, **gids = NULL;
	size_t n_env = 0, n_caps = 0, n_gids = 0;
	int c, rc = 1, code = 0;
	berr e = {0};
	while ((c = getopt_long(argc, argv, "+p:tde:u:g:", opts, NULL)) != -1) {
		switch (c) {
		case O_PROCESS: o.process_file = optarg; break;
		case O_TTY: o.tty = true; break;
		case O_DETACH: o.detach = true; break;
		case O_ENV: push(&env, &n_env, optarg); break;
		case O_USER: o.user = optarg; break;
		case O_CWD: o.cwd = optarg; break;
		case O_CAP: push(&caps, &n_caps, optarg); break;
		case O_PID_FILE: o.pid_file = optarg; break;
		case O_CONSOLE: o.console_socket = optarg; break;
		case O_PRESERVE: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 0 || n > 1 << 20) {
				rt_usage_error("exec", "--preserve-fds: invalid number \"%s\"", optarg);
				goto out;
			}
			o.preserve_fds = (int)n;
			break;
		}
		case O_NNP: o.no_new_privs = true; break;
		case 'g':
		case O_GROUP: push(&gids, &n_gids, optarg); break;
		case O_APPARMOR:
		case O_LABEL:
		case O_CGROUP:
		case O_IGNORE_PAUSED: break;
		default: rt_usage_error("exec", "unknown option %s", argv[optind - 1]); goto out;
		}
	}
	if (optind >= argc) {
		rt_usage_error("exec", "usage: exec [options] <container-id> <command> [args...]");
		goto out;
	}
	o.id = argv[optind++];
	if (!o.process_file && optind >= argc) {
		rt_usage_error("exec", "exec needs a command or --process");
		goto out;
	}
	o.args = argv + optind;
	o.env = env;
	o.caps = caps;
	o.additional_gids = gids;
	if (oci_container_exec(&o, &code, &e) < 0)
		rc = rt_fail(&e);
	else
		rc = code;
out:
	free(env);
	free(caps);
	free(gids);
	return rc;
}
