/*
 * Per-client profiles (profile.h): the profile.NAME.KEY keys, client
 * matching, the head check and the create limits.  Pure.
 */
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "confinement.h"
#include "profile.h"
#include "route.h"
#include "xmalloc.h"

/* Longest profile name. */
#define PROFILE_NAME_MAX 64
/* Most profiles, and items in one list. */
#define PROFILE_MAX 256
#define PROFILE_MAX_ITEMS 1024

enum profile_key {
	PK_CLIENTS,
	PK_ACCESS,
	PK_ROUTES,
	PK_PRIVILEGED,
	PK_HOST_NAMESPACES,
	PK_CAPABILITIES,
	PK_DEVICES,
	PK_BIND_MOUNTS,
	PK_COUNT
};

static const char *const key_names[PK_COUNT] = {
	[PK_CLIENTS] = "clients",
	[PK_ACCESS] = "access",
	[PK_ROUTES] = "routes",
	[PK_PRIVILEGED] = "privileged",
	[PK_HOST_NAMESPACES] = "host_namespaces",
	[PK_CAPABILITIES] = "capabilities",
	[PK_DEVICES] = "devices",
	[PK_BIND_MOUNTS] = "bind_mounts",
};

static const struct {
	const char *name;
	unsigned bit;
} ns_names[] = {
	{ "pid", PROFILE_NS_PID },
	{ "ipc", PROFILE_NS_IPC },
	{ "uts", PROFILE_NS_UTS },
	{ "network", PROFILE_NS_NETWORK },
	{ "userns", PROFILE_NS_USERNS },
	{ "cgroup", PROFILE_NS_CGROUP },
};
#define NS_COUNT (sizeof ns_names / sizeof ns_names[0])

struct profile_set *
profile_set_new(void)
{
	return xcalloc(1, sizeof(struct profile_set));
}

static void
list_free(struct profile_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}

void
profile_set_free(struct profile_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct profile *p = &set->items[i];

		free(p->name);
		for (size_t j = 0; j < p->n_clients; j++)
			free(p->clients[j].name);
		free(p->clients);
		list_free(&p->caps);
		list_free(&p->devices);
		list_free(&p->binds);
	}
	free(set->items);
	free(set);
}

const struct profile *
profile_find(const struct profile_set *set, const char *name)
{
	if (set == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

static bool
name_ok(const char *s, size_t len)
{
	if (len == 0 || len > PROFILE_NAME_MAX)
		return false;
	if (strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0]) == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' ||
		    strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", s[i]) ==
			NULL)
			return false;
	return true;
}

/* The profile called name (len bytes), added if new. */
static struct profile *
profile_get(struct profile_set *set, const char *name, size_t len, size_t line)
{
	struct profile *p;

	for (size_t i = 0; i < set->n; i++)
		if (strlen(set->items[i].name) == len &&
		    memcmp(set->items[i].name, name, len) == 0)
			return &set->items[i];
	if (set->n >= PROFILE_MAX)
		return NULL;
	set->items = xreallocarray(set->items, set->n + 1, sizeof *set->items);
	p = &set->items[set->n++];
	memset(p, 0, sizeof *p);
	p->name = xstrndup(name, len);
	p->line = line;
	p->privileged = -1;
	return p;
}

/* The items of a list value: split on blanks and commas. */
struct items {
	char **v;
	size_t n;
};

static void
items_split(const char *value, struct items *out)
{
	const char *p = value;

	memset(out, 0, sizeof *out);
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, " \t,");
		if (n == 0)
			break;
		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		out->v[out->n++] = xstrndup(p, n);
		p += n;
	}
}

static void
items_free(struct items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i]);
	free(it->v);
}

static char *__attribute__((format(printf, 3, 4)))
key_error(const struct profile *p, enum profile_key k, const char *fmt, ...)
{
	va_list ap;
	char *msg, *out;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	out = xasprintf("profile.%s.%s: %s", p->name, key_names[k], msg);
	free(msg);
	return out;
}

static bool
parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9' || strlen(s) > 10)
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0' && *out <= 0xfffffffeUL;
}

static bool
login_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 256 &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-$") == n &&
	    s[0] != '-';
}

