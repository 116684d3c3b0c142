/*
 * The decision on a guarded request (containers/create, services/create,
 * services/{id}/update): the session hands over the parsed head, the route
 * and the complete body; the guard inspects them, looks up what it needs
 * (the engine's image inspect, the ledger) and calls session_decided()
 * later from the event loop, never from inside guard_check().
 */
#ifndef GUARD_H
#define GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "peer.h"

struct event_base;
struct server;
struct session;
struct route;
struct http_head;
struct guard;
struct guard_pending;

/* POST /build under build = judge, once its context has streamed by. */
struct guard_build_context {
	const char *dockerfile; /* as the engine will read it,
						   or NULL with cause */
	size_t dockerfile_len;
	const char *dockerfile_path;
	const char *cause; /* why the guard cannot judge
						   this context, or NULL */
};

struct guard_request {
	const struct peer_cred *peer;
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
	const struct guard_build_context *build;
};

struct guard_verdict {
	int status;		     /* 0: forward; else deny */
	const char *message;	     /* deny: the whole message */
	const char *const *warnings; /* warn mode: added to the
						   engine's create response */
	size_t n_warnings;
	bool wants_response; /* call guard_response() */
	const char *target;  /* decided on the head: forward
						   with this request-target
						   (a start by full ID) */
	/* POST /build to judge: stream the context through a reader that
	   keeps these files, then call guard_check() again with build. */
	const char *build_dockerfile;
	const char *build_dockerfile_alt; /* or NULL */
};

/* follow: also watch the engine (version, first sync, events). */
struct guard *guard_new(struct server *srv, bool follow);
void guard_free(struct guard *g);

/* The configuration changed (SIGHUP): apply the registry settings.
 * Returns 0, or -1 with the reason logged (the old settings stay). */
int guard_reconfigure(struct guard *g);

/*
 * Start deciding on req for session s.  The guard copies what it needs
 * from req.  Returns a handle that the session passes back to
 * guard_response() or guard_cancel(); the decision arrives through
 * session_decided().
 */
struct guard_pending *guard_check(struct guard *g, struct session *s,
    const struct guard_request *req);

/*
 * The engine answered the forwarded request (status, de-chunked body,
 * borrowed).  Returns false when done (p is freed); true when the guard
 * holds the response to check what the engine created: it then calls
 * session_verified() later from the event loop, and p stays the
 * session's until then.
 */
bool guard_response(struct guard *g, struct guard_pending *p, int status,
    const char *body, size_t len);

/* The session went away; never call it back.  Frees p, or lets it
 * finish undoing what the engine did on its own. */
void guard_cancel(struct guard *g, struct guard_pending *p);

/*
 * docker-guard check: decide on a create of image for app (NULL: none)
 * as the guard would now, without auditing, recording or restoring.
 * done gets the status (0 allow), the message (denial or warnings
 * joined) and the notes, all borrowed; called from the event loop.
 */
typedef void (*guard_dry_cb)(int status, const char *message,
    const char *details, void *arg);
void guard_dry_run(struct guard *g, const char *image, const char *app,
    guard_dry_cb done, void *arg);

/* A passed-through request got its answer: keep the ledger straight on
 * container renames and removals. */
void guard_observe(struct guard *g, const struct route *r, int status);

#endif
