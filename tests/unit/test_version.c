/*
 * Golden tables for version: libversion-style order with Docker variants.
 */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "version.h"

struct cmp_row {
	const char	*a;
	int		 cmp;	/* expected version_compare(a, b) */
	const char	*b;
};

#define LT	-1
#define EQ	0
#define GT	1

static const struct cmp_row cmp_rows[] = {
	/* Plain numeric. */
	{ "31.0.9.1", GT, "31.0.8.1" },
	{ "1.10", GT, "1.9" },
	{ "1.2", LT, "1.10" },
	{ "2", GT, "1.99.99" },
	{ "1.0", EQ, "1.0.0" },
	{ "1", EQ, "1.0.0.0" },
	{ "1.01", EQ, "1.1" },
	{ "000", EQ, "0" },
	{ "", EQ, "0" },
	{ "2024.10.1", GT, "2024.9.30" },
	{ "24.04", GT, "22.04" },
	{ "20240101123456", GT, "9" },
	{ "99999999999999999999999", GT, "99999999999999999999998" },
	{ "100000000000000000000000", GT, "99999999999999999999999" },
	{ "0000000000000000000000001", EQ, "1" },
	{ "1_2", EQ, "1.2" },
	{ "1..2", EQ, "1.2" },

	/* Leading v. */
	{ "v1.2", EQ, "1.2" },
	{ "V1.2", EQ, "1.2" },
	{ "v1.10", GT, "v1.9" },
	{ "v1.2", LT, "1.3" },

	/* Pre-releases. */
	{ "1.0rc1", LT, "1.0" },
	{ "1.0alpha1", LT, "1.0beta1" },
	{ "1.0beta1", LT, "1.0pre1" },
	{ "1.0pre1", LT, "1.0rc1" },
	{ "1.0alpha1", LT, "1.0alpha2" },
	{ "1.0a1", EQ, "1.0alpha1" },
	{ "1.0RC1", EQ, "1.0rc1" },
	{ "1.0rc", LT, "1.0" },
	{ "1.0rc1", GT, "0.9" },
	{ "1.0git20190911", LT, "1.0" },
	{ "1.0ab", LT, "1.0" },

	/* Post-releases and letter suffixes. */
	{ "1.0patch1", GT, "1.0" },
	{ "1.0.1", GT, "1.0patch1" },
	{ "1.0a", GT, "1.0.1" },
	{ "1.0b", GT, "1.0a" },
	{ "1.1", GT, "1.0b" },
	{ "1.0post1", EQ, "1.0patch1" },
	{ "1.0pl1", GT, "1.0" },
	{ "1.0errata1", GT, "1.0" },
	{ "1.0a.1", GT, "1.0a" },
	{ "1.0a1", LT, "1.0" },

	/* Variants (Docker tag suffixes). */
	{ "31.0.8-apache", LT, "31.0.9-fpm" },
	{ "31.0.9-apache", EQ, "31.0.9-fpm" },
	{ "31.0.9-apache", EQ, "31.0.9" },
	{ "3.19-alpine", EQ, "3.19" },
	{ "8.3.11-noble", GT, "8.3.9-jammy" },
	{ "1.0-rc1", LT, "1.0" },
	{ "1.0-rc1", EQ, "1.0rc1" },
	{ "2.0-beta.2", LT, "2.0" },
	{ "2.0-beta.2", GT, "2.0-beta.1" },
	{ "1.0-dev", LT, "1.0" },
	{ "1.0-rc1-alpine", EQ, "1.0-rc1" },
	{ "1.0-rc1-alpine", LT, "1.0-alpine" },
	{ "1.0-preview2", EQ, "1.0pre2" },
	{ "1.0-alphabet", EQ, "1.0" },
	/* Package revisions: after the upstream version, ordered among
	   themselves, below any upstream change. */
	{ "3.1.0-r2", GT, "3.1.0-r1" },
	{ "3.1.0-r10", GT, "3.1.0-r9" },
	{ "3.1.0-r1", GT, "3.1.0" },
	{ "3.1.0-r0", EQ, "3.1.0" },
	{ "3.1.0-R2", EQ, "3.1.0-r2" },
	{ "3.1.0-r9", LT, "3.1.1" },
	{ "3.1.0-r9", LT, "3.1.0.1" },
	{ "1.0-r1", GT, "1.0" },
	{ "1.0-1", LT, "1.0-2" },
	{ "2024.10.1-1", LT, "2024.10.1-2" },
	{ "2024.10.1-1", GT, "2024.10.1" },
	{ "2024.10.1-9", LT, "2024.10.2" },
	{ "1.0-5", LT, "1.0.1" },
	{ "1.0-1.1", GT, "1.0-1" },
	{ "1.0-2", GT, "1.0-1.1" },
	{ "1.0-r1", EQ, "1.0-1" },
	{ "1.0-r1-alpine", EQ, "1.0-r1" },
	{ "1.0-r1-alpine", GT, "1.0-alpine" },
	{ "1.0-r2-alpine", GT, "1.0-r1-apache" },
	{ "1.0-1-apache", LT, "1.0-2-apache" },
	{ "1.0-rc1-r2", GT, "1.0-rc1-r1" },
	{ "1.0-rc1-r2", LT, "1.0" },
	{ "1.0-rc1-1", LT, "1.0-1" },
	{ "2024-10-01", GT, "2024-09-30" },
	{ "2024-10-01", LT, "2024-10-02" },
	{ "v1.0-r2", GT, "1.0-r1" },
	/* Not revisions: variants, whatever follows. */
	{ "1.0-1ubuntu1", EQ, "1.0" },
	{ "1.0-rx", EQ, "1.0" },
	{ "1.0-r1x", EQ, "1.0" },
	{ "8.0.35-debian-11-r1", EQ, "8.0.35-debian-11-r0" },

	/* Anything has a place. */
	{ "latest", LT, "0.1" },
	{ "latest", EQ, "l" },
	{ NULL, EQ, "" },
	{ "caf\xc3\xa9", EQ, "c" },
};

