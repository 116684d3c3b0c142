/*
 * One libpq connection on the event loop, for fleet.c: connects in the
 * background (PQconnectStart/PQconnectPoll, every host of a multi-host
 * connection string in turn, target_session_attrs honoured), runs a
 * setup script once per connection, then runs queued statements one at
 * a time, each with its own callback; reconnects with backoff when the
 * connection is lost or a statement hangs.  Nothing blocks.
 *
 * Statements are queued at the tail, or next (at the head: a
 * transaction's following statement).  While the connection is held
 * (fleet_conn_hold), only statements queued next run: a transaction
 * keeps the connection between its statements while its owner decides.
 */
#ifndef FLEET_CONN_H
#define FLEET_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

struct event_base;
struct fleet_conn;

/* A statement finished: res is its last result (borrowed for the call;
 * an error result is passed as it is, see fleet_conn_failed), or NULL
 * with cause (borrowed) when the connection was lost first. */
typedef void (*fleet_conn_done)(PGresult *res, const char *cause, void *arg);

/* The connection came up (setup done) or went down (cause borrowed). */
typedef void (*fleet_conn_state)(bool up, const char *cause, void *arg);

/* Where a statement goes in the queue. */
enum fleet_conn_where {
	FLEET_CONN_LAST, /* after everything queued */
	FLEET_CONN_NEXT, /* before everything queued; runs while held */
};

/* Connect to conninfo (copied) on base, running setup (copied; a simple
 * query, may hold several statements) on each new connection before
 * anything else.  state is told every change.  Caller frees. */
struct fleet_conn *fleet_conn_new(struct event_base *base, const char *conninfo,
    const char *setup, fleet_conn_state state, void *arg);

/* Close; queued statements are dropped without their callbacks.  NULL
 * is ignored. */
void fleet_conn_free(struct fleet_conn *c);

/* Connected, and the setup ran? */
bool fleet_conn_up(const struct fleet_conn *c);

/* Being made (connecting, or its setup running): a statement queued
 * now runs once it is up, or fails if it does not come up. */
bool fleet_conn_pending(const struct fleet_conn *c);

/* Why the connection is down (or the last failure), or NULL. */
const char *fleet_conn_error(const struct fleet_conn *c);

/* How many times it has come up: a statement's owner compares it to
 * tell a transaction begun on an earlier connection. */
uint64_t fleet_conn_epoch(const struct fleet_conn *c);

/*
 * Queue sql (borrowed: a constant) with n text parameters (copied; NULL
 * entries are SQL NULL).  keep: if the connection is lost before it
 * ran, run it on the next connection instead of failing it.  cb (may be
 * NULL) is called once, from the event loop.
 */
void fleet_conn_query(struct fleet_conn *c, enum fleet_conn_where where,
    bool keep, const char *sql, int n, const char *const *params,
    fleet_conn_done cb, void *arg);

/* Queue sql (owned: taken over, freed here), several statements in one
 * round trip on the simple query protocol (no parameters: see
 * sql_text.h); cb is given the last statement's result, or the first
 * failure's (the statements after it do not run). */
void fleet_conn_query_text(struct fleet_conn *c, enum fleet_conn_where where,
    char *sql, fleet_conn_done cb, void *arg);

/* Let only statements queued next run, until fleet_conn_unhold. */
void fleet_conn_hold(struct fleet_conn *c);
void fleet_conn_unhold(struct fleet_conn *c);

/* Did res fail?  Then *cause (borrowed from res) says why. */
bool fleet_conn_failed(const PGresult *res, const char **cause);

#endif
