/*
 * The fleet's part of a decision (guard_int.h), when guard.conf names a
 * shared ledger: before deciding, the app's history of every host is read
 * under the app's fleet-wide lock (a claim, fleet.h); after deciding, the
 * version an allowed request runs is recorded in the same transaction,
 * or the lock is let go.  The engine's answer closes the claim.
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
	guard_decide(p);
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

bool
guard_fleet_read(struct decision *p)
{
	struct fleet *f = p->g->fleet;

	if (f == NULL || p->app == NULL || p->fl.read)
		return false;
	if (p->fl.claim == NULL) {
		p->fl.claim = fleet_claim_begin(f, p->app, history_cb, p);
		return true;
	}
	return true; /* still reading */
}

bool
guard_fleet_unreachable(struct decision *p)
{
	if (p->fl.unreachable == NULL)
		return false;
	if (guard_cfg(p->g)->ledger_unreachable_allow) {
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

static void
committed_cb(bool ok, const char *cause, void *arg)
{
	struct decision *p = arg;

	p->fl.committing = false;
	if (p->fl.cancelled) {
		/* The client left: nothing will run; drop the claim row. */
		if (ok)
			fleet_claim_outcome(p->g->fleet, p->fl.token, 0, NULL);
		guard_decision_free(p);
		return;
	}
	if (!ok) {
		char who[300];

		free(p->fl.token);
		p->fl.token = NULL;
		log_error("fleet ledger: recording app \"%s\": %s", p->app,
		    cause);
		if (!guard_cfg(p->g)->ledger_unreachable_allow) {
			guard_refuse(p, 503, "ledger_unreachable",
			    xasprintf(
				"docker-guard: refusing to %s %s: its version "
				"could not be recorded in the fleet ledger "
				"(%s); nothing runs unrecorded "
				"(ledger_unreachable = deny)",
				p->action, guard_subject(p, who, sizeof who),
				cause));
			return;
		}
	}
	guard_decide_finish(p);
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
	if (p->status != 0 || p->dry_run || !deploys(p) || img == NULL ||
	    img->decision.version == NULL) {
		fleet_claim_release(c);
		return false;
	}
	p->fl.token = xasprintf("%lld-%p", (long long)guard_now_us(),
	    (void *)p);
	rec.app = p->app;
	rec.version = img->decision.version;
	rec.digest = img->decision.digest;
	rec.image_ref = img->ref;
	rec.image_id = img->found ? img->info.id : NULL;
	rec.container_name = p->container_name;
	rec.token = p->fl.token;
	rec.time_ms = guard_now_us() / 1000;
	p->fl.committing = true;
	fleet_claim_commit(c, &rec, committed_cb, p);
	return true;
}

void
guard_fleet_outcome(struct decision *p, int status, const char *key)
{
	struct fleet *f = p->g->fleet;

	if (f == NULL)
		return;
	if (p->fl.token != NULL)
		fleet_claim_outcome(f, p->fl.token, status, key);
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
	free(p->fl.unreachable);
	p->fl.unreachable = NULL;
	free(p->fl.token);
	p->fl.token = NULL;
}
