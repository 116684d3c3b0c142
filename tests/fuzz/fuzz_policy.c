/*
 * libFuzzer target for policy: the input is lines
 *     flags
 *     image reference
 *     org.opencontainers.image.version label ("" = none)
 *     one Config.Env entry ("" = none)
 *     history: "version [digest]", one per line (up to 8)
 * where flags letters set the config and the engine's facts:
 *     w/o  require_digest warn/off     W/O  downgrade warn/off
 *     l    local_images = deny         u    unknown_version = deny
 *     x    no overrides honoured       s    version_sources = tag:REGEX
 *     e    digest_exempt glob          f    the engine has the image
 *     r    it has RepoDigests          n    no app
 *     g    it has RepoTags (the reference's repository with the
 *          label's text as tag, and another)
 *     d/t  allow-downgrade/allow-tag labels
 *     T    history since far out of range (time formatting fallback)
 *     H    history from the fleet ledger: odd rows ran on host "node-1"
 * policy_evaluate must never crash and its decision must keep its shape:
 * DENY has a message and status 400/403, WARN a message, ALLOW none.
 * The version of an image the engine has and knows by the reference's
 * repository is the same when it is named by its ID.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "imgref.h"
#include "policy.h"
#include "version.h"

#define FUZZ_MAX_INPUT		2048
#define FUZZ_MAX_HISTORY	8

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_id[] =
    "sha256:1d0c00d006ee84127d9feb9345703f2ea1ce0c14f6dfb935b8b04816230d160f";
static const char fuzz_digest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static bool
streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool
prefixed(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Cut *p at the next newline; return the line. */
static char *
next_line(char **p)
{
	char *line = *p, *nl;

	if (line == NULL)
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = NULL;
	return line;
}

static struct guard_config *
fuzz_config(const char *flags)
{
	struct guard_config *cfg = config_new();
	char text[256] = "";
	struct config_errors errs = { NULL, 0 };

	if (strchr(flags, 'w') != NULL)
		cfg->require_digest = RULE_WARN;
	if (strchr(flags, 'o') != NULL)
		cfg->require_digest = RULE_OFF;
	if (strchr(flags, 'W') != NULL)
		cfg->downgrade = RULE_WARN;
	if (strchr(flags, 'O') != NULL)
		cfg->downgrade = RULE_OFF;
	if (strchr(flags, 'l') != NULL)
		cfg->local_images_allow = false;
	if (strchr(flags, 'u') != NULL)
		cfg->unknown_version_allow = false;
	if (strchr(flags, 'x') != NULL)
		strcat(text, "overrides =\n");
	if (strchr(flags, 's') != NULL)
		strcat(text, "version_sources = tag:^v?([0-9]+(\\.[0-9]+){0,3})"
		    " label:org.opencontainers.image.version env:{APP}_V\n");
	if (strchr(flags, 'e') != NULL)
		strcat(text, "digest_exempt = 127.0.0.1:5000/tools/* busybox\n");
	FUZZ_ASSERT(config_parse(cfg, "fuzz", text, strlen(text), &errs) == 0);
	config_errors_reset(&errs);
	return cfg;
}

