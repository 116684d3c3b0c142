/*
 * Requests that act in a container that exists (guard_int.h).  Starts and
 * restarts: judge the image it runs against its app's history, and send
 * the start to the judged container by its full ID.  Under a profile with
 * limits, starts, restarts, attaches and copies are first judged by what
 * the container has of the host (guard_profile.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "guard_int.h"
#include "imgref.h"
#include "inspect.h"
#include "log.h"
#include "policy.h"
#include "route.h"
#include "store.h"
#include "xmalloc.h"

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
		guard_deliver(p);
		return;
	}
	if (status != 200 || inspect_container_parse(body, len, &c) != 0) {
		/* Nothing to judge: the engine answers the start itself. */
		guard_deliver(p);
		return;
	}
	/* The engine starts what was judged, by its full ID, whatever is
	   renamed meanwhile: the client never sees the path. */
	guard_start_retarget(&p->start, c.id,
	    p->route == ROUTE_CONTAINER_RESTART ? "/restart" : "/start");
	if (c.running || c.image_id == NULL) {
		/* A running container goes on with the image it runs: a
		   start is a no-op, a restart runs nothing new. */
		inspect_container_reset(&c);
		guard_deliver(p);
		return;
	}
	free(p->what);
	p->what = xasprintf("container \"%s\"", c.name != NULL ? c.name : c.id);
	if (store_app_of_container(p->g->store, c.id, &p->app, &cause) != 0) {
		char who[300];

		log_error("ledger: %s", cause);
		free(cause);
		inspect_container_reset(&c);
		guard_refuse(p, 503, "ledger",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: the version ledger cannot be read (database "
			"error, see the guard's log), so a downgrade cannot be "
			"ruled out",
			p->action, guard_subject(p, who, sizeof who)));
		return;
	}
	if (p->app == NULL)
		p->app = policy_app_name(&c.facts, c.name);
	if (p->app == NULL) {
		inspect_container_reset(&c);
		guard_deliver(p); /* no app, no history to compare with */
		return;
	}
	guard_fleet_prefetch(p); /* while the image is looked up */
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
	guard_add_image(p, ref_ok ? c.image_ref : c.image_id, "image");
	p->look.images[0].lookup = xstrdup(c.image_id);
	inspect_container_reset(&c);
	guard_lookup_next(p);
}

/* After the profile's limits held (or with none): the container's
 * image, unless the downgrade rule is off. */
static void
start_lookup(struct decision *p)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	char *path, *esc;

	if (cfg->downgrade == RULE_OFF) {
		guard_deliver(p);
		return;
	}
	/* The container the profile judged, if it did: its inspect, read
	   again (the body is p's until p is freed). */
	if (p->prof.target_body != NULL) {
		start_inspect_cb(200, p->prof.target_body, p->prof.target_len,
		    NULL, p);
		return;
	}
	esc = engine_path_escape(p->container_name);
	path = xasprintf("/containers/%s/json", esc);
	free(esc);
	p->lookup = engine_get(p->g->base, cfg->upstream, path,
	    start_inspect_cb, p);
	free(path);
}

/*
 * POST /containers/{id}/start (or restart): a stopped container runs its
 * image again.  One older than what its app has run since (a compose 1.29
 * leftover, a stale docker start) is a downgrade like any create.
 */
void
guard_start_check(struct decision *p, const struct decision_request *req)
{
	free(p->what);
	p->what = xstrdup("a container");
	if (req->route->param == NULL) {
		guard_deliver(p);
		return;
	}
	p->container_name = xstrdup(req->route->param);
	if (req->route->version != NULL)
		p->start.route_version = xstrdup(req->route->version);
	if (req->route->query != NULL)
		p->start.route_query = xstrdup(req->route->query);
	guard_profile_judge_container(p, req, start_lookup);
}

/* An attach or a copy judged (or the engine has no such container:
 * answered as the engine would, since a container renamed into the name
 * meanwhile was not judged). */
static void
enter_held(struct decision *p)
{
	if (p->prof.target_asked && p->prof.target_id == NULL) {
		p->status = 404;
		p->message = xasprintf("No such container: %s", p->prof.target);
	}
	guard_deliver(p);
}

/*
 * An attach to an existing container or a copy into or out of it, under
 * a profile with limits (route.h's enters_container): it acts with what
 * the container has of the host.
 */
void
guard_enter_check(struct decision *p, const struct decision_request *req)
{
	free(p->what);
	p->what = xstrdup("a container");
	guard_profile_judge_container(p, req, enter_held);
}

void
guard_start_retarget(struct guard_start *start, const char *id,
    const char *suffix)
{
	free(start->target);
	start->target = xasprintf("%s%s/containers/%s%s%s%s",
	    start->route_version ? "/v" : "",
	    start->route_version ? start->route_version : "", id, suffix,
	    start->route_query ? "?" : "",
	    start->route_query ? start->route_query : "");
}

void
guard_start_reset(struct guard_start *start)
{
	free(start->target);
	free(start->route_version);
	free(start->route_query);
	memset(start, 0, sizeof *start);
}
