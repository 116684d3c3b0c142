#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log_format.h"

/* 2026-12-02T11:07:48Z */
#define T0 1796209668

struct line_row {
	enum log_format fmt;
	bool journal;
	const char *level;
	int priority;
	const char *msg;
	const char *want;
};

static const struct line_row rows[] = {
	/* the text line is the one the guard always wrote */
	{ LOG_FORMAT_TEXT, false, "info", 6, "listening on /run/g.sock",
	    "2026-12-02T11:07:48.123Z docker-guard info: listening on "
	    "/run/g.sock\n" },
	{ LOG_FORMAT_TEXT, false, "warning", 4, "",
	    "2026-12-02T11:07:48.123Z "
	    "docker-guard warning: \n" },
	/* the journal stamps its own time; the priority leads */
	{ LOG_FORMAT_TEXT, true, "error", 3, "ledger: disk full",
	    "<3>error: ledger: disk full\n" },
	{ LOG_FORMAT_TEXT, true, "debug", 7, "x", "<7>debug: x\n" },
	{ LOG_FORMAT_TEXT, true, "fatal", 2, "x", "<2>fatal: x\n" },
	{ LOG_FORMAT_TEXT, true, "info", 42, "x", "<6>info: x\n" },
	/* one line whatever the message holds */
	{ LOG_FORMAT_TEXT, false, "info", 6, "a\nb\r\tc\x1b[31m\x7f",
	    "2026-12-02T11:07:48.123Z docker-guard info: "
	    "a\\nb\\r\\tc\\x1b[31m\\x7f\n" },
	{ LOG_FORMAT_TEXT, true, "info", 6, "q\"uo\\te",
	    "<6>info: q\"uo\\te\n" },
	{ LOG_FORMAT_TEXT, true, "info", 6,
	    "\xc2\x85 \xe2\x80\xa8 \xe2\x80\xa9",
	    "<6>info: \\u0085 \\u2028 \\u2029\n" },
	/* UTF-8 kept, invalid bytes replaced one by one */
	{ LOG_FORMAT_TEXT, true, "info", 6, "caf\xc3\xa9 \xf0\x9f\x90\xb3",
	    "<6>info: caf\xc3\xa9 \xf0\x9f\x90\xb3\n" },
	{ LOG_FORMAT_TEXT, true, "info", 6,
	    "a\xff"
	    "b\xc3",
	    "<6>info: a\xef\xbf\xbd"
	    "b\xef\xbf\xbd\n" },
	/* overlong '/', a surrogate, past U+10FFFF, a lone continuation */
	{ LOG_FORMAT_TEXT, true, "info", 6,
	    "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\x80",
	    "<6>info: \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\n" },
	{ LOG_FORMAT_TEXT, true, "info", 6, "\xe0\xa0\x80\xf0\x90\x80\x80",
	    "<6>info: \xe0\xa0\x80\xf0\x90\x80\x80\n" },
	/* JSON, journal or not */
	{ LOG_FORMAT_JSON, false, "info", 6, "listening on /run/g.sock",
	    "{\"ts\":\"2026-12-02T11:07:48.123Z\",\"level\":\"info\","
	    "\"msg\":\"listening on /run/g.sock\"}\n" },
	{ LOG_FORMAT_JSON, true, "warning", 4, "x",
	    "{\"ts\":\"2026-12-02T11:07:48.123Z\",\"level\":\"warning\","
	    "\"msg\":\"x\"}\n" },
	{ LOG_FORMAT_JSON, false, "info", 6,
	    "\"q\" \\ /\n\r\t\b\f\x01\x1f\x7f\xc2\x80\xe2\x80\xa8",
	    "{\"ts\":\"2026-12-02T11:07:48.123Z\",\"level\":\"info\","
	    "\"msg\":\"\\\"q\\\" \\\\ /\\n\\r\\t\\u0008\\u000c\\u0001"
	    "\\u001f\\u007f\\u0080\\u2028\"}\n" },
	{ LOG_FORMAT_JSON, false, "info", 6, "caf\xc3\xa9\xff",
	    "{\"ts\":\"2026-12-02T11:07:48.123Z\",\"level\":\"info\","
	    "\"msg\":\"caf\xc3\xa9\xef\xbf\xbd\"}\n" },
	/* a level is escaped too */
	{ LOG_FORMAT_JSON, false, "in\"fo", 6, "",
	    "{\"ts\":\"2026-12-02T11:07:48.123Z\",\"level\":\"in\\\"fo\","
	    "\"msg\":\"\"}\n" },
};

static void
test_rows(void)
{
	char out[LOG_FORMAT_LINE_MAX + 1];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct line_row *r = &rows[i];
		struct log_record rec = { T0, 123, r->level, r->priority,
			r->msg, strlen(r->msg) };
		size_t n = log_format_line(r->fmt, r->journal, &rec, out);

		CHECKF(strcmp(out, r->want) == 0, "row %zu: \"%s\"", i, out);
		CHECKF(n == strlen(out), "row %zu: length %zu", i, n);
	}
}

