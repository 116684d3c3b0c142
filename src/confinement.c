/*
 * The engine's own reading of confinement options (moby's
 * parseSecurityOpt, its default masked and read-only paths, swarm's
 * privileges), kept apart so that the body reader only collects strings.
 */
#include <stdbool.h>
#include <string.h>

#include "confinement.h"

/* The paths the engine masks or makes read-only unless a create names its
 * own list (moby's oci.DefaultSpec; /proc/interrupts since 28): a list
 * that leaves one out is refused, whatever the engine's version. */
static const char *const masked_defaults[] = { "/proc/asound", "/proc/acpi",
	"/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap", "/proc/interrupts", NULL };
static const char *const readonly_defaults[] = { "/proc/bus", "/proc/fs",
	"/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

/* Go's strconv.ParseBool true spellings. */
static bool
go_true(const char *v)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True",
		NULL };

	for (size_t i = 0; t[i] != NULL; i++)
		if (strcmp(v, t[i]) == 0)
			return true;
	return false;
}

/* Every SELinux label option is a choice the engine would otherwise
 * make: a type (spc_t), a level (s0:c0.c1023 reads every container's
 * files), a user or role. */
static const char *
label_lifts(const char *v)
{
	if (strcmp(v, "disable") == 0)
		return "SELinux labels disabled";
	if (strncmp(v, "nested", 6) == 0)
		return "SELinux labels the container may change";
	return "an SELinux label of its choosing";
}

static const char *
seccomp_lifts(const char *v)
{
	if (strcmp(v, "unconfined") == 0)
		return "no seccomp filter";
	if (*v == '\0' || strcmp(v, "builtin") == 0)
		return NULL;
	return "a seccomp profile of its own";
}

static const char *
key_lifts(const char *key, size_t klen, const char *v)
{
	if (klen == 5 && strncmp(key, "label", 5) == 0)
		return label_lifts(v);
	if (klen == 8 && strncmp(key, "apparmor", 8) == 0)
		return strcmp(v, "unconfined") == 0 ? "no AppArmor profile"
						    : NULL;
	if (klen == 7 && strncmp(key, "seccomp", 7) == 0)
		return seccomp_lifts(v);
	if (klen == 16 && strncmp(key, "writable-cgroups", 16) == 0)
		return go_true(v) ? "a writable cgroup file system" : NULL;
	return NULL;
}

const char *
confinement_security_opt(const char *opt)
{
	const char *sep;

	if (strcmp(opt, "writable-cgroups") == 0)
		return "a writable cgroup file system";
	if (strcmp(opt, "disable") == 0)
		return "SELinux labels disabled";
	if ((sep = strchr(opt, '=')) == NULL)
		sep = strchr(opt, ':');
	if (sep == NULL)
		return NULL;
	return key_lifts(opt, (size_t)(sep - opt), sep + 1);
}

/* Paths an engine's own defaults may lack, by its version (Debian's
 * 20.10 masks neither): not a lift in a container the engine made. */
static const char *const newer_defaults[] = { "/sys/devices/virtual/powercap",
	"/proc/interrupts", NULL };

static bool
is_newer_default(const char *path)
{
	for (size_t i = 0; newer_defaults[i] != NULL; i++)
		if (strcmp(path, newer_defaults[i]) == 0)
			return true;
	return false;
}

static const char *
first_missing(const char *const *defaults, const char *const *paths, size_t n,
    bool made)
{
	for (size_t i = 0; defaults[i] != NULL; i++) {
		if (made && is_newer_default(defaults[i]))
			continue;
		size_t j = 0;

		while (j < n &&
		    (paths[j] == NULL || strcmp(paths[j], defaults[i]) != 0))
			j++;
		if (j == n)
			return defaults[i];
	}
	return NULL;
}

const char *
confinement_masked_missing(const char *const *paths, size_t n)
{
	return first_missing(masked_defaults, paths, n, false);
}

const char *
confinement_masked_missing_made(const char *const *paths, size_t n)
{
	return first_missing(masked_defaults, paths, n, true);
}

const char *
confinement_readonly_missing(const char *const *paths, size_t n)
{
	return first_missing(readonly_defaults, paths, n, false);
}

static bool
default_mode(const char *mode)
{
	return mode == NULL || *mode == '\0' || strcmp(mode, "default") == 0;
}

const char *
confinement_seccomp_mode(const char *mode)
{
	if (default_mode(mode))
		return NULL;
	return strcmp(mode, "unconfined") == 0 ? "no seccomp filter"
					       : "a seccomp profile of its own";
}

const char *
confinement_apparmor_mode(const char *mode)
{
	return default_mode(mode) ? NULL : "no AppArmor profile";
}

static bool
given(const char *s)
{
	return s != NULL && *s != '\0';
}

const char *
confinement_selinux(int disable, const char *user, const char *role,
    const char *type, const char *level)
{
	if (disable)
		return "SELinux labels disabled";
	if (given(user) || given(role) || given(type) || given(level))
		return "an SELinux label of its choosing";
	return NULL;
}
