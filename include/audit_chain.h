/*
 * The audit trail's hash chain.  Each row's hash covers its own fields
 * and the previous row's hash, so altering or removing a row breaks the
 * chain from there on (docker-guard audit --verify says where).  Pure.
 *
 * The hashed text is a compact JSON array of the row's fields in a fixed
 * order (strings, numbers, or null), then the previous hash: unambiguous
 * whatever the fields contain.
 */
#ifndef AUDIT_CHAIN_H
#define AUDIT_CHAIN_H

#include <stdint.h>

struct audit_chain_row {
	int64_t id;
	int64_t time_ms;
	int64_t uid, gid, pid; /* -1 when unknown */
	const char *comm;
	const char *method;
	const char *route;
	const char *app;
	const char *image_ref;
	const char *digest;
	const char *version;
	const char *previous_version;
	const char *rule;
	const char *verdict;
	const char *message;
	int64_t latency_us;
};

/* "sha256:<hex>" of the row chained to prev_hash ("" for the first row).
 * Caller frees. */
char *
audit_chain_hash(const struct audit_chain_row *row, const char *prev_hash);

#endif