static int
set_clients(struct profile *p, const struct items *it, char **cause)
{
	for (size_t i = 0; i < it->n; i++) {
		struct profile_client c = { 0 };
		const char *s = it->v[i], *colon = strchr(s, ':');
		size_t kl = colon != NULL ? (size_t)(colon - s) : 0;

		if (colon != NULL && kl == 3 && memcmp(s, "uid", 3) == 0)
			c.kind = PROFILE_CLIENT_UID;
		else if (colon != NULL && kl == 3 && memcmp(s, "gid", 3) == 0)
			c.kind = PROFILE_CLIENT_GID;
		else if (colon != NULL && kl == 4 && memcmp(s, "user", 4) == 0)
			c.kind = PROFILE_CLIENT_USER;
		else if (colon != NULL && kl == 5 && memcmp(s, "group", 5) == 0)
			c.kind = PROFILE_CLIENT_GROUP;
		else {
			*cause = key_error(p, PK_CLIENTS,
			    "\"%s\" is not uid:N, gid:N, user:NAME or "
			    "group:NAME",
			    s);
			return -1;
		}
		if (c.kind == PROFILE_CLIENT_UID ||
		    c.kind == PROFILE_CLIENT_GID) {
			if (!parse_id(colon + 1, &c.id)) {
				*cause = key_error(p, PK_CLIENTS,
				    "\"%s\": %s is not a number", s, colon + 1);
				return -1;
			}
			c.resolved = true;
		} else if (!login_name_ok(colon + 1)) {
			*cause = key_error(p, PK_CLIENTS,
			    "\"%s\": \"%s\" is not a user or group name", s,
			    colon + 1);
			return -1;
		} else
			c.name = xstrdup(colon + 1);
		p->clients = xreallocarray(p->clients, p->n_clients + 1,
		    sizeof *p->clients);
		p->clients[p->n_clients++] = c;
	}
	return 0;
}

static int
set_routes(struct profile *p, const struct items *it, char **cause)
{
	p->routes_set = true;
	p->routes = 0;
	if (it->n == 1 && strcmp(it->v[0], "none") == 0)
		return 0;
	for (size_t i = 0; i < it->n; i++) {
		enum route_group g = route_group_by_name(it->v[i],
		    strlen(it->v[i]));

		if (g == ROUTE_GROUP_NONE) {
			char *all = xstrdup("");

			for (unsigned j = 1; j < ROUTE_GROUP_COUNT; j++) {
				char *t = xasprintf("%s%s%s", all,
				    j > 1 ? " " : "", route_group_name(j));

				free(all);
				all = t;
			}
			*cause = key_error(p, PK_ROUTES,
			    "unknown route group \"%s\" (the groups: %s; or "
			    "none)",
			    it->v[i], all);
			free(all);
			return -1;
		}
		p->routes |= 1u << g;
	}
	return 0;
}

static int
set_namespaces(struct profile *p, const struct items *it, char **cause)
{
	p->ns_set = true;
	p->ns = 0;
	if (it->n == 1 && strcmp(it->v[0], "none") == 0)
		return 0;
	for (size_t i = 0; i < it->n; i++) {
		size_t j;

		for (j = 0; j < NS_COUNT; j++)
			if (strcmp(it->v[i], ns_names[j].name) == 0)
				break;
		if (j == NS_COUNT) {
			*cause = key_error(p, PK_HOST_NAMESPACES,
			    "unknown namespace \"%s\" (pid, ipc, uts, network, "
			    "userns, cgroup; or none)",
			    it->v[i]);
			return -1;
		}
		p->ns |= ns_names[j].bit;
	}
	return 0;
}

