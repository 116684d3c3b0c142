/*
 * The Prometheus text exposition format, version 0.0.4: HELP and TYPE
 * lines, samples with escaped label values, histograms (cumulative
 * _bucket{le=...}, _sum, _count).  Pure: appends to a growing string.
 * Names and label names are the caller's constants (never checked
 * here); label values and help text may hold anything and are escaped.
 */
#ifndef METRICS_TEXT_H
#define METRICS_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The text so far: s is NUL-terminated (NULL before the first append),
 * owned; free it with free(). */
struct mtext {
	char *s;
	size_t len, cap;
};

struct mlabel {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]* */
	const char *value; /* any bytes but NUL */
};

/* "# HELP name help" (help's '\' and newline escaped) and
 * "# TYPE name type" ("counter", "gauge", "histogram"). */
void mtext_family(struct mtext *t, const char *name, const char *type,
    const char *help);

/* One sample line: name{l1="v1",...} value; no braces when n is 0.
 * Values: integers exactly, NaN, +Inf, -Inf, else the shortest text
 * that reads back as the same double. */
void mtext_sample(struct mtext *t, const char *name, const struct mlabel *l,
    size_t n, double value);

/*
 * A histogram's samples: name_bucket{le="b"} for each of the n bounds
 * (ascending) with the count of observations <= b, then le="+Inf",
 * name_sum and name_count.  counts[i] is the number of observations in
 * bucket i alone (counts[n] those above the last bound); the output is
 * cumulative.
 */
void mtext_histogram(struct mtext *t, const char *name, const double *bounds,
    const uint64_t *counts, size_t n, double sum);

/* value as the format writes it (see mtext_sample) into buf (32 bytes
 * are always enough); returns buf. */
char *mtext_number(double value, char *buf, size_t size);

#endif
