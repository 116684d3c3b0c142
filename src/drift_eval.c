/*
 * The drift watch's decisions (drift_eval.h): findings from plain facts,
 * which of them to report, and their webhook JSON.  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "drift_eval.h"
#include "imgref.h"
#include "version.h"
#include "xmalloc.h"

const char *
drift_kind_name(enum drift_kind k)
{
	return k == DRIFT_NEWER ? "newer" : "missing";
}

/* ---- where to check ----------------------------------------------------- */

void
drift_target_reset(struct drift_target *t)
{
	free(t->domain);
	free(t->path);
	free(t->digest);
	free(t->checked_ref);
	free(t->tag);
	free(t->tag_ref);
	memset(t, 0, sizeof *t);
}

/* Take the repository and digest of ref (a name with a digest). */
static void
target_check(struct drift_target *out, const struct imgref *ref,
    const char *tag)
{
	char *fam = imgref_familiar_repository(ref);

	out->domain = xstrdup(ref->domain);
	out->path = xstrdup(ref->path);
	out->digest = xstrdup(ref->digest);
	out->checked_ref = tag != NULL
	    ? xasprintf("%s:%s@%s", fam, tag, ref->digest)
	    : xasprintf("%s@%s", fam, ref->digest);
	free(fam);
}

int
drift_target(const char *image_ref, const char *repo_digest,
    struct drift_target *out)
{
	struct imgref ref, rd;
	const char *cause, *tag = NULL;

	memset(out, 0, sizeof *out);
	if (image_ref == NULL || imgref_parse(image_ref, &ref, &cause) != 0)
		return -1;
	if (ref.kind == IMGREF_NAME && !ref.short_id_candidate)
		tag = imgref_effective_tag(&ref);
	if (tag != NULL) {
		char *fam = imgref_familiar_repository(&ref);

		out->tag = xstrdup(tag);
		out->tag_ref = xasprintf("%s:%s", fam, tag);
		free(fam);
	}
	if (ref.kind == IMGREF_NAME && ref.digest != NULL) {
		target_check(out, &ref, ref.tag);
	} else if (repo_digest != NULL &&
	    imgref_parse(repo_digest, &rd, &cause) == 0) {
		if (rd.kind == IMGREF_NAME && rd.digest != NULL)
			target_check(out, &rd,
			    ref.kind == IMGREF_NAME ? ref.tag : NULL);
		imgref_reset(&rd);
	}
	imgref_reset(&ref);
	if (out->digest == NULL) {
		drift_target_reset(out);
		return -1;
	}
	return 0;
}

/* ---- findings ----------------------------------------------------------- */

/* 'container "web" (app "shop/web")', or by short ID. */
static char *
subject(const struct drift_facts *f)
{
	char id[13];

	if (f->container_name == NULL) {
		snprintf(id, sizeof id, "%s", f->container_id);
		return f->app != NULL
		    ? xasprintf("container %s (app \"%s\")", id, f->app)
		    : xasprintf("container %s", id);
	}
	if (f->app != NULL && strcmp(f->app, f->container_name) != 0)
		return xasprintf("container \"%s\" (app \"%s\")",
		    f->container_name, f->app);
	return xasprintf("container \"%s\"", f->container_name);
}

static void
verdict_set(struct drift_verdict *v, enum drift_status status, char *key,
    char *message)
{
	v->status = status;
	v->key = key;
	v->message = message;
}

/* Is the image the container runs still in its registry? */
static void
eval_missing(const struct drift_facts *f, const char *who,
    struct drift_verdict *v)
{
	const struct drift_target *t = f->target;

	if (!f->checked ||
	    (f->outcome != REGISTRY_PRESENT && f->outcome != REGISTRY_ABSENT)) {
		v->status = DRIFT_UNKNOWN; /* the registry could not say */
		return;
	}
	if (f->outcome == REGISTRY_PRESENT) {
		verdict_set(v, DRIFT_CLEAR, NULL,
		    xasprintf("docker-guard: drift resolved: %s runs %s, "
			      "which is in its registry %s again (checked for "
			      "%s).",
			who, t->checked_ref, t->domain, f->platform));
		return;
	}
	verdict_set(v, DRIFT_FOUND,
	    xasprintf("missing %s %s", t->checked_ref,
		f->missing_digest != NULL ? f->missing_digest : "-"),
	    xasprintf("docker-guard: drift: %s runs %s (deployed as %s), "
		      "which is missing from its registry %s: %s (checked "
		      "for %s; rule: drift). The container keeps running, "
		      "but it cannot be started again wherever the image has "
		      "to be pulled (a restart after the image is removed "
		      "here, another host, a reschedule). Before the "
		      "container is restarted, push the image again (or "
		      "restore it in the registry), or redeploy the app by a "
		      "digest the registry has.",
		who, t->checked_ref, f->image_ref, t->domain,
		f->detail != NULL ? f->detail : "the registry does not have it",
		f->platform));
}

