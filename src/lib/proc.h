/* Facts about processes from /proc. */
#pragma once
#include <sys/types.h>

/*
 * The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), 0 if it is
 * gone: with the pid, it names one process even after the pid is reused.
 */
unsigned long long b_proc_start_time(pid_t pid);
