/*
 * The proxy session: a bufferevent pair and the state machine between
 * them.  Every failed request answers the client and leaves through
 * session_refuse(); every byte the engine sees was read by the guard's
 * parser first.
 *
 * Lifetime (see session.h): a session ends through session_close() and
 * nothing else.  session_close() marks it closed, cancels its pending
 * verdict, stops every event and timer it owns and activates free_ev;
 * the memory goes in free_cb, an event callback of its own that no
 * session function runs under.  So a session's memory is valid for as
 * long as any of its functions is on the stack, and every callback, pump
 * loop and helper that arms an event returns at once when s->closed is
 * set.  The engine connection is different: drop_upstream() frees it at
 * once, so code that may have dropped it re-reads s->upstream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "body_inspect.h"
#include "chunked.h"
#include "config.h"
#include "deny.h"
#include "form.h"
#include "decision.h"
#include "http_head.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "tar_reader.h"
#include "xmalloc.h"

/* How long a closing connection keeps reading (and discarding) what the
   client still sends after its last answer. */
#define SESSION_LINGER 2

/* A request head that has started must be complete within this time
   (slow-header clients cannot hold connections forever). */
#define SESSION_HEAD_TIMEOUT 60

/* Buffered bytes per direction before reading pauses. */
#define SESSION_BUF_HIGH (256 * 1024)
#define SESSION_BUF_LOW (64 * 1024)
/* Bytes moved per read or write system call. */
#define SESSION_IO_CHUNK (64 * 1024)
/* What the engine's side may hold unread: a response head and then some. */
#define SESSION_ENGINE_IN_MAX (SESSION_BUF_HIGH + 64 * 1024)

/* The two sockets of a session, as indexes of rd_ev. */
#define SIDE_CLIENT 0
#define SIDE_ENGINE 1
/* The most of a guarded response body kept to read the new ID. */
#define SESSION_CAPTURE_MAX (1024 * 1024)

enum client_state {
	CS_HEAD,     /* reading the next request head */
	CS_BODY,     /* streaming a request body to the engine */
	CS_CAPTURE,  /* reading a guarded request body */
	CS_DECIDING, /* waiting for the guard's verdict */
	CS_WAIT,     /* request sent; waiting for the response to end */
	CS_RAW,	     /* hijacked: opaque relay */
	CS_CLOSING,  /* last response queued; close when flushed */
	CS_BUILD,    /* streaming a judged build context (build_*) */
};

enum upstream_state {
	US_IDLE,    /* no response expected */
	US_HEAD,    /* reading a response head */
	US_BODY,    /* streaming a response body to the client */
	US_CAPTURE, /* reading a guarded response body */
	US_VERIFY,  /* captured; the guard checks what the engine did */
	US_RAW,	    /* hijacked */
};

/* Where a message body ends, whatever its framing. */
struct body_reader {
	enum http_framing framing;
	uint64_t left;
	struct chunked_decoder chunks;
	bool done;
};

struct session {
	TAILQ_ENTRY(session) entry;
	struct session_host *host;
	uint64_t id;
	struct peer_cred peer;
	bool closed;		  /* session_close() ran */
	bool rejected;		  /* counted in n_rejected */
	struct event *free_ev;	  /* activated by session_close() */
	struct event *idle_timer; /* no request yet: idle_timeout */

	struct bufferevent *client;
	struct bufferevent *upstream;
	enum client_state cs;
	enum upstream_state us;
	bool client_eof;
	bool upstream_eof;
	bool upstream_shut; /* SHUT_WR sent to the engine */
	bool client_shut;   /* SHUT_WR sent to the client */
	bool draining;
	bool linger_needed; /* a refused body may still come */

	/* The request in progress. */
	size_t scan_resume;
	struct http_head req;
	struct route route;
	bool have_req;
	struct body_reader req_body;
	struct evbuffer *captured; /* guarded request body */
	struct decision *pending;
	bool head_only;		    /* decided on the head alone */
	struct build_stream *build; /* POST /build being judged */
	char *method;		    /* of the request awaiting a response */
	bool close_after;	    /* no keep-alive after this */

	/* The response in progress. */
	size_t resp_resume;
	struct http_head resp;
	bool have_resp;
	struct body_reader resp_body;
	struct evbuffer *resp_captured;
	char **warnings;
	size_t n_warnings;
	struct event *head_timer;   /* deadline for a started head */
	struct event *rd_ev[2];	    /* own reads, by SIDE_: the
						   bufferevents only write */
	struct event *linger_timer; /* end of a lingering close */
};

static void client_readable_cb(evutil_socket_t, short, void *);
static void client_write_cb(struct bufferevent *, void *);
static void client_event_cb(struct bufferevent *, short, void *);
static void upstream_readable_cb(evutil_socket_t, short, void *);
static void upstream_write_cb(struct bufferevent *, void *);
static void upstream_event_cb(struct bufferevent *, short, void *);
static void
input_drained_cb(struct evbuffer *, const struct evbuffer_cb_info *, void *);
static void update_read(struct session *, int);
static void pump_client(struct session *);
static void pump_upstream(struct session *);
static void session_refuse(struct session *, int, const char *, bool);
static void send_mem(struct bufferevent *, const void *, size_t);
static void close_when_flushed(struct session *);
static void send_from(struct evbuffer *, size_t, struct bufferevent *);
static void raw_resume(struct session *);
static void build_free(struct build_stream *);
static void build_begin(struct session *, const struct decision_verdict *);
static bool build_pump(struct session *);
static void build_finish(struct session *);
static void build_refuse(struct session *, const struct decision_verdict *);

const struct peer_cred *
session_peer(const struct session *s)
{
	return &s->peer;
}

struct session *
session_next(struct session *s)
{
	return TAILQ_NEXT(s, entry);
}

uint64_t
session_id(const struct session *s)
{
	return s->id;
}

static void session_decided(void *, const struct decision_verdict *);
static void session_verified(void *, int, const char *);

/* The configuration in force now (the host may swap it on SIGHUP). */
static const struct guard_config *
host_cfg(const struct session *s)
{
	return *s->host->cfg;
}

/* Hand req to the decider; its answers come to session_decided() and
 * session_verified().  Returns the pending decision's handle. */
static struct decision *
decision_check(struct session *s, const struct decision_request *req)
{
	const struct decision_port *port = s->host->decider;
	struct decision_reply reply = {
		.decided = session_decided,
		.verified = session_verified,
		.arg = s,
	};

	return port->check(port->decider, req, &reply);
}

/* Let the pending decision d go (decision.h: exactly once). */
static void
decision_cancel(struct session *s, struct decision *d)
{
	const struct decision_port *port = s->host->decider;

	port->cancel(port->decider, d);
}

void
session_host_init(struct session_host *h)
{
	TAILQ_INIT(&h->sessions);
	h->n_sessions = 0;
	h->n_rejected = 0;
}

static void free_cb(evutil_socket_t, short, void *);
static void idle_timeout_cb(evutil_socket_t, short, void *);

