#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "status_data.h"
#include "store.h"
#include "version.h"
#include "xmalloc.h"

/* A copy of v (NULL stays NULL) owned by d. */
static const char *
own(struct status_data *d, const char *v)
{
	char *copy;

	if (v == NULL)
		return NULL;
	if (d->n_strings == 0 || (d->n_strings & (d->n_strings - 1)) == 0)
		d->strings = xreallocarray(d->strings,
		    d->n_strings == 0 ? 64 : d->n_strings * 2,
		    sizeof *d->strings);
	copy = xstrdup(v);
	d->strings[d->n_strings++] = copy;
	return copy;
}

/* Keep the first thing that could not be read for the page. */
static void
failed(struct status_data *d, char *cause)
{
	if (d->page.error == NULL)
		d->page.error = own(d, cause);
	free(cause);
}

/* ---- apps and their timelines ----------------------------------------- */

static void
app_row_cb(const struct store_app_row *r, void *arg)
{
	struct status_data *d = arg;
	struct status_app *a;

	d->apps = xreallocarray(d->apps, d->page.n_apps + 1, sizeof *d->apps);
	a = &d->apps[d->page.n_apps++];
	memset(a, 0, sizeof *a);
	a->name = own(d, r->app);
	if (r->current_version != NULL)
		a->current = own(d,
		    *r->current_version != '\0' ? r->current_version
						: "unknown");
	a->image = own(d, r->current_image);
	a->live = r->live;
	a->last_change = r->last_change;
}

struct timeline_ctx {
	struct status_data *d;
	struct status_deploy *items;
	size_t n;
};

static void
timeline_row_cb(const struct store_deployment_row *r, void *arg)
{
	struct timeline_ctx *c = arg;
	struct status_deploy *t;

	c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
	t = &c->items[c->n++];
	t->time = r->created_at;
	t->removed_at = r->removed_at;
	t->version = own(c->d, r->version);
	t->image_ref = own(c->d, r->image_ref);
	t->repo_digest = own(c->d, r->repo_digest);
	t->container_name = own(c->d, r->container_name);
	t->source = own(c->d, r->source);
}

static void
version_name_cb(const char *version, void *arg)
{
	char **high = arg;

	if (*high == NULL || version_compare(version, *high) > 0) {
		free(*high);
		*high = xstrdup(version);
	}
}

/* The app's highest version and its newest deployments. */
static void
load_app(struct status_data *d, size_t i, struct store *st)
{
	struct status_app *a = &d->apps[i];
	struct timeline_ctx c = { d, NULL, 0 };
	char *high = NULL, *cause = NULL;

	if (store_app_version_names(st, a->name, version_name_cb, &high,
		&cause) != 0)
		failed(d, cause);
	a->highest = own(d, high);
	free(high);
	if (store_history_newest(st, a->name, STATUS_DATA_TIMELINE + 1,
		timeline_row_cb, &c, &cause) != 0)
		failed(d, cause);
	if (c.n > STATUS_DATA_TIMELINE) {
		c.n = STATUS_DATA_TIMELINE;
		a->timeline_cut = true;
	}
	d->timelines[i] = c.items;
	a->timeline = c.items;
	a->n_timeline = c.n;
}

static void
load_apps(struct status_data *d, struct store *st)
{
	char *cause = NULL;

	if (store_apps_recent(st, STATUS_DATA_APPS + 1, app_row_cb, d,
		&cause) != 0)
		failed(d, cause);
	if (d->page.n_apps > STATUS_DATA_APPS) {
		d->page.n_apps = STATUS_DATA_APPS;
		d->page.apps_cut = true;
	}
	d->timelines = xcalloc(d->page.n_apps + 1, sizeof *d->timelines);
	for (size_t i = 0; i < d->page.n_apps; i++)
		load_app(d, i, st);
	d->page.apps = d->apps;
}

/* ---- audit rows --------------------------------------------------------- */

struct events_ctx {
	struct status_data *d;
	struct status_event *items;
	size_t n;
};

static void
event_row_cb(const struct store_audit_row *r, void *arg)
{
	struct events_ctx *c = arg;
	struct status_event *e;

	c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
	e = &c->items[c->n++];
	e->time_ms = r->time_ms;
	e->rule = own(c->d, r->rule);
	e->verdict = own(c->d, r->verdict);
	e->app = own(c->d, r->app);
	e->image_ref = own(c->d, r->image_ref);
	e->version = own(c->d, r->version);
	e->previous_version = own(c->d, r->previous_version);
	e->message = own(c->d, r->message);
	e->comm = own(c->d, r->comm);
	e->uid = r->uid;
}

/* The newest limit rows of rule (or else verdict), newest first, into
 * *ev. */
static struct status_event *
load_events(struct status_data *d, struct store *st, const char *rule,
    const char *verdict, long limit, struct status_events *ev)
{
	struct events_ctx c = { d, NULL, 0 };
	char *cause = NULL;

	if (store_audit_newest(st, rule, verdict, limit + 1, event_row_cb, &c,
		&cause) != 0)
		failed(d, cause);
	if (c.n > (size_t)limit) {
		c.n = (size_t)limit;
		ev->cut = true;
	}
	ev->items = c.items;
	ev->n = c.n;
	return c.items;
}

static int64_t
meta_seconds(struct status_data *d, struct store *st, const char *key)
{
	char *value = NULL, *cause = NULL, *end;
	long long v = 0;

	if (store_meta_get(st, key, &value, &cause) != 0) {
		failed(d, cause);
		return 0;
	}
	if (value != NULL) {
		v = strtoll(value, &end, 10);
		if (end == value || v < 0)
			v = 0;
	}
	free(value);
	return v;
}

void
status_data_load(struct status_data *d, struct store *st)
{
	char *value = NULL, *cause = NULL;

	memset(d, 0, sizeof *d);
	load_apps(d, st);
	d->refusals = load_events(d, st, NULL, "deny", STATUS_DATA_REFUSALS,
	    &d->page.refusals);
	d->overrides = load_events(d, st, "override", NULL,
	    STATUS_DATA_OVERRIDES, &d->page.overrides);
	d->drift = load_events(d, st, "drift", NULL, STATUS_DATA_DRIFT,
	    &d->page.drift);
	d->engine = load_events(d, st, "engine_version", NULL,
	    STATUS_DATA_ENGINE, &d->page.engine);
	if (store_meta_get(st, "engine_version", &value, &cause) != 0)
		failed(d, cause);
	d->page.health.engine_version = own(d, value);
	free(value);
	d->page.health.last_drift_round = meta_seconds(d, st,
	    "drift_last_round");
}

void
status_data_reset(struct status_data *d)
{
	for (size_t i = 0; i < d->page.n_apps; i++)
		free(d->timelines[i]);
	free(d->timelines);
	free(d->apps);
	free(d->refusals);
	free(d->overrides);
	free(d->drift);
	free(d->engine);
	for (size_t i = 0; i < d->n_strings; i++)
		free(d->strings[i]);
	free(d->strings);
	memset(d, 0, sizeof *d);
}
