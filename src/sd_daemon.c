#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sd_daemon.h"
#include "xmalloc.h"

/* A decimal number without sign, spaces or leading junk; -1 if not. */
static long
parse_decimal(const char *s)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return v;
}

int
sd_listen_parse(const char *listen_pid, const char *listen_fds, long pid,
    int *n, char **cause)
{
	long want, fds;

	*n = 0;
	if (listen_pid == NULL)
		return 0;
	if ((want = parse_decimal(listen_pid)) <= 0) {
		*cause = xasprintf("LISTEN_PID=%s is not a process id",
		    listen_pid);
		return -1;
	}
	if (want != pid)
		return 0;
	if (listen_fds == NULL) {
		*cause = xstrdup("LISTEN_PID names this process but "
				 "LISTEN_FDS is not set");
		return -1;
	}
	fds = parse_decimal(listen_fds);
	if (fds < 0 || fds > INT_MAX - SD_LISTEN_FDS_START) {
		*cause = xasprintf("LISTEN_FDS=%s is not a number of "
				   "descriptors",
		    listen_fds);
		return -1;
	}
	*n = (int)fds;
	return 0;
}

int
sd_notify_addr(const char *value, struct sockaddr_un *sun, socklen_t *len,
    char **cause)
{
	size_t l = value != NULL ? strlen(value) : 0;

	if (l == 0 || (value[0] != '/' && value[0] != '@')) {
		*cause = xasprintf("NOTIFY_SOCKET=%s is neither an absolute "
				   "path nor an abstract '@' name",
		    value != NULL ? value : "");
		return -1;
	}
	if (l > sizeof sun->sun_path - (value[0] == '/') || l < 2) {
		*cause = xasprintf("NOTIFY_SOCKET=%s: %s", value,
		    l < 2 ? "it names no socket"
			  : "too long for a Unix socket");
		return -1;
	}
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, value, l);
	if (value[0] == '@') {
		sun->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l);
	} else
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + l +
		    1);
	return 0;
}
