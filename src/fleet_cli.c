/*
 * The fleet ledger from the command line: ledger import, and the fleet
 * views of history, apps and audit.  Blocking libpq: this is the CLI.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "conffile.h"
#include "fleet_cli.h"
#include "fleet_sql.h"
#include "review_print.h"
#include "store.h"
#include "table.h"
#include "version.h"
#include "xmalloc.h"

/* Rows shipped per transaction. */
#define IMPORT_BATCH 500

/* What a fleet command talks to. */
struct cli_conn {
	PGconn *pg;
	char *conninfo;
};

/* Ignore server notices (the CLI prints its own lines). */
static void
quiet_notices(void *arg, const char *message)
{
}

/* Print "docker-guard: what: MSG" with msg made one line and rid of
 * passwords. */
static void
say_pg(const struct cli_conn *c, const char *what, const char *msg)
{
	char *line = fleet_sql_error_line(msg, c->conninfo);

	fprintf(stderr, "docker-guard: %s: %s\n", what, line);
	free(line);
}

/* The config (path given: it must exist; else the default, if there),
 * or NULL after printing its errors.  Caller frees. */
static struct guard_config *
load_config(const char *config)
{
	struct config_errors errs = { 0 };
	struct guard_config *cfg;

	cfg = conffile_load(config != NULL ? config : CONFFILE_DEFAULT_PATH,
	    config != NULL, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_reset(&errs);
	return cfg;
}

/* The connection string: ledger, else cfg's; NULL after saying there is
 * none.  Caller frees. */
static char *
conninfo_of(const struct guard_config *cfg, const char *ledger)
{
	if (ledger != NULL && *ledger != '\0')
		return xstrdup(ledger);
	if (cfg != NULL && cfg->ledger != NULL)
		return xstrdup(cfg->ledger);
	fprintf(stderr,
	    "docker-guard: no fleet ledger: pass --ledger CONNINFO or set "
	    "ledger in guard.conf\n");
	return NULL;
}

static void
conn_close(struct cli_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	free(c->conninfo);
	memset(c, 0, sizeof *c);
}

/* Connect c to c->conninfo (owned by c from now on).  Returns 0, or -1
 * after saying why (c closed). */
static int
conn_open(struct cli_conn *c)
{
	/* connect_timeout first: the string's own one overrides it. */
	const char *const keys[] = { "connect_timeout",
		"fallback_application_name", "dbname", NULL };
	const char *const values[] = { "10", "docker-guard", c->conninfo,
		NULL };

	c->pg = PQconnectdbParams(keys, values, 1);
	if (c->pg == NULL) {
		fprintf(stderr,
		    "docker-guard: cannot connect to the fleet "
		    "ledger: out of memory\n");
		conn_close(c);
		return -1;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		say_pg(c, "cannot connect to the fleet ledger",
		    PQerrorMessage(c->pg));
		conn_close(c);
		return -1;
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	/* What fleet_sql_ship_text's literals need (sql_text.h). */
	PQclear(PQexec(c->pg,
	    "SET standard_conforming_strings = on; "
	    "SET client_encoding = 'UTF8'"));
	return 0;
}

/* Run sql with the n text params; the result when it has status want,
 * else NULL after saying why (what names the step). */
static PGresult *
conn_exec(struct cli_conn *c, const char *what, const char *sql, int n,
    const char *const *params, ExecStatusType want)
{
	PGresult *r = PQexecParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);

	if (r != NULL && PQresultStatus(r) == want)
		return r;
	say_pg(c, what,
	    r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
	PQclear(r);
	return NULL;
}

/* The one integer sql returns for $1 host into *out.  0 or -1 (said). */
static int
conn_int(struct cli_conn *c, const char *what, const char *sql,
    const char *host, int64_t *out)
{
	const char *params[] = { host };
	PGresult *r = conn_exec(c, what, sql, 1, params, PGRES_TUPLES_OK);

	if (r == NULL)
		return -1;
	*out = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

/* Is the schema there, of a version this build knows?  0, or -1 after
 * saying what is wrong. */
static int
conn_check_schema(struct cli_conn *c)
{
	PGresult *r = PQexec(c->pg, FLEET_SQL_SCHEMA_VERSION);
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE)
				      : NULL;
	int rc = -1;

	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "1") == 0) {
		rc = 0;
	} else if (state != NULL && strcmp(state, "42P01") == 0) {
		fprintf(stderr,
		    "docker-guard: the fleet ledger has no docker-guard "
		    "tables yet (run docker-guard ledger import, or start a "
		    "guard with ledger set)\n");
	} else if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK) {
		fprintf(stderr,
		    "docker-guard: the fleet ledger's schema is version %s; "
		    "this docker-guard knows version 1\n",
		    PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "(none)");
	} else {
		say_pg(c, "cannot read the fleet ledger",
		    r != NULL ? PQresultErrorMessage(r)
			      : PQerrorMessage(c->pg));
	}
	PQclear(r);
	return rc;
}

