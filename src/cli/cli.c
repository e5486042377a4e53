/* berth's command line: global flags, the verb table, dispatch, exit statuses. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"

#define ALIASES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct cli_flag start_flags[] = {
    {"attach", 'a', CLI_BOOL, NULL, "Attach STDOUT/STDERR and forward signals", NULL},
    {"detach-keys", 0, CLI_STRING, "string", "Override the key sequence for detaching a container", NULL},
    {"interactive", 'i', CLI_BOOL, NULL, "Attach container's STDIN", NULL},
    {0},
};
static const struct cli_flag attach_flags[] = {
    {"detach-keys", 0, CLI_STRING, "string", "Override the key sequence for detaching a container", NULL},
    {"no-stdin", 0, CLI_BOOL, NULL, "Do not attach STDIN", NULL},
    {"sig-proxy", 0, CLI_BOOL, NULL, "Proxy all received signals to the process", "true"},
    {0},
};
static const struct cli_flag stop_flags[] = {
    {"signal", 's', CLI_STRING, "string", "Signal to send to the container", NULL},
    {"time", 't', CLI_INT, "int", "Seconds to wait before killing the container", NULL},
    {0},
};
static const struct cli_flag kill_flags[] = {
    {"signal", 's', CLI_STRING, "string", "Signal to send to the container", NULL},
    {0},
};
static const struct cli_flag rm_flags[] = {
    {"force", 'f', CLI_BOOL, NULL, "Force the removal of a running container (uses SIGKILL)", NULL},
    {"link", 'l', CLI_BOOL, NULL, "Remove the specified link", NULL},
    {"volumes", 'v', CLI_BOOL, NULL, "Remove anonymous volumes associated with the container", NULL},
    {0},
};
static const struct cli_flag ps_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Show all containers (default shows just running)", NULL},
    {"filter", 'f', CLI_LIST, "filter", "Filter output based on conditions provided", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"last", 'n', CLI_INT, "int", "Show n last created containers (includes all states)", NULL},
    {"latest", 'l', CLI_BOOL, NULL, "Show the latest created container (includes all states)", NULL},
    {"no-trunc", 0, CLI_BOOL, NULL, "Don't truncate output", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Only display container IDs", NULL},
    {"size", 's', CLI_BOOL, NULL, "Display total file sizes", NULL},
    {0},
};
static const struct cli_flag logs_flags[] = {
    {"details", 0, CLI_BOOL, NULL, "Show extra details provided to logs", NULL},
    {"follow", 'f', CLI_BOOL, NULL, "Follow log output", NULL},
    {"since", 0, CLI_STRING, "string", "Show logs since timestamp or relative (e.g. 42m for 42 minutes)", NULL},
    {"tail", 'n', CLI_STRING, "string", "Number of lines to show from the end of the logs", "all"},
    {"timestamps", 't', CLI_BOOL, NULL, "Show timestamps", NULL},
    {"until", 0, CLI_STRING, "string", "Show logs before a timestamp or relative (e.g. 42m for 42 minutes)", NULL},
    {0},
};
static const struct cli_flag inspect_flags[] = {
    {"format", 'f', CLI_STRING, "string", "Format output using a custom template", NULL},
    {"size", 's', CLI_BOOL, NULL, "Display total file sizes if the type is container", NULL},
    {"type", 0, CLI_STRING, "string", "Return JSON for specified type", NULL},
    {0},
};
static const struct cli_flag images_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Show all images (default hides intermediate images)", NULL},
    {"digests", 0, CLI_BOOL, NULL, "Show digests", NULL},
    {"filter", 'f', CLI_LIST, "filter", "Filter output based on conditions provided", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"no-trunc", 0, CLI_BOOL, NULL, "Don't truncate output", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Only show image IDs", NULL},
    {0},
};
static const struct cli_flag load_flags[] = {
    {"input", 'i', CLI_STRING, "string", "Read from tar archive file, instead of STDIN", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Suppress the load output", NULL},
    {0},
};
static const struct cli_flag save_flags[] = {
    {"output", 'o', CLI_STRING, "string", "Write to a file, instead of STDOUT", NULL},
    {0},
};
static const struct cli_flag rmi_flags[] = {
    {"force", 'f', CLI_BOOL, NULL, "Force removal of the image", NULL},
    {"no-prune", 0, CLI_BOOL, NULL, "Do not delete untagged parents", NULL},
    {0},
};
static const struct cli_flag format_flags[] = {
    {"format", 'f', CLI_STRING, "string", "Format output using a custom template", NULL},
    {0},
};
static const struct cli_flag exec_flags[] = {
    {"detach", 'd', CLI_BOOL, NULL, "Detached mode: run command in the background", NULL},
    {"detach-keys", 0, CLI_STRING, "string", "Override the key sequence for detaching a container", NULL},
    {"env", 'e', CLI_LIST, "list", "Set environment variables", NULL},
    {"env-file", 0, CLI_LIST, "list", "Read in a file of environment variables", NULL},
    {"interactive", 'i', CLI_BOOL, NULL, "Keep STDIN open even if not attached", NULL},
    {"privileged", 0, CLI_BOOL, NULL, "Give extended privileges to the command", NULL},
    {"tty", 't', CLI_BOOL, NULL, "Allocate a pseudo-TTY", NULL},
    {"user", 'u', CLI_STRING, "string", "Username or UID (format: \"<name|uid>[:<group|gid>]\")", NULL},
    {"workdir", 'w', CLI_STRING, "string", "Working directory inside the container", NULL},
    {0},
};
static const struct cli_flag commit_flags[] = {
    {"author", 'a', CLI_STRING, "string", "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")", NULL},
    {"change", 'c', CLI_LIST, "list", "Apply Dockerfile instruction to the created image", NULL},
    {"message", 'm', CLI_STRING, "string", "Commit message", NULL},
    {"pause", 'p', CLI_BOOL, NULL, "Pause container during commit", "true"},
    {0},
};
static const struct cli_flag import_flags[] = {
    {"change", 'c', CLI_LIST, "list", "Apply Dockerfile instruction to the created image", NULL},
    {"message", 'm', CLI_STRING, "string", "Set commit message for imported image", NULL},
    {"platform", 0, CLI_STRING, "string", "Set platform if server is multi-platform capable", NULL},
    {0},
};
static const struct cli_flag export_flags[] = {
    {"output", 'o', CLI_STRING, "string", "Write to a file, instead of STDOUT", NULL},
    {0},
};
static const struct cli_flag history_flags[] = {
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"human", 'H', CLI_BOOL, NULL, "Print sizes and dates in human readable format", "true"},
    {"no-trunc", 0, CLI_BOOL, NULL, "Don't truncate output", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Only show image IDs", NULL},
    {0},
};
static const struct cli_flag volume_create_flags[] = {
    {"driver", 'd', CLI_STRING, "string", "Specify volume driver name", "local"},
    {"label", 0, CLI_LIST, "list", "Set metadata for a volume", NULL},
    {"name", 0, CLI_STRING, "string", "Specify volume name", NULL},
    {"opt", 'o', CLI_LIST, "map", "Set driver specific options", NULL},
    {0},
};
static const struct cli_flag volume_ls_flags[] = {
    {"filter", 'f', CLI_LIST, "filter", "Provide filter values (e.g. \"dangling=true\")", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Only display volume names", NULL},
    {0},
};
static const struct cli_flag volume_rm_flags[] = {
    {"force", 'f', CLI_BOOL, NULL, "Force the removal of one or more volumes", NULL},
    {0},
};
static const struct cli_flag volume_prune_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Remove all unused volumes, not just anonymous ones", NULL},
    {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation", NULL},
    {0},
};
static const struct cli_flag pull_flags[] = {
    {"all-tags", 'a', CLI_BOOL, NULL, "Download all tagged images in the repository", NULL},
    {"disable-content-trust", 0, CLI_BOOL, NULL, "Skip image verification", "true"},
    {"platform", 0, CLI_STRING, "string", "Set platform if server is multi-platform capable", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Suppress verbose output", NULL},
    {0},
};
static const struct cli_flag push_flags[] = {
    {"all-tags", 'a', CLI_BOOL, NULL, "Push all tags of an image to the repository", NULL},
    {"disable-content-trust", 0, CLI_BOOL, NULL, "Skip image signing", "true"},
    {"quiet", 'q', CLI_BOOL, NULL, "Suppress verbose output", NULL},
    {0},
};
static const struct cli_flag login_flags[] = {
    {"password", 'p', CLI_STRING, "string", "Password", NULL},
    {"password-stdin", 0, CLI_BOOL, NULL, "Take the password from stdin", NULL},
    {"username", 'u', CLI_STRING, "string", "Username", NULL},
    {0},
};
static const struct cli_flag no_flags[] = {{0}};

#define VERB(var, ...) static const struct cli_verb var = {__VA_ARGS__, false}
VERB(v_attach, "attach", "[OPTIONS] CONTAINER",
     "Attach local standard input, output, and error streams to a running "
     "container",
     attach_flags, 1, 1, true, cli_verb_attach, ALIASES("berth container attach", "berth attach"));
VERB(v_completion, "completion", "bash", "Print a bash completion script for berth", no_flags, 1, 1, true,
     cli_verb_completion, NULL);
VERB(v_create, "create", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container", cli_container_flags, 1, -1,
     false, cli_verb_create, ALIASES("berth container create", "berth create"));
VERB(v_images, "images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images", images_flags, 0, 1, true, cli_verb_images,
     ALIASES("berth image ls", "berth image list", "berth images"));
VERB(v_info, "info", "[OPTIONS]", "Display system-wide information", format_flags, 0, 0, true, cli_verb_info,
     ALIASES("berth system info", "berth info"));
VERB(v_inspect, "inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on containers and images",
     inspect_flags, 1, -1, true, cli_verb_inspect, NULL);
VERB(v_kill, "kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", kill_flags, 1, -1,
     true, cli_verb_kill, ALIASES("berth container kill", "berth kill"));
VERB(v_load, "load", "[OPTIONS]", "Load an image from a tar archive or STDIN", load_flags, 0, 0, true, cli_verb_load,
     ALIASES("berth image load", "berth load"));
VERB(v_logs, "logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container", logs_flags, 1, 1, true, cli_verb_logs,
     ALIASES("berth container logs", "berth logs"));
VERB(v_pause, "pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", no_flags, 1, -1,
     true, cli_verb_pause, ALIASES("berth container pause", "berth pause"));
VERB(v_ps, "ps", "[OPTIONS]", "List containers", ps_flags, 0, 0, true, cli_verb_ps,
     ALIASES("berth container ls", "berth container list", "berth container ps", "berth ps"));
VERB(v_restart, "restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", stop_flags, 1, -1,
     true, cli_verb_restart, ALIASES("berth container restart", "berth restart"));
VERB(v_rm, "rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", rm_flags, 1, -1, true,
     cli_verb_rm, ALIASES("berth container rm", "berth container remove", "berth rm"));
VERB(v_rmi, "rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", rmi_flags, 1, -1, true, cli_verb_rmi,
     ALIASES("berth image rm", "berth image remove", "berth rmi"));
VERB(v_run, "run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
     cli_container_flags, 1, -1, false, cli_verb_run, ALIASES("berth container run", "berth run"));
VERB(v_save, "save", "[OPTIONS] IMAGE [IMAGE...]",
     "Save one or more images to a tar archive (streamed to STDOUT by "
     "default)",
     save_flags, 1, -1, true, cli_verb_save, ALIASES("berth image save", "berth save"));
VERB(v_start, "start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", start_flags, 1, -1,
     true, cli_verb_start, ALIASES("berth container start", "berth start"));
VERB(v_stop, "stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", stop_flags, 1, -1,
     true, cli_verb_stop, ALIASES("berth container stop", "berth stop"));
VERB(v_tag, "tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
     no_flags, 2, 2, true, cli_verb_tag, ALIASES("berth image tag", "berth tag"));
VERB(v_unpause, "unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", no_flags,
     1, -1, true, cli_verb_unpause, ALIASES("berth container unpause", "berth unpause"));
VERB(v_version, "version", "[OPTIONS]", "Show the berth version information", format_flags, 0, 0, true,
     cli_verb_version, NULL);
VERB(v_wait, "wait", "CONTAINER [CONTAINER...]",
     "Block until one or more containers stop, then print their exit "
     "codes",
     no_flags, 1, -1, true, cli_verb_wait, ALIASES("berth container wait", "berth wait"));

/* Verbs berthd does not serve yet: a clear error, never a fake success. */
#define LATER(var, name_, usage_, summary_) VERB(var, name_, usage_, summary_, NULL, 0, -1, false, NULL, NULL)
LATER(l_build, "build", "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile");
VERB(l_commit, "commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes",
     commit_flags, 1, 2, true, cli_verb_commit, ALIASES("berth container commit", "berth commit"));