struct session *
session_new(struct session_host *h, evutil_socket_t fd)
{
	struct session *s = xcalloc(1, sizeof *s);
	unsigned idle = (*h->cfg)->idle_timeout;

	s->host = h;
	s->id = ++h->next_id;
	peer_cred_read(fd, &s->peer);
	s->client = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->rd_ev[SIDE_CLIENT] = event_new(h->base, fd, EV_READ | EV_PERSIST,
	    client_readable_cb, s);
	s->free_ev = event_new(h->base, -1, 0, free_cb, s);
	if (idle > 0)
		s->idle_timer = evtimer_new(h->base, idle_timeout_cb, s);
	if (s->client == NULL || s->rd_ev[SIDE_CLIENT] == NULL ||
	    s->free_ev == NULL || (idle > 0 && s->idle_timer == NULL)) {
		log_error("session: cannot set up a buffer for a client");
		if (s->client != NULL)
			bufferevent_free(s->client);
		else
			close(fd);
		if (s->rd_ev[SIDE_CLIENT] != NULL)
			event_free(s->rd_ev[SIDE_CLIENT]);
		if (s->free_ev != NULL)
			event_free(s->free_ev);
		if (s->idle_timer != NULL)
			event_free(s->idle_timer);
		free(s);
		return NULL;
	}
	bufferevent_setcb(s->client, NULL, client_write_cb, client_event_cb, s);
	/* libevent moves 4 KiB per system call by default: far too little
	   for streams (exec, cp, load). */
	bufferevent_set_max_single_write(s->client, SESSION_IO_CHUNK);
	bufferevent_setwatermark(s->client, EV_WRITE, SESSION_BUF_LOW, 0);
	bufferevent_enable(s->client, EV_WRITE);
	/* A bufferevent freezes the end of its input for its own reads. */
	evbuffer_unfreeze(bufferevent_get_input(s->client), 0);
	evbuffer_add_cb(bufferevent_get_input(s->client), input_drained_cb, s);
	s->cs = CS_HEAD;
	s->us = US_IDLE;
	update_read(s, SIDE_CLIENT);
	if (s->idle_timer != NULL) {
		struct timeval tv = { idle, 0 };

		evtimer_add(s->idle_timer, &tv);
	}
	TAILQ_INSERT_TAIL(&h->sessions, s, entry);
	h->n_sessions++;
	log_debug("session %llu: connected (pid %ld uid %ld gid %ld %s)",
	    (unsigned long long)s->id, (long)s->peer.pid, (long)s->peer.uid,
	    (long)s->peer.gid, s->peer.comm);
	return s;
}

/* A connection that never started a request within idle_timeout. */
static void
idle_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->closed)
		return;
	log_debug("session %llu: no request within idle_timeout (%u s); "
		  "closing",
	    (unsigned long long)s->id, host_cfg(s)->idle_timeout);
	session_close(s);
}

/* The client sent its first bytes: idle_timeout no longer applies. */
static void
stop_idle_timer(struct session *s)
{
	if (s->idle_timer != NULL) {
		event_free(s->idle_timer);
		s->idle_timer = NULL;
	}
}

void
session_reject(struct session *s, int status, const char *message)
{
	size_t len;
	char *resp;

	if (s->closed)
		return;
	/* The client's request, if it sends one, is read and discarded
	   while the answer goes out (see linger()).  Not logged: the caller
	   logs these at a bounded rate. */
	s->linger_needed = true;
	if (!s->rejected) {
		s->rejected = true;
		s->host->n_rejected++;
	}
	resp = deny_response(status, message, true, &len);
	send_mem(s->client, resp, len);
	free(resp);
	close_when_flushed(s);
}

static void
head_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->closed)
		return;
	session_refuse(s, 408,
	    "docker-guard: the request head was not "
	    "complete within 60 seconds",
	    false);
}

static void
start_head_timer(struct session *s)
{
	struct timeval tv = { SESSION_HEAD_TIMEOUT, 0 };

	if (s->closed)
		return;
	if (s->head_timer == NULL)
		s->head_timer = evtimer_new(s->host->base, head_timeout_cb, s);
	if (!evtimer_pending(s->head_timer, NULL))
		evtimer_add(s->head_timer, &tv);
}

static void
stop_head_timer(struct session *s)
{
	if (s->head_timer != NULL)
		evtimer_del(s->head_timer);
}