/* Connect for a view: config, then --ledger, then the schema check.
 * 0, or -1 after saying why. */
static int
view_open(struct cli_conn *c, const char *config, const char *ledger)
{
	struct guard_config *cfg = NULL;

	memset(c, 0, sizeof *c);
	if (ledger == NULL && (cfg = load_config(config)) == NULL)
		return -1;
	c->conninfo = conninfo_of(cfg, ledger);
	config_free(cfg);
	if (c->conninfo == NULL || conn_open(c) != 0 ||
	    conn_check_schema(c) != 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* Cell (row, col) of r, or NULL for SQL NULL. */
static const char *
cell(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Cell (row, col) of r as an integer, or dflt for NULL. */
static int64_t
cell_int(const PGresult *r, int row, int col, int64_t dflt)
{
	const char *v = cell(r, row, col);

	return v != NULL ? strtoll(v, NULL, 10) : dflt;
}

/* ---- ledger import --------------------------------------------------- */

struct import_args {
	const char *config, *database, *ledger, *host;
};

static void
import_usage(FILE *f)
{
	fprintf(f,
	    "usage: docker-guard ledger import [--config FILE] [--database PATH]\n"
	    "           [--ledger CONNINFO] [--host-name NAME]\n"
	    "Copies this host's ledger and audit rows into the fleet ledger\n"
	    "(guard.conf ledger, or --ledger), once: rows already there are\n"
	    "not copied again.  The host's name is --host-name, else guard.conf\n"
	    "host_name, else the engine's name the guard remembered.\n");
}

/* argv into *a.  Returns -1 to go on, or the exit status. */
static int
import_parse(int argc, char **argv, struct import_args *a)
{
	enum { O_CONFIG = 1, O_DATABASE, O_LEDGER, O_HOST, O_HELP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, O_CONFIG },
		{ "database", required_argument, NULL, O_DATABASE },
		{ "ledger", required_argument, NULL, O_LEDGER },
		{ "host-name", required_argument, NULL, O_HOST },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char **field[] = { NULL, &a->config, &a->database, &a->ledger,
		&a->host };
	int c;

	memset(a, 0, sizeof *a);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c >= O_CONFIG && c <= O_HOST) {
			*field[c] = optarg;
			continue;
		}
		import_usage(c == O_HELP ? stdout : stderr);
		return c == O_HELP ? 0 : 2;
	}
	if (optind != argc) {
		import_usage(stderr);
		return 2;
	}
	return -1;
}

/* Letters, digits, '.', '-' and '_', 1 to 253 bytes (as guard.conf's
 * host_name). */
static bool
host_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 253 &&
	    strspn(name,
		"abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n;
}

/* This host's name: --host-name, else the config's, else the one the
 * guard remembered in st.  NULL after saying why.  Caller frees. */
static char *
import_host(const struct import_args *a, const struct guard_config *cfg,
    struct store *st)
{
	char *name = NULL, *cause = NULL;

	if (a->host != NULL)
		name = xstrdup(a->host);
	else if (cfg->host_name != NULL)
		name = xstrdup(cfg->host_name);
	else if (store_meta_get(st, "host_name", &name, &cause) != 0) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		return NULL;
	}
	if (name == NULL) {
		fprintf(stderr,
		    "docker-guard: this host's name in the fleet is not "
		    "known yet: pass --host-name NAME (or set host_name in "
		    "guard.conf)\n");
		return NULL;
	}
	if (!host_name_ok(name)) {
		fprintf(stderr,
		    "docker-guard: \"%s\" is not a host name (letters, "
		    "digits, '.', '-' and '_', at most 253)\n",
		    name);
		free(name);
		return NULL;
	}
	return name;
}

