/*
 * SQLite files as berth's tables use them (berth.db): one setup for every table's owner, and
 * SQLite's failures as errors with errno values the API maps to statuses.
 */
#pragma once
#include <sqlite3.h>

#include "lib/err.h"

/* How far a commit goes before it returns. */
enum b_sqlite_durability {
	B_SQLITE_DURABLE,           /* on the disk (synchronous=FULL): survives a crash of the machine */
	B_SQLITE_DAEMON_CRASH_SAFE, /* in the WAL file (synchronous=NORMAL): survives the process's */
};

/*
 * Open (creating) path for the calling thread's use only: write-ahead log, commits as durable as
 * asked, a 10 s wait on a lock, then schema (idempotent SQL: CREATE ... IF NOT EXISTS). On failure
 * *out is NULL and nothing stays open.
 */
int b_sqlite_open(const char *path, enum b_sqlite_durability durability, const char *schema, sqlite3 **out, berr *e);
/* -1 with "what: SQLite's message": EBUSY when busy or locked, ENOSPC when full, EIO else. */
int b_sqlite_fail(sqlite3 *h, int rc, berr *e, const char *what);