static void
clear_warnings(struct session *s)
{
	for (size_t i = 0; i < s->n_warnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	s->warnings = NULL;
	s->n_warnings = 0;
}

static void
clear_request(struct session *s)
{
	if (s->have_req) {
		http_head_reset(&s->req);
		route_reset(&s->route);
		s->have_req = false;
	}
	if (s->captured != NULL) {
		evbuffer_free(s->captured);
		s->captured = NULL;
	}
	build_free(s->build);
	s->build = NULL;
	s->head_only = false;
}

static void
clear_response(struct session *s)
{
	if (s->have_resp) {
		http_head_reset(&s->resp);
		s->have_resp = false;
	}
	if (s->resp_captured != NULL) {
		evbuffer_free(s->resp_captured);
		s->resp_captured = NULL;
	}
	s->resp_resume = 0;
}

static size_t
out_len(struct bufferevent *bev)
{
	return evbuffer_get_length(bufferevent_get_output(bev));
}

static size_t
in_len(struct bufferevent *bev)
{
	return evbuffer_get_length(bufferevent_get_input(bev));
}

/* Close the engine connection (the next request opens a new one). */
static void
drop_upstream(struct session *s)
{
	if (s->upstream == NULL)
		return;
	if (s->rd_ev[SIDE_ENGINE] != NULL) {
		event_free(s->rd_ev[SIDE_ENGINE]);
		s->rd_ev[SIDE_ENGINE] = NULL;
	}
	evbuffer_remove_cb(bufferevent_get_input(s->upstream), input_drained_cb,
	    s);
	bufferevent_free(s->upstream);
	s->upstream = NULL;
}

void
session_free(struct session *s)
{
	struct session_host *h = s->host;

	log_debug("session %llu: closed", (unsigned long long)s->id);
	if (s->pending != NULL)
		decision_cancel(s, s->pending);
	clear_request(s);
	clear_response(s);
	clear_warnings(s);
	free(s->method);
	if (s->head_timer != NULL)
		event_free(s->head_timer);
	if (s->linger_timer != NULL)
		event_free(s->linger_timer);
	if (s->idle_timer != NULL)
		event_free(s->idle_timer);
	event_free(s->free_ev);
	drop_upstream(s);
	event_free(s->rd_ev[SIDE_CLIENT]);
	evbuffer_remove_cb(bufferevent_get_input(s->client), input_drained_cb,
	    s);
	bufferevent_free(s->client);
	TAILQ_REMOVE(&h->sessions, s, entry);
	h->n_sessions--;
	if (s->rejected)
		h->n_rejected--;
	free(s);
	if (h->gone != NULL)
		h->gone(h->gone_arg);
}

/* The deferred half of session_close(): nothing of s is on the stack. */
static void
free_cb(evutil_socket_t fd, short what, void *arg)
{
	session_free(arg);
}

void
session_close(struct session *s)
{
	if (s->closed)
		return;
	s->closed = true;
	if (s->pending != NULL) {
		decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	event_del(s->rd_ev[SIDE_CLIENT]);
	if (s->rd_ev[SIDE_ENGINE] != NULL)
		event_del(s->rd_ev[SIDE_ENGINE]);
	if (s->head_timer != NULL)
		evtimer_del(s->head_timer);
	if (s->linger_timer != NULL)
		evtimer_del(s->linger_timer);
	if (s->idle_timer != NULL)
		evtimer_del(s->idle_timer);
	bufferevent_setcb(s->client, NULL, NULL, NULL, NULL);
	bufferevent_disable(s->client, EV_READ | EV_WRITE);
	if (s->upstream != NULL) {
		bufferevent_setcb(s->upstream, NULL, NULL, NULL, NULL);
		bufferevent_disable(s->upstream, EV_READ | EV_WRITE);
	}
	event_active(s->free_ev, EV_TIMEOUT, 0);
}

static void
linger_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	session_close(arg); /* a no-op if already closed */
}

/*
 * The last response is written: close without losing it (RFC 9112 9.6).
 * A client may still be sending a body the guard refused; closing with
 * unread input would reset the connection before it reads the answer.
 * So shut down our side, read and discard for a while, then close.
 */
static void
linger(struct session *s)
{
	struct timeval tv = { SESSION_LINGER, 0 };

	if (s->closed)
		return;
	if (s->client_eof) {
		session_close(s);
		return;
	}
	if (!s->client_shut) {
		shutdown(bufferevent_getfd(s->client), SHUT_WR);
		s->client_shut = true;
		evbuffer_drain(bufferevent_get_input(s->client),
		    in_len(s->client));
		update_read(s, SIDE_CLIENT);
		s->linger_timer = evtimer_new(s->host->base, linger_timeout_cb,
		    s);
		evtimer_add(s->linger_timer, &tv);
	}
}

/* Everything is written: close, lingering if the client may still be
   sending a body the guard refused. */
static void
done_writing(struct session *s)
{
	if (s->linger_needed)
		linger(s);
	else
		session_close(s);
}

/* No more requests: close once everything is written. */
static void
close_when_flushed(struct session *s)
{
	s->cs = CS_CLOSING;
	if (s->head_timer != NULL)
		evtimer_del(s->head_timer);
	drop_upstream(s);
	s->us = US_IDLE;
	if (out_len(s->client) == 0)
		done_writing(s);
}

/*
 * Answer the client with a Docker-shaped error and, unless keep is true,
 * close the connection after it.  The one exit for refused requests.
 */
static void
session_refuse(struct session *s, int status, const char *message, bool keep)
{
	size_t len;
	char *resp;

	if (!keep && s->have_req && !s->req_body.done)
		s->linger_needed = true;
	resp = deny_response(status, message, !keep, &len);
	send_mem(s->client, resp, len);
	free(resp);
	log_info("session %llu: %d for %s %s: %s", (unsigned long long)s->id,
	    status, s->have_req ? s->req.method : "-",
	    s->have_req ? s->req.target : "-", message);
	if (!keep) {
		close_when_flushed(s);
		return;
	}
	clear_request(s);
	s->cs = CS_HEAD;
}

static void
body_reader_init(struct body_reader *br, enum http_framing framing,
    uint64_t length)
{
	memset(br, 0, sizeof *br);
	br->framing = framing;
	br->left = length;
	if (framing == HTTP_BODY_CHUNKED)
		chunked_init(&br->chunks);
	br->done = framing == HTTP_BODY_NONE ||
	    (framing == HTTP_BODY_LENGTH && length == 0);
}

/* Body data: sent on (raw_dst) or kept (data_dst). */
static void
move_bytes(struct evbuffer *src, size_t n, struct bufferevent *raw_dst,
    struct evbuffer *data_dst)
{
	if (raw_dst != NULL)
		send_from(src, n, raw_dst);
	else
		evbuffer_remove_buffer(src, data_dst, n);
}

/*
 * Move body bytes from src: raw bytes to raw_dst (framing included), or
 * de-chunked data to data_dst.  At most budget data bytes move.  Returns
 * 0, or -1 on a framing error with *cause set.
 */
static int
body_pump(struct body_reader *br, struct evbuffer *src,
    struct bufferevent *raw_dst, struct evbuffer *data_dst, size_t budget,
    const char **cause)
{
	while (!br->done && budget > 0 && evbuffer_get_length(src) > 0) {
		size_t avail = evbuffer_get_length(src), n;

		switch (br->framing) {
		case HTTP_BODY_NONE:
			br->done = true;
			break;
		case HTTP_BODY_LENGTH:
			n = avail < budget ? avail : budget;
			if (n > br->left)
				n = (size_t)br->left;
			move_bytes(src, n, raw_dst, data_dst);
			br->left -= n;
			budget -= n;
			br->done = br->left == 0;
			break;
		case HTTP_BODY_UNTIL_CLOSE:
			n = avail < budget ? avail : budget;
			move_bytes(src, n, raw_dst, data_dst);
			budget -= n;
			break;
		case HTTP_BODY_CHUNKED:
			if (chunked_in_data(&br->chunks)) {
				n = avail < budget ? avail : budget;
				if (n > chunked_data_left(&br->chunks))
					n = (size_t)chunked_data_left(
					    &br->chunks);
				move_bytes(src, n, raw_dst, data_dst);
				chunked_consume_data(&br->chunks, n);
				budget -= n;
			} else {
				size_t peek = avail < 4096 ? avail : 4096;
				unsigned char *p = evbuffer_pullup(src,
				    (ev_ssize_t)peek);

				n = chunked_scan(&br->chunks, p, peek);
				if (raw_dst != NULL)
					send_from(src, n, raw_dst);
				else
					evbuffer_drain(src, n);
				if (chunked_failed(&br->chunks)) {
					*cause = br->chunks.cause;
					return -1;
				}
				br->done = chunked_done(&br->chunks);
				if (n == 0 && !chunked_in_data(&br->chunks))
					return 0;
			}
			break;
		}
	}
	if (br->framing == HTTP_BODY_NONE)
		br->done = true;
	return 0;
}

/*
 * Send straight to the socket when nothing is queued ahead, so a message
 * costs one write and no epoll round; only what the socket does not take
 * goes through the bufferevent (which then waits for room as usual).
 */
static void
send_from(struct evbuffer *src, size_t n, struct bufferevent *dst)
{
	struct evbuffer *out = bufferevent_get_output(dst);

	if (n > 0 && evbuffer_get_length(out) == 0) {
		int w = evbuffer_write_atmost(src, bufferevent_getfd(dst),
		    (ev_ssize_t)n);

		if (w > 0)
			n -= (size_t)w;
	}
	if (n > 0)
		evbuffer_remove_buffer(src, out, n);
}

static void
send_mem(struct bufferevent *dst, const void *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(dst);

	if (evbuffer_get_length(out) == 0) {
		ssize_t w = send(bufferevent_getfd(dst), data, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0) {
			data = (const char *)data + w;
			len -= (size_t)w;
		}
	}
	if (len > 0)
		evbuffer_add(out, data, len);
}

static size_t
budget_for(struct bufferevent *dst)
{
	size_t used = out_len(dst);

	return used >= SESSION_BUF_HIGH ? 0 : SESSION_BUF_HIGH - used;
}

/*
 * Relay a body from src to dst as far as dst's room allows, writing as it
 * goes; stops when the body ends, src is empty or dst is full.
 */
static int
relay_body(struct body_reader *br, struct evbuffer *src,
    struct bufferevent *dst, const char **cause)
{
	for (;;) {
		size_t budget = budget_for(dst), before;

		if (budget == 0 || br->done)
			break;
		before = evbuffer_get_length(src);
		if (body_pump(br, src, dst, NULL, budget, cause) != 0)
			return -1;
		if (evbuffer_get_length(src) == before || before == 0)
			break;
	}
	return 0;
}

/* Relay raw bytes from src to dst (a hijacked stream), the same way. */
static void
relay_raw(struct evbuffer *src, struct bufferevent *dst)
{
	for (;;) {
		size_t n = budget_for(dst), avail = evbuffer_get_length(src);

		if (n == 0 || avail == 0)
			break;
		if (n > avail)
			n = avail;
		send_from(src, n, dst);
	}
}

/* Connect to the engine if not yet connected.  On failure refuse with 502
 * and return -1. */
static int
ensure_upstream(struct session *s)
{
	const char *path = host_cfg(s)->upstream;
	struct sockaddr_un sun;
	evutil_socket_t fd;
	char *msg;

	if (s->closed)
		return -1;
	if (s->upstream != NULL)
		return 0;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		msg = xasprintf("docker-guard: cannot reach the Docker engine "
				"at %s: %s",
		    path, strerror(err));
		session_refuse(s, 502, msg, false);
		free(msg);
		return -1;
	}
	s->upstream = bufferevent_socket_new(s->host->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (s->upstream == NULL) {
		close(fd);
		session_refuse(s, 502,
		    "docker-guard: cannot reach the Docker "
		    "engine: out of buffers",
		    false);
		return -1;
	}
	bufferevent_setcb(s->upstream, NULL, upstream_write_cb,
	    upstream_event_cb, s);
	bufferevent_set_max_single_write(s->upstream, SESSION_IO_CHUNK);
	bufferevent_setwatermark(s->upstream, EV_WRITE, SESSION_BUF_LOW, 0);
	bufferevent_enable(s->upstream, EV_WRITE);
	s->rd_ev[SIDE_ENGINE] = event_new(s->host->base, fd,
	    EV_READ | EV_PERSIST, upstream_readable_cb, s);
	evbuffer_unfreeze(bufferevent_get_input(s->upstream), 0);
	evbuffer_add_cb(bufferevent_get_input(s->upstream), input_drained_cb,
	    s);
	s->upstream_eof = false;
	s->upstream_shut = false;
	update_read(s, SIDE_ENGINE);
	return 0;
}

/* The request head is sent; expect its response. */
static void
expect_response(struct session *s)
{
	free(s->method);
	s->method = xstrdup(s->req.method);
	s->close_after = !s->req.keep_alive;
	clear_response(s);
	s->us = US_HEAD;
}

/* Does this request carry a form body the engine reads? */
static enum form_media
request_form_media(const struct session *s)
{
	if (s->req.framing == HTTP_BODY_NONE ||
	    (s->req.framing == HTTP_BODY_LENGTH &&
		s->req.content_length == 0) ||
	    strcmp(s->req.method, "POST") != 0)
		return FORM_MEDIA_OTHER;
	return form_media_type(http_head_get(&s->req, "Content-Type"));
}

/*
 * How many bytes of buf after its first skip bytes are body bytes of a
 * message framed by length, counted as sent: they go out in one write
 * with the head.  Other framings are relayed step by step (0).
 */
static size_t
take_length_body(struct body_reader *br, struct evbuffer *buf, size_t skip)
{
	size_t n = evbuffer_get_length(buf) - skip;

	if (br->framing != HTTP_BODY_LENGTH || br->done)
		return 0;
	if (n > br->left)
		n = (size_t)br->left;
	br->left -= n;
	br->done = br->left == 0;
	return n;
}

/* Send the request head as it came and stream its body. */
static void
forward_head(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t n;

	if (ensure_upstream(s) != 0)
		return;
	/* The head with what of the body is here: one write.  The head left
	   room in front of the buffer's first chain, so this copies it back
	   there. */
	n = take_length_body(&s->req_body, in, 0);
	if (n > 0) {
		evbuffer_prepend(in, s->req.orig, s->req.head_len);
		send_from(in, s->req.head_len + n, s->upstream);
	} else
		send_mem(s->upstream, s->req.orig, s->req.head_len);
	expect_response(s);
	s->cs = s->req_body.done ? CS_WAIT : CS_BODY;
}

/* A request head arrived and parsed: classify it and start forwarding or
 * capturing. */
static void
start_request(struct session *s)
{
	const struct route_traits *t;
	const char *cause;
	char *msg;

	if (route_classify(s->req.method, s->req.target, &s->route, &cause) !=
	    0) {
		msg = xasprintf("docker-guard: refusing %s %s: %s",
		    s->req.method, s->req.target, cause);
		memset(&s->route, 0, sizeof s->route);
		session_refuse(s, 400, msg, false);
		free(msg);
		return;
	}
	body_reader_init(&s->req_body, s->req.framing, s->req.content_length);
	t = route_traits(s->route.id);
	if (t->refuses_form && request_form_media(s) != FORM_MEDIA_OTHER) {
		/* The engine would take the new name from the body; the
		   ledger follows the query's. */
		msg = xasprintf(
		    "docker-guard: refusing %s %s: the engine "
		    "would read its parameters from the form body; put them "
		    "in the query",
		    s->req.method, s->route.path);
		session_refuse(s, 400, msg, false);
		free(msg);
		return;
	}
	if (t->guarded ||
	    (t->reads_form && request_form_media(s) == FORM_MEDIA_URLENCODED)) {
		if (s->req.framing == HTTP_BODY_LENGTH &&
		    s->req.content_length > host_cfg(s)->body_limit) {
			msg = xasprintf(
			    "docker-guard: refusing %s %s: the "
			    "body is %llu bytes, more than body_limit (%zu)",
			    s->req.method, s->route.path,
			    (unsigned long long)s->req.content_length,
			    host_cfg(s)->body_limit);
			session_refuse(s, 413, msg, false);
			free(msg);
			return;
		}
		s->captured = evbuffer_new();
		s->cs = CS_CAPTURE;
		if (s->req.expect_continue)
			send_mem(s->client, "HTTP/1.1 100 Continue\r\n\r\n",
			    25);
		return;
	}

	if (t->head_decided) {
		/* A pull or import: the query says it all (a form body was
		   captured above), and the body (an import) is a stream that
		   must not be held.  A removal: the guard keeps the
		   container's configuration first.  A start: the container's
		   image is judged, not the request.  A build: the policy
		   decides, then the context streams through build_pump. */
		struct decision_request gr = { 0 };

		gr.peer = &s->peer;
		gr.head = &s->req;
		gr.route = &s->route;
		s->head_only = true;
		s->cs = CS_DECIDING;
		s->pending = decision_check(s, &gr);
		return;
	}
	forward_head(s);
}

/* The guarded body is complete: hand it to the guard. */
static void
decide_request(struct session *s)
{
	struct decision_request gr = { 0 };
	size_t len = evbuffer_get_length(s->captured);

	gr.peer = &s->peer;
	gr.head = &s->req;
	gr.route = &s->route;
	gr.body = (const char *)evbuffer_pullup(s->captured, -1);
	gr.body_len = len;
	s->cs = CS_DECIDING;
	s->pending = decision_check(s, &gr);
}

static void
session_decided(void *arg, const struct decision_verdict *v)
{
	struct session *s = arg;
	static const char *const drop[] = {
		"Content-Length",
		"Transfer-Encoding",
		"Expect",
	};
	char extra[64], *head;
	size_t head_len;

	if (s->closed || s->cs != CS_DECIDING)
		return;
	if (v->status != 0 && s->build != NULL) {
		build_refuse(s, v);
		return;
	}
	if (v->status != 0) {
		struct decision *p = s->pending;

		/* v belongs to p: answer before letting p go.  The body was
		   read whole (or there is none), so the connection can go
		   on. */
		s->pending = NULL;
		session_refuse(s, v->status, v->message,
		    s->req.keep_alive && !s->draining && s->req_body.done &&
			(!s->head_only || s->req.framing == HTTP_BODY_NONE));
		if (p != NULL)
			decision_cancel(s, p);
		if (s->cs == CS_HEAD)
			pump_client(s);
		return;
	}
	/* v belongs to the pending verdict: take the target first. */
	if (s->head_only && v->target != NULL)
		http_head_retarget(&s->req, v->target);
	if (v->build_dockerfile != NULL) {
		build_begin(s, v); /* copies from v, then lets p go */
		return;
	}
	if (s->build != NULL) {
		build_finish(s);
		return;
	}
	if (!v->wants_response && s->pending != NULL) {
		decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (s->head_only) {
		forward_head(s);
		if (s->cs == CS_CLOSING)
			return;
		pump_client(s);
		return;
	}
	clear_warnings(s);
	if (v->n_warnings > 0) {
		s->warnings = xcalloc(v->n_warnings, sizeof *s->warnings);
		for (size_t i = 0; i < v->n_warnings; i++)
			s->warnings[i] = xstrdup(v->warnings[i]);
		s->n_warnings = v->n_warnings;
	}
	if (ensure_upstream(s) != 0)
		return;
	/* Forward exactly the bytes that were checked, framed by length. */
	snprintf(extra, sizeof extra, "Content-Length: %zu\r\n",
	    evbuffer_get_length(s->captured));
	head = http_head_rewrite(&s->req, drop, 3, extra, &head_len);
	evbuffer_prepend(s->captured, head, head_len); /* one write */
	free(head);
	send_from(s->captured, evbuffer_get_length(s->captured), s->upstream);
	expect_response(s);
	s->cs = CS_WAIT;
	pump_upstream(s);
}

/*
 * CS_HEAD: scan and parse the next request head from in into s->req.
 * True with *head_len when it is complete; false when more must come,
 * or when it was refused or the client left mid-head (then closing).
 */
static bool
read_request_head(struct session *s, struct evbuffer *in, size_t *head_len)
{
	size_t len = evbuffer_get_length(in);
	const char *cause, *p;
	enum http_scan r;
	int status;
	char *msg;

	*head_len = 0;
	start_head_timer(s);
	if (len > s->host->limits->max_head_bytes + 4)
		len = s->host->limits->max_head_bytes + 4;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	r = http_head_scan(p, len, s->host->limits, &s->scan_resume, head_len,
	    &status, &cause);
	if (r == HTTP_SCAN_INCOMPLETE) {
		if (s->client_eof)
			close_when_flushed(s);
		return false;
	}
	stop_head_timer(s);
	if (r == HTTP_SCAN_ERROR ||
	    http_request_parse(p, *head_len, s->host->limits, &s->req, &status,
		&cause) != 0) {
		msg = xasprintf("docker-guard: malformed request: %s", cause);
		session_refuse(s, status, msg, false);
		free(msg);
		return false;
	}
	return true;
}

/*
 * CS_HEAD: the next request, once the previous response is over.  True
 * when its head was read and the request started (the state moved on).
 */
static bool
client_head(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t head_len;

	if (s->us != US_IDLE)
		return false; /* response still running */
	if (s->draining) {
		close_when_flushed(s);
		return false;
	}
	if (evbuffer_get_length(in) == 0) {
		stop_head_timer(s);
		/* A response may still be on its way out: flush it, then
		   close. */
		if (s->client_eof)
			close_when_flushed(s);
		return false;
	}
	if (!read_request_head(s, in, &head_len))
		return false;
	s->have_req = true;
	s->scan_resume = 0;
	evbuffer_drain(in, head_len);
	start_request(s);
	return s->cs != CS_CLOSING;
}

/* CS_BODY: stream the request body to the engine.  True when it ended
 * (now CS_WAIT). */
static bool
client_body(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	const char *cause;

	if (s->upstream == NULL) {
		/* The engine went away mid-body. */
		session_close(s);
		return false;
	}
	if (relay_body(&s->req_body, in, s->upstream, &cause) != 0) {
		/* The engine has part of a body; nothing can be said on this
		   connection any more. */
		log_info("session %llu: bad request body: %s",
		    (unsigned long long)s->id, cause);
		session_close(s);
		return false;
	}
	if (!s->req_body.done) {
		if (s->client_eof && evbuffer_get_length(in) == 0)
			session_close(s);
		return false;
	}
	s->cs = CS_WAIT;
	return true;
}

/* CS_CAPTURE: read a guarded request body whole, within body_limit, then
 * hand it to the decider (CS_DECIDING).  Always false: the verdict comes
 * from the event loop. */
static bool
client_capture(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t limit = host_cfg(s)->body_limit;
	const char *cause;
	char *msg;

	if (body_pump(&s->req_body, in, NULL, s->captured,
		limit + 1 - evbuffer_get_length(s->captured), &cause) != 0) {
		msg = xasprintf("docker-guard: refusing %s %s: malformed "
				"chunked body: %s",
		    s->req.method, s->route.path, cause);
		session_refuse(s, 400, msg, false);
		free(msg);
		return false;
	}
	if (evbuffer_get_length(s->captured) > limit) {
		msg = xasprintf("docker-guard: refusing %s %s: the body is "
				"larger than body_limit (%zu bytes)",
		    s->req.method, s->route.path, limit);
		session_refuse(s, 413, msg, false);
		free(msg);
		return false;
	}
	if (!s->req_body.done) {
		if (s->client_eof)
			session_close(s);
		return false;
	}
	decide_request(s);
	return false;
}

/* CS_DECIDING and CS_WAIT: nothing to read yet; a client's half-close
 * after its request is passed on to the engine.  Always false. */
static bool
client_wait(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);

	if (s->client_eof && evbuffer_get_length(in) == 0 &&
	    s->upstream != NULL && !s->upstream_shut && s->cs == CS_WAIT &&
	    out_len(s->upstream) == 0) {
		/* Pass the client's half-close on, so the engine cancels what
		   it was doing. */
		shutdown(bufferevent_getfd(s->upstream), SHUT_WR);
		s->upstream_shut = true;
	}
	return false;
}

/* CS_RAW: relay what the client sent as it is, half-close included.
 * Always false. */
static bool
client_raw(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);

	relay_raw(in, s->upstream);
	raw_resume(s);
	if (s->client_eof && evbuffer_get_length(in) == 0 &&
	    !s->upstream_shut && out_len(s->upstream) == 0) {
		shutdown(bufferevent_getfd(s->upstream), SHUT_WR);
		s->upstream_shut = true;
	}
	if (s->upstream_shut && s->client_shut)
		session_close(s);
	return false;
}

