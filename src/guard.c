/*
 * The decision on guarded requests: read the body as the engine will,
 * ask the engine what each image reference resolves to, read the app's
 * history from the ledger, let policy decide, audit every decision, and
 * record what the engine created.  Data flows one way: facts in, verdict
 * out, outcome recorded.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "body_inspect.h"
#include "decide.h"
#include "dockerfile.h"
#include "engine.h"
#include "form.h"
#include "guard.h"
#include "http_head.h"
#include "imgref.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "manifest.h"
#include "monitor.h"
#include "path_policy.h"
#include "policy.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "verify.h"
#include "xmalloc.h"

/* The engine's image inspect for a pinned reference (content-addressed:
   its ID, labels and env cannot change), kept briefly so a burst of
   creates does not ask again each time. */
#define INSPECT_CACHE_TTL 60
#define INSPECT_CACHE_MAX 256

struct inspect_cached {
	TAILQ_ENTRY(inspect_cached) entry;
	char *ref;
	char *body;
	size_t len;
	int64_t expires;
};

struct guard {
	TAILQ_HEAD(, inspect_cached) inspects;
	TAILQ_HEAD(, decision) detached; /* checks whose client left */
	size_t n_inspects;
	struct event_base *base;
	const struct guard_config *const *cfg; /* the caller's current */
	struct store *store;
	struct ledger *ledger; /* writes */
	struct registry *registry;
	struct monitor *monitor;
	struct registry_platform platform; /* the engine's, from /info */
	bool have_platform;
};

/* The configuration in force now (swapped on SIGHUP). */
static const struct guard_config *
guard_cfg(const struct guard *g)
{
	return *g->cfg;
}

/* One image reference of the request and what the engine says of it. */
struct guard_image {
	char *ref;
	char *lookup;	  /* what to inspect, if not ref
						   (a container's image ID) */
	const char *role; /* "image", "image mount", ... */
	bool found;
	struct inspect_image info;
	struct policy_decision decision;

	/* What the registry said (owned copies). */
	bool reg_checked;
	enum registry_outcome reg_outcome;
	char *reg_ref;
	char *reg_digest;
	char *reg_detail;
	char *reg_missing_digest;
	char *reg_missing_platform;
	char *reg_version;
	struct body_label *reg_labels;
	size_t reg_n_labels;
	char **reg_env;
	size_t reg_n_env;
};

/* Looking up the request's images: the engine, then the registry. */
struct guard_lookups {
	struct guard_image *images; /* [0] is what runs */
	size_t n_images;
	size_t next; /* next image to look up */
	struct registry_check *reg_check;
	char *platform_query; /* ?platform= of a create */
};

/* POST /images/create, and the images a build or plugin pulls. */
struct guard_pull {
	char *from_image;
	char *from_tag;
	char *from_src;
	char *import_repo;
	char *ref;
	char *digest; /* the tag's digest, if asked */
	/* Builds, BuildKit and plugins (path_policy.h) */
	struct path_decision path;
	struct dockerfile_images build_imgs; /* base images to judge */
	size_t build_next;
	char *build_df; /* the Dockerfile's path */
};

/* Starts go to the judged container by its full ID. */
struct guard_start {
	char *target;
	char *route_version;
	char *route_query;
};

/* Removals keep the configuration of what they remove (snapshots). */
struct guard_removal {
	char **prune_ids; /* prune: the stopped ones */
	size_t prune_next;
};

/* Restoring the previous container after a refusal. */
struct guard_restore {
	int64_t snapshot_id;
	char *name;
	char *id;
	bool start;
	char *body;		 /* the create that restores */
	struct decision *child;	 /* judging what is restored */
	struct decision *parent; /* this judges p's restore */
};

/* Audit rows to land before the request may go on (ledger.c). */
struct guard_record {
	uint64_t *tickets;
	size_t n_tickets;
	uint64_t barrier;	 /* waiting for queued writes */
	struct event *ledger_ev; /* the bounded wait's end */
	struct event *read_ev;	 /* reading the ledger again */
	bool waiting;
	int64_t deadline_us; /* 0: not waited yet */
	bool settled;	     /* queued writes have landed */
	char *intent;	     /* token of the create it allows */
	int64_t decision_id;
	bool forwarded; /* an answer is due */
};

/* A pending decision: the request, then one small state per flow. */
struct decision {
	struct guard *g;
	struct decision_reply reply; /* .arg NULL: nobody to answer */
	struct event *ev;
	struct engine_req *lookup; /* the engine request in flight */
	int64_t started_us;
	struct peer_cred peer;
	enum route_id route;
	char *method;
	char *action; /* "create", ... */
	char *what;   /* "container \"web\"" or NULL */
	char *container_name;
	char *container_id; /* removals, verify: by full ID */
	char *service_id;
	char *app;
	struct body_facts facts;

	struct guard_lookups look;
	struct guard_pull pull;
	struct guard_start start;
	struct guard_removal rm;
	struct guard_restore restore;
	struct guard_record rec;

	/* After the engine's 201: what it created is what was judged. */
	struct verify *verify;
	bool verifying;
	bool detached; /* on g->detached */
	TAILQ_ENTRY(decision) detached_entry;

	/* docker-guard check */
	bool dry_run;
	guard_dry_cb dry_cb;
	void *dry_arg;

	/* The verdict. */
	int status;
	char *message;
	char **warnings;
	size_t n_warnings;
	bool delivered;
};

/* What to ask the engine about an image. */
static const char *
lookup_name(const struct guard_image *img)
{
	return img->lookup != NULL ? img->lookup : img->ref;
}

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void inspect_cache_drop(struct guard *, struct inspect_cached *);
static void pending_free(struct decision *);

struct guard *
guard_new(struct event_base *base, const struct guard_config *const *cfg,
    bool follow)
{
	struct guard *g = xcalloc(1, sizeof *g);
	char *cause = NULL;

	g->base = base;
	g->cfg = cfg;
	TAILQ_INIT(&g->inspects);
	TAILQ_INIT(&g->detached);
	g->store = store_open((*cfg)->database, &cause);
	if (g->store == NULL) {
		log_error("%s", cause);
		free(cause);
		free(g);
		return NULL;
	}
	g->ledger = ledger_new(base, g->store);
	g->registry = registry_new(base);
	if (guard_reconfigure(g) != 0) {
		guard_free(g);
		return NULL;
	}
	g->monitor = monitor_new(base, cfg, g->ledger, follow);
	return g;
}

int
guard_reconfigure(struct guard *g)
{
	const struct guard_config *cfg = guard_cfg(g);
	struct registry_settings set = { 0 };
	char *cause = NULL;

	set.timeout_ms = (long)cfg->registry_timeout * 1000;
	set.cache_ttl = cfg->registry_cache_ttl;
	set.negative_ttl = cfg->registry_negative_ttl;
	set.all_platforms = cfg->check_all_platforms;
	set.docker_config = cfg->docker_config;
	set.auth = (const char *const *)cfg->registry_auth.items;
	set.n_auth = cfg->registry_auth.n;
	set.ca_files = (const char *const *)cfg->registry_ca_files.items;
	set.n_ca_files = cfg->registry_ca_files.n;
	set.insecure = (const char *const *)cfg->registry_insecure.items;
	set.n_insecure = cfg->registry_insecure.n;
	if (registry_configure(g->registry, &set, &cause) != 0) {
		log_error("%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

void
guard_free(struct guard *g)
{
	if (g == NULL)
		return;
	while (!TAILQ_EMPTY(&g->inspects))
		inspect_cache_drop(g, TAILQ_FIRST(&g->inspects));
	while (!TAILQ_EMPTY(&g->detached))
		pending_free(TAILQ_FIRST(&g->detached));
	monitor_free(g->monitor);
	ledger_free(g->ledger);
	store_close(g->store);
	registry_free(g->registry);
	free(g);
}

/* ---- the decision's record ----------------------------------------------
 *
 * Audit rows go through the write-behind ledger, so a locked or full
 * database never stalls the event loop.  An allowed request goes on only
 * once its rows (and the intent of a create) have landed; if they have
 * not within GUARD_LEDGER_WAIT_MS the request is refused (fail closed)
 * and the rows are taken back.  A refusal never waits: its rows land
 * when they can.
 */

#define GUARD_LEDGER_WAIT_MS 3000

static void deliver(struct decision *);
static const char *subject_of(const struct decision *, char *, size_t);

static void
guard_ledger_forget(struct decision *p)
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
		    p->action, subject_of(p, who, sizeof who), cause);
	log_error("%s", p->message);
	a.time_ms = now_us() / 1000;
	a.peer = &p->peer;
	a.method = p->method;
	a.route = route_name(p->route);
	a.app = p->app;
	a.rule = "ledger";
	a.verdict = STORE_ERROR;
	a.message = p->message;
	a.latency_us = now_us() - p->started_us;
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
	deliver(p);
}

/* Wait for the ledger until the request's deadline (one bound for all
 * its waits), which fires only while waiting. */
static void
ledger_wait(struct decision *p)
{
	struct timeval tv;
	int64_t left;

	if (p->rec.deadline_us == 0)
		p->rec.deadline_us = now_us() + GUARD_LEDGER_WAIT_MS * 1000LL;
	left = p->rec.deadline_us - now_us();
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
		deliver(p);
	}
}

