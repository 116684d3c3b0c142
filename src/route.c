#include <stdlib.h>
#include <string.h>

#include "hexdigit.h"
#include "route.h"
#include "xmalloc.h"

void
route_reset(struct route *r)
{
	free(r->path);
	free(r->version);
	free(r->query);
	free(r->param);
	memset(r, 0, sizeof *r);
}

/* Decode %XX escapes (and '+' when plus_is_space) into a new string. */
static char *
percent_decode(const char *s, size_t len, bool plus_is_space)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (i + 2 >= len ||
			    (hi = hex_digit_value((unsigned char)s[i + 1])) <
				0 ||
			    (lo = hex_digit_value((unsigned char)s[i + 2])) <
				0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus_is_space && s[i] == '+') {
			*o++ = ' ';
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	if ((size_t)(o - out) != strlen(out)) { /* decoded NUL */
		free(out);
		return NULL;
	}
	return out;
}

/* A path gorilla/mux would redirect: "//", "/./", "/../", "/." or "/.." at
 * the end. */
static bool
path_is_clean(const char *p)
{
	for (const char *s = p; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		if (s[1] == '/')
			return false;
		if (s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			return false;
		if (s[1] == '.' && s[2] == '.' && (s[3] == '/' || s[3] == '\0'))
			return false;
	}
	return true;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/*
 * Match "/<prefix>/{param:.*}<suffix>" as mux does: the parameter may
 * contain slashes but must not be empty.
 */
static bool
match_param(const char *path, const char *prefix, const char *suffix,
    char **param)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), len = strlen(path);

	if (len <= lp + ls || !has_prefix(path, prefix) ||
	    !has_suffix(path, suffix))
		return false;
	*param = xstrndup(path + lp, len - lp - ls);
	return true;
}

/* Methods, as bits of a pattern's mask. */
#define M_GET 0x1
#define M_HEAD 0x2
#define M_POST 0x4
#define M_DELETE 0x8
#define M_PUT 0x10

/*
 * The engine's routes the guard tells apart, in the order they are tried.
 * With a suffix, the path is "<prefix>{param}<suffix>" (param non-empty,
 * slashes allowed, as mux's "{name:.*}"); without, the path is prefix
 * exactly.  No path matches two patterns of one method, so the order
 * only says which is tried first.
 */
static const struct route_pattern {
	unsigned methods;
	const char *prefix;
	const char *suffix; /* NULL: the path is prefix */
	enum route_id id;
} patterns[] = {
	{ M_GET | M_HEAD, "/_ping", NULL, ROUTE_PING },
	{ M_POST, "/containers/create", NULL, ROUTE_CONTAINER_CREATE },
	{ M_POST, "/services/create", NULL, ROUTE_SERVICE_CREATE },
	{ M_POST, "/images/create", NULL, ROUTE_IMAGE_CREATE },
	{ M_POST, "/session", NULL, ROUTE_SESSION },
	{ M_POST, "/grpc", NULL, ROUTE_GRPC },
	{ M_POST, "/containers/prune", NULL, ROUTE_CONTAINER_PRUNE },
	{ M_POST, "/build", NULL, ROUTE_BUILD },
	{ M_POST, "/plugins/pull", NULL, ROUTE_PLUGIN_PULL },
	{ M_POST, "/plugins/create", NULL, ROUTE_PLUGIN_CREATE },
	{ M_POST, "/plugins/", "/upgrade", ROUTE_PLUGIN_UPGRADE },
	{ M_POST, "/containers/", "/start", ROUTE_CONTAINER_START },
	{ M_POST, "/containers/", "/restart", ROUTE_CONTAINER_RESTART },
	{ M_POST, "/containers/", "/rename", ROUTE_CONTAINER_RENAME },
	{ M_POST, "/containers/", "/attach", ROUTE_CONTAINER_ATTACH },
	{ M_GET, "/containers/", "/attach/ws", ROUTE_CONTAINER_ATTACH_WS },
	{ M_POST, "/exec/", "/start", ROUTE_EXEC_START },
	{ M_POST, "/services/", "/update", ROUTE_SERVICE_UPDATE },
	{ M_POST, "/volumes/create", NULL, ROUTE_VOLUME_CREATE },
	{ M_POST, "/containers/", "/exec", ROUTE_EXEC_CREATE },
	{ M_POST, "/containers/", "/update", ROUTE_CONTAINER_UPDATE },
	{ M_DELETE, "/containers/", "", ROUTE_CONTAINER_DELETE },
	{ M_GET | M_HEAD | M_PUT, "/containers/", "/archive",
	    ROUTE_CONTAINER_ARCHIVE },
	{ M_POST, "/containers/", "/copy", ROUTE_CONTAINER_COPY },
};

