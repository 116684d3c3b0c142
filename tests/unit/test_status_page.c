/*
 * The status page's renderer: the escaper's golden table, and golden
 * fragments of a page, with hostile strings in every field of input.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "status_page.h"
#include "xmalloc.h"

static char *
esc(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	status_html_escape(&buf, &len, &cap, s, n);
	CHECK(buf != NULL && strlen(buf) == len);
	return buf;
}

static void
test_escape_table(void)
{
	static const struct {
		const char *in;
		size_t n; /* 0: strlen */
		const char *out;
	} rows[] = {
		{ "nextcloud", 0, "nextcloud" },
		{ "", 0, "" },
		{ "<script>alert(1)</script>", 0,
		    "&lt;script&gt;alert(1)&lt;/script&gt;" },
		{ "<img src=x onerror=alert(1)>", 0,
		    "&lt;img src=x onerror=alert(1)&gt;" },
		{ "a&b \"q\" 'r'", 0, "a&amp;b &quot;q&quot; &#39;r&#39;" },
		{ "&lt;", 0, "&amp;lt;" },
		{ "line1\nline2\tx", 0, "line1&#10;line2&#9;x" },
		{ "a\rb\x01" "c\x1b[31m\x7f", 0,
		    "a&#xFFFD;b&#xFFFD;c&#xFFFD;[31m&#xFFFD;" },
		{ "a\0<b", 4, "a&#xFFFD;&lt;b" },
		/* UTF-8 kept: e acute, euro, an emoji. */
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 0,
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3" },
		/* C1 controls (NEL, CSI) are controls. */
		{ "\xc2\x85x\xc2\x9b", 0, "&#xFFFD;x&#xFFFD;" },
		{ "\xc2\xa0", 0, "\xc2\xa0" },
		/* Not UTF-8: each bad byte is one U+FFFD. */
		{ "\xff<", 0, "&#xFFFD;&lt;" },
		{ "\xc0\xbc", 0, "&#xFFFD;&#xFFFD;" }, /* overlong '<' */
		{ "\xe0\x80\xbc", 0, "&#xFFFD;&#xFFFD;&#xFFFD;" },
		{ "\xed\xa0\x80", 0, "&#xFFFD;&#xFFFD;&#xFFFD;" }, /* surrogate */
		{ "\xf4\x90\x80\x80", 0,
		    "&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;" }, /* > U+10FFFF */
		{ "\xe2\x82", 0, "&#xFFFD;&#xFFFD;" }, /* cut short */
		{ "\xc3<", 0, "&#xFFFD;&lt;" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		size_t n = rows[i].n != 0 ? rows[i].n : strlen(rows[i].in);
		char *got = esc(rows[i].in, n);

		CHECKF(strcmp(got, rows[i].out) == 0, "row %zu: \"%s\"", i,
		    got);
		free(got);
	}
}

static void
test_escape_appends(void)
{
	char *buf = xstrdup("x");
	size_t len = 1, cap = 2;

	status_html_escape(&buf, &len, &cap, "<a>", 3);
	status_html_escape(&buf, &len, &cap, "", 0);
	CHECK_STR_EQ(buf, "x&lt;a&gt;");
	CHECK_INT_EQ(len, strlen(buf));
	free(buf);
}

static const char script[] = "<script>alert(1)</script>";
static const char img[] = "<img src=x onerror=alert(1)>";

/* A page whose every string is s (NULL: the usual values). */
struct fixture {
	struct status_deploy deploys[2];
	struct status_app apps[2];
	struct status_event refusals[1], overrides[1], drift[1], engine[2];
	struct status_page page;
};

