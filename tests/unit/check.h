/*
 * A minimal unit-test harness.  Each test file lists its test functions in
 * a table and calls check_main(); every test prints "ok" or "FAIL" with the
 * failed assertions, and the run ends with a line "NAME: N passed, N failed"
 * that tests/run adds up.  Exit status is non-zero if any test failed.
 */
#ifndef CHECK_H
#define CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct check_case {
	const char *name;
	void (*fn)(void);
};

extern int check_failures_in_case;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",		\
		    __FILE__, __LINE__, #cond);				\
		check_failures_in_case++;				\
	}								\
} while (0)

#define CHECK_INT_EQ(a, b) do {						\
	long long check_a_ = (long long)(a), check_b_ = (long long)(b);	\
	if (check_a_ != check_b_) {					\
		fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", \
		    __FILE__, __LINE__, #a, check_a_, #b, check_b_);	\
		check_failures_in_case++;				\
	}								\
} while (0)

#define CHECK_STR_EQ(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ == NULL || check_b_ == NULL ?			\
	    check_a_ != check_b_ : strcmp(check_a_, check_b_) != 0) {	\
		fprintf(stderr, "  %s:%d: %s is \"%s\", expected \"%s\"\n", \
		    __FILE__, __LINE__, #a,				\
		    check_a_ ? check_a_ : "(null)",			\
		    check_b_ ? check_b_ : "(null)");			\
		check_failures_in_case++;				\
	}								\
} while (0)

/* Like CHECK but with a printf-style note, for golden-table rows. */
#define CHECKF(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "  %s:%d: CHECK(%s) failed: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		check_failures_in_case++;				\
	}								\
} while (0)

int check_main(const char *suite, const struct check_case *cases, size_t n);

#define CHECK_RUN(suite, cases) \
	check_main((suite), (cases), sizeof(cases) / sizeof((cases)[0]))

#endif
