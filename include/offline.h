/*
 * Commands that talk to the engine and registries without serving:
 * docker-guard check (a dry run of the decision) and docker-guard sync
 * (seed the ledger from the engine).  Each returns the exit status.
 */
#ifndef OFFLINE_H
#define OFFLINE_H

/* docker-guard check IMAGE [--app APP]: 0 if a create would be allowed,
 * 1 if refused or on trouble (printed), 2 on a usage error. */
int offline_check(int argc, char **argv);
/* docker-guard sync: record the engine's containers the ledger lacks.
 * 0, 1 on trouble (printed), 2 on a usage error. */
int offline_sync(int argc, char **argv);

#endif
