/*
 * Prometheus text format 0.0.4 (prometheus/docs, "Exposition formats"):
 * label values escape '\', '"' and newline; HELP text escapes '\' and
 * newline; every line ends with '\n'.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_text.h"
#include "xmalloc.h"

static void
put(struct mtext *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap != 0 ? t->cap : 1024;

		while (t->len + n + 1 > cap)
			cap *= 2;
		t->s = xrealloc(t->s, cap);
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void
puts_(struct mtext *t, const char *s)
{
	put(t, s, strlen(s));
}

/* s with '\' and newline escaped, and '"' too when quote is set. */
static void
put_escaped(struct mtext *t, const char *s, int quote)
{
	const char *p = s;

	for (; *s != '\0'; s++) {
		const char *e = *s == '\\' ? "\\\\"
		    : *s == '\n'	   ? "\\n"
		    : (*s == '"' && quote) ? "\\\""
					   : NULL;

		if (e == NULL)
			continue;
		put(t, p, (size_t)(s - p));
		puts_(t, e);
		p = s + 1;
	}
	put(t, p, (size_t)(s - p));
}

char *
mtext_number(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(int64_t)v)
		snprintf(buf, size, "%lld", (long long)v);
	else {
		snprintf(buf, size, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, size, "%.17g", v);
	}
	return buf;
}

void
mtext_family(struct mtext *t, const char *name, const char *type,
    const char *help)
{
	puts_(t, "# HELP ");
	puts_(t, name);
	puts_(t, " ");
	put_escaped(t, help, 0);
	puts_(t, "\n# TYPE ");
	puts_(t, name);
	puts_(t, " ");
	puts_(t, type);
	puts_(t, "\n");
}

void
mtext_sample(struct mtext *t, const char *name, const struct mlabel *l,
    size_t n, double value)
{
	char num[32];

	puts_(t, name);
	for (size_t i = 0; i < n; i++) {
		puts_(t, i == 0 ? "{" : ",");
		puts_(t, l[i].name);
		puts_(t, "=\"");
		put_escaped(t, l[i].value, 1);
		puts_(t, "\"");
	}
	if (n > 0)
		puts_(t, "}");
	puts_(t, " ");
	puts_(t, mtext_number(value, num, sizeof num));
	puts_(t, "\n");
}

void
mtext_histogram(struct mtext *t, const char *name, const double *bounds,
    const uint64_t *counts, size_t n, double sum)
{
	char *bucket = xasprintf("%s_bucket", name);
	char *sum_name = xasprintf("%s_sum", name);
	char *count_name = xasprintf("%s_count", name);
	char le[32];
	struct mlabel l = { "le", le };
	uint64_t total = 0;

	for (size_t i = 0; i <= n; i++) {
		total += counts[i];
		if (i < n)
			mtext_number(bounds[i], le, sizeof le);
		else
			snprintf(le, sizeof le, "+Inf");
		mtext_sample(t, bucket, &l, 1, (double)total);
	}
	mtext_sample(t, sum_name, NULL, 0, sum);
	mtext_sample(t, count_name, NULL, 0, (double)total);
	free(bucket);
	free(sum_name);
	free(count_name);
}
