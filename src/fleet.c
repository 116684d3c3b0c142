/*
 * The fleet ledger (fleet.h): claims, outcomes and the shipping of local
 * rows, as statements on one fleet_conn.
 *
 * An optimistic claim reads the app's history and generation (its
 * highest row ID) without a lock, while the caller looks its images up;
 * its commit is one round trip: BEGIN, the app's advisory lock, the
 * claim row unless the app has a row above that generation, COMMIT, and
 * whether the row is in.  A locked claim (the fallback when another
 * claim came in between) is one transaction: BEGIN, the lock, the
 * history; the connection is then held (nothing else runs on it) until
 * the caller commits (the claim row, COMMIT) or releases (ROLLBACK).
 *
 * Shipping: on each new connection, the shared store's watermarks for
 * this host (the highest local row IDs it has), then batches of local
 * rows above them, each batch one transaction; again whenever told
 * (fleet_ship_soon) and every few seconds.  Rows go by their local IDs,
 * idempotently, so a batch lost with a connection or a failed-over
 * primary is simply sent again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "fleet.h"
#include "fleet_cache.h"
#include "fleet_conn.h"
#include "fleet_sql.h"
#include "log.h"
#include "sql_text.h"
#include "store.h"
#include "xmalloc.h"

#define SHIP_BATCH 200
#define SHIP_PERIOD_MS 5000
#define SHIP_SOON_MS 200
#define SHIP_RETRY_MS 2000
#define NAME_WAIT_MS 10000  /* claims wait this long for the host's name */
#define CACHE_APPS 256	    /* apps whose last claim this host keeps */
#define CACHE_TTL_MS 300000 /* ... for this long */

/*
 * Every connection: bounded waits on the server's side, then the schema.
 * synchronous_commit is off: a claim is visible to every host at its
 * COMMIT, without waiting for the server's WAL flush (about 0.4 ms on a
 * disk); what a server crash could lose of it is the host's own rows,
 * which stay in its SQLite database and are shipped again.
 */
#define SESSION_SETUP                                              \
	"SET standard_conforming_strings = on; "                   \
	"SET client_encoding = 'UTF8'; "                           \
	"SET synchronous_commit = off; "                           \
	"SET statement_timeout = '10s'; SET lock_timeout = '5s'; " \
	"SET idle_in_transaction_session_timeout = '30s'; "

enum claim_step {
	CLAIM_READ,   /* [BEGIN; the app's lock;] its history */
	CLAIM_HELD,   /* the caller decides */
	CLAIM_COMMIT, /* the claim row; COMMIT */
};

struct fleet_claim {
	struct fleet *f;
	char *app;
	enum claim_step step;
	bool locked;		    /* else optimistic */
	int64_t gen;		    /* optimistic: the app's generation read */
	struct fleet_history read;  /* optimistic: what was read (a copy) */
	struct fleet_version added; /* optimistic: what the commit adds */
	uint64_t epoch;		    /* the connection it began on */
	bool abandoned;
	fleet_history_cb cb;
	void *arg;
	fleet_done_cb done;
	void *done_arg;
	char *failure; /* a failed record: COMMIT turns into ROLLBACK */
	TAILQ_ENTRY(fleet_claim) wait_entry; /* waiting for the name */
	bool waiting;
};

struct fleet_ship {
	int64_t wm_versions; /* -1: not read on this connection */
	int64_t wm_audit;
	int wm_pending;			   /* watermark reads under way */
	bool in_flight;			   /* a batch is queued */
	bool failed;			   /* a statement of the batch failed */
	int64_t next_versions, next_audit; /* the batch's highest IDs */
	bool full; /* the batch was full: more to come */
	struct event *ev;
};

struct fleet {
	struct event_base *base;
	struct fleet_conn *conn;
	char *host;
	struct store *local;
	struct fleet_ship ship;
	char *error;
	TAILQ_HEAD(, fleet_claim) waiting; /* for the host's name */
	struct fleet_cache *cache;	   /* apps' last claims here */
	struct event *name_ev;		   /* their wait's end */
};

static void ship_arm(struct fleet *f, int ms);
static void name_wait_cb(evutil_socket_t fd, short what, void *arg);
static void claim_start(struct fleet_claim *c);
static void claim_free(struct fleet_claim *c);
static void ship_cb(evutil_socket_t fd, short what, void *arg);

/* Unix milliseconds now. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
cstr(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* ---- the connection ---- */

