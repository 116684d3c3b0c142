/*
 * The drift watch (drift.h): a round asks the engine its platform and
 * running containers, then, one container after the other, the ledger
 * for its deployment and the registry for its image and its tag;
 * drift_eval.c decides, and what changed is audited and notified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "drift.h"
#include "drift_eval.h"
#include "engine.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "notify.h"
#include "policy.h"
#include "registry.h"
#include "store.h"
#include "xmalloc.h"

/* One container being checked: its deployment and what the registry
 * said (owned copies). */
struct drift_item {
	char *container_id, *name, *app, *image_ref, *repo_digest, *version;
	bool have_row;
	struct drift_target target;
	bool checked;
	enum registry_outcome outcome;
	char *detail, *missing_digest, *missing_platform;
	bool tag_checked;
	enum registry_outcome tag_outcome;
	char *tag_digest, *tag_version;
};

/* The meta table's key for what has been reported (drift_state_dump). */
#define DRIFT_SEEN_KEY "drift_seen"

struct drift {
	struct event_base *base;
	const struct guard_config *const *cfg;
	struct registry *reg;
	struct ledger *ledger;
	struct notify *notify;
	struct event *timer;
	unsigned interval;  /* armed for; 0: idle */
	bool running;	    /* a round is under way */
	int64_t last_round; /* unix seconds a round last completed; 0 */

	struct engine_req *req;
	struct registry_check *check;
	struct registry_platform plat;
	char platform[100]; /* "linux/amd64" */
	char **ids;	    /* running containers, NULL-terminated */
	size_t n_ids;
	size_t pos;    /* next index into ids */
	size_t todo;   /* containers left this round */
	size_t offset; /* where the next round starts */
	struct drift_item cur;
	struct drift_state state;
};

static void next_container(struct drift *d);