char *
profile_cap_name(const char *cap)
{
	char *out;

	if (strncasecmp(cap, "CAP_", 4) == 0)
		cap += 4;
	out = xstrdup(cap);
	for (char *s = out; *s != '\0'; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
	return out;
}

/* capabilities, devices, bind_mounts: "none", "all" (capabilities), or
 * items (capability names; absolute globs). */
static int
set_list(struct profile *p, enum profile_key k, struct profile_list *l,
    const struct items *it, char **cause)
{
	list_free(l);
	l->set = true;
	if (it->n == 1 && strcmp(it->v[0], "none") == 0)
		return 0;
	if (k == PK_CAPABILITIES && it->n == 1 &&
	    strcmp(it->v[0], "all") == 0) {
		l->all = true;
		return 0;
	}
	for (size_t i = 0; i < it->n; i++) {
		const char *s = it->v[i];
		char *item;

		if (k == PK_CAPABILITIES) {
			item = profile_cap_name(s);
			if (*item == '\0' ||
			    strspn(item,
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
				strlen(item) ||
			    strcmp(item, "ALL") == 0) {
				free(item);
				*cause = key_error(p, k,
				    "\"%s\" is not a capability name (such as "
				    "NET_ADMIN; \"all\" or \"none\" alone)",
				    s);
				return -1;
			}
		} else if (s[0] != '/' || strcmp(s, "none") == 0) {
			*cause = key_error(p, k,
			    "\"%s\" is not an absolute path glob (such as "
			    "%s), nor \"none\" alone",
			    s, k == PK_DEVICES ? "/dev/fuse" : "/srv/*");
			return -1;
		} else
			item = xstrdup(s);
		l->items = xreallocarray(l->items, l->n + 1, sizeof *l->items);
		l->items[l->n++] = item;
	}
	return 0;
}

static int
set_value(struct profile *p, enum profile_key k, const char *value,
    char **cause)
{
	struct items it;
	int r = 0;

	if (k == PK_ACCESS || k == PK_PRIVILEGED) {
		const char *a = k == PK_ACCESS ? "read-only" : "no";
		const char *b = k == PK_ACCESS ? "full" : "yes";

		if (strcmp(value, a) != 0 && strcmp(value, b) != 0) {
			*cause = key_error(p, k, "\"%s\" is not %s or %s",
			    value, a, b);
			return -1;
		}
		if (k == PK_ACCESS)
			p->read_only = strcmp(value, a) == 0;
		else
			p->privileged = strcmp(value, b) == 0;
		return 0;
	}
	items_split(value, &it);
	if (it.n > PROFILE_MAX_ITEMS) {
		*cause = key_error(p, k, "more than %d items",
		    PROFILE_MAX_ITEMS);
		r = -1;
	} else if (k == PK_CLIENTS)
		r = set_clients(p, &it, cause);
	else if (k == PK_ROUTES)
		r = set_routes(p, &it, cause);
	else if (k == PK_HOST_NAMESPACES)
		r = set_namespaces(p, &it, cause);
	else if (it.n == 0) {
		*cause = key_error(p, k, "empty (say none)");
		r = -1;
	} else
		r = set_list(p, k,
		    k == PK_CAPABILITIES  ? &p->caps
			: k == PK_DEVICES ? &p->devices
					  : &p->binds,
		    &it, cause);
	items_free(&it);
	return r;
}

int
profile_set_key(struct profile_set *set, const char *rest, const char *value,
    size_t line, char **cause)
{
	const char *dot = strchr(rest, '.');
	struct profile *p;
	unsigned k;

	if (dot == NULL || !name_ok(rest, (size_t)(dot - rest))) {
		*cause = xasprintf("profile.%s: expected profile.NAME.KEY with "
				   "NAME of a-z, 0-9, '_' and '-' (at most %d, "
				   "starting with a letter or digit)",
		    rest, PROFILE_NAME_MAX);
		return -1;
	}
	for (k = 0; k < PK_COUNT; k++)
		if (strcmp(dot + 1, key_names[k]) == 0)
			break;
	if (k == PK_COUNT) {
		*cause = xasprintf("unknown key profile.%s (a profile's keys: "
				   "clients access routes privileged "
				   "host_namespaces capabilities devices "
				   "bind_mounts)",
		    rest);
		return -1;
	}
	p = profile_get(set, rest, (size_t)(dot - rest), line);
	if (p == NULL) {
		*cause = xasprintf("profile.%s: more than %d profiles", rest,
		    PROFILE_MAX);
		return -1;
	}
	if (p->key_line[k] != 0) {
		*cause = xasprintf("\"profile.%s\" is already set on line %zu",
		    rest, p->key_line[k]);
		return -1;
	}
	p->key_line[k] = line;
	return set_value(p, (enum profile_key)k, value, cause);
}

size_t
profile_set_resolve(struct profile_set *set,
    int (*user)(const char *name, unsigned long *uid),
    int (*group)(const char *name, unsigned long *gid), profile_report_fn fn,
    void *arg)
{
	size_t bad = 0;

	for (size_t i = 0; set != NULL && i < set->n; i++) {
		struct profile *p = &set->items[i];

		for (size_t j = 0; j < p->n_clients; j++) {
			struct profile_client *c = &p->clients[j];
			bool is_user = c->kind == PROFILE_CLIENT_USER;
			char *msg;

			if (c->resolved)
				continue;
			if ((is_user ? user : group)(c->name, &c->id) == 0) {
				c->resolved = true;
				continue;
			}
			msg = xasprintf("profile.%s.clients: there is no %s "
					"\"%s\" on this host",
			    p->name, is_user ? "user" : "group", c->name);
			fn(arg, p->key_line[PK_CLIENTS], msg);
			free(msg);
			bad++;
		}
	}
	return bad;
}

static bool
client_is_uid(const struct profile_client *c)
{
	return c->kind == PROFILE_CLIENT_UID || c->kind == PROFILE_CLIENT_USER;
}

static const char *
client_text(const struct profile_client *c, char *buf, size_t size)
{
	snprintf(buf, size, "%s %lu%s%s%s", client_is_uid(c) ? "uid" : "gid",
	    c->id, c->name != NULL ? " (" : "", c->name != NULL ? c->name : "",
	    c->name != NULL ? ")" : "");
	return buf;
}

/* One uid or gid named by two profiles: which one a client gets would
 * be a guess. */
static size_t
check_overlaps(const struct profile_set *set, profile_report_fn fn, void *arg)
{
	size_t bad = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t j = i + 1; j < set->n; j++)
			for (size_t a = 0; a < set->items[i].n_clients; a++)
				for (size_t b = 0; b < set->items[j].n_clients;
				     b++) {
					const struct profile
					    *p = &set->items[i],
					    *q = &set->items[j];
					const struct profile_client
					    *ca = &p->clients[a],
					    *cb = &q->clients[b];
					char t[300], *msg;

					if (!ca->resolved || !cb->resolved ||
					    client_is_uid(ca) !=
						client_is_uid(cb) ||
					    ca->id != cb->id)
						continue;
					msg = xasprintf("%s is a client of two "
							"profiles: "
							"profile.%s.clients "
							"(line %zu) and "
							"profile.%s.clients; "
							"name it in one",
					    client_text(ca, t, sizeof t),
					    p->name, p->key_line[PK_CLIENTS],
					    q->name);
					fn(arg, q->key_line[PK_CLIENTS], msg);
					free(msg);
					bad++;
				}
	return bad;
}

size_t
profile_set_check(const struct profile_set *set, profile_report_fn fn,
    void *arg)
{
	size_t bad;
	uint32_t always = (1u << ROUTE_GROUP_PING) |
	    (1u << ROUTE_GROUP_VERSION);

	if (set == NULL)
		return 0;
	bad = check_overlaps(set, fn, arg);
	for (size_t i = 0; i < set->n; i++) {
		const struct profile *p = &set->items[i];
		char *msg;

		/* Groups that have no GET or HEAD endpoint. */
		uint32_t writes = (1u << ROUTE_GROUP_AUTH) |
		    (1u << ROUTE_GROUP_BUILD) | (1u << ROUTE_GROUP_COMMIT) |
		    (1u << ROUTE_GROUP_SESSION) | (1u << ROUTE_GROUP_GRPC);

		if (!p->routes_set ||
		    (p->routes & ~(always | (p->read_only ? writes : 0))) != 0)
			continue;
		msg = xasprintf("profile \"%s\" allows nothing: "
				"profile.%s.routes names no route group but "
				"ping and version%s; name the groups its "
				"clients need (such as containers images), "
				"or take away their access to the socket",
		    p->name, p->name,
		    p->read_only ? " that has a GET or HEAD endpoint, and "
				   "the profile is read-only"
				 : "");
		fn(arg, p->key_line[PK_ROUTES], msg);
		free(msg);
		bad++;
	}
	return bad;
}

static bool
client_matches(const struct profile_client *c, bool by_uid, unsigned long uid,
    unsigned long gid, const unsigned long *groups, size_t n_groups)
{
	if (!c->resolved || client_is_uid(c) != by_uid)
		return false;
	if (by_uid)
		return c->id == uid;
	if (c->id == gid)
		return true;
	for (size_t i = 0; i < n_groups; i++)
		if (groups[i] == c->id)
			return true;
	return false;
}

const struct profile *
profile_select(const struct profile_set *set, unsigned long uid,
    unsigned long gid, const unsigned long *groups, size_t n_groups,
    const char *default_name)
{
	if (set == NULL)
		return NULL;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < set->n; i++)
			for (size_t j = 0; j < set->items[i].n_clients; j++)
				if (client_matches(&set->items[i].clients[j],
					pass == 0, uid, gid, groups, n_groups))
					return &set->items[i];
	return profile_find(set, default_name);
}

