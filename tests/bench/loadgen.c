/*
 * loadgen: an HTTP/1.1 load generator over a Unix socket, for the
 * docker-guard benchmark (tests/bench/run).  Not part of the test suite.
 *
 * Modes (each prints one JSON line on stdout):
 *
 *   closed loop (default): N keep-alive connections, each sends a request,
 *     reads the whole response (Content-Length, chunked or until close)
 *     and sends the next; for --duration seconds after --warmup seconds
 *     (or until --requests responses were counted).  Reports requests per
 *     second and latency percentiles in microseconds.  One epoll loop per
 *     thread (--threads), non-blocking sockets.
 *
 *   --idle N: open N connections (with --idle-request, send one request on
 *     each and read its response first), print a JSON line, hold them for
 *     --duration seconds (or until SIGTERM/SIGINT), then print how many the
 *     server still held open.
 *
 *   --create-remove IMAGE: --count cycles (after --warmup-count unrecorded
 *     ones) of POST /containers/create then DELETE /containers/ID?force=1,
 *     on one connection per --socket; with several --socket options the
 *     cycles are interleaved (side 1, side 2, ..., rotating who goes
 *     first).  Reports create and remove latencies per side and the median
 *     of the paired per-cycle differences against the first side.
 *     --create-app NAME labels each create io.docker-guard.app=NAME (the
 *     guard judges and records it as that app's version).
 *
 *   --interleave: one keep-alive connection per --socket; --count cycles
 *     (after --warmup-count unrecorded ones) each send the --request once
 *     on every side in turn, the first side rotating, and wait for each
 *     answer, so every side meets the same machine request by request.
 *     Reports each side's latency percentiles and the median of the
 *     per-cycle differences against the first side: a proxy's added
 *     latency without the drift of separate runs.
 *
 * Build: cc -O2 -Wall -Wextra -o loadgen loadgen.c -lpthread
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#define RBUF_CAP	(64 * 1024)	/* per-connection read buffer */
#define HEAD_MAX	(32 * 1024)	/* largest response head accepted */
#define CAPTURE_MAX	(1024 * 1024)	/* largest body kept (create mode) */
#define MAX_CONNS	100000
#define MAX_THREADS	64
#define IO_TIMEOUT_MS	30000		/* blocking modes: per read/write */

/* ---------------------------------------------------------------- time */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ----------------------------------------------------------- histogram */

/*
 * Latency histogram in microseconds: 1 us buckets below 100 ms, 100 us
 * buckets up to 10 s, then one overflow bucket.  Exact enough for
 * percentiles, fixed size whatever the request count.
 */
#define H_FINE		100000u
#define H_COARSE_STEP	100u
#define H_COARSE	((10000000u - H_FINE) / H_COARSE_STEP)
#define H_BUCKETS	(H_FINE + H_COARSE + 1)

struct hist {
	uint64_t	*b;
	uint64_t	 n;
	uint64_t	 sum;
	uint64_t	 max;
};

static void
hist_init(struct hist *h)
{
	h->b = calloc(H_BUCKETS, sizeof *h->b);
	if (h->b == NULL)
		die("out of memory");
	h->n = h->sum = h->max = 0;
}

static void
hist_add(struct hist *h, uint64_t us)
{
	size_t i;

	if (us < H_FINE)
		i = us;
	else if (us < 10000000u)
		i = H_FINE + (us - H_FINE) / H_COARSE_STEP;
	else
		i = H_BUCKETS - 1;
	h->b[i]++;
	h->n++;
	h->sum += us;
	if (us > h->max)
		h->max = us;
}

static void
hist_merge(struct hist *dst, const struct hist *src)
{
	for (size_t i = 0; i < H_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* The smallest value v with at least q of the samples <= v. */
static double
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < H_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			if (i < H_FINE)
				return (double)i;
			if (i == H_BUCKETS - 1)
				return (double)h->max;
			return (double)(H_FINE + (i - H_FINE) * H_COARSE_STEP);
		}
	}
	return (double)h->max;
}

/* ------------------------------------------------------ response parser */

enum pstate {
	P_HEAD,
	P_CL,
	P_CHUNK_SIZE,
	P_CHUNK_DATA,
	P_CHUNK_CRLF,
	P_TRAILER,
	P_EOF,		/* body until the connection closes */
	P_DONE,
};

struct resp {
	enum pstate	 st;
	uint64_t	 left;
	int		 status;
	bool		 close;		/* server will close after this */
	bool		 head_req;	/* response to HEAD: no body */
	char		*cap;		/* body capture (create mode), or NULL */
	size_t		 cap_len;
};

static void
resp_reset(struct resp *r, bool head_req)
{
	char *cap = r->cap;

	memset(r, 0, sizeof *r);
	r->st = P_HEAD;
	r->head_req = head_req;
	r->cap = cap;
}

static void
capture(struct resp *r, const char *p, size_t n)
{
	if (r->cap == NULL)
		return;
	if (n > CAPTURE_MAX - r->cap_len)
		n = CAPTURE_MAX - r->cap_len;
	memcpy(r->cap + r->cap_len, p, n);
	r->cap_len += n;
}

static bool
hdr_is(const char *line, size_t len, const char *name, const char **val,
    size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	line += nl + 1;
	len -= nl + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*val = line;
	*vlen = len;
	return true;
}

