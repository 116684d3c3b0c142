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
#include <stddef.h>

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
	ROUTE_EXEC_CREATE,	   /* POST /containers/{name}/exec */
	ROUTE_VOLUME_CREATE,	   /* POST /volumes/create */
	ROUTE_CONTAINER_UPDATE,	   /* POST /containers/{name}/update */
	ROUTE_CONTAINER_ARCHIVE,   /* GET|HEAD|PUT /containers/{name}/archive */
	ROUTE_CONTAINER_COPY,	   /* POST /containers/{name}/copy (API <
				      1.24) */
	ROUTE_COUNT		   /* not a route: how many there are */
};

/*
 * Route groups, as Tecnativa's docker-socket-proxy names its variables
 * (lower case): the first segment of the path, except that
 * /containers/{name}/exec is in "exec" with /exec/...  Profiles
 * (profile.h) allow or refuse by group.
 */
enum route_group {
	ROUTE_GROUP_NONE, /* no group names the path (the engine 404s it);
			     in route_traits: by the path's first segment */
	ROUTE_GROUP_AUTH,
	ROUTE_GROUP_BUILD,
	ROUTE_GROUP_COMMIT,
	ROUTE_GROUP_CONFIGS,
	ROUTE_GROUP_CONTAINERS,
	ROUTE_GROUP_DISTRIBUTION,
	ROUTE_GROUP_EVENTS,
	ROUTE_GROUP_EXEC,
	ROUTE_GROUP_GRPC,
	ROUTE_GROUP_IMAGES,
	ROUTE_GROUP_INFO,
	ROUTE_GROUP_NETWORKS,
	ROUTE_GROUP_NODES,
	ROUTE_GROUP_PING,
	ROUTE_GROUP_PLUGINS,
	ROUTE_GROUP_SECRETS,
	ROUTE_GROUP_SERVICES,
	ROUTE_GROUP_SESSION,
	ROUTE_GROUP_SWARM,
	ROUTE_GROUP_SYSTEM,
	ROUTE_GROUP_TASKS,
	ROUTE_GROUP_VERSION,
	ROUTE_GROUP_VOLUMES,
	ROUTE_GROUP_COUNT /* not a group */
};

/*
 * What the proxy and the guard do with a route: one row per route_id in
 * route.c's table, so that how a route is handled is said in one place.
 */
struct route_traits {
	enum route_id id;
	const char *name;   /* stable: "containers/create", "other", ... */
	const char *action; /* the verb the guard records: "create",
			       "pull", ...; "handle" for the rest */
	/* The body is read whole and decided on before anything reaches
	   the engine (container and service creates and updates). */
	bool guarded;
	/* Decided on the head alone; the body, if any, streams on
	   (pulls and imports, removals, starts, builds, BuildKit,
	   plugins). */
	bool head_decided;
	/* The engine reads its parameters with ParseForm, so from a form
	   body too: a form body (x-www-form-urlencoded) is then read whole
	   and decided on with the head. */
	bool reads_form;
	/* A form body is refused: the engine would take parameters from
	   it, where the guard follows the query (rename). */
	bool refuses_form;
	/* The decider checks the engine's response to the forwarded
	   request (the new container's or service's ID). */
	bool checks_response;
	/* Removes containers: the decider records what the engine
	   removed from its response. */
	bool removes;
	/* The decider hears of the engine's answer (decision port
	   observe(), whether or not it decided on the request) to keep
	   the ledger straight (rename, remove). */
	bool observed;
	/* Runs an existing container: its image is judged, not the
	   request (start, restart). */
	bool runs_existing;
	/* Judged by the path policy (builds, BuildKit, plugins). */
	bool path_policy;
	/* The engine may take the connection over (attach, exec,
	   BuildKit). */
	bool may_hijack;
	/* Its route group; ROUTE_GROUP_NONE: by the path (route_group()). */
	enum route_group group;
	/* A profile's create limits judge its body (profile.h): read whole
	   and decided on when the session's profile has limits, else
	   passed through (exec and volume creates, container updates); the
	   guarded routes are judged on the body they read anyway. */
	bool limited;
	/* Acts in an existing container with what it has of the host (its
	   binds, privileges, namespaces): when the session's profile has
	   limits, decided on the head, the container judged as its create
	   would be and the request sent to it by its full ID (start,
	   restart, attach, copies in and out); an exec's start: the exec
	   is asked for its container and its own Privileged. */
	bool enters_container;
};

struct route {
	enum route_id id;
	char *path;    /* decoded, without the version prefix */
	char *version; /* "1.41", or NULL when absent */
	char *query;   /* raw query (after '?'), or NULL */
	char *param;   /* {name} or {id} when the route has one */
};

/*
 * Classify method and request target (both borrowed).  On success fill
 * *out with allocated strings (the caller calls route_reset) and return
 * 0; on refusal return -1 with *cause (static) and nothing to reset.
 */
int route_classify(const char *method, const char *target, struct route *out,
    const char **cause);
/* Free r's strings and zero it (safe on a zeroed route). */
void route_reset(struct route *r);

/* The traits of route id (static, never NULL; an id out of range gets
 * ROUTE_OTHER's row). */
const struct route_traits *route_traits(enum route_id id);

/* A stable name for the route: route_traits(id)->name (static). */
const char *route_name(enum route_id id);

/* True for routes where the engine may take over the connection:
 * route_traits(id)->may_hijack. */
bool route_may_hijack(enum route_id id);

/* The group of a classified route: its row's, else by the first segment
 * of r->path ("_ping" is ping).  No allocation. */
enum route_group route_group(const struct route *r);

/* The group's name ("containers"; "" for ROUTE_GROUP_NONE; static). */
const char *route_group_name(enum route_group g);

/* The group named by the len bytes at name (exact, lower case), or
 * ROUTE_GROUP_NONE. */
enum route_group route_group_by_name(const char *name, size_t len);

/*
 * The first value of key in a raw query, decoded as Go's url.ParseQuery
 * does ('+' is a space, %XX escapes).  Returns 0 and an allocated *value
 * (NULL if the key is absent), or -1 if the query is malformed (bad
 * escape, ';' separator) — the engine would refuse it too.
 */
int route_query_get(const char *query, const char *key, char **value);

/* The same for the n-th value (from 0) of a key given more than once
 * (Go's r.Form[key][n]); *value NULL past the last. */
int route_query_nth(const char *query, const char *key, size_t n, char **value);

/*
 * One query or form component of len bytes, decoded as Go's
 * url.QueryUnescape does ('+' is a space, %XX escapes).  Returns the
 * decoded string (caller frees), or NULL on a bad escape or a decoded
 * NUL.
 */
char *route_query_unescape(const char *s, size_t len);

#endif
