#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fleet.h"
#include "fleet_sql.h"

/* The highest $n in sql, after checking that every $1..$max occurs (a
 * dollar quote, $tag$, is no parameter). */
static int
max_param(const char *sql)
{
	bool seen[FLEET_PARAMS_MAX + 2] = { false };
	int max = 0;

	for (const char *p = sql; (p = strchr(p, '$')) != NULL; p++) {
		int n;

		if (p[1] == '$' || (p[1] >= 'a' && p[1] <= 'z')) {
			p = strchr(p + 1, '$'); /* the tag's end */
			if (p == NULL)
				break;
			continue;
		}
		n = atoi(p + 1);

		CHECKF(n >= 1 && n <= FLEET_PARAMS_MAX, "$%d in %s", n, sql);
		if (n < 1 || n > FLEET_PARAMS_MAX)
			continue;
		seen[n] = true;
		if (n > max)
			max = n;
	}
	for (int i = 1; i <= max; i++)
		CHECKF(seen[i], "$%d missing in %s", i, sql);
	return max;
}

static void
test_deployment(void)
{
	struct store_deployment_row r = {
		.id = 42,
		.app = "harbor-db",
		.container_id = "c0ffee",
		.container_name = NULL,
		.image_ref = "goharbor/harbor-db:v2",
		.image_id = "sha256:abc",
		.repo_digest = NULL,
		.version = "14.2",
		.comm = "docker",
		.source = "guard",
		.created_at = 1764650000,
	};
	struct fleet_params p;

	fleet_sql_deployment_params(&r, "node-1", &p);
	CHECK_INT_EQ(p.n, 11);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_SHIP_DEPLOYMENT));
	CHECK_STR_EQ(p.values[0], "node-1");
	CHECK_STR_EQ(p.values[1], "harbor-db");
	CHECK_STR_EQ(p.values[2], "14.2");
	CHECK(p.values[3] == NULL);
	CHECK_STR_EQ(p.values[4], "goharbor/harbor-db:v2");
	CHECK_STR_EQ(p.values[5], "sha256:abc");
	CHECK_STR_EQ(p.values[6], "c0ffee");
	CHECK(p.values[7] == NULL);
	CHECK_STR_EQ(p.values[8], "1764650000000");
	CHECK_STR_EQ(p.values[9], "guard");
	CHECK_STR_EQ(p.values[10], "42");
	/* Borrowed, not copied. */
	CHECK(p.values[1] == r.app);
}

static void
test_audit(void)
{
	struct store_audit_row r = {
		.id = 7,
		.time_ms = 1764650000123,
		.uid = -1,
		.gid = 0,
		.pid = 4242,
		.comm = NULL,
		.method = "POST",
		.route = "container_create",
		.app = "web",
		.image_ref = "nginx:1.27",
		.digest = NULL,
		.version = "1.27",
		.previous_version = NULL,
		.rule = "downgrade",
		.verdict = "deny",
		.message = "older than 1.28",
		.latency_us = 0,
		.prev_hash = "",
		.hash = "ab12",
	};
	static const char *const want[] = { "node-2", "7", "1764650000123",
		NULL, "0", "4242", NULL, "POST", "container_create", "web",
		"nginx:1.27", NULL, "1.27", NULL, "downgrade", "deny",
		"older than 1.28", "0", "", "ab12" };
	struct fleet_params p;

	fleet_sql_audit_params(&r, "node-2", &p);
	CHECK_INT_EQ(p.n, 20);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_SHIP_AUDIT));
	for (int i = 0; i < 20; i++)
		CHECKF(want[i] == NULL ? p.values[i] == NULL
				       : p.values[i] != NULL &&
			    strcmp(p.values[i], want[i]) == 0,
		    "param $%d is %s", i + 1,
		    p.values[i] ? p.values[i] : "NULL");
}