/* Ship one batch as one transaction (fleet_sql_ship_text).  0 or -1
 * (said, rolled back). */
static int
ship_batch(struct cli_conn *c, const struct store_deployment_rows *dep,
    const struct store_audit_rows *aud, const char *host)
{
	char *text = fleet_sql_ship_text(dep, aud, host);
	PGresult *r = PQexec(c->pg, text);
	int rc = 0;

	free(text);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK ||
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		say_pg(c, "cannot write the fleet ledger",
		    r != NULL ? PQresultErrorMessage(r)
			      : PQerrorMessage(c->pg));
		PQclear(PQexec(c->pg, "ROLLBACK"));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* Read the local rows above the watermarks: 0, or -1 (said). */
static int
read_batch(struct store *st, int64_t wm_dep, int64_t wm_aud,
    struct store_deployment_rows *dep, struct store_audit_rows *aud)
{
	char *cause = NULL;

	if (store_deployments_after(st, wm_dep, IMPORT_BATCH, dep, &cause) ==
		0 &&
	    store_audit_after(st, wm_aud, IMPORT_BATCH, aud, &cause) == 0)
		return 0;
	fprintf(stderr, "docker-guard: %s\n", cause);
	free(cause);
	return -1;
}

/* Ship the local deployments and audit rows above the ledger's
 * watermarks for host, a batch per transaction, as the guard does.  0 or
 * -1 (said). */
static int
ship_all(struct cli_conn *c, struct store *st, const char *host)
{
	struct store_deployment_rows dep = { 0 };
	struct store_audit_rows aud = { 0 };
	int64_t wm_dep, wm_aud;
	int rc = 0;

	if (conn_int(c, "cannot read the fleet ledger",
		FLEET_SQL_WATERMARK_VERSIONS, host, &wm_dep) != 0 ||
	    conn_int(c, "cannot read the fleet ledger",
		FLEET_SQL_WATERMARK_AUDIT, host, &wm_aud) != 0)
		return -1;
	for (;;) {
		if (read_batch(st, wm_dep, wm_aud, &dep, &aud) != 0) {
			rc = -1;
			break;
		}
		if (dep.n == 0 && aud.n == 0)
			break;
		if (ship_batch(c, &dep, &aud, host) != 0) {
			rc = -1;
			break;
		}
		if (dep.n > 0)
			wm_dep = dep.items[dep.n - 1].id;
		if (aud.n > 0)
			wm_aud = aud.items[aud.n - 1].id;
		store_deployment_rows_reset(&dep);
		store_audit_rows_reset(&aud);
	}
	store_deployment_rows_reset(&dep);
	store_audit_rows_reset(&aud);
	return rc;
}

/* How many rows of host the ledger has: [0] deployments, [1] audit. */
static int
count_rows(struct cli_conn *c, const char *host, int64_t counts[2])
{
	if (conn_int(c, "cannot read the fleet ledger",
		FLEET_SQL_COUNT_VERSIONS, host, &counts[0]) != 0)
		return -1;
	return conn_int(c, "cannot read the fleet ledger",
	    FLEET_SQL_COUNT_AUDIT, host, &counts[1]);
}

/* Create the schema, ship, and say what was added.  0 or -1 (said). */
static int
import_run(struct cli_conn *c, struct store *st, const char *path,
    const char *host)
{
	int64_t before[2], after[2];
	PGresult *r = PQexec(c->pg, FLEET_SQL_SCHEMA);

	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		say_pg(c, "cannot create the fleet ledger's tables",
		    r != NULL ? PQresultErrorMessage(r)
			      : PQerrorMessage(c->pg));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (count_rows(c, host, before) != 0 || ship_all(c, st, host) != 0 ||
	    count_rows(c, host, after) != 0)
		return -1;
	printf("imported %" PRId64 " deployments and %" PRId64
	       " audit rows from %s as host %s (%" PRId64
	       " deployments and %" PRId64 " audit rows already there)\n",
	    after[0] - before[0], after[1] - before[1], path, host, before[0],
	    before[1]);
	return 0;
}

/* ledger import, its options parsed.  Returns the exit status. */
static int
import_main(const struct import_args *a)
{
	struct cli_conn c = { 0 };
	struct guard_config *cfg;
	struct store *st = NULL;
	char *path = NULL, *host = NULL, *cause = NULL;
	int rc = 1;

	if ((cfg = load_config(a->config)) == NULL)
		return 1;
	path = xstrdup(a->database != NULL ? a->database : cfg->database);
	if ((st = store_open_readonly(path, &cause)) == NULL) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		goto out;
	}
	store_set_busy_timeout(st, 5000);
	if ((host = import_host(a, cfg, st)) == NULL ||
	    (c.conninfo = conninfo_of(cfg, a->ledger)) == NULL ||
	    conn_open(&c) != 0)
		goto out;
	if (import_run(&c, st, path, host) == 0)
		rc = 0;
out:
	conn_close(&c);
	store_close(st);
	config_free(cfg);
	free(path);
	free(host);
	return rc;
}

