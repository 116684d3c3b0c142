#include <stddef.h>
#include <string.h>

#include "check.h"
#include "confinement.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* HostConfig.SecurityOpt entries, as moby's parseSecurityOpt reads them. */
static const struct {
	const char *opt;
	const char *lifts; /* NULL: nothing */
} opt_rows[] = {
	{ "seccomp=unconfined", "no seccomp filter" },
	{ "seccomp:unconfined", "no seccomp filter" }, /* old separator */
	{ "seccomp=builtin", NULL },
	{ "seccomp=", NULL },
	{ "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}",
	    "a seccomp profile of its own" },
	/* '=' comes first, so ':' does not split: the key is "seccomp" */
	{ "seccomp={\"a\":1}", "a seccomp profile of its own" },
	/* with an '=' anywhere, the split is there: key "seccomp:x" */
	{ "seccomp:x=y", NULL },
	{ "Seccomp=unconfined", NULL }, /* keys are case-sensitive */
	{ "apparmor=unconfined", "no AppArmor profile" },
	{ "apparmor:unconfined", "no AppArmor profile" },
	{ "apparmor=docker-default", NULL },
	{ "apparmor=Unconfined", NULL }, /* a profile named so */
	{ "label=disable", "SELinux labels disabled" },
	{ "label:disable", "SELinux labels disabled" },
	{ "disable", "SELinux labels disabled" },
	{ "label=type:spc_t", "an SELinux label of its choosing" },
	{ "label=level:s0:c100,c200", "an SELinux label of its choosing" },
	{ "label=user:system_u", "an SELinux label of its choosing" },
	{ "label=nested", "SELinux labels the container may change" },
	{ "no-new-privileges", NULL },
	{ "no-new-privileges=false", NULL },
	{ "no-new-privileges:true", NULL },
	{ "writable-cgroups", "a writable cgroup file system" },
	{ "writable-cgroups=true", "a writable cgroup file system" },
	{ "writable-cgroups=1", "a writable cgroup file system" },
	{ "writable-cgroups=T", "a writable cgroup file system" },
	{ "writable-cgroups=false", NULL },
	{ "writable-cgroups=yes", NULL },   /* the engine refuses it */
	{ "systempaths=unconfined", NULL }, /* the CLI's; the engine refuses */
	{ "unknown", NULL },
	{ "", NULL },
};

static void
test_security_opt(void)
{
	for (size_t i = 0; i < NITEMS(opt_rows); i++) {
		const char *got = confinement_security_opt(opt_rows[i].opt);

		if (opt_rows[i].lifts == NULL)
			CHECK(got == NULL);
		else
			CHECK_STR_EQ(got, opt_rows[i].lifts);
	}
}

static void
test_default_paths(void)
{
	const char *masked[] = { "/proc/asound", "/proc/acpi", "/proc/kcore",
		"/proc/keys", "/proc/latency_stats", "/proc/timer_list",
		"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
		"/proc/interrupts", "/extra" };
	const char *readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq",
		"/proc/sys", "/proc/sysrq-trigger", "/extra" };
	const char *respelled[] = { "/proc/bus", "/proc/fs", "/proc/irq",
		"/proc//sys", "/proc/sysrq-trigger" };
	const char *with_null[] = { NULL, "/proc/bus" };

	CHECK(confinement_masked_missing(masked, NITEMS(masked)) == NULL);
	CHECK(confinement_readonly_missing(readonly, NITEMS(readonly)) == NULL);
	/* An empty list (--security-opt systempaths=unconfined). */
	CHECK_STR_EQ(confinement_masked_missing(NULL, 0), "/proc/asound");
	CHECK_STR_EQ(confinement_readonly_missing(NULL, 0), "/proc/bus");
	/* Every default counts, the last one too. */
	CHECK_STR_EQ(confinement_masked_missing(masked, 10),
	    "/sys/devices/virtual/powercap");
	/* The engine's list before 28 leaves /proc/interrupts out. */
	CHECK_STR_EQ(confinement_masked_missing(masked, 11),
	    "/proc/interrupts");
	CHECK_STR_EQ(confinement_readonly_missing(readonly + 1, 5),
	    "/proc/bus");
	/* A container the engine made shows the engine's own defaults:
	   older ones lack powercap and /proc/interrupts. */
	CHECK(confinement_masked_missing_made(masked, 10) == NULL);
	CHECK_STR_EQ(confinement_masked_missing_made(masked + 1, 9),
	    "/proc/asound");
	/* Compared exactly: another spelling is not the default. */
	CHECK_STR_EQ(confinement_readonly_missing(respelled, 5), "/proc/sys");
	CHECK_STR_EQ(confinement_readonly_missing(with_null, 2), "/proc/fs");
}

static void
test_service_privileges(void)
{
	CHECK(confinement_seccomp_mode(NULL) == NULL);
	CHECK(confinement_seccomp_mode("") == NULL);
	CHECK(confinement_seccomp_mode("default") == NULL);
	CHECK_STR_EQ(confinement_seccomp_mode("unconfined"),
	    "no seccomp filter");
	CHECK_STR_EQ(confinement_seccomp_mode("custom"),
	    "a seccomp profile of its own");
	CHECK_STR_EQ(confinement_seccomp_mode("Unconfined"),
	    "a seccomp profile of its own");
	CHECK(confinement_apparmor_mode("default") == NULL);
	CHECK_STR_EQ(confinement_apparmor_mode("disabled"),
	    "no AppArmor profile");
	CHECK(confinement_selinux(0, NULL, NULL, NULL, NULL) == NULL);
	CHECK(confinement_selinux(0, "", "", "", "") == NULL);
	CHECK_STR_EQ(confinement_selinux(1, NULL, NULL, NULL, NULL),
	    "SELinux labels disabled");
	CHECK_STR_EQ(confinement_selinux(0, NULL, NULL, "spc_t", NULL),
	    "an SELinux label of its choosing");
	CHECK_STR_EQ(confinement_selinux(0, NULL, NULL, NULL, "s0:c0.c1023"),
	    "an SELinux label of its choosing");
	CHECK_STR_EQ(confinement_selinux(0, "system_u", NULL, NULL, NULL),
	    "an SELinux label of its choosing");
}

static const struct check_case cases[] = {
	{ "security_opt", test_security_opt },
	{ "default_paths", test_default_paths },
	{ "service_privileges", test_service_privileges },
};

int
main(void)
{
	return CHECK_RUN("confinement", cases);
}
