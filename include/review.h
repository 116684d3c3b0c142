/*
 * The review commands (docker-guard audit, history, apps): read-only,
 * usable while the guard runs.  Each returns the exit status.
 */
#ifndef REVIEW_H
#define REVIEW_H

/* docker-guard audit [filters] [--json] | --verify: list audit rows, or
 * recompute the hash chain.  0; 1 on database trouble or a broken chain;
 * 2 on a usage error (printed). */
int review_audit(int argc, char **argv);
/* docker-guard history [APP] [--json]: each app's version timeline.  0;
 * 1 on database trouble; 2 on a usage error. */
int review_history(int argc, char **argv);
/* docker-guard apps [--json]: every known app, its current and highest
 * version.  0; 1 on database trouble; 2 on a usage error. */
int review_apps(int argc, char **argv);

/* The database path from --database, else the config file, else the
 * default; NULL after printing config errors.  Caller frees. */
char *review_database_path(const char *config, const char *database);

#endif