bool
profile_has_limits(const struct profile *p)
{
	return p != NULL &&
	    (p->privileged >= 0 || p->ns_set || p->caps.set || p->devices.set ||
		p->binds.set);
}

/* The profile's routes as written ("containers images", "none"). */
static char *
routes_text(const struct profile *p)
{
	char *out = xstrdup("");

	for (unsigned g = 1; g < ROUTE_GROUP_COUNT; g++) {
		char *t;

		if ((p->routes & (1u << g)) == 0)
			continue;
		t = xasprintf("%s%s%s", out, *out != '\0' ? " " : "",
		    route_group_name(g));
		free(out);
		out = t;
	}
	if (*out == '\0') {
		free(out);
		out = xstrdup("none");
	}
	return out;
}

/* A managed plugin runs with the host privileges granted at its pull,
 * upgrade, create or set (host mounts, devices, capabilities, the host's
 * network and PID namespaces), as root; a limited profile does not hand
 * them out.  Disabling and listing stay open. */
static char *
check_plugin(const struct profile *p, const char *method, const struct route *r)
{
	size_t n = strlen(r->path);

	if (!profile_has_limits(p) || route_group(r) != ROUTE_GROUP_PLUGINS ||
	    strcmp(method, "POST") != 0 ||
	    (n >= 8 && strcmp(r->path + n - 8, "/disable") == 0))
		return NULL;
	return xasprintf("docker-guard: profile \"%s\" refused %s %s: a "
			 "managed plugin runs as root with the host "
			 "privileges granted to it (host mounts, devices, "
			 "capabilities, the host's network and PID "
			 "namespaces), which the profile's limits "
			 "(profile.%s.privileged, host_namespaces, "
			 "capabilities, devices, bind_mounts) cannot judge "
			 "there; install, set up and enable plugins from a "
			 "client without a limited profile",
	    p->name, method, r->path, p->name);
}

