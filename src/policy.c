/*
 * The policy decision.  Messages follow one shape: what was refused, why
 * (the rule), the versions and digests involved, and how to fix it.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imgref.h"
#include "policy.h"
#include "version.h"
#include "xmalloc.h"

void
policy_decision_reset(struct policy_decision *d)
{
	free(d->message);
	free(d->version);
	free(d->previous_version);
	free(d->digest);
	free(d->note);
	free(d->warning);
	memset(d, 0, sizeof *d);
}

void
policy_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}

char *
policy_app_name(const struct body_facts *facts, const char *container_name)
{
	const char *app = body_facts_label(facts, POLICY_LABEL_APP);
	const char *project, *service;

	if (app != NULL && *app != '\0')
		return xstrdup(app);
	project = body_facts_label(facts, "com.docker.compose.project");
	service = body_facts_label(facts, "com.docker.compose.service");
	if (project != NULL && service != NULL && *project != '\0' &&
	    *service != '\0')
		return xasprintf("%s/%s", project, service);
	if (facts->service_name != NULL && *facts->service_name != '\0')
		return xstrdup(facts->service_name);
	if (container_name != NULL) {
		while (*container_name == '/')
			container_name++;
		if (*container_name != '\0')
			return xstrdup(container_name);
	}
	return NULL;
}

static const char *
image_label(const struct policy_image *image, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < image->n_labels; i++) {
		if (strcmp(image->labels[i].key, name) == 0)
			v = image->labels[i].value;
	}
	return v;
}

static const char *
image_env(const struct policy_image *image, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < image->n_env; i++) {
		if (strncmp(image->env[i], name, len) == 0 &&
		    image->env[i][len] == '=')
			v = image->env[i] + len + 1;
	}
	return v;
}

/* "{REPO}_VERSION" with {REPO} and {APP} upper-cased, non-alnum as '_'. */
static char *
expand_env_name(const char *pattern, const char *repo, const char *app)
{
	size_t cap = strlen(pattern) + 1;
	char *out, *o;

	cap += (repo ? strlen(repo) : 0) * 4 + (app ? strlen(app) : 0) * 4;
	out = o = xmalloc(cap);
	while (*pattern != '\0') {
		const char *sub = NULL;

		if (strncmp(pattern, "{REPO}", 6) == 0)
			sub = repo;
		else if (strncmp(pattern, "{APP}", 5) == 0)
			sub = app;
		if (sub == NULL &&
		    (strncmp(pattern, "{REPO}", 6) == 0 ||
			strncmp(pattern, "{APP}", 5) == 0)) {
			free(out);
			return NULL; /* placeholder with nothing to fill */
		}
		if (sub != NULL) {
			for (; *sub != '\0'; sub++)
				*o++ = isalnum((unsigned char)*sub)
				    ? (char)toupper((unsigned char)*sub)
				    : '_';
			pattern += pattern[1] == 'R' ? 6 : 5;
			continue;
		}
		*o++ = *pattern++;
	}
	*o = '\0';
	return out;
}

static char *
tag_by_regex(const char *re_text, const char *tag)
{
	regex_t re;
	regmatch_t m[2];
	char *out = NULL;

	if (regcomp(&re, re_text, REG_EXTENDED) != 0)
		return NULL;
	if (re.re_nsub >= 1 && regexec(&re, tag, 2, m, 0) == 0 &&
	    m[1].rm_so >= 0)
		out = xstrndup(tag + m[1].rm_so,
		    (size_t)(m[1].rm_eo - m[1].rm_so));
	regfree(&re);
	return out;
}

/* One version_sources item src over image, for one repository name and
   one tag; a version, or NULL.  Caller frees. */
static char *
policy_image_version_one(const char *src, const struct policy_image *image,
    const char *repository_last, const char *app, const char *tag)
{
	char *v = NULL;

	if (strncmp(src, "label:", 6) == 0 && image->found) {
		const char *l = image_label(image, src + 6);

		if (l != NULL)
			v = xstrdup(l);
	} else if (strncmp(src, "env:", 4) == 0 && image->found) {
		char *name = expand_env_name(src + 4, repository_last, app);
		const char *e = name ? image_env(image, name) : NULL;

		if (e != NULL)
			v = xstrdup(e);
		free(name);
	} else if (strcmp(src, "tag") == 0 && tag != NULL) {
		v = xstrdup(tag);
	} else if (strncmp(src, "tag:", 4) == 0 && tag != NULL) {
		v = tag_by_regex(src + 4, tag);
	}
	if (v != NULL && !version_plausible(v)) {
		free(v);
		v = NULL;
	}
	return v;
}

