#include <stdlib.h>

#include "check.h"
#include "table.h"

static void
test_render(void)
{
	static const char *const h[] = { "APP", "VERSION", "MESSAGE" };
	const char *r1[] = { "nextcloud", "31.0.9.1", "ok" };
	const char *r2[] = { "a", NULL, "two\nlines" };
	struct table *t = table_new(h, 3);
	char *out;

	table_add(t, r1);
	table_add(t, r2);
	CHECK_INT_EQ(table_rows(t), 2);
	out = table_render(t);
	CHECK_STR_EQ(out,
	    "APP        VERSION   MESSAGE\n"
	    "nextcloud  31.0.9.1  ok\n"
	    "a          -         two?lines\n");
	free(out);
	table_free(t);
}

static void
test_empty(void)
{
	static const char *const h[] = { "A", "B" };
	struct table *t = table_new(h, 2);
	char *out = table_render(t);

	CHECK_INT_EQ(table_rows(t), 0);
	CHECK_STR_EQ(out, "A  B\n");
	free(out);
	table_free(t);
}

static const struct check_case cases[] = {
	{ "render", test_render },
	{ "empty", test_empty },
};

int
main(void)
{
	return CHECK_RUN("table", cases);
}
