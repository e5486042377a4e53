/* Signal names as Docker takes them: "KILL", "SIGKILL", "sigkill", "9", "SIGRTMIN+3". */
#pragma once
#include "lib/err.h"

int eng_signal_parse(const char *s, int *sig, berr *e);
