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
#include <strings.h>

#include "body_inspect.h"
#include "guard.h"
#include "guard_int.h"
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
	char *v[8];
	size_t n;
};

static void
sockets_add(struct sockets *s, const char *path)
{
	char *canon = guard_profile_canonical(path);

	s->v[s->n++] = xstrdup(path);
	s->v[s->n++] = canon;
}

static void
sockets_reset(struct sockets *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
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
	    (is_host(h->userns_mode) ? PROFILE_NS_USERNS : 0);
}

/* The host paths and foreign drivers of h's mounts, as profile.c judges
 * them; strings in *owned (freed by the caller). */
static size_t
ask_mounts(const struct body_host *h, struct profile_mount *out, char **owned)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_mounts; i++) {
		const struct body_mount *m = &h->mounts[i];
		struct profile_mount *pm = &out[n];

		memset(pm, 0, sizeof *pm);
		pm->where = m->where;
		if (m->bind) {
			pm->given = m->source;
			pm->path = owned[n] = guard_profile_canonical(
			    m->source);
		} else if (m->driver != NULL &&
		    strcmp(m->driver, "local") != 0) {
			pm->given = m->source;
			pm->path = "";
			pm->driver = m->driver;
		} else if (m->device != NULL && m->device[0] == '/') {
			/* The local driver mounts device: a host path
			   (o=bind) or a block device, either way the
			   host's. */
			pm->given = m->device;
			pm->path = owned[n] = guard_profile_canonical(
			    m->device);
		} else
			continue;
		n++;
	}
	return n;
}

static const char *
ask_what(const struct decision *p)
{
	switch (p->route) {
	case ROUTE_EXEC_CREATE:
		return "an exec";
	case ROUTE_VOLUME_CREATE:
		return "a volume";
	case ROUTE_CONTAINER_UPDATE:
		return "an update of a container";
	case ROUTE_SERVICE_CREATE:
	case ROUTE_SERVICE_UPDATE:
		return "a service";
	default:
		return "a container";
	}
}

int
guard_profile_judge(struct decision *p, const struct decision_request *req)
{
	const struct body_host *h = &p->facts.host;
	const struct guard_config *cfg = guard_cfg(p->g);
	struct profile_ask ask = { 0 };
	struct profile_mount *mounts;
	struct sockets socks = { { 0 }, 0 };
	char **owned, **devices, *msg;

	if (!profile_has_limits(req->profile))
		return 0;
	mounts = xcalloc(h->n_mounts + 1, sizeof *mounts);
	owned = xcalloc(h->n_mounts + 1, sizeof *owned);
	devices = xcalloc(h->n_devices + 1, sizeof *devices);
	ask.what = ask_what(p);
	ask.privileged = h->privileged;
	ask.ns = host_namespaces(h);
	ask.caps = (const char *const *)h->cap_add;
	ask.n_caps = h->n_cap_add;
	for (size_t i = 0; i < h->n_devices; i++)
		devices[i] = guard_profile_canonical(h->devices[i]);
	ask.devices = (const char *const *)devices;
	ask.n_devices = h->n_devices;
	ask.n_mounts = ask_mounts(h, mounts, owned);
	ask.mounts = mounts;
	sockets_add(&socks, cfg->upstream);
	sockets_add(&socks, "/var/run/docker.sock");
	sockets_add(&socks, "/run/docker.sock");
	ask.sockets = (const char *const *)socks.v;
	ask.n_sockets = socks.n;
	msg = profile_check_ask(req->profile, &ask);
	if (msg == NULL && req->profile->binds.set && h->n_volumes_from > 0)
		msg = xasprintf("docker-guard: profile \"%s\" refused %s "
				"with VolumesFrom %s: it takes another "
				"container's mounts, which "
				"profile.%s.bind_mounts cannot judge here; "
				"name the mounts instead",
		    req->profile->name, ask.what, h->volumes_from[0],
		    req->profile->name);
	for (size_t i = 0; i < h->n_mounts; i++)
		free(owned[i]);
	for (size_t i = 0; i < h->n_devices; i++)
		free(devices[i]);
	free(owned);
	free(devices);
	free(mounts);
	sockets_reset(&socks);
	if (msg == NULL)
		return 0;
	guard_refuse(p, 403, "profile", msg);
	return -1;
}
