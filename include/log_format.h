/*
 * One diagnostic line, formatted: the text line a terminal or a log file
 * reads, the same with a syslog priority prefix for the journal, or one
 * JSON object.  Pure: the caller passes the time and writes the bytes
 * (log.c).  Whatever bytes the message holds (it can carry strings a
 * client sent), the result is exactly one line of valid UTF-8, at most
 * LOG_FORMAT_LINE_MAX bytes with its newline, and in JSON one object.
 */
#ifndef LOG_FORMAT_H
#define LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"

/* The longest line, its newline included; longer messages are cut at a
 * character and end with a marker naming their length. */
#define LOG_FORMAT_LINE_MAX 8192

struct log_record {
	time_t sec;	   /* UTC, seconds since the epoch (clamped to the
			      years 1970..9999) */
	unsigned msec;	   /* 0..999 */
	const char *level; /* "error", "warning", "info", "debug", "fatal" */
	int priority;	   /* its syslog priority (sd-daemon(3)): 0..7 */
	const char *msg;   /* the message (NUL-terminated, any bytes) */
	size_t msg_len;	   /* the whole message's length: more than
			      strlen(msg) when the caller kept a prefix */
};

/*
 * Format r into out (LOG_FORMAT_LINE_MAX + 1 bytes), NUL-terminated, and
 * return its length.  The line ends with its only newline.
 *   text:          "2026-12-02T11:07:48.123Z docker-guard info: msg"
 *   text, journal: "<6>info: msg" (journald stamps its own time)
 *   json:          {"ts":"2026-12-02T11:07:48.123Z","level":"info",
 *                   "msg":"msg"} (journal or not)
 * Invalid UTF-8 becomes U+FFFD.  JSON escapes '"', '\\', every control
 * character, U+2028 and U+2029; text shows control characters as \n,
 * \r, \t or \xNN (C1 and U+2028/9 as \uNNNN) and leaves the rest as is.
 */
size_t log_format_line(enum log_format fmt, bool journal,
    const struct log_record *r, char *out);

/*
 * JOURNAL_STREAM's value, "DEV:INO" in decimal (systemd.exec(5)): the
 * device and inode of the stream the journal gave as stdout or stderr.
 * Returns 0 with *dev and *ino set, or -1 if value is NULL or malformed.
 */
int log_format_journal_stream(const char *value, unsigned long long *dev,
    unsigned long long *ino);

#endif
