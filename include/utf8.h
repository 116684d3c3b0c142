/*
 * UTF-8 as RFC 3629 defines it, one sequence at a time.  Pure.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1 to 4) of the well-formed UTF-8 sequence that starts s (n
 * bytes left, n >= 1), with its code point in *cp; 0 if s does not start
 * one: a stray continuation byte, an overlong form, a surrogate, a code
 * point past U+10FFFF, or a sequence cut short by n.  Callers that read
 * as Go does take a 0 as U+FFFD of one byte.
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* A copy of the C string s in which every byte that does not start a
 * well-formed sequence is U+FFFD.  Caller frees. */
char *utf8_scrub(const char *s);

#endif
