/*
 * floor_relay: the least a Unix-socket proxy can do, for the docker-guard
 * benchmark (tests/bench/run).  Not part of the product or the test suite.
 *
 * It accepts on --listen, opens one connection to --upstream for each
 * client and copies bytes both ways with no parsing at all: one epoll loop,
 * level-triggered, one read and one write per message and direction, a
 * 64 KiB buffer per direction.  It
 * is as cheap as a relay gets on this machine, so "guard / floor" tells how
 * much of the guard's cost is the extra hop itself (two more process
 * wake-ups and socket copies per request) and how much is the guard's own
 * work (parsing, classifying, checking).
 *
 * Build: cc -O2 -Wall -Wextra -o floor_relay floor_relay.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#define BUF_CAP	(64 * 1024)

struct conn;

/* One socket of a pair. */
struct end {
	int		 fd;
	struct conn	*conn;
	int		 events;	/* what epoll waits for on fd */
};

/* One direction: bytes read from src wait in buf until dst takes them. */
struct pipe_dir {
	struct end	*src, *dst;
	char		 buf[BUF_CAP];
	size_t		 off, len;
	int		 eof;	/* src ended; dst shut down once flushed */
};

struct conn {
	struct end	 client, engine;
	struct pipe_dir	 up, down;	/* client->engine, engine->client */
	int		 shut;		/* directions finished */
};

static int ep;

static int
unix_socket(const char *path, int listen_it)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (listen_it) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
		    listen(fd, 4096) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	/* A Unix connect to a listening socket completes at once. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
conn_free(struct conn *c)
{
	close(c->client.fd);
	close(c->engine.fd);
	free(c);
}

static void
set_events(struct end *e, int events)
{
	struct epoll_event ev = { .events = (uint32_t)events,
	    .data.ptr = e };

	if (e->events != events) {
		epoll_ctl(ep, EPOLL_CTL_MOD, e->fd, &ev);
		e->events = events;
	}
}

/*
 * Level-triggered, one system call per step: a readable src is read once
 * and what came is sent on at once; only what dst does not take waits,
 * with src paused and dst watched for room.  Returns -1 when the
 * connection must close.
 */
static int
pump(struct conn *c, struct pipe_dir *p, int src_ready, int dst_ready)
{
	if (p->len == 0 && src_ready && !p->eof) {
		ssize_t r = recv(p->src->fd, p->buf, BUF_CAP, MSG_DONTWAIT);

		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0)
			p->eof = 1;
		p->off = 0;
		p->len = (size_t)r;
		dst_ready = 1;
	}
	if (p->len > 0 && dst_ready) {
		ssize_t w = send(p->dst->fd, p->buf + p->off, p->len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno != EAGAIN)
			return -1;
		if (w > 0) {
			p->off += (size_t)w;
			p->len -= (size_t)w;
		}
	}
	if (p->len == 0 && p->eof == 1) {
		shutdown(p->dst->fd, SHUT_WR);
		p->eof = 2;
		if (++c->shut == 2)
			return -1;
	}
	/* Read src while its data has gone; watch dst while some waits. */
	set_events(p->src, (p->src->events & ~EPOLLIN) |
	    (p->len == 0 && !p->eof ? EPOLLIN : 0));
	set_events(p->dst, (p->dst->events & ~EPOLLOUT) |
	    (p->len > 0 ? EPOLLOUT : 0));
	return 0;
}

/* Marks events of a batch whose connection was closed earlier in it. */
static struct end gone;

int
main(int argc, char **argv)
{
	const char *listen_path = NULL, *upstream = NULL;
	struct epoll_event ev, evs[256];
	int lfd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			listen_path = argv[i + 1];
		else if (strcmp(argv[i], "--upstream") == 0)
			upstream = argv[i + 1];
	}
	if (listen_path == NULL || upstream == NULL) {
		fprintf(stderr, "usage: floor_relay --listen PATH "
		    "--upstream PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = unix_socket(listen_path, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || ep < 0) {
		perror("floor_relay");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct end *e = evs[i].data.ptr;
			struct conn *c;
			int in, out;

			if (e == &gone)
				continue;
			if (e == NULL) {
				int cfd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC), efd;

				if (cfd < 0)
					continue;
				efd = unix_socket(upstream, 0);
				if (efd < 0) {
					close(cfd);
					continue;
				}
				c = calloc(1, sizeof *c);
				if (c == NULL) {
					close(cfd);
					close(efd);
					continue;
				}
				c->client.fd = cfd;
				c->engine.fd = efd;
				c->client.conn = c->engine.conn = c;
				c->up.src = c->down.dst = &c->client;
				c->up.dst = c->down.src = &c->engine;
				ev.events = EPOLLIN;
				ev.data.ptr = &c->client;
				c->client.events = c->engine.events = EPOLLIN;
				epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
				ev.data.ptr = &c->engine;
				epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
				continue;
			}
			c = e->conn;
			in = (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
			out = (evs[i].events & (EPOLLOUT | EPOLLERR)) != 0;
			/* This end is the source of one direction and the
			   destination of the other. */
			if (pump(c, e == &c->client ? &c->up : &c->down, in, 0) != 0 ||
			    pump(c, e == &c->client ? &c->down : &c->up, 0, out) != 0) {
				/* Later events of this batch may name c. */
				for (int j = i + 1; j < n; j++) {
					struct end *o = evs[j].data.ptr;

					if (o == &c->client || o == &c->engine)
						evs[j].data.ptr = &gone;
				}
				conn_free(c);
			}
		}
	}
}
