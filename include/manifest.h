/*
 * Registry manifests (OCI image-spec, Docker image manifest v2 schema 2):
 * what an index lists, which child fits a platform, where the config
 * blob is, the version annotations and labels, and the sha256 digest a
 * fetched body must match.  Pure: the caller fetches.
 */
#ifndef MANIFEST_H
#define MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#define MANIFEST_TYPE_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MANIFEST_TYPE_OCI_IMAGE "application/vnd.oci.image.manifest.v1+json"
#define MANIFEST_TYPE_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MANIFEST_TYPE_DOCKER_IMAGE \
	"application/vnd.docker.distribution.manifest.v2+json"

/* The Accept header value for every manifest request: all four types, so
 * no registry falls back to schema 1 or rewrites a list to one child. */
#define MANIFEST_ACCEPT                                        \
	MANIFEST_TYPE_OCI_INDEX ", " MANIFEST_TYPE_OCI_IMAGE   \
				", " MANIFEST_TYPE_DOCKER_LIST \
				", " MANIFEST_TYPE_DOCKER_IMAGE

/* Bigger bodies are refused (distribution's own manifest limit is 4 MiB). */
#define MANIFEST_MAX_BODY (4 * 1024 * 1024)
/* An index with more children is refused: each one costs a request. */
#define MANIFEST_MAX_CHILDREN 1024
/* Bigger image config blobs are not read. */
#define MANIFEST_MAX_CONFIG (4 * 1024 * 1024)

enum manifest_kind {
	MANIFEST_UNKNOWN,
	MANIFEST_INDEX, /* OCI index or Docker manifest list */
	MANIFEST_IMAGE, /* OCI or Docker image manifest */
};

struct manifest_child {
	char *digest;	  /* "sha256:<64 lowercase hex>" */
	char *media_type; /* as listed (visible ASCII), NULL if absent */
	char *os;	  /* platform fields as listed, NULL if absent */
	char *architecture;
	char *variant;
	bool attestation; /* annotations["vnd.docker.reference.type"]
				   is "attestation-manifest", or the platform
				   is unknown/unknown (BuildKit) */
	char *version;	  /* annotations
				   ["org.opencontainers.image.version"], or
				   NULL */
};

struct manifest {
	enum manifest_kind kind;
	char *media_type;		 /* one of MANIFEST_TYPE_*; the
						   OCI type when inferred */
	struct manifest_child *children; /* index only */
	size_t n_children;
	char *config_digest; /* image only: config.digest */
	char *version;	     /* top-level annotations
						   ["org.opencontainers.image.
						   version"], or NULL */
};

/* The kind a media type names, parameters and case ignored; UNKNOWN for
 * NULL or anything but the four MANIFEST_TYPE_*. */
enum manifest_kind manifest_kind_of(const char *media_type);
/*
 * Parse a manifest body.  content_type is the response Content-Type (may
 * be NULL).  The type is the Content-Type if it is one of the four, else
 * the body's mediaType, else inferred ("manifests" => index, "config" and
 * "layers" => image).  Refused (-1, *cause static if cause is not NULL,
 * *out zeroed): not a JSON object, duplicate keys, schemaVersion other
 * than 2, other media types (schema 1, artifacts), a body mediaType that
 * contradicts the Content-Type, an index with "config" or "layers" or an
 * image with "manifests" (CVE-2021-41190), a digest that is not
 * "sha256:" and 64 lowercase hex, fields of the wrong JSON type, more
 * than MANIFEST_MAX_CHILDREN children or a body over MANIFEST_MAX_BODY.
 * Returns 0 and fills *out (caller calls manifest_reset).
 */
int manifest_parse(const char *body, size_t len, const char *content_type,
    struct manifest *out, const char **cause);
/* Free what manifest_parse filled and zero *m; safe to call twice. */
void manifest_reset(struct manifest *m);
/*
 * The first non-attestation child for os/arch/variant, compared after
 * manifest_normalize_platform, the way containerd's platform matcher
 * does: for arm64 an absent variant is "v8", for arm "v7".  An empty or
 * NULL variant takes any variant of that arch, preferring none, then
 * "v8", then "v7", then document order.  NULL if none fits or os or arch
 * is NULL.  Borrowed from m.
 */
const struct manifest_child *manifest_find_platform(const struct manifest *m,
    const char *os, const char *arch, const char *variant);
/*
 * Normalise an engine or uname style platform (/info OSType "linux",
 * Architecture "x86_64") to OCI names: os lower-cased; "x86_64" ->
 * "amd64", "aarch64" -> "arm64", "armv7l" -> "arm" with variant "v7",
 * "i686" -> "386" and so on; unknown arches lower-cased.  Writes NUL-
 * terminated, possibly truncated strings into the caller's buffers
 * (variant "" when the arch implies none); a NULL input reads as "".
 */
void manifest_normalize_platform(const char *os, const char *arch, char *os_out,
    size_t os_size, char *arch_out, size_t arch_size, char *variant_out,
    size_t variant_size);
/* The value of label name in an image config blob (config.Labels), or
 * NULL if absent, not a string, or the blob is not JSON or is over
 * MANIFEST_MAX_CONFIG.  Caller frees. */
char *
manifest_config_label(const char *config_json, size_t len, const char *name);
/* "sha256:<64 lowercase hex>" of data (FIPS 180-4), to check a fetched
 * body against the digest it was asked by.  Caller frees. */
char *manifest_sha256_digest(const void *data, size_t len);

#endif
