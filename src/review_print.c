/*
 * How the review commands print: tables and JSON lines, shared by the
 * local views (review.c) and the fleet views (fleet_cli.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "review_print.h"
#include "table.h"
#include "xmalloc.h"

void
review_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

void
review_short_digest(const char *d, char *buf, size_t size)
{
	const char *at;

	if (d == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	at = strchr(d, '@');
	if (at != NULL)
		d = at + 1;
	snprintf(buf, size, "%.19s", d);
}

void
review_print_table(const struct table *t)
{
	char *text = table_render(t);

	fputs(text, stdout);
	free(text);
}

void
review_print_json_line(json_t *o)
{
	char *line = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (line != NULL)
		printf("%s\n", line);
	free(line);
}

void
review_json_str(json_t *o, const char *key, const char *v)
{
	json_t *s = v != NULL ? json_string(v) : NULL;

	json_object_set_new(o, key, s != NULL ? s : json_null());
}

void
review_json_id(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, v >= 0 ? json_integer(v) : json_null());
}

/* ---- the audit listing ---- */

struct review_audit_list {
	bool json;
	bool fleet; /* a HOST column first */
	struct table *t;
};

struct review_audit_list *
review_audit_list_new(bool json, bool fleet)
{
	static const char *const headers[] = { "HOST", "TIME (UTC)", "VERDICT",
		"RULE", "APP", "IMAGE", "VERSION", "PREVIOUS", "CLIENT",
		"MESSAGE" };
	struct review_audit_list *l = xcalloc(1, sizeof *l);

	l->json = json;
	l->fleet = fleet;
	if (!json)
		l->t = fleet ? table_new(headers, 10)
			     : table_new(headers + 1, 9);
	return l;
}

void
review_audit_list_end(struct review_audit_list *l, bool print)
{
	if (l == NULL)
		return;
	if (print && l->t != NULL)
		review_print_table(l->t);
	table_free(l->t);
	free(l);
}

void
review_audit_list_add(struct review_audit_list *c,
    const struct store_audit_row *r, const char *host)
{
	char when[40], who[96], digest[32], ms[64];
	const char *cells[10], **cell = cells;

	if (c->json) {
		json_t *o = json_object();

		if (c->fleet)
			review_json_str(o, "host", host);
		json_object_set_new(o, "id", json_integer(r->id));
		review_format_time(r->time_ms / 1000, when, sizeof when);
		snprintf(ms, sizeof ms, "%s.%03lldZ", when,
		    (long long)(r->time_ms % 1000));
		ms[10] = 'T';
		review_json_str(o, "time", ms);
		review_json_id(o, "uid", r->uid);
		review_json_id(o, "gid", r->gid);
		review_json_id(o, "pid", r->pid);
		review_json_str(o, "process", r->comm);
		review_json_str(o, "method", r->method);
		review_json_str(o, "route", r->route);
		review_json_str(o, "app", r->app);
		review_json_str(o, "image", r->image_ref);
		review_json_str(o, "digest", r->digest);
		review_json_str(o, "version", r->version);
		review_json_str(o, "previous_version", r->previous_version);
		review_json_str(o, "rule", r->rule);
		review_json_str(o, "verdict", r->verdict);
		review_json_str(o, "message", r->message);
		json_object_set_new(o, "latency_us",
		    json_integer(r->latency_us));
		review_json_str(o, "hash", r->hash);
		review_print_json_line(o);
		return;
	}
	review_format_time(r->time_ms / 1000, when, sizeof when);
	if (r->uid >= 0)
		snprintf(who, sizeof who, "uid %lld %s[%lld]",
		    (long long)r->uid, r->comm ? r->comm : "?",
		    (long long)r->pid);
	else
		snprintf(who, sizeof who, "-");
	review_short_digest(r->digest, digest, sizeof digest);
	if (c->fleet)
		*cell++ = host;
	cell[0] = when;
	cell[1] = r->verdict;
	cell[2] = r->rule;
	cell[3] = r->app;
	cell[4] = r->image_ref;
	cell[5] = r->version;
	cell[6] = r->previous_version;
	cell[7] = who;
	cell[8] = r->message;
	table_add(c->t, cells);
}