/* CS_CLOSING: lingering, what the client still sends is discarded.
 * Always false. */
static bool
client_closing(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);

	evbuffer_drain(in, evbuffer_get_length(in));
	return false;
}

/* CS_BUILD: stream a judged build context (build_pump).  True when the
 * client left mid-context: it then ends as a streamed body that stopped
 * short ends (CS_BODY). */
static bool
client_build(struct session *s)
{
	if (!build_pump(s))
		return false;
	s->cs = CS_BODY;
	return true;
}

/* Move client bytes as far as the state allows: one step per state, each
 * true when the state moved on and the next step may go. */
static void
pump_client(struct session *s)
{
	bool more = true;

	while (more && !s->closed) {
		switch (s->cs) {
		case CS_HEAD:
			more = client_head(s);
			break;
		case CS_BODY:
			more = client_body(s);
			break;
		case CS_CAPTURE:
			more = client_capture(s);
			break;
		case CS_DECIDING:
		case CS_WAIT:
			more = client_wait(s);
			break;
		case CS_RAW:
			more = client_raw(s);
			break;
		case CS_CLOSING:
			more = client_closing(s);
			break;
		case CS_BUILD:
			more = client_build(s);
			break;
		}
	}
}

/* The response ended: get ready for the next request. */
static void
response_done(struct session *s)
{
	/* A response that ends before its request body did (the engine
	   refused early) leaves the connection out of step: close it. */
	bool close = s->close_after || !s->resp.keep_alive || s->draining ||
	    s->cs == CS_BODY || s->cs == CS_CAPTURE || s->cs == CS_BUILD ||
	    (s->build != NULL && s->cs != CS_WAIT);

	if (s->upstream_eof)
		drop_upstream(s);
	clear_response(s);
	clear_warnings(s);
	clear_request(s);
	s->us = US_IDLE;
	if (close) {
		close_when_flushed(s);
		return;
	}
	s->cs = CS_HEAD;
	pump_client(s);
}

