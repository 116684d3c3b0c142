/*
 * One registry check of one (host, repository, reference, platform,
 * flags): a small state machine of HTTP requests.  HEAD the manifest with
 * every manifest media type in Accept; on a 401 authenticate once (bearer
 * token or Basic) and retry; for an index GET it (or take it from the
 * manifest cache) and HEAD the child for the platform, or every platform
 * child; with REGISTRY_WANT_CONFIG GET the image manifest and its config
 * blob.  The registry's result cache and its waiters are registry.c's.
 */
#ifndef REGISTRY_FETCH_H
#define REGISTRY_FETCH_H

#include "registry_types.h"

struct reg_transport;
struct reg_auth;
struct reg_manifests;
struct reg_fetch;

/* What every fetch borrows from the registry that runs it. */
struct reg_fetch_env {
	struct reg_transport *transport;
	struct reg_auth *auth;		     /* credentials, token cache */
	struct reg_manifests *manifests;     /* verified manifests */
	const struct registry_settings *set; /* read at each step */
};

typedef void (*reg_fetch_done)(struct reg_fetch *f, void *arg);

/*
 * Start checking host/repo at ref (a tag or "sha256:..." digest) for
 * platform with flags (REGISTRY_*).  env is borrowed for the fetch's
 * life; the strings and platform are copied.  done(f, arg) is called once
 * from the event loop when the answer is known, never from inside this
 * call.  Returns the fetch; the caller frees it with reg_fetch_free (at
 * any time: a running fetch is cancelled and done is not called).
 */
struct reg_fetch *
reg_fetch_start(const struct reg_fetch_env *env, const char *host,
    const char *repo, const char *ref, const struct registry_platform *platform,
    unsigned flags, reg_fetch_done done, void *arg);

/* The answer of a finished fetch; r's strings are borrowed from f until
 * reg_fetch_free. */
void reg_fetch_result(const struct reg_fetch *f, struct registry_result *r);

/* Cancel (if running) and free; NULL is ignored. */
void reg_fetch_free(struct reg_fetch *f);

#endif
