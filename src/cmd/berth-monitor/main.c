/*
 * berth-monitor: the process that berthd puts between itself and each container (engine/monitor.h).
 * A binary of its own, static and small, so that a container costs little memory and starts
 * quickly; berthd executes every monitor from one sealed in-memory copy of it, whose pages they
 * share.
 */
#include "engine/monitor.h"

int main(int argc, char **argv)
{
	return eng_monitor_main(argc, argv);
}
