/*
 * The ledger and the audit trail, in SQLite.  The only module that speaks
 * SQL.  The database is in WAL mode so the CLI can read while the guard
 * writes; the schema is migrated with PRAGMA user_version.
 *
 * Every function returns 0 on success, or -1 with an allocated *cause on
 * trouble (locked, full, corrupt): callers fail closed.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

struct store;

/* One version an app has run, with when it was first seen running. */
struct store_version {
	char *version;
	int64_t since; /* unix seconds */
	char *digest;  /* repository digest of that deployment, or NULL */
};

struct store_versions {
	struct store_version *items;
	size_t n;
};

/* A container the guard saw created. */
struct store_deployment {
	const char *app;
	const char *container_id;
	const char *container_name; /* may be NULL */
	const char *image_ref;	    /* as given */
	const char *image_id;
	const char *repo_digest; /* may be NULL */
	const char *version;	 /* may be NULL */
	int64_t time;		 /* unix seconds */
	const struct peer_cred *peer;
	const char *source; /* "guard", "sync", "event" */
};

enum store_verdict {
	STORE_ALLOW,
	STORE_WARN,
	STORE_DENY,
	STORE_ERROR,
};

struct store_audit {
	int64_t time_ms;
	const struct peer_cred *peer;
	const char *method;
	const char *route; /* canonical route name */
	const char *app;
	const char *image_ref;
	const char *digest;
	const char *version;
	const char *previous_version;
	const char *rule;
	enum store_verdict verdict;
	const char *message;
	int64_t latency_us;
};

/* Open (creating and migrating) the database at path; the parent
 * directory is created with mode 0700 if missing.  Opening waits up to
 * a second for a lock; afterwards the connection never waits (busy
 * timeout 0: a locked database fails at once, see store_transient), so
 * the event loop is never held by someone else's lock.  Caller closes. */
struct store *store_open(const char *path, char **cause);
/* Close the database and free st; NULL is ignored. */
void store_close(struct store *st);

/* Every distinct version app has run (from the ledger), oldest first,
 * into *out (zeroed first, and again on failure); the caller resets it
 * with store_versions_reset. */
int store_app_versions(struct store *st, const char *app,
    struct store_versions *out, char **cause);
/* Free what store_app_versions filled and zero *v. */
void store_versions_reset(struct store_versions *v);

/* Record a created container (d and its strings are borrowed for the
 * call).  A container_id already in the ledger is left as it is. */
int store_record_deployment(struct store *st, const struct store_deployment *d,
    char **cause);

/* The container (full ID or unique ID prefix or current name) was renamed
 * or removed.  Unknown containers are ignored. */
int store_record_rename(struct store *st, const char *container,
    const char *new_name, char **cause);
/* ... removed at time (unix seconds): its live rows get removed_at. */
int store_record_removal(struct store *st, const char *container, int64_t time,
    char **cause);

/* Append one audit row (a is borrowed for the call), chained to the row
 * before it; the same as a store_write of the audit alone. */
int store_audit(struct store *st, const struct store_audit *a, char **cause);

/* "allow", "warn", "deny", "error": a static string. */
const char *store_verdict_name(enum store_verdict v);

/* ---- one write, in one transaction ---- */

/* What a guarded create was allowed to make, written with its decision
 * row before the request is forwarded: if the guard dies before it can
 * record the engine's answer, the reconcile recognises the container as
 * the guard's own by this. */
struct store_intent {
	const char *token; /* unique, names it later */
	const char *app;
	const char *container_name; /* may be NULL */
	const char *image_ref;
	const char *image_id;	 /* may be NULL */
	const char *repo_digest; /* may be NULL */
	const char *version;	 /* may be NULL */
	int64_t time_ms;
	const struct peer_cred *peer;
};

/* The engine's answer to a forwarded request. */
struct store_outcome {
	const char *token;	  /* the intent's; NULL: none */
	int status;		  /* HTTP status; 0: no answer */
	const char *container_id; /* may be NULL */
	int64_t time_ms;
};

/*
 * Everything a write may carry; NULL parts are skipped.  The parts land
 * together or not at all, in this order: deployment, outcome, removal,
 * rename, meta, audit (and intent, linked to the audit row).
 */
