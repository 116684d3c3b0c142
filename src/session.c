/*
 * The proxy session: a bufferevent pair and the state machine between
 * them.  This file holds its lifetime, the reading of both sockets and
 * the engine connection; the client side is in session_request.c, the
 * engine side in session_response.c (session_int.h lists them).  Every
 * failed request answers the client and leaves through session_refuse();
 * every byte the engine sees was read by the guard's parser first.
 *
 * Lifetime (see session.h): a session ends through session_close() and
 * nothing else.  session_close() marks it closed, cancels its pending
 * verdict, stops every event and timer it owns and activates free_ev;
 * the memory goes in free_cb, an event callback of its own that no
 * session function runs under.  So a session's memory is valid for as
 * long as any of its functions is on the stack, and every callback, pump
 * loop and helper that arms an event returns at once when s->closed is
 * set.  The engine connection is different: session_drop_upstream()
 * frees it at once, so code that may have dropped it re-reads
 * s->upstream.
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

#include "config.h"
#include "decision.h"
#include "deny.h"
#include "log.h"
#include "session.h"
#include "session_int.h"
#include "splice_relay.h"
#include "xmalloc.h"

/* How long a closing connection keeps reading (and discarding) what the
   client still sends after its last answer. */
#define SESSION_LINGER 2

static void client_readable_cb(evutil_socket_t, short, void *);
static void client_write_cb(struct bufferevent *, void *);
static void client_event_cb(struct bufferevent *, short, void *);
static void upstream_readable_cb(evutil_socket_t, short, void *);
static void upstream_write_cb(struct bufferevent *, void *);
static void upstream_event_cb(struct bufferevent *, short, void *);
static void
input_drained_cb(struct evbuffer *, const struct evbuffer_cb_info *, void *);
static void session_update_read(struct session *, int);
static void free_cb(evutil_socket_t, short, void *);
static void idle_timeout_cb(evutil_socket_t, short, void *);

const struct peer_cred *
session_peer(const struct session *s)
{
	return &s->peer;
}

void
session_set_listen_profile(struct session *s, const char *name)
{
	s->listen_profile = name;
	s->profile_gen = 0;
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

/* The configuration in force now (the host may swap it on SIGHUP). */
const struct guard_config *
session_cfg(const struct session *s)
{
	return *s->host->cfg;
}

/* Let the pending decision d go (decision.h: exactly once). */
void
session_decision_cancel(struct session *s, struct decision *d)
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
	session_update_read(s, SIDE_CLIENT);
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
	    (unsigned long long)s->id, session_cfg(s)->idle_timeout);
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
	session_send_mem(s->client, resp, len);
	free(resp);
	session_close_when_flushed(s);
}

void
session_clear_warnings(struct session *s)
{
	for (size_t i = 0; i < s->n_warnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	s->warnings = NULL;
	s->n_warnings = 0;
}

void
session_clear_request(struct session *s)
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
	session_build_free(s->build);
	s->build = NULL;
	s->head_only = false;
}

void
session_clear_response(struct session *s)
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

/* Close the engine connection (the next request opens a new one). */
void
session_drop_upstream(struct session *s)
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
		session_decision_cancel(s, s->pending);
	session_clear_request(s);
	session_clear_response(s);
	session_clear_warnings(s);
	free(s->method);
	if (s->head_timer != NULL)
		event_free(s->head_timer);
	if (s->linger_timer != NULL)
		event_free(s->linger_timer);
	if (s->idle_timer != NULL)
		event_free(s->idle_timer);
	event_free(s->free_ev);
	session_drop_upstream(s);
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
	splice_relay_free(s->splice);
	s->splice = NULL;
	if (s->pending != NULL) {
		session_decision_cancel(s, s->pending);
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

/* CS_CLOSING: the lingering close is over. */
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
		    session_in_len(s->client));
		session_update_read(s, SIDE_CLIENT);
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
void
session_close_when_flushed(struct session *s)
{
	s->cs = CS_CLOSING;
	if (s->head_timer != NULL)
		evtimer_del(s->head_timer);
	session_drop_upstream(s);
	s->us = US_IDLE;
	if (session_out_len(s->client) == 0)
		done_writing(s);
}

/*
 * Answer the client with a Docker-shaped error and, unless keep is true,
 * close the connection after it.  The one exit for refused requests.
 */
