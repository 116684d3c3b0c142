/*
 * Fuzz the proxy session state machine (src/session*.c) itself: real
 * sessions on a real event loop, the client over a socketpair, the engine
 * a listening Unix socket whose accepted connections the fuzzer plays,
 * and a stand-in guard that decides from input bytes and delivers its
 * verdicts later from the event loop, as guard.c does.
 *
 * The input is a sequence of operations, one byte each (low nibble: the
 * operation, high nibble: an argument), some followed by a length and
 * data: client bytes, engine bytes, canned requests and responses, bulk
 * bytes past the sessions' buffer limits, half closes and closes on
 * either side, a verdict, a SIGTERM-style drain, firing the sessions'
 * timers, the engine socket vanishing and coming back.  After every
 * operation the loop runs a few passes.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/event.h>

#include "config.h"
#include "decision.h"
#include "log.h"
#include "session.h"
#include "xmalloc.h"

#define MAX_CLIENTS	4
#define MAX_ENGINES	8
#define LOOP_PASSES	6

enum op {
	OP_CLIENT_DATA,		/* len, bytes */
	OP_CLIENT_CANNED,	/* which */
	OP_ENGINE_DATA,		/* len, bytes */
	OP_ENGINE_CANNED,	/* which */
	OP_CLIENT_SHUT,
	OP_CLIENT_CLOSE,
	OP_ENGINE_SHUT,
	OP_ENGINE_CLOSE,
	OP_VERDICT,		/* kind */
	OP_DRAIN,
	OP_TIMERS,
	OP_ENGINE_TOGGLE,
	OP_CLIENT_READ,
	OP_ENGINE_READ,
	OP_NEW_CLIENT,
	OP_BULK,		/* arg 0: heads of 128 KiB bodies (a request
				   to a client, a response to an engine
				   connection), for the bulk to fill; 1-7: that many 64 KiB
				   to a client, 8-15: arg-7 times 64 KiB to an
				   engine connection (backpressure) */
};

