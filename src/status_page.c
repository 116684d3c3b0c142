#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status_page.h"
#include "utf8.h"
#include "version.h"
#include "xmalloc.h"

/* The document being written. */
struct out {
	char *p;
	size_t len, cap;
};

static void
grow(char **buf, size_t *len, size_t *cap, size_t more)
{
	size_t want = *len + more + 1;

	if (want <= *cap && *buf != NULL)
		return;
	if (*cap < 4096)
		*cap = 4096;
	while (*cap < want)
		*cap *= 2;
	*buf = xrealloc(*buf, *cap);
}

static void
put_n(struct out *o, const char *s, size_t n)
{
	grow(&o->p, &o->len, &o->cap, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* Markup of the page itself (never input). */
static void
put(struct out *o, const char *s)
{
	put_n(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	put(o, s);
	free(s);
}

/* The entity for an ASCII byte that must not appear raw, or NULL. */
static const char *
ascii_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	case '\t':
		return "&#9;";
	case '\n':
		return "&#10;";
	default:
		return c < 0x20 || c == 0x7f ? "&#xFFFD;" : NULL;
	}
}

void
status_html_escape(char **buf, size_t *len, size_t *cap, const char *s,
    size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < n) {
		const char *ent;
		size_t run = i, l;

		/* A run of plain ASCII goes in one copy. */
		while (run < n && u[run] < 0x80 && ascii_entity(u[run]) == NULL)
			run++;
		if (run > i) {
			grow(buf, len, cap, run - i);
			memcpy(*buf + *len, s + i, run - i);
			*len += run - i;
			i = run;
			continue;
		}
		if (u[i] < 0x80) {
			ent = ascii_entity(u[i]);
			l = 1;
		} else if ((l = utf8_decode(u + i, n - i, &cp)) != 0) {
			/* U+0080..U+009F are the C1 controls. */
			ent = u[i] == 0xc2 && u[i + 1] <= 0x9f ? "&#xFFFD;"
							       : NULL;
		} else {
			ent = "&#xFFFD;";
			l = 1;
		}
		if (ent != NULL) {
			grow(buf, len, cap, strlen(ent));
			memcpy(*buf + *len, ent, strlen(ent));
			*len += strlen(ent);
		} else {
			grow(buf, len, cap, l);
			memcpy(*buf + *len, s + i, l);
			*len += l;
		}
		i += l;
	}
	grow(buf, len, cap, 0);
	(*buf)[*len] = '\0';
}

/* Input, escaped; NULL or "" is written as dash. */
static void
text_or(struct out *o, const char *s, const char *dash)
{
	if (s == NULL || *s == '\0')
		put(o, dash);
	else
		status_html_escape(&o->p, &o->len, &o->cap, s, strlen(s));
}

static void
text(struct out *o, const char *s)
{
	text_or(o, s, "-");
}

/* A cell of input text: <td>escaped</td>. */
static void
cell(struct out *o, const char *s)
{
	put(o, "<td>");
	text(o, s);
	put(o, "</td>");
}

/* A cell of an image reference or other long text that may break
 * anywhere. */
static void
ref_cell(struct out *o, const char *s)
{
	put(o, "<td class=\"ref\">");
	text(o, s);
	put(o, "</td>");
}

static void
put_time(struct out *o, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[40];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		put(o, "-");
		return;
	}
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
	put(o, buf);
}

static void
time_cell(struct out *o, int64_t t)
{
	put(o, "<td class=\"t\">");
	put_time(o, t);
	put(o, "</td>");
}

/* "3d 4h 5m", "4h 5m", "5m 6s". */
static void
put_duration(struct out *o, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		putf(o, "%lldd %lldh %lldm", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60));
	else if (s >= 3600)
		putf(o, "%lldh %lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		putf(o, "%lldm %llds", (long long)(s / 60),
		    (long long)(s % 60));
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1b1b1b;"
    "background:#fafafa}"
    "h1{font-size:1.4em;margin:0 0 .2em}"
    "h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;"
    "vertical-align:top}"
    "td.ref,td.msg{overflow-wrap:anywhere}"
    "th{background:#eee}"
    "td.t,td.w{white-space:nowrap}"
    ".msg{white-space:pre-wrap;font-family:ui-monospace,monospace;"
    "font-size:.92em}"
    ".ok{color:#176b26}.bad{color:#a4161a;font-weight:bold}"
    ".behind{color:#a4161a;font-weight:bold}"
    ".note{color:#555}"
    "details{margin:.2em 0}summary{cursor:pointer}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
    "dt{font-weight:bold}dd{margin:0}"
    ".error{background:#fde2e2;border:1px solid #a4161a;padding:.5em}";

