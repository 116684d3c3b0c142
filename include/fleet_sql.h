/*
 * The SQL of the fleet ledger (PostgreSQL 14+), shared by the guard's
 * asynchronous client (fleet.c) and the CLI (fleet_cli.c), and the pure
 * helpers that turn local rows into the text parameters of those
 * statements (for PQexecParams / PQsendQueryParams with paramTypes NULL:
 * every value is text, NULL is SQL NULL).  Pure: no libpq here.
 *
 * The tables (created by FLEET_SQL_SCHEMA, idempotently):
 *   dg_versions  every version an app ran (or is about to run) on a host:
 *                claims (state claimed, then created or deleted by the
 *                engine's answer) and shipped local deployments rows
 *                (local_id = deployments.id in that host's SQLite).
 *   dg_audit     every host's audit rows, keyed by (host, local_id).
 *   dg_meta      schema_version = 1.
 */
#ifndef FLEET_SQL_H
#define FLEET_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What an allowed request will run, recorded by fleet_claim_commit.
 * Borrowed for the call (fleet.h). */
struct fleet_record {
	const char *app;
	const char *version; /* may be NULL: nothing to record */
	const char *digest;  /* may be NULL */
	const char *image_ref;
	const char *image_id;	    /* may be NULL */
	const char *container_name; /* may be NULL */
	const char *token; /* the local intent's token, to close it by */
	int64_t time_ms;
};

/* The schema, as ONE simple query (PQexec / PQsendQuery, not the
 * parameterised calls): BEGIN; an advisory lock so guards starting at
 * once do not race; CREATE ... IF NOT EXISTS (no notices); COMMIT. */
extern const char *const FLEET_SQL_SCHEMA;
/* The advisory lock key FLEET_SQL_SCHEMA takes. */
#define FLEET_SQL_SCHEMA_LOCK 7234173201455392615
/* No parameters; one row (value) = "1", or fails with SQLSTATE 42P01
 * (undefined_table) when the schema is missing. */
extern const char *const FLEET_SQL_SCHEMA_VERSION;

/* $1 app: lock the app for the fleet until the transaction ends. */
extern const char *const FLEET_SQL_LOCK_APP;
/* $1 app -> rows (version, digest, host, first_seen_ms, claimed, gen),
 * one per (version, digest, host): the first time it was seen there, and
 * whether every row of it is still a claim ('t'/'f'); oldest first.  gen
 * is the app's generation (its highest row ID, 0: none), the same in
 * every row; with no history, one row of NULLs but gen. */
extern const char *const FLEET_SQL_HISTORY;
/* Parameters of fleet_sql_claim_params: record a claim. */
extern const char *const FLEET_SQL_CLAIM;
/* Parameters of fleet_sql_claim_if_unchanged_params: in one statement,
 * record a claim under the app's lock only if the app has no row above
 * generation gen -> one row: the claim row's ID, or NULL when the app
 * had one (nothing recorded). */
extern const char *const FLEET_SQL_CLAIM_IF_UNCHANGED;
/* $1 host, $2 token, $3 container_id or NULL, $4 HTTP status -> one row
 * (updated, deleted): a 2xx answer whose container is not yet a row of
 * its own turns the claim into created (with container_id $3); anything
 * else deletes it. */
extern const char *const FLEET_SQL_OUTCOME;
/* $1 host -> one row: the highest local_id shipped (0: none). */
extern const char *const FLEET_SQL_WATERMARK_VERSIONS;
extern const char *const FLEET_SQL_WATERMARK_AUDIT;
/* Parameters of fleet_sql_deployment_params: ship one deployments row
 * (a claim row that already has that container keeps one row). */
extern const char *const FLEET_SQL_SHIP_DEPLOYMENT;
/* Parameters of fleet_sql_audit_params: ship one audit row. */
extern const char *const FLEET_SQL_SHIP_AUDIT;

/* $1 app or NULL (every app) -> rows (host, app, version, digest,
 * image_ref, image_id, container_id, container_name, first_seen_ms,
 * source, state), by app, then time, then host. */
