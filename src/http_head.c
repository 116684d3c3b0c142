/*
 * Strict HTTP/1.1 head parsing.  The rules cited are RFC 9110 and 9112.
 */
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>
#include <strings.h>

#include "http_head.h"
#include "xmalloc.h"

/* RFC 9110 5.6.2: tchar is ALPHA, DIGIT and "!#$%&'*+-.^_`|~". */
#define TCHAR_PUNCT(c)                                                         \
	((c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' || \
	    (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' ||           \
	    (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' ||            \
	    (c) == '|' || (c) == '~')
#define TCHAR(c)                                                     \
	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || \
	    ((c) >= '0' && (c) <= '9') || TCHAR_PUNCT(c))
#define TCHAR_ROW(r)                                                          \
	TCHAR(r + 0), TCHAR(r + 1), TCHAR(r + 2), TCHAR(r + 3), TCHAR(r + 4), \
	    TCHAR(r + 5), TCHAR(r + 6), TCHAR(r + 7), TCHAR(r + 8),           \
	    TCHAR(r + 9), TCHAR(r + 10), TCHAR(r + 11), TCHAR(r + 12),        \
	    TCHAR(r + 13), TCHAR(r + 14), TCHAR(r + 15)

/*
 * A byte per value, built by the compiler from the rule above: field names
 * are checked byte by byte over every field of both heads, and one load per
 * byte is the cheapest test there is.
 */
static const bool tchar_table[256] = {
	TCHAR_ROW(0x00),
	TCHAR_ROW(0x10),
	TCHAR_ROW(0x20),
	TCHAR_ROW(0x30),
	TCHAR_ROW(0x40),
	TCHAR_ROW(0x50),
	TCHAR_ROW(0x60),
	TCHAR_ROW(0x70),
};

static bool
is_tchar(unsigned char c)
{
	return tchar_table[c];
}

/*
 * strcasecmp(a, b) == 0, with the first bytes compared inline first: most
 * field names differ there, and a lookup runs over every field.  The
 * pre-check never rejects a match (letters compare with 0x20 set, other
 * bytes only match themselves).
 */
static bool
name_eq(const char *a, const char *b)
{
	return ((unsigned char)a[0] | 0x20) == ((unsigned char)b[0] | 0x20) &&
	    strcasecmp(a, b) == 0;
}

/* RFC 9110 5.5: field-vchar / SP / HTAB; obs-text is allowed. */
static bool
is_field_value_char(unsigned char c)
{
	return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f);
}

/*
 * Eight bytes at a time (the heads are parsed twice per request, so their
 * loops are the guard's own per-request cost): a word in which some byte
 * is below n (n <= 128), or equal to n.  Exact as a yes or no.
 */
#define WORD_ONES UINT64_C(0x0101010101010101)
#define WORD_HIGHS UINT64_C(0x8080808080808080)
#define WORD_HAS_LESS(x, n) ((((x)-WORD_ONES * (n)) & ~(x)&WORD_HIGHS) != 0)
#define WORD_HAS(x, n) WORD_HAS_LESS((x) ^ (WORD_ONES * (n)), 1)

/*
 * The first byte of x (in memory order) that the mask of WORD_HAS_LESS or
 * WORD_HAS marks.  The mask can mark bytes after a true one too (a borrow
 * runs upward), never before it, so its lowest byte is exact.
 */
static size_t
first_marked_byte(uint64_t mask)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (size_t)__builtin_ctzll(mask) / 8;
#else
	return (size_t)__builtin_clzll(mask) / 8;
#endif
}

#define WORD_LESS_MASK(x, n) (((x)-WORD_ONES * (n)) & ~(x)&WORD_HIGHS)

/* How many of the n bytes at p are above CR (so not NUL, CR or LF). */
static size_t
span_above_cr(const char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, mask;

		memcpy(&x, p + i, 8);
		mask = WORD_LESS_MASK(x, '\r' + 1);
		if (mask != 0)
			return i + first_marked_byte(mask);
	}
	while (i < n && (unsigned char)p[i] > '\r')
		i++;
	return i;
}

/* Are the eight bytes at p all field value characters? */
static bool
word_is_field_value(const char *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
	if (!WORD_HAS_LESS(x, 0x20) && !WORD_HAS(x, 0x7f))
		return true; /* all printable, SP or obs-text */
	for (int k = 0; k < 8; k++) {
		if (!is_field_value_char((unsigned char)p[k]))
			return false;
	}
	return true;
}

