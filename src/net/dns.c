/*
 * The embedded DNS server of user networks: one UDP socket per container, bound to 127.0.0.11:53
 * inside the container's own network namespace (the address Docker's resolv.conf names), all of
 * them served by one thread of the daemon over epoll. A query for a name of the container's
 * networks (A, and PTR for their addresses) is answered from the names the engine set; any other
 * is forwarded from the daemon's own namespace to the upstream servers, on a short-lived thread so
 * that a slow server holds up nobody else. Wire format through libldns.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "net/libldns_lazy.h"

enum { MAX_FORWARDS = 64, TTL = 600, FORWARD_TIMEOUT_MS = 2000 };

struct listener {
	char *owner;
	int fd;
	char **scope; /* the networks whose names it answers */
	size_t n_scope;
	uint32_t *upstream;
	size_t n_upstream;
};

struct record {
	char *network, *owner;
	char **names;
	size_t n_names;
	uint32_t ip;
};

struct net_dns {
	pthread_mutex_t lock; /* guards listeners and records */
	struct listener *listeners;
	size_t n_listeners;
	struct record *records;
	size_t n_records;
	int epfd, stop_fd;
	pthread_t thread;
	bool started;
};

/* Forwarding threads in flight. Not in struct net_dns: a thread may outlive the server it served. */
static atomic_int forwards;

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char **strv_dup(const char *const *v, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof *out);
	for (size_t i = 0; out && i < n; i++) {
		if (!(out[i] = strdup(v[i]))) {
			strv_free(out, i);
			return NULL;
		}
	}
	return out;
}

/* ---------- answering ---------- */

static bool in_scope(const struct listener *l, const char *network)
{
	for (size_t i = 0; i < l->n_scope; i++)
		if (strcmp(l->scope[i], network) == 0)
			return true;
	return false;
}

/* The reply's header and question from the query's. */
static ldns_pkt *reply_for(const ldns_pkt *q, ldns_rr *question, uint8_t rcode)
{
	ldns_pkt *p = ldns_pkt_new();
	if (!p)
		return NULL;
	ldns_pkt_set_id(p, ldns_pkt_id(q));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_opcode(p, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(p, ldns_pkt_rd(q));
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, rcode);
	if (question) {
		ldns_rr *copy = ldns_rr_clone(question);
		if (copy) {
			ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, copy);
			ldns_pkt_set_qdcount(p, 1);
		}
	}
	return p;
}

static void add_answer(ldns_pkt *p, const char *text)
{
	ldns_rr *rr = NULL;
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK)
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
}