static bool
contains_token(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++)
		if (strncasecmp(v + i, tok, tl) == 0)
			return true;
	return false;
}

/* Parse a complete head (ending with CRLFCRLF); returns -1 if malformed. */
static int
parse_head(struct resp *r, const char *p, size_t len)
{
	const char *end = p + len, *line = p, *eol;
	bool chunked = false, have_cl = false, http10 = false, keepalive = false;
	uint64_t cl = 0;

	eol = memmem(line, (size_t)(end - line), "\r\n", 2);
	if (eol == NULL || eol - line < 12 || strncmp(line, "HTTP/1.", 7) != 0)
		return -1;
	http10 = line[7] == '0';
	if (!isdigit((unsigned char)line[9]))
		return -1;
	r->status = atoi(line + 9);
	for (line = eol + 2; line < end; line = eol + 2) {
		const char *v;
		size_t vl, ll;

		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (eol == NULL || eol == line)
			break;
		ll = (size_t)(eol - line);
		if (hdr_is(line, ll, "content-length", &v, &vl)) {
			char tmp[32];

			if (vl == 0 || vl >= sizeof tmp)
				return -1;
			memcpy(tmp, v, vl);
			tmp[vl] = '\0';
			cl = strtoull(tmp, NULL, 10);
			have_cl = true;
		} else if (hdr_is(line, ll, "transfer-encoding", &v, &vl)) {
			chunked = contains_token(v, vl, "chunked");
		} else if (hdr_is(line, ll, "connection", &v, &vl)) {
			if (contains_token(v, vl, "close"))
				r->close = true;
			if (contains_token(v, vl, "keep-alive"))
				keepalive = true;
		}
	}
	if (http10 && !keepalive)
		r->close = true;
	if (r->head_req || r->status == 204 || r->status == 304 ||
	    (r->status >= 100 && r->status < 200))
		r->st = P_DONE;
	else if (chunked)
		r->st = P_CHUNK_SIZE;
	else if (have_cl) {
		r->left = cl;
		r->st = cl ? P_CL : P_DONE;
	} else {
		r->st = P_EOF;
		r->close = true;
	}
	return 0;
}

/*
 * Feed bytes to the parser.  *used is how many were consumed.  Returns 1
 * when the response is complete, 0 when more is needed, -1 on error.
 */
static int
resp_feed(struct resp *r, const char *p, size_t len, size_t *used)
{
	size_t off = 0;

	while (r->st != P_DONE) {
		size_t avail = len - off, n;
		const char *q = p + off, *eol;

		switch (r->st) {
		case P_HEAD:
			eol = memmem(q, avail, "\r\n\r\n", 4);
			if (eol == NULL) {
				*used = off;
				return avail > HEAD_MAX ? -1 : 0;
			}
			n = (size_t)(eol - q) + 4;
			if (parse_head(r, q, n) != 0)
				return -1;
			off += n;
			break;
		case P_CL:
			n = avail < r->left ? avail : (size_t)r->left;
			capture(r, q, n);
			off += n;
			r->left -= n;
			if (r->left == 0)
				r->st = P_DONE;
			else {
				*used = off;
				return 0;
			}
			break;
		case P_CHUNK_SIZE:
		case P_TRAILER:
			eol = memmem(q, avail, "\r\n", 2);
			if (eol == NULL) {
				*used = off;
				return avail > 4096 ? -1 : 0;
			}
			n = (size_t)(eol - q);
			if (r->st == P_TRAILER) {
				if (n == 0)
					r->st = P_DONE;
			} else {
				uint64_t sz = 0;
				size_t i;

				for (i = 0; i < n && isxdigit((unsigned char)q[i]); i++) {
					int c = tolower((unsigned char)q[i]);
					sz = sz * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
				}
				if (i == 0)
					return -1;
				r->left = sz;
				r->st = sz ? P_CHUNK_DATA : P_TRAILER;
			}
			off += n + 2;
			break;
		case P_CHUNK_DATA:
			n = avail < r->left ? avail : (size_t)r->left;
			capture(r, q, n);
			off += n;
			r->left -= n;
			if (r->left == 0)
				r->st = P_CHUNK_CRLF;
			else {
				*used = off;
				return 0;
			}
			break;
		case P_CHUNK_CRLF:
			if (avail < 2) {
				*used = off;
				return 0;
			}
			if (q[0] != '\r' || q[1] != '\n')
				return -1;
			off += 2;
			r->st = P_CHUNK_SIZE;
			break;
		case P_EOF:
			capture(r, q, avail);
			*used = len;
			return 0;
		case P_DONE:
			break;
		}
	}
	*used = off;
	return 1;
}

/* ------------------------------------------------------------ sockets */

#define MAX_SOCKETS	4
static struct sockaddr_un sun_addrs[MAX_SOCKETS];
static const char	*sockets[MAX_SOCKETS];
static const char	*side_names[MAX_SOCKETS];
static int		 n_sockets;

