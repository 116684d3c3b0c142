/*
 * The status page of a running guard (status_page.h): the ledger's facts
 * (status_data.h) and the guard's own health, rendered for the operators'
 * listener.  Read-only: it writes nothing and shows no setting but
 * whether a fleet ledger is set (never its connection string, the
 * registry credentials or docker_config).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "drift.h"
#include "guard.h"
#include "guard_int.h"
#include "guard_version.h"
#include "ledger.h"
#include "monitor.h"
#include "status_data.h"
#include "status_page.h"

char *
guard_status_html(struct guard *g, size_t *len)
{
	const struct guard_config *cfg = guard_cfg(g);
	struct status_data d;
	struct status_health *h = &d.page.health;
	char *host = NULL, *cause = NULL, *html;

	/* Bounded reads of the local SQLite file, on the loop: see
	   status_data.h. */
	status_data_load(&d, g->store);
	if (cfg->host_name == NULL &&
	    store_meta_get(g->store, "host_name", &host, &cause) != 0)
		free(cause);
	d.page.now = time(NULL);
	h->guard_version = GUARD_VERSION;
	h->host_name = cfg->host_name != NULL ? cfg->host_name : host;
	h->started = g->started;
	h->engine_reachable = monitor_engine_up(g->monitor);
	h->ledger_queued = ledger_queued(g->ledger);
	h->ledger_error = ledger_error(g->ledger);
	h->fleet_set = g->fleet != NULL;
	h->fleet_connected = g->fleet != NULL && fleet_ready(g->fleet);
	h->drift_interval = cfg->drift_interval;
	h->last_drift_round = drift_last_round(g->drift);
	html = status_page_render(&d.page, len);
	status_data_reset(&d);
	free(host);
	return html;
}

int
guard_status_page(void *ctx, struct evhttp_request *req, struct evbuffer *out,
    const char **type)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	size_t len;
	char *html = guard_status_html(ctx, &len);

	evhttp_add_header(headers, "Content-Security-Policy", STATUS_PAGE_CSP);
	evhttp_add_header(headers, "X-Frame-Options", "DENY");
	evhttp_add_header(headers, "Referrer-Policy", "no-referrer");
	evbuffer_add(out, html, len);
	free(html);
	*type = STATUS_PAGE_CONTENT_TYPE;
	return 200;
}