static void send_pkt(int fd, const ldns_pkt *p, const struct sockaddr_in *to)
{
	uint8_t *wire = NULL;
	size_t size = 0;
	if (ldns_pkt2wire(&wire, p, &size) == LDNS_STATUS_OK)
		sendto(fd, wire, size, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
	free(wire);
}

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4; false for anything else. */
static bool ptr_address(const char *name, uint32_t *ip)
{
	unsigned a, b, c, d;
	char tail[32];
	if (sscanf(name, "%u.%u.%u.%u.%31s", &d, &c, &b, &a, tail) != 5 || strcasecmp(tail, "in-addr.arpa") != 0 ||
	    a > 255 || b > 255 || c > 255 || d > 255)
		return false;
	*ip = a << 24 | b << 16 | c << 8 | d;
	return true;
}

/*
 * Answer a query of l from the records when the name is one of its networks' (under the lock).
 * false: not ours, to be forwarded.
 */
static bool answer_local(struct net_dns *d, const struct listener *l, const ldns_pkt *q, ldns_rr *question,
			 const char *qname, const struct sockaddr_in *from)
{
	ldns_rr_type type = ldns_rr_get_type(question);
	size_t len = strlen(qname);
	_cleanup_free_ char *bare = strndup(qname, len && qname[len - 1] == '.' ? len - 1 : len);
	if (!bare || ldns_rr_get_class(question) != LDNS_RR_CLASS_IN)
		return false;
	uint32_t ptr_ip;
	if (type == LDNS_RR_TYPE_PTR && ptr_address(bare, &ptr_ip)) {
		for (size_t i = 0; i < d->n_records; i++) {
			const struct record *r = &d->records[i];
			if (r->ip != ptr_ip || !in_scope(l, r->network) || r->n_names == 0)
				continue;
			ldns_pkt *p = reply_for(q, question, LDNS_RCODE_NOERROR);
			_cleanup_free_ char *text = NULL;
			if (p && asprintf(&text, "%s %d IN PTR %s.", qname, TTL, r->names[0]) >= 0)
				add_answer(p, text);
			if (p)
				send_pkt(l->fd, p, from);
			ldns_pkt_free(p);
			return true;
		}
		return false;
	}
	ldns_pkt *p = NULL;
	uint32_t seen[64];
	size_t n_seen = 0;
	for (size_t i = 0; i < d->n_records; i++) {
		const struct record *r = &d->records[i];
		if (!in_scope(l, r->network))
			continue;
		bool match = false;
		for (size_t k = 0; k < r->n_names && !match; k++)
			match = strcasecmp(r->names[k], bare) == 0;
		if (!match)
			continue;
		if (!p && !(p = reply_for(q, question, LDNS_RCODE_NOERROR)))
			return true;
		bool dup = false;
		for (size_t k = 0; k < n_seen; k++)
			dup = dup || seen[k] == r->ip;
		if (dup || n_seen == sizeof seen / sizeof *seen)
			continue;
		seen[n_seen++] = r->ip;
		/* A name of ours answers A; other types get no records rather than an outside answer. */
		if (type == LDNS_RR_TYPE_A) {
			char ip[NET_IP_LEN];
			_cleanup_free_ char *text = NULL;
			net_ip_format(r->ip, ip);
			if (asprintf(&text, "%s %d IN A %s", qname, TTL, ip) >= 0)
				add_answer(p, text);
		}
	}
	if (!p)
		return false;
	send_pkt(l->fd, p, from);
	ldns_pkt_free(p);
	return true;
}

/* ---------- forwarding ---------- */

struct forward {
	int fd; /* a dup of the listener's socket */
	struct sockaddr_in from;
	uint8_t *query;
	size_t len;
	uint32_t *upstream;
	size_t n_upstream;
};

static void forward_free(struct forward *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->query);
	free(f->upstream);
	free(f);
}

/* The query back with SERVFAIL: no server answered. */
static void reply_servfail(int fd, const uint8_t *query, size_t len, const struct sockaddr_in *to)
{
	if (len < 12)
		return;
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, query, len);
	copy[2] |= 0x80;                                 /* QR */
	copy[3] = (uint8_t)(0x80 | LDNS_RCODE_SERVFAIL); /* RA, SERVFAIL */
	sendto(fd, copy, len, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
	free(copy);
}

static void *forward_run(void *arg)
{
	struct forward *f = arg;
	uint8_t buf[65536];
	bool answered = false;
	for (size_t i = 0; i < f->n_upstream && !answered; i++) {
		_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in to = {
		    .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(f->upstream[i])};
		if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0 || send(s, f->query, f->len, 0) < 0)
			continue;
		struct pollfd pfd = {.fd = s, .events = POLLIN};
		while (poll(&pfd, 1, FORWARD_TIMEOUT_MS) == 1) {
			ssize_t got = recv(s, buf, sizeof buf, 0);
			if (got < 0)
				break;
			/* The answer to this query (its ID), not a stray datagram. */
			if (got >= 12 && buf[0] == f->query[0] && buf[1] == f->query[1]) {
				sendto(f->fd, buf, (size_t)got, MSG_DONTWAIT, (struct sockaddr *)&f->from,
				       sizeof f->from);
				answered = true;
				break;
			}
		}
	}
	if (!answered)
		reply_servfail(f->fd, f->query, f->len, &f->from);
	atomic_fetch_sub(&forwards, 1);
	forward_free(f);
	return NULL;
}

