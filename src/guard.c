/*
 * The decision on guarded requests (guard.h): the entry points, one flow
 * per route, the verdict's delivery and what the engine answered.  A
 * create reads the body as the engine will, the lookups ask the engine
 * and the registry what each image is (guard_lookup.c), the decision
 * takes the app's history from the ledger (guard_decide.c, decide.c),
 * every decision is audited and what the engine created recorded
 * (guard_record.c).  Data flows one way: facts in, verdict out, outcome
 * recorded.  guard_int.h lists the files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "body_inspect.h"
#include "drift.h"
#include "engine.h"
#include "guard.h"
#include "guard_int.h"
#include "http_head.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "path_policy.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "verify.h"
#include "xmalloc.h"

static void ask_engine_name(struct guard *g);

static void
name_again_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ask_engine_name(arg);
}

/* The local database keeps this host's name (meta "host_name"), so
 * `docker-guard ledger import` knows whose rows it ships. */
static void
remember_host_name(struct guard *g, const char *name)
{
	struct store_write w = { 0 };

	w.meta_key = "host_name";
	w.meta_value = name;
	ledger_write(g->ledger, &w, NULL, NULL);
}

/* The engine's /info: its Name is this host's name in the fleet. */
static void
engine_name_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct guard *g = arg;
	char *name = status == 200 ? inspect_info_name(body, len) : NULL;
	struct timeval again = { 2, 0 };

	g->name_req = NULL;
	if (name == NULL) {
		log_warn("cannot read the engine's name (%s); asking again "
			 "(or set host_name in guard.conf)",
		    error != NULL ? error : "no Name in /info");
		if (g->name_ev == NULL)
			g->name_ev = evtimer_new(g->base, name_again_cb, g);
		evtimer_add(g->name_ev, &again);
		return;
	}
	if (g->fleet != NULL) {
		log_info("fleet ledger: this host is \"%s\" (the engine's "
			 "name)",
		    name);
		fleet_set_host_name(g->fleet, name);
	}
	if (g->serving)
		remember_host_name(g, name);
	free(name);
}

static void
ask_engine_name(struct guard *g)
{
	g->name_req = engine_get(g->base, guard_cfg(g)->upstream, "/info",
	    engine_name_cb, g);
}

struct guard *
guard_new(struct event_base *base, const struct guard_config *const *cfg,
    bool follow)
{
	struct guard *g = xcalloc(1, sizeof *g);
	char *cause = NULL;

	g->base = base;
	g->cfg = cfg;
	g->started = time(NULL);
	TAILQ_INIT(&g->known.inspects);
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
	if (follow)
		g->drift = drift_new(base, cfg, g->registry, g->ledger);
	if ((*cfg)->ledger != NULL)
		g->fleet = fleet_new(base, (*cfg)->ledger, (*cfg)->host_name,
		    g->store);
	/* Keep this host's name when serving (a dry run writes nothing);
	   with a fleet and no host_name, it is the engine's.  Without a
	   fleet the engine is not asked: a guard sends the engine nothing
	   of its own but the monitor's requests. */
	g->serving = follow;
	if ((*cfg)->host_name != NULL && follow)
		remember_host_name(g, (*cfg)->host_name);
	else if ((*cfg)->host_name == NULL && g->fleet != NULL)
		ask_engine_name(g);
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
	if (g->drift != NULL)
		drift_reconfigure(g->drift);
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
	guard_lookup_cache_clear(g);
	while (!TAILQ_EMPTY(&g->detached))
		guard_decision_free(TAILQ_FIRST(&g->detached));
	engine_cancel(g->name_req);
	if (g->name_ev != NULL)
		event_free(g->name_ev);
	fleet_free(g->fleet);
	drift_free(g->drift);
	monitor_free(g->monitor);
	ledger_free(g->ledger);
	store_close(g->store);
	registry_free(g->registry);
	free(g);
}

