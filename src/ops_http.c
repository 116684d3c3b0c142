/*
 * The operators' listener: libevent's evhttp on the guard's loop.  Each
 * request is answered at once from the page table; nothing is kept
 * between requests.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "ops_http.h"
#include "xmalloc.h"

/* A GET needs a request line and a few headers. */
#define OPS_MAX_HEAD 8192
/* Requests carry no body; a slow or idle client is let go after this. */
#define OPS_TIMEOUT_S 10
#define OPS_BACKLOG 16

/* Connections open at once; more wait in the backlog. */
#define OPS_MAX_CONNS 32
/* How often connections evhttp let go are looked for. */
#define OPS_SWEEP_MS 200

/* A connection's bufferevent, held (one reference) until evhttp lets
 * it go. */
struct ops_conn {
	TAILQ_ENTRY(ops_conn) entry;
	struct bufferevent *bev;
};

struct ops_http {
	struct evhttp *http;
	struct evconnlistener *listener; /* the bound socket's */
	TAILQ_HEAD(, ops_conn) conns;
	unsigned n_conns;
	struct event *sweep_ev;
	char *unlink_path; /* the socket file made here, or NULL */
	void *ctx;
};

static int page_metrics(void *ctx, struct evhttp_request *req,
    struct evbuffer *out, const char **type);

/* The pages, by exact path (the query is ignored). */
static const struct ops_route {
	const char *path;
	ops_page_fn fn;
} ops_routes[] = {
	{ "/metrics", page_metrics },
};

static int
page_metrics(void *ctx, struct evhttp_request *req, struct evbuffer *out,
    const char **type)
{
	size_t len;
	char *text = metrics_render(&len);

	evbuffer_add(out, text, len);
	free(text);
	*type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}

static void
reply(struct evhttp_request *req, int status, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (status == 405)
		evhttp_add_header(h, "Allow", "GET, HEAD");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* The length a GET would get, and no body (libevent 2.1 would
		   send it after a HEAD's head). */
		char n[32];

		snprintf(n, sizeof n, "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", n);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, status, reason, body);
}

static void
reply_text(struct evhttp_request *req, int status, const char *reason,
    const char *text)
{
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(body, "%d %s: %s\n", status, reason, text);
	reply(req, status, reason, "text/plain; charset=utf-8", body);
	evbuffer_free(body);
}

static const struct ops_route *
find_route(struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof ops_routes / sizeof ops_routes[0]; i++) {
		if (strcmp(path, ops_routes[i].path) == 0)
			return &ops_routes[i];
	}
	return NULL;
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct ops_http *h = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct ops_route *r = find_route(req);
	const char *type = "text/plain; charset=utf-8";
	struct evbuffer *body;
	int status;

	if (r == NULL) {
		char pages[256] = "no such page; the pages here are ";

		for (size_t i = 0; i < sizeof ops_routes / sizeof ops_routes[0];
		     i++)
			snprintf(pages + strlen(pages),
			    sizeof pages - strlen(pages), "%s%s",
			    i == 0 ? "" : " and ", ops_routes[i].path);
		reply_text(req, 404, "Not Found", pages);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_text(req, 405, "Method Not Allowed",
		    "these pages are read-only: use GET or HEAD");
		return;
	}
	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	status = r->fn(h->ctx, req, body, &type);
	reply(req, status, status == 200 ? "OK" : NULL, type, body);
	evbuffer_free(body);
}

/*
 * evhttp (libevent 2.1) has no connection cap and says nothing when a
 * connection goes.  Each connection's bufferevent is made here and held
 * by one more reference; evhttp's bufferevent_free clears its callbacks
 * (a live evhttp connection always has its error callback set), and a
 * sweep drops the reference of those (closing the socket, which evhttp
 * has already shut down for writing).  Accepting pauses at OPS_MAX_CONNS
 * until one goes.
 */