LATER(l_compose, "compose", "[OPTIONS] COMMAND", "Define and run multi-container applications");
static const struct cli_flag cp_flags[] = {
    {"archive", 'a', CLI_BOOL, NULL, "Archive mode (copy all uid/gid information)", NULL},
    {"follow-link", 'L', CLI_BOOL, NULL, "Always follow symbol link in SRC_PATH", NULL},
    {"quiet", 'q', CLI_BOOL, NULL,
     "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached",
     NULL},
    {0},
};
VERB(l_cp, "cp", "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
     "Copy files/folders between a container and the local filesystem", cp_flags, 2, 2, true, cli_verb_cp,
     ALIASES("berth container cp", "berth cp"));
VERB(v_diff, "diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem", no_flags, 1, 1,
     true, cli_verb_diff, ALIASES("berth container diff", "berth diff"));
static const struct cli_flag events_flags[] = {
    {"filter", 'f', CLI_LIST, "filter", "Filter output based on conditions provided", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"since", 0, CLI_STRING, "string", "Show all events created since timestamp", NULL},
    {"until", 0, CLI_STRING, "string", "Stream events until this timestamp", NULL},
    {0},
};
VERB(l_events, "events", "[OPTIONS]", "Get real time events from the server", events_flags, 0, 0, true, cli_verb_events,
     ALIASES("berth system events", "berth events"));