char *
policy_image_version(const struct guard_config *cfg,
    const struct policy_image *image, const char *repository_last,
    const char *app, const char *tag, const char **source)
{
	for (size_t i = 0; i < cfg->version_sources.n; i++) {
		const char *src = cfg->version_sources.items[i];
		char *v = policy_image_version_one(src, image, repository_last,
		    app, tag);

		if (v != NULL) {
			*source = src;
			return v;
		}
	}
	*source = NULL;
	return NULL;
}

void
policy_image_of(struct policy_image *out, const struct inspect_image *img)
{
	memset(out, 0, sizeof *out);
	out->found = true;
	out->id = img->id;
	out->repo_tags = (const char *const *)img->repo_tags;
	out->n_repo_tags = img->n_repo_tags;
	out->repo_digests = (const char *const *)img->repo_digests;
	out->n_repo_digests = img->n_repo_digests;
	out->labels = img->labels;
	out->n_labels = img->n_labels;
	out->env = (const char *const *)img->env;
	out->n_env = img->n_env;
}

/* What an image is called: repository names ({REPO}) and tags. */
struct names {
	char **repos; /* last path components */
	size_t n_repos;
	char **tags;
	size_t n_tags;
};

static void
names_add(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*v)[i], s) == 0)
			return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

static void
names_reset(struct names *nm)
{
	for (size_t i = 0; i < nm->n_repos; i++)
		free(nm->repos[i]);
	for (size_t i = 0; i < nm->n_tags; i++)
		free(nm->tags[i]);
	free(nm->repos);
	free(nm->tags);
	memset(nm, 0, sizeof *nm);
}

/* The last path component of ref's repository ("nextcloud"), or NULL. */
static char *
repo_last_of(const struct imgref *ref)
{
	char *repo, *slash, *out;

	if (ref->kind != IMGREF_NAME || (repo = imgref_repository(ref)) == NULL)
		return NULL;
	slash = strrchr(repo, '/');
	out = xstrdup(slash != NULL ? slash + 1 : repo);
	free(repo);
	return out;
}

/* Add the repository of s ("repo:tag" or "repo@digest"), and its tag when
   with_tag and s is "repo:tag". */
static void
names_add_ref(struct names *nm, const char *s, bool with_tag)
{
	struct imgref ref;
	const char *cause;
	char *last;

	if (s == NULL || imgref_parse(s, &ref, &cause) != 0)
		return;
	if ((last = repo_last_of(&ref)) != NULL)
		names_add(&nm->repos, &nm->n_repos, last);
	if (with_tag && ref.kind == IMGREF_NAME && ref.tag != NULL &&
	    ref.digest == NULL)
		names_add(&nm->tags, &nm->n_tags, ref.tag);
	free(last);
	imgref_reset(&ref);
}

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names to read an image's version by.  An image the engine has: the
 * repositories of its RepoTags and RepoDigests (sorted), then given's own,
 * and the tags of its RepoTags.  One it does not have: given's repository,
 * and given's tag if given is tag-only.  An image ID names nothing.
 */
static void
names_of(const struct policy_image *image, const char *given, struct names *nm)
{
	struct imgref ref;
	const char *cause;
	char *last = NULL;
	bool id_like;

	memset(nm, 0, sizeof *nm);
	if (image->found) {
		for (size_t i = 0; i < image->n_repo_tags; i++)
			names_add_ref(nm, image->repo_tags[i], true);
		for (size_t i = 0; i < image->n_repo_digests; i++)
			names_add_ref(nm, image->repo_digests[i], false);
		if (nm->n_repos > 1)
			qsort(nm->repos, nm->n_repos, sizeof *nm->repos,
			    names_cmp);
	}
	if (given == NULL || imgref_parse(given, &ref, &cause) != 0)
		return;
	/* "sha256:1d0c00d006ee" parses as a name with a tag. */
	id_like = ref.kind == IMGREF_ID || ref.short_id_candidate;
	if (!id_like && (last = repo_last_of(&ref)) != NULL)
		names_add(&nm->repos, &nm->n_repos, last);
	if (!id_like && !image->found && ref.tag != NULL && ref.digest == NULL)
		names_add(&nm->tags, &nm->n_tags, ref.tag);
	free(last);
	imgref_reset(&ref);
}

/* How many numbers the ordered part of v has ("31.0.9.1-apache": 4). */
static size_t
version_numbers(const char *v)
{
	char core[160];
	size_t n = 0;

	version_split_variant(v, core, sizeof core, NULL, 0);
	for (const char *p = core; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p) &&
		    (p == core || !isdigit((unsigned char)p[-1])))
			n++;
	}
	return n;
}

/* Is a a more specific version than b: more numbers, then higher, then
   first in byte order. */
