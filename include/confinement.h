/*
 * What lifts a container's confinement short of Privileged: the security
 * options, masked and read-only paths of a create and the privileges of a
 * swarm service, read as the engine reads them.  Pure: strings in, a short
 * description of what is lifted out (profile.NAME.privileged = no refuses
 * each).
 */
#ifndef CONFINEMENT_H
#define CONFINEMENT_H

#include <stddef.h>

/*
 * One HostConfig.SecurityOpt entry as the engine parses it (bare
 * "no-new-privileges", "writable-cgroups" and "disable"; else key and
 * value split at the first '=', or at the first ':' when there is no
 * '='): what it lifts ("no seccomp filter"), or NULL when it lifts
 * nothing or the engine refuses it.  Static strings.
 */
const char *confinement_security_opt(const char *opt);

/*
 * A MaskedPaths or ReadonlyPaths list given in a create replaces the
 * engine's default one: the first default path the n paths leave out
 * (compared exactly), or NULL when every one is there.  Static strings.
 */
const char *confinement_masked_missing(const char *const *paths, size_t n);
const char *confinement_readonly_missing(const char *const *paths, size_t n);

/* The same for the list of a container an engine made: older engines
 * mask no /proc/interrupts (before 28) or powercap (Debian's 20.10), and
 * their own defaults are no lift. */
const char *confinement_masked_missing_made(const char *const *paths, size_t n);

/*
 * A service's TaskTemplate.ContainerSpec.Privileges: what its Seccomp
 * Mode, AppArmor Mode and SELinuxContext (Disable, or any of User, Role,
 * Type, Level given) lift, or NULL ("" and "default" modes lift
 * nothing).  Static strings.
 */
const char *confinement_seccomp_mode(const char *mode);
const char *confinement_apparmor_mode(const char *mode);
const char *confinement_selinux(int disable, const char *user, const char *role,
    const char *type, const char *level);

#endif