static void
test_claim_outcome(void)
{
	struct fleet_record rec = {
		.app = "web",
		.version = "2.0",
		.digest = NULL,
		.image_ref = "web:2.0",
		.image_id = NULL,
		.container_name = "web-1",
		.token = "tok-1",
		.time_ms = -5,
	};
	struct fleet_params p;

	fleet_sql_claim_params(&rec, "h", &p);
	CHECK_INT_EQ(p.n, 9);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_CLAIM));
	CHECK_STR_EQ(p.values[2], "2.0");
	CHECK(p.values[3] == NULL);
	CHECK(p.values[5] == NULL);
	CHECK_STR_EQ(p.values[7], "-5");
	CHECK_STR_EQ(p.values[8], "tok-1");

	fleet_sql_claim_if_unchanged_params(&rec, "h", 42, &p);
	CHECK_INT_EQ(p.n, 10);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_CLAIM_IF_UNCHANGED));
	CHECK_STR_EQ(p.values[8], "tok-1");
	CHECK_STR_EQ(p.values[9], "42");

	fleet_sql_outcome_params("h", "tok-1", NULL, 201, &p);
	CHECK_INT_EQ(p.n, 4);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_OUTCOME));
	CHECK(p.values[2] == NULL);
	CHECK_STR_EQ(p.values[3], "201");
}

static void
test_filter(void)
{
	struct store_audit_filter f = { .uid = -1 };
	struct fleet_params p;

	fleet_sql_audit_filter_params(&f, NULL, &p);
	CHECK_INT_EQ(p.n, 9);
	CHECK_INT_EQ(p.n, max_param(FLEET_SQL_VIEW_AUDIT));
	CHECK_STR_EQ(p.values[0], "0");
	CHECK_STR_EQ(p.values[5], "-1");
	CHECK(p.values[6] == NULL); /* no limit */
	CHECK_STR_EQ(p.values[7], "false");
	CHECK(p.values[8] == NULL);
	f.limit = 50;
	f.outcomes = true;
	f.app = "web";
	fleet_sql_audit_filter_params(&f, "node-1", &p);
	CHECK_STR_EQ(p.values[2], "web");
	CHECK_STR_EQ(p.values[6], "50");
	CHECK_STR_EQ(p.values[7], "true");
	CHECK_STR_EQ(p.values[8], "node-1");
}

static void
test_statements(void)
{
	static const struct {
		const char *const *sql;
		int params;
	} table[] = {
		{ &FLEET_SQL_SCHEMA, 0 },
		{ &FLEET_SQL_SCHEMA_VERSION, 0 },
		{ &FLEET_SQL_LOCK_APP, 1 },
		{ &FLEET_SQL_HISTORY, 1 },
		{ &FLEET_SQL_WATERMARK_VERSIONS, 1 },
		{ &FLEET_SQL_WATERMARK_AUDIT, 1 },
		{ &FLEET_SQL_VIEW_HISTORY, 1 },
	};
	char lock[80];

	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		CHECKF(max_param(*table[i].sql) == table[i].params, "%s",
		    *table[i].sql);
	CHECK(strncmp(FLEET_SQL_SCHEMA, "BEGIN;", 6) == 0);
	snprintf(lock, sizeof lock, "SELECT pg_advisory_xact_lock(%lld);",
	    (long long)FLEET_SQL_SCHEMA_LOCK);
	CHECK(strstr(FLEET_SQL_SCHEMA, lock) != NULL);
	CHECK(strcmp(FLEET_SQL_SCHEMA + strlen(FLEET_SQL_SCHEMA) - 6,
		  "COMMIT") == 0);
	CHECK(strstr(FLEET_SQL_SCHEMA, "dg_versions") != NULL);
	CHECK(strstr(FLEET_SQL_SCHEMA, "dg_audit") != NULL);
	CHECK(strstr(FLEET_SQL_SCHEMA, "dg_meta") != NULL);
	/* The outcome's two branches hang on one flag, either way. */
	CHECK(strstr(FLEET_SQL_OUTCOME, "AND keep.ok") != NULL);
	CHECK(strstr(FLEET_SQL_OUTCOME, "AND NOT keep.ok") != NULL);
}