static bool
more_specific(const char *a, const char *b)
{
	size_t na = version_numbers(a), nb = version_numbers(b);
	int c;

	if (na != nb)
		return na > nb;
	if ((c = version_compare(a, b)) != 0)
		return c > 0;
	return strcmp(a, b) < 0;
}

/* One version source over the image's names; NULL if it does not match. */
static char *
source_version(const char *src, const struct policy_image *image,
    const struct names *nm, const char *app)
{
	char *best = NULL;

	if (strncmp(src, "env:", 4) == 0 && strstr(src, "{REPO}") != NULL) {
		for (size_t i = 0; i < nm->n_repos && best == NULL; i++) {
			best = policy_image_version_one(src, image,
			    nm->repos[i], app, NULL);
		}
		return best;
	}
	if (strcmp(src, "tag") == 0 || strncmp(src, "tag:", 4) == 0) {
		for (size_t i = 0; i < nm->n_tags; i++) {
			char *v = policy_image_version_one(src, image, NULL,
			    app, nm->tags[i]);

			if (v != NULL &&
			    (best == NULL || more_specific(v, best))) {
				free(best);
				best = v;
			} else
				free(v);
		}
		return best;
	}
	return policy_image_version_one(src, image, NULL, app, NULL);
}

char *
policy_version(const struct guard_config *cfg, const struct policy_image *image,
    const struct policy_registry *reg, const char *given, const char *app,
    const char **source)
{
	struct policy_image from_registry = { 0 };
	const struct policy_image *img = image;
	struct names nm;
	char *v = NULL;

	*source = NULL;
	if (!image->found && reg != NULL && reg->checked &&
	    reg->outcome == POLICY_REGISTRY_PRESENT) {
		if (reg->version != NULL && version_plausible(reg->version)) {
			/* Not on this host yet: the registry's annotation
			   says. */
			*source = "annotation:org.opencontainers.image.version";
			return xstrdup(reg->version);
		}
		from_registry.found = true;
		from_registry.labels = reg->labels;
		from_registry.n_labels = reg->n_labels;
		from_registry.env = reg->env;
		from_registry.n_env = reg->n_env;
		img = &from_registry;
	}
	names_of(image, given, &nm);
	for (size_t i = 0; i < cfg->version_sources.n && v == NULL; i++) {
		v = source_version(cfg->version_sources.items[i], img, &nm,
		    app);
		if (v != NULL)
			*source = cfg->version_sources.items[i];
	}
	names_reset(&nm);
	return v;
}

static bool
list_has(const struct string_list *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->items[i], item) == 0)
			return true;
	}
	return false;
}

/* The image's repository digest for ref's repository, as "repo@sha256:..",
 * or NULL. */
static const char *
matching_repo_digest(const struct imgref *ref, const struct policy_image *image)
{
	char *want = imgref_repository(ref);
	const char *found = NULL;

	for (size_t i = 0; want != NULL && i < image->n_repo_digests; i++) {
		struct imgref rd;
		const char *cause;
		char *repo;

		if (imgref_parse(image->repo_digests[i], &rd, &cause) != 0)
			continue;
		repo = imgref_repository(&rd);
		if (repo != NULL && strcmp(repo, want) == 0 &&
		    rd.digest != NULL)
			found = image->repo_digests[i];
		free(repo);
		imgref_reset(&rd);
		if (found != NULL)
			break;
	}
	free(want);
	return found;
}

bool
policy_ref_is_image_id(const struct imgref *ref, const char *given,
    const char *image_id)
{
	const char *hex = given, *id = image_id;

	if (ref->kind == IMGREF_ID)
		return true;
	if (!ref->short_id_candidate || id == NULL)
		return false;
	if (strncmp(hex, "sha256:", 7) == 0)
		hex += 7;
	if (strncmp(id, "sha256:", 7) == 0)
		id += 7;
	return strncmp(id, hex, strlen(hex)) == 0;
}

/* Is ref (a short hex string) the image's ID rather than a name? */
static bool
is_short_id_of(const struct imgref *ref, const char *given,
    const struct policy_image *image)
{
	return ref->kind != IMGREF_ID && image->found &&
	    policy_ref_is_image_id(ref, given, image->id);
}

/*
 * Record a rule's finding: in enforce mode a refusal, else a warning.  The
 * first refusal decides; warnings add up.  Takes message.
 */
