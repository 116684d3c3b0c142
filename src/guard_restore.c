/*
 * Bringing an app's previous container back after a refused create
 * (guard_int.h): the removed container's configuration is kept when it is
 * removed (snapshots), and after a refusal it is recreated (or compose's
 * renamed container named back) and started, once what it would run has
 * been judged as a create or start would be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "engine.h"
#include "guard_int.h"
#include "inspect.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "route.h"
#include "store.h"
#include "xmalloc.h"

/* A container stopped at most this long (seconds) before its removal
   counts as running when restored. */
#define SNAPSHOT_RECENT_STOP 60

static void prune_next(struct decision *);

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
		guard_audit_head(p, guard_now_us(), &a);
		a.rule = "restore";
		a.verdict = STORE_ALLOW;
		a.message = note;
		w.audit = &a;
		ledger_write(p->g->ledger, &w, NULL, NULL);
		free(note);
	}
	free(p->message);
	p->message = msg;
	guard_deliver(p);
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
		guard_now_us() / 1000000, &cause) != 0) {
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

/*
 * Before restoring, judge what would run by the rules a client's request
 * would meet: a recreate from a snapshot as a create of the image by its
 * ID (pinned; registry presence as configured), compose's renamed-back
 * container as a start.  facts (the container's labels) are stolen.
 * guard_restore_judged() goes on.
 */
static void
restore_judge(struct decision *p, enum route_id route, const char *ref,
    const char *image_id, struct body_facts *facts)
{
	struct decision *c = xcalloc(1, sizeof *c);

	c->g = p->g;
	c->restore.parent = p;
	c->dry_run = true; /* no audit, no restore, no session of its own */
	c->started_us = guard_now_us();
	c->peer = p->peer;
	c->route = route;
	c->method = xstrdup("POST");
	c->action = xstrdup(route_traits(route)->action);
	c->what = xasprintf("container \"%s\"", p->restore.name);
	c->app = xstrdup(p->app);
	c->facts = *facts;
	memset(facts, 0, sizeof *facts);
	guard_add_image(c, ref, "image");
	c->look.images[0].lookup = xstrdup(image_id);
	p->restore.child = c;
	guard_lookup_next(c);
}

/* The restore was judged (child): go on restoring, or say why not. */
void
guard_restore_judged(struct decision *p, struct decision *child)
{
	const struct guard_image *img = &child->look.images[0];
	const struct policy_decision *d = &img->decision;
	char *why, *note, *msg;

	p->restore.child = NULL;
	if (child->status == 0) {
		guard_decision_free(child);
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
	guard_audit(p, img, STORE_DENY, "restore", note);
	free(p->message);
	p->message = msg;
	free(note);
	free(why);
	guard_decision_free(child);
	guard_deliver(p);
}

static void
renamed_state_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct inspect_container c;

	p->lookup = NULL;
	if (status != 200 || inspect_container_parse(body, len, &c) != 0) {
		guard_deliver(p); /* gone meanwhile: nothing to restore */
		return;
	}
	if (c.running || c.image_id == NULL) {
		/* Still running: the app is up. */
		inspect_container_reset(&c);
		guard_deliver(p);
		return;
	}
	p->restore.start = true;
	/* Renaming it back and starting it runs its image again. */
	restore_judge(p, ROUTE_CONTAINER_START,
	    c.image_ref != NULL ? c.image_ref : c.image_id, c.image_id,
	    &c.facts);
	inspect_container_reset(&c);
}

void
guard_restore_begin(struct decision *p)
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
		guard_deliver(p);
		return;
	}
	if (live > 0) {
		if (store_history(g->store, p->app, find_renamed_cb, &ren,
			&cause) != 0) {
			log_error("ledger: %s", cause);
			free(cause);
		}
		if (ren.id == NULL) {
			guard_deliver(p); /* the app still has its container */
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
		guard_now_us() / 1000000 - guard_cfg(g)->restore_window,
		&p->restore.snapshot_id, &inspect, &running, &cause) != 0) {
		log_error("ledger: %s", cause);
		free(cause);
		guard_deliver(p);
		return;
	}
	if (inspect == NULL) {
		guard_deliver(p); /* nothing removed recently: nothing to do */
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
	int64_t now = guard_now_us() / 1000000;
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
	guard_deliver(p);
}

/* DELETE /containers/{id}: keep the inspect of a guarded app's container
 * first, so a refused recreate can bring it back.  The engine resolves
 * the spelling (name, full or short ID, any prefix). */
void
guard_snapshot_start(struct decision *p, const struct decision_request *req)
{
	struct guard *g = p->g;
	char *path, *esc;

	if (!guard_cfg(g)->restore_on_refusal || req->route->param == NULL) {
		guard_deliver(p);
		return;
	}
	esc = engine_path_escape(req->route->param);
	path = xasprintf("/containers/%s/json", esc);
	free(esc);
	p->lookup = engine_get(g->base, guard_cfg(g)->upstream, path,
	    snapshot_cb, p);
	free(path);
}

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
		guard_deliver(p);
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
void
guard_prune_start(struct decision *p)
{
	if (!guard_cfg(p->g)->restore_on_refusal) {
		guard_deliver(p);
		return;
	}
	p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream,
	    "/containers/json?all=1&filters=%7B%22status%22%3A%5B%22created%22"
	    "%2C%22exited%22%2C%22dead%22%5D%7D",
	    prune_list_cb, p);
}

void
guard_restore_reset(struct guard_restore *restore, struct guard_removal *rm)
{
	if (restore->child != NULL)
		guard_decision_free(restore->child);
	free(restore->body);
	free(restore->name);
	free(restore->id);
	memset(restore, 0, sizeof *restore);
	for (size_t i = 0; rm->prune_ids != NULL && rm->prune_ids[i] != NULL;
	     i++)
		free(rm->prune_ids[i]);
	free(rm->prune_ids);
	memset(rm, 0, sizeof *rm);
}
