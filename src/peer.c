#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "peer.h"

size_t
peer_groups_read(int fd, gid_t *groups, size_t max)
{
#ifdef SO_PEERGROUPS
	socklen_t len = (socklen_t)(max * sizeof(gid_t));

	/* Too small a buffer: ERANGE, and len says what it takes. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0 &&
	    errno != ERANGE)
		return 0;
	return len / sizeof(gid_t);
#else
	(void)fd;
	(void)groups;
	(void)max;
	return 0;
#endif
}

void
peer_cred_read(int fd, struct peer_cred *out)
{
	struct ucred uc;
	socklen_t len = sizeof uc;
	char path[64];
	ssize_t n;
	int cfd;

	memset(out, 0, sizeof *out);
	strcpy(out->comm, "?");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return;
	out->pid = uc.pid;
	out->uid = uc.uid;
	out->gid = uc.gid;
	snprintf(path, sizeof path, "/proc/%ld/comm", (long)uc.pid);
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return;
	n = read(cfd, out->comm, sizeof out->comm - 1);
	close(cfd);
	if (n <= 0) {
		strcpy(out->comm, "?");
		return;
	}
	out->comm[n] = '\0';
	out->comm[strcspn(out->comm, "\n")] = '\0';
	for (char *p = out->comm; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	}
}
