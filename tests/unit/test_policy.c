#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body_inspect.h"
#include "check.h"
#include "config.h"
#include "policy.h"

#define MAXN		5

#define REG		"127.0.0.1:5000"
#define NC		REG "/nextcloud"
#define HEX_NEW		"9a1df196545d073e01aa05193a2775fbd96d9b5c2b2bd33c17ef4b976ef074a4"
#define HEX_OLD		"40e010b7cbc4cecab2f2bbbad708175f100b5fb9d9184204a580a5654161c29a"
#define HEX_32		"1fd2306ab25f9919c37829bb5dd0e9cc17afa8bd6e06d55afdafa99460ac310b"
#define HEX_APP		"41fd04e97ae65f82e23e3b9b6778a1a72762fcb6033255720a53b43335ad87ba"
#define HEX_OTHER	"d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
#define HEX_A		"1d0c00d006ee84127d9feb9345703f2ea1ce0c14f6dfb935b8b04816230d160f"
#define HEX_B		"657f504b469e7f2a0d8ce3cd481194445f99ee57b40fc9d7fe28d8ecad1fc09b"
#define ID_A		"sha256:" HEX_A
#define ID_B		"sha256:" HEX_B

#define T_NC		1795169040	/* 2026-11-20 10:04:00 UTC */
#define WHEN_NC		"2026-11-20 10:04 UTC"
#define OCI		"org.opencontainers.image.version"
#define LS		"org.label-schema.version"
#define SRC_OCI		"label:" OCI
#define SRC_LS		"label:" LS

/* Nextcloud has run 31.0.9.1 since 2026-11-20 10:04 UTC. */
#define NC_HISTORY	{ { "31.0.9.1", T_NC, NC "@sha256:" HEX_NEW, NULL } }
/* The same, run on another host of the fleet (fleet.h). */
#define NC_FLEET_HISTORY \
	{ { "31.0.9.1", T_NC, NC "@sha256:" HEX_NEW, "node-1" } }

/* An expected string field that the row does not pin down. */
static const char any[] = "<any>";
#define ANY		any

struct row {
	const char		*name;
	const char		*conf;		/* guard.conf text over the
						   defaults */
	const char		*app;
	const char		*what;
	const char		*ref;
	/* The engine's image inspect. */
	bool			 found;
	const char		*id;
	const char		*repo_tags[MAXN];
	const char		*repo_digests[MAXN];
	const char		*labels[2 * MAXN];	/* key, value, ... */
	const char		*env[MAXN];
	struct policy_seen	 history[MAXN];
	/* Override labels on the create. */
	const char		*allow_downgrade;
	const char		*allow_tag;
	/* Starting a container that exists (action "start"). */
	bool			 existing;
	/* The registry's answer (present), for images not on the host. */
	bool			 reg_checked;
	enum policy_registry_outcome reg_outcome;
	const char		*reg_ref;	/* what was asked */
	const char		*reg_detail;
	const char		*reg_version;	/* the annotation */
	const char		*reg_env[MAXN];	/* the config blob's */
	/* Expected. */
	enum policy_verdict	 verdict;
	int			 status;
	const char		*rule;
	const char		*version;
	const char		*source;
	const char		*previous;
	const char		*digest;
	const char		*note_rule;
	bool			 override_used;
	const char		*has[MAXN];	/* in the message */
	const char		*lacks[MAXN];	/* not in the message */
	const char		*note_has;
	const char		*warning_has[MAXN]; /* in the client's warning;
						   none: no warning */
};

/* The Nextcloud story: a rollback to an older image. */
static const struct row rows_story[] = {
	{ .name = "nextcloud downgrade", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "refusing to create app \"nextcloud\"",
	    "is version 31.0.8.1, older than 31.0.9.1 which this app has "
	    "run since " WHEN_NC " (rule: downgrade)",
	    "io.docker-guard.allow-downgrade=<reason>",
	    "To stay on 31.0.9.1, use " NC "@sha256:" HEX_NEW },
	  /* The reference is pinned: its digest is not repeated. */
	  .lacks = { "(" NC "@", "require_digest" } },
	{ .name = "nextcloud same version, new digest", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_32,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_32 },
	  .labels = { OCI, "31.0.9.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = "31.0.9.1", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_32 },
	{ .name = "nextcloud upgrade", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_32,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_32 },
	  .labels = { OCI, "32.0.0.2" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = "32.0.0.2", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_32 },
	{ .name = "nextcloud first run, no history", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .verdict = POLICY_ALLOW, .version = "31.0.8.1", .source = SRC_OCI,
	  .previous = NULL, .digest = NC "@sha256:" HEX_OLD },
	{ .name = "image not pulled yet: only the engine knows", .app =
	  "nextcloud", .ref = NC "@sha256:" HEX_OLD, .found = false,
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .note_rule = "unknown_version", .note_has = "unknown version" },
	{ .name = "subject names the container and the app",
	  .app = "nextcloud", .what = "container \"web\"",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "docker-guard: refusing to create container \"web\" "
	    "(app \"nextcloud\"): image " NC "@sha256:" HEX_OLD " is "
	    "version 31.0.8.1" } },
	{ .name = "newest of the history counts, not the last",
	  .app = "nextcloud", .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.2" },
	  .history = { { "30.0.1", T_NC - 86400 * 90, NULL },
	    { "31.0.9.1", T_NC, NC "@sha256:" HEX_NEW },
	    { "31.0.8.1", T_NC + 3600, NC "@sha256:" HEX_OLD } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.2", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "older than 31.0.9.1 which this app has run since "
	    WHEN_NC, "To stay on 31.0.9.1, use " NC "@sha256:" HEX_NEW } },
	{ .name = "no recorded digest: no stay-on advice",
	  .app = "nextcloud", .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = { { "31.0.9.1", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "(rule: downgrade)" }, .lacks = { "To stay on" } },
	{ .name = "starting an old stopped container", .app = "nextcloud",
	  .what = "container \"nc-old\"", .existing = true,
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "docker-guard: refusing to start container \"nc-old\" "
	    "(app \"nextcloud\"): image " NC "@sha256:" HEX_OLD " is "
	    "version 31.0.8.1, older than 31.0.9.1",
	    "To stay on 31.0.9.1, run the app's current container, or "
	    "create one from " NC "@sha256:" HEX_NEW ".",
	    "To roll back on purpose, recreate the container with the label "
	    "io.docker-guard.allow-downgrade=<reason>." },
	  .lacks = { "To stay on 31.0.9.1, use", "add the label" } },
	{ .name = "starting an old container created with the override",
	  .app = "nextcloud", .existing = true,
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY, .allow_downgrade = "restore from backup",
	  .verdict = POLICY_ALLOW, .version = "31.0.8.1", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .note_rule = "downgrade", .override_used = true,
	  .note_has = "restore from backup" },
};