struct store_write {
	const struct store_deployment *deployment;
	const struct store_outcome *outcome;
	const char *removed; /* container */
	int64_t removed_at;
	const char *renamed; /* container */
	const char *new_name;
	const char *meta_key;
	const char *meta_value;
	const struct store_audit *audit;
	const struct store_intent *intent; /* needs audit */
};

struct store_written {
	int64_t audit_id;  /* 0: none */
	int64_t intent_id; /* 0: none */
};

/* Returns 0 with *out filled (out may be NULL), or -1 with *cause; then
 * store_transient() says whether trying again later can help. */
int store_write(struct store *st, const struct store_write *w,
    struct store_written *out, char **cause);

/* Did the last failure come from a lock, a full disk or an I/O error,
 * which go away, rather than from the statement itself? */
bool store_transient(struct store *st);

/* Wait up to ms for locks from now on (0: never wait).  Only where
 * blocking is fine: start-up, shutdown, the CLI. */
void store_set_busy_timeout(struct store *st, int ms);

/* The newest allowed create, forwarded and never answered (or answered
 * by a lost connection), of image_id under name (NULL: any name) within
 * a few minutes before created (unix seconds).  *found false if none.
 * Strings are allocated into *out; reset with store_intent_row_reset. */
struct store_intent_row {
	int64_t id, decision_id, time_ms;
	char *token, *app, *container_name, *image_ref, *image_id;
	char *repo_digest, *version, *comm;
	int64_t uid, gid, pid;
};
int store_intent_match(struct store *st, const char *name, const char *image_id,
    int64_t created, struct store_intent_row *out, bool *found, char **cause);
/* Free what store_intent_match filled and zero *r. */
void store_intent_row_reset(struct store_intent_row *r);

/* Live containers (not services) of the ledger created before the given
 * time (unix seconds): NULL-terminated, caller frees each and the
 * array. */
int store_live_containers(struct store *st, int64_t before, char ***ids,
    char **cause);

/* Open an existing database read-only (for the CLI while the guard
 * runs).  Refuses a missing file or an unknown schema. */
struct store *store_open_readonly(const char *path, char **cause);

/* ---- reading the audit trail ---- */

struct store_audit_row {
	int64_t id;
	int64_t time_ms;
	int64_t uid, gid, pid; /* -1 when unknown */
	const char *comm, *method, *route, *app, *image_ref, *digest;
	const char *version, *previous_version, *rule, *verdict;
	const char *message;
	int64_t latency_us;
	const char *prev_hash, *hash;
};

struct store_audit_filter {
	int64_t since_ms; /* 0: no bound */
	int64_t until_ms; /* 0: no bound */
	const char *app;
	const char *verdict;
	const char *rule;
	int64_t uid;   /* -1: any */
	long limit;    /* 0: all; else the newest N */
	bool outcomes; /* also the engine's answers (rule
					   outcome; always with rule set) */
};

/* Call cb for each matching row, oldest first; rows are borrowed for the
 * call. */
int store_audit_query(struct store *st, const struct store_audit_filter *f,
    void (*cb)(const struct store_audit_row *, void *), void *arg,
    char **cause);

/*
 * Check the hash chain.  Returns 0 with *bad_id 0 when intact, or with
 * *bad_id the first row that was altered, or that follows a removed row,
 * and *what saying which (allocated).  -1 on database trouble.
 */
int store_audit_verify(struct store *st, int64_t *bad_id, char **what,
    int64_t *rows, char **cause);

/* ---- reading the ledger ---- */

struct store_deployment_row {
	int64_t id; /* deployments.id */
	const char *app, *container_id, *container_name, *image_ref;
	const char *image_id, *repo_digest, *version, *comm, *source;
	int64_t created_at, removed_at; /* removed_at 0: live */
	int64_t uid, pid;
};

/* Deployments of app (all apps when NULL), by app then time. */
int store_history(struct store *st, const char *app,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause);

/* Up to limit deployments of app, newest first (the status page's
 * timeline); rows are borrowed for the call. */
int store_history_newest(struct store *st, const char *app, long limit,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause);