static void
watermark_cb(PGresult *res, const char *cause, void *arg, int64_t *wm)
{
	struct fleet *f = arg;

	if (f->ship.wm_pending > 0)
		f->ship.wm_pending--;
	if (res == NULL || fleet_conn_failed(res, &cause) ||
	    PQntuples(res) != 1) {
		log_warn("fleet ledger: cannot read what was shipped: %s",
		    cause != NULL ? cause : "no row");
		return;
	}
	*wm = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	ship_arm(f, 0);
}

static void
wm_versions_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet *f = arg;

	watermark_cb(res, cause, arg, &f->ship.wm_versions);
}

static void
wm_audit_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet *f = arg;

	watermark_cb(res, cause, arg, &f->ship.wm_audit);
}

/* Ask where shipping stopped, once the connection and the name are
 * there. */
static void
ship_start(struct fleet *f)
{
	const char *host[1] = { f->host };

	if (f->host == NULL || !fleet_conn_up(f->conn) ||
	    f->ship.wm_pending > 0)
		return;
	f->ship.wm_versions = f->ship.wm_audit = -1;
	f->ship.wm_pending = 2;
	fleet_conn_query(f->conn, FLEET_CONN_LAST, false,
	    FLEET_SQL_WATERMARK_VERSIONS, 1, host, wm_versions_cb, f);
	fleet_conn_query(f->conn, FLEET_CONN_LAST, false,
	    FLEET_SQL_WATERMARK_AUDIT, 1, host, wm_audit_cb, f);
}

static void
state_cb(bool up, const char *cause, void *arg)
{
	struct fleet *f = arg;

	fleet_cache_drop(f->cache, NULL); /* perhaps another primary now */
	if (up) {
		ship_start(f);
		return;
	}
	f->ship.wm_versions = f->ship.wm_audit = -1;
	f->ship.wm_pending = 0;
	f->ship.in_flight = false;
	(void)cause;
}

struct fleet *
fleet_new(struct event_base *base, const char *conninfo, const char *host_name,
    struct store *local)
{
	struct fleet *f = xcalloc(1, sizeof *f);
	char *setup = xasprintf("%s%s", SESSION_SETUP, FLEET_SQL_SCHEMA);

	f->base = base;
	f->host = xstrdup_or_null(host_name);
	f->local = local;
	f->ship.wm_versions = f->ship.wm_audit = -1;
	f->ship.ev = evtimer_new(base, ship_cb, f);
	TAILQ_INIT(&f->waiting);
	f->cache = fleet_cache_new(CACHE_APPS, CACHE_TTL_MS);
	f->name_ev = evtimer_new(base, name_wait_cb, f);
	f->conn = fleet_conn_new(base, conninfo, setup, state_cb, f);
	free(setup);
	ship_arm(f, SHIP_PERIOD_MS);
	return f;
}

void
fleet_free(struct fleet *f)
{
	if (f == NULL)
		return;
	while (!TAILQ_EMPTY(&f->waiting)) {
		struct fleet_claim *c = TAILQ_FIRST(&f->waiting);

		TAILQ_REMOVE(&f->waiting, c, wait_entry);
		claim_free(c);
	}
	event_free(f->name_ev);
	fleet_conn_free(f->conn);
	fleet_cache_free(f->cache);
	event_free(f->ship.ev);
	free(f->host);
	free(f->error);
	free(f);
}

void
fleet_set_host_name(struct fleet *f, const char *name)
{
	bool first = f->host == NULL;

	free(f->host);
	f->host = xstrdup(name);
	if (!first)
		return;
	ship_start(f);
	evtimer_del(f->name_ev);
	while (!TAILQ_EMPTY(&f->waiting)) {
		struct fleet_claim *c = TAILQ_FIRST(&f->waiting);

		TAILQ_REMOVE(&f->waiting, c, wait_entry);
		c->waiting = false;
		claim_start(c);
	}
}

bool
fleet_ready(const struct fleet *f)
{
	return f->host != NULL && fleet_conn_up(f->conn);
}

const char *
fleet_error(const struct fleet *f)
{
	if (f->host == NULL)
		return "this host's name is not known (the engine has not "
		       "answered /info; host_name in guard.conf names it)";
	if (fleet_conn_up(f->conn))
		return NULL;
	if (fleet_conn_pending(f->conn) && fleet_conn_error(f->conn) == NULL)
		return "connecting";
	return fleet_conn_error(f->conn) != NULL ? fleet_conn_error(f->conn)
						 : "not connected yet";
}

