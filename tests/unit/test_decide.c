/*
 * Golden rows for the decision layer above policy (decide.c): how the
 * answers on each image of a request combine into one verdict, its
 * status, rule and message, the warnings, the image a refusal names,
 * which rows are audited, and whether a refused create brings the app's
 * previous container back.  No socket, no engine, no database.
 * test_policy.c covers the rules on one image.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body_inspect.h"
#include "check.h"
#include "config.h"
#include "decide.h"
#include "policy.h"

#define MAXN 4

#define REG "127.0.0.1:5000"
#define NC REG "/nextcloud"
#define HEX_NEW "9a1df196545d073e01aa05193a2775fbd96d9b5c2b2bd33c17ef4b976ef074a4"
#define HEX_OLD "40e010b7cbc4cecab2f2bbbad708175f100b5fb9d9184204a580a5654161c29a"
#define HEX_32 "1fd2306ab25f9919c37829bb5dd0e9cc17afa8bd6e06d55afdafa99460ac310b"
#define HEX_IDX "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
#define HEX_A "1d0c00d006ee84127d9feb9345703f2ea1ce0c14f6dfb935b8b04816230d160f"
#define HEX_B "657f504b469e7f2a0d8ce3cd481194445f99ee57b40fc9d7fe28d8ecad1fc09b"
#define ID_A "sha256:" HEX_A
#define ID_B "sha256:" HEX_B
#define NC_OLD NC "@sha256:" HEX_OLD
#define NC_NEW NC "@sha256:" HEX_NEW
#define NC_32 NC "@sha256:" HEX_32
#define OCI "org.opencontainers.image.version"

#define T_NC 1795169040 /* 2026-11-20 10:04:00 UTC */

/* Nextcloud has run 31.0.9.1 since 2026-11-20 10:04 UTC. */
#define NC_HISTORY                          \
	{                                   \
		{ "31.0.9.1", T_NC, NC_NEW } \
	}

/* Audit expectations per image. */
#define NOT_AUDITED "-" /* no row for this image */
#define NO_RULE "null"	/* a row with no rule */
#define ANY_RULE "any" /* a row, whatever its rule */

/* One image of the request: what the engine and the registry said. */
struct img {
	const char *ref;
	const char *role; /* NULL: "image" */
	bool found;
	const char *id;
	const char *repo_digests[MAXN];
	const char *repo_tags[MAXN];
	const char *version; /* its OCI version label */
	bool reg_checked;
	enum policy_registry_outcome reg_outcome;
	const char *reg_ref;
	const char *reg_digest;
	const char *reg_detail;
};

struct row {
	const char *name;
	const char *conf; /* guard.conf text over the defaults */
	enum route_id route;
	const char *action;
	const char *what;
	const char *app;
	const char *labels[2 * MAXN]; /* the request's: key, value, ... */
	struct img images[MAXN];
	struct policy_seen history[MAXN];
	/* Expected. */
	int status;
	const char *rule;
	size_t named;
	const char *has[MAXN];	 /* in the message */
	const char *lacks[MAXN]; /* not in the message */
	size_t n_warnings;
	const char *warning_has[MAXN]; /* in the warnings, joined */
	const char *audit[MAXN];       /* per image: its row's rule */
	bool restore;
};