/* Send a captured guarded response on, with the guard's warnings added. */
static void
send_captured_response(struct session *s)
{
	static const char *const drop[] = {
		"Content-Length",
		"Transfer-Encoding",
	};
	size_t len = evbuffer_get_length(s->resp_captured), head_len;
	const char *body = (const char *)evbuffer_pullup(s->resp_captured, -1);
	char *patched = NULL, *head, extra[64];
	size_t patched_len = 0;

	if (s->n_warnings > 0 && s->resp.status >= 200 && s->resp.status < 300)
		patched = body_add_warnings(body, len,
		    (const char *const *)s->warnings, s->n_warnings,
		    &patched_len);
	if (patched != NULL) {
		body = patched;
		len = patched_len;
	}
	snprintf(extra, sizeof extra, "Content-Length: %zu\r\n", len);
	head = http_head_rewrite(&s->resp, drop, 2, extra, &head_len);
	send_mem(s->client, head, head_len);
	send_mem(s->client, body, len);
	free(head);
	free(patched);
	response_done(s);
}

/* The guarded response is captured: the guard may hold it while it checks
 * what the engine did (session_verified() goes on). */
static void
finish_captured_response(struct session *s)
{
	size_t len = evbuffer_get_length(s->resp_captured);
	const char *body = (const char *)evbuffer_pullup(s->resp_captured, -1);
	struct decision *p = s->pending;

	if (p != NULL &&
	    s->host->decider->response(s->host->decider->decider, p,
		s->resp.status, body, len)) {
		s->us = US_VERIFY;
		return;
	}
	s->pending = NULL;
	send_captured_response(s);
}

