/*
 * Times as operators type them on the command line: durations back from
 * now ("24h", "30m", "7d", "1w", "1h30m", "90s") and timestamps in UTC
 * ("2026-11-20", "2026-11-20 10:04", "2026-11-20T10:04:05Z", "@<unix>").
 * Pure: now is given.
 */
#ifndef TIMESPEC_H
#define TIMESPEC_H

#include <stdint.h>

/* Parse s into unix seconds; 0 on success, -1 if s is neither form. */
int timespec_parse(const char *s, int64_t now, int64_t *out);

#endif
