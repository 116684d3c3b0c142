#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_format.h"
#include "utf8.h"

/* 9999-12-31T23:59:59Z: RFC 3339 has four-digit years. */
#define LOG_FORMAT_MAX_SEC 253402300799LL
/* Room kept for the truncation marker: its text and a 20-digit length. */
#define LOG_FORMAT_MARKER_MAX 64

/* The line being written: never past lim bytes. */
struct line {
	char *out;
	size_t len;
};

static void
put(struct line *l, const char *s, size_t n)
{
	memcpy(l->out + l->len, s, n);
	l->len += n;
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Whether cp is shown escaped: C0, DEL, C1, U+2028 and U+2029. */
static bool
needs_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
	    cp == 0x2029;
}

/*
 * The bytes that show cp (whose UTF-8 is src, n bytes) in fmt, into
 * unit (at least 12 bytes); returns their length.
 */
static size_t
escape_unit(enum log_format fmt, uint32_t cp, const char *src, size_t n,
    char *unit)
{
	const char *named = NULL;

	if (cp == '\n')
		named = "\\n";
	else if (cp == '\r')
		named = "\\r";
	else if (cp == '\t')
		named = "\\t";
	else if (fmt == LOG_FORMAT_JSON && cp == '"')
		named = "\\\"";
	else if (fmt == LOG_FORMAT_JSON && cp == '\\')
		named = "\\\\";
	if (named != NULL) {
		memcpy(unit, named, 2);
		return 2;
	}
	if (!needs_escape(cp)) {
		memcpy(unit, src, n);
		return n;
	}
	if (fmt == LOG_FORMAT_TEXT && cp < 0x80)
		return (
		    size_t)snprintf(unit, 12, "\\x%02lx", (unsigned long)cp);
	return (size_t)snprintf(unit, 12, "\\u%04lx", (unsigned long)cp);
}

/*
 * Append msg (len bytes) escaped for fmt, keeping the line within lim
 * bytes.  If all of it does not fit, or whole > len (the caller cut it),
 * it ends at the last character after which the marker fits, and the
 * marker follows.
 */
static void
put_message(struct line *l, enum log_format fmt, const char *msg, size_t len,
    size_t whole, size_t lim)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t i = 0, safe = l->len, u, n;
	uint32_t cp;
	char unit[12];

	while (i < len) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0) {
			n = 1;
			cp = 0xfffd;
			u = escape_unit(fmt, cp, "\xef\xbf\xbd", 3, unit);
		} else {
			u = escape_unit(fmt, cp, msg + i, n, unit);
		}
		if (l->len + u > lim)
			break;
		put(l, unit, u);
		i += n;
		if (l->len + LOG_FORMAT_MARKER_MAX <= lim)
			safe = l->len;
	}
	if (i == len && whole <= len)
		return;
	l->len = safe;
	l->len += (size_t)snprintf(l->out + l->len, LOG_FORMAT_MARKER_MAX,
	    " [... truncated: the message had %zu bytes]", whole);
}

/* "2026-12-02T11:07:48.123Z" into l. */
static void
put_time(struct line *l, time_t sec, unsigned msec)
{
	long long s = (long long)sec;
	time_t t;
	struct tm tm;
	char buf[80];

	if (s < 0)
		s = 0;
	if (s > LOG_FORMAT_MAX_SEC)
		s = LOG_FORMAT_MAX_SEC;
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, msec > 999 ? 999 : msec);
	puts_(l, buf);
}

/* A level name as given, escaped, at most 16 bytes of it. */
static void
put_level(struct line *l, enum log_format fmt, const char *level)
{
	size_t n = strnlen(level, 16);

	put_message(l, fmt, level, n, n, l->len + 6 * 16);
}

size_t
log_format_line(enum log_format fmt, bool journal, const struct log_record *r,
    char *out)
{
	struct line l = { out, 0 };
	const char *tail = fmt == LOG_FORMAT_JSON ? "\"}\n" : "\n";
	size_t len = strlen(r->msg);

	if (fmt == LOG_FORMAT_JSON) {
		puts_(&l, "{\"ts\":\"");
		put_time(&l, r->sec, r->msec);
		puts_(&l, "\",\"level\":\"");
		put_level(&l, fmt, r->level);
		puts_(&l, "\",\"msg\":\"");
	} else if (journal) {
		l.len += (size_t)snprintf(out, 8, "<%d>",
		    r->priority < 0 || r->priority > 7 ? 6 : r->priority);
		put_level(&l, fmt, r->level);
		puts_(&l, ": ");
	} else {
		put_time(&l, r->sec, r->msec);
		puts_(&l, " docker-guard ");
		put_level(&l, fmt, r->level);
		puts_(&l, ": ");
	}
	put_message(&l, fmt, r->msg, len, r->msg_len > len ? r->msg_len : len,
	    LOG_FORMAT_LINE_MAX - strlen(tail));
	puts_(&l, tail);
	out[l.len] = '\0';
	return l.len;
}

/* A decimal number up to end (or the end of s); -1 if not. */
static int
parse_ull(const char *s, char stop, unsigned long long *v, const char **end)
{
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno != 0 || *e != stop)
		return -1;
	*end = e;
	return 0;
}

int
log_format_journal_stream(const char *value, unsigned long long *dev,
    unsigned long long *ino)
{
	const char *p;

	if (value == NULL || parse_ull(value, ':', dev, &p) != 0 ||
	    parse_ull(p + 1, '\0', ino, &p) != 0)
		return -1;
	return 0;
}