static void
set_outcome(struct policy_decision *out, enum rule_mode mode, int status,
    const char *rule, char *message)
{
	if (out->verdict == POLICY_DENY) {
		free(message);
		return;
	}
	if (mode == RULE_ENFORCE) {
		free(out->message);
		out->verdict = POLICY_DENY;
		out->status = status;
		out->rule = rule;
		out->message = message;
		return;
	}
	if (out->verdict == POLICY_WARN) {
		char *both = xasprintf("%s %s", out->message, message);

		free(out->message);
		free(message);
		out->message = both;
		return;
	}
	out->verdict = POLICY_WARN;
	out->rule = rule;
	out->message = message;
}

/* Add what an allow relied on to the note; the first rule names it.
   Takes note. */
static void
set_note(struct policy_decision *out, const char *rule, char *note)
{
	char *both;

	if (out->note == NULL) {
		out->note = note;
		out->note_rule = rule;
		return;
	}
	both = xasprintf("%s; %s", out->note, note);
	free(out->note);
	free(note);
	out->note = both;
}

/* An override decided: its note comes first and names the rule.  Takes
   note. */
static void
set_override_note(struct policy_decision *out, const char *rule, char *note)
{
	char *rest = out->note;

	out->note = NULL;
	set_note(out, rule, note);
	out->note_rule = rule;
	if (rest != NULL)
		set_note(out, rule, rest);
	out->override_used = true;
}

static char *
subject(const struct policy_input *in)
{
	if (in->app != NULL && in->what != NULL)
		return xasprintf("%s (app \"%s\")", in->what, in->app);
	if (in->app != NULL)
		return xasprintf("app \"%s\"", in->app);
	return xstrdup(in->what != NULL ? in->what : "the request");
}

static void
check_digest(const struct policy_input *in, const struct imgref *ref,
    struct policy_decision *out)
{
	const char *tag = imgref_effective_tag(ref), *pin;
	const struct guard_config *cfg = in->cfg;
	char *who, *why, *fix, *pinned = NULL;
	bool rolling;

	if (cfg->require_digest == RULE_OFF || imgref_is_pinned(ref) ||
	    is_short_id_of(ref, in->image_ref, in->image))
		return;
	for (size_t i = 0; i < cfg->digest_exempt.n; i++) {
		if (imgref_repository_matches(ref,
			cfg->digest_exempt.items[i])) {
			set_note(out, "require_digest",
			    xasprintf("tag-only "
				      "reference allowed: repository matches "
				      "digest_exempt \"%s\"",
				cfg->digest_exempt.items[i]));
			return;
		}
	}
	if (in->allow_tag != NULL && list_has(&cfg->overrides, "allow-tag")) {
		set_override_note(out, "require_digest",
		    xasprintf("override "
			      "%s=%s: tag-only reference %s allowed",
			POLICY_LABEL_ALLOW_TAG, in->allow_tag, in->image_ref));
		return;
	}
	rolling = tag != NULL && list_has(&cfg->rolling_tags, tag);
	if (in->registry != NULL && in->registry->checked &&
	    in->registry->outcome == POLICY_REGISTRY_PRESENT &&
	    in->registry->digest != NULL) {
		/* What the tag points to at the registry right now. */
		pinned = imgref_pinned(ref, in->registry->digest);
	} else {
		pin = in->image->found ? matching_repo_digest(ref, in->image)
				       : NULL;
		if (pin != NULL)
			pinned = imgref_pinned(ref, strchr(pin, '@') + 1);
	}
	who = subject(in);
	if (rolling)
		why = xasprintf(
		    "\"%s\" is a rolling tag: it moves to whatever "
		    "was built or pushed last, so the version that runs changes "
		    "without anyone deciding it",
		    tag);
	else
		why = xstrdup(
		    "a tag-only reference can be moved to other "
		    "content at any time, so what runs is not pinned");
	if (pinned != NULL)
		fix = xasprintf("Pin it by digest: %s", pinned);
	else if (in->image->found && in->image->n_repo_digests == 0 &&
	    in->image->id != NULL)
		fix = xasprintf(
		    "Pin it by its image ID: %s. That is the local "
		    "image (built or loaded on this host, no registry has it), "
		    "so its ID pins it only on this host; to pin it anywhere "
		    "else, push it and use the digest the push prints",
		    in->image->id);
	else
		fix = xasprintf(
		    "Pin it by digest (%s@sha256:<digest>); neither "
		    "this host nor its registry could say the digest, so push "
		    "it and use the digest the push prints",
		    in->image_ref);
	set_outcome(out, cfg->require_digest, 403, "require_digest",
	    xasprintf("docker-guard: %s %s %s: %s %s is not pinned by "
		      "digest; %s (rule: require_digest). %s.%s",
		cfg->require_digest == RULE_ENFORCE
		    ? "refusing to"
		    : "warning: would refuse to",
		in->action, who, in->role != NULL ? in->role : "image",
		in->image_ref, why, fix,
		list_has(&cfg->overrides, "allow-tag")
		    ? " To run it by tag on "
		      "purpose, add the label " POLICY_LABEL_ALLOW_TAG
		      "=<reason>."
		    : ""));
	free(who);
	free(why);
	free(fix);
	free(pinned);
}

