/*
 * Restart policies (HostConfig.RestartPolicy: no, on-failure[:N], always, unless-stopped) with
 * Docker's rules: a container that exits on its own comes back after a back-off (100 ms, doubling
 * up to a minute, back to 100 ms once it ran 10 s), one that was stopped or killed through the API
 * does not; at daemon start `always` ones come back, `unless-stopped` ones unless stopped by hand.
 * While it waits the container is "restarting" (State.Restarting); the reaper's timerfd ends the wait.
 * Everything but eng_restart_policy_check and eng_restart_due runs under the engine's lock.
 */
#pragma once
#include <stdbool.h>

#include <jansson.h>

#include "lib/err.h"

struct eng;
struct ctr;

/* A create request's RestartPolicy (and AutoRemove with it) checked with Docker's words: EINVAL. */
int eng_restart_policy_check(json_t *host_config, berr *e);

/* The engine's restart timer (a timerfd on the reaper's epoll); eng->restart_tfd, -1 on failure. */
int eng_restart_timer_open(struct eng *eng, berr *e);
/* The timer fired: start the containers whose back-off is over (takes the lock). */
void eng_restart_due(struct eng *eng);
/* At daemon start: schedule the containers Docker brings back then (always, unless-stopped ...). */
void eng_restart_on_daemon_start(struct eng *eng);

/* After c exited on its own (its state saved as exited): schedule what its policy asks; true if so. */
bool ctr_restart_after_exit(struct eng *eng, struct ctr *c);
/*
 * A stop or kill through the API: Docker's "manually stopped" flag (unless-stopped stays down, also
 * across a daemon restart); cancel: the policy gives up on this run too (the stop signal or SIGKILL).
 */
void ctr_restart_manual_stop(struct eng *eng, struct ctr *c, bool cancel);
/* Cancel a pending restart: c is exited (and manually stopped when manual). true if one was pending. */
bool ctr_restart_cancel(struct eng *eng, struct ctr *c, bool manual);
/* docker start / restart: a fresh policy (RestartCount 0, no manual stop, the back-off from 100 ms). */
void ctr_restart_reset(struct ctr *c);
/* Waiting to be restarted ("restarting"). */
bool ctr_restarting(const struct ctr *c);