int
fleet_cli_ledger(int argc, char **argv)
{
	struct import_args a;
	int rc;

	if (argc < 2 || strcmp(argv[1], "import") != 0) {
		if (argc >= 2 &&
		    (strcmp(argv[1], "--help") == 0 ||
			strcmp(argv[1], "help") == 0)) {
			import_usage(stdout);
			return 0;
		}
		import_usage(stderr);
		return 2;
	}
	if ((rc = import_parse(argc - 1, argv + 1, &a)) >= 0)
		return rc;
	return import_main(&a);
}

/* ---- history --fleet ------------------------------------------------- */

/* FLEET_SQL_VIEW_HISTORY's columns. */
enum {
	H_HOST,
	H_APP,
	H_VERSION,
	H_DIGEST,
	H_IMAGE,
	H_IMAGE_ID,
	H_CONTAINER_ID,
	H_CONTAINER_NAME,
	H_FIRST_SEEN,
	H_SOURCE,
	H_STATE
};

/* Row i of the history as one JSON line. */
static void
history_json(const PGresult *r, int i, const char *when)
{
	json_t *o = json_object();

	review_json_str(o, "host", cell(r, i, H_HOST));
	review_json_str(o, "app", cell(r, i, H_APP));
	review_json_str(o, "time", when);
	review_json_str(o, "version", cell(r, i, H_VERSION));
	review_json_str(o, "digest", cell(r, i, H_DIGEST));
	review_json_str(o, "image", cell(r, i, H_IMAGE));
	review_json_str(o, "image_id", cell(r, i, H_IMAGE_ID));
	review_json_str(o, "container_id", cell(r, i, H_CONTAINER_ID));
	review_json_str(o, "container_name", cell(r, i, H_CONTAINER_NAME));
	review_json_str(o, "source", cell(r, i, H_SOURCE));
	review_json_str(o, "state", cell(r, i, H_STATE));
	review_print_json_line(o);
}

