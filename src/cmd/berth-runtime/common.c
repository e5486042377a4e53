#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/log.h"
#include "cli.h"

int rt_fail(berr *e)
{
	/* runc logs the error, and podman/containerd read it from --log; people read stderr. */
	b_error("%s", berr_msg(e));
	if (rt_globals.log_path)
		fprintf(stderr, "berth-runtime: %s\n", berr_msg(e));
	berr_clear(e);
	return 1;
}

int rt_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "berth-runtime %s: ", verb);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

int rt_one_id(int argc, char **argv, int optind_, const char *verb, const char **id)
{
	if (argc - optind_ != 1)
		return rt_usage_error(verb, "\"%s\" requires exactly 1 argument (the container id)", verb);
	*id = argv[optind_];
	return 0;
}

int rt_check_cgroup_driver(void)
{
	if (!rt_globals.systemd_cgroup)
		return 0;
	berr e = {0};
	berr_set(&e, 0,
		 "--systemd-cgroup is not supported: berth-runtime manages cgroups through cgroupfs; "
		 "configure the engine's cgroup manager as cgroupfs");
	return rt_fail(&e);
}
