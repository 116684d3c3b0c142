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

#endif
