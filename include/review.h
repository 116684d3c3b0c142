/*
 * The review commands (docker-guard audit, history, apps): read-only,
 * usable while the guard runs.  Each returns the exit status.
 */
#ifndef REVIEW_H
#define REVIEW_H

int review_audit(int argc, char **argv);
int review_history(int argc, char **argv);
int review_apps(int argc, char **argv);

/* The database path from --database, else the config file, else the
 * default; NULL after printing config errors.  Caller frees. */
char *review_database_path(const char *config, const char *database);

#endif
