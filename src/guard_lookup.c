/*
 * Looking up what a request's images are (guard_int.h): the engine's
 * image inspect (cached briefly for pinned references), the engine's
 * platform (/info, once), and each image's registry (present, digest,
 * version facts).  When every image is looked up, guard_decide() goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "engine.h"
#include "guard_int.h"
#include "imgref.h"
#include "inspect.h"
#include "log.h"
#include "manifest.h"
#include "policy.h"
#include "registry.h"
#include "route.h"
#include "xmalloc.h"

/* The engine's image inspect for a pinned reference (content-addressed:
   its ID, labels and env cannot change), kept briefly so a burst of
   creates does not ask again each time. */
#define INSPECT_CACHE_TTL 60
#define INSPECT_CACHE_MAX 256

static void start_registry(struct decision *);

struct inspect_cached {
	TAILQ_ENTRY(inspect_cached) entry;
	char *ref;
	char *body;
	size_t len;
	int64_t expires;
};

/* What to ask the engine about an image. */
static const char *
lookup_name(const struct guard_image *img)
{
	return img->lookup != NULL ? img->lookup : img->ref;
}

static void
inspect_cache_drop(struct guard *g, struct inspect_cached *c)
{
	TAILQ_REMOVE(&g->known.inspects, c, entry);
	g->known.n_inspects--;
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
	int64_t now = guard_now_us() / 1000000;

	for (c = TAILQ_FIRST(&g->known.inspects); c != NULL; c = next) {
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
	if (g->known.n_inspects >= INSPECT_CACHE_MAX)
		inspect_cache_drop(g, TAILQ_FIRST(&g->known.inspects));
	c = xcalloc(1, sizeof *c);
	c->ref = xstrdup(ref);
	c->body = xstrndup(body, len);
	c->len = len;
	c->expires = guard_now_us() / 1000000 + INSPECT_CACHE_TTL;
	TAILQ_INSERT_TAIL(&g->known.inspects, c, entry);
	g->known.n_inspects++;
}

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
	guard_lookup_next(p);
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
		manifest_normalize_platform(os, arch, g->known.platform.os,
		    sizeof g->known.platform.os, g->known.platform.arch,
		    sizeof g->known.platform.arch, g->known.platform.variant,
		    sizeof g->known.platform.variant);
		g->known.have_platform = true;
		log_info("engine platform: %s/%s%s%s", g->known.platform.os,
		    g->known.platform.arch,
		    g->known.platform.variant[0] ? "/" : "",
		    g->known.platform.variant);
	} else {
		log_warn("cannot read the engine's platform (%s); checking "
			 "registries for linux/amd64",
		    error ? error : "bad answer");
		snprintf(g->known.platform.os, sizeof g->known.platform.os,
		    "linux");
		snprintf(g->known.platform.arch, sizeof g->known.platform.arch,
		    "amd64");
		g->known.platform.variant[0] = '\0';
		g->known.have_platform = true;
	}
	if (p->route == ROUTE_IMAGE_CREATE)
		guard_pull_decide(p);
	else
		start_registry(p);
}

/* The platform a create asked for (?platform=os/arch[/variant]), else
 * the engine's. */
static void
request_platform(struct decision *p, struct registry_platform *out)
{
	*out = p->g->known.platform;
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
	if (route_traits(p->route)->runs_existing ||
	    !registry_target(img, &ref)) {
		p->look.next++;
		guard_lookup_next(p);
		return;
	}
	tag_only = ref.digest == NULL;
	need = cfg->registry_presence != RULE_OFF ||
	    (tag_only && cfg->require_digest != RULE_OFF) ||
	    (!img->found && p->app != NULL && cfg->downgrade != RULE_OFF);
	if (!need) {
		imgref_reset(&ref);
		p->look.next++;
		guard_lookup_next(p);
		return;
	}
	if (!p->g->known.have_platform) {
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
		guard_refuse(p, 502, "engine",
		    xasprintf(
			"docker-guard: refusing to "
			"%s %s: cannot look up image %s at the Docker engine (%s): "
			"%s",
			p->action, guard_subject(p, who, sizeof who), img->ref,
			guard_cfg(p->g)->upstream,
			msg != NULL ? msg : "unexpected answer"));
		free(msg);
		return;
	}
	start_registry(p);
}

/* Ask the engine about each image in turn, then decide. */
void
guard_lookup_next(struct decision *p)
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
	guard_decide(p);
}

void
guard_add_image(struct decision *p, const char *ref, const char *role)
{
	p->look.images = xreallocarray(p->look.images, p->look.n_images + 1,
	    sizeof *p->look.images);
	memset(&p->look.images[p->look.n_images], 0, sizeof *p->look.images);
	p->look.images[p->look.n_images].ref = xstrdup(ref);
	p->look.images[p->look.n_images].role = role;
	p->look.n_images++;
}

/* The facts are in p->facts: name the app, list the images, look up. */
void
guard_lookup_start(struct decision *p)
{
	if (p->facts.image == NULL || p->facts.image[0] == '\0') {
		guard_refuse(p, 400, "request",
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
	guard_fleet_prefetch(p); /* while the images are looked up */
	guard_add_image(p, p->facts.image, "image");
	for (size_t i = 0; i < p->facts.n_mount_images; i++)
		guard_add_image(p, p->facts.mount_images[i], "image mount");
	if (p->facts.plugin_remote != NULL)
		guard_add_image(p, p->facts.plugin_remote, "plugin");
	guard_lookup_next(p);
}

void
guard_lookup_cache_clear(struct guard *g)
{
	while (!TAILQ_EMPTY(&g->known.inspects))
		inspect_cache_drop(g, TAILQ_FIRST(&g->known.inspects));
}

static void
image_reset(struct guard_image *img)
{
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

void
guard_lookup_reset(struct guard_lookups *look)
{
	registry_cancel(look->reg_check);
	for (size_t i = 0; i < look->n_images; i++)
		image_reset(&look->images[i]);
	free(look->images);
	free(look->platform_query);
	memset(look, 0, sizeof *look);
}