static const char *const client_canned[] = {
	"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n",
	"GET /v1.41/containers/json HTTP/1.1\r\nHost: d\r\n"
	    "Connection: close\r\n\r\n",
	"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n",
	"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
	    "Content-Type: application/json\r\nContent-Length: 19\r\n\r\n"
	    "{\"Image\":\"foo:1.0\"}",
	"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
	    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n13\r\n{\"Image\":\"foo:1.0\"}\r\n0\r\n\r\n",
	"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
	    "Connection: close\r\nContent-Type: application/json\r\n"
	    "Content-Length: 19\r\n\r\n{\"Image\":\"foo:1.0\"}",
	"POST /v1.41/images/create?fromImage=foo&tag=1 HTTP/1.1\r\n"
	    "Host: d\r\n\r\n",
	"POST /v1.41/containers/x/attach?stream=1&stdin=1 HTTP/1.1\r\n"
	    "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
	"POST /v1.41/exec/x/start HTTP/1.1\r\nHost: d\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	"POST /v1.41/build HTTP/1.1\r\nHost: d\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"GET /v1.41/events HTTP/1.1\r\nHost: d\r\n\r\n",
	"DELETE /v1.41/containers/x?force=1 HTTP/1.1\r\nHost: d\r\n\r\n",
	"POST /v1.41/containers/x/start HTTP/1.1\r\nHost: d\r\n\r\n",
	"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
	    "Expect: 100-continue\r\nContent-Type: application/json\r\n"
	    "Content-Length: 19\r\n\r\n",
	"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\nGET /_ping HTTP/1.1\r\n"
	    "Host: d\r\n\r\n",
	"GET /_ping HTTP/1.1\r\n\r\n",
};

static const char *const engine_canned[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Content-Length: 25\r\n\r\n{\"Id\":\"cc\",\"Warnings\":[]}",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.1 101 UPGRADED\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
	"HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/vnd.docker.raw-stream\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close",
	"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
	    "Content-Length: 22\r\n\r\n{\"message\":\"no such\"}",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"5\r\nhello\r\n",
	"0\r\n\r\n",
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n19\r\n"
	    "{\"Id\":\"cc\",\"Warnings\":[]}\r\n0\r\n\r\n",
};

/* The stand-in decider (decision.h): one pending decision per guarded
   request. */
struct decision {
	TAILQ_ENTRY(decision) entry;
	struct decision_reply reply;
	struct event	*ev;
	uint8_t		 kind;
	bool		 delivered;
};
TAILQ_HEAD(pending_list, decision);

static struct event_base	*base;
static struct guard_config	*cfg;
static struct http_limits	 limits;
static struct decision_port	 port;
static struct session_host	 host;
static bool			 draining;
static struct pending_list	 pendings = TAILQ_HEAD_INITIALIZER(pendings);
static char			 dir[64];
static int			 listen_fd = -1;
static int			 clients[MAX_CLIENTS];
static int			 engines[MAX_ENGINES];

/* Read every byte of a borrowed buffer, so the sanitizers check it. */
static volatile unsigned char touch_sink;

static void
touch(const void *p, size_t len)
{
	unsigned char sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += ((const unsigned char *)p)[i];
	touch_sink = sum;
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	static const char *const warnings[] = {
		"docker-guard: a warning from the fuzzer",
	};
	struct decision *p = arg;
	struct decision_verdict v = { 0 };

	switch (p->kind % 6) {
	case 0:		/* allow */
		break;
	case 1:		/* allow, wants the engine's answer */
		v.wants_response = true;
		break;
	case 2:		/* warn */
		v.warnings = warnings;
		v.n_warnings = 1;
		v.wants_response = true;
		break;
	case 3:
		v.status = 403;
		v.message = "docker-guard: refused by the fuzzer";
		break;
	case 4:
		v.status = 409;
		v.message = "docker-guard: conflict from the fuzzer";
		break;
	case 5:
		v.status = 502;
		v.message = "docker-guard: cannot reach the registry";
		break;
	}
	/* As guard.c: the session cancels p when it no longer needs it. */
	p->reply.decided(p->reply.arg, &v);
}

static struct decision *
fake_check(void *decider, const struct decision_request *req,
    const struct decision_reply *reply)
{
	struct decision *p = xcalloc(1, sizeof *p);

	touch(req->head->orig, req->head->head_len);
	if (req->body != NULL)
		touch(req->body, req->body_len);
	p->reply = *reply;
	p->ev = evtimer_new(base, deliver_cb, p);
	TAILQ_INSERT_TAIL(&pendings, p, entry);
	return p;
}

static void
fake_cancel(void *decider, struct decision *p)
{
	TAILQ_REMOVE(&pendings, p, entry);
	event_free(p->ev);
	free(p);
}

/* As guard.c after a held create: the check is done, answer the session
   (kind / 12 odd: the guard undid what the engine created). */
static void
verified_cb(evutil_socket_t fd, short what, void *arg)
{
	struct decision *p = arg;
	struct decision_reply reply = p->reply;
	int status = (p->kind / 12) % 2 ? 403 : 0;

	TAILQ_REMOVE(&pendings, p, entry);
	event_free(p->ev);
	free(p);
	reply.verified(reply.arg, status, "docker-guard: undone by the fuzzer");
}

static bool
fake_response(void *decider, struct decision *p, int status,
    const char *body, size_t len)
{
	touch(body, len);
	if ((p->kind / 6) % 2) {
		/* Hold the answer; session_verified() comes later, or the
		   session goes and cancels p first. */
		event_free(p->ev);
		p->ev = evtimer_new(base, verified_cb, p);
		event_active(p->ev, EV_TIMEOUT, 0);
		return true;
	}
	fake_cancel(decider, p);
	return false;
}

static void
fake_observe(void *decider, const struct route *r, int status)
{
}

static void
engine_listen(void)
{
	struct sockaddr_un sun;

	if (listen_fd >= 0)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/engine.sock", dir);
	unlink(sun.sun_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sun,
	    sizeof sun) != 0 || listen(listen_fd, 64) != 0)
		fatalx("fuzz_session: cannot listen on %s", sun.sun_path);
}

/* The engine socket goes away: connects fail with ENOENT. */
static void
engine_unlisten(void)
{
	char path[128];

	if (listen_fd < 0)
		return;
	close(listen_fd);
	listen_fd = -1;
	snprintf(path, sizeof path, "%s/engine.sock", dir);
	unlink(path);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);
	snprintf(dir, sizeof dir, "/tmp/fuzz-session.%ld", (long)getpid());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fatalx("fuzz_session: cannot create %s", dir);
	base = event_base_new();
	if (base == NULL)
		fatalx("fuzz_session: no event base");
	cfg = config_new();
	free(cfg->upstream);
	cfg->upstream = xasprintf("%s/engine.sock", dir);
	cfg->body_limit = 4096;
	limits.max_head_bytes = 4096;
	limits.max_headers = 20;
	port.check = fake_check;
	port.response = fake_response;
	port.cancel = fake_cancel;
	port.observe = fake_observe;
	session_host_init(&host);
	host.base = base;
	host.cfg = (const struct guard_config *const *)&cfg;
	host.limits = &limits;
	host.decider = &port;
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	for (int i = 0; i < MAX_ENGINES; i++)
		engines[i] = -1;
}