/* Row i of the history into t. */
static void
history_cells(struct table *t, const PGresult *r, int i, const char *when)
{
	char digest[32], container[160];
	const char *name = cell(r, i, H_CONTAINER_NAME);
	const char *id = cell(r, i, H_CONTAINER_ID);
	const char *version = cell(r, i, H_VERSION);
	const char *cells[8];

	review_short_digest(cell(r, i, H_DIGEST), digest, sizeof digest);
	snprintf(container, sizeof container, "%s (%.12s)",
	    name != NULL ? name : "?", id != NULL ? id : "?");
	cells[0] = cell(r, i, H_HOST);
	cells[1] = cell(r, i, H_APP);
	cells[2] = when;
	cells[3] = version != NULL ? version : "unknown";
	cells[4] = digest;
	cells[5] = container;
	cells[6] = cell(r, i, H_SOURCE);
	cells[7] = cell(r, i, H_STATE);
	table_add(t, cells);
}

int
fleet_cli_history(const char *config, const char *ledger, const char *app,
    bool json)
{
	static const char *const headers[] = { "HOST", "APP", "TIME (UTC)",
		"VERSION", "DIGEST", "CONTAINER", "SOURCE", "STATE" };
	const char *params[] = { app };
	struct cli_conn c;
	struct table *t;
	PGresult *r;
	int n;

	if (view_open(&c, config, ledger) != 0)
		return 1;
	r = conn_exec(&c, "cannot read the fleet ledger",
	    FLEET_SQL_VIEW_HISTORY, 1, params, PGRES_TUPLES_OK);
	conn_close(&c);
	if (r == NULL)
		return 1;
	if ((n = PQntuples(r)) == 0 && app != NULL) {
		fprintf(stderr,
		    "docker-guard: no history for app \"%s\" in the fleet "
		    "ledger\n",
		    app);
		PQclear(r);
		return 1;
	}
	t = table_new(headers, 8);
	for (int i = 0; i < n; i++) {
		char when[40];

		review_format_time(cell_int(r, i, H_FIRST_SEEN, 0) / 1000, when,
		    sizeof when);
		if (json)
			history_json(r, i, when);
		else
			history_cells(t, r, i, when);
	}
	if (!json)
		review_print_table(t);
	table_free(t);
	PQclear(r);
	return 0;
}

/* ---- apps --fleet ---------------------------------------------------- */

/* An app on one host. */
struct fleet_app {
	const char *app, *host; /* borrowed from the result */
	const char *latest;	/* version of the newest deployment there */
	const char *image;
	const char *highest; /* the app's highest anywhere */
	int64_t last_ms;
	int deploys;
};

struct fleet_apps {
	struct fleet_app *items;
	size_t n;
	size_t group; /* first item of the current app */
};

/* The entry of (app, host) in the current app's group, added if new. */
static struct fleet_app *
apps_entry(struct fleet_apps *a, const char *app, const char *host)
{
	struct fleet_app *e;

	if (a->n > 0 && strcmp(a->items[a->group].app, app) != 0)
		a->group = a->n;
	for (size_t i = a->group; i < a->n; i++)
		if (strcmp(a->items[i].host, host) == 0)
			return &a->items[i];
	a->items = xreallocarray(a->items, a->n + 1, sizeof *a->items);
	e = &a->items[a->n++];
	memset(e, 0, sizeof *e);
	e->app = app;
	e->host = host;
	return e;
}

/* Fold row i (created deployments only; rows by app, then time) in. */
static void
apps_add(struct fleet_apps *a, const PGresult *r, int i)
{
	const char *state = cell(r, i, H_STATE);
	const char *version = cell(r, i, H_VERSION);
	struct fleet_app *e;

	if (state == NULL || strcmp(state, "created") != 0)
		return;
	e = apps_entry(a, cell(r, i, H_APP), cell(r, i, H_HOST));
	e->latest = version != NULL ? version : "unknown";
	e->image = cell(r, i, H_IMAGE);
	e->last_ms = cell_int(r, i, H_FIRST_SEEN, 0);
	e->deploys++;
	if (version == NULL)
		return;
	for (size_t k = a->group; k < a->n; k++) {
		struct fleet_app *g = &a->items[k];

		if (g->highest == NULL ||
		    version_compare(version, g->highest) > 0)
			g->highest = version;
	}
}