/* An app as the status page lists it (borrowed for the callback). */
struct store_app_row {
	const char *app;
	const char *current_version; /* the newest live container's: NULL
					none live, "" unknown */
	const char *current_image;   /* the newest live container's */
	int live;		     /* live containers */
	int64_t last_change;	     /* newest create or removal, unix s */
};

/* Up to limit apps of the ledger, most recently deployed first. */
int store_apps_recent(struct store *st, long limit,
    void (*cb)(const struct store_app_row *, void *), void *arg, char **cause);

/* Each distinct version app has run (from an index), in no particular
 * order; the string is borrowed for the call. */
int store_app_version_names(struct store *st, const char *app,
    void (*cb)(const char *version, void *), void *arg, char **cause);

/* The newest limit audit rows of rule (when not NULL) or else of
 * verdict ("deny", ...), newest first, each read from an index; rows
 * are borrowed for the call. */
int store_audit_newest(struct store *st, const char *rule, const char *verdict,
    long limit, void (*cb)(const struct store_audit_row *, void *), void *arg,
    char **cause);

/* The deployment of one container (full ID), if the ledger has it: cb
 * is called once, or not at all. */
int store_deployment_of(struct store *st, const char *container_id,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause);

/* ---- reading rows to ship to the fleet ledger (fleet.h) ---- */

/* Rows whose strings are owned by the set (in strings[]), not by the
 * rows; reset with store_rows_reset. */
struct store_deployment_rows {
	struct store_deployment_row *items;
	size_t n;
	char **strings;
	size_t n_strings;
};

struct store_audit_rows {
	struct store_audit_row *items;
	size_t n;
	char **strings;
	size_t n_strings;
};

/* Up to limit deployments rows with id > after_id, by id, into *out
 * (zeroed first, and reset again on failure).  comm, removed_at, uid
 * and pid are filled too. */
int store_deployments_after(struct store *st, int64_t after_id, size_t limit,
    struct store_deployment_rows *out, char **cause);
/* Free what store_deployments_after filled and zero *rows. */
void store_deployment_rows_reset(struct store_deployment_rows *rows);

/* Up to limit audit rows (every column) with id > after_id, by id, into
 * *out, as store_deployments_after. */
int store_audit_after(struct store *st, int64_t after_id, size_t limit,
    struct store_audit_rows *out, char **cause);
/* Free what store_audit_after filled and zero *rows. */
void store_audit_rows_reset(struct store_audit_rows *rows);

/* Is a container (full ID) in the ledger? */
int store_container_known(struct store *st, const char *container_id,
    bool *known, char **cause);

/* How many containers of app are live (not removed) in the ledger. */
int store_app_live(struct store *st, const char *app, int *count, char **cause);

/* The app a live container belongs to (ID, ID prefix or name), or NULL.
 * Caller frees *app. */
int store_app_of_container(struct store *st, const char *container, char **app,
    char **cause);

/* ---- small facts (engine version, first sync) ---- */

/* The value kept under key into *value (allocated, caller frees), or
 * *value NULL when there is none. */
int
store_meta_get(struct store *st, const char *key, char **value, char **cause);
/* Keep value under key, replacing any value there. */
int store_meta_set(struct store *st, const char *key, const char *value,
    char **cause);

/* ---- snapshots of removed containers, to restore after a refusal ---- */

/* Keep the full inspect (JSON text) of app's container container_id,
 * named name (may be NULL), removed at time (unix seconds), and whether it
 * was running; the strings are borrowed for the call. */
int store_snapshot_put(struct store *st, const char *app,
    const char *container_id, const char *name, const char *inspect,
    bool was_running, int64_t time, char **cause);

/* The newest snapshot of app not yet restored and taken after since
 * (unix seconds), or *inspect NULL.  Caller frees the strings. */
int store_snapshot_latest(struct store *st, const char *app, int64_t since,
    int64_t *id, char **inspect, bool *was_running, char **cause);
/* Mark snapshot id restored at time (unix seconds), so it is not used
 * again. */
int store_snapshot_restored(struct store *st, int64_t id, int64_t time,
    char **cause);

#endif