/* ---- tag-only, rolling tags, digests ---- */
static const struct row rows_pinning[] = {
	{ .name = "tag-only refused, fix-it names the registry's digest",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .repo_tags = { NC ":31" },
		.version = "31.0.9.1", .reg_checked = true,
		.reg_outcome = POLICY_REGISTRY_PRESENT,
		.reg_ref = "nextcloud:31", .reg_digest = "sha256:" HEX_32 } },
	    .status = 403, .rule = "require_digest",
	    .has = { "docker-guard: refusing to create app \"nextcloud\"",
		"image " NC ":31 is not pinned by digest",
		"(rule: require_digest)", "Pin it by digest: " NC ":31@sha256:" HEX_32 },
	    .audit = { "require_digest" }, .restore = true },
	{ .name = "rolling tag refused as such",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"web\"", .app = "web",
	    .images = { { .ref = "alpine:latest", .found = true, .id = ID_A,
		.repo_digests = { "alpine@sha256:" HEX_32 } } },
	    .status = 403, .rule = "require_digest",
	    .has = { "refusing to create container \"web\"",
		"\"latest\" is a rolling tag",
		"Pin it by digest: alpine:latest@sha256:" HEX_32 },
	    .audit = { "require_digest" }, .restore = true },
	{ .name = "digest allowed, quiet", .route = ROUTE_CONTAINER_CREATE,
	    .action = "create", .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_PRESENT,
		.reg_ref = NC_NEW } },
	    .status = 0, .audit = { NO_RULE } },
	{ .name = "tag-only in warn mode: allowed with the refusal as warning",
	    .conf = "require_digest = warn\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .repo_tags = { NC ":31" },
		.version = "31.0.9.1" } },
	    .status = 0, .n_warnings = 1,
	    .warning_has = { "docker-guard: warning: would refuse to create",
		"(rule: require_digest)" },
	    .audit = { "require_digest" } },
	{ .name = "allow-tag override: allowed, audited as the override",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .labels = { POLICY_LABEL_ALLOW_TAG, "canary" },
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1" } },
	    .status = 0, .audit = { "override" } },
	{ .name = "digest_exempt repository: allowed by tag",
	    .conf = "digest_exempt = " REG "/nextcloud\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1" } },
	    .status = 0, .audit = { "require_digest" } },
	{ .name = "mounted image by tag: the refusal names the mount",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
			    .repo_digests = { NC_NEW },
			    .version = "31.0.9.1" },
		{ .ref = "busybox:1.36", .role = "image mount", .found = true,
		    .id = ID_A,
		    .repo_digests = { "busybox@sha256:" HEX_32 } } },
	    .history = NC_HISTORY, .status = 403, .rule = "require_digest",
	    .named = 1,
	    .has = { "image mount busybox:1.36 is not pinned by digest" },
	    .lacks = { NC_NEW },
	    .audit = { NO_RULE, "require_digest" }, .restore = true },
	{ .name = "two refusals: the first image's is the message",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
			    .repo_digests = { NC_NEW } },
		{ .ref = "busybox:1.36", .role = "image mount", .found = true,
		    .id = ID_A,
		    .repo_digests = { "busybox@sha256:" HEX_32 } } },
	    .status = 403, .rule = "require_digest", .named = 0,
	    .has = { "image " NC ":31 is not pinned" },
	    .lacks = { "busybox" },
	    .audit = { "require_digest", "require_digest" },
	    .restore = true },
};

/* ---- versions: the Nextcloud story ---- */
static const struct row rows_versions[] = {
	{ .name = "downgrade 31.0.9.1 -> 31.0.8.1 refused, restore asked",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "refusing to create app \"nextcloud\"",
		"is version 31.0.8.1, older than 31.0.9.1",
		"(rule: downgrade)", "To stay on 31.0.9.1, use " NC_NEW },
	    .audit = { "downgrade" }, .restore = true },
	{ .name = "downgrade with restore_on_refusal = no: no restore",
	    .conf = "restore_on_refusal = no\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .audit = { "downgrade" }, .restore = false },
	{ .name = "downgrade of a service: refused, nothing to restore",
	    .route = ROUTE_SERVICE_UPDATE, .action = "update",
	    .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "refusing to update app \"nextcloud\"" },
	    .audit = { "downgrade" }, .restore = false },
	{ .name = "upgrade allowed", .route = ROUTE_CONTAINER_CREATE,
	    .action = "create", .app = "nextcloud",
	    .images = { { .ref = NC_32, .found = true, .id = ID_B,
		.repo_digests = { NC_32 }, .version = "32.0.0.2" } },
	    .history = NC_HISTORY, .status = 0, .audit = { NO_RULE } },
	{ .name = "same version, new digest: allowed",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_32, .found = true, .id = ID_B,
		.repo_digests = { NC_32 }, .version = "31.0.9.1" } },
	    .history = NC_HISTORY, .status = 0, .audit = { NO_RULE } },
	{ .name = "downgrade in warn mode: allowed, warned, audited",
	    .conf = "downgrade = warn\n", .route = ROUTE_CONTAINER_CREATE,
	    .action = "create", .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 0, .n_warnings = 1,
	    .warning_has = { "warning: would refuse to create",
		"older than 31.0.9.1" },
	    .audit = { "downgrade" }, .restore = false },
	{ .name = "allow-downgrade override: allowed, audited",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .labels = { POLICY_LABEL_ALLOW_DOWNGRADE, "rollback" },
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 0, .audit = { "override" } },
	{ .name = "allow-downgrade label when overrides lack it: refused",
	    .conf = "overrides = allow-tag\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .labels = { POLICY_LABEL_ALLOW_DOWNGRADE, "rollback" },
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .audit = { "downgrade" }, .restore = true },
	{ .name = "an older mounted image is no downgrade of the app",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
			    .repo_digests = { NC_NEW },
			    .version = "31.0.9.1" },
		{ .ref = NC_OLD, .role = "image mount", .found = true,
		    .id = ID_A, .repo_digests = { NC_OLD },
		    .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 0,
	    .audit = { NO_RULE, NO_RULE } },
	{ .name = "local image by ID with local_images = deny: refused",
	    .conf = "local_images = deny\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"web\"", .app = "web",
	    .images = { { .ref = ID_A, .found = true, .id = ID_A } },
	    .status = 403, .rule = "local_images",
	    .has = { "has no registry digest", "(rule: local_images)" },
	    .audit = { "local_images" }, .restore = true },
	{ .name = "local image with local_images = allow: noted",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"web\"", .app = "web",
	    .images = { { .ref = ID_A, .found = true, .id = ID_A } },
	    .status = 0, .audit = { ANY_RULE } },
	{ .name = "downgrade = off: allowed", .conf = "downgrade = off\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 0, .audit = { NO_RULE } },
	{ .name = "unknown version refused when so configured",
	    .conf = "unknown_version = deny\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD } } },
	    .history = NC_HISTORY, .status = 403, .rule = "unknown_version",
	    .has = { "no version" }, .audit = { "unknown_version" },
	    .restore = true },
	{ .name = "no app: no history, allowed", .route = ROUTE_CONTAINER_CREATE,
	    .action = "create", .what = "a container",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .status = 0, .audit = { NO_RULE } },
};

