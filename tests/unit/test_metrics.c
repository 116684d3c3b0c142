/* The process's metrics (metrics.c) as text: what each call moves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"

/* The sample line that starts with prefix ("name{...} "), or NULL. */
static const char *
line_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, n) == 0)
			return p;
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return NULL;
}

/* The value of the sample whose name and labels are exactly series, or
 * -1 when there is none. */
static double
value(const char *series)
{
	size_t len;
	char *text = metrics_render(&len), *prefix;
	const char *l;
	double v = -1;

	CHECK_INT_EQ(strlen(text), len);
	prefix = malloc(strlen(series) + 2);
	sprintf(prefix, "%s ", series);
	if ((l = line_of(text, prefix)) != NULL)
		v = strtod(l + strlen(prefix), NULL);
	free(prefix);
	free(text);
	return v;
}

static void
test_decisions(void)
{
	char rule[40];

	metrics_reset();
	CHECK(value("docker_guard_decisions_total{verdict=\"deny\","
		    "rule=\"require_digest\"}") == -1);
	metrics_decision(METRICS_DENY, "require_digest");
	metrics_decision(METRICS_DENY, "require_digest");
	metrics_decision(METRICS_ALLOW, NULL);
	metrics_decision(METRICS_WARN, "drift");
	metrics_decision(METRICS_WARN, "Bad Rule\"");
	metrics_decision(METRICS_WARN, "other");
	metrics_decision((enum metrics_verdict)7, "x");
	CHECK(value("docker_guard_decisions_total{verdict=\"deny\","
		    "rule=\"require_digest\"}") == 2);
	CHECK(value("docker_guard_decisions_total{verdict=\"allow\","
		    "rule=\"none\"}") == 1);
	CHECK(value("docker_guard_decisions_total{verdict=\"warn\","
		    "rule=\"drift\"}") == 1);
	CHECK(value("docker_guard_decisions_total{verdict=\"warn\","
		    "rule=\"other\"}") == 2);
	CHECK(value("docker_guard_decisions_total{verdict=\"deny\","
		    "rule=\"x\"}") == -1);
	/* 64 rules get series; the 65th on is "other". */
	for (int i = 0; i < 70; i++) {
		snprintf(rule, sizeof rule, "r%d", i);
		metrics_decision(METRICS_ALLOW, rule);
	}
	CHECK(value("docker_guard_decisions_total{verdict=\"allow\","
		    "rule=\"r60\"}") == 1);
	CHECK(value("docker_guard_decisions_total{verdict=\"allow\","
		    "rule=\"r61\"}") == -1);
	CHECK(value("docker_guard_decisions_total{verdict=\"allow\","
		    "rule=\"other\"}") == 9);
}

static void
test_histogram(void)
{
	metrics_reset();
	metrics_decision_time(0.001); /* on a bound: in that bucket */
	metrics_decision_time(0.0011);
	metrics_decision_time(11);
	metrics_decision_time(-1); /* a clock step back: 0 */
	CHECK(value("docker_guard_decision_duration_seconds_bucket{le="
		    "\"0.001\"}") == 2);
	CHECK(value("docker_guard_decision_duration_seconds_bucket{le="
		    "\"0.0025\"}") == 3);
	CHECK(value("docker_guard_decision_duration_seconds_bucket{le="
		    "\"10\"}") == 3);
	CHECK(value("docker_guard_decision_duration_seconds_bucket{le="
		    "\"+Inf\"}") == 4);
	CHECK(value("docker_guard_decision_duration_seconds_count") == 4);
	CHECK(value("docker_guard_decision_duration_seconds_sum") > 11.002 &&
	    value("docker_guard_decision_duration_seconds_sum") < 11.0022);
}

static void
test_gauges_and_counters(void)
{
	metrics_reset();
	CHECK(value("docker_guard_engine_up") == 0);
	CHECK(value("docker_guard_fleet_ledger_up") == -1);
	CHECK(value("docker_guard_registry_checks_total{outcome="
		    "\"auth_failed\"}") == 0);
	metrics_engine_up(true);
	metrics_fleet_up(false);
	metrics_registry_check(METRICS_REG_AUTH_FAILED);
	metrics_connection_open();
	metrics_connection_open();
	metrics_connection_close();
	metrics_connection_close();
	metrics_connection_close(); /* never below 0 */
	metrics_connection_open();
	metrics_ledger_queued(7);
	metrics_ledger_error();
	metrics_events_lag(2.5);
	metrics_events_reconnect();
	metrics_drift_finding(METRICS_DRIFT_NEWER);
	metrics_drift_round();
	metrics_notify_failure();
	metrics_engine_version_changed();
	CHECK(value("docker_guard_engine_up") == 1);
	CHECK(value("docker_guard_fleet_ledger_up") == 0);
	CHECK(value("docker_guard_registry_checks_total{outcome="
		    "\"auth_failed\"}") == 1);
	CHECK(value("docker_guard_connections_open") == 1);
	CHECK(value("docker_guard_connections_total") == 3);
	CHECK(value("docker_guard_ledger_queued_writes") == 7);
	CHECK(value("docker_guard_ledger_errors_total") == 1);
	CHECK(value("docker_guard_events_lag_seconds") == 2.5);
	CHECK(value("docker_guard_events_reconnects_total") == 1);
	CHECK(value("docker_guard_drift_findings_total{kind=\"newer\"}") == 1);
	CHECK(value("docker_guard_drift_findings_total{kind=\"missing\"}") ==
	    0);
	CHECK(value("docker_guard_drift_checks_total") == 1);
	CHECK(value("docker_guard_notify_failures_total") == 1);
	CHECK(value("docker_guard_engine_version_changes_total") == 1);
}

/* The engine's version is the engine's text: escaped, never trusted. */
static void
test_engine_info(void)
{
	metrics_reset();
	CHECK(value("docker_guard_engine_info{version=\"\","
		    "api_version=\"\"}") == -1);
	metrics_engine_info_set("27.3.1", "1.47");
	CHECK(value("docker_guard_engine_info{version=\"27.3.1\","
		    "api_version=\"1.47\"}") == 1);
	metrics_engine_info_set("a\"b\\c\nd", NULL);
	CHECK(value("docker_guard_engine_info{version=\"a\\\"b\\\\c\\nd\","
		    "api_version=\"\"}") == 1);
	CHECK(value("docker_guard_engine_info{version=\"27.3.1\","
		    "api_version=\"1.47\"}") == -1);
	metrics_reset();
}

static const struct check_case cases[] = {
	{ "decisions", test_decisions },
	{ "histogram", test_histogram },
	{ "gauges_and_counters", test_gauges_and_counters },
	{ "engine_info", test_engine_info },
};

int
main(void)
{
	return CHECK_RUN("metrics", cases);
}
