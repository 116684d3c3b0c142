/*
 * The review commands: docker-guard audit, history, apps.  They open the
 * database read-only, so they work while the guard runs (WAL).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conffile.h"
#include "fleet_cli.h"
#include "policy.h"
#include "review.h"
#include "review_print.h"
#include "store.h"
#include "table.h"
#include "timespec.h"
#include "version.h"
#include "xmalloc.h"

enum {
	OPT_CONFIG = 1,
	OPT_DATABASE,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_APP,
	OPT_VERDICT,
	OPT_RULE,
	OPT_UID,
	OPT_LIMIT,
	OPT_JSON,
	OPT_VERIFY,
	OPT_OUTCOMES,
	OPT_FLEET,
	OPT_HOST,
	OPT_LEDGER,
	OPT_HELP,
};

/* The database path: --database, else the config file's, else the
 * default.  Returns NULL after printing the config's errors. */
char *
review_database_path(const char *config, const char *database)
{
	struct config_errors errs = { 0 };
	struct guard_config *cfg;
	char *path;

	if (database != NULL)
		return xstrdup(database);
	cfg = conffile_load(config != NULL ? config : CONFFILE_DEFAULT_PATH,
	    config != NULL, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_reset(&errs);
	if (cfg == NULL)
		return NULL;
	path = xstrdup(cfg->database);
	config_free(cfg);
	return path;
}

static struct store *
open_db(const char *config, const char *database)
{
	char *path = review_database_path(config, database), *cause = NULL;
	struct store *st;

	if (path == NULL)
		return NULL;
	st = store_open_readonly(path, &cause);
	if (st == NULL) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
	}
	free(path);
	return st;
}

/* ---- audit -------------------------------------------------------------- */

/* What the audit command was asked. */
struct review_audit_args {
	struct store_audit_filter f;
	const char *config;
	const char *database;
	bool verify;
	bool json;
	bool fleet;	    /* --fleet: the fleet ledger */
	const char *host;   /* --host (with --fleet), or NULL */
	const char *ledger; /* --ledger (with --fleet), or NULL */
};

static void
audit_row_cb(const struct store_audit_row *r, void *arg)
{
	review_audit_list_add(arg, r, NULL);
}

static void
audit_usage(FILE *f)
{
	fprintf(f,
	    "usage: docker-guard audit [--config FILE] [--database PATH]\n"
	    "           [--since WHEN] [--until WHEN] [--app APP] [--verdict VERDICT]\n"
	    "           [--rule RULE] [--uid UID] [--limit N] [--outcomes] [--json]\n"
	    "       docker-guard audit --fleet [--host HOST] [--ledger CONNINFO] [filters]\n"
	    "       docker-guard audit --verify [--config FILE] [--database PATH]\n"
	    "WHEN is a duration back from now (24h, 30m, 7d) or a UTC timestamp\n"
	    "(2026-11-20, \"2026-11-20 10:04\", 2026-11-20T10:04:05Z).\n"
	    "VERDICT is allow, warn, deny or error.  The engine's answers to allowed\n"
	    "requests (rule outcome) are listed with --outcomes or --rule outcome.\n"
	    "--fleet lists every host's rows from the fleet ledger (guard.conf\n"
	    "ledger, or --ledger), with a HOST column; --host picks one host.\n");
}

static const struct option audit_longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "database", required_argument, NULL, OPT_DATABASE },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "until", required_argument, NULL, OPT_UNTIL },
	{ "app", required_argument, NULL, OPT_APP },
	{ "verdict", required_argument, NULL, OPT_VERDICT },
	{ "rule", required_argument, NULL, OPT_RULE },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "outcomes", no_argument, NULL, OPT_OUTCOMES },
	{ "fleet", no_argument, NULL, OPT_FLEET },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "ledger", required_argument, NULL, OPT_LEDGER },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --since or --until WHEN into the filter.  Returns -1, or 2 after saying
 * why WHEN is not a time. */
static int
audit_when(int c, const char *arg, int64_t now, struct review_audit_args *a)
{
	int64_t t;

	if (timespec_parse(arg, now, &t) != 0) {
		fprintf(stderr,
		    "docker-guard audit: \"%s\" is "
		    "neither a duration (24h) nor a timestamp "
		    "(2026-11-20 10:04)\n",
		    arg);
		return 2;
	}
	if (c == OPT_SINCE)
		a->f.since_ms = t * 1000;
	else
		a->f.until_ms = t * 1000 + 999;
	return -1;
}