extern const char *const FLEET_SQL_VIEW_HISTORY;
/* Parameters of fleet_sql_audit_filter_params -> rows (host, local_id,
 * time_ms, uid, gid, pid, comm, method, route, app, image_ref, digest,
 * version, previous_version, rule, verdict, message, latency_us,
 * prev_hash, hash): the newest `limit` rows that match, oldest first. */
extern const char *const FLEET_SQL_VIEW_AUDIT;

/* $1 host -> one row: how many rows of host are there (deployments
 * shipped, audit rows). */
extern const char *const FLEET_SQL_COUNT_VERSIONS;
extern const char *const FLEET_SQL_COUNT_AUDIT;

/* The most parameters any statement above takes. */
#define FLEET_PARAMS_MAX 20

/*
 * Text parameters for one statement: values[0..n-1], each NULL (SQL
 * NULL) or a string borrowed from the row given to the helper, or
 * formatted into num[] of this struct.  So values point into the struct
 * itself: fill it in place and do not copy it; valid while the row is.
 */
struct fleet_params {
	int n;
	const char *values[FLEET_PARAMS_MAX];
	char num[FLEET_PARAMS_MAX][24];
};

/* FLEET_SQL_SHIP_DEPLOYMENT's 11 parameters for local row r of host:
 * host, app, version, digest (repo_digest), image_ref, image_id,
 * container_id, container_name, first_seen (created_at * 1000), source,
 * local_id (r->id). */
void fleet_sql_deployment_params(const struct store_deployment_row *r,
    const char *host, struct fleet_params *out);

/* FLEET_SQL_SHIP_AUDIT's 20 parameters for local audit row r of host:
 * host, local_id (r->id), time_ms, uid, gid, pid (NULL when negative:
 * unknown), comm, method, route, app, image_ref, digest, version,
 * previous_version, rule, verdict, message, latency_us, prev_hash,
 * hash. */
void fleet_sql_audit_params(const struct store_audit_row *r, const char *host,
    struct fleet_params *out);

/*
 * Local rows of host as one transaction for the simple query protocol:
 * "BEGIN; <FLEET_SQL_SHIP_DEPLOYMENT per row of dep>; <FLEET_SQL_SHIP_AUDIT
 * per row of aud>; COMMIT", the values written in (sql_text.h: the
 * connection needs standard_conforming_strings on).  Idempotent: rows
 * already there are kept.  Caller frees.
 */
char *fleet_sql_ship_text(const struct store_deployment_rows *dep,
    const struct store_audit_rows *aud, const char *host);

/* FLEET_SQL_CLAIM's 9 parameters: host, app, version, digest, image_ref,
 * image_id, container_name, first_seen (rec->time_ms), token. */
void fleet_sql_claim_params(const struct fleet_record *rec, const char *host,
    struct fleet_params *out);

/* FLEET_SQL_CLAIM_IF_UNCHANGED's 10 parameters: FLEET_SQL_CLAIM's, then
 * gen. */
void fleet_sql_claim_if_unchanged_params(const struct fleet_record *rec,
    const char *host, int64_t gen, struct fleet_params *out);

/* FLEET_SQL_OUTCOME's 4 parameters: host, token, container_id (may be
 * NULL), status. */
void fleet_sql_outcome_params(const char *host, const char *token,
    const char *container_id, int status, struct fleet_params *out);

/* FLEET_SQL_VIEW_AUDIT's 9 parameters from f (its limit 0: all) and
 * host (NULL: every host). */
void fleet_sql_audit_filter_params(const struct store_audit_filter *f,
    const char *host, struct fleet_params *out);

/*
 * libpq's message msg (may be NULL) as one line for a person: lines
 * joined with "; ", trailing blanks dropped, and every password that
 * conninfo carries (user:PASSWORD@ in a URI, password=... as a key or a
 * URI parameter) replaced by "***" (libpq repeats parts of a malformed
 * connection string in its messages).  Caller frees.
 */
char *fleet_sql_error_line(const char *msg, const char *conninfo);

#endif
