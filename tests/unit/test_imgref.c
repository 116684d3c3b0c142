/*
 * Golden tables for imgref: what the Docker engine (distribution/reference
 * ParseAnyReference + ParseNormalizedNamed) makes of a reference string.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "imgref.h"

#define HEX32	"0123456789abcdef0123456789abcdef"
#define HEX63	HEX32 "0123456789abcdef0123456789abcde"
#define HEX64	HEX32 HEX32
#define HEX96	HEX64 HEX32
#define HEX128	HEX64 HEX64
#define UHEX64	"0123456789ABCDEF0123456789ABCDEF" \
		"0123456789ABCDEF0123456789ABCDEF"
#define D256	"sha256:" HEX64
#define OTHER	"sha256:ffffffffffffffffffffffffffffffff" \
		"ffffffffffffffffffffffffffffffff"

#define E_FORMAT	"invalid reference format"
#define E_UPPER		"repository name must be lowercase"
#define E_LONG \
	"repository name must not be more than 255 characters"
#define E_HEX64 \
	"invalid repository name, cannot specify 64-byte hexadecimal strings"
#define E_DIGEST	"invalid digest"
#define E_ALG		"unsupported digest algorithm"

struct parse_row {
	const char		*in;
	const char		*cause;		/* NULL: must parse */
	enum imgref_kind	 kind;
	const char		*domain;
	const char		*path;
	const char		*tag;
	const char		*digest;
	bool			 short_id;
};

#define OK(in, dom, path, tag, dig, sh) \
	{ in, NULL, IMGREF_NAME, dom, path, tag, dig, sh }
#define ID(in, dig) \
	{ in, NULL, IMGREF_ID, NULL, NULL, NULL, dig, false }
#define ERR(in, cause) \
	{ in, cause, IMGREF_NAME, NULL, NULL, NULL, NULL, false }