/* --verdict, --uid and --limit, checked.  Returns -1, or 2 after saying
 * what the option takes. */
static int
audit_checked(int c, const char *arg, struct review_audit_args *a)
{
	char *end;

	switch (c) {
	case OPT_VERDICT:
		if (strcmp(arg, "allow") != 0 && strcmp(arg, "warn") != 0 &&
		    strcmp(arg, "deny") != 0 && strcmp(arg, "error") != 0) {
			fprintf(stderr,
			    "docker-guard audit: --verdict "
			    "is allow, warn, deny or error\n");
			return 2;
		}
		a->f.verdict = arg;
		return -1;
	case OPT_UID:
		a->f.uid = strtoll(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || a->f.uid < 0) {
			fprintf(stderr,
			    "docker-guard audit: --uid "
			    "takes a number\n");
			return 2;
		}
		return -1;
	default: /* OPT_LIMIT */
		a->f.limit = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || a->f.limit <= 0) {
			fprintf(stderr,
			    "docker-guard audit: --limit "
			    "takes a positive number\n");
			return 2;
		}
		return -1;
	}
}

/* One option from getopt_long into a.  Returns -1 to go on, or the exit
 * status (0 after --help, 2 after a usage error, both printed). */
static int
audit_option(int c, const char *arg, int64_t now, struct review_audit_args *a)
{
	switch (c) {
	case OPT_CONFIG:
		a->config = arg;
		return -1;
	case OPT_DATABASE:
		a->database = arg;
		return -1;
	case OPT_SINCE:
	case OPT_UNTIL:
		return audit_when(c, arg, now, a);
	case OPT_APP:
		a->f.app = arg;
		return -1;
	case OPT_RULE:
		a->f.rule = arg;
		return -1;
	case OPT_VERDICT:
	case OPT_UID:
	case OPT_LIMIT:
		return audit_checked(c, arg, a);
	case OPT_JSON:
		a->json = true;
		return -1;
	case OPT_VERIFY:
		a->verify = true;
		return -1;
	case OPT_OUTCOMES:
		a->f.outcomes = true;
		return -1;
	case OPT_FLEET:
		a->fleet = true;
		return -1;
	case OPT_HOST:
		a->host = arg;
		return -1;
	case OPT_LEDGER:
		a->ledger = arg;
		return -1;
	case OPT_HELP:
		audit_usage(stdout);
		return 0;
	default:
		audit_usage(stderr);
		return 2;
	}
}

/* audit --verify: recompute the hash chain and say where it breaks.
 * Returns the exit status. */
static int
audit_verify(struct store *st)
{
	int64_t bad, rows;
	char *what = NULL, *cause = NULL;
	int rc = 0;

	if (store_audit_verify(st, &bad, &what, &rows, &cause) != 0) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		return 1;
	}
	if (bad == 0) {
		printf("audit trail intact: %lld rows, hash chain "
		       "verified\n",
		    (long long)rows);
	} else {
		printf("audit trail BROKEN: %s\n", what);
		rc = 1;
	}
	free(what);
	return rc;
}

/* List the rows a->f selects, as a table or JSON lines.  Returns the exit
 * status. */
static int
audit_list(struct store *st, const struct review_audit_args *a)
{
	struct review_audit_list *l = review_audit_list_new(a->json, false);
	char *cause = NULL;
	int rc = 0;

	if (store_audit_query(st, &a->f, audit_row_cb, l, &cause) != 0) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		rc = 1;
	}
	review_audit_list_end(l, rc == 0);
	return rc;
}

/* argv into *a.  Returns -1 to go on, or the exit status (0 after
 * --help, 2 after a usage error, both printed). */
static int
audit_parse(int argc, char **argv, struct review_audit_args *a)
{
	int64_t now = (int64_t)time(NULL);
	int c, rc;

	memset(a, 0, sizeof *a);
	a->f.uid = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", audit_longopts, NULL)) != -1) {
		if ((rc = audit_option(c, optarg, now, a)) >= 0)
			return rc;
	}
	if (optind != argc) {
		audit_usage(stderr);
		return 2;
	}
	if (!a->fleet && (a->host != NULL || a->ledger != NULL)) {
		fprintf(stderr,
		    "docker-guard audit: --host and --ledger go "
		    "with --fleet\n");
		return 2;
	}
	if (a->fleet && a->verify) {
		fprintf(stderr,
		    "docker-guard audit: --verify checks this "
		    "host's chain; it does not go with --fleet\n");
		return 2;
	}
	return -1;
}

