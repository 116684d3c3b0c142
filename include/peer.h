/*
 * Who is on the other end of a Unix socket: SO_PEERCRED plus the process
 * name from /proc, kept for the audit trail.
 */
#ifndef PEER_H
#define PEER_H

#include <sys/types.h>

#include <stddef.h>

/* Supplementary groups kept per client (profiles match on them). */
#define PEER_MAX_GROUPS 64

struct peer_cred {
	pid_t pid; /* 0 when unknown */
	uid_t uid;
	gid_t gid;
	char comm[32]; /* process name, "?" when unknown */
	/* Supplementary groups (SO_PEERGROUPS), the first
	   PEER_MAX_GROUPS of them. */
	gid_t groups[PEER_MAX_GROUPS];
	size_t n_groups;
};

/* Fill *out for the connected Unix socket fd; unknown fields stay zero
 * and comm "?". */
void peer_cred_read(int fd, struct peer_cred *out);

#endif
