/*
 * What a volume of the local driver mounts from the host, read from its
 * options as the driver and mount(2) read them: "device" given to
 * mount(2) as the source, "type" as the file system, "o" as flags and
 * data.  Pure: strings in, host paths (as written) out.
 */
#ifndef LOCAL_VOLUME_H
#define LOCAL_VOLUME_H

#include <stddef.h>

struct local_volume_paths {
	char **paths; /* host paths the mount reads, as written; a relative
			 one is read from the engine's working directory */
	size_t n;
	const char *unjudged; /* why host paths cannot say what it mounts
				 (a kernel file system of the host's), or
				 NULL; static */
};

/*
 * The host paths a local volume with these options (each may be NULL)
 * mounts: the device of a bind (o holds bind or rbind, or no type or
 * "none") or of a disk file system (ext4, xfs, ...), and an overlay's
 * lowerdir, upperdir and workdir.  tmpfs and network file systems (nfs,
 * cifs) mount none.  Any other type (proc, sysfs, cgroup, devpts, ...)
 * mounts a kernel file system as dockerd sees it, the host's: *unjudged
 * says so.  Fills *out (reset with local_volume_paths_reset).
 */
void local_volume_paths(const char *type, const char *device, const char *o,
    struct local_volume_paths *out);
void local_volume_paths_reset(struct local_volume_paths *out);

#endif