int
review_audit(int argc, char **argv)
{
	struct review_audit_args a;
	struct store *st;
	int rc;

	if ((rc = audit_parse(argc, argv, &a)) >= 0)
		return rc;
	if (a.fleet)
		return fleet_cli_audit(&a.f, a.config, a.ledger, a.host,
		    a.json);
	if ((st = open_db(a.config, a.database)) == NULL)
		return 1;
	rc = a.verify ? audit_verify(st) : audit_list(st, &a);
	store_close(st);
	return rc;
}

/* ---- history ------------------------------------------------------------ */

struct history_ctx {
	bool json;
	struct table *t;
	size_t rows;
};

static void
history_row_cb(const struct store_deployment_row *r, void *arg)
{
	struct history_ctx *c = arg;
	char when[40], removed[40], digest[32], who[96], container[160];
	const char *cells[8];

	c->rows++;
	review_format_time(r->created_at, when, sizeof when);
	review_format_time(r->removed_at, removed, sizeof removed);
	if (c->json) {
		json_t *o = json_object();

		review_json_str(o, "app", r->app);
		review_json_str(o, "time", when);
		review_json_str(o, "version", r->version);
		review_json_str(o, "digest", r->repo_digest);
		review_json_str(o, "image", r->image_ref);
		review_json_str(o, "image_id", r->image_id);
		review_json_str(o, "container_id", r->container_id);
		review_json_str(o, "container_name", r->container_name);
		review_json_id(o, "uid", r->uid);
		review_json_str(o, "process", r->comm);
		review_json_str(o, "source", r->source);
		review_json_str(o, "removed",
		    r->removed_at > 0 ? removed : NULL);
		review_print_json_line(o);
		return;
	}
	review_short_digest(r->repo_digest, digest, sizeof digest);
	snprintf(container, sizeof container, "%s (%.12s)",
	    r->container_name ? r->container_name : "?",
	    r->container_id ? r->container_id : "?");
	if (r->uid >= 0)
		snprintf(who, sizeof who, "uid %lld %s", (long long)r->uid,
		    r->comm ? r->comm : "?");
	else
		snprintf(who, sizeof who, "%s", r->source ? r->source : "-");
	cells[0] = r->app;
	cells[1] = when;
	cells[2] = r->version != NULL ? r->version : "unknown";
	cells[3] = digest;
	cells[4] = container;
	cells[5] = who;
	cells[6] = r->source;
	cells[7] = r->removed_at > 0 ? removed : NULL;
	table_add(c->t, cells);
}

/* --fleet and --ledger of history and apps. */
struct fleet_opts {
	bool fleet;
	const char *ledger;
};

static int
parse_review_opts(int argc, char **argv, const char *usage, const char **config,
    const char **database, bool *json, struct fleet_opts *fl)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "database", required_argument, NULL, OPT_DATABASE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "fleet", no_argument, NULL, OPT_FLEET },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			*config = optarg;
			break;
		case OPT_DATABASE:
			*database = optarg;
			break;
		case OPT_JSON:
			*json = true;
			break;
		case OPT_FLEET:
			fl->fleet = true;
			break;
		case OPT_LEDGER:
			fl->ledger = optarg;
			break;
		case OPT_HELP:
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	if (fl->ledger != NULL && !fl->fleet) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	return -1;
}

int
review_history(int argc, char **argv)
{
	static const char usage[] =
	    "usage: docker-guard history [APP] "
	    "[--config FILE] [--database PATH] [--json]\n"
	    "       docker-guard history --fleet [APP] "
	    "[--config FILE] [--ledger CONNINFO] [--json]\n";
	struct history_ctx ctx = { 0 };
	struct fleet_opts fl = { 0 };
	const char *config = NULL, *database = NULL, *app = NULL;
	struct store *st;
	char *cause = NULL;
	int rc;

	if ((rc = parse_review_opts(argc, argv, usage, &config, &database,
		 &ctx.json, &fl)) >= 0)
		return rc;
	if (argc - optind > 1) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (optind < argc)
		app = argv[optind];
	if (fl.fleet)
		return fleet_cli_history(config, fl.ledger, app, ctx.json);
	if ((st = open_db(config, database)) == NULL)
		return 1;
	if (!ctx.json) {
		static const char *const headers[] = { "APP", "TIME (UTC)",
			"VERSION", "DIGEST", "CONTAINER", "WHO", "SOURCE",
			"REMOVED" };

		ctx.t = table_new(headers, 8);
	}
	rc = 0;
	if (store_history(st, app, history_row_cb, &ctx, &cause) != 0) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		rc = 1;
	} else if (ctx.rows == 0 && app != NULL) {
		fprintf(stderr, "docker-guard: no history for app \"%s\"\n",
		    app);
		rc = 1;
	} else if (ctx.t != NULL) {
		review_print_table(ctx.t);
	}
	table_free(ctx.t);
	store_close(st);
	return rc;
}

