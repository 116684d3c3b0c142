/*
 * The proxy session's insides, shared by the files of the session module
 * and by nothing else:
 *
 *  session.c           lifetime (new, close, free, linger), reading both
 *                      sockets, the engine connection, the one exit for
 *                      refused requests
 *  session_request.c   the client side: request heads, forwarding,
 *                      capturing and handing requests to the decider
 *  session_response.c  the engine side: response heads and bodies, the
 *                      decider's check of a response, hijacked streams
 *  session_build.c     a judged build context streaming to the engine
 *  session_body.c      body framing and sending (session_body.h)
 *
 * Each side is a state machine (enum client_state, enum upstream_state)
 * driven by session_pump_client() and session_pump_upstream(): one step
 * function per state.  Every function here returns at once on a closed
 * session (see session.h, Lifetime).
 */
#ifndef SESSION_INT_H
#define SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "http_head.h"
#include "peer.h"
#include "route.h"
#include "session_body.h"

struct bufferevent;
struct build_stream;
struct decision;
struct decision_request;
struct decision_verdict;
struct event;
struct evbuffer;
struct guard_config;
struct session_host;
struct splice_relay;

/* A request head that has started must be complete within this time
   (slow-header clients cannot hold connections forever). */
#define SESSION_HEAD_TIMEOUT 60
/* What the engine's side may hold unread: a response head and then some. */
#define SESSION_ENGINE_IN_MAX (SESSION_BUF_HIGH + 64 * 1024)
/* The most of a guarded response body kept to read the new ID. */
#define SESSION_CAPTURE_MAX (1024 * 1024)

/* The two sockets of a session, as indexes of rd_ev. */
#define SIDE_CLIENT 0
#define SIDE_ENGINE 1

enum client_state {
	CS_HEAD,     /* reading the next request head */
	CS_BODY,     /* streaming a request body to the engine */
	CS_CAPTURE,  /* reading a guarded request body */
	CS_DECIDING, /* waiting for the guard's verdict */
	CS_WAIT,     /* request sent; waiting for the response to end */
	CS_RAW,	     /* hijacked: opaque relay */
	CS_CLOSING,  /* last response queued; close when flushed */
	CS_BUILD,    /* streaming a judged build context (session_build_*) */
};

enum upstream_state {
	US_IDLE,    /* no response expected */
	US_HEAD,    /* reading a response head */
	US_BODY,    /* streaming a response body to the client */
	US_CAPTURE, /* reading a guarded response body */
	US_VERIFY,  /* captured; the guard checks what the engine did */
	US_RAW,	    /* hijacked */
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
	struct splice_relay *splice; /* hijacked: moves the bytes */
	enum client_state cs;
	enum upstream_state us;
	bool client_eof;
	bool upstream_eof;
	bool upstream_shut; /* SHUT_WR sent to the engine */
	bool client_shut;   /* SHUT_WR sent to the client */
	bool draining;
	bool served; /* a request started: no longer a fresh connection */
	bool linger_needed; /* a refused body may still come */

	/* The client's profile (profile.h): chosen again when the
	   configuration's generation changes. */
	const char *listen_profile;    /* its socket's profile, or NULL */
	unsigned long profile_gen;     /* of the choice; 0: none yet */
	const struct profile *profile; /* NULL: none */
	bool profile_missing;	       /* listen_profile is not defined */

	/* The request in progress. */
	size_t scan_resume;
	struct http_head req;
	struct route route;
	bool have_req;
	struct session_body req_body;
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
	struct session_body resp_body;
	struct evbuffer *resp_captured;
	char **warnings;
	size_t n_warnings;
	struct event *head_timer;   /* deadline for a started head */
	struct event *rd_ev[2];	    /* own reads, by SIDE_: the
				       bufferevents only write */
	bool bulk[2];		    /* by SIDE_: the last read was large (a body
			 streams): read straight into the input buffer */
	struct event *linger_timer; /* end of a lingering close */
};

/* ---- session.c ---- */

/* The configuration in force now (the host may swap it on SIGHUP;
 * borrowed until the next event). */
const struct guard_config *session_cfg(const struct session *s);

/* Answer the client with a Docker-shaped error (message borrowed) and,
 * unless keep is true, close the connection after it (CS_CLOSING); with
 * keep, the next request may start (CS_HEAD).  The one exit for refused
 * requests. */
void
session_refuse(struct session *s, int status, const char *message, bool keep);

/* No more requests: close once everything is written (CS_CLOSING). */
void session_close_when_flushed(struct session *s);

/* Connect to the engine if not yet connected.  Returns 0, or -1 after
 * refusing the request with 502 (or on a closed session). */
int session_ensure_upstream(struct session *s);

/* Close the engine connection at once (the next request opens a new
 * one): code that may have called it re-reads s->upstream. */
void session_drop_upstream(struct session *s);

/* Let the pending decision d go (decision.h: exactly once). */
void session_decision_cancel(struct session *s, struct decision *d);

/* Forget the request, the response, the decider's warnings (freed). */
void session_clear_request(struct session *s);
void session_clear_response(struct session *s);
void session_clear_warnings(struct session *s);

/* Read again in each direction that has room and has not ended. */
void session_raw_resume(struct session *s);

/* ---- session_request.c ---- */

/* Hand req (borrowed for the call) to the decider; its answers come to
 * session_decided() and session_verified().  Returns the pending
 * decision's handle (the decider's: see decision.h). */
struct decision *
session_decision_check(struct session *s, const struct decision_request *req);

/* Move client bytes as far as the client state allows. */
void session_pump_client(struct session *s);

/* ---- session_response.c ---- */

/* The request head is sent: expect its response (US_HEAD). */
void session_expect_response(struct session *s);

/* Move engine bytes as far as the upstream state allows. */
void session_pump_upstream(struct session *s);

/* The decider's reply.verified (decision.h), for US_VERIFY; arg is the
 * session, message borrowed. */
void session_verified(void *arg, int status, const char *message);

/* ---- session_build.c ---- */

/* Free a build stream (NULL is fine). */
void session_build_free(struct build_stream *b);

/* CS_DECIDING, the policy says judge the build (v borrowed): send the
 * head on and stream the context (CS_BUILD); lets the pending decision
 * go. */
void session_build_begin(struct session *s, const struct decision_verdict *v);

/* CS_BUILD: move the context through the tar reader to the engine as far
 * as it goes; asks the decider once it ended or cannot be judged.  True
 * when the client went away before the context ended. */
bool session_build_pump(struct session *s);

/* CS_DECIDING, the base images passed: send what was held and the body's
 * end (CS_WAIT). */
void session_build_finish(struct session *s);

/* CS_DECIDING, a base image was refused (v borrowed): drop the engine's
 * connection so the build never starts, then answer. */
void session_build_refuse(struct session *s, const struct decision_verdict *v);

#endif
