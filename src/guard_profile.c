/*
 * Profiles in the guard (guard_int.h): the proxy's head refusals are
 * recorded and answered here, and a profile's create limits judged on the
 * body's facts with host paths made canonical on this host (lexically
 * clean, then symlinks resolved) before profile.c's pure check.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

#include "body_inspect.h"
#include "engine.h"
#include "guard.h"
#include "guard_int.h"
#include "local_volume.h"
#include "profile.h"
#include "route.h"
#include "xmalloc.h"

void
guard_profile_refusal(struct decision *p, const struct decision_request *req)
{
	guard_refuse(p, 403, "profile", xstrdup(req->refusal));
}

/* a + "/" + b, with a "/" not doubled. */
static char *
path_join(const char *a, const char *b)
{
	if (b == NULL)
		return xstrdup(a);
	return xasprintf("%s%s%s", a, strcmp(a, "/") == 0 ? "" : "/", b);
}

/*
 * The canonical form of a host path: cleaned as the engine cleans it
 * (Go's filepath.Clean), then the longest prefix that exists resolved
 * with realpath(3) (symlinks, on this host), the rest appended.  A
 * relative path is only cleaned (the engine refuses it as a bind).
 */
char *
guard_profile_canonical(const char *path)
{
	char *clean = profile_path_clean(path), *head, *tail = NULL, *out;

	if (clean[0] != '/')
		return clean;
	head = xstrdup(clean);
	for (;;) {
		char *real = realpath(head, NULL), *slash, *t;

		if (real != NULL) {
			out = path_join(real, tail);
			free(real);
			break;
		}
		slash = strrchr(head, '/');
		if (slash == head && head[1] == '\0') {
			out = xstrdup(clean); /* not even "/": as written */
			break;
		}
		t = path_join(slash + 1, tail);
		free(tail);
		tail = t;
		if (slash == head)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(head);
	free(tail);
	free(clean);
	return out;
}

/* The engine's socket in every spelling: upstream, the two usual paths,
 * and where each really is. */
struct sockets {
	char **v;
	size_t n;
};

static void
sockets_add(struct sockets *s, const char *path, size_t len)
{
	char *given = xstrndup(path, len);

	s->v = xreallocarray(s->v, s->n + 2, sizeof *s->v);
	s->v[s->n++] = guard_profile_canonical(given);
	s->v[s->n++] = given;
}

/* The engine's sockets, and the guard's own: whoever is root in a
 * container has no profile of its own on them. */
static void
sockets_fill(struct sockets *s, const struct guard_config *cfg)
{
	sockets_add(s, cfg->upstream, strlen(cfg->upstream));
	sockets_add(s, "/var/run/docker.sock", 20);
	sockets_add(s, "/run/docker.sock", 16);
	sockets_add(s, cfg->listen, strlen(cfg->listen));
	for (size_t i = 0; i < cfg->listen_profiles.n; i++) {
		const char *item = cfg->listen_profiles.items[i];

		sockets_add(s, item, (size_t)(strrchr(item, ':') - item));
	}
}

static void
sockets_reset(struct sockets *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static bool
is_host(const char *mode)
{
	return mode != NULL && strcasecmp(mode, "host") == 0;
}

static unsigned
host_namespaces(const struct body_host *h)
{
	return (is_host(h->pid_mode) ? PROFILE_NS_PID : 0) |
	    (is_host(h->ipc_mode) ? PROFILE_NS_IPC : 0) |
	    (is_host(h->uts_mode) ? PROFILE_NS_UTS : 0) |
	    (is_host(h->network_mode) ? PROFILE_NS_NETWORK : 0) |
	    (is_host(h->userns_mode) ? PROFILE_NS_USERNS : 0) |
	    (is_host(h->cgroupns_mode) ? PROFILE_NS_CGROUP : 0);
}

/*
 * path (canonical, owned) is the same socket as one of socks (a hard
 * link has no symlink to resolve: compare the files): that socket's
 * path, for profile.c to refuse as the socket it is; else path.
 */
static char *
same_socket(char *path, const struct sockets *socks)
{
	struct stat st, sst;

	if (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
		return path;
	for (size_t i = 0; i < socks->n; i++) {
		if (stat(socks->v[i], &sst) == 0 && sst.st_dev == st.st_dev &&
		    sst.st_ino == st.st_ino) {
			free(path);
			return xstrdup(socks->v[i]);
		}
	}
	return path;
}

/* What a request mounts, as profile.c judges it, and the strings it
 * holds (freed by asked_reset). */
struct asked_mounts {
	struct profile_mount *v;
	size_t n;
	char **pool;
	size_t n_pool;
};

static const char *
keep(struct asked_mounts *a, char *s)
{
	a->pool = xreallocarray(a->pool, a->n_pool + 1, sizeof *a->pool);
	a->pool[a->n_pool++] = s;
	return s;
}

static struct profile_mount *
asked_add(struct asked_mounts *a, const char *where, const char *given,
    const char *path)
{
	struct profile_mount *pm;

	a->v = xreallocarray(a->v, a->n + 1, sizeof *a->v);
	pm = &a->v[a->n++];
	memset(pm, 0, sizeof *pm);
	pm->where = where;
	pm->given = given;
	pm->path = path;
	return pm;
}

/* A host path a mount reads (given as written): judged on its real path,
 * or the engine's socket that it is; a relative one cannot be. */
static void
asked_path(struct asked_mounts *a, const char *where, const char *given,
    const struct sockets *socks)
{
	if (given[0] != '/') {
		asked_add(a, where, given, "")->unjudged =
		    "a relative host path, which the engine reads from its "
		    "own working directory";
		return;
	}
	asked_add(a, where, given,
	    keep(a, same_socket(guard_profile_canonical(given), socks)));
}

/* A local volume's options: the host paths they mount, or why those
 * cannot say. */
static void
asked_local(struct asked_mounts *a, const struct body_mount *m,
    const struct sockets *socks)
{
	struct local_volume_paths lv;

	if (m->source != NULL && strchr(m->source, '/') != NULL) {
		/* "../etc:/x" from a CLI that does not make it absolute. */
		asked_add(a, m->where, m->source, "")->unjudged =
		    "a relative host path, which the engine takes for a volume "
		    "name";
		return;
	}
	local_volume_paths(m->type, m->device, m->options, &lv);
	if (lv.unjudged != NULL)
		asked_add(a, m->where, m->source, "")->unjudged = lv.unjudged;
	for (size_t i = 0; i < lv.n; i++)
		asked_path(a, m->where, keep(a, xstrdup(lv.paths[i])), socks);
	local_volume_paths_reset(&lv);
}

/* The host paths and foreign drivers of h's mounts. */
static void
ask_mounts(const struct body_host *h, const struct sockets *socks,
    struct asked_mounts *a)
{
	for (size_t i = 0; i < h->n_mounts; i++) {
		const struct body_mount *m = &h->mounts[i];

		if (m->bind)
			asked_path(a, m->where, m->source, socks);
		else if (m->driver != NULL && strcmp(m->driver, "local") != 0)
			asked_add(a, m->where, m->source, "")
			    ->driver = m->driver;
		else
			asked_local(a, m, socks);
	}
}

static void
asked_reset(struct asked_mounts *a)
{
	for (size_t i = 0; i < a->n_pool; i++)
		free(a->pool[i]);
	free(a->pool);
	free(a->v);
	memset(a, 0, sizeof *a);
}

/* What is judged, for a refusal: "an exec", "a start of container
 * \"web\"", ... (allocated).  A request that acts in an existing
 * container names it once the container itself is judged. */
static char *
ask_what(const struct decision *p)
{
	const char *in = p->prof.target, *verb;

	switch (p->route) {
	case ROUTE_EXEC_CREATE:
		verb = "an exec in";
		break;
	case ROUTE_VOLUME_CREATE:
		return xstrdup("a volume");
	case ROUTE_CONTAINER_UPDATE:
		return xstrdup("an update of a container");
	case ROUTE_SERVICE_CREATE:
	case ROUTE_SERVICE_UPDATE:
		return xstrdup("a service");
	case ROUTE_CONTAINER_START:
		verb = "a start of";
		break;
	case ROUTE_CONTAINER_RESTART:
		verb = "a restart of";
		break;
	case ROUTE_CONTAINER_ATTACH:
	case ROUTE_CONTAINER_ATTACH_WS:
		verb = "an attach to";
		break;
	case ROUTE_CONTAINER_ARCHIVE:
		verb = strcmp(p->method, "PUT") == 0 ? "a copy into"
						     : "a copy out of";
		break;
	case ROUTE_CONTAINER_COPY:
		verb = "a copy out of";
		break;
	case ROUTE_EXEC_START:
		verb = "a start of an exec in";
		break;
	default:
		return xstrdup("a container");
	}
	if (in == NULL) /* an exec's own body */
		return xstrdup("an exec");
	return xasprintf("%s container \"%s\"", verb, in);
}

/* Judge h under profile: NULL when it holds, else the refusal. */
static char *
judge_host(const struct decision *p, const struct profile *prof,
    const struct body_host *h)
{
	const struct guard_config *cfg = guard_cfg(p->g);
	struct profile_ask ask = { 0 };
	struct asked_mounts mounts = { 0 };
	struct sockets socks = { NULL, 0 };
	char **devices, *msg, *what;

	devices = xcalloc(h->n_devices + 1, sizeof *devices);
	what = ask_what(p);
	ask.what = what;
	ask.privileged = h->privileged;
	ask.unconfined = (const char *const *)h->unconfined;
	ask.n_unconfined = h->n_unconfined;
	ask.ns = host_namespaces(h);
	ask.caps = (const char *const *)h->cap_add;
	ask.n_caps = h->n_cap_add;
	for (size_t i = 0; i < h->n_devices; i++)
		devices[i] = guard_profile_canonical(h->devices[i]);
	ask.devices = (const char *const *)devices;
	ask.n_devices = h->n_devices;
	ask.n_device_rules = h->n_device_rules;
	ask.n_device_requests = h->n_device_requests;
	sockets_fill(&socks, cfg);
	ask_mounts(h, &socks, &mounts);
	ask.n_mounts = mounts.n;
	ask.mounts = mounts.v;
	ask.sockets = (const char *const *)socks.v;
	ask.n_sockets = socks.n;
	msg = profile_check_ask(prof, &ask);
	for (size_t i = 0; i < h->n_devices; i++)
		free(devices[i]);
	free(devices);
	asked_reset(&mounts);
	sockets_reset(&socks);
	free(what);
	return msg;
}

static void
strv_push(char ***v, size_t *n, const char *s, size_t len)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrndup(s, len);
}

void
guard_profile_reset(struct guard_profile_wait *w)
{
	free(w->name);
	for (size_t i = 0; i < w->n_volumes; i++)
		free(w->volumes[i]);
	free(w->volumes);
	for (size_t i = 0; i < w->n_containers; i++)
		free(w->containers[i]);
	free(w->containers);
	for (size_t i = 0; i < w->n_joins; i++)
		free(w->joins[i]);
	free(w->joins);
	free(w->join_ns);
	free(w->target);
	free(w->target_id);
	free(w->target_body);
	free(w->suffix);
	free(w->exec);
	for (size_t i = 0; i < w->n_networks; i++)
		free(w->networks[i]);
	free(w->networks);
	body_host_free(&w->found);
	memset(w, 0, sizeof *w);
}

/* A named volume of the local driver (or of none named) may be one whose
 * options mount host paths: the engine is asked (options given with the
 * mount are judged too, but an existing volume keeps its own). */
static void
want_volume(struct guard_profile_wait *w, const struct body_mount *m)
{
	/* A name with a '/' is no local volume's (judged as a relative
	   host path): the engine's path for it would be another. */
	if (m->bind || m->source[0] == '\0' || strchr(m->source, '/') != NULL ||
	    (m->driver != NULL && strcmp(m->driver, "local") != 0))
		return;
	for (size_t i = 0; i < w->n_volumes; i++)
		if (strcmp(w->volumes[i], m->source) == 0)
			return;
	strv_push(&w->volumes, &w->n_volumes, m->source, strlen(m->source));
}

static void lookup_next(struct decision *p);
static void retarget(struct decision *p);

static void
lookup_failed(struct decision *p, const char *what, int status,
    const char *error)
{
	char *why = error != NULL ? xstrdup(error)
				  : xasprintf("the engine answered %d", status);
	char *asked = ask_what(p);

	guard_refuse(p, 502, "engine",
	    xasprintf("docker-guard: refusing %s: cannot read %s from the "
		      "Docker engine to judge it by profile \"%s\"'s limits "
		      "(%s); try again",
		asked, what, p->prof.name, why));
	free(asked);
	free(why);
}

/* Is a lookup's answer neither read (read: parsed from a 200) nor a
 * 404?  Then the request is refused (true): it cannot be judged. */
static bool
lookup_unreadable(struct decision *p, int status, bool read, const char *kind,
    const char *name, const char *error)
{
	char *what;

	if (status == 404 || (status == 200 && read))
		return false;
	what = xasprintf("%s %s", kind, name);
	lookup_failed(p, what, status, error);
	free(what);
	return true;
}

static void
container_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	const char *name = w->containers[w->next];
	size_t before = w->found.n_mounts;
	char *where = xasprintf("VolumesFrom %s", name);

	bool read;

	p->lookup = NULL;
	read = status == 200 &&
	    body_container_mounts(body, len, where, &w->found) == 0;
	free(where);
	/* No such container: the engine refuses the create itself. */
	if (lookup_unreadable(p, status, read, "container", name, error))
		return;
	for (size_t i = before; i < w->found.n_mounts; i++)
		want_volume(w, &w->found.mounts[i]);
	w->next++;
	lookup_next(p);
}

static void
volume_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	const char *name = w->volumes[w->next - w->n_containers];
	struct body_mount m = { 0 };

	p->lookup = NULL;
	/* No such volume: the engine makes a new one, bound to nothing. */
	if (lookup_unreadable(p, status,
		status == 200 && body_volume_options(body, len, &m) == 0,
		"volume", name, error))
		return;
	if (status == 200 &&
	    (m.device != NULL || m.type != NULL || m.options != NULL ||
		(m.driver != NULL && strcmp(m.driver, "local") != 0))) {
		m.where = xasprintf("volume %s", name);
		m.source = xstrdup(name);
		w->found.mounts = xreallocarray(w->found.mounts,
		    w->found.n_mounts + 1, sizeof *w->found.mounts);
		w->found.mounts[w->found.n_mounts++] = m;
	} else {
		free(m.driver);
		free(m.device);
		free(m.type);
		free(m.options);
	}
	w->next++;
	lookup_next(p);
}