static void
render_head(struct out *o, const struct status_page *p)
{
	put(o,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width\">"
	    "<title>docker-guard status");
	if (p->health.host_name != NULL && *p->health.host_name != '\0') {
		put(o, ": ");
		text(o, p->health.host_name);
	}
	put(o, "</title><style>");
	put(o, style);
	put(o, "</style></head>\n<body>\n<h1>docker-guard");
	if (p->health.host_name != NULL && *p->health.host_name != '\0') {
		put(o, " on ");
		text(o, p->health.host_name);
	}
	put(o, "</h1>\n<p class=\"note\">Status at ");
	put_time(o, p->now);
	put(o, ". Read-only; reload the page for fresh figures.</p>\n");
	if (p->error != NULL) {
		put(o,
		    "<p class=\"error\">Some of the ledger could not be "
		    "read: ");
		text(o, p->error);
		put(o, "</p>\n");
	}
}

static void
health_engine(struct out *o, const struct status_health *h)
{
	put(o, "<dt>Engine</dt><dd>");
	if (h->engine_reachable == 1)
		put(o, "<span class=\"ok\">reachable</span>");
	else if (h->engine_reachable == 0)
		put(o, "<span class=\"bad\">unreachable</span>");
	else
		put(o, "not known yet");
	put(o, ", version ");
	text_or(o, h->engine_version, "not recorded yet");
	put(o, "</dd>\n");
}

static void
health_ledger(struct out *o, const struct status_health *h)
{
	put(o, "<dt>Ledger</dt><dd>");
	if (h->ledger_error != NULL) {
		putf(o, "<span class=\"bad\">%zu writes waiting</span>: ",
		    h->ledger_queued);
		text(o, h->ledger_error);
	} else {
		putf(o, "<span class=\"ok\">writing</span>, %zu waiting",
		    h->ledger_queued);
	}
	put(o, "</dd>\n");
	if (h->fleet_set) {
		put(o, "<dt>Fleet ledger</dt><dd>");
		put(o,
		    h->fleet_connected
			? "<span class=\"ok\">connected</span>"
			: "<span class=\"bad\">not connected</span>");
		put(o, "</dd>\n");
	}
}

static void
render_health(struct out *o, const struct status_page *p)
{
	const struct status_health *h = &p->health;

	put(o, "<h2 id=\"health\">The guard</h2>\n<dl>\n<dt>Version</dt><dd>");
	text(o, h->guard_version);
	put(o, "</dd>\n<dt>Up</dt><dd>");
	if (h->started > 0) {
		put_duration(o, p->now - h->started);
		put(o, ", since ");
		put_time(o, h->started);
	} else {
		put(o, "-");
	}
	put(o, "</dd>\n");
	health_engine(o, h);
	health_ledger(o, h);
	put(o, "<dt>Drift watch</dt><dd>");
	if (h->drift_interval == 0) {
		put(o, "off (drift_interval = 0)");
	} else {
		if (h->drift_interval > 0)
			putf(o, "every %lld s, ", (long long)h->drift_interval);
		if (h->last_drift_round > 0) {
			put(o, "last round at ");
			put_time(o, h->last_drift_round);
		} else {
			put(o, "no round recorded yet");
		}
	}
	put(o, "</dd>\n</dl>\n");
}

static void
render_timeline(struct out *o, const struct status_app *a)
{
	putf(o, "<details><summary>%zu %s%s</summary>\n", a->n_timeline,
	    a->n_timeline == 1 ? "deployment" : "deployments",
	    a->timeline_cut ? " (the newest)" : "");
	put(o,
	    "<table><tr><th>Created</th><th>Version</th><th>Image</th>"
	    "<th>Container</th><th>Recorded by</th><th>Removed</th></tr>\n");
	for (size_t i = 0; i < a->n_timeline; i++) {
		const struct status_deploy *d = &a->timeline[i];

		put(o, "<tr>");
		time_cell(o, d->time);
		cell(o, d->version);
		put(o, "<td class=\"ref\">");
		text(o, d->image_ref);
		if (d->repo_digest != NULL && *d->repo_digest != '\0') {
			put(o, "<br><span class=\"note\">");
			text(o, d->repo_digest);
			put(o, "</span>");
		}
		put(o, "</td>");
		ref_cell(o, d->container_name);
		cell(o, d->source);
		if (d->removed_at > 0)
			time_cell(o, d->removed_at);
		else
			put(o, "<td>live</td>");
		put(o, "</tr>\n");
	}
	put(o, "</table></details>");
}

static void
render_app(struct out *o, const struct status_app *a)
{
	bool behind = a->current != NULL && a->highest != NULL &&
	    version_compare(a->current, a->highest) < 0;

	put(o, "<tr>");
	ref_cell(o, a->name);
	put(o, behind ? "<td class=\"behind\">" : "<td>");
	text_or(o, a->current, "none running");
	if (behind)
		put(o, " (below the highest)");
	put(o, "</td>");
	cell(o, a->highest);
	ref_cell(o, a->image);
	putf(o, "<td>%d</td>", a->live);
	time_cell(o, a->last_change);
	put(o, "</tr>\n<tr><td colspan=\"6\">");
	render_timeline(o, a);
	put(o, "</td></tr>\n");
}

