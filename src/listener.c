#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "xmalloc.h"

static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Is someone accepting on the socket at path? */
static bool
socket_is_live(const char *path)
{
	struct sockaddr_un sun;
	int fd, r;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	return r == 0;
}

int
listener_open(const struct guard_config *cfg, char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	struct group *gr = NULL;
	mode_t old_umask;
	int fd;

	if (strlen(cfg->listen) >= sizeof sun.sun_path) {
		*cause = xasprintf("listen path %s is too long", cfg->listen);
		return -1;
	}
	if (same_file(cfg->listen, cfg->upstream)) {
		*cause = xasprintf("listen and upstream are the same socket "
				   "(%s): the guard would forward to itself",
		    cfg->listen);
		return -1;
	}
	if (cfg->socket_group[0] != '\0') {
		gr = getgrnam(cfg->socket_group);
		if (gr == NULL && cfg->socket_group_explicit) {
			*cause = xasprintf("socket_group %s does not exist",
			    cfg->socket_group);
			return -1;
		}
	}
	if (lstat(cfg->listen, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = xasprintf("%s exists and is not a socket; "
					   "not replacing it",
			    cfg->listen);
			return -1;
		}
		if (socket_is_live(cfg->listen)) {
			*cause = xasprintf("another process is listening on "
					   "%s",
			    cfg->listen);
			return -1;
		}
		log_info("replacing stale socket %s", cfg->listen);
		if (unlink(cfg->listen) != 0) {
			*cause = xasprintf("cannot remove stale socket %s: %s",
			    cfg->listen, strerror(errno));
			return -1;
		}
	}

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, cfg->listen, sizeof sun.sun_path - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect before the mode and group are right. */
	old_umask = umask(0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old_umask);
		*cause = xasprintf("cannot bind %s: %s", cfg->listen,
		    strerror(errno));
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (gr != NULL && chown(cfg->listen, (uid_t)-1, gr->gr_gid) != 0) {
		*cause = xasprintf("cannot give %s to group %s: %s",
		    cfg->listen, cfg->socket_group, strerror(errno));
		goto fail;
	}
	if (chmod(cfg->listen, (mode_t)cfg->socket_mode) != 0) {
		*cause = xasprintf("cannot chmod %s: %s", cfg->listen,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		*cause = xasprintf("cannot listen on %s: %s", cfg->listen,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(cfg->listen);
	return -1;
}
