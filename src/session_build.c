/*
 * A judged build (session_int.h): POST /build under build = judge.  The
 * engine starts nothing before its untar of the context has read the
 * archive's end, so the context streams on as it comes while a tar reader keeps the Dockerfile; what may not go
 * yet (a header still incomplete, the end-of-archive block and what
 * follows it, the last byte of a body framed by length, the final chunk)
 * is held until the guard has judged the Dockerfile.  A refusal drops the
 * engine's connection: the build never starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "config.h"
#include "decision.h"
#include "http_head.h"
#include "session.h"
#include "session_int.h"
#include "tar_reader.h"
#include "xmalloc.h"

static void build_decide(struct session *);

struct build_stream {
	struct tar_reader *tar;
	struct evbuffer *held;	/* data not yet sent */
	struct evbuffer *fresh; /* data just read */
	uint64_t sent;		/* data bytes sent */
	bool chunked;		/* sent to the engine as chunks */
	bool has_alt;		/* kept file 1 is the fallback */
	char *path;		/* the Dockerfile's path */
	char *cause;		/* why it cannot be judged */
};

void
session_build_free(struct build_stream *b)
{
	if (b == NULL)
		return;
	tar_reader_free(b->tar);
	evbuffer_free(b->held);
	evbuffer_free(b->fresh);
	free(b->path);
	free(b->cause);
	free(b);
}

/* CS_BUILD: send n held data bytes on, framed as the engine expects
 * them. */
static void
build_send(struct session *s, size_t n)
{
	struct build_stream *b = s->build;
	char size[32];

	if (n == 0)
		return;
	if (b->chunked) {
		int len = snprintf(size, sizeof size, "%zx\r\n", n);

		session_send_mem(s->upstream, size, (size_t)len);
	}
	session_send_from(b->held, n, s->upstream);
	if (b->chunked)
		session_send_mem(s->upstream, "\r\n", 2);
	b->sent += n;
}

