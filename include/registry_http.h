/*
 * The registry client's HTTP transport: libcurl's multi interface driven
 * by the guard's libevent loop (curl's docs/examples/multi-event.c), so
 * registry requests never block other clients and many run at once.  It
 * knows nothing of registries: a request is a URL, a few headers and a
 * callback; the answer is a status, three headers and a capped body.
 */
#ifndef REGISTRY_HTTP_H
#define REGISTRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct curl_slist;
struct reg_transport;
struct reg_http;

/* The largest body kept; a longer answer fails with too_big. */
#define REG_HTTP_MAX_BODY (4 * 1024 * 1024)
#define REG_HTTP_ERRBUF 256 /* CURL_ERROR_SIZE */

typedef void (*reg_http_done)(struct reg_http *h, void *arg);

/* One request; every string is borrowed for the reg_http_start call. */
struct reg_http_req {
	const char *url;
	bool head;		  /* HEAD without redirects, else GET following
				    up to 5 redirects */
	const char *accept;	  /* the Accept value, or NULL */
	const char *auth_header;  /* "Authorization: ...", or NULL */
	const char *ca_file;	  /* or NULL for the system CAs */
	long timeout_ms;	  /* connect and whole transfer */
	const char *post_body;	  /* POST this (NUL-terminated), no
				    redirects; NULL: HEAD or GET */
	const char *content_type; /* of post_body */
};

/* One transfer.  The answer fields are valid in the done callback and
 * until reg_http_free; the rest is the transport's. */
struct reg_http {
	bool failed;	     /* no HTTP answer: timeout, DNS, TLS, too big */
	bool too_big;	     /* the body passed REG_HTTP_MAX_BODY */
	long status;	     /* the last response's status, 0 if none */
	char *content_type;  /* of the last response, or NULL */
	char *docker_digest; /* Docker-Content-Digest, or NULL */
	char *www_auth;	     /* WWW-Authenticate, or NULL */
	char *body;	     /* NUL-terminated, or NULL when empty */
	size_t body_len;

	struct reg_transport *t;
	void *easy;
	struct curl_slist *headers;
	int result; /* CURLcode */
	char errbuf[REG_HTTP_ERRBUF];
	reg_http_done done;
	void *arg;
};

/* A transport on base (borrowed, must outlive it).  libcurl (and the TLS
 * library under it) is initialised at its first transfer, once per
 * process: a guard that never asks a registry never loads their state.
 * Like an allocation, a libcurl that cannot initialise exits.  Caller
 * frees with reg_transport_free, after every transfer has been freed. */
struct reg_transport *reg_transport_new(struct event_base *base);
/* Free t (NULL is ignored); every transfer on it must be freed first. */
void reg_transport_free(struct reg_transport *t);

/*
 * Start req.  done(h, arg) is called once from the event loop when the
 * transfer ends (never from inside this call); it owns h from then on and
 * must reg_http_free it.  Returns the transfer, which the caller may also
 * free before done to cancel it (done is then not called).
 */
struct reg_http *reg_http_start(struct reg_transport *t,
    const struct reg_http_req *req, reg_http_done done, void *arg);

/* Cancel (if running) and free a transfer; NULL is ignored. */
void reg_http_free(struct reg_http *h);

/* Why a failed transfer failed, in curl's words; borrowed from h. */
const char *reg_http_error(const struct reg_http *h);

#endif
