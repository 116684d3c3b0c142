/* Route classification and query parsing on arbitrary targets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *target = xstrndup((const char *)data, size);
	const char *cause;
	struct route r;
	char *v;

	if (route_classify("POST", target, &r, &cause) == 0) {
		/* A classified path is clean and decoded. */
		if (strstr(r.path, "//") != NULL || strstr(r.path, "/./") != NULL)
			abort();
		if (route_query_get(r.query, "name", &v) == 0)
			free(v);
		route_reset(&r);
	}
	free(target);
	return 0;
}
