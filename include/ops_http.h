/*
 * The operators' listener (metrics_listen): a small HTTP/1.1 server on
 * the guard's event loop, on a loopback TCP port or a unix socket,
 * serving read-only pages: /metrics (Prometheus text format 0.0.4,
 * metrics.h).  GET and HEAD only; unknown paths 404, other methods 405.
 * Bounded: small request heads, no bodies, short timeouts.
 *
 * Pages are rows of a table in ops_http.c: another page (the status
 * page at "/") is a function of type ops_page_fn and one row there.
 */
#ifndef OPS_HTTP_H
#define OPS_HTTP_H

struct event_base;
struct evbuffer;
struct evhttp_request;
struct guard_config;
struct ops_http;

/*
 * One page: append the body to out, set *type to its Content-Type (a
 * static string) and return the HTTP status.  ctx is ops_http_new()'s;
 * req is the request (its URI, headers), borrowed for the call.  Called
 * from the event loop; must not block.
 */
typedef int (*ops_page_fn)(void *ctx, struct evhttp_request *req,
    struct evbuffer *out, const char **type);

/*
 * Listen on cfg->metrics_listen (which config.c checked: a loopback
 * host:port or an absolute socket path; a stale socket file is replaced,
 * one someone listens on is not) on base.  The socket gets cfg's
 * socket_group when that group exists, mode 0660.  ctx is handed to the
 * pages.  Returns the listener, or NULL with *cause set (caller frees).
 */
struct ops_http *ops_http_new(struct event_base *base,
    const struct guard_config *cfg, void *ctx, char **cause);

/* Stop listening (a socket file it created is removed), close its
 * connections and free h; NULL is ignored. */
void ops_http_free(struct ops_http *h);

#endif
