/* Two shapes of GET many verbs share: a JSON document, and a download to -o or stdout. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/fd.h"

json_t *cli_get_json(struct cli *c, const char *path)
{
	struct cli_resp r;
	berr e = {0};
	json_t *doc = NULL;
	if (cli_http(c, "GET", path, NULL, &r, &e) < 0)
		cli_print_connect_error(c, "", &e);
	else if (r.status != 200)
		cli_print_daemon_error("", &r);
	else if (!(doc = cli_resp_json(&r, &e)))
		fprintf(stderr, "%s\n", berr_msg(&e));
	berr_clear(&e);
	cli_resp_free(&r);
	return doc;
}

static int fd_sink(void *arg, const char *buf, size_t len)
{
	return b_write_all(*(int *)arg, buf, len);
}

int cli_download(struct cli *c, const char *path, const char *output, const char *what)
{
	int fd = STDOUT_FILENO;
	if ((!output || !*output) && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
		return CLI_EXIT_FAIL;
	}
	/* Into a temporary file next to the output: a failed download leaves no half archive behind. */
	char *tmp = NULL;
	if (output && *output) {
		struct cli_buf t = {0};
		cli_buf_add(&t, "%s.berth-XXXXXX", output);
		tmp = t.s;
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "failed to %s: invalid output path: %s: %s\n", what, output, strerror(errno));
			free(tmp);
			return CLI_EXIT_FAIL;
		}
		/* mkostemp makes the file 0600: give it the mode a new file would have. */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	/* Writing to a file while on a terminal: how much has come, as it comes. */
	struct cli_progress prog;
	cli_progress_start(&prog, strcmp(what, "save image") == 0 ? "Saving" : "Exporting", 0, stdout);
	prog.on &= tmp != NULL;
	struct cli_stream_req req = {.method = "GET",
				     .path = path,
				     .upload_fd = -1,
				     .sink = fd_sink,
				     .sink_arg = &fd,
				     .progress = cli_progress_add,
				     .progress_arg = &prog};
	struct cli_resp r;
	berr e = {0};
	int rc = cli_http_stream(c, &req, &r, &e);
	cli_progress_end(&prog);
	int status = 0;
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		status = CLI_EXIT_FAIL;
	} else if (r.status >= 300) {
		cli_print_daemon_error("", &r);
		status = CLI_EXIT_FAIL;
	} else if (tmp && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
		fprintf(stderr, "failed to %s: %s: %s\n", what, output, strerror(errno));
		status = CLI_EXIT_FAIL;
	}
	berr_clear(&e);
	cli_resp_free(&r);
	if (tmp) {
		close(fd);
		if (status)
			unlink(tmp);
		free(tmp);
	}
	return status;
}