static void
test_compare_table(void)
{
	const struct cmp_row	*r;
	int			 got, rev;

	for (size_t i = 0; i < sizeof cmp_rows / sizeof cmp_rows[0]; i++) {
		r = &cmp_rows[i];
		got = version_compare(r->a, r->b);
		rev = version_compare(r->b, r->a);
		CHECKF(got == r->cmp, "row %zu: compare(\"%s\", \"%s\") = %d, "
		    "expected %d", i, r->a ? r->a : "(null)", r->b, got,
		    r->cmp);
		CHECKF(rev == -r->cmp, "row %zu: compare(\"%s\", \"%s\") = %d, "
		    "expected %d", i, r->b, r->a ? r->a : "(null)", rev,
		    -r->cmp);
	}
}

/*
 * An ascending list; entries with the same group are equal.  Every pair
 * is compared, which checks antisymmetry, reflexivity and (over this set)
 * transitivity of the order.
 */
static const struct {
	int		 group;
	const char	*v;
} sorted[] = {
	{ 0, "latest" },
	{ 1, "0" },
	{ 1, "" },
	{ 1, "0.0" },
	{ 2, "0.9" },
	{ 3, "0.10" },
	{ 4, "1.0alpha1" },
	{ 4, "1.0a1" },
	{ 4, "1.0-alpha1" },
	{ 5, "1.0alpha2" },
	{ 6, "1.0beta1" },
	{ 6, "1.0-beta.1" },
	{ 6, "1.0b1" },
	{ 7, "1.0-dev" },
	{ 8, "1.0pre1" },
	{ 8, "1.0-pre1" },
	{ 8, "1.0-preview1" },
	{ 9, "1.0rc1" },
	{ 9, "1.0-rc1" },
	{ 9, "1.0-RC1" },
	{ 9, "1.0.rc.1" },
	{ 9, "v1.0-rc1-alpine" },
	{ 10, "1.0" },
	{ 10, "1.0.0" },
	{ 10, "v1.0" },
	{ 10, "1" },
	{ 10, "1.0-apache" },
	{ 10, "1.0.0.0" },
	{ 10, "1.0-r0" },
	{ 11, "1.0-1" },
	{ 11, "1.0-r1" },
	{ 11, "1.0-r1-alpine" },
	{ 12, "1.0-1.1" },
	{ 13, "1.0-2" },
	{ 13, "1.0-r2" },
	{ 14, "1.0patch1" },
	{ 14, "1.0pl1" },
	{ 14, "1.0post1" },
	{ 15, "1.0patch2" },
	{ 16, "1.0.1" },
	{ 17, "1.0a" },
	{ 18, "1.0b" },
	{ 19, "1.1" },
	{ 20, "1.9" },
	{ 21, "1.10" },
	{ 22, "2.0-beta.2" },
	{ 23, "2.0" },
	{ 24, "22.04" },
	{ 25, "24.04" },
	{ 26, "31.0.8" },
	{ 26, "31.0.8-apache" },
	{ 27, "31.0.8.1" },
	{ 28, "31.0.9" },
	{ 28, "31.0.9-fpm" },
	{ 29, "31.0.9.1" },
	{ 30, "31.0.10" },
	{ 31, "2024.9.30" },
	{ 32, "2024.10.1" },
	{ 33, "20240101123456" },
};