void
guard_decision_free(struct decision *p)
{
	if (p->detached)
		TAILQ_REMOVE(&p->g->detached, p, detached_entry);
	if (p->ev != NULL)
		event_free(p->ev);
	guard_record_forget(p);
	guard_fleet_forget(p);
	engine_cancel(p->lookup);
	verify_cancel(p->verify);
	guard_lookup_reset(&p->look);
	guard_pull_reset(&p->pull);
	guard_start_reset(&p->start);
	guard_restore_reset(&p->restore, &p->rm);
	free(p->container_id);
	free(p->method);
	free(p->action);
	free(p->what);
	free(p->container_name);
	free(p->service_id);
	free(p->app);
	body_facts_reset(&p->facts);
	guard_profile_reset(&p->prof);
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

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct decision *p = arg;
	const struct route_traits *t = route_traits(p->route);
	struct decision_verdict v = { 0 };

	if (p->restore.parent != NULL) {
		guard_restore_judged(p->restore.parent, p); /* frees p */
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
		guard_decision_free(p);
		return;
	}

	v.status = p->status;
	v.message = p->message;
	v.warnings = (const char *const *)p->warnings;
	v.n_warnings = p->n_warnings;
	v.wants_response = p->status == 0 && t->checks_response;
	p->rec.forwarded = v.wants_response;
	/* A removal by any spelling is recorded by the full ID. */
	if (p->status == 0 && t->removes &&
	    (p->route != ROUTE_CONTAINER_DELETE || p->container_id != NULL))
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
void
guard_deliver(struct decision *p)
{
	if (guard_ledger_hold(p))
		return;
	p->delivered = true;
	if (p->ev == NULL)
		p->ev = evtimer_new(p->g->base, deliver_cb, p);
	event_active(p->ev, EV_TIMEOUT, 0);
}

/* What a message names: the container or service, or the app. */
const char *
guard_subject(const struct decision *p, char *buf, size_t size)
{
	if (p->what != NULL)
		snprintf(buf, size, "%s", p->what);
	else if (p->app != NULL)
		snprintf(buf, size, "app \"%s\"", p->app);
	else
		snprintf(buf, size, "it");
	return buf;
}

/* Refuse before any policy ran (bad body, bad query, lookup failed). */
void
guard_refuse(struct decision *p, int status, const char *rule, char *message)
{
	free(p->message);
	p->status = status;
	p->message = message;
	guard_audit(p, p->look.n_images > 0 ? &p->look.images[0] : NULL,
	    STORE_DENY, rule, message);
	log_info("%s", p->message);
	guard_deliver(p);
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

		guard_refuse(p, status == 404 ? 400 : 502, "engine",
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
		guard_refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "roll back service %s: it has no previous spec",
			p->service_id));
		return;
	}
	/* The engine ignores the body and runs the previous spec: that is
	   what must be checked. */
	body_facts_reset(&p->facts);
	if (body_inspect_service_spec(spec, spec_len, &p->facts, &cause) != 0) {
		guard_refuse(p, 400, "request",
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
	guard_lookup_start(p);
}

/* POST /services/{id}/update?rollback=previous: the engine runs the
 * service's previous spec, so judge that (rollback_cb). */
static void
rollback_start(struct decision *p)
{
	char *esc = engine_path_escape(p->service_id);
	char *path = xasprintf("/services/%s", esc);

	free(p->action);
	p->action = xstrdup("roll back");
	free(p->what);
	p->what = xasprintf("service %s", p->service_id);
	p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream, path,
	    rollback_cb, p);
	free(path);
	free(esc);
}

/* Read a create's or service's body as the engine will, into p->facts;
 * 0, or -1 when refused. */
static int
body_read(struct decision *p, const struct decision_request *req)
{
	const char *ct = http_head_get(req->head, "Content-Type");
	char *cause = NULL;
	int r;

	if (req->body_len > 0 && !body_content_type_is_json(ct)) {
		guard_refuse(p, 400, "request",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: Content-Type %s%s%s must be application/json",
			p->action, p->what, ct ? "\"" : "", ct ? ct : "(none)",
			ct ? "\"" : ""));
		return -1;
	}
	if (p->route == ROUTE_CONTAINER_CREATE)
		r = body_inspect_container_create(req->body, req->body_len,
		    &p->facts, &cause);
	else if (p->route == ROUTE_EXEC_CREATE)
		r = body_inspect_exec_create(req->body, req->body_len,
		    &p->facts, &cause);
	else if (p->route == ROUTE_VOLUME_CREATE)
		r = body_inspect_volume_create(req->body, req->body_len,
		    &p->facts, &cause);
	else if (p->route == ROUTE_CONTAINER_UPDATE)
		r = body_inspect_container_update(req->body, req->body_len,
		    &p->facts, &cause);
	else
		r = body_inspect_service_spec(req->body, req->body_len,
		    &p->facts, &cause);
	if (r != 0) {
		guard_refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "%s %s: %s",
			p->action, p->what, cause));
		free(cause);
		return -1;
	}
	return 0;
}

/* After the profile's limits held: the lookups, or the rollback's
 * previous spec. */
static void
body_continue(struct decision *p)
{
	if (p->rollback)
		rollback_start(p);
	else
		guard_lookup_start(p);
}

/* Container and service creates and updates: the body and the query,
 * the profile's limits, then body_continue. */
static void
body_start(struct decision *p, const struct decision_request *req)
{
	char *rollback = NULL;

	if (body_read(p, req) != 0)
		return;
	if (route_query_get(req->route->query, "name", &p->container_name) !=
		0 ||
	    route_query_get(req->route->query, "rollback", &rollback) != 0 ||
	    route_query_get(req->route->query, "platform",
		&p->look.platform_query) != 0) {
		guard_refuse(p, 400, "request",
		    xasprintf("docker-guard: refusing to "
			      "%s %s: the query string is malformed",
			p->action, p->what));
		return;
	}
	if (p->route == ROUTE_CONTAINER_CREATE && p->container_name != NULL &&
	    p->container_name[0] == '\0') {
		free(p->container_name);
		p->container_name = NULL;
	}
	if (p->route == ROUTE_SERVICE_UPDATE)
		p->service_id = xstrdup(req->route->param);
	p->rollback = p->route == ROUTE_SERVICE_UPDATE && rollback != NULL &&
	    strcmp(rollback, "previous") == 0;
	free(rollback);
	guard_profile_judge(p, req, body_continue);
}

