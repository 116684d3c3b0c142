/*
 * SQL text with its values in it (sql_text.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sql_text.h"
#include "xmalloc.h"

/* A growing string. */
struct text {
	char *s;
	size_t len, cap;
};

static void
put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

char *
sql_literal(const char *s)
{
	struct text t = { 0 };

	if (s == NULL)
		return xstrdup("NULL");
	put(&t, "'", 1);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\'')
			put(&t, "''", 2);
		else
			put(&t, p, 1);
	}
	put(&t, "'", 1);
	return t.s;
}

/* Copy the quoted string or identifier at *p (quote q) whole, doubled
 * quotes inside included; false if it does not end. */
static bool
copy_quoted(struct text *t, const char **p, char q)
{
	const char *s = *p + 1;

	for (;;) {
		const char *e = strchr(s, q);

		if (e == NULL)
			return false;
		if (e[1] != q) {
			put(t, *p, (size_t)(e + 1 - *p));
			*p = e + 1;
			return true;
		}
		s = e + 2; /* a doubled quote */
	}
}

/* Can c be part of an identifier or keyword (PostgreSQL's lexer)? */
static bool
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '$' ||
	    (unsigned char)c >= 0x80;
}

/* Would text put at t's end run on into what comes before it, or what
 * starts at next, making another token (two literals one, NULL part of a
 * name, E'...' an escape string)? */
static bool
runs_on(char c)
{
	return ident_char(c) || c == '\'' || c == '"';
}

/* The parameter $k at *p (a '$' then digits): its literal, set apart
 * from its neighbours by a space where they would touch; false if k is
 * not 1..n. */
static bool
put_param(struct text *t, const char **p, int n, const char *const *values)
{
	const char *d = *p + 1;
	long k = 0;
	char *lit;

	while (*d >= '0' && *d <= '9' && k <= n)
		k = k * 10 + (*d++ - '0');
	if (k < 1 || k > n)
		return false;
	lit = sql_literal(values[k - 1]);
	if (t->len > 0 && runs_on(t->s[t->len - 1]))
		put(t, " ", 1);
	put(t, lit, strlen(lit));
	if (runs_on(*d))
		put(t, " ", 1);
	free(lit);
	*p = d;
	return true;
}

/* Where the scan is: between words, in a name (or keyword: a letter or
 * '_' started it), or in another word (a number). */
enum word_state {
	BETWEEN,
	IN_NAME,
	IN_OTHER,
};

static enum word_state
next_state(enum word_state st, char c)
{
	if (!ident_char(c))
		return BETWEEN;
	if (st != BETWEEN)
		return st;
	return (c >= '0' && c <= '9') || c == '$' ? IN_OTHER : IN_NAME;
}

char *
sql_bind(const char *sql, int n, const char *const *values)
{
	struct text t = { 0 };
	const char *p = sql;
	enum word_state st = BETWEEN; /* in a name, a$1 is part of it */

	put(&t, "", 0);
	while (*p != '\0') {
		bool ok = true;

		if (*p == '\'' || *p == '"') {
			ok = copy_quoted(&t, &p, *p);
			st = BETWEEN;
		} else if (*p == '$' && p[1] >= '0' && p[1] <= '9' &&
		    st != IN_NAME) {
			ok = put_param(&t, &p, n, values);
			st = BETWEEN;
		} else {
			st = next_state(st, *p);
			put(&t, p++, 1);
		}
		if (!ok) {
			free(t.s);
			return NULL;
		}
	}
	return t.s;
}
