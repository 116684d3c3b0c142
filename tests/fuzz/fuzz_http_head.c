/* Request and response heads: never crash, and the scanner and parser
 * agree on what a complete head is. */
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
	if (http_request_parse((const char *)data, head_len, &lim, &h,
	    &status, &cause) == 0) {
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
	if (http_response_parse((const char *)data, head_len, "GET", &h,
	    &cause) == 0)
		http_head_reset(&h);
	return 0;
}