/* ---- claims ---- */

static void
claim_free(struct fleet_claim *c)
{
	free(c->app);
	free(c->failure);
	fleet_history_reset(&c->read);
	free(c->added.version);
	free(c->added.digest);
	free(c->added.host);
	free(c);
}

/* Roll back what the claim holds, if its connection still stands. */
static void
claim_rollback(struct fleet_claim *c)
{
	if (c->locked && fleet_conn_up(c->f->conn) &&
	    fleet_conn_epoch(c->f->conn) == c->epoch)
		fleet_conn_query(c->f->conn, FLEET_CONN_NEXT, false, "ROLLBACK",
		    0, NULL, NULL, NULL);
}

/* The history did not come: tell the caller, drop the claim. */
static void
claim_fail(struct fleet_claim *c, const char *cause)
{
	claim_rollback(c);
	if (c->step == CLAIM_HELD && c->locked)
		fleet_conn_unhold(c->f->conn);
	if (!c->abandoned && c->cb != NULL)
		c->cb(c, false, NULL, cause, c->arg);
	claim_free(c);
}

/* The history's rows into h. */
static void
read_history(const PGresult *res, struct fleet_history *h)
{
	int n = PQntuples(res);

	h->items = n > 0 ? xcalloc((size_t)n, sizeof *h->items) : NULL;
	h->n = 0;
	for (int i = 0; i < n; i++) {
		struct fleet_version *v = &h->items[h->n];
		const char *claimed = cstr(res, i, 4);

		if (cstr(res, i, 0) == NULL || cstr(res, i, 2) == NULL)
			continue;
		v->version = xstrdup(cstr(res, i, 0));
		v->digest = xstrdup_or_null(cstr(res, i, 1));
		v->host = xstrdup(cstr(res, i, 2));
		v->since = strtoll(PQgetvalue(res, i, 3), NULL, 10) / 1000;
		v->claimed = claimed != NULL && claimed[0] == 't';
		h->n++;
	}
}

/* The app's generation, in every row of the history. */
static int64_t
read_gen(const PGresult *res)
{
	if (PQntuples(res) < 1 || PQnfields(res) < 6 || PQgetisnull(res, 0, 5))
		return -1;
	return strtoll(PQgetvalue(res, 0, 5), NULL, 10);
}

/* The history is in: hold the connection and hand it over. */
static void
claim_deliver(struct fleet_claim *c, const PGresult *res)
{
	struct fleet_history h = { 0 };

	if (c->abandoned) {
		claim_rollback(c);
		claim_free(c);
		return;
	}
	read_history(res, &h);
	c->gen = read_gen(res);
	if (!c->locked)
		fleet_history_copy(&c->read, &h);
	c->step = CLAIM_HELD;
	if (c->locked)
		fleet_conn_hold(c->f->conn);
	c->cb(c, true, &h, NULL, c->arg);
	fleet_history_reset(&h); /* what the caller did not take */
}

/* The end of a commit: the caller hears whether it landed. */
static void
claim_finish(struct fleet_claim *c, enum fleet_commit_result r,
    const char *cause)
{
	if (c->done != NULL)
		c->done(r, cause, c->done_arg);
	claim_free(c);
}

/* BEGIN, the lock and the history ran, in one round trip, on the
 * connection up now. */
static void
claim_read_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet_claim *c = arg;

	c->epoch = fleet_conn_epoch(c->f->conn);
	if (res == NULL || fleet_conn_failed(res, &cause)) {
		claim_fail(c, cause != NULL ? cause : "statement failed");
		return;
	}
	claim_deliver(c, res);
}

/* This host's own last claim of the app is the history: hand a copy
 * over, from the loop. */
static void
claim_cached_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_claim *c = arg;
	struct fleet_history h = { 0 };

	(void)fd;
	(void)what;
	if (c->abandoned) {
		claim_free(c);
		return;
	}
	fleet_history_copy(&h, &c->read);
	c->epoch = fleet_conn_epoch(c->f->conn);
	c->step = CLAIM_HELD;
	c->cb(c, true, &h, NULL, c->arg);
	fleet_history_reset(&h); /* what the caller did not take */
}

