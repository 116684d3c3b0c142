/*
 * Diagnostics on stderr, one line each, with a level.  The audit trail is
 * not here: decisions are data and go to the store whatever the level.
 */
#ifndef LOG_H
#define LOG_H

#include "config.h"

/* Lines below level are dropped from now on (default: info). */
void log_set_level(enum log_level level);
/* From now on, lines are text (default) or JSON; whether stderr is the
 * journal (JOURNAL_STREAM) is checked again at the next line. */
void log_set_format(enum log_format format);
/* These four: one line on stderr if the level is on, as log_format.h
 * makes it ("<UTC time> docker-guard <level>: <message>" in text; "<N>"
 * and no time when stderr is the journal; one JSON object in json),
 * every message cut at LOG_FORMAT_LINE_MAX.  Never fail, never exit;
 * errno is kept. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1): only at start-up or for broken invariants. */
void
fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
