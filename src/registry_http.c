/*
 * The registry client's HTTP transport: libcurl's multi interface on
 * libevent (curl's docs/examples/multi-event.c).  curl tells us which
 * sockets to watch and when to wake it; we tell curl what happened.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "registry_http.h"
#include "xmalloc.h"

_Static_assert(REG_HTTP_ERRBUF >= CURL_ERROR_SIZE, "errbuf too small");

struct reg_transport {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
};

struct curl_sock {
	struct event *ev;
	curl_socket_t fd;
};

/* ---- libcurl on libevent ---------------------------------------------- */

static void
check_done(struct reg_transport *t)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(t->multi, &left)) != NULL) {
		struct reg_http *h = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &h);
		h->result = msg->data.result;
		h->failed = msg->data.result != CURLE_OK;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
		    &h->status);
		curl_multi_remove_handle(t->multi, msg->easy_handle);
		h->done(h, h->arg);
	}
}

static void
sock_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct reg_transport *t = arg;
	int flags = 0, running;

	if (kind & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (kind & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(t->multi, fd, flags, &running);
	/* Completions may start the next request, which arms the timer:
	   leave the timer to curl's timer callback. */
	check_done(t);
}

static void
timer_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct reg_transport *t = arg;
	int running;

	curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(t);
}

static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct reg_transport *t = userp;
	struct curl_sock *cs = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->ev);
			free(cs);
		}
		curl_multi_assign(t->multi, s, NULL);
		return 0;
	}
	if (cs == NULL) {
		cs = xcalloc(1, sizeof *cs);
		cs->fd = s;
		curl_multi_assign(t->multi, s, cs);
	} else {
		event_free(cs->ev);
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	cs->ev = event_new(t->base, s, kind, sock_event_cb, t);
	event_add(cs->ev, NULL);
	return 0;
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct reg_transport *t = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(t->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(t->timer, &tv);
	return 0;
}

/* libcurl (and with it OpenSSL) is set up at the first transfer: a guard
 * that never asks a registry never pays for it. */
static void
transport_ready(struct reg_transport *t)
{
	static bool curl_ready;

	if (t->multi != NULL)
		return;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			fatalx("curl_global_init failed");
		curl_ready = true;
	}
	t->multi = curl_multi_init();
	if (t->multi == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
}

struct reg_transport *
reg_transport_new(struct event_base *base)
{
	struct reg_transport *t = xcalloc(1, sizeof *t);

	t->base = base;
	t->timer = evtimer_new(base, timer_event_cb, t);
	return t;
}

void
reg_transport_free(struct reg_transport *t)
{
	if (t == NULL)
		return;
	if (t->multi != NULL)
		curl_multi_cleanup(t->multi);
	event_free(t->timer);
	free(t);
}

/* ---- transfers --------------------------------------------------------- */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct reg_http *h = arg;
	size_t n = size * nmemb;

	if (h->body_len + n > REG_HTTP_MAX_BODY) {
		h->too_big = true;
		return 0; /* abort the transfer */
	}
	h->body = xrealloc(h->body, h->body_len + n + 1);
	memcpy(h->body + h->body_len, ptr, n);
	h->body_len += n;
	h->body[h->body_len] = '\0';
	return n;
}

/* Keep a response header's value if it is the one we want. */
static void
keep_header(char **slot, const char *line, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *v, *end = line + len;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	v = line + nlen + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v &&
	    (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
		end[-1] == '\t'))
		end--;
	free(*slot);
	*slot = xstrndup(v, (size_t)(end - v));
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	struct reg_http *h = arg;
	size_t n = size * nmemb;

	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect): forget the last. */
		free(h->content_type);
		free(h->docker_digest);
		free(h->www_auth);
		h->content_type = h->docker_digest = h->www_auth = NULL;
		return n;
	}
	keep_header(&h->content_type, line, n, "Content-Type");
	keep_header(&h->docker_digest, line, n, "Docker-Content-Digest");
	keep_header(&h->www_auth, line, n, "WWW-Authenticate");
	return n;
}

void
reg_http_free(struct reg_http *h)
{
	if (h == NULL)
		return;
	if (h->easy != NULL) {
		curl_multi_remove_handle(h->t->multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	curl_slist_free_all(h->headers);
	free(h->content_type);
	free(h->docker_digest);
	free(h->www_auth);
	free(h->body);
	free(h);
}

const char *
reg_http_error(const struct reg_http *h)
{
	return h->errbuf[0] ? h->errbuf
			    : curl_easy_strerror((CURLcode)h->result);
}

static void
set_options(struct reg_http *h, CURL *easy, const struct reg_http_req *req)
{
	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, h);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "docker-guard");
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, req->head ? 0L : 1L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, h);
	if (req->head)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	if (req->post_body != NULL) {
		curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(req->post_body));
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, req->post_body);
	}
	if (req->ca_file != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, req->ca_file);
}

struct reg_http *
reg_http_start(struct reg_transport *t, const struct reg_http_req *req,
    reg_http_done done, void *arg)
{
	struct reg_http *h = xcalloc(1, sizeof *h);

	h->t = t;
	h->done = done;
	h->arg = arg;
	transport_ready(t);
	h->easy = curl_easy_init();
	if (h->easy == NULL)
		fatalx("curl_easy_init failed");
	set_options(h, h->easy, req);
	if (req->accept != NULL) {
		char *a = xasprintf("Accept: %s", req->accept);

		h->headers = curl_slist_append(h->headers, a);
		free(a);
	}
	if (req->auth_header != NULL)
		h->headers = curl_slist_append(h->headers, req->auth_header);
	if (req->post_body != NULL) {
		char *ct = xasprintf("Content-Type: %s",
		    req->content_type != NULL ? req->content_type
					      : "application/json");

		h->headers = curl_slist_append(h->headers, ct);
		/* no 100-continue round trip */
		h->headers = curl_slist_append(h->headers, "Expect:");
		free(ct);
	}
	if (h->headers != NULL)
		curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_multi_add_handle(t->multi, h->easy);
	return h;
}
