/*
 * The engine side of a proxy session (session_int.h): response heads and
 * bodies streamed to the client, or captured for the decider to check
 * what the engine did (session_verified()), and hijacked streams relayed
 * raw both ways.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "body_inspect.h"
#include "config.h"
#include "decision.h"
#include "deny.h"
#include "http_head.h"
#include "log.h"
#include "route.h"
#include "session.h"
#include "session_int.h"
#include "splice_relay.h"
#include "xmalloc.h"

/* The request head is sent; expect its response. */
void
session_expect_response(struct session *s)
{
	free(s->method);
	s->method = xstrdup(s->req.method);
	s->close_after = !s->req.keep_alive;
	session_clear_response(s);
	s->us = US_HEAD;
}

/* US_BODY, US_CAPTURE or US_VERIFY: the response ended; get ready for the
 * next request (US_IDLE and CS_HEAD), or close. */
static void
response_done(struct session *s)
{
	/* A response that ends before its request body did (the engine
	   refused early) leaves the connection out of step: close it. */
	bool close = s->close_after || !s->resp.keep_alive || s->draining ||
	    s->cs == CS_BODY || s->cs == CS_CAPTURE || s->cs == CS_BUILD ||
	    (s->build != NULL && s->cs != CS_WAIT);

	if (s->upstream_eof)
		session_drop_upstream(s);
	session_clear_response(s);
	session_clear_warnings(s);
	session_clear_request(s);
	s->us = US_IDLE;
	if (close) {
		session_close_when_flushed(s);
		return;
	}
	s->cs = CS_HEAD;
	session_pump_client(s);
}

/* US_CAPTURE or US_VERIFY: send a captured guarded response on, with the
 * decider's warnings added. */
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
	session_send_mem(s->client, head, head_len);
	session_send_mem(s->client, body, len);
	free(head);
	free(patched);
	response_done(s);
}

/* US_CAPTURE: the guarded response is captured; the decider may hold it
 * while it checks what the engine did (US_VERIFY, session_verified() goes
 * on). */
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

/* US_VERIFY: see session_int.h. */
void
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
	session_send_mem(s->client, resp, len);
	free(resp);
	response_done(s);
}

/* US_HEAD: did the engine take the connection over (101, or 200 with no
 * framing, on a route that may hijack)? */
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

/* US_HEAD: the engine took the connection over: relay raw bytes both ways
 * (US_RAW and CS_RAW). */
static void
start_raw(struct session *s)
{
	s->us = US_RAW;
	s->cs = CS_RAW;
	session_raw_resume(s);
}

/* US_RAW under a splice relay: the stream ended (ok) or failed. */
static void
raw_splice_done(void *arg, int ok, int err)
{
	struct session *s = arg;

	if (!ok)
		log_debug("session %llu: hijacked stream failed: %s",
		    (unsigned long long)s->id, strerror(err));
	session_close(s); /* frees the relay */
}

/*
 * US_HEAD: hand a hijacked connection to a splice relay, which moves its
 * bytes with no copy through the guard (see splice_relay.h).  What was
 * already read goes first, behind what is queued for the same side.
 * False when it cannot (a side already ended, or no pipes): relay it here
 * then.
 */
static bool
raw_splice(struct session *s)
{
	struct evbuffer *to_client = bufferevent_get_output(s->client);
	struct evbuffer *to_engine = bufferevent_get_output(s->upstream);

	if (s->client_eof || s->upstream_eof)
		return false;
	evbuffer_add_buffer(to_client, bufferevent_get_input(s->upstream));
	evbuffer_add_buffer(to_engine, bufferevent_get_input(s->client));
	/* A bufferevent freezes the front of its output for its own writes:
	   let the relay take what is queued there. */
	evbuffer_unfreeze(to_client, 1);
	evbuffer_unfreeze(to_engine, 1);
	s->splice = splice_relay_new(s->host->base,
	    bufferevent_getfd(s->client), bufferevent_getfd(s->upstream),
	    to_engine, to_client, raw_splice_done, s);
	evbuffer_freeze(to_client, 1);
	evbuffer_freeze(to_engine, 1);
	if (s->splice == NULL)
		return false;
	bufferevent_disable(s->client, EV_WRITE);
	bufferevent_disable(s->upstream, EV_WRITE);
	event_del(s->rd_ev[SIDE_CLIENT]);
	event_del(s->rd_ev[SIDE_ENGINE]);
	s->us = US_RAW;
	s->cs = CS_RAW;
	return true;
}

/* US_IDLE: the engine may only close an idle connection.  Always
 * false. */
static bool
engine_idle(struct session *s)
{
	if (session_in_len(s->upstream) > 0) {
		log_info("session %llu: the engine sent bytes nobody asked "
			 "for; closing",
		    (unsigned long long)s->id);
		session_close(s);
		return false;
	}
	/* The engine closed an idle connection; the next request opens a
	   new one. */
	if (s->upstream_eof)
		session_drop_upstream(s);
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
		    session_cfg(s)->upstream);
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
	/* A response only passed on needs its framing, not a copy of its
	   head; a captured one is rewritten (send_captured_response). */
	if (r == HTTP_SCAN_COMPLETE &&
	    (s->pending != NULL ? http_response_parse(p, *head_len, s->method,
				      &s->resp, &cause)
				: http_response_frame(p, *head_len, s->method,
				      &s->resp, &cause)) == 0)
		return true;
	why = r == HTTP_SCAN_INCOMPLETE ? "it closed the connection mid-head"
					: cause;
	msg = xasprintf("docker-guard: the Docker engine at %s sent a "
			"malformed response: %s",
	    session_cfg(s)->upstream, why);
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
	session_send_from(in, head_len, s->client);
	log_debug("session %llu: %s hijacked", (unsigned long long)s->id,
	    route_name(s->route.id));
	if (raw_splice(s))
		return;
	start_raw(s);
	/* What the bufferevents already read goes first; then the session
	   reads itself. */
	session_relay_raw(in, s->client);
	session_pump_client(s);
}

/* US_HEAD: the final response head is parsed: stream its body to the
 * client (US_BODY), or capture it for the decider (US_CAPTURE). */
static void
engine_body_start(struct session *s, struct evbuffer *in, size_t head_len)
{
	const struct decision_port *port = s->host->decider;

	if (route_traits(s->route.id)->observed)
		port->observe(port->decider, &s->route, s->resp.status);
	session_body_init(&s->resp_body, s->resp.framing,
	    s->resp.content_length);
	if (s->pending != NULL) {
		evbuffer_drain(in, head_len);
		s->resp_captured = evbuffer_new();
		s->us = US_CAPTURE;
	} else {
		/* The head with what of the body is here: one write. */
		size_t n = session_body_take_length(&s->resp_body, in,
		    head_len);

		session_send_from(in, head_len + n, s->client);
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
		session_send_from(in, head_len, s->client);
		session_clear_response(s);
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

	if (session_body_relay(&s->resp_body, in, s->client, &cause) != 0) {
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

	if (session_body_pump(&s->resp_body, in, NULL, s->resp_captured,
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

	session_relay_raw(in, s->client);
	session_raw_resume(s);
	if (s->upstream_eof && evbuffer_get_length(in) == 0 &&
	    !s->client_shut && session_out_len(s->client) == 0) {
		shutdown(bufferevent_getfd(s->client), SHUT_WR);
		s->client_shut = true;
	}
	if (s->upstream_shut && s->client_shut)
		session_close(s);
	return false;
}

/* Move engine bytes as far as the state allows: one step per state, each
 * true when the state moved on and the next step may go. */
void
session_pump_upstream(struct session *s)
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
