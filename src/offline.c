/*
 * docker-guard check and sync: a short-lived event loop with the guard's
 * own engine, registry and store machinery, so the answer is the one the
 * running guard would give.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conffile.h"
#include "guard.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "offline.h"
#include "store.h"
#include "xmalloc.h"

enum {
	OPT_CONFIG = 1,
	OPT_DATABASE,
	OPT_UPSTREAM,
	OPT_APP,
	OPT_HELP,
};

static const struct option longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "database", required_argument, NULL, OPT_DATABASE },
	{ "upstream", required_argument, NULL, OPT_UPSTREAM },
	{ "app", required_argument, NULL, OPT_APP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct offline {
	struct event_base *base;
	struct guard_config *cfg;
	const char *app;
	int status;
};

/* Parse the shared options and load the configuration.  Returns -1 to go
 * on, else an exit status. */
static int
offline_setup(int argc, char **argv, const char *usage, struct offline *o,
    bool with_app)
{
	struct config_errors errs = { 0 };
	const char *config = NULL, *database = NULL, *upstream = NULL;
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_DATABASE:
			database = optarg;
			break;
		case OPT_UPSTREAM:
			upstream = optarg;
			break;
		case OPT_APP:
			if (!with_app) {
				fprintf(stderr, "%s", usage);
				return 2;
			}
			o->app = optarg;
			break;
		case OPT_HELP:
			printf("%s", usage);
			return 0;
		default:
			fprintf(stderr, "%s", usage);
			return 2;
		}
	}
	o->cfg = conffile_load(config != NULL ? config : CONFFILE_DEFAULT_PATH,
	    config != NULL, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_reset(&errs);
	if (o->cfg == NULL)
		return 1;
	if (database != NULL) {
		free(o->cfg->database);
		o->cfg->database = xstrdup(database);
	}
	if (upstream != NULL) {
		free(o->cfg->upstream);
		o->cfg->upstream = xstrdup(upstream);
	}
	/* Only problems on stderr: the answer goes to stdout. */
	log_set_level(LOG_LEVEL_ERROR);
	o->base = event_base_new();
	if (o->base == NULL)
		fatalx("cannot create the event loop");
	return -1;
}

static void
offline_teardown(struct offline *o)
{
	event_base_free(o->base);
	config_free(o->cfg);
}

static void
check_done(int status, const char *message, const char *details, void *arg)
{
	struct offline *o = arg;

	if (status != 0) {
		printf("refused (%d): %s\n", status, message);
		o->status = 1;
	} else if (message != NULL) {
		printf("allowed with warnings:\n%s\n", message);
	} else {
		printf("allowed\n");
	}
	if (details != NULL && *details != '\0')
		printf("%s", details);
	event_base_loopbreak(o->base);
}

int
offline_check(int argc, char **argv)
{
	static const char usage[] =
	    "usage: docker-guard check IMAGE "
	    "[--app APP] [--config FILE] [--database PATH] [--upstream PATH]\n"
	    "Prints the decision the guard would make now on a create of "
	    "IMAGE\n(for APP), with the same message; exits 1 on a refusal.\n";
	struct offline o;
	struct guard *g;
	int rc;

	if ((rc = offline_setup(argc, argv, usage, &o, true)) >= 0)
		return rc;
	if (argc - optind != 1) {
		fprintf(stderr, "%s", usage);
		offline_teardown(&o);
		return 2;
	}
	/* A dry run judges against the ledger that exists: a mistyped path
	   must not answer "allowed" from an empty new one. */
	if (access(o.cfg->database, R_OK) != 0) {
		fprintf(stderr,
		    "docker-guard check: cannot open the database "
		    "%s: %s\n",
		    o.cfg->database, strerror(errno));
		offline_teardown(&o);
		return 1;
	}
	g = guard_new(o.base, (const struct guard_config *const *)&o.cfg,
	    false);
	if (g == NULL) {
		fprintf(stderr,
		    "docker-guard check: cannot open the database "
		    "%s\n",
		    o.cfg->database);
		offline_teardown(&o);
		return 1;
	}
	guard_dry_run(g, argv[optind], o.app, check_done, &o);
	event_base_dispatch(o.base);
	guard_free(g);
	offline_teardown(&o);
	return o.status;
}

static void
sync_done(int recorded, const char *error, void *arg)
{
	struct offline *o = arg;

	if (error != NULL) {
		fprintf(stderr, "docker-guard sync: %s\n", error);
		o->status = 1;
	} else {
		printf("sync: %d container(s) recorded in the ledger\n",
		    recorded);
	}
	event_base_loopbreak(o->base);
}

int
offline_sync(int argc, char **argv)
{
	static const char usage[] =
	    "usage: docker-guard sync [--config FILE] "
	    "[--database PATH] [--upstream PATH]\n"
	    "Records the containers the engine has that the ledger lacks.\n";
	struct offline o;
	struct store *st;
	struct ledger *l;
	struct monitor *m;
	char *cause = NULL;
	int rc;

	if ((rc = offline_setup(argc, argv, usage, &o, false)) >= 0)
		return rc;
	if (optind != argc) {
		fprintf(stderr, "%s", usage);
		offline_teardown(&o);
		return 2;
	}
	st = store_open(o.cfg->database, &cause);
	if (st == NULL) {
		fprintf(stderr, "docker-guard sync: %s\n", cause);
		free(cause);
		offline_teardown(&o);
		return 1;
	}
	/* A one-shot command may wait for a lock. */
	store_set_busy_timeout(st, 5000);
	l = ledger_new(o.base, st);
	m = monitor_new(o.base, (const struct guard_config *const *)&o.cfg, l,
	    0);
	monitor_sync(m, sync_done, &o);
	event_base_dispatch(o.base);
	monitor_free(m);
	ledger_free(l);
	store_close(st);
	offline_teardown(&o);
	return o.status;
}
