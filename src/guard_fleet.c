/*
 * The fleet's part of a decision (guard_int.h), when guard.conf names a
 * shared ledger (a claim, fleet.h):
 *   - while the images are looked up, the app's history of every host
 *     is read, without a lock;
 *   - after deciding, an allowed deployment's version is recorded under
 *     the app's fleet-wide lock if no other claim came since the read
 *     (one round trip), and only then is the verdict taken;
 *   - if one came, the history is read again under the lock and the
 *     request decided again; the version is recorded in that
 *     transaction, or the lock let go.
 * The engine's answer closes the claim.
 *
 * The shared ledger unreachable: ledger_unreachable = deny refuses the
 * request (503); allow decides on this host's own history, with a
 * warning, and the local rows reach the shared ledger later (fleet.c
 * ships them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"
#include "guard_int.h"
#include "log.h"
#include "route.h"
#include "xmalloc.h"

static void
history_cb(struct fleet_claim *c, bool ok, struct fleet_history *hist,
    const char *cause, void *arg)
{
	struct decision *p = arg;

	p->fl.read = true;
	if (!ok) {
		p->fl.claim = NULL; /* gone already */
		p->fl.unreachable = xstrdup(cause);
	} else {
		p->fl.claim = c;
		p->fl.hist = *hist;
		memset(hist, 0, sizeof *hist);
	}
	if (p->fl.waiting) {
		p->fl.waiting = false;
		guard_decide(p);
	}
}

/* The shared ledger could not be read and the configuration says deny:
 * refuse, saying why and what to do. */
static void
refuse_unreachable(struct decision *p)
{
	char who[300];

	guard_refuse(p, 503, "ledger_unreachable",
	    xasprintf(
		"docker-guard: refusing to %s %s: the fleet ledger cannot be "
		"reached (%s), so a newer version of app \"%s\" run on another "
		"host cannot be ruled out (ledger_unreachable = deny). Only "
		"guarded creates, updates and starts wait for it; other "
		"requests go through. Bring the PostgreSQL server named by "
		"`ledger` in guard.conf back, or set ledger_unreachable = "
		"allow to judge on this host's own history meanwhile.",
		p->action, guard_subject(p, who, sizeof who), p->fl.unreachable,
		p->app));
}

void
guard_fleet_prefetch(struct decision *p)
{
	struct fleet *f = p->g->fleet;

	if (f == NULL || p->app == NULL || p->fl.read || p->fl.claim != NULL)
		return;
	p->fl.claim = fleet_claim_begin(f, p->app, p->fl.locked, history_cb, p);
}

bool
guard_fleet_read(struct decision *p)
{
	if (p->g->fleet == NULL || p->app == NULL || p->fl.read)
		return false;
	guard_fleet_prefetch(p);
	p->fl.waiting = true;
	return true; /* history_cb goes on */
}

bool
guard_fleet_unreachable(struct decision *p)
{
	if (p->fl.unreachable == NULL)
		return false;
	if (guard_cfg(p->g)->ledger_unreachable_allow) {
		if (p->fl.warned)
			return false;
		p->fl.warned = true;
		log_warn("fleet ledger unreachable (%s): judging app \"%s\" on "
			 "this host's history (ledger_unreachable = allow)",
		    p->fl.unreachable, p->app);
		return false;
	}
	refuse_unreachable(p);
	return true;
}

/* Does an allowed p deploy a version worth recording fleet-wide? */
static bool
deploys(const struct decision *p)
{
	return p->route == ROUTE_CONTAINER_CREATE ||
	    p->route == ROUTE_SERVICE_CREATE ||
	    p->route == ROUTE_SERVICE_UPDATE;
}

/* The version could not be recorded: refuse (ledger_unreachable = deny;
 * true), or go on unrecorded (false). */
static bool
refuse_unrecorded(struct decision *p, const char *cause)
{
	char who[300];

	free(p->fl.token);
	p->fl.token = NULL;
	log_error("fleet ledger: recording app \"%s\": %s", p->app, cause);
	if (guard_cfg(p->g)->ledger_unreachable_allow)
		return false;
	guard_refuse(p, 503, "ledger_unreachable",
	    xasprintf("docker-guard: refusing to %s %s: its version could not "
		      "be recorded in the fleet ledger (%s); nothing runs "
		      "unrecorded (ledger_unreachable = deny)",
		p->action, guard_subject(p, who, sizeof who), cause));
	return true;
}

static void
committed_cb(enum fleet_commit_result r, const char *cause, void *arg)
{
	struct decision *p = arg;
	bool ok = r == FLEET_COMMIT_RECORDED;

	p->fl.committing = false;
	if (p->fl.cancelled) {
		/* The client left: nothing will run; drop the claim row. */
		if (ok)
			fleet_claim_outcome(p->g->fleet, p->app, p->fl.token, 0,
			    NULL);
		guard_decision_free(p);
		return;
	}
	if (!ok && refuse_unrecorded(p, cause != NULL ? cause : "failed"))
		return;
	guard_decide_finish(p);
}