static void
render_apps(struct out *o, const struct status_page *p)
{
	put(o, "<h2 id=\"apps\">Apps</h2>\n");
	if (p->n_apps == 0) {
		put(o, "<p>No app recorded yet.</p>\n");
		return;
	}
	if (p->apps_cut)
		putf(o,
		    "<p class=\"note\">The %zu most recently deployed apps; "
		    "<code>docker-guard apps</code> lists them all.</p>\n",
		    p->n_apps);
	put(o,
	    "<table><tr><th>App</th><th>Current</th><th>Highest</th>"
	    "<th>Image</th><th>Live</th><th>Last change</th></tr>\n");
	for (size_t i = 0; i < p->n_apps; i++)
		render_app(o, &p->apps[i]);
	put(o,
	    "</table>\n<p class=\"note\">A current version <span "
	    "class=\"behind\">below the highest</span> is older than a "
	    "version this app has run: a rollback, or a downgrade allowed "
	    "by an override.</p>\n");
}

/* Who asked: "uid 1000 (docker)". */
static void
who_cell(struct out *o, const struct status_event *e)
{
	put(o, "<td class=\"w\">");
	if (e->uid >= 0)
		putf(o, "uid %lld", (long long)e->uid);
	if (e->comm != NULL && *e->comm != '\0') {
		put(o, e->uid >= 0 ? " (" : "(");
		text(o, e->comm);
		put(o, ")");
	} else if (e->uid < 0) {
		put(o, "-");
	}
	put(o, "</td>");
}

static void
events_note(struct out *o, const struct status_events *ev, const char *none,
    const char *all)
{
	if (ev->n == 0)
		putf(o, "<p>%s</p>\n", none);
	else if (ev->cut)
		putf(o,
		    "<p class=\"note\">The newest %zu; %s lists them "
		    "all.</p>\n",
		    ev->n, all);
}

/* A table of audit rows with their full messages (refusals,
 * overrides). */
static void
render_event_table(struct out *o, const struct status_events *ev,
    const char *head, const char *none, const char *all)
{
	put(o, head);
	events_note(o, ev, none, all);
	if (ev->n == 0)
		return;
	put(o,
	    "<table><tr><th>Time</th><th>App</th><th>Rule</th>"
	    "<th>Image</th><th>Client</th><th>Message</th></tr>\n");
	for (size_t i = 0; i < ev->n; i++) {
		const struct status_event *e = &ev->items[i];

		put(o, "<tr>");
		time_cell(o, e->time_ms / 1000);
		ref_cell(o, e->app);
		cell(o, e->rule);
		ref_cell(o, e->image_ref);
		who_cell(o, e);
		put(o, "<td class=\"msg\">");
		text(o, e->message);
		put(o, "</td></tr>\n");
	}
	put(o, "</table>\n");
}

static void
render_drift(struct out *o, const struct status_page *p)
{
	const struct status_events *ev = &p->drift;

	put(o, "<h2 id=\"drift\">Drift findings</h2>\n");
	events_note(o, ev, "No drift finding recorded.",
	    "<code>docker-guard audit --rule drift</code>");
	if (ev->n == 0)
		return;
	put(o,
	    "<table><tr><th>Time</th><th>App</th><th>Image</th>"
	    "<th>Finding</th></tr>\n");
	for (size_t i = 0; i < ev->n; i++) {
		const struct status_event *e = &ev->items[i];

		put(o, "<tr>");
		time_cell(o, e->time_ms / 1000);
		ref_cell(o, e->app);
		ref_cell(o, e->image_ref);
		put(o, "<td class=\"msg\">");
		text(o, e->message);
		put(o, "</td></tr>\n");
	}
	put(o, "</table>\n");
}

static void
render_engine(struct out *o, const struct status_page *p)
{
	const struct status_events *ev = &p->engine;

	put(o, "<h2 id=\"engine\">Engine version changes</h2>\n");
	events_note(o, ev, "No change of the engine's version recorded.",
	    "<code>docker-guard audit --rule engine_version</code>");
	if (ev->n == 0)
		return;
	put(o, "<ul>\n");
	for (size_t i = 0; i < ev->n; i++) {
		const struct status_event *e = &ev->items[i];

		put(o, "<li>");
		if (e->previous_version != NULL && e->version != NULL) {
			put(o, "engine ");
			text(o, e->previous_version);
			put(o, " -&gt; ");
			text(o, e->version);
		} else {
			text(o, e->message);
		}
		put(o, " at ");
		put_time(o, e->time_ms / 1000);
		put(o, "</li>\n");
	}
	put(o, "</ul>\n");
}

char *
status_page_render(const struct status_page *p, size_t *len)
{
	struct out o = { 0 };

	render_head(&o, p);
	render_health(&o, p);
	render_apps(&o, p);
	render_event_table(&o, &p->refusals,
	    "<h2 id=\"refusals\">Recent refusals</h2>\n",
	    "No refusal recorded.",
	    "<code>docker-guard audit --verdict deny</code>");
	render_event_table(&o, &p->overrides,
	    "<h2 id=\"overrides\">Recent overrides</h2>\n", "No override used.",
	    "<code>docker-guard audit --rule override</code>");
	render_drift(&o, p);
	render_engine(&o, p);
	put(&o, "</body></html>\n");
	*len = o.len;
	return o.p;
}
