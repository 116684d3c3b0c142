#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conffile.h"
#include "deny.h"
#include "guard.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "ops_http.h"
#include "sd_notify.h"
#include "serve.h"
#include "session.h"
#include "xmalloc.h"

struct server;

/* A listen_profiles socket: its clients always get its profile. */
struct profile_socket {
	struct server *srv;
	char *path;
	char *profile; /* borrowed by its sessions until the exit */
	struct evconnlistener *listener;
};

/*
 * The running daemon: one event loop, the listening socket, the current
 * configuration, the guard and the sessions' host.  It wires the guard to
 * the sessions through the decision port; nothing else sees it.
 */
struct server {
	struct event_base *base;
	struct guard_config *cfg; /* current; swapped on SIGHUP */
	char *config_path;	  /* NULL: defaults only */
	struct http_limits limits;
	struct evconnlistener *listener;
	bool activated;	   /* the socket is systemd's: never unlinked */
	char *listen_name; /* activated: the socket's name, for the logs */
	struct session_host host; /* the sessions and what they share */
	bool draining;		  /* SIGTERM received */
	struct event *drain_timer;
	struct guard *guard;	       /* policy, store, engine lookups */
	struct decision_port port;     /* the sessions' way to the guard */
	struct ops_http *ops;	       /* metrics_listen, or NULL */
	struct profile_socket *psocks; /* listen_profiles, from the start */
	size_t n_psocks;

	/* Connection limits (max_connections, descriptors). */
	int spare_fd;		     /* given up to refuse a client at EMFILE;
				       -1: none */
	struct event *accept_timer;  /* accepting paused */
	time_t limit_logged;	     /* last limit message */
	unsigned long limit_refused; /* clients refused since */
};

static const struct serve_options *serve_opts;

/* Flags given on the command line win over the file. */
static void
apply_overrides(struct guard_config *cfg, const struct serve_options *o)
{
	if (o->listen != NULL) {
		free(cfg->listen);
		cfg->listen = xstrdup(o->listen);
	}
	if (o->upstream != NULL) {
		free(cfg->upstream);
		cfg->upstream = xstrdup(o->upstream);
	}
	if (o->database != NULL) {
		free(cfg->database);
		cfg->database = xstrdup(o->database);
	}
	if (o->ledger != NULL) {
		free(cfg->ledger);
		cfg->ledger = *o->ledger != '\0' ? xstrdup(o->ledger) : NULL;
	}
	if (o->metrics_listen != NULL) {
		free(cfg->metrics_listen);
		cfg->metrics_listen = *o->metrics_listen != '\0'
		    ? xstrdup(o->metrics_listen)
		    : NULL;
	}
	if (o->log_format != NULL)
		cfg->log_format = strcmp(o->log_format, "json") == 0
		    ? LOG_FORMAT_JSON
		    : LOG_FORMAT_TEXT;
}

static struct guard_config *
load_config(const struct serve_options *o)
{
	struct config_errors errs = { 0 };
	struct guard_config *cfg;
	const char *path = o->config != NULL ? o->config
					     : CONFFILE_DEFAULT_PATH;

	static unsigned long generation;

	cfg = conffile_load(path, o->config != NULL, &errs);
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.lines[i]);
	config_errors_reset(&errs);
	if (cfg != NULL) {
		apply_overrides(cfg, o);
		cfg->generation = ++generation;
	}
	return cfg;
}

static void
set_limits(struct server *srv)
{
	srv->limits.max_head_bytes = srv->cfg->max_header_bytes;
	srv->limits.max_headers = srv->cfg->max_headers;
}

/* A session was freed: a draining server exits with the last one. */
static void
session_gone(void *arg)
{
	struct server *srv = arg;

	metrics_connection_close();
	if (srv->draining && srv->host.n_sessions == 0)
		event_base_loopbreak(srv->base);
}

/* Seconds between two log lines about refused clients. */
#define SERVE_LIMIT_LOG_INTERVAL 10
/* Accepting pauses this long when no descriptor can be had at all. */
#define SERVE_ACCEPT_PAUSE_MS 250
/* Clients above max_connections answered (503, then a short linger)
   at once; beyond these they are closed without an answer. */
#define SERVE_REJECTING_MAX 64

/*
 * A client was refused for a limit: log it, at most once per interval,
 * with how many were refused since the last line.
 */
