/*
 * Version strings as image authors write them, compared with a total
 * order in the style of repology's libversion (doc/ALGORITHM.md):
 *
 *   31.0.9.1 > 31.0.8.1     1.10 > 1.9       v1.2 == 1.2
 *   1.0rc1 < 1.0            1.0alpha1 < 1.0beta < 1.0pre1 < 1.0rc1 < 1.0
 *   1.0 < 1.0patch1 < 1.0.1 1.0 == 1.0.0     2024.10.1 > 2024.9.30
 *
 * A suffix after the first '-' is a variant (as Docker tags use it:
 * "31.0.9-apache", "3.19-alpine"), not a pre-release, unless it is itself
 * a pre-release word ("1.0-rc1", "2.0-beta.2").  Variants do not take part
 * in the order: "31.0.8-apache" < "31.0.9-fpm".
 *
 * Package revisions follow the version (and its pre-release): "-r" and
 * digits (Alpine, "3.1.0-r2") or digits and dots (Debian, "2024.10.1-1"),
 * each up to the end or the next '-'.  They order only between equal
 * versions: 3.1.0-r1 < 3.1.0-r2 < 3.1.1, 1.0-1 < 1.0-2 < 1.0.1,
 * 1.0-r1-alpine == 1.0-r1 > 1.0-alpine.  Anything else after a '-' is a
 * variant ("1.0-1ubuntu1", "8.0.35-debian-11-r0").  Pure: no I/O.
 */
#ifndef VERSION_H
#define VERSION_H

#include <stdbool.h>
#include <stddef.h>

/* -1 if a < b, 0 if equal in order, 1 if a > b.  Never fails: any string
 * has a place in the order (NULL sorts as ""). */
int version_compare(const char *a, const char *b);

/* True if s looks like a version at all: it starts with a digit (or 'v'
 * and a digit) and is at most 128 bytes of printable ASCII.  Labels like
 * "latest" or "stable" are not versions. */
bool version_plausible(const char *s);

/*
 * Split v into the ordered part and the variant, writing into the
 * caller's buffers (truncating safely; a zero size leaves that buffer
 * alone).  "31.0.9-apache" -> "31.0.9", "apache"; "1.0-rc1" -> "1.0-rc1",
 * ""; "1.0-rc1-alpine" -> "1.0-rc1", "alpine"; "3.1.0-r2-alpine" ->
 * "3.1.0-r2", "alpine".  The suffix stays in the version when it is
 * alpha|beta|rc|pre|preview|dev (any case) followed only by digits and
 * dots, and the revisions after it stay too.
 */
void version_split_variant(const char *v, char *core, size_t core_size,
    char *variant, size_t variant_size);

#endif