static void
check_decision(const struct policy_input *in, const struct guard_config *cfg,
    const struct policy_decision *d)
{
	switch (d->verdict) {
	case POLICY_DENY:
		FUZZ_ASSERT(d->message != NULL && d->message[0] != '\0');
		FUZZ_ASSERT(prefixed(d->message, "docker-guard: refusing to "));
		FUZZ_ASSERT(d->status == 400 || d->status == 403);
		FUZZ_ASSERT(d->rule != NULL);
		FUZZ_ASSERT((d->status == 400) == streq(d->rule, "reference"));
		break;
	case POLICY_WARN:
		FUZZ_ASSERT(d->message != NULL && d->message[0] != '\0');
		FUZZ_ASSERT(prefixed(d->message,
		    "docker-guard: warning: would refuse to "));
		FUZZ_ASSERT(d->rule != NULL);
		FUZZ_ASSERT(streq(d->rule, "require_digest") ||
		    streq(d->rule, "downgrade"));
		break;
	case POLICY_ALLOW:
		FUZZ_ASSERT(d->message == NULL && d->rule == NULL);
		break;
	default:
		FUZZ_ASSERT(!"verdict out of range");
	}
	FUZZ_ASSERT((d->note == NULL) == (d->note_rule == NULL));
	FUZZ_ASSERT(!d->override_used || d->note != NULL);
	if (d->version != NULL) {
		FUZZ_ASSERT(version_plausible(d->version));
		FUZZ_ASSERT(d->version_source != NULL);
	}
	if (d->previous_version != NULL)
		FUZZ_ASSERT(in->n_history > 0);
	if (in->app == NULL) {
		FUZZ_ASSERT(d->version == NULL && d->previous_version == NULL);
		FUZZ_ASSERT(!streq(d->rule, "downgrade") &&
		    !streq(d->rule, "unknown_version"));
	}
	if (cfg->require_digest == RULE_OFF)
		FUZZ_ASSERT(!streq(d->rule, "require_digest"));
	if (cfg->require_digest != RULE_ENFORCE)
		FUZZ_ASSERT(!(d->verdict == POLICY_DENY &&
		    streq(d->rule, "require_digest")));
	if (cfg->downgrade == RULE_OFF)
		FUZZ_ASSERT(!streq(d->rule, "downgrade") &&
		    !streq(d->rule, "unknown_version"));
	if (cfg->downgrade != RULE_ENFORCE)
		FUZZ_ASSERT(!(d->verdict == POLICY_DENY &&
		    streq(d->rule, "downgrade")));
	if (cfg->local_images_allow)
		FUZZ_ASSERT(!streq(d->rule, "local_images"));
	if (cfg->unknown_version_allow)
		FUZZ_ASSERT(!streq(d->rule, "unknown_version"));
	if (streq(d->rule, "downgrade")) {
		FUZZ_ASSERT(d->version != NULL && d->previous_version != NULL);
		FUZZ_ASSERT(version_compare(d->version,
		    d->previous_version) < 0);
	}
	if (streq(d->rule, "unknown_version"))
		FUZZ_ASSERT(d->version == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_seen	 history[FUZZ_MAX_HISTORY];
	struct policy_image	 image = { 0 };
	struct policy_input	 in = { 0 };
	struct policy_decision	 d;
	struct guard_config	*cfg;
	struct body_label	 label;
	struct imgref		 ref;
	const char		*repo_digests[2], *repo_tags[2], *env[1];
	const char		*cause, *src1, *src2;
	char			*buf, *p, *flags, *image_ref, *version, *env1;
	char			*repo = NULL, *rd = NULL, *rt = NULL, *line, *sp;
	char			*v1, *v2;
	char			 key[] = "org.opencontainers.image.version";
	size_t			 n = 0;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	p = buf;
	flags = next_line(&p);
	image_ref = next_line(&p);
	version = next_line(&p);
	env1 = next_line(&p);
	if (image_ref == NULL)
		image_ref = flags + strlen(flags);	/* "" */
	while (n < FUZZ_MAX_HISTORY && (line = next_line(&p)) != NULL) {
		history[n].version = line;
		history[n].digest = NULL;
		history[n].host = strchr(flags, 'H') != NULL && n % 2 == 1
		    ? "node-1"
		    : NULL;
		if ((sp = strchr(line, ' ')) != NULL) {
			*sp = '\0';
			history[n].digest = sp + 1;
		}
		history[n].since = strchr(flags, 'T') != NULL ?
		    INT64_MAX - (int64_t)n : 1795169040 + (int64_t)n * 86400;
		n++;
	}

	cfg = fuzz_config(flags);
	image.found = strchr(flags, 'f') != NULL;
	image.id = fuzz_id;
	if (strchr(flags, 'r') != NULL) {
		/* A RepoDigest of the reference's own repository, if it has
		   one, and one of another. */
		size_t nrd = 0;

		if (imgref_parse(image_ref, &ref, &cause) == 0) {
			if ((repo = imgref_repository(&ref)) != NULL &&
			    (rd = malloc(strlen(repo) + sizeof fuzz_digest + 1))
			    != NULL) {
				sprintf(rd, "%s@%s", repo, fuzz_digest);
				repo_digests[nrd++] = rd;
			}
			imgref_reset(&ref);
		}
		repo_digests[nrd++] = "127.0.0.1:5000/other@sha256:"
		    "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa";
		image.repo_digests = repo_digests;
		image.n_repo_digests = nrd;
	}
	if (strchr(flags, 'g') != NULL) {
		size_t nrt = 0;

		if (imgref_parse(image_ref, &ref, &cause) == 0) {
			char *r = imgref_repository(&ref);

			if (r != NULL && (rt = malloc(strlen(r) + 2 +
			    strlen(version != NULL ? version : ""))) != NULL) {
				sprintf(rt, "%s:%s", r, version != NULL ?
				    version : "");
				repo_tags[nrt++] = rt;
			}
			free(r);
			imgref_reset(&ref);
		}
		repo_tags[nrt++] = "127.0.0.1:5000/other:2.0-r1";
		image.repo_tags = repo_tags;
		image.n_repo_tags = nrt;
	}
	if (version != NULL && *version != '\0') {
		label.key = key;
		label.value = version;
		image.labels = &label;
		image.n_labels = 1;
	}
	if (env1 != NULL && *env1 != '\0') {
		env[0] = env1;
		image.env = env;
		image.n_env = 1;
	}

	in.cfg = cfg;
	in.action = "create";
	in.what = "container \"fuzz\"";
	in.app = strchr(flags, 'n') != NULL ? NULL : "fuzz-app";
	in.image_ref = image_ref;
	in.image = &image;
	in.history = n > 0 ? history : NULL;
	in.n_history = n;
	in.allow_downgrade = strchr(flags, 'd') != NULL ? "fuzz rollback" :
	    NULL;
	in.allow_tag = strchr(flags, 't') != NULL ? "fuzz tag" : NULL;

	policy_evaluate(&in, &d);
	check_decision(&in, cfg, &d);
	if (image.found && strchr(flags, 'r') != NULL) {
		v1 = policy_version(cfg, &image, NULL, image_ref, in.app, &src1);
		v2 = policy_version(cfg, &image, NULL, fuzz_id, in.app, &src2);
		FUZZ_ASSERT((v1 == NULL) == (v2 == NULL));
		FUZZ_ASSERT(v1 == NULL || (strcmp(v1, v2) == 0 &&
		    streq(src1, src2)));
		free(v1);
		free(v2);
	}
	policy_decision_reset(&d);
	FUZZ_ASSERT(d.message == NULL && d.version == NULL &&
	    d.digest == NULL && d.note == NULL);

	free(rd);
	free(rt);
	free(repo);
	config_free(cfg);
	free(buf);
	return 0;
}