/* ---- the registry ---- */
static const struct row rows_registry[] = {
	{ .name = "missing from its registry: refused",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC_NEW,
		.reg_detail = NC_NEW ": the registry answered 404 (manifest "
				     "or repository unknown)" } },
	    .history = NC_HISTORY, .status = 403, .rule = "registry",
	    .has = { "image " NC_NEW " is missing from its registry",
		NC_NEW ": the registry answered 404", "(rule: registry)" },
	    .lacks = { "nextcloud:sha256:" }, .audit = { "registry" },
	    .restore = true },
	{ .name = "multi-platform index with its platform manifest deleted",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC "@sha256:" HEX_IDX, .found = true,
		.id = ID_B, .repo_digests = { NC "@sha256:" HEX_IDX },
		.version = "31.0.9.1", .reg_checked = true,
		.reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC "@sha256:" HEX_IDX,
		.reg_detail = "the index sha256:" HEX_IDX " lists sha256:" HEX_32
			      " for linux/amd64, but the registry no longer "
			      "has it" } },
	    .history = NC_HISTORY, .status = 403, .rule = "registry",
	    .has = { "is missing from its registry",
		"lists sha256:" HEX_32 " for linux/amd64, but the registry "
		"no longer has it" },
	    .audit = { "registry" }, .restore = true },
	{ .name = "registry missing in warn mode: warned",
	    .conf = "registry_presence = warn\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC_NEW, .reg_detail = "gone" } },
	    .status = 0, .n_warnings = 1,
	    .warning_has = { "warning: would refuse to create",
		"is missing from its registry" },
	    .audit = { "registry" } },
	{ .name = "registry unreachable, allowed: the client is warned",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true,
		.reg_outcome = POLICY_REGISTRY_UNREACHABLE, .reg_ref = NC_NEW,
		.reg_detail = NC_NEW ": connection refused" } },
	    .status = 0, .n_warnings = 1,
	    .warning_has = { "docker-guard: warning: allowing the create of ",
		"without a registry check: the registry of image " NC_NEW
		" could not say whether it still has it (unreachable: " NC_NEW
		": ",
		"registry_unreachable = allow (rule: registry_unreachable)" },
	    .audit = { "registry_unreachable" } },
	{ .name = "registry unauthorized, registry_unreachable = deny",
	    .conf = "registry_unreachable = deny\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true,
		.reg_outcome = POLICY_REGISTRY_UNAUTHORIZED, .reg_ref = NC_NEW,
		.reg_detail = "the registry answered 401 (unauthorized)" } },
	    .status = 403, .rule = "registry_unreachable",
	    .has = { "cannot say whether it still has it (unauthorized: ",
		"registry_unreachable = deny" },
	    .audit = { "registry_unreachable" }, .restore = true },
	{ .name = "registry_presence = off: its answer does not count",
	    .conf = "registry_presence = off\n",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC_NEW, .reg_detail = "gone" } },
	    .status = 0, .audit = { NO_RULE } },
};

