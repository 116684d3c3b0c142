/*
 * The registry client's manifest cache: manifest bodies by digest.  A
 * body is content-addressed and verified before it is kept, so it is
 * valid forever; the least recently used goes first when the cache is
 * full.  No I/O.
 */
#ifndef REGISTRY_MANIFESTS_H
#define REGISTRY_MANIFESTS_H

#include <stddef.h>
#include <sys/queue.h>

/* A cached manifest: owned by the cache. */
struct reg_manifest {
	TAILQ_ENTRY(reg_manifest) entry;
	char *digest;
	char *content_type; /* or NULL */
	char *body;	    /* NUL-terminated */
	size_t len;
};

#define REG_MANIFESTS_MAX 256

struct reg_manifests {
	TAILQ_HEAD(, reg_manifest) list;
	size_t n;
};

/* An empty cache. */
void reg_manifests_init(struct reg_manifests *c);
/* Free every cached manifest. */
void reg_manifests_reset(struct reg_manifests *c);

/* The manifest for digest, borrowed until the next put or reset, or NULL. */
const struct reg_manifest *
reg_manifests_get(struct reg_manifests *c, const char *digest);

/* Keep a copy of a verified body (no-op if digest is cached). */
void reg_manifests_put(struct reg_manifests *c, const char *digest,
    const char *content_type, const char *body, size_t len);

#endif