/* A blocking connect to the idx-th --socket. */
static int
unix_connect(int idx)
{
	const struct sockaddr_un *sun_addr = &sun_addrs[idx];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { 10, 0 };

	if (fd < 0)
		return -1;
	/* connect() on a Unix socket waits while the backlog is full;
	   SO_SNDTIMEO bounds that wait. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (const struct sockaddr *)sun_addr, sizeof *sun_addr) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl: %s", strerror(errno));
}

/* ---------------------------------------------------------- closed loop */

struct conn {
	int		 fd;
	size_t		 sent;		/* bytes of the request written */
	bool		 waiting;	/* request fully sent */
	uint64_t	 t0;
	struct resp	 r;
	char		*rbuf;
	size_t		 rlen;
};

struct worker {
	pthread_t	 th;
	int		 ep;
	struct conn	*conns;
	size_t		 nconns;
	struct hist	 h;
	uint64_t	 errors, non2xx, reconnects, done_total;
	char		 first_error[160];
};

static const char	*req_buf;
static size_t		 req_len;
static bool		 req_is_head;
static uint64_t		 t_measure_start, t_end;
static uint64_t		 count_limit;	/* 0: none */
static volatile uint64_t counted;	/* approx, for --requests */
static volatile sig_atomic_t stop_flag;

static void
note_error(struct worker *w, const char *what)
{
	w->errors++;
	if (w->first_error[0] == '\0')
		snprintf(w->first_error, sizeof w->first_error, "%s", what);
}

static int
conn_open(struct worker *w, struct conn *c)
{
	struct epoll_event ev;

	c->fd = unix_connect(0);
	if (c->fd < 0)
		return -1;
	set_nonblock(c->fd);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
	c->rlen = 0;
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);	/* also removes it from the epoll set */
	c->fd = -1;
}

static void
set_out(struct worker *w, struct conn *c, bool on)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is left of the request; 0 ok, -1 connection failed. */
static int
conn_send(struct worker *w, struct conn *c)
{
	while (c->sent < req_len) {
		ssize_t n = send(c->fd, req_buf + c->sent, req_len - c->sent,
		    MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				set_out(w, c, true);
				return 0;
			}
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->sent += (size_t)n;
	}
	c->waiting = true;
	return 0;
}

static int
conn_start(struct worker *w, struct conn *c)
{
	c->sent = 0;
	c->waiting = false;
	resp_reset(&c->r, req_is_head);
	c->t0 = now_ns();
	return conn_send(w, c);
}

static void
conn_reconnect(struct worker *w, struct conn *c)
{
	conn_close(c);
	w->reconnects++;
	if (conn_open(w, c) != 0) {
		note_error(w, "reconnect failed");
		return;
	}
	if (conn_start(w, c) != 0) {
		note_error(w, "send failed after reconnect");
		conn_close(c);
	}
}

static void
response_done(struct worker *w, struct conn *c, uint64_t t)
{
	if (c->t0 >= t_measure_start && t <= t_end) {
		hist_add(&w->h, (t - c->t0) / 1000);
		if (c->r.status < 200 || c->r.status > 299) {
			w->non2xx++;
			if (w->first_error[0] == '\0')
				snprintf(w->first_error, sizeof w->first_error,
				    "status %d", c->r.status);
		}
		if (count_limit)
			__atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
	}
	w->done_total++;
}

