/* An attached container's streams: docker's 8-byte frames, stdin, window size, proxied signals. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/detach_keys.h"
#include "lib/fd.h"

int cli_demux_feed(struct cli_demux *d, const char *buf, size_t len)
{
	while (len) {
		if (d->left == 0) {
			size_t take = 8 - d->head_len;
			if (take > len)
				take = len;
			memcpy(d->head + d->head_len, buf, take);
			d->head_len += take;
			buf += take;
			len -= take;
			if (d->head_len < 8)
				return 0;
			d->head_len = 0;
			/* Stream 2 is stderr; 0 (stdin) and 1 go to stdout, as docker's stdcopy does. */
			d->out_fd = d->head[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;
			d->left = (size_t)d->head[4] << 24 | (size_t)d->head[5] << 16 | (size_t)d->head[6] << 8 |
				  (size_t)d->head[7];
			continue;
		}
		size_t take = d->left < len ? d->left : len;
		if (b_write_all(d->out_fd, buf, take) < 0)
			return -1;
		d->left -= take;
		buf += take;
		len -= take;
	}
	return 0;
}

/* ---------- signals, through a pipe so the poll loop sees them ---------- */

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(sig_pipe[1], &b, 1) < 0) {
		/* A full pipe drops the signal: there are plenty queued already. */
	}
	errno = saved;
}

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
static const int tty_fatal[] = {SIGTERM, SIGHUP, SIGQUIT};

static void catch_signal(int sig)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(sig, &sa, NULL);
}

static void release(int sig)
{
	signal(sig, SIG_DFL);
}

static void proxy_signal(struct cli *c, const char *container, int sig)
{
	struct cli_buf path = {0};
	char *id = cli_escape(container);
	char num[16];
	snprintf(num, sizeof num, "%d", sig);
	cli_buf_add(&path, "/containers/%s/kill", id);
	cli_buf_query(&path, "signal", num);
	struct cli_resp r;
	berr e = {0};
	if (cli_http(c, "POST", path.s, NULL, &r, &e) == 0)
		cli_resp_free(&r);
	berr_clear(&e);
	free(id);
	cli_buf_free(&path);
}

/* A signal while attached: proxy it, follow the window, or end (terminal restored) for fatal ones. */
static void handle_signal(const struct cli_pump_opts *o, int sig)
{
	if (sig == SIGWINCH) {
		cli_term_resize(o->cli, o->exec_id ? "exec" : "containers", o->exec_id ? o->exec_id : o->container);
		return;
	}
	if (o->sig_proxy) {
		proxy_signal(o->cli, o->container, sig);
		return;
	}
	cli_term_restore();
	release(sig);
	raise(sig);
}

int cli_pump_signals(const struct cli_pump_opts *o, bool on, berr *e)
{
	if (on && sig_pipe[0] < 0 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return berr_sys(e, "creating a pipe");
	void (*set)(int) = on ? catch_signal : release;
	if (o->tty)
		set(SIGWINCH);
	if (o->sig_proxy)
		for (size_t i = 0; i < sizeof proxied / sizeof *proxied; i++)
			set(proxied[i]);
	else if (o->tty)
		for (size_t i = 0; i < sizeof tty_fatal / sizeof *tty_fatal; i++)
			set(tty_fatal[i]);
	return 0;
}

int cli_pump(struct cli_conn *cn, const struct cli_pump_opts *o, berr *e)
{
	struct cli_demux dm = {0};
	if (cn->extra_len) {
		int r = o->tty ? b_write_all(STDOUT_FILENO, cn->extra, cn->extra_len)
			       : cli_demux_feed(&dm, cn->extra, cn->extra_len);
		if (r < 0)
			return berr_sys(e, "writing the output");
	}
	if (cli_pump_signals(o, true, e) < 0)
		return -1;
	bool stdin_open = o->send_stdin;
	/* Docker's CLI looks for the detach keys itself, on a terminal only; a bad --detach-keys
	 * falls back to the default here, and the daemon refuses it with its own words. */
	struct b_detach_keys keys = {0};
	if (o->tty && o->send_stdin && (!o->detach_keys || b_detach_keys_parse(o->detach_keys, &keys, NULL) < 0))
		b_detach_keys_parse(B_DETACH_KEYS_DEFAULT, &keys, NULL);
	int result = 0;
	char buf[65536], passed[sizeof buf + B_DETACH_KEYS_MAX];
	for (;;) {
		struct pollfd p[3] = {{.fd = cn->fd, .events = POLLIN},
				      {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
				      {.fd = sig_pipe[0], .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			result = berr_sys(e, "waiting on the container's streams");
			break;
		}
		if (p[2].revents & POLLIN) {
			unsigned char sigs[32];
			ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);
			for (ssize_t i = 0; i < n; i++)
				handle_signal(o, sigs[i]);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(cn->fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* the container's output ended */
			int r =
			    o->tty ? b_write_all(STDOUT_FILENO, buf, (size_t)n) : cli_demux_feed(&dm, buf, (size_t)n);
			if (r < 0) {
				result = berr_sys(e, "writing the output");
				break;
			}
		}
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* Our input ended: the container's stdin ends too, its output may go on. */
				stdin_open = false;
				shutdown(cn->fd, SHUT_WR);
				continue;
			}
			size_t len = (size_t)n;
			const char *send = buf;
			bool detach = false;
			if (keys.len) {
				detach = b_detach_keys_filter(&keys, buf, len, passed, &len);
				send = passed;
			}
			if (b_write_all(cn->fd, send, len) < 0) {
				stdin_open = false;
				continue;
			}
			if (detach) {
				result = 1;
				break;
			}
		}
	}
	cli_pump_signals(o, false, NULL);
	return result;
}