static const struct parse_row parse_rows[] = {
	/* Normalisation of Docker Hub names. */
	OK("nextcloud", "docker.io", "library/nextcloud", NULL, NULL, false),
	OK("nextcloud:31.0.9-apache", "docker.io", "library/nextcloud",
	    "31.0.9-apache", NULL, false),
	OK("docker.io/nextcloud", "docker.io", "library/nextcloud", NULL, NULL,
	    false),
	OK("index.docker.io/library/nextcloud:31", "docker.io",
	    "library/nextcloud", "31", NULL, false),
	OK("index.docker.io/redis", "docker.io", "library/redis", NULL, NULL,
	    false),
	OK("someone/tool", "docker.io", "someone/tool", NULL, NULL, false),
	OK("docker.io/someone/tool:v1.2.3", "docker.io", "someone/tool",
	    "v1.2.3", NULL, false),
	OK("docker.io/library/a/b", "docker.io", "library/a/b", NULL, NULL,
	    false),
	OK("my-registry/app", "docker.io", "my-registry/app", NULL, NULL,
	    false),

	/* Domains, ports, localhost, IPv6. */
	OK("127.0.0.1:5000/app:31.0.9.1", "127.0.0.1:5000", "app", "31.0.9.1",
	    NULL, false),
	OK("localhost/app", "localhost", "app", NULL, NULL, false),
	OK("localhost:5000/a/b/c:tag", "localhost:5000", "a/b/c", "tag", NULL,
	    false),
	OK("localhost", "docker.io", "library/localhost", NULL, NULL, false),
	OK("localhost:5000", "docker.io", "library/localhost", "5000", NULL,
	    false),
	OK("example.com:5000", "docker.io", "library/example.com", "5000",
	    NULL, false),
	OK("registry.example.com:443/team/app", "registry.example.com:443",
	    "team/app", NULL, NULL, false),
	OK("[::1]:5000/app:1", "[::1]:5000", "app", "1", NULL, false),
	OK("[fe80::1]/app", "[fe80::1]", "app", NULL, NULL, false),
	OK("Example.com/app", "Example.com", "app", NULL, NULL, false),
	OK("Foo/bar", "Foo", "bar", NULL, NULL, false),
	OK("a-b.c/x", "a-b.c", "x", NULL, NULL, false),
	ERR("foo_bar.com/x", E_FORMAT),
	ERR("-example.com/app", E_FORMAT),
	ERR("example-.com/app", E_FORMAT),
	ERR("example..com/app", E_FORMAT),
	ERR("example.com:abc/app", E_FORMAT),
	ERR("example.com:/app", E_FORMAT),
	ERR("foo:tag/bar", E_FORMAT),
	ERR("[zz]/app", E_FORMAT),
	ERR("[]:5000/app", E_FORMAT),
	ERR("[::1/app", E_FORMAT),
	ERR("Foo_x/bar", E_UPPER),
	ERR("example.com/", E_FORMAT),

	/* Path components and separators. */
	OK("foo/a.b-c__d---e", "docker.io", "foo/a.b-c__d---e", NULL, NULL,
	    false),
	OK("foo/a_b", "docker.io", "foo/a_b", NULL, NULL, false),
	ERR("foo/a___b", E_FORMAT),
	ERR("foo/a._b", E_FORMAT),
	ERR("foo/a..b", E_FORMAT),
	ERR("foo/-a", E_FORMAT),
	ERR("foo/a-", E_FORMAT),
	ERR("foo//bar", E_FORMAT),
	ERR("/foo", E_FORMAT),
	ERR("a b", E_FORMAT),
	ERR("caf\xc3\xa9", E_FORMAT),
	ERR("", E_FORMAT),

	/* Case. */
	ERR("NextCloud", E_UPPER),
	ERR("someone/Tool:1", E_UPPER),
	ERR("[::1]/App", E_UPPER),
	OK("nextcloud:Latest", "docker.io", "library/nextcloud", "Latest", NULL,
	    false),

	/* Tags. */
	OK("nextcloud:_x.y-z", "docker.io", "library/nextcloud", "_x.y-z", NULL,
	    false),
	OK("alpine:3.19.1-r0", "docker.io", "library/alpine", "3.19.1-r0",
	    NULL, false),
	ERR("nextcloud:", E_FORMAT),
	ERR("nextcloud:-x", E_FORMAT),
	ERR("nextcloud:.x", E_FORMAT),
	ERR("nextcloud:a:b", E_FORMAT),
	ERR("nextcloud:a+b", E_FORMAT),

	/* Digests. */
	OK("ghcr.io/owner/repo@" D256, "ghcr.io", "owner/repo", NULL, D256,
	    false),
	OK("repo:tag@" D256, "docker.io", "library/repo", "tag", D256, false),
	OK("repo@sha512:" HEX128, "docker.io", "library/repo", NULL,
	    "sha512:" HEX128, false),
	OK("repo@sha384:" HEX96, "docker.io", "library/repo", NULL,
	    "sha384:" HEX96, false),
	ERR("repo@sha256:" HEX63, E_DIGEST),
	ERR("repo@sha256:" HEX64 "0", E_DIGEST),
	ERR("repo@sha256:" UHEX64, E_DIGEST),
	ERR("repo@sha512:" HEX64, E_DIGEST),
	ERR("repo@md5:" HEX32, E_ALG),
	/* ParseNormalizedNamed checks case up to the first ':'. */
	ERR("repo@SHA256:" HEX64, E_UPPER),
	ERR("repo:1@SHA256:" HEX64, E_ALG),
	ERR("repo@sha256:abc", E_FORMAT),
	ERR("repo@sha256:" HEX64 "@x", E_FORMAT),
	ERR("repo@" HEX64, E_FORMAT),
	ERR("repo@", E_FORMAT),
	ERR("repo:tag@", E_FORMAT),

	/* IDs and short-ID candidates. */
	ID(HEX64, D256),
	ID(D256, D256),
	ID("sha512:" HEX128, "sha512:" HEX128),
	ERR(HEX64 ":tag", E_HEX64),
	ERR("docker.io/" HEX64, E_HEX64),
	ERR("docker.io/library/" HEX64 ":1", E_HEX64),
	ERR(HEX64 "@" D256, E_HEX64),
	OK("ghcr.io/" HEX64, "ghcr.io", HEX64, NULL, NULL, false),
	OK("someone/" HEX64, "docker.io", "someone/" HEX64, NULL, NULL, false),
	OK(HEX63, "docker.io", "library/" HEX63, NULL, NULL, true),
	OK("abc123", "docker.io", "library/abc123", NULL, NULL, true),
	OK("a", "docker.io", "library/a", NULL, NULL, true),
	OK("abc12g", "docker.io", "library/abc12g", NULL, NULL, false),
	OK("deadbeef:1", "docker.io", "library/deadbeef", "1", NULL, false),
	OK("sha256:abcd", "docker.io", "library/sha256", "abcd", NULL, true),
	OK("sha256:" UHEX64, "docker.io", "library/sha256", UHEX64, NULL,
	    false),
	OK("library/abc", "docker.io", "library/abc", NULL, NULL, false),
};