static void
accept_engines(void)
{
	if (listen_fd < 0)
		return;
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0)
			return;
		for (i = 0; i < MAX_ENGINES && engines[i] >= 0; i++)
			;
		if (i == MAX_ENGINES) {
			close(fd);
			continue;
		}
		engines[i] = fd;
	}
}

static void
run_loop(void)
{
	for (int i = 0; i < LOOP_PASSES; i++) {
		accept_engines();
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	accept_engines();
}

/* The n-th open descriptor of set (wrapping), or -1. */
static int
pick(int *set, int max, unsigned n)
{
	int open = 0;

	for (int i = 0; i < max; i++)
		open += set[i] >= 0;
	if (open == 0)
		return -1;
	n %= (unsigned)open;
	for (int i = 0; i < max; i++) {
		if (set[i] >= 0 && n-- == 0)
			return i;
	}
	return -1;
}

static void
new_client(void)
{
	int sv[2], i;

	for (i = 0; i < MAX_CLIENTS && clients[i] >= 0; i++)
		;
	if (i == MAX_CLIENTS)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		return;
	clients[i] = sv[0];
	session_new(&host, sv[1]);
}

static void
drain_fd(int fd)
{
	char buf[65536];

	for (int i = 0; i < 16; i++) {
		if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
			return;
	}
}

/* Fire every session timer now (head, idle, linger), as if time passed. */
static void
collect_timer(const struct event_base *b, const struct event *ev, void *arg)
{
	struct event **found = arg;

	if (event_get_fd(ev) != -1 || !event_pending(ev, EV_TIMEOUT, NULL))
		return;
	for (int i = 0; i < 64; i++) {
		if (found[i] == NULL) {
			found[i] = (struct event *)(uintptr_t)ev;
			return;
		}
	}
}

static int
collect_cb(const struct event_base *b, const struct event *ev, void *arg)
{
	collect_timer(b, ev, arg);
	return 0;
}

static void
fire_timers(void)
{
	struct event *found[64] = { NULL };

	event_base_foreach_event(base, collect_cb, found);
	for (int i = 0; i < 64 && found[i] != NULL; i++)
		event_active(found[i], EV_TIMEOUT, 1);
}

static void
drain_all(void)
{
	struct session *s, *next;

	draining = true;
	for (s = TAILQ_FIRST(&host.sessions); s != NULL; s = next) {
		next = session_next(s);
		session_drain(s);
	}
}

static void
deliver_one(uint8_t kind)
{
	struct decision *p;

	TAILQ_FOREACH(p, &pendings, entry) {
		if (!p->delivered) {
			p->delivered = true;
			p->kind = kind;
			event_active(p->ev, EV_TIMEOUT, 0);
			return;
		}
	}
}

static void
send_some(int fd, const uint8_t *p, size_t len)
{
	if (fd >= 0 && len > 0)
		(void)send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Up to n bytes of filler, as much as the socket takes. */
static void
send_bulk(int fd, size_t n)
{
	static uint8_t filler[65536];

	if (filler[0] == 0)
		memset(filler, 'a', sizeof filler);
	for (; fd >= 0 && n > 0; n -= sizeof filler) {
		if (send(fd, filler, sizeof filler, MSG_DONTWAIT |
		    MSG_NOSIGNAL) <= 0)
			return;
		run_loop();
	}
}

/* Heads of bodies longer than a read: a request to client c, a response
   to engine connection e (either may be -1). */
static void
send_long_body_heads(int c, int e)
{
	static const char request[] =
	    "PUT /v1.41/containers/x/archive?path=/ HTTP/1.1\r\nHost: d\r\n"
	    "Content-Length: 131072\r\n\r\n";
	static const char response[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 131072\r\n\r\n";

	if (c >= 0)
		send_some(clients[c], (const uint8_t *)request,
		    sizeof request - 1);
	if (e >= 0)
		send_some(engines[e], (const uint8_t *)response,
		    sizeof response - 1);
}

static void
teardown(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i] >= 0)
			close(clients[i]);
		clients[i] = -1;
	}
	for (int i = 0; i < MAX_ENGINES; i++) {
		if (engines[i] >= 0)
			close(engines[i]);
		engines[i] = -1;
	}
	run_loop();
	/* As serve.c does once its loop has stopped. */
	while (!TAILQ_EMPTY(&host.sessions))
		session_free(TAILQ_FIRST(&host.sessions));
	run_loop();
	if (!TAILQ_EMPTY(&pendings) || host.n_sessions != 0)
		fatalx("fuzz_session: a session or verdict outlived teardown");
	draining = false;
	engine_listen();
	accept_engines();
	for (int i = 0; i < MAX_ENGINES; i++) {
		if (engines[i] >= 0)
			close(engines[i]);
		engines[i] = -1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;

	if (base == NULL)
		setup();
	engine_listen();
	new_client();
	run_loop();
	while (i < size) {
		uint8_t op = data[i] & 0x0f, arg = data[i] >> 4;
		int c = pick(clients, MAX_CLIENTS, arg);
		int e = pick(engines, MAX_ENGINES, arg);
		size_t len;

		i++;
		switch (op) {
		case OP_CLIENT_DATA:
		case OP_ENGINE_DATA:
			if (i >= size)
				break;
			len = (size_t)data[i++] + 1;
			if (len > size - i)
				len = size - i;
			if (op == OP_CLIENT_DATA)
				send_some(c >= 0 ? clients[c] : -1, data + i,
				    len);
			else
				send_some(e >= 0 ? engines[e] : -1, data + i,
				    len);
			i += len;
			break;
		case OP_CLIENT_CANNED:
			if (i < size && c >= 0) {
				const char *m = client_canned[data[i] %
				    (sizeof client_canned /
				    sizeof client_canned[0])];

				send_some(clients[c], (const uint8_t *)m,
				    strlen(m));
			}
			i++;
			break;
		case OP_ENGINE_CANNED:
			if (i < size && e >= 0) {
				const char *m = engine_canned[data[i] %
				    (sizeof engine_canned /
				    sizeof engine_canned[0])];

				send_some(engines[e], (const uint8_t *)m,
				    strlen(m));
			}
			i++;
			break;
		case OP_CLIENT_SHUT:
			if (c >= 0)
				shutdown(clients[c], SHUT_WR);
			break;
		case OP_CLIENT_CLOSE:
			if (c >= 0) {
				close(clients[c]);
				clients[c] = -1;
			}
			break;
		case OP_ENGINE_SHUT:
			if (e >= 0)
				shutdown(engines[e], SHUT_WR);
			break;
		case OP_ENGINE_CLOSE:
			if (e >= 0) {
				close(engines[e]);
				engines[e] = -1;
			}
			break;
		case OP_VERDICT:
			deliver_one(arg);
			break;
		case OP_DRAIN:
			drain_all();
			break;
		case OP_TIMERS:
			fire_timers();
			break;
		case OP_ENGINE_TOGGLE:
			if (listen_fd >= 0)
				engine_unlisten();
			else
				engine_listen();
			break;
		case OP_CLIENT_READ:
			if (c >= 0)
				drain_fd(clients[c]);
			break;
		case OP_ENGINE_READ:
			if (e >= 0)
				drain_fd(engines[e]);
			break;
		case OP_NEW_CLIENT:
			if (!draining)
				new_client();
			break;
		case OP_BULK:
			if (arg == 0)
				send_long_body_heads(c, e);
			else if (arg >= 8)
				send_bulk(e >= 0 ? engines[e] : -1,
				    (size_t)(arg - 7) * 65536);
			else if (arg > 0)
				send_bulk(c >= 0 ? clients[c] : -1,
				    (size_t)arg * 65536);
			break;
		}
		run_loop();
	}
	teardown();
	return 0;
}