void
session_refuse(struct session *s, int status, const char *message, bool keep)
{
	size_t len;
	char *resp;

	if (!keep && s->have_req && !s->req_body.done)
		s->linger_needed = true;
	resp = deny_response(status, message, !keep, &len);
	if (s->have_req && strcmp(s->req.method, "HEAD") == 0) {
		/* A HEAD's answer has no body: the client would read it as
		   the next answer. */
		const char *end = strstr(resp, "\r\n\r\n");

		if (end != NULL)
			len = (size_t)(end + 4 - resp);
	}
	session_send_mem(s->client, resp, len);
	free(resp);
	log_info("session %llu: %d for %s %s: %s", (unsigned long long)s->id,
	    status, s->have_req ? s->req.method : "-",
	    s->have_req ? s->req.target : "-", message);
	if (!keep) {
		session_close_when_flushed(s);
		return;
	}
	session_clear_request(s);
	s->cs = CS_HEAD;
}

/* Connect to the engine if not yet connected.  On failure refuse with 502
 * and return -1. */
int
session_ensure_upstream(struct session *s)
{
	const char *path = session_cfg(s)->upstream;
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
	session_update_read(s, SIDE_ENGINE);
	return 0;
}

/*
 * CS_RAW: hijacked streams are read by the session itself: libevent 2.1 reads at
 * most 4 KiB per call, and a stream relayed 4 KiB at a time spends its
 * time in system calls.  Up to 64 KiB per recv, sent straight on; what
 * the other side does not take waits in its bufferevent, and reading
 * pauses while that holds SESSION_BUF_HIGH (session_raw_resume restarts it).
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

		if (session_out_len(dst) >= SESSION_BUF_HIGH) {
			event_del(ev); /* session_raw_resume adds it back */
			return;
		}
		n = recv(bufferevent_getfd(src), buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0) {
			session_send_mem(dst, buf, (size_t)n);
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
			session_pump_client(s);
		} else {
			s->upstream_eof = true;
			session_pump_upstream(s);
		}
		return;
	}
}

