/*
 * Commands that talk to the engine and registries without serving:
 * docker-guard check (a dry run of the decision) and docker-guard sync
 * (seed the ledger from the engine).  Each returns the exit status.
 */
#ifndef OFFLINE_H
#define OFFLINE_H

int offline_check(int argc, char **argv);
int offline_sync(int argc, char **argv);

#endif
