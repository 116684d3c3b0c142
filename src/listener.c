#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "sd_daemon.h"
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
	return listener_open_path(cfg, cfg->listen, cause);
}

int
listener_open_path(const struct guard_config *cfg, const char *path,
    char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	struct group *gr = NULL;
	mode_t old_umask;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = xasprintf("listen path %s is too long", path);
		return -1;
	}
	if (same_file(path, cfg->upstream)) {
		*cause = xasprintf("listen and upstream are the same socket "
				   "(%s): the guard would forward to itself",
		    path);
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
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*cause = xasprintf("%s exists and is not a socket; "
					   "not replacing it",
			    path);
			return -1;
		}
		if (socket_is_live(path)) {
			*cause = xasprintf("another process is listening on "
					   "%s",
			    path);
			return -1;
		}
		log_info("replacing stale socket %s", path);
		if (unlink(path) != 0) {
			*cause = xasprintf("cannot remove stale socket %s: %s",
			    path, strerror(errno));
			return -1;
		}
	}

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	/* Nobody may connect before the mode and group are right. */
	old_umask = umask(0777);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		umask(old_umask);
		*cause = xasprintf("cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) != 0) {
		*cause = xasprintf("cannot give %s to group %s: %s", path,
		    cfg->socket_group, strerror(errno));
		goto fail;
	}
	if (chmod(path, (mode_t)cfg->socket_mode) != 0) {
		*cause = xasprintf("cannot chmod %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		*cause = xasprintf("cannot listen on %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

/* The name of a bound Unix socket: its path, "@name" when abstract,
   "(unnamed)"; allocated. */
static char *
socket_name(int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	size_t off = offsetof(struct sockaddr_un, sun_path);

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) != 0 || len <= off ||
	    (sun.sun_path[0] == '\0' && len <= off + 1))
		return xstrdup("(unnamed)");
	if (sun.sun_path[0] == '\0')
		return xasprintf("@%.*s", (int)(len - off - 1),
		    sun.sun_path + 1);
	return xasprintf("%.*s", (int)(len - off), sun.sun_path);
}

/* Is fd a listening AF_UNIX stream socket?  NULL, or why not (static). */
static const char *
not_a_listener(int fd)
{
	struct stat st;
	int v[3];
	socklen_t len;
	const int opt[3] = { SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN };

	if (fstat(fd, &st) != 0)
		return "it is not an open descriptor";
	if (!S_ISSOCK(st.st_mode))
		return "it is not a socket";
	for (int i = 0; i < 3; i++) {
		len = sizeof v[i];
		if (getsockopt(fd, SOL_SOCKET, opt[i], &v[i], &len) != 0)
			return "its socket options cannot be read";
	}
	if (v[0] != AF_UNIX)
		return "it is not a Unix socket (ListenStream= must be a path)";
	if (v[1] != SOCK_STREAM)
		return "it is not a stream socket (ListenStream=, not "
		       "ListenDatagram= or ListenSequentialPacket=)";
	if (v[2] == 0)
		return "it is not listening (Accept=no is needed)";
	return NULL;
}

/* Nonblocking and close-on-exec; 0 or -1 (errno). */
static int
listener_fd_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) != 0)
		return -1;
	return 0;
}

/* How many sockets systemd passed us, the environment then cleared;
   -1 with *cause. */
static int
activated_count(char **cause)
{
	int n = 0;
	int r = sd_listen_parse(getenv("LISTEN_PID"), getenv("LISTEN_FDS"),
	    (long)getpid(), &n, cause);

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (r != 0)
		return -1;
	if (n > 1) {
		*cause = xasprintf("systemd passed %d sockets (LISTEN_FDS=%d); "
				   "docker-guard serves exactly one: give its "
				   ".socket unit a single ListenStream=",
		    n, n);
		return -1;
	}
	return n;
}

int
listener_activated(const struct guard_config *cfg, char **name, char **cause)
{
	const int fd = SD_LISTEN_FDS_START;
	const char *why;
	int n = activated_count(cause);

	if (n <= 0)
		return n;
	if ((why = not_a_listener(fd)) != NULL) {
		*cause = xasprintf("socket activation: fd %d from systemd "
				   "cannot serve: %s",
		    fd, why);
		return -1;
	}
	if (listener_fd_flags(fd) != 0) {
		*cause = xasprintf("socket activation: fd %d: %s", fd,
		    strerror(errno));
		return -1;
	}
	*name = socket_name(fd);
	if ((*name)[0] == '/' && same_file(*name, cfg->upstream)) {
		*cause = xasprintf("socket activation: the socket from "
				   "systemd (%s) is upstream itself: the "
				   "guard would forward to itself; move the "
				   "engine's socket (docker.socket.d)",
		    *name);
		free(*name);
		*name = NULL;
		return -1;
	}
	return fd;
}