/* The end of a commit: the caller hears whether it landed. */
static void
claim_commit_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet_claim *c = arg;

	if (c->failure == NULL &&
	    (res == NULL || fleet_conn_failed(res, &cause) ||
		strcmp(PQcmdStatus(res), "COMMIT") != 0))
		c->failure = xstrdup(
		    cause != NULL ? cause : "the commit was rolled back");
	if (res != NULL && c->failure != NULL)
		claim_rollback(c);
	claim_finish(c,
	    c->failure != NULL ? FLEET_COMMIT_FAILED : FLEET_COMMIT_RECORDED,
	    c->failure);
}

/* An optimistic commit answered: dg_claim's row ID (the claim is in: the
 * app's new generation), or NULL (the app had moved on); a failure
 * recorded nothing (the statement was its own transaction). */
static void
claim_cas_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet_claim *c = arg;
	struct fleet *f = c->f;

	if (res == NULL || fleet_conn_failed(res, &cause) ||
	    PQntuples(res) != 1) {
		fleet_cache_drop(f->cache, c->app);
		claim_finish(c, FLEET_COMMIT_FAILED,
		    cause != NULL ? cause : "no answer");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		fleet_cache_drop(f->cache, c->app);
		claim_finish(c, FLEET_COMMIT_STALE, NULL);
		return;
	}
	fleet_cache_put(f->cache, c->app, &c->read, &c->added,
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10), now_ms());
	claim_finish(c, FLEET_COMMIT_RECORDED, NULL);
}

/* Tell cb of a failure from the loop, never from inside the call. */
static void
claim_fail_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_claim *c = arg;
	char *cause = xstrdup(c->failure != NULL ? c->failure : "failed");

	(void)fd;
	(void)what;
	if (!c->abandoned && c->cb != NULL)
		c->cb(c, false, NULL, cause, c->arg);
	free(cause);
	claim_free(c);
}

/* BEGIN; the app's advisory lock; its history: one round trip.  Each
 * statement reads a fresh snapshot (READ COMMITTED), so the history read
 * after the lock sees what its last holder committed. */
static char *
claim_read_text(const char *app)
{
	const char *v[1] = { app };
	char *lock = sql_bind(FLEET_SQL_LOCK_APP, 1, v);
	char *hist = sql_bind(FLEET_SQL_HISTORY, 1, v);
	char *text;

	if (lock == NULL || hist == NULL)
		abort(); /* the statements are constants */
	text = xasprintf("BEGIN; %s; %s", lock, hist);
	free(lock);
	free(hist);
	return text;
}

/* The claim row and COMMIT: one round trip. */
static char *
claim_commit_text(const struct fleet_record *rec, const char *host)
{
	struct fleet_params p;
	char *row, *text;

	if (rec->version == NULL)
		return xstrdup("COMMIT");
	fleet_sql_claim_params(rec, host, &p);
	if ((row = sql_bind(FLEET_SQL_CLAIM, p.n, p.values)) == NULL)
		abort(); /* the statement is a constant */
	text = xasprintf("%s; COMMIT", row);
	free(row);
	return text;
}

struct fleet_claim *
fleet_claim_begin(struct fleet *f, const char *app, bool locked,
    fleet_history_cb cb, void *arg)
{
	struct fleet_claim *c = xcalloc(1, sizeof *c);
	struct timeval now = { 0, 0 };

	c->f = f;
	c->app = xstrdup(app);
	c->locked = locked;
	c->gen = -1;
	c->cb = cb;
	c->arg = arg;
	/* A connection being made is waited for (its own timeout bounds
	   that), and so is the host's name (NAME_WAIT_MS); a connection
	   that is down fails the claim at once. */
	if (!fleet_conn_up(f->conn) && !fleet_conn_pending(f->conn)) {
		c->failure = xstrdup(fleet_error(f));
		event_base_once(f->base, -1, EV_TIMEOUT, claim_fail_later_cb, c,
		    &now);
		return c;
	}
	if (f->host == NULL) {
		struct timeval wait = { NAME_WAIT_MS / 1000, 0 };

		c->waiting = true;
		TAILQ_INSERT_TAIL(&f->waiting, c, wait_entry);
		if (!evtimer_pending(f->name_ev, NULL))
			evtimer_add(f->name_ev, &wait);
		return c;
	}
	claim_start(c);
	return c;
}

/* Read the app's history under its lock (c is the caller's again when
 * its callback runs). */
