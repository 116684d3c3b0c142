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

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct registry;
struct registry_check;

enum registry_outcome {
	REGISTRY_PRESENT,
	REGISTRY_ABSENT,       /* manifest or name unknown, or a child gone */
	REGISTRY_UNAUTHORIZED, /* 401 after auth, or 403 */
	REGISTRY_RATE_LIMITED, /* 429 */
	REGISTRY_UNREACHABLE,  /* timeout, DNS, connection, 5xx, garbage */
};

struct registry_settings {
	long timeout_ms;	   /* per request */
	long cache_ttl;		   /* seconds, positive results */
	long negative_ttl;	   /* seconds, absent */
	bool all_platforms;	   /* check every child */
	const char *docker_config; /* path of a config.json, or NULL */
	/* "host=user:password" items */
	const char *const *auth;
	size_t n_auth;
	/* "host=/path/ca.pem" items */
	const char *const *ca_files;
	size_t n_ca_files;
	/* hosts that may be reached over plain HTTP (loopback always may) */
	const char *const *insecure;
	size_t n_insecure;
};

struct registry_platform {
	char os[32];
	char arch[32];
	char variant[32];
};

struct registry_result {
	enum registry_outcome outcome;
	const char *digest; /* what the reference resolves
						   to, or NULL */
	const char *detail; /* why, in words */
	bool is_index;
	const char *missing_digest;   /* a child that is gone */
	const char *missing_platform; /* its platform */
	const char *version;	      /* annotation or config label,
						   when asked for */
	/* Config.Labels and Config.Env of the image's config blob, when
	   asked for (for version sources); NULL-terminated, "K=V". */
	const char *const *config_labels;
	const char *const *config_env;
};

typedef void (*registry_cb)(const struct registry_result *r, void *arg);

#define REGISTRY_WANT_CONFIG 0x1 /* fetch annotations and config */
#define REGISTRY_DIGEST_ONLY 0x2 /* just what the reference resolves to */

struct registry *registry_new(struct event_base *base);
void registry_free(struct registry *reg);

/* Apply settings (at start and on SIGHUP); copies what it keeps.  Returns
 * 0, or -1 with an allocated *cause (e.g. unreadable docker_config). */
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

/* Drop a check; cb is not called. */
void registry_cancel(struct registry_check *c);

/* "present", "absent", "unauthorized", "rate-limited", "unreachable". */
const char *registry_outcome_name(enum registry_outcome o);

#endif
