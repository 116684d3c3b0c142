/*
 * An incremental decoder for the chunked transfer coding (RFC 9112 7.1).
 * Pure: no I/O.  It reads only the framing; the caller moves the chunk
 * data itself (often without copying), so a relay can forward raw bytes
 * while knowing exactly where the message ends:
 *
 *	while (bytes available) {
 *		if (chunked_in_data(&d)) {
 *			n = min(available, chunked_data_left(&d));
 *			forward n bytes; chunked_consume_data(&d, n);
 *		} else {
 *			n = chunked_scan(&d, bytes, available);
 *			forward n bytes;
 *			if (chunked_done(&d) || chunked_failed(&d)) break;
 *			if (n == 0) wait for more;
 *		}
 *	}
 *
 * It is strict where Go's reader is lenient, never the other way round:
 * CRLF only, no whitespace around the size, at most 16 hex digits, size
 * lines and trailers capped.
 */
#ifndef CHUNKED_H
#define CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chunked_state {
	CHUNKED_SIZE,	    /* reading hex digits */
	CHUNKED_EXT,	    /* reading a chunk extension */
	CHUNKED_SIZE_LF,    /* saw CR after the size line */
	CHUNKED_DATA,	    /* inside chunk data */
	CHUNKED_DATA_CR,    /* expecting CR after data */
	CHUNKED_DATA_LF,    /* expecting LF after data */
	CHUNKED_TRAILER,    /* reading a trailer line (or the last CRLF) */
	CHUNKED_TRAILER_LF, /* saw CR in the trailer section */
	CHUNKED_DONE,
	CHUNKED_ERROR,
};

struct chunked_decoder {
	enum chunked_state state;
	uint64_t size;	/* size of the current chunk */
	uint64_t left;	/* data bytes left in it */
	uint64_t total; /* decoded body bytes so far */
	unsigned digits;
	size_t line_len;    /* bytes in the current line */
	size_t trailer_len; /* bytes of trailer section */
	bool last;	    /* the zero-size chunk was read */
	const char *cause;
};

void chunked_init(struct chunked_decoder *d);

/*
 * Read framing bytes from buf[0..len).  Stops at the start of chunk data,
 * at the end of the message, on an error, or when buf is used up.
 * Returns the number of bytes consumed.
 */
size_t
chunked_scan(struct chunked_decoder *d, const unsigned char *buf, size_t len);

static inline bool
chunked_in_data(const struct chunked_decoder *d)
{
	return d->state == CHUNKED_DATA;
}

static inline uint64_t
chunked_data_left(const struct chunked_decoder *d)
{
	return d->left;
}

/* The caller moved n (<= chunked_data_left) bytes of chunk data. */
void chunked_consume_data(struct chunked_decoder *d, uint64_t n);

static inline bool
chunked_done(const struct chunked_decoder *d)
{
	return d->state == CHUNKED_DONE;
}

static inline bool
chunked_failed(const struct chunked_decoder *d)
{
	return d->state == CHUNKED_ERROR;
}

#endif
