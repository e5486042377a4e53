/* Attaching to a container's stdio: connections to its monitor's attach socket, made now or at its start. */
#include "engine/engine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/events.h"
#include "engine/monitor.h"
#include "lib/cleanup.h"
#include "lib/fd.h"

/* Connect to containers/<id>/attach.sock and send the header line. */
static int connect_monitor(struct eng *eng, const char *id, const char *header, berr *e)
{
	_cleanup_free_ char *dir = NULL;
	if (asprintf(&dir, "%s/%s", eng->containers_dir, id) < 0)
		return berr_set(e, ENOMEM, "attaching to %s", id);
	int fd = eng_monitor_connect(dir, header, e);
	return fd < 0 ? berr_wrap(e, "attaching to %s", id) : fd;
}

void ctr_connect_pending(struct eng *eng, struct ctr *c)
{
	for (struct pending_attach *p = c->pending; p; p = p->next) {
		p->fd = connect_monitor(eng, c->id, p->header, &p->err);
		p->done = true;
	}
	c->pending = NULL;
	pthread_cond_broadcast(&eng->changed);
}

void ctr_fail_pending(struct eng *eng, struct ctr *c, const char *why)
{
	for (struct pending_attach *p = c->pending; p; p = p->next) {
		berr_plain(&p->err, EIO, "%s", why);
		p->done = true;
	}
	c->pending = NULL;
	pthread_cond_broadcast(&eng->changed);
}

struct eng_attach {
	struct eng *eng;
	struct ctr *c;           /* a reference, while pending */
	struct pending_attach p; /* on c->pending until the start connects it */
	char *header;
	int fd; /* connected already (the container was running), or -1 */
};

int eng_container_attach_begin(struct eng *eng, const char *name, bool in, bool out, bool err,
			       struct eng_attach **out_a, berr *e)
{
	struct eng_attach *a = calloc(1, sizeof *a);
	if (!a)
		return berr_set(e, ENOMEM, "attaching");
	a->eng = eng;
	a->fd = -1;
	if (asprintf(&a->header, "{\"Stdin\":%s,\"Stdout\":%s,\"Stderr\":%s}\n", in ? "true" : "false",
		     out ? "true" : "false", err ? "true" : "false") < 0) {
		free(a);
		return berr_set(e, ENOMEM, "attaching");
	}
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	if (ctr_find(eng, name, &c, e) < 0) {
		pthread_mutex_unlock(&eng->lock);
		free(a->header);
		free(a);
		return -1;
	}
	ctr_event(eng, c, "attach", NULL);
	if (ctr_running(c)) {
		char id[65];
		memcpy(id, c->id, sizeof id);
		ctr_put(eng, c);
		pthread_mutex_unlock(&eng->lock);
		a->fd = connect_monitor(eng, id, a->header, e);
		if (a->fd < 0) {
			free(a->header);
			free(a);
			return -1;
		}
		*out_a = a;
		return 0;
	}
	/* Not running: registered now, so that a start that comes before finish still connects us. */
	a->c = c;
	a->p = (struct pending_attach){.header = a->header, .fd = -1, .next = c->pending};
	c->pending = &a->p;
	pthread_mutex_unlock(&eng->lock);
	*out_a = a;
	return 0;
}

/* Under the lock: off c's list if the start did not take it. */
static void unlink_pending(struct eng_attach *a)
{
	if (a->p.done)
		return;
	for (struct pending_attach **q = &a->c->pending; *q; q = &(*q)->next)
		if (*q == &a->p) {
			*q = a->p.next;
			break;
		}
}

int eng_container_attach_finish(struct eng_attach *a, int *fd, berr *e)
{
	int r = 0;
	if (!a->c) {
		*fd = a->fd;
	} else {
		struct eng *eng = a->eng;
		pthread_mutex_lock(&eng->lock);
		while (!a->p.done && !a->c->removed && !eng->shutting_down)
			pthread_cond_wait(&eng->changed, &eng->lock);
		if (!a->p.done) {
			unlink_pending(a);
			r = berr_plain(e, ENOENT, "No such container: %s", a->c->id); /* or the daemon is going away */
		} else if (a->p.fd < 0) {
			*e = a->p.err;
			r = -1;
		} else {
			*fd = a->p.fd;
		}
		ctr_put(eng, a->c);
		pthread_mutex_unlock(&eng->lock);
	}
	free(a->header);
	free(a);
	return r;
}

void eng_container_attach_cancel(struct eng_attach *a)
{
	if (!a)
		return;
	if (a->c) {
		pthread_mutex_lock(&a->eng->lock);
		unlink_pending(a);
		if (a->p.done && a->p.fd >= 0)
			close(a->p.fd);
		berr_clear(&a->p.err);
		ctr_put(a->eng, a->c);
		pthread_mutex_unlock(&a->eng->lock);
	} else if (a->fd >= 0) {
		close(a->fd);
	}
	free(a->header);
	free(a);
}

int eng_container_resize(struct eng *eng, const char *name, int height, int width, berr *e)
{
	if (height < 0 || width < 0 || height > 65535 || width > 65535)
		return berr_invalid(e, "invalid terminal size %dx%d", height, width);
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	if (ctr_find(eng, name, &c, e) < 0) {
		pthread_mutex_unlock(&eng->lock);
		return -1;
	}
	bool running = ctr_running(c);
	char id[65];
	memcpy(id, c->id, sizeof id);
	ctr_put(eng, c);
	pthread_mutex_unlock(&eng->lock);
	if (!running)
		return berr_plain(e, EBUSY, "Container %s is not running", id);
	_cleanup_free_ char *header = NULL;
	if (asprintf(&header, "{\"Resize\":[%d,%d]}\n", height, width) < 0)
		return berr_set(e, ENOMEM, "resizing");
	int fd = connect_monitor(eng, id, header, e);
	if (fd < 0)
		return -1;
	close(fd);
	eng_container_event(
	    eng, id, "resize",
	    json_pack("{s:o, s:o}", "height", json_sprintf("%d", height), "width", json_sprintf("%d", width)));
	return 0;
}

bool eng_container_tty(struct eng *eng, const char *name)
{
	pthread_mutex_lock(&eng->lock);
	struct ctr *c;
	berr e = {0};
	bool tty = false;
	if (ctr_find(eng, name, &c, &e) == 0) {
		tty = json_is_true(json_object_get(json_object_get(c->doc, "Config"), "Tty"));
		ctr_put(eng, c);
	}
	berr_clear(&e);
	pthread_mutex_unlock(&eng->lock);
	return tty;
}
