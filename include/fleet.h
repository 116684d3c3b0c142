/*
 * The fleet ledger: the version history of every host of a fleet, in a
 * shared PostgreSQL (guard.conf: ledger = postgresql://...), beside each
 * host's own SQLite store, which stays the host's whole record (audit
 * chain, intents, snapshots).  libpq's asynchronous calls run on the
 * guard's event loop: nothing here blocks.
 *
 * What it does:
 *   - claims: before a guarded create, update or start is let through,
 *     the app's fleet history is read, the caller decides, and the
 *     version it allowed is recorded under a per-app lock
 *     (pg_advisory_xact_lock on the app) only if no other claim came
 *     since the read (fleet_claim_commit), or nothing is recorded
 *     (fleet_claim_release).  When one did, the caller decides again on
 *     the history read under the lock.  Two hosts deploying one app at
 *     once are serialised: they cannot both pass with versions that
 *     would refuse each other.
 *   - outcomes: the engine's answer closes the claim (created: it keeps
 *     the container's ID; refused: it is deleted).
 *   - shipping: the rows of the local store (deployments and audit rows)
 *     are copied to the shared store in order, idempotently (keyed by
 *     host and local row ID), from where the shared store stopped.  So
 *     rows recorded while it was unreachable (ledger_unreachable = allow)
 *     arrive when it is back, and rows a failed-over primary lost are
 *     sent again.  `docker-guard ledger import` is the same copy, once.
 *   - the connection: one libpq connection, reconnected with backoff; a
 *     multi-host connection string with target_session_attrs=read-write
 *     follows a promoted replica.
 *
 * The schema (fleet_sql.h) is created on first connect.
 */
#ifndef FLEET_H
#define FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_cache.h"
#include "fleet_sql.h"

struct event_base;
struct fleet;
struct fleet_claim;
struct store;

/*
 * A connection to conninfo (copied) on base; host_name (copied) is this
 * host's name in the fleet, or NULL until fleet_set_host_name (no claim
 * or shipping before).  local (borrowed, outlives the fleet) is the
 * host's store, read for shipping.  Connects at once, in the
 * background.  Caller frees with fleet_free.
 */
struct fleet *fleet_new(struct event_base *base, const char *conninfo,
    const char *host_name, struct store *local);

/* Close the connection: open claims are rolled back (their callbacks are
 * not called), queued outcomes are dropped (shipping sends them again
 * from the local store next time).  NULL is ignored. */
void fleet_free(struct fleet *f);

/* This host's name, once known (the engine's, when guard.conf has no
 * host_name).  Copied. */
void fleet_set_host_name(struct fleet *f, const char *name);

/* Is the connection up (connected, schema ready, host name known)? */
bool fleet_ready(const struct fleet *f);

/* Why it is not, for messages and logs ("connection refused ..."), or
 * NULL.  Borrowed until the next call into f. */
const char *fleet_error(const struct fleet *f);

/*
 * The app's history was read (ok true: *hist is the caller's to keep,
 * see fleet_history_reset), or could not be (ok false, cause borrowed
 * for the call; the claim is already gone and the caller must not
 * commit or release it).  Called from the event loop, never from inside
 * fleet_claim_begin.
 */
typedef void (*fleet_history_cb)(struct fleet_claim *c, bool ok,
    struct fleet_history *hist, const char *cause, void *arg);

/*
 * Begin a claim on app (copied).  Two kinds:
 *   - locked: a transaction that locks the app for the fleet, then
 *     reads its history; the connection is held for the caller until it
 *     commits or releases.  Fails within the lock timeout (5 s) when
 *     another host holds the app that long.
 *   - optimistic (locked false): the history is read without a lock,
 *     with the app's generation; fleet_claim_commit then records the
 *     version in one round trip (BEGIN, the lock, the row if the app has
 *     no newer row, COMMIT), or answers FLEET_COMMIT_STALE when another
 *     claim came in between: the caller then decides again on a locked
 *     claim.  The read overlaps the caller's other lookups.
 * Fails (through cb) at once when the connection is down.
 */
struct fleet_claim *fleet_claim_begin(struct fleet *f, const char *app,
    bool locked, fleet_history_cb cb, void *arg);

/* What an allowed request will run (struct fleet_record, fleet_sql.h),
 * recorded by fleet_claim_commit. */

enum fleet_commit_result {
	FLEET_COMMIT_RECORDED, /* the claim row is in, committed */
	FLEET_COMMIT_STALE,    /* optimistic only: the app changed since the
				  read; nothing recorded */
	FLEET_COMMIT_FAILED,   /* nothing recorded; cause says why */
};

/* How the commit ended (cause borrowed for the call, NULL unless
 * FAILED). */
typedef void (
    *fleet_done_cb)(enum fleet_commit_result r, const char *cause, void *arg);

/* Record rec under the claim and commit; the claim is gone after this
 * call.  cb says how it ended. */
void fleet_claim_commit(struct fleet_claim *c, const struct fleet_record *rec,
    fleet_done_cb cb, void *arg);

/* Nothing to record: roll back (a locked claim's lock is released).  The
 * claim is gone. */
void fleet_claim_release(struct fleet_claim *c);

/* The caller goes away while the history is being read: its callback
 * is never called; the claim is rolled back. */
void fleet_claim_abandon(struct fleet_claim *c);

/*
 * The engine answered the request whose claim (of app) carried token: created
 * (container_id, status 2xx) keeps the row with its container; anything
 * else deletes it.  Queued; lands when it can (lost on shutdown: the
 * shipping of the local deployment row records the container anyway).
 */
void fleet_claim_outcome(struct fleet *f, const char *app, const char *token,
    int status, const char *container_id);

/* New rows may be in the local store: ship them soon. */
void fleet_ship_soon(struct fleet *f);

#endif