/* Is there a newer version behind the tag it was deployed from? */
static void
eval_newer(const struct drift_facts *f, const char *who,
    struct drift_verdict *v)
{
	const struct drift_target *t = f->target;

	if (t->tag_ref == NULL || !f->tag_checked ||
	    f->tag_outcome != REGISTRY_PRESENT || f->tag_digest == NULL) {
		v->status = DRIFT_UNKNOWN;
		return;
	}
	if (strcmp(f->tag_digest, t->digest) == 0 || f->version == NULL ||
	    f->tag_version == NULL ||
	    version_compare(f->tag_version, f->version) <= 0) {
		if (strcmp(f->tag_digest, t->digest) != 0 &&
		    (f->version == NULL || f->tag_version == NULL)) {
			v->status = DRIFT_UNKNOWN; /* no versions to compare */
			return;
		}
		verdict_set(v, DRIFT_CLEAR, NULL,
		    xasprintf("docker-guard: drift resolved: the tag %s that "
			      "%s was deployed from no longer points at a "
			      "newer version than %s (it points at %s).",
			t->tag_ref, who,
			f->version != NULL ? f->version : "the one it runs",
			f->tag_digest));
		return;
	}
	verdict_set(v, DRIFT_FOUND, xasprintf("newer %s", f->tag_digest),
	    xasprintf("docker-guard: drift: %s runs version %s (%s), but "
		      "the tag %s it was deployed from now points at %s, "
		      "version %s, which is newer (rule: drift; for "
		      "information: what runs is unchanged). To move to it, "
		      "deploy %s@%s.",
		who, f->version, t->checked_ref, t->tag_ref, f->tag_digest,
		f->tag_version, t->tag_ref, f->tag_digest));
	v->newer = xstrdup(f->tag_version);
}

void
drift_eval(const struct drift_facts *f, struct drift_result *out)
{
	char *who = subject(f);

	memset(out, 0, sizeof *out);
	eval_missing(f, who, &out->v[DRIFT_MISSING]);
	eval_newer(f, who, &out->v[DRIFT_NEWER]);
	free(who);
}

void
drift_result_reset(struct drift_result *r)
{
	for (size_t i = 0; i < DRIFT_NKINDS; i++) {
		free(r->v[i].key);
		free(r->v[i].message);
		free(r->v[i].newer);
	}
	memset(r, 0, sizeof *r);
}

/* ---- what was reported -------------------------------------------------- */

static struct drift_seen *
seen_find(struct drift_state *s, const char *container_id, enum drift_kind kind)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].kind == kind &&
		    strcmp(s->items[i].container_id, container_id) == 0)
			return &s->items[i];
	return NULL;
}

static void
seen_drop(struct drift_state *s, struct drift_seen *e)
{
	size_t i = (size_t)(e - s->items);

	free(e->container_id);
	free(e->key);
	s->items[i] = s->items[s->n - 1];
	s->n--;
}

enum drift_change
drift_state_apply(struct drift_state *s, const char *container_id,
    enum drift_kind kind, const struct drift_verdict *v)
{
	struct drift_seen *e = seen_find(s, container_id, kind);

	switch (v->status) {
	case DRIFT_UNKNOWN:
		return DRIFT_SAME;
	case DRIFT_CLEAR:
		if (e == NULL)
			return DRIFT_SAME;
		seen_drop(s, e);
		return DRIFT_RESOLVED;
	case DRIFT_FOUND:
		if (e != NULL && strcmp(e->key, v->key) == 0)
			return DRIFT_SAME;
		if (e == NULL) {
			s->items = xreallocarray(s->items, s->n + 1,
			    sizeof *s->items);
			e = &s->items[s->n++];
			e->container_id = xstrdup(container_id);
			e->kind = kind;
		} else {
			free(e->key);
		}
		e->key = xstrdup(v->key);
		return DRIFT_APPEARED;
	}
	return DRIFT_SAME;
}

