/* What the API's handler files share: the request, the replies, the route table. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "engine/engine.h"
#include "lib/err.h"

enum { API_MAX_PARAMS = 3 };

struct api_request {
	struct MHD_Connection *conn;
	struct eng *eng;
	const char *method;
	char *path;                   /* without the /v1.xx prefix */
	int api_minor;                /* 41 for /v1.41/, 0 when unversioned */
	char *params[API_MAX_PARAMS]; /* the path's variable parts, decoded */
	const struct api_route *route;
	/* A buffered body (routes without API_STREAM_BODY). */
	char *body;
	size_t body_len, body_cap;
	bool body_too_big;
	/* A streamed body: the handler runs on its own thread and reads body_fd to its end. */
	int body_fd, pipe_w;
	bool worker_started;
	pthread_t worker;
	/* The reply. */
	struct MHD_Response *resp;
	unsigned status;
};

enum api_route_flags {
	API_STREAM_BODY = 1, /* the body is read from body_fd by a handler on its own thread */
};

struct api_route {
	const char *method;
	const char *pattern; /* "/containers/(star)/start": a star is one segment, two stars one or more */
	void (*handler)(struct api_request *r);
	int flags;
};

/* The routes each file serves, ended by a zeroed entry. */
extern const struct api_route api_system_routes[];
extern const struct api_route api_container_routes[];
extern const struct api_route api_container_fs_routes[];
extern const struct api_route api_top_routes[];
extern const struct api_route api_stats_routes[];
extern const struct api_route api_event_routes[];
extern const struct api_route api_image_routes[];
extern const struct api_route api_image_registry_routes[];
/* POST /images/create?fromImage=: a pull (images_registry.c), reached through images.c's create. */
void api_image_pull(struct api_request *r);
extern const struct api_route api_volume_routes[];
extern const struct api_route api_network_routes[];
extern const struct api_route api_system_df_routes[];
extern const struct api_route api_exec_routes[];

/* Replies: each sets r->resp and r->status. */
void api_reply_json(struct api_request *r, unsigned status, json_t *doc); /* steals doc */
/* JSON already as text (malloc'd, len bytes): the reply takes it. */
void api_reply_json_text(struct api_request *r, unsigned status, char *text, size_t len);
void api_reply_empty(struct api_request *r, unsigned status);
void api_reply_text(struct api_request *r, unsigned status, const char *content_type, const char *text);
/* Docker's error body {"message": "..."} with the status errnum maps to (ENOENT 404, EBUSY 409 ...). */
void api_reply_error(struct api_request *r, const berr *e);
void api_reply_message(struct api_request *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A streamed reply: reader as libmicrohttpd's content reader callback. */
void api_reply_stream(struct api_request *r, unsigned status, const char *content_type,
		      MHD_ContentReaderCallback reader, void *cls, MHD_ContentReaderFreeCallback free_cb);
/*
 * A reply produced by fn on a thread of its own, writing to fd (closed by us when fn returns):
 * for archives (save, export). fn's error, when nothing was sent yet, becomes an error reply; after
 * that, the stream just ends early.
 */
void api_reply_produced(struct api_request *r, const char *content_type, int (*fn)(void *arg, int fd, berr *e),
			void *arg, void (*free_arg)(void *arg));

/* Query parameters. */
const char *api_query(struct api_request *r, const char *key);
bool api_query_bool(struct api_request *r, const char *key, bool dflt);
/* Every value of a repeated parameter (?changes=a&changes=b): *out NULL-terminated, NULL when none; false with a reply
 * set. */
bool api_query_all(struct api_request *r, const char *key, char ***out, size_t *n);
/* An integer parameter; a malformed one: false with an error reply already set. */
bool api_query_int(struct api_request *r, const char *key, long long dflt, long long *out);
/* The decoded "filters" parameter (NULL when absent); a malformed one: false with an error reply set. */
bool api_query_filters(struct api_request *r, json_t **out);
/* The body as JSON; an empty body gives NULL with allow_empty, else an error reply is set and false. */
bool api_body_json(struct api_request *r, bool allow_empty, json_t **out);
/* Has the client of a streamed reply gone away? (A stream nobody reads must not hold its thread.) */
bool api_client_gone(struct MHD_Connection *conn);
/* The request header's value or NULL. */
const char *api_header(struct api_request *r, const char *name);