static void
session_verified(void *arg, int status, const char *message)
{
	struct session *s = arg;
	char *resp;
	size_t len;

	if (s->closed || s->us != US_VERIFY)
		return;
	s->pending = NULL;
	if (status == 0) {
		send_captured_response(s);
		return;
	}
	/* What the engine did was undone: the client gets the refusal
	   instead of the engine's answer. */
	log_info("session %llu: %d for %s %s: %s", (unsigned long long)s->id,
	    status, s->req.method, s->req.target, message);
	resp = deny_response(status, message,
	    s->close_after || !s->resp.keep_alive || s->draining, &len);
	send_mem(s->client, resp, len);
	free(resp);
	response_done(s);
}

static bool
response_is_hijack(const struct session *s)
{
	if (!route_traits(s->route.id)->may_hijack)
		return false;
	if (s->resp.status == 101)
		return true;
	/* Without Upgrade the engine answers 200 and then streams raw,
	   unframed, in both directions. */
	return s->resp.status == 200 &&
	    s->resp.framing == HTTP_BODY_UNTIL_CLOSE;
}

/*
 * Hijacked streams are read by the session itself: libevent 2.1 reads at
 * most 4 KiB per call, and a stream relayed 4 KiB at a time spends its
 * time in system calls.  Up to 64 KiB per recv, sent straight on; what
 * the other side does not take waits in its bufferevent, and reading
 * pauses while that holds SESSION_BUF_HIGH (raw_resume restarts it).
 */
static void
raw_read(struct session *s, int side)
{
	bool from_client = side == SIDE_CLIENT;
	struct bufferevent *src = from_client ? s->client : s->upstream;
	struct bufferevent *dst = from_client ? s->upstream : s->client;
	struct event *ev = s->rd_ev[side];
	char buf[SESSION_IO_CHUNK];

	for (int i = 0; i < 8; i++) {
		ssize_t n;

		if (out_len(dst) >= SESSION_BUF_HIGH) {
			event_del(ev); /* raw_resume adds it back */
			return;
		}
		n = recv(bufferevent_getfd(src), buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0) {
			send_mem(dst, buf, (size_t)n);
			continue;
		}
		if (n < 0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		event_del(ev);
		if (n < 0) {
			log_debug("session %llu: %s read error: %s",
			    (unsigned long long)s->id,
			    from_client ? "client" : "engine", strerror(errno));
			session_close(s);
			return;
		}
		/* End of this direction: pass the half-close on. */
		if (from_client) {
			s->client_eof = true;
			pump_client(s);
		} else {
			s->upstream_eof = true;
			pump_upstream(s);
		}
		return;
	}
}

/* Read again in each direction that has room and has not ended. */
static void
raw_resume(struct session *s)
{
	update_read(s, SIDE_CLIENT);
	update_read(s, SIDE_ENGINE);
}

/* The engine took the connection over: relay raw bytes both ways. */
static void
start_raw(struct session *s)
{
	s->us = US_RAW;
	s->cs = CS_RAW;
	raw_resume(s);
}

/* US_IDLE: the engine may only close an idle connection.  Always
 * false. */
static bool
engine_idle(struct session *s)
{
	if (in_len(s->upstream) > 0) {
		log_info("session %llu: the engine sent bytes nobody asked "
			 "for; closing",
		    (unsigned long long)s->id);
		session_close(s);
		return false;
	}
	/* The engine closed an idle connection; the next request opens a
	   new one. */
	if (s->upstream_eof)
		drop_upstream(s);
	return false;
}

/*
 * US_HEAD: scan and parse the response head from in into s->resp.  True
 * with *head_len when it is complete; false when more must come, or when
 * the engine closed or sent a malformed head (the client got a 502).
 */
static bool
read_response_head(struct session *s, struct evbuffer *in, size_t *head_len)
{
	struct http_limits lim = { 256 * 1024, 1000 };
	size_t len = evbuffer_get_length(in);
	const char *cause, *p, *why;
	enum http_scan r;
	int status;
	char *msg;

	*head_len = 0;
	if (len == 0) {
		if (!s->upstream_eof)
			return false;
		msg = xasprintf("docker-guard: cannot reach the Docker engine "
				"at %s: the engine closed the connection "
				"without answering",
		    host_cfg(s)->upstream);
		s->us = US_IDLE;
		session_refuse(s, 502, msg, false);
		free(msg);
		return false;
	}
	if (len > lim.max_head_bytes + 4)
		len = lim.max_head_bytes + 4;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	r = http_head_scan(p, len, &lim, &s->resp_resume, head_len, &status,
	    &cause);
	if (r == HTTP_SCAN_INCOMPLETE && !s->upstream_eof)
		return false;
	if (r == HTTP_SCAN_COMPLETE &&
	    http_response_parse(p, *head_len, s->method, &s->resp, &cause) == 0)
		return true;
	why = r == HTTP_SCAN_INCOMPLETE ? "it closed the connection mid-head"
					: cause;
	msg = xasprintf("docker-guard: the Docker engine at %s sent a "
			"malformed response: %s",
	    host_cfg(s)->upstream, why);
	s->us = US_IDLE;
	session_refuse(s, 502, msg, false);
	free(msg);
	return false;
}

/* US_HEAD: the engine took the connection over (response_is_hijack):
 * pass its head on and relay raw bytes both ways from now on. */
static void
engine_hijacked(struct session *s, struct evbuffer *in, size_t head_len)
{
	send_from(in, head_len, s->client);
	log_debug("session %llu: %s hijacked", (unsigned long long)s->id,
	    route_name(s->route.id));
	start_raw(s);
	/* What the bufferevents already read goes first; then the session
	   reads itself. */
	relay_raw(in, s->client);
	pump_client(s);
}

/* US_HEAD: the final response head is parsed: stream its body to the
 * client (US_BODY), or capture it for the decider (US_CAPTURE). */
static void
engine_body_start(struct session *s, struct evbuffer *in, size_t head_len)
{
	const struct decision_port *port = s->host->decider;

	if (route_traits(s->route.id)->observed)
		port->observe(port->decider, &s->route, s->resp.status);
	body_reader_init(&s->resp_body, s->resp.framing,
	    s->resp.content_length);
	if (s->pending != NULL) {
		evbuffer_drain(in, head_len);
		s->resp_captured = evbuffer_new();
		s->us = US_CAPTURE;
	} else {
		/* The head with what of the body is here: one write. */
		size_t n = take_length_body(&s->resp_body, in, head_len);

		send_from(in, head_len + n, s->client);
		s->us = US_BODY;
	}
}

/* US_HEAD: read the response head and act on its status.  True when the
 * state moved on (or an interim response was passed on). */
static bool
engine_head(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->upstream);
	size_t head_len;

	if (!read_response_head(s, in, &head_len))
		return false;
	s->have_resp = true;
	s->resp_resume = 0;
	if (s->resp.status >= 100 && s->resp.status < 200 &&
	    s->resp.status != 101) {
		/* Interim (100 Continue): pass it on and wait for the final
		   response. */
		send_from(in, head_len, s->client);
		clear_response(s);
		return true;
	}
	if (response_is_hijack(s)) {
		engine_hijacked(s, in, head_len);
		return false;
	}
	if (s->resp.status == 101) {
		log_info("session %llu: the engine switched protocols on %s; "
			 "closing",
		    (unsigned long long)s->id, route_name(s->route.id));
		session_close(s);
		return false;
	}
	engine_body_start(s, in, head_len);
	return true;
}

/* US_BODY: stream the response body to the client until it ends.
 * Always false: at its end the next request may start. */
static bool
engine_body(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->upstream);
	const char *cause;

	if (relay_body(&s->resp_body, in, s->client, &cause) != 0) {
		log_info("session %llu: bad response body from the engine: %s",
		    (unsigned long long)s->id, cause);
		session_close(s);
		return false;
	}
	if (s->resp_body.done) {
		response_done(s);
		return false;
	}
	if (s->upstream_eof && evbuffer_get_length(in) == 0) {
		/* Close-delimited body ends here; any other framing was cut
		   short: close too. */
		s->close_after = true;
		response_done(s);
	}
	return false;
}

/* US_CAPTURE: read the response to a guarded request whole (at most
 * SESSION_CAPTURE_MAX), then hand it to the decider.  Always false. */