static const struct guard_config *
cfg_of(const struct drift *d)
{
	return *d->cfg;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
item_reset(struct drift_item *it)
{
	free(it->container_id);
	free(it->name);
	free(it->app);
	free(it->image_ref);
	free(it->repo_digest);
	free(it->version);
	drift_target_reset(&it->target);
	free(it->detail);
	free(it->missing_digest);
	free(it->missing_platform);
	free(it->tag_digest);
	free(it->tag_version);
	memset(it, 0, sizeof *it);
}

static void
ids_free(struct drift *d)
{
	for (size_t i = 0; i < d->n_ids; i++)
		free(d->ids[i]);
	free(d->ids);
	d->ids = NULL;
	d->n_ids = 0;
}

/* ---- the timer ----------------------------------------------------------- */

static void
arm(struct drift *d)
{
	struct timeval tv = { 0, 0 };

	d->interval = cfg_of(d)->drift_interval;
	if (d->interval == 0) {
		evtimer_del(d->timer);
		return;
	}
	tv.tv_sec = d->interval;
	evtimer_add(d->timer, &tv);
}

/* The round is over (completed: it got the containers' list): remember
 * where it stopped, arm the next. */
static void
round_end(struct drift *d, bool completed)
{
	if (d->n_ids > 0)
		d->offset = d->pos;
	ids_free(d);
	item_reset(&d->cur);
	d->running = false;
	if (completed) {
		d->last_round = (int64_t)time(NULL);
		metrics_drift_round();
	}
	log_debug("drift: round %s", completed ? "done" : "given up");
	arm(d);
}

/* ---- reporting ------------------------------------------------------------ */

static void
host_name(const struct drift *d, char *buf, size_t size)
{
	if (cfg_of(d)->host_name != NULL) {
		snprintf(buf, size, "%s", cfg_of(d)->host_name);
		return;
	}
	if (gethostname(buf, size) != 0)
		snprintf(buf, size, "?");
	buf[size - 1] = '\0';
}

/* Keep what has been reported in the ledger (the meta table). */
static void
save_seen(struct drift *d)
{
	struct store_write w = { 0 };
	char *seen = drift_state_dump(&d->state);

	w.meta_key = DRIFT_SEEN_KEY;
	w.meta_value = seen;
	ledger_write(d->ledger, &w, NULL, NULL);
	free(seen);
}

/* What an earlier run reported and has not seen resolved.  Unreadable:
 * start afresh (a standing finding is reported once more). */
static void
load_seen(struct drift *d)
{
	char *text = NULL, *cause = NULL;

	if (store_meta_get(ledger_store(d->ledger), DRIFT_SEEN_KEY, &text,
		&cause) != 0) {
		log_warn("drift: cannot read what was reported before: %s",
		    cause);
		free(cause);
		return;
	}
	if (text != NULL && drift_state_load(&d->state, text) != 0)
		log_warn("drift: what was reported before is unreadable; "
			 "starting afresh");
	free(text);
}

/* Audit one change and send it to the webhook. */
static void
report(struct drift *d, const struct drift_facts *f, enum drift_kind kind,
    const struct drift_verdict *v, bool resolved)
{
	struct store_write w = { 0 };
	struct store_audit a = { 0 };
	struct drift_event e = { 0 };
	char host[256], *json, *seen;
	int64_t t = now_ms();
	const char *text = v->message;

	/* The log says who it is already. */
	if (strncmp(text, "docker-guard: ", 14) == 0)
		text += 14;
	if (resolved)
		log_info("%s", text);
	else
		log_warn("%s", text);
	a.time_ms = t;
	a.method = "WATCH";
	a.route = "drift";
	a.app = f->app;
	a.image_ref = f->image_ref;
	a.digest = kind == DRIFT_NEWER && !resolved ? f->tag_digest
						    : f->target->checked_ref;
	a.version = f->version;
	a.rule = "drift";
	a.verdict = resolved ? STORE_ALLOW : STORE_WARN;
	a.message = v->message;
	w.audit = &a;
	/* What has been reported goes with the row that reports it: after
	   a restart the watch neither repeats it nor misses its end. */
	w.meta_key = DRIFT_SEEN_KEY;
	w.meta_value = seen = drift_state_dump(&d->state);
	ledger_write(d->ledger, &w, NULL, NULL);
	free(seen);
	/* The row counts as a decision (ledger_write); the finding too. */
	if (!resolved)
		metrics_drift_finding(kind == DRIFT_NEWER
			? METRICS_DRIFT_NEWER
			: METRICS_DRIFT_MISSING);
	host_name(d, host, sizeof host);
	e.kind = kind;
	e.resolved = resolved;
	e.time_ms = t;
	e.host = host;
	e.facts = f;
	e.message = v->message;
	e.newer = v->newer;
	json = drift_payload(&e);
	notify_send(d->notify, json);
	free(json);
}

/* Both checks are in for the current container: decide and report. */
static void
evaluate(struct drift *d)
{
	struct drift_item *it = &d->cur;
	struct drift_facts f = { 0 };
	struct drift_result r;

	f.container_id = it->container_id;
	f.container_name = it->name;
	f.app = it->app;
	f.image_ref = it->image_ref;
	f.platform = d->platform;
	f.target = &it->target;
	f.version = it->version;
	f.checked = it->checked;
	f.outcome = it->outcome;
	f.detail = it->detail;
	f.missing_digest = it->missing_digest;
	f.missing_platform = it->missing_platform;
	f.tag_checked = it->tag_checked;
	f.tag_outcome = it->tag_outcome;
	f.tag_digest = it->tag_digest;
	f.tag_version = it->tag_version;
	drift_eval(&f, &r);
	for (int k = 0; k < DRIFT_NKINDS; k++) {
		switch (drift_state_apply(&d->state, it->container_id,
		    (enum drift_kind)k, &r.v[k])) {
		case DRIFT_APPEARED:
			report(d, &f, (enum drift_kind)k, &r.v[k], false);
			break;
		case DRIFT_RESOLVED:
			report(d, &f, (enum drift_kind)k, &r.v[k], true);
			break;
		case DRIFT_SAME:
			break;
		}
	}
	drift_result_reset(&r);
	item_reset(it);
	next_container(d);
}

/* ---- the registry --------------------------------------------------------- */

/* The tag's version by the guard's version rules, from the registry's
 * annotation or config blob (an image the engine need not have). */
static char *
tag_version(const struct drift *d, const struct registry_result *r,
    const char *tag_ref, const char *app)
{
	struct policy_image none = { 0 };
	struct policy_registry pr = { 0 };
	struct body_label *labels = NULL;
	size_t n_labels = 0, n_env = 0;
	const char *source;
	char *v;

	for (size_t i = 0;
	     r->config_labels != NULL && r->config_labels[i] != NULL; i++) {
		const char *eq = strchr(r->config_labels[i], '=');

		if (eq == NULL)
			continue;
		labels = xreallocarray(labels, n_labels + 1, sizeof *labels);
		labels[n_labels].key = xstrndup(r->config_labels[i],
		    (size_t)(eq - r->config_labels[i]));
		labels[n_labels++].value = xstrdup(eq + 1);
	}
	while (r->config_env != NULL && r->config_env[n_env] != NULL)
		n_env++;
	pr.checked = true;
	pr.outcome = POLICY_REGISTRY_PRESENT;
	pr.checked_ref = tag_ref;
	pr.digest = r->digest;
	pr.version = r->version;
	pr.labels = labels;
	pr.n_labels = n_labels;
	pr.env = r->config_env;
	pr.n_env = n_env;
	v = policy_version(cfg_of(d), &none, &pr, tag_ref, app, &source);
	for (size_t i = 0; i < n_labels; i++) {
		free(labels[i].key);
		free(labels[i].value);
	}
	free(labels);
	return v;
}

static void
tag_cb(const struct registry_result *r, void *arg)
{
	struct drift *d = arg;
	struct drift_item *it = &d->cur;

	d->check = NULL; /* counted by the registry (metrics.h) */
	it->tag_checked = true;
	it->tag_outcome = r->outcome;
	it->tag_digest = xstrdup_or_null(r->digest);
	if (r->outcome == REGISTRY_PRESENT)
		it->tag_version = tag_version(d, r, it->target.tag_ref,
		    it->app);
	evaluate(d);
}

static void
image_cb(const struct registry_result *r, void *arg)
{
	struct drift *d = arg;
	struct drift_item *it = &d->cur;

	d->check = NULL; /* counted by the registry (metrics.h) */
	it->checked = true;
	it->outcome = r->outcome;
	it->detail = xstrdup_or_null(r->detail);
	it->missing_digest = xstrdup_or_null(r->missing_digest);
	it->missing_platform = xstrdup_or_null(r->missing_platform);
	if (r->outcome != REGISTRY_PRESENT && r->outcome != REGISTRY_ABSENT)
		log_info("drift: cannot check %s: the registry %s (%s)",
		    it->target.checked_ref, registry_outcome_name(r->outcome),
		    r->detail != NULL ? r->detail : "no answer");
	if (it->target.tag != NULL) {
		d->check = registry_check(d->reg, it->target.domain,
		    it->target.path, it->target.tag, &d->plat,
		    REGISTRY_WANT_CONFIG | REGISTRY_FRESH, tag_cb, d);
		return;
	}
	evaluate(d);
}

/* ---- the containers ------------------------------------------------------- */

static void
row_cb(const struct store_deployment_row *row, void *arg)
{
	struct drift_item *it = arg;

	it->have_row = true;
	it->name = xstrdup_or_null(row->container_name);
	it->app = xstrdup_or_null(row->app);
	it->image_ref = xstrdup_or_null(row->image_ref);
	it->repo_digest = xstrdup_or_null(row->repo_digest);
	it->version = xstrdup_or_null(row->version);
}

/* Start checking container id; false if there is nothing to check (the
 * ledger lacks it, or its image is in no registry). */
static bool
start_container(struct drift *d, const char *id)
{
	struct drift_item *it = &d->cur;
	char *cause = NULL;

	item_reset(it);
	it->container_id = xstrdup(id);
	if (store_deployment_of(ledger_store(d->ledger), id, row_cb, it,
		&cause) != 0) {
		log_error("drift: ledger: %s", cause);
		free(cause);
		return false;
	}
	if (!it->have_row) {
		log_debug("drift: %.12s is not in the ledger yet", id);
		return false;
	}
	if (drift_target(it->image_ref, it->repo_digest, &it->target) != 0) {
		log_debug("drift: %.12s runs %s, which no registry has (built "
			  "or loaded here)",
		    id, it->image_ref);
		return false;
	}
	d->check = registry_check(d->reg, it->target.domain, it->target.path,
	    it->target.digest, &d->plat, REGISTRY_FRESH, image_cb, d);
	return true;
}

static void
next_container(struct drift *d)
{
	while (d->todo > 0) {
		const char *id = d->ids[d->pos];

		d->pos = (d->pos + 1) % d->n_ids;
		d->todo--;
		if (start_container(d, id))
			return; /* image_cb goes on */
	}
	round_end(d, true);
}

/* Forget the findings of containers that no longer run, in the ledger
 * too. */
static void
forget_stopped(struct drift *d)
{
	size_t before = d->state.n;

	drift_state_prune(&d->state, d->ids, d->n_ids);
	if (d->state.n != before)
		save_seen(d);
}

static void
list_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct drift *d = arg;
	char **ids;
	unsigned cap = cfg_of(d)->drift_max_containers;

	d->req = NULL;
	if (status != 200 || (ids = inspect_container_ids(body, len)) == NULL) {
		log_warn("drift: cannot list the running containers: %s",
		    error != NULL ? error : "unexpected answer");
		round_end(d, false);
		return;
	}
	d->ids = ids;
	while (ids[d->n_ids] != NULL)
		d->n_ids++;
	forget_stopped(d);
	if (d->n_ids == 0) {
		round_end(d, true);
		return;
	}
	d->pos = d->offset % d->n_ids;
	d->todo = d->n_ids < cap ? d->n_ids : cap;
	if (d->n_ids > cap)
		log_debug("drift: %zu containers run; checking %u this round",
		    d->n_ids, cap);
	next_container(d);
}

