/*
 * Image references, parsed and normalised the way the Docker engine does
 * (github.com/distribution/reference ParseNormalizedNamed and
 * ParseAnyReference).  Pure: no I/O.
 *
 *   nextcloud                    -> docker.io/library/nextcloud (tag latest implied)
 *   127.0.0.1:5000/app:1.2       -> domain 127.0.0.1:5000, path app, tag 1.2
 *   repo:tag@sha256:<64 hex>     -> tag kept for display, the digest wins
 *   sha256:<64 hex>, <64 hex>    -> an image ID, not a name
 *   <hex prefix>                 -> may be a short image ID or a name; only
 *                                   the engine can tell (image inspect)
 */
#ifndef IMGREF_H
#define IMGREF_H

#include <stdbool.h>

enum imgref_kind {
	IMGREF_NAME, /* a repository name, maybe with tag/digest */
	IMGREF_ID,   /* <64 hex> or any valid digest (sha256:<64 hex>,
				   sha384, sha512): a full image ID */
};

struct imgref {
	enum imgref_kind kind;
	char *domain; /* "docker.io", "127.0.0.1:5000"; NULL for IDs */
	char *path;   /* "library/nextcloud"; NULL for IDs */
	char *tag;    /* as written, NULL if none was written */
	char *digest; /* "sha256:<hex>" (lowercase algorithm), NULL if none;
			   for IMGREF_ID the full "sha256:<64 hex>" ID */
	bool short_id_candidate; /* NAME whose whole input is
				    (sha256:)?<1-63 lowercase hex>; the engine
				    may resolve it as a short image ID */
};

/*
 * Parse s.  On success fill *out (caller calls imgref_reset) and return 0.
 * On failure return -1, leave *out zeroed and set *cause (if not NULL) to
 * a static English message such as "repository name must be lowercase"
 * or "invalid digest".
 */
int imgref_parse(const char *s, struct imgref *out, const char **cause);
/* Free what imgref_parse filled and zero *ref; safe to call twice. */
void imgref_reset(struct imgref *ref);

/* "docker.io/library/nextcloud".  Caller frees.  NULL for IDs. */
char *imgref_repository(const struct imgref *ref);
/* The short form Docker prints: "nextcloud", "127.0.0.1:5000/app",
 * "someone/tool" (docker.io/ and library/ dropped; docker.io/ kept when
 * the rest would read as a domain, "docker.io/a.b/c").  Caller frees.
 * NULL for IDs. */
char *imgref_familiar_repository(const struct imgref *ref);
/* True if the reference names content immutably: it carries a digest, or
 * it is a full image ID. */
bool imgref_is_pinned(const struct imgref *ref);
/* The tag that applies: the written tag, or "latest" when neither tag nor
 * digest was written; NULL when only a digest was written or for IDs. */
const char *imgref_effective_tag(const struct imgref *ref);
/*
 * The pinned reference to suggest in a fix-it message, in the familiar
 * form the user is likely to have written:
 *   familiar repository [":" tag] "@" digest
 * The tag is the written tag if any; a NULL digest means ref's own.  For
 * an ID, a copy of the digest.  Caller frees.
 */
char *imgref_pinned(const struct imgref *ref, const char *digest);
/* True if digest is "<algorithm>:<hex>" with a known algorithm (sha256:
 * 64 lowercase hex, sha384: 96, sha512: 128), as go-digest checks it. */
bool imgref_digest_valid(const char *digest);
/* True if glob (fnmatch rules, '*' does not match '/') matches the
 * repository of ref, given either in full ("docker.io/library/redis")
 * or familiar ("redis") form.  Used for exemption lists. */
bool imgref_repository_matches(const struct imgref *ref, const char *glob);

#endif
