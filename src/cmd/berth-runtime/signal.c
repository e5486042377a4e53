/* kill, delete, pause and resume. */
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../../oci/container.h"
#include "cli.h"

/* "KILL", "SIGKILL", "kill", "9" -> 9; -1 if unknown. */
static int parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end)
		return n > 0 && n < NSIG ? (int)n : -1;
	const char *name = s;
	if (!strncasecmp(name, "SIG", 3))
		name += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && !strcasecmp(abbrev, name))
			return sig;
	}
	if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
		int base = toupper((unsigned char)name[3]) == 'I' ? SIGRTMIN : SIGRTMAX;
		int off = name[5] ? atoi(name + 5) : 0;
		int sig = base + off;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
	}
	return -1;
}

int rt_kill(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {0}};
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		if (c != 'a')
			return rt_usage_error("kill", "unknown option %s", argv[optind - 1]);
		all = true;
	}
	int left = argc - optind;
	if (left < 1 || left > 2)
		return rt_usage_error("kill", "usage: kill [--all] <container-id> [signal]");
	const char *id = argv[optind];
	int sig = SIGTERM;
	if (left == 2 && (sig = parse_signal(argv[optind + 1])) < 0)
		return rt_usage_error("kill", "unknown signal \"%s\"", argv[optind + 1]);
	berr e = {0};
	if (oci_container_kill(rt_globals.root, id, sig, all, &e) < 0)
		return rt_fail(&e);
	return 0;
}

int rt_delete(int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {0}};
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return rt_usage_error("delete", "unknown option %s", argv[optind - 1]);
		force = true;
	}
	const char *id;
	if (rt_one_id(argc, argv, optind, "delete", &id) < 0)
		return 1;
	berr e = {0};
	if (oci_container_delete(rt_globals.root, id, force, &e) < 0)
		return rt_fail(&e);
	return 0;
}

static int pause_or_resume(int argc, char **argv, bool pause)
{
	const char *verb = pause ? "pause" : "resume";
	int c;
	while ((c = getopt_long(argc, argv, "+", (struct option[]){{0}}, NULL)) != -1)
		return rt_usage_error(verb, "unknown option %s", argv[optind - 1]);
	const char *id;
	if (rt_one_id(argc, argv, optind, verb, &id) < 0)
		return 1;
	berr e = {0};
	if (oci_container_pause(rt_globals.root, id, pause, &e) < 0)
		return rt_fail(&e);
	return 0;
}

int rt_pause(int argc, char **argv)
{
	return pause_or_resume(argc, argv, true);
}
int rt_resume(int argc, char **argv)
{
	return pause_or_resume(argc, argv, false);
}