/* The bit of a method the patterns name, or 0 for any other. */
static unsigned
method_bit(const char *method)
{
	static const struct {
		const char *name;
		unsigned bit;
	} methods[] = {
		{ "GET", M_GET },
		{ "HEAD", M_HEAD },
		{ "POST", M_POST },
		{ "DELETE", M_DELETE },
		{ "PUT", M_PUT },
	};

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(method, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

/* The route of method and decoded path p; *param is set (allocated) for
 * routes with a parameter. */
static enum route_id
classify_path(const char *method, const char *p, char **param)
{
	unsigned bit = method_bit(method);

	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		const struct route_pattern *pat = &patterns[i];

		if ((pat->methods & bit) == 0)
			continue;
		if (pat->suffix == NULL
			? strcmp(p, pat->prefix) == 0
			: match_param(p, pat->prefix, pat->suffix, param))
			return pat->id;
	}
	return ROUTE_OTHER;
}

int
route_classify(const char *method, const char *target, struct route *out,
    const char **cause)
{
	const char *q = strchr(target, '?');
	size_t raw_len = q != NULL ? (size_t)(q - target) : strlen(target);
	char *path;
	const char *rest;

	memset(out, 0, sizeof *out);
	if (strchr(target, '#') != NULL) {
		*cause = "'#' in the request target";
		return -1;
	}
	if (target[0] != '/') {
		*cause = "the request target must start with '/'";
		return -1;
	}
	path = percent_decode(target, raw_len, false);
	if (path == NULL) {
		*cause = "bad percent-encoding in the path";
		return -1;
	}
	for (const char *s = path; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) {
			free(path);
			*cause = "control or non-ASCII character in the "
				 "decoded path";
			return -1;
		}
	}
	if (!path_is_clean(path)) {
		free(path);
		*cause = "the path has empty, '.' or '..' segments (the "
			 "engine would redirect it)";
		return -1;
	}
	if (strlen(path) > 1 && path[strlen(path) - 1] == '/') {
		free(path);
		*cause = "the path ends with '/'";
		return -1;
	}

	/* The optional "/v{version:[0-9.]+}" prefix. */
	rest = path;
	if (path[1] == 'v' && strchr("0123456789.", path[2]) != NULL &&
	    path[2] != '\0') {
		const char *v = path + 2;
		size_t n = strspn(v, "0123456789.");

		if (v[n] == '/') {
			out->version = xstrndup(v, n);
			rest = v + n;
		} else if (v[n] == '\0') {
			/* "/v1.41" alone: no route, the engine says 404. */
			out->version = xstrndup(v, n);
			rest = "/";
		}
	}
	out->path = xstrdup(rest);
	free(path);
	if (q != NULL)
		out->query = xstrdup(q + 1);
	out->id = classify_path(method, out->path, &out->param);
	return 0;
}

/*
 * How each route is handled, one row per route_id (route.h says what each
 * trait means).  Every decision on a route by the proxy or the guard reads
 * this table.
 */