/* Where the version comes from. */
static const struct row rows_sources[] = {
	{ .name = "version from env NEXTCLOUD_VERSION", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .env = { "PATH=/usr/local/bin:/usr/bin", "NEXTCLOUD_VERSION=31.0.8.1",
	    "PHP_VERSION=8.3.14" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = "env:{REPO}_VERSION",
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .has = { "is version 31.0.8.1" } },
	{ .name = "env name must match whole", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .env = { "NEXTCLOUD_VERSION", "XNEXTCLOUD_VERSION=1.0",
	    "NEXTCLOUD_VERSIONX=1.0", "NEXTCLOUD_VERSION_2=31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .note_rule = "unknown_version" },
	{ .name = "version from org.label-schema.version", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { LS, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_LS, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "OCI label is tried before label-schema and env",
	  .app = "nextcloud", .ref = NC "@sha256:" HEX_32,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_32 },
	  .labels = { LS, "31.0.8.1", OCI, "31.0.10.0" },
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = "31.0.10.0", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_32 },
	{ .name = "label \"latest\" is no version: next source",
	  .app = "nextcloud", .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "latest", LS, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_LS, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "version from the image's own tag", .app = "app",
	  .ref = "app:1.2.3@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.2.3" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.3.0", T_NC, "app@sha256:" HEX_OTHER } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3", .source = "tag", .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP,
	  .has = { "image app:1.2.3@sha256:" HEX_APP " is version 1.2.3, "
	    "older than 1.3.0", "To stay on 1.3.0, use app@sha256:"
	    HEX_OTHER "." } },
	{ .name = "version from the image's own tag, newer", .app = "app",
	  .ref = "app:1.2.3@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.2.3" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.2.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = "1.2.3", .source = "tag",
	  .previous = "1.2.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP },
	{ .name = "tag:REGEX source", .app = "app",
	  .conf = "version_sources = tag:^release-([0-9.]+)$\n",
	  .ref = REG "/app:release-2.5.1@sha256:" HEX_APP,
	  .found = true, .id = ID_B,
	  .repo_tags = { REG "/app:latest", REG "/app:release-2.5.1" },
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .history = { { "2.6.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "2.5.1", .source = "tag:^release-([0-9.]+)$",
	  .previous = "2.6.0", .digest = REG "/app@sha256:" HEX_APP,
	  .has = { "is version 2.5.1, older than 2.6.0" } },
	{ .name = "tag:REGEX source, no match", .app = "app",
	  .conf = "version_sources = tag:^release-([0-9.]+)$\n",
	  .ref = REG "/app:2.5.1@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { REG "/app:2.5.1" },
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .history = { { "2.6.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "2.6.0", .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "unknown_version" },
	{ .name = "default sources: a non-version tag is no version",
	  .app = "app", .ref = REG "/app:release-2.5.1@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { REG "/app:release-2.5.1" },
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .history = { { "2.6.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "2.6.0", .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "unknown_version", .note_has = "unknown version" },
	{ .name = "env:{APP} source, app name upper-cased", .app = "my-app",
	  .conf = "version_sources = env:{APP}_VER\n",
	  .ref = REG "/app@sha256:" HEX_APP,
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .labels = { OCI, "9.9" },
	  .env = { "MY_APP_VER=1.4" },
	  .history = { { "1.5", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.4", .source = "env:{APP}_VER", .previous = "1.5",
	  .digest = REG "/app@sha256:" HEX_APP },
};

/* Version order. */
static const struct row rows_order[] = {
	{ .name = "1.10 is newer than 1.9", .app = "app",
	  .ref = "app:1.10@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.10" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.9", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = "1.10", .source = "tag",
	  .previous = "1.9", .digest = "docker.io/library/app@sha256:"
	  HEX_APP },
	{ .name = "1.9 is older than 1.10", .app = "app",
	  .ref = "app:1.9@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.9" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.10", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.9", .source = "tag", .previous = "1.10",
	  .digest = "docker.io/library/app@sha256:" HEX_APP },
	{ .name = "1.0rc1 is older than 1.0", .app = "app",
	  .ref = "app:1.0rc1@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.0rc1" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.0rc1", .source = "tag", .previous = "1.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP },
	{ .name = "1.0 is newer than 1.0rc1", .app = "app",
	  .ref = "app:1.0@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.0" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.0rc1", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = "1.0", .source = "tag",
	  .previous = "1.0rc1", .digest = "docker.io/library/app@sha256:"
	  HEX_APP },
	{ .name = "variant ignored: 31.0.8-fpm older than 31.0.9-apache",
	  .app = "nextcloud", .ref = "nextcloud:31.0.8-fpm@sha256:" HEX_OLD,
	  .found = true, .id = ID_B, .repo_tags = { "nextcloud:31.0.8-fpm" },
	  .repo_digests = { "nextcloud@sha256:" HEX_OLD },
	  .history = { { "31.0.9-apache", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8-fpm", .source = "tag",
	  .previous = "31.0.9-apache",
	  .digest = "docker.io/library/nextcloud@sha256:" HEX_OLD },
	{ .name = "variant ignored: 31.0.9-apache newer than 31.0.8-fpm",
	  .app = "nextcloud", .ref = "nextcloud:31.0.9-apache@sha256:" HEX_NEW,
	  .found = true, .id = ID_B,
	  .repo_tags = { "nextcloud:31.0.9-apache" },
	  .repo_digests = { "nextcloud@sha256:" HEX_NEW },
	  .history = { { "31.0.8-fpm", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = "31.0.9-apache", .source = "tag",
	  .previous = "31.0.8-fpm",
	  .digest = "docker.io/library/nextcloud@sha256:" HEX_NEW },
	{ .name = "variant ignored: same version, other variant",
	  .app = "nextcloud", .ref = "nextcloud:31.0.9-fpm@sha256:" HEX_OLD,
	  .found = true, .id = ID_B, .repo_tags = { "nextcloud:31.0.9-fpm" },
	  .repo_digests = { "nextcloud@sha256:" HEX_OLD },
	  .history = { { "31.0.9-apache", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = "31.0.9-fpm", .source = "tag",
	  .previous = "31.0.9-apache",
	  .digest = "docker.io/library/nextcloud@sha256:" HEX_OLD },
};

/*
 * The version is the image's, whatever the client called it: the same by
 * name, digest, full ID and short ID.  The Nextcloud image carries it in
 * NEXTCLOUD_VERSION, named after a repository the reference may not name.
 */
#define NC_OLD_IMAGE							\
	.found = true, .id = ID_A,					\
	.repo_tags = { NC ":31.0.8.1" },				\
	.repo_digests = { NC "@sha256:" HEX_OLD },			\
	.env = { "PATH=/usr/bin", "NEXTCLOUD_VERSION=31.0.8.1" },	\
	.history = NC_HISTORY
#define NC_OLD_DENIED							\
	.verdict = POLICY_DENY, .status = 403, .rule = "downgrade",	\
	.version = "31.0.8.1", .source = "env:{REPO}_VERSION",		\
	.previous = "31.0.9.1"

static const struct row rows_identity[] = {
	{ .name = "by digest", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD, NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "image " NC "@sha256:" HEX_OLD " is version 31.0.8.1" } },
	{ .name = "by full ID", .app = "nextcloud",
	  .ref = ID_A, NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "image " ID_A " (" NC "@sha256:" HEX_OLD ") is version "
	    "31.0.8.1, older than 31.0.9.1" } },
	{ .name = "by bare 64-hex ID", .app = "nextcloud",
	  .ref = HEX_A, NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "by short ID", .app = "nextcloud",
	  .ref = "1d0c00d006ee", NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "image 1d0c00d006ee (" NC "@sha256:" HEX_OLD ") is "
	    "version 31.0.8.1" } },
	{ .name = "by sha256: short ID", .app = "nextcloud",
	  .ref = "sha256:1d0c00d006ee", NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "by name", .app = "nextcloud",
	  .conf = "require_digest = off\n",
	  .ref = NC ":31.0.8.1", NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "by a start of a container created by ID",
	  .app = "nextcloud", .existing = true,
	  .ref = ID_A, NC_OLD_IMAGE, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "by ID, a local image: repository from RepoTags",
	  .app = "nextcloud", .ref = "1d0c00d006ee",
	  .found = true, .id = ID_A, .repo_tags = { "nextcloud:31.0.8.1" },
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1" }, .history = NC_HISTORY,
	  NC_OLD_DENIED, .digest = ID_A, .note_rule = "local_images" },
	{ .name = "by ID, untagged: repository from RepoDigests",
	  .app = "nextcloud", .ref = ID_A,
	  .found = true, .id = ID_A,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1" }, .history = NC_HISTORY,
	  NC_OLD_DENIED, .digest = NC "@sha256:" HEX_OLD },
	{ .name = "by ID, the repository with the variable wins",
	  .app = "nextcloud", .ref = ID_A,
	  .found = true, .id = ID_A,
	  .repo_tags = { "backup/nc-old:keep", REG "/zz:1" },
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1", "ZZ_VERSION=stable" },
	  .history = NC_HISTORY, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	/* Two repositories whose variables disagree: the first in byte
	   order, whatever the reference names. */
	{ .name = "two variables: first repository in byte order (by ID)",
	  .app = "app", .ref = ID_A, .found = true, .id = ID_A,
	  .repo_tags = { "zeta:1", "alpha:1" },
	  .env = { "ZETA_VERSION=2.0", "ALPHA_VERSION=1.0" },
	  .verdict = POLICY_ALLOW, .version = "1.0",
	  .source = "env:{REPO}_VERSION", .digest = ID_A,
	  .note_rule = "local_images" },
	{ .name = "two variables: first repository in byte order (by name)",
	  .app = "app", .conf = "require_digest = off\n", .ref = "zeta:1",
	  .found = true, .id = ID_A, .repo_tags = { "zeta:1", "alpha:1" },
	  .env = { "ZETA_VERSION=2.0", "ALPHA_VERSION=1.0" },
	  .verdict = POLICY_ALLOW, .version = "1.0",
	  .source = "env:{REPO}_VERSION", .digest = ID_A,
	  .note_rule = "local_images" },
	{ .name = "a dangling image: the reference's repository",
	  .app = "nextcloud", .existing = true, .ref = NC ":31.0.8.1",
	  .conf = "require_digest = off\n", .found = true, .id = ID_A,
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1" }, .history = NC_HISTORY,
	  NC_OLD_DENIED, .digest = ID_A, .note_rule = "local_images" },
	{ .name = "by ID, no names at all: unknown", .app = "nextcloud",
	  .ref = ID_A, .found = true, .id = ID_A,
	  .env = { "NEXTCLOUD_VERSION=31.0.8.1" }, .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "31.0.9.1", .digest = ID_A,
	  .note_rule = "local_images" },
};

/* The tag source reads only tags that point at the image. */
static const struct row rows_tags[] = {
	{ .name = "a tag beside a digest lends nothing", .app = "app",
	  .ref = "app:1.3.0@sha256:" HEX_APP,
	  .found = true, .id = ID_B, .repo_tags = { "app:1.2.3" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.3.0", T_NC, "app@sha256:" HEX_OTHER } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3", .source = "tag", .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP,
	  .has = { "image app:1.3.0@sha256:" HEX_APP " is version 1.2.3, "
	    "older than 1.3.0" } },
	{ .name = "a tag beside a digest, image untagged: unknown",
	  .app = "app", .ref = "app:1.3.0@sha256:" HEX_APP,
	  .found = true, .id = ID_B,
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP,
	  .note_rule = "unknown_version" },
	{ .name = "a tag beside a digest, image not here: unknown",
	  .app = "app", .ref = "app:1.3.0@sha256:" HEX_APP, .found = false,
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP,
	  .note_rule = "unknown_version" },
	{ .name = "tag-only, image not here: the tag is what is pulled",
	  .app = "app", .conf = "require_digest = off\n",
	  .ref = "app:1.2.3", .found = false,
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3", .source = "tag", .previous = "1.3.0" },
	{ .name = "by ID: version from its tag", .app = "app", .ref = ID_A,
	  .found = true, .id = ID_A, .repo_tags = { "app:1.2.3" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3", .source = "tag", .previous = "1.3.0",
	  .digest = "app@sha256:" HEX_APP },
	{ .name = "several tags: the most specific (by a short tag)",
	  .app = "app", .conf = "require_digest = off\n", .ref = "app:1",
	  .found = true, .id = ID_A,
	  .repo_tags = { "app:1", "app:1.2.3-alpine", "app:latest",
	    "app:1.2.3", "app:1.2" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = "1.2.3", .source = "tag",
	  .digest = "app@sha256:" HEX_APP },
	{ .name = "several tags: the most specific (by ID)",
	  .app = "app", .ref = "1d0c00d006ee", .found = true, .id = ID_A,
	  .repo_tags = { "app:1.2", "app:1.2.3", "app:1.2.3-alpine",
	    "app:1" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = "1.2.3", .source = "tag",
	  .digest = "app@sha256:" HEX_APP },
	{ .name = "several tags: more numbers before higher",
	  .app = "app", .ref = ID_A, .found = true, .id = ID_A,
	  .repo_tags = { "app:2", "app:1.9.9" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = "1.9.9", .source = "tag",
	  .digest = "app@sha256:" HEX_APP },
	{ .name = "several tags: same numbers, the higher",
	  .app = "app", .ref = ID_A, .found = true, .id = ID_A,
	  .repo_tags = { "app:1.2.4-r1", "app:1.2.4-r2", "other:1.2.3-r9" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = "1.2.4-r2", .source = "tag",
	  .digest = "app@sha256:" HEX_APP },
	{ .name = "no tag of the image is a version: unknown",
	  .app = "app", .ref = ID_A, .found = true, .id = ID_A,
	  .repo_tags = { "app:latest", "app:stable" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .digest = "app@sha256:" HEX_APP, .note_rule = "unknown_version" },
	{ .name = "tag:REGEX over the image's tags", .app = "app",
	  .conf = "version_sources = tag:^release-([0-9.]+)$\n",
	  .ref = "sha256:1d0c", .found = true, .id = ID_A,
	  .repo_tags = { "app:2.6.0", "app:release-2.5.1" },
	  .repo_digests = { "app@sha256:" HEX_APP },
	  .history = { { "2.6.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "2.5.1", .source = "tag:^release-([0-9.]+)$",
	  .previous = "2.6.0", .digest = "app@sha256:" HEX_APP },
};

/* Images not on this host: what the registry says, never the tag beside
   a digest. */
static const struct row rows_registry_version[] = {
	{ .name = "registry: the annotation, not the tag beside the digest",
	  .app = "app", .ref = "app:1.3.0@sha256:" HEX_APP, .found = false,
	  .reg_checked = true, .reg_version = "1.2.3",
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3",
	  .source = "annotation:org.opencontainers.image.version",
	  .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP },
	{ .name = "registry: config env by the reference's repository",
	  .app = "nextcloud", .ref = NC ":31.0.9.1@sha256:" HEX_OLD,
	  .found = false, .reg_checked = true,
	  .reg_env = { "NEXTCLOUD_VERSION=31.0.8.1" },
	  .history = NC_HISTORY, NC_OLD_DENIED,
	  .digest = NC "@sha256:" HEX_OLD },
	{ .name = "registry: nothing says, the tag beside a digest lends "
	  "nothing", .app = "app", .ref = "app:1.3.0@sha256:" HEX_APP,
	  .found = false, .reg_checked = true,
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "1.3.0",
	  .digest = "docker.io/library/app@sha256:" HEX_APP,
	  .note_rule = "unknown_version" },
	{ .name = "registry: a tag-only reference's tag counts",
	  .app = "app", .conf = "require_digest = off\n",
	  .ref = "app:1.2.3", .found = false, .reg_checked = true,
	  .history = { { "1.3.0", T_NC, NULL } },
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "1.2.3", .source = "tag", .previous = "1.3.0" },
};

/* Package revisions: an app on 3.1.0-r2 refuses 3.1.0-r1. */
#define REV_ROW(nm, have, img, v)					\
	{ .name = nm, .app = "app", .ref = ID_A, .found = true,		\
	  .id = ID_A, .labels = { OCI, img },				\
	  .repo_digests = { "app@sha256:" HEX_APP },			\
	  .history = { { have, T_NC, NULL } },				\
	  .verdict = (v) ? POLICY_DENY : POLICY_ALLOW,			\
	  .status = (v) ? 403 : 0, .rule = (v) ? "downgrade" : NULL,	\
	  .version = img, .source = SRC_OCI, .previous = have,		\
	  .digest = "app@sha256:" HEX_APP }
#define REFUSED	1
#define ALLOWED	0

static const struct row rows_revisions[] = {
	REV_ROW("alpine revision down", "3.1.0-r2", "3.1.0-r1", REFUSED),
	REV_ROW("alpine revision up", "3.1.0-r1", "3.1.0-r2", ALLOWED),
	REV_ROW("alpine revision, same", "3.1.0-r2", "3.1.0-r2", ALLOWED),
	REV_ROW("alpine revision below the release", "3.1.0-r1", "3.1.0",
	    REFUSED),
	REV_ROW("alpine revision, variant ignored", "1.0-r1",
	    "1.0-r1-alpine", ALLOWED),
	REV_ROW("alpine revision with variant, down", "1.0-r2-alpine",
	    "1.0-r1-alpine", REFUSED),
	REV_ROW("debian revision down", "2024.10.1-2", "2024.10.1-1",
	    REFUSED),
	REV_ROW("debian revision up", "2024.10.1-1", "2024.10.1-2",
	    ALLOWED),
	REV_ROW("debian revision below the next release", "2024.10.2",
	    "2024.10.1-9", REFUSED),
	REV_ROW("release candidate below the release", "1.0", "1.0-rc1",
	    REFUSED),
	REV_ROW("a variant is no pre-release", "1.0", "1.0-apache",
	    ALLOWED),
};

/* What the client is told beyond a refusal (README "What it refuses"). */
#define UNREACHABLE_DETAIL						\
	REG "/app@sha256:" HEX_APP ": Failed to connect to 127.0.0.1 "	\
	"port 5000: Connection refused"

static const struct row rows_messages[] = {
	{ .name = "registry unreachable, allowed: the client is warned",
	  .ref = REG "/app@sha256:" HEX_APP, .what = "container \"web\"",
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_UNREACHABLE,
	  .reg_ref = REG "/app@sha256:" HEX_APP,
	  .reg_detail = UNREACHABLE_DETAIL,
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "registry_unreachable",
	  .note_has = "registry unreachable: " UNREACHABLE_DETAIL,
	  .warning_has = { "docker-guard: warning: allowing the create of "
	    "container \"web\" without a registry check: the registry of "
	    "image " REG "/app@sha256:" HEX_APP " could not say whether it "
	    "still has it (unreachable: " UNREACHABLE_DETAIL "), and "
	    "registry_unreachable = allow (rule: registry_unreachable).",
	    "A host that has to pull it again may not be able to" } },
	{ .name = "registry rate-limited, allowed: the client is warned",
	  .app = "web", .ref = REG "/app@sha256:" HEX_APP,
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .labels = { OCI, "2.0" },
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_RATE_LIMITED,
	  .reg_ref = REG "/app@sha256:" HEX_APP,
	  .reg_detail = "the registry answered 429 (rate limited)",
	  .verdict = POLICY_ALLOW, .version = "2.0", .source = SRC_OCI,
	  .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "registry_unreachable",
	  .warning_has = { "allowing the create of app \"web\" without a "
	    "registry check", "(rate-limited: the registry answered 429" } },
	{ .name = "registry unauthorized, allowed: the client is warned",
	  .ref = REG "/app@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_UNAUTHORIZED,
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "registry_unreachable",
	  .warning_has = { "image " REG "/app@sha256:" HEX_APP " could not "
	    "say whether it still has it (unauthorized: no answer)" } },
	{ .name = "registry unreachable, denied: a refusal, no warning",
	  .conf = "registry_unreachable = deny\n",
	  .ref = REG "/app@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_UNREACHABLE,
	  .reg_detail = UNREACHABLE_DETAIL,
	  .verdict = POLICY_DENY, .status = 403,
	  .rule = "registry_unreachable",
	  .digest = REG "/app@sha256:" HEX_APP,
	  .has = { "(unreachable: " UNREACHABLE_DETAIL ")" } },
	{ .name = "registry unreachable and an override: both noted",
	  .ref = REG "/app:1.0", .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .allow_tag = "smoke test",
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_UNREACHABLE,
	  .reg_ref = REG "/app:1.0", .reg_detail = "timeout",
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "require_digest", .override_used = true,
	  .note_has = "tag-only reference " REG "/app:1.0 allowed; registry "
	  "unreachable: timeout",
	  .warning_has = { "the registry of image " REG "/app:1.0 could not "
	    "say" } },
	{ .name = "registry present: no warning",
	  .ref = REG "/app@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .reg_checked = true, .reg_outcome = POLICY_REGISTRY_PRESENT,
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP },
	{ .name = "tag-only local image: its ID is offered, said local",
	  .ref = "localbuild:1.0", .what = "container \"web\"",
	  .found = true, .id = ID_A, .repo_tags = { "localbuild:1.0" },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = ID_A, .note_rule = "local_images",
	  .has = { "image localbuild:1.0 is not pinned by digest",
	    "Pin it by its image ID: " ID_A ". That is the local image "
	    "(built or loaded on this host, no registry has it), so its ID "
	    "pins it only on this host; to pin it anywhere else, push it and "
	    "use the digest the push prints." },
	  .lacks = { "<digest>", "neither this host nor its registry",
	    "localbuild:1.0@" } },
	{ .name = "tag-only local image, rolling tag: its ID is offered",
	  .ref = "localbuild", .found = true, .id = ID_A,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = ID_A, .note_rule = "local_images",
	  .has = { "\"latest\" is a rolling tag",
	    "Pin it by its image ID: " ID_A "." } },
	{ .name = "tag-only image of another repository: no ID offered",
	  .ref = REG "/app:1.0", .found = true, .id = ID_B,
	  .repo_digests = { REG "/other@sha256:" HEX_OTHER },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = ID_B,
	  .has = { "neither this host nor its registry could say" },
	  .lacks = { "image ID", ID_B } },
};

/* downgrade modes and the allow-downgrade override. */
static const struct row rows_downgrade[] = {
	{ .name = "downgrade warn", .app = "nextcloud",
	  .conf = "downgrade = warn\n",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_WARN, .status = 0, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "docker-guard: warning: would refuse to create app "
	    "\"nextcloud\"", "(rule: downgrade)" },
	  .lacks = { "refusing" } },
	{ .name = "downgrade off", .app = "nextcloud",
	  .conf = "downgrade = off\n",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = ANY, .source = ANY,
	  .previous = ANY, .digest = NC "@sha256:" HEX_OLD },
	{ .name = "allow-downgrade override", .app = "nextcloud",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .allow_downgrade = "restore from backup",
	  .verdict = POLICY_ALLOW, .version = "31.0.8.1", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .note_rule = "downgrade", .override_used = true,
	  .note_has = "restore from backup" },
	{ .name = "allow-downgrade not honoured: label ignored",
	  .app = "nextcloud", .conf = "overrides = allow-tag\n",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .allow_downgrade = "restore from backup",
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "(rule: downgrade)" },
	  .lacks = { "allow-downgrade", "restore from backup" } },
	{ .name = "no overrides honoured", .app = "nextcloud",
	  .conf = "overrides =\n",
	  .ref = NC "@sha256:" HEX_OLD,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .allow_downgrade = "restore from backup",
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .lacks = { "allow-downgrade", "allow-tag" } },
	{ .name = "allow-downgrade on an upgrade is not used",
	  .app = "nextcloud", .ref = NC "@sha256:" HEX_32,
	  .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_32 },
	  .labels = { OCI, "32.0.0.2" },
	  .history = NC_HISTORY,
	  .allow_downgrade = "restore from backup",
	  .verdict = POLICY_ALLOW, .version = "32.0.0.2", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_32,
	  .override_used = false, .note_rule = NULL },
};

/* require_digest. */
static const struct row rows_require_digest[] = {
	{ .name = "tag-only, pin advice from RepoDigests",
	  .ref = REG "/app:1.0", .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = REG "/app@sha256:" HEX_APP,
	  .has = { "image " REG "/app:1.0 is not pinned by digest",
	    "(rule: require_digest)",
	    "Pin it by digest: " REG "/app:1.0@sha256:" HEX_APP,
	    "io.docker-guard.allow-tag=<reason>" },
	  .lacks = { "rolling", "pull or push" } },
	{ .name = "tag-only, RepoDigests of another repository",
	  .ref = REG "/app:1.0", .found = true, .id = ID_B,
	  .repo_digests = { REG "/other@sha256:" HEX_OTHER,
	    "app@sha256:" HEX_APP },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = ID_B,
	  .has = { "Pin it by digest (" REG "/app:1.0@sha256:<digest>)",
	    "neither this host nor its registry could say the digest" },
	  .lacks = { "Pin it by digest: ", HEX_OTHER, HEX_APP } },
	{ .name = "tag-only, image not on this host",
	  .ref = REG "/app:1.0", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL,
	  .has = { "neither this host nor its registry could say the digest" } },
	{ .name = "rolling tag dev", .ref = REG "/app:dev", .found = true,
	  .id = ID_B, .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = REG "/app@sha256:" HEX_APP,
	  .has = { "\"dev\" is a rolling tag",
	    "Pin it by digest: " REG "/app:dev@sha256:" HEX_APP } },
	{ .name = "rolling tag latest", .ref = "nextcloud:latest",
	  .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL, .has = { "\"latest\" is a rolling tag" } },
	{ .name = "implicit latest", .ref = "nextcloud", .found = true,
	  .id = ID_B, .repo_digests = { "nextcloud@sha256:" HEX_NEW },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = "nextcloud@sha256:" HEX_NEW,
	  .has = { "image nextcloud is not pinned",
	    "\"latest\" is a rolling tag",
	    "Pin it by digest: nextcloud@sha256:" HEX_NEW "." } },
	{ .name = "rolling_tags is configurable", .ref = REG "/app:dev",
	  .conf = "rolling_tags = stable\n", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL, .has = { "a tag-only reference can be moved" },
	  .lacks = { "rolling tag" } },
	{ .name = "uppercase domain is a valid name (tag-only)",
	  .ref = "UPPER/case:1", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL },
	{ .name = "full image ID is pinned", .ref = ID_A, .found = true,
	  .id = ID_A, .repo_digests = { NC "@sha256:" HEX_NEW,
	    "nextcloud@sha256:" HEX_NEW },
	  .verdict = POLICY_ALLOW, .digest = NC "@sha256:" HEX_NEW },
	{ .name = "bare 64-hex image ID is pinned", .ref = HEX_A,
	  .found = true, .id = ID_A,
	  .repo_digests = { NC "@sha256:" HEX_NEW },
	  .verdict = POLICY_ALLOW, .digest = NC "@sha256:" HEX_NEW },
	{ .name = "image ID, no RepoDigests: digest is the ID", .ref = ID_A,
	  .found = true, .id = ID_A,
	  .verdict = POLICY_ALLOW, .digest = ID_A,
	  .note_rule = "local_images", .note_has = "no registry digest" },
	{ .name = "image ID not on this host", .ref = ID_A, .found = false,
	  .verdict = POLICY_ALLOW, .digest = ID_A },
	{ .name = "short ID prefixing the image ID is pinned",
	  .ref = "1d0c00d006ee", .found = true, .id = ID_A,
	  .repo_digests = { NC "@sha256:" HEX_NEW },
	  .verdict = POLICY_ALLOW, .digest = NC "@sha256:" HEX_NEW },
	{ .name = "sha256:short ID prefixing the image ID is pinned",
	  .ref = "sha256:1d0c00d006ee", .found = true, .id = ID_A,
	  .repo_digests = { NC "@sha256:" HEX_NEW },
	  .verdict = POLICY_ALLOW, .digest = NC "@sha256:" HEX_NEW },
	{ .name = "short hex not prefixing the image ID is a name",
	  .ref = "1d0c00d00", .found = true, .id = ID_B,
	  .repo_digests = { "1d0c00d00@sha256:" HEX_APP },
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = "1d0c00d00@sha256:" HEX_APP,
	  .has = { "image 1d0c00d00 is not pinned",
	    "\"latest\" is a rolling tag",
	    "Pin it by digest: 1d0c00d00@sha256:" HEX_APP } },
	{ .name = "short hex, image not found, is a name",
	  .ref = "1d0c00d006ee", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL },
	{ .name = "repo@digest is pinned", .ref = REG "/app@sha256:" HEX_APP,
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP },
	{ .name = "repo:tag@digest is pinned, digest drops the tag",
	  .ref = REG "/app:1.0@sha256:" HEX_APP, .found = false,
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP },
	{ .name = "familiar repo@digest: digest in full form",
	  .ref = "nextcloud@sha256:" HEX_NEW, .found = true, .id = ID_B,
	  .repo_digests = { "nextcloud@sha256:" HEX_NEW },
	  .verdict = POLICY_ALLOW,
	  .digest = "docker.io/library/nextcloud@sha256:" HEX_NEW },
	{ .name = "digest_exempt glob", .ref = REG "/tools/x:1",
	  .conf = "digest_exempt = " REG "/tools/*\n", .found = false,
	  .verdict = POLICY_ALLOW, .digest = NULL,
	  .note_rule = "require_digest", .note_has = "digest_exempt" },
	{ .name = "digest_exempt glob: not a prefix match",
	  .ref = REG "/toolsx:1",
	  .conf = "digest_exempt = " REG "/tools/*\n", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL },
	{ .name = "digest_exempt glob: '*' stops at '/'",
	  .ref = REG "/tools/x/y:1",
	  .conf = "digest_exempt = " REG "/tools/*\n", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL },
	{ .name = "digest_exempt familiar name", .ref = "busybox:1.36",
	  .conf = "digest_exempt = busybox\n", .found = false,
	  .verdict = POLICY_ALLOW, .digest = NULL,
	  .note_rule = "require_digest", .note_has = "busybox" },
	{ .name = "digest_exempt familiar name, full reference",
	  .ref = "docker.io/library/busybox:1.36",
	  .conf = "digest_exempt = busybox\n", .found = false,
	  .verdict = POLICY_ALLOW, .digest = NULL,
	  .note_rule = "require_digest" },
	{ .name = "digest_exempt familiar name, other namespace",
	  .ref = "someone/busybox:1.36",
	  .conf = "digest_exempt = busybox\n", .found = false,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = NULL },
	{ .name = "allow-tag override", .ref = REG "/app:1.0",
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .allow_tag = "ci smoke test",
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP,
	  .note_rule = "require_digest", .override_used = true,
	  .note_has = "ci smoke test" },
	{ .name = "allow-tag not honoured", .ref = REG "/app:1.0",
	  .conf = "overrides = allow-downgrade\n",
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .allow_tag = "ci smoke test",
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .digest = REG "/app@sha256:" HEX_APP,
	  .lacks = { "allow-tag", "ci smoke test" } },
	{ .name = "allow-tag on a pinned reference is not used",
	  .ref = REG "/app@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .allow_tag = "ci smoke test",
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP,
	  .override_used = false, .note_rule = NULL },
	{ .name = "require_digest warn", .ref = REG "/app:1.0",
	  .conf = "require_digest = warn\n",
	  .what = "container \"web\"",
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .verdict = POLICY_WARN, .status = 0, .rule = "require_digest",
	  .digest = REG "/app@sha256:" HEX_APP,
	  .has = { "docker-guard: warning: would refuse to create container "
	    "\"web\": image " REG "/app:1.0 is not pinned by digest" } },
	{ .name = "require_digest off", .ref = REG "/app:dev",
	  .conf = "require_digest = off\n",
	  .found = true, .id = ID_B,
	  .repo_digests = { REG "/app@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .digest = REG "/app@sha256:" HEX_APP },
};

/* local_images. */
static const struct row rows_local_images[] = {
	{ .name = "local image denied", .ref = ID_A,
	  .conf = "local_images = deny\n", .found = true, .id = ID_A,
	  .verdict = POLICY_DENY, .status = 403, .rule = "local_images",
	  .digest = ID_A,
	  .has = { "image " ID_A " (" ID_A ") has no registry digest",
	    "(rule: local_images)", "local_images = allow" } },
	{ .name = "local image by tag denied", .ref = "localbuild:1",
	  .conf = "local_images = deny\nrequire_digest = off\n",
	  .what = "container \"web\"", .found = true, .id = ID_A,
	  .verdict = POLICY_DENY, .status = 403, .rule = "local_images",
	  .digest = ID_A,
	  .has = { "refusing to create container \"web\": image "
	    "localbuild:1 (" ID_A ") has no registry digest" } },
	{ .name = "local image denied wins over a require_digest warning",
	  .ref = "localbuild:1",
	  .conf = "local_images = deny\nrequire_digest = warn\n",
	  .found = true, .id = ID_A,
	  .verdict = POLICY_DENY, .status = 403, .rule = "local_images",
	  .digest = ID_A, .lacks = { "warning", "require_digest" } },
	{ .name = "local_images deny, image not found", .ref = ID_A,
	  .conf = "local_images = deny\n", .found = false,
	  .verdict = POLICY_ALLOW, .digest = ID_A },
	{ .name = "local image allowed", .ref = ID_A, .found = true,
	  .id = ID_A,
	  .verdict = POLICY_ALLOW, .digest = ID_A,
	  .note_rule = "local_images", .note_has = "local image" },
};

/* unknown_version. */
static const struct row rows_unknown_version[] = {
	{ .name = "unknown version denied", .app = "web",
	  .conf = "unknown_version = deny\n",
	  .ref = REG "/web@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/web@sha256:" HEX_APP },
	  .labels = { OCI, "stable" },
	  .verdict = POLICY_DENY, .status = 403, .rule = "unknown_version",
	  .version = NULL, .source = NULL, .previous = NULL,
	  .digest = REG "/web@sha256:" HEX_APP,
	  .has = { "refusing to create app \"web\"",
	    "no version could be found for image " REG "/web@sha256:"
	    HEX_APP, "(rule: unknown_version)",
	    "unknown_version = allow" } },
	{ .name = "unknown version allowed", .app = "web",
	  .ref = REG "/web@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/web@sha256:" HEX_APP },
	  .history = { { "2.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "2.0", .digest = REG "/web@sha256:" HEX_APP,
	  .note_rule = "unknown_version", .note_has = "unknown version" },
	{ .name = "no app: no version checks", .app = NULL,
	  .conf = "unknown_version = deny\n",
	  .ref = REG "/web@sha256:" HEX_APP, .found = true, .id = ID_B,
	  .repo_digests = { REG "/web@sha256:" HEX_APP },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = NULL, .digest = REG "/web@sha256:" HEX_APP },
	{ .name = "no app: no downgrade check", .app = NULL,
	  .ref = NC "@sha256:" HEX_OLD, .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = NULL, .digest = NC "@sha256:" HEX_OLD },
	/* A short image ID is no tag: "sha256:1d0c00d006ee" must not be
	   read as version "1d0c00d006ee". */
	{ .name = "short sha256: ID is not a version tag", .app = "web",
	  .ref = "sha256:1d0c00d006ee", .found = true, .id = ID_A,
	  .repo_digests = { REG "/web@sha256:" HEX_APP },
	  .history = { { "2.0", T_NC, NULL } },
	  .verdict = POLICY_ALLOW, .version = NULL, .source = NULL,
	  .previous = "2.0", .digest = REG "/web@sha256:" HEX_APP,
	  .note_rule = "unknown_version" },
};

/* Invalid references. */
static const struct row rows_reference[] = {
	{ .name = "uppercase repository", .ref = "Nextcloud:1",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference",
	  .has = { "image reference \"Nextcloud:1\" is not valid",
	    "must be lowercase" } },
	{ .name = "uppercase path", .ref = "someone/Tool:1", .app = "tool",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference",
	  .has = { "docker-guard: refusing to create: image reference "
	    "\"someone/Tool:1\" is not valid" } },
	{ .name = "blank in reference", .ref = "a b",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference",
	  .has = { "\"a b\" is not valid" } },
	{ .name = "empty reference", .ref = "",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference",
	  .has = { "\"\" is not valid" } },
	{ .name = "bad digest", .ref = "app@sha256:abc",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference" },
};

/* Several rules at once. */
static const struct row rows_combined[] = {
	{ .name = "require_digest warn, downgrade deny: refusal wins",
	  .app = "nextcloud", .conf = "require_digest = warn\n",
	  .ref = NC ":31.0.8.1", .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  /* A tag says little: the digest it resolved to is shown. */
	  .has = { "docker-guard: refusing to create app \"nextcloud\": "
	    "image " NC ":31.0.8.1 (" NC "@sha256:" HEX_OLD ") is version "
	    "31.0.8.1, older than 31.0.9.1" },
	  .lacks = { "warning", "require_digest" } },
	{ .name = "two warnings", .app = "nextcloud",
	  .conf = "require_digest = warn\ndowngrade = warn\n",
	  .ref = NC ":31.0.8.1", .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_WARN, .status = 0, .rule = ANY,
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "is not pinned by digest", "(rule: require_digest)",
	    "is version 31.0.8.1, older than 31.0.9.1",
	    "(rule: downgrade)" },
	  .lacks = { "refusing to" } },
	{ .name = "require_digest deny decides first", .app = "nextcloud",
	  .ref = NC ":31.0.8.1", .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "require_digest",
	  .version = ANY, .source = ANY, .previous = ANY,
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "Pin it by digest: " NC ":31.0.8.1@sha256:" HEX_OLD },
	  .lacks = { "(rule: downgrade)" } },
	{ .name = "downgrade by image ID shows the digest",
	  .app = "nextcloud", .ref = ID_A, .found = true, .id = ID_A,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .verdict = POLICY_DENY, .status = 403, .rule = "downgrade",
	  .version = "31.0.8.1", .source = SRC_OCI, .previous = "31.0.9.1",
	  .digest = NC "@sha256:" HEX_OLD,
	  .has = { "image " ID_A " (" NC "@sha256:" HEX_OLD ") is version "
	    "31.0.8.1" } },
	{ .name = "allow-tag and allow-downgrade together", .app = "nextcloud",
	  .ref = NC ":31.0.8.1", .found = true, .id = ID_B,
	  .repo_digests = { NC "@sha256:" HEX_OLD },
	  .labels = { OCI, "31.0.8.1" },
	  .history = NC_HISTORY,
	  .allow_tag = "pinned in compose", .allow_downgrade = "rollback",
	  .verdict = POLICY_ALLOW, .version = "31.0.8.1", .source = SRC_OCI,
	  .previous = "31.0.9.1", .digest = NC "@sha256:" HEX_OLD,
	  .note_rule = "downgrade", .override_used = true,
	  .note_has = "rollback" },
};

/* The row's image, with labels copied into body_label (which owns
 * non-const strings). */
struct built {
	struct policy_image	 image;
	struct policy_registry	 reg;
	struct body_label	 labels[MAXN];
	size_t			 n_history;
};

static void
build(const struct row *row, struct built *b)
{
	size_t n;

	memset(b, 0, sizeof *b);
	b->image.found = row->found;
	b->image.id = row->id;
	for (n = 0; n < MAXN && row->repo_digests[n] != NULL; n++)
		;
	b->image.repo_digests = row->repo_digests;
	b->image.n_repo_digests = n;
	for (n = 0; n < MAXN && row->repo_tags[n] != NULL; n++)
		;
	b->image.repo_tags = row->repo_tags;
	b->image.n_repo_tags = n;
	b->reg.checked = row->reg_checked;
	b->reg.outcome = row->reg_outcome;
	b->reg.checked_ref = row->reg_ref;
	b->reg.detail = row->reg_detail;
	b->reg.version = row->reg_version;
	for (n = 0; n < MAXN && row->reg_env[n] != NULL; n++)
		;
	b->reg.env = row->reg_env;
	b->reg.n_env = n;
	for (n = 0; n < MAXN && row->labels[2 * n] != NULL; n++) {
		b->labels[n].key = strdup(row->labels[2 * n]);
		b->labels[n].value = strdup(row->labels[2 * n + 1]);
	}
	b->image.labels = b->labels;
	b->image.n_labels = n;
	for (n = 0; n < MAXN && row->env[n] != NULL; n++)
		;
	b->image.env = row->env;
	b->image.n_env = n;
	for (n = 0; n < MAXN && row->history[n].version != NULL; n++)
		;
	b->n_history = n;
}

static void
unbuild(struct built *b)
{
	for (size_t i = 0; i < b->image.n_labels; i++) {
		free(b->labels[i].key);
		free(b->labels[i].value);
	}
}

static struct guard_config *
row_config(const char *name, const char *conf)
{
	struct guard_config *cfg = config_new();
	struct config_errors errs = { NULL, 0 };

	if (conf != NULL) {
		size_t n = config_parse(cfg, "row.conf", conf, strlen(conf),
		    &errs);

		CHECKF(n == 0, "row \"%s\": config: %s", name,
		    n > 0 ? errs.lines[0] : "");
		config_errors_reset(&errs);
	}
	return cfg;
}

static bool
str_is(const char *got, const char *want)
{
	if (want == ANY)
		return true;
	if (got == NULL || want == NULL)
		return got == want;
	return strcmp(got, want) == 0;
}

#define S(s)	((s) != NULL ? (s) : "(null)")

static const char *
verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "ALLOW";
	case POLICY_WARN:
		return "WARN";
	case POLICY_DENY:
		return "DENY";
	}
	return "?";
}

static void
check_row(const struct row *row)
{
	struct guard_config *cfg = row_config(row->name, row->conf);
	struct policy_decision d;
	struct policy_input in = { 0 };
	struct built b;
	const char *msg;

	build(row, &b);
	in.cfg = cfg;
	in.action = row->existing ? "start" : "create";
	in.existing = row->existing;
	in.what = row->what;
	in.app = row->app;
	in.image_ref = row->ref;
	in.image = &b.image;
	in.history = b.n_history > 0 ? row->history : NULL;
	in.n_history = b.n_history;
	in.allow_downgrade = row->allow_downgrade;
	in.allow_tag = row->allow_tag;
	in.registry = row->reg_checked ? &b.reg : NULL;
	memset(&d, 0xa5, sizeof d);	/* evaluate must fill every field */
	policy_evaluate(&in, &d);
	msg = d.message;

	CHECKF(d.verdict == row->verdict, "row \"%s\": verdict %s, expected "
	    "%s; message: %s", row->name, verdict_name(d.verdict),
	    verdict_name(row->verdict), S(msg));
	CHECKF(d.status == row->status, "row \"%s\": status %d, expected %d",
	    row->name, d.status, row->status);
	CHECKF(str_is(d.rule, row->rule), "row \"%s\": rule %s, expected %s",
	    row->name, S(d.rule), S(row->rule));
	CHECKF(str_is(d.version, row->version), "row \"%s\": version %s, "
	    "expected %s", row->name, S(d.version), S(row->version));
	CHECKF(str_is(d.version_source, row->source), "row \"%s\": "
	    "version_source %s, expected %s", row->name, S(d.version_source),
	    S(row->source));
	CHECKF(str_is(d.previous_version, row->previous), "row \"%s\": "
	    "previous_version %s, expected %s", row->name,
	    S(d.previous_version), S(row->previous));
	CHECKF(str_is(d.digest, row->digest), "row \"%s\": digest %s, "
	    "expected %s", row->name, S(d.digest), S(row->digest));
	CHECKF(str_is(d.note_rule, row->note_rule), "row \"%s\": note_rule "
	    "%s, expected %s (note: %s)", row->name, S(d.note_rule),
	    S(row->note_rule), S(d.note));
	CHECKF(d.override_used == row->override_used, "row \"%s\": "
	    "override_used %d", row->name, d.override_used);
	CHECKF((d.note == NULL) == (d.note_rule == NULL), "row \"%s\": note "
	    "%s with note_rule %s", row->name, S(d.note), S(d.note_rule));
	if (row->note_has != NULL)
		CHECKF(d.note != NULL && strstr(d.note, row->note_has) != NULL,
		    "row \"%s\": note lacks \"%s\": %s", row->name,
		    row->note_has, S(d.note));

	if (row->warning_has[0] == NULL)
		CHECKF(d.warning == NULL, "row \"%s\": warning %s", row->name,
		    S(d.warning));
	for (size_t i = 0; i < MAXN && row->warning_has[i] != NULL; i++)
		CHECKF(d.warning != NULL && strstr(d.warning,
		    row->warning_has[i]) != NULL, "row \"%s\": warning lacks "
		    "\"%s\":\n    %s", row->name, row->warning_has[i],
		    S(d.warning));

	/* The shape every verdict's message has. */
	switch (d.verdict) {
	case POLICY_ALLOW:
		CHECKF(msg == NULL, "row \"%s\": ALLOW with message %s",
		    row->name, S(msg));
		CHECKF(d.rule == NULL, "row \"%s\": ALLOW with rule %s",
		    row->name, S(d.rule));
		break;
	case POLICY_WARN:
		CHECKF(msg != NULL && strncmp(msg, "docker-guard: warning: "
		    "would refuse to ", 38) == 0, "row \"%s\": WARN message %s",
		    row->name, S(msg));
		break;
	case POLICY_DENY:
		CHECKF(msg != NULL && strncmp(msg, "docker-guard: refusing to ",
		    26) == 0, "row \"%s\": DENY message %s", row->name, S(msg));
		CHECKF(d.status == 400 || d.status == 403, "row \"%s\": DENY "
		    "status %d", row->name, d.status);
		break;
	}
	for (size_t i = 0; i < MAXN && row->has[i] != NULL; i++)
		CHECKF(msg != NULL && strstr(msg, row->has[i]) != NULL,
		    "row \"%s\": message lacks \"%s\":\n    %s", row->name,
		    row->has[i], S(msg));
	for (size_t i = 0; i < MAXN && row->lacks[i] != NULL; i++)
		CHECKF(msg == NULL || strstr(msg, row->lacks[i]) == NULL,
		    "row \"%s\": message has \"%s\":\n    %s", row->name,
		    row->lacks[i], S(msg));

	policy_decision_reset(&d);
	unbuild(&b);
	config_free(cfg);
}

static void
check_rows(const struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_row(&r[i]);
}

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))
#define ROWS_TEST(group)						\
static void								\
test_##group(void)							\
{									\
	check_rows(rows_##group, NROWS(rows_##group));			\
}

ROWS_TEST(story)
ROWS_TEST(sources)
ROWS_TEST(order)
ROWS_TEST(downgrade)
ROWS_TEST(require_digest)
ROWS_TEST(local_images)
ROWS_TEST(unknown_version)
ROWS_TEST(reference)
ROWS_TEST(combined)
ROWS_TEST(identity)
ROWS_TEST(tags)
ROWS_TEST(registry_version)
ROWS_TEST(revisions)
ROWS_TEST(messages)

/* One decision, for the exact-message tests. */
static char *
message_of(const char *conf, const char *app, const char *what,
    const char *ref, const struct policy_image *image,
    const struct policy_seen *history, size_t n_history)
{
	struct guard_config *cfg = row_config("exact", conf);
	struct policy_input in = { 0 };
	struct policy_decision d;
	char *msg;

	in.cfg = cfg;
	in.action = "create";
	in.what = what;
	in.app = app;
	in.image_ref = ref;
	in.image = image;
	in.history = history;
	in.n_history = n_history;
	policy_evaluate(&in, &d);
	msg = d.message;
	d.message = NULL;
	policy_decision_reset(&d);
	config_free(cfg);
	return msg;
}

static void
test_nextcloud_message(void)
{
	const char *rd[] = { NC "@sha256:" HEX_OLD };
	char key[] = OCI, value[] = "31.0.8.1";
	struct body_label label = { key, value };
	struct policy_image image = { .found = true, .id = ID_B,
	    .repo_digests = rd, .n_repo_digests = 1, .labels = &label,
	    .n_labels = 1 };
	struct policy_seen seen[] = NC_HISTORY;
	char *msg = message_of(NULL, "nextcloud", NULL, NC "@sha256:" HEX_OLD,
	    &image, seen, 1);

	CHECK_STR_EQ(msg, "docker-guard: refusing to create app "
	    "\"nextcloud\": image " NC "@sha256:" HEX_OLD " is version "
	    "31.0.8.1, older than 31.0.9.1 which this app has run since "
	    WHEN_NC " (rule: downgrade). To stay on 31.0.9.1, use " NC
	    "@sha256:" HEX_NEW ". To roll back on purpose, add the label "
	    "io.docker-guard.allow-downgrade=<reason>.");
	free(msg);
}

/* A refused service rollback says how to go back on purpose: docker
 * service rollback takes no label, an update with the image does. */
static void
test_rollback_hint(void)
{
	const char *rd[] = { NC "@sha256:" HEX_OLD };
	char key[] = OCI, value[] = "31.0.8.1";
	struct body_label label = { key, value };
	struct policy_image image = { .found = true, .id = ID_B,
	    .repo_digests = rd, .n_repo_digests = 1, .labels = &label,
	    .n_labels = 1 };
	struct policy_seen seen[] = NC_HISTORY;
	struct guard_config *cfg = row_config("exact", NULL);
	struct policy_input in = { 0 };
	struct policy_decision d;

	in.cfg = cfg;
	in.action = "roll back";
	in.what = "service \"web\"";
	in.app = "web";
	in.image_ref = NC "@sha256:" HEX_OLD;
	in.image = &image;
	in.history = seen;
	in.n_history = 1;
	policy_evaluate(&in, &d);
	CHECK(d.verdict == POLICY_DENY);
	CHECK(d.message != NULL &&
	    strstr(d.message, "docker service update --image IMAGE "
			      "--label-add io.docker-guard.allow-downgrade="
			      "<reason>") != NULL);
	CHECK(d.message != NULL &&
	    strstr(d.message, "add the label io.docker-guard.allow-downgrade"
			      "=<reason>.") == NULL);
	policy_decision_reset(&d);
	config_free(cfg);
}

/* With the fleet ledger, the refusal names the host that ran the newer
 * version; of two rows of that version, the earlier run is named. */
static void
test_fleet_message_names_host(void)
{
	const char *rd[] = { NC "@sha256:" HEX_OLD };
	char key[] = OCI, value[] = "31.0.8.1";
	struct body_label label = { key, value };
	struct policy_image image = { .found = true, .id = ID_B,
	    .repo_digests = rd, .n_repo_digests = 1, .labels = &label,
	    .n_labels = 1 };
	struct policy_seen seen[] = {
		{ "31.0.9.1", T_NC + 3600, NC "@sha256:" HEX_NEW, "node-2" },
		{ "31.0.9.1", T_NC, NC "@sha256:" HEX_NEW, "node-1" },
		{ "31.0.7.0", T_NC - 3600, NULL, "node-3" },
	};
	char *msg = message_of(NULL, "nextcloud", NULL, NC "@sha256:" HEX_OLD,
	    &image, seen, 3);

	CHECK_STR_EQ(msg, "docker-guard: refusing to create app "
	    "\"nextcloud\": image " NC "@sha256:" HEX_OLD " is version "
	    "31.0.8.1, older than 31.0.9.1 which this app has run on host "
	    "node-1 since " WHEN_NC " (rule: downgrade). To stay on 31.0.9.1, "
	    "use " NC "@sha256:" HEX_NEW ". To roll back on purpose, add the "
	    "label io.docker-guard.allow-downgrade=<reason>.");
	free(msg);
}

static void
test_require_digest_message(void)
{
	const char *rd[] = { REG "/app@sha256:" HEX_APP };
	struct policy_image image = { .found = true, .id = ID_B,
	    .repo_digests = rd, .n_repo_digests = 1 };
	char *msg = message_of(NULL, NULL, "container \"web\"",
	    REG "/app:1.0", &image, NULL, 0);

	CHECK_STR_EQ(msg, "docker-guard: refusing to create container "
	    "\"web\": image " REG "/app:1.0 is not pinned by digest; a "
	    "tag-only reference can be moved to other content at any time, "
	    "so what runs is not pinned (rule: require_digest). Pin it by "
	    "digest: " REG "/app:1.0@sha256:" HEX_APP ". To run it by tag on "
	    "purpose, add the label io.docker-guard.allow-tag=<reason>.");
	free(msg);
}

static void
test_decision_reset(void)
{
	struct policy_image image = { .found = false };
	struct guard_config *cfg = config_new();
	struct policy_input in = { 0 };
	struct policy_decision d, zero;

	in.cfg = cfg;
	in.action = "create";
	in.app = "app";
	in.image_ref = "app:1.0";
	in.image = &image;
	policy_evaluate(&in, &d);
	CHECK(d.verdict == POLICY_DENY && d.message != NULL);
	policy_decision_reset(&d);
	memset(&zero, 0, sizeof zero);
	CHECK(memcmp(&d, &zero, sizeof d) == 0);
	policy_decision_reset(&d);	/* safe twice */
	CHECK(d.message == NULL);
	config_free(cfg);
}

/* policy_app_name: which label or name names the app. */
struct app_row {
	const char	*labels[8];	/* key, value, ... */
	const char	*service_name;
	const char	*container_name;
	const char	*want;
};

static const struct app_row app_rows[] = {
	{ { POLICY_LABEL_APP, "billing", "com.docker.compose.project",
	    "proj", "com.docker.compose.service", "svc" }, "swarmsvc",
	  "/web", "billing" },
	{ { "com.docker.compose.project", "proj",
	    "com.docker.compose.service", "svc" }, "swarmsvc", "/web",
	  "proj/svc" },
	{ { "com.docker.compose.project", "proj" }, NULL, "/web", "web" },
	{ { "com.docker.compose.service", "svc" }, NULL, "/web", "web" },
	{ { "com.docker.compose.project", "",
	    "com.docker.compose.service", "svc" }, NULL, "/web", "web" },
	{ { 0 }, "swarmsvc", "/web", "swarmsvc" },
	{ { 0 }, "", "/web", "web" },
	{ { 0 }, NULL, "/web", "web" },
	{ { 0 }, NULL, "web", "web" },
	{ { 0 }, NULL, "/", NULL },
	{ { 0 }, NULL, "", NULL },
	{ { 0 }, NULL, NULL, NULL },
	{ { POLICY_LABEL_APP, "" }, NULL, "/web", "web" },
	{ { POLICY_LABEL_APP, "" }, NULL, NULL, NULL },
	{ { POLICY_LABEL_APP, "one", POLICY_LABEL_APP, "two" }, NULL, NULL,
	  "two" },
	{ { "io.docker-guard.App", "x" }, NULL, NULL, NULL },
};

static void
test_app_name(void)
{
	for (size_t i = 0; i < sizeof app_rows / sizeof app_rows[0]; i++) {
		const struct app_row *r = &app_rows[i];
		struct body_facts facts;
		size_t n;
		char *got;

		memset(&facts, 0, sizeof facts);
		for (n = 0; n < 4 && r->labels[2 * n] != NULL; n++)
			;
		facts.labels = calloc(n + 1, sizeof *facts.labels);
		for (size_t j = 0; j < n; j++) {
			facts.labels[j].key = strdup(r->labels[2 * j]);
			facts.labels[j].value = strdup(r->labels[2 * j + 1]);
		}
		facts.n_labels = n;
		if (r->service_name != NULL)
			facts.service_name = strdup(r->service_name);
		got = policy_app_name(&facts, r->container_name);
		CHECKF(str_is(got, r->want), "app row %zu: %s, expected %s", i,
		    S(got), S(r->want));
		free(got);
		body_facts_reset(&facts);
	}
}

static void
test_format_time(void)
{
	char buf[64];

	policy_format_time(T_NC, buf, sizeof buf);
	CHECK_STR_EQ(buf, WHEN_NC);
	/* 1795262640 is a day and two hours later. */
	policy_format_time(1795262640, buf, sizeof buf);
	CHECK_STR_EQ(buf, "2026-11-21 12:04 UTC");
	policy_format_time(0, buf, sizeof buf);
	CHECK_STR_EQ(buf, "1970-01-01 00:00 UTC");
	policy_format_time(951825599, buf, sizeof buf);
	CHECK_STR_EQ(buf, "2000-02-29 11:59 UTC");
}

static void
test_image_version(void)
{
	struct guard_config *cfg = config_new();
	char k1[] = OCI, v1[] = "stable", k2[] = LS, v2[] = "v2.1";
	struct body_label labels[] = { { k1, v1 }, { k2, v2 } };
	const char *env[] = { "POSTGRES_VERSION=16.4", "MY_APP_VERSION=3" };
	struct policy_image image = { .found = true, .labels = labels,
	    .n_labels = 2, .env = env, .n_env = 2 };
	struct policy_image none = { .found = false, .labels = labels,
	    .n_labels = 2, .env = env, .n_env = 2 };
	const char *src = "x";
	char *v;

	v = policy_image_version(cfg, &image, "postgres", NULL, "16", &src);
	CHECK_STR_EQ(v, "v2.1");
	CHECK_STR_EQ(src, SRC_LS);
	free(v);
	v2[0] = 'x';	/* "x2.1" is no version: env next */
	v = policy_image_version(cfg, &image, "postgres", NULL, "16", &src);
	CHECK_STR_EQ(v, "16.4");
	CHECK_STR_EQ(src, "env:{REPO}_VERSION");
	free(v);
	v = policy_image_version(cfg, &image, "redis", NULL, "7.2", &src);
	CHECK_STR_EQ(v, "7.2");
	CHECK_STR_EQ(src, "tag");
	free(v);
	v = policy_image_version(cfg, &image, NULL, NULL, NULL, &src);
	CHECK(v == NULL);
	CHECK(src == NULL);
	/* An image the engine does not have has no labels or env. */
	v = policy_image_version(cfg, &none, "postgres", NULL, NULL, &src);
	CHECK(v == NULL);
	CHECK(src == NULL);
	config_free(cfg);
}

static const struct check_case cases[] = {
	{ "story", test_story },
	{ "sources", test_sources },
	{ "order", test_order },
	{ "downgrade", test_downgrade },
	{ "require_digest", test_require_digest },
	{ "local_images", test_local_images },
	{ "unknown_version", test_unknown_version },
	{ "reference", test_reference },
	{ "combined", test_combined },
	{ "identity", test_identity },
	{ "tags", test_tags },
	{ "registry_version", test_registry_version },
	{ "revisions", test_revisions },
	{ "messages", test_messages },
	{ "nextcloud_message", test_nextcloud_message },
	{ "fleet_message_names_host", test_fleet_message_names_host },
	{ "rollback_hint", test_rollback_hint },
	{ "require_digest_message", test_require_digest_message },
	{ "decision_reset", test_decision_reset },
	{ "app_name", test_app_name },
	{ "format_time", test_format_time },
	{ "image_version", test_image_version },
};

int
main(void)
{
	return CHECK_RUN("policy", cases);
}
