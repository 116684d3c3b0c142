#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;

void
log_set_level(enum log_level level)
{
	log_level = level;
}

static void
log_vwrite(const char *tag, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	char when[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ docker-guard %s: ", when,
	    (long)(tv.tv_usec / 1000), tag);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
}

#define LOG_FN(name, level, tag)            \
	void name(const char *fmt, ...)     \
	{                                   \
		va_list ap;                 \
                                            \
		if (log_level < (level))    \
			return;             \
		va_start(ap, fmt);          \
		log_vwrite((tag), fmt, ap); \
		va_end(ap);                 \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, "error")
LOG_FN(log_warn, LOG_LEVEL_WARN, "warning")
LOG_FN(log_info, LOG_LEVEL_INFO, "info")
LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug")

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap);
	va_end(ap);
	exit(1);
}