static void
check_local(const struct policy_input *in, struct policy_decision *out)
{
	const struct guard_config *cfg = in->cfg;

	if (!in->image->found || in->image->n_repo_digests > 0)
		return;
	if (cfg->local_images_allow) {
		set_note(out, "local_images",
		    xstrdup("local image: it has no "
			    "registry digest (built or loaded on this host)"));
		return;
	}
	char *who = subject(in);

	set_outcome(out, RULE_ENFORCE, 403, "local_images",
	    xasprintf(
		"docker-guard: refusing to %s %s: image %s (%s) has no "
		"registry digest: it was built or loaded on this host and cannot "
		"be pulled anywhere else (rule: local_images). Push it to a "
		"registry and use the pushed reference by digest, or set "
		"local_images = allow.",
		in->action, who, in->image_ref,
		in->image->id ? in->image->id : "unknown ID"));
	free(who);
}

static const char *
registry_outcome_words(enum policy_registry_outcome o)
{
	switch (o) {
	case POLICY_REGISTRY_PRESENT:
		return "present";
	case POLICY_REGISTRY_ABSENT:
		return "absent";
	case POLICY_REGISTRY_UNAUTHORIZED:
		return "unauthorized";
	case POLICY_REGISTRY_RATE_LIMITED:
		return "rate-limited";
	case POLICY_REGISTRY_UNREACHABLE:
		return "unreachable";
	}
	return "unreachable";
}

/* Is the image still where it came from?  This is the retention-job
   outage: a host that has to pull it again could not. */
static void
check_registry(const struct policy_input *in, struct policy_decision *out)
{
	const struct policy_registry *r = in->registry;
	const struct guard_config *cfg = in->cfg;
	char *who;

	if (r == NULL || !r->checked || cfg->registry_presence == RULE_OFF ||
	    r->outcome == POLICY_REGISTRY_PRESENT)
		return;
	who = subject(in);
	if (r->outcome == POLICY_REGISTRY_ABSENT) {
		set_outcome(out, cfg->registry_presence, 403, "registry",
		    xasprintf(
			"docker-guard: %s %s %s: %s %s is missing from "
			"its registry: %s (rule: registry). A host that has to "
			"pull it again cannot, so this deploy would not survive a "
			"reschedule. Push the image again (or restore it in the "
			"registry) and deploy by a digest the registry has.",
			cfg->registry_presence == RULE_ENFORCE
			    ? "refusing to"
			    : "warning: would refuse to",
			in->action, who, in->role != NULL ? in->role : "image",
			r->checked_ref != NULL ? r->checked_ref : in->image_ref,
			r->detail != NULL ? r->detail
					  : "the registry does not "
					    "have it"));
	} else if (cfg->registry_unreachable_allow) {
		set_note(out, "registry_unreachable",
		    xasprintf("registry %s: "
			      "%s; allowed by registry_unreachable = allow",
			registry_outcome_words(r->outcome),
			r->detail != NULL ? r->detail : "no answer"));
		/* The client is told too: what it runs was not checked. */
		free(out->warning);
		out->warning = xasprintf(
		    "docker-guard: warning: allowing the "
		    "%s of %s without a registry check: the registry of %s %s "
		    "could not say whether it still has it (%s: %s), and "
		    "registry_unreachable = allow "
		    "(rule: registry_unreachable). "
		    "A host that has to pull it again may not be able to; "
		    "check the registry.",
		    in->action, who, in->role != NULL ? in->role : "image",
		    r->checked_ref != NULL ? r->checked_ref : in->image_ref,
		    registry_outcome_words(r->outcome),
		    r->detail != NULL ? r->detail : "no answer");
	} else {
		set_outcome(out, RULE_ENFORCE, 403, "registry_unreachable",
		    xasprintf(
			"docker-guard: refusing to %s %s: the registry of "
			"image %s cannot say whether it still has it (%s: %s) and "
			"registry_unreachable = deny (rule: registry_unreachable). "
			"Retry when the registry answers, or set "
			"registry_unreachable = allow.",
			in->action, who,
			r->checked_ref != NULL ? r->checked_ref : in->image_ref,
			registry_outcome_words(r->outcome),
			r->detail != NULL ? r->detail : "no answer"));
	}
	free(who);
}