void
drift_state_prune(struct drift_state *s, char *const *ids, size_t n)
{
	size_t i = 0;

	while (i < s->n) {
		bool live = false;

		for (size_t j = 0; j < n && !live; j++)
			live = strcmp(ids[j], s->items[i].container_id) == 0;
		if (live)
			i++;
		else
			seen_drop(s, &s->items[i]);
	}
}

void
drift_state_reset(struct drift_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].container_id);
		free(s->items[i].key);
	}
	free(s->items);
	memset(s, 0, sizeof *s);
}

char *
drift_state_dump(const struct drift_state *s)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:s}", "container",
			s->items[i].container_id, "kind",
			drift_kind_name(s->items[i].kind), "key",
			s->items[i].key));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text != NULL ? text : xstrdup("[]");
}

/* One item of a dump, or -1 when it is not one (or repeats one). */
static int
seen_load(struct drift_state *s, json_t *item)
{
	const char *id, *kind, *key;
	enum drift_kind k;
	struct drift_seen *e;

	if (json_unpack(item, "{s:s, s:s, s:s}", "container", &id, "kind",
		&kind, "key", &key) != 0)
		return -1;
	if (strcmp(kind, "missing") == 0)
		k = DRIFT_MISSING;
	else if (strcmp(kind, "newer") == 0)
		k = DRIFT_NEWER;
	else
		return -1;
	if (seen_find(s, id, k) != NULL)
		return -1;
	s->items = xreallocarray(s->items, s->n + 1, sizeof *s->items);
	e = &s->items[s->n++];
	e->container_id = xstrdup(id);
	e->kind = k;
	e->key = xstrdup(key);
	return 0;
}

int
drift_state_load(struct drift_state *s, const char *text)
{
	json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *item;
	size_t i;

	drift_state_reset(s);
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	json_array_foreach(a, i, item)
	{
		if (seen_load(s, item) != 0) {
			drift_state_reset(s);
			json_decref(a);
			return -1;
		}
	}
	json_decref(a);
	return 0;
}

/* ---- the webhook's JSON ------------------------------------------------- */

/* Set key to s unless s is NULL; a string that is not UTF-8 is left
 * out (jansson refuses it). */
static void
put(json_t *o, const char *key, const char *s)
{
	json_t *v;

	if (s == NULL || (v = json_string(s)) == NULL)
		return;
	json_object_set_new(o, key, v);
}

static void
put_time(json_t *o, int64_t time_ms)
{
	time_t t = (time_t)(time_ms / 1000);
	struct tm tm;
	char buf[96];

	if (gmtime_r(&t, &tm) == NULL)
		return;
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(time_ms % 1000));
	put(o, "time", buf);
}

char *
drift_payload(const struct drift_event *e)
{
	const struct drift_facts *f = e->facts;
	const struct drift_target *t = f->target;
	json_t *o = json_object(), *c = json_object();
	char *text;

	put(o, "source", "docker-guard");
	put(o, "event", "drift");
	put(o, "kind", drift_kind_name(e->kind));
	put(o, "state", e->resolved ? "resolved" : "found");
	put_time(o, e->time_ms);
	put(o, "host", e->host);
	put(c, "id", f->container_id);
	put(c, "name", f->container_name);
	json_object_set_new(o, "container", c);
	put(o, "app", f->app);
	put(o, "image", f->image_ref);
	put(o, "checked", t->checked_ref);
	put(o, "registry", t->domain);
	put(o, "digest", t->digest);
	put(o, "platform", f->platform);
	put(o, "version", f->version);
	if (e->kind == DRIFT_MISSING) {
		put(o, "missing_digest", f->missing_digest);
		put(o, "missing_platform", f->missing_platform);
	} else {
		put(o, "tag", t->tag_ref);
		put(o, "tag_digest", f->tag_digest);
		put(o, "newer_version", e->newer);
	}
	put(o, "message", e->message);
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text != NULL ? text : xstrdup("{}");
}
