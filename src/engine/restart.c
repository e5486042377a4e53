/* Restart policies: Docker's decision at each exit, its back-off, and the timer that ends the wait. */
#include "engine/restart.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine_internal.h"
#include "lib/json.h"
#include "lib/timefmt.h"

enum {
	BACKOFF_FIRST_MS = 100,
	BACKOFF_MAX_MS = 60 * 1000,
	BACKOFF_RESET_AFTER_S = 10, /* a run this long starts the back-off over */
};

static const char *policy_name(json_t *host_config)
{
	const char *n = json_string_value(json_object_get(json_object_get(host_config, "RestartPolicy"), "Name"));
	return n ? n : "";
}

static long long policy_max_retries(json_t *host_config)
{
	return json_integer_value(json_object_get(json_object_get(host_config, "RestartPolicy"), "MaximumRetryCount"));
}

static bool policy_is_none(const char *name)
{
	return !*name || strcmp(name, "no") == 0;
}

int eng_restart_policy_check(json_t *host_config, berr *e)
{
	json_t *rp = json_object_get(host_config, "RestartPolicy");
	if (!rp || json_is_null(rp))
		return 0;
	if (!json_is_object(rp))
		return berr_invalid(e, "HostConfig.RestartPolicy: expected an object, got %s", b_json_type_name(rp));
	json_t *jname = json_object_get(rp, "Name"), *jmax = json_object_get(rp, "MaximumRetryCount");
	if (jname && !json_is_null(jname) && !json_is_string(jname))
		return berr_invalid(e, "HostConfig.RestartPolicy.Name: expected a string, got %s",
				    b_json_type_name(jname));
	if (jmax && !json_is_null(jmax) && !json_is_integer(jmax))
		return berr_invalid(e, "HostConfig.RestartPolicy.MaximumRetryCount: expected an integer, got %s",
				    b_json_type_name(jmax));
	const char *name = policy_name(host_config);
	long long max = json_integer_value(jmax);
	if (json_is_true(json_object_get(host_config, "AutoRemove")) && !policy_is_none(name))
		return berr_invalid(e, "can't create 'AutoRemove' container with restart policy");
	if (strcmp(name, "always") == 0 || strcmp(name, "unless-stopped") == 0 || strcmp(name, "no") == 0) {
		if (max != 0)
			return berr_invalid(
			    e, "invalid restart policy: maximum retry count can only be used with 'on-failure'%s",
			    max < 0 ? " and cannot be negative" : "");
		return 0;
	}
	if (strcmp(name, "on-failure") == 0) {
		if (max < 0)
			return berr_invalid(e, "invalid restart policy: maximum retry count cannot be negative");
		return 0;
	}
	if (!*name)
		return 0; /* what clients before Docker 25 send for "no" */
	return berr_invalid(e,
			    "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or "
			    "'unless-stopped'",
			    name);
}

bool ctr_restarting(const struct ctr *c)
{
	return strcmp(ctr_status(c), "restarting") == 0;
}

