/*
 * The decider on guarded requests (containers/create and start, services,
 * pulls, builds, plugins, removals): it inspects a request, looks up what
 * it needs (the engine's image inspect, the registry, the ledger), decides,
 * audits and records.  It knows nothing of sessions: the proxy reaches it
 * through the decision port (decision.h), which guard_port() fills and
 * serve.c hands to the sessions.  Every answer comes later from the event
 * loop, never from inside a call.
 */
#ifndef GUARD_H
#define GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "decision.h"

struct evbuffer;
struct event_base;
struct evhttp_request;
struct guard;
struct guard_config;
struct route;

/*
 * Open the ledger (cfg's database), the registry client and the engine
 * monitor on base.  cfg points at the caller's current configuration
 * pointer, which the caller may swap between events (SIGHUP; then call
 * guard_reconfigure()); it must outlive the guard.  follow: also watch
 * the engine (version, first sync, events).  Returns the guard (free with
 * guard_free()), or NULL with the reason logged.
 */
struct guard *guard_new(struct event_base *base,
    const struct guard_config *const *cfg, bool follow);

/* Free g and everything it holds, pending decisions included; no
 * callback runs after. */
void guard_free(struct guard *g);

/* The configuration changed (SIGHUP): apply the registry settings.
 * Returns 0, or -1 with the reason logged (the old settings stay). */
int guard_reconfigure(struct guard *g);

/* Fill port so that its calls reach g (decision.h); port->decider is g. */
void guard_port(struct guard *g, struct decision_port *port);

/*
 * The port's calls, typed (decision.h says who owns what): start deciding
 * on req and answer through reply; hand over the engine's answer; let a
 * pending decision go; hear of a passed-through request's answer.
 */
struct decision *guard_check(struct guard *g,
    const struct decision_request *req, const struct decision_reply *reply);
bool guard_response(struct guard *g, struct decision *d, int status,
    const char *body, size_t len);
void guard_cancel(struct guard *g, struct decision *d);
void guard_observe(struct guard *g, const struct route *r, int status);

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

/*
 * The status page (status_page.h) of g now, as one HTML document of *len
 * bytes; caller frees.  Bounded reads of the local ledger on the loop
 * (status_data.h).
 */
char *guard_status_html(struct guard *g, size_t *len);

/*
 * The same as a page of the operators' listener (ops_http.h's
 * ops_page_fn; ctx is the guard): the document into out, *type its
 * Content-Type, and the Content-Security-Policy STATUS_PAGE_CSP on req's
 * response.  Returns 200.
 */
int guard_status_page(void *ctx, struct evhttp_request *req,
    struct evbuffer *out, const char **type);

#endif