/* Most containers followed from one create through container:NAME. */
#define GUARD_PROFILE_MAX_JOINS 8

/* The container whose namespace (bit) a create joins: "container:NAME". */
static void
want_join(struct guard_profile_wait *w, const char *mode, unsigned bit)
{
	if (mode == NULL || strncmp(mode, "container:", 10) != 0 ||
	    mode[10] == '\0' || w->n_joins >= GUARD_PROFILE_MAX_JOINS)
		return;
	w->join_ns = xreallocarray(w->join_ns, w->n_joins + 1,
	    sizeof *w->join_ns);
	w->join_ns[w->n_joins] = bit;
	strv_push(&w->joins, &w->n_joins, mode + 10, strlen(mode + 10));
}

static void
join_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	size_t j = w->next - w->n_containers - w->n_volumes;
	unsigned bit = w->join_ns[j];
	char *mode[3] = { NULL, NULL, NULL }, **field;
	const char *m;

	p->lookup = NULL;
	if (lookup_unreadable(p, status,
		status == 200 &&
		    body_container_modes(body, len, &mode[0], &mode[1],
			&mode[2]) == 0,
		"container", w->joins[j], error))
		return;
	m = mode[bit == PROFILE_NS_PID ? 0 : bit == PROFILE_NS_IPC ? 1 : 2];
	field = bit == PROFILE_NS_PID ? &w->found.pid_mode
	    : bit == PROFILE_NS_IPC   ? &w->found.ipc_mode
				      : &w->found.network_mode;
	/* In the host's namespace: joining it joins the host's. */
	if (is_host(m) && *field == NULL)
		*field = xstrdup("host");
	want_join(w, m, bit);
	for (int i = 0; i < 3; i++)
		free(mode[i]);
	w->next++;
	lookup_next(p);
}

