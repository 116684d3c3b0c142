/*
 * Allocation wrappers that never return NULL: on out-of-memory they print
 * a message and exit.  Every growable buffer in docker-guard has a hard cap
 * elsewhere, so running out here means the machine is out of memory.
 */
#ifndef XMALLOC_H
#define XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* As malloc(3) and calloc(3) (a size of 0 still gives a pointer to
 * free); xcalloc exits on nmemb * size overflow.  Caller frees. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
/* As realloc(3) and reallocarray(3): ptr is gone, the result is the
 * caller's.  xreallocarray exits on nmemb * size overflow. */
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
/* A copy of s (of at most its first n bytes, NUL-terminated).  Caller
 * frees. */
char *xstrdup(const char *s);
/* xstrdup(s), or NULL for s NULL. */
char *xstrdup_or_null(const char *s);
char *xstrndup(const char *s, size_t n);
/* The formatted string, allocated.  Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *
xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
