#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "route.h"

struct row {
	const char	*method;
	const char	*target;
	int		 ok;
	enum route_id	 id;
	const char	*path;
	const char	*version;
	const char	*param;
};

static const struct row rows[] = {
	{ "POST", "/v1.47/containers/abc/exec", 1, ROUTE_EXEC_CREATE,
	  "/containers/abc/exec", "1.47", "abc" },
	{ "POST", "/volumes/create", 1, ROUTE_VOLUME_CREATE,
	  "/volumes/create", NULL, NULL },
	{ "POST", "/v1.41/containers/web/update", 1, ROUTE_CONTAINER_UPDATE,
	  "/containers/web/update", "1.41", "web" },
	{ "GET", "/containers/abc/exec", 1, ROUTE_OTHER,
	  "/containers/abc/exec", NULL, NULL },
	{ "POST", "/containers/create", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", NULL, NULL },
	{ "POST", "/v1.41/containers/create?name=x", 1,
	  ROUTE_CONTAINER_CREATE, "/containers/create", "1.41", NULL },
	{ "POST", "/v1.45/containers/create", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", "1.45", NULL },
	{ "POST", "/v1/containers/create", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", "1", NULL },
	{ "POST", "/v./containers/create", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", ".", NULL },
	{ "POST", "/containers%2Fcreate", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", NULL, NULL },
	{ "POST", "/containers%2fcreate", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", NULL, NULL },
	{ "POST", "/%63ontainers/create", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", NULL, NULL },
	{ "POST", "/v1.41%2Fcontainers%2Fcreate", 1, ROUTE_CONTAINER_CREATE,
	  "/containers/create", "1.41", NULL },
	{ "GET", "/containers/create", 1, ROUTE_OTHER, "/containers/create",
	  NULL, NULL },
	{ "POST", "/Containers/create", 1, ROUTE_OTHER, "/Containers/create",
	  NULL, NULL },
	{ "POST", "/V1.41/containers/create", 1, ROUTE_OTHER,
	  "/V1.41/containers/create", NULL, NULL },
	{ "POST", "/services/create", 1, ROUTE_SERVICE_CREATE,
	  "/services/create", NULL, NULL },
	{ "POST", "/v1.41/services/abc/update?version=3&rollback=previous", 1,
	  ROUTE_SERVICE_UPDATE, "/services/abc/update", "1.41", "abc" },
	{ "POST", "/images/create?fromImage=x&tag=1", 1, ROUTE_IMAGE_CREATE,
	  "/images/create", NULL, NULL },
	{ "POST", "/v1.41/build?t=x&dockerfile=Dockerfile", 1, ROUTE_BUILD,
	  "/build", "1.41", NULL },
	{ "POST", "/b%75ild", 1, ROUTE_BUILD, "/build", NULL, NULL },
	{ "GET", "/build", 1, ROUTE_OTHER, "/build", NULL, NULL },
	{ "POST", "/build/prune", 1, ROUTE_OTHER, "/build/prune", NULL, NULL },
	{ "POST", "/v1.41/plugins/pull?remote=x", 1, ROUTE_PLUGIN_PULL,
	  "/plugins/pull", "1.41", NULL },
	{ "POST", "/plugins/create?name=x", 1, ROUTE_PLUGIN_CREATE,
	  "/plugins/create", NULL, NULL },
	{ "POST", "/plugins/vieux/sshfs:latest/upgrade?remote=y", 1,
	  ROUTE_PLUGIN_UPGRADE, "/plugins/vieux/sshfs:latest/upgrade", NULL,
	  "vieux/sshfs:latest" },
	{ "POST", "/plugins/p/enable", 1, ROUTE_OTHER, "/plugins/p/enable",
	  NULL, NULL },
	{ "POST", "/v1.41/containers/abc/start", 1, ROUTE_CONTAINER_START,
	  "/containers/abc/start", "1.41", "abc" },
	{ "POST", "/containers/a/b/start", 1, ROUTE_CONTAINER_START,
	  "/containers/a/b/start", NULL, "a/b" },
	{ "POST", "/v1.41/containers/abc/restart?t=1", 1,
	  ROUTE_CONTAINER_RESTART, "/containers/abc/restart", "1.41", "abc" },
	{ "POST", "/containers/%61bc/restart", 1, ROUTE_CONTAINER_RESTART,
	  "/containers/abc/restart", NULL, "abc" },
	{ "GET", "/containers/abc/restart", 1, ROUTE_OTHER,
	  "/containers/abc/restart", NULL, NULL },
	{ "POST", "/containers/abc/rename?name=y", 1, ROUTE_CONTAINER_RENAME,
	  "/containers/abc/rename", NULL, "abc" },
	{ "DELETE", "/v1.41/containers/abc?force=1", 1,
	  ROUTE_CONTAINER_DELETE, "/containers/abc", "1.41", "abc" },
	{ "POST", "/v1.41/containers/prune?filters=%7B%7D", 1,
	  ROUTE_CONTAINER_PRUNE, "/containers/prune", "1.41", NULL },
	{ "POST", "/containers/prune", 1, ROUTE_CONTAINER_PRUNE,
	  "/containers/prune", NULL, NULL },
	{ "GET", "/containers/prune", 1, ROUTE_OTHER, "/containers/prune", NULL,
	  NULL },
	{ "POST", "/v1.41/containers/abc/attach?stream=1", 1,
	  ROUTE_CONTAINER_ATTACH, "/containers/abc/attach", "1.41", "abc" },
	{ "GET", "/containers/abc/attach/ws", 1, ROUTE_CONTAINER_ATTACH_WS,
	  "/containers/abc/attach/ws", NULL, "abc" },
	{ "POST", "/v1.41/exec/e1/start", 1, ROUTE_EXEC_START,
	  "/exec/e1/start", "1.41", "e1" },
	{ "PUT", "/v1.41/containers/abc/archive?path=/x", 1,
	  ROUTE_CONTAINER_ARCHIVE, "/containers/abc/archive", "1.41", "abc" },
	{ "GET", "/containers/abc/archive?path=/x", 1, ROUTE_CONTAINER_ARCHIVE,
	  "/containers/abc/archive", NULL, "abc" },
	{ "HEAD", "/containers/a%2Fb/archive", 1, ROUTE_CONTAINER_ARCHIVE,
	  "/containers/a/b/archive", NULL, "a/b" },
	{ "POST", "/containers/abc/archive", 1, ROUTE_OTHER,
	  "/containers/abc/archive", NULL, NULL },
	{ "PUT", "/containers/abc/update", 1, ROUTE_OTHER,
	  "/containers/abc/update", NULL, NULL },
	{ "POST", "/v1.23/containers/abc/copy", 1, ROUTE_CONTAINER_COPY,
	  "/containers/abc/copy", "1.23", "abc" },
	{ "GET", "/containers/abc/copy", 1, ROUTE_OTHER, "/containers/abc/copy",
	  NULL, NULL },
	{ "HEAD", "/_ping", 1, ROUTE_PING, "/_ping", NULL, NULL },
	{ "GET", "/v1.41/_ping", 1, ROUTE_PING, "/_ping", "1.41", NULL },
	{ "POST", "/session", 1, ROUTE_SESSION, "/session", NULL, NULL },
	{ "GET", "/v1.41", 1, ROUTE_OTHER, "/", "1.41", NULL },
	{ "GET", "/version", 1, ROUTE_OTHER, "/version", NULL, NULL },
	{ "GET", "/", 1, ROUTE_OTHER, "/", NULL, NULL },
	{ "GET", "/images/docker.io/library/nginx:1/json", 1, ROUTE_OTHER,
	  "/images/docker.io/library/nginx:1/json", NULL, NULL },
	{ "POST", "/containers/create/start", 1, ROUTE_CONTAINER_START,
	  "/containers/create/start", NULL, "create" },
	/* Refused: the engine would read these differently. */
	{ "POST", "//containers/create", 0, 0, NULL, NULL, NULL },
	{ "POST", "/v1.41//containers/create", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers//create", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/./create", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/x/../create", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create/.", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create/..", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create/", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers%2F%2Fcreate", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers%2F.%2Fcreate", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/%2e%2e/containers/create", 0, 0, NULL, NULL,
	  NULL },
	{ "POST", "/containers/create%00", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create%", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create%4", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create%zz", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create#x", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/cr%C3%A9ate", 0, 0, NULL, NULL, NULL },
	{ "POST", "/containers/create%0a", 0, 0, NULL, NULL, NULL },
	{ "POST", "containers/create", 0, 0, NULL, NULL, NULL },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *row = &rows[i];
		struct route r;
		const char *cause = NULL;
		int rc = route_classify(row->method, row->target, &r, &cause);

		CHECKF((rc == 0) == (row->ok != 0), "row %zu %s %s: %s", i,
		    row->method, row->target, cause ? cause : "accepted");
		if (rc != 0)
			continue;
		CHECKF(r.id == row->id, "row %zu %s: id %s", i, row->target,
		    route_name(r.id));
		CHECKF(strcmp(r.path, row->path) == 0, "row %zu path %s", i,
		    r.path);
		CHECKF(row->version == NULL ? r.version == NULL :
		    r.version != NULL && strcmp(r.version, row->version) == 0,
		    "row %zu version %s", i, r.version ? r.version : "(none)");
		CHECKF(row->param == NULL ? r.param == NULL :
		    r.param != NULL && strcmp(r.param, row->param) == 0,
		    "row %zu param %s", i, r.param ? r.param : "(none)");
		route_reset(&r);
	}
}

static void
test_query(void)
{
	char *v;

	CHECK_INT_EQ(route_query_get("name=web&platform=linux", "name", &v),
	    0);
	CHECK_STR_EQ(v, "web");
	free(v);
	CHECK_INT_EQ(route_query_get("fromImage=docker.io%2Flibrary%2Fx&"
	    "tag=1.0", "fromImage", &v), 0);
	CHECK_STR_EQ(v, "docker.io/library/x");
	free(v);
	CHECK_INT_EQ(route_query_get("a=1&a=2", "a", &v), 0);
	CHECK_STR_EQ(v, "1");
	free(v);
	CHECK_INT_EQ(route_query_nth("a=1&b=0&a=%32", "a", 1, &v), 0);
	CHECK_STR_EQ(v, "2");
	free(v);
	CHECK_INT_EQ(route_query_nth("a=1&a=2", "a", 2, &v), 0);
	CHECK(v == NULL);
	CHECK_INT_EQ(route_query_nth("a=1&a=%zz", "a", 0, &v), -1);
	CHECK(v == NULL);
	CHECK_INT_EQ(route_query_get("a=x+y", "a", &v), 0);
	CHECK_STR_EQ(v, "x y");
	free(v);
	CHECK_INT_EQ(route_query_get("rollback", "rollback", &v), 0);
	CHECK_STR_EQ(v, "");
	free(v);
	CHECK_INT_EQ(route_query_get("b=1", "a", &v), 0);
	CHECK(v == NULL);
	CHECK_INT_EQ(route_query_get(NULL, "a", &v), 0);
	CHECK(v == NULL);
	CHECK_INT_EQ(route_query_get("a=1;b=2", "a", &v), -1);
	CHECK_INT_EQ(route_query_get("a=%zz", "a", &v), -1);
	CHECK_INT_EQ(route_query_get("b=%zz&a=1", "a", &v), -1);
	CHECK_INT_EQ(route_query_get("%61=1", "a", &v), 0);
	CHECK_STR_EQ(v, "1");
	free(v);
}

/*
 * The route table, golden.  Flags, one letter each: G guarded, H decided
 * on the head, F reads a form body, R refuses a form body, C checks the
 * response, X removes containers, O observed, E runs an existing
 * container, P path policy, J may hijack, L judged by a profile's limits,
 * N acts in an existing container (judged by it under a profile's limits).
 */
struct traits_row {
	enum route_id	 id;
	const char	*name;
	const char	*action;
	const char	*flags;
};

static const struct traits_row traits_rows[] = {
	{ ROUTE_OTHER, "other", "handle", "" },
	{ ROUTE_PING, "_ping", "handle", "" },
	{ ROUTE_CONTAINER_CREATE, "containers/create", "create", "GCL" },
	{ ROUTE_CONTAINER_START, "containers/{id}/start", "start", "HEN" },
	{ ROUTE_CONTAINER_RESTART, "containers/{id}/restart", "restart",
	  "HEN" },
	{ ROUTE_CONTAINER_RENAME, "containers/{id}/rename", "handle", "RO" },
	{ ROUTE_CONTAINER_DELETE, "containers/{id} (delete)", "handle",
	  "HXO" },
	{ ROUTE_CONTAINER_ATTACH, "containers/{id}/attach", "handle", "JN" },
	{ ROUTE_CONTAINER_ATTACH_WS, "containers/{id}/attach/ws", "handle",
	  "JN" },
	{ ROUTE_EXEC_START, "exec/{id}/start", "handle", "JN" },
	{ ROUTE_SERVICE_CREATE, "services/create", "create", "GCL" },
	{ ROUTE_SERVICE_UPDATE, "services/{id}/update", "update", "GCL" },
	{ ROUTE_IMAGE_CREATE, "images/create", "pull", "HF" },
	{ ROUTE_SESSION, "session", "handle", "HPJ" },
	{ ROUTE_GRPC, "grpc", "handle", "HPJ" },
	{ ROUTE_CONTAINER_PRUNE, "containers/prune", "handle", "HX" },
	{ ROUTE_BUILD, "build", "build", "HP" },
	{ ROUTE_PLUGIN_PULL, "plugins/pull", "pull", "HFP" },
	{ ROUTE_PLUGIN_UPGRADE, "plugins/{name}/upgrade", "pull", "HFP" },
	{ ROUTE_PLUGIN_CREATE, "plugins/create", "handle", "HP" },
	{ ROUTE_EXEC_CREATE, "containers/{id}/exec", "exec", "L" },
	{ ROUTE_VOLUME_CREATE, "volumes/create", "create", "L" },
	{ ROUTE_CONTAINER_UPDATE, "containers/{id}/update", "update", "L" },
	{ ROUTE_CONTAINER_ARCHIVE, "containers/{id}/archive", "copy", "N" },
	{ ROUTE_CONTAINER_COPY, "containers/{id}/copy", "copy", "N" },
};

/* The letters of t's flags, in the order of traits_row's comment. */
static void
traits_flags(const struct route_traits *t, char out[16])
{
	char *o = out;

	if (t->guarded)
		*o++ = 'G';
	if (t->head_decided)
		*o++ = 'H';
	if (t->reads_form)
		*o++ = 'F';
	if (t->refuses_form)
		*o++ = 'R';
	if (t->checks_response)
		*o++ = 'C';
	if (t->removes)
		*o++ = 'X';
	if (t->observed)
		*o++ = 'O';
	if (t->runs_existing)
		*o++ = 'E';
	if (t->path_policy)
		*o++ = 'P';
	if (t->may_hijack)
		*o++ = 'J';
	if (t->limited)
		*o++ = 'L';
	if (t->enters_container)
		*o++ = 'N';
	*o = '\0';
}

/* Same letters, any order: the golden rows list them as they read best. */
static int
same_flags(const char *a, const char *b)
{
	if (strlen(a) != strlen(b))
		return 0;
	for (; *a != '\0'; a++)
		if (strchr(b, *a) == NULL)
			return 0;
	return 1;
}

static void
test_traits_golden(void)
{
	CHECK_INT_EQ(sizeof traits_rows / sizeof traits_rows[0], ROUTE_COUNT);
	for (size_t i = 0; i < sizeof traits_rows / sizeof traits_rows[0];
	    i++) {
		const struct traits_row *row = &traits_rows[i];
		const struct route_traits *t = route_traits(row->id);
		char flags[16];

		traits_flags(t, flags);
		CHECKF(t->id == row->id, "row %zu: id %d", i, (int)t->id);
		CHECK_STR_EQ(t->name, row->name);
		CHECK_STR_EQ(route_name(row->id), row->name);
		CHECK_STR_EQ(t->action, row->action);
		CHECKF(same_flags(flags, row->flags), "%s: flags \"%s\", "
		    "expected \"%s\"", row->name, flags, row->flags);
		CHECK((route_may_hijack(row->id) != 0) == (t->may_hijack != 0));
	}
}

/* Route groups: the table's column, else the path's first segment. */
static void
test_groups(void)
{
	static const struct {
		const char *method, *target, *group;
	} g[] = {
		{ "POST", "/v1.41/containers/create", "containers" },
		{ "GET", "/containers/json", "containers" },
		{ "GET", "/v1.41/containers/x/archive", "containers" },
		{ "POST", "/containers/x/exec", "exec" },
		{ "GET", "/exec/e/json", "exec" },
		{ "POST", "/exec/e/start", "exec" },
		{ "GET", "/_ping", "ping" },
		{ "HEAD", "/v1.41/_ping", "ping" },
		{ "GET", "/version", "version" },
		{ "GET", "/images/json", "images" },
		{ "POST", "/images/create", "images" },
		{ "GET", "/events", "events" },
		{ "GET", "/info", "info" },
		{ "GET", "/system/df", "system" },
		{ "POST", "/build", "build" },
		{ "POST", "/build/prune", "build" },
		{ "POST", "/volumes/create", "volumes" },
		{ "POST", "/services/create", "services" },
		{ "GET", "/tasks", "tasks" },
		{ "POST", "/session", "session" },
		{ "GET", "/nope", "" },
		{ "GET", "/", "" },
		{ "GET", "/containersx/json", "" },
	};

	for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
		struct route r;
		const char *cause;

		CHECK(route_classify(g[i].method, g[i].target, &r, &cause) ==
		    0);
		CHECK_STR_EQ(route_group_name(route_group(&r)), g[i].group);
		route_reset(&r);
	}
	CHECK(route_group_by_name("swarm", 5) == ROUTE_GROUP_SWARM);
	CHECK(route_group_by_name("Swarm", 5) == ROUTE_GROUP_NONE);
	CHECK(route_group_by_name("", 0) == ROUTE_GROUP_NONE);
}

/* Every route_id has its own row, and the rows agree with each other. */
static void
test_traits_every_id(void)
{
	for (int id = 0; id < ROUTE_COUNT; id++) {
		const struct route_traits *t = route_traits((enum route_id)id);

		CHECKF(t->id == (enum route_id)id, "route %d has no row", id);
		CHECKF(t->name != NULL && t->action != NULL,
		    "route %d has no name or action", id);
		/* Decided either on the whole body or on the head. */
		CHECKF(!(t->guarded && t->head_decided), "%s", t->name);
		/* A form body read whole is decided with the head. */
		CHECKF(!t->reads_form || t->head_decided, "%s", t->name);
		CHECKF(!t->checks_response || t->guarded, "%s", t->name);
		CHECKF(!t->runs_existing || t->head_decided, "%s", t->name);
		CHECKF(!t->removes || t->head_decided, "%s", t->name);
		CHECKF(!t->path_policy || t->head_decided, "%s", t->name);
		for (int j = 0; j < id; j++)
			CHECKF(strcmp(route_traits((enum route_id)j)->name,
			    t->name) != 0, "%s twice", t->name);
	}
	/* Out of range: the pass-through row, never NULL. */
	CHECK(route_traits(ROUTE_COUNT)->id == ROUTE_OTHER);
	CHECK(route_traits((enum route_id)-1)->id == ROUTE_OTHER);
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
	{ "query", test_query },
	{ "traits_golden", test_traits_golden },
	{ "traits_every_id", test_traits_every_id },
	{ "groups", test_groups },
};

int
main(void)
{
	return CHECK_RUN("route", cases);
}
