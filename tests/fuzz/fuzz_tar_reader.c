/* The build-context reader on arbitrary archives, fed in uneven pieces. */
#include <stdint.h>
#include <stdlib.h>

#include "tar_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "Dockerfile", "dockerfile",
	    "sub/Dockerfile" };
	struct tar_reader *t = tar_reader_new(paths, 3, 64 * 1024);
	const char *cause;
	size_t off = 0, step = size > 0 ? (data[0] % 97) + 1 : 1;

	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (tar_reader_feed(t, data + off, n, &cause) != 0)
			break;
		if (tar_reader_released(t) > off + n)
			abort();
		off += n;
		step = step * 7 % 1031 + 1;
	}
	(void)tar_reader_finish(t, &cause);
	for (size_t i = 0; i < 3; i++)
		if (tar_reader_file(t, i)->len > 64 * 1024)
			abort();
	tar_reader_free(t);
	return 0;
}