VERB(v_exec, "exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", exec_flags, 2,
     -1, false, cli_verb_exec, ALIASES("berth container exec", "berth exec"));
VERB(v_export, "export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", export_flags, 1, 1,
     true, cli_verb_export, ALIASES("berth container export", "berth export"));
VERB(v_history, "history", "[OPTIONS] IMAGE", "Show the history of an image", history_flags, 1, 1, true,
     cli_verb_history, ALIASES("berth image history", "berth history"));
VERB(l_import, "import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
     "Import the contents from a tarball to create a filesystem image", import_flags, 1, 2, true, cli_verb_import,
     ALIASES("berth image import", "berth import"));
VERB(l_login, "login", "[OPTIONS] [SERVER]", "Log in to a registry", login_flags, 0, 1, true, cli_verb_login, NULL);
VERB(l_logout, "logout", "[SERVER]", "Log out from a registry", no_flags, 0, 1, true, cli_verb_logout, NULL);
/* `network` is a group as `volume` is. */
static const struct cli_verb l_network = {
    .name = "network", .usage = "COMMAND", .summary = "Manage networks", .max_args = -1, .group = true};
static const struct cli_flag network_create_flags[] = {
    {"driver", 'd', CLI_STRING, "string", "Driver to manage the Network", "bridge"},
    {"gateway", 0, CLI_LIST, "strings", "IPv4 Gateway for the master subnet", NULL},
    {"internal", 0, CLI_BOOL, NULL, "Restrict external access to the network", NULL},
    {"ip-range", 0, CLI_LIST, "strings", "Allocate container ip from a sub-range", NULL},
    {"label", 0, CLI_LIST, "list", "Set metadata on a network", NULL},
    {"subnet", 0, CLI_LIST, "strings", "Subnet in CIDR format that represents a network segment", NULL},
    {0},
};
static const struct cli_flag network_ls_flags[] = {
    {"filter", 'f', CLI_LIST, "filter", "Provide filter values (e.g. \"driver=bridge\")", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"no-trunc", 0, CLI_BOOL, NULL, "Do not truncate the output", NULL},
    {"quiet", 'q', CLI_BOOL, NULL, "Only display network IDs", NULL},
    {0},
};
static const struct cli_flag network_connect_flags[] = {
    {"alias", 0, CLI_LIST, "strings", "Add network-scoped alias for the container", NULL},
    {"ip", 0, CLI_STRING, "string", "IPv4 address (e.g., \"172.30.100.104\")", NULL},
    {0},
};
static const struct cli_flag network_disconnect_flags[] = {
    {"force", 'f', CLI_BOOL, NULL, "Force the container to disconnect from a network", NULL},
    {0},
};
static const struct cli_flag network_prune_flags[] = {
    {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation", NULL},
    {0},
};
VERB(v_network_connect, "network connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
     network_connect_flags, 2, 2, true, cli_verb_network_connect, NULL);
VERB(v_network_create, "network create", "[OPTIONS] NETWORK", "Create a network", network_create_flags, 1, 1, true,
     cli_verb_network_create, NULL);
VERB(v_network_disconnect, "network disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
     network_disconnect_flags, 2, 2, true, cli_verb_network_disconnect, NULL);
VERB(v_network_inspect, "network inspect", "[OPTIONS] NETWORK [NETWORK...]",
     "Display detailed information on one or more networks", format_flags, 1, -1, true, cli_verb_network_inspect, NULL);
VERB(v_network_ls, "network ls", "[OPTIONS]", "List networks", network_ls_flags, 0, 0, true, cli_verb_network_ls,
     ALIASES("berth network ls", "berth network list"));
VERB(v_network_prune, "network prune", "[OPTIONS]", "Remove all unused networks", network_prune_flags, 0, 0, true,
     cli_verb_network_prune, NULL);
VERB(v_network_rm, "network rm", "NETWORK [NETWORK...]", "Remove one or more networks", no_flags, 1, -1, true,
     cli_verb_network_rm, ALIASES("berth network rm", "berth network remove"));
const struct cli_verb *const cli_network_verbs[] = {
    &v_network_connect, &v_network_create, &v_network_disconnect, &v_network_inspect,
    &v_network_ls,      &v_network_prune,  &v_network_rm,         NULL};
VERB(l_port, "port", "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container",
     no_flags, 1, 2, true, cli_verb_port, ALIASES("berth container port", "berth port"));
VERB(l_pull, "pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", pull_flags, 1, 1, true,
     cli_verb_pull, ALIASES("berth image pull", "berth pull"));
VERB(l_push, "push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", push_flags, 1, 1, true, cli_verb_push,
     ALIASES("berth image push", "berth push"));
VERB(v_rename, "rename", "CONTAINER NEW_NAME", "Rename a container", no_flags, 2, 2, true, cli_verb_rename,
     ALIASES("berth container rename", "berth rename"));
LATER(l_search, "search", "[OPTIONS] TERM", "Search a registry for images");
static const struct cli_flag stats_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Show all containers (default shows just running)", NULL},
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"no-stream", 0, CLI_BOOL, NULL, "Disable streaming stats and only pull the first result", NULL},
    {"no-trunc", 0, CLI_BOOL, NULL, "Do not truncate output", NULL},
    {0},
};
VERB(l_stats, "stats", "[OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics",
     stats_flags, 0, -1, true, cli_verb_stats, ALIASES("berth container stats", "berth stats"));
