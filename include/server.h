/*
 * The running daemon: one event loop, the listening socket, the current
 * configuration and the list of client sessions.  Owned by serve.c.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/queue.h>

#include "config.h"
#include "http_head.h"

struct event_base;
struct evconnlistener;
struct event;
struct session;
struct guard;

TAILQ_HEAD(session_list, session);

struct server {
	struct event_base *base;
	struct guard_config *cfg; /* current; swapped on SIGHUP */
	char *config_path;	  /* NULL: defaults only */
	struct http_limits limits;
	struct evconnlistener *listener;
	struct session_list sessions; /* until each is freed */
	size_t n_sessions;
	size_t n_rejected; /* of which answered 503 by
						   session_reject(), closing */
	uint64_t next_session_id;
	bool draining; /* SIGTERM received */
	struct event *drain_timer;
	struct guard *guard; /* policy, store, engine lookups */

	/* Connection limits (max_connections, descriptors). */
	int spare_fd;		     /* given up to refuse a client
						   at EMFILE; -1: none */
	struct event *accept_timer;  /* accepting paused */
	time_t limit_logged;	     /* last limit message */
	unsigned long limit_refused; /* clients refused since */
};

/* Called by a session when it is freed, so a draining server can exit. */
void server_session_gone(struct server *srv);

#endif