static void
conn_readable(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n;
		size_t used;
		int rc;

		if (c->rlen == RBUF_CAP)
			die("read buffer overflow (internal)");
		n = recv(c->fd, c->rbuf + c->rlen, RBUF_CAP - c->rlen, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR)
				continue;
			note_error(w, strerror(errno));
			conn_reconnect(w, c);
			return;
		}
		if (n == 0) {
			if (c->r.st == P_EOF) {
				uint64_t t = now_ns();

				response_done(w, c, t);
				conn_reconnect(w, c);
				return;
			}
			if (!(c->r.st == P_HEAD && c->rlen == 0 && !c->waiting))
				note_error(w, "connection closed mid-response");
			conn_reconnect(w, c);
			return;
		}
		c->rlen += (size_t)n;
		rc = resp_feed(&c->r, c->rbuf, c->rlen, &used);
		if (rc < 0) {
			note_error(w, "malformed response");
			conn_reconnect(w, c);
			return;
		}
		memmove(c->rbuf, c->rbuf + used, c->rlen - used);
		c->rlen -= used;
		if (rc == 1) {
			uint64_t t = now_ns();
			bool close_it = c->r.close;

			response_done(w, c, t);
			if (c->rlen != 0) {
				note_error(w, "bytes after the response");
				c->rlen = 0;
				close_it = true;
			}
			if (t >= t_end || stop_flag ||
			    (count_limit && counted >= count_limit))
				return;
			if (close_it) {
				conn_reconnect(w, c);
				return;
			}
			if (conn_start(w, c) != 0) {
				note_error(w, "send failed");
				conn_reconnect(w, c);
			}
			return;
		}
		/* level-triggered: epoll reports what is left */
		return;
	}
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[256];

	for (size_t i = 0; i < w->nconns; i++) {
		if (conn_start(w, &w->conns[i]) != 0)
			note_error(w, "first send failed");
	}
	for (;;) {
		uint64_t t = now_ns();
		int n, ms;

		if (t >= t_end || stop_flag ||
		    (count_limit && counted >= count_limit))
			break;
		ms = (int)((t_end - t) / 1000000) + 1;
		if (ms > 100)
			ms = 100;
		n = epoll_wait(w->ep, evs, 256, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT) {
				set_out(w, c, false);
				if (conn_send(w, c) != 0) {
					note_error(w, "send failed");
					conn_reconnect(w, c);
					continue;
				}
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_readable(w, c);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------- options */

static struct {
	int		 connections;
	int		 threads;
	double		 duration;
	double		 warmup;
	uint64_t	 requests;
	const char	*request;
	const char	*request_file;
	int		 idle;
	bool		 idle_request;
	const char	*create_image;
	const char	*create_app;
	bool		 interleave;
	int		 count;
	int		 warmup_count;
	const char	*api;
	const char	*label;
} opt = {
	.connections = 1,
	.threads = 1,
	.duration = 5,
	.warmup = 1,
	.request = "GET /_ping",
	.count = 50,
	.warmup_count = 5,
	.api = "/v1.41",
	.label = "",
};

static void
usage(void)
{
	fprintf(stderr,
"usage: loadgen --socket PATH [--connections N] [--threads T] [--duration S]\n"
"               [--warmup S] [--requests N] [--request 'METHOD PATH' |\n"
"               --request-file FILE] [--label TEXT]\n"
"       loadgen --socket PATH --idle N [--idle-request] [--duration S]\n"
"       loadgen --socket PATH [--socket PATH2 ...] [--names a,b,...]\n"
"               --create-remove IMAGE [--count N] [--warmup-count N]\n"
"               [--create-app NAME] [--api /v1.41]\n"
"       loadgen --socket PATH [--socket PATH2 ...] [--names a,b,...]\n"
"               --interleave [--request 'METHOD /path'] [--count N]\n"
"               [--warmup-count N]\n");
	exit(2);
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long sz;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    sz > 16 * 1024 * 1024 || fseek(f, 0, SEEK_SET) != 0)
		die("%s: cannot size it (or larger than 16 MiB)", path);
	buf = malloc((size_t)sz + 1);
	if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		die("%s: read failed", path);
	fclose(f);
	buf[sz] = '\0';
	*len = (size_t)sz;
	return buf;
}

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* --------------------------------------------------------- closed mode */

/* Set req_buf, req_len and req_is_head from --request or --request-file;
 * returns what to free at the end (or NULL). */
static char *
load_request(void)
{
	char *built = NULL;

	if (opt.request_file != NULL) {
		req_buf = read_file(opt.request_file, &req_len);
	} else {
		const char *sp = strchr(opt.request, ' ');

		if (sp == NULL || sp == opt.request || sp[1] != '/')
			die("--request must be 'METHOD /path'");
		if (asprintf(&built, "%.*s %s HTTP/1.1\r\nHost: docker\r\n"
		    "User-Agent: dg-loadgen\r\n\r\n", (int)(sp - opt.request),
		    opt.request, sp + 1) < 0)
			die("out of memory");
		req_buf = built;
		req_len = strlen(built);
	}
	req_is_head = strncmp(req_buf, "HEAD ", 5) == 0;
	return built;
}

static int
run_closed(void)
{
	struct worker *ws;
	struct hist all;
	uint64_t t_start, errors = 0, non2xx = 0, reconnects = 0;
	double cpu0, cpu1, elapsed;
	const char *first_error = "";
	int nt = opt.threads;

	(void)load_request(); /* kept until exit */
	if (nt > opt.connections)
		nt = opt.connections;

	ws = calloc((size_t)nt, sizeof *ws);
	if (ws == NULL)
		die("out of memory");
	for (int t = 0; t < nt; t++) {
		struct worker *w = &ws[t];

		w->ep = epoll_create1(EPOLL_CLOEXEC);
		if (w->ep < 0)
			die("epoll_create1: %s", strerror(errno));
		w->nconns = (size_t)(opt.connections / nt +
		    (t < opt.connections % nt));
		w->conns = calloc(w->nconns, sizeof *w->conns);
		if (w->conns == NULL)
			die("out of memory");
		hist_init(&w->h);
		for (size_t i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];

			c->rbuf = malloc(RBUF_CAP);
			if (c->rbuf == NULL)
				die("out of memory");
			if (conn_open(w, c) != 0)
				die("connect %s: %s", sockets[0], strerror(errno));
		}
	}

	t_start = now_ns();
	t_measure_start = t_start + (uint64_t)(opt.warmup * 1e9);
	t_end = t_measure_start + (uint64_t)(opt.duration * 1e9);
	cpu0 = cpu_seconds();
	for (int t = 0; t < nt; t++)
		if (pthread_create(&ws[t].th, NULL, worker_run, &ws[t]) != 0)
			die("pthread_create failed");
	for (int t = 0; t < nt; t++)
		pthread_join(ws[t].th, NULL);
	cpu1 = cpu_seconds();

	hist_init(&all);
	for (int t = 0; t < nt; t++) {
		hist_merge(&all, &ws[t].h);
		errors += ws[t].errors;
		non2xx += ws[t].non2xx;
		reconnects += ws[t].reconnects;
		if (first_error[0] == '\0')
			first_error = ws[t].first_error;
	}
	{
		uint64_t t = now_ns();

		if (t > t_end)
			t = t_end;
		elapsed = t > t_measure_start ?
		    (double)(t - t_measure_start) / 1e9 : 0;
	}

	printf("{\"mode\":\"closed\",\"label\":");
	json_str(stdout, opt.label);
	printf(",\"request\":");
	if (opt.request_file)
		json_str(stdout, opt.request_file);
	else
		json_str(stdout, opt.request);
	printf(",\"connections\":%d,\"threads\":%d,\"duration_s\":%.3f,"
	    "\"requests\":%" PRIu64 ",\"rps\":%.1f,\"p50_us\":%.0f,"
	    "\"p90_us\":%.0f,\"p99_us\":%.0f,\"mean_us\":%.1f,"
	    "\"max_us\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"non2xx\":%" PRIu64
	    ",\"reconnects\":%" PRIu64 ",\"client_cpu_pct\":%.1f,"
	    "\"client_cpu_us_per_req\":%.2f,\"first_error\":",
	    opt.connections, nt, elapsed, all.n,
	    elapsed > 0 ? (double)all.n / elapsed : 0,
	    hist_quantile(&all, 0.50), hist_quantile(&all, 0.90),
	    hist_quantile(&all, 0.99),
	    all.n ? (double)all.sum / (double)all.n : 0, all.max, errors,
	    non2xx, reconnects,
	    100.0 * (cpu1 - cpu0) / ((double)(now_ns() - t_start) / 1e9),
	    all.n ? (cpu1 - cpu0) * 1e6 / (double)all.n : 0);
	json_str(stdout, first_error);
	printf("}\n");
	fflush(stdout);
	return all.n > 0 && errors == 0 && non2xx == 0 ? 0 : 1;
}