static const struct route_traits traits[ROUTE_COUNT] = {
	[ROUTE_OTHER] = { .id = ROUTE_OTHER,
	    .name = "other",
	    .action = "handle" },
	[ROUTE_PING] = { .id = ROUTE_PING,
	    .group = ROUTE_GROUP_PING,
	    .name = "_ping",
	    .action = "handle" },
	[ROUTE_CONTAINER_CREATE] = { .id = ROUTE_CONTAINER_CREATE,
	    .limited = true,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/create",
	    .action = "create",
	    .guarded = true,
	    .checks_response = true },
	[ROUTE_CONTAINER_START] = { .id = ROUTE_CONTAINER_START,
	    .enters_container = true,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id}/start",
	    .action = "start",
	    .head_decided = true,
	    .runs_existing = true },
	[ROUTE_CONTAINER_RESTART] = { .id = ROUTE_CONTAINER_RESTART,
	    .enters_container = true,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id}/restart",
	    .action = "restart",
	    .head_decided = true,
	    .runs_existing = true },
	[ROUTE_CONTAINER_RENAME] = { .id = ROUTE_CONTAINER_RENAME,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id}/rename",
	    .action = "handle",
	    .refuses_form = true,
	    .observed = true },
	[ROUTE_CONTAINER_DELETE] = { .id = ROUTE_CONTAINER_DELETE,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id} (delete)",
	    .action = "handle",
	    .head_decided = true,
	    .removes = true,
	    .observed = true },
	[ROUTE_CONTAINER_ATTACH] = { .id = ROUTE_CONTAINER_ATTACH,
	    .enters_container = true,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id}/attach",
	    .action = "handle",
	    .may_hijack = true },
	[ROUTE_CONTAINER_ATTACH_WS] = { .id = ROUTE_CONTAINER_ATTACH_WS,
	    .enters_container = true,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/{id}/attach/ws",
	    .action = "handle",
	    .may_hijack = true },
	[ROUTE_EXEC_START] = { .id = ROUTE_EXEC_START,
	    .enters_container = true,
	    .group = ROUTE_GROUP_EXEC,
	    .name = "exec/{id}/start",
	    .action = "handle",
	    .may_hijack = true },
	[ROUTE_SERVICE_CREATE] = { .id = ROUTE_SERVICE_CREATE,
	    .limited = true,
	    .group = ROUTE_GROUP_SERVICES,
	    .name = "services/create",
	    .action = "create",
	    .guarded = true,
	    .checks_response = true },
	[ROUTE_SERVICE_UPDATE] = { .id = ROUTE_SERVICE_UPDATE,
	    .limited = true,
	    .group = ROUTE_GROUP_SERVICES,
	    .name = "services/{id}/update",
	    .action = "update",
	    .guarded = true,
	    .checks_response = true },
	[ROUTE_IMAGE_CREATE] = { .id = ROUTE_IMAGE_CREATE,
	    .group = ROUTE_GROUP_IMAGES,
	    .name = "images/create",
	    .action = "pull",
	    .head_decided = true,
	    .reads_form = true },
	[ROUTE_SESSION] = { .id = ROUTE_SESSION,
	    .group = ROUTE_GROUP_SESSION,
	    .name = "session",
	    .action = "handle",
	    .head_decided = true,
	    .path_policy = true,
	    .may_hijack = true },
	[ROUTE_GRPC] = { .id = ROUTE_GRPC,
	    .group = ROUTE_GROUP_GRPC,
	    .name = "grpc",
	    .action = "handle",
	    .head_decided = true,
	    .path_policy = true,
	    .may_hijack = true },
	[ROUTE_CONTAINER_PRUNE] = { .id = ROUTE_CONTAINER_PRUNE,
	    .group = ROUTE_GROUP_CONTAINERS,
	    .name = "containers/prune",
	    .action = "handle",
	    .head_decided = true,
	    .removes = true },
	[ROUTE_BUILD] = { .id = ROUTE_BUILD,
	    .group = ROUTE_GROUP_BUILD,
	    .name = "build",
	    .action = "build",
	    .head_decided = true,
	    .path_policy = true },
	[ROUTE_PLUGIN_PULL] = { .id = ROUTE_PLUGIN_PULL,
	    .group = ROUTE_GROUP_PLUGINS,
	    .name = "plugins/pull",
	    .action = "pull",
	    .head_decided = true,
	    .reads_form = true,
	    .path_policy = true },
	[ROUTE_PLUGIN_UPGRADE] = { .id = ROUTE_PLUGIN_UPGRADE,
	    .group = ROUTE_GROUP_PLUGINS,
	    .name = "plugins/{name}/upgrade",
	    .action = "pull",
	    .head_decided = true,
	    .reads_form = true,
	    .path_policy = true },
	[ROUTE_PLUGIN_CREATE] = { .id = ROUTE_PLUGIN_CREATE,
	    .group = ROUTE_GROUP_PLUGINS,
	    .name = "plugins/create",
	    .action = "handle",
	    .head_decided = true,
	    .path_policy = true },
	[ROUTE_EXEC_CREATE] = { .id = ROUTE_EXEC_CREATE,
	    .name = "containers/{id}/exec",
	    .action = "exec",
	    .group = ROUTE_GROUP_EXEC,
	    .limited = true },
	[ROUTE_VOLUME_CREATE] = { .id = ROUTE_VOLUME_CREATE,
	    .name = "volumes/create",
	    .action = "create",
	    .group = ROUTE_GROUP_VOLUMES,
	    .limited = true },
	[ROUTE_CONTAINER_UPDATE] = { .id = ROUTE_CONTAINER_UPDATE,
	    .name = "containers/{id}/update",
	    .action = "update",
	    .group = ROUTE_GROUP_CONTAINERS,
	    .limited = true },
	[ROUTE_CONTAINER_ARCHIVE] = { .id = ROUTE_CONTAINER_ARCHIVE,
	    .name = "containers/{id}/archive",
	    .action = "copy",
	    .group = ROUTE_GROUP_CONTAINERS,
	    .enters_container = true },
	[ROUTE_CONTAINER_COPY] = { .id = ROUTE_CONTAINER_COPY,
	    .name = "containers/{id}/copy",
	    .action = "copy",
	    .group = ROUTE_GROUP_CONTAINERS,
	    .enters_container = true },
};