/* `system` is a group as `volume` is: "system df" ... are verbs of their own. */
static const struct cli_verb l_system = {
    .name = "system", .usage = "COMMAND", .summary = "Manage berth", .max_args = -1, .group = true};
static const struct cli_flag system_df_flags[] = {
    {"format", 0, CLI_STRING, "string", "Format output using a custom template", NULL},
    {"verbose", 'v', CLI_BOOL, NULL, "Show detailed information on space usage", NULL},
    {0},
};
static const struct cli_flag system_prune_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Remove all unused images not just dangling ones", NULL},
    {"filter", 0, CLI_LIST, "filter", "Provide filter values (e.g. \"label=<key>=<value>\")", NULL},
    {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation", NULL},
    {"volumes", 0, CLI_BOOL, NULL, "Prune anonymous volumes", NULL},
    {0},
};
VERB(v_system_df, "system df", "[OPTIONS]", "Show berth disk usage", system_df_flags, 0, 0, true, cli_verb_system_df,
     NULL);
VERB(v_system_events, "system events", "[OPTIONS]", "Get real time events from the server", events_flags, 0, 0, true,
     cli_verb_events, ALIASES("berth system events", "berth events"));
VERB(v_system_info, "system info", "[OPTIONS]", "Display system-wide information", format_flags, 0, 0, true,
     cli_verb_info, ALIASES("berth system info", "berth info"));
