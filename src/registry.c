/*
 * The registry client: its settings, and the cache of answers by
 * (host, repository, reference, platform, flags) with the checks waiting
 * on each.  Concurrent checks of one reference share one fetch
 * (registry_fetch.c), which runs on the HTTP transport
 * (registry_http.c) with the credentials and tokens of registry_auth.c
 * and the manifests of registry_manifests.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "metrics.h"
#include "registry.h"
#include "registry_auth.h"
#include "registry_fetch.h"
#include "registry_http.h"
#include "registry_manifests.h"
#include "xmalloc.h"

#define REG_MAX_ENTRIES 1024

/* One (host, repository, reference, platform, flags): running or cached. */
struct reg_entry {
	TAILQ_ENTRY(reg_entry) entry;
	struct registry *reg;
	char *key;
	struct reg_fetch *fetch;
	TAILQ_HEAD(, registry_check) waiters;
	bool done;
	time_t expires;
};

struct registry_check {
	TAILQ_ENTRY(registry_check) entry;
	struct reg_entry *e;
	registry_cb cb;
	void *arg;
	struct event *ev;
};

struct registry {
	struct event_base *base;
	struct reg_transport *transport;
	struct reg_auth auth;
	struct reg_manifests manifests;
	struct reg_fetch_env env;
	struct registry_settings set;
	char **owned;	       /* strings behind set */
	const char **lists[3]; /* arrays behind set */
	size_t n_owned;
	TAILQ_HEAD(, reg_entry) entries;
	size_t n_entries;
};

/* ---- entries, waiters, cache ------------------------------------------ */

static void
entry_free(struct reg_entry *e)
{
	reg_fetch_free(e->fetch);
	free(e->key);
	free(e);
}

static void
check_free(struct registry_check *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	free(c);
}

/* Every answer handed to a caller is a check, cached or not. */
static void
count_check(enum registry_outcome o)
{
	switch (o) {
	case REGISTRY_PRESENT:
		metrics_registry_check(METRICS_REG_PRESENT);
		break;
	case REGISTRY_ABSENT:
		metrics_registry_check(METRICS_REG_MISSING);
		break;
	case REGISTRY_UNAUTHORIZED:
		metrics_registry_check(METRICS_REG_AUTH_FAILED);
		break;
	case REGISTRY_UNREACHABLE:
		metrics_registry_check(METRICS_REG_UNREACHABLE);
		break;
	case REGISTRY_RATE_LIMITED:
	default:
		metrics_registry_check(METRICS_REG_ERROR);
		break;
	}
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct registry_check *c = arg;
	struct registry_result r;

	TAILQ_REMOVE(&c->e->waiters, c, entry);
	reg_fetch_result(c->e->fetch, &r);
	count_check(r.outcome);
	c->cb(&r, c->arg);
	check_free(c);
}

/* The fetch has its answer: keep it for as long as it holds, and wake
 * every waiter. */
static void
fetch_done_cb(struct reg_fetch *f, void *arg)
{
	struct reg_entry *e = arg;
	struct registry_check *c;
	struct registry_result r;
	time_t now = time(NULL);

	reg_fetch_result(f, &r);
	e->done = true;
	switch (r.outcome) {
	case REGISTRY_PRESENT:
		e->expires = now + e->reg->set.cache_ttl;
		break;
	case REGISTRY_ABSENT:
		e->expires = now + e->reg->set.negative_ttl;
		break;
	default:
		e->expires = now; /* indeterminate: ask again next time */
		break;
	}
	TAILQ_FOREACH(c, &e->waiters, entry)
	event_active(c->ev, EV_TIMEOUT, 0);
}

/* Drop finished entries nobody waits on: all of them (force), else the
 * expired ones and, past REG_MAX_ENTRIES, any. */
static void
evict(struct registry *reg, bool force)
{
	struct reg_entry *e, *next;
	time_t now = time(NULL);

	for (e = TAILQ_FIRST(&reg->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, entry);
		if (e->done && TAILQ_EMPTY(&e->waiters) &&
		    (force || e->expires <= now ||
			reg->n_entries > REG_MAX_ENTRIES)) {
			TAILQ_REMOVE(&reg->entries, e, entry);
			reg->n_entries--;
			entry_free(e);
		}
	}
}

/* The entry for key that is running or still holds; fresh: only a
 * running one (a finished one is expired, so it is not used again). */
static struct reg_entry *
entry_find(struct registry *reg, const char *key, bool fresh)
{
	struct reg_entry *e;
	time_t now = time(NULL);

	TAILQ_FOREACH(e, &reg->entries, entry)
	{
		if (strcmp(e->key, key) != 0)
			continue;
		if (!e->done)
			return e;
		if (fresh)
			e->expires = 0;
		else if (e->expires > now)
			return e;
	}
	return NULL;
}

