/*
 * Image references, the way the Docker engine reads them: ParseAnyReference
 * and ParseNormalizedNamed from github.com/distribution/reference.  The
 * grammar (reference.go):
 *
 *   reference        := name [ ":" tag ] [ "@" digest ]
 *   name             := [domain '/'] remote-name
 *   domain           := host [':' port-number]
 *   host             := domain-name | '[' IPv6address ']'
 *   domain-name      := domain-component ['.' domain-component]*
 *   domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   remote-name      := path-component ['/' path-component]*
 *   path-component   := alpha-numeric [separator alpha-numeric]*
 *   alpha-numeric    := [a-z0-9]+
 *   separator        := [_.] | '__' | [-]+
 *   tag              := [\w][\w.-]{0,127}
 *   digest           := algorithm ':' [0-9a-fA-F]{32,}
 *   algorithm        := component ([+._-] component)*
 *   component        := [A-Za-z][A-Za-z0-9]*
 */

#include <fnmatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "imgref.h"
#include "xmalloc.h"

#define IMGREF_DEFAULT_DOMAIN "docker.io"
#define IMGREF_LEGACY_DOMAIN "index.docker.io"
#define IMGREF_OFFICIAL_PREFIX "library/"
/* RepositoryNameTotalLengthMax, for the path only */
#define IMGREF_PATH_MAX 255
#define IMGREF_TAG_MAX 128

static const char imgref_err_format[] = "invalid reference format";
static const char imgref_err_upper[] = "repository name must be lowercase";
static const char imgref_err_long[] =
    "repository name must not be more than 255 characters";
static const char imgref_err_hex64[] =
    "invalid repository name, cannot specify 64-byte hexadecimal strings";
static const char imgref_err_digest[] = "invalid digest";
static const char imgref_err_algorithm[] = "unsupported digest algorithm";

/* The digest algorithms go-digest registers in the engine. */
static const struct {
	const char *name;
	size_t hexlen;
} imgref_algorithms[] = {
	{ "sha256", 64 },
	{ "sha384", 96 },
	{ "sha512", 128 },
};
#define IMGREF_NALGORITHMS \
	(sizeof imgref_algorithms / sizeof imgref_algorithms[0])

static bool
imgref_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
imgref_is_alnum(char c)
{
	return imgref_is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
imgref_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
imgref_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
imgref_is_xdigit(char c)
{
	return imgref_is_digit(c) || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static bool
imgref_is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!imgref_is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return true;
}

static bool
imgref_has_upper(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	}
	return false;
}

/* Set *cause if the caller wants it and return -1. */
static int
imgref_fail(const char **cause, const char *msg)
{
	if (cause != NULL)
		*cause = msg;
	return -1;
}

