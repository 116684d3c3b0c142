#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_head.h"

static const struct http_limits limits = { 8192, 20 };

struct request_row {
	const char *raw;
	int status; /* 0: accepted */
	int framing;
	unsigned content_length;
	int keep_alive;
};

/* Each raw head is complete (ends with the blank line). */
static const struct request_row request_rows[] = {
	/* Accepted. */
	{ "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", 0, HTTP_BODY_NONE, 0, 1 },
	{ "HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n", 0,
	    HTTP_BODY_NONE, 0, 1 },
	{ "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
	  "Content-Length: 12\r\nContent-Type: application/json\r\n\r\n",
	    0, HTTP_BODY_LENGTH, 12, 1 },
	{ "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	    0, HTTP_BODY_CHUNKED, 0, 1 },
	{ "POST /build HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n",
	    0, HTTP_BODY_CHUNKED, 0, 1 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0,
	    HTTP_BODY_NONE, 0, 0 },
	{ "GET / HTTP/1.0\r\n\r\n", 0, HTTP_BODY_NONE, 0, 0 },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, HTTP_BODY_NONE,
	    0, 1 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	  "Content-Length: 5\r\n\r\n",
	    0, HTTP_BODY_LENGTH, 5, 1 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0,
	    HTTP_BODY_NONE, 0, 1 },
	{ "GET / HTTP/1.1\r\nHost:x\r\nX-Empty:\r\n\r\n", 0, HTTP_BODY_NONE, 0,
	    1 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX: a\tb \r\n\r\n", 0, HTTP_BODY_NONE, 0,
	    1 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n", 0,
	    HTTP_BODY_LENGTH, 7, 1 },

	/* Framing that two parsers could read differently (RFC 9112 6). */
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n",
	    400, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	  "Content-Length: 6\r\n\r\n",
	    400, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	  "Content-Length: 6\r\n\r\n",
	    400, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400, 0,
	    0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400, 0, 0,
	    0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, 0, 0,
	    0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, 0, 0,
	    0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	  "99999999999999999999999\r\n\r\n",
	    400, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
	  "\r\n",
	    501, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n",
	    501, 0, 0, 0 },
	{ "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
	    501, 0, 0, 0 },
	{ "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0,
	    0 },
	/* Syntax. */
	{ "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX : a\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX(y): a\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX: a\x01\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0, 0, 0 },
	{ "GET http://x/_ping HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
	{ "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
	{ "GET /\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, 0, 0, 0 },
	{ "PRI * HTTP/2.0\r\n\r\n", 400, 0, 0, 0 },
	{ "GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 505, 0, 0, 0 },
	{ "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
	{ "GET / FTP/1.1\r\nHost: x\r\n\r\n", 400, 0, 0, 0 },
};

static void
test_request_rows(void)
{
	for (size_t i = 0; i < sizeof request_rows / sizeof request_rows[0];
	     i++) {
		const struct request_row *row = &request_rows[i];
		struct http_head h;
		const char *cause = NULL;
		int status = 0, r;

		r = http_request_parse(row->raw, strlen(row->raw), &limits, &h,
		    &status, &cause);
		if (row->status == 0) {
			CHECKF(r == 0, "row %zu refused (%s): %s", i,
			    cause ? cause : "", row->raw);
			if (r != 0)
				continue;
			CHECKF((int)h.framing == row->framing,
			    "row %zu framing %d", i, (int)h.framing);
			CHECKF(h.content_length == row->content_length,
			    "row %zu length %llu", i,
			    (unsigned long long)h.content_length);
			CHECKF(h.keep_alive == (row->keep_alive != 0),
			    "row %zu keep-alive", i);
			http_head_reset(&h);
		} else {
			CHECKF(r != 0, "row %zu accepted: %s", i, row->raw);
			CHECKF(status == row->status,
			    "row %zu status %d, "
			    "expected %d (%s)",
			    i, status, row->status, cause ? cause : "");
			CHECKF(cause != NULL, "row %zu has no cause", i);
		}
	}
}

struct scan_row {
	const char *raw;
	int result;
	size_t head_len;
};

static const struct scan_row scan_rows[] = {
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_SCAN_COMPLETE, 27 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY", HTTP_SCAN_COMPLETE, 27 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n", HTTP_SCAN_INCOMPLETE, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\r", HTTP_SCAN_INCOMPLETE, 0 },
	{ "GET / HTTP/1.1\nHost: x\n\n", HTTP_SCAN_ERROR, 0 },
	{ "GET / HTTP/1.1\r\nHost: x\r\n\n", HTTP_SCAN_ERROR, 0 },
	{ "GET / HTTP/1.1\rHost: x\r\n\r\n", HTTP_SCAN_ERROR, 0 },
	{ "\r\nGET / HTTP/1.1\r\n\r\n", HTTP_SCAN_ERROR, 0 },
	{ "GET / HTTP/1.1\r\nX: \0\r\n\r\n", HTTP_SCAN_ERROR, 0 },
};

static void
test_scan_rows(void)
{
	for (size_t i = 0; i < sizeof scan_rows / sizeof scan_rows[0]; i++) {
		const struct scan_row *row = &scan_rows[i];
		size_t resume = 0, head_len = 0;
		int status = 0;
		const char *cause = NULL;
		size_t len = strlen(row->raw);
		enum http_scan r;

		if (i == sizeof scan_rows / sizeof scan_rows[0] - 1)
			len = 24; /* the row with a NUL */
		r = http_head_scan(row->raw, len, &limits, &resume, &head_len,
		    &status, &cause);
		CHECKF((int)r == row->result, "scan row %zu gave %d", i,
		    (int)r);
		if (row->result == HTTP_SCAN_COMPLETE)
			CHECKF(head_len == row->head_len,
			    "scan row %zu len "
			    "%zu",
			    i, head_len);
	}
}

/* Feeding a head byte by byte finds the same end as feeding it whole. */
static void
test_scan_incremental(void)
{
	const char *raw = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: "
			  "3\r\n\r\nabc";
	size_t resume = 0, head_len = 0, n;
	int status;
	const char *cause;
	enum http_scan r = HTTP_SCAN_INCOMPLETE;

	for (n = 1; n <= strlen(raw) && r == HTTP_SCAN_INCOMPLETE; n++)
		r = http_head_scan(raw, n, &limits, &resume, &head_len, &status,
		    &cause);
	CHECK_INT_EQ(r, HTTP_SCAN_COMPLETE);
	CHECK_INT_EQ(head_len, strlen(raw) - 3);
}

static void
test_scan_limit(void)
{
	char big[9000];
	size_t resume = 0, head_len;
	int status = 0;
	const char *cause;

	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK_INT_EQ(http_head_scan(big, sizeof big, &limits, &resume,
			 &head_len, &status, &cause),
	    HTTP_SCAN_ERROR);
	CHECK_INT_EQ(status, 431);
}

static void
test_header_count_limit(void)
{
	char raw[2048] = "GET / HTTP/1.1\r\nHost: x\r\n";
	struct http_head h;
	int status = 0;
	const char *cause;

	for (int i = 0; i < 25; i++)
		strcat(raw, "X-A: b\r\n");
	strcat(raw, "\r\n");
	CHECK(http_request_parse(raw, strlen(raw), &limits, &h, &status,
		  &cause) != 0);
	CHECK_INT_EQ(status, 431);
}

static void
test_fields_and_tokens(void)
{
	const char *raw = "POST /exec/1/start HTTP/1.1\r\nHost: x\r\n"
			  "Connection: keep-alive, Upgrade\r\nUpgrade: tcp\r\n"
			  "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	struct http_head h;
	int status;
	const char *cause;

	CHECK(http_request_parse(raw, strlen(raw), &limits, &h, &status,
		  &cause) == 0);
	CHECK_STR_EQ(h.method, "POST");
	CHECK_STR_EQ(h.target, "/exec/1/start");
	CHECK_STR_EQ(http_head_get(&h, "upgrade"), "tcp");
	CHECK(http_head_has_token(&h, "Connection", "upgrade"));
	CHECK(!http_head_has_token(&h, "Connection", "close"));
	CHECK(h.upgrade);
	CHECK(h.expect_continue);
	CHECK_INT_EQ(h.n_headers, 5);
	http_head_reset(&h);
}

static void
test_rewrite(void)
{
	const char *raw =
	    "POST /containers/create HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
	    "Expect: 100-continue\r\n\r\n";
	const char *drop[] = { "Transfer-Encoding", "Expect",
		"Content-Length" };
	struct http_head h;
	int status;
	const char *cause;
	size_t len;
	char *out;

	CHECK(http_request_parse(raw, strlen(raw), &limits, &h, &status,
		  &cause) == 0);
	out = http_head_rewrite(&h, drop, 3, "Content-Length: 17\r\n", &len);
	CHECK_STR_EQ(out,
	    "POST /containers/create HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n");
	CHECK_INT_EQ(len, strlen(out));
	free(out);
	http_head_reset(&h);
}

/* A start goes to the judged container by its full ID: the head sent on
   carries the new target, fields (and their offsets) intact. */
static void
test_retarget(void)
{
	static const struct {
		const char *raw;
		const char *target;
		const char *want;
	} rows[] = {
		{ "POST /v1.41/containers/web/start HTTP/1.1\r\nHost: x\r\n"
		  "Content-Length: 0\r\n\r\n",
		    "/v1.41/containers/0123abcd/start",
		    "POST /v1.41/containers/0123abcd/start HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 0\r\n\r\n" },
		{ "POST /containers/a-very-long-name-indeed/restart?t=1 HTTP/1.0"
		  "\r\nX: y\r\n\r\n",
		    "/containers/ab/restart?t=1",
		    "POST /containers/ab/restart?t=1 HTTP/1.0\r\nX: y\r\n\r\n" },
	};
	const char *drop[] = { "Content-Length", "X" };

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct http_head h;
		int status;
		const char *cause;
		size_t len;
		char *out;

		CHECK(http_request_parse(rows[i].raw, strlen(rows[i].raw),
			  &limits, &h, &status, &cause) == 0);
		http_head_retarget(&h, rows[i].target);
		CHECK_INT_EQ(h.head_len, strlen(rows[i].want));
		CHECK(memcmp(h.orig, rows[i].want, h.head_len) == 0);
		/* The offsets follow: dropping a field still works. */
		out = http_head_rewrite(&h, drop, 2, NULL, &len);
		CHECK(strstr(out, rows[i].target) != NULL);
		CHECK(strstr(out, "Content-Length") == NULL);
		CHECK(strstr(out, "X: y") == NULL);
		CHECK(strstr(out, "Host: x") != NULL || i == 1);
		free(out);
		http_head_reset(&h);
	}
}

struct response_row {
	const char *raw;
	const char *method;
	int ok;
	int status;
	int framing;
	int keep_alive;
};

static const struct response_row response_rows[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "GET", 1, 200,
	    HTTP_BODY_LENGTH, 1 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "HEAD", 1, 200,
	    HTTP_BODY_NONE, 1 },
	{ "HTTP/1.1 204 No Content\r\n\r\n", "POST", 1, 204, HTTP_BODY_NONE,
	    1 },
	{ "HTTP/1.1 304 Not Modified\r\n\r\n", "GET", 1, 304, HTTP_BODY_NONE,
	    1 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 1,
	    200, HTTP_BODY_CHUNKED, 1 },
	{ "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream"
	  "\r\n\r\n",
	    "POST", 1, 200, HTTP_BODY_UNTIL_CLOSE, 0 },
	{ "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
	  "\r\n",
	    "POST", 1, 101, HTTP_BODY_NONE, 1 },
	{ "HTTP/1.1 100 Continue\r\n\r\n", "POST", 1, 100, HTTP_BODY_NONE, 1 },
	{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", 1, 200,
	    HTTP_BODY_LENGTH, 0 },
	{ "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", "GET", 1, 200,
	    HTTP_BODY_LENGTH, 1 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "GET", 0, 0, 0, 0 },
	{ "HTTP/2 200 OK\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "HTTP/1.1 20 OK\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "ICY 200 OK\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n"
	  "Content-Length: 0\r\n\r\n",
	    "GET", 1, 200, HTTP_BODY_LENGTH, 0 },
	{ "HTTP/1.0 200 OK\r\nconnection:  Keep-Alive \r\n"
	  "Content-Length: 3\r\n\r\n",
	    "GET", 1, 200, HTTP_BODY_LENGTH, 1 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n"
	  "Transfer-Encoding: chunked\r\n\r\n",
	    "GET", 1, 200, HTTP_BODY_UNTIL_CLOSE, 1 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	  "Content-Length: 9\r\n\r\n",
	    "GET", 1, 200, HTTP_BODY_CHUNKED, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n"
	  "\r\n",
	    "GET", 1, 200, HTTP_BODY_LENGTH, 1 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "HEAD", 1, 200,
	    HTTP_BODY_NONE, 1 },
	{ "HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "GET", 0, 0, 0, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", "GET", 0, 0, 0, 0 },
};

static void
test_response_rows(void)
{
	for (size_t i = 0; i < sizeof response_rows / sizeof response_rows[0];
	     i++) {
		const struct response_row *row = &response_rows[i];
		struct http_head h;
		const char *cause = NULL;
		int r;

		/* Both reads, the copying one and the framing-only one that
		   passthrough uses, give every row the same answer. */
		for (int frame = 0; frame < 2; frame++) {
			r = frame
			    ? http_response_frame(row->raw, strlen(row->raw),
				  row->method, &h, &cause)
			    : http_response_parse(row->raw, strlen(row->raw),
				  row->method, &h, &cause);
			CHECKF((r == 0) == (row->ok != 0),
			    "response row %zu (%s): %s", i,
			    frame ? "frame" : "parse",
			    cause ? cause : "accepted");
			if (r != 0)
				continue;
			CHECKF(h.status == row->status,
			    "response row %zu status", i);
			CHECKF((int)h.framing == row->framing,
			    "response row %zu framing %d", i, (int)h.framing);
			CHECKF(h.keep_alive == (row->keep_alive != 0),
			    "response row %zu keep-alive", i);
			CHECKF(frame == 0 || h.n_headers == 0,
			    "response row %zu: frame copies no fields", i);
			http_head_reset(&h);
		}
	}
}

/*
 * The scan and the value check look at eight bytes at a time: a bad byte
 * is found at every offset in a word, and clean values of every length
 * pass.
 */
static void
test_word_offsets(void)
{
	static const char bad[] = { '\0', '\r', '\n', 0x7f, 0x01, 0x1f };

	for (size_t k = 0; k < 26; k++) {
		for (size_t b = 0; b < sizeof bad; b++) {
			char raw[128];
			size_t resume = 0, head_len = 0, len;
			int status = 0, r;
			const char *cause = NULL;
			struct http_head h;

			len = (size_t)snprintf(raw, sizeof raw,
			    "GET / HTTP/1.1\r\nHost: x\r\nX-V: "
			    "abcdefghijklmnopqrstuvwxyz\r\n\r\n");
			raw[30 + k] = bad[b];
			r = (int)http_head_scan(raw, len, &limits, &resume,
			    &head_len, &status, &cause);
			if (r == HTTP_SCAN_COMPLETE)
				r = http_request_parse(raw, head_len, &limits,
					&h, &status, &cause) == 0
				    ? 1
				    : -1;
			CHECKF(r != 1, "byte %d at value offset %zu passed",
			    bad[b], k);
			if (r == 1)
				http_head_reset(&h);
		}
	}
	for (size_t n = 0; n < 40; n++) {
		char raw[128], val[41];
		size_t resume = 0, head_len = 0;
		int status = 0;
		const char *cause = NULL;
		struct http_head h;

		memset(val, 'v', n);
		val[n] = '\0';
		if (n > 2)
			val[n / 2] = '\t';
		snprintf(raw, sizeof raw,
		    "GET / HTTP/1.1\r\nHost: x\r\n"
		    "X-~%.*s: %s\xff\r\n\r\n",
		    (int)n,
		    "nnnnnnnnnnnnnnnnnnnnnn"
		    "nnnnnnnnnnnnnnnnnn",
		    val);
		CHECK_INT_EQ(http_head_scan(raw, strlen(raw), &limits, &resume,
				 &head_len, &status, &cause),
		    HTTP_SCAN_COMPLETE);
		CHECK_INT_EQ(head_len, strlen(raw));
		CHECKF(http_request_parse(raw, head_len, &limits, &h, &status,
			   &cause) == 0,
		    "clean value of %zu bytes refused", n);
		http_head_reset(&h);
	}
}

static const struct check_case cases[] = {
	{ "request_rows", test_request_rows },
	{ "scan_rows", test_scan_rows },
	{ "scan_incremental", test_scan_incremental },
	{ "scan_limit", test_scan_limit },
	{ "header_count_limit", test_header_count_limit },
	{ "fields_and_tokens", test_fields_and_tokens },
	{ "rewrite", test_rewrite },
	{ "retarget", test_retarget },
	{ "response_rows", test_response_rows },
	{ "word_offsets", test_word_offsets },
};

int
main(void)
{
	return CHECK_RUN("http_head", cases);
}