static void
limit_refused(struct server *srv, const char *why)
{
	time_t now = time(NULL);

	srv->limit_refused++;
	if (srv->limit_logged != 0 &&
	    now - srv->limit_logged < SERVE_LIMIT_LOG_INTERVAL)
		return;
	log_warn("refused %lu client(s) in the last %d s: %s",
	    srv->limit_refused, SERVE_LIMIT_LOG_INTERVAL, why);
	srv->limit_logged = now;
	srv->limit_refused = 0;
}

/* Write a Docker-shaped error to a socket that gets nothing else, best
   effort, and close it. */
static void
refuse_fd(int fd, int status, const char *message)
{
	size_t len;
	char *resp = deny_response(status, message, true, &len);

	(void)send(fd, resp, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(resp);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* A client accepted on a socket serving profile (NULL: the main one). */
static void
accept_client(struct server *srv, evutil_socket_t fd, const char *profile)
{
	unsigned max = srv->cfg->max_connections;
	struct session *s;
	char *msg;

	if (srv->draining) {
		close(fd);
		return;
	}
	metrics_connection_open();
	/* Clients being refused do not count against the cap. */
	if (srv->host.n_sessions - srv->host.n_rejected < max) {
		if ((s = session_new(&srv->host, fd)) == NULL)
			metrics_connection_close();
		else if (profile != NULL)
			session_set_listen_profile(s, profile);
		return;
	}
	msg = xasprintf("docker-guard: too many connections: %zu are open, "
			"max_connections is %u; try again later",
	    srv->host.n_sessions - srv->host.n_rejected, max);
	limit_refused(srv, msg + strlen("docker-guard: "));
	if (srv->host.n_rejected >= SERVE_REJECTING_MAX) {
		refuse_fd(fd, 503, msg);
		metrics_connection_close();
	} else if ((s = session_new(&srv->host, fd)) != NULL)
		session_reject(s, 503, msg);
	else
		metrics_connection_close();
	free(msg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	accept_client(arg, fd, NULL);
}

static void
accept_profile_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct profile_socket *ps = arg;

	accept_client(ps->srv, fd, ps->profile);
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->listener != NULL)
		evconnlistener_enable(srv->listener);
	for (size_t i = 0; i < srv->n_psocks; i++)
		if (srv->psocks[i].listener != NULL)
			evconnlistener_enable(srv->psocks[i].listener);
}

/* Stop accepting for a moment: the listening socket stays readable, and
   a listener that keeps failing must not spin. */
static void
accept_pause(struct server *srv)
{
	struct timeval tv = { 0, SERVE_ACCEPT_PAUSE_MS * 1000 };

	if (srv->accept_timer == NULL)
		srv->accept_timer = evtimer_new(srv->base, accept_resume_cb,
		    srv);
	if (srv->accept_timer == NULL)
		return;
	if (srv->listener != NULL)
		evconnlistener_disable(srv->listener);
	for (size_t i = 0; i < srv->n_psocks; i++)
		if (srv->psocks[i].listener != NULL)
			evconnlistener_disable(srv->psocks[i].listener);
	evtimer_add(srv->accept_timer, &tv);
}

/*
 * Out of descriptors (EMFILE, ENFILE): the waiting client would hang and
 * the listener would spin.  Give up the spare descriptor, accept the
 * client, answer it 503 and close it, then take the spare back.  Without
 * a spare, pause accepting.
 */
static void
accept_out_of_fds(struct server *srv, struct evconnlistener *l, int err)
{
	char *msg = xasprintf(
	    "docker-guard: the guard is out of file "
	    "descriptors (%s); try again later, or raise its open-files "
	    "limit or lower max_connections",
	    strerror(err));
	int fd = -1;

	if (srv->spare_fd >= 0) {
		close(srv->spare_fd);
		fd = accept4(evconnlistener_get_fd(l), NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			metrics_connection_open();
			refuse_fd(fd, 503, msg);
			metrics_connection_close();
		}
		srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	limit_refused(srv, msg + strlen("docker-guard: "));
	free(msg);
	if (fd < 0 || srv->spare_fd < 0)
		accept_pause(srv);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE) {
		accept_out_of_fds(srv, l, err);
		return;
	}
	/* ENOBUFS, ENOMEM and the like: wait a little, log rarely. */
	limit_refused(srv, strerror(err));
	accept_pause(srv);
}

static void
accept_profile_error_cb(struct evconnlistener *l, void *arg)
{
	struct profile_socket *ps = arg;

	accept_error_cb(l, ps->srv);
}

/* Stop listening on the listen_profiles sockets; free them too at the
 * exit (their names are the sessions' until then). */
static void
close_profile_sockets(struct server *srv, bool free_all)
{
	for (size_t i = 0; i < srv->n_psocks; i++) {
		struct profile_socket *ps = &srv->psocks[i];

		if (ps->listener != NULL) {
			evconnlistener_free(ps->listener);
			ps->listener = NULL;
			unlink(ps->path);
		}
		if (free_all) {
			free(ps->path);
			free(ps->profile);
		}
	}
	if (free_all) {
		free(srv->psocks);
		srv->psocks = NULL;
		srv->n_psocks = 0;
	}
}

/* Bind every listen_profiles socket ("path:NAME").  Returns 0, or -1
 * with the reason logged. */
static int
arm_profile_sockets(struct server *srv)
{
	const struct string_list *l = &srv->cfg->listen_profiles;

	srv->psocks = xcalloc(l->n + 1, sizeof *srv->psocks);
	for (size_t i = 0; i < l->n; i++) {
		struct profile_socket *ps = &srv->psocks[srv->n_psocks];
		const char *colon = strrchr(l->items[i], ':');
		char *cause = NULL;
		int fd;

		ps->srv = srv;
		ps->path = xstrndup(l->items[i], (size_t)(colon - l->items[i]));
		ps->profile = xstrdup(colon + 1);
		srv->n_psocks++;
		fd = listener_open_path(srv->cfg, ps->path, &cause);
		if (fd < 0) {
			log_error("listen_profiles: %s", cause);
			free(cause);
			return -1;
		}
		ps->listener = evconnlistener_new(srv->base, accept_profile_cb,
		    ps, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (ps->listener == NULL)
			fatalx("cannot listen on %s", ps->path);
		evconnlistener_set_error_cb(ps->listener,
		    accept_profile_error_cb);
		log_info("listening on %s for profile \"%s\"", ps->path,
		    ps->profile);
	}
	return 0;
}

/* Descriptors: as many as the hard limit allows (each client may need
   two), and one kept spare for refusing clients at the limit. */
static void
setup_descriptors(struct server *srv)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_debug("cannot raise the open-files limit: %s",
			    strerror(errno));
	}
	srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	log_warn("shutdown_grace expired with %zu connection(s) still open; "
		 "exiting",
	    srv->host.n_sessions);
	event_base_loopbreak(srv->base);
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct session *s, *next;
	struct timeval tv = { 0, 0 };

	if (srv->draining)
		return;
	log_info("signal %d: no longer accepting; finishing %zu "
		 "connection(s)",
	    (int)sig, srv->host.n_sessions);
	srv->draining = true;
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
		if (!srv->activated)
			unlink(srv->cfg->listen);
	}
	close_profile_sockets(srv, false);
	if (srv->accept_timer != NULL)
		evtimer_del(srv->accept_timer);
	sd_notify_send("STOPPING=1\nSTATUS=Stopping: finishing the requests "
		       "in flight");
	/* session_drain() may close a session but never frees it here
	   (session.h, Lifetime): next stays valid. */
	for (s = TAILQ_FIRST(&srv->host.sessions); s != NULL; s = next) {
		next = session_next(s);
		session_drain(s);
	}
	if (srv->host.n_sessions == 0) {
		event_base_loopbreak(srv->base);
		return;
	}
	tv.tv_sec = srv->cfg->shutdown_grace;
	srv->drain_timer = evtimer_new(srv->base, drain_timeout_cb, srv);
	evtimer_add(srv->drain_timer, &tv);
}