/* Queue audit row a (with the intent of the create it allows, if any). */
static void
audit_row(struct decision *p, const struct store_audit *a,
    const struct store_intent *intent)
{
	struct store_write w = { 0 };

	w.audit = a;
	w.intent = intent;
	p->rec.tickets = xreallocarray(p->rec.tickets, p->rec.n_tickets + 1,
	    sizeof *p->rec.tickets);
	p->rec.tickets[p->rec.n_tickets++] = ledger_write(p->g->ledger, &w,
	    row_landed_cb, p);
}

/* Hold an allowed request until its rows have landed; true if held.  A
 * refused create's intent gets its outcome. */
static bool
ledger_hold(struct decision *p)
{
	if (p->dry_run)
		return false;
	if (p->status != 0) {
		if (p->rec.intent != NULL) {
			struct store_outcome o = { 0 };
			struct store_write w = { 0 };

			o.token = p->rec.intent;
			o.status = p->status;
			o.time_ms = now_us() / 1000;
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

static void decide(struct decision *);

static void
barrier_cb(bool landed, const struct store_written *ids, const char *cause,
    void *arg)
{
	struct decision *p = arg;

	p->rec.barrier = 0;
	p->rec.settled = true;
	ledger_unwait(p);
	decide(p);
}

/* Before reading the ledger: let writes queued before now land, so the
 * decision sees them (bounded; true if waiting). */
static bool
ledger_settle(struct decision *p)
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
	decide(arg);
}

/* Reading the ledger failed: if it may pass (a lock, WAL recovery) and
 * the bounded wait is not over, read again shortly; true if so. */
static bool
ledger_read_again(struct decision *p)
{
	struct timeval tv = { 0, 50 * 1000 };

	if (p->dry_run || !store_transient(p->g->store) ||
	    now_us() - p->started_us > GUARD_LEDGER_WAIT_MS * 1000LL)
		return false;
	if (p->rec.read_ev == NULL)
		p->rec.read_ev = evtimer_new(p->g->base, read_again_cb, p);
	evtimer_add(p->rec.read_ev, &tv);
	return true;
}

/* The engine's answer to an allowed request, as an audit row linked to
 * its decision, with the create's intent closed. */
static void
record_outcome(struct decision *p, int status, const char *container_id,
    const struct store_deployment *d, const char *what)
{
	struct store_audit a = { 0 };
	struct store_outcome o = { 0 };
	struct store_write w = { 0 };
	const struct guard_image *img = p->look.n_images > 0
	    ? &p->look.images[0]
	    : NULL;
	char *msg;
	int64_t t = now_us();

	msg = xasprintf("outcome of decision %lld: %s",
	    (long long)p->rec.decision_id, what);
	a.time_ms = t / 1000;
	a.peer = &p->peer;
	a.method = p->method;
	a.route = route_name(p->route);
	a.app = p->app;
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
	free(msg);
}

static void
pending_free(struct decision *p)
{
	if (p->detached)
		TAILQ_REMOVE(&p->g->detached, p, detached_entry);
	if (p->ev != NULL)
		event_free(p->ev);
	guard_ledger_forget(p);
	engine_cancel(p->lookup);
	registry_cancel(p->look.reg_check);
	verify_cancel(p->verify);
	if (p->restore.child != NULL)
		pending_free(p->restore.child);
	free(p->restore.body);
	free(p->start.target);
	free(p->start.route_version);
	free(p->start.route_query);
	free(p->container_id);
	for (size_t i = 0;
	     p->rm.prune_ids != NULL && p->rm.prune_ids[i] != NULL; i++)
		free(p->rm.prune_ids[i]);
	free(p->rm.prune_ids);
	free(p->look.platform_query);
	free(p->restore.name);
	free(p->restore.id);
	free(p->pull.from_image);
	free(p->pull.from_tag);
	free(p->pull.from_src);
	free(p->pull.import_repo);
	free(p->pull.ref);
	free(p->pull.digest);
	path_decision_reset(&p->pull.path);
	dockerfile_images_reset(&p->pull.build_imgs);
	free(p->pull.build_df);
	free(p->method);
	free(p->action);
	free(p->what);
	free(p->container_name);
	free(p->service_id);
	free(p->app);
	body_facts_reset(&p->facts);
	for (size_t i = 0; i < p->look.n_images; i++) {
		struct guard_image *img = &p->look.images[i];

		free(img->ref);
		free(img->lookup);
		inspect_image_reset(&img->info);
		policy_decision_reset(&img->decision);
		free(img->reg_ref);
		free(img->reg_digest);
		free(img->reg_detail);
		free(img->reg_missing_digest);
		free(img->reg_missing_platform);
		free(img->reg_version);
		for (size_t j = 0; j < img->reg_n_labels; j++) {
			free(img->reg_labels[j].key);
			free(img->reg_labels[j].value);
		}
		free(img->reg_labels);
		for (size_t j = 0; j < img->reg_n_env; j++)
			free(img->reg_env[j]);
		free(img->reg_env);
	}
	free(p->look.images);
	free(p->message);
	for (size_t i = 0; i < p->n_warnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	free(p);
}

/* What a dry run prints under the verdict. */
static char *
dry_details(const struct decision *p)
{
	char *out = xstrdup("");

	for (size_t i = 0; i < p->look.n_images; i++) {
		const struct policy_decision *d = &p->look.images[i].decision;
		char *line = xasprintf("%simage %s: version %s%s%s%s, digest "
				       "%s%s%s%s%s\n",
		    out, p->look.images[i].ref,
		    d->version != NULL ? d->version : "unknown",
		    d->version_source != NULL ? " (from " : "",
		    d->version_source != NULL ? d->version_source : "",
		    d->version_source != NULL ? ")" : "",
		    d->digest != NULL ? d->digest : "unknown",
		    d->previous_version != NULL ? "; the app's newest is " : "",
		    d->previous_version != NULL ? d->previous_version : "",
		    d->note != NULL ? "; " : "",
		    d->note != NULL ? d->note : "");

		free(out);
		out = line;
	}
	return out;
}

static void restore_judged(struct decision *, struct decision *);

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct decision *p = arg;
	struct decision_verdict v = { 0 };

	if (p->restore.parent != NULL) {
		restore_judged(p->restore.parent, p); /* frees p */
		return;
	}
	if (p->dry_run) {
		char *details = dry_details(p), *warn = NULL;

		for (size_t i = 0; i < p->n_warnings; i++) {
			char *w = xasprintf("%s%s%s", warn ? warn : "",
			    warn ? "\n" : "", p->warnings[i]);

			free(warn);
			warn = w;
		}
		p->dry_cb(p->status, p->status != 0 ? p->message : warn,
		    details, p->dry_arg);
		free(details);
		free(warn);
		pending_free(p);
		return;
	}

	v.status = p->status;
	v.message = p->message;
	v.warnings = (const char *const *)p->warnings;
	v.n_warnings = p->n_warnings;
	v.wants_response = p->status == 0 && p->route != ROUTE_IMAGE_CREATE &&
	    p->route != ROUTE_CONTAINER_DELETE &&
	    p->route != ROUTE_CONTAINER_PRUNE &&
	    !decide_runs_existing(p->route) && !path_policy_route(p->route);
	p->rec.forwarded = v.wants_response;
	/* A removal by any spelling is recorded by the full ID. */
	if (p->status == 0 &&
	    ((p->route == ROUTE_CONTAINER_DELETE && p->container_id != NULL) ||
		p->route == ROUTE_CONTAINER_PRUNE))
		v.wants_response = true;
	v.target = p->status == 0 ? p->start.target : NULL;
	if (p->status == 0 && p->pull.path.action == PATH_ACT_JUDGE_BUILD) {
		v.build_dockerfile = p->pull.path.dockerfile;
		v.build_dockerfile_alt = p->pull.path.dockerfile_alt;
	}
	/* The proxy cancels (frees) p when it no longer needs it
	   (decision.h). */
	p->reply.decided(p->reply.arg, &v);
}

/* Hand the verdict to the proxy from the event loop. */
static void
deliver(struct decision *p)
{
	if (ledger_hold(p))
		return;
	p->delivered = true;
	if (p->ev == NULL)
		p->ev = evtimer_new(p->g->base, deliver_cb, p);
	event_active(p->ev, EV_TIMEOUT, 0);
}

/* What a message names: the container or service, or the app. */
static const char *
subject_of(const struct decision *p, char *buf, size_t size)
{
	if (p->what != NULL)
		snprintf(buf, size, "%s", p->what);
	else if (p->app != NULL)
		snprintf(buf, size, "app \"%s\"", p->app);
	else
		snprintf(buf, size, "it");
	return buf;
}

static void
audit(struct decision *p, const struct guard_image *img,
    enum store_verdict verdict, const char *rule, const char *message)
{
	struct store_audit a = { 0 };
	struct store_intent in = { 0 };
	int64_t t = now_us();

	if (p->dry_run)
		return;
	a.time_ms = t / 1000;
	a.peer = &p->peer;
	a.method = p->method;
	a.route = route_name(p->route);
	a.app = p->app;
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
	audit_row(p, &a, in.token != NULL ? &in : NULL);
}

/* Refuse before any policy ran (bad body, bad query, lookup failed). */
static void
refuse(struct decision *p, int status, const char *rule, char *message)
{
	free(p->message);
	p->status = status;
	p->message = message;
	audit(p, p->look.n_images > 0 ? &p->look.images[0] : NULL, STORE_DENY,
	    rule, message);
	log_info("%s", p->message);
	deliver(p);
}

/* ---- restoring the previous container after a refusal ---------------- */

/* Say in the denial what became of the app, then deliver. */
static void
restore_done(struct decision *p, const char *failure)
{
	char *msg;

	if (failure != NULL) {
		msg = xasprintf("%s docker-guard could not restore the "
				"previous container \"%s\": %s.",
		    p->message, p->restore.name != NULL ? p->restore.name : "?",
		    failure);
		log_warn("restore of app \"%s\" failed: %s", p->app, failure);
	} else {
		struct store_audit a = { 0 };
		struct store_write w = { 0 };
		char *note;

		msg = xasprintf("%s docker-guard restored the previous "
				"container \"%s\"%s, so the app keeps running.",
		    p->message, p->restore.name,
		    p->restore.start ? " and started it" : "");
		note = xasprintf("restored the previous container \"%s\" "
				 "(%.12s) of app \"%s\" after a refusal",
		    p->restore.name,
		    p->restore.id != NULL ? p->restore.id : "?", p->app);
		log_info("%s", note);
		a.time_ms = now_us() / 1000;
		a.peer = &p->peer;
		a.method = p->method;
		a.route = route_name(p->route);
		a.app = p->app;
		a.rule = "restore";
		a.verdict = STORE_ALLOW;
		a.message = note;
		w.audit = &a;
		ledger_write(p->g->ledger, &w, NULL, NULL);
		free(note);
	}
	free(p->message);
	p->message = msg;
	deliver(p);
}

static void
restore_started_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;

	p->lookup = NULL;
	if (status != 204 && status != 304) {
		char *m = error != NULL ? xstrdup(error)
					: inspect_error_message(body, len);
		char *why = xasprintf("it was recreated but did not start: %s",
		    m != NULL ? m : "unexpected answer");

		restore_done(p, why);
		free(why);
		free(m);
		return;
	}
	restore_done(p, NULL);
}

static void
restore_start_container(struct decision *p)
{
	char *path;

	if (!p->restore.start) {
		restore_done(p, NULL);
		return;
	}
	path = xasprintf("/containers/%s/start", p->restore.id);
	p->lookup = engine_request(p->g->base, guard_cfg(p->g)->upstream,
	    "POST", path, NULL, restore_started_cb, p);
	free(path);
}

static void
restore_created_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	char *cause = NULL;

	p->lookup = NULL;
	if (status != 201 ||
	    (p->restore.id = body_response_id(body, len)) == NULL) {
		char *m = error != NULL ? xstrdup(error)
					: inspect_error_message(body, len);

		restore_done(p, m != NULL ? m : "unexpected answer");
		free(m);
		return;
	}
	if (store_snapshot_restored(p->g->store, p->restore.snapshot_id,
		now_us() / 1000000, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
	}
	monitor_adopt(p->g->monitor, p->restore.id, "restore");
	restore_start_container(p);
}

static void
renamed_back_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;

	p->lookup = NULL;
	if (status != 204 && status != 200) {
		char *m = error != NULL ? xstrdup(error)
					: inspect_error_message(body, len);

		restore_done(p, m != NULL ? m : "unexpected answer");
		free(m);
		return;
	}
	restore_start_container(p);
}

