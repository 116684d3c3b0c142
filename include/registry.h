/*
 * The registry client: does this image still exist where it came from?
 *
 * libcurl's multi interface runs on the guard's libevent loop (the pattern
 * of curl's docs/examples/multi-event.c), so checks never block other
 * clients and many run at once.  A check HEADs the manifest with all four
 * manifest media types in Accept (so an OCI index is never mistaken for a
 * missing image); for an index it fetches the index (cached by digest:
 * content-addressed, verified, valid forever) and HEADs the child for the
 * engine's platform, or every child.  Bearer token and Basic auth,
 * credentials from a Docker config.json and from guard.conf; TLS with the
 * system CAs or a CA file per registry; plain HTTP only for loopback or
 * listed registries.  Results are cached (positive for cache_ttl, negative
 * for negative_ttl) and concurrent checks of the same reference share one
 * request.
 */
#ifndef REGISTRY_H
#define REGISTRY_H

#include "registry_types.h"

struct event_base;
struct registry;
struct registry_check;

typedef void (*registry_cb)(const struct registry_result *r, void *arg);

/* A registry client on base (borrowed; must outlive it), with default
 * settings (10 s timeout, 600 s cache, 30 s negative cache) until
 * registry_configure.  Exits on failure (start-up only).  Caller frees
 * with registry_free. */
struct registry *registry_new(struct event_base *base);
/* Cancel every running request and check (their callbacks are not
 * called), wipe credentials and tokens, and free reg; NULL is ignored. */
void registry_free(struct registry *reg);

/* Apply settings (at start and on SIGHUP); copies what it keeps, and
 * forgets every finished answer.  Returns 0, or -1 with an allocated
 * *cause the caller frees (e.g. unreadable docker_config: the other
 * settings are applied all the same). */
int registry_configure(struct registry *reg,
    const struct registry_settings *set, char **cause);

/*
 * Check domain/path at reference (a tag or "sha256:..." digest) for
 * platform.  cb is called once, always from the event loop, never from
 * inside this call; the result is borrowed for the call.  Returns a handle
 * for registry_cancel.
 */
struct registry_check *
registry_check(struct registry *reg, const char *domain, const char *path,
    const char *reference, const struct registry_platform *platform,
    unsigned flags, registry_cb cb, void *arg);

/* Drop a check (NULL is ignored); cb is not called.  The request runs on
 * and its answer is cached for the next asker. */
void registry_cancel(struct registry_check *c);

#endif
