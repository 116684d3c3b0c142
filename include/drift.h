/*
 * The drift watch: every drift_interval seconds, the running containers
 * (GET /containers/json), each one's deployment from the ledger, and the
 * same registry check as at create for the image it runs (the engine's
 * platform's child of an index, or every child with check_all_platforms),
 * asked afresh (the registry cache is bypassed, so a deleted manifest is
 * seen in the next round); and whether the tag it was deployed from now
 * points at a newer version.  drift_eval.c decides; a finding is an audit
 * row (rule drift, verdict warn) and a webhook notice when it appears,
 * and a row (verdict allow) when it is resolved, never once per round.
 *
 * One round at a time: the next is armed when one ends.  A round checks
 * at most drift_max_containers containers, one after the other, and the
 * next round goes on where it stopped.  What was reported lives in
 * memory: after a restart a finding still there is reported once more.
 */
#ifndef DRIFT_H
#define DRIFT_H

#include <stdint.h>

struct event_base;
struct guard_config;
struct ledger;
struct registry;
struct drift;

/* A drift watch on base, asking the engine at (*cfg)->upstream and reg
 * (borrowed), writing through l (borrowed); all outlive it.  cfg points
 * at the caller's current configuration pointer.  Armed per
 * drift_interval (0: idle).  Caller frees with drift_free. */
struct drift *
drift_new(struct event_base *base, const struct guard_config *const *cfg,
    struct registry *reg, struct ledger *l);

/* Cancel a round in flight and free d; NULL is ignored. */
void drift_free(struct drift *d);

/* The configuration changed (SIGHUP): apply drift_interval and the
 * webhook's settings. */
void drift_reconfigure(struct drift *d);

/* When the last completed round ended (unix seconds), or 0: none yet
 * (d NULL: none). */
int64_t drift_last_round(const struct drift *d);

#endif