/* compose 1.29 renamed the old container "<12 hex>_<name>" and stopped
 * it: find it among the app's live containers. */
struct renamed {
	char *id;
	char *name;
};

static void
find_renamed_cb(const struct store_deployment_row *r, void *arg)
{
	struct renamed *out = arg;
	const char *n = r->container_name;

	if (r->removed_at != 0 || n == NULL || strlen(n) < 14 || n[12] != '_')
		return;
	for (int i = 0; i < 12; i++) {
		if (!strchr("0123456789abcdef", n[i]))
			return;
	}
	free(out->id);
	free(out->name);
	out->id = xstrdup(r->container_id);
	out->name = xstrdup(n);
}

/* Give compose's old container its name back (then start it). */
static void
restore_rename_back(struct decision *p)
{
	char *path, *esc;

	esc = engine_path_escape(p->restore.name);
	path = xasprintf("/containers/%s/rename?name=%s", p->restore.id, esc);
	free(esc);
	p->lookup = engine_request(p->g->base, guard_cfg(p->g)->upstream,
	    "POST", path, NULL, renamed_back_cb, p);
	free(path);
}

/* Recreate the removed container from its snapshot. */
static void
restore_create(struct decision *p)
{
	char *path, *esc;

	esc = engine_path_escape(p->restore.name);
	path = xasprintf("/containers/create?name=%s", esc);
	free(esc);
	p->lookup = engine_request(p->g->base, guard_cfg(p->g)->upstream,
	    "POST", path, p->restore.body, restore_created_cb, p);
	free(path);
}

static void add_image(struct decision *, const char *, const char *);
static void lookup_next(struct decision *);
static const char *action_for(enum route_id);

/*
 * Before restoring, judge what would run by the rules a client's request
 * would meet: a recreate from a snapshot as a create of the image by its
 * ID (pinned; registry presence as configured), compose's renamed-back
 * container as a start.  facts (the container's labels) are stolen.
 * restore_judged() goes on.
 */
static void
restore_judge(struct decision *p, enum route_id route, const char *ref,
    const char *image_id, struct body_facts *facts)
{
	struct decision *c = xcalloc(1, sizeof *c);

	c->g = p->g;
	c->restore.parent = p;
	c->dry_run = true; /* no audit, no restore, no session of its own */
	c->started_us = now_us();
	c->peer = p->peer;
	c->route = route;
	c->method = xstrdup("POST");
	c->action = xstrdup(action_for(route));
	c->what = xasprintf("container \"%s\"", p->restore.name);
	c->app = xstrdup(p->app);
	c->facts = *facts;
	memset(facts, 0, sizeof *facts);
	add_image(c, ref, "image");
	c->look.images[0].lookup = xstrdup(image_id);
	p->restore.child = c;
	lookup_next(c);
}

/* The restore was judged (child): go on restoring, or say why not. */
static void
restore_judged(struct decision *p, struct decision *child)
{
	const struct guard_image *img = &child->look.images[0];
	const struct policy_decision *d = &img->decision;
	char *why, *note, *msg;

	p->restore.child = NULL;
	if (child->status == 0) {
		pending_free(child);
		if (p->restore.body != NULL)
			restore_create(p);
		else
			restore_rename_back(p);
		return;
	}
	why = decide_restore_refusal(img->ref, d, child->message);
	note = xasprintf("did not restore the previous container \"%s\" "
			 "(%.12s) of app \"%s\" after a refusal: %s",
	    p->restore.name, p->restore.id != NULL ? p->restore.id : "snapshot",
	    p->app, why);
	msg = xasprintf("%s docker-guard did not restore the previous "
			"container \"%s\": %s.",
	    p->message, p->restore.name, why);
	log_info("%s", note);
	audit(p, img, STORE_DENY, "restore", note);
	free(p->message);
	p->message = msg;
	free(note);
	free(why);
	pending_free(child);
	deliver(p);
}

static void
renamed_state_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct inspect_container c;

	p->lookup = NULL;
	if (status != 200 || inspect_container_parse(body, len, &c) != 0) {
		deliver(p); /* gone meanwhile: nothing to restore */
		return;
	}
	if (c.running || c.image_id == NULL) {
		/* Still running: the app is up. */
		inspect_container_reset(&c);
		deliver(p);
		return;
	}
	p->restore.start = true;
	/* Renaming it back and starting it runs its image again. */
	restore_judge(p, ROUTE_CONTAINER_START,
	    c.image_ref != NULL ? c.image_ref : c.image_id, c.image_id,
	    &c.facts);
	inspect_container_reset(&c);
}