static bool
engine_capture(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->upstream);
	const char *cause;

	if (body_pump(&s->resp_body, in, NULL, s->resp_captured,
		SESSION_CAPTURE_MAX + 1 - evbuffer_get_length(s->resp_captured),
		&cause) != 0 ||
	    evbuffer_get_length(s->resp_captured) > SESSION_CAPTURE_MAX) {
		log_info("session %llu: unreadable response to a guarded "
			 "request",
		    (unsigned long long)s->id);
		session_close(s);
		return false;
	}
	if (s->resp_body.done ||
	    (s->upstream_eof && evbuffer_get_length(in) == 0)) {
		if (!s->resp_body.done)
			s->close_after = true;
		finish_captured_response(s);
	}
	return false;
}

/* US_RAW: relay what the engine sent as it is, half-close included.
 * Always false. */
static bool
engine_raw(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->upstream);

	relay_raw(in, s->client);
	raw_resume(s);
	if (s->upstream_eof && evbuffer_get_length(in) == 0 &&
	    !s->client_shut && out_len(s->client) == 0) {
		shutdown(bufferevent_getfd(s->client), SHUT_WR);
		s->client_shut = true;
	}
	if (s->upstream_shut && s->client_shut)
		session_close(s);
	return false;
}

/* Move engine bytes as far as the state allows: one step per state, each
 * true when the state moved on and the next step may go. */
static void
pump_upstream(struct session *s)
{
	bool more = true;

	while (more && !s->closed && s->upstream != NULL) {
		switch (s->us) {
		case US_IDLE:
			more = engine_idle(s);
			break;
		case US_HEAD:
			more = engine_head(s);
			break;
		case US_BODY:
			more = engine_body(s);
			break;
		case US_CAPTURE:
			more = engine_capture(s);
			break;
		case US_VERIFY:
			more = false; /* the whole response is here */
			break;
		case US_RAW:
			more = engine_raw(s);
			break;
		}
	}
}

/* The most a side's input buffer holds before reading it pauses. */
static size_t
input_max(const struct session *s, int side)
{
	return side == SIDE_CLIENT
	    ? s->host->limits->max_head_bytes + SESSION_BUF_HIGH
	    : SESSION_ENGINE_IN_MAX;
}

/*
 * Read a side while there is room for what it sends: in its input buffer
 * normally, in the other side's output when hijacked (raw_read sends what
 * it reads on at once).  Never after its end.
 */
static void
update_read(struct session *s, int side)
{
	struct event *ev = s->rd_ev[side];
	struct bufferevent *src = side == SIDE_CLIENT ? s->client : s->upstream;
	struct bufferevent *dst = side == SIDE_CLIENT ? s->upstream : s->client;
	bool want, reading;

	if (ev == NULL || s->closed)
		return;
	if (side == SIDE_CLIENT ? s->client_eof : s->upstream_eof)
		want = false;
	else if (s->cs == CS_RAW)
		want = dst != NULL && out_len(dst) < SESSION_BUF_HIGH;
	else
		want = in_len(src) < input_max(s, side);
	reading = event_pending(ev, EV_READ, NULL);
	if (want && !reading)
		event_add(ev, NULL);
	else if (!want && reading)
		event_del(ev);
}

/* The state machine took bytes out of an input buffer: maybe read again. */
static void
input_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	if (info->n_deleted == 0 || s->closed)
		return;
	if (s->client != NULL && buf == bufferevent_get_input(s->client))
		update_read(s, SIDE_CLIENT);
	else
		update_read(s, SIDE_ENGINE);
}

/* The client's connection failed (err is the system error). */
static void
client_failed(struct session *s, int err)
{
	log_debug("session %llu: client error: %s", (unsigned long long)s->id,
	    evutil_socket_error_to_string(err));
	session_close(s);
}

/* The client sent its last byte. */
static void
client_ended(struct session *s)
{
	s->client_eof = true;
	update_read(s, SIDE_CLIENT);
	if (s->cs == CS_CLOSING) {
		/* The last answer may still be on its way out. */
		if (out_len(s->client) == 0)
			session_close(s);
		return;
	}
	pump_client(s);
}

/* The engine connection failed: answer 502 if no response had begun. */
static void
upstream_failed(struct session *s, int err)
{
	log_debug("session %llu: engine connection error: %s",
	    (unsigned long long)s->id, evutil_socket_error_to_string(err));
	if (s->us == US_VERIFY) {
		drop_upstream(s); /* the response is all here */
		return;
	}
	if (s->us == US_HEAD && in_len(s->upstream) == 0) {
		char *msg = xasprintf("docker-guard: cannot reach the "
				      "Docker engine at %s: %s",
		    host_cfg(s)->upstream, evutil_socket_error_to_string(err));

		s->us = US_IDLE;
		session_refuse(s, 502, msg, false);
		free(msg);
		return;
	}
	session_close(s);
}

static void
upstream_ended(struct session *s)
{
	s->upstream_eof = true;
	update_read(s, SIDE_ENGINE);
	pump_upstream(s);
}

/*
 * Read a side into its input buffer and run the state machine.  The
 * session reads for itself: libevent 2.1's bufferevents ask FIONREAD
 * before every read and then read at most 4 KiB, two system calls per
 * 4 KiB; here one readv takes up to 64 KiB.
 */
static void
buffered_read(struct session *s, int side)
{
	struct bufferevent *src = side == SIDE_CLIENT ? s->client : s->upstream;
	struct evbuffer *in = bufferevent_get_input(src);
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t room = SESSION_IO_CHUNK;
	ssize_t n;
	int nv;

	nv = evbuffer_reserve_space(in, SESSION_IO_CHUNK, v, 2);
	if (nv <= 0) {
		log_error("session %llu: out of buffer memory",
		    (unsigned long long)s->id);
		session_close(s);
		return;
	}
	for (int i = 0; i < nv; i++) {
		if (v[i].iov_len > room)
			v[i].iov_len = room;
		room -= v[i].iov_len;
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	n = readv(bufferevent_getfd(src), iov, nv);
	if (n < 0) {
		int err = errno;

		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
			return;
		if (side == SIDE_CLIENT)
			client_failed(s, err);
		else
			upstream_failed(s, err);
		return;
	}
	if (n == 0) {
		if (side == SIDE_CLIENT)
			client_ended(s);
		else
			upstream_ended(s);
		return;
	}
	if (side == SIDE_CLIENT)
		stop_idle_timer(s);
	for (int i = 0; i < nv; i++) {
		if (v[i].iov_len > (size_t)n)
			v[i].iov_len = (size_t)n;
		n -= (ssize_t)v[i].iov_len;
	}
	evbuffer_commit_space(in, v, nv);
	update_read(s, side);
	if (side == SIDE_CLIENT)
		pump_client(s);
	else
		pump_upstream(s);
}

/* A side can be read: relayed as it comes when hijacked, else parsed. */
static void
readable(struct session *s, int side)
{
	if (s->closed)
		return;
	if (s->cs == CS_RAW)
		raw_read(s, side);
	else
		buffered_read(s, side);
}

static void
client_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	readable(arg, SIDE_CLIENT);
}

static void
upstream_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	readable(arg, SIDE_ENGINE);
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closed)
		return;
	if (s->cs == CS_CLOSING) {
		if (out_len(s->client) == 0)
			done_writing(s);
		return;
	}
	/* Room again: the engine's side may move on. */
	pump_upstream(s);
}

/* The bufferevents only write, so their events are write errors. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (!s->closed && (what & BEV_EVENT_ERROR))
		client_failed(arg, EVUTIL_SOCKET_ERROR());
}

static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* Room again: the client's side may move on. */
	if (!s->closed)
		pump_client(s);
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (!s->closed && (what & BEV_EVENT_ERROR))
		upstream_failed(arg, EVUTIL_SOCKET_ERROR());
}

void
session_drain(struct session *s)
{
	if (s->closed)
		return;
	s->draining = true;
	if (s->cs == CS_HEAD && s->us == US_IDLE && in_len(s->client) == 0) {
		close_when_flushed(s);
		return;
	}
}