/* ----------------------------------------------------------- idle mode */

/* Blocking request/response on fd; fills r (body captured if r->cap). */
static int
roundtrip(int fd, const char *req, size_t len, struct resp *r, bool head_req)
{
	static char buf[RBUF_CAP];
	size_t have = 0, off = 0;

	resp_reset(r, head_req);
	while (off < len) {
		struct pollfd p = { fd, POLLOUT, 0 };
		ssize_t n;

		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
		if (n > 0)
			off += (size_t)n;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		size_t used;
		int rc;

		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		n = recv(fd, buf + have, sizeof buf - have, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (n == 0)
			return r->st == P_EOF ? 0 : -1;
		have += (size_t)n;
		rc = resp_feed(r, buf, have, &used);
		if (rc < 0)
			return -1;
		memmove(buf, buf + used, have - used);
		have -= used;
		if (rc == 1)
			return 0;
	}
}

static int
run_idle(void)
{
	int n = opt.idle, opened = 0, ok = 0, still = 0;
	int *fds = calloc((size_t)n, sizeof *fds);
	char req[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\n"
	    "User-Agent: dg-loadgen\r\n\r\n";
	struct resp r = { 0 };
	uint64_t deadline;

	if (fds == NULL)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		fds[i] = unix_connect(0);
		if (fds[i] < 0) {
			fprintf(stderr, "loadgen: connection %d: %s\n", i,
			    strerror(errno));
			break;
		}
		opened++;
		if (opt.idle_request) {
			if (roundtrip(fds[i], req, sizeof req - 1, &r, false) == 0 &&
			    r.status == 200 && !r.close)
				ok++;
		}
	}
	printf("{\"mode\":\"idle\",\"label\":");
	json_str(stdout, opt.label);
	printf(",\"connections\":%d,\"opened\":%d,\"requests_ok\":%d}\n",
	    n, opened, ok);
	fflush(stdout);

	deadline = now_ns() + (uint64_t)(opt.duration * 1e9);
	while (!stop_flag && now_ns() < deadline)
		usleep(20000);

	for (int i = 0; i < opened; i++) {
		struct pollfd p = { fds[i], POLLIN, 0 };

		/* readable on an idle keep-alive connection means EOF */
		if (poll(&p, 1, 0) == 0)
			still++;
		close(fds[i]);
	}
	printf("{\"mode\":\"idle-end\",\"label\":");
	json_str(stdout, opt.label);
	printf(",\"opened\":%d,\"still_open\":%d}\n", opened, still);
	fflush(stdout);
	return opened == n ? 0 : 1;
}

/* -------------------------------------------------- create-remove mode */

/* The value of "Id" in a create response, copied to id (64 hex). */
static int
find_id(const char *body, size_t len, char *id, size_t idsz)
{
	const char *p = memmem(body, len, "\"Id\"", 4), *end = body + len;
	size_t n = 0;

	if (p == NULL)
		return -1;
	p += 4;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	if (p >= end || *p++ != '"')
		return -1;
	while (p < end && isxdigit((unsigned char)*p) && n + 1 < idsz)
		id[n++] = *p++;
	id[n] = '\0';
	return n >= 12 ? 0 : -1;
}

struct side {
	const char	*name;
	int		 fd;
	struct hist	 hc, hr;
	uint64_t	*samples;	/* create latency per recorded cycle */
	int		 cycles, errors;
	char		 first_error[400];
};

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Connect one side per --socket, with room for --count samples each. */
static void
sides_open(struct side *sides, int ns)
{
	for (int k = 0; k < ns; k++) {
		memset(&sides[k], 0, sizeof sides[k]);
		sides[k].name = side_names[k];
		sides[k].fd = unix_connect(k);
		if (sides[k].fd < 0)
			die("connect %s: %s", sockets[k], strerror(errno));
		hist_init(&sides[k].hc);
		hist_init(&sides[k].hr);
		sides[k].samples = calloc((size_t)opt.count, sizeof(uint64_t));
		if (sides[k].samples == NULL)
			die("out of memory");
	}
}

/* Close side sd's connection and open its JSON object with its name
 * (k: its index, 0 for the first). */
static void
side_close_and_name(struct side *sd, int k)
{
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = -1;
	printf("%s{\"name\":", k ? "," : "");
	json_str(stdout, sd->name);
}

/* Keep a cycle's latencies (lat[k] < 0: side k failed this cycle). */
static void
sides_record(struct side *sides, int ns, const int64_t *lat)
{
	for (int k = 0; k < ns; k++) {
		if (lat[k] < 0)
			continue;
		hist_add(&sides[k].hc, (uint64_t)lat[k]);
		sides[k].samples[sides[k].cycles++] = (uint64_t)lat[k];
	}
}

/* Print ",paired_diff_p50_us:N": the median over the cycles of side k's
 * sample minus side 0's (diff: room for --count values). */
static void
print_paired_diff(const struct side *sides, int k, int64_t *diff)
{
	int n = sides[k].cycles < sides[0].cycles ? sides[k].cycles
						  : sides[0].cycles;

	for (int i = 0; i < n; i++)
		diff[i] = (int64_t)sides[k].samples[i] -
		    (int64_t)sides[0].samples[i];
	qsort(diff, (size_t)n, sizeof *diff, cmp_i64);
	printf(",\"paired_diff_p50_us\":%" PRId64, n ? diff[n / 2] : 0);
}

/* End side k's JSON object: the median of its paired differences
 * against side 0 (cycle by cycle, k > 0), its first error.  False when it
 * failed or fell short of --count cycles. */
static bool
side_tail(const struct side *sides, int k, int64_t *diff)
{
	if (k > 0)
		print_paired_diff(sides, k, diff);
	printf(",\"first_error\":");
	json_str(stdout, sides[k].first_error);
	printf("}");
	return sides[k].errors == 0 && sides[k].cycles == opt.count;
}

/*
 * One create+remove cycle on side sd.  Returns the create latency in
 * microseconds, or -1 on failure (recorded in sd).
 */
static int64_t
create_cycle(struct side *sd, int idx, const char *creq, struct resp *r)
{
	char id[80], *dreq = NULL;
	uint64_t t0, t1, t2;
	int64_t lat;

	if (sd->fd < 0 && (sd->fd = unix_connect(idx)) < 0)
		goto fail_conn;
	t0 = now_ns();
	if (roundtrip(sd->fd, creq, strlen(creq), r, false) != 0)
		goto fail_conn;
	t1 = now_ns();
	if (r->close) {
		close(sd->fd);
		sd->fd = -1;
	}
	if (r->status != 201 || find_id(r->cap, r->cap_len, id, sizeof id)) {
		sd->errors++;
		if (sd->first_error[0] == '\0')
			snprintf(sd->first_error, sizeof sd->first_error,
			    "create: status %d: %.*s", r->status,
			    (int)(r->cap_len > 300 ? 300 : r->cap_len), r->cap);
		return -1;
	}
	lat = (int64_t)((t1 - t0) / 1000);
	if (asprintf(&dreq, "DELETE %s/containers/%s?force=1 HTTP/1.1\r\n"
	    "Host: docker\r\nUser-Agent: dg-loadgen\r\n\r\n", opt.api, id) < 0)
		die("out of memory");
	if (sd->fd < 0 && (sd->fd = unix_connect(idx)) < 0) {
		free(dreq);
		goto fail_conn;
	}
	t2 = now_ns();
	if (roundtrip(sd->fd, dreq, strlen(dreq), r, false) != 0 ||
	    r->status != 204) {
		sd->errors++;
		if (sd->first_error[0] == '\0')
			snprintf(sd->first_error, sizeof sd->first_error,
			    "remove %s: status %d", id, r->status);
		free(dreq);
		if (sd->fd >= 0)
			close(sd->fd);
		sd->fd = -1;
		return -1;
	}
	free(dreq);
	hist_add(&sd->hr, (now_ns() - t2) / 1000);
	if (r->close) {
		close(sd->fd);
		sd->fd = -1;
	}
	return lat;

fail_conn:
	sd->errors++;
	if (sd->first_error[0] == '\0')
		snprintf(sd->first_error, sizeof sd->first_error,
		    "connection failed: %s", strerror(errno));
	if (sd->fd >= 0)
		close(sd->fd);
	sd->fd = -1;
	return -1;
}

/*
 * Create+remove cycles, interleaved over every --socket (one connection
 * each, in turn), so that drift on a busy machine hits every side alike.
 * Besides each side's percentiles, the median of the paired per-cycle
 * differences (side - first side) is reported.
 */
static int
run_create_remove(void)
{
	struct side sides[MAX_SOCKETS];
	struct resp r = { 0 };
	char *body, *creq = NULL;
	const char *s;
	size_t blen = 0, cap = strlen(opt.create_image) * 2 + 192 +
	    (opt.create_app ? strlen(opt.create_app) * 2 : 0);
	int ns = n_sockets, total = opt.warmup_count + opt.count, rc = 0;
	uint64_t t_start = now_ns();
	int64_t *diff;

	r.cap = malloc(CAPTURE_MAX);
	body = malloc(cap);
	diff = calloc((size_t)opt.count, sizeof *diff);
	if (r.cap == NULL || body == NULL || diff == NULL)
		die("out of memory");
	blen += (size_t)snprintf(body, cap, "{\"Image\":\"");
	for (s = opt.create_image; *s; s++) {
		if (*s == '"' || *s == '\\')
			body[blen++] = '\\';
		body[blen++] = *s;
	}
	blen += (size_t)snprintf(body + blen, cap - blen,
	    "\",\"Cmd\":[\"true\"],\"HostConfig\":{\"NetworkMode\":\"none\"}");
	if (opt.create_app != NULL) {
		blen += (size_t)snprintf(body + blen, cap - blen,
		    ",\"Labels\":{\"io.docker-guard.app\":\"");
		for (s = opt.create_app; *s; s++) {
			if (*s == '"' || *s == '\\')
				body[blen++] = '\\';
			body[blen++] = *s;
		}
		body[blen++] = '"';
		body[blen++] = '}';
	}
	body[blen++] = '}';
	body[blen] = '\0';
	if (asprintf(&creq, "POST %s/containers/create HTTP/1.1\r\n"
	    "Host: docker\r\nUser-Agent: dg-loadgen\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    opt.api, blen, body) < 0)
		die("out of memory");

	sides_open(sides, ns);
	for (int i = 0; i < total && !stop_flag; i++) {
		int64_t lat[MAX_SOCKETS];

		for (int j = 0; j < ns; j++) {
			/* rotate who goes first, so no side always follows
			   the same one */
			int k = (i + j) % ns;

			lat[k] = create_cycle(&sides[k], k, creq, &r);
		}
		for (int k = 0; k < ns; k++)
			if (sides[k].errors > 5)
				goto out;
		if (i >= opt.warmup_count)
			sides_record(sides, ns, lat);
	}
out:
	printf("{\"mode\":\"create-remove\",\"label\":");
	json_str(stdout, opt.label);
	printf(",\"image\":");
	json_str(stdout, opt.create_image);
	printf(",\"sides\":[");
	for (int k = 0; k < ns; k++) {
		struct side *sd = &sides[k];

		side_close_and_name(sd, k);
		printf(",\"cycles\":%d,\"create_p50_us\":%.0f,"
		    "\"create_p90_us\":%.0f,\"create_p99_us\":%.0f,"
		    "\"create_mean_us\":%.1f,\"remove_p50_us\":%.0f,"
		    "\"remove_p99_us\":%.0f,\"errors\":%d",
		    sd->cycles, hist_quantile(&sd->hc, 0.5),
		    hist_quantile(&sd->hc, 0.9), hist_quantile(&sd->hc, 0.99),
		    sd->hc.n ? (double)sd->hc.sum / (double)sd->hc.n : 0,
		    hist_quantile(&sd->hr, 0.5), hist_quantile(&sd->hr, 0.99),
		    sd->errors);
		if (!side_tail(sides, k, diff))
			rc = 1;
	}
	printf("],\"wall_s\":%.3f}\n", (double)(now_ns() - t_start) / 1e9);
	fflush(stdout);
	return rc;
}

/* ------------------------------------------------------ interleave mode */

/* One request on side sd: its latency in microseconds, or -1 (recorded). */
static int64_t
interleave_one(struct side *sd, int idx, struct resp *r)
{
	uint64_t t0;
	int64_t lat;

	if (sd->fd < 0 && (sd->fd = unix_connect(idx)) < 0) {
		sd->errors++;
		return -1;
	}
	t0 = now_ns();
	if (roundtrip(sd->fd, req_buf, req_len, r, req_is_head) != 0) {
		sd->errors++;
		if (sd->first_error[0] == '\0')
			snprintf(sd->first_error, sizeof sd->first_error,
			    "request failed: %s", strerror(errno));
		close(sd->fd);
		sd->fd = -1;
		return -1;
	}
	lat = (int64_t)((now_ns() - t0) / 1000);
	if (r->close) {
		close(sd->fd);
		sd->fd = -1;
	}
	if (r->status < 200 || r->status > 299) {
		sd->errors++;
		if (sd->first_error[0] == '\0')
			snprintf(sd->first_error, sizeof sd->first_error,
			    "status %d", r->status);
		return -1;
	}
	return lat;
}

static int
run_interleave(void)
{
	struct side sides[MAX_SOCKETS];
	struct resp r = { 0 };
	int ns = n_sockets, total = opt.warmup_count + opt.count, rc = 0;
	uint64_t t_start = now_ns();
	int64_t *diff = calloc((size_t)opt.count, sizeof *diff);
	char *built = load_request();

	if (diff == NULL)
		die("out of memory");
	sides_open(sides, ns);
	for (int i = 0; i < total && !stop_flag; i++) {
		int64_t lat[MAX_SOCKETS];
		bool all = true;

		for (int j = 0; j < ns; j++) {
			int k = (i + j) % ns;

			lat[k] = interleave_one(&sides[k], k, &r);
			all = all && lat[k] >= 0;
		}
		for (int k = 0; k < ns; k++)
			if (sides[k].errors > 5)
				goto out;
		if (i >= opt.warmup_count && all) /* whole cycles pair up */
			sides_record(sides, ns, lat);
	}
out:
	printf("{\"mode\":\"interleave\",\"label\":");
	json_str(stdout, opt.label);
	printf(",\"sides\":[");
	for (int k = 0; k < ns; k++) {
		struct side *sd = &sides[k];

		side_close_and_name(sd, k);
		printf(",\"cycles\":%d,\"p50_us\":%.0f,\"p90_us\":%.0f,"
		    "\"p99_us\":%.0f,\"errors\":%d", sd->cycles,
		    hist_quantile(&sd->hc, 0.5), hist_quantile(&sd->hc, 0.9),
		    hist_quantile(&sd->hc, 0.99), sd->errors);
		if (!side_tail(sides, k, diff))
			rc = 1;
	}
	printf("],\"wall_s\":%.3f}\n", (double)(now_ns() - t_start) / 1e9);
	fflush(stdout);
	/* Only now: every side's paired differences read side 0's. */
	for (int k = 0; k < ns; k++)
		free(sides[k].samples);
	free(diff);
	free(built);
	return rc;
}

/* ----------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	enum { O_SOCKET = 256, O_CONN, O_THREADS, O_DUR, O_WARM, O_REQS,
	    O_REQ, O_REQFILE, O_IDLE, O_IDLEREQ, O_CREATE, O_COUNT, O_WCOUNT,
	    O_API, O_LABEL, O_NAMES, O_CAPP, O_INTERLEAVE };
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "connections", required_argument, NULL, O_CONN },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "requests", required_argument, NULL, O_REQS },
		{ "request", required_argument, NULL, O_REQ },
		{ "request-file", required_argument, NULL, O_REQFILE },
		{ "idle", required_argument, NULL, O_IDLE },
		{ "idle-request", no_argument, NULL, O_IDLEREQ },
		{ "create-remove", required_argument, NULL, O_CREATE },
		{ "count", required_argument, NULL, O_COUNT },
		{ "warmup-count", required_argument, NULL, O_WCOUNT },
		{ "api", required_argument, NULL, O_API },
		{ "label", required_argument, NULL, O_LABEL },
		{ "names", required_argument, NULL, O_NAMES },
		{ "create-app", required_argument, NULL, O_CAPP },
		{ "interleave", no_argument, NULL, O_INTERLEAVE },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	const char *names = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case O_SOCKET:
			if (n_sockets == MAX_SOCKETS)
				die("at most %d --socket", MAX_SOCKETS);
			sockets[n_sockets++] = optarg;
			break;
		case O_NAMES: names = optarg; break;
		case O_CONN: opt.connections = atoi(optarg); break;
		case O_THREADS: opt.threads = atoi(optarg); break;
		case O_DUR: opt.duration = atof(optarg); break;
		case O_WARM: opt.warmup = atof(optarg); break;
		case O_REQS: opt.requests = strtoull(optarg, NULL, 10); break;
		case O_REQ: opt.request = optarg; break;
		case O_REQFILE: opt.request_file = optarg; break;
		case O_IDLE: opt.idle = atoi(optarg); break;
		case O_IDLEREQ: opt.idle_request = true; break;
		case O_CREATE: opt.create_image = optarg; break;
		case O_CAPP: opt.create_app = optarg; break;
		case O_INTERLEAVE: opt.interleave = true; break;
		case O_COUNT: opt.count = atoi(optarg); break;
		case O_WCOUNT: opt.warmup_count = atoi(optarg); break;
		case O_API: opt.api = optarg; break;
		case O_LABEL: opt.label = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || n_sockets == 0)
		usage();
	for (int k = 0; k < n_sockets; k++) {
		if (strlen(sockets[k]) >= sizeof sun_addrs[k].sun_path)
			die("socket path too long: %s", sockets[k]);
		sun_addrs[k].sun_family = AF_UNIX;
		strcpy(sun_addrs[k].sun_path, sockets[k]);
		side_names[k] = sockets[k];
	}
	if (names != NULL) {
		char *dup = strdup(names), *save = NULL, *tok;
		int k = 0;

		for (tok = strtok_r(dup, ",", &save); tok != NULL && k < n_sockets;
		    tok = strtok_r(NULL, ",", &save))
			side_names[k++] = tok;
	}
	if (opt.connections < 1 || opt.connections > MAX_CONNS ||
	    opt.threads < 1 || opt.threads > MAX_THREADS ||
	    opt.idle < 0 || opt.idle > MAX_CONNS ||
	    opt.duration <= 0 || opt.duration > 3600 ||
	    opt.warmup < 0 || opt.warmup > 3600 ||
	    opt.count < 1 || opt.count > 1000000 ||
	    opt.warmup_count < 0 || opt.warmup_count > 1000000)
		die("option out of range");
	count_limit = opt.requests;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (opt.idle > 0)
		return run_idle();
	if (opt.create_image != NULL)
		return run_create_remove();
	if (opt.interleave)
		return run_interleave();
	return run_closed();
}
