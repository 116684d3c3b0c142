/*
 * Golden rows for policy_evaluate_pull: imports, references, allowed
 * registries, pulls by digest, pull_require_digest (off, warn, enforce,
 * digest_exempt, no tag, rolling tags) and the fix-it it offers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "policy.h"

#define REG "127.0.0.1:5000"
#define HEX "9a1df196545d073e01aa05193a2775fbd96d9b5c2b2bd33c17ef4b976ef074a4"
#define MAXS 4

struct pull_row {
	const char *name;
	const char *conf; /* guard.conf text over the defaults */
	const char *from_image, *tag, *from_src, *repo, *registry_digest;
	enum policy_verdict verdict;
	int status;		/* 0 unless DENY */
	const char *rule;	/* NULL: none */
	const char *note_rule;	/* NULL: none */
	const char *digest;	/* NULL: none */
	const char *has[MAXS];	/* substrings of message (or note) */
	const char *lacks;	/* NULL, or not a substring of it */
};

static const struct pull_row rows[] = {
	{ .name = "import allowed by default", .from_src = "-",
	  .verdict = POLICY_ALLOW, .note_rule = "imports",
	  .has = { "import from the request body allowed" } },
	{ .name = "import refused", .conf = "imports = deny\n",
	  .from_src = "http://x/a.tar", .repo = "app",
	  .verdict = POLICY_DENY, .status = 403, .rule = "imports",
	  .has = { "refusing to import an image from http://x/a.tar as app:",
	      "(rule: imports)" } },
	{ .name = "invalid reference", .from_image = "bad ref!",
	  .verdict = POLICY_DENY, .status = 400, .rule = "reference",
	  .has = { "refusing to pull bad ref!: it is not a valid image "
		   "reference" } },
	{ .name = "registry not allowed",
	  .conf = "allowed_registries = " REG " ghcr.io\n",
	  .from_image = "quay.io/a/b", .tag = "1",
	  .verdict = POLICY_DENY, .status = 403, .rule = "allowed_registries",
	  .has = { "registry quay.io is not in allowed_registries (" REG
		   " ghcr.io)" } },
	{ .name = "by digest", .from_image = REG "/app",
	  .tag = "sha256:" HEX, .verdict = POLICY_ALLOW,
	  .digest = REG "/app@sha256:" HEX },
	{ .name = "require_digest off", .conf = "pull_require_digest = off\n",
	  .from_image = REG "/app", .tag = "1.0", .verdict = POLICY_ALLOW },
	{ .name = "digest_exempt", .conf = "digest_exempt = " REG "/ap*\n",
	  .from_image = REG "/app", .tag = "1.0", .verdict = POLICY_ALLOW,
	  .note_rule = "pull_require_digest",
	  .has = { "repository matches digest_exempt \"" REG "/ap*\"" } },
	{ .name = "by tag, digest known", .from_image = REG "/app",
	  .tag = "1.0", .registry_digest = "sha256:" HEX,
	  .verdict = POLICY_DENY, .status = 403,
	  .rule = "pull_require_digest",
	  .has = { "refusing to pull " REG "/app:1.0: it is not pinned",
	      "a pull by tag takes whatever the tag points to now",
	      "docker pull " REG "/app:1.0@sha256:" HEX } },
	{ .name = "every tag", .from_image = REG "/app",
	  .verdict = POLICY_DENY, .status = 403,
	  .rule = "pull_require_digest",
	  .has = { "pulls every tag of the repository",
	      "the registry could not say the digest" } },
	{ .name = "buildx's fallback builder image",
	  .from_image = "moby/buildkit", .tag = "buildx-stable-1",
	  .verdict = POLICY_DENY, .status = 403,
	  .rule = "pull_require_digest",
	  .has = { "refusing to pull moby/buildkit:buildx-stable-1",
	      "buildx pulls moby/buildkit to run BuildKit in a container",
	      "DOCKER_BUILDKIT=0 docker build", "or set buildkit = allow." } },
	{ .name = "buildx's builder image, buildkit allowed",
	  .conf = "buildkit = allow\n",
	  .from_image = "docker.io/moby/buildkit", .tag = "v0.13.1",
	  .verdict = POLICY_DENY, .status = 403,
	  .rule = "pull_require_digest",
	  .has = { "refusing to pull moby/buildkit:v0.13.1",
	      "the registry could not say the digest." },
	  .lacks = "buildx" },
	{ .name = "another repository", .from_image = REG "/moby/buildkit",
	  .tag = "1", .verdict = POLICY_DENY, .status = 403,
	  .rule = "pull_require_digest",
	  .has = { "the registry could not say the digest." },
	  .lacks = "buildx" },
	{ .name = "rolling tag, warn", .conf = "pull_require_digest = warn\n",
	  .from_image = REG "/app", .tag = "latest",
	  .verdict = POLICY_WARN, .rule = "pull_require_digest",
	  .has = { "warning: would refuse to pull",
	      "\"latest\" is a rolling tag" } },
};

static struct guard_config *
row_config(const struct pull_row *r)
{
	struct guard_config *cfg = config_new();
	struct config_errors errs = { NULL, 0 };

	if (r->conf != NULL) {
		size_t n = config_parse(cfg, "row.conf", r->conf,
		    strlen(r->conf), &errs);

		CHECKF(n == 0, "row \"%s\": config: %s", r->name,
		    n > 0 ? errs.lines[0] : "");
		config_errors_reset(&errs);
	}
	return cfg;
}

static bool
same(const char *got, const char *want)
{
	return got == NULL ? want == NULL
			   : want != NULL && strcmp(got, want) == 0;
}

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct pull_row *r = &rows[i];
		struct guard_config *cfg = row_config(r);
		struct policy_pull in = { cfg, r->from_image, r->tag,
			r->from_src, r->repo, r->registry_digest };
		struct policy_decision d;
		const char *text;

		policy_evaluate_pull(&in, &d);
		text = d.message != NULL ? d.message : d.note;
		CHECKF(d.verdict == r->verdict, "row \"%s\": verdict %d",
		    r->name, (int)d.verdict);
		CHECKF(d.verdict != POLICY_DENY || d.status == r->status,
		    "row \"%s\": status %d", r->name, d.status);
		CHECKF(same(d.rule, r->rule), "row \"%s\": rule %s", r->name,
		    d.rule ? d.rule : "NULL");
		CHECKF(same(d.note_rule, r->note_rule),
		    "row \"%s\": note_rule %s", r->name,
		    d.note_rule ? d.note_rule : "NULL");
		CHECKF(same(d.digest, r->digest), "row \"%s\": digest %s",
		    r->name, d.digest ? d.digest : "NULL");
		for (size_t j = 0; j < MAXS && r->has[j] != NULL; j++)
			CHECKF(text != NULL && strstr(text, r->has[j]) != NULL,
			    "row \"%s\": \"%s\" not in \"%s\"", r->name,
			    r->has[j], text ? text : "NULL");
		CHECKF(r->lacks == NULL || text == NULL ||
			strstr(text, r->lacks) == NULL,
		    "row \"%s\": \"%s\" in \"%s\"", r->name, r->lacks, text);
		policy_decision_reset(&d);
		config_free(cfg);
	}
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
};

int
main(void)
{
	return CHECK_RUN("policy_pull", cases);
}
