/*
 * The guard's record of its decisions (guard_int.h): audit rows, the
 * create's intent and outcome, deployments and removals, all through the
 * write-behind ledger, so a locked or full database never stalls the
 * event loop.  An allowed request goes on only once its rows (and the
 * intent of a create) have landed; if they have not within
 * GUARD_LEDGER_WAIT_MS the request is refused (fail closed) and the rows
 * are taken back.  A refusal never waits: its rows land when they can.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "guard_int.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "route.h"
#include "store.h"
#include "xmalloc.h"

#define GUARD_LEDGER_WAIT_MS 3000

void
guard_record_forget(struct decision *p)
{
	for (size_t i = 0; i < p->rec.n_tickets; i++)
		ledger_forget(p->g->ledger, p->rec.tickets[i]);
	free(p->rec.tickets);
	p->rec.tickets = NULL;
	p->rec.n_tickets = 0;
	ledger_forget(p->g->ledger, p->rec.barrier);
	p->rec.barrier = 0;
	if (p->rec.ledger_ev != NULL)
		event_free(p->rec.ledger_ev);
	p->rec.ledger_ev = NULL;
	if (p->rec.read_ev != NULL)
		event_free(p->rec.read_ev);
	p->rec.read_ev = NULL;
	free(p->rec.intent);
	p->rec.intent = NULL;
}

void
guard_audit_head(const struct decision *p, int64_t now_us,
    struct store_audit *a)
{
	a->time_ms = now_us / 1000;
	a->peer = &p->peer;
	a->method = p->method;
	a->route = route_name(p->route);
	a->app = p->app;
}

/* No decision without its record: refuse with 503, and record that. */
static void
fail_closed(struct decision *p, const char *cause)
{
	struct store_audit a = { 0 };
	struct store_write w = { 0 };
	char who[300];

	free(p->message);
	p->status = 503;
	if (p->route == ROUTE_IMAGE_CREATE)
		p->message = xasprintf(
		    "docker-guard: refusing to pull %s: the "
		    "audit trail cannot be written (%s); nothing is let "
		    "through unrecorded",
		    p->pull.ref != NULL		   ? p->pull.ref
			: p->pull.from_src != NULL ? p->pull.from_src
						   : "an image",
		    cause);
	else
		p->message = xasprintf(
		    "docker-guard: refusing to %s %s: the "
		    "audit trail cannot be written (%s); nothing is let "
		    "through unrecorded",
		    p->action, guard_subject(p, who, sizeof who), cause);
	log_error("%s", p->message);
	guard_audit_head(p, guard_now_us(), &a);
	a.rule = "ledger";
	a.verdict = STORE_ERROR;
	a.message = p->message;
	a.latency_us = guard_now_us() - p->started_us;
	w.audit = &a;
	ledger_write(p->g->ledger, &w, NULL, NULL);
}

static void
ledger_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct decision *p = arg;
	const char *why = ledger_error(p->g->ledger);
	char *cause = xasprintf("%s; waited %d ms",
	    why != NULL ? why : "the database is busy", GUARD_LEDGER_WAIT_MS);

	p->rec.waiting = false;
	if (p->rec.read_ev != NULL)
		evtimer_del(p->rec.read_ev);
	for (size_t i = 0; i < p->rec.n_tickets; i++)
		ledger_withdraw(p->g->ledger, p->rec.tickets[i]);
	p->rec.n_tickets = 0;
	ledger_withdraw(p->g->ledger, p->rec.barrier);
	p->rec.barrier = 0;
	fail_closed(p, cause);
	free(cause);
	guard_deliver(p);
}

/* Wait for the ledger until the request's deadline (one bound for all
 * its waits), which fires only while waiting. */
static void
ledger_wait(struct decision *p)
{
	struct timeval tv;
	int64_t left;

	if (p->rec.deadline_us == 0)
		p->rec.deadline_us = guard_now_us() +
		    GUARD_LEDGER_WAIT_MS * 1000LL;
	left = p->rec.deadline_us - guard_now_us();
	if (left < 0)
		left = 0;
	tv.tv_sec = left / 1000000;
	tv.tv_usec = left % 1000000;
	p->rec.waiting = true;
	if (p->rec.ledger_ev == NULL)
		p->rec.ledger_ev = evtimer_new(p->g->base, ledger_deadline_cb,
		    p);
	evtimer_add(p->rec.ledger_ev, &tv);
}

/* Not waiting any more: the deadline must not fire. */
static void
ledger_unwait(struct decision *p)
{
	p->rec.waiting = false;
	if (p->rec.ledger_ev != NULL)
		evtimer_del(p->rec.ledger_ev);
}