static void
claim_start(struct fleet_claim *c)
{
	if (c->abandoned) {
		claim_free(c);
		return;
	}
	const char *app[1] = { c->app };

	c->step = CLAIM_READ;
	if (!c->locked &&
	    fleet_cache_get(c->f->cache, c->app, now_ms(), &c->read, &c->gen)) {
		struct timeval now = { 0, 0 };

		event_base_once(c->f->base, -1, EV_TIMEOUT, claim_cached_cb, c,
		    &now);
		return;
	}
	if (c->locked)
		fleet_conn_query_text(c->f->conn, FLEET_CONN_LAST,
		    claim_read_text(c->app), claim_read_cb, c);
	else
		fleet_conn_query(c->f->conn, FLEET_CONN_LAST, false,
		    FLEET_SQL_HISTORY, 1, app, claim_read_cb, c);
}

/* The host's name did not come in time: the waiting claims fail. */
static void
name_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;

	(void)fd;
	(void)what;
	while (!TAILQ_EMPTY(&f->waiting)) {
		struct fleet_claim *c = TAILQ_FIRST(&f->waiting);

		TAILQ_REMOVE(&f->waiting, c, wait_entry);
		c->waiting = false;
		if (!c->abandoned)
			c->cb(c, false, NULL, fleet_error(f), c->arg);
		claim_free(c);
	}
}

/* A commit or release on a claim whose connection is gone. */
static bool
claim_stale(struct fleet_claim *c)
{
	return !fleet_conn_up(c->f->conn) ||
	    fleet_conn_epoch(c->f->conn) != c->epoch;
}

static void
stale_later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	claim_finish(arg, FLEET_COMMIT_STALE, NULL);
}

static void
recorded_later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	claim_finish(arg, FLEET_COMMIT_RECORDED, NULL);
}

static void
done_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet_claim *c = arg;

	(void)fd;
	(void)what;
	claim_finish(c, FLEET_COMMIT_FAILED,
	    "the connection to the fleet ledger was lost");
}

void
fleet_claim_commit(struct fleet_claim *c, const struct fleet_record *rec,
    fleet_done_cb cb, void *arg)
{
	struct timeval now = { 0, 0 };
	struct fleet_params p;

	c->done = cb;
	c->done_arg = arg;
	if (!c->locked) {
		c->step = CLAIM_COMMIT;
		if (rec->version == NULL || c->gen < 0) {
			/* Nothing to record, or no generation to test. */
			event_base_once(c->f->base, -1, EV_TIMEOUT,
			    c->gen < 0 ? stale_later_cb : recorded_later_cb, c,
			    &now);
			return;
		}
		c->added.version = xstrdup(rec->version);
		c->added.digest = xstrdup_or_null(rec->digest);
		c->added.host = xstrdup(c->f->host);
		c->added.since = rec->time_ms / 1000;
		c->added.claimed = true;
		fleet_sql_claim_if_unchanged_params(rec, c->f->host, c->gen,
		    &p);
		fleet_conn_query(c->f->conn, FLEET_CONN_LAST, false,
		    FLEET_SQL_CLAIM_IF_UNCHANGED, p.n, p.values, claim_cas_cb,
		    c);
		return;
	}
	if (claim_stale(c)) {
		event_base_once(c->f->base, -1, EV_TIMEOUT, done_later_cb, c,
		    &now);
		return;
	}
	/* Queued next, before the hold ends: nothing comes between. */
	c->step = CLAIM_COMMIT;
	fleet_conn_query_text(c->f->conn, FLEET_CONN_NEXT,
	    claim_commit_text(rec, c->f->host), claim_commit_cb, c);
	fleet_conn_unhold(c->f->conn);
}

void
fleet_claim_release(struct fleet_claim *c)
{
	if (c->locked && !claim_stale(c)) {
		claim_rollback(c);
		fleet_conn_unhold(c->f->conn);
	}
	claim_free(c);
}

void
fleet_claim_abandon(struct fleet_claim *c)
{
	c->abandoned = true;
	if (c->waiting) {
		TAILQ_REMOVE(&c->f->waiting, c, wait_entry);
		claim_free(c);
	}
}

/* ---- outcomes ---- */

static void
outcome_cb(PGresult *res, const char *cause, void *arg)
{
	(void)arg;
	if (res != NULL && !fleet_conn_failed(res, &cause))
		return;
	log_warn("fleet ledger: a claim's outcome was not recorded: %s",
	    cause != NULL ? cause : "unknown error");
}