static bool manually_stopped(const struct ctr *c)
{
	return json_is_true(json_object_get(c->doc, "BerthManuallyStopped"));
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

/* Arm the timer for the earliest pending restart, or disarm it. */
static void rearm(struct eng *eng)
{
	if (eng->restart_tfd < 0)
		return;
	struct itimerspec its = {0};
	bool any = false;
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (!c->restart_pending)
			continue;
		if (!any || before(&c->restart_at, &its.it_value))
			its.it_value = c->restart_at;
		any = true;
	}
	/* A zero it_value disarms; a due time already past fires at once. */
	if (any && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(eng->restart_tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void set_restarting(struct ctr *c, bool restarting)
{
	json_t *st = json_object_get(c->doc, "State");
	json_object_set_new(st, "Status", json_string(restarting ? "restarting" : "exited"));
	json_object_set_new(st, "Restarting", json_boolean(restarting));
}

static void save_or_log(struct eng *eng, struct ctr *c)
{
	berr e = {0};
	if (ctr_save(eng, c, &e) < 0) {
		fprintf(stderr, "berthd: container %s: %s\n", c->id, berr_msg(&e));
		berr_clear(&e);
	}
}

static void schedule(struct eng *eng, struct ctr *c, unsigned delay_ms)
{
	clock_gettime(CLOCK_MONOTONIC, &c->restart_at);
	c->restart_at.tv_sec += delay_ms / 1000;
	c->restart_at.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
	if (c->restart_at.tv_nsec >= 1000000000L) {
		c->restart_at.tv_sec++;
		c->restart_at.tv_nsec -= 1000000000L;
	}
	c->restart_pending = true;
	set_restarting(c, true);
	save_or_log(eng, c);
	rearm(eng);
}

/* How long the last run lasted, in seconds (0 when the times are not there). */
static double run_seconds(const struct ctr *c)
{
	json_t *st = json_object_get(c->doc, "State");
	struct timespec started, finished;
	if (!b_time_parse(json_string_value(json_object_get(st, "StartedAt")) ?: "", &started) ||
	    !b_time_parse(json_string_value(json_object_get(st, "FinishedAt")) ?: "", &finished))
		return 0;
	return (double)(finished.tv_sec - started.tv_sec) + (finished.tv_nsec - started.tv_nsec) / 1e9;
}

static int exit_code(const struct ctr *c)
{
	return (int)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "ExitCode"));
}

static long long restart_count(const struct ctr *c)
{
	return json_integer_value(json_object_get(c->doc, "RestartCount"));
}

/* Docker's decision (restartmanager's ShouldRestart) for a container that ended with code. */
static bool policy_says_restart(const struct ctr *c, bool manual)
{
	json_t *hc = json_object_get(c->doc, "HostConfig");
	const char *name = policy_name(hc);
	if (strcmp(name, "always") == 0)
		return true;
	if (strcmp(name, "unless-stopped") == 0)
		return !manual;
	if (strcmp(name, "on-failure") == 0) {
		long long max = policy_max_retries(hc);
		return (max == 0 || restart_count(c) < max) && exit_code(c) != 0;
	}
	return false;
}

bool ctr_restart_after_exit(struct eng *eng, struct ctr *c)
{
	if (c->removing || c->removed || eng->shutting_down)
		return false;
	if (policy_is_none(policy_name(json_object_get(c->doc, "HostConfig"))) || c->restart_canceled)
		return false;
	if (run_seconds(c) >= BACKOFF_RESET_AFTER_S)
		c->restart_delay_ms = 0;
	if (c->restart_delay_ms == 0)
		c->restart_delay_ms = BACKOFF_FIRST_MS;
	else if (c->restart_delay_ms < BACKOFF_MAX_MS)
		c->restart_delay_ms *= 2;
	if (c->restart_delay_ms > BACKOFF_MAX_MS)
		c->restart_delay_ms = BACKOFF_MAX_MS;
	if (!policy_says_restart(c, manually_stopped(c)))
		return false;
	json_object_set_new(c->doc, "RestartCount", json_integer(restart_count(c) + 1));
	c->restart_fresh = false;
	schedule(eng, c, c->restart_delay_ms);
	return true;
}

void ctr_restart_manual_stop(struct eng *eng, struct ctr *c, bool cancel)
{
	if (cancel)
		c->restart_canceled = true;
	if (manually_stopped(c))
		return;
	/* Saved at once: an unless-stopped container must stay down even if the daemon dies now. */
	json_object_set_new(c->doc, "BerthManuallyStopped", json_true());
	save_or_log(eng, c);
}

bool ctr_restart_cancel(struct eng *eng, struct ctr *c, bool manual)
{
	if (!c->restart_pending)
		return false;
	c->restart_pending = false;
	set_restarting(c, false);
	if (manual) {
		c->restart_canceled = true;
		json_object_set_new(c->doc, "BerthManuallyStopped", json_true());
	}
	save_or_log(eng, c);
	rearm(eng);
	pthread_cond_broadcast(&eng->changed);
	return true;
}

void ctr_restart_reset(struct ctr *c)
{
	json_object_set_new(c->doc, "RestartCount", json_integer(0));
	json_object_del(c->doc, "BerthManuallyStopped");
	c->restart_delay_ms = 0;
	c->restart_canceled = false;
	c->restart_pending = false;
	c->restart_fresh = false;
}

int eng_restart_timer_open(struct eng *eng, berr *e)
{
	eng->restart_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = eng->restart_tfd};
	if (eng->restart_tfd < 0 || epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->restart_tfd, &ev) < 0)
		return berr_sys(e, "setting up the restart timer");
	return 0;
}

void eng_restart_due(struct eng *eng)
{
	uint64_t expirations;
	if (read(eng->restart_tfd, &expirations, sizeof expirations) < 0) {
		/* EAGAIN: a re-arm raced the wake-up; the list below is the truth either way */
	}
	pthread_mutex_lock(&eng->lock);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		if (!c->restart_pending || !before(&c->restart_at, &now) || c->removing)
			continue;
		c->restart_pending = false;
		set_restarting(c, false);
		if (c->restart_fresh)
			ctr_restart_reset(c); /* a start at daemon start is a start like docker start's */
		berr e = {0};
		if (ctr_start_locked(eng, c, &e) < 0) {
			/* Docker gives up then: the container stays exited, State.Error says why. */
			fprintf(stderr, "berthd: restarting %s: %s\n", c->id, berr_msg(&e));
			berr_clear(&e);
			save_or_log(eng, c);
			pthread_cond_broadcast(&eng->changed);
		}
	}
	rearm(eng);
	pthread_mutex_unlock(&eng->lock);
}

void eng_restart_on_daemon_start(struct eng *eng)
{
	pthread_mutex_lock(&eng->lock);
	for (struct ctr *c = eng->ctrs; c; c = c->next) {
		bool was_restarting = ctr_restarting(c);
		if (was_restarting)
			set_restarting(c, false); /* its wait ended with the daemon that counted it */
		const char *started = json_string_value(json_object_get(json_object_get(c->doc, "State"), "StartedAt"));
		bool started_before = started && strcmp(started, ENG_TIME_ZERO) != 0;
		if (strcmp(ctr_status(c), "exited") == 0 && started_before &&
		    policy_says_restart(c, manually_stopped(c))) {
			c->restart_fresh = true;
			schedule(eng, c, 0);
		} else if (was_restarting) {
			save_or_log(eng, c);
		}
	}
	pthread_mutex_unlock(&eng->lock);
}