/* ---- apps --------------------------------------------------------------- */

struct app_summary {
	char *app;
	char *current; /* version of the newest live container */
	char *highest;
	char *image;
	int64_t last_change;
	int live;
};

struct apps_ctx {
	struct app_summary *items;
	size_t n;
};

static void
apps_row_cb(const struct store_deployment_row *r, void *arg)
{
	struct apps_ctx *c = arg;
	struct app_summary *a = c->n > 0 ? &c->items[c->n - 1] : NULL;
	int64_t changed = r->removed_at > r->created_at ? r->removed_at
							: r->created_at;

	if (a == NULL || strcmp(a->app, r->app) != 0) {
		c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
		a = &c->items[c->n++];
		memset(a, 0, sizeof *a);
		a->app = xstrdup(r->app);
	}
	if (r->version != NULL &&
	    (a->highest == NULL ||
		version_compare(r->version, a->highest) > 0)) {
		free(a->highest);
		a->highest = xstrdup(r->version);
	}
	if (r->removed_at == 0) {
		/* Rows come oldest first: the last live one is current. */
		free(a->current);
		a->current = xstrdup(
		    r->version != NULL ? r->version : "unknown");
		free(a->image);
		a->image = xstrdup(r->image_ref != NULL ? r->image_ref : "-");
		a->live++;
	}
	if (changed > a->last_change)
		a->last_change = changed;
}

int
review_apps(int argc, char **argv)
{
	static const char usage[] =
	    "usage: docker-guard apps [--config FILE] [--database PATH] "
	    "[--json]\n"
	    "       docker-guard apps --fleet [--config FILE] "
	    "[--ledger CONNINFO] [--json]\n";
	static const char *const headers[] = { "APP", "CURRENT", "HIGHEST",
		"IMAGE", "LIVE", "LAST CHANGE (UTC)" };
	struct apps_ctx ctx = { 0 };
	struct fleet_opts fl = { 0 };
	const char *config = NULL, *database = NULL;
	bool json = false;
	struct store *st;
	struct table *t;
	char *cause = NULL;
	int rc;

	if ((rc = parse_review_opts(argc, argv, usage, &config, &database,
		 &json, &fl)) >= 0)
		return rc;
	if (optind != argc) {
		fprintf(stderr, "%s", usage);
		return 2;
	}
	if (fl.fleet)
		return fleet_cli_apps(config, fl.ledger, json);
	if ((st = open_db(config, database)) == NULL)
		return 1;
	rc = 0;
	if (store_history(st, NULL, apps_row_cb, &ctx, &cause) != 0) {
		fprintf(stderr, "docker-guard: %s\n", cause);
		free(cause);
		store_close(st);
		return 1;
	}
	t = table_new(headers, 6);
	for (size_t i = 0; i < ctx.n; i++) {
		struct app_summary *a = &ctx.items[i];
		char when[40], live[16];
		const char *cells[6];

		review_format_time(a->last_change, when, sizeof when);
		snprintf(live, sizeof live, "%d", a->live);
		if (json) {
			json_t *o = json_object();

			review_json_str(o, "app", a->app);
			review_json_str(o, "current", a->current);
			review_json_str(o, "highest", a->highest);
			review_json_str(o, "image", a->image);
			json_object_set_new(o, "live", json_integer(a->live));
			review_json_str(o, "last_change", when);
			review_print_json_line(o);
		}
		cells[0] = a->app;
		cells[1] = a->current != NULL ? a->current : "(none running)";
		cells[2] = a->highest;
		cells[3] = a->image;
		cells[4] = live;
		cells[5] = when;
		table_add(t, cells);
		free(a->app);
		free(a->current);
		free(a->highest);
		free(a->image);
	}
	if (!json)
		review_print_table(t);
	table_free(t);
	free(ctx.items);
	store_close(st);
	return rc;
}
