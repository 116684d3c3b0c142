/*
 * The guard's own requests to the engine (image and container inspect):
 * one connection per request, asynchronous on the event loop, bounded in
 * size (8 MiB) and time (30 s).
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>

struct event_base;
struct engine_req;

/*
 * Called once with the HTTP status and body (status 0 and error set when
 * the engine could not be reached or answered garbage).  body is borrowed
 * for the call.
 */
typedef void (*engine_cb)(int status, const char *body, size_t len,
    const char *error, void *arg);

/*
 * GET path (already percent-encoded, starting with '/') from the engine at
 * socket_path.  Returns a handle for engine_cancel, owned by the request:
 * it is freed right after cb returns, so forget it then.  cb is always
 * called later from the event loop, never from inside this call.
 */
struct engine_req *engine_get(struct event_base *base, const char *socket_path,
    const char *path, engine_cb cb, void *arg);

/* The same for any method, with an optional JSON body (NULL: none,
 * borrowed for the call).  The timeout is 30 s. */
struct engine_req *engine_request(struct event_base *base,
    const char *socket_path, const char *method, const char *path,
    const char *json_body, engine_cb cb, void *arg);

/*
 * A streaming GET (GET /events): line is called for each complete line
 * of the body as it arrives (borrowed); end is called once when the
 * stream ends or fails (error NULL for a clean end).  No timeout.
 */
typedef void (*engine_line_cb)(const char *line, size_t len, void *arg);
struct engine_req *
engine_stream(struct event_base *base, const char *socket_path,
    const char *path, engine_line_cb line, engine_cb end, void *arg);

/* Drop a request that has not called back yet (NULL is ignored); cb is
 * not called and r is freed. */
void engine_cancel(struct engine_req *r);

/* Percent-encode s for a path segment, keeping '/' and ':' as the docker
 * clients do.  Caller frees. */
char *engine_path_escape(const char *s);

#endif