static void
restore_begin(struct decision *p)
{
	struct guard *g = p->g;
	struct inspect_container c;
	struct renamed ren = { 0 };
	char *inspect = NULL, *cause = NULL, *body, *path;
	bool running = false;
	int live = 0;

	if (store_app_live(g->store, p->app, &live, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		deliver(p);
		return;
	}
	if (live > 0) {
		if (store_history(g->store, p->app, find_renamed_cb, &ren,
			&cause) != 0) {
			log_error("ledger: %s", cause);
			free(cause);
		}
		if (ren.id == NULL) {
			deliver(p); /* the app still has its container */
			return;
		}
		p->restore.id = ren.id;
		p->restore.name = xstrdup(ren.name + 13);
		free(ren.name);
		path = xasprintf("/containers/%s/json", p->restore.id);
		p->lookup = engine_get(g->base, guard_cfg(g)->upstream, path,
		    renamed_state_cb, p);
		free(path);
		return;
	}
	if (store_snapshot_latest(g->store, p->app,
		now_us() / 1000000 - guard_cfg(g)->restore_window,
		&p->restore.snapshot_id, &inspect, &running, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		deliver(p);
		return;
	}
	if (inspect == NULL) {
		deliver(p); /* nothing removed recently: nothing to do */
		return;
	}
	body = inspect_restore_body(inspect, strlen(inspect));
	if (body == NULL ||
	    inspect_container_parse(inspect, strlen(inspect), &c) != 0) {
		free(body);
		free(inspect);
		restore_done(p, "its saved configuration cannot be read");
		return;
	}
	p->restore.name = xstrdup(c.name != NULL ? c.name : "");
	p->restore.start = running;
	p->restore.body = body;
	free(inspect);
	if (c.image_id == NULL) {
		inspect_container_reset(&c);
		restore_done(p, "its saved configuration names no image");
		return;
	}
	restore_judge(p, ROUTE_CONTAINER_CREATE, c.image_id, c.image_id,
	    &c.facts);
	inspect_container_reset(&c);
}

/* ---- keeping a removed container's configuration ---------------------- */

/* A container stopped at most this long (seconds) before its removal
   counts as running when restored. */
#define SNAPSHOT_RECENT_STOP 60

/* Is app one the ledger knows? */
static bool
app_known(struct guard *g, const char *app)
{
	struct store_versions hist = { 0 };
	char *cause = NULL;
	bool known;

	if (store_app_versions(g->store, app, &hist, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return false;
	}
	known = hist.n > 0;
	store_versions_reset(&hist);
	return known;
}

/*
 * The engine's inspect of a container about to be removed: keep it when
 * the container belongs to an app the ledger knows (by its ledger row,
 * else by its labels or name), keyed by its full ID, however the
 * removal spelled it.  Sets p->container_id.
 */
static void
snapshot_keep(struct decision *p, const char *body, size_t len)
{
	struct guard *g = p->g;
	struct inspect_container c;
	char *cause = NULL, *text, *app = NULL;
	int64_t now = now_us() / 1000000;
	bool running;

	if (inspect_container_parse(body, len, &c) != 0 || c.id == NULL)
		return;
	free(p->container_id);
	p->container_id = xstrdup(c.id);
	if (store_app_of_container(g->store, c.id, &app, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
	}
	if (app == NULL && (app = policy_app_name(&c.facts, c.name)) != NULL &&
	    !app_known(g, app)) {
		free(app);
		app = NULL;
	}
	if (app == NULL) {
		inspect_container_reset(&c);
		return; /* not an app the guard knows */
	}
	/* Ansible and compose stop a container just before they remove it:
	   one stopped moments ago was running. */
	running = c.running ||
	    (c.finished > 0 && now - c.finished <= SNAPSHOT_RECENT_STOP);
	text = xstrndup(body, len);
	if (store_snapshot_put(g->store, app, c.id, c.name, text, running, now,
		&cause) != 0) {
		log_error("ledger: snapshot of %s: %s", c.id, cause);
		free(cause);
	} else {
		log_info("kept the configuration of container \"%s\" (app "
			 "\"%s\") before its removal",
		    c.name ? c.name : c.id, app);
	}
	free(text);
	free(app);
	inspect_container_reset(&c);
}

static void
snapshot_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;

	p->lookup = NULL;
	if (status == 200)
		snapshot_keep(p, body, len);
	/* The removal goes ahead whatever happened here. */
	deliver(p);
}

/* DELETE /containers/{id}: keep the inspect of a guarded app's container
 * first, so a refused recreate can bring it back.  The engine resolves
 * the spelling (name, full or short ID, any prefix). */
static void
snapshot_start(struct decision *p, const struct decision_request *req)
{
	struct guard *g = p->g;
	char *path, *esc;

	if (!guard_cfg(g)->restore_on_refusal || req->route->param == NULL) {
		deliver(p);
		return;
	}
	esc = engine_path_escape(req->route->param);
	path = xasprintf("/containers/%s/json", esc);
	free(esc);
	p->lookup = engine_get(g->base, guard_cfg(g)->upstream, path,
	    snapshot_cb, p);
	free(path);
}

static void prune_next(struct decision *);

static void
prune_inspect_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;

	p->lookup = NULL;
	if (status == 200)
		snapshot_keep(p, body, len);
	prune_next(p);
}

/* Keep the next stopped container, or let the prune go ahead. */
static void
prune_next(struct decision *p)
{
	char *path;

	if (p->rm.prune_ids == NULL ||
	    p->rm.prune_ids[p->rm.prune_next] == NULL) {
		deliver(p);
		return;
	}
	path = xasprintf("/containers/%s/json",
	    p->rm.prune_ids[p->rm.prune_next++]);
	p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream, path,
	    prune_inspect_cb, p);
	free(path);
}

static void
prune_list_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;

	p->lookup = NULL;
	p->rm.prune_ids = status == 200 ? inspect_container_ids(body, len)
					: NULL;
	p->rm.prune_next = 0;
	prune_next(p);
}

/* POST /containers/prune removes every stopped container (that its
 * filters match): keep each one of a known app first. */
static void
prune_start(struct decision *p)
{
	if (!guard_cfg(p->g)->restore_on_refusal) {
		deliver(p);
		return;
	}
	p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream,
	    "/containers/json?all=1&filters=%7B%22status%22%3A%5B%22created%22"
	    "%2C%22exited%22%2C%22dead%22%5D%7D",
	    prune_list_cb, p);
}

/* The engine answered a removal or prune: record the removals by full
 * ID (the ledger matches names and long prefixes only). */
static void
removal_record(struct decision *p, int status, const char *body, size_t len)
{
	char **ids = NULL;
	int64_t now = now_us() / 1000000;

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

/* ---- starts ---------------------------------------------------------- */

static void add_image(struct decision *, const char *, const char *);
static void lookup_next(struct decision *);

/* The engine's inspect of the container to start: judge its image. */
static void
start_inspect_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct inspect_container c;
	struct imgref ref;
	const char *why = NULL;
	char *cause = NULL;
	bool ref_ok;

	p->lookup = NULL;
	if (status == 404) {
		/* No such container: answer as the engine did.  Forwarding
		   the name would start whatever is renamed into it meanwhile,
		   unjudged. */
		char *m = inspect_error_message(body, len);

		p->status = 404;
		p->message = m != NULL ? m : xstrdup("No such container");
		deliver(p);
		return;
	}
	if (status != 200 || inspect_container_parse(body, len, &c) != 0) {
		/* Nothing to judge: the engine answers the start itself. */
		deliver(p);
		return;
	}
	/* The engine starts what was judged, by its full ID, whatever is
	   renamed meanwhile: the client never sees the path. */
	p->start.target = xasprintf("%s%s/containers/%s/%s%s%s",
	    p->start.route_version ? "/v" : "",
	    p->start.route_version ? p->start.route_version : "", c.id,
	    p->route == ROUTE_CONTAINER_RESTART ? "restart" : "start",
	    p->start.route_query ? "?" : "",
	    p->start.route_query ? p->start.route_query : "");
	if (c.running || c.image_id == NULL) {
		/* A running container goes on with the image it runs: a
		   start is a no-op, a restart runs nothing new. */
		inspect_container_reset(&c);
		deliver(p);
		return;
	}
	free(p->what);
	p->what = xasprintf("container \"%s\"", c.name != NULL ? c.name : c.id);
	if (store_app_of_container(p->g->store, c.id, &p->app, &cause) != 0) {
		char who[300];

		log_error("ledger: %s", cause);
		free(cause);
		inspect_container_reset(&c);
		refuse(p, 503, "ledger",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: the version ledger cannot be read (database "
			"error, see the guard's log), so a downgrade cannot be "
			"ruled out",
			p->action, subject_of(p, who, sizeof who)));
		return;
	}
	if (p->app == NULL)
		p->app = policy_app_name(&c.facts, c.name);
	if (p->app == NULL) {
		inspect_container_reset(&c);
		deliver(p); /* no app, no history to compare with */
		return;
	}
	/* The override labels are the container's own. */
	body_facts_reset(&p->facts);
	p->facts = c.facts;
	memset(&c.facts, 0, sizeof c.facts);
	/* Name the image as the container was created with it, but judge
	   the image it runs: the tag may have moved since. */
	ref_ok = c.image_ref != NULL &&
	    imgref_parse(c.image_ref, &ref, &why) == 0;
	if (ref_ok)
		imgref_reset(&ref);
	add_image(p, ref_ok ? c.image_ref : c.image_id, "image");
	p->look.images[0].lookup = xstrdup(c.image_id);
	inspect_container_reset(&c);
	lookup_next(p);
}

/*
 * POST /containers/{id}/start (or restart): a stopped container runs its
 * image again.  One older than what its app has run since (a compose 1.29
 * leftover, a stale docker start) is a downgrade like any create.
 */
static void
start_check(struct decision *p, const struct decision_request *req)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	char *path, *esc;

	free(p->what);
	p->what = xstrdup("a container");
	if (cfg->downgrade == RULE_OFF || req->route->param == NULL) {
		deliver(p);
		return;
	}
	p->container_name = xstrdup(req->route->param);
	if (req->route->version != NULL)
		p->start.route_version = xstrdup(req->route->version);
	if (req->route->query != NULL)
		p->start.route_query = xstrdup(req->route->query);
	esc = engine_path_escape(req->route->param);
	path = xasprintf("/containers/%s/json", esc);
	free(esc);
	p->lookup = engine_get(p->g->base, cfg->upstream, path,
	    start_inspect_cb, p);
	free(path);
}

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

/* Read the app's history; 0, or -1 with the ledger error logged. */
static int
read_history(struct decision *p, struct store_versions *hist,
    struct policy_seen **seen)
{
	char *cause = NULL;

	*seen = NULL;
	if (p->app != NULL &&
	    store_app_versions(p->g->store, p->app, hist, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		return -1;
	}
	if (hist->n > 0) {
		*seen = xcalloc(hist->n, sizeof **seen);
		for (size_t i = 0; i < hist->n; i++) {
			(*seen)[i].version = hist->items[i].version;
			(*seen)[i].since = hist->items[i].since;
			(*seen)[i].digest = hist->items[i].digest;
		}
	}
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
			audit(p, img, store_verdict_of(d->verdict), row->rule,
			    row->message);
		if (d->verdict == POLICY_DENY)
			log_info("%s", d->message);
		else if (d->note != NULL)
			log_info("allowing %s %s: %s", p->action, img->ref,
			    d->note);
	}
}

