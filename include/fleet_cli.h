/*
 * The fleet ledger from the command line, with blocking libpq (the CLI
 * may block): `docker-guard ledger import` ships this host's SQLite rows
 * to the shared PostgreSQL once, and `history --fleet`, `apps --fleet`
 * and `audit --fleet` review every host from there (review.c parses
 * their options).  Each returns the exit status: 0; 1 on trouble (one
 * line on stderr, never a password); 2 on a usage error.
 */
#ifndef FLEET_CLI_H
#define FLEET_CLI_H

#include <stdbool.h>

struct store_audit_filter;

/* docker-guard ledger import [--config F] [--database P] [--ledger CONN]
 * [--host-name NAME]: create the schema if missing, then copy every
 * local deployments and audit row not yet there, in batches of 500, one
 * transaction each.  Says how many rows it added. */
int fleet_cli_ledger(int argc, char **argv);

/* history --fleet [APP]: every host's deployments of app (all apps when
 * NULL), with a HOST column.  config and ledger (--ledger, else the
 * config's) may be NULL. */
int fleet_cli_history(const char *config, const char *ledger, const char *app,
    bool json);

/* apps --fleet: per app and host, the latest version there and the
 * app's highest in the fleet. */
int fleet_cli_apps(const char *config, const char *ledger, bool json);

/* audit --fleet: the rows f selects of host (NULL: every host), oldest
 * first; config and ledger as fleet_cli_history. */
int fleet_cli_audit(const struct store_audit_filter *f, const char *config,
    const char *ledger, const char *host, bool json);

#endif
