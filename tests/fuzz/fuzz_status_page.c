/*
 * libFuzzer target for the status page (status_page.h).  The whole input
 * is escaped (NULs included): the result has no < > " ' and no control
 * byte, every & starts an entity, and it is UTF-8.  Then the input, split
 * at NUL bytes, fills every string of a page (cycling through the parts):
 * the page must be UTF-8 with no control byte but its own newlines, and
 * hold exactly as many '<' as the same page with each string replaced by
 * "x" (or "" when empty): no byte of input ever opens a tag.  driver.c
 * replays the corpus without libFuzzer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status_page.h"

#define FUZZ_MAX_INPUT 8192
#define FUZZ_MAX_PARTS 32

#define FUZZ_ASSERT(cond)                                               \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			    __FILE__, __LINE__, #cond);                 \
			abort();                                        \
		}                                                       \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is s (n bytes) UTF-8 with no C0 (but newline), DEL or C1 control? */
static bool
clean_utf8(const unsigned char *s, size_t n, bool newline_ok)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2
		    : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;

		if (len == 0 || i + len > n)
			return false;
		if (len == 1 && (c == 0x7f || (c < 0x20 &&
		    !(newline_ok && c == '\n'))))
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if (c == 0xc2 && s[i + 1] < 0xa0)
			return false;
		if ((c == 0xe0 && s[i + 1] < 0xa0) ||
		    (c == 0xed && s[i + 1] > 0x9f) ||
		    (c == 0xf0 && s[i + 1] < 0x90) ||
		    (c == 0xf4 && s[i + 1] > 0x8f))
			return false;
		i += len;
	}
	return true;
}

static void
check_escape(const uint8_t *data, size_t size)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;",
		"&#39;", "&#9;", "&#10;", "&#xFFFD;" };
	char *buf = NULL;
	size_t len = 0, cap = 0;

	status_html_escape(&buf, &len, &cap, (const char *)data, size);
	FUZZ_ASSERT(buf != NULL && strlen(buf) == len);
	FUZZ_ASSERT(strpbrk(buf, "<>\"'") == NULL);
	FUZZ_ASSERT(clean_utf8((const unsigned char *)buf, len, false));
	for (const char *a = strchr(buf, '&'); a != NULL;
	     a = strchr(a + 1, '&')) {
		bool known = false;

		for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++)
			known |= strncmp(a, ents[k], strlen(ents[k])) == 0;
		FUZZ_ASSERT(known);
	}
	free(buf);
}

struct parts {
	const char *s[FUZZ_MAX_PARTS];
	size_t n, next;
	bool plain; /* "x" or "" instead */
};

static const char *
pick(struct parts *p)
{
	const char *s = p->s[p->next++ % p->n];

	if (p->plain)
		return *s == '\0' ? "" : "x";
	return s;
}

static void
fill_event(struct status_event *e, struct parts *p, int64_t t)
{
	e->time_ms = t;
	e->rule = pick(p);
	e->verdict = pick(p);
	e->app = pick(p);
	e->image_ref = pick(p);
	e->version = pick(p);
	e->previous_version = pick(p);
	e->message = pick(p);
	e->comm = pick(p);
	e->uid = 1000;
}

/* Render the page of p's strings; returns how many '<' it holds. */
static size_t
render(struct parts *p)
{
	struct status_deploy d[2];
	struct status_app a[2];
	struct status_event ev[4];
	struct status_page page = { 0 };
	size_t len, lt = 0;
	char *html;

	p->next = 0;
	for (int i = 0; i < 2; i++)
		d[i] = (struct status_deploy){ 1764672000 + i, i ? 0 : 1,
			pick(p), pick(p), pick(p), pick(p), pick(p) };
	for (int i = 0; i < 2; i++)
		a[i] = (struct status_app){ pick(p), pick(p), pick(p),
			pick(p), 1, 1764672000, d, 2, i == 0 };
	for (int i = 0; i < 4; i++)
		fill_event(&ev[i], p, 1764672000000 + i);
	page.now = 1764672060;
	page.health = (struct status_health){ pick(p), pick(p), 1764585660,
		1, pick(p), 3, pick(p), true, true, 60, 1764672000 };
	page.apps = a;
	page.n_apps = 2;
	page.refusals = (struct status_events){ &ev[0], 1, true };
	page.drift = (struct status_events){ &ev[1], 1, false };
	page.engine = (struct status_events){ &ev[2], 1, false };
	page.overrides = (struct status_events){ &ev[3], 1, false };
	page.error = pick(p);
	html = status_page_render(&page, &len);
	FUZZ_ASSERT(strlen(html) == len);
	FUZZ_ASSERT(clean_utf8((const unsigned char *)html, len, true));
	for (size_t i = 0; i < len; i++)
		lt += html[i] == '<';
	free(html);
	return lt;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parts p = { 0 };
	char *buf;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	check_escape(data, size);
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && p.n < FUZZ_MAX_PARTS;) {
		p.s[p.n++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	{
		size_t with_input = render(&p);

		p.plain = true;
		FUZZ_ASSERT(render(&p) == with_input);
	}
	free(buf);
	return 0;
}
