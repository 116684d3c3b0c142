/*
 * HTTP/1.1 message heads (RFC 9112), parsed strictly.  Pure: no I/O.
 *
 * The guard sits between clients and the engine, so it must read every
 * request's framing exactly as the engine (Go net/http) does, or a request
 * could be smuggled past it (RFC 9112 section 6.3, 11.2).  Anything that
 * could be read two ways is refused: Content-Length together with
 * Transfer-Encoding, differing Content-Length values, a transfer coding
 * other than a lone "chunked", Transfer-Encoding on HTTP/1.0, bare CR or
 * LF, obs-fold, whitespace before the colon, invalid field names, control
 * characters in values, a missing or repeated Host on HTTP/1.1, and any
 * request-target that is not origin-form.
 */
#ifndef HTTP_HEAD_H
#define HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_framing {
	HTTP_BODY_NONE,	       /* no body */
	HTTP_BODY_LENGTH,      /* Content-Length bytes */
	HTTP_BODY_CHUNKED,     /* Transfer-Encoding: chunked */
	HTTP_BODY_UNTIL_CLOSE, /* responses only: read until EOF */
};

struct http_header {
	const char *name;  /* NUL-terminated, points into raw */
	const char *value; /* NUL-terminated, OWS trimmed */
	size_t line_off;   /* offset of the field line in the
					   original head */
	size_t line_len;   /* including its CRLF */
};

struct http_head {
	char *raw;	 /* owned working copy */
	char *orig;	 /* copy of the original bytes: raw's block, */
	bool orig_apart; /* or its own allocation once retargeted */
	size_t head_len; /* bytes including the final CRLF */

	/* Request line. */
	const char *method;
	const char *target;
	/* Status line. */
	int status;
	const char *reason;

	int minor; /* HTTP/1.<minor>: 0 or 1 */
	struct http_header *headers;
	size_t n_headers;

	enum http_framing framing;
	uint64_t content_length;
	bool keep_alive; /* per version and Connection */
	bool expect_continue;
	bool upgrade; /* Connection: upgrade + Upgrade */
};

struct http_limits {
	size_t max_head_bytes;
	unsigned max_headers;
};

enum http_scan {
	HTTP_SCAN_INCOMPLETE,
	HTTP_SCAN_COMPLETE,
	HTTP_SCAN_ERROR,
};

/*
 * Look for the end of a head in buf[0..len).  *resume carries progress
 * between calls on a growing buffer (start at 0).  On COMPLETE, *head_len
 * is the head's length including the blank line.  On ERROR, *status is
 * the HTTP status to answer (400 or 431) and *cause says why.
 */
enum http_scan
http_head_scan(const char *buf, size_t len, const struct http_limits *limits,
    size_t *resume, size_t *head_len, int *status, const char **cause);

/*
 * Parse a complete request head (as found by http_head_scan).  On
 * success fill *out (caller calls http_head_reset) and return 0.  On
 * failure return -1 with *status (400, 431, 501 or 505) and *cause.
 */
int http_request_parse(const char *buf, size_t head_len,
    const struct http_limits *limits, struct http_head *out, int *status,
    const char **cause);

/*
 * The framing of a complete response head (as found by http_head_scan),
 * without copying it: out's status, minor, keep_alive, upgrade, framing,
 * content_length and head_len, the rest zero (no headers: a head that is
 * only passed on needs none).  The field lines are checked and read
 * exactly as http_response_parse reads them.  Returns 0, or -1 with
 * *cause; http_head_reset(out) is harmless either way.
 */
int http_response_frame(const char *buf, size_t head_len,
    const char *request_method, struct http_head *out, const char **cause);

/*
 * Parse a complete response head.  request_method decides whether a
 * body follows (HEAD has none).  Returns 0, or -1 with *cause.
 */
int http_response_parse(const char *buf, size_t head_len,
    const char *request_method, struct http_head *out, const char **cause);

void http_head_reset(struct http_head *head);

/* The first value of header name (case-insensitive), or NULL. */
const char *http_head_get(const struct http_head *head, const char *name);

/* True if the comma-separated header name lists token (case-insensitive). */
bool http_head_has_token(const struct http_head *head, const char *name,
    const char *token);

/*
 * The original head with every field line named in drop[] removed and
 * extra (already CRLF-terminated lines, may be NULL) added before the
 * blank line.  Caller frees; *out_len is the length.
 */
char *http_head_rewrite(const struct http_head *head, const char *const *drop,
    size_t n_drop, const char *extra, size_t *out_len);

/*
 * Replace the request-target of a parsed request head in the bytes to be
 * sent on (orig, head_len and the field lines' offsets); method, target
 * and the fields still name what the client sent.  target must be
 * origin-form without blanks or control characters.
 */
void http_head_retarget(struct http_head *head, const char *target);

/* The standard reason phrase for status, e.g. "Bad Request". */
const char *http_reason(int status);

#endif
