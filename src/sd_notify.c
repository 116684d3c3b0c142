#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "sd_daemon.h"
#include "sd_notify.h"
#include "xmalloc.h"

/* A failure is logged once: a manager that stopped listening must not
   fill the log at every reload. */
static bool notify_failed_logged;

static void
notify_failed(const char *why)
{
	if (notify_failed_logged)
		return;
	notify_failed_logged = true;
	log_warn("cannot notify the service manager (NOTIFY_SOCKET): %s; "
		 "going on without it",
	    why);
}

bool
sd_notify_send(const char *state)
{
	const char *value = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	char *cause = NULL;
	ssize_t n;
	int fd;

	if (value == NULL)
		return false;
	if (sd_notify_addr(value, &sun, &len, &cause) != 0) {
		notify_failed(cause);
		free(cause);
		return false;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		notify_failed(strerror(errno));
		return false;
	}
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sun, len);
	if (n < 0)
		notify_failed(strerror(errno));
	close(fd);
	return n >= 0;
}

void
sd_notify_reloading(void)
{
	struct timespec ts;
	char buf[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	sd_notify_send(buf);
}
