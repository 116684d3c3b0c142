/*
 * Aligned text tables for the review commands.  Pure: builds a string.
 */
#ifndef TABLE_H
#define TABLE_H

#include <stddef.h>

struct table;

/* A table with n columns named by headers (copied). */
struct table *table_new(const char *const *headers, size_t n);
/* Add a row of n cells (copied; NULL shows as "-"). */
void table_add(struct table *t, const char *const *cells);
/* The table as text: columns padded to their widest cell, two spaces
 * apart, the last column not padded.  Caller frees. */
char *table_render(const struct table *t);
size_t table_rows(const struct table *t);
void table_free(struct table *t);

#endif
