#include <string.h>

#include "check.h"
#include "chunked.h"

/*
 * Decode in with the loop a relay uses, feeding at most step bytes at a
 * time.  Returns 1 done, 0 incomplete, -1 error; *data gets the decoded
 * body and *used the bytes consumed.
 */
static int
decode(const char *in, size_t len, size_t step, char *data, size_t *data_len,
    size_t *used)
{
	struct chunked_decoder d;
	size_t pos = 0, avail_end = 0;

	chunked_init(&d);
	*data_len = 0;
	while (pos < len) {
		size_t avail;

		if (avail_end < pos + 1)
			avail_end = pos + step < len ? pos + step : len;
		avail = avail_end - pos;
		if (chunked_in_data(&d)) {
			size_t n = avail;

			if (n > chunked_data_left(&d))
				n = (size_t)chunked_data_left(&d);
			memcpy(data + *data_len, in + pos, n);
			*data_len += n;
			chunked_consume_data(&d, n);
			pos += n;
		} else {
			size_t n = chunked_scan(&d,
			    (const unsigned char *)in + pos, avail);

			pos += n;
			if (chunked_failed(&d) || chunked_done(&d))
				break;
			if (n == 0 && !chunked_in_data(&d))
				avail_end = pos + step;	/* need more */
			if (avail_end > len)
				avail_end = len;
		}
	}
	*used = pos;
	if (chunked_failed(&d))
		return -1;
	return chunked_done(&d) ? 1 : 0;
}

struct row {
	const char	*in;
	int		 result;	/* 1 done, 0 incomplete, -1 error */
	const char	*data;
	size_t		 used;		/* 0: whole input */
};

static const struct row rows[] = {
	{ "0\r\n\r\n", 1, "", 0 },
	{ "5\r\nhello\r\n0\r\n\r\n", 1, "hello", 0 },
	{ "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 1, "hello world", 0 },
	{ "A\r\n0123456789\r\n0\r\n\r\n", 1, "0123456789", 0 },
	{ "a\r\n0123456789\r\n0\r\n\r\n", 1, "0123456789", 0 },
	{ "000005\r\nhello\r\n0\r\n\r\n", 1, "hello", 0 },
	{ "5;name=value\r\nhello\r\n0\r\n\r\n", 1, "hello", 0 },
	{ "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n", 1, "hello", 0 },
	{ "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 1, "hello", 15 },
	{ "5\r\nhel", 0, "hel", 0 },
	{ "5\r\nhello\r\n", 0, "hello", 0 },
	/* Refused: framing that Go reads differently or not at all. */
	{ "5\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "5\r\nhello\n0\r\n\r\n", -1, NULL, 0 },
	{ "5\r\nhelloX\r\n0\r\n\r\n", -1, NULL, 0 },
	{ " 5\r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "5 \r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "0x5\r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "-5\r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "\r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
	{ "g\r\n", -1, NULL, 0 },
	{ "11111111111111111\r\n", -1, NULL, 0 },
	{ "5\rhello", -1, NULL, 0 },
	{ "0\r\n\n", -1, NULL, 0 },
	{ "0\r\n X: folded\r\n\r\n", -1, NULL, 0 },
	{ "5;a\x01\r\nhello\r\n0\r\n\r\n", -1, NULL, 0 },
};

static void
test_rows(void)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4096 };
	char data[256];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
			size_t data_len, used, len = strlen(rows[i].in);
			int r = decode(rows[i].in, len, steps[s], data,
			    &data_len, &used);

			CHECKF(r == rows[i].result, "row %zu step %zu: %d",
			    i, steps[s], r);
			if (r < 0 || rows[i].data == NULL)
				continue;
			CHECKF(data_len == strlen(rows[i].data) &&
			    memcmp(data, rows[i].data, data_len) == 0,
			    "row %zu step %zu data", i, steps[s]);
			CHECKF(used == (rows[i].used ? rows[i].used : len),
			    "row %zu step %zu used %zu", i, steps[s], used);
		}
	}
}

static void
test_long_size_line(void)
{
	char line[5000];
	struct chunked_decoder d;

	memset(line, 'a', sizeof line);
	line[0] = '1';
	line[1] = ';';
	chunked_init(&d);
	chunked_scan(&d, (const unsigned char *)line, sizeof line);
	CHECK(chunked_failed(&d));
}

static void
test_total_counts_data(void)
{
	const char *in = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct chunked_decoder d;
	size_t pos = 0, len = strlen(in);

	chunked_init(&d);
	while (pos < len && !chunked_done(&d) && !chunked_failed(&d)) {
		if (chunked_in_data(&d)) {
			uint64_t n = chunked_data_left(&d);

			chunked_consume_data(&d, n);
			pos += n;
		} else {
			pos += chunked_scan(&d, (const unsigned char *)in + pos,
			    len - pos);
		}
	}
	CHECK(chunked_done(&d));
	CHECK_INT_EQ(d.total, 5);
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
	{ "long_size_line", test_long_size_line },
	{ "total_counts_data", test_total_counts_data },
};

int
main(void)
{
	return CHECK_RUN("chunked", cases);
}