static void
sweep(struct ops_http *h)
{
	struct ops_conn *c, *next;
	bufferevent_event_cb ecb;

	for (c = TAILQ_FIRST(&h->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
		if (ecb != NULL)
			continue;
		TAILQ_REMOVE(&h->conns, c, entry);
		bufferevent_decref(c->bev);
		free(c);
		if (h->n_conns-- == OPS_MAX_CONNS && h->listener != NULL)
			evconnlistener_enable(h->listener);
	}
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ops_http *h = arg;
	struct timeval tv = { 0, OPS_SWEEP_MS * 1000 };

	sweep(h);
	if (h->n_conns > 0)
		evtimer_add(h->sweep_ev, &tv);
}

static struct bufferevent *
conn_bev(struct event_base *base, void *arg)
{
	struct ops_http *h = arg;
	struct timeval tv = { 0, OPS_SWEEP_MS * 1000 };
	struct bufferevent *bev;
	struct ops_conn *c;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		return NULL;
	bufferevent_incref(bev);
	c = xcalloc(1, sizeof *c);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	if (++h->n_conns == OPS_MAX_CONNS && h->listener != NULL)
		evconnlistener_disable(h->listener);
	if (!evtimer_pending(h->sweep_ev, NULL))
		evtimer_add(h->sweep_ev, &tv);
	return bev;
}

/* Bind a unix socket at path, replacing a stale one: fd, or -1 with
 * *cause set. */
static int
unix_listen(const char *path, const char *group, char **cause)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	struct group *gr = group[0] != '\0' ? getgrnam(group) : NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("metrics_listen %s is too long for a socket "
				   "path (at most %zu bytes)",
		    path, sizeof sun.sun_path - 1);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (fd < 0) {
		*cause = xasprintf("metrics_listen %s: socket: %s", path,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = xasprintf("metrics_listen %s exists and is "
					   "not a socket; not replacing it",
			    path);
			close(fd);
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 ||
		    errno == EAGAIN) {
			*cause = xasprintf("metrics_listen %s: another "
					   "process is listening on it",
			    path);
			close(fd);
			return -1;
		}
		close(fd);
		unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(path, 0660) != 0 || listen(fd, OPS_BACKLOG) != 0) {
		*cause = xasprintf("cannot listen on metrics_listen %s: %s",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Not fatal: root and the guard's user can still read it. */
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) != 0)
		log_warn("metrics_listen %s: cannot give it group %s: %s", path,
		    group, strerror(errno));
	return fd;
}

static int
bind_listener(struct ops_http *h, const struct guard_config *cfg, char **cause)
{
	const char *where = cfg->metrics_listen;
	struct evhttp_bound_socket *bound;
	char host[16];
	unsigned port;
	int fd;

	if (where[0] == '/') {
		fd = unix_listen(where, cfg->socket_group, cause);
		if (fd < 0)
			return -1;
		h->unlink_path = xstrdup(where);
		if ((bound = evhttp_accept_socket_with_handle(h->http, fd)) ==
		    NULL) {
			*cause = xasprintf("cannot listen on metrics_listen "
					   "%s",
			    where);
			close(fd);
			return -1;
		}
		h->listener = evhttp_bound_socket_get_listener(bound);
		return 0;
	}
	if (config_ops_addr(where, host, sizeof host, &port) != 0) {
		*cause = xasprintf("metrics_listen %s is neither an absolute "
				   "socket path nor a loopback address with a "
				   "port (127.0.0.1:PORT, [::1]:PORT or "
				   "localhost:PORT)",
		    where);
		return -1;
	}
	errno = 0;
	bound = evhttp_bind_socket_with_handle(h->http, host, (uint16_t)port);
	if (bound == NULL) {
		*cause = xasprintf("cannot listen on metrics_listen %s: %s",
		    where, errno != 0 ? strerror(errno) : "bind failed");
		return -1;
	}
	h->listener = evhttp_bound_socket_get_listener(bound);
	return 0;
}

struct ops_http *
ops_http_new(struct event_base *base, const struct guard_config *cfg, void *ctx,
    char **cause)
{
	struct ops_http *h = xcalloc(1, sizeof *h);

	h->ctx = ctx;
	TAILQ_INIT(&h->conns);
	h->http = evhttp_new(base);
	h->sweep_ev = evtimer_new(base, sweep_cb, h);
	if (h->http == NULL || h->sweep_ev == NULL) {
		*cause = xstrdup("cannot create the metrics listener");
		ops_http_free(h);
		return NULL;
	}
	evhttp_set_max_headers_size(h->http, OPS_MAX_HEAD);
	evhttp_set_max_body_size(h->http, 0);
	evhttp_set_timeout(h->http, OPS_TIMEOUT_S);
	/* Every method reaches request_cb, which answers 405 itself
	   (evhttp would say 501 Not Implemented). */
	evhttp_set_allowed_methods(h->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, request_cb, h);
	evhttp_set_bevcb(h->http, conn_bev, h);
	if (bind_listener(h, cfg, cause) != 0) {
		ops_http_free(h);
		return NULL;
	}
	return h;
}

void
ops_http_free(struct ops_http *h)
{
	if (h == NULL)
		return;
	h->listener = NULL; /* freed with h->http */
	if (h->http != NULL)
		evhttp_free(h->http);
	/* evhttp let every connection go: drop what is held. */
	while (!TAILQ_EMPTY(&h->conns)) {
		struct ops_conn *c = TAILQ_FIRST(&h->conns);

		TAILQ_REMOVE(&h->conns, c, entry);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (h->sweep_ev != NULL)
		event_free(h->sweep_ev);
	if (h->unlink_path != NULL) {
		unlink(h->unlink_path);
		free(h->unlink_path);
	}
	free(h);
}
