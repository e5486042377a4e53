#include "engine/signals.h"

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cleanup.h"

static const struct {
	const char *name;
	int sig;
} names[] = {
    {"ABRT", SIGABRT},     {"ALRM", SIGALRM},   {"BUS", SIGBUS},   {"CHLD", SIGCHLD}, {"CLD", SIGCHLD},
    {"CONT", SIGCONT},     {"FPE", SIGFPE},     {"HUP", SIGHUP},   {"ILL", SIGILL},   {"INT", SIGINT},
    {"IO", SIGIO},         {"IOT", SIGIOT},     {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},
    {"PROF", SIGPROF},     {"PWR", SIGPWR},     {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP},     {"SYS", SIGSYS},     {"TERM", SIGTERM}, {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

int eng_signal_parse(const char *s, int *sig, berr *e)
{
	if (isdigit((unsigned char)s[0])) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end || v <= 0 || v > SIGRTMAX)
			return berr_invalid(e, "Invalid signal: %s", s);
		*sig = (int)v;
		return 0;
	}
	const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcasecmp(n, names[i].name) == 0) {
			*sig = names[i].sig;
			return 0;
		}
	}
	if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0) {
		bool min = strncasecmp(n, "RTMIN", 5) == 0;
		long off = 0;
		if (n[5]) {
			char *end;
			off = strtol(n + 5, &end, 10);
			if (*end || (min && off < 0) || (!min && off > 0))
				return berr_invalid(e, "Invalid signal: %s", s);
		}
		long v = (min ? SIGRTMIN : SIGRTMAX) + off;
		if (v < SIGRTMIN || v > SIGRTMAX)
			return berr_invalid(e, "Invalid signal: %s", s);
		*sig = (int)v;
		return 0;
	}
	return berr_invalid(e, "Invalid signal: %s", s);
}
