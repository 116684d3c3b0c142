/*
 * The opaque relay of a hijacked connection (attach, exec), on splice(2).
 *
 * Once the engine has taken a connection over, the guard only copies
 * bytes, both ways, until each side has ended.  A splice relay moves them
 * through a pipe per direction (socket -> pipe -> socket), so they never
 * enter the guard's memory: two system calls per burst and no user-space
 * copy.  Bytes the session had already read or queued are written first,
 * in order.  Each direction keeps its own half-close: when its source
 * ends and everything has been written, the destination is shut down for
 * writing (SHUT_WR) and the other direction carries on.  Backpressure is
 * the pipe: a source is read only when its pipe has been emptied into the
 * destination.
 *
 * I/O shell (libevent, sockets).  The relay borrows the two sockets (it
 * never closes them) and owns its pipes and events.
 */
#ifndef SPLICE_RELAY_H
#define SPLICE_RELAY_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>

struct splice_relay;

/*
 * Called once, when both directions have ended (ok is 1) or one failed
 * (ok is 0, errno-style err).  The relay does nothing after calling it,
 * so the callback may free the relay.
 */
typedef void (*splice_relay_done_fn)(void *arg, int ok, int err);

/*
 * Start relaying between the sockets a and b (non-blocking, borrowed).
 * to_b and to_a hold bytes already read that must go first to b and to a
 * (may be NULL); on success their contents are taken (they are left
 * empty), on failure they are untouched.  Returns the relay (caller frees
 * with splice_relay_free), or NULL when the pipes or events cannot be
 * made: the caller then relays the old way.  done runs from the event
 * loop, never from within this call.
 */
struct splice_relay *splice_relay_new(struct event_base *base,
    evutil_socket_t a, evutil_socket_t b, struct evbuffer *to_b,
    struct evbuffer *to_a, splice_relay_done_fn done, void *arg);

/* Stop relaying and free the relay's pipes and events (not the sockets).
 * NULL is a no-op. */
void splice_relay_free(struct splice_relay *r);

#endif