static void
fixture_fill(struct fixture *f, const char *s)
{
#define S(v) (s != NULL ? s : (v))
	memset(f, 0, sizeof *f);
	f->deploys[0] = (struct status_deploy){ 1764672000, 0,
		S("31.0.9.1"), S("127.0.0.1:5000/nextcloud@sha256:d5b1"),
		S("sha256:d5b1"), S("nextcloud"), S("guard") };
	f->deploys[1] = (struct status_deploy){ 1764600000, 1764672000,
		S("31.0.8.1"), S("127.0.0.1:5000/nextcloud:31.0.8.1"), NULL,
		S("nextcloud-old"), S("sync") };
	f->apps[0] = (struct status_app){ S("nextcloud"), S("31.0.9.1"),
		S("31.0.9.1"), S("127.0.0.1:5000/nextcloud@sha256:d5b1"), 1,
		1764672000, f->deploys, 2, true };
	f->apps[1] = (struct status_app){ S("shop/web"), S("1.0"), S("2.0"),
		S("127.0.0.1:5000/web:1.0"), 1, 1764500000, NULL, 0, false };
	f->refusals[0] = (struct status_event){ 1764672001234, S("downgrade"),
		S("deny"), S("nextcloud"), S("127.0.0.1:5000/nextcloud:31.0.8.1"),
		S("31.0.8.1"), S("31.0.9.1"),
		S("docker-guard: refusing to create app \"nextcloud\": image "
		  "is version 31.0.8.1, older than 31.0.9.1 (rule: downgrade)."),
		S("docker"), 1000 };
	f->overrides[0] = (struct status_event){ 1764672001500, S("override"),
		S("allow"), S("nextcloud"), S("127.0.0.1:5000/nextcloud:31.0.8.1"),
		S("31.0.8.1"), S("31.0.9.1"),
		S("allowed by io.docker-guard.allow-downgrade=rollback test"),
		S("ansible"), 0 };
	f->drift[0] = (struct status_event){ 1764672002000, S("drift"),
		S("warn"), S("shop/web"), S("127.0.0.1:5000/web:1.0"), NULL,
		NULL, S("image is missing from its registry"), NULL, -1 };
	f->engine[0] = (struct status_event){ 1764672003000,
		S("engine_version"), S("warn"), NULL, NULL,
		S("26.1.5 (API 1.45)"), S("20.10.24 (API 1.41)"),
		S("the Docker engine changed"), NULL, -1 };
	f->engine[1] = (struct status_event){ 1764000000000,
		S("engine_version"), S("warn"), NULL, NULL, S("20.10.24"),
		NULL, S("the Docker engine changed from 20.10.5 to 20.10.24"),
		NULL, -1 };
	f->page.now = 1764672060;
	f->page.health = (struct status_health){ S("0.1.0"), S("node-1"),
		1764585660, 1, S("26.1.5 (API 1.45)"), 3, NULL, true, false, 60,
		1764672000 };
	f->page.apps = f->apps;
	f->page.n_apps = 2;
	f->page.refusals = (struct status_events){ f->refusals, 1, true };
	f->page.overrides = (struct status_events){ f->overrides, 1, false };
	f->page.drift = (struct status_events){ f->drift, 1, false };
	f->page.engine = (struct status_events){ f->engine, 2, false };
#undef S
}

static size_t
count_lt(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '<';
	return n;
}

static void
test_page_fragments(void)
{
	struct fixture f;
	size_t len;
	char *html;

	fixture_fill(&f, NULL);
	html = status_page_render(&f.page, &len);
	CHECK_INT_EQ(len, strlen(html));
	CHECK(strncmp(html, "<!DOCTYPE html>\n", 16) == 0);
	CHECK(strstr(html, "<title>docker-guard status: node-1</title>"));
	CHECK(strstr(html, "Status at 2025-12-02 10:41:00 UTC."));
	CHECK(strstr(html, "<dt>Version</dt><dd>0.1.0</dd>"));
	CHECK(strstr(html, "<dt>Up</dt><dd>1d 0h 0m, since 2025-12-01 "
			   "10:41:00 UTC</dd>"));
	CHECK(strstr(html, "<span class=\"ok\">reachable</span>, version "
			   "26.1.5 (API 1.45)"));
	CHECK(strstr(html, "writing</span>, 3 waiting"));
	CHECK(strstr(html, "<dt>Fleet ledger</dt><dd><span class=\"bad\">not "
			   "connected</span>"));
	CHECK(strstr(html, "every 60 s, last round at 2025-12-02 10:40:00 UTC"));
	CHECK(strstr(html, "<tr><td class=\"ref\">nextcloud</td><td>31.0.9.1</td>"
			   "<td>31.0.9.1</td>"));
	CHECK(strstr(html, "<tr><td class=\"ref\">shop/web</td><td class=\"behind\">1.0"
			   " (below the highest)</td><td>2.0</td>"));
	CHECK(strstr(html, "<summary>2 deployments (the newest)</summary>"));
	CHECK(strstr(html, "<td>31.0.8.1</td><td class=\"ref\">127.0.0.1:5000/"
			   "nextcloud:31.0.8.1</td><td class=\"ref\">"
			   "nextcloud-old</td><td>sync</td>"
			   "<td class=\"t\">2025-12-02 10:40:00 UTC</td>"));
	CHECK(strstr(html, "<td>live</td>"));
	CHECK(strstr(html, "<td class=\"w\">uid 1000 (docker)</td><td class=\"msg\">"
			   "docker-guard: refusing to create app &quot;"
			   "nextcloud&quot;: image is version 31.0.8.1, older "
			   "than 31.0.9.1 (rule: downgrade).</td>"));
	CHECK(strstr(html, "The newest 1; <code>docker-guard audit --verdict "
			   "deny</code> lists them all."));
	CHECK(strstr(html, "<h2 id=\"overrides\">Recent overrides</h2>\n<table>"));
	CHECK(strstr(html, "<td class=\"w\">uid 0 (ansible)</td><td class=\"msg\">allowed "
			   "by io.docker-guard.allow-downgrade=rollback test"));
	CHECK(strstr(html, "<td class=\"msg\">image is missing from its "
			   "registry</td>"));
	CHECK(strstr(html, "<li>engine 20.10.24 (API 1.41) -&gt; 26.1.5 (API "
			   "1.45) at 2025-12-02 10:40:03 UTC</li>"));
	/* An older row without the previous version: its message. */
	CHECK(strstr(html, "<li>the Docker engine changed from 20.10.5 to "
			   "20.10.24 at 2025-11-24 16:00:00 UTC</li>"));
	CHECK(strstr(html, "</body></html>\n"));
	free(html);
}

