/*
 * The status page (GET / on the operators' listener), rendered: one HTML
 * document, plain HTML and inline CSS, readable without JavaScript and
 * loading nothing from anywhere (served with STATUS_PAGE_CSP).  Pure: the
 * caller fills struct status_page (status_data.h reads it from the
 * ledger); no I/O, no clock (the page's time is given).
 *
 * Every string in the page came from a client, the engine or the ledger
 * and is escaped wherever it is written: & < > " ' become entities,
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 become
 * U+FFFD.  So no byte of input ever opens a tag or leaves an attribute.
 */
#ifndef STATUS_PAGE_H
#define STATUS_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Content-Security-Policy the page is served with: nothing loads,
 * nothing runs; only the inline style applies. */
#define STATUS_PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'"
#define STATUS_PAGE_CONTENT_TYPE "text/html; charset=utf-8"

/* One container of an app's timeline (a deployments row). */
struct status_deploy {
	int64_t time;		    /* created, unix seconds */
	int64_t removed_at;	    /* 0: live */
	const char *version;	    /* NULL: unknown */
	const char *image_ref;	    /* as given */
	const char *repo_digest;    /* may be NULL */
	const char *container_name; /* may be NULL */
	const char *source;	    /* guard, sync, event, reconcile */
};

/* An app: its current and highest versions, its newest deployments. */
struct status_app {
	const char *name;
	const char *current; /* the newest live container's; NULL: none */
	const char *highest; /* NULL: no version known */
	const char *image;   /* the newest live container's; may be NULL */
	int live;
	int64_t last_change;		      /* unix seconds */
	const struct status_deploy *timeline; /* newest first */
	size_t n_timeline;
	bool timeline_cut; /* older deployments not shown */
};

/* An audit row shown on the page: a refusal, a drift finding, an engine
 * version change. */
struct status_event {
	int64_t time_ms;
	const char *rule, *verdict; /* may be NULL */
	const char *app, *image_ref, *version, *previous_version;
	const char *message;
	const char *comm; /* the client's process; may be NULL */
	int64_t uid;	  /* -1: unknown */
};

struct status_events {
	const struct status_event *items; /* newest first */
	size_t n;
	bool cut; /* older rows not shown */
};

/* The guard's own health. */
struct status_health {
	const char *guard_version;
	const char *host_name;	    /* may be NULL */
	int64_t started;	    /* unix seconds; 0: unknown */
	int engine_reachable;	    /* 1 yes, 0 no, -1 unknown */
	const char *engine_version; /* as last recorded; may be NULL */
	size_t ledger_queued;	    /* writes waiting to land */
	const char *ledger_error;   /* why the head did not land; NULL */
	bool fleet_set;		    /* a fleet ledger is configured */
	bool fleet_connected;	    /* ... and connected */
	int64_t drift_interval;	    /* seconds; 0: off; -1: unknown */
	int64_t last_drift_round;   /* unix seconds; 0: none yet */
};

struct status_page {
	int64_t now; /* unix seconds: the page's time */
	struct status_health health;
	const struct status_app *apps; /* most recently deployed first */
	size_t n_apps;
	bool apps_cut; /* more apps than shown */
	struct status_events refusals;
	struct status_events overrides; /* allowed by an override label */
	struct status_events drift;
	struct status_events engine;
	const char *error; /* the ledger could not be read: said on top */
};

/* The page as one HTML document of *len bytes (NUL-terminated).  Caller
 * frees.  Never fails. */
char *status_page_render(const struct status_page *p, size_t *len);

/* s (n bytes, may hold NULs) escaped for HTML text and attribute values,
 * appended to *buf (of *len bytes, capacity *cap; grown with xrealloc).
 * See the top of this file for what is escaped. */
void status_html_escape(char **buf, size_t *len, size_t *cap, const char *s,
    size_t n);

#endif
