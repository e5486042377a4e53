/* berth login and logout: credentials checked by berthd (POST /auth), kept in config.json. */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_internal.h"
#include "lib/cleanup.h"

/* One line from stdin without its newline; echo off for a password on a terminal. */
static char *read_line(const char *prompt, bool secret)
{
	struct termios old, quiet;
	bool restore = false;
	if (prompt) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

int cli_verb_login(struct cli *c, struct cli_args *a)
{
	const char *server = a->npos ? a->pos[0] : NULL;
	_cleanup_free_ char *key = cli_registry_key(server), *user = NULL, *password = NULL;
	if (!key)
		return CLI_EXIT_FAIL;
	const char *flag_user = cli_arg_str(a, "username"), *flag_password = cli_arg_str(a, "password");
	bool from_stdin = cli_arg_bool(a, "password-stdin");
	if (from_stdin && flag_password) {
		fprintf(stderr, "--password and --password-stdin are mutually exclusive\n");
		return CLI_EXIT_FAIL;
	}
	if (from_stdin && !flag_user) {
		fprintf(stderr, "Must provide --username with --password-stdin\n");
		return CLI_EXIT_FAIL;
	}
	if (flag_password)
		fprintf(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
	berr e = {0};
	if (!flag_user && !flag_password && !from_stdin && cli_creds_get(key, &user, &password, &e) > 0)
		fprintf(stderr, "Authenticating with existing credentials...\n");
	berr_clear(&e);
	if (!user) {
		if (flag_user) {
			user = strdup(flag_user);
		} else if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
			return CLI_EXIT_FAIL;
		} else {
			user = read_line("Username: ", false);
		}
		if (from_stdin) {
			password = read_line(NULL, false);
		} else if (flag_password) {
			password = strdup(flag_password);
		} else if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "Error: Cannot perform an interactive login from a non TTY device\n");
			return CLI_EXIT_FAIL;
		} else {
			password = read_line("Password: ", true);
		}
	}
	if (!user || !*user) {
		fprintf(stderr, "Error: Non-null Username Required\n");
		return CLI_EXIT_FAIL;
	}
	if (!password || !*password) {
		fprintf(stderr, "Error: Password Required\n");
		return CLI_EXIT_FAIL;
	}
	json_t *body = json_pack("{s:s, s:s, s:s}", "username", user, "password", password, "serveraddress", key);
	struct cli_resp r;
	int rc = body ? cli_http(c, "POST", "/auth", body, &r, &e) : -1;
	json_decref(body);
	if (rc < 0) {
		cli_print_connect_error(c, "", &e);
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	if (r.status != 200) {
		cli_print_daemon_error("", &r);
		cli_resp_free(&r);
		return CLI_EXIT_FAIL;
	}
	cli_resp_free(&r);
	if (cli_creds_store(key, user, password, &e) < 0) {
		fprintf(stderr, "Error saving credentials: %s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	_cleanup_free_ char *path = cli_config_path();
	fprintf(stderr, "WARNING! Your credentials are stored unencrypted in '%s'.\n", path ? path : "config.json");
	printf("Login Succeeded\n");
	return 0;
}

int cli_verb_logout(struct cli *c, struct cli_args *a)
{
	_cleanup_free_ char *key = cli_registry_key(a->npos ? a->pos[0] : NULL);
	if (!key)
		return CLI_EXIT_FAIL;
	berr e = {0};
	int r = cli_creds_erase(key, &e);
	if (r < 0) {
		fprintf(stderr, "%s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_FAIL;
	}
	printf(r ? "Removing login credentials for %s\n" : "Not logged in to %s\n", key);
	return 0;
}
