/* Diagnostics of the executables: to stderr or a --log file, as text or runc's JSON lines. */
#pragma once
#include <stdbool.h>

enum b_log_level { B_LOG_ERROR, B_LOG_WARN, B_LOG_INFO, B_LOG_DEBUG };

/* path NULL means stderr. json selects runc's {"level","msg","time"} lines. */
int b_log_open(const char *path, bool json, enum b_log_level level);
void b_log(enum b_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool b_log_enabled(enum b_log_level level);
/* The descriptor the log writes to (to keep it open across fd cleanup), or -1. */
int b_log_fd(void);

#define b_error(...) b_log(B_LOG_ERROR, __VA_ARGS__)
#define b_warn(...)  b_log(B_LOG_WARN, __VA_ARGS__)
#define b_info(...)  b_log(B_LOG_INFO, __VA_ARGS__)
#define b_debug(...) b_log(B_LOG_DEBUG, __VA_ARGS__)