/* All images are looked up: read the history, decide, record. */
static void
decide(struct decision *p)
{
	struct store_versions hist = { 0 };
	struct policy_seen *seen = NULL;
	struct decide_input in = { 0 };
	struct decide_verdict v;
	struct decide_image *imgs;
	struct policy_registry *regs;
	char who[300];

	if (ledger_settle(p))
		return;
	if (read_history(p, &hist, &seen) != 0) {
		if (ledger_read_again(p))
			return;
		refuse(p, 503, "ledger",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: the version ledger cannot be read (database error, "
			"see the guard's log), so a downgrade cannot be ruled out",
			p->action, subject_of(p, who, sizeof who)));
		return;
	}
	imgs = xcalloc(p->look.n_images + 1, sizeof *imgs);
	regs = xcalloc(p->look.n_images + 1, sizeof *regs);
	for (size_t i = 0; i < p->look.n_images; i++) {
		imgs[i].ref = p->look.images[i].ref;
		imgs[i].role = p->look.images[i].role;
		imgs[i].info = p->look.images[i].found ? &p->look.images[i].info
						       : NULL;
		imgs[i].registry = registry_facts(&p->look.images[i], &regs[i]);
	}
	in.cfg = guard_cfg(p->g);
	in.route = p->route;
	in.action = p->action;
	in.what = p->what;
	in.app = p->app;
	in.facts = &p->facts;
	in.images = imgs;
	in.n_images = p->look.n_images;
	in.history = seen;
	in.n_history = hist.n;
	decide_eval(&in, &v);
	take_verdict(p, &v);
	free(imgs);
	free(regs);
	free(seen);
	store_versions_reset(&hist);
	if (v.restore && !p->dry_run) {
		decide_verdict_reset(&v);
		restore_begin(p);
		return;
	}
	decide_verdict_reset(&v);
	deliver(p);
}

static void lookup_next(struct decision *p);
static void start_registry(struct decision *p);
static void restore_begin(struct decision *p);
static void pull_decide(struct decision *p);

/* Where to ask a registry about img: its pinned digest, the digest its
 * ID was pulled by, or its tag (for the fix-it).  Returns false when no
 * registry knows the image (built or loaded here). */
static bool
registry_target(const struct guard_image *img, struct imgref *out)
{
	struct imgref ref;
	const char *cause;

	if (imgref_parse(img->ref, &ref, &cause) != 0)
		return false;
	if (policy_ref_is_image_id(&ref, img->ref,
		img->found ? img->info.id : NULL) ||
	    ref.kind == IMGREF_ID) {
		imgref_reset(&ref);
		if (!img->found || img->info.n_repo_digests == 0)
			return false;
		return imgref_parse(img->info.repo_digests[0], out, &cause) ==
		    0 &&
		    out->digest != NULL;
	}
	if (ref.digest == NULL && img->found && img->info.n_repo_digests == 0) {
		imgref_reset(&ref);
		return false; /* a local build by tag: local_images */
	}
	*out = ref;
	return true;
}

static void
registry_done_cb(const struct registry_result *r, void *arg)
{
	struct decision *p = arg;
	struct guard_image *img = &p->look.images[p->look.next];

	p->look.reg_check = NULL;
	img->reg_checked = true;
	img->reg_outcome = r->outcome;
	img->reg_digest = r->digest ? xstrdup(r->digest) : NULL;
	img->reg_detail = r->detail ? xstrdup(r->detail) : NULL;
	img->reg_missing_digest = r->missing_digest ? xstrdup(r->missing_digest)
						    : NULL;
	img->reg_missing_platform = r->missing_platform
	    ? xstrdup(r->missing_platform)
	    : NULL;
	img->reg_version = r->version ? xstrdup(r->version) : NULL;
	for (size_t i = 0;
	     r->config_labels != NULL && r->config_labels[i] != NULL; i++) {
		const char *eq = strchr(r->config_labels[i], '=');

		if (eq == NULL)
			continue;
		img->reg_labels = xreallocarray(img->reg_labels,
		    img->reg_n_labels + 1, sizeof *img->reg_labels);
		img->reg_labels[img->reg_n_labels]
		    .key = xstrndup(r->config_labels[i],
		    (size_t)(eq - r->config_labels[i]));
		img->reg_labels[img->reg_n_labels].value = xstrdup(eq + 1);
		img->reg_n_labels++;
	}
	for (size_t i = 0; r->config_env != NULL && r->config_env[i] != NULL;
	     i++) {
		img->reg_env = xreallocarray(img->reg_env, img->reg_n_env + 1,
		    sizeof *img->reg_env);
		img->reg_env[img->reg_n_env++] = xstrdup(r->config_env[i]);
	}
	p->look.next++;
	lookup_next(p);
}

static void
info_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct decision *p = arg;
	struct guard *g = p->g;
	char os[32], arch[32];

	p->lookup = NULL;
	if (status == 200 &&
	    inspect_info_platform(body, len, os, sizeof os, arch,
		sizeof arch) == 0) {
		manifest_normalize_platform(os, arch, g->platform.os,
		    sizeof g->platform.os, g->platform.arch,
		    sizeof g->platform.arch, g->platform.variant,
		    sizeof g->platform.variant);
		g->have_platform = true;
		log_info("engine platform: %s/%s%s%s", g->platform.os,
		    g->platform.arch, g->platform.variant[0] ? "/" : "",
		    g->platform.variant);
	} else {
		log_warn("cannot read the engine's platform (%s); checking "
			 "registries for linux/amd64",
		    error ? error : "bad answer");
		snprintf(g->platform.os, sizeof g->platform.os, "linux");
		snprintf(g->platform.arch, sizeof g->platform.arch, "amd64");
		g->platform.variant[0] = '\0';
		g->have_platform = true;
	}
	if (p->route == ROUTE_IMAGE_CREATE)
		pull_decide(p);
	else
		start_registry(p);
}

/* The platform a create asked for (?platform=os/arch[/variant]), else
 * the engine's. */
static void
request_platform(struct decision *p, struct registry_platform *out)
{
	*out = p->g->platform;
	if (p->look.platform_query != NULL && *p->look.platform_query != '\0') {
		char os[32] = "", arch[32] = "", variant[32] = "";

		sscanf(p->look.platform_query, "%31[^/]/%31[^/]/%31s", os, arch,
		    variant);
		if (os[0] != '\0' && arch[0] != '\0') {
			manifest_normalize_platform(os, arch, out->os,
			    sizeof out->os, out->arch, sizeof out->arch,
			    out->variant, sizeof out->variant);
			if (variant[0] != '\0')
				snprintf(out->variant, sizeof out->variant,
				    "%s", variant);
		}
	}
}

/* After the engine's answer on the current image: ask its registry. */
static void
start_registry(struct decision *p)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	struct guard_image *img = &p->look.images[p->look.next];
	struct registry_platform plat;
	struct imgref ref;
	unsigned flags = 0;
	bool tag_only, need;

	/* A start runs an image that is already here. */
	if (decide_runs_existing(p->route) || !registry_target(img, &ref)) {
		p->look.next++;
		lookup_next(p);
		return;
	}
	tag_only = ref.digest == NULL;
	need = cfg->registry_presence != RULE_OFF ||
	    (tag_only && cfg->require_digest != RULE_OFF) ||
	    (!img->found && p->app != NULL && cfg->downgrade != RULE_OFF);
	if (!need) {
		imgref_reset(&ref);
		p->look.next++;
		lookup_next(p);
		return;
	}
	if (!p->g->have_platform) {
		imgref_reset(&ref);
		p->lookup = engine_get(p->g->base, cfg->upstream, "/info",
		    info_cb, p);
		return;
	}
	if (!img->found && p->look.next == 0 && p->app != NULL &&
	    cfg->downgrade != RULE_OFF)
		flags |= REGISTRY_WANT_CONFIG;
	request_platform(p, &plat);
	free(img->reg_ref);
	img->reg_ref = imgref_pinned(&ref, NULL);
	if (tag_only) {
		char *fam = imgref_familiar_repository(&ref);

		free(img->reg_ref);
		img->reg_ref = xasprintf("%s:%s", fam,
		    imgref_effective_tag(&ref));
		free(fam);
	}
	p->look.reg_check = registry_check(p->g->registry, ref.domain, ref.path,
	    tag_only ? imgref_effective_tag(&ref) : ref.digest, &plat, flags,
	    registry_done_cb, p);
	imgref_reset(&ref);
}

static void
inspect_cache_drop(struct guard *g, struct inspect_cached *c)
{
	TAILQ_REMOVE(&g->inspects, c, entry);
	g->n_inspects--;
	free(c->ref);
	free(c->body);
	free(c);
}

/* Is s 64 lowercase hex digits and nothing more? */
static bool
hex64(const char *s)
{
	return strspn(s, "0123456789abcdef") == 64 && s[64] == '\0';
}

/* Is ref pinned so that what the engine says of it cannot change?  A
 * full image ID, or a reference ending in a whole sha256 digest (the
 * engine looks a digest up by the digest alone).  Short IDs and names
 * are looked up every time: a tag moves, a short ID can come to name a
 * repository or another image. */
static bool
inspect_cacheable(const char *ref)
{
	const char *at = strstr(ref, "@sha256:");

	if (at != NULL)
		return hex64(at + 8);
	return strncmp(ref, "sha256:", 7) == 0 && hex64(ref + 7);
}

