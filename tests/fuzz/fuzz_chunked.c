/* The chunked decoder: never crash, never read past the input, and the
 * decoded total never exceeds the input size. */
#include <stdint.h>
#include <stdlib.h>

#include "chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunked_decoder d;
	size_t pos = 0;

	chunked_init(&d);
	while (pos < size && !chunked_done(&d) && !chunked_failed(&d)) {
		if (chunked_in_data(&d)) {
			uint64_t n = size - pos;

			if (n > chunked_data_left(&d))
				n = chunked_data_left(&d);
			chunked_consume_data(&d, n);
			pos += (size_t)n;
		} else {
			size_t n = chunked_scan(&d, data + pos, size - pos);

			if (n > size - pos)
				abort();
			pos += n;
			if (n == 0 && !chunked_in_data(&d))
				break;
		}
	}
	if (d.total > size)
		abort();
	return 0;
}
