#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conffile.h"
#include "config.h"
#include "fleet_cli.h"
#include "guard_version.h"
#include "offline.h"
#include "review.h"
#include "serve.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: docker-guard COMMAND [OPTIONS]\n"
	    "\n"
	    "A guard in front of the Docker Engine API socket.  It forwards every call\n"
	    "to the engine and refuses container and service creates that would run a\n"
	    "tag-only image reference or downgrade an app.\n"
	    "\n"
	    "Commands:\n"
	    "  serve          run the guard\n"
	    "  check-config   validate the configuration file and print every error\n"
	    "  audit          review decisions (--since, --app, --verdict, --rule,\n"
	    "                 --uid, --limit, --json; --verify checks the hash chain)\n"
	    "  history [APP]  each app's version timeline\n"
	    "  apps           every known app: current and highest version\n"
	    "  check IMAGE    dry run: the decision the guard would make now on a\n"
	    "                 create of IMAGE (--app APP); exits 1 on a refusal\n"
	    "  sync           record the engine's existing containers in the ledger\n"
	    "  ledger import  copy this host's ledger and audit trail into the fleet\n"
	    "                 ledger (--ledger CONNINFO, --host-name NAME), once\n"
	    "All commands take --config FILE and --database PATH; check and sync also\n"
	    "--upstream PATH.  audit, history and apps take --fleet: every host's\n"
	    "rows from the fleet ledger (guard.conf ledger, or --ledger CONNINFO),\n"
	    "with a HOST column; audit --fleet also --host HOST.\n"
	    "\n"
	    "Options of serve:\n"
	    "  --config FILE      configuration file (default " CONFFILE_DEFAULT_PATH
	    " if present)\n"
	    "  --listen PATH      socket to listen on (default /run/docker-guard.sock)\n"
	    "  --upstream PATH    the engine's socket (default /var/run/docker.sock)\n"
	    "  --database PATH    ledger and audit database\n"
	    "                     (default /var/lib/docker-guard/guard.db)\n"
	    "  --ledger CONN      the fleet's shared ledger, a PostgreSQL connection\n"
	    "                     string (guard.conf: ledger; \"\" for none)\n"
	    "  --metrics-listen ADDR  serve /metrics on a loopback HOST:PORT or a\n"
	    "                     socket PATH (guard.conf: metrics_listen; \"\" for none)\n"
	    "  --log-format FMT   text or json lines on stderr (guard.conf:\n"
	    "                     log_format)\n"
	    "Flags override the file.  Started by systemd with its socket\n"
	    "(LISTEN_PID, LISTEN_FDS=1), serve takes fd 3 and ignores --listen;\n"
	    "with NOTIFY_SOCKET set it reports READY, RELOADING and STOPPING.\n"
	    "\n"
	    "Options of check-config:\n"
	    "  --config FILE      the file to check (default " CONFFILE_DEFAULT_PATH
	    ")\n"
	    "\n"
	    "  docker-guard --version    print the version\n"
	    "  docker-guard --help       print this help\n");
}

enum {
	OPT_CONFIG = 1,
	OPT_LISTEN,
	OPT_UPSTREAM,
	OPT_DATABASE,
	OPT_LEDGER,
	OPT_METRICS_LISTEN,
	OPT_LOG_FORMAT,
	OPT_HELP,
};

static const struct option serve_longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "upstream", required_argument, NULL, OPT_UPSTREAM },
	{ "database", required_argument, NULL, OPT_DATABASE },
	{ "ledger", required_argument, NULL, OPT_LEDGER },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const struct option check_longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_serve(int argc, char **argv)
{
	struct serve_options o = { 0 };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", serve_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			o.config = optarg;
			break;
		case OPT_LISTEN:
			o.listen = optarg;
			break;
		case OPT_UPSTREAM:
			o.upstream = optarg;
			break;
		case OPT_DATABASE:
			o.database = optarg;
			break;
		case OPT_LEDGER:
			o.ledger = optarg;
			break;
		case OPT_METRICS_LISTEN:
			o.metrics_listen = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") != 0 &&
			    strcmp(optarg, "json") != 0) {
				fprintf(stderr,
				    "docker-guard serve: --log-format is text "
				    "or json, not \"%s\"\n",
				    optarg);
				return 2;
			}
			o.log_format = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr,
		    "docker-guard serve: unexpected argument "
		    "\"%s\"\n",
		    argv[optind]);
		return 2;
	}
	return serve_main(&o);
}

static int
cmd_check_config(int argc, char **argv)
{
	struct config_errors errs = { 0 };
	struct guard_config *cfg;
	const char *path = CONFFILE_DEFAULT_PATH;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", check_longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			path = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr,
		    "docker-guard check-config: unexpected "
		    "argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	cfg = conffile_load(path, true, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_reset(&errs);
	if (cfg == NULL)
		return 1;
	config_free(cfg);
	printf("%s: configuration OK\n", path);
	return 0;
}

int
cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("docker-guard %s\n", GUARD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check-config") == 0)
		return cmd_check_config(argc - 1, argv + 1);
	if (strcmp(argv[1], "audit") == 0)
		return review_audit(argc - 1, argv + 1);
	if (strcmp(argv[1], "history") == 0)
		return review_history(argc - 1, argv + 1);
	if (strcmp(argv[1], "apps") == 0)
		return review_apps(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return offline_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "sync") == 0)
		return offline_sync(argc - 1, argv + 1);
	if (strcmp(argv[1], "ledger") == 0)
		return fleet_cli_ledger(argc - 1, argv + 1);
	fprintf(stderr,
	    "docker-guard: unknown command \"%s\" (try "
	    "docker-guard --help)\n",
	    argv[1]);
	return 2;
}
