/*
 * The decision on one image reference of a guarded request, from plain
 * facts: the reference as given, what the engine knows of the image, the
 * versions the app has run, and the override labels.  Pure: no I/O, no
 * clock (times come in as numbers).
 *
 * Rules, checked in this order; the first refusal decides:
 *   reference       the reference does not parse (400)
 *   require_digest  a tag-only reference, rolling tags named (403)
 *   local_images    an image with no registry digest, when denied (403)
 *   registry        the image is missing from its registry, or (per
 *                   registry_unreachable) the registry cannot say
 *   unknown_version no version could be found, when denied (403)
 *   downgrade       the version is older than the newest the app has run
 * A rule in "warn" mode lets the request through with a warning.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "body_inspect.h"
#include "config.h"
#include "imgref.h"
#include "inspect.h"

#define POLICY_LABEL_APP "io.docker-guard.app"
#define POLICY_LABEL_ALLOW_DOWNGRADE "io.docker-guard.allow-downgrade"
#define POLICY_LABEL_ALLOW_TAG "io.docker-guard.allow-tag"

/* What the engine's image inspect said. */
struct policy_image {
	bool found;		      /* the engine has the image */
	const char *id;		      /* "sha256:<hex>" */
	const char *const *repo_tags; /* "repo:tag", the tags that
						   point at it */
	size_t n_repo_tags;
	const char *const *repo_digests; /* "repo@sha256:<hex>" */
	size_t n_repo_digests;
	const struct body_label *labels; /* Config.Labels */
	size_t n_labels;
	const char *const *env; /* Config.Env, "K=V" */
	size_t n_env;
};

/* *out borrows from img (until img is reset); found is set. */
void policy_image_of(struct policy_image *out, const struct inspect_image *img);

/* A version the app has run, and since when (unix seconds). */
struct policy_seen {
	const char *version;
	int64_t since;
	const char *digest; /* repository digest, may be NULL */
	const char *host;   /* where it ran (the fleet ledger), or NULL:
			       this host */
};

/* What the registry said of the image (see registry.h). */
enum policy_registry_outcome {
	POLICY_REGISTRY_PRESENT,
	POLICY_REGISTRY_ABSENT,
	POLICY_REGISTRY_UNAUTHORIZED,
	POLICY_REGISTRY_RATE_LIMITED,
	POLICY_REGISTRY_UNREACHABLE,
};

struct policy_registry {
	bool checked; /* false: not asked */
	enum policy_registry_outcome outcome;
	const char *checked_ref; /* what was asked */
	const char *digest;	 /* the reference's digest
							   at the registry */
	const char *detail;
	const char *missing_digest;
	const char *missing_platform;
	/* For images the engine does not have: the version annotation and
	   the config blob's labels and env, as version sources. */
	const char *version;
	const struct body_label *labels;
	size_t n_labels;
	const char *const *env;
	size_t n_env;
};

struct policy_input {
	const struct guard_config *cfg;
	const char *action;    /* "create", ... */
	const char *what;      /* "container \"web\"" */
	const char *app;       /* NULL: unknown */
	const char *image_ref; /* as given */
	const char *role;      /* "image mount", ...;
							   NULL: the image the
							   container runs */
	const struct policy_image *image;
	const struct policy_seen *history;
	size_t n_history;
	const char *allow_downgrade;		/* label value */
	const char *allow_tag;			/* label value */
	const struct policy_registry *registry; /* may be NULL */
	bool existing;				/* starting a container
							   that exists: its
							   labels are set */
};

enum policy_verdict {
	POLICY_ALLOW,
	POLICY_WARN,
	POLICY_DENY,
};