/*
 * Is every byte in [p, end) a field value character?  A value of eight
 * bytes or more ends with one word that overlaps the last one checked.
 */
static bool
field_value_ok(const char *p, const char *end)
{
	if (end - p >= 8) {
		for (; end - p >= 8; p += 8) {
			if (!word_is_field_value(p))
				return false;
		}
		return p == end || word_is_field_value(end - 8);
	}
	for (; p < end; p++) {
		if (!is_field_value_char((unsigned char)*p))
			return false;
	}
	return true;
}

enum http_scan
http_head_scan(const char *buf, size_t len, const struct http_limits *limits,
    size_t *resume, size_t *head_len, int *status, const char **cause)
{
	size_t i = *resume;
	/* Past the limit the head is too large (the check after the loop). */
	size_t end = len < limits->max_head_bytes ? len
						  : limits->max_head_bytes;

	for (; i < end; i++) {
		unsigned char c;

		/* To the next byte that may be NUL, CR or LF. */
		i += span_above_cr(buf + i, end - i);
		if (i == end)
			break;
		c = (unsigned char)buf[i];
		if (c == '\0') {
			*status = 400;
			*cause = "NUL byte in the head";
			return HTTP_SCAN_ERROR;
		}
		if (c == '\r') {
			if (i + 1 == len)
				break; /* decide when the next byte comes */
			if (buf[i + 1] != '\n') {
				/* RFC 9112 2.2: bare CR is invalid. */
				*status = 400;
				*cause = "bare CR in the head";
				return HTTP_SCAN_ERROR;
			}
			continue;
		}
		if (c == '\n') {
			if (i == 0 || buf[i - 1] != '\r') {
				/* RFC 9112 2.2: we do not accept bare LF, so
				   that no line can be read two ways. */
				*status = 400;
				*cause = "bare LF in the head";
				return HTTP_SCAN_ERROR;
			}
			if (i == 1) {
				*status = 400;
				*cause = "empty request line";
				return HTTP_SCAN_ERROR;
			}
			if (i >= 3 && buf[i - 2] == '\n' &&
			    buf[i - 3] == '\r') {
				*head_len = i + 1;
				*resume = i + 1;
				return HTTP_SCAN_COMPLETE;
			}
		}
	}
	*resume = i;
	if (len >= limits->max_head_bytes) {
		*status = 431;
		*cause = "the request head is larger than the limit";
		return HTTP_SCAN_ERROR;
	}
	return HTTP_SCAN_INCOMPLETE;
}

void
http_head_reset(struct http_head *head)
{
	if (head->orig_apart)
		free(head->orig);
	free(head->raw); /* and orig, when it is the block's second half */
	free(head->headers);
	memset(head, 0, sizeof *head);
}

const char *
http_head_get(const struct http_head *head, const char *name)
{
	for (size_t i = 0; i < head->n_headers; i++) {
		if (name_eq(head->headers[i].name, name))
			return head->headers[i].value;
	}
	return NULL;
}

static size_t
count_headers(const struct http_head *head, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < head->n_headers; i++) {
		if (name_eq(head->headers[i].name, name))
			n++;
	}
	return n;
}

static bool
list_has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = list;

	while (*p != '\0') {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == tlen &&
		    strncasecmp(start, token, tlen) == 0)
			return true;
	}
	return false;
}

bool
http_head_has_token(const struct http_head *head, const char *name,
    const char *token)
{
	for (size_t i = 0; i < head->n_headers; i++) {
		if (name_eq(head->headers[i].name, name) &&
		    list_has_token(head->headers[i].value, token))
			return true;
	}
	return false;
}