static void
test_page_empty(void)
{
	struct status_page p = { 0 };
	size_t len;
	char *html;

	p.now = 1764672060;
	p.health.engine_reachable = -1;
	p.health.drift_interval = 0;
	p.health.ledger_error = "database /x: database is locked";
	p.health.ledger_queued = 2;
	p.error = "database /x: disk I/O error";
	html = status_page_render(&p, &len);
	CHECK(strstr(html, "<title>docker-guard status</title>"));
	CHECK(strstr(html, "<p class=\"error\">Some of the ledger could not "
			   "be read: database /x: disk I/O error</p>"));
	CHECK(strstr(html, "not known yet, version not recorded yet"));
	CHECK(strstr(html, "<span class=\"bad\">2 writes waiting</span>: "
			   "database /x: database is locked"));
	CHECK(strstr(html, "Fleet ledger") == NULL);
	CHECK(strstr(html, "off (drift_interval = 0)"));
	CHECK(strstr(html, "<p>No app recorded yet.</p>"));
	CHECK(strstr(html, "<p>No refusal recorded.</p>"));
	CHECK(strstr(html, "<p>No override used.</p>"));
	CHECK(strstr(html, "<p>No drift finding recorded.</p>"));
	CHECK(strstr(html, "<p>No change of the engine&#39;s version") ==
	    NULL);
	CHECK(strstr(html, "<p>No change of the engine's version recorded."
			   "</p>"));
	free(html);
}

/* Hostile strings everywhere: escaped, and they add no markup at all (as
 * many '<' as the same page with plain strings). */
static void
test_page_hostile(void)
{
	static const char *const hostile[] = { script, img,
		"\"><svg onload=alert(1)>", "'><a href=javascript:x>",
		"</td></tr></table><script>x</script>", "\xc0\xbcscript\xc0\xbe",
		"<!--", "]]><![CDATA[<b>", "&#60;script&#62;" };
	struct fixture plain, bad;
	size_t len, plain_lt;
	char *html;

	fixture_fill(&plain, "x");
	html = status_page_render(&plain.page, &len);
	plain_lt = count_lt(html);
	free(html);
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		fixture_fill(&bad, hostile[i]);
		html = status_page_render(&bad.page, &len);
		CHECKF(count_lt(html) == plain_lt, "hostile %zu", i);
		CHECKF(strstr(html, "<script") == NULL, "hostile %zu", i);
		CHECKF(strstr(html, "<img") == NULL, "hostile %zu", i);
		CHECKF(strstr(html, "<svg") == NULL, "hostile %zu", i);
		CHECKF(strstr(html, "<a ") == NULL, "hostile %zu", i);
		free(html);
	}
	fixture_fill(&bad, script);
	html = status_page_render(&bad.page, &len);
	CHECK(strstr(html, "<td class=\"ref\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
	CHECK(strstr(html, "<title>docker-guard status: &lt;script&gt;"));
	free(html);
	fixture_fill(&bad, img);
	html = status_page_render(&bad.page, &len);
	CHECK(strstr(html, "<td class=\"msg\">&lt;img src=x onerror=alert(1)"
			   "&gt;</td>"));
	free(html);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "escape_table", test_escape_table },
		{ "escape_appends", test_escape_appends },
		{ "page_fragments", test_page_fragments },
		{ "page_empty", test_page_empty },
		{ "page_hostile", test_page_hostile },
	};

	return CHECK_RUN("status_page", cases);
}
