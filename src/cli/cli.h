/* berth, the command line: docker's verbs and flags as Docker Engine API requests to berthd. */
#pragma once

/* Run the command line; returns the process's exit status (docker's: 125 CLI, 126/127, the container's). */
int cli_main(int argc, char **argv);
