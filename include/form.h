/*
 * Request parameters as the engine reads them: Go's url.ParseQuery on the
 * query and, for an application/x-www-form-urlencoded body, on the body,
 * merged as net/http's Request.ParseForm merges them (body values first,
 * so r.Form.Get prefers the body).  Pure: no I/O.
 *
 * Go (>= 1.17) splits on '&' only: a pair holding ';' is dropped and is
 * an error, as is a bad %XX escape; empty pairs are skipped; '+' is a
 * space; a key without '=' has the empty value.  The engine answers 400
 * to any such error, so the guard treats a form with an error as
 * malformed.  A decoded NUL (which Go would keep) is also an error here:
 * the guard's strings cannot hold it.
 */
#ifndef FORM_H
#define FORM_H

#include <stdbool.h>
#include <stddef.h>

/* The most pairs read; more is an error (the guard refuses). */
#define FORM_MAX_PAIRS 4096

struct form_pair {
	char *key;
	char *value;
};

struct form {
	struct form_pair *pairs; /* in order: body first, then query */
	size_t n;
	size_t errors; /* pairs Go would refuse */
};

/* How Go's mime.ParseMediaType reads a Content-Type for ParseForm. */
enum form_media {
	FORM_MEDIA_OTHER,      /* the body is not read as a form */
	FORM_MEDIA_URLENCODED, /* ParseForm reads the body */
	FORM_MEDIA_MULTIPART,  /* multipart/form-data: read by FormValue
				   when ParseForm was not called first */
	FORM_MEDIA_UNSURE,     /* Go versions may differ (duplicate or
				   RFC 2231 parameters, non-ASCII): refuse */
};

/* Classify a Content-Type header value (NULL: absent). */
enum form_media form_media_type(const char *content_type);

/*
 * Append the pairs of s (len bytes, a query string or a form body) to f,
 * counting Go's errors in f->errors.  Call for the body first, then for
 * the query, to get r.Form's order.
 */
void form_parse(struct form *f, const char *s, size_t len);

/* The first value of key (r.Form.Get), or NULL if absent.  Borrowed. */
const char *form_get(const struct form *f, const char *key);

/* How many values key has. */
size_t form_count(const struct form *f, const char *key);

void form_reset(struct form *f);

#endif