static void
test_total_order(void)
{
	size_t	 n = sizeof sorted / sizeof sorted[0];
	int	 want, got;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			want = (sorted[i].group > sorted[j].group) -
			    (sorted[i].group < sorted[j].group);
			got = version_compare(sorted[i].v, sorted[j].v);
			CHECKF(got == want, "compare(\"%s\", \"%s\") = %d, "
			    "expected %d", sorted[i].v, sorted[j].v, got, want);
		}
	}
}

static void
test_plausible_table(void)
{
	static const struct {
		const char	*in;
		bool		 ok;
	} rows[] = {
		{ "31.0.9-apache", true },
		{ "2024.10.1", true },
		{ "v1.2", true },
		{ "V2", true },
		{ "1", true },
		{ "3.19-alpine", true },
		{ "latest", false },
		{ "stable", false },
		{ "dev", false },
		{ "", false },
		{ NULL, false },
		{ "v", false },
		{ "version1", false },
		{ "alpine-3.19", false },
		{ "-1.0", false },
		{ "1.0\n", false },
		{ "1.0\x7f", false },
		{ "1.\xc3\xa9", false },
		{ "1.0 beta", true },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECKF(version_plausible(rows[i].in) == rows[i].ok,
		    "row %zu \"%s\": expected %d", i,
		    rows[i].in ? rows[i].in : "(null)", (int)rows[i].ok);
}

static void
test_plausible_length(void)
{
	char	 buf[130];

	memset(buf, '1', sizeof buf);
	buf[128] = '\0';
	CHECK(version_plausible(buf));		/* 128 bytes */
	buf[128] = '1';
	buf[129] = '\0';
	CHECK(!version_plausible(buf));		/* 129 bytes */
}

static void
test_split_table(void)
{
	static const struct {
		const char	*in;
		const char	*core;
		const char	*variant;
	} rows[] = {
		{ "31.0.9-apache", "31.0.9", "apache" },
		{ "1.0-rc1", "1.0-rc1", "" },
		{ "2.0-beta.2", "2.0-beta.2", "" },
		{ "1.0-rc1-alpine", "1.0-rc1", "alpine" },
		{ "3.19-alpine", "3.19", "alpine" },
		{ "8.3.11-noble", "8.3.11", "noble" },
		{ "1.0", "1.0", "" },
		{ "1.0-", "1.0", "" },
		{ "1.0-DEV", "1.0-DEV", "" },
		{ "1.0-devel", "1.0", "devel" },
		{ "1.0-alphabet", "1.0", "alphabet" },
		{ "3.1.0-r2", "3.1.0-r2", "" },
		{ "1.0-r1-alpine", "1.0-r1", "alpine" },
		{ "2024.10.1-1", "2024.10.1-1", "" },
		{ "1.0-1.1-apache", "1.0-1.1", "apache" },
		{ "1.0-rc1-r2-alpine", "1.0-rc1-r2", "alpine" },
		{ "2024-10-01", "2024-10-01", "" },
		{ "1.0-1ubuntu1", "1.0", "1ubuntu1" },
		{ "1.0-r", "1.0", "r" },
		{ "1.0-r1-", "1.0-r1", "" },
		{ "8.0.35-debian-11-r0", "8.0.35", "debian-11-r0" },
		{ "1.0-rc1x", "1.0", "rc1x" },
		{ "1.0-apache-bookworm", "1.0", "apache-bookworm" },
		{ "-x", "", "x" },
		{ "", "", "" },
	};
	char	 core[32], variant[32];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		version_split_variant(rows[i].in, core, sizeof core, variant,
		    sizeof variant);
		CHECKF(strcmp(core, rows[i].core) == 0, "row %zu \"%s\": core "
		    "\"%s\", expected \"%s\"", i, rows[i].in, core,
		    rows[i].core);
		CHECKF(strcmp(variant, rows[i].variant) == 0, "row %zu \"%s\": "
		    "variant \"%s\", expected \"%s\"", i, rows[i].in, variant,
		    rows[i].variant);
	}
}

static void
test_split_truncates(void)
{
	char	 core[4], variant[3];

	memset(core, 'x', sizeof core);
	memset(variant, 'x', sizeof variant);
	version_split_variant("31.0.9-apache", core, sizeof core, variant,
	    sizeof variant);
	CHECK_STR_EQ(core, "31.");
	CHECK_STR_EQ(variant, "ap");
	/* Zero-sized and NULL buffers are left alone. */
	version_split_variant("1.0-x", NULL, 0, variant, 1);
	CHECK_STR_EQ(variant, "");
}

static const struct check_case cases[] = {
	{ "compare_table", test_compare_table },
	{ "total_order", test_total_order },
	{ "plausible_table", test_plausible_table },
	{ "plausible_length", test_plausible_length },
	{ "split_table", test_split_table },
	{ "split_truncates", test_split_truncates },
};

int
main(void)
{
	return CHECK_RUN("version", cases);
}