static void
test_parse_table(void)
{
	struct imgref	 ref;
	const char	*cause;
	int		 rc;

	for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
		const struct parse_row *r = &parse_rows[i];

		cause = NULL;
		rc = imgref_parse(r->in, &ref, &cause);
		if (r->cause != NULL) {
			CHECKF(rc == -1, "row %zu \"%s\": parsed, expected "
			    "\"%s\"", i, r->in, r->cause);
			CHECKF(cause != NULL && strcmp(cause, r->cause) == 0,
			    "row %zu \"%s\": cause \"%s\", expected \"%s\"",
			    i, r->in, cause ? cause : "(null)", r->cause);
			CHECKF(ref.domain == NULL && ref.path == NULL &&
			    ref.tag == NULL && ref.digest == NULL,
			    "row %zu \"%s\": *out not zeroed on failure", i,
			    r->in);
			imgref_reset(&ref);
			continue;
		}
		CHECKF(rc == 0, "row %zu \"%s\": failed: %s", i, r->in,
		    cause ? cause : "(null)");
		if (rc != 0)
			continue;
#define FIELD(f) \
		CHECKF(r->f == NULL ? ref.f == NULL : \
		    ref.f != NULL && strcmp(ref.f, r->f) == 0, \
		    "row %zu \"%s\": " #f " \"%s\", expected \"%s\"", i, \
		    r->in, ref.f ? ref.f : "(null)", r->f ? r->f : "(null)")
		CHECKF(ref.kind == r->kind, "row %zu \"%s\": kind %d, "
		    "expected %d", i, r->in, (int)ref.kind, (int)r->kind);
		FIELD(domain);
		FIELD(path);
		FIELD(tag);
		FIELD(digest);
#undef FIELD
		CHECKF(ref.short_id_candidate == r->short_id,
		    "row %zu \"%s\": short_id_candidate %d", i, r->in,
		    (int)ref.short_id_candidate);
		imgref_reset(&ref);
	}
}

/* The 255-character limit applies to the path, with "library/" added. */
static void
test_length_limits(void)
{
	static const struct {
		const char	*prefix;
		size_t		 n;
		const char	*cause;
	} rows[] = {
		{ "", 247, NULL },
		{ "", 248, E_LONG },
		{ "someone/", 247, NULL },
		{ "someone/", 248, E_LONG },
		{ "example.com/", 255, NULL },
		{ "example.com/", 256, E_LONG },
		{ "nextcloud:", 128, NULL },	/* tag of 128 */
		{ "nextcloud:", 129, E_FORMAT },
	};
	struct imgref	 ref;
	const char	*cause;
	char		 buf[512];
	size_t		 plen;
	int		 rc;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		plen = strlen(rows[i].prefix);
		memcpy(buf, rows[i].prefix, plen);
		memset(buf + plen, 'a', rows[i].n);
		buf[plen + rows[i].n] = '\0';
		cause = NULL;
		rc = imgref_parse(buf, &ref, &cause);
		CHECKF(rc == (rows[i].cause == NULL ? 0 : -1),
		    "row %zu (%s + %zu): rc %d", i, rows[i].prefix, rows[i].n,
		    rc);
		if (rows[i].cause != NULL)
			CHECKF(cause != NULL &&
			    strcmp(cause, rows[i].cause) == 0,
			    "row %zu: cause \"%s\"", i,
			    cause ? cause : "(null)");
		imgref_reset(&ref);
	}
}