/* One field line: where its name and (trimmed) value are. */
struct field_span {
	const char *line;
	size_t line_len; /* with its CRLF */
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * The field line at *pos (before end): 1 with *f filled and *pos moved
 * past it, 0 at the blank line that ends the head (*pos moved past it),
 * or -1 with *status and *cause.
 */
static int
next_field(const char **pos, const char *end, struct field_span *f, int *status,
    const char **cause)
{
	const char *line = *pos, *eol, *colon, *v, *vend;

	if (line >= end) {
		*status = 400;
		*cause = "the head does not end with a blank line";
		return -1;
	}
	eol = memchr(line, '\r', (size_t)(end - line));
	if (eol == NULL || eol + 1 >= end || eol[1] != '\n') {
		*status = 400;
		*cause = "malformed field line";
		return -1;
	}
	*pos = eol + 2;
	if (eol == line) /* the blank line: done */
		return 0;
	if (*line == ' ' || *line == '\t') {
		/* RFC 9112 5.2: obs-fold is rejected. */
		*status = 400;
		*cause = "obsolete line folding in a header";
		return -1;
	}
	colon = line;
	while (colon < eol && is_tchar((unsigned char)*colon))
		colon++;
	if (colon == line || colon == eol || *colon != ':') {
		/* RFC 9112 5.1: no whitespace before the colon, and the name
		   must be a token. */
		*status = 400;
		*cause = "invalid header field name";
		return -1;
	}
	if (!field_value_ok(colon + 1, eol)) {
		*status = 400;
		*cause = "invalid character in a header value";
		return -1;
	}
	v = colon + 1;
	while (v < eol && (*v == ' ' || *v == '\t'))
		v++;
	vend = eol;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	f->line = line;
	f->line_len = (size_t)(eol + 2 - line);
	f->name = line;
	f->name_len = (size_t)(colon - line);
	f->value = v;
	f->value_len = (size_t)(vend - v);
	return 1;
}

/*
 * Split the field lines after the start line into headers.  line points at
 * the first field line inside head->raw; the raw copy is cut into C strings
 * in place.
 */
static int
parse_fields(struct http_head *head, char *line, unsigned max_headers,
    int *status, const char **cause)
{
	const char *pos = line, *end = head->raw + head->head_len;
	struct field_span f;
	size_t cap = 0;
	int r;

	while ((r = next_field(&pos, end, &f, status, cause)) == 1) {
		struct http_header *h;
		char *name = head->raw + (f.name - head->raw);
		char *value = head->raw + (f.value - head->raw);

		if (head->n_headers == max_headers) {
			*status = 431;
			*cause = "too many header fields";
			return -1;
		}
		if (head->n_headers == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			head->headers = xreallocarray(head->headers, cap,
			    sizeof *head->headers);
		}
		name[f.name_len] = '\0';
		value[f.value_len] = '\0';
		h = &head->headers[head->n_headers++];
		h->name = name;
		h->value = value;
		h->line_off = (size_t)(f.line - head->raw);
		h->line_len = f.line_len;
	}
	return r;
}

/* Parse Content-Length: 1*DIGIT, at most 2^62. */
static int
parse_content_length(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (n > (UINT64_C(1) << 62) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	return 0;
}

/*
 * RFC 9112 6.3 and 6.1: the body length, refusing any header combination
 * that two parsers could read differently.
 */
static int
decide_request_framing(struct http_head *head, int *status, const char **cause)
{
	size_t n_te = count_headers(head, "Transfer-Encoding");
	size_t n_cl = count_headers(head, "Content-Length");

	head->framing = HTTP_BODY_NONE;
	head->content_length = 0;
	if (n_te > 0) {
		const char *te = http_head_get(head, "Transfer-Encoding");

		if (n_cl > 0) {
			*status = 400;
			*cause = "both Content-Length and Transfer-Encoding";
			return -1;
		}
		if (head->minor == 0) {
			*status = 400;
			*cause = "Transfer-Encoding in an HTTP/1.0 request";
			return -1;
		}
		if (n_te > 1 || strcasecmp(te, "chunked") != 0) {
			*status = 501;
			*cause = "unsupported Transfer-Encoding "
				 "(only a single \"chunked\" is accepted)";
			return -1;
		}
		head->framing = HTTP_BODY_CHUNKED;
		return 0;
	}
	if (n_cl > 0) {
		uint64_t first = 0;
		bool seen = false;

		for (size_t i = 0; i < head->n_headers; i++) {
			uint64_t n;

			if (!name_eq(head->headers[i].name, "Content-Length"))
				continue;
			if (parse_content_length(head->headers[i].value, &n) !=
			    0) {
				*status = 400;
				*cause = "invalid Content-Length";
				return -1;
			}
			if (!seen)
				first = n;
			seen = true;
			if (n != first) {
				*status = 400;
				*cause = "differing Content-Length values";
				return -1;
			}
		}
		head->content_length = first;
		if (first > 0)
			head->framing = HTTP_BODY_LENGTH;
	}
	return 0;
}

/* raw and orig share one block: a head costs one allocation, not two. */
static int
copy_head(const char *buf, size_t head_len, struct http_head *out)
{
	memset(out, 0, sizeof *out);
	out->raw = xmalloc(2 * (head_len + 1));
	memcpy(out->raw, buf, head_len);
	out->raw[head_len] = '\0';
	out->orig = out->raw + head_len + 1;
	memcpy(out->orig, buf, head_len);
	out->orig[head_len] = '\0';
	out->head_len = head_len;
	return 0;
}

static int
parse_version(const char *s, int *minor)
{
	if (strncmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
	    s[8] != '\0')
		return -1;
	*minor = s[7] - '0';
	return 0;
}

int
http_request_parse(const char *buf, size_t head_len,
    const struct http_limits *limits, struct http_head *out, int *status,
    const char **cause)
{
	char *line, *eol, *sp1, *sp2;
	size_t n_host;

	copy_head(buf, head_len, out);
	line = out->raw;
	eol = strstr(line, "\r\n");
	if (eol == NULL)
		goto bad_line;
	*eol = '\0';

	/* RFC 9112 3: method SP request-target SP HTTP-version. */
	sp1 = strchr(line, ' ');
	if (sp1 == NULL)
		goto bad_line;
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL)
		goto bad_line;
	*sp2 = '\0';
	out->method = line;
	out->target = sp1 + 1;
	if (*out->method == '\0' || strlen(out->method) > 32)
		goto bad_line;
	for (const char *p = out->method; *p != '\0'; p++) {
		if (!is_tchar((unsigned char)*p))
			goto bad_line;
	}
	for (const char *p = out->target; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f) {
			*status = 400;
			*cause = "invalid character in the request target";
			goto fail;
		}
	}
	if (out->target[0] != '/') {
		/* Only origin-form: absolute-form and the rest could be
		   routed differently by the engine. */
		*status = 400;
		*cause = "the request target must be an absolute path";
		goto fail;
	}
	if (strncmp(sp2 + 1, "HTTP/", 5) == 0 &&
	    parse_version(sp2 + 1, &out->minor) != 0) {
		*status = 505;
		*cause = "unsupported HTTP version";
		goto fail;
	}
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0)
		goto bad_line;

	if (parse_fields(out, eol + 2, limits->max_headers, status, cause) != 0)
		goto fail;

	n_host = count_headers(out, "Host");
	if (out->minor == 1 && n_host != 1) {
		/* RFC 9112 3.2: exactly one Host in HTTP/1.1. */
		*status = 400;
		*cause = n_host == 0 ? "missing Host header"
				     : "more than one Host header";
		goto fail;
	}
	if (decide_request_framing(out, status, cause) != 0)
		goto fail;

	if (out->minor == 1)
		out->keep_alive = !http_head_has_token(out, "Connection",
		    "close");
	else
		out->keep_alive = http_head_has_token(out, "Connection",
		    "keep-alive");
	out->expect_continue = http_head_get(out, "Expect") != NULL &&
	    strcasecmp(http_head_get(out, "Expect"), "100-continue") == 0;
	out->upgrade = http_head_get(out, "Upgrade") != NULL &&
	    http_head_has_token(out, "Connection", "upgrade");
	return 0;

