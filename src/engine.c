#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chunked.h"
#include "engine.h"
#include "http_head.h"
#include "metrics.h"
#include "xmalloc.h"

#define ENGINE_MAX_BODY (8 * 1024 * 1024)
#define ENGINE_TIMEOUT_SEC 30

struct engine_req {
	struct bufferevent *bev;
	struct event *fail_ev; /* reports a failed connect */
	char *fail;
	engine_cb cb;
	void *arg;
	size_t resume;
	struct http_head head;
	bool have_head;
	struct chunked_decoder chunks;
	struct evbuffer *body;
	uint64_t left;
	engine_line_cb line; /* streaming: per line */
	bool streaming;
};

char *
engine_path_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(strlen(s) * 3 + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~/:", c) != NULL) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

static void
req_free(struct engine_req *r)
{
	if (r->bev != NULL)
		bufferevent_free(r->bev);
	if (r->fail_ev != NULL)
		event_free(r->fail_ev);
	free(r->fail);
	if (r->have_head)
		http_head_reset(&r->head);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r);
}

void
engine_cancel(struct engine_req *r)
{
	if (r != NULL)
		req_free(r);
}

static void
finish(struct engine_req *r, const char *error)
{
	if (error != NULL) {
		/* A stream that had begun (have_head) may end any way: the
		   engine did answer.  Anything else is the engine down. */
		if (!r->have_head)
			metrics_engine_up(false);
		r->cb(0, NULL, 0, error, r->arg);
	} else {
		size_t len = evbuffer_get_length(r->body);
		const char *body = len > 0
		    ? (const char *)evbuffer_pullup(r->body, -1)
		    : "";

		r->cb(r->head.status, body, len, NULL, r->arg);
	}
	req_free(r);
}

/* Hand complete lines of a streamed body to the caller. */
static void
deliver_lines(struct engine_req *r)
{
	struct evbuffer_ptr p;

	while ((p = evbuffer_search(r->body, "\n", 1, NULL)).pos >= 0) {
		size_t len = (size_t)p.pos;
		char *line = (char *)evbuffer_pullup(r->body,
		    (ev_ssize_t)len + 1);

		line[len] = '\0';
		if (len > 0)
			r->line(line, len, r->arg);
		evbuffer_drain(r->body, len + 1);
	}
}

/* How a step of reading the answer left it. */
enum pump_step {
	PUMP_MORE,     /* go on reading what is buffered */
	PUMP_WAIT,     /* wait for more bytes */
	PUMP_FINISHED, /* finish() ran: r is gone */
};

/* Read the response head from in.  Returns PUMP_MORE once it is parsed
 * (the body follows), PUMP_WAIT for more bytes, or PUMP_FINISHED. */
static enum pump_step
pump_head(struct engine_req *r, struct evbuffer *in, bool eof)
{
	struct http_limits lim = { 256 * 1024, 1000 };
	size_t len = evbuffer_get_length(in), head_len;
	const char *cause, *p;
	int status;
	enum http_scan s;

	if (len == 0) {
		if (!eof)
			return PUMP_WAIT;
		finish(r, "the engine closed the connection without answering");
		return PUMP_FINISHED;
	}
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	s = http_head_scan(p, len, &lim, &r->resume, &head_len, &status,
	    &cause);
	if (s == HTTP_SCAN_INCOMPLETE && !eof)
		return PUMP_WAIT;
	if (s != HTTP_SCAN_COMPLETE ||
	    http_response_parse(p, head_len, "GET", &r->head, &cause) != 0) {
		finish(r, "the engine sent a malformed response");
		return PUMP_FINISHED;
	}
	r->have_head = true;
	metrics_engine_up(true);
	evbuffer_drain(in, head_len);
	r->left = r->head.content_length;
	if (r->head.framing == HTTP_BODY_CHUNKED)
		chunked_init(&r->chunks);
	return PUMP_MORE;
}

/* Move what is buffered of a chunked body into r->body.  Returns
 * PUMP_MORE to go on, PUMP_WAIT when in is empty, or PUMP_FINISHED. */
static enum pump_step
pump_chunked(struct engine_req *r, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in), n;
	const unsigned char *p;

	if (avail == 0)
		return PUMP_WAIT;
	if (chunked_in_data(&r->chunks)) {
		n = avail;
		if (n > chunked_data_left(&r->chunks))
			n = (size_t)chunked_data_left(&r->chunks);
		evbuffer_remove_buffer(in, r->body, n);
		chunked_consume_data(&r->chunks, n);
		return PUMP_MORE;
	}
	p = evbuffer_pullup(in, (ev_ssize_t)avail);
	n = chunked_scan(&r->chunks, p, avail);
	evbuffer_drain(in, n);
	if (chunked_failed(&r->chunks)) {
		finish(r, "the engine sent a malformed chunked body");
		return PUMP_FINISHED;
	}
	if (chunked_done(&r->chunks)) {
		finish(r, NULL);
		return PUMP_FINISHED;
	}
	return PUMP_MORE;
}