/* Entry e as a table row or a JSON line. */
static void
apps_print(struct table *t, const struct fleet_app *e, bool json)
{
	char when[40], deploys[16];
	const char *cells[7];

	review_format_time(e->last_ms / 1000, when, sizeof when);
	snprintf(deploys, sizeof deploys, "%d", e->deploys);
	if (json) {
		json_t *o = json_object();

		review_json_str(o, "app", e->app);
		review_json_str(o, "host", e->host);
		review_json_str(o, "latest", e->latest);
		review_json_str(o, "highest", e->highest);
		review_json_str(o, "image", e->image);
		json_object_set_new(o, "deploys", json_integer(e->deploys));
		review_json_str(o, "last_deploy", when);
		review_print_json_line(o);
		return;
	}
	cells[0] = e->app;
	cells[1] = e->host;
	cells[2] = e->latest;
	cells[3] = e->highest;
	cells[4] = e->image;
	cells[5] = deploys;
	cells[6] = when;
	table_add(t, cells);
}

int
fleet_cli_apps(const char *config, const char *ledger, bool json)
{
	static const char *const headers[] = { "APP", "HOST", "LATEST",
		"HIGHEST", "IMAGE", "DEPLOYS", "LAST DEPLOY (UTC)" };
	const char *params[] = { NULL };
	struct fleet_apps a = { 0 };
	struct cli_conn c;
	struct table *t;
	PGresult *r;

	if (view_open(&c, config, ledger) != 0)
		return 1;
	r = conn_exec(&c, "cannot read the fleet ledger",
	    FLEET_SQL_VIEW_HISTORY, 1, params, PGRES_TUPLES_OK);
	conn_close(&c);
	if (r == NULL)
		return 1;
	for (int i = 0; i < PQntuples(r); i++)
		apps_add(&a, r, i);
	t = table_new(headers, 7);
	for (size_t i = 0; i < a.n; i++)
		apps_print(t, &a.items[i], json);
	if (!json)
		review_print_table(t);
	table_free(t);
	free(a.items);
	PQclear(r);
	return 0;
}

/* ---- audit --fleet --------------------------------------------------- */

/* Row i of FLEET_SQL_VIEW_AUDIT (host first) as a local audit row,
 * borrowing from r. */
static void
audit_row_of(const PGresult *r, int i, struct store_audit_row *a)
{
	a->id = cell_int(r, i, 1, 0);
	a->time_ms = cell_int(r, i, 2, 0);
	a->uid = cell_int(r, i, 3, -1);
	a->gid = cell_int(r, i, 4, -1);
	a->pid = cell_int(r, i, 5, -1);
	a->comm = cell(r, i, 6);
	a->method = cell(r, i, 7);
	a->route = cell(r, i, 8);
	a->app = cell(r, i, 9);
	a->image_ref = cell(r, i, 10);
	a->digest = cell(r, i, 11);
	a->version = cell(r, i, 12);
	a->previous_version = cell(r, i, 13);
	a->rule = cell(r, i, 14);
	a->verdict = cell(r, i, 15);
	a->message = cell(r, i, 16);
	a->latency_us = cell_int(r, i, 17, 0);
	a->prev_hash = cell(r, i, 18);
	a->hash = cell(r, i, 19);
}

int
fleet_cli_audit(const struct store_audit_filter *f, const char *config,
    const char *ledger, const char *host, bool json)
{
	struct review_audit_list *l;
	struct fleet_params p;
	struct cli_conn c;
	PGresult *r;

	if (view_open(&c, config, ledger) != 0)
		return 1;
	fleet_sql_audit_filter_params(f, host, &p);
	r = conn_exec(&c, "cannot read the fleet ledger", FLEET_SQL_VIEW_AUDIT,
	    p.n, p.values, PGRES_TUPLES_OK);
	conn_close(&c);
	if (r == NULL)
		return 1;
	l = review_audit_list_new(json, true);
	for (int i = 0; i < PQntuples(r); i++) {
		struct store_audit_row row;

		audit_row_of(r, i, &row);
		review_audit_list_add(l, &row, cell(r, i, 0));
	}
	review_audit_list_end(l, true);
	PQclear(r);
	return 0;
}