bad_line:
	*status = 400;
	*cause = "malformed request line";
fail:
	http_head_reset(out);
	return -1;
}

/* Most field lines a response head may have. */
#define RESPONSE_MAX_HEADERS 1000

/*
 * What a response's fields say of its framing and connection, gathered a
 * field at a time so that the copying parse and the framing-only one
 * (http_response_frame) cannot read a head two ways.
 */
struct frame_acc {
	bool conn_close, conn_keep_alive, conn_upgrade; /* Connection tokens */
	bool has_upgrade;				/* an Upgrade field */
	size_t n_te, n_cl;
	bool te_first_chunked; /* the first Transfer-Encoding is "chunked" */
	bool cl_bad;	       /* a Content-Length invalid or differing */
	uint64_t cl;
};

static bool
name_is(const struct field_span *f, const char *name, size_t len)
{
	return f->name_len == len && strncasecmp(f->name, name, len) == 0;
}

/* Parse Content-Length's n bytes at s: 1*DIGIT, at most 2^62. */
static int
parse_content_length_n(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_C(1) << 62) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The Connection list's tokens (RFC 9110 7.6.1) that matter here. */
static void
frame_connection(struct frame_acc *a, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == 5 && strncasecmp(v + start, "close", 5) == 0)
			a->conn_close = true;
		else if (end - start == 10 &&
		    strncasecmp(v + start, "keep-alive", 10) == 0)
			a->conn_keep_alive = true;
		else if (end - start == 7 &&
		    strncasecmp(v + start, "upgrade", 7) == 0)
			a->conn_upgrade = true;
	}
}