/* Read again in each direction that has room and has not ended. */
void
session_raw_resume(struct session *s)
{
	session_update_read(s, SIDE_CLIENT);
	session_update_read(s, SIDE_ENGINE);
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
session_update_read(struct session *s, int side)
{
	struct event *ev = s->rd_ev[side];
	struct bufferevent *src = side == SIDE_CLIENT ? s->client : s->upstream;
	struct bufferevent *dst = side == SIDE_CLIENT ? s->upstream : s->client;
	bool want, reading;

	if (ev == NULL || s->closed || s->splice != NULL)
		return; /* the splice relay reads for itself */
	if (side == SIDE_CLIENT ? s->client_eof : s->upstream_eof)
		want = false;
	else if (s->cs == CS_RAW)
		want = dst != NULL && session_out_len(dst) < SESSION_BUF_HIGH;
	else
		want = session_in_len(src) < input_max(s, side);
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
		session_update_read(s, SIDE_CLIENT);
	else
		session_update_read(s, SIDE_ENGINE);
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
	session_update_read(s, SIDE_CLIENT);
	if (s->cs == CS_CLOSING) {
		/* The last answer may still be on its way out. */
		if (session_out_len(s->client) == 0)
			session_close(s);
		return;
	}
	session_pump_client(s);
}

/* The engine connection failed: answer 502 if no response had begun. */
static void
upstream_failed(struct session *s, int err)
{
	log_debug("session %llu: engine connection error: %s",
	    (unsigned long long)s->id, evutil_socket_error_to_string(err));
	if (s->us == US_VERIFY) {
		session_drop_upstream(s); /* the response is all here */
		return;
	}
	if (s->us == US_HEAD && session_in_len(s->upstream) == 0) {
		char *msg = xasprintf("docker-guard: cannot reach the "
				      "Docker engine at %s: %s",
		    session_cfg(s)->upstream,
		    evutil_socket_error_to_string(err));

		s->us = US_IDLE;
		session_refuse(s, 502, msg, false);
		free(msg);
		return;
	}
	session_close(s);
}

/* The engine sent its last byte: the upstream state decides what that
 * means (session_pump_upstream). */
static void
upstream_ended(struct session *s)
{
	s->upstream_eof = true;
	session_update_read(s, SIDE_ENGINE);
	session_pump_upstream(s);
}

/* A read at least this large says the side streams a body: its next
 * reads go straight into its input buffer. */
#define SESSION_BULK_READ (16 * 1024)

/*
 * Read up to SESSION_IO_CHUNK bytes of a side.  A side that streams reads
 * straight into its input buffer; any other (a request, an answer of a
 * few hundred bytes) reads into the loop's scratch buffer, and only the
 * bytes read are copied in: else every small read would allocate, and
 * free again once parsed, a chain of 64 KiB.  Returns what recv(2) or
 * readv(2) returned (errno kept), or -2 when no buffer memory was left.
 */
static ssize_t
read_side(struct session *s, int side, struct evbuffer *in, int fd)
{
	static char scratch[SESSION_IO_CHUNK];
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t room = SESSION_IO_CHUNK;
	ssize_t n, left;
	int nv;

	if (!s->bulk[side]) {
		n = recv(fd, scratch, sizeof scratch, 0);
		if (n > 0 && evbuffer_add(in, scratch, (size_t)n) != 0)
			return -2;
		s->bulk[side] = n >= SESSION_BULK_READ;
		return n;
	}
	nv = evbuffer_reserve_space(in, SESSION_IO_CHUNK, v, 2);
	if (nv <= 0)
		return -2;
	for (int i = 0; i < nv; i++) {
		if (v[i].iov_len > room)
			v[i].iov_len = room;
		room -= v[i].iov_len;
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	/* recv(2) when there is one piece: less work than readv. */
	n = nv == 1 ? recv(fd, iov[0].iov_base, iov[0].iov_len, 0)
		    : readv(fd, iov, nv);
	if (n <= 0)
		return n;
	s->bulk[side] = n >= SESSION_BULK_READ;
	left = n;
	for (int i = 0; i < nv; i++) {
		if (v[i].iov_len > (size_t)left)
			v[i].iov_len = (size_t)left;
		left -= (ssize_t)v[i].iov_len;
	}
	evbuffer_commit_space(in, v, nv);
	return n;
}

/*
 * Read a side into its input buffer and run the state machine.  The
 * session reads for itself: libevent 2.1's bufferevents ask FIONREAD
 * before every read and then read at most 4 KiB, two system calls per
 * 4 KiB; here one call takes up to 64 KiB.
 */
static void
buffered_read(struct session *s, int side)
{
	struct bufferevent *src = side == SIDE_CLIENT ? s->client : s->upstream;
	ssize_t n;

	n = read_side(s, side, bufferevent_get_input(src),
	    bufferevent_getfd(src));
	if (n == -2) {
		log_error("session %llu: out of buffer memory",
		    (unsigned long long)s->id);
		session_close(s);
		return;
	}
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
	session_update_read(s, side);
	if (side == SIDE_CLIENT)
		session_pump_client(s);
	else
		session_pump_upstream(s);
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

/* rd_ev[SIDE_CLIENT]: the client's socket can be read. */
static void
client_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	readable(arg, SIDE_CLIENT);
}

/* rd_ev[SIDE_ENGINE]: the engine's socket can be read. */
static void
upstream_readable_cb(evutil_socket_t fd, short what, void *arg)
{
	readable(arg, SIDE_ENGINE);
}

/* The client's output drained to its low watermark: finish a close
 * (CS_CLOSING) or let the engine's side move on. */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closed)
		return;
	if (s->cs == CS_CLOSING) {
		if (session_out_len(s->client) == 0)
			done_writing(s);
		return;
	}
	/* Room again: the engine's side may move on. */
	session_pump_upstream(s);
}

/* The bufferevents only write, so their events are write errors. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	if (!s->closed && (what & BEV_EVENT_ERROR))
		client_failed(arg, EVUTIL_SOCKET_ERROR());
}

/* The engine's output drained to its low watermark. */
static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	/* Room again: the client's side may move on. */
	if (!s->closed)
		session_pump_client(s);
}

/* The bufferevents only write, so their events are write errors. */
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
	/* A connection that has not sent its first request is a client
	   about to make one (accepted just before SIGTERM): it is served. */
	if (s->cs == CS_HEAD && s->us == US_IDLE && s->served &&
	    session_in_len(s->client) == 0) {
		session_close_when_flushed(s);
		return;
	}
}
