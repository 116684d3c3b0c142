/*
 * How the review commands print (audit, history, apps, and their --fleet
 * views): aligned tables (table.h) on stdout, or one JSON object a line.
 */
#ifndef REVIEW_PRINT_H
#define REVIEW_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct table;

/* "YYYY-MM-DD HH:MM:SS" (UTC) of t (unix seconds) into buf, or "-" for
 * t <= 0. */
void review_format_time(int64_t t, char *buf, size_t size);
/* "sha256:1a2b3c4d5e6f" of a long digest (of the part after '@' if any)
 * into buf, or "-" for NULL. */
void review_short_digest(const char *d, char *buf, size_t size);
/* Render t on stdout. */
void review_print_table(const struct table *t);
/* Print o as one compact JSON line, and drop the caller's reference. */
void review_print_json_line(json_t *o);
/* Set o's key to the string v, or to null for NULL. */
void review_json_str(json_t *o, const char *key, const char *v);

/* Set o[key] to the ID v (a uid, gid or pid) as an integer, or to null
 * when it is unknown (negative). */
void review_json_id(json_t *o, const char *key, long long v);

/* The audit listing: a table, or JSON lines printed as rows come; with
 * fleet set, a HOST column first (JSON: "host").  Caller ends it with
 * review_audit_list_end. */
struct review_audit_list;
struct review_audit_list *review_audit_list_new(bool json, bool fleet);
/* Add row r (borrowed for the call) of host (NULL unless fleet). */
void review_audit_list_add(struct review_audit_list *l,
    const struct store_audit_row *r, const char *host);
/* Print the table when print is set, and free l (NULL is ignored). */
void review_audit_list_end(struct review_audit_list *l, bool print);

#endif
