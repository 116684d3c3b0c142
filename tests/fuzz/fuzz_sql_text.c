/*
 * libFuzzer target for sql_text: the input is SQL text on its first line
 * and up to four values on the next ones (a value "\N" stands for NULL).
 * sql_bind must never let a value out of its literal, nor glue it to a
 * neighbour: the result's tokens are the SQL's, each parameter one
 * string token (or NULL), whatever the values hold.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_text.h"

#define FUZZ_MAX_INPUT 4096
#define FUZZ_NVALUES 4

#define FUZZ_ASSERT(cond)                                                \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #cond);                  \
			abort();                                         \
		}                                                        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '$' ||
	    (unsigned char)c >= 0x80;
}

/* Past the quoted string or identifier at s; NULL if it does not end. */
static const char *
skip_quoted(const char *s)
{
	char q = *s++;

	for (;;) {
		if (*s == '\0')
			return NULL;
		if (*s == q && s[1] == q)
			s += 2;
		else if (*s++ == q)
			return s;
	}
}

/*
 * The tokens of s, as PostgreSQL's lexer splits them (closely enough for
 * this): whitespace separates; a quoted string is "S", a quoted
 * identifier "I", a word glued to a quote (E'..', U&"..") "P"; other
 * words as they are; other bytes one by one.  With values, a parameter
 * $k (not inside a word) is "S", or NULL.  Tokens are written to out
 * separated by one space.  false if s ends inside a quote.
 */
static bool
tokens(const char *s, int n, const char *const *values, char *out)
{
	while (*s != '\0') {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f' || *s == '\v') {
			s++;
			continue;
		}
		if (*s == '\'' || *s == '"') {
			char q = *s;

			if ((s = skip_quoted(s)) == NULL)
				return false;
			out += sprintf(out, "%s ", q == '\'' ? "S" : "I");
		} else if (values != NULL && *s == '$' && s[1] >= '0' &&
		    s[1] <= '9') {
			long k = 0;

			s++;
			while (*s >= '0' && *s <= '9' && k <= n)
				k = k * 10 + (*s++ - '0');
			FUZZ_ASSERT(k >= 1 && k <= n); /* else bind refused */
			out += sprintf(out, "%s ",
			    values[k - 1] == NULL ? "NULL" : "S");
		} else if (word_char(*s)) {
			const char *w = s;
			/* A name runs on through digits and '$'; a number or a
			   parameter's digits stop at '$'. */
			bool name = !(*s >= '0' && *s <= '9') && *s != '$';

			s++;
			while (word_char(*s) && (name || *s != '$'))
				s++;
			if (*s == '\'' || *s == '"') {
				if ((s = skip_quoted(s)) == NULL)
					return false;
				out += sprintf(out, "P ");
			} else {
				out += sprintf(out, "%.*s ", (int)(s - w), w);
			}
		} else {
			out += sprintf(out, "%c ", *s++);
		}
	}
	*out = '\0';
	return true;
}

static void
check_literal(const char *v)
{
	char *lit = sql_literal(v), *p;
	size_t i = 0;

	FUZZ_ASSERT(lit[0] == '\'' && lit[strlen(lit) - 1] == '\'');
	/* Undoubling the inside gives v back. */
	for (p = lit + 1; p < lit + strlen(lit) - 1; p++, i++) {
		if (*p == '\'') {
			FUZZ_ASSERT(p[1] == '\'');
			p++;
		}
		FUZZ_ASSERT(v[i] == *p);
	}
	FUZZ_ASSERT(v[i] == '\0');
	free(lit);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *lines[FUZZ_NVALUES + 1], *bound, *want, *got;
	const char *values[FUZZ_NVALUES];
	size_t n = 0;

	if (size > FUZZ_MAX_INPUT || memchr(data, '\0', size) != NULL)
		return 0;
	buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	lines[n++] = buf;
	for (char *nl; n <= FUZZ_NVALUES && (nl = strchr(lines[n - 1], '\n'));)
		*nl = '\0', lines[n++] = nl + 1;
	for (size_t i = 0; i < FUZZ_NVALUES; i++) {
		values[i] = i + 1 < n && strcmp(lines[i + 1], "\\N") != 0
		    ? lines[i + 1]
		    : (i + 1 < n ? NULL : "");
		if (values[i] != NULL)
			check_literal(values[i]);
	}
	bound = sql_bind(lines[0], FUZZ_NVALUES, values);
	want = malloc(5 * strlen(lines[0]) + 1);
	got = bound != NULL ? malloc(2 * strlen(bound) + 1) : NULL;
	if (bound != NULL) {
		FUZZ_ASSERT(tokens(lines[0], FUZZ_NVALUES, values, want));
		FUZZ_ASSERT(tokens(bound, 0, NULL, got));
		FUZZ_ASSERT(strcmp(want, got) == 0);
	}
	free(got);
	free(want);
	free(bound);
	free(buf);
	return 0;
}