struct derived_row {
	const char	*in;
	const char	*repository;
	const char	*familiar;
	const char	*effective_tag;
	bool		 pinned;
};

static const struct derived_row derived_rows[] = {
	{ "nextcloud", "docker.io/library/nextcloud", "nextcloud", "latest",
	    false },
	{ "docker.io/library/nextcloud:31", "docker.io/library/nextcloud",
	    "nextcloud", "31", false },
	{ "someone/tool:1", "docker.io/someone/tool", "someone/tool", "1",
	    false },
	{ "127.0.0.1:5000/app:31.0.9.1", "127.0.0.1:5000/app",
	    "127.0.0.1:5000/app", "31.0.9.1", false },
	{ "localhost/app", "localhost/app", "localhost/app", "latest", false },
	{ "docker.io/library/a/b", "docker.io/library/a/b", "library/a/b",
	    "latest", false },
	{ "index.docker.io/a.b/app:1", "docker.io/a.b/app",
	    "docker.io/a.b/app", "1", false },
	{ "docker.io/localhost/app", "docker.io/localhost/app",
	    "docker.io/localhost/app", "latest", false },
	{ "docker.io/a-b/app", "docker.io/a-b/app", "a-b/app", "latest",
	    false },
	{ "app@" D256, "docker.io/library/app", "app", NULL, true },
	{ "app:1@" D256, "docker.io/library/app", "app", "1", true },
	{ HEX64, NULL, NULL, NULL, true },
	{ "sha512:" HEX128, NULL, NULL, NULL, true },
};

static void
test_derived_table(void)
{
	struct imgref	 ref;
	const char	*cause;
	char		*repo, *fam;

	for (size_t i = 0; i < sizeof derived_rows / sizeof derived_rows[0];
	    i++) {
		const struct derived_row *r = &derived_rows[i];

		if (imgref_parse(r->in, &ref, &cause) != 0) {
			CHECKF(0, "row %zu \"%s\": failed: %s", i, r->in,
			    cause);
			continue;
		}
		repo = imgref_repository(&ref);
		fam = imgref_familiar_repository(&ref);
		CHECK_STR_EQ(repo, r->repository);
		CHECK_STR_EQ(fam, r->familiar);
		CHECK_STR_EQ(imgref_effective_tag(&ref), r->effective_tag);
		CHECKF(imgref_is_pinned(&ref) == r->pinned,
		    "row %zu \"%s\": is_pinned", i, r->in);
		free(repo);
		free(fam);
		imgref_reset(&ref);
	}
}

static void
test_pinned_table(void)
{
	static const struct {
		const char	*in;
		const char	*digest;
		const char	*out;
	} rows[] = {
		{ "127.0.0.1:5000/app:31.0.9.1", D256,
		    "127.0.0.1:5000/app:31.0.9.1@" D256 },
		{ "nextcloud", D256, "nextcloud@" D256 },
		{ "docker.io/library/nextcloud:31-apache", D256,
		    "nextcloud:31-apache@" D256 },
		{ "someone/tool@" OTHER, D256, "someone/tool@" D256 },
		{ "someone/tool:1@" OTHER, NULL, "someone/tool:1@" OTHER },
		{ "ghcr.io/owner/repo:v2", D256,
		    "ghcr.io/owner/repo:v2@" D256 },
		{ HEX64, NULL, D256 },
	};
	struct imgref	 ref;
	const char	*cause;
	char		*s;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (imgref_parse(rows[i].in, &ref, &cause) != 0) {
			CHECKF(0, "row %zu \"%s\": failed: %s", i, rows[i].in,
			    cause);
			continue;
		}
		s = imgref_pinned(&ref, rows[i].digest);
		CHECK_STR_EQ(s, rows[i].out);
		free(s);
		imgref_reset(&ref);
	}
}