/* Tell systemd (if it listens) that the guard serves, and where. */
static void
notify_ready(const struct server *srv)
{
	char *msg = xasprintf("READY=1\nMAINPID=%ld\nSTATUS=Listening on %s%s, "
			      "forwarding to %s",
	    (long)getpid(),
	    srv->activated ? srv->listen_name : srv->cfg->listen,
	    srv->activated ? " (from systemd)" : "", srv->cfg->upstream);

	sd_notify_send(msg);
	free(msg);
}

static bool
same_string(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The fleet ledger's connection and this host's name in it stay as they
 * started (ledger_unreachable is read at each decision). */
static void
keep_fleet_settings(struct guard_config *cfg, const struct guard_config *old)
{
	if (!same_string(cfg->ledger, old->ledger) ||
	    !same_string(cfg->host_name, old->host_name))
		log_warn("SIGHUP: ledger and host_name take effect at the "
			 "next start");
	free(cfg->ledger);
	cfg->ledger = old->ledger != NULL ? xstrdup(old->ledger) : NULL;
	free(cfg->host_name);
	cfg->host_name = old->host_name != NULL ? xstrdup(old->host_name)
						: NULL;
	if (!same_string(cfg->metrics_listen, old->metrics_listen))
		log_warn("SIGHUP: metrics_listen takes effect at the next "
			 "start; still serving metrics on %s",
		    old->metrics_listen != NULL ? old->metrics_listen
						: "(none)");
	free(cfg->metrics_listen);
	cfg->metrics_listen = old->metrics_listen != NULL
	    ? xstrdup(old->metrics_listen)
	    : NULL;
}

static bool
same_list(const struct string_list *a, const struct string_list *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i], b->items[i]) != 0)
			return false;
	return true;
}

