/*
 * The local volume driver's mount, read for the host paths it takes
 * (moby's volume/local: mount.Mount(device, path, type, o)).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "local_volume.h"
#include "xmalloc.h"

/* File systems whose source is not a host path: memory and network. */
static const char *const no_source[] = { "tmpfs", "ramfs", "nfs", "nfs4",
	"cifs", "smb3", "overlay", NULL };
/* Disk file systems: the source is a block device (or an image file). */
static const char *const disk[] = { "ext2", "ext3", "ext4", "xfs", "btrfs",
	"vfat", "msdos", "exfat", "ntfs", "ntfs3", "f2fs", "iso9660",
	"squashfs", "udf", "jfs", "reiserfs", "hfsplus", "erofs", NULL };

static bool
listed(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
add_path(struct local_volume_paths *out, const char *s, size_t len)
{
	out->paths = xreallocarray(out->paths, out->n + 1, sizeof *out->paths);
	out->paths[out->n++] = xstrndup(s, len);
}

/* Does the comma-separated list o hold the flag (a whole element)? */
static bool
has_flag(const char *o, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *p = o; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, flag, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* An overlay's lowerdir (':'-separated), upperdir and workdir in o. */
static void
overlay_paths(const char *o, struct local_volume_paths *out)
{
	for (const char *p = o; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");
		bool lower = strncmp(p, "lowerdir=", 9) == 0 && len >= 9;

		if (lower || (strncmp(p, "upperdir=", 9) == 0 && len >= 9) ||
		    (strncmp(p, "workdir=", 8) == 0 && len >= 8)) {
			const char *v = strchr(p, '=') + 1, *end = p + len;

			while (v < end) {
				size_t n = lower ? strcspn(v, ":,")
						 : (size_t)(end - v);

				if (v + n > end)
					n = (size_t)(end - v);
				add_path(out, v, n);
				v += n + 1;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
}

void
local_volume_paths(const char *type, const char *device, const char *o,
    struct local_volume_paths *out)
{
	bool bind = has_flag(o, "bind") || has_flag(o, "rbind");
	const char *t = type != NULL ? type : "";

	memset(out, 0, sizeof *out);
	overlay_paths(o, out);
	if (device == NULL || *device == '\0')
		return;
	if (bind || *t == '\0' || strcmp(t, "none") == 0 || listed(disk, t)) {
		add_path(out, device, strlen(device));
		return;
	}
	if (!listed(no_source, t))
		out->unjudged =
		    "a file system of a type whose mount host paths "
		    "cannot describe (proc, sysfs, cgroup, devpts "
		    "... mount the host's own)";
}

void
local_volume_paths_reset(struct local_volume_paths *out)
{
	for (size_t i = 0; i < out->n; i++)
		free(out->paths[i]);
	free(out->paths);
	memset(out, 0, sizeof *out);
}
