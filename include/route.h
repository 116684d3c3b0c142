/*
 * Docker Engine API routes, classified exactly as the engine routes them.
 * Pure: no I/O.
 *
 * The engine (gorilla/mux under Go net/http) registers every route twice,
 * with a "/v{version:[0-9.]+}" prefix and without; it matches on the
 * percent-decoded path, and answers a non-clean path ("//", "/./",
 * "/../") with a redirect.  The guard decodes the path once, strips the
 * optional version prefix and then classifies the rest.  Paths the engine
 * would read differently from a plain reading are refused: bad percent
 * escapes, a decoded NUL, non-clean paths, a trailing slash, '#'.
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stdbool.h>

enum route_id {
	ROUTE_OTHER,		   /* passed through untouched */
	ROUTE_PING,		   /* GET|HEAD /_ping */
	ROUTE_CONTAINER_CREATE,	   /* POST /containers/create */
	ROUTE_CONTAINER_START,	   /* POST /containers/{name}/start */
	ROUTE_CONTAINER_RESTART,   /* POST /containers/{name}/restart */
	ROUTE_CONTAINER_RENAME,	   /* POST /containers/{name}/rename */
	ROUTE_CONTAINER_DELETE,	   /* DELETE /containers/{name} */
	ROUTE_CONTAINER_ATTACH,	   /* POST /containers/{name}/attach */
	ROUTE_CONTAINER_ATTACH_WS, /* GET /containers/{name}/attach/ws */
	ROUTE_EXEC_START,	   /* POST /exec/{id}/start */
	ROUTE_SERVICE_CREATE,	   /* POST /services/create */
	ROUTE_SERVICE_UPDATE,	   /* POST /services/{id}/update */
	ROUTE_IMAGE_CREATE,	   /* POST /images/create (pull, import) */
	ROUTE_SESSION,		   /* POST /session (BuildKit) */
	ROUTE_GRPC,		   /* POST /grpc (BuildKit) */
	ROUTE_CONTAINER_PRUNE,	   /* POST /containers/prune */
	ROUTE_BUILD,		   /* POST /build */
	ROUTE_PLUGIN_PULL,	   /* POST /plugins/pull */
	ROUTE_PLUGIN_UPGRADE,	   /* POST /plugins/{name}/upgrade */
	ROUTE_PLUGIN_CREATE,	   /* POST /plugins/create */
};

struct route {
	enum route_id id;
	char *path;    /* decoded, without the version prefix */
	char *version; /* "1.41", or NULL when absent */
	char *query;   /* raw query (after '?'), or NULL */
	char *param;   /* {name} or {id} when the route has one */
};

/*
 * Classify method and request target.  On success fill *out (caller calls
 * route_reset) and return 0; on refusal return -1 with *cause.
 */
int route_classify(const char *method, const char *target, struct route *out,
    const char **cause);
void route_reset(struct route *r);

/* A stable name for the route: "containers/create", "other", ... */
const char *route_name(enum route_id id);

/* True for routes where the engine may take over the connection. */
bool route_may_hijack(enum route_id id);

/*
 * The first value of key in a raw query, decoded as Go's url.ParseQuery
 * does ('+' is a space, %XX escapes).  Returns 0 and an allocated *value
 * (NULL if the key is absent), or -1 if the query is malformed (bad
 * escape, ';' separator) — the engine would refuse it too.
 */
int route_query_get(const char *query, const char *key, char **value);

#endif
