#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sql_text.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
test_literal(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "web", "'web'" },
		{ "", "''" },
		{ "it's", "'it''s'" },
		{ "''", "''''''" },
		{ "a\\b", "'a\\b'" }, /* standard_conforming_strings */
		{ "x'); DROP TABLE dg_versions; --",
		    "'x''); DROP TABLE dg_versions; --'" },
		{ "na\xc3\xafve", "'na\xc3\xafve'" },
	};
	char *s;

	for (size_t i = 0; i < NITEMS(rows); i++) {
		s = sql_literal(rows[i].in);
		CHECK_STR_EQ(s, rows[i].want);
		free(s);
	}
	s = sql_literal(NULL);
	CHECK_STR_EQ(s, "NULL");
	free(s);
}

static void
test_bind(void)
{
	const char *v[] = { "a'b", NULL, "c", "d", "e", "f", "g", "h", "i",
		"j", "k" };
	static const struct {
		const char *sql, *want;
	} rows[] = {
		{ "SELECT $1", "SELECT 'a''b'" },
		{ "SELECT $2, $3", "SELECT NULL, 'c'" },
		{ "VALUES ($10,$11,$1)", "VALUES ('j','k','a''b')" },
		/* Not parameters: inside strings and identifiers, $ alone. */
		{ "SELECT '$1', \"$2\", $x", "SELECT '$1', \"$2\", $x" },
		{ "SELECT 'it''s $1', $3", "SELECT 'it''s $1', 'c'" },
		{ "SELECT \"a\"\"$1\", $3", "SELECT \"a\"\"$1\", 'c'" },
		{ "", "" },
		/* Set apart where it would touch: two literals would be one,
		   NULL part of a name, E$1 an escape string. */
		{ "SELECT $1$3", "SELECT 'a''b' 'c'" },
		{ "SELECT x$2", "SELECT x$2" }, /* a name, as in PostgreSQL */
		{ "SELECT E $3", "SELECT E 'c'" },
		{ "SELECT ($2)x", "SELECT (NULL)x" },
		{ "SELECT 1$2", "SELECT 1 NULL" },
		{ "SELECT $2'z'", "SELECT NULL 'z'" },
	};
	char *s;

	for (size_t i = 0; i < NITEMS(rows); i++) {
		s = sql_bind(rows[i].sql, (int)NITEMS(v), v);
		CHECKF(s != NULL && strcmp(s, rows[i].want) == 0,
		    "row %zu: %s", i, s != NULL ? s : "(null)");
		free(s);
	}
}

static void
test_bind_refuses(void)
{
	const char *v[] = { "a", "b" };
	static const char *const bad[] = {
		"SELECT $3",	 /* above n */
		"SELECT $0",	 /* no such parameter */
		"SELECT $99999999999999999999",
		"SELECT 'open", /* ends inside a quote */
		"SELECT \"open",
	};

	for (size_t i = 0; i < NITEMS(bad); i++) {
		char *s = sql_bind(bad[i], 2, v);

		CHECKF(s == NULL, "accepted: %s -> %s", bad[i], s);
		free(s);
	}
}

static const struct check_case cases[] = {
	{ "literal", test_literal },
	{ "bind", test_bind },
	{ "bind_refuses", test_bind_refuses },
};

int
main(void)
{
	return CHECK_RUN("sql_text", cases);
}