/* Move what is buffered of the body into r->body, by its framing.
 * Returns PUMP_WAIT when all of in is taken, or PUMP_FINISHED. */
static enum pump_step
pump_body(struct engine_req *r, struct evbuffer *in, bool eof)
{
	enum pump_step step;
	size_t n;

	switch (r->head.framing) {
	case HTTP_BODY_NONE:
		finish(r, NULL);
		return PUMP_FINISHED;
	case HTTP_BODY_LENGTH:
		n = evbuffer_get_length(in);
		if (n > r->left)
			n = (size_t)r->left;
		evbuffer_remove_buffer(in, r->body, n);
		r->left -= n;
		if (r->left > 0)
			return PUMP_WAIT;
		finish(r, NULL);
		return PUMP_FINISHED;
	case HTTP_BODY_UNTIL_CLOSE:
		evbuffer_add_buffer(r->body, in);
		if (!eof)
			return PUMP_WAIT;
		finish(r, NULL);
		return PUMP_FINISHED;
	case HTTP_BODY_CHUNKED:
		while ((step = pump_chunked(r, in)) == PUMP_MORE)
			;
		return step;
	}
	return PUMP_WAIT;
}

/* Returns true when the request finished (and r is gone). */
static bool
pump(struct engine_req *r, bool eof)
{
	struct evbuffer *in = bufferevent_get_input(r->bev);
	enum pump_step step;

	if (!r->have_head && (step = pump_head(r, in, eof)) != PUMP_MORE)
		return step == PUMP_FINISHED;
	if (pump_body(r, in, eof) == PUMP_FINISHED)
		return true;
	if (r->streaming)
		deliver_lines(r);
	if (evbuffer_get_length(r->body) > ENGINE_MAX_BODY) {
		finish(r, "the engine's answer is too large");
		return true;
	}
	if (eof) {
		finish(r, "the engine closed the connection mid-answer");
		return true;
	}
	return false;
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	pump(arg, false);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct engine_req *r = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		finish(r, "the engine did not answer in time");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		finish(r, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (what & BEV_EVENT_EOF)
		pump(r, true);
}

static void
fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_req *r = arg;

	finish(r, r->fail);
}

struct engine_req *
engine_get(struct event_base *base, const char *socket_path, const char *path,
    engine_cb cb, void *arg)
{
	return engine_request(base, socket_path, "GET", path, NULL, cb, arg);
}

struct engine_req *
engine_stream(struct event_base *base, const char *socket_path,
    const char *path, engine_line_cb line, engine_cb end, void *arg)
{
	struct engine_req *r = engine_request(base, socket_path, "GET", path,
	    NULL, end, arg);

	r->line = line;
	r->streaming = true;
	if (r->bev != NULL)
		bufferevent_set_timeouts(r->bev, NULL, NULL);
	return r;
}

struct engine_req *
engine_request(struct event_base *base, const char *socket_path,
    const char *method, const char *path, const char *json_body, engine_cb cb,
    void *arg)
{
	struct engine_req *r;
	struct sockaddr_un sun;
	struct timeval tv = { ENGINE_TIMEOUT_SEC, 0 };
	int fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, socket_path, sizeof sun.sun_path - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r = xcalloc(1, sizeof *r);
	r->cb = cb;
	r->arg = arg;
	r->body = evbuffer_new();
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		/* Report from the loop, never from inside this call. */
		r->fail = xstrdup(strerror(errno));
		if (fd >= 0)
			close(fd);
		r->fail_ev = evtimer_new(base, fail_cb, r);
		event_active(r->fail_ev, EV_TIMEOUT, 0);
		return r;
	}
	r->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(r->bev, read_cb, NULL, event_cb, r);
	bufferevent_set_timeouts(r->bev, &tv, &tv);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	if (json_body != NULL)
		evbuffer_add_printf(bufferevent_get_output(r->bev),
		    "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
		    "docker-guard\r\nConnection: close\r\nContent-Type: "
		    "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		    method, path, strlen(json_body), json_body);
	else
		evbuffer_add_printf(bufferevent_get_output(r->bev),
		    "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
		    "docker-guard\r\nConnection: close\r\n\r\n",
		    method, path);
	return r;
}
