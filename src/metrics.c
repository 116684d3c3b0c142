/*
 * The process's metrics: plain counters (single-threaded), rendered on
 * demand with metrics_text.
 */
#include <stdlib.h>
#include <string.h>

#include "guard_version.h"
#include "metrics.h"
#include "metrics_text.h"
#include "xmalloc.h"

#define METRICS_MAX_RULES 64
#define METRICS_RULE_LEN 32
#define METRICS_NBOUNDS 13

static const double decision_bounds[METRICS_NBOUNDS] = { .001, .0025, .005, .01,
	.025, .05, .1, .25, .5, 1, 2.5, 5, 10 };
static const char *const verdict_names[] = { "allow", "deny", "warn" };
static const char *const registry_names[] = { "present", "missing",
	"unreachable", "auth_failed", "error" };
static const char *const drift_names[] = { "missing", "newer" };

struct metrics_rule {
	char name[METRICS_RULE_LEN + 1];
	uint64_t n[3]; /* by enum metrics_verdict */
};

static struct {
	struct metrics_rule rules[METRICS_MAX_RULES + 1]; /* + "other" */
	size_t n_rules;
	uint64_t buckets[METRICS_NBOUNDS + 1];
	double decision_sum;
	uint64_t registry[5];
	bool engine_up;
	char *engine_version, *engine_api; /* NULL: not known yet */
	uint64_t engine_changes;
	double events_lag;
	uint64_t events_reconnects;
	uint64_t ledger_errors;
	size_t ledger_queued;
	int fleet_up; /* -1: no fleet ledger */
	uint64_t conn_open, conn_total;
	uint64_t drift[2];
	uint64_t drift_rounds;
	uint64_t notify_failures;
} m = { .fleet_up = -1 };

