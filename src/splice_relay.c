/*
 * The opaque relay of a hijacked connection on splice(2): see
 * splice_relay.h.
 *
 * Each direction is a small loop run from its events, level-triggered:
 * write what was queued before the relay started, then empty the pipe
 * into the destination, then (only with the pipe empty) fill it from the
 * source.  Its read event is armed while it wants to read, its write
 * event while bytes wait for room.  A burst is bounded so that one busy
 * direction cannot starve the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "splice_relay.h"
#include "xmalloc.h"

/* What one direction keeps in flight (the pipe's size, if the kernel
   grants it; a pipe's default is 64 KiB). */
#define SPLICE_PIPE_SIZE (256 * 1024)
/* Steps per direction and wake-up before the loop runs other events. */
#define SPLICE_BURSTS 16

struct splice_dir {
	struct splice_relay *relay;
	evutil_socket_t src, dst;
	int pipe[2];		  /* [0] read end, [1] write end */
	size_t in_pipe;		  /* bytes read from src, not yet sent */
	struct evbuffer *pending; /* bytes to send before any spliced */
	struct event *rd, *wr;	  /* src readable, dst writable */
	bool rd_on, wr_on;	  /* rd, wr added */
	bool eof;		  /* src ended */
	bool done;		  /* eof passed on (dst shut down) */
};

struct splice_relay {
	struct splice_dir dir[2]; /* a -> b, b -> a */
	splice_relay_done_fn done;
	void *arg;
	bool finished; /* done called */
};

static bool
would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/*
 * Move what can move now.  Returns 0 (blocked, ended or out of steps for
 * this turn), or -1 with errno set when a socket failed.
 */
static int
dir_pump(struct splice_dir *d)
{
	unsigned flags = SPLICE_F_NONBLOCK | SPLICE_F_MOVE;

	for (int i = 0; i < SPLICE_BURSTS; i++) {
		ssize_t n;

		if (evbuffer_get_length(d->pending) > 0) {
			n = evbuffer_write(d->pending, d->dst);
			if (n < 0)
				return would_block(errno) ? 0 : -1;
			continue;
		}
		if (d->in_pipe > 0) {
			n = splice(d->pipe[0], NULL, d->dst, NULL, d->in_pipe,
			    flags);
			if (n < 0)
				return would_block(errno) ? 0 : -1;
			d->in_pipe -= (size_t)n;
			continue;
		}
		if (d->eof)
			break;
		n = splice(d->src, NULL, d->pipe[1], NULL, SPLICE_PIPE_SIZE,
		    flags);
		if (n < 0)
			return would_block(errno) ? 0 : -1;
		if (n == 0)
			d->eof = true;
		d->in_pipe += (size_t)n;
	}
	if (d->eof && !d->done && d->in_pipe == 0 &&
	    evbuffer_get_length(d->pending) == 0) {
		/* Half-close: the other direction carries on. */
		if (shutdown(d->dst, SHUT_WR) != 0 && errno != ENOTCONN)
			return -1;
		d->done = true;
	}
	return 0;
}

static void
set_event(struct event *ev, bool *on, bool want)
{
	if (want && !*on)
		event_add(ev, NULL);
	else if (!want && *on)
		event_del(ev);
	*on = want;
}

/* Wait for room while bytes wait, else for input until the source ends. */
static void
dir_arm(struct splice_dir *d)
{
	bool waiting = d->in_pipe > 0 || evbuffer_get_length(d->pending) > 0;

	set_event(d->wr, &d->wr_on, !d->done && waiting);
	set_event(d->rd, &d->rd_on, !d->done && !waiting && !d->eof);
}

/* Run a direction after an event; call done when the relay ends. */
static void
dir_run(struct splice_dir *d)
{
	struct splice_relay *r = d->relay;

	if (r->finished)
		return;
	if (dir_pump(d) != 0) {
		int err = errno;

		set_event(d->rd, &d->rd_on, false);
		set_event(d->wr, &d->wr_on, false);
		r->finished = true;
		r->done(r->arg, 0, err); /* may free r */
		return;
	}
	dir_arm(d);
	if (r->dir[0].done && r->dir[1].done) {
		r->finished = true;
		r->done(r->arg, 1, 0); /* may free r */
	}
}

static void
dir_cb(evutil_socket_t fd, short what, void *arg)
{
	dir_run(arg);
}

/* Set up one direction; returns 0 or -1 (what was made is freed by
   splice_relay_free). */
static int
dir_init(struct splice_dir *d, struct splice_relay *r, struct event_base *base,
    evutil_socket_t src, evutil_socket_t dst)
{
	d->relay = r;
	d->src = src;
	d->dst = dst;
	if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return -1;
	/* A bigger pipe means fewer wake-ups; the default size still works. */
	(void)fcntl(d->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE_SIZE);
	d->pending = evbuffer_new();
	d->rd = event_new(base, src, EV_READ | EV_PERSIST, dir_cb, d);
	d->wr = event_new(base, dst, EV_WRITE | EV_PERSIST, dir_cb, d);
	return d->pending != NULL && d->rd != NULL && d->wr != NULL ? 0 : -1;
}

struct splice_relay *
splice_relay_new(struct event_base *base, evutil_socket_t a, evutil_socket_t b,
    struct evbuffer *to_b, struct evbuffer *to_a, splice_relay_done_fn done,
    void *arg)
{
	struct splice_relay *r = xcalloc(1, sizeof *r);

	r->done = done;
	r->arg = arg;
	for (int i = 0; i < 2; i++)
		r->dir[i].pipe[0] = r->dir[i].pipe[1] = -1;
	if (dir_init(&r->dir[0], r, base, a, b) != 0 ||
	    dir_init(&r->dir[1], r, base, b, a) != 0) {
		splice_relay_free(r);
		return NULL;
	}
	if (to_b != NULL)
		evbuffer_add_buffer(r->dir[0].pending, to_b);
	if (to_a != NULL)
		evbuffer_add_buffer(r->dir[1].pending, to_a);
	/* Level-triggered: queued bytes and data already waiting in the
	   sockets show up as events at once. */
	dir_arm(&r->dir[0]);
	dir_arm(&r->dir[1]);
	return r;
}

void
splice_relay_free(struct splice_relay *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		struct splice_dir *d = &r->dir[i];

		if (d->rd != NULL)
			event_free(d->rd);
		if (d->wr != NULL)
			event_free(d->wr);
		if (d->pending != NULL)
			evbuffer_free(d->pending);
		if (d->pipe[0] >= 0)
			close(d->pipe[0]);
		if (d->pipe[1] >= 0)
			close(d->pipe[1]);
	}
	free(r);
}