/* SIGHUP: a new configuration, or the running one kept if it has
   errors. */
static void
reload_config(struct server *srv)
{
	struct guard_config *cfg = load_config(serve_opts);

	if (cfg == NULL) {
		log_error("SIGHUP: the configuration has errors; keeping the "
			  "running one");
		return;
	}
	/* Socket-activated, the socket settings are the .socket unit's. */
	if (strcmp(cfg->database, srv->cfg->database) != 0 ||
	    (!srv->activated &&
		(strcmp(cfg->listen, srv->cfg->listen) != 0 ||
		    cfg->socket_mode != srv->cfg->socket_mode ||
		    strcmp(cfg->socket_group, srv->cfg->socket_group) != 0)))
		log_warn("SIGHUP: listen, database and socket settings take "
			 "effect at the next start");
	if (!same_list(&cfg->listen_profiles, &srv->cfg->listen_profiles))
		log_warn("SIGHUP: listen_profiles takes effect at the next "
			 "start (the profiles themselves apply now)");
	free(cfg->listen);
	cfg->listen = xstrdup(srv->cfg->listen);
	free(cfg->database);
	cfg->database = xstrdup(srv->cfg->database);
	keep_fleet_settings(cfg, srv->cfg);
	config_free(srv->cfg);
	srv->cfg = cfg;
	set_limits(srv);
	log_set_level(cfg->log_level);
	log_set_format(cfg->log_format);
	if (guard_reconfigure(srv->guard) != 0)
		log_error("SIGHUP: the registry settings could not be applied; "
			  "registry checks run without them");
	log_info("SIGHUP: configuration reloaded");
}

static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	sd_notify_reloading();
	reload_config(srv);
	notify_ready(srv);
}

/*
 * Free what the server holds, whatever start-up reached (every exit of
 * serve_main goes through here, so a failed start leaks nothing either).
 * Returns status.
 */
static int
server_teardown(struct server *srv, int status)
{
	while (!TAILQ_EMPTY(&srv->host.sessions))
		session_free(TAILQ_FIRST(&srv->host.sessions));
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener);
		if (!srv->activated)
			unlink(srv->cfg->listen);
	}
	close_profile_sockets(srv, true);
	if (srv->drain_timer != NULL)
		event_free(srv->drain_timer);
	if (srv->accept_timer != NULL)
		event_free(srv->accept_timer);
	if (srv->spare_fd >= 0)
		close(srv->spare_fd);
	ops_http_free(srv->ops);
	if (srv->guard != NULL)
		guard_free(srv->guard);
	if (srv->base != NULL)
		event_base_free(srv->base);
	config_free(srv->cfg);
	free(srv->config_path);
	free(srv->listen_name);
	return status;
}

/*
 * The listening socket: systemd's when the guard was socket-activated,
 * else bound to cfg->listen; then the libevent listener on it.  Returns
 * 0, or -1 with the reason logged.
 */
static int
arm_listener(struct server *srv)
{
	char *cause = NULL, *name = NULL;
	int fd = listener_activated(srv->cfg, &name, &cause);

	if (fd > 0) {
		srv->activated = true;
		srv->listen_name = name;
	} else if (fd == 0)
		fd = listener_open(srv->cfg, &cause);
	if (fd < 0) {
		log_error("%s", cause);
		free(cause);
		return -1;
	}
	srv->listener = evconnlistener_new(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->listener == NULL)
		fatalx("cannot listen on %s",
		    srv->activated ? srv->listen_name : srv->cfg->listen);
	evconnlistener_set_error_cb(srv->listener, accept_error_cb);
	return 0;
}