static struct inspect_cached *
inspect_cache_get(struct guard *g, const char *ref)
{
	struct inspect_cached *c, *next;
	int64_t now = now_us() / 1000000;

	for (c = TAILQ_FIRST(&g->inspects); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->expires <= now) {
			inspect_cache_drop(g, c);
			continue;
		}
		if (strcmp(c->ref, ref) == 0)
			return c;
	}
	return NULL;
}

static void
inspect_cache_put(struct guard *g, const char *ref, const char *body,
    size_t len)
{
	struct inspect_cached *c;

	if (!inspect_cacheable(ref) || inspect_cache_get(g, ref) != NULL)
		return;
	if (g->n_inspects >= INSPECT_CACHE_MAX)
		inspect_cache_drop(g, TAILQ_FIRST(&g->inspects));
	c = xcalloc(1, sizeof *c);
	c->ref = xstrdup(ref);
	c->body = xstrndup(body, len);
	c->len = len;
	c->expires = now_us() / 1000000 + INSPECT_CACHE_TTL;
	TAILQ_INSERT_TAIL(&g->inspects, c, entry);
	g->n_inspects++;
}

static void
lookup_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct guard_image *img = &p->look.images[p->look.next];
	char *msg, who[300];

	p->lookup = NULL;
	if (status == 200 && inspect_image_parse(body, len, &img->info) == 0) {
		img->found = true;
		inspect_cache_put(p->g, lookup_name(img), body, len);
	} else if (status == 404) {
		img->found = false;
	} else {
		msg = error != NULL ? xstrdup(error)
				    : inspect_error_message(body, len);
		refuse(p, 502, "engine",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: cannot look up image %s at the Docker engine (%s): "
			"%s",
			p->action, subject_of(p, who, sizeof who), img->ref,
			guard_cfg(p->g)->upstream,
			msg != NULL ? msg : "unexpected answer"));
		free(msg);
		return;
	}
	start_registry(p);
}

/* Ask the engine about each image in turn, then decide. */
static void
lookup_next(struct decision *p)
{
	struct guard_image *img;
	struct inspect_cached *c;
	char *esc, *path;

	while (p->look.next < p->look.n_images) {
		struct imgref ref;
		const char *cause;

		img = &p->look.images[p->look.next];
		/* Something that is no reference cannot be on the engine;
		   policy refuses it. */
		if (imgref_parse(img->ref, &ref, &cause) != 0) {
			p->look.next++;
			continue;
		}
		imgref_reset(&ref);
		if ((c = inspect_cache_get(p->g, lookup_name(img))) != NULL) {
			/* A copy: the entry may expire during the call.
			   lookup_cb goes on; nothing it does answers the
			   session from inside this call. */
			size_t len = c->len;
			char *body = xstrndup(c->body, len);

			lookup_cb(200, body, len, NULL, p);
			free(body);
			return;
		}
		esc = engine_path_escape(lookup_name(img));
		path = xasprintf("/images/%s/json", esc);
		free(esc);
		p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream,
		    path, lookup_cb, p);
		free(path);
		return; /* lookup_cb goes on (also when it failed at once) */
	}
	decide(p);
}

static void
add_image(struct decision *p, const char *ref, const char *role)
{
	p->look.images = xreallocarray(p->look.images, p->look.n_images + 1,
	    sizeof *p->look.images);
	memset(&p->look.images[p->look.n_images], 0, sizeof *p->look.images);
	p->look.images[p->look.n_images].ref = xstrdup(ref);
	p->look.images[p->look.n_images].role = role;
	p->look.n_images++;
}

/* The facts are in p->facts: name the app, list the images, look up. */
static void
start_lookups(struct decision *p)
{
	if (p->facts.image == NULL || p->facts.image[0] == '\0') {
		refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "%s %s: the request names no image",
			p->action, p->what));
		return;
	}
	free(p->what);
	p->what = NULL;
	if (p->route == ROUTE_CONTAINER_CREATE) {
		p->app = policy_app_name(&p->facts, p->container_name);
		if (p->container_name == NULL)
			p->what = xstrdup("a container");
		else if (p->app == NULL ||
		    strcmp(p->app, p->container_name) != 0)
			p->what = xasprintf("container \"%s\"",
			    p->container_name);
	} else {
		p->app = policy_app_name(&p->facts, NULL);
		if (p->app == NULL)
			p->what = p->service_id != NULL
			    ? xasprintf("service %s", p->service_id)
			    : xstrdup("a service");
	}
	add_image(p, p->facts.image, "image");
	for (size_t i = 0; i < p->facts.n_mount_images; i++)
		add_image(p, p->facts.mount_images[i], "image mount");
	if (p->facts.plugin_remote != NULL)
		add_image(p, p->facts.plugin_remote, "plugin");
	lookup_next(p);
}

static void
rollback_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	char *spec, *cause = NULL;
	size_t spec_len = 0;

	p->lookup = NULL;
	if (status != 200) {
		char *msg = error != NULL ? xstrdup(error)
					  : inspect_error_message(body, len);

		refuse(p, status == 404 ? 400 : 502, "engine",
		    xasprintf(
			"docker-guard: refusing to roll back service %s: cannot "
			"read it from the Docker engine: %s",
			p->service_id,
			msg != NULL ? msg : "unexpected answer"));
		free(msg);
		return;
	}
	spec = inspect_service_previous_spec(body, len, &spec_len);
	if (spec == NULL) {
		refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "roll back service %s: it has no previous spec",
			p->service_id));
		return;
	}
	/* The engine ignores the body and runs the previous spec: that is
	   what must be checked. */
	body_facts_reset(&p->facts);
	if (body_inspect_service_spec(spec, spec_len, &p->facts, &cause) != 0) {
		refuse(p, 400, "request",
		    xasprintf(
			"docker-guard: refusing to "
			"roll back service %s: its previous spec cannot be read: "
			"%s",
			p->service_id, cause));
		free(cause);
		free(spec);
		return;
	}
	free(spec);
	start_lookups(p);
}

static const char *
action_for(enum route_id id)
{
	switch (id) {
	case ROUTE_CONTAINER_CREATE:
		return "create";
	case ROUTE_SERVICE_CREATE:
		return "create";
	case ROUTE_SERVICE_UPDATE:
		return "update";
	case ROUTE_IMAGE_CREATE:
	case ROUTE_PLUGIN_PULL:
	case ROUTE_PLUGIN_UPGRADE:
		return "pull";
	case ROUTE_BUILD:
		return "build";
	case ROUTE_CONTAINER_START:
		return "start";
	case ROUTE_CONTAINER_RESTART:
		return "restart";
	default:
		return "handle";
	}
}

/* ---- pulls ---------------------------------------------------------- */

static void build_judge_next(struct decision *p);

/* A build's refusal names the Dockerfile line that pulls the image. */
static char *
build_message(const struct decision *p, const char *pull_message)
{
	const struct dockerfile_image *img = &p->pull.build_imgs
						  .v[p->pull.build_next];
	const char *m = pull_message;

	if (strncmp(m, "docker-guard: ", 14) == 0)
		m += 14;
	return xasprintf(
	    "docker-guard: refusing to build: %s %s (line %u of "
	    "%s) would be pulled by the builder, and the pull rules say: %s",
	    img->what, img->ref, img->line, p->pull.build_df, m);
}

static void
pull_decide(struct decision *p)
{
	struct policy_pull in = { 0 };
	struct policy_decision d;
	struct store_audit a = { 0 };
	enum store_verdict v;
	int64_t t;

	in.cfg = guard_cfg(p->g);
	in.from_image = p->pull.from_image;
	in.tag = p->pull.from_tag;
	in.from_src = p->pull.from_src;
	in.repo = p->pull.import_repo;
	in.registry_digest = p->pull.digest;
	policy_evaluate_pull(&in, &d);
	v = d.verdict == POLICY_DENY   ? STORE_DENY
	    : d.verdict == POLICY_WARN ? STORE_WARN
				       : STORE_ALLOW;
	if (d.verdict == POLICY_DENY) {
		p->status = d.status;
		p->message = p->route == ROUTE_BUILD
		    ? build_message(p, d.message)
		    : xstrdup(d.message);
		log_info("%s", p->message);
	} else if (d.verdict == POLICY_WARN) {
		log_warn("%s", d.message);
	}
	t = now_us();
	a.time_ms = t / 1000;
	a.peer = &p->peer;
	a.method = p->method;
	a.route = route_name(p->route);
	a.image_ref = p->pull.ref != NULL ? p->pull.ref : p->pull.from_src;
	a.digest = d.digest != NULL ? d.digest : p->pull.digest;
	a.rule = d.rule != NULL ? d.rule : d.note_rule;
	a.verdict = v;
	a.message = d.verdict == POLICY_DENY ? p->message
	    : d.message != NULL		     ? d.message
					     : d.note;
	a.latency_us = t - p->started_us;
	audit_row(p, &a, NULL);
	policy_decision_reset(&d);
	if (p->route == ROUTE_BUILD && p->status == 0 &&
	    ++p->pull.build_next < p->pull.build_imgs.n) {
		build_judge_next(p);
		return;
	}
	deliver(p);
}

static void
pull_registry_cb(const struct registry_result *r, void *arg)
{
	struct decision *p = arg;

	p->look.reg_check = NULL;
	if (r->outcome == REGISTRY_PRESENT && r->digest != NULL)
		p->pull.digest = xstrdup(r->digest);
	pull_decide(p);
}

