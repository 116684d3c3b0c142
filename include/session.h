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

#include <event2/util.h>

#include "peer.h"

struct server;
struct session;
struct guard_verdict;

/*
 * Lifetime.  A session ends through session_close() and nothing else:
 * it marks the session closed, cancels its pending verdict (the guard
 * never calls it back), stops its reads, writes and timers, and frees
 * it later from an event of its own, never while a session function
 * may be on the stack.  Until then the pointer stays valid and every
 * session function returns at once on a closed session, so code that
 * closed it (or called something that may have) can still look at it.
 * The server's list holds a session until it is freed.
 */

/* Take over the accepted socket fd.  Never fails; on trouble the
 * connection is closed and NULL returned. */
struct session *session_new(struct server *srv, evutil_socket_t fd);

/* End s (idempotent); its memory goes from the event loop later. */
void session_close(struct session *s);

/* Free s at once: only when the event loop no longer runs (the server's
 * exit) or from the deferred event of session_close(). */
void session_free(struct session *s);

/* Answer s at once with a Docker-shaped error (status, message borrowed)
 * and close it, reading and discarding the request so that the client
 * gets the answer (the connection cap). */
void session_reject(struct session *s, int status, const char *message);

/* The next session in the server's list, or NULL. */
struct session *session_next(struct session *s);

/* SIGTERM: close now if idle, else after the response in flight.  May
 * close s (see Lifetime): iterating the server's list stays safe. */
void session_drain(struct session *s);

const struct peer_cred *session_peer(const struct session *s);
uint64_t session_id(const struct session *s);

/*
 * The decision on a guarded request (see guard.h) is ready.  verdict is
 * borrowed for the duration of the call.
 */
void session_decided(struct session *s, const struct guard_verdict *verdict);

/*
 * The guard held a guarded response (guard_response() returned true) and
 * has checked what the engine did: status 0 sends the engine's response
 * on; otherwise the client gets a refusal with status and message
 * (borrowed) instead.
 */
void session_verified(struct session *s, int status, const char *message);

#endif