/* ---- a judged build: the context streams, its end waits --------------- */

/*
 * POST /build under build = judge.  The engine starts nothing before its
 * untar of the context has read the archive's end, so the context streams
 * on as it comes while a tar reader keeps the Dockerfile; what may not go
 * yet (a header still incomplete, the end-of-archive block and what
 * follows it, the last byte of a body framed by length, the final chunk)
 * is held until the guard has judged the Dockerfile.  A refusal drops the
 * engine's connection: the build never starts.
 */
struct build_stream {
	struct tar_reader *tar;
	struct evbuffer *held;	/* data not yet sent */
	struct evbuffer *fresh; /* data just read */
	uint64_t sent;		/* data bytes sent */
	bool chunked;		/* sent to the engine as chunks */
	bool has_alt;		/* kept file 1 is the fallback */
	char *path;		/* the Dockerfile's path */
	char *cause;		/* why it cannot be judged */
};

static void
build_free(struct build_stream *b)
{
	if (b == NULL)
		return;
	tar_reader_free(b->tar);
	evbuffer_free(b->held);
	evbuffer_free(b->fresh);
	free(b->path);
	free(b->cause);
	free(b);
}

/* Send n held data bytes on, framed as the engine expects them. */
static void
build_send(struct session *s, size_t n)
{
	struct build_stream *b = s->build;
	char size[32];

	if (n == 0)
		return;
	if (b->chunked) {
		int len = snprintf(size, sizeof size, "%zx\r\n", n);

		send_mem(s->upstream, size, (size_t)len);
	}
	send_from(b->held, n, s->upstream);
	if (b->chunked)
		send_mem(s->upstream, "\r\n", 2);
	b->sent += n;
}

/* The policy says judge: send the head on and start streaming. */
static void
build_begin(struct session *s, const struct decision_verdict *v)
{
	static const char *const drop_chunked[] = {
		"Content-Length",
		"Transfer-Encoding",
		"Expect",
	};
	static const char *const drop_length[] = { "Expect" };
	const char *paths[2] = { v->build_dockerfile, v->build_dockerfile_alt };
	struct build_stream *b = xcalloc(1, sizeof *b);
	char *head;
	size_t head_len;

	b->has_alt = v->build_dockerfile_alt != NULL;
	b->tar = tar_reader_new(paths, b->has_alt ? 2 : 1,
	    host_cfg(s)->body_limit);
	b->held = evbuffer_new();
	b->fresh = evbuffer_new();
	b->chunked = s->req.framing == HTTP_BODY_CHUNKED;
	b->path = xstrdup(v->build_dockerfile);
	s->build = b;
	if (s->pending != NULL) {
		decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (ensure_upstream(s) != 0)
		return;
	if (b->chunked)
		head = http_head_rewrite(&s->req, drop_chunked, 3,
		    "Transfer-Encoding: chunked\r\n", &head_len);
	else
		head = http_head_rewrite(&s->req, drop_length, 1, "",
		    &head_len);
	send_mem(s->upstream, head, head_len);
	free(head);
	if (s->req.expect_continue)
		send_mem(s->client, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	expect_response(s);
	s->cs = CS_BUILD;
	pump_client(s);
}

/* The context ended, or cannot be judged: ask the guard. */
static void
build_decide(struct session *s)
{
	struct build_stream *b = s->build;
	struct decision_build_context bc = { 0 };
	struct decision_request gr = { 0 };
	const struct tar_file *f = tar_reader_file(b->tar, 0);
	const char *cause;

	if (b->cause == NULL && tar_reader_finish(b->tar, &cause) != 0)
		b->cause = xstrdup(cause);
	if (b->cause == NULL && f->state != TAR_FILE_REGULAR) {
		const struct tar_file *alt = b->has_alt
		    ? tar_reader_file(b->tar, 1)
		    : NULL;

		if (f->state == TAR_FILE_ABSENT && alt != NULL &&
		    alt->state == TAR_FILE_REGULAR)
			f = alt;
		else
			b->cause = xasprintf(f->state == TAR_FILE_OTHER
				? "%s in the build context is not a regular file"
				: "the build context has no %s",
			    b->path);
	}
	bc.cause = b->cause;
	bc.dockerfile_path = b->path;
	if (b->cause == NULL) {
		bc.dockerfile = f->data;
		bc.dockerfile_len = f->len;
	}
	gr.peer = &s->peer;
	gr.head = &s->req;
	gr.route = &s->route;
	gr.build = &bc;
	s->cs = CS_DECIDING;
	s->pending = decision_check(s, &gr);
}

/* Move client data through the reader to the engine, as far as the
   engine takes it and the reader releases it.  True when the client went
   away before the context ended. */
static bool
build_pump(struct session *s)
{
	struct build_stream *b = s->build;
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t limit = host_cfg(s)->body_limit;
	const char *cause;
	char *msg;

	for (;;) {
		size_t budget = budget_for(s->upstream), before, n;
		uint64_t rel;

		before = evbuffer_get_length(in);
		if (budget == 0 || s->req_body.done || before == 0)
			break;
		if (body_pump(&s->req_body, in, NULL, b->fresh, budget,
			&cause) != 0) {
			msg = xasprintf("docker-guard: refusing %s %s: "
					"malformed chunked body: %s",
			    s->req.method, s->route.path, cause);
			session_refuse(s, 400, msg, false);
			free(msg);
			return false;
		}
		while ((n = evbuffer_get_length(b->fresh)) > 0) {
			struct evbuffer_iovec v;

			evbuffer_peek(b->fresh, -1, NULL, &v, 1);
			if (!tar_reader_ended(b->tar) &&
			    tar_reader_feed(b->tar, v.iov_base, v.iov_len,
				&cause) != 0) {
				b->cause = xstrdup(cause);
				build_decide(s);
				return false;
			}
			evbuffer_remove_buffer(b->fresh, b->held, v.iov_len);
		}
		rel = tar_reader_released(b->tar);
		if (!b->chunked && rel >= s->req.content_length)
			rel = s->req.content_length - 1; /* the last byte */
		if (rel > b->sent)
			build_send(s, (size_t)(rel - b->sent));
		if (evbuffer_get_length(b->held) > limit + 512) {
			b->cause = xasprintf(
			    "more than body_limit (%zu bytes) "
			    "follows the end of the build context's archive",
			    limit);
			build_decide(s);
			return false;
		}
		if (evbuffer_get_length(in) == before)
			break;
	}
	if (s->req_body.done) {
		build_decide(s);
		return false;
	}
	return s->client_eof && evbuffer_get_length(in) == 0;
}

/* The base images passed: send what was held and the body's end. */
static void
build_finish(struct session *s)
{
	struct build_stream *b = s->build;

	if (s->pending != NULL) {
		decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (s->upstream == NULL) {
		session_refuse(s, 502,
		    "docker-guard: the Docker engine closed "
		    "the connection during the build's upload",
		    false);
		return;
	}
	build_send(s, evbuffer_get_length(b->held));
	if (b->chunked)
		send_mem(s->upstream, "0\r\n\r\n", 5);
	s->cs = CS_WAIT;
	pump_upstream(s);
}

/*
 * A base image was refused: drop the engine's connection first (it never
 * gets the archive's end, so the build never starts), then answer.  The
 * body was read whole unless the context could not be judged; only then
 * does the connection close.  Nothing here touches s after a refusal
 * that closes it.
 */
static void
build_refuse(struct session *s, const struct decision_verdict *v)
{
	struct decision *p = s->pending;
	bool keep = s->req.keep_alive && !s->draining && s->req_body.done;
	char *msg = xstrdup(v->message); /* v belongs to p */
	int status = v->status;

	s->pending = NULL;
	if (p != NULL)
		decision_cancel(s, p);
	drop_upstream(s);
	s->us = US_IDLE;
	session_refuse(s, status, msg, keep);
	free(msg);
	if (keep && s->cs == CS_HEAD)
		pump_client(s);
}
