/*
 * The decision on a request whose images are looked up (guard_int.h):
 * read the app's history from the ledger, hand the facts to decide.c,
 * take its verdict, audit and log each image's row, then restore or
 * deliver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "guard_int.h"
#include "log.h"
#include "policy.h"
#include "registry.h"
#include "store.h"
#include "xmalloc.h"

static enum policy_registry_outcome
policy_outcome(enum registry_outcome o)
{
	switch (o) {
	case REGISTRY_PRESENT:
		return POLICY_REGISTRY_PRESENT;
	case REGISTRY_ABSENT:
		return POLICY_REGISTRY_ABSENT;
	case REGISTRY_UNAUTHORIZED:
		return POLICY_REGISTRY_UNAUTHORIZED;
	case REGISTRY_RATE_LIMITED:
		return POLICY_REGISTRY_RATE_LIMITED;
	case REGISTRY_UNREACHABLE:
		return POLICY_REGISTRY_UNREACHABLE;
	}
	return POLICY_REGISTRY_UNREACHABLE;
}

/* What the registry said of img, as policy reads it (borrowing). */
static const struct policy_registry *
registry_facts(const struct guard_image *img, struct policy_registry *pr)
{
	if (!img->reg_checked)
		return NULL;
	memset(pr, 0, sizeof *pr);
	pr->checked = true;
	pr->outcome = policy_outcome(img->reg_outcome);
	pr->checked_ref = img->reg_ref;
	pr->digest = img->reg_digest;
	pr->detail = img->reg_detail;
	pr->missing_digest = img->reg_missing_digest;
	pr->missing_platform = img->reg_missing_platform;
	pr->version = img->reg_version;
	pr->labels = img->reg_labels;
	pr->n_labels = img->reg_n_labels;
	pr->env = (const char *const *)img->reg_env;
	pr->n_env = img->reg_n_env;
	return pr;
}

/* Read the app's history; 0, or -1 with the ledger error logged.  With
 * a shared ledger, every host's history (p->fl.hist) comes first, then
 * this host's own rows (which may not have been shipped yet). */
static int
read_history(struct decision *p, struct store_versions *hist,
    struct policy_seen **seen, size_t *n_seen)
{
	const struct fleet_history *fh = &p->fl.hist;
	char *cause = NULL;
	size_t n = 0;