/* ---- starts and restarts of a container that exists ---- */
static const struct row rows_starts[] = {
	{ .name = "start of an older container: refused as a downgrade",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"nc-old\"", .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "refusing to start container \"nc-old\"",
		"older than 31.0.9.1" },
	    .audit = { "downgrade" }, .restore = false },
	{ .name = "restart of an older container: refused too",
	    .route = ROUTE_CONTAINER_RESTART, .action = "restart",
	    .what = "container \"nc-old\"", .app = "nextcloud",
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "refusing to restart" }, .audit = { "downgrade" } },
	{ .name = "start of the current version: allowed, no new row",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1" } },
	    .history = NC_HISTORY, .status = 0, .audit = { NOT_AUDITED } },
	{ .name = "start by tag of a local image: pinning not judged again",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"web\"", .app = "web",
	    .conf = "local_images = deny\nunknown_version = deny\n",
	    .images = { { .ref = "web:latest", .found = true, .id = ID_A } },
	    .status = 0, .audit = { NOT_AUDITED } },
	{ .name = "start whose registry is gone: not asked again",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = NC_NEW, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC_NEW, .reg_detail = "gone" } },
	    .history = NC_HISTORY, .status = 0, .audit = { NOT_AUDITED } },
	{ .name = "start of an older one with allow-downgrade: row kept",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"nc-old\"", .app = "nextcloud",
	    .labels = { POLICY_LABEL_ALLOW_DOWNGRADE, "rollback" },
	    .images = { { .ref = NC_OLD, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 0, .audit = { "override" } },
};

/* ---- restores: judged as the create or start they make ---- */
static const struct row rows_restores[] = {
	{ .name = "restore from a snapshot: a create by image ID, allowed",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = ID_B, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_PRESENT,
		.reg_ref = NC_NEW } },
	    .history = NC_HISTORY, .status = 0 },
	{ .name = "restore of an older snapshot: refused as a downgrade",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = ID_B, .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "older than 31.0.9.1" }, .restore = true },
	{ .name = "restore whose image left the registry: refused",
	    .route = ROUTE_CONTAINER_CREATE, .action = "create",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = ID_B, .found = true, .id = ID_B,
		.repo_digests = { NC_NEW }, .version = "31.0.9.1",
		.reg_checked = true, .reg_outcome = POLICY_REGISTRY_ABSENT,
		.reg_ref = NC_NEW, .reg_detail = "gone" } },
	    .history = NC_HISTORY, .status = 403, .rule = "registry",
	    .restore = true },
	{ .name = "compose's renamed container: judged as a start",
	    .route = ROUTE_CONTAINER_START, .action = "start",
	    .what = "container \"nc\"", .app = "nextcloud",
	    .images = { { .ref = NC ":31", .found = true, .id = ID_B,
		.repo_digests = { NC_OLD }, .version = "31.0.8.1" } },
	    .history = NC_HISTORY, .status = 403, .rule = "downgrade",
	    .has = { "refusing to start container \"nc\"" } },
};

/* Owned copies of what a row's image borrows. */
struct built {
	struct inspect_image info[MAXN];
	struct policy_registry reg[MAXN];
	struct decide_image images[MAXN];
	struct body_facts facts;
	size_t n_images, n_history;
};

static size_t
count(const char *const *v)
{
	size_t n = 0;

	while (n < MAXN && v[n] != NULL)
		n++;
	return n;
}

