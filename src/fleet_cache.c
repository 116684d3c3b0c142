/*
 * The fleet history cache (fleet_cache.h): a small array, searched
 * linearly (a host has tens of apps, and a claim is not a hot path).
 */
#include <stdlib.h>
#include <string.h>

#include "fleet_cache.h"
#include "xmalloc.h"

struct cache_entry {
	char *app; /* NULL: free */
	struct fleet_history hist;
	int64_t gen;
	int64_t at_ms;
};

struct fleet_cache {
	struct cache_entry *items;
	size_t max;
	int64_t ttl_ms;
};

void
fleet_history_reset(struct fleet_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->items[i].version);
		free(h->items[i].digest);
		free(h->items[i].host);
	}
	free(h->items);
	h->items = NULL;
	h->n = 0;
}

static void
version_copy(struct fleet_version *dst, const struct fleet_version *src)
{
	dst->version = xstrdup_or_null(src->version);
	dst->digest = xstrdup_or_null(src->digest);
	dst->host = xstrdup_or_null(src->host);
	dst->since = src->since;
	dst->claimed = src->claimed;
}

void
fleet_history_copy(struct fleet_history *dst, const struct fleet_history *src)
{
	dst->n = src->n;
	dst->items = src->n > 0 ? xcalloc(src->n, sizeof *dst->items) : NULL;
	for (size_t i = 0; i < src->n; i++)
		version_copy(&dst->items[i], &src->items[i]);
}

struct fleet_cache *
fleet_cache_new(size_t max, int64_t ttl_ms)
{
	struct fleet_cache *c = xcalloc(1, sizeof *c);

	c->max = max > 0 ? max : 1;
	c->ttl_ms = ttl_ms;
	c->items = xcalloc(c->max, sizeof *c->items);
	return c;
}

static void
entry_reset(struct cache_entry *e)
{
	free(e->app);
	fleet_history_reset(&e->hist);
	memset(e, 0, sizeof *e);
}

void
fleet_cache_free(struct fleet_cache *c)
{
	if (c == NULL)
		return;
	fleet_cache_drop(c, NULL);
	free(c->items);
	free(c);
}

static struct cache_entry *
find(struct fleet_cache *c, const char *app)
{
	for (size_t i = 0; i < c->max; i++) {
		if (c->items[i].app != NULL &&
		    strcmp(c->items[i].app, app) == 0)
			return &c->items[i];
	}
	return NULL;
}

bool
fleet_cache_get(struct fleet_cache *c, const char *app, int64_t now_ms,
    struct fleet_history *hist, int64_t *gen)
{
	struct cache_entry *e = find(c, app);

	if (e == NULL)
		return false;
	if (now_ms - e->at_ms > c->ttl_ms || now_ms < e->at_ms) {
		entry_reset(e);
		return false;
	}
	fleet_history_copy(hist, &e->hist);
	*gen = e->gen;
	return true;
}

/* A free slot, else the oldest one, emptied. */
static struct cache_entry *
slot(struct fleet_cache *c)
{
	struct cache_entry *oldest = &c->items[0];

	for (size_t i = 0; i < c->max; i++) {
		if (c->items[i].app == NULL)
			return &c->items[i];
		if (c->items[i].at_ms < oldest->at_ms)
			oldest = &c->items[i];
	}
	entry_reset(oldest);
	return oldest;
}

void
fleet_cache_put(struct fleet_cache *c, const char *app,
    const struct fleet_history *read, const struct fleet_version *added,
    int64_t gen, int64_t now_ms)
{
	struct cache_entry *e = find(c, app);

	if (e != NULL)
		entry_reset(e);
	else
		e = slot(c);
	e->app = xstrdup(app);
	e->hist.items = xcalloc(read->n + 1, sizeof *e->hist.items);
	for (size_t i = 0; i < read->n; i++)
		version_copy(&e->hist.items[i], &read->items[i]);
	version_copy(&e->hist.items[read->n], added);
	e->hist.n = read->n + 1;
	e->gen = gen;
	e->at_ms = now_ms;
}

void
fleet_cache_drop(struct fleet_cache *c, const char *app)
{
	for (size_t i = 0; i < c->max; i++) {
		if (c->items[i].app != NULL &&
		    (app == NULL || strcmp(c->items[i].app, app) == 0))
			entry_reset(&c->items[i]);
	}
}