/* Joining another swarm hands this host to that swarm's managers, which
 * run what they like on it: a limited profile does not.  The join tokens
 * (GET /swarm on a manager) and the unlock key let another machine join
 * this swarm as a manager, out of the guard's sight: credentials, not
 * for a limited or a read-only profile.  Nodes, services and tasks stay
 * open. */
static char *
check_swarm(const struct profile *p, const char *method, const struct route *r)
{
	bool post = strcmp(method, "POST") == 0;
	bool secrets = !post &&
	    (strcmp(r->path, "/swarm") == 0 ||
		strcmp(r->path, "/swarm/unlockkey") == 0);

	if (route_group(r) != ROUTE_GROUP_SWARM)
		return NULL;
	if (post && profile_has_limits(p))
		return xasprintf("docker-guard: profile \"%s\" refused %s %s: "
				 "joining, creating or changing a swarm "
				 "decides which managers may run containers "
				 "on this host, which the profile's limits "
				 "(profile.%s.privileged, host_namespaces, "
				 "capabilities, devices, bind_mounts) cannot "
				 "judge; manage the swarm from a client "
				 "without a limited profile",
		    p->name, method, r->path, p->name);
	if (secrets && (profile_has_limits(p) || p->read_only))
		return xasprintf("docker-guard: profile \"%s\" refused %s %s: "
				 "the swarm's join tokens and unlock key let "
				 "another machine join as a manager and run "
				 "containers here, which a %s profile does "
				 "not hand out (profile.%s.%s); read them "
				 "from a client without one",
		    p->name, method, r->path,
		    p->read_only ? "read-only" : "limited", p->name,
		    p->read_only ? "access = read-only"
				 : "privileged, host_namespaces, capabilities, "
				   "devices, bind_mounts");
	return NULL;
}

