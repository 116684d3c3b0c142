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

/* The parameter $k at *p (a '$' then digits): its literal; false if k is
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
	put(t, lit, strlen(lit));
	free(lit);
	*p = d;
	return true;
}

char *
sql_bind(const char *sql, int n, const char *const *values)
{
	struct text t = { 0 };
	const char *p = sql;

	put(&t, "", 0);
	while (*p != '\0') {
		bool ok = true;

		if (*p == '\'' || *p == '"')
			ok = copy_quoted(&t, &p, *p);
		else if (*p == '$' && p[1] >= '0' && p[1] <= '9')
			ok = put_param(&t, &p, n, values);
		else
			put(&t, p++, 1);
		if (!ok) {
			free(t.s);
			return NULL;
		}
	}
	return t.s;
}
