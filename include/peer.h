/*
 * Who is on the other end of a Unix socket: SO_PEERCRED plus the process
 * name from /proc, kept for the audit trail.
 */
#ifndef PEER_H
#define PEER_H

#include <sys/types.h>

#include <stddef.h>

struct peer_cred {
	pid_t pid; /* 0 when unknown */
	uid_t uid;
	gid_t gid;
	char comm[32]; /* process name, "?" when unknown */
};

/* Fill *out for the connected Unix socket fd; unknown fields stay zero
 * and comm "?". */
void peer_cred_read(int fd, struct peer_cred *out);

/* The supplementary groups of the client on the Unix socket fd, as they
 * were when it connected (SO_PEERGROUPS), read only when a profile is
 * chosen.  Stores the first max of them in groups and returns how many
 * there are in all (more than max: call again with room for that many);
 * 0 when there are none or they cannot be read. */
size_t peer_groups_read(int fd, gid_t *groups, size_t max);

#endif
