/* Our terminal: raw mode for -it (restored at every exit) and its size for the container's pty. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_internal.h"

static struct termios saved;
static bool is_raw;

void cli_term_restore(void)
{
	if (!is_raw)
		return;
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	is_raw = false;
}

int cli_term_raw(berr *e)
{
	if (is_raw)
		return 0;
	if (tcgetattr(STDIN_FILENO, &saved) < 0)
		return berr_sys(e, "reading the terminal's mode");
	struct termios raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0)
		return berr_sys(e, "setting the terminal to raw mode");
	is_raw = true;
	static bool registered;
	if (!registered) {
		atexit(cli_term_restore);
		registered = true;
	}
	return 0;
}

bool cli_term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;
	int fds[] = {STDOUT_FILENO, STDIN_FILENO, STDERR_FILENO};
	for (size_t i = 0; i < 3; i++) {
		if (ioctl(fds[i], TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
			*rows = ws.ws_row;
			*cols = ws.ws_col;
			return true;
		}
	}
	return false;
}

void cli_term_resize(struct cli *c, const char *kind, const char *id)
{
	unsigned rows, cols;
	if (!cli_term_size(&rows, &cols))
		return;
	char h[16], w[16];
	snprintf(h, sizeof h, "%u", rows);
	snprintf(w, sizeof w, "%u", cols);
	struct cli_buf path = {0};
	char *esc = cli_escape(id);
	cli_buf_add(&path, "/%s/%s/resize", kind, esc);
	cli_buf_query(&path, "h", h);
	cli_buf_query(&path, "w", w);
	struct cli_resp r;
	berr e = {0};
	if (cli_http(c, "POST", path.s, NULL, &r, &e) == 0)
		cli_resp_free(&r);
	berr_clear(&e);
	free(esc);
	cli_buf_free(&path);
}