struct registry_check *
registry_check(struct registry *reg, const char *domain, const char *path,
    const char *reference, const struct registry_platform *platform,
    unsigned flags, registry_cb cb, void *arg)
{
	struct registry_check *c = xcalloc(1, sizeof *c);
	struct reg_entry *e;
	char *key;

	bool fresh = (flags & REGISTRY_FRESH) != 0;

	flags &= ~(unsigned)REGISTRY_FRESH;
	evict(reg, false);
	key = xasprintf("%s/%s@%s|%s/%s/%s|%u", domain, path, reference,
	    platform->os, platform->arch, platform->variant, flags);
	if ((e = entry_find(reg, key, fresh)) == NULL) {
		e = xcalloc(1, sizeof *e);
		e->reg = reg;
		e->key = key;
		key = NULL;
		TAILQ_INIT(&e->waiters);
		TAILQ_INSERT_TAIL(&reg->entries, e, entry);
		reg->n_entries++;
		e->fetch = reg_fetch_start(&reg->env, domain, path, reference,
		    platform, flags, fetch_done_cb, e);
	}
	free(key);
	c->e = e;
	c->cb = cb;
	c->arg = arg;
	c->ev = evtimer_new(reg->base, deliver_cb, c);
	TAILQ_INSERT_TAIL(&e->waiters, c, entry);
	if (e->done)
		event_active(c->ev, EV_TIMEOUT, 0);
	return c;
}

void
registry_cancel(struct registry_check *c)
{
	if (c == NULL)
		return;
	TAILQ_REMOVE(&c->e->waiters, c, entry);
	/* The entry runs on: its answer is cached for the next asker. */
	check_free(c);
}

/* ---- life cycle -------------------------------------------------------- */

struct registry *
registry_new(struct event_base *base)
{
	struct registry *reg = xcalloc(1, sizeof *reg);

	reg->base = base;
	reg->transport = reg_transport_new(base);
	reg_auth_init(&reg->auth);
	reg_manifests_init(&reg->manifests);
	reg->env.transport = reg->transport;
	reg->env.auth = &reg->auth;
	reg->env.manifests = &reg->manifests;
	reg->env.set = &reg->set;
	TAILQ_INIT(&reg->entries);
	reg->set.timeout_ms = 10000;
	reg->set.cache_ttl = 600;
	reg->set.negative_ttl = 30;
	return reg;
}

static void
forget_settings(struct registry *reg)
{
	for (size_t i = 0; i < reg->n_owned; i++) {
		explicit_bzero(reg->owned[i], strlen(reg->owned[i]));
		free(reg->owned[i]);
	}
	free(reg->owned);
	reg->owned = NULL;
	reg->n_owned = 0;
	for (size_t i = 0; i < 3; i++) {
		free(reg->lists[i]);
		reg->lists[i] = NULL;
	}
	reg_auth_forget_config(&reg->auth);
}

static const char *
own(struct registry *reg, const char *s)
{
	reg->owned = xreallocarray(reg->owned, reg->n_owned + 1,
	    sizeof *reg->owned);
	reg->owned[reg->n_owned] = xstrdup(s);
	return reg->owned[reg->n_owned++];
}

static const char *const *
own_list(struct registry *reg, int slot, const char *const *items, size_t n)
{
	const char **out = xcalloc(n + 1, sizeof *out);

	for (size_t i = 0; i < n; i++)
		out[i] = own(reg, items[i]);
	reg->lists[slot] = out;
	return out;
}

int
registry_configure(struct registry *reg, const struct registry_settings *set,
    char **cause)
{
	struct registry_settings next = *set;

	forget_settings(reg);
	next.auth = own_list(reg, 0, set->auth, set->n_auth);
	next.ca_files = own_list(reg, 1, set->ca_files, set->n_ca_files);
	next.insecure = own_list(reg, 2, set->insecure, set->n_insecure);
	next.docker_config = set->docker_config != NULL
	    ? own(reg, set->docker_config)
	    : NULL;
	reg->set = next;
	/* Settings changed: finished answers may no longer hold. */
	evict(reg, true);
	if (next.docker_config != NULL && *next.docker_config != '\0')
		return reg_auth_read_config(&reg->auth, next.docker_config,
		    cause);
	return 0;
}

void
registry_free(struct registry *reg)
{
	struct reg_entry *e;

	if (reg == NULL)
		return;
	while ((e = TAILQ_FIRST(&reg->entries)) != NULL) {
		struct registry_check *c;

		while ((c = TAILQ_FIRST(&e->waiters)) != NULL) {
			TAILQ_REMOVE(&e->waiters, c, entry);
			check_free(c);
		}
		TAILQ_REMOVE(&reg->entries, e, entry);
		entry_free(e);
	}
	reg_manifests_reset(&reg->manifests);
	forget_settings(reg);
	reg_auth_reset(&reg->auth);
	reg_transport_free(reg->transport);
	free(reg);
}