/* The policy says judge: send the head on and start streaming. */
void
session_build_begin(struct session *s, const struct decision_verdict *v)
{
	static const char *const drop_chunked[] = {
		"Content-Length",
		"Transfer-Encoding",
		"Expect",
	};
	static const char *const drop_length[] = { "Expect" };
	const char *paths[2] = { v->build_dockerfile, v->build_dockerfile_alt };
	struct build_stream *b = xcalloc(1, sizeof *b);
	char *head;
	size_t head_len;

	b->has_alt = v->build_dockerfile_alt != NULL;
	b->tar = tar_reader_new(paths, b->has_alt ? 2 : 1,
	    session_cfg(s)->body_limit);
	b->held = evbuffer_new();
	b->fresh = evbuffer_new();
	b->chunked = s->req.framing == HTTP_BODY_CHUNKED;
	b->path = xstrdup(v->build_dockerfile);
	s->build = b;
	if (s->pending != NULL) {
		session_decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (session_ensure_upstream(s) != 0)
		return;
	if (b->chunked)
		head = http_head_rewrite(&s->req, drop_chunked, 3,
		    "Transfer-Encoding: chunked\r\n", &head_len);
	else
		head = http_head_rewrite(&s->req, drop_length, 1, "",
		    &head_len);
	session_send_mem(s->upstream, head, head_len);
	free(head);
	if (s->req.expect_continue)
		session_send_mem(s->client, "HTTP/1.1 100 Continue\r\n\r\n",
		    25);
	session_expect_response(s);
	s->cs = CS_BUILD;
	session_pump_client(s);
}

/* CS_BUILD: the context ended, or cannot be judged: ask the decider
 * (CS_DECIDING). */
static void
build_decide(struct session *s)
{
	struct build_stream *b = s->build;
	struct decision_build_context bc = { 0 };
	struct decision_request gr = { 0 };
	const struct tar_file *f = tar_reader_file(b->tar, 0);
	const char *cause;

	if (b->cause == NULL && tar_reader_finish(b->tar, &cause) != 0)
		b->cause = xstrdup(cause);
	if (b->cause == NULL && f->state != TAR_FILE_REGULAR) {
		const struct tar_file *alt = b->has_alt
		    ? tar_reader_file(b->tar, 1)
		    : NULL;

		if (f->state == TAR_FILE_ABSENT && alt != NULL &&
		    alt->state == TAR_FILE_REGULAR)
			f = alt;
		else
			b->cause = xasprintf(f->state == TAR_FILE_OTHER
				? "%s in the build context is not a regular file"
				: "the build context has no %s",
			    b->path);
	}
	bc.cause = b->cause;
	bc.dockerfile_path = b->path;
	if (b->cause == NULL) {
		bc.dockerfile = f->data;
		bc.dockerfile_len = f->len;
	}
	gr.peer = &s->peer;
	gr.head = &s->req;
	gr.route = &s->route;
	gr.build = &bc;
	s->cs = CS_DECIDING;
	s->pending = session_decision_check(s, &gr);
}

/* Move client data through the reader to the engine, as far as the
   engine takes it and the reader releases it.  True when the client went
   away before the context ended. */
bool
session_build_pump(struct session *s)
{
	struct build_stream *b = s->build;
	struct evbuffer *in = bufferevent_get_input(s->client);
	size_t limit = session_cfg(s)->body_limit;
	const char *cause;
	char *msg;

	for (;;) {
		size_t budget = session_budget(s->upstream), before, n;
		uint64_t rel;

		before = evbuffer_get_length(in);
		if (budget == 0 || s->req_body.done || before == 0)
			break;
		if (session_body_pump(&s->req_body, in, NULL, b->fresh, budget,
			&cause) != 0) {
			msg = xasprintf("docker-guard: refusing %s %s: "
					"malformed chunked body: %s",
			    s->req.method, s->route.path, cause);
			session_refuse(s, 400, msg, false);
			free(msg);
			return false;
		}
		while ((n = evbuffer_get_length(b->fresh)) > 0) {
			struct evbuffer_iovec v;

			evbuffer_peek(b->fresh, -1, NULL, &v, 1);
			if (!tar_reader_ended(b->tar) &&
			    tar_reader_feed(b->tar, v.iov_base, v.iov_len,
				&cause) != 0) {
				b->cause = xstrdup(cause);
				build_decide(s);
				return false;
			}
			evbuffer_remove_buffer(b->fresh, b->held, v.iov_len);
		}
		rel = tar_reader_released(b->tar);
		if (!b->chunked && rel >= s->req.content_length)
			rel = s->req.content_length - 1; /* the last byte */
		if (rel > b->sent)
			build_send(s, (size_t)(rel - b->sent));
		if (evbuffer_get_length(b->held) > limit + 512) {
			b->cause = xasprintf(
			    "more than body_limit (%zu bytes) "
			    "follows the end of the build context's archive",
			    limit);
			build_decide(s);
			return false;
		}
		if (evbuffer_get_length(in) == before)
			break;
	}
	if (s->req_body.done) {
		build_decide(s);
		return false;
	}
	return s->client_eof && evbuffer_get_length(in) == 0;
}

/* The base images passed: send what was held and the body's end. */
void
session_build_finish(struct session *s)
{
	struct build_stream *b = s->build;

	if (s->pending != NULL) {
		session_decision_cancel(s, s->pending);
		s->pending = NULL;
	}
	if (s->upstream == NULL) {
		session_refuse(s, 502,
		    "docker-guard: the Docker engine closed "
		    "the connection during the build's upload",
		    false);
		return;
	}
	build_send(s, evbuffer_get_length(b->held));
	if (b->chunked)
		session_send_mem(s->upstream, "0\r\n\r\n", 5);
	s->cs = CS_WAIT;
	session_pump_upstream(s);
}

/*
 * A base image was refused: drop the engine's connection first (it never
 * gets the archive's end, so the build never starts), then answer.  The
 * body was read whole unless the context could not be judged; only then
 * does the connection close.  Nothing here touches s after a refusal
 * that closes it.
 */
void
session_build_refuse(struct session *s, const struct decision_verdict *v)
{
	struct decision *p = s->pending;
	bool keep = s->req.keep_alive && !s->draining && s->req_body.done;
	char *msg = xstrdup(v->message); /* v belongs to p */
	int status = v->status;

	s->pending = NULL;
	if (p != NULL)
		session_decision_cancel(s, p);
	session_drop_upstream(s);
	s->us = US_IDLE;
	session_refuse(s, status, msg, keep);
	free(msg);
	if (keep && s->cs == CS_HEAD)
		session_pump_client(s);
}