static void
test_time(void)
{
	char out[LOG_FORMAT_LINE_MAX + 1];
	struct log_record rec = { 0, 0, "info", 6, "m", 1 };

	log_format_line(LOG_FORMAT_JSON, false, &rec, out);
	CHECK(strncmp(out, "{\"ts\":\"1970-01-01T00:00:00.000Z\"", 32) == 0);
	rec.sec = -5;
	rec.msec = 5000;
	log_format_line(LOG_FORMAT_JSON, false, &rec, out);
	CHECK(strncmp(out, "{\"ts\":\"1970-01-01T00:00:00.999Z\"", 32) == 0);
	rec.sec = (time_t)951782400; /* a leap day */
	rec.msec = 7;
	log_format_line(LOG_FORMAT_TEXT, false, &rec, out);
	CHECK_STR_EQ(out, "2000-02-29T00:00:00.007Z docker-guard info: m\n");
	rec.sec = (time_t)999999999999LL;
	log_format_line(LOG_FORMAT_JSON, false, &rec, out);
	CHECK(strncmp(out, "{\"ts\":\"9999-12-31T23:59:59.007Z\"", 32) == 0);
}

/* The line's message part ends with the marker, within the bound. */
static void
check_cut(enum log_format fmt, const char *msg, size_t whole,
    const char *want_end)
{
	char out[LOG_FORMAT_LINE_MAX + 1];
	struct log_record rec = { T0, 0, "info", 6, msg, whole };
	size_t n = log_format_line(fmt, true, &rec, out);
	size_t w = strlen(want_end);

	CHECKF(n <= LOG_FORMAT_LINE_MAX, "%zu bytes", n);
	CHECKF(n == strlen(out), "%zu", n);
	CHECKF(n >= w && strcmp(out + n - w, want_end) == 0, "ends \"%s\"",
	    n > 80 ? out + n - 80 : out);
	CHECKF(strchr(out, '\n') == out + n - 1, "one line");
}

static void
test_truncation(void)
{
	size_t big = 3 * LOG_FORMAT_LINE_MAX;
	char *msg = malloc(big + 1);
	char out[LOG_FORMAT_LINE_MAX + 1];
	struct log_record rec = { T0, 0, "info", 6, msg, 0 };

	memset(msg, 'a', big);
	msg[big] = '\0';
	check_cut(LOG_FORMAT_TEXT, msg, big,
	    "a [... truncated: the message had 24576 bytes]\n");
	check_cut(LOG_FORMAT_JSON, msg, big,
	    "a [... truncated: the message had 24576 bytes]\"}\n");
	/* the caller kept a prefix: marked even though it fits */
	check_cut(LOG_FORMAT_JSON, "short", 100000,
	    "short [... truncated: the message had 100000 bytes]\"}\n");
	/* escapes and multi-byte characters are never cut in half */
	for (size_t i = 0; i < big; i++)
		msg[i] = i % 3 == 0 ? '\n' : '"';
	check_cut(LOG_FORMAT_JSON, msg, big,
	    " [... truncated: the message had 24576 bytes]\"}\n");
	for (size_t i = 0; i + 3 <= big; i += 3)
		memcpy(msg + i, "\xe2\x82\xac", 3);
	check_cut(LOG_FORMAT_TEXT, msg, big,
	    "\xe2\x82\xac [... truncated: the message had 24576 bytes]\n");
	/* exactly at the bound: no marker */
	memset(msg, 'b', big);
	msg[LOG_FORMAT_LINE_MAX - strlen("<6>info: \n")] = '\0';
	rec.msg_len = strlen(msg);
	CHECK_INT_EQ(log_format_line(LOG_FORMAT_TEXT, true, &rec, out),
	    LOG_FORMAT_LINE_MAX);
	CHECK(strstr(out, "truncated") == NULL);
	msg[LOG_FORMAT_LINE_MAX - strlen("<6>info: \n")] = 'b';
	msg[LOG_FORMAT_LINE_MAX - strlen("<6>info: \n") + 1] = '\0';
	rec.msg_len = strlen(msg);
	CHECK(log_format_line(LOG_FORMAT_TEXT, true, &rec, out) <=
	    LOG_FORMAT_LINE_MAX);
	CHECK(strstr(out, "truncated: the message had 8183 bytes]") != NULL);
	free(msg);
}

struct stream_row {
	const char *value;
	int ok;
	unsigned long long dev, ino;
};

static const struct stream_row stream_rows[] = {
	{ "8:123456", 1, 8, 123456 },
	{ "0:0", 1, 0, 0 },
	{ "18446744073709551615:1", 1, 18446744073709551615ULL, 1 },
	{ "18446744073709551616:1", 0, 0, 0 },
	{ NULL, 0, 0, 0 },
	{ "", 0, 0, 0 },
	{ "8", 0, 0, 0 },
	{ "8:", 0, 0, 0 },
	{ ":8", 0, 0, 0 },
	{ "8:9:10", 0, 0, 0 },
	{ "-8:9", 0, 0, 0 },
	{ "8:-9", 0, 0, 0 },
	{ " 8:9", 0, 0, 0 },
	{ "8:9 ", 0, 0, 0 },
	{ "8:+9", 0, 0, 0 },
	{ "0x8:9", 0, 0, 0 },
};

static void
test_journal_stream(void)
{
	for (size_t i = 0; i < sizeof stream_rows / sizeof stream_rows[0];
	     i++) {
		const struct stream_row *r = &stream_rows[i];
		unsigned long long dev = 7, ino = 7;
		int rc = log_format_journal_stream(r->value, &dev, &ino);

		CHECKF((rc == 0) == (r->ok != 0), "row %zu: %d", i, rc);
		if (rc == 0)
			CHECKF(dev == r->dev && ino == r->ino,
			    "row %zu: %llu:%llu", i, dev, ino);
	}
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "rows", test_rows },
		{ "time", test_time },
		{ "truncation", test_truncation },
		{ "journal_stream", test_journal_stream },
	};

	return CHECK_RUN("log_format", cases);
}