/* How to go back on purpose, when the override is enabled. */
static const char *
override_hint(const struct guard_config *cfg, const struct policy_input *in)
{
	if (!list_has(&cfg->overrides, "allow-downgrade"))
		return "";
	if (in->existing)
		return " To roll back on purpose, recreate the container with "
		       "the label " POLICY_LABEL_ALLOW_DOWNGRADE "=<reason>.";
	if (in->action != NULL && strcmp(in->action, "roll back") == 0)
		/* docker service rollback takes no labels. */
		return " To go back on purpose, update the service to that "
		       "image with the label " POLICY_LABEL_ALLOW_DOWNGRADE
		       "=<reason> (docker service update --image IMAGE "
		       "--label-add " POLICY_LABEL_ALLOW_DOWNGRADE
		       "=<reason>).";
	return " To roll back on purpose, add the label " POLICY_LABEL_ALLOW_DOWNGRADE
	       "=<reason>.";
}

/* The highest version seen; of its rows, the first run (NULL: none). */
static const struct policy_seen *
newest_seen(const struct policy_seen *seen, size_t n)
{
	const struct policy_seen *top = NULL;

	for (size_t i = 0; i < n; i++) {
		int cmp = top == NULL
		    ? 1
		    : version_compare(seen[i].version, top->version);

		if (cmp > 0 || (cmp == 0 && seen[i].since < top->since))
			top = &seen[i];
	}
	return top;
}

static void
check_downgrade(const struct policy_input *in, const struct imgref *ref,
    struct policy_decision *out)
{
	const struct guard_config *cfg = in->cfg;
	const struct policy_seen *top = NULL;
	char *who, *stay = NULL, when[40];
	/* A tag or ID says little; show the digest it resolved to. */
	bool show_digest = out->digest != NULL &&
	    (ref->digest == NULL || ref->kind == IMGREF_ID) &&
	    strcmp(out->digest, in->image_ref) != 0;

	if (in->app == NULL || in->role != NULL)
		return; /* only the image the container runs has the app's
			   version */
	out->version = policy_version(cfg, in->image, in->registry,
	    in->image_ref, in->app, &out->version_source);

	top = newest_seen(in->history, in->n_history);
	if (top != NULL)
		out->previous_version = xstrdup(top->version);

	if (out->version == NULL) {
		if (cfg->downgrade == RULE_OFF)
			return;
		if (cfg->unknown_version_allow) {
			set_note(out, "unknown_version",
			    xstrdup(
				"unknown "
				"version: no version source matched the image"));
			return;
		}
		who = subject(in);
		set_outcome(out, RULE_ENFORCE, 403, "unknown_version",
		    xasprintf(
			"docker-guard: refusing to %s %s: no version "
			"could be found for image %s (looked at: version_sources), so "
			"a downgrade cannot be ruled out (rule: unknown_version). "
			"Label the image with org.opencontainers.image.version, "
			"add a version source, or set unknown_version = allow.",
			in->action, who, in->image_ref));
		free(who);
		return;
	}
	if (cfg->downgrade == RULE_OFF || top == NULL ||
	    version_compare(out->version, top->version) >= 0)
		return;
	if (in->allow_downgrade != NULL &&
	    list_has(&cfg->overrides, "allow-downgrade")) {
		set_override_note(out, "downgrade",
		    xasprintf("override %s=%s: "
			      "downgrade from %s to %s",
			POLICY_LABEL_ALLOW_DOWNGRADE, in->allow_downgrade,
			top->version, out->version));
		return;
	}
	policy_format_time(top->since, when, sizeof when);
	who = subject(in);
	if (top->digest != NULL && strchr(top->digest, '@') != NULL)
		stay = xasprintf(in->existing
			? " To stay on %s, run the "
			  "app's current container, or create one from %s."
			: " To stay on %s, use %s.",
		    top->version, top->digest);
	set_outcome(out, cfg->downgrade, 403, "downgrade",
	    xasprintf(
		"docker-guard: %s %s %s: image %s%s%s%s is version %s, "
		"older than %s which this app has run%s%s since %s (rule: "
		"downgrade).%s%s",
		cfg->downgrade == RULE_ENFORCE ? "refusing to"
					       : "warning: would refuse to",
		in->action, who, in->image_ref, show_digest ? " (" : "",
		show_digest ? out->digest : "", show_digest ? ")" : "",
		out->version, top->version,
		top->host != NULL ? " on host " : "",
		top->host != NULL ? top->host : "", when,
		stay != NULL ? stay : "", override_hint(cfg, in)));
	free(stay);
	free(who);
}