VERB(v_system_prune, "system prune", "[OPTIONS]", "Remove unused data", system_prune_flags, 0, 0, true,
     cli_verb_system_prune, NULL);
const struct cli_verb *const cli_system_verbs[] = {&v_system_df, &v_system_events, &v_system_info, &v_system_prune,
						   NULL};
VERB(v_top, "top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container", no_flags, 1, -1, false,
     cli_verb_top, ALIASES("berth container top", "berth top"));
static const struct cli_flag update_flags[] = {
    {"blkio-weight", 0, CLI_INT, "uint16",
     "Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)", NULL},
    {"cpu-period", 0, CLI_INT, "int", "Limit CPU CFS (Completely Fair Scheduler) period", NULL},
    {"cpu-quota", 0, CLI_INT, "int", "Limit CPU CFS (Completely Fair Scheduler) quota", NULL},
    {"cpu-shares", 'c', CLI_INT, "int", "CPU shares (relative weight)", NULL},
    {"cpus", 0, CLI_STRING, "decimal", "Number of CPUs", NULL},
    {"cpuset-cpus", 0, CLI_STRING, "string", "CPUs in which to allow execution (0-3, 0,1)", NULL},
    {"cpuset-mems", 0, CLI_STRING, "string", "MEMs in which to allow execution (0-3, 0,1)", NULL},
    {"memory", 'm', CLI_STRING, "bytes", "Memory limit", NULL},
    {"memory-reservation", 0, CLI_STRING, "bytes", "Memory soft limit", NULL},
    {"memory-swap", 0, CLI_STRING, "bytes", "Swap limit equal to memory plus swap: -1 to enable unlimited swap", NULL},
    {"pids-limit", 0, CLI_INT, "int", "Tune container pids limit (set -1 for unlimited)", NULL},
    {"restart", 0, CLI_STRING, "string", "Restart policy to apply when a container exits", NULL},
    {0},
};
VERB(l_update, "update", "[OPTIONS] CONTAINER [CONTAINER...]", "Update configuration of one or more containers",
     update_flags, 1, -1, true, cli_verb_update, ALIASES("berth container update", "berth update"));
