#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "xmalloc.h"

struct table {
	size_t ncols;
	size_t nrows; /* including the header row */
	char **cells; /* nrows * ncols */
};

struct table *
table_new(const char *const *headers, size_t n)
{
	struct table *t = xcalloc(1, sizeof *t);

	t->ncols = n;
	table_add(t, headers);
	return t;
}

void
table_add(struct table *t, const char *const *cells)
{
	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof *t->cells);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = cells[i] != NULL && cells[i][0] != '\0'
		    ? cells[i]
		    : "-";
		char *copy = xstrdup(c);

		/* One line per row: control characters become '?'. */
		for (char *p = copy; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		}
		t->cells[t->nrows * t->ncols + i] = copy;
	}
	t->nrows++;
}

size_t
table_rows(const struct table *t)
{
	return t->nrows - 1;
}

char *
table_render(const struct table *t)
{
	size_t *w = xcalloc(t->ncols, sizeof *w), len = 1, pos = 0;
	char *out;

	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > w[c])
				w[c] = l;
		}
	}
	for (size_t c = 0; c < t->ncols; c++)
		len += (w[c] + 2) * t->nrows;
	len += t->nrows;
	out = xmalloc(len);
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			size_t l = strlen(cell);

			memcpy(out + pos, cell, l);
			pos += l;
			if (c + 1 < t->ncols) {
				memset(out + pos, ' ', w[c] - l + 2);
				pos += w[c] - l + 2;
			}
		}
		out[pos++] = '\n';
	}
	out[pos] = '\0';
	free(w);
	return out;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
