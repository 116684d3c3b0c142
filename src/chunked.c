/*
 * The chunked transfer coding, RFC 9112 7.1:
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 */
#include <string.h>

#include "chunked.h"
#include "hexdigit.h"

#define CHUNKED_MAX_DIGITS 16 /* as Go's parseHexUint */
#define CHUNKED_MAX_LINE 4096 /* as Go's maxLineLength */
#define CHUNKED_MAX_TRAILER (16 * 1024)

void
chunked_init(struct chunked_decoder *d)
{
	memset(d, 0, sizeof *d);
	d->state = CHUNKED_SIZE;
}

static size_t
fail(struct chunked_decoder *d, const char *cause, size_t consumed)
{
	d->state = CHUNKED_ERROR;
	d->cause = cause;
	return consumed;
}

/* The end of a size line: go to data, or to the trailer after size 0. */
static void
size_line_done(struct chunked_decoder *d)
{
	d->line_len = 0;
	if (d->size == 0) {
		d->last = true;
		d->state = CHUNKED_TRAILER;
	} else {
		d->left = d->size;
		d->state = CHUNKED_DATA;
	}
}

/* budget: a byte-at-a-time state machine with one case per state of the
 * chunked grammar (RFC 9112 7.1); it reads best as one switch. */
size_t
chunked_scan(struct chunked_decoder *d, const unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];
		int h;

		switch (d->state) {
		case CHUNKED_SIZE:
			if (++d->line_len > CHUNKED_MAX_LINE)
				return fail(d, "chunk size line too long", i);
			h = hex_digit_value(c);
			if (h >= 0) {
				if (d->digits == CHUNKED_MAX_DIGITS ||
				    d->size > (UINT64_C(1) << 58))
					return fail(d, "chunk size too large",
					    i);
				d->size = d->size * 16 + (uint64_t)h;
				d->digits++;
				break;
			}
			if (d->digits == 0)
				return fail(d, "invalid chunk size", i);
			if (c == ';')
				d->state = CHUNKED_EXT;
			else if (c == '\r')
				d->state = CHUNKED_SIZE_LF;
			else
				return fail(d, "invalid chunk size", i);
			break;
		case CHUNKED_EXT:
			if (++d->line_len > CHUNKED_MAX_LINE)
				return fail(d, "chunk size line too long", i);
			if (c == '\r')
				d->state = CHUNKED_SIZE_LF;
			else if (c != '\t' && (c < 0x20 || c == 0x7f))
				return fail(d, "invalid chunk extension", i);
			break;
		case CHUNKED_SIZE_LF:
			if (c != '\n')
				return fail(d, "bare CR in a chunk size line",
				    i);
			size_line_done(d);
			if (d->state == CHUNKED_DATA)
				return i + 1;
			break;
		case CHUNKED_DATA:
			/* The caller moves data with chunked_consume_data. */
			return i;
		case CHUNKED_DATA_CR:
			if (c != '\r')
				return fail(d,
				    "chunk data not followed by "
				    "CRLF",
				    i);
			d->state = CHUNKED_DATA_LF;
			break;
		case CHUNKED_DATA_LF:
			if (c != '\n')
				return fail(d,
				    "chunk data not followed by "
				    "CRLF",
				    i);
			d->state = CHUNKED_SIZE;
			d->size = 0;
			d->digits = 0;
			d->line_len = 0;
			break;
		case CHUNKED_TRAILER:
			if (++d->trailer_len > CHUNKED_MAX_TRAILER)
				return fail(d, "trailer section too large", i);
			if (c == '\r') {
				d->state = CHUNKED_TRAILER_LF;
				break;
			}
			if (c == '\n')
				return fail(d, "bare LF in the trailer", i);
			if (d->line_len == 0 && (c == ' ' || c == '\t'))
				return fail(d,
				    "obsolete line folding in the "
				    "trailer",
				    i);
			if (c != '\t' && (c < 0x20 || c == 0x7f))
				return fail(d,
				    "invalid character in the "
				    "trailer",
				    i);
			d->line_len++;
			break;
		case CHUNKED_TRAILER_LF:
			if (c != '\n')
				return fail(d, "bare CR in the trailer", i);
			if (d->line_len == 0) {
				d->state = CHUNKED_DONE;
				return i + 1;
			}
			d->line_len = 0;
			d->state = CHUNKED_TRAILER;
			break;
		case CHUNKED_DONE:
		case CHUNKED_ERROR:
			return i;
		}
	}
	return i;
}

void
chunked_consume_data(struct chunked_decoder *d, uint64_t n)
{
	if (d->state != CHUNKED_DATA || n > d->left) {
		d->state = CHUNKED_ERROR;
		d->cause = "internal error: chunk data overrun";
		return;
	}
	d->left -= n;
	d->total += n;
	if (d->left == 0)
		d->state = CHUNKED_DATA_CR;
}