/* A service's network target, by name or ID: the host's network? */
static void
network_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	const char *name =
	    w->networks[w->next - w->n_containers - w->n_volumes - w->n_joins];
	bool host = false;

	p->lookup = NULL;
	/* No such network: the engine refuses the service itself. */
	if (lookup_unreadable(p, status,
		status == 200 && body_network_is_host(body, len, &host) == 0,
		"network", name, error))
		return;
	if (host && w->found.network_mode == NULL)
		w->found.network_mode = xstrdup("host");
	w->next++;
	lookup_next(p);
}

/* What the judged container names but does not say: its named volumes'
 * options and the namespaces of the containers it joins, asked next as a
 * create's are (its "container:NAME" modes are then what they join). */
static void
target_follow(struct guard_profile_wait *w, const struct profile *prof)
{
	char **modes[3] = { &w->found.pid_mode, &w->found.ipc_mode,
		&w->found.network_mode };
	static const unsigned bits[3] = { PROFILE_NS_PID, PROFILE_NS_IPC,
		PROFILE_NS_NETWORK };

	for (size_t i = 0; prof->binds.set && i < w->found.n_mounts; i++)
		want_volume(w, &w->found.mounts[i]);
	for (size_t i = 0; prof->ns_set && i < 3; i++) {
		size_t before = w->n_joins;

		if ((prof->ns & bits[i]) != 0)
			continue;
		want_join(w, *modes[i], bits[i]);
		if (w->n_joins > before) {
			free(*modes[i]);
			*modes[i] = NULL;
		}
	}
}

