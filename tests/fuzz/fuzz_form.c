/* Go-style query and form parsing, and Content-Type reading, on arbitrary
   input: the first line is a Content-Type, the rest a query or body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t ctlen = nl != NULL ? (size_t)(nl - s) : size;
	char *ct = xstrndup(s, ctlen);
	struct form f = { 0 };

	(void)form_media_type(ct);
	if (nl != NULL) {
		form_parse(&f, nl + 1, size - ctlen - 1);
		form_parse(&f, nl + 1, size - ctlen - 1);
	}
	if (f.n > FORM_MAX_PAIRS)
		abort();
	for (size_t i = 0; i < f.n; i++)
		if (form_get(&f, f.pairs[i].key) == NULL ||
		    form_count(&f, f.pairs[i].key) == 0)
			abort();
	form_reset(&f);
	free(ct);
	return 0;
}