static char **
strv(const char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof *out);

	for (size_t i = 0; i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

static void
build_image(const struct img *im, struct built *b, size_t i)
{
	struct inspect_image *info = &b->info[i];
	struct policy_registry *r = &b->reg[i];

	info->id = im->id != NULL ? strdup(im->id) : NULL;
	info->n_repo_digests = count(im->repo_digests);
	info->repo_digests = strv(im->repo_digests, info->n_repo_digests);
	info->n_repo_tags = count(im->repo_tags);
	info->repo_tags = strv(im->repo_tags, info->n_repo_tags);
	if (im->version != NULL) {
		info->labels = calloc(1, sizeof *info->labels);
		info->labels[0].key = strdup(OCI);
		info->labels[0].value = strdup(im->version);
		info->n_labels = 1;
	}
	r->checked = im->reg_checked;
	r->outcome = im->reg_outcome;
	r->checked_ref = im->reg_ref;
	r->digest = im->reg_digest;
	r->detail = im->reg_detail;
	b->images[i].ref = im->ref;
	b->images[i].role = im->role != NULL ? im->role : "image";
	b->images[i].info = im->found ? info : NULL;
	b->images[i].registry = im->reg_checked ? r : NULL;
}

static void
build(const struct row *row, struct built *b)
{
	size_t n;

	memset(b, 0, sizeof *b);
	for (n = 0; n < MAXN && row->images[n].ref != NULL; n++)
		build_image(&row->images[n], b, n);
	b->n_images = n;
	for (n = 0; n < MAXN && row->labels[2 * n] != NULL; n++)
		;
	b->facts.labels = calloc(n + 1, sizeof *b->facts.labels);
	for (size_t i = 0; i < n; i++) {
		b->facts.labels[i].key = strdup(row->labels[2 * i]);
		b->facts.labels[i].value = strdup(row->labels[2 * i + 1]);
	}
	b->facts.n_labels = n;
	for (n = 0; n < MAXN && row->history[n].version != NULL; n++)
		;
	b->n_history = n;
}

static void
unbuild(struct built *b)
{
	for (size_t i = 0; i < MAXN; i++)
		inspect_image_reset(&b->info[i]);
	body_facts_reset(&b->facts);
}

static struct guard_config *
row_config(const struct row *row)
{
	struct guard_config *cfg = config_new();
	struct config_errors errs = { NULL, 0 };

	if (row->conf != NULL) {
		size_t n = config_parse(cfg, "row.conf", row->conf,
		    strlen(row->conf), &errs);

		CHECKF(n == 0, "row \"%s\": config: %s", row->name,
		    n > 0 ? errs.lines[0] : "");
		config_errors_reset(&errs);
	}
	return cfg;
}

#define S(s) ((s) != NULL ? (s) : "(null)")

static void
check_audit(const struct row *row, const struct decide_verdict *v, size_t i)
{
	const char *want = row->audit[i];
	const struct decide_row *r = &v->rows[i];

	if (want == NULL)
		return;
	if (strcmp(want, NOT_AUDITED) == 0) {
		CHECKF(!r->audit, "row \"%s\": image %zu audited (%s)",
		    row->name, i, S(r->rule));
		return;
	}
	CHECKF(r->audit, "row \"%s\": image %zu not audited", row->name, i);
	if (strcmp(want, ANY_RULE) == 0)
		return;
	if (strcmp(want, NO_RULE) == 0)
		CHECKF(r->rule == NULL, "row \"%s\": image %zu rule %s",
		    row->name, i, S(r->rule));
	else
		CHECKF(r->rule != NULL && strcmp(r->rule, want) == 0,
		    "row \"%s\": image %zu rule %s, expected %s", row->name, i,
		    S(r->rule), want);
}

static void
check_warnings(const struct row *row, const struct decide_verdict *v)
{
	char all[8192] = "";

	CHECKF(v->n_warnings == row->n_warnings,
	    "row \"%s\": %zu warnings, expected %zu (first: %s)", row->name,
	    v->n_warnings, row->n_warnings,
	    v->n_warnings > 0 ? v->warnings[0] : "-");
	for (size_t i = 0; i < v->n_warnings; i++) {
		strncat(all, v->warnings[i], sizeof all - strlen(all) - 2);
		strcat(all, "\n");
	}
	for (size_t i = 0; i < MAXN && row->warning_has[i] != NULL; i++)
		CHECKF(strstr(all, row->warning_has[i]) != NULL,
		    "row \"%s\": warning lacks \"%s\": %s", row->name,
		    row->warning_has[i], all);
}

static void
check_message(const struct row *row, const struct decide_verdict *v)
{
	if (row->status == 0) {
		CHECKF(v->message == NULL && v->rule == NULL,
		    "row \"%s\": allowed with message %s", row->name,
		    S(v->message));
		return;
	}
	CHECKF(v->message != NULL && strncmp(v->message, "docker-guard: ", 14) == 0,
	    "row \"%s\": message %s", row->name, S(v->message));
	CHECKF(v->rule != NULL && row->rule != NULL &&
		strcmp(v->rule, row->rule) == 0,
	    "row \"%s\": rule %s, expected %s", row->name, S(v->rule),
	    S(row->rule));
	CHECKF(v->named == row->named, "row \"%s\": names image %zu, not %zu",
	    row->name, v->named, row->named);
	for (size_t i = 0; i < MAXN && row->has[i] != NULL; i++)
		CHECKF(v->message != NULL &&
			strstr(v->message, row->has[i]) != NULL,
		    "row \"%s\": message lacks \"%s\": %s", row->name,
		    row->has[i], S(v->message));
	for (size_t i = 0; i < MAXN && row->lacks[i] != NULL; i++)
		CHECKF(v->message == NULL ||
			strstr(v->message, row->lacks[i]) == NULL,
		    "row \"%s\": message has \"%s\": %s", row->name,
		    row->lacks[i], S(v->message));
}

static void
check_row(const struct row *row)
{
	struct guard_config *cfg = row_config(row);
	struct decide_input in = { 0 };
	struct decide_verdict v;
	struct built b;

	build(row, &b);
	in.cfg = cfg;
	in.route = row->route;
	in.action = row->action;
	in.what = row->what;
	in.app = row->app;
	in.facts = &b.facts;
	in.images = b.images;
	in.n_images = b.n_images;
	in.history = row->history;
	in.n_history = b.n_history;
	decide_eval(&in, &v);
	CHECKF(v.status == row->status, "row \"%s\": status %d, expected %d: %s",
	    row->name, v.status, row->status, S(v.message));
	check_message(row, &v);
	check_warnings(row, &v);
	CHECKF(v.n_rows == b.n_images, "row \"%s\": %zu rows", row->name,
	    v.n_rows);
	for (size_t i = 0; i < v.n_rows && i < MAXN; i++)
		check_audit(row, &v, i);
	CHECKF(v.restore == row->restore, "row \"%s\": restore %d", row->name,
	    v.restore);
	decide_verdict_reset(&v);
	CHECK(v.rows == NULL && v.message == NULL && v.warnings == NULL);
	unbuild(&b);
	config_free(cfg);
}

#define ROWS(group)                                                        \
	static void test_##group(void)                                     \
	{                                                                  \
		for (size_t i = 0; i < sizeof group / sizeof group[0]; i++) \
			check_row(&group[i]);                              \
	}

ROWS(rows_pinning)
ROWS(rows_versions)
ROWS(rows_registry)
ROWS(rows_starts)
ROWS(rows_restores)

/* Why a restore is not made, as the denial says it. */
static void
test_restore_refusal(void)
{
	struct policy_decision d = { 0 };
	char version[] = "31.0.8.1", previous[] = "31.0.9.1";
	char *s;

	d.rule = "downgrade";
	d.version = version;
	d.previous_version = previous;
	s = decide_restore_refusal(ID_B, &d, "docker-guard: refusing ...");
	CHECK_STR_EQ(s,
	    "its image " ID_B " is version 31.0.8.1, older than 31.0.9.1 "
	    "which this app has run (rule: downgrade)");
	free(s);
	d.rule = "registry";
	s = decide_restore_refusal(ID_B, &d, "docker-guard: gone");
	CHECK_STR_EQ(s,
	    "its image " ID_B " would be refused too (docker-guard: gone)");
	free(s);
	s = decide_restore_refusal(ID_B, &d, NULL);
	CHECK_STR_EQ(s, "its image " ID_B " would be refused too (no decision)");
	free(s);
	d.version = NULL; /* no version: not told as a downgrade */
	d.rule = "downgrade";
	s = decide_restore_refusal(ID_B, &d, "m");
	CHECK_STR_EQ(s, "its image " ID_B " would be refused too (m)");
	free(s);
}


int
main(void)
{
	static const struct check_case cases[] = {
		{ "pinning", test_rows_pinning },
		{ "versions", test_rows_versions },
		{ "registry", test_rows_registry },
		{ "starts", test_rows_starts },
		{ "restores", test_rows_restores },
		{ "restore_refusal", test_restore_refusal },
	};

	return check_main("decide", cases, sizeof cases / sizeof cases[0]);
}
