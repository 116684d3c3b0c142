#include <stdio.h>

#include "check.h"

int check_failures_in_case;

int
check_main(const char *suite, const struct check_case *cases, size_t n)
{
	size_t passed = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		check_failures_in_case = 0;
		cases[i].fn();
		if (check_failures_in_case == 0) {
			passed++;
			printf("ok   %s/%s\n", suite, cases[i].name);
		} else {
			failed++;
			printf("FAIL %s/%s (%d failed checks)\n", suite,
			    cases[i].name, check_failures_in_case);
		}
		fflush(stdout);
	}
	printf("%s: %zu passed, %zu failed\n", suite, passed, failed);
	return failed == 0 ? 0 : 1;
}
