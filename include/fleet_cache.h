/*
 * What this host knows of an app's fleet history without asking: the
 * history and generation (the app's highest row ID in the shared store)
 * as of this host's own last committed claim of the app.  A create that
 * follows its own host's last one (a redeploy) starts from it, so its
 * claim is one round trip; the claim's commit still checks that the app
 * has no newer row (fleet.h: FLEET_COMMIT_STALE when it has), so an
 * entry that another host made stale costs a round trip, never a wrong
 * verdict.  Pure: no I/O, the time is passed in.
 */
#ifndef FLEET_CACHE_H
#define FLEET_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fleet_cache;

/* One version an app has run somewhere in the fleet. */
struct fleet_version {
	char *version;
	char *digest;  /* repository digest, or NULL */
	char *host;    /* where it ran first */
	int64_t since; /* unix seconds: first seen there */
	bool claimed;  /* allowed, the engine's answer not in yet */
};

/* An app's history across the fleet (fleet.h's claims deliver it). */
struct fleet_history {
	struct fleet_version *items;
	size_t n;
};

/* Free what h holds and zero it. */
void fleet_history_reset(struct fleet_history *h);

/* Room for max apps, each kept ttl_ms after its claim.  Caller frees. */
struct fleet_cache *fleet_cache_new(size_t max, int64_t ttl_ms);
void fleet_cache_free(struct fleet_cache *c);

/* The app's entry, fresh at now_ms: true with *hist (the caller's, see
 * fleet_history_reset) and *gen; false if there is none. */
bool fleet_cache_get(struct fleet_cache *c, const char *app, int64_t now_ms,
    struct fleet_history *hist, int64_t *gen);

/* A claim of app was committed at generation gen: the history it read
 * (borrowed) and the version it added (borrowed) make the entry.  The
 * oldest entry makes room when the cache is full. */
void fleet_cache_put(struct fleet_cache *c, const char *app,
    const struct fleet_history *read, const struct fleet_version *added,
    int64_t gen, int64_t now_ms);

/* Forget app (its claim's create failed: the row is gone), or every app
 * (app NULL: a new connection, perhaps to a promoted replica). */
void fleet_cache_drop(struct fleet_cache *c, const char *app);

/* Copy src into *dst (dst's old contents are not freed). */
void
fleet_history_copy(struct fleet_history *dst, const struct fleet_history *src);

#endif
