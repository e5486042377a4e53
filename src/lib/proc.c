#include "lib/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/fs.h"

unsigned long long b_proc_start_time(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	berr e = {0};
	if (b_read_file(path, &text, NULL, &e) < 0) {
		berr_clear(&e);
		return 0;
	}
	/* The command name may hold spaces and parentheses: fields 3 onwards follow the last ") ". */
	char *p = strrchr(text, ')');
	if (!p)
		return 0;
	int field = 2;
	char *save = NULL;
	for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (++field == 22)
			return strtoull(tok, NULL, 10);
	return 0;
}