/* domain-component, exactly len bytes. */
static bool
imgref_domain_component(const char *s, size_t len)
{
	if (len == 0 || !imgref_is_alnum(s[0]) || !imgref_is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (!imgref_is_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* domain := host [':' port-number], exactly len bytes. */
static bool
imgref_domain_valid(const char *s, size_t len)
{
	size_t i = 0, start;

	if (len == 0)
		return false;
	if (s[0] == '[') {
		/* Bracketed IPv6 literal, as newer distribution/reference. */
		for (i = 1; i < len && s[i] != ']'; i++) {
			if (!imgref_is_xdigit(s[i]) && s[i] != ':')
				return false;
		}
		if (i == len || i == 1)
			return false;
		i++;
	} else {
		for (;;) {
			start = i;
			while (i < len && s[i] != '.' && s[i] != ':')
				i++;
			if (!imgref_domain_component(s + start, i - start))
				return false;
			if (i == len || s[i] == ':')
				break;
			i++; /* '.' */
		}
	}
	if (i == len)
		return true;
	if (s[i] != ':' || ++i == len)
		return false;
	for (; i < len; i++) {
		if (!imgref_is_digit(s[i]))
			return false;
	}
	return true;
}

/* path-component, exactly len bytes. */
static bool
imgref_path_component(const char *s, size_t len)
{
	size_t i = 0;

	for (;;) {
		if (i == len || !imgref_is_lower_alnum(s[i]))
			return false;
		while (i < len && imgref_is_lower_alnum(s[i]))
			i++;
		if (i == len)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-') {
			while (i < len && s[i] == '-')
				i++;
		} else
			return false;
	}
}

/* remote-name, exactly len bytes. */
static bool
imgref_path_valid(const char *s, size_t len)
{
	const char *slash;
	size_t n;

	for (;;) {
		slash = memchr(s, '/', len);
		n = slash == NULL ? len : (size_t)(slash - s);
		if (!imgref_path_component(s, n))
			return false;
		if (slash == NULL)
			return true;
		s += n + 1;
		len -= n + 1;
	}
}

/* tag := [\w][\w.-]{0,127} */
static bool
imgref_tag_valid(const char *s, size_t len)
{
	if (len == 0 || len > IMGREF_TAG_MAX)
		return false;
	if (!imgref_is_alnum(s[0]) && s[0] != '_')
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!imgref_is_alnum(s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return false;
	}
	return true;
}

/* The reference grammar's digest, before the algorithm is checked. */
static bool
imgref_digest_syntax(const char *s)
{
	size_t i = 0, hex;

	for (;;) {
		if (!imgref_is_alpha(s[i]))
			return false;
		while (imgref_is_alnum(s[i]))
			i++;
		if (s[i] == ':')
			break;
		if (s[i] != '+' && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
		i++;
	}
	i++;
	for (hex = 0; imgref_is_xdigit(s[i]); hex++)
		i++;
	return s[i] == '\0' && hex >= 32;
}

/*
 * Check a digest that matched the grammar the way go-digest does: NULL if
 * it is usable, otherwise why not.
 */
static const char *
imgref_digest_check(const char *s)
{
	const char *colon = strchr(s, ':');
	size_t alen, hlen;

	if (colon == NULL)
		return imgref_err_digest;
	alen = colon - s;
	hlen = strlen(colon + 1);
	for (size_t i = 0; i < IMGREF_NALGORITHMS; i++) {
		if (strlen(imgref_algorithms[i].name) != alen ||
		    memcmp(imgref_algorithms[i].name, s, alen) != 0)
			continue;
		if (hlen != imgref_algorithms[i].hexlen ||
		    !imgref_is_lower_hex(colon + 1, hlen))
			return imgref_err_digest;
		return NULL;
	}
	return imgref_err_algorithm;
}

bool
imgref_digest_valid(const char *digest)
{
	if (digest == NULL)
		return false;
	return imgref_digest_check(digest) == NULL;
}

/* ^(sha256:)?[a-f0-9]{1,63}$: what the engine may try as a short ID. */
static bool
imgref_short_id(const char *s)
{
	size_t len;

	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	len = strlen(s);
	return len >= 1 && len <= 63 && imgref_is_lower_hex(s, len);
}

/*
 * splitDockerDomain: the part before the first '/' is a domain if it is
 * "localhost", contains '.' or ':', or has an uppercase letter (names
 * cannot).  Returns the domain (owned) and points *rest at the remainder.
 */
static char *
imgref_split_domain(const char *s, const char **rest)
{
	const char *slash = strchr(s, '/');
	size_t n;

	if (slash == NULL) {
		*rest = s;
		return xstrdup(IMGREF_DEFAULT_DOMAIN);
	}
	n = slash - s;
	*rest = slash + 1;
	if (n == strlen(IMGREF_LEGACY_DOMAIN) &&
	    memcmp(s, IMGREF_LEGACY_DOMAIN, n) == 0)
		return xstrdup(IMGREF_DEFAULT_DOMAIN);
	if ((n == 9 && memcmp(s, "localhost", 9) == 0) ||
	    memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
	    imgref_has_upper(s, n))
		return xstrndup(s, n);
	*rest = s;
	return xstrdup(IMGREF_DEFAULT_DOMAIN);
}

static int
imgref_parse_named(const char *s, struct imgref *out, const char **cause)
{
	const char *rest, *at, *colon, *why;
	char *domain, *path;
	size_t namelen, pathlen, restlen;
	size_t plen = strlen(IMGREF_OFFICIAL_PREFIX);
	bool official;

	domain = imgref_split_domain(s, &rest);
	official = strcmp(domain, IMGREF_DEFAULT_DOMAIN) == 0 &&
	    strchr(rest, '/') == NULL;
	restlen = strlen(rest);

	/* ParseNormalizedNamed checks case up to the first ':' first. */
	colon = strchr(rest, ':');
	why = imgref_err_upper;
	if (imgref_has_upper(rest,
		colon == NULL ? restlen : (size_t)(colon - rest)))
		goto fail;

	/*
	 * distribution/reference would read an invalid domain containing a
	 * '.' ("foo_bar.com/x") as a path component and return an empty
	 * domain; refuse that instead.
	 */
	if (!imgref_domain_valid(domain, strlen(domain))) {
		if (!imgref_has_upper(domain, strlen(domain)))
			why = imgref_err_format;
		goto fail;
	}

	at = strchr(rest, '@');
	namelen = at == NULL ? restlen : (size_t)(at - rest);
	colon = memchr(rest, ':', namelen);
	pathlen = colon == NULL ? namelen : (size_t)(colon - rest);

	why = imgref_err_format;
	if (!imgref_path_valid(rest, pathlen))
		goto fail;
	if (colon != NULL &&
	    !imgref_tag_valid(colon + 1, namelen - pathlen - 1))
		goto fail;
	if (at != NULL && !imgref_digest_syntax(at + 1))
		goto fail;
	why = imgref_err_long;
	if (pathlen + (official ? plen : 0) > IMGREF_PATH_MAX)
		goto fail;
	if (at != NULL && (why = imgref_digest_check(at + 1)) != NULL)
		goto fail;

	/*
	 * The engine refuses a bare 64-hex name, as it reads like an ID.
	 * Refuse every official Docker Hub name of 64 hex ("<hex>:tag" too),
	 * so that no familiar name printed back can be mistaken for an ID.
	 */
	path = xasprintf("%s%.*s", official ? IMGREF_OFFICIAL_PREFIX : "",
	    (int)pathlen, rest);
	if (strcmp(domain, IMGREF_DEFAULT_DOMAIN) == 0 &&
	    strlen(path) == plen + 64 &&
	    strncmp(path, IMGREF_OFFICIAL_PREFIX, plen) == 0 &&
	    imgref_is_lower_hex(path + plen, 64)) {
		free(path);
		why = imgref_err_hex64;
		goto fail;
	}

	out->kind = IMGREF_NAME;
	out->domain = domain;
	out->path = path;
	if (colon != NULL)
		out->tag = xstrndup(colon + 1, namelen - pathlen - 1);
	if (at != NULL)
		out->digest = xstrdup(at + 1);
	out->short_id_candidate = imgref_short_id(s);
	return 0;

fail:
	free(domain);
	return imgref_fail(cause, why);
}

int
imgref_parse(const char *s, struct imgref *out, const char **cause)
{
	size_t len;

	memset(out, 0, sizeof *out);
	if (s == NULL || *s == '\0')
		return imgref_fail(cause, imgref_err_format);

	/* ParseAnyReference: a bare 64-hex ID, then any valid digest. */
	len = strlen(s);
	if (len == 64 && imgref_is_lower_hex(s, len)) {
		out->kind = IMGREF_ID;
		out->digest = xasprintf("sha256:%s", s);
		return 0;
	}
	if (imgref_digest_valid(s)) {
		out->kind = IMGREF_ID;
		out->digest = xstrdup(s);
		return 0;
	}
	return imgref_parse_named(s, out, cause);
}

void
imgref_reset(struct imgref *ref)
{
	if (ref == NULL)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof *ref);
}

char *
imgref_repository(const struct imgref *ref)
{
	if (ref->kind != IMGREF_NAME)
		return NULL;
	return xasprintf("%s/%s", ref->domain, ref->path);
}

char *
imgref_familiar_repository(const struct imgref *ref)
{
	const char *p = ref->path;
	size_t plen = strlen(IMGREF_OFFICIAL_PREFIX);

	const char *slash;

	if (ref->kind != IMGREF_NAME)
		return NULL;
	if (strcmp(ref->domain, IMGREF_DEFAULT_DOMAIN) != 0)
		return xasprintf("%s/%s", ref->domain, ref->path);
	/* Only one level under library/ is dropped, as familiarizeName. */
	if (strncmp(p, IMGREF_OFFICIAL_PREFIX, plen) == 0 &&
	    strchr(p + plen, '/') == NULL)
		return xstrdup(p + plen);
	/*
	 * Unlike familiarizeName, keep docker.io/ when the first component
	 * would read back as a domain: "docker.io/a.b/c" is not "a.b/c".
	 */
	slash = strchr(p, '/');
	if (slash != NULL &&
	    (memchr(p, '.', slash - p) != NULL ||
		(slash - p == 9 && memcmp(p, "localhost", 9) == 0)))
		return xasprintf("%s/%s", ref->domain, ref->path);
	return xstrdup(p);
}

bool
imgref_is_pinned(const struct imgref *ref)
{
	return ref->kind == IMGREF_ID || ref->digest != NULL;
}

const char *
imgref_effective_tag(const struct imgref *ref)
{
	if (ref->kind != IMGREF_NAME)
		return NULL;
	if (ref->tag != NULL)
		return ref->tag;
	if (ref->digest == NULL)
		return "latest";
	return NULL;
}

char *
imgref_pinned(const struct imgref *ref, const char *digest)
{
	char *familiar, *s;

	if (digest == NULL)
		digest = ref->digest;
	if (ref->kind != IMGREF_NAME)
		return xstrdup(digest != NULL ? digest : "");
	familiar = imgref_familiar_repository(ref);
	s = xasprintf("%s%s%s%s%s", familiar, ref->tag != NULL ? ":" : "",
	    ref->tag != NULL ? ref->tag : "", digest != NULL ? "@" : "",
	    digest != NULL ? digest : "");
	free(familiar);
	return s;
}

bool
imgref_repository_matches(const struct imgref *ref, const char *glob)
{
	char *full, *familiar;
	bool match;

	if (ref->kind != IMGREF_NAME || glob == NULL)
		return false;
	full = imgref_repository(ref);
	familiar = imgref_familiar_repository(ref);
	match = fnmatch(glob, full, FNM_PATHNAME) == 0 ||
	    fnmatch(glob, familiar, FNM_PATHNAME) == 0;
	free(familiar);
	free(full);
	return match;
}