struct policy_decision {
	enum policy_verdict verdict;
	int status;		    /* for DENY: 400 or 403 */
	const char *rule;	    /* deciding rule or NULL */
	char *message;		    /* DENY/WARN: the full text */
	char *version;		    /* the image's version, or NULL */
	const char *version_source; /* the version_sources item
						   that matched, e.g.
						   "label:org.opencontainers.image.version" */
	char *previous_version;	    /* newest the app has run */
	char *digest;		    /* repository digest or image ID */
	char *note;		    /* what an allow relied on:
						   override reason, unknown
						   version, local image */
	const char *note_rule;	    /* the rule the note is about */
	bool override_used;	    /* an override label decided */
	char *warning;		    /* ALLOW/WARN: for the client's
						   Warnings too (the registry
						   could not be asked) */
};

/* Decide.  Always fills *out (caller calls policy_decision_reset). */
void
policy_evaluate(const struct policy_input *in, struct policy_decision *out);
void policy_decision_reset(struct policy_decision *d);

/*
 * The app a create belongs to: the io.docker-guard.app label, else the
 * compose project and service ("project/service"), else the swarm service
 * name, else the container name (from the query, without a leading '/').
 * Returns an allocated string, or NULL when nothing names the app.
 */
char *
policy_app_name(const struct body_facts *facts, const char *container_name);

/*
 * The image's version per cfg->version_sources, first hit wins, or NULL,
 * for one repository name ({REPO}) and one tag.  *source is the
 * version_sources item that matched
 * ("label:org.opencontainers.image.version").
 * app and tag may be NULL.  Caller frees.
 */
char *policy_image_version(const struct guard_config *cfg,
    const struct policy_image *image, const char *repository_last,
    const char *app, const char *tag, const char **source);

/*
 * The version of the image given resolved to, the same whatever the
 * client called it (name, tag, digest, full or short ID):
 *
 * - An image the engine has (image->found): version_sources over its
 *   config, first hit wins.  {REPO} is each repository the image is known
 *   by, from its RepoTags and RepoDigests (the last path component, in
 *   byte order), then given's own; the first whose variable is set and
 *   holds a version wins.  "tag" and "tag:REGEX" read only the image's
 *   RepoTags, the tags that really point at it, never a tag written beside
 *   a digest (the engine ignores it); of several that hold versions the
 *   most specific wins (most numbers, then the highest, then the first in
 *   byte order: "31.0.9.1" over "31" and "31.0.9.1-apache").
 * - An image it does not have: the registry's answer when reg is not NULL
 *   and present: the org.opencontainers.image.version annotation, else
 *   version_sources over the config blob's labels and env.  {REPO} is
 *   given's repository; the tag counts only when given is tag-only (the
 *   tag is what the engine pulls), never beside a digest.
 *
 * app and reg may be NULL.  Caller frees; NULL if no source matched.
 */
char *policy_version(const struct guard_config *cfg,
    const struct policy_image *image, const struct policy_registry *reg,
    const char *given, const char *app, const char **source);

/* A pull (POST /images/create) as its query says it. */
struct policy_pull {
	const struct guard_config *cfg;
	const char *from_image; /* NULL for imports */
	const char *tag;	/* may be NULL or "" */
	const char *from_src;	/* imports: URL or "-" */
	const char *repo;	/* imports: target repo */
	/* The tag's digest at the registry, for the fix-it, or NULL. */
	const char *registry_digest;
};

/*
 * Decide on a pull: pull_require_digest (a pull by tag takes whatever the
 * tag points to now; an empty tag pulls every tag), allowed_registries,
 * imports.  Always fills *out.
 */
void
policy_evaluate_pull(const struct policy_pull *in, struct policy_decision *out);

/*
 * The reference a pull names: fromImage with the tag parameter applied
 * (a tag, or a digest when it starts with "sha256:").  Caller frees; NULL
 * when fromImage is NULL.
 */
char *policy_pull_reference(const char *from_image, const char *tag);

/*
 * True if given (parsed as ref) names the image with ID image_id rather
 * than a repository: a full ID, or a short hex ID ("1d0c00d006ee",
 * "sha256:1d0c") that prefixes image_id.
 */
bool policy_ref_is_image_id(const struct imgref *ref, const char *given,
    const char *image_id);

/* "2026-11-20 10:04 UTC" into buf. */
void policy_format_time(int64_t t, char *buf, size_t size);

#endif
