#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "peer.h"

/* SO_PEERGROUPS (Linux 4.13): the client's supplementary groups as they
 * were when it connected; more than PEER_MAX_GROUPS: the first ones. */
static void
peer_groups_read(int fd, struct peer_cred *out)
{
#ifdef SO_PEERGROUPS
	gid_t big[1024];
	socklen_t len = sizeof big;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, big, &len) != 0)
		return;
	out->n_groups = len / sizeof(gid_t);
	if (out->n_groups > PEER_MAX_GROUPS)
		out->n_groups = PEER_MAX_GROUPS;
	memcpy(out->groups, big, out->n_groups * sizeof(gid_t));
#else
	(void)fd;
	(void)out;
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
	peer_groups_read(fd, out);
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