void
fleet_claim_outcome(struct fleet *f, const char *app, const char *token,
    int status, const char *container_id)
{
	struct fleet_params p;

	if (status < 200 || status > 299)
		fleet_cache_drop(f->cache, app); /* its claim row goes */
	if (f->host == NULL || token == NULL)
		return;
	fleet_sql_outcome_params(f->host, token, container_id, status, &p);
	fleet_conn_query(f->conn, FLEET_CONN_LAST, true, FLEET_SQL_OUTCOME, p.n,
	    p.values, outcome_cb, f);
}

/* ---- shipping ---- */

/* The batch's one round trip answered: its COMMIT, or the first failure
 * (the transaction is then rolled back and the batch tried again). */
static void
ship_done_cb(PGresult *res, const char *cause, void *arg)
{
	struct fleet *f = arg;

	f->ship.in_flight = false;
	if (res == NULL || fleet_conn_failed(res, &cause) ||
	    strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		log_warn("fleet ledger: shipping rows: %s",
		    cause != NULL ? cause : "the batch was rolled back");
		if (res != NULL && fleet_conn_up(f->conn))
			fleet_conn_query(f->conn, FLEET_CONN_NEXT, false,
			    "ROLLBACK", 0, NULL, NULL, NULL);
		ship_arm(f, SHIP_RETRY_MS);
		return;
	}
	f->ship.wm_versions = f->ship.next_versions;
	f->ship.wm_audit = f->ship.next_audit;
	ship_arm(f, f->ship.full ? 0 : SHIP_PERIOD_MS);
}

/* The batch as one text (one round trip); the highest IDs it holds are
 * the next watermarks. */
static char *
ship_text(struct fleet *f, const struct store_deployment_rows *dep,
    const struct store_audit_rows *aud)
{
	if (dep->n > 0)
		f->ship.next_versions = dep->items[dep->n - 1].id;
	if (aud->n > 0)
		f->ship.next_audit = aud->items[aud->n - 1].id;
	return fleet_sql_ship_text(dep, aud, f->host);
}

/* Queue one batch of the local rows above the watermarks, as one
 * transaction in one round trip; false if there was nothing to ship. */
static bool
ship_batch(struct fleet *f)
{
	struct store_deployment_rows dep = { 0 };
	struct store_audit_rows aud = { 0 };
	char *cause = NULL;
	bool any;

	if (store_deployments_after(f->local, f->ship.wm_versions, SHIP_BATCH,
		&dep, &cause) != 0 ||
	    store_audit_after(f->local, f->ship.wm_audit, SHIP_BATCH, &aud,
		&cause) != 0) {
		log_warn("fleet ledger: reading local rows to ship: %s", cause);
		free(cause);
		store_deployment_rows_reset(&dep);
		return false;
	}
	any = dep.n > 0 || aud.n > 0;
	if (any) {
		f->ship.next_versions = f->ship.wm_versions;
		f->ship.next_audit = f->ship.wm_audit;
		f->ship.full = dep.n == SHIP_BATCH || aud.n == SHIP_BATCH;
		f->ship.in_flight = true;
		fleet_conn_query_text(f->conn, FLEET_CONN_LAST,
		    ship_text(f, &dep, &aud), ship_done_cb, f);
	}
	store_deployment_rows_reset(&dep);
	store_audit_rows_reset(&aud);
	return any;
}

static void
ship_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;

	(void)fd;
	(void)what;
	if (f->ship.in_flight)
		return; /* its COMMIT arms the next */
	if (fleet_ready(f) &&
	    (f->ship.wm_versions < 0 || f->ship.wm_audit < 0)) {
		ship_start(f); /* its answers arm the next */
		ship_arm(f, SHIP_PERIOD_MS);
		return;
	}
	if (!fleet_ready(f) || !ship_batch(f))
		ship_arm(f, SHIP_PERIOD_MS);
}

static void
ship_arm(struct fleet *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(f->ship.ev, &tv);
}

void
fleet_ship_soon(struct fleet *f)
{
	struct timeval soon = { 0, SHIP_SOON_MS * 1000 }, left;

	/* Sooner than planned, never later: a steady stream of outcomes
	   must not keep pushing the batch back. */
	if (f->ship.in_flight)
		return;
	if (evtimer_pending(f->ship.ev, &left)) {
		struct timeval now;

		event_base_gettimeofday_cached(f->base, &now);
		timersub(&left, &now, &left);
		if (timercmp(&left, &soon, <=))
			return;
	}
	ship_arm(f, SHIP_SOON_MS);
}