/* What an allowed deployment of p records in the fleet: img (the image
 * that runs) as decided (d), under a new claim token (p->fl.token). */
static void
record_of(struct decision *p, const struct guard_image *img,
    const struct policy_decision *d, struct fleet_record *rec)
{
	p->fl.token = xasprintf("%lld-%p", (long long)guard_now_us(),
	    (void *)p);
	rec->app = p->app;
	rec->version = d->version;
	rec->digest = d->digest;
	rec->image_ref = img->ref;
	rec->image_id = img->found ? img->info.id : NULL;
	rec->container_name = p->container_name;
	rec->token = p->fl.token;
	rec->time_ms = guard_now_us() / 1000;
}

bool
guard_fleet_commit(struct decision *p)
{
	struct fleet_claim *c = p->fl.claim;
	const struct guard_image *img = p->look.n_images > 0
	    ? &p->look.images[0]
	    : NULL;
	struct fleet_record rec = { 0 };

	if (c == NULL)
		return false;
	p->fl.claim = NULL;
	if (!p->fl.locked || p->status != 0 || p->dry_run || !deploys(p) ||
	    img == NULL || img->decision.version == NULL) {
		fleet_claim_release(c);
		return false;
	}
	record_of(p, img, &img->decision, &rec);
	p->fl.committing = true;
	fleet_claim_commit(c, &rec, committed_cb, p);
	return true;
}

static void
verdict_free(struct decide_verdict *v)
{
	if (v == NULL)
		return;
	decide_verdict_reset(v);
	free(v);
}

/* Another claim came between the read and the commit: read the history
 * again, under the app's lock this time, and decide again. */
static void
decide_again_locked(struct decision *p)
{
	log_debug("fleet ledger: app \"%s\" changed while it was decided; "
		  "deciding again under its lock",
	    p->app);
	free(p->fl.token);
	p->fl.token = NULL;
	fleet_history_reset(&p->fl.hist);
	p->fl.read = false;
	p->fl.locked = true;
	guard_decide(p);
}

/* The optimistic claim's commit answered: take the verdict, or decide
 * again. */
static void
recorded_cb(enum fleet_commit_result r, const char *cause, void *arg)
{
	struct decision *p = arg;
	struct decide_verdict *v = p->fl.verdict;

	p->fl.verdict = NULL;
	p->fl.committing = false;
	if (p->fl.cancelled) {
		/* The client left: nothing will run; drop the claim row. */
		if (r == FLEET_COMMIT_RECORDED)
			fleet_claim_outcome(p->g->fleet, p->app, p->fl.token, 0,
			    NULL);
		verdict_free(v);
		guard_decision_free(p);
		return;
	}
	if (r == FLEET_COMMIT_STALE ||
	    (r == FLEET_COMMIT_FAILED &&
		refuse_unrecorded(p, cause != NULL ? cause : "failed"))) {
		verdict_free(v);
		if (r == FLEET_COMMIT_STALE)
			decide_again_locked(p);
		return;
	}
	guard_decide_take(p, v);
	free(v);
}

bool
guard_fleet_record(struct decision *p, struct decide_verdict *v)
{
	struct fleet_claim *c = p->fl.claim;
	const struct guard_image *img = p->look.n_images > 0
	    ? &p->look.images[0]
	    : NULL;
	const struct policy_decision *d = v->n_rows > 0 ? &v->rows[0].decision
							: NULL;
	struct fleet_record rec = { 0 };

	if (c == NULL || p->fl.locked || v->status != 0 || p->dry_run ||
	    !deploys(p) || img == NULL || d == NULL || d->version == NULL)
		return false;
	p->fl.claim = NULL;
	record_of(p, img, d, &rec);
	p->fl.verdict = xmalloc(sizeof *p->fl.verdict);
	*p->fl.verdict = *v;
	memset(v, 0, sizeof *v);
	p->fl.committing = true;
	fleet_claim_commit(c, &rec, recorded_cb, p);
	return true;
}

void
guard_fleet_outcome(struct decision *p, int status, const char *key)
{
	struct fleet *f = p->g->fleet;

	if (f == NULL)
		return;
	if (p->fl.token != NULL)
		fleet_claim_outcome(f, p->app, p->fl.token, status, key);
	fleet_ship_soon(f);
}

void
guard_fleet_forget(struct decision *p)
{
	if (p->fl.claim != NULL) {
		if (p->fl.read)
			fleet_claim_release(p->fl.claim);
		else
			fleet_claim_abandon(p->fl.claim);
	}
	p->fl.claim = NULL;
	fleet_history_reset(&p->fl.hist);
	verdict_free(p->fl.verdict);
	p->fl.verdict = NULL;
	free(p->fl.unreachable);
	p->fl.unreachable = NULL;
	free(p->fl.token);
	p->fl.token = NULL;
}
