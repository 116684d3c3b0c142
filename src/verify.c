/*
 * Checking the container the engine created against the judged image,
 * and undoing it when they differ (see verify.h).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "inspect.h"
#include "log.h"
#include "verify.h"
#include "xmalloc.h"

struct verify {
	struct event_base *base;
	char *upstream;
	char *id;
	char *judged;
	char *image_id; /* what the engine used */
	char *name;
	struct engine_req *req;
	verify_cb done;
	void *arg;
};

static void
verify_free(struct verify *v)
{
	engine_cancel(v->req);
	free(v->upstream);
	free(v->id);
	free(v->judged);
	free(v->image_id);
	free(v->name);
	free(v);
}

/* Report r and free v. */
static void
finish(struct verify *v, struct verify_result *r)
{
	r->image_id = v->image_id;
	r->name = v->name;
	v->done(r, v->arg);
	verify_free(v);
}

static void
removed_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct verify *v = arg;
	struct verify_result r = { 0 };
	char *msg = NULL;

	v->req = NULL;
	r.removed = status == 204 || status == 404;
	if (!r.removed) {
		msg = error != NULL ? xstrdup(error)
				    : inspect_error_message(body, len);
		if (msg == NULL)
			msg = xasprintf("the engine answered %d", status);
		r.error = msg;
		log_error("cannot remove container %.12s that runs an image "
			  "other than the judged one: %s",
		    v->id, msg);
	}
	finish(v, &r);
	free(msg);
}

/* The container must not stay: remove it, running or not. */
static void
undo(struct verify *v)
{
	char *path = xasprintf("/containers/%s?force=1&v=1", v->id);

	v->req = engine_request(v->base, v->upstream, "DELETE", path, NULL,
	    removed_cb, v);
	free(path);
}

static void
inspected_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct verify *v = arg;
	struct verify_result r = { 0 };
	struct inspect_container c;

	v->req = NULL;
	if (status == 404) {
		r.gone = true; /* removed meanwhile: nothing runs */
		finish(v, &r);
		return;
	}
	if (status != 200 || inspect_container_parse(body, len, &c) != 0) {
		/* Cannot tell what it runs: fail closed. */
		undo(v);
		return;
	}
	v->image_id = c.image_id != NULL ? xstrdup(c.image_id) : NULL;
	v->name = c.name != NULL ? xstrdup(c.name) : NULL;
	inspect_container_reset(&c);
	if (v->judged != NULL && v->image_id != NULL &&
	    strcmp(v->judged, v->image_id) == 0) {
		r.same = true;
		finish(v, &r);
		return;
	}
	undo(v);
}

struct verify *
verify_created(struct event_base *base, const char *upstream,
    const char *container_id, const char *judged_id, verify_cb done, void *arg)
{
	struct verify *v = xcalloc(1, sizeof *v);
	char *path;

	v->base = base;
	v->upstream = xstrdup(upstream);
	v->id = xstrdup(container_id);
	v->judged = judged_id != NULL ? xstrdup(judged_id) : NULL;
	v->done = done;
	v->arg = arg;
	path = xasprintf("/containers/%s/json", container_id);
	v->req = engine_get(base, upstream, path, inspected_cb, v);
	free(path);
	return v;
}

void
verify_cancel(struct verify *v)
{
	if (v != NULL)
		verify_free(v);
}
