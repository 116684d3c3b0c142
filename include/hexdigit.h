/*
 * The value of one hexadecimal digit, for the parsers that read
 * percent-escapes and chunk sizes.
 */
#ifndef HEXDIGIT_H
#define HEXDIGIT_H

/* 0-15 for [0-9a-fA-F], else -1. */
static inline int
hex_digit_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
