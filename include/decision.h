/*
 * The port between the proxy and whoever decides on guarded requests.
 *
 * The proxy (session.c) knows only this header: it hands a request over
 * through decision_port.check(), keeps the handle it gets back, and hears
 * of the verdict through the decision_reply it passed in.  The decider
 * (guard.c) knows nothing of sessions: it calls the reply back.  serve.c
 * alone wires the two together.
 *
 * Ownership of a pending decision (struct decision):
 *  - check() returns a handle that belongs to the decider.  The proxy
 *    keeps it only to pass it back; it never frees it.
 *  - The proxy lets it go with cancel(), exactly once, or when response()
 *    returns false (the decider then freed it).  After either, it must not
 *    use the handle again.
 *  - The decider calls reply.decided() once, later, from the event loop
 *    (never from inside check()); reply.verified() once after response()
 *    returned true.  After cancel() it calls neither.
 *  - A verdict and its strings are borrowed for the duration of the
 *    decided() call: they belong to the pending decision, so a proxy that
 *    cancels the decision inside decided() copies what it needs first.
 */
#ifndef DECISION_H
#define DECISION_H

#include <stdbool.h>
#include <stddef.h>

#include "peer.h"

struct http_head;
struct route;
struct decision;

/* POST /build under build = judge, once its context has streamed by. */
struct decision_build_context {
	const char *dockerfile; /* as the engine will read it, or NULL with
				   cause */
	size_t dockerfile_len;
	const char *dockerfile_path;
	const char *cause; /* why the guard cannot judge this context, or
			      NULL */
};

struct profile;

struct decision_request {
	const struct peer_cred *peer;
	/* The client's profile (profile.h; borrowed for the call), NULL for
	   none: the decider judges its limits on the body. */
	const struct profile *profile;
	/* The proxy's refusal at the head (a profile's access or routes):
	   the decider records it and answers 403 with it, nothing else. */
	const char *refusal;
	/* POST /images/create is decided on its head alone (its body, if
	   any, is an import stream); body is then NULL, unless the body is
	   a form (application/x-www-form-urlencoded), which the engine
	   reads for parameters: it is then captured whole.  The same holds
	   for plugin pulls and upgrades; builds are decided on the head,
	   then again with build set. */
	const struct http_head *head;
	const struct route *route;
	const char *body; /* de-chunked, complete */
	size_t body_len;
	const struct decision_build_context *build;
};

struct decision_verdict {
	int status;		     /* 0: forward; else deny */
	const char *message;	     /* deny: the whole message */
	const char *const *warnings; /* warn mode: added to the engine's
					create response */
	size_t n_warnings;
	bool wants_response; /* pass the response to response() */
	const char *target;  /* decided on the head: forward with this
				request-target (a start by full ID) */
	/* POST /build to judge: stream the context through a reader that
	   keeps these files, then call check() again with build. */
	const char *build_dockerfile;
	const char *build_dockerfile_alt; /* or NULL */
};

/* How the decider answers the proxy; arg is the proxy's (its session). */
struct decision_reply {
	/* The verdict on a checked request (borrowed for the call). */
	void (*decided)(void *arg, const struct decision_verdict *verdict);
	/* The held response was checked: status 0 sends the engine's
	   response on; else the client gets status and message (borrowed)
	   instead. */
	void (*verified)(void *arg, int status, const char *message);
	void *arg;
};

struct decision_port {
	void *decider; /* passed back as the first argument of each call */

	/* Start deciding on req (copied as needed; borrowed for the call).
	   reply is copied.  Returns the pending decision's handle. */
	struct decision *(*check)(void *decider,
	    const struct decision_request *req,
	    const struct decision_reply *reply);

	/* The engine answered the forwarded request (status, de-chunked
	   body, borrowed).  Returns false when done (d is freed); true when
	   the decider holds the response to check what the engine did: it
	   then calls reply.verified() later, and d stays the proxy's until
	   then. */
	bool (*response)(void *decider, struct decision *d, int status,
	    const char *body, size_t len);

	/* The proxy no longer wants d: never call it back.  Frees d, or
	   lets it finish undoing what the engine did on its own. */
	void (*cancel)(void *decider, struct decision *d);

	/* A request passed through untouched got its answer (renames and
	   removals keep the ledger straight). */
	void (*observe)(void *decider, const struct route *r, int status);
};

#endif
