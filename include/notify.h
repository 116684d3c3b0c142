/*
 * The webhook: each notice (a JSON text) is POSTed to notify_url with
 * libcurl on the event loop (the registry client's transport,
 * registry_http.h), so nothing blocks.  One POST at a time, in order;
 * each has notify_timeout seconds, and a notice that fails (no answer,
 * or a status other than 2xx) is tried again after 1, 2, 4, ... seconds
 * (at most 60) until notify_tries tries were made, then dropped with a
 * log line.  At most NOTIFY_QUEUE_MAX notices wait; when full the oldest
 * waiting one is dropped, with a log line.  Logs name the URL by scheme,
 * host and port only: a token in its path, query or user part never
 * reaches the log.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>

struct event_base;
struct notify;

#define NOTIFY_QUEUE_MAX 100

/* A webhook sender on base (borrowed; outlives it), with no URL until
 * notify_configure.  Caller frees with notify_free. */
struct notify *notify_new(struct event_base *base);

/* Cancel what is in flight and drop what waits; NULL is ignored. */
void notify_free(struct notify *n);

/* Where to POST (copied; NULL: nowhere, and what waits is dropped),
 * each POST's timeout in seconds and how many tries a notice gets.
 * Called at start and on SIGHUP. */
void notify_configure(struct notify *n, const char *url, unsigned timeout_s,
    unsigned tries);

/* Queue a copy of json (a JSON text) for the URL; nothing when no URL is
 * set.  Never blocks, never fails. */
void notify_send(struct notify *n, const char *json);

/* How many notices wait or are in flight. */
size_t notify_queued(const struct notify *n);

/* The URL without what may be secret: "scheme://host[:port]" (user part,
 * path, query and fragment dropped), into buf (size bytes).  Returns
 * buf. */
const char *notify_url_redacted(const char *url, char *buf, size_t size);

#endif
