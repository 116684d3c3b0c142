/* utf8_decode: golden rows of RFC 3629's well-formed table (its
 * Table 3-7 bounds) and what lies just outside them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "utf8.h"

struct utf8_row {
	const char *bytes;
	size_t n;    /* bytes given */
	size_t len;  /* 0: not well-formed */
	uint32_t cp; /* when len > 0 */
};

static const struct utf8_row rows[] = {
	{ "A", 1, 1, 0x41 }, { "\x7f", 1, 1, 0x7f }, { "\xc2\x80", 2, 2, 0x80 },
	{ "\xdf\xbf", 2, 2, 0x7ff }, { "\xe0\xa0\x80", 3, 3, 0x800 },
	{ "\xe2\x80\xa8", 3, 3, 0x2028 }, { "\xed\x9f\xbf", 3, 3, 0xd7ff },
	{ "\xee\x80\x80", 3, 3, 0xe000 }, { "\xef\xbf\xbd", 3, 3, 0xfffd },
	{ "\xf0\x90\x80\x80", 4, 4, 0x10000 },
	{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
	{ "\xe2\x82\xac"
	  "rest",
	    7, 3, 0x20ac }, /* stops after one */
	/* not well-formed */
	{ "\x80", 1, 0, 0 },			      /* a stray continuation */
	{ "\xbf", 1, 0, 0 }, { "\xc0\x80", 2, 0, 0 }, /* overlong NUL */
	{ "\xc1\xbf", 2, 0, 0 },		      /* overlong */
	{ "\xe0\x9f\xbf", 3, 0, 0 },		      /* overlong */
	{ "\xed\xa0\x80", 3, 0, 0 },		      /* a surrogate */
	{ "\xed\xbf\xbf", 3, 0, 0 },		      /* a surrogate */
	{ "\xf0\x8f\xbf\xbf", 4, 0, 0 },	      /* overlong */
	{ "\xf4\x90\x80\x80", 4, 0, 0 },	      /* past U+10FFFF */
	{ "\xf5\x80\x80\x80", 4, 0, 0 }, { "\xff", 1, 0, 0 },
	{ "\xc2", 1, 0, 0 }, /* cut short */
	{ "\xe2\x82", 2, 0, 0 }, { "\xf0\x90\x80", 3, 0, 0 },
	{ "\xe2\x28\xa1", 3, 0, 0 }, /* a bad second byte */
	{ "\xe2\x82\x28", 3, 0, 0 }, /* a bad third byte */
	{ "\xc2\x80", 1, 0, 0 },     /* n says cut short */
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint32_t cp = 0xdeadbeef;
		size_t len = utf8_decode((const unsigned char *)rows[i].bytes,
		    rows[i].n, &cp);

		CHECKF(len == rows[i].len, "row %zu: length %zu, want %zu", i,
		    len, rows[i].len);
		if (rows[i].len > 0)
			CHECKF(cp == rows[i].cp, "row %zu: U+%04X, want U+%04X",
			    i, (unsigned)cp, (unsigned)rows[i].cp);
	}
}

/* Every code point there is round-trips, and every one that is not
 * (surrogates) is refused. */
static void
test_every_code_point(void)
{
	size_t bad = 0;

	for (uint32_t c = 0; c <= 0x10ffff; c++) {
		unsigned char b[4];
		size_t n;
		uint32_t got = 0;

		if (c < 0x80) {
			b[0] = (unsigned char)c;
			n = 1;
		} else if (c < 0x800) {
			b[0] = (unsigned char)(0xc0 | c >> 6);
			b[1] = (unsigned char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			b[0] = (unsigned char)(0xe0 | c >> 12);
			b[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
			b[2] = (unsigned char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | c >> 18);
			b[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
			b[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
			b[3] = (unsigned char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (c >= 0xd800 && c <= 0xdfff) {
			if (utf8_decode(b, n, &got) != 0)
				bad++;
		} else if (utf8_decode(b, n, &got) != n || got != c) {
			bad++;
		}
	}
	CHECKF(bad == 0, "%zu code points decoded wrongly", bad);
}

static void
test_scrub(void)
{
	char *s = utf8_scrub("ok \xff\xe2\x82\xac \xed\xa0\x80!");

	CHECK_STR_EQ(s,
	    "ok \xef\xbf\xbd\xe2\x82\xac "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
	free(s);
	s = utf8_scrub("");
	CHECK_STR_EQ(s, "");
	free(s);
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
	{ "scrub", test_scrub },
	{ "every_code_point", test_every_code_point },
};

int
main(void)
{
	return CHECK_RUN("utf8", cases);
}