void
policy_evaluate(const struct policy_input *in, struct policy_decision *out)
{
	struct imgref ref;
	const char *cause = NULL;

	memset(out, 0, sizeof *out);
	out->verdict = POLICY_ALLOW;
	if (imgref_parse(in->image_ref, &ref, &cause) != 0) {
		out->verdict = POLICY_DENY;
		out->status = 400;
		out->rule = "reference";
		out->message = xasprintf("docker-guard: refusing to %s: image "
					 "reference \"%s\" is not valid: %s",
		    in->action, in->image_ref,
		    cause != NULL ? cause : "invalid reference format");
		return;
	}

	/* The digest this decision is about.  An image ID is resolved to
	   the image's registry digest when it has one. */
	if (ref.kind == IMGREF_ID ||
	    is_short_id_of(&ref, in->image_ref, in->image)) {
		if (in->image->found && in->image->n_repo_digests > 0)
			out->digest = xstrdup(in->image->repo_digests[0]);
		else if (in->image->found && in->image->id != NULL)
			out->digest = xstrdup(in->image->id);
		else if (ref.digest != NULL)
			out->digest = xstrdup(ref.digest);
	} else if (ref.digest != NULL) {
		char *repo = imgref_repository(&ref);

		out->digest = repo != NULL
		    ? xasprintf("%s@%s", repo, ref.digest)
		    : xstrdup(ref.digest);
		free(repo);
	} else if (in->image->found) {
		const char *d = matching_repo_digest(&ref, in->image);

		out->digest = xstrdup(d != NULL ? d
			: in->image->id		? in->image->id
						: "");
		if (out->digest[0] == '\0') {
			free(out->digest);
			out->digest = NULL;
		}
	}

	/* Every rule runs, so the audit row has the version and previous
	   version even when an earlier rule refused; the first refusal
	   decides (set_outcome). */
	check_digest(in, &ref, out);
	check_local(in, out);
	check_registry(in, out);
	check_downgrade(in, &ref, out);
	imgref_reset(&ref);
}

char *
policy_pull_reference(const char *from_image, const char *tag)
{
	struct imgref ref;
	const char *cause;
	char *repo, *out;

	if (from_image == NULL)
		return NULL;
	if (tag == NULL || *tag == '\0')
		return xstrdup(from_image);
	/* As the engine does: a tag parameter replaces any tag in
	   fromImage; a digest parameter pins it. */
	if (imgref_parse(from_image, &ref, &cause) != 0 ||
	    ref.kind != IMGREF_NAME) {
		if (ref.kind == IMGREF_ID)
			imgref_reset(&ref);
		return xasprintf("%s%s%s", from_image,
		    strchr(tag, ':') != NULL ? "@" : ":", tag);
	}
	repo = imgref_familiar_repository(&ref);
	out = xasprintf("%s%s%s", repo, strchr(tag, ':') != NULL ? "@" : ":",
	    tag);
	free(repo);
	imgref_reset(&ref);
	return out;
}

static bool
registry_allowed(const struct guard_config *cfg, const char *domain)
{
	if (cfg->allowed_registries.n == 0)
		return true;
	for (size_t i = 0; i < cfg->allowed_registries.n; i++) {
		if (fnmatch(cfg->allowed_registries.items[i], domain, 0) == 0)
			return true;
	}
	return false;
}

static char *
joined(const struct string_list *l)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->items[i]) + 1;
	out = xcalloc(1, len);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, l->items[i]);
	}
	return out;
}

/* An import (no fromImage): allowed only under imports = allow. */
static void
pull_import(const struct policy_pull *in, struct policy_decision *out)
{
	const char *src = in->from_src != NULL ? in->from_src : "?";
	const char *what = strcmp(src, "-") == 0 ? "the request body" : src;

	if (in->cfg->imports_allow) {
		set_note(out, "imports",
		    xasprintf("import from %s allowed (imports = allow)",
			what));
		return;
	}
	set_outcome(out, RULE_ENFORCE, 403, "imports",
	    xasprintf(
		"docker-guard: refusing to import an image from %s%s%s: an "
		"import makes an image no registry has (rule: imports). "
		"Push images to a registry and pull them by digest, or set "
		"imports = allow.",
		what, in->repo != NULL ? " as " : "",
		in->repo != NULL ? in->repo : ""));
}

/* True when ref's repository matches digest_exempt (noted in out). */
static bool
pull_exempt(const struct guard_config *cfg, const struct imgref *ref,
    struct policy_decision *out)
{
	for (size_t i = 0; i < cfg->digest_exempt.n; i++) {
		if (imgref_repository_matches(ref,
			cfg->digest_exempt.items[i])) {
			set_note(out, "pull_require_digest",
			    xasprintf("pull by tag allowed: repository matches "
				      "digest_exempt \"%s\"",
				cfg->digest_exempt.items[i]));
			return true;
		}
	}
	return false;
}

/* Why a pull of ref by tag (or of every tag) is not pinned.  Caller
 * frees. */