/* Forward a query of l (under the lock: l's upstreams are copied). */
static void forward_start(const struct listener *l, const uint8_t *query, size_t len, const struct sockaddr_in *from)
{
	if (l->n_upstream == 0) {
		reply_servfail(l->fd, query, len, from);
		return;
	}
	if (atomic_fetch_add(&forwards, 1) >= MAX_FORWARDS) {
		atomic_fetch_sub(&forwards, 1);
		return; /* the client asks again */
	}
	struct forward *f = calloc(1, sizeof *f);
	if (f) {
		f->from = *from;
		f->len = len;
		f->fd = fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
		f->query = malloc(len);
		f->upstream = calloc(l->n_upstream, sizeof *f->upstream);
		f->n_upstream = l->n_upstream;
	}
	pthread_t t;
	pthread_attr_t attr;
	if (!f || f->fd < 0 || !f->query || !f->upstream || pthread_attr_init(&attr) != 0) {
		atomic_fetch_sub(&forwards, 1);
		if (f)
			forward_free(f);
		return;
	}
	memcpy(f->query, query, len);
	memcpy(f->upstream, l->upstream, l->n_upstream * sizeof *f->upstream);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, forward_run, f) != 0) {
		atomic_fetch_sub(&forwards, 1);
		forward_free(f);
	}
	pthread_attr_destroy(&attr);
}

/* ---------- the serving thread ---------- */

static void serve_one(struct net_dns *d, int fd)
{
	uint8_t buf[4096];
	struct sockaddr_in from;
	socklen_t from_len = sizeof from;
	ssize_t got = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
	if (got < 12 || from.sin_family != AF_INET)
		return;
	pthread_mutex_lock(&d->lock);
	struct listener *l = NULL;
	for (size_t i = 0; i < d->n_listeners && !l; i++)
		if (d->listeners[i].fd == fd)
			l = &d->listeners[i];
	ldns_pkt *q = NULL;
	if (l && ldns_wire2pkt(&q, buf, (size_t)got) == LDNS_STATUS_OK && !ldns_pkt_qr(q) &&
	    ldns_pkt_get_opcode(q) == LDNS_PACKET_QUERY && ldns_pkt_qdcount(q) == 1) {
		ldns_rr *question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
		char *qname = question ? ldns_rdf2str(ldns_rr_owner(question)) : NULL;
		if (qname && !answer_local(d, l, q, question, qname, &from))
			forward_start(l, buf, (size_t)got, &from);
		free(qname);
	}
	ldns_pkt_free(q);
	pthread_mutex_unlock(&d->lock);
}

static void *serve(void *arg)
{
	struct net_dns *d = arg;
	for (;;) {
		struct epoll_event evs[32];
		int n = epoll_wait(d->epfd, evs, 32, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == d->stop_fd)
				return NULL;
			serve_one(d, evs[i].data.fd);
		}
	}
}

int net_dns_open(struct net_dns **out, berr *e)
{
	struct net_dns *d = calloc(1, sizeof *d);
	if (!d)
		return berr_set(e, ENOMEM, "the DNS server");
	pthread_mutex_init(&d->lock, NULL);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->stop_fd};
	if (d->epfd < 0 || d->stop_fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->stop_fd, &ev) < 0) {
		berr_sys(e, "the DNS server: epoll");
		net_dns_close(d);
		return -1;
	}
	int r = pthread_create(&d->thread, NULL, serve, d);
	if (r != 0) {
		berr_set(e, r, "the DNS server: a thread");
		net_dns_close(d);
		return -1;
	}
	d->started = true;
	*out = d;
	return 0;
}

static void listener_free(struct net_dns *d, struct listener *l)
{
	if (l->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
	}
	free(l->owner);
	strv_free(l->scope, l->n_scope);
	free(l->upstream);
}

static void record_free(struct record *r)
{
	free(r->network);
	free(r->owner);
	strv_free(r->names, r->n_names);
}