static void
test_matches_table(void)
{
	static const struct {
		const char	*in;
		const char	*glob;
		bool		 match;
	} rows[] = {
		{ "nextcloud", "nextcloud", true },
		{ "nextcloud:31", "docker.io/library/nextcloud", true },
		{ "nextcloud", "docker.io/library/*", true },
		{ "nextcloud", "*", true },
		{ "nextcloud", "next*", true },
		{ "nextcloudx", "nextcloud", false },
		{ "someone/tool", "*", false },
		{ "someone/tool", "someone/*", true },
		{ "someone/tool", "docker.io/*/tool", true },
		{ "ghcr.io/owner/repo", "ghcr.io/owner/*", true },
		{ "ghcr.io/owner/repo", "ghcr.io/*", false },
		{ "ghcr.io/owner/repo", "owner/repo", false },
		{ HEX64, "*", false },
	};
	struct imgref	 ref;
	const char	*cause;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (imgref_parse(rows[i].in, &ref, &cause) != 0) {
			CHECKF(0, "row %zu \"%s\": failed: %s", i, rows[i].in,
			    cause);
			continue;
		}
		CHECKF(imgref_repository_matches(&ref, rows[i].glob) ==
		    rows[i].match, "row %zu: \"%s\" vs glob \"%s\"", i,
		    rows[i].in, rows[i].glob);
		imgref_reset(&ref);
	}
}

static void
test_digest_valid_table(void)
{
	static const struct {
		const char	*in;
		bool		 valid;
	} rows[] = {
		{ D256, true },
		{ "sha384:" HEX96, true },
		{ "sha512:" HEX128, true },
		{ "sha256:" UHEX64, false },
		{ "SHA256:" HEX64, false },
		{ "sha256:" HEX63, false },
		{ "sha256:" HEX64 "0", false },
		{ "sha512:" HEX64, false },
		{ "md5:" HEX32, false },
		{ "sha256:", false },
		{ "sha256", false },
		{ HEX64, false },
		{ "", false },
		{ NULL, false },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECKF(imgref_digest_valid(rows[i].in) == rows[i].valid,
		    "row %zu \"%s\"", i, rows[i].in ? rows[i].in : "(null)");
}

static void
test_reset(void)
{
	struct imgref	 ref;
	const char	*cause = NULL;

	CHECK_INT_EQ(imgref_parse("a/b:c@" D256, &ref, &cause), 0);
	imgref_reset(&ref);
	CHECK(ref.domain == NULL && ref.path == NULL && ref.tag == NULL &&
	    ref.digest == NULL);
	imgref_reset(&ref);		/* twice is harmless */
	CHECK_INT_EQ(imgref_parse("A", &ref, NULL), -1);	/* cause NULL */
	imgref_reset(&ref);
	CHECK_INT_EQ(imgref_parse(NULL, &ref, &cause), -1);
	CHECK_STR_EQ(cause, E_FORMAT);
}

static const struct check_case cases[] = {
	{ "parse_table", test_parse_table },
	{ "length_limits", test_length_limits },
	{ "derived_table", test_derived_table },
	{ "pinned_table", test_pinned_table },
	{ "matches_table", test_matches_table },
	{ "digest_valid_table", test_digest_valid_table },
	{ "reset", test_reset },
};

int
main(void)
{
	return CHECK_RUN("imgref", cases);
}
