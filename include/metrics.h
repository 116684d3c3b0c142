/*
 * The guard's own metrics (issue 14; /metrics on the operators'
 * listener, ops_http.h), named docker_guard_*.  One set per process,
 * kept in plain counters: the guard is single-threaded, so every call is
 * an increment or a store and costs nothing on the passthrough path.
 *
 * Label values come only from fixed sets (the enums below, rule names
 * that are the code's constants): nothing a client sends becomes a label
 * value, so the number of series stays bounded.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum metrics_verdict {
	METRICS_ALLOW,
	METRICS_DENY,
	METRICS_WARN,
};

enum metrics_registry_outcome {
	METRICS_REG_PRESENT,
	METRICS_REG_MISSING,
	METRICS_REG_UNREACHABLE,
	METRICS_REG_AUTH_FAILED,
	METRICS_REG_ERROR,
};

enum metrics_drift_kind {
	METRICS_DRIFT_MISSING,
	METRICS_DRIFT_NEWER,
};

/*
 * One decision: an audit row with verdict v and rule (a constant of the
 * code: "require_digest", "downgrade", "drift", ...; at most 32 bytes of
 * [a-z0-9_], else counted as "other"; NULL (an allow no rule spoke
 * about) is "none"; the first 64 distinct rules get a
 * series each, later ones count as "other").  ledger_write() calls this
 * for every audit row it queues (all but rule "outcome"): a module
 * that writes its audit rows through the ledger must NOT call it again.
 */
void metrics_decision(enum metrics_verdict v, const char *rule);
/* A guarded request's time from its body read to its verdict. */
void metrics_decision_time(double seconds);
/* One registry check (create, pull, drift) ended so. */
void metrics_registry_check(enum metrics_registry_outcome o);
/* The engine answered (true) or failed (false) its last request or ping. */
void metrics_engine_up(bool up);
/* The engine's /version (copied; NULL as ""): docker_guard_engine_info
 * is shown from the first call on. */
void metrics_engine_info_set(const char *version, const char *api_version);
/* The engine's version changed while the guard ran. */
void metrics_engine_version_changed(void);
/* An engine event was processed seconds after it happened. */
void metrics_events_lag(double seconds);
/* The event stream reconnected. */
void metrics_events_reconnect(void);
/* A database error (SQLite or the fleet's PostgreSQL). */
void metrics_ledger_error(void);
/* n writes wait in the write-behind queue. */
void metrics_ledger_queued(size_t n);
/* Connected to the fleet ledger or not; shown from the first call on
 * (call it only when a fleet ledger is configured). */
void metrics_fleet_up(bool up);
/* A client connection was accepted / closed. */
void metrics_connection_open(void);
void metrics_connection_close(void);
/* The drift watch found kind; it completed a round; a webhook POST
 * failed after its retries. */
void metrics_drift_finding(enum metrics_drift_kind kind);
void metrics_drift_round(void);
void metrics_notify_failure(void);

/* Every metric in the text format 0.0.4, into *len bytes.  Caller
 * frees. */
char *metrics_render(size_t *len);

/* Forget every value (tests). */
void metrics_reset(void);

#endif