/* `volume` is a group: its subcommands are verbs of their own, found as "volume <sub>". */
static const struct cli_verb v_volume = {
    .name = "volume", .usage = "COMMAND", .summary = "Manage volumes", .max_args = -1, .group = true};
VERB(v_volume_create, "volume create", "[OPTIONS] [VOLUME]", "Create a volume", volume_create_flags, 0, 1, true,
     cli_verb_volume_create, NULL);
VERB(v_volume_inspect, "volume inspect", "[OPTIONS] VOLUME [VOLUME...]",
     "Display detailed information on one or "
     "more volumes",
     format_flags, 1, -1, true, cli_verb_volume_inspect, NULL);
VERB(v_volume_ls, "volume ls", "[OPTIONS]", "List volumes", volume_ls_flags, 0, 0, true, cli_verb_volume_ls,
     ALIASES("berth volume ls", "berth volume list"));
VERB(v_volume_prune, "volume prune", "[OPTIONS]", "Remove unused local volumes", volume_prune_flags, 0, 0, true,
     cli_verb_volume_prune, NULL);
VERB(v_volume_rm, "volume rm", "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", volume_rm_flags, 1, -1,
     true, cli_verb_volume_rm, ALIASES("berth volume rm", "berth volume remove"));
const struct cli_verb *const cli_volume_verbs[] = {&v_volume_create, &v_volume_inspect, &v_volume_ls,
						   &v_volume_prune,  &v_volume_rm,      NULL};