const struct route_traits *
route_traits(enum route_id id)
{
	if ((unsigned)id >= ROUTE_COUNT)
		return &traits[ROUTE_OTHER];
	return &traits[id];
}

const char *
route_name(enum route_id id)
{
	return route_traits(id)->name;
}

bool
route_may_hijack(enum route_id id)
{
	return route_traits(id)->may_hijack;
}

/* The groups' names, by enum route_group; a path's first segment names
 * its group, but for "_ping". */
static const char *const group_names[ROUTE_GROUP_COUNT] = {
	[ROUTE_GROUP_NONE] = "",
	[ROUTE_GROUP_AUTH] = "auth",
	[ROUTE_GROUP_BUILD] = "build",
	[ROUTE_GROUP_COMMIT] = "commit",
	[ROUTE_GROUP_CONFIGS] = "configs",
	[ROUTE_GROUP_CONTAINERS] = "containers",
	[ROUTE_GROUP_DISTRIBUTION] = "distribution",
	[ROUTE_GROUP_EVENTS] = "events",
	[ROUTE_GROUP_EXEC] = "exec",
	[ROUTE_GROUP_GRPC] = "grpc",
	[ROUTE_GROUP_IMAGES] = "images",
	[ROUTE_GROUP_INFO] = "info",
	[ROUTE_GROUP_NETWORKS] = "networks",
	[ROUTE_GROUP_NODES] = "nodes",
	[ROUTE_GROUP_PING] = "ping",
	[ROUTE_GROUP_PLUGINS] = "plugins",
	[ROUTE_GROUP_SECRETS] = "secrets",
	[ROUTE_GROUP_SERVICES] = "services",
	[ROUTE_GROUP_SESSION] = "session",
	[ROUTE_GROUP_SWARM] = "swarm",
	[ROUTE_GROUP_SYSTEM] = "system",
	[ROUTE_GROUP_TASKS] = "tasks",
	[ROUTE_GROUP_VERSION] = "version",
	[ROUTE_GROUP_VOLUMES] = "volumes",
};

const char *
route_group_name(enum route_group g)
{
	if ((unsigned)g >= ROUTE_GROUP_COUNT)
		return "";
	return group_names[g];
}

enum route_group
route_group_by_name(const char *name, size_t len)
{
	for (unsigned g = ROUTE_GROUP_NONE + 1; g < ROUTE_GROUP_COUNT; g++)
		if (strlen(group_names[g]) == len &&
		    memcmp(group_names[g], name, len) == 0)
			return (enum route_group)g;
	return ROUTE_GROUP_NONE;
}

enum route_group
route_group(const struct route *r)
{
	const struct route_traits *t = route_traits(r->id);
	const char *seg;
	size_t len;

	if (t->group != ROUTE_GROUP_NONE)
		return t->group;
	if (r->path == NULL || r->path[0] != '/')
		return ROUTE_GROUP_NONE;
	seg = r->path + 1;
	len = strcspn(seg, "/");
	if (len == 5 && memcmp(seg, "_ping", 5) == 0)
		return ROUTE_GROUP_PING;
	return route_group_by_name(seg, len);
}

int
route_query_get(const char *query, const char *key, char **value)
{
	return route_query_nth(query, key, 0, value);
}

int
route_query_nth(const char *query, const char *key, size_t n, char **value)
{
	const char *p = query;
	size_t klen = strlen(key), seen = 0;

	*value = NULL;
	if (query == NULL)
		return 0;
	if (strchr(query, ';') != NULL)
		return -1; /* Go >= 1.17 refuses ';' separators */
	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq != NULL ? (size_t)(eq - p) : len;
		char *name = percent_decode(p, nlen, true);

		if (name == NULL)
			return -1;
		if (*value == NULL && strlen(name) == klen &&
		    memcmp(name, key, klen) == 0 && seen++ == n) {
			*value = eq != NULL
			    ? percent_decode(eq + 1, len - nlen - 1, true)
			    : xstrdup("");
			if (*value == NULL) {
				free(name);
				return -1;
			}
		} else if (eq != NULL) {
			char *v = percent_decode(eq + 1, len - nlen - 1, true);

			if (v == NULL) {
				free(name);
				free(*value);
				*value = NULL;
				return -1;
			}
			free(v);
		}
		free(name);
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

char *
route_query_unescape(const char *s, size_t len)
{
	return percent_decode(s, len, true);
}