/* A legacy build's steps run as containers with the build's securityopt
 * values (r.Form["securityopt"]) as their SecurityOpt. */
static char *
check_build_security(const struct profile *p, const struct route *r)
{
	struct profile_ask ask = { 0 };
	char *opt = NULL, *lifted = NULL, *msg;
	const char *what = NULL;

	if (p->privileged != 0)
		return NULL;
	for (size_t i = 0; what == NULL; i++) {
		/* A malformed query is refused where the build is judged. */
		if (route_query_nth(r->query, "securityopt", i, &opt) != 0 ||
		    opt == NULL)
			break;
		if ((what = confinement_security_opt(opt)) != NULL)
			lifted = xasprintf("securityopt \"%.60s\": %s", opt,
			    what);
		free(opt);
	}
	if (lifted == NULL)
		return NULL;
	ask.what = "a build (its steps' containers)";
	ask.unconfined = (const char *const *)&lifted;
	ask.n_unconfined = 1;
	msg = profile_check_ask(p, &ask);
	free(lifted);
	return msg;
}

/* A legacy build's steps run as containers, in the host's network
 * namespace with networkmode=host (docker build --network host). */
static char *
check_build(const struct profile *p, const struct route *r)
{
	struct profile_ask ask = { 0 };
	char *mode = NULL, *msg;

	if (r->id != ROUTE_BUILD || r->query == NULL)
		return NULL;
	if ((msg = check_build_security(p, r)) != NULL)
		return msg;
	if (!p->ns_set || (p->ns & PROFILE_NS_NETWORK) != 0)
		return NULL;
	/* A malformed query is refused where the build is judged. */
	if (route_query_get(r->query, "networkmode", &mode) != 0 ||
	    mode == NULL || strcasecmp(mode, "host") != 0) {
		free(mode);
		return NULL;
	}
	free(mode);
	ask.what = "a build whose steps would run in the host's network "
		   "(networkmode=host)";
	ask.ns = PROFILE_NS_NETWORK;
	return profile_check_ask(p, &ask);
}

char *
profile_check_head(const struct profile *p, const char *method,
    const struct route *r, bool has_body)
{
	enum route_group g;
	char *list, *msg;
	bool reads;

	if (p == NULL)
		return NULL;
	reads = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (p->read_only && (!reads || r->id == ROUTE_CONTAINER_ATTACH_WS))
		return xasprintf("docker-guard: profile \"%s\" refused %s "
				 "%s: %sthe profile is read-only "
				 "(profile.%s.access = read-only); to allow "
				 "it set profile.%s.access = full",
		    p->name, method, r->path,
		    reads ? "attaching writes to the container's input and "
			  : "",
		    p->name, p->name);
	/* Before API 1.24 the engine takes a HostConfig from a start's body:
	   a create's limits would be left behind. */
	if (has_body && r->id == ROUTE_CONTAINER_START && profile_has_limits(p))
		return xasprintf("docker-guard: profile \"%s\" refused %s %s "
				 "with a body: an old API's start applies the "
				 "HostConfig in it, which the profile's limits "
				 "cannot judge there; send the start without "
				 "a body (the HostConfig belongs to the "
				 "create)",
		    p->name, method, r->path);
	if ((msg = check_build(p, r)) != NULL ||
	    (msg = check_plugin(p, method, r)) != NULL ||
	    (msg = check_swarm(p, method, r)) != NULL)
		return msg;
	if (!p->routes_set)
		return NULL;
	g = route_group(r);
	if (g == ROUTE_GROUP_PING || g == ROUTE_GROUP_VERSION ||
	    (g != ROUTE_GROUP_NONE && (p->routes & (1u << g)) != 0))
		return NULL;
	list = routes_text(p);
	if (g == ROUTE_GROUP_NONE)
		msg = xasprintf("docker-guard: profile \"%s\" refused %s %s: "
				"the path is in no route group, and "
				"profile.%s.routes = %s names the groups "
				"allowed; the engine has no such endpoint",
		    p->name, method, r->path, p->name, list);
	else
		msg = xasprintf("docker-guard: profile \"%s\" refused %s %s: "
				"route group \"%s\" is not in "
				"profile.%s.routes = %s; to allow it add %s "
				"to profile.%s.routes",
		    p->name, method, r->path, route_group_name(g), p->name,
		    list, route_group_name(g), p->name);
	free(list);
	return msg;
}