/* Exec and volume creates, container updates: read only for a profile's
 * limits; forwarded when they hold. */
static void
limits_held(struct decision *p)
{
	p->status = 0;
	guard_deliver(p);
}

static void
limits_start(struct decision *p, const struct decision_request *req)
{
	if (body_read(p, req) != 0)
		return;
	guard_profile_judge(p, req, limits_held);
}

struct decision *
guard_check(struct guard *g, const struct decision_request *req,
    const struct decision_reply *reply)
{
	struct decision *p = xcalloc(1, sizeof *p);
	const struct route_traits *t = route_traits(req->route->id);

	p->g = g;
	p->reply = *reply;
	p->started_us = guard_now_us();
	p->peer = *req->peer;
	p->route = req->route->id;
	p->method = xstrdup(req->head->method);
	p->action = xstrdup(route_traits(p->route)->action);
	p->what = xstrdup(
	    p->route == ROUTE_CONTAINER_CREATE ? "a container" : "a service");
	/* One flow per route (route.h's table). */
	if (req->refusal != NULL)
		guard_profile_refusal(p, req);
	else if (t->limited && !t->guarded)
		limits_start(p, req);
	else if (p->route == ROUTE_IMAGE_CREATE)
		guard_pull_start(p, req);
	else if (t->path_policy)
		guard_paths_start(p, req);
	else if (t->removes && p->route == ROUTE_CONTAINER_PRUNE)
		guard_prune_start(p);
	else if (t->removes)
		guard_snapshot_start(p, req);
	else if (t->runs_existing)
		guard_start_check(p, req);
	else if (t->enters_container)
		guard_enter_check(p, req);
	else
		body_start(p, req);
	return p;
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
			guard_record_deployment(p, p->container_id,
			    p->container_name != NULL ? p->container_name
						      : r->name);
		else
			guard_record_outcome(p, 201, p->container_id, NULL,
			    "the "
			    "engine created the container, and it was removed "
			    "before the guard could check it");
		guard_decision_free(p);
		return;
	}
	msg = xasprintf(
	    "docker-guard: refusing to %s %s: the engine created "
	    "it (%.12s) from image %s, not from %s%s%s%s that was judged for "
	    "%s: the reference was moved while the request was being decided "
	    "(a tag, pull, push or rename on the engine meanwhile; rule: "
	    "toctou). %s Pin the image by digest (repo@sha256:...) or by ID, "
	    "so that what is checked is what runs, and try again.",
	    p->action, guard_subject(p, who, sizeof who), p->container_id,
	    r->image_id != NULL ? r->image_id : "unknown",
	    img->found ? img->info.id : "an image the engine did not have",
	    img->decision.version != NULL ? " (version " : "",
	    img->decision.version != NULL ? img->decision.version : "",
	    img->decision.version != NULL ? ")" : "", img->ref,
	    r->removed ? "The container was removed before anything started it."
		       : "It could not be removed; remove it by hand.");
	log_warn("%s%s%s", msg, r->error != NULL ? " Removal: " : "",
	    r->error != NULL ? r->error : "");
	guard_audit(p, img, STORE_DENY, "toctou", msg);
	guard_record_outcome(p, 403, p->container_id, NULL,
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
	guard_decision_free(p);
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
			guard_record_deployment(p, id, p->container_name);
		p->reply.arg = NULL;
		free(id);
		guard_decision_free(p);
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

	if (route_traits(p->route)->removes) {
		guard_record_removals(p, status, body, len);
		guard_decision_free(p);
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

		guard_record_outcome(p, status, NULL, NULL, what);
		free(what);
		free(m);
		guard_decision_free(p);
		return false;
	}
	id = p->route == ROUTE_SERVICE_UPDATE ? xstrdup(p->service_id)
					      : body_response_id(body, len);
	if (id == NULL) {
		log_warn("the engine's %d answer to %s has no ID; not "
			 "recorded",
		    status, p->action);
		guard_decision_free(p);
		return false;
	}
	guard_record_deployment(p, id, p->app);
	free(id);
	guard_decision_free(p);
	return false;
}

void
guard_cancel(struct guard *g, struct decision *p)
{
	if (p->fl.committing) {
		/* The claim's commit answers later: p waits for it. */
		p->fl.cancelled = true;
		p->reply.arg = NULL;
		if (!p->detached) {
			p->detached = true;
			TAILQ_INSERT_TAIL(&g->detached, p, detached_entry);
		}
		return;
	}
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
		guard_record_outcome(p, 0, NULL, NULL,
		    "no answer from the engine "
		    "(the connection failed or closed; the client got an "
		    "error); a container it may have made is recorded at the "
		    "next reconcile");
	guard_decision_free(p);
}

void
guard_observe(struct guard *g, const struct route *r, int status)
{
	struct store_write w = { 0 };
	char *name = NULL;

	if (!route_traits(r->id)->observed || status < 200 || status >= 300 ||
	    r->param == NULL)
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
		w.removed_at = guard_now_us() / 1000000;
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
	p->started_us = guard_now_us();
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
	guard_lookup_start(p);
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