static void
info_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct drift *d = arg;
	char os[32], arch[32];

	d->req = NULL;
	if (status == 200 &&
	    inspect_info_platform(body, len, os, sizeof os, arch,
		sizeof arch) == 0) {
		manifest_normalize_platform(os, arch, d->plat.os,
		    sizeof d->plat.os, d->plat.arch, sizeof d->plat.arch,
		    d->plat.variant, sizeof d->plat.variant);
	} else {
		log_warn("drift: cannot read the engine's platform (%s); "
			 "skipping this round",
		    error != NULL ? error : "bad answer");
		round_end(d, false);
		return;
	}
	snprintf(d->platform, sizeof d->platform, "%s/%s%s%s", d->plat.os,
	    d->plat.arch, d->plat.variant[0] ? "/" : "", d->plat.variant);
	d->req = engine_get(d->base, cfg_of(d)->upstream, "/containers/json",
	    list_cb, d);
}

static void
round_cb(evutil_socket_t fd, short what, void *arg)
{
	struct drift *d = arg;

	if (d->running || cfg_of(d)->drift_interval == 0)
		return;
	d->running = true;
	log_debug("drift: round starts");
	d->req = engine_get(d->base, cfg_of(d)->upstream, "/info", info_cb, d);
}

/* ---- life cycle ----------------------------------------------------------- */