static char *
list_text(const struct profile_list *l)
{
	char *out;

	if (l->all)
		return xstrdup("all");
	if (l->n == 0)
		return xstrdup("none");
	out = xstrdup("");
	for (size_t i = 0; i < l->n; i++) {
		char *t = xasprintf("%s%s%s", out, i > 0 ? " " : "",
		    l->items[i]);

		free(out);
		out = t;
	}
	return out;
}

/* Does a glob of l match path or a directory above it? */
static bool
glob_allows(const struct profile_list *l, const char *path)
{
	char *dir = xstrdup(path);
	bool ok = false;

	for (;;) {
		for (size_t i = 0; i < l->n && !ok; i++)
			ok = fnmatch(l->items[i], dir, FNM_PATHNAME) == 0;
		if (ok || strcmp(dir, "/") == 0 || strrchr(dir, '/') == NULL)
			break;
		if (strrchr(dir, '/') == dir)
			dir[1] = '\0';
		else
			*strrchr(dir, '/') = '\0';
	}
	free(dir);
	return ok;
}

bool
profile_path_holds(const char *path, const char *socket)
{
	size_t n = strlen(path);

	if (strcmp(path, "/") == 0 || strcmp(path, socket) == 0)
		return true;
	return strncmp(socket, path, n) == 0 && socket[n] == '/';
}

