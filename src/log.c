#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "log.h"
#include "log_format.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static enum log_format log_format = LOG_FORMAT_TEXT;
static int log_journal = -1; /* stderr is the journal's: -1 not known yet */

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_set_format(enum log_format format)
{
	log_format = format;
	log_journal = -1;
}

/* Whether stderr is the stream systemd's journal gave us (systemd.exec(5):
   JOURNAL_STREAM names its device and inode; a redirected stderr is not). */
static bool
log_on_journal(void)
{
	unsigned long long dev, ino;
	struct stat st;

	if (log_journal < 0)
		log_journal = log_format_journal_stream(getenv(
							    "JOURNAL_STREAM"),
				  &dev, &ino) == 0 &&
		    fstat(STDERR_FILENO, &st) == 0 &&
		    (unsigned long long)st.st_dev == dev &&
		    (unsigned long long)st.st_ino == ino;
	return log_journal == 1;
}

static void
log_vwrite(const char *tag, int priority, const char *fmt, va_list ap)
{
	static char msg[LOG_FORMAT_LINE_MAX + 1], line[LOG_FORMAT_LINE_MAX + 1];
	struct log_record r = { 0, 0, tag, priority, msg, 0 };
	int saved = errno, n;
	struct timeval tv;
	size_t len;

	if ((n = vsnprintf(msg, sizeof msg, fmt, ap)) < 0) {
		msg[0] = '\0';
		n = 0;
	}
	r.msg_len = (size_t)n;
	gettimeofday(&tv, NULL);
	r.sec = tv.tv_sec;
	r.msec = (unsigned)(tv.tv_usec / 1000);
	len = log_format_line(log_format, log_on_journal(), &r, line);
	fwrite(line, 1, len, stderr);
	fflush(stderr);
	errno = saved;
}

#define LOG_FN(name, level, tag, priority)              \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
                                                        \
		if (log_level < (level))                \
			return;                         \
		va_start(ap, fmt);                      \
		log_vwrite((tag), (priority), fmt, ap); \
		va_end(ap);                             \
	}

/* The priorities are syslog's (sd-daemon(3): SD_ERR, SD_WARNING, ...). */
LOG_FN(log_error, LOG_LEVEL_ERROR, "error", 3)
LOG_FN(log_warn, LOG_LEVEL_WARN, "warning", 4)
LOG_FN(log_info, LOG_LEVEL_INFO, "info", 6)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug", 7)

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite("fatal", 2, fmt, ap);
	va_end(ap);
	exit(1);
}