	*seen = NULL;
	*n_seen = 0;
	if (p->app != NULL &&
	    store_app_versions(p->g->store, p->app, hist, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return -1;
	}
	if (hist->n + fh->n == 0)
		return 0;
	*seen = xcalloc(hist->n + fh->n, sizeof **seen);
	for (size_t i = 0; i < fh->n; i++, n++) {
		(*seen)[n].version = fh->items[i].version;
		(*seen)[n].since = fh->items[i].since;
		(*seen)[n].digest = fh->items[i].digest;
		(*seen)[n].host = fh->items[i].host;
	}
	for (size_t i = 0; i < hist->n; i++, n++) {
		(*seen)[n].version = hist->items[i].version;
		(*seen)[n].since = hist->items[i].since;
		(*seen)[n].digest = hist->items[i].digest;
	}
	*n_seen = n;
	return 0;
}

static enum store_verdict
store_verdict_of(enum policy_verdict v)
{
	switch (v) {
	case POLICY_DENY:
		return STORE_DENY;
	case POLICY_WARN:
		return STORE_WARN;
	default:
		return STORE_ALLOW;
	}
}

/* Take the verdict v (emptied) into p: status, message, warnings, each
 * image's decision; audit and log each image's row. */
static void
take_verdict(struct decision *p, struct decide_verdict *v)
{
	free(p->message);
	p->status = v->status;
	p->message = v->message;
	v->message = NULL;
	p->warnings = v->warnings;
	p->n_warnings = v->n_warnings;
	v->warnings = NULL;
	v->n_warnings = 0;
	for (size_t i = 0; i < p->look.n_images && i < v->n_rows; i++) {
		struct guard_image *img = &p->look.images[i];
		const struct decide_row *row = &v->rows[i];
		const struct policy_decision *d = &img->decision;

		policy_decision_reset(&img->decision);
		img->decision = row->decision;
		memset(&v->rows[i].decision, 0, sizeof v->rows[i].decision);
		if (row->audit)
			guard_audit(p, img, store_verdict_of(d->verdict),
			    row->rule, row->message);
		if (d->verdict == POLICY_DENY)
			log_info("%s", d->message);
		else if (d->note != NULL)
			log_info("allowing %s %s: %s", p->action, img->ref,
			    d->note);
	}
}

/* Refuse: the local ledger cannot be read. */
static void
refuse_unreadable(struct decision *p)
{
	char who[300];

	guard_refuse(p, 503, "ledger",
	    xasprintf("docker-guard: refusing to "
		      "%s %s: the version ledger cannot be read (database "
		      "error, see the guard's log), so a downgrade cannot be "
		      "ruled out",
		p->action, guard_subject(p, who, sizeof who)));
}

/* The images, as decide.c reads them (borrowing from p). */
static void
decide_images(struct decision *p, struct decide_image *imgs,
    struct policy_registry *regs)
{
	for (size_t i = 0; i < p->look.n_images; i++) {
		imgs[i].ref = p->look.images[i].ref;
		imgs[i].role = p->look.images[i].role;
		imgs[i].info = p->look.images[i].found ? &p->look.images[i].info
						       : NULL;
		imgs[i].registry = registry_facts(&p->look.images[i], &regs[i]);
	}
}

/* The shared ledger was unreachable and p goes on anyway: say so. */
static void
warn_unreachable(struct decision *p)
{
	if (p->fl.unreachable == NULL || p->status != 0)
		return;
	p->warnings = xreallocarray(p->warnings, p->n_warnings + 1,
	    sizeof *p->warnings);
	p->warnings[p->n_warnings++] = xasprintf(
	    "docker-guard: the fleet ledger cannot be reached (%s); judged "
	    "on this host's history only (ledger_unreachable = allow)",
	    p->fl.unreachable);
}

/* All images are looked up: read the history, decide, record. */
void
guard_decide(struct decision *p)
{
	struct store_versions hist = { 0 };
	struct policy_seen *seen = NULL;
	struct decide_input in = { 0 };
	struct decide_verdict v;
	struct decide_image *imgs;
	struct policy_registry *regs;

	if (guard_ledger_settle(p) || guard_fleet_read(p) ||
	    guard_fleet_unreachable(p))
		return;
	if (read_history(p, &hist, &seen, &in.n_history) != 0) {
		if (guard_ledger_read_again(p))
			return;
		refuse_unreadable(p);
		return;
	}
	imgs = xcalloc(p->look.n_images + 1, sizeof *imgs);
	regs = xcalloc(p->look.n_images + 1, sizeof *regs);
	decide_images(p, imgs, regs);
	in.cfg = guard_cfg(p->g);
	in.route = p->route;
	in.action = p->action;
	in.what = p->what;
	in.app = p->app;
	in.facts = &p->facts;
	in.images = imgs;
	in.n_images = p->look.n_images;
	in.history = seen;
	decide_eval(&in, &v);
	free(imgs);
	free(regs);
	free(seen);
	store_versions_reset(&hist);
	if (!guard_fleet_record(p, &v))
		guard_decide_take(p, &v);
}

void
guard_decide_take(struct decision *p, struct decide_verdict *v)
{
	take_verdict(p, v);
	warn_unreachable(p);
	p->fl.restore = v->restore && !p->dry_run;
	decide_verdict_reset(v);
	if (!guard_fleet_commit(p))
		guard_decide_finish(p);
}

void
guard_decide_finish(struct decision *p)
{
	if (p->fl.restore) {
		p->fl.restore = false;
		guard_restore_begin(p);
		return;
	}
	guard_deliver(p);
}