static char *
pull_unpinned_why(const struct guard_config *cfg, const struct imgref *ref)
{
	const char *tag = imgref_effective_tag(ref);

	if (ref->tag == NULL)
		return xstrdup("a pull with no tag pulls every tag of the "
			       "repository, whatever each points to now");
	if (tag != NULL && list_has(&cfg->rolling_tags, tag))
		return xasprintf(
		    "\"%s\" is a rolling tag: it moves to whatever "
		    "was built or pushed last, so a pull can bring "
		    "any version",
		    tag);
	return xstrdup("a pull by tag takes whatever the tag points to now, "
		       "and a later create by that tag runs it");
}

/* buildx takes a refused /grpc for an engine without BuildKit and falls
 * back to its docker-container driver, whose first step is this pull of
 * moby/buildkit by tag: say why the user sees it.  "" for other pulls. */
static const char *
pull_buildkit_hint(const struct guard_config *cfg, const struct imgref *ref)
{
	if (cfg->buildkit_allow || strcmp(ref->domain, "docker.io") != 0 ||
	    strcmp(ref->path, "moby/buildkit") != 0)
		return "";
	return " buildx pulls moby/buildkit to run BuildKit in a container "
	       "when the engine's own BuildKit is refused (rule: buildkit): "
	       "build with DOCKER_BUILDKIT=0 docker build, whose Dockerfile "
	       "the guard judges, or set buildkit = allow.";
}

/* A pull of given (parsed as ref) by tag: refused or warned under
 * pull_require_digest, with the digest to pull by when known. */
static void
pull_unpinned(const struct policy_pull *in, const struct imgref *ref,
    const char *given, struct policy_decision *out)
{
	const struct guard_config *cfg = in->cfg;
	char *why = pull_unpinned_why(cfg, ref), *fix, *pinned = NULL;

	if (in->registry_digest != NULL)
		pinned = imgref_pinned(ref, in->registry_digest);
	if (pinned != NULL)
		fix = xasprintf("Pull by digest: docker pull %s", pinned);
	else
		fix = xasprintf("Pull by digest (%s@sha256:<digest>); the "
				"registry could not say the digest",
		    given);
	set_outcome(out, cfg->pull_require_digest, 403, "pull_require_digest",
	    xasprintf("docker-guard: %s pull %s: it is not pinned by digest; "
		      "%s (rule: pull_require_digest). %s.%s",
		cfg->pull_require_digest == RULE_ENFORCE
		    ? "refusing to"
		    : "warning: would refuse to",
		given, why, fix, pull_buildkit_hint(cfg, ref)));
	free(why);
	free(fix);
	free(pinned);
}

/* The pull of given, a valid reference parsed as ref. */
static void
pull_reference(const struct policy_pull *in, const struct imgref *ref,
    const char *given, struct policy_decision *out)
{
	const struct guard_config *cfg = in->cfg;
	char *list, *repo;

	if (!registry_allowed(cfg, ref->domain)) {
		list = joined(&cfg->allowed_registries);
		set_outcome(out, RULE_ENFORCE, 403, "allowed_registries",
		    xasprintf(
			"docker-guard: refusing to pull %s: registry %s is "
			"not in allowed_registries (%s) (rule: allowed_registries).",
			given, ref->domain, list));
		free(list);
		return;
	}
	if (ref->digest != NULL) {
		repo = imgref_repository(ref);
		out->digest = xasprintf("%s@%s", repo, ref->digest);
		free(repo);
		return;
	}
	if (cfg->pull_require_digest == RULE_OFF || pull_exempt(cfg, ref, out))
		return;
	pull_unpinned(in, ref, given, out);
}

void
policy_evaluate_pull(const struct policy_pull *in, struct policy_decision *out)
{
	struct imgref ref;
	const char *cause = NULL;
	char *given;

	memset(out, 0, sizeof *out);
	out->verdict = POLICY_ALLOW;
	if (in->from_image == NULL || *in->from_image == '\0') {
		pull_import(in, out);
		return;
	}
	given = policy_pull_reference(in->from_image, in->tag);
	if (imgref_parse(given, &ref, &cause) != 0 || ref.kind != IMGREF_NAME) {
		if (ref.kind == IMGREF_ID)
			imgref_reset(&ref);
		set_outcome(out, RULE_ENFORCE, 400, "reference",
		    xasprintf(
			"docker-guard: refusing to pull %s: it is not a valid image "
			"reference: %s",
			given,
			cause != NULL ? cause : "invalid reference format"));
		free(given);
		return;
	}
	pull_reference(in, &ref, given, out);
	imgref_reset(&ref);
	free(given);
}
