/*
 * The guard's listening Unix socket.
 */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdbool.h>

struct guard_config;

/*
 * Create, bind and listen on cfg->listen with cfg->socket_mode and group.
 * A stale socket file (nobody accepting) is replaced; a live one is not.
 * Refuses listen == upstream.  Returns the fd, or -1 with an allocated
 * *cause.
 */
int listener_open(const struct guard_config *cfg, char **cause);

/* The same for another socket at path (listen_profiles), with
 * cfg->socket_mode and socket_group. */
int listener_open_path(const struct guard_config *cfg, const char *path,
    char **cause);

/*
 * Socket activation: the listening socket systemd passed as fd 3 when
 * LISTEN_PID is this process and LISTEN_FDS is at least 1.  Checks that it
 * is a listening AF_UNIX SOCK_STREAM socket that is not cfg->upstream,
 * makes it nonblocking and close-on-exec, and unsets LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES in every case (children must not take
 * them).  More than one socket is refused: the guard serves one.  Returns
 * the fd with its name (getsockname: a path, "@name" or "(unnamed)",
 * allocated) in *name; 0 when the guard was not activated (bind
 * cfg->listen with listener_open()); -1 with an allocated *cause.  The
 * fd is the caller's; its path is systemd's and never to be unlinked.
 */
int
listener_activated(const struct guard_config *cfg, char **name, char **cause);

#endif