static void
row_landed_cb(bool landed, const struct store_written *ids, const char *cause,
    void *arg)
{
	struct decision *p = arg;

	/* Rows land in the order they were queued. */
	if (p->rec.n_tickets > 0)
		memmove(p->rec.tickets, p->rec.tickets + 1,
		    --p->rec.n_tickets * sizeof *p->rec.tickets);
	if (landed && p->rec.decision_id == 0)
		p->rec.decision_id = ids->audit_id;
	if (!landed && p->status == 0)
		fail_closed(p, cause);
	if (p->rec.n_tickets == 0 && p->rec.waiting) {
		ledger_unwait(p);
		guard_deliver(p);
	}
}

/* Queue audit row a (with the intent of the create it allows, if any). */
void
guard_audit_row(struct decision *p, const struct store_audit *a,
    const struct store_intent *intent)
{
	struct store_write w = { 0 };

	w.audit = a;
	w.intent = intent;
	/* A decision's time is to its first verdict (later rows: the other
	   images of the same request, a pull asking again). */
	if (!p->rec.timed) {
		p->rec.timed = true;
		metrics_decision_time((double)a->latency_us / 1e6);
	}
	p->rec.tickets = xreallocarray(p->rec.tickets, p->rec.n_tickets + 1,
	    sizeof *p->rec.tickets);
	p->rec.tickets[p->rec.n_tickets++] = ledger_write(p->g->ledger, &w,
	    row_landed_cb, p);
}

/* Hold an allowed request until its rows have landed; true if held.  A
 * refused create's intent gets its outcome. */
bool
guard_ledger_hold(struct decision *p)
{
	if (p->dry_run)
		return false;
	if (p->status != 0) {
		if (p->rec.intent != NULL) {
			struct store_outcome o = { 0 };
			struct store_write w = { 0 };

			o.token = p->rec.intent;
			o.status = p->status;
			o.time_ms = guard_now_us() / 1000;
			w.outcome = &o;
			ledger_write(p->g->ledger, &w, NULL, NULL);
			free(p->rec.intent);
			p->rec.intent = NULL;
		}
	} else if (p->rec.n_tickets > 0) {
		ledger_wait(p);
		return true;
	}
	ledger_unwait(p);
	return false;
}

static void
barrier_cb(bool landed, const struct store_written *ids, const char *cause,
    void *arg)
{
	struct decision *p = arg;

	p->rec.barrier = 0;
	p->rec.settled = true;
	ledger_unwait(p);
	guard_decide(p);
}

/* Before reading the ledger: let writes queued before now land, so the
 * decision sees them (bounded; true if waiting). */
bool
guard_ledger_settle(struct decision *p)
{
	if (p->dry_run || p->rec.barrier != 0 || p->rec.settled ||
	    ledger_queued(p->g->ledger) == 0)
		return false;
	ledger_wait(p);
	p->rec.barrier = ledger_barrier(p->g->ledger, barrier_cb, p);
	return true;
}

static void
read_again_cb(evutil_socket_t fd, short what, void *arg)
{
	guard_decide(arg);
}

/* Reading the ledger failed: if it may pass (a lock, WAL recovery) and
 * the bounded wait is not over, read again shortly; true if so. */
bool
guard_ledger_read_again(struct decision *p)
{
	struct timeval tv = { 0, 50 * 1000 };

	if (p->dry_run || !store_transient(p->g->store) ||
	    guard_now_us() - p->started_us > GUARD_LEDGER_WAIT_MS * 1000LL)
		return false;
	if (p->rec.read_ev == NULL)
		p->rec.read_ev = evtimer_new(p->g->base, read_again_cb, p);
	evtimer_add(p->rec.read_ev, &tv);
	return true;
}

/* The engine's answer to an allowed request, as an audit row linked to
 * its decision, with the create's intent closed. */
void
guard_record_outcome(struct decision *p, int status, const char *container_id,
    const struct store_deployment *d, const char *what)
{
	struct store_audit a = { 0 };
	struct store_outcome o = { 0 };
	struct store_write w = { 0 };
	const struct guard_image *img = p->look.n_images > 0
	    ? &p->look.images[0]
	    : NULL;
	char *msg;
	int64_t t = guard_now_us();

	msg = xasprintf("outcome of decision %lld: %s",
	    (long long)p->rec.decision_id, what);
	guard_audit_head(p, t, &a);
	if (img != NULL) {
		a.image_ref = img->ref;
		a.digest = img->decision.digest;
		a.version = img->decision.version;
	}
	a.rule = "outcome";
	a.verdict = status >= 200 && status < 300 ? STORE_ALLOW : STORE_ERROR;
	a.message = msg;
	a.latency_us = t - p->started_us;
	o.token = p->rec.intent;
	o.status = status;
	o.container_id = container_id;
	o.time_ms = t / 1000;
	w.deployment = d;
	w.outcome = &o;
	w.audit = &a;
	ledger_write(p->g->ledger, &w, NULL, NULL);
	p->rec.forwarded = false;
	/* The shared ledger names it as the local deployments row does. */
	guard_fleet_outcome(p, status,
	    d != NULL ? d->container_id : container_id);
	free(msg);
}

