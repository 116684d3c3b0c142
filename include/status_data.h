/*
 * The status page's facts, read from the ledger (store.h): the apps with
 * their current and highest versions and newest deployments, the recent
 * refusals, overrides, drift findings and engine version changes, and
 * the engine version last recorded.  Read-only, and every query is bounded (the
 * STATUS_DATA_* limits, each over an index of the local SQLite file; an
 * app's highest version compares its distinct versions), and the
 * store's connection never waits for a lock.  So a page costs the event
 * loop about a millisecond on a usual host; on a ledger of 30,000
 * deployments over 200 apps (100 versions each) and 20,000 audit rows,
 * about 25 ms of CPU for the facts and 2 ms to render 900 KB.
 */
#ifndef STATUS_DATA_H
#define STATUS_DATA_H

#include <stddef.h>

#include "status_page.h"

struct store;

#define STATUS_DATA_APPS 200	/* apps shown, most recently deployed */
#define STATUS_DATA_TIMELINE 20 /* deployments per app */
#define STATUS_DATA_REFUSALS 50
#define STATUS_DATA_OVERRIDES 20
#define STATUS_DATA_DRIFT 50
#define STATUS_DATA_ENGINE 20

/* The page and everything its pointers point at (owned). */
struct status_data {
	struct status_page page;
	struct status_app *apps;
	struct status_deploy **timelines; /* one array per app */
	struct status_event *refusals, *overrides, *drift, *engine;
	char **strings;
	size_t n_strings;
};

/*
 * Fill d (zeroed first) from st: page.apps, page.refusals,
 * page.overrides, page.drift, page.engine, health.engine_version and
 * health.last_drift_round (the meta keys engine_version and drift_last_round).  The caller fills now
 * and the rest of the health.  Never fails: what could not be read is
 * left out and said in page.error.  Free with status_data_reset.
 */
void status_data_load(struct status_data *d, struct store *st);

/* Free what status_data_load filled and zero *d. */
void status_data_reset(struct status_data *d);

#endif
