/*
 * Pulls, builds, BuildKit and plugins (guard_int.h): POST /images/create
 * judged on the parameters the engine reads, a build's Dockerfile base
 * images judged as the pulls the builder makes, and the other paths to an
 * image by path_policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "form.h"
#include "guard_int.h"
#include "http_head.h"
#include "imgref.h"
#include "log.h"
#include "path_policy.h"
#include "policy.h"
#include "registry.h"
#include "route.h"
#include "xmalloc.h"

static void build_judge_next(struct decision *);

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

void
guard_pull_decide(struct decision *p)
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
	t = guard_now_us();
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
	guard_audit_row(p, &a, NULL);
	policy_decision_reset(&d);
	if (p->route == ROUTE_BUILD && p->status == 0 &&
	    ++p->pull.build_next < p->pull.build_imgs.n) {
		build_judge_next(p);
		return;
	}
	guard_deliver(p);
}

static void
pull_registry_cb(const struct registry_result *r, void *arg)
{
	struct decision *p = arg;

	p->look.reg_check = NULL;
	if (r->outcome == REGISTRY_PRESENT && r->digest != NULL)
		p->pull.digest = xstrdup(r->digest);
	guard_pull_decide(p);
}

/* Judge p->pull.from_image (with p->pull.from_tag) by the pull rules. */
static void
pull_begin(struct decision *p)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	struct imgref ref;
	const char *cause;

	if (p->pull.from_image == NULL) {
		guard_pull_decide(p);
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
			    ref.domain, ref.path, ref.tag,
			    &p->g->known.platform, REGISTRY_DIGEST_ONLY,
			    pull_registry_cb, p);
			imgref_reset(&ref);
			return;
		}
		imgref_reset(&ref);
	}
	guard_pull_decide(p);
}

/* POST /images/create: decided on the parameters the engine reads, from
   the query and a form body. */
void
guard_pull_start(struct decision *p, const struct decision_request *req)
{
	struct form f;
	enum form_media m = request_form(req, &f);

	free(p->action);
	p->action = xstrdup("pull");
	if (f.errors > 0 || m == FORM_MEDIA_UNSURE) {
		form_reset(&f);
		guard_refuse(p, 400, "request",
		    xstrdup(m == FORM_MEDIA_UNSURE
			    ? "docker-guard: refusing to pull: the guard cannot tell "
			      "whether the engine reads this Content-Type as a form"
			    : "docker-guard: refusing to pull: the query string (or "
			      "form body) is malformed"));
		return;
	}
	p->pull.from_image = xstrdup_or_null(form_get(&f, "fromImage"));
	p->pull.from_tag = xstrdup_or_null(form_get(&f, "tag"));
	p->pull.from_src = xstrdup_or_null(form_get(&f, "fromSrc"));
	p->pull.import_repo = xstrdup_or_null(form_get(&f, "repo"));
	form_reset(&f);
	if (p->pull.from_image != NULL && *p->pull.from_image == '\0') {
		free(p->pull.from_image);
		p->pull.from_image = NULL;
	}
	pull_begin(p);
}

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
			guard_refuse(p, 403, "local_images",
			    xasprintf(
				"docker-guard: refusing to build: %s %s (line %u "
				"of %s) is a local image ID, and local_images = "
				"deny",
				img->what, img->ref, img->line,
				p->pull.build_df));
			return;
		}
		guard_audit(p, NULL, STORE_ALLOW, "local_images",
		    "build on a local "
		    "image ID (local_images = allow)");
		if (++p->pull.build_next < p->pull.build_imgs.n)
			build_judge_next(p);
		else
			guard_deliver(p);
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
		guard_refuse(p, 403, "build",
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
		guard_refuse(p, 403, "build",
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
		guard_audit(p, NULL, STORE_ALLOW, "build",
		    "build with no base image "
		    "(FROM scratch)");
		guard_deliver(p);
		return;
	}
	build_judge_next(p);
}

/* Builds, BuildKit and plugins at their head (see path_policy.h). */
void
guard_paths_start(struct decision *p, const struct decision_request *req)
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
		guard_refuse(p, p->pull.path.status, p->pull.path.rule,
		    xstrdup(p->pull.path.message));
		return;
	case PATH_ACT_ALLOW:
		guard_audit(p, NULL, STORE_ALLOW, p->pull.path.rule,
		    p->pull.path.message);
		guard_deliver(p);
		return;
	case PATH_ACT_JUDGE_BUILD:
		guard_deliver(p); /* the session streams, then asks again */
		return;
	case PATH_ACT_JUDGE_PULL:
		free(p->action);
		p->action = xstrdup("pull");
		p->pull.from_image = xstrdup(p->pull.path.ref);
		pull_begin(p);
		return;
	}
}

void
guard_pull_reset(struct guard_pull *pull)
{
	free(pull->from_image);
	free(pull->from_tag);
	free(pull->from_src);
	free(pull->import_repo);
	free(pull->ref);
	free(pull->digest);
	path_decision_reset(&pull->path);
	dockerfile_images_reset(&pull->build_imgs);
	free(pull->build_df);
	memset(pull, 0, sizeof *pull);
}
