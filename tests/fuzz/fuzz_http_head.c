/* Request and response heads: never crash, the scanner and parser
 * agree on what a complete head is, and a response's framing-only read
 * agrees with its copying parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_head.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim = { 65536, 100 };
	size_t resume = 0, head_len = 0;
	int status;
	const char *cause;
	struct http_head h;

	if (http_head_scan((const char *)data, size, &lim, &resume, &head_len,
		&status, &cause) != HTTP_SCAN_COMPLETE)
		return 0;
	if (http_request_parse((const char *)data, head_len, &lim, &h, &status,
		&cause) == 0) {
		struct route r;
		const char *drop[] = { "Content-Length", "Transfer-Encoding" };
		size_t len;
		char *out = http_head_rewrite(&h, drop, 2,
		    "Content-Length: 1\r\n", &len);

		if (len > h.head_len + 19)
			abort();
		free(out);
		if (route_classify(h.method, h.target, &r, &cause) == 0)
			route_reset(&r);
		http_head_reset(&h);
	}
	/* The framing-only read of a response agrees with the copying one:
	   the same verdict, and the same framing when both accept. */
	for (int m = 0; m < 2; m++) {
		const char *method = m == 0 ? "GET" : "HEAD";
		struct http_head f;
		int rp = http_response_parse((const char *)data, head_len,
		    method, &h, &cause);
		int rf = http_response_frame((const char *)data, head_len,
		    method, &f, &cause);

		if (rp != rf)
			abort();
		if (rp == 0 &&
		    (h.status != f.status || h.minor != f.minor ||
			h.keep_alive != f.keep_alive ||
			h.upgrade != f.upgrade || h.framing != f.framing ||
			h.content_length != f.content_length ||
			h.head_len != f.head_len))
			abort();
		if (rp == 0)
			http_head_reset(&h);
		http_head_reset(&f);
	}
	return 0;
}