static bool
rule_name_ok(const char *r)
{
	size_t n = strlen(r);

	return n > 0 && n <= METRICS_RULE_LEN &&
	    strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* The rule's counters: its own, or "other"'s. */
static struct metrics_rule *
rule_slot(const char *rule)
{
	struct metrics_rule *other = &m.rules[METRICS_MAX_RULES];

	if (rule == NULL)
		rule = "none"; /* allowed with no rule to speak of */
	if (!rule_name_ok(rule))
		return other;
	for (size_t i = 0; i < m.n_rules; i++) {
		if (strcmp(m.rules[i].name, rule) == 0)
			return &m.rules[i];
	}
	if (m.n_rules == METRICS_MAX_RULES || strcmp(rule, "other") == 0)
		return other;
	memcpy(m.rules[m.n_rules].name, rule, strlen(rule) + 1);
	return &m.rules[m.n_rules++];
}

void
metrics_decision(enum metrics_verdict v, const char *rule)
{
	if ((unsigned)v <= METRICS_WARN)
		rule_slot(rule)->n[v]++;
}

void
metrics_decision_time(double seconds)
{
	size_t i = 0;

	if (!(seconds >= 0))
		seconds = 0;
	while (i < METRICS_NBOUNDS && seconds > decision_bounds[i])
		i++;
	m.buckets[i]++;
	m.decision_sum += seconds;
}

void
metrics_registry_check(enum metrics_registry_outcome o)
{
	if ((unsigned)o <= METRICS_REG_ERROR)
		m.registry[o]++;
}

void
metrics_engine_up(bool up)
{
	m.engine_up = up;
}

void
metrics_engine_info_set(const char *version, const char *api_version)
{
	free(m.engine_version);
	free(m.engine_api);
	m.engine_version = xstrdup(version != NULL ? version : "");
	m.engine_api = xstrdup(api_version != NULL ? api_version : "");
}

void
metrics_engine_version_changed(void)
{
	m.engine_changes++;
}

void
metrics_events_lag(double seconds)
{
	m.events_lag = seconds > 0 ? seconds : 0;
}

void
metrics_events_reconnect(void)
{
	m.events_reconnects++;
}

void
metrics_ledger_error(void)
{
	m.ledger_errors++;
}

void
metrics_ledger_queued(size_t n)
{
	m.ledger_queued = n;
}

void
metrics_fleet_up(bool up)
{
	m.fleet_up = up;
}

void
metrics_connection_open(void)
{
	m.conn_open++;
	m.conn_total++;
}

void
metrics_connection_close(void)
{
	if (m.conn_open > 0)
		m.conn_open--;
}

void
metrics_drift_finding(enum metrics_drift_kind kind)
{
	if ((unsigned)kind <= METRICS_DRIFT_NEWER)
		m.drift[kind]++;
}

void
metrics_drift_round(void)
{
	m.drift_rounds++;
}

void
metrics_notify_failure(void)
{
	m.notify_failures++;
}

void
metrics_reset(void)
{
	free(m.engine_version);
	free(m.engine_api);
	memset(&m, 0, sizeof m);
	m.fleet_up = -1;
}

/* One family with a single unlabelled sample. */
static void
plain(struct mtext *t, const char *name, const char *type, const char *help,
    double v)
{
	mtext_family(t, name, type, help);
	mtext_sample(t, name, NULL, 0, v);
}

static void
render_decisions(struct mtext *t)
{
	static const char name[] = "docker_guard_decisions_total";

	mtext_family(t, name, "counter",
	    "Decisions made (audit rows), by verdict and rule.");
	for (size_t i = 0; i <= METRICS_MAX_RULES; i++) {
		const struct metrics_rule *r = &m.rules[i];

		if (i >= m.n_rules && i < METRICS_MAX_RULES)
			continue;
		for (int v = 0; v < 3; v++) {
			struct mlabel l[2] = { { "verdict", verdict_names[v] },
				{ "rule", i < m.n_rules ? r->name : "other" } };

			if (r->n[v] != 0)
				mtext_sample(t, name, l, 2, (double)r->n[v]);
		}
	}
	mtext_family(t, "docker_guard_decision_duration_seconds", "histogram",
	    "Time from a guarded request's body read to its verdict.");
	mtext_histogram(t, "docker_guard_decision_duration_seconds",
	    decision_bounds, m.buckets, METRICS_NBOUNDS, m.decision_sum);
}

static void
render_labelled(struct mtext *t, const char *name, const char *help,
    const char *label, const char *const *values, const uint64_t *n,
    size_t count)
{
	mtext_family(t, name, "counter", help);
	for (size_t i = 0; i < count; i++) {
		struct mlabel l = { label, values[i] };

		mtext_sample(t, name, &l, 1, (double)n[i]);
	}
}

static void
render_engine(struct mtext *t)
{
	plain(t, "docker_guard_engine_up", "gauge",
	    "1 when the engine answered its last request or ping, else 0.",
	    m.engine_up ? 1 : 0);
	mtext_family(t, "docker_guard_engine_info", "gauge",
	    "The engine's version and API version, from its /version.");
	if (m.engine_version != NULL) {
		struct mlabel l[2] = { { "version", m.engine_version },
			{ "api_version", m.engine_api } };

		mtext_sample(t, "docker_guard_engine_info", l, 2, 1);
	}
	plain(t, "docker_guard_engine_version_changes_total", "counter",
	    "Engine version changes seen while the guard ran.",
	    (double)m.engine_changes);
	plain(t, "docker_guard_events_lag_seconds", "gauge",
	    "Time from the last engine event processed to its processing.",
	    m.events_lag);
	plain(t, "docker_guard_events_reconnects_total", "counter",
	    "Engine event stream reconnects.", (double)m.events_reconnects);
}

static void
render_ledger(struct mtext *t)
{
	plain(t, "docker_guard_ledger_errors_total", "counter",
	    "Database errors (SQLite or the fleet ledger).",
	    (double)m.ledger_errors);
	plain(t, "docker_guard_ledger_queued_writes", "gauge",
	    "Writes waiting in the write-behind queue.",
	    (double)m.ledger_queued);
	mtext_family(t, "docker_guard_fleet_ledger_up", "gauge",
	    "1 when connected to the fleet ledger, else 0 (only with "
	    "ledger set).");
	if (m.fleet_up >= 0)
		mtext_sample(t, "docker_guard_fleet_ledger_up", NULL, 0,
		    m.fleet_up);
}

char *
metrics_render(size_t *len)
{
	struct mtext t = { 0 };
	struct mlabel ver = { "version", GUARD_VERSION };

	mtext_family(&t, "docker_guard_build_info", "gauge",
	    "The guard's version.");
	mtext_sample(&t, "docker_guard_build_info", &ver, 1, 1);
	render_decisions(&t);
	render_labelled(&t, "docker_guard_registry_checks_total",
	    "Registry checks (create, pull, drift), by outcome.", "outcome",
	    registry_names, m.registry, 5);
	render_engine(&t);
	render_ledger(&t);
	plain(&t, "docker_guard_connections_open", "gauge",
	    "Client connections open now.", (double)m.conn_open);
	plain(&t, "docker_guard_connections_total", "counter",
	    "Client connections accepted.", (double)m.conn_total);
	render_labelled(&t, "docker_guard_drift_findings_total",
	    "Drift findings, by kind.", "kind", drift_names, m.drift, 2);
	plain(&t, "docker_guard_drift_checks_total", "counter",
	    "Drift rounds completed.", (double)m.drift_rounds);
	plain(&t, "docker_guard_notify_failures_total", "counter",
	    "Webhook POSTs that failed after their retries.",
	    (double)m.notify_failures);
	*len = t.len;
	return t.s;
}