static char *refuse(const struct profile *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static char *
refuse(const struct profile *p, const char *fmt, ...)
{
	va_list ap;
	char *msg, *out;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	out = xasprintf("docker-guard: profile \"%s\" refused %s", p->name,
	    msg);
	free(msg);
	return out;
}

static char *
check_caps(const struct profile *p, const struct profile_ask *a)
{
	for (size_t i = 0; i < a->n_caps; i++) {
		char *cap = profile_cap_name(a->caps[i]), *list, *msg;
		bool ok = false;

		for (size_t j = 0; j < p->caps.n && !ok; j++)
			ok = strcmp(p->caps.items[j], cap) == 0;
		if (ok || p->caps.all) {
			free(cap);
			continue;
		}
		list = list_text(&p->caps);
		if (strcmp(cap, "ALL") == 0)
			msg = refuse(p,
			    "%s adding all capabilities (not in "
			    "profile.%s.capabilities = %s); to allow it set "
			    "profile.%s.capabilities = all",
			    a->what, p->name, list, p->name);
		else
			msg = refuse(p,
			    "%s adding capability %s (not in "
			    "profile.%s.capabilities = %s); to allow it add %s "
			    "to profile.%s.capabilities",
			    a->what, cap, p->name, list, cap, p->name);
		free(list);
		free(cap);
		return msg;
	}
	return NULL;
}

static char *
check_devices(const struct profile *p, const struct profile_ask *a)
{
	if (a->n_device_rules > 0) {
		char *list = list_text(&p->devices), *msg;

		/* A rule grants devices by number, whatever their path. */
		msg = refuse(p,
		    "%s with DeviceCgroupRules (device access by number, "
		    "which profile.%s.devices = %s cannot judge); map the "
		    "devices by path instead",
		    a->what, p->name, list);
		free(list);
		return msg;
	}
	if (a->n_device_requests > 0) {
		char *list = list_text(&p->devices), *msg;

		/* The engine's device drivers (nvidia, amd, CDI) choose the
		   host devices, mounts and hooks. */
		msg = refuse(p,
		    "%s with DeviceRequests (GPUs and CDI devices, whose host "
		    "devices and mounts the engine's drivers choose, which "
		    "profile.%s.devices = %s cannot judge); to allow them "
		    "leave profile.%s.devices unset",
		    a->what, p->name, list, p->name);
		free(list);
		return msg;
	}
	for (size_t i = 0; i < a->n_devices; i++) {
		char *list, *msg;

		if (glob_allows(&p->devices, a->devices[i]))
			continue;
		list = list_text(&p->devices);
		msg = refuse(p,
		    "%s with host device %s (not in profile.%s.devices = %s); "
		    "to allow it add %s to profile.%s.devices",
		    a->what, a->devices[i], p->name, list, a->devices[i],
		    p->name);
		free(list);
		return msg;
	}
	return NULL;
}

static char *
check_mount(const struct profile *p, const struct profile_ask *a,
    const struct profile_mount *m)
{
	char *list = list_text(&p->binds), *msg = NULL;

	if (m->driver != NULL) {
		msg = refuse(p,
		    "%s with a volume of driver \"%s\" (%s): a volume plugin "
		    "may mount any host path, and profile.%s.bind_mounts = %s "
		    "limits host paths; use the local driver",
		    a->what, m->driver, m->where, p->name, list);
		goto out;
	}
	if (m->unjudged != NULL) {
		msg = refuse(p,
		    "%s with a local volume mounting %s (%s, \"%s\"), which "
		    "profile.%s.bind_mounts = %s cannot judge; bind an "
		    "absolute host path, or use a volume without options",
		    a->what, m->unjudged, m->where, m->given, p->name, list);
		goto out;
	}
	for (size_t i = 0; i < a->n_sockets; i++) {
		if (!profile_path_holds(m->path, a->sockets[i]))
			continue;
		msg = refuse(p,
		    "bind mount of %s (%s; host path %s %s the engine's "
		    "socket %s, which profile.%s.bind_mounts = %s never "
		    "allows: it would give the container the whole host)",
		    m->given, m->where, m->path,
		    strcmp(m->path, a->sockets[i]) == 0 ? "is" : "holds",
		    a->sockets[i], p->name, list);
		goto out;
	}
	if (!glob_allows(&p->binds, m->path))
		msg = refuse(p,
		    "bind mount of %s (%s; host path %s is not in "
		    "profile.%s.bind_mounts = %s); to allow it add %s to "
		    "profile.%s.bind_mounts",
		    m->given, m->where, m->path, p->name, list, m->path,
		    p->name);
out:
	free(list);
	return msg;
}

char *
profile_check_ask(const struct profile *p, const struct profile_ask *a)
{
	char *msg = NULL;

	if (p == NULL)
		return NULL;
	if (a->privileged && p->privileged == 0)
		return refuse(p,
		    "%s that is privileged (profile.%s.privileged = no); to "
		    "allow it set profile.%s.privileged = yes",
		    a->what, p->name, p->name);
	if (a->n_unconfined > 0 && p->privileged == 0)
		return refuse(p,
		    "%s that lifts its confinement, %s (profile.%s.privileged "
		    "= no); to allow it set profile.%s.privileged = yes",
		    a->what, a->unconfined[0], p->name, p->name);
	for (size_t i = 0; p->ns_set && i < NS_COUNT; i++) {
		char *have = xstrdup("");

		if ((a->ns & ns_names[i].bit) == 0 ||
		    (p->ns & ns_names[i].bit) != 0) {
			free(have);
			continue;
		}
		for (size_t j = 0; j < NS_COUNT; j++) {
			char *t;

			if ((p->ns & ns_names[j].bit) == 0)
				continue;
			t = xasprintf("%s%s%s", have, *have ? " " : "",
			    ns_names[j].name);
			free(have);
			have = t;
		}
		msg = refuse(p,
		    "%s joining the host's %s namespace (not in "
		    "profile.%s.host_namespaces = %s); to allow it add %s to "
		    "profile.%s.host_namespaces",
		    a->what, ns_names[i].name, p->name, *have ? have : "none",
		    ns_names[i].name, p->name);
		free(have);
		return msg;
	}
	if (p->caps.set && (msg = check_caps(p, a)) != NULL)
		return msg;
	if (p->devices.set && (msg = check_devices(p, a)) != NULL)
		return msg;
	for (size_t i = 0; p->binds.set && i < a->n_mounts; i++)
		if ((msg = check_mount(p, a, &a->mounts[i])) != NULL)
			return msg;
	return NULL;
}

/* budget: Go's filepath.Clean, one pass over the path's elements */
char *
profile_path_clean(const char *path)
{
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	bool rooted = n > 0 && path[0] == '/';
	char *out;

	if (n == 0)
		return xstrdup(".");
	out = xmalloc(n + 2);
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/')
			r++;
		else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
			r++;
		else if (path[r] == '.' && path[r + 1] == '.' &&
		    (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}