/* `container prune` and `image prune`: only in their management forms, as docker has them. */
static const struct cli_flag container_prune_flags[] = {
    {"filter", 0, CLI_LIST, "filter", "Provide filter values (e.g. \"until=<timestamp>\")", NULL},
    {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation", NULL},
    {0},
};
static const struct cli_flag image_prune_flags[] = {
    {"all", 'a', CLI_BOOL, NULL, "Remove all unused images, not just dangling ones", NULL},
    {"filter", 0, CLI_LIST, "filter", "Provide filter values (e.g. \"until=<timestamp>\")", NULL},
    {"force", 'f', CLI_BOOL, NULL, "Do not prompt for confirmation", NULL},
    {0},
};
VERB(v_container_prune, "container prune", "[OPTIONS]", "Remove all stopped containers", container_prune_flags, 0, 0,
     true, cli_verb_container_prune, NULL);
VERB(v_image_prune, "image prune", "[OPTIONS]", "Remove unused images", image_prune_flags, 0, 0, true,
     cli_verb_image_prune, NULL);
static const struct cli_verb *const management_only_verbs[] = {&v_container_prune, &v_image_prune, NULL};

const struct cli_verb *const cli_verbs[] = {
    &v_attach,  &l_build,  &l_commit,  &v_completion, &l_compose, &l_cp,      &v_create, &v_diff,
    &l_events,  &v_exec,   &v_export,  &v_history,    &v_images,  &l_import,  &v_info,   &v_inspect,
    &v_kill,    &v_load,   &l_login,   &l_logout,     &v_logs,    &l_network, &v_pause,  &l_port,
    &v_ps,      &l_pull,   &l_push,    &v_rename,     &v_restart, &v_rm,      &v_rmi,    &v_run,
    &v_save,    &l_search, &v_start,   &l_stats,      &v_stop,    &l_system,  &v_tag,    &v_top,
    &v_unpause, &l_update, &v_version, &v_volume,     &v_wait,    NULL,
};

const struct cli_verb *cli_verb_find(const char *name)
{
	for (size_t i = 0; cli_verbs[i]; i++)
		if (strcmp(cli_verbs[i]->name, name) == 0)
			return cli_verbs[i];
	for (size_t i = 0; management_only_verbs[i]; i++)
		if (strcmp(management_only_verbs[i]->name, name) == 0)
			return management_only_verbs[i];
	return NULL;
}

/* `berth container ls`, `berth image rm` ...: the management forms of the verbs. */
static const char *management_verb(const char *group, const char *sub)
{
	static const char *const map[][3] = {
	    {"container", "ls", "ps"},
	    {"container", "list", "ps"},
	    {"container", "ps", "ps"},
	    {"container", "remove", "rm"},
	    {"container", "inspect", "inspect"},
	    {"image", "ls", "images"},
	    {"image", "list", "images"},
	    {"image", "rm", "rmi"},
	    {"image", "remove", "rmi"},
	    {"image", "inspect", "inspect"},
	    {"image", "load", "load"},
	    {"image", "save", "save"},
	    {"image", "tag", "tag"},
	    {"image", "pull", "pull"},
	    {"image", "push", "push"},
	    {"container", "prune", "container prune"},
	    {"image", "prune", "image prune"},
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(map[i][0], group) == 0 && strcmp(map[i][1], sub) == 0)
			return map[i][2];
	if (strcmp(group, "container") == 0) {
		const struct cli_verb *v = cli_verb_find(sub);
		if (v && v->aliases)
			for (size_t i = 0; v->aliases[i]; i++)
				if (strncmp(v->aliases[i], "berth container ", 16) == 0)
					return sub;
	}
	return NULL;
}

static int run_verb(struct cli *c, const struct cli_verb *verb, int argc, char **argv)
{
	if (!verb->run) {
		for (int i = 0; i < argc; i++)
			if (strcmp(argv[i], "--help") == 0) {
				cli_help_verb(stdout, verb);
				return 0;
			}
		fprintf(stderr, "berth: 'berth %s' is not supported yet: berthd does not serve it.\n", verb->name);
		fprintf(stderr, "See 'berth --help'.\n");
		return CLI_EXIT_ENGINE;
	}
	struct cli_args a;
	int r = cli_args_parse(verb, argc, argv, &a);
	int status;
	if (r < 0)
		status = CLI_EXIT_ENGINE;
	else if (r > 0)
		status = 0;
	else {
		/* Only the default socket: a host the user named is never ours to start a daemon on. */
		if (c->default_host && verb != &v_completion && verb != &l_logout)
			cli_daemon_ensure(c);
		status = verb->run(c, &a);
	}
	cli_args_free(&a);
	return status;
}

int cli_main(int argc, char **argv)
{
	const char *host = NULL;
	int k = 1;
	/* Global flags come before the verb. */
	for (; k < argc && argv[k][0] == '-'; k++) {
		const char *arg = argv[k];
		if (strcmp(arg, "--") == 0) {
			k++;
			break;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_help_main(stdout);
			return 0;
		}
		if (strcmp(arg, "-v") == 0 || strcmp(arg, "--version") == 0) {
			printf("berth version %s\n", CLI_VERSION);
			return 0;
		}
		if (strcmp(arg, "-H") == 0 || strcmp(arg, "--host") == 0) {
			if (k + 1 >= argc) {
				fprintf(stderr, "flag needs an argument: %s\nSee 'berth --help'.\n", arg);
				return CLI_EXIT_ENGINE;
			}
			host = argv[++k];
		} else if (strncmp(arg, "--host=", 7) == 0) {
			host = arg + 7;
		} else if (strncmp(arg, "-H", 2) == 0) {
			host = arg + 2;
		} else if (strcmp(arg, "-D") == 0 || strcmp(arg, "--debug") == 0) {
			/* accepted: the client has nothing more to say */
		} else if (strcmp(arg, "-l") == 0 || strcmp(arg, "--log-level") == 0) {
			k++;
		} else if (strncmp(arg, "--log-level=", 12) == 0) {
		} else {
			fprintf(stderr, "unknown flag: %s\nSee 'berth --help'.\n", arg);
			return CLI_EXIT_ENGINE;
		}
	}
	if (k >= argc) {
		cli_help_main(stdout);
		return 0;
	}
	const char *name = argv[k];
	if (strcmp(name, "container") == 0 || strcmp(name, "image") == 0) {
		const char *sub = k + 1 < argc ? argv[k + 1] : NULL;
		const char *mapped = sub ? management_verb(name, sub) : NULL;
		if (!mapped) {
			if (!sub || strcmp(sub, "--help") == 0) {
				printf("\nUsage:  berth %s COMMAND\n\nRun 'berth %s COMMAND --help' for more "
				       "information on a "
				       "command.\n",
				       name, name);
				return 0;
			}
			fprintf(stderr, "berth: '%s' is not a berth %s command.\nSee 'berth %s --help'.\n", sub, name,
				name);
			return CLI_EXIT_ENGINE;
		}
		name = mapped;
		k++;
	}
	const struct cli_verb *verb = cli_verb_find(name);
	if (verb && verb->group) {
		const struct cli_verb *group = verb;
		const struct cli_verb *const *subs = group == &v_volume    ? cli_volume_verbs
						     : group == &l_network ? cli_network_verbs
									   : cli_system_verbs;
		size_t skip = strlen(group->name) + 1;
		const char *sub = k + 1 < argc ? argv[k + 1] : NULL;
		if (sub && strcmp(sub, "list") == 0)
			sub = "ls";
		else if (sub && strcmp(sub, "remove") == 0)
			sub = "rm";
		verb = NULL;
		for (size_t i = 0; sub && subs[i]; i++)
			if (strcmp(subs[i]->name + skip, sub) == 0)
				verb = subs[i];
		if (!verb) {
			if (sub && strcmp(sub, "--help") != 0 && strcmp(sub, "-h") != 0) {
				fprintf(stderr, "berth: '%s' is not a berth %s command.\nSee 'berth %s --help'.\n", sub,
					group->name, group->name);
				return CLI_EXIT_ENGINE;
			}
			printf("\nUsage:  berth %s COMMAND\n\n%s\n\nCommands:\n", group->name, group->summary);
			for (size_t i = 0; subs[i]; i++)
				printf("  %-9s %s\n", subs[i]->name + skip, subs[i]->summary);
			printf("\nRun 'berth %s COMMAND --help' for more information on a command.\n", group->name);
			return 0;
		}
		k++;
	}
	if (!verb) {
		fprintf(stderr, "berth: '%s' is not a berth command.\nSee 'berth --help'.\n", name);
		return CLI_EXIT_ENGINE;
	}
	struct cli c = {0};
	berr e = {0};
	if (cli_host_resolve(&c, host, &e) < 0) {
		fprintf(stderr, "berth: %s\n", berr_msg(&e));
		berr_clear(&e);
		return CLI_EXIT_ENGINE;
	}
	fflush(stdout);
	int status = run_verb(&c, verb, argc - k - 1, argv + k + 1);
	fflush(stdout);
	free(c.host);
	free(c.sock_path);
	return status;
}
