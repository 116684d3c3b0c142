#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "peer.h"

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