/* The container a request acts in (an exec's, a start's, an attach's, a
 * copy's): what it has of the host counts as the request's (an exec in
 * a privileged container, or a copy into one binding /etc, acts with
 * those). */
static void
target_cb(int status, const char *body, size_t len, const char *error,
    void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	const struct profile *prof;

	p->lookup = NULL;
	w->target_asked = true;
	/* No such container: the engine refuses the request itself. */
	if (lookup_unreadable(p, status,
		status == 200 && body_container_host(body, len, &w->found) == 0,
		"container", w->target, error))
		return;
	if (status == 200) {
		w->target_id = body_response_id(body, len);
		w->target_body = xmalloc(len + 1);
		memcpy(w->target_body, body, len);
		w->target_body[len] = '\0';
		w->target_len = len;
		prof = profile_find(guard_cfg(p->g)->profiles, w->name);
		if (prof != NULL)
			target_follow(w, prof);
	}
	lookup_next(p);
}

/* An exec to start: its container is judged next, and the exec's own
 * Privileged with it (an exec made by someone the profile does not
 * limit). */
static void
exec_cb(int status, const char *body, size_t len, const char *error, void *arg)
{
	struct decision *p = arg;
	struct guard_profile_wait *w = &p->prof;
	char *id = NULL;
	bool privileged = false, read;

	p->lookup = NULL;
	w->exec_asked = true;
	read = status == 200 &&
	    body_exec_inspect(body, len, &id, &privileged) == 0;
	/* No such exec: the engine refuses the start itself. */
	if (lookup_unreadable(p, status, read, "exec", w->exec, error)) {
		free(id);
		return;
	}
	w->target = id;
	w->exec_privileged = privileged;
	lookup_next(p);
}

