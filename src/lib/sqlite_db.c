#include "lib/sqlite_db.h"

#include <errno.h>
#include <stddef.h>

int b_sqlite_fail(sqlite3 *h, int rc, berr *e, const char *what)
{
	int errnum = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EBUSY : rc == SQLITE_FULL ? ENOSPC : EIO;
	return berr_plain(e, errnum, "%s: %s", what, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
}

int b_sqlite_open(const char *path, enum b_sqlite_durability durability, const char *schema, sqlite3 **out, berr *e)
{
	sqlite3 *h = NULL;
	*out = NULL;
	int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		berr_plain(e, EIO, "opening %s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return -1;
	}
	sqlite3_busy_timeout(h, 10000);
	char *msg = NULL;
	rc = sqlite3_exec(h,
			  durability == B_SQLITE_DURABLE ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
							 : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
			  NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, schema, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		berr_plain(e, rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? EBUSY : EIO, "setting up %s: %s", path,
			   msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close(h);
		return -1;
	}
	*out = h;
	return 0;
}
