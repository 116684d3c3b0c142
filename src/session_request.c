/*
 * The client side of a proxy session (session_int.h): request heads are
 * read and classified, then forwarded as they come, captured whole and
 * handed to the decider, or decided on the head alone; the verdict comes
 * back to session_decided().
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "decision.h"
#include "form.h"
#include "http_head.h"
#include "log.h"
#include "peer.h"
#include "profile.h"
#include "route.h"
#include "session.h"
#include "session_int.h"
#include "xmalloc.h"

static void session_decided(void *, const struct decision_verdict *);

/* Hand req to the decider; its answers come to session_decided() and
 * session_verified().  Returns the pending decision's handle. */
struct decision *
session_decision_check(struct session *s, const struct decision_request *req)
{
	const struct decision_port *port = s->host->decider;
	struct decision_reply reply = {
		.decided = session_decided,
		.verified = session_verified,
		.arg = s,
	};

	return port->check(port->decider, req, &reply);
}

/* CS_HEAD: a started head did not complete in time (408, close). */
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

/* CS_HEAD: bytes of a head are here: its deadline runs (once). */
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

/* CS_HEAD: the head is complete, or none started. */
static void
stop_head_timer(struct session *s)
{
	if (s->head_timer != NULL)
		evtimer_del(s->head_timer);
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

/* CS_HEAD or CS_DECIDING (decided on the head): send the request head as
 * it came and stream its body (CS_BODY, or CS_WAIT when there is none). */
static void
forward_head(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t n;

	if (session_ensure_upstream(s) != 0)
		return;
	/* The head with what of the body is here: one write.  The head left
	   room in front of the buffer's first chain, so this copies it back
	   there. */
	n = session_body_take_length(&s->req_body, in, 0);
	if (n > 0) {
		evbuffer_prepend(in, s->req.orig, s->req.head_len);
		session_send_from(in, s->req.head_len + n, s->upstream);
	} else
		session_send_mem(s->upstream, s->req.orig, s->req.head_len);
	session_expect_response(s);
	s->cs = s->req_body.done ? CS_WAIT : CS_BODY;
}

/* Supplementary groups read onto the stack; a client in more has them
 * allocated. */
#define GROUPS_ON_STACK 128

/* The profile for the client's uid, gid and every one of its
 * supplementary groups, read from the socket only now: a session that
 * never meets a profile keeps no group list. */
static const struct profile *
profile_for_peer(struct session *s, const struct guard_config *cfg)
{
	gid_t few[GROUPS_ON_STACK], *gids = few;
	unsigned long few_ul[GROUPS_ON_STACK], *groups = few_ul;
	int fd = bufferevent_getfd(s->client);
	size_t n = peer_groups_read(fd, few, GROUPS_ON_STACK), got;
	const struct profile *p;

	if (n > GROUPS_ON_STACK) {
		gids = xcalloc(n, sizeof *gids);
		groups = xcalloc(n, sizeof *groups);
		if ((got = peer_groups_read(fd, gids, n)) < n)
			n = got;
	}
	for (size_t i = 0; i < n; i++)
		groups[i] = gids[i];
	p = profile_select(cfg->profiles, s->peer.uid, s->peer.gid, groups, n,
	    cfg->default_profile);
	if (gids != few) {
		free(gids);
		free(groups);
	}
	return p;
}

/* The client's profile under the current configuration, chosen again
 * after a reload (a table walk). */
static const struct profile *
session_profile(struct session *s)
{
	const struct guard_config *cfg = session_cfg(s);

	if (s->profile_gen == cfg->generation && s->profile_gen != 0)
		return s->profile;
	s->profile_gen = cfg->generation;
	s->profile_missing = false;
	if (s->listen_profile != NULL) {
		s->profile = profile_find(cfg->profiles, s->listen_profile);
		s->profile_missing = s->profile == NULL;
		return s->profile;
	}
	s->profile = profile_for_peer(s, cfg);
	return s->profile;
}

/* CS_HEAD: the profile refuses the request at its head (msg, borrowed):
 * the decider records it and answers (CS_DECIDING). */
static void
profile_refuse(struct session *s, const char *msg)
{
	struct decision_request gr = { 0 };

	gr.peer = &s->peer;
	gr.head = &s->req;
	gr.route = &s->route;
	gr.refusal = msg;
	s->head_only = true;
	s->cs = CS_DECIDING;
	s->pending = session_decision_check(s, &gr);
}

/* CS_HEAD: judge the request's head by the client's profile.  Returns
 * true when refused (handed to the decider). */
static bool
profile_refuses(struct session *s, const struct profile *p)
{
	char *msg;

	if (p == NULL && s->profile_missing)
		msg = xasprintf("docker-guard: refusing %s %s: this socket "
				"serves profile \"%s\", which the "
				"configuration no longer defines; restart the "
				"guard or define profile.%s.*",
		    s->req.method, s->route.path, s->listen_profile,
		    s->listen_profile);
	else
		msg = profile_check_head(p, s->req.method, &s->route,
		    s->req.framing != HTTP_BODY_NONE &&
			!(s->req.framing == HTTP_BODY_LENGTH &&
			    s->req.content_length == 0));
	if (msg == NULL)
		return false;
	profile_refuse(s, msg);
	free(msg);
	return true;
}

/*
 * CS_HEAD: a request head arrived and parsed.  Classify it and, as its
 * route's traits say (route.h), forward it (CS_BODY), capture its body
 * (CS_CAPTURE) or hand its head to the decider (CS_DECIDING); or refuse.
 */
static void
start_request(struct session *s)
{
	const struct route_traits *t;
	const struct profile *prof = NULL;
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
	session_body_init(&s->req_body, s->req.framing, s->req.content_length);
	t = route_traits(s->route.id);
	if (s->listen_profile != NULL || session_cfg(s)->profiles->n > 0) {
		prof = session_profile(s);
		if ((prof != NULL || s->profile_missing) &&
		    profile_refuses(s, prof))
			return;
	}
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
	if (t->guarded || (t->limited && profile_has_limits(prof)) ||
	    (t->reads_form && request_form_media(s) == FORM_MEDIA_URLENCODED)) {
		if (s->req.framing == HTTP_BODY_LENGTH &&
		    s->req.content_length > session_cfg(s)->body_limit) {
			msg = xasprintf(
			    "docker-guard: refusing %s %s: the "
			    "body is %llu bytes, more than body_limit (%zu)",
			    s->req.method, s->route.path,
			    (unsigned long long)s->req.content_length,
			    session_cfg(s)->body_limit);
			session_refuse(s, 413, msg, false);
			free(msg);
			return;
		}
		s->captured = evbuffer_new();
		s->cs = CS_CAPTURE;
		if (s->req.expect_continue)
			session_send_mem(s->client,
			    "HTTP/1.1 100 Continue\r\n\r\n", 25);
		return;
	}

	if (t->head_decided ||
	    (t->enters_container && profile_has_limits(prof))) {
		/* A pull or import: the query says it all (a form body was
		   captured above), and the body (an import) is a stream that
		   must not be held.  A removal: the guard keeps the
		   container's configuration first.  A start: the container's
		   image is judged, not the request.  A build: the policy
		   decides, then the context streams through session_build_pump.
		   An attach or copy under a profile with limits: the
		   container is judged, and the body (a copy's tar) streams. */
		struct decision_request gr = { 0 };

		gr.peer = &s->peer;
		gr.head = &s->req;
		gr.route = &s->route;
		gr.profile = prof;
		s->head_only = true;
		s->cs = CS_DECIDING;
		s->pending = session_decision_check(s, &gr);
		return;
	}
	forward_head(s);
}

/* CS_CAPTURE: the guarded body is complete: hand it to the decider
 * (CS_DECIDING). */
static void
decide_request(struct session *s)
{
	struct decision_request gr = { 0 };
	size_t len = evbuffer_get_length(s->captured);

	gr.peer = &s->peer;
	gr.head = &s->req;
	gr.route = &s->route;
	gr.profile = s->profile;
	gr.body = (const char *)evbuffer_pullup(s->captured, -1);
	gr.body_len = len;
	s->cs = CS_DECIDING;
	s->pending = session_decision_check(s, &gr);
}

/*
 * CS_DECIDING: the decider's reply.decided (decision.h; v borrowed for
 * the call).  A refusal answers the client; a pass forwards the head
 * (decided on the head), the checked body (CS_WAIT), or starts or ends a
 * judged build (session_build_*).
 */
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
		session_build_refuse(s, v);
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
			session_decision_cancel(s, p);
		if (s->cs == CS_HEAD)
			session_pump_client(s);
		return;
	}
	/* v belongs to the pending verdict: take the target first (the
	   judged container by its full ID). */
	if (v->target != NULL)
		http_head_retarget(&s->req, v->target);
	if (v->build_dockerfile != NULL) {
		session_build_begin(s, v); /* copies from v, then lets p go */
		return;
	}
	if (s->build != NULL) {
		session_build_finish(s);
		return;
	}
	if (!v->wants_response && s->pending != NULL) {
		session_decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (s->head_only) {
		forward_head(s);
		if (s->cs == CS_CLOSING)
			return;
		session_pump_client(s);
		return;
	}
	session_clear_warnings(s);
	if (v->n_warnings > 0) {
		s->warnings = xcalloc(v->n_warnings, sizeof *s->warnings);
		for (size_t i = 0; i < v->n_warnings; i++)
			s->warnings[i] = xstrdup(v->warnings[i]);
		s->n_warnings = v->n_warnings;
	}
	if (session_ensure_upstream(s) != 0)
		return;
	/* Forward exactly the bytes that were checked, framed by length. */
	snprintf(extra, sizeof extra, "Content-Length: %zu\r\n",
	    evbuffer_get_length(s->captured));
	head = http_head_rewrite(&s->req, drop, 3, extra, &head_len);
	evbuffer_prepend(s->captured, head, head_len); /* one write */
	free(head);
	session_send_from(s->captured, evbuffer_get_length(s->captured),
	    s->upstream);
	session_expect_response(s);
	s->cs = CS_WAIT;
	session_pump_upstream(s);
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
			session_close_when_flushed(s);
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
	if (s->draining && s->served) {
		session_close_when_flushed(s);
		return false;
	}
	if (evbuffer_get_length(in) == 0) {
		stop_head_timer(s);
		/* A response may still be on its way out: flush it, then
		   close. */
		if (s->client_eof)
			session_close_when_flushed(s);
		return false;
	}
	if (!read_request_head(s, in, &head_len))
		return false;
	s->have_req = true;
	s->served = true;
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
	if (session_body_relay(&s->req_body, in, s->upstream, &cause) != 0) {
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
	size_t limit = session_cfg(s)->body_limit;
	const char *cause;
	char *msg;

	if (session_body_pump(&s->req_body, in, NULL, s->captured,
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
	    session_out_len(s->upstream) == 0) {
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

	session_relay_raw(in, s->upstream);
	session_raw_resume(s);
	if (s->client_eof && evbuffer_get_length(in) == 0 &&
	    !s->upstream_shut && session_out_len(s->upstream) == 0) {
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

/* CS_BUILD: stream a judged build context (session_build_pump).  True when the
 * client left mid-context: it then ends as a streamed body that stopped
 * short ends (CS_BODY). */
static bool
client_build(struct session *s)
{
	if (!session_build_pump(s))
		return false;
	s->cs = CS_BODY;
	return true;
}

/* Move client bytes as far as the state allows: one step per state, each
 * true when the state moved on and the next step may go. */
void
session_pump_client(struct session *s)
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
