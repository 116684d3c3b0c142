/*
 * What the registry client's modules and its callers share: the outcome
 * of a check, the settings, the platform asked for and the result
 * handed back.  Types only, and the outcome's name.
 */
#ifndef REGISTRY_TYPES_H
#define REGISTRY_TYPES_H

#include <stdbool.h>
#include <stddef.h>

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

#define REGISTRY_WANT_CONFIG 0x1 /* fetch annotations and config */
#define REGISTRY_DIGEST_ONLY 0x2 /* just what the reference resolves to */
/* Ask the registry now: no finished answer is used (one in flight is
   shared), and the new answer replaces the cached one (the drift watch:
   a deleted manifest must be seen at once). */
#define REGISTRY_FRESH 0x4

/* "present", "absent", "unauthorized", "rate-limited", "unreachable". */
const char *registry_outcome_name(enum registry_outcome o);

#endif
