/* The Dockerfile reader on arbitrary text; the first line is buildargs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t alen = nl != NULL ? (size_t)(nl - s) : 0;
	char *json = xstrndup(s, alen), *cause = NULL;
	struct dockerfile_args args;
	struct dockerfile_images imgs;

	if (dockerfile_args_parse(json, &args, &cause) != 0) {
		free(cause);
		cause = NULL;
		memset(&args, 0, sizeof args);
	}
	if (dockerfile_images(s + alen, size - alen, &args, &imgs,
	    &cause) == 0) {
		for (size_t i = 0; i < imgs.n; i++)
			if (imgs.v[i].ref == NULL || imgs.v[i].line == 0)
				abort();
		dockerfile_images_reset(&imgs);
	} else
		free(cause);
	dockerfile_args_reset(&args);
	free(json);
	return 0;
}