static void
frame_field(struct frame_acc *a, const struct field_span *f)
{
	uint64_t n;

	if (name_is(f, "Connection", 10)) {
		frame_connection(a, f->value, f->value_len);
	} else if (name_is(f, "Upgrade", 7)) {
		a->has_upgrade = true;
	} else if (name_is(f, "Transfer-Encoding", 17)) {
		if (a->n_te++ == 0)
			a->te_first_chunked = f->value_len == 7 &&
			    strncasecmp(f->value, "chunked", 7) == 0;
	} else if (name_is(f, "Content-Length", 14)) {
		if (parse_content_length_n(f->value, f->value_len, &n) != 0 ||
		    (a->n_cl > 0 && n != a->cl))
			a->cl_bad = true;
		else
			a->cl = n;
		a->n_cl++;
	}
}

/* RFC 9112 9.3 and 6.3, in order: out's connection and framing from a's
 * fields.  0, or -1 with *cause. */
static int
frame_finish(const struct frame_acc *a, const char *request_method,
    struct http_head *out, const char **cause)
{
	int status = out->status;

	out->keep_alive = out->minor == 1 ? !a->conn_close : a->conn_keep_alive;
	out->upgrade = a->has_upgrade && a->conn_upgrade;
	out->content_length = 0;
	if (strcmp(request_method, "HEAD") == 0 || status < 200 ||
	    status == 204 || status == 304) {
		out->framing = HTTP_BODY_NONE;
	} else if (a->n_te > 0) {
		out->framing = a->n_te == 1 && a->te_first_chunked
		    ? HTTP_BODY_CHUNKED
		    : HTTP_BODY_UNTIL_CLOSE;
		if (a->n_cl > 0)
			out->keep_alive = false;
	} else if (a->n_cl > 0) {
		if (a->cl_bad) {
			*cause = "invalid Content-Length in the engine's "
				 "response";
			return -1;
		}
		out->content_length = a->cl;
		out->framing = HTTP_BODY_LENGTH;
	} else {
		out->framing = HTTP_BODY_UNTIL_CLOSE;
		out->keep_alive = false;
	}
	return 0;
}

/* RFC 9112 4: HTTP-version SP status-code SP [ reason-phrase ], the
 * line's len bytes at line (no CRLF).  0 with out's minor and status and
 * *reason_off, or -1. */
static int
parse_status_line(const char *line, size_t len, struct http_head *out,
    size_t *reason_off)
{
	int status = 0;

	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 ||
	    (line[7] != '0' && line[7] != '1') || line[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		status = status * 10 + (line[i] - '0');
	}
	if (status < 100 || (len > 12 && line[12] != ' '))
		return -1;
	out->minor = line[7] - '0';
	out->status = status;
	*reason_off = len > 12 ? 13 : 12;
	return 0;
}

/* The status line's length (up to its CRLF), or -1 without one.  A NUL
 * in it is refused as the copying parse's strstr would see it. */
static ssize_t
status_line_len(const char *buf, size_t head_len)
{
	const char *eol = memchr(buf, '\r', head_len);

	if (eol == NULL || eol + 1 >= buf + head_len || eol[1] != '\n' ||
	    memchr(buf, '\0', (size_t)(eol - buf)) != NULL)
		return -1;
	return eol - buf;
}

