/*
 * Who is on the other end of a Unix socket: SO_PEERCRED plus the process
 * name from /proc, kept for the audit trail.
 */
#ifndef PEER_H
#define PEER_H

#include <sys/types.h>

struct peer_cred {
	pid_t pid; /* 0 when unknown */
	uid_t uid;
	gid_t gid;
	char comm[32]; /* process name, "?" when unknown */
};

/* Fill *out for the connected Unix socket fd; unknown fields stay zero
 * and comm "?". */
void peer_cred_read(int fd, struct peer_cred *out);

#endif