/* The judged container's request goes to it by its full ID: a container
 * renamed into its name meanwhile is not the one judged. */
static void
retarget(struct decision *p)
{
	const struct guard_profile_wait *w = &p->prof;

	if (w->target_id != NULL && w->suffix != NULL)
		guard_start_retarget(&p->start, w->target_id, w->suffix);
}

/* The next one to ask about: VolumesFrom containers, named volumes,
 * joined containers, then a service's networks. */
static const char *
lookup_path(const struct guard_profile_wait *w, engine_cb *cb)
{
	size_t i = w->next;

	if (i < w->n_containers) {
		*cb = container_cb;
		return w->containers[i];
	}
	if ((i -= w->n_containers) < w->n_volumes) {
		*cb = volume_cb;
		return w->volumes[i];
	}
	if ((i -= w->n_volumes) < w->n_joins) {
		*cb = join_cb;
		return w->joins[i];
	}
	if ((i -= w->n_joins) < w->n_networks) {
		*cb = network_cb;
		return w->networks[i];
	}
	return NULL;
}

/* The next container, volume or network to ask about; after the last,
 * judge what they mount and join, and go on. */
static void
lookup_next(struct decision *p)
{
	struct guard_profile_wait *w = &p->prof;
	const struct profile *prof;
	const char *name;
	engine_cb cb;
	char *esc, *path, *msg, *what;

	if (w->exec != NULL && !w->exec_asked) {
		name = w->exec;
		cb = exec_cb;
	} else if (w->target != NULL && !w->target_asked) {
		name = w->target;
		cb = target_cb;
	} else
		name = lookup_path(w, &cb);
	if (name != NULL) {
		esc = engine_path_escape(name);
		path = xasprintf(cb == volume_cb ? "/volumes/%s"
			: cb == network_cb	 ? "/networks/%s"
			: cb == exec_cb		 ? "/exec/%s/json"
						 : "/containers/%s/json",
		    esc);
		p->lookup = engine_get(p->g->base, guard_cfg(p->g)->upstream,
		    path, cb, p);
		free(path);
		free(esc);
		return;
	}

	/* The configuration may have changed meanwhile: its profile now. */
	prof = profile_find(guard_cfg(p->g)->profiles, w->name);
	if (prof == NULL) {
		guard_refuse(p, 403, "profile",
		    xasprintf("docker-guard: profile \"%s\" refused %s: the "
			      "profile is no longer defined (the "
			      "configuration was reloaded); try again",
			w->name, (what = ask_what(p))));
		free(what);
		return;
	}
	if (w->exec_privileged)
		w->found.privileged = true;
	if ((msg = judge_host(p, prof, &w->found)) != NULL) {
		guard_refuse(p, 403, "profile", msg);
		return;
	}
	retarget(p);
	w->cont(p);
}