void
guard_audit(struct decision *p, const struct guard_image *img,
    enum store_verdict verdict, const char *rule, const char *message)
{
	struct store_audit a = { 0 };
	struct store_intent in = { 0 };
	int64_t t = guard_now_us();

	if (p->dry_run)
		return;
	guard_audit_head(p, t, &a);
	a.rule = rule;
	a.verdict = verdict;
	a.message = message;
	a.latency_us = t - p->started_us;
	if (img != NULL) {
		a.image_ref = img->ref;
		a.digest = img->decision.digest;
		a.version = img->decision.version;
		a.previous_version = img->decision.previous_version;
	}
	/* What an allowed create is to make, so a container whose answer
	   the guard never saw (killed in between) is known as its own. */
	if (p->route == ROUTE_CONTAINER_CREATE && img == &p->look.images[0] &&
	    verdict != STORE_DENY && p->app != NULL && p->rec.intent == NULL) {
		p->rec.intent = xasprintf("%lld-%p", (long long)t, (void *)p);
		in.token = p->rec.intent;
		in.app = p->app;
		in.container_name = p->container_name;
		in.image_ref = img->ref;
		in.image_id = img->info.id;
		in.repo_digest = img->decision.digest != NULL &&
			strncmp(img->decision.digest, "sha256:", 7) != 0
		    ? img->decision.digest
		    : NULL;
		in.version = img->decision.version;
		in.time_ms = t / 1000;
		in.peer = &p->peer;
	}
	guard_audit_row(p, &a, in.token != NULL ? &in : NULL);
}

void
guard_record_deployment(struct decision *p, const char *id, const char *name)
{
	struct guard_image *img = &p->look.images[0];
	struct store_deployment d = { 0 };
	char *sid = NULL, *what;
	const char *digest = img->decision.digest, *cid = id;

	if (digest != NULL && strncmp(digest, "sha256:", 7) == 0)
		digest = NULL; /* an image ID is not a registry digest */
	d.app = p->app != NULL ? p->app : name;
	if (p->route != ROUTE_CONTAINER_CREATE) {
		/* Each service spec change is a deployment of its own. */
		sid = xasprintf("service:%s:%lld", id,
		    (long long)guard_now_us());
		id = sid;
	}
	d.container_id = id;
	d.container_name = name;
	d.image_ref = img->ref;
	d.image_id = img->info.id;
	d.repo_digest = digest;
	d.version = img->decision.version;
	d.time = guard_now_us() / 1000000;
	d.peer = &p->peer;
	d.source = "guard";
	if (d.app == NULL)
		log_warn("created %s with no app name; not in the ledger", id);
	else
		log_info("recording app \"%s\": %s %s version %s", d.app, id,
		    img->ref, d.version != NULL ? d.version : "unknown");
	what = xasprintf("the engine %s %s \"%s\" (%.12s)",
	    p->route == ROUTE_SERVICE_UPDATE ? "updated" : "created",
	    p->route == ROUTE_CONTAINER_CREATE ? "container" : "service",
	    name != NULL ? name : "?", cid);
	/* Kept until it lands: a locked or full database delays it only. */
	guard_record_outcome(p, p->route == ROUTE_SERVICE_UPDATE ? 200 : 201,
	    cid, d.app != NULL ? &d : NULL, what);
	free(what);
	free(sid);
}

/* The engine answered a removal or prune: record the removals by full
 * ID (the ledger matches names and long prefixes only). */
void
guard_record_removals(struct decision *p, int status, const char *body,
    size_t len)
{
	char **ids = NULL;
	int64_t now = guard_now_us() / 1000000;

	if (p->route == ROUTE_CONTAINER_DELETE && status >= 200 &&
	    status < 300 && p->container_id != NULL) {
		ids = xcalloc(2, sizeof *ids);
		ids[0] = xstrdup(p->container_id);
	} else if (p->route == ROUTE_CONTAINER_PRUNE && status == 200)
		ids = inspect_pruned_ids(body, len);
	for (size_t i = 0; ids != NULL && ids[i] != NULL; i++) {
		struct store_write w = { 0 };

		w.removed = ids[i];
		w.removed_at = now;
		ledger_write(p->g->ledger, &w, NULL, NULL);
		free(ids[i]);
	}
	free(ids);
}