static void
test_error_line(void)
{
	static const struct {
		const char *msg, *conninfo, *want;
	} table[] = {
		{ "connection to server on socket \"/tmp/x/.s.PGSQL.5432\" "
		  "failed: No such file or directory\n\tIs the server "
		  "running locally?\n",
		    "host=/tmp/x dbname=fleet",
		    "connection to server on socket \"/tmp/x/.s.PGSQL.5432\" "
		    "failed: No such file or directory; Is the server "
		    "running locally?" },
		{ "invalid percent-encoded token: \"s3cr%zzet\"\n",
		    "postgresql://guard:s3cr%zzet@db1,db2/fleet",
		    "invalid percent-encoded token: \"***\"" },
		{ "bad: postgresql://guard:pw@h/d?password=other\n",
		    "postgresql://guard:pw@h/d?password=other",
		    "bad: postgresql://guard:***@h/d?password=***" },
		{ "invalid connection option \"x\" near password = 'a b'",
		    "host=h password = 'a b' x=1",
		    "invalid connection option \"x\" near password = '***'" },
		{ "missing \"=\" after \"hunter2\" in connection info string\n",
		    "host=h password=hunter2 junk",
		    "missing \"=\" after \"***\" in connection info string" },
		{ NULL, "postgresql://h/d", "unknown error" },
		{ "a\n\nb\n", NULL, "a; b" },
		{ "no password here", "dbname=password_db",
		    "no password here" },
	};

	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		char *got = fleet_sql_error_line(table[i].msg,
		    table[i].conninfo);

		CHECKF(strcmp(got, table[i].want) == 0, "row %zu: \"%s\"", i,
		    got);
		free(got);
	}
}

/* Count non-overlapping occurrences of needle in hay. */
static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	return n;
}

static void
test_ship_text(void)
{
	struct store_deployment_row d[2] = {
		{ .id = 1,
		    .app = "it's",
		    .image_ref = "a:1",
		    .version = "1",
		    .container_id = "c1",
		    .created_at = 1 },
		{ .id = 2,
		    .app = "b",
		    .image_ref = "b:2",
		    .version = NULL,
		    .container_id = "c2",
		    .created_at = 2 },
	};
	struct store_audit_row a[1] = {
		{ .id = 7,
		    .time_ms = 5,
		    .uid = -1,
		    .gid = -1,
		    .pid = -1,
		    .verdict = "allow",
		    .message = "back\\slash $1 done" },
	};
	struct store_deployment_rows dep = { .items = d, .n = 2 };
	struct store_audit_rows aud = { .items = a, .n = 1 };
	struct store_deployment_rows none_d = { 0 };
	struct store_audit_rows none_a = { 0 };
	char *text = fleet_sql_ship_text(&dep, &aud, "node-'1");

	CHECK(strncmp(text, "BEGIN; INSERT INTO dg_versions", 30) == 0);
	CHECK(strlen(text) > 6 &&
	    strcmp(text + strlen(text) - 8, "; COMMIT") == 0);
	CHECK_INT_EQ(count_of(text, "INSERT INTO dg_versions"), 2);
	CHECK_INT_EQ(count_of(text, "INSERT INTO dg_audit"), 1);
	/* Values as literals: quotes doubled, a backslash kept, a $1 in a
	   value left alone, NULL unquoted. */
	CHECK(strstr(text, "'it''s'") != NULL);
	CHECK(strstr(text, "'node-''1'") != NULL);
	CHECK(strstr(text, "'back\\slash $1 done'") != NULL);
	CHECK(strstr(text, "$2") == NULL);
	CHECK(strstr(text, "NULL") != NULL);
	free(text);
	text = fleet_sql_ship_text(&none_d, &none_a, "h");
	CHECK_STR_EQ(text, "BEGIN; COMMIT");
	free(text);
}

static const struct check_case cases[] = {
	{ "ship_text", test_ship_text },
	{ "deployment", test_deployment },
	{ "audit", test_audit },
	{ "claim_outcome", test_claim_outcome },
	{ "filter", test_filter },
	{ "statements", test_statements },
	{ "error_line", test_error_line },
};

int
main(void)
{
	return CHECK_RUN("fleet_sql", cases);
}
