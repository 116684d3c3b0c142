/*
 * The verdict on a guarded create, update, start or restart, from plain
 * facts: the images the request names (what the engine and the registry
 * said of each), the app's history from the ledger, the override labels
 * and the configuration.  Pure: no I/O, no clock, no logging.  policy.c
 * judges one image; this module runs it over each image of the request
 * and combines the answers into one verdict: the status and message of
 * the first refusal, the warnings of all, and which rows to audit.
 */
#ifndef DECIDE_H
#define DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "body_inspect.h"
#include "config.h"
#include "inspect.h"
#include "policy.h"
#include "route.h"

/* One image reference of the request, and what was found of it. */
struct decide_image {
	const char *ref;		  /* as given */
	const char *role;		  /* "image", "image mount", ... */
	const struct inspect_image *info; /* the engine's inspect, or NULL
					     when it does not have it */
	const struct policy_registry *registry; /* NULL: not asked */
};

struct decide_input {
	const struct guard_config *cfg;
	enum route_id route; /* create, service create/update, start, ... */
	const char *action;  /* "create", "start", ... */
	const char *what;    /* "container \"web\"", or NULL: the app */
	const char *app;     /* NULL: no app, no history */
	const struct body_facts *facts;	   /* the override labels */
	const struct decide_image *images; /* [0] is what runs */
	size_t n_images;
	const struct policy_seen *history; /* the app's, from the ledger */
	size_t n_history;
};

/* What one image contributed, and its audit row. */
struct decide_row {
	struct policy_decision decision; /* owned by the verdict */
	bool audit;			 /* record a row for this image */
	const char *rule;    /* the row's rule (static or borrowed) */
	const char *message; /* the row's message, borrowed from decision */
};

struct decide_verdict {
	int status;	  /* 0: allow; else the first refusal's */
	char *message;	  /* the first refusal's message, or NULL */
	const char *rule; /* the first refusal's rule, or NULL */
	size_t named;	  /* the image the refusal names */
	char **warnings;  /* for the client's Warnings, in order */
	size_t n_warnings;
	struct decide_row *rows; /* one per image, in order */
	size_t n_rows;
	bool restore; /* a refused create of an app: bring its previous
			 container back (restore_on_refusal) */
};

/*
 * Decide on in (borrowed for the call).  A start or restart is judged on
 * its version against the history only: how the image was named and
 * where it came from were judged at its create.  Always fills *out;
 * caller calls decide_verdict_reset().
 */
void decide_eval(const struct decide_input *in, struct decide_verdict *out);

/* Free what *v holds (the rows' decisions too) and zero it. */
void decide_verdict_reset(struct decide_verdict *v);

/*
 * Why a container that a restore would bring back is not restored: what
 * the restore (judged as a create or start of ref, decision d, refusal
 * message, all borrowed) was refused for.  Caller frees.
 */
char *decide_restore_refusal(const char *ref, const struct policy_decision *d,
    const char *message);

#endif
