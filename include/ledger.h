/*
 * The write-behind queue in front of the store, so the database never
 * blocks the event loop and no write is lost to a lock or a full disk.
 *
 * Writes are copied and land in order, each in one transaction
 * (store_write).  A write that fails for a reason that goes away
 * (locked, full, I/O) stays at the head of the queue and is tried again
 * on a timer, with backoff, until it lands; one that can never land (a
 * broken statement) is logged whole and dropped.  The store's connection
 * never waits for a lock (busy timeout 0), so nothing here blocks.
 *
 * Reads go to the store directly; a reader that must see every write
 * first asks ledger_queued() and waits (ledger_barrier) while it is not 0.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct event_base;
struct ledger;

/* A write landed (landed true, ids of its rows) or was given up (landed
 * false, cause borrowed).  Always called from the event loop, never from
 * inside ledger_write. */
typedef void (*ledger_cb)(bool landed, const struct store_written *ids,
    const char *cause, void *arg);

/* The queue in front of st (borrowed; outlives the ledger), its retry
 * timer on base.  Caller frees with ledger_free. */
struct ledger *ledger_new(struct event_base *base, struct store *st);

/* Try once more to land what is queued, waiting up to two seconds for a
 * lock (shutdown may block), and log every write that still did not
 * land.  Callbacks are not called. */
void ledger_free(struct ledger *l);

/* The store behind l, for reads (borrowed). */
struct store *ledger_store(struct ledger *l);

/* Queue a copy of w; cb (may be NULL) says when it landed.  Returns a
 * ticket for ledger_forget and ledger_withdraw. */
uint64_t ledger_write(struct ledger *l, const struct store_write *w,
    ledger_cb cb, void *arg);

/* A write of nothing: cb is called once every write queued before it
 * has landed or been given up. */
uint64_t ledger_barrier(struct ledger *l, ledger_cb cb, void *arg);

/* The caller goes away: never call its callback.  The write stays. */
void ledger_forget(struct ledger *l, uint64_t ticket);

/* Take back a write that has not landed yet (a decision whose request
 * was refused after all).  True if it was taken back. */
bool ledger_withdraw(struct ledger *l, uint64_t ticket);

/* How many writes wait to land. */
size_t ledger_queued(const struct ledger *l);

/* Why the head of the queue did not land last time, or NULL. */
const char *ledger_error(const struct ledger *l);

#endif