/* Judge the container req's path names (/containers/{name}/...): asked
 * first, and the request then sent to it by its full ID. */
static void
want_target(struct decision *p, const struct decision_request *req)
{
	const struct route *r = req->route;
	struct guard_profile_wait *w = &p->prof;

	w->target = xstrdup(r->param);
	/* The path is "/containers/" + param + the route's suffix. */
	w->suffix = xstrdup(
	    r->path + strlen("/containers/") + strlen(r->param));
	if (r->version != NULL && p->start.route_version == NULL)
		p->start.route_version = xstrdup(r->version);
	if (r->query != NULL && p->start.route_query == NULL)
		p->start.route_query = xstrdup(r->query);
}

void
guard_profile_judge_container(struct decision *p,
    const struct decision_request *req, void (*cont)(struct decision *p))
{
	struct guard_profile_wait *w = &p->prof;

	if (!profile_has_limits(req->profile) || req->route->param == NULL) {
		cont(p);
		return;
	}
	if (p->route == ROUTE_EXEC_START) /* /exec/{id}/start */
		w->exec = xstrdup(req->route->param);
	else
		want_target(p, req);
	w->name = xstrdup(req->profile->name);
	w->cont = cont;
	lookup_next(p);
}

void
guard_profile_judge(struct decision *p, const struct decision_request *req,
    void (*cont)(struct decision *p))
{
	const struct body_host *h = &p->facts.host;
	struct guard_profile_wait *w = &p->prof;
	char *msg;

	if (!profile_has_limits(req->profile)) {
		cont(p);
		return;
	}
	if ((msg = judge_host(p, req->profile, h)) != NULL) {
		guard_refuse(p, 403, "profile", msg);
		return;
	}
	/* A container:NAME join is the host's namespace when NAME is in
	   it. */
	if (req->profile->ns_set) {
		if ((req->profile->ns & PROFILE_NS_PID) == 0)
			want_join(w, h->pid_mode, PROFILE_NS_PID);
		if ((req->profile->ns & PROFILE_NS_IPC) == 0)
			want_join(w, h->ipc_mode, PROFILE_NS_IPC);
		if ((req->profile->ns & PROFILE_NS_NETWORK) == 0)
			want_join(w, h->network_mode, PROFILE_NS_NETWORK);
	}
	/* What the body names but does not say: the mounts of VolumesFrom
	   containers ("name[:ro|:rw]") and named volumes. */
	for (size_t i = 0; req->profile->binds.set && i < h->n_volumes_from;
	     i++) {
		const char *v = h->volumes_from[i], *c = strrchr(v, ':');
		size_t n = c != NULL &&
			(strcmp(c, ":ro") == 0 || strcmp(c, ":rw") == 0)
		    ? (size_t)(c - v)
		    : strlen(v);

		strv_push(&w->containers, &w->n_containers, v, n);
	}
	for (size_t i = 0; req->profile->binds.set && i < h->n_mounts; i++)
		want_volume(w, &h->mounts[i]);
	/* An exec runs with what its container has of the host. */
	if (p->route == ROUTE_EXEC_CREATE && req->route->param != NULL)
		want_target(p, req);
	/* A service attached to the host's network, by its name or ID. */
	for (size_t i = 0; req->profile->ns_set &&
	     (req->profile->ns & PROFILE_NS_NETWORK) == 0 && i < h->n_networks;
	     i++)
		strv_push(&w->networks, &w->n_networks, h->networks[i],
		    strlen(h->networks[i]));
	if (w->n_containers + w->n_volumes + w->n_joins + w->n_networks == 0 &&
	    w->target == NULL) {
		cont(p);
		return;
	}
	w->name = xstrdup(req->profile->name);
	w->cont = cont;
	lookup_next(p);
}