/* The operators' listener (metrics_listen), if set: 0, or -1 with the
 * reason logged. */
static int
arm_ops(struct server *srv)
{
	char *cause = NULL;

	if (srv->cfg->metrics_listen == NULL)
		return 0;
	srv->ops = ops_http_new(srv->base, srv->cfg, srv->guard, &cause);
	if (srv->ops == NULL) {
		log_error("%s", cause);
		free(cause);
		return -1;
	}
	log_info("serving metrics on %s", srv->cfg->metrics_listen);
	return 0;
}

/* The event loop, with epoll changes coalesced; exits on failure. */
/* libevent's own warnings, as the guard's lines (not its "[warn]" on
   stderr, which a json log_format would not parse). */
static void
libevent_log(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else if (severity == EVENT_LOG_MSG)
		log_info("libevent: %s", msg);
	else if (severity == EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_error("libevent: %s", msg);
}

static struct event_base *
new_base(void)
{
	/* Streams arrive in small messages and write interest toggles on
	   each: let epoll changes coalesce per loop iteration instead of
	   costing a system call each. */
	struct event_config *ec = event_config_new();
	struct event_base *base;

	event_set_log_callback(libevent_log);
	if (ec == NULL)
		fatalx("cannot create the event loop");
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (base == NULL)
		fatalx("cannot create the event loop");
	return base;
}

/*
 * Keep freed heap for the next body instead of giving it back at once.
 * glibc's defaults trim the heap's top when 128 KiB of it is free and
 * serve anything over 128 KiB with a fresh mmap: a relayed body allocates
 * and frees buffer chains of about that size all the time, so each one
 * was new memory to fault in (measured: a docker cp through the guard
 * cost 3 times the CPU of a plain relay, a third of it page faults and
 * brk).  At most 8 MiB of free heap stays mapped.
 */
static void
tune_malloc(void)
{
#ifdef M_TRIM_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
#endif
}

int
serve_main(const struct serve_options *opts)
{
	struct server srv;
	struct event *ev_term, *ev_int, *ev_hup;

	serve_opts = opts;
	memset(&srv, 0, sizeof srv);
	srv.spare_fd = -1;
	session_host_init(&srv.host);
	/* --log-format applies to the configuration's own errors too */
	if (opts->log_format != NULL && strcmp(opts->log_format, "json") == 0)
		log_set_format(LOG_FORMAT_JSON);
	srv.cfg = load_config(opts);
	if (srv.cfg == NULL)
		return 1;
	if (opts->config != NULL)
		srv.config_path = xstrdup(opts->config);
	log_set_level(srv.cfg->log_level);
	log_set_format(srv.cfg->log_format);
	tune_malloc();
	set_limits(&srv);
	signal(SIGPIPE, SIG_IGN);
	setup_descriptors(&srv);

	srv.base = new_base();
	srv.guard = guard_new(srv.base,
	    (const struct guard_config *const *)&srv.cfg, true);
	if (srv.guard == NULL)
		return server_teardown(&srv, 1);
	guard_port(srv.guard, &srv.port);
	srv.host.base = srv.base;
	srv.host.cfg = (const struct guard_config *const *)&srv.cfg;
	srv.host.limits = &srv.limits;
	srv.host.decider = &srv.port;
	srv.host.gone = session_gone;
	srv.host.gone_arg = &srv;
	if (arm_listener(&srv) != 0 || arm_ops(&srv) != 0 ||
	    arm_profile_sockets(&srv) != 0)
		return server_teardown(&srv, 1);

	ev_term = evsignal_new(srv.base, SIGTERM, sigterm_cb, &srv);
	ev_int = evsignal_new(srv.base, SIGINT, sigterm_cb, &srv);
	ev_hup = evsignal_new(srv.base, SIGHUP, sighup_cb, &srv);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);

	if (srv.activated)
		log_info("listening on %s (socket from systemd, fd 3), "
			 "forwarding to %s",
		    srv.listen_name, srv.cfg->upstream);
	else
		log_info("listening on %s, forwarding to %s", srv.cfg->listen,
		    srv.cfg->upstream);
	notify_ready(&srv);
	event_base_dispatch(srv.base);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	log_info("stopped");
	return server_teardown(&srv, 0);
}