/* Judge p->pull.from_image (with p->pull.from_tag) by the pull rules. */
static void
pull_begin(struct decision *p)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	struct imgref ref;
	const char *cause;

	if (p->pull.from_image == NULL) {
		pull_decide(p);
		return;
	}
	p->pull.ref = policy_pull_reference(p->pull.from_image,
	    p->pull.from_tag);
	/* A pull by tag is refused with the digest to use instead: ask the
	   registry what the tag points to now. */
	if (cfg->pull_require_digest != RULE_OFF &&
	    imgref_parse(p->pull.ref, &ref, &cause) == 0) {
		if (ref.kind == IMGREF_NAME && ref.digest == NULL &&
		    ref.tag != NULL) {
			p->look.reg_check = registry_check(p->g->registry,
			    ref.domain, ref.path, ref.tag, &p->g->platform,
			    REGISTRY_DIGEST_ONLY, pull_registry_cb, p);
			imgref_reset(&ref);
			return;
		}
		imgref_reset(&ref);
	}
	pull_decide(p);
}

/*
 * The request's parameters as the engine reads them (r.Form): a form
 * body first when there is one, then the query.  Returns the body's
 * media type.
 */
static enum form_media
request_form(const struct decision_request *req, struct form *f)
{
	const char *ct = http_head_get(req->head, "Content-Type");
	enum form_media m = form_media_type(ct);

	memset(f, 0, sizeof *f);
	if (m == FORM_MEDIA_URLENCODED && req->body != NULL)
		form_parse(f, req->body, req->body_len);
	if (req->route->query != NULL)
		form_parse(f, req->route->query, strlen(req->route->query));
	return m;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* POST /images/create: decided on the parameters the engine reads, from
   the query and a form body. */
static void
pull_start(struct decision *p, const struct decision_request *req)
{
	struct form f;
	enum form_media m = request_form(req, &f);

	free(p->action);
	p->action = xstrdup("pull");
	if (f.errors > 0 || m == FORM_MEDIA_UNSURE) {
		form_reset(&f);
		refuse(p, 400, "request",
		    xstrdup(m == FORM_MEDIA_UNSURE
			    ? "docker-guard: refusing to pull: the guard cannot tell "
			      "whether the engine reads this Content-Type as a form"
			    : "docker-guard: refusing to pull: the query string (or "
			      "form body) is malformed"));
		return;
	}
	p->pull.from_image = dup_or_null(form_get(&f, "fromImage"));
	p->pull.from_tag = dup_or_null(form_get(&f, "tag"));
	p->pull.from_src = dup_or_null(form_get(&f, "fromSrc"));
	p->pull.import_repo = dup_or_null(form_get(&f, "repo"));
	form_reset(&f);
	if (p->pull.from_image != NULL && *p->pull.from_image == '\0') {
		free(p->pull.from_image);
		p->pull.from_image = NULL;
	}
	pull_begin(p);
}

/* ---- builds, BuildKit, plugins ---------------------------------------- */

static void
build_judge_next(struct decision *p)
{
	const struct dockerfile_image *img = &p->pull.build_imgs
						  .v[p->pull.build_next];
	struct imgref ref;
	const char *cause = NULL;
	int rc;

	free(p->pull.from_image);
	free(p->pull.ref);
	free(p->pull.digest);
	p->pull.from_image = NULL;
	p->pull.ref = NULL;
	p->pull.digest = NULL;
	rc = imgref_parse(img->ref, &ref, &cause);
	if (rc == 0 && ref.kind == IMGREF_ID) {
		/* Content-addressed and local: no pull. */
		imgref_reset(&ref);
		if (!guard_cfg(p->g)->local_images_allow) {
			refuse(p, 403, "local_images",
			    xasprintf(
				"docker-guard: refusing to build: %s %s (line %u "
				"of %s) is a local image ID, and local_images = "
				"deny",
				img->what, img->ref, img->line,
				p->pull.build_df));
			return;
		}
		audit(p, NULL, STORE_ALLOW, "local_images",
		    "build on a local "
		    "image ID (local_images = allow)");
		if (++p->pull.build_next < p->pull.build_imgs.n)
			build_judge_next(p);
		else
			deliver(p);
		return;
	}
	if (rc == 0)
		imgref_reset(&ref);
	/* The builder pulls a name without tag as :latest. */
	p->pull.from_image = path_plugin_reference(img->ref);
	pull_begin(p);
}

/* POST /build once its context streamed by: judge the Dockerfile's base
   images one after the other. */
static void
build_judge_start(struct decision *p, const struct decision_request *req)
{
	const struct decision_build_context *b = req->build;
	struct dockerfile_args args;
	struct form f;
	char *cause = NULL;

	free(p->action);
	p->action = xstrdup("build");
	p->pull.build_df = xstrdup(
	    b->dockerfile_path != NULL ? b->dockerfile_path : "Dockerfile");
	if (b->cause != NULL || b->dockerfile == NULL) {
		refuse(p, 403, "build",
		    xasprintf(
			"docker-guard: refusing to "
			"build: %s, so the guard cannot judge the base images "
			"(rule: build = judge). %s",
			b->cause != NULL ? b->cause : "no Dockerfile",
			b->cause != NULL &&
				strstr(b->cause, "compressed") != NULL
			    ? "Send the build "
			      "context uncompressed (docker build without --compress), "
			      "or set build = allow."
			    : "Set build = allow to let such "
			      "builds through unjudged."));
		return;
	}
	request_form(req, &f);
	if (dockerfile_args_parse(form_get(&f, "buildargs"), &args, &cause) !=
		0 ||
	    dockerfile_images(b->dockerfile, b->dockerfile_len, &args,
		&p->pull.build_imgs, &cause) != 0) {
		refuse(p, 403, "build",
		    xasprintf(
			"docker-guard: refusing to "
			"build: %s: %s, so the guard cannot judge the base images "
			"(rule: build = judge). Pin FROM lines by digest, as "
			"plain words.",
			p->pull.build_df, cause));
		free(cause);
		form_reset(&f);
		dockerfile_args_reset(&args);
		return;
	}
	form_reset(&f);
	dockerfile_args_reset(&args);
	if (p->pull.build_imgs.n == 0) {
		audit(p, NULL, STORE_ALLOW, "build",
		    "build with no base image "
		    "(FROM scratch)");
		deliver(p);
		return;
	}
	build_judge_next(p);
}

/* Builds, BuildKit and plugins at their head (see path_policy.h). */
static void
paths_start(struct decision *p, const struct decision_request *req)
{
	struct path_head in = { 0 };
	struct form f;

	if (req->build != NULL) {
		build_judge_start(p, req);
		return;
	}
	free(p->what);
	p->what = xstrdup(p->route == ROUTE_BUILD ? "an image"
		: p->route == ROUTE_SESSION || p->route == ROUTE_GRPC
		? "a BuildKit session"
		: "a plugin");
	in.media = request_form(req, &f);
	in.cfg = guard_cfg(p->g);
	in.route = p->route;
	in.form = &f;
	path_policy_head(&in, &p->pull.path);
	form_reset(&f);
	switch (p->pull.path.action) {
	case PATH_ACT_REFUSE:
		refuse(p, p->pull.path.status, p->pull.path.rule,
		    xstrdup(p->pull.path.message));
		return;
	case PATH_ACT_ALLOW:
		audit(p, NULL, STORE_ALLOW, p->pull.path.rule,
		    p->pull.path.message);
		deliver(p);
		return;
	case PATH_ACT_JUDGE_BUILD:
		deliver(p); /* the session streams, then asks again */
		return;
	case PATH_ACT_JUDGE_PULL:
		free(p->action);
		p->action = xstrdup("pull");
		p->pull.from_image = xstrdup(p->pull.path.ref);
		pull_begin(p);
		return;
	}
}

struct decision *
guard_check(struct guard *g, const struct decision_request *req,
    const struct decision_reply *reply)
{
	struct decision *p = xcalloc(1, sizeof *p);
	const char *ct = http_head_get(req->head, "Content-Type");
	char *cause = NULL, *rollback = NULL;
	int r;

	p->g = g;
	p->reply = *reply;
	p->started_us = now_us();
	p->peer = *req->peer;
	p->route = req->route->id;
	p->method = xstrdup(req->head->method);
	p->action = xstrdup(action_for(p->route));
	p->what = xstrdup(
	    p->route == ROUTE_CONTAINER_CREATE ? "a container" : "a service");
	if (p->route == ROUTE_IMAGE_CREATE) {
		pull_start(p, req);
		return p;
	}
	if (path_policy_route(p->route)) {
		paths_start(p, req);
		return p;
	}
	if (p->route == ROUTE_CONTAINER_DELETE) {
		snapshot_start(p, req);
		return p;
	}
	if (p->route == ROUTE_CONTAINER_PRUNE) {
		prune_start(p);
		return p;
	}
	if (decide_runs_existing(p->route)) {
		start_check(p, req);
		return p;
	}

	if (req->body_len > 0 && !body_content_type_is_json(ct)) {
		refuse(p, 400, "request",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: Content-Type %s%s%s must be application/json",
			p->action, p->what, ct ? "\"" : "", ct ? ct : "(none)",
			ct ? "\"" : ""));
		return p;
	}
	if (p->route == ROUTE_CONTAINER_CREATE)
		r = body_inspect_container_create(req->body, req->body_len,
		    &p->facts, &cause);
	else
		r = body_inspect_service_spec(req->body, req->body_len,
		    &p->facts, &cause);
	if (r != 0) {
		refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "%s %s: %s",
			p->action, p->what, cause));
		free(cause);
		return p;
	}
	if (route_query_get(req->route->query, "name", &p->container_name) !=
		0 ||
	    route_query_get(req->route->query, "rollback", &rollback) != 0 ||
	    route_query_get(req->route->query, "platform",
		&p->look.platform_query) != 0) {
		refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "%s %s: the query string is malformed",
			p->action, p->what));
		return p;
	}
	if (p->route == ROUTE_CONTAINER_CREATE && p->container_name != NULL &&
	    p->container_name[0] == '\0') {
		free(p->container_name);
		p->container_name = NULL;
	}
	if (p->route == ROUTE_SERVICE_UPDATE)
		p->service_id = xstrdup(req->route->param);
	if (p->route == ROUTE_SERVICE_UPDATE && rollback != NULL &&
	    strcmp(rollback, "previous") == 0) {
		char *esc = engine_path_escape(p->service_id);
		char *path = xasprintf("/services/%s", esc);

		free(p->action);
		p->action = xstrdup("roll back");
		free(p->what);
		p->what = xasprintf("service %s", p->service_id);
		p->lookup = engine_get(g->base, guard_cfg(g)->upstream, path,
		    rollback_cb, p);
		free(path);
		free(esc);
		free(rollback);
		return p;
	}
	free(rollback);
	start_lookups(p);
	return p;
}

