#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics_text.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
test_numbers(void)
{
	static const struct {
		double v;
		const char *want;
	} rows[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -3, "-3" },
		{ 12345678901234.0, "12345678901234" },
		{ 0.001, "0.001" },
		{ 0.0025, "0.0025" },
		{ 2.5, "2.5" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1e300, "1e+300" },
		{ 1.0 / 3, "0.33333333333333331" },
		{ 9007199254740992.0, "9007199254740992" },
	};
	char buf[32];

	for (size_t i = 0; i < NITEMS(rows); i++) {
		mtext_number(rows[i].v, buf, sizeof buf);
		CHECKF(strcmp(buf, rows[i].want) == 0, "%.17g: \"%s\", "
		    "expected \"%s\"", rows[i].v, buf, rows[i].want);
	}
	CHECK_STR_EQ(mtext_number(NAN, buf, sizeof buf), "NaN");
	CHECK_STR_EQ(mtext_number(INFINITY, buf, sizeof buf), "+Inf");
	CHECK_STR_EQ(mtext_number(-INFINITY, buf, sizeof buf), "-Inf");
}

static void
test_family_and_samples(void)
{
	struct mtext t = { 0 };
	struct mlabel two[2] = { { "verdict", "deny" },
		{ "rule", "require_digest" } };

	mtext_family(&t, "x_total", "counter", "Things.");
	mtext_sample(&t, "x_total", two, 2, 3);
	mtext_sample(&t, "x_total", NULL, 0, 0);
	CHECK_STR_EQ(t.s,
	    "# HELP x_total Things.\n"
	    "# TYPE x_total counter\n"
	    "x_total{verdict=\"deny\",rule=\"require_digest\"} 3\n"
	    "x_total 0\n");
	free(t.s);
}

/* Label values escape \, " and newline (and nothing else); HELP text
 * escapes \ and newline but not ". */
static void
test_escaping(void)
{
	static const struct {
		const char *value;
		const char *want;
	} rows[] = {
		{ "", "g{v=\"\"} 1\n" },
		{ "plain", "g{v=\"plain\"} 1\n" },
		{ "a\\b", "g{v=\"a\\\\b\"} 1\n" },
		{ "say \"hi\"", "g{v=\"say \\\"hi\\\"\"} 1\n" },
		{ "two\nlines", "g{v=\"two\\nlines\"} 1\n" },
		{ "\\\"\n", "g{v=\"\\\\\\\"\\n\"} 1\n" },
		{ "tab\tand } { = ,", "g{v=\"tab\tand } { = ,\"} 1\n" },
		{ "\xc3\xa9t\xc3\xa9", "g{v=\"\xc3\xa9t\xc3\xa9\"} 1\n" },
	};

	for (size_t i = 0; i < NITEMS(rows); i++) {
		struct mtext t = { 0 };
		struct mlabel l = { "v", rows[i].value };

		mtext_sample(&t, "g", &l, 1, 1);
		CHECKF(strcmp(t.s, rows[i].want) == 0, "row %zu: \"%s\"", i,
		    t.s);
		free(t.s);
	}
	{
		struct mtext t = { 0 };

		mtext_family(&t, "g", "gauge", "a \"q\" \\ b\nc");
		CHECK_STR_EQ(t.s,
		    "# HELP g a \"q\" \\\\ b\\nc\n"
		    "# TYPE g gauge\n");
		free(t.s);
	}
}

static void
test_histogram(void)
{
	static const double bounds[] = { .001, .5, 1, 10 };
	static const uint64_t counts[] = { 2, 0, 1, 3, 4 };
	struct mtext t = { 0 };

	mtext_histogram(&t, "h_seconds", bounds, counts, 4, 61.25);
	CHECK_STR_EQ(t.s,
	    "h_seconds_bucket{le=\"0.001\"} 2\n"
	    "h_seconds_bucket{le=\"0.5\"} 2\n"
	    "h_seconds_bucket{le=\"1\"} 3\n"
	    "h_seconds_bucket{le=\"10\"} 6\n"
	    "h_seconds_bucket{le=\"+Inf\"} 10\n"
	    "h_seconds_sum 61.25\n"
	    "h_seconds_count 10\n");
	free(t.s);
}

/* A long text grows the buffer many times and stays exact. */
static void
test_growth(void)
{
	struct mtext t = { 0 };
	char *big = malloc(100001);

	memset(big, '"', 100000);
	big[100000] = '\0';
	{
		struct mlabel l = { "v", big };

		mtext_sample(&t, "g", &l, 1, 1);
	}
	CHECK_INT_EQ(t.len, strlen("g{v=\"\"} 1\n") + 200000);
	CHECK_INT_EQ(strlen(t.s), t.len);
	CHECK(t.len < t.cap);
	free(big);
	free(t.s);
}

static const struct check_case cases[] = {
	{ "numbers", test_numbers },
	{ "family_and_samples", test_family_and_samples },
	{ "escaping", test_escaping },
	{ "histogram", test_histogram },
	{ "growth", test_growth },
};

int
main(void)
{
	return CHECK_RUN("metrics_text", cases);
}