struct drift *
drift_new(struct event_base *base, const struct guard_config *const *cfg,
    struct registry *reg, struct ledger *l)
{
	struct drift *d = xcalloc(1, sizeof *d);

	d->base = base;
	d->cfg = cfg;
	d->reg = reg;
	d->ledger = l;
	d->notify = notify_new(base);
	d->timer = evtimer_new(base, round_cb, d);
	load_seen(d);
	drift_reconfigure(d);
	return d;
}

void
drift_reconfigure(struct drift *d)
{
	const struct guard_config *cfg = cfg_of(d);
	char where[160];

	notify_configure(d->notify, cfg->notify_url, cfg->notify_timeout,
	    cfg->notify_tries);
	if (cfg->drift_interval == d->interval)
		return;
	if (cfg->drift_interval == 0)
		log_info("drift watch: off");
	else
		log_info("drift watch: every %u s, at most %u containers a "
			 "round%s%s",
		    cfg->drift_interval, cfg->drift_max_containers,
		    cfg->notify_url != NULL ? ", notices to " : "",
		    cfg->notify_url != NULL
			? notify_url_redacted(cfg->notify_url, where,
			      sizeof where)
			: "");
	if (!d->running)
		arm(d); /* a round under way arms the next when it ends */
}

void
drift_free(struct drift *d)
{
	if (d == NULL)
		return;
	engine_cancel(d->req);
	registry_cancel(d->check);
	event_free(d->timer);
	ids_free(d);
	item_reset(&d->cur);
	drift_state_reset(&d->state);
	notify_free(d->notify);
	free(d);
}

int64_t
drift_last_round(const struct drift *d)
{
	return d != NULL ? d->last_round : 0;
}