static void
record(struct decision *p, const char *id, const char *name)
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
		sid = xasprintf("service:%s:%lld", id, (long long)now_us());
		id = sid;
	}
	d.container_id = id;
	d.container_name = name;
	d.image_ref = img->ref;
	d.image_id = img->info.id;
	d.repo_digest = digest;
	d.version = img->decision.version;
	d.time = now_us() / 1000000;
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
	record_outcome(p, p->route == ROUTE_SERVICE_UPDATE ? 200 : 201, cid,
	    d.app != NULL ? &d : NULL, what);
	free(what);
	free(sid);
}

/* What the engine created runs the judged image: let the client hear of
 * it and record it; else it was removed: refuse, audited. */
static void
verified_cb(const struct verify_result *r, void *arg)
{
	struct decision *p = arg;
	struct guard_image *img = &p->look.images[0];
	struct decision_reply reply = p->reply;
	char *msg, who[300];

	p->verify = NULL;
	p->verifying = false;
	p->reply.arg = NULL;
	if (r->same || r->gone) {
		if (reply.arg != NULL)
			reply.verified(reply.arg, 0, NULL);
		if (r->same) /* the engine's name when it chose one */
			record(p, p->container_id,
			    p->container_name != NULL ? p->container_name
						      : r->name);
		else
			record_outcome(p, 201, p->container_id, NULL,
			    "the "
			    "engine created the container, and it was removed "
			    "before the guard could check it");
		pending_free(p);
		return;
	}
	msg = xasprintf(
	    "docker-guard: refusing to %s %s: the engine created "
	    "it (%.12s) from image %s, not from %s%s%s%s that was judged for "
	    "%s: the reference was moved while the request was being decided "
	    "(a tag, pull, push or rename on the engine meanwhile; rule: "
	    "toctou). %s Pin the image by digest (repo@sha256:...) or by ID, "
	    "so that what is checked is what runs, and try again.",
	    p->action, subject_of(p, who, sizeof who), p->container_id,
	    r->image_id != NULL ? r->image_id : "unknown",
	    img->found ? img->info.id : "an image the engine did not have",
	    img->decision.version != NULL ? " (version " : "",
	    img->decision.version != NULL ? img->decision.version : "",
	    img->decision.version != NULL ? ")" : "", img->ref,
	    r->removed ? "The container was removed before anything started it."
		       : "It could not be removed; remove it by hand.");
	log_warn("%s%s%s", msg, r->error != NULL ? " Removal: " : "",
	    r->error != NULL ? r->error : "");
	audit(p, img, STORE_DENY, "toctou", msg);
	record_outcome(p, 403, p->container_id, NULL,
	    r->removed
		? "the "
		  "engine created the container from another image than the judged "
		  "one; it was removed (rule toctou)"
		: "the engine created the "
		  "container from another image than the judged one and it could "
		  "not be removed (rule toctou)");
	if (reply.arg != NULL)
		reply.verified(reply.arg, 403, msg);
	free(msg);
	pending_free(p);
}

/* The engine's 201 to a container create: hold the answer and check what
 * it created.  Returns false when there is nothing to check (p freed). */
static bool
verify_begin(struct decision *p, const char *body, size_t len)
{
	struct guard_image *img = &p->look.images[0];
	char *id = body_response_id(body, len);

	if (id == NULL ||
	    (!img->found && strstr(img->ref, "@sha256:") != NULL)) {
		/* No ID: nothing to check or record.  A digest the engine
		   did not have when judged: content-addressed, it cannot
		   name another image. */
		if (id == NULL)
			log_warn("the engine's 201 answer to create has no ID; "
				 "not recorded");
		else
			record(p, id, p->container_name);
		p->reply.arg = NULL;
		free(id);
		pending_free(p);
		return false;
	}
	p->verifying = true;
	p->container_id = id;
	p->verify = verify_created(p->g->base, guard_cfg(p->g)->upstream, id,
	    img->found ? img->info.id : NULL, verified_cb, p);
	return true;
}

bool
guard_response(struct guard *g, struct decision *p, int status,
    const char *body, size_t len)
{
	char *id;

	if (p->route == ROUTE_CONTAINER_DELETE ||
	    p->route == ROUTE_CONTAINER_PRUNE) {
		removal_record(p, status, body, len);
		pending_free(p);
		return false;
	}
	if (p->route == ROUTE_CONTAINER_CREATE && status == 201)
		return verify_begin(p, body, len);
	p->reply.arg = NULL;
	if (status != 201 &&
	    !(p->route == ROUTE_SERVICE_UPDATE && status == 200)) {
		char *m = inspect_error_message(body, len);
		char
		    *what = xasprintf("the engine answered %d%s%s; nothing was "
				      "%s",
			status, m != NULL ? ": " : "", m != NULL ? m : "",
			p->route == ROUTE_SERVICE_UPDATE ? "changed"
							 : "created");

		record_outcome(p, status, NULL, NULL, what);
		free(what);
		free(m);
		pending_free(p);
		return false;
	}
	id = p->route == ROUTE_SERVICE_UPDATE ? xstrdup(p->service_id)
					      : body_response_id(body, len);
	if (id == NULL) {
		log_warn("the engine's %d answer to %s has no ID; not "
			 "recorded",
		    status, p->action);
		pending_free(p);
		return false;
	}
	record(p, id, p->app);
	free(id);
	pending_free(p);
	return false;
}

void
guard_cancel(struct guard *g, struct decision *p)
{
	if (p->verifying) {
		/* The client left: the check, and the removal of what should
		   not have been created, go on without it (and record the
		   outcome). */
		p->reply.arg = NULL;
		if (!p->detached) {
			p->detached = true;
			TAILQ_INSERT_TAIL(&g->detached, p, detached_entry);
		}
		return;
	}
	if (p->rec.forwarded)
		record_outcome(p, 0, NULL, NULL,
		    "no answer from the engine "
		    "(the connection failed or closed; the client got an "
		    "error); a container it may have made is recorded at the "
		    "next reconcile");
	pending_free(p);
}

void
guard_observe(struct guard *g, const struct route *r, int status)
{
	struct store_write w = { 0 };
	char *name = NULL;

	if (status < 200 || status >= 300 || r->param == NULL)
		return;
	if (r->id == ROUTE_CONTAINER_RENAME) {
		if (route_query_get(r->query, "name", &name) != 0 ||
		    name == NULL) {
			free(name);
			return;
		}
		w.renamed = r->param;
		w.new_name = name;
	} else if (r->id == ROUTE_CONTAINER_DELETE) {
		w.removed = r->param;
		w.removed_at = now_us() / 1000000;
	} else {
		return;
	}
	ledger_write(g->ledger, &w, NULL, NULL);
	free(name);
}

void
guard_dry_run(struct guard *g, const char *image, const char *app,
    guard_dry_cb done, void *arg)
{
	struct decision *p = xcalloc(1, sizeof *p);

	p->g = g;
	p->dry_run = true;
	p->dry_cb = done;
	p->dry_arg = arg;
	p->started_us = now_us();
	p->route = ROUTE_CONTAINER_CREATE;
	p->method = xstrdup("POST");
	p->action = xstrdup("create");
	p->facts.image = xstrdup(image);
	if (app != NULL) {
		/* Name the app as a label would. */
		p->facts.labels = xcalloc(1, sizeof *p->facts.labels);
		p->facts.labels[0].key = xstrdup(POLICY_LABEL_APP);
		p->facts.labels[0].value = xstrdup(app);
		p->facts.n_labels = 1;
	}
	start_lookups(p);
}

static struct decision *
port_check(void *decider, const struct decision_request *req,
    const struct decision_reply *reply)
{
	return guard_check(decider, req, reply);
}

static bool
port_response(void *decider, struct decision *d, int status, const char *body,
    size_t len)
{
	return guard_response(decider, d, status, body, len);
}

static void
port_cancel(void *decider, struct decision *d)
{
	guard_cancel(decider, d);
}

static void
port_observe(void *decider, const struct route *r, int status)
{
	guard_observe(decider, r, status);
}

void
guard_port(struct guard *g, struct decision_port *port)
{
	port->decider = g;
	port->check = port_check;
	port->response = port_response;
	port->cancel = port_cancel;
	port->observe = port_observe;
}
