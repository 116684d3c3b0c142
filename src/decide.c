/*
 * The verdict on a guarded request from its facts (see decide.h): policy
 * over each image, combined into one answer.
 */
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "xmalloc.h"

/* A start or restart: the container exists, its image is here. */
static bool
runs_existing(enum route_id id)
{
	return route_traits(id)->runs_existing;
}

static void
add_warning(struct decide_verdict *v, const char *w)
{
	v->warnings = xreallocarray(v->warnings, v->n_warnings + 1,
	    sizeof *v->warnings);
	v->warnings[v->n_warnings++] = xstrdup(w);
}

/* The policy input for image i of in (cfg: the rules in force). */
static void
image_input(const struct decide_input *in, const struct guard_config *cfg,
    size_t i, const struct policy_image *pi, struct policy_input *out)
{
	const struct decide_image *img = &in->images[i];

	memset(out, 0, sizeof *out);
	out->cfg = cfg;
	out->action = in->action;
	out->what = in->what;
	out->app = in->app;
	out->image_ref = img->ref;
	out->image = pi;
	/* Only the image the container runs carries the app's version;
	   mounted images are checked for pinning. */
	out->history = i == 0 ? in->history : NULL;
	out->n_history = i == 0 ? in->n_history : 0;
	out->role = i > 0 ? img->role : NULL;
	out->allow_downgrade = body_facts_label(in->facts,
	    POLICY_LABEL_ALLOW_DOWNGRADE);
	out->allow_tag = body_facts_label(in->facts, POLICY_LABEL_ALLOW_TAG);
	out->existing = runs_existing(in->route);
	out->registry = img->registry;
}

/* Fold row i's decision into the verdict. */
static void
combine(const struct decide_input *in, struct decide_verdict *v, size_t i)
{
	struct decide_row *row = &v->rows[i];
	const struct policy_decision *d = &row->decision;

	if (d->verdict == POLICY_WARN)
		add_warning(v, d->message);
	if (d->verdict != POLICY_DENY && d->warning != NULL)
		add_warning(v, d->warning);
	if (d->verdict == POLICY_DENY && v->status == 0) {
		v->status = d->status;
		v->message = xstrdup(d->message);
		v->rule = d->rule;
		v->named = i;
	}
	/* A start that runs what its create was allowed to run is no new
	   decision: the create's row says it. */
	row->audit = !runs_existing(in->route) || d->verdict != POLICY_ALLOW ||
	    d->override_used;
	row->rule = d->rule != NULL ? d->rule
	    : d->override_used	    ? "override"
				    : d->note_rule;
	row->message = d->message != NULL ? d->message : d->note;
}

void
decide_eval(const struct decide_input *in, struct decide_verdict *out)
{
	const struct guard_config *cfg = in->cfg;
	struct guard_config start_cfg;

	memset(out, 0, sizeof *out);
	if (runs_existing(in->route)) {
		/* The container exists and its image is here: how it was
		   named and where it came from were judged at its create.
		   Only its version against the app's history counts now. */
		start_cfg = *cfg;
		start_cfg.require_digest = RULE_OFF;
		start_cfg.registry_presence = RULE_OFF;
		start_cfg.local_images_allow = true;
		start_cfg.unknown_version_allow = true;
		cfg = &start_cfg;
	}
	out->rows = xcalloc(in->n_images > 0 ? in->n_images : 1,
	    sizeof *out->rows);
	out->n_rows = in->n_images;
	for (size_t i = 0; i < in->n_images; i++) {
		struct policy_image pi = { 0 };
		struct policy_input pin;

		if (in->images[i].info != NULL)
			policy_image_of(&pi, in->images[i].info);
		image_input(in, cfg, i, &pi, &pin);
		policy_evaluate(&pin, &out->rows[i].decision);
		combine(in, out, i);
	}
	out->restore = out->status == 403 &&
	    in->route == ROUTE_CONTAINER_CREATE && in->app != NULL &&
	    in->cfg->restore_on_refusal;
}

void
decide_verdict_reset(struct decide_verdict *v)
{
	for (size_t i = 0; i < v->n_rows; i++)
		policy_decision_reset(&v->rows[i].decision);
	free(v->rows);
	for (size_t i = 0; i < v->n_warnings; i++)
		free(v->warnings[i]);
	free(v->warnings);
	free(v->message);
	memset(v, 0, sizeof *v);
}

char *
decide_restore_refusal(const char *ref, const struct policy_decision *d,
    const char *message)
{
	if (d->rule != NULL && strcmp(d->rule, "downgrade") == 0 &&
	    d->version != NULL && d->previous_version != NULL)
		return xasprintf("its image %s is version %s, older than %s "
				 "which this app has run (rule: downgrade)",
		    ref, d->version, d->previous_version);
	return xasprintf("its image %s would be refused too (%s)", ref,
	    message != NULL ? message : "no decision");
}