int
http_response_frame(const char *buf, size_t head_len,
    const char *request_method, struct http_head *out, const char **cause)
{
	struct frame_acc a = { 0 };
	struct field_span f;
	ssize_t n = status_line_len(buf, head_len);
	const char *pos, *end = buf + head_len;
	size_t reason_off, count = 0;
	int r, dummy_status;

	memset(out, 0, sizeof *out);
	if (n < 0 || parse_status_line(buf, (size_t)n, out, &reason_off) != 0) {
		*cause = "malformed status line from the engine";
		return -1;
	}
	out->head_len = head_len;
	pos = buf + n + 2;
	while ((r = next_field(&pos, end, &f, &dummy_status, cause)) == 1) {
		if (++count > RESPONSE_MAX_HEADERS) {
			*cause = "too many header fields";
			return -1;
		}
		frame_field(&a, &f);
	}
	if (r < 0)
		return -1;
	return frame_finish(&a, request_method, out, cause);
}

int
http_response_parse(const char *buf, size_t head_len,
    const char *request_method, struct http_head *out, const char **cause)
{
	struct frame_acc a = { 0 };
	ssize_t n = status_line_len(buf, head_len);
	size_t reason_off;
	int dummy_status;

	copy_head(buf, head_len, out);
	if (n < 0 ||
	    parse_status_line(out->raw, (size_t)n, out, &reason_off) != 0) {
		*cause = "malformed status line from the engine";
		goto fail;
	}
	out->raw[n] = '\0';
	out->reason = out->raw + reason_off;
	if (parse_fields(out, out->raw + n + 2, RESPONSE_MAX_HEADERS,
		&dummy_status, cause) != 0)
		goto fail;
	for (size_t i = 0; i < out->n_headers; i++) {
		const struct http_header *h = &out->headers[i];
		struct field_span f = { .name = h->name,
			.name_len = strlen(h->name),
			.value = h->value,
			.value_len = strlen(h->value) };

		frame_field(&a, &f);
	}
	if (frame_finish(&a, request_method, out, cause) == 0)
		return 0;
fail:
	http_head_reset(out);
	return -1;
}

char *
http_head_rewrite(const struct http_head *head, const char *const *drop,
    size_t n_drop, const char *extra, size_t *out_len)
{
	size_t extra_len = extra != NULL ? strlen(extra) : 0;
	char *out = xmalloc(head->head_len + extra_len + 1);
	size_t pos = 0, from = 0;

	for (size_t i = 0; i < head->n_headers; i++) {
		const struct http_header *h = &head->headers[i];
		bool dropped = false;

		for (size_t j = 0; j < n_drop && !dropped; j++)
			dropped = strcasecmp(h->name, drop[j]) == 0;
		if (!dropped)
			continue;
		memcpy(out + pos, head->orig + from, h->line_off - from);
		pos += h->line_off - from;
		from = h->line_off + h->line_len;
	}
	/* Everything up to the blank line, then extra, then the blank line. */
	memcpy(out + pos, head->orig + from, head->head_len - 2 - from);
	pos += head->head_len - 2 - from;
	if (extra_len > 0) {
		memcpy(out + pos, extra, extra_len);
		pos += extra_len;
	}
	memcpy(out + pos, "\r\n", 2);
	pos += 2;
	out[pos] = '\0';
	*out_len = pos;
	return out;
}

void
http_head_retarget(struct http_head *head, const char *target)
{
	const char *sp1 = memchr(head->orig, ' ', head->head_len), *sp2;
	size_t before, after, tlen = strlen(target), old_len, len;
	char *out;

	if (sp1 == NULL)
		return;
	sp2 = memchr(sp1 + 1, ' ',
	    head->head_len - (size_t)(sp1 + 1 - head->orig));
	if (sp2 == NULL)
		return;
	before = (size_t)(sp1 + 1 - head->orig);
	old_len = (size_t)(sp2 - (sp1 + 1));
	after = head->head_len - before - old_len;
	len = before + tlen + after;
	out = xmalloc(len + 1);
	memcpy(out, head->orig, before);
	memcpy(out + before, target, tlen);
	memcpy(out + before + tlen, sp2, after);
	out[len] = '\0';
	for (size_t i = 0; i < head->n_headers; i++)
		head->headers[i].line_off = head->headers[i].line_off -
		    old_len + tlen;
	if (head->orig_apart)
		free(head->orig);
	head->orig = out;
	head->orig_apart = true;
	head->head_len = len;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}
