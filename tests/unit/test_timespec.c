#include "check.h"
#include "timespec.h"

static const int64_t now = 1795262640;	/* 2026-11-21 12:04:00 UTC */

struct row {
	const char	*in;
	int		 ok;
	int64_t		 want;
};

static const struct row rows[] = {
	{ "24h", 1, 1795262640 - 86400 },
	{ "30m", 1, 1795262640 - 1800 },
	{ "90s", 1, 1795262640 - 90 },
	{ "7d", 1, 1795262640 - 7 * 86400 },
	{ "1w", 1, 1795262640 - 7 * 86400 },
	{ "1h30m", 1, 1795262640 - 5400 },
	{ "2026-11-20", 1, 1795132800 },
	{ "2026-11-20 10:04", 1, 1795169040 },
	{ "2026-11-20T10:04", 1, 1795169040 },
	{ "2026-11-20T10:04:05Z", 1, 1795169045 },
	{ "2026-11-20 10:04 UTC", 1, 1795169040 },
	{ "@1795169040", 1, 1795169040 },
	{ "", 0, 0 },
	{ "h", 0, 0 },
	{ "24", 0, 0 },
	{ "24x", 0, 0 },
	{ "yesterday", 0, 0 },
	{ "2026-13-01", 0, 0 },
	{ "2026-11-20 25:00", 0, 0 },
	{ "2026-11-20T10:04+02:00", 0, 0 },
	{ "@", 0, 0 },
	{ "@12x", 0, 0 },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int64_t out = 0;
		int r = timespec_parse(rows[i].in, now, &out);

		CHECKF((r == 0) == (rows[i].ok != 0), "row %zu \"%s\": %d", i,
		    rows[i].in, r);
		if (r == 0 && rows[i].ok)
			CHECKF(out == rows[i].want, "row %zu \"%s\": %lld, want "
			    "%lld", i, rows[i].in, (long long)out,
			    (long long)rows[i].want);
	}
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
};

int
main(void)
{
	return CHECK_RUN("timespec", cases);
}
