/*
 * The service manager's environment, read by hand (no libsystemd): the
 * sockets of socket activation (LISTEN_PID, LISTEN_FDS) and the address
 * readiness goes to (NOTIFY_SOCKET).  Pure: the caller reads the
 * environment and its own pid, and does the I/O (listener.c, sd_notify.c).
 */
#ifndef SD_DAEMON_H
#define SD_DAEMON_H

#include <sys/socket.h>
#include <sys/un.h>

/* The first descriptor systemd passes (fd 3, SD_LISTEN_FDS_START). */
#define SD_LISTEN_FDS_START 3

/*
 * How many sockets the service manager passed to process pid, from the
 * values of LISTEN_PID and LISTEN_FDS (either NULL when unset).  0 in *n
 * when the sockets are not for pid: LISTEN_PID unset or another pid's
 * (as sd_listen_fds() does), or LISTEN_FDS "0".  Returns 0, or -1 with an
 * allocated *cause when a value is malformed (not a decimal number,
 * LISTEN_FDS missing beside a matching LISTEN_PID, or more descriptors
 * than fit after fd 3).
 */
int sd_listen_parse(const char *listen_pid, const char *listen_fds, long pid,
    int *n, char **cause);

/*
 * The address of NOTIFY_SOCKET's value: an absolute path, or "@name" for
 * Linux's abstract namespace (the '@' becomes a NUL byte).  Fills *sun and
 * *len (the length to give sendto()).  Returns 0, or -1 with an allocated
 * *cause (empty, relative, too long, or another family such as "vsock:").
 */
int sd_notify_addr(const char *value, struct sockaddr_un *sun, socklen_t *len,
    char **cause);

#endif
