/*
 * The webhook (notify.h): a bounded queue of JSON notices POSTed one at a
 * time on the registry client's libcurl-on-libevent transport, retried
 * with backoff.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "registry_http.h"
#include "xmalloc.h"

#define NOTIFY_BACKOFF_MAX 60 /* seconds between tries, at most */

struct notice {
	TAILQ_ENTRY(notice) entry;
	char *body;
	unsigned tries; /* made so far */
};

struct notify {
	struct event_base *base;
	struct reg_transport *transport;
	char *url;
	char redacted[160];
	long timeout_ms;
	unsigned tries;
	TAILQ_HEAD(, notice) queue;
	size_t n;
	struct reg_http *http; /* the head's POST in flight */
	struct event *retry;   /* the head's next try */
};

static void post_head(struct notify *n);

const char *
notify_url_redacted(const char *url, char *buf, size_t size)
{
	const char *p = strstr(url, "://"), *host, *end, *at;

	if (p == NULL) {
		snprintf(buf, size, "(a URL)");
		return buf;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	/* user:password@ goes; the last '@' before the path ends it */
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	snprintf(buf, size, "%.*s://%.*s", (int)(p - url), url,
	    (int)(end - host), host);
	return buf;
}

static void
notice_drop(struct notify *n, struct notice *x)
{
	TAILQ_REMOVE(&n->queue, x, entry);
	n->n--;
	free(x->body);
	free(x);
}

/* The head is done with (sent or given up): on to the next. */
static void
head_done(struct notify *n)
{
	notice_drop(n, TAILQ_FIRST(&n->queue));
	if (!TAILQ_EMPTY(&n->queue))
		post_head(n);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notify *n = arg;

	if (!TAILQ_EMPTY(&n->queue) && n->http == NULL)
		post_head(n);
}

static void
post_done(struct reg_http *h, void *arg)
{
	struct notify *n = arg;
	struct notice *x = TAILQ_FIRST(&n->queue);
	char why[REG_HTTP_ERRBUF + 32];
	struct timeval tv = { 1, 0 };

	n->http = NULL;
	if (!h->failed && h->status >= 200 && h->status < 300) {
		log_debug("notify: %s took a notice (%ld)", n->redacted,
		    h->status);
		reg_http_free(h);
		head_done(n);
		return;
	}
	if (h->failed)
		snprintf(why, sizeof why, "%s", reg_http_error(h));
	else
		snprintf(why, sizeof why, "it answered %ld", h->status);
	reg_http_free(h);
	if (x->tries >= n->tries) {
		log_warn("notify: giving up on a notice to %s after %u "
			 "tries: %s",
		    n->redacted, x->tries, why);
		metrics_notify_failure();
		head_done(n);
		return;
	}
	for (unsigned i = 1; i < x->tries && tv.tv_sec < NOTIFY_BACKOFF_MAX;
	     i++)
		tv.tv_sec *= 2;
	if (tv.tv_sec > NOTIFY_BACKOFF_MAX)
		tv.tv_sec = NOTIFY_BACKOFF_MAX;
	log_warn("notify: POST to %s failed (try %u of %u): %s; trying again "
		 "in %lld s",
	    n->redacted, x->tries, n->tries, why, (long long)tv.tv_sec);
	evtimer_add(n->retry, &tv);
}

/* POST the head of the queue. */
static void
post_head(struct notify *n)
{
	struct notice *x = TAILQ_FIRST(&n->queue);
	struct reg_http_req req = { 0 };

	if (x == NULL || n->url == NULL || n->http != NULL)
		return;
	x->tries++;
	req.url = n->url;
	req.timeout_ms = n->timeout_ms;
	req.post_body = x->body;
	req.content_type = "application/json";
	n->http = reg_http_start(n->transport, &req, post_done, n);
}

static void
drop_all(struct notify *n)
{
	reg_http_free(n->http);
	n->http = NULL;
	evtimer_del(n->retry);
	while (!TAILQ_EMPTY(&n->queue))
		notice_drop(n, TAILQ_FIRST(&n->queue));
}

struct notify *
notify_new(struct event_base *base)
{
	struct notify *n = xcalloc(1, sizeof *n);

	n->base = base;
	n->transport = reg_transport_new(base);
	n->retry = evtimer_new(base, retry_cb, n);
	n->timeout_ms = 10000;
	n->tries = 3;
	TAILQ_INIT(&n->queue);
	return n;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->n > 0)
		log_warn("notify: %zu notice(s) to %s not sent (stopping)",
		    n->n, n->redacted);
	drop_all(n);
	event_free(n->retry);
	reg_transport_free(n->transport);
	if (n->url != NULL)
		explicit_bzero(n->url, strlen(n->url));
	free(n->url);
	free(n);
}

void
notify_configure(struct notify *n, const char *url, unsigned timeout_s,
    unsigned tries)
{
	bool same = (url == NULL && n->url == NULL) ||
	    (url != NULL && n->url != NULL && strcmp(url, n->url) == 0);

	n->timeout_ms = (long)(timeout_s > 0 ? timeout_s : 1) * 1000;
	n->tries = tries > 0 ? tries : 1;
	if (same)
		return;
	if (n->n > 0)
		log_warn("notify: the URL changed; %zu notice(s) to %s "
			 "dropped",
		    n->n, n->redacted);
	drop_all(n);
	if (n->url != NULL)
		explicit_bzero(n->url, strlen(n->url));
	free(n->url);
	n->url = url != NULL ? xstrdup(url) : NULL;
	if (url != NULL)
		notify_url_redacted(url, n->redacted, sizeof n->redacted);
	else
		n->redacted[0] = '\0';
}

void
notify_send(struct notify *n, const char *json)
{
	struct notice *x;

	if (n->url == NULL)
		return;
	if (n->n >= NOTIFY_QUEUE_MAX) {
		/* the oldest that is not in flight */
		struct notice *old = TAILQ_FIRST(&n->queue);

		if (n->http != NULL || evtimer_pending(n->retry, NULL))
			old = TAILQ_NEXT(old, entry);
		if (old != NULL) {
			log_warn("notify: %zu notices wait for %s; dropping "
				 "the oldest",
			    n->n, n->redacted);
			notice_drop(n, old);
		}
	}
	x = xcalloc(1, sizeof *x);
	x->body = xstrdup(json);
	TAILQ_INSERT_TAIL(&n->queue, x, entry);
	n->n++;
	if (n->n == 1)
		post_head(n);
}

size_t
notify_queued(const struct notify *n)
{
	return n->n;
}
