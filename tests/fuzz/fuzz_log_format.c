/*
 * libFuzzer target for log_format: the first byte picks the format, the
 * journal and how much of the message the caller kept, the next four the
 * time; the rest is the message (log lines carry client strings).  Every
 * result must be exactly one line within the bound: in JSON one object
 * that jansson parses (so valid UTF-8) with ts, level and msg, msg equal
 * to the message when it was valid UTF-8 and not cut; in text no control
 * byte but the final newline.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log_format.h"

#define FUZZ_MAX_INPUT (3 * LOG_FORMAT_LINE_MAX)

#define FUZZ_ASSERT(cond)                                                \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #cond);                  \
			abort();                                         \
		}                                                        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s is valid UTF-8 (jansson refuses anything else). */
static bool
valid_utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

static void
check_json(const char *line, size_t n, const char *msg, bool cut)
{
	json_error_t err;
	json_t *j = json_loadb(line, n, 0, &err);
	const char *ts, *m;

	if (j == NULL)
		fprintf(stderr, "not JSON (%s): %s\n", err.text, line);
	FUZZ_ASSERT(j != NULL && json_is_object(j));
	FUZZ_ASSERT(json_object_size(j) == 3);
	ts = json_string_value(json_object_get(j, "ts"));
	m = json_string_value(json_object_get(j, "msg"));
	FUZZ_ASSERT(ts != NULL && strlen(ts) == 24 && ts[23] == 'Z');
	FUZZ_ASSERT(json_string_value(json_object_get(j, "level")) != NULL);
	FUZZ_ASSERT(m != NULL);
	/* escaped or not, every character comes back as it was */
	if (!cut && valid_utf8(msg))
		FUZZ_ASSERT(strcmp(m, msg) == 0);
	if (cut)
		FUZZ_ASSERT(strstr(m, " [... truncated: ") != NULL);
	json_decref(j);
}

static void
check_text(const char *line, size_t n)
{
	json_t *j = json_stringn(line, n);

	FUZZ_ASSERT(j != NULL); /* valid UTF-8 */
	json_decref(j);
	for (size_t i = 0; i + 1 < n; i++)
		FUZZ_ASSERT((unsigned char)line[i] >= 0x20 && line[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[LOG_FORMAT_LINE_MAX + 1];
	struct log_record r = { 0, 0, "info", 6, NULL, 0 };
	enum log_format fmt;
	bool journal, cut;
	char *msg;
	size_t n, len;
	uint32_t t;

	if (size < 5 || size > FUZZ_MAX_INPUT)
		return 0;
	fmt = data[0] & 1 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;
	journal = (data[0] & 2) != 0;
	memcpy(&t, data + 1, 4);
	r.sec = (time_t)t * 3;
	r.msec = t % 1200;
	r.priority = data[0] >> 4;
	msg = malloc(size - 5 + 1);
	memcpy(msg, data + 5, size - 5);
	msg[size - 5] = '\0';
	len = strlen(msg);
	r.msg = msg;
	r.msg_len = data[0] & 4 ? len + data[0] : len;
	n = log_format_line(fmt, journal, &r, out);
	FUZZ_ASSERT(n == strlen(out) && n <= LOG_FORMAT_LINE_MAX);
	FUZZ_ASSERT(n > 0 && out[n - 1] == '\n');
	FUZZ_ASSERT(memchr(out, '\n', n - 1) == NULL);
	cut = r.msg_len > len || strstr(out, " [... truncated: ") != NULL;
	if (fmt == LOG_FORMAT_JSON)
		check_json(out, n, msg, cut);
	else
		check_text(out, n);
	free(msg);
	return 0;
}