void net_dns_close(struct net_dns *d)
{
	if (!d)
		return;
	if (d->started) {
		uint64_t one = 1;
		if (write(d->stop_fd, &one, sizeof one) == sizeof one)
			pthread_join(d->thread, NULL);
	}
	for (size_t i = 0; i < d->n_listeners; i++)
		listener_free(d, &d->listeners[i]);
	free(d->listeners);
	for (size_t i = 0; i < d->n_records; i++)
		record_free(&d->records[i]);
	free(d->records);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* A UDP socket bound to 127.0.0.11:53 inside the namespace netns_fd (made there, used from here). */
static int socket_in(int netns_fd, int *out, berr *e)
{
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0)
		return berr_sys(e, "entering a container's network namespace");
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(0x7f00000b)};
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&addr, sizeof addr);
	int saved = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		abort(); /* a daemon thread left in a container's namespace would misroute everything after */
	if (r < 0) {
		errno = saved;
		if (fd >= 0)
			close(fd);
		return berr_sys(e, "binding the DNS server to 127.0.0.11:53");
	}
	*out = fd;
	return 0;
}

int net_dns_serve(struct net_dns *d, const char *owner, int netns_fd, const char *const *scope, size_t n_scope,
		  const uint32_t *upstream, size_t n_upstream, berr *e)
{
	/* Kept from then on: the server's thread may be reading a packet for any listener. */
	if (lazy_lib_pin(&libldns_lib, e) < 0)
		return berr_wrap(e, "the DNS server of %s", owner);
	char **scope_copy = strv_dup(scope, n_scope);
	uint32_t *up_copy = calloc(n_upstream ? n_upstream : 1, sizeof *up_copy);
	if (!scope_copy || !up_copy) {
		strv_free(scope_copy, n_scope);
		free(up_copy);
		return berr_set(e, ENOMEM, "the DNS server of %s", owner);
	}
	memcpy(up_copy, upstream, n_upstream * sizeof *upstream);
	pthread_mutex_lock(&d->lock);
	struct listener *l = NULL;
	for (size_t i = 0; i < d->n_listeners && !l; i++)
		if (strcmp(d->listeners[i].owner, owner) == 0)
			l = &d->listeners[i];
	int r = 0;
	if (!l) {
		struct listener *grown = realloc(d->listeners, (d->n_listeners + 1) * sizeof *grown);
		int fd = -1;
		if (!grown) {
			r = berr_set(e, ENOMEM, "the DNS server of %s", owner);
		} else {
			d->listeners = grown;
			r = socket_in(netns_fd, &fd, e);
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (r == 0 && epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			r = berr_sys(e, "the DNS server of %s: epoll", owner);
		char *owner_copy = r == 0 ? strdup(owner) : NULL;
		if (r == 0 && !owner_copy)
			r = berr_set(e, ENOMEM, "the DNS server of %s", owner);
		if (r < 0) {
			if (fd >= 0) {
				epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		} else {
			l = &d->listeners[d->n_listeners++];
			*l = (struct listener){.owner = owner_copy, .fd = fd};
		}
	}
	if (r == 0) {
		strv_free(l->scope, l->n_scope);
		free(l->upstream);
		l->scope = scope_copy;
		l->n_scope = n_scope;
		l->upstream = up_copy;
		l->n_upstream = n_upstream;
	} else {
		strv_free(scope_copy, n_scope);
		free(up_copy);
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

void net_dns_stop(struct net_dns *d, const char *owner)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_listeners; i++) {
		if (strcmp(d->listeners[i].owner, owner) == 0) {
			listener_free(d, &d->listeners[i]);
			d->listeners[i] = d->listeners[--d->n_listeners];
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

int net_dns_names_set(struct net_dns *d, const char *network, const char *owner, const char *const *names,
		      size_t n_names, uint32_t ip, berr *e)
{
	struct record r = {strdup(network), strdup(owner), strv_dup(names, n_names), n_names, ip};
	pthread_mutex_lock(&d->lock);
	struct record *grown =
	    r.network && r.owner && r.names ? realloc(d->records, (d->n_records + 1) * sizeof *grown) : NULL;
	if (grown) {
		d->records = grown;
		d->records[d->n_records++] = r;
	}
	pthread_mutex_unlock(&d->lock);
	if (!grown) {
		record_free(&r);
		return berr_set(e, ENOMEM, "the DNS names of %s", owner);
	}
	return 0;
}

void net_dns_names_drop(struct net_dns *d, const char *owner)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_records;) {
		if (strcmp(d->records[i].owner, owner) == 0) {
			record_free(&d->records[i]);
			d->records[i] = d->records[--d->n_records];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&d->lock);
}
