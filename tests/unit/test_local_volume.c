#include <stddef.h>
#include <string.h>

#include "check.h"
#include "local_volume.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A local volume's options: the host paths its mount reads, joined with
 * '|', or "!" when it mounts a kernel file system paths cannot describe. */
static const struct {
	const char *type, *device, *o;
	const char *want;
} rows[] = {
	{ NULL, NULL, NULL, "" },
	{ "none", "/srv/x", "bind", "/srv/x" },
	{ "none", "etc", "bind", "etc" }, /* relative: dockerd's cwd */
	{ NULL, "/etc", "rbind,ro", "/etc" },
	{ NULL, "/etc", NULL, "/etc" },
	{ "tmpfs", "tmpfs", "size=1m", "" },
	{ "tmpfs", "/etc", "bind", "/etc" }, /* a bind whatever the type */
	{ "tmpfs", "/etc", "nobind", "" },
	{ "nfs", ":/export", "addr=10.0.0.1", "" },
	{ "cifs", "//server/share", "username=u", "" },
	{ "ext4", "/dev/sdb1", NULL, "/dev/sdb1" },
	{ "xfs", "dev/sdb1", NULL, "dev/sdb1" },
	{ "overlay", "overlay", "lowerdir=/srv/a:/srv/b,upperdir=/srv/u,"
	    "workdir=/srv/w", "/srv/a|/srv/b|/srv/u|/srv/w" },
	{ "overlay", "overlay", "ro,lowerdir=/etc", "/etc" },
	{ "overlay", "overlay", "lowerdir=", "" },
	{ "proc", "proc", NULL, "!" },
	{ "sysfs", "sysfs", NULL, "!" },
	{ "cgroup", "cgroup", "memory", "!" },
	{ "fuse.sshfs", "u@h:/", NULL, "!" },
	{ "proc", NULL, NULL, "" }, /* the engine refuses: no device */
	{ "proc", "proc", "upperdir=/etc", "/etc|!" },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < NITEMS(rows); i++) {
		struct local_volume_paths lv;
		char got[256] = "";

		local_volume_paths(rows[i].type, rows[i].device, rows[i].o,
		    &lv);
		for (size_t j = 0; j < lv.n; j++) {
			if (j > 0)
				strcat(got, "|");
			strcat(got, lv.paths[j]);
		}
		if (lv.unjudged != NULL)
			strcat(got, *got != '\0' ? "|!" : "!");
		CHECKF(strcmp(got, rows[i].want) == 0,
		    "row %zu: got \"%s\", want \"%s\"", i, got, rows[i].want);
		local_volume_paths_reset(&lv);
	}
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
};

int
main(void)
{
	return CHECK_RUN("local_volume", cases);
}
