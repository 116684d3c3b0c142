/*
 * One client connection and its own connection to the engine.
 *
 * Requests are read one at a time: the head is parsed and classified, then
 * either forwarded (head and body streamed as they arrive, with
 * backpressure) or, for guarded routes, the whole body is read, inspected
 * and decided on before anything reaches the engine.  The next pipelined
 * request is read only when the previous response is complete, so the
 * guard sees every request on a keep-alive connection.  When the engine
 * answers an attach or exec start with 101, or with 200 and no framing,
 * the session becomes an opaque relay with half-close in each direction.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>
#include <sys/queue.h>

#include <event2/util.h>

#include "http_head.h"
#include "peer.h"

struct event_base;
struct guard_config;
struct decision_port;
struct session;

TAILQ_HEAD(session_list, session);

/*
 * What the sessions of one listener share.  The owner (serve.c) fills the
 * first part before the first session_new() and keeps it alive until the
 * last session is freed; it may swap *cfg and change limits between
 * events (SIGHUP).  session.c keeps the second part.
 */
struct session_host {
	struct event_base *base;
	const struct guard_config *const *cfg; /* upstream, body_limit,
						  idle_timeout: current */
	const struct http_limits *limits;      /* request heads */
	const struct decision_port *decider;   /* guarded requests */
	void (*gone)(void *arg);	       /* a session was freed */
	void *gone_arg;

	/* Kept by session.c. */
	struct session_list sessions; /* every session until freed */
	size_t n_sessions;
	size_t n_rejected; /* of which answered by session_reject() */
	uint64_t next_id;
};

/* Make h's session list empty (before the first session_new()). */
void session_host_init(struct session_host *h);

/*
 * Lifetime.  A session ends through session_close() and nothing else:
 * it marks the session closed, cancels its pending verdict (the guard
 * never calls it back), stops its reads, writes and timers, and frees
 * it later from an event of its own, never while a session function
 * may be on the stack.  Until then the pointer stays valid and every
 * session function returns at once on a closed session, so code that
 * closed it (or called something that may have) can still look at it.
 * The host's list holds a session until it is freed.
 */

/* Take over the accepted socket fd and add the session to h's list.
 * Returns the session (it frees itself, see Lifetime), or NULL when it
 * could not be set up: fd is then closed. */
struct session *session_new(struct session_host *h, evutil_socket_t fd);

/* s came on a listen_profiles socket: its client always gets profile
 * name (borrowed: kept by the caller until s is freed). */
void session_set_listen_profile(struct session *s, const char *name);

/* End s (idempotent); its memory goes from the event loop later. */
void session_close(struct session *s);

/* Free s at once: only when the event loop no longer runs (the server's
 * exit) or from the deferred event of session_close(). */
void session_free(struct session *s);

/* Answer s at once with a Docker-shaped error (status, message borrowed)
 * and close it, reading and discarding the request so that the client
 * gets the answer (the connection cap). */
void session_reject(struct session *s, int status, const char *message);

/* The next session in the host's list after s, or NULL (borrowed: see
 * Lifetime). */
struct session *session_next(struct session *s);

/* SIGTERM: close now if idle after a response, else after the response
 * in flight; a connection that has sent no request yet gets one answered
 * (with Connection: close) first.  May close s (see Lifetime): iterating
 * the host's list stays safe. */
void session_drain(struct session *s);

/* The credentials of s's client, read at accept (borrowed from s: valid
 * until s is freed). */
const struct peer_cred *session_peer(const struct session *s);

/* s's number in the logs: unique per host, counted from 1. */
uint64_t session_id(const struct session *s);

#endif
