/*
 * The drift watch's decisions, from plain facts (drift.c gathers them):
 * is the image a running container runs still in its registry, and is
 * there a newer version behind the tag it was deployed from?  Which
 * findings are new and which are resolved since the last round, and the
 * JSON a webhook gets for each.  Pure: no I/O, no clock (times come in
 * as numbers), no logging.
 */
#ifndef DRIFT_EVAL_H
#define DRIFT_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry_types.h"

enum drift_kind {
	DRIFT_MISSING, /* the image (or its platform's child) is gone */
	DRIFT_NEWER,   /* the tag it came from now has a newer version */
};
#define DRIFT_NKINDS 2

/* "missing", "newer". */
const char *drift_kind_name(enum drift_kind k);

/* Where a container's image lives in its registry: what to check and
 * which tag to follow.  Strings owned; reset with drift_target_reset. */
struct drift_target {
	char *domain;	   /* "127.0.0.1:5000" */
	char *path;	   /* "app" */
	char *digest;	   /* "sha256:..." the container runs */
	char *checked_ref; /* familiar "repo[:tag]@digest" */
	char *tag;	   /* the tag it follows, or NULL */
	char *tag_ref;	   /* familiar "repo:tag", or NULL */
};

/*
 * From the reference a container was deployed from (as the ledger keeps
 * it) and the repository digest recorded with it ("repo@sha256:...", may
 * be NULL): the digest of the reference when it carries one, else the
 * recorded one; the tag the reference names (or "latest" when it names
 * neither tag nor digest), none for a digest alone or an image ID.
 * Returns 0, or -1 when no registry knows the image (built or loaded on
 * the host, or nothing parses).
 */
int drift_target(const char *image_ref, const char *repo_digest,
    struct drift_target *out);
void drift_target_reset(struct drift_target *t);

/* What drift.c found out about one running container. */
struct drift_facts {
	const char *container_id;   /* full ID */
	const char *container_name; /* may be NULL */
	const char *app;	    /* may be NULL */
	const char *image_ref;	    /* as deployed */
	const char *platform;	    /* the engine's: "linux/amd64" */
	const struct drift_target *target;
	const char *version; /* what it runs, or NULL */

	/* The image's own check (registry_check of target->digest). */
	bool checked;
	enum registry_outcome outcome;
	const char *detail; /* why, in words (registry_result) */
	const char *missing_digest;
	const char *missing_platform;

	/* The tag it was deployed from (target->tag). */
	bool tag_checked;
	enum registry_outcome tag_outcome;
	const char *tag_digest;	 /* what the tag points at now */
	const char *tag_version; /* its version, or NULL */
};

enum drift_status {
	DRIFT_UNKNOWN, /* cannot say this round: keep what was known */
	DRIFT_CLEAR,   /* nothing to report */
	DRIFT_FOUND,
};

struct drift_verdict {
	enum drift_status status;
	char *key;     /* FOUND: tells this finding from another */
	char *message; /* FOUND: the finding; CLEAR: the resolution */
	char *newer;   /* NEWER found: the newer version */
};

struct drift_result {
	struct drift_verdict v[DRIFT_NKINDS];
};

/* Decide both kinds for f.  Always fills *out (reset it with
 * drift_result_reset). */
void drift_eval(const struct drift_facts *f, struct drift_result *out);
void drift_result_reset(struct drift_result *r);

/* ---- what was reported, so a finding is reported once ---- */

struct drift_seen {
	char *container_id;
	enum drift_kind kind;
	char *key;
};

struct drift_state {
	struct drift_seen *items;
	size_t n;
};

enum drift_change {
	DRIFT_SAME,	/* nothing to report */
	DRIFT_APPEARED, /* a new finding (or another one of that kind) */
	DRIFT_RESOLVED, /* the finding reported before is gone */
};

/* Apply this round's verdict v on (container_id, kind) to s and say
 * what to report.  UNKNOWN changes nothing. */
enum drift_change
drift_state_apply(struct drift_state *s, const char *container_id,
    enum drift_kind kind, const struct drift_verdict *v);

/* Forget the findings of containers not among ids[0..n) (no longer
 * running), so s stays as small as what runs. */
void drift_state_prune(struct drift_state *s, char *const *ids, size_t n);
void drift_state_reset(struct drift_state *s);

/*
 * s as text, to keep in the ledger across restarts (a JSON array of
 * {"container", "kind", "key"}; caller frees), and back: s is replaced
 * by what text holds.  drift_state_load returns 0, or -1 with s empty
 * when text is not such a dump (or names one finding twice).
 */
char *drift_state_dump(const struct drift_state *s);
int drift_state_load(struct drift_state *s, const char *text);

/* ---- the webhook's JSON ---- */

struct drift_event {
	enum drift_kind kind;
	bool resolved;
	int64_t time_ms; /* unix milliseconds */
	const char *host;
	const struct drift_facts *facts;
	const char *message;
	const char *newer; /* NEWER: the newer version, or NULL */
};

/* The JSON object a webhook gets for e (compact, one line).  Caller
 * frees.  Never NULL. */
char *drift_payload(const struct drift_event *e);

#endif
