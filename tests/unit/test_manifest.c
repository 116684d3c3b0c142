/*
 * Golden tables for manifest: real index and manifest shapes (Docker Hub
 * official images with BuildKit attestations, Docker manifest lists,
 * distroless, OCI manifests with annotations), refused bodies, platform
 * matching as containerd does it, and SHA-256 (FIPS 180-2 appendix B
 * vectors).
 *
 * Fixtures are written with ' for " and converted by q().
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "manifest.h"

/* A digest from eight hex digits repeated. */
#define D(x)	"sha256:" x x x x x x x x

#define OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define OCI_IMAGE	"application/vnd.oci.image.manifest.v1+json"
#define DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_IMAGE	"application/vnd.docker.distribution.manifest.v2+json"

static char *
q(const char *s)
{
	char	*out = strdup(s);

	for (char *c = out; *c != '\0'; c++) {
		if (*c == '\'')
			*c = '"';
	}
	return out;
}

#define ATT(arch, ref, dig) \
	"{'annotations': {'com.docker.official-images.bashbrew.arch': '" \
	arch "', 'vnd.docker.reference.digest': '" ref "'," \
	" 'vnd.docker.reference.type': 'attestation-manifest'}," \
	" 'digest': '" dig "', 'mediaType': '" OCI_IMAGE "'," \
	" 'platform': {'architecture': 'unknown', 'os': 'unknown'}," \
	" 'size': 841}"
#define IMG(arch, plat, dig) \
	"{'annotations': {'com.docker.official-images.bashbrew.arch': '" \
	arch "', 'org.opencontainers.image.base.name': 'alpine:3.19'," \
	" 'org.opencontainers.image.created': '2024-02-14T20:36:11Z'," \
	" 'org.opencontainers.image.revision': " \
	"'2fd14ff0dd5aa9e9ea2c1543c64b6ba9a4bd7e52'," \
	" 'org.opencontainers.image.source': " \
	"'https://github.com/nginxinc/docker-nginx.git'," \
	" 'org.opencontainers.image.url': 'https://hub.docker.com/_/nginx'," \
	" 'org.opencontainers.image.version': '1.25.4-alpine'}," \
	" 'digest': '" dig "', 'mediaType': '" OCI_IMAGE "'," \
	" 'platform': " plat ", 'size': 2063}"

/* The shape of nginx:alpine on Docker Hub: each image followed by its
 * attestation manifest. */
static const char hub_index[] =
    "{'manifests': ["
    IMG("amd64", "{'architecture': 'amd64', 'os': 'linux'}", D("a0a0a0a0"))
    ", " ATT("amd64", D("a0a0a0a0"), D("a1a1a1a1"))
    ", " IMG("arm32v6", "{'architecture': 'arm', 'os': 'linux', "
	"'variant': 'v6'}", D("b0b0b0b0"))
    ", " ATT("arm32v6", D("b0b0b0b0"), D("b1b1b1b1"))
    ", " IMG("arm32v7", "{'architecture': 'arm', 'os': 'linux', "
	"'variant': 'v7'}", D("c0c0c0c0"))
    ", " ATT("arm32v7", D("c0c0c0c0"), D("c1c1c1c1"))
    ", " IMG("arm64v8", "{'architecture': 'arm64', 'os': 'linux', "
	"'variant': 'v8'}", D("d0d0d0d0"))
    ", " ATT("arm64v8", D("d0d0d0d0"), D("d1d1d1d1"))
    ", " IMG("i386", "{'architecture': '386', 'os': 'linux'}", D("e0e0e0e0"))
    ", " ATT("i386", D("e0e0e0e0"), D("e1e1e1e1"))
    ", " IMG("ppc64le", "{'architecture': 'ppc64le', 'os': 'linux'}",
	D("f0f0f0f0"))
    ", " ATT("ppc64le", D("f0f0f0f0"), D("f1f1f1f1"))
    ", " IMG("s390x", "{'architecture': 's390x', 'os': 'linux'}",
	D("01010101"))
    ", " ATT("s390x", D("01010101"), D("02020202"))
    "], 'mediaType': '" OCI_INDEX "', 'schemaVersion': 2}";

#define LISTED(plat, dig) \
	"{'mediaType': '" DOCKER_IMAGE "', 'size': 527, 'digest': '" dig "'," \
	" 'platform': " plat "}"

/* A Docker manifest list like busybox's, with a Windows entry. */
static const char docker_list[] =
    "{\n   'schemaVersion': 2,\n   'mediaType': '" DOCKER_LIST "',\n"
    "   'manifests': [\n"
    LISTED("{'architecture': 'amd64', 'os': 'linux'}", D("10101010")) ",\n"
    LISTED("{'architecture': 'arm', 'os': 'linux', 'variant': 'v5'}",
	D("11111111")) ",\n"
    LISTED("{'architecture': 'arm', 'os': 'linux', 'variant': 'v6'}",
	D("12121212")) ",\n"
    LISTED("{'architecture': 'arm', 'os': 'linux', 'variant': 'v7'}",
	D("13131313")) ",\n"
    LISTED("{'architecture': 'arm64', 'os': 'linux', 'variant': 'v8'}",
	D("14141414")) ",\n"
    LISTED("{'architecture': '386', 'os': 'linux'}", D("15151515")) ",\n"
    LISTED("{'architecture': 'ppc64le', 'os': 'linux'}", D("16161616")) ",\n"
    LISTED("{'architecture': 's390x', 'os': 'linux'}", D("17171717")) ",\n"
    LISTED("{'architecture': 'amd64', 'os': 'windows', "
	"'os.version': '10.0.17763.5458'}", D("18181818")) "\n"
    "   ]\n}\n";

/* gcr.io/distroless/base-nossl: arm and arm64 without variants. */
static const char distroless_list[] =
    "{'schemaVersion': 2, 'mediaType': '" DOCKER_LIST "', 'manifests': ["
    LISTED("{'architecture': 'amd64', 'os': 'linux'}", D("20202020")) ", "
    LISTED("{'architecture': 'arm', 'os': 'linux'}", D("21212121")) ", "
    LISTED("{'architecture': 'arm64', 'os': 'linux'}", D("22222222")) ", "
    LISTED("{'architecture': 'ppc64le', 'os': 'linux'}", D("23232323")) ", "
    LISTED("{'architecture': 's390x', 'os': 'linux'}", D("24242424"))
    "]}";

/* docker/build-push-action to GHCR with provenance: attestations marked
 * only by platform unknown/unknown here; index annotations carry the
 * version; no mediaType in the body (OCI allows leaving it out). */
static const char ghcr_index[] =
    "{'schemaVersion': 2, 'manifests': ["
    "{'mediaType': '" OCI_IMAGE "', 'digest': '" D("30303030") "',"
    " 'size': 1611, 'platform': {'architecture': 'amd64', 'os': 'linux'}},"
    "{'mediaType': '" OCI_IMAGE "', 'digest': '" D("31313131") "',"
    " 'size': 1611, 'platform': {'architecture': 'arm64', 'os': 'linux'},"
    " 'annotations': {'org.opencontainers.image.version': '1.22.0'}},"
    "{'mediaType': '" OCI_IMAGE "', 'digest': '" D("32323232") "',"
    " 'size': 566, 'platform': {'architecture': 'unknown',"
    " 'os': 'unknown'}}],"
    " 'annotations': {'org.opencontainers.image.version': '1.22.0',"
    " 'org.opencontainers.image.source': 'https://github.com/logto-io/logto'"
    "}}";

/* An OCI image manifest with annotations. */
static const char oci_image[] =
    "{'schemaVersion': 2, 'mediaType': '" OCI_IMAGE "',"
    " 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
    " 'digest': '" D("40404040") "', 'size': 7023},"
    " 'layers': [{'mediaType': "
    "'application/vnd.oci.image.layer.v1.tar+gzip',"
    " 'digest': '" D("41414141") "', 'size': 32654},"
    " {'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip',"
    " 'digest': '" D("42424242") "', 'size': 16724}],"
    " 'annotations': {'org.opencontainers.image.version': '2.4.1',"
    " 'org.opencontainers.image.created': '2024-03-01T00:00:00Z'}}";

/* A Docker image manifest (schema 2). */
static const char docker_image[] =
    "{\n  'schemaVersion': 2,\n  'mediaType': '" DOCKER_IMAGE "',\n"
    "  'config': {\n    'mediaType': "
    "'application/vnd.docker.container.image.v1+json',\n"
    "    'size': 1351,\n    'digest': '" D("50505050") "'\n  },\n"
    "  'layers': [\n    {\n      'mediaType': "
    "'application/vnd.docker.image.rootfs.diff.tar.gzip',\n"
    "      'size': 76244414,\n      'digest': '" D("51515151") "'\n"
    "    }\n  ]\n}";

/* An index whose child is an index (nested). */
static const char nested_index[] =
    "{'schemaVersion': 2, 'mediaType': '" OCI_INDEX "', 'manifests': ["
    "{'mediaType': '" OCI_INDEX "', 'digest': '" D("60606060") "',"
    " 'size': 300}]}";

/* amd64 micro-architecture levels and arm64 variants. */
static const char variants_index[] =
    "{'manifests': ["
    "{'digest': '" D("70707070") "', 'platform': {'architecture': 'amd64',"
    " 'os': 'linux', 'variant': 'v3'}},"
    "{'digest': '" D("71717171") "', 'platform': {'architecture': 'amd64',"
    " 'os': 'linux', 'variant': 'v2'}},"
    "{'digest': '" D("72727272") "', 'platform': {'architecture': 'amd64',"
    " 'os': 'linux'}},"
    "{'digest': '" D("73737373") "', 'platform': {'architecture': 'arm64',"
    " 'os': 'linux', 'variant': 'v9'}},"
    "{'digest': '" D("74747474") "', 'platform': {'architecture': 'arm64',"
    " 'os': 'linux', 'variant': 'v8'}},"
    "{'digest': '" D("75757575") "', 'platform': {'architecture': 'arm64',"
    " 'os': 'linux'}},"
    "{'digest': '" D("76767676") "', 'platform': {'architecture': 'arm',"
    " 'os': 'linux', 'variant': 'v6'}},"
    "{'digest': '" D("77777777") "', 'platform': {'architecture': 'arm',"
    " 'os': 'linux', 'variant': 'v7'}},"
    "{'digest': '" D("78787878") "', 'platform': {'architecture': 'ppc64le',"
    " 'os': 'linux'}, 'annotations': {'vnd.docker.reference.type':"
    " 'attestation-manifest'}},"
    "{'digest': '" D("79797979") "'}"
    "]}";

struct parse_row {
	const char		*body;
	const char		*content_type;
	enum manifest_kind	 kind;
	const char		*media_type;
	size_t			 n_children;
	const char		*config_digest;
	const char		*version;
};

static const struct parse_row parse_rows[] = {
	{ hub_index, OCI_INDEX, MANIFEST_INDEX, OCI_INDEX, 14, NULL,
	  NULL },
	{ hub_index, NULL, MANIFEST_INDEX, OCI_INDEX, 14, NULL, NULL },
	{ hub_index, OCI_INDEX "; charset=utf-8", MANIFEST_INDEX,
	  OCI_INDEX, 14, NULL, NULL },
	{ hub_index, " Application/VND.OCI.Image.Index.v1+JSON ",
	  MANIFEST_INDEX, OCI_INDEX, 14, NULL, NULL },
	{ hub_index, "application/json", MANIFEST_INDEX, OCI_INDEX, 14,
	  NULL, NULL },
	{ docker_list, DOCKER_LIST, MANIFEST_INDEX, DOCKER_LIST, 9, NULL,
	  NULL },
	{ docker_list, NULL, MANIFEST_INDEX, DOCKER_LIST, 9, NULL,
	  NULL },
	{ distroless_list, DOCKER_LIST, MANIFEST_INDEX, DOCKER_LIST, 5,
	  NULL, NULL },
	{ ghcr_index, OCI_INDEX, MANIFEST_INDEX, OCI_INDEX, 3, NULL,
	  "1.22.0" },
	{ ghcr_index, NULL, MANIFEST_INDEX, OCI_INDEX, 3, NULL,
	  "1.22.0" },
	/* The Content-Type names the type when the body does not. */
	{ ghcr_index, DOCKER_LIST, MANIFEST_INDEX, DOCKER_LIST, 3, NULL,
	  "1.22.0" },
	{ oci_image, OCI_IMAGE, MANIFEST_IMAGE, OCI_IMAGE, 0,
	  D("40404040"), "2.4.1" },
	{ oci_image, NULL, MANIFEST_IMAGE, OCI_IMAGE, 0, D("40404040"),
	  "2.4.1" },
	{ docker_image, DOCKER_IMAGE, MANIFEST_IMAGE, DOCKER_IMAGE, 0,
	  D("50505050"), NULL },
	{ docker_image, "text/plain", MANIFEST_IMAGE, DOCKER_IMAGE, 0,
	  D("50505050"), NULL },
	{ nested_index, NULL, MANIFEST_INDEX, OCI_INDEX, 1, NULL, NULL },
	{ variants_index, NULL, MANIFEST_INDEX, OCI_INDEX, 10, NULL,
	  NULL },
	/* Inferred from the fields. */
	{ "{'manifests': []}", NULL, MANIFEST_INDEX, OCI_INDEX, 0, NULL,
	  NULL },
	{ "{'config': {'digest': '" D("abcdef01") "'}, 'layers': []}", NULL,
	  MANIFEST_IMAGE, OCI_IMAGE, 0, D("abcdef01"), NULL },
	{ "{'mediaType': '', 'manifests': []}", NULL, MANIFEST_INDEX,
	  OCI_INDEX, 0, NULL, NULL },
	{ "{'mediaType': null, 'schemaVersion': 2, 'manifests': [],"
	  " 'annotations': null}", NULL, MANIFEST_INDEX, OCI_INDEX, 0,
	  NULL, NULL },
	{ "{'manifests': [], 'annotations': {'org.opencontainers.image."
	  "version': 'v3'}}", NULL, MANIFEST_INDEX, OCI_INDEX, 0, NULL,
	  "v3" },

};

struct refuse_row {
	const char	*body;
	const char	*content_type;
	const char	*cause;
};

static const struct refuse_row refuse_rows[] = {
	{ "not json", NULL, "manifest is not a JSON object" },
	{ "", NULL, "manifest is not a JSON object" },
	{ "[]", OCI_INDEX, "manifest is not a JSON object" },
	{ "{'manifests': []} trailing", NULL,
	  "manifest is not a JSON object" },
	{ "{'manifests': [], 'manifests': []}", NULL,
	  "manifest is not a JSON object" },
	{ "{}", NULL, "cannot tell the manifest type" },
	{ "{'config': {'digest': '" D("abcdef01") "'}}", NULL,
	  "cannot tell the manifest type" },
	{ "{'schemaVersion': 1, 'name': 'library/busybox', 'tag': '1.23',"
	  " 'architecture': 'amd64', 'fsLayers': []}",
	  "application/vnd.docker.distribution.manifest.v1+prettyjws",
	  "unsupported schemaVersion" },
	{ "{'schemaVersion': '2', 'manifests': []}", NULL,
	  "unsupported schemaVersion" },
	{ "{'schemaVersion': 2.0, 'manifests': []}", NULL,
	  "unsupported schemaVersion" },
	{ "{'schemaVersion': 3, 'manifests': []}", NULL,
	  "unsupported schemaVersion" },
	{ "{'schemaVersion': 2, 'mediaType': "
	  "'application/vnd.oci.artifact.manifest.v1+json', 'blobs': []}",
	  NULL, "unsupported manifest media type" },
	{ "{'mediaType': 5, 'manifests': []}", NULL,
	  "manifest field has the wrong type" },
	{ hub_index, DOCKER_LIST,
	  "manifest mediaType does not match Content-Type" },
	{ oci_image, DOCKER_IMAGE,
	  "manifest mediaType does not match Content-Type" },
	{ hub_index, OCI_IMAGE,
	  "manifest mediaType does not match Content-Type" },
	/* CVE-2021-41190: one body, two readings. */
	{ "{'manifests': [], 'config': {'digest': '" D("abcdef01") "'},"
	  " 'layers': []}", NULL, "manifest has both index and image fields" },
	{ "{'mediaType': '" OCI_INDEX "', 'manifests': [], 'layers': []}",
	  NULL, "manifest has both index and image fields" },
	{ "{'mediaType': '" OCI_IMAGE "', 'manifests': [], 'config': "
	  "{'digest': '" D("abcdef01") "'}, 'layers': []}", NULL,
	  "manifest has both index and image fields" },
	{ "{'config': {'digest': '" D("abcdef01") "'}, 'layers': []}",
	  OCI_INDEX, "index \"manifests\" is not an array" },
	{ "{'mediaType': '" OCI_INDEX "'}", NULL,
	  "index \"manifests\" is not an array" },
	{ "{'manifests': {}}", NULL, "index \"manifests\" is not an array" },
	{ "{'manifests': null}", NULL, "index \"manifests\" is not an array" },
	{ "{'manifests': ['x']}", NULL, "descriptor is not an object" },
	{ "{'manifests': [null]}", NULL, "descriptor is not an object" },
	{ "{'manifests': [{}]}", NULL, "invalid digest" },
	{ "{'manifests': [{'digest': 5}]}", NULL, "invalid digest" },
	{ "{'manifests': [{'digest': 'sha256:"
	  "ABCDEF01ABCDEF01ABCDEF01ABCDEF01"
	  "ABCDEF01ABCDEF01ABCDEF01ABCDEF01'}]}",
	  NULL, "invalid digest" },
	{ "{'manifests': [{'digest': 'sha512:" "abcdef01abcdef01abcdef01"
	  "abcdef01abcdef01abcdef01abcdef01abcdef01abcdef01abcdef01abcdef01"
	  "abcdef01abcdef01abcdef01abcdef01abcdef01'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': 'sha256:abcdef01'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "0'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "\\n'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': 'SHA256:" "abcdef01abcdef01abcdef01"
	  "abcdef01abcdef01abcdef01abcdef01abcdef01'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': 'sha256:" "abcdef01abcdef01abcdef01"
	  "abcdef01abcdef01abcdef01abcdef01abcdefg1'}]}", NULL,
	  "invalid digest" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'platform': 'x'}]}",
	  NULL, "manifest field has the wrong type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'platform': "
	  "{'os': 1}}]}", NULL, "manifest field has the wrong type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'mediaType': []}]}",
	  NULL, "manifest field has the wrong type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'annotations': "
	  "[]}]}", NULL, "manifest field has the wrong type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'annotations': "
	  "{'org.opencontainers.image.version': 2}}]}", NULL,
	  "manifest field has the wrong type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "', 'mediaType': "
	  "'a/b\\r\\nX-Evil: 1'}]}", NULL, "invalid child media type" },
	{ "{'manifests': [{'digest': '" D("abcdef01") "'},"
	  " {'digest': '" D("abcdef01") "', 'platform': 7}]}", NULL,
	  "manifest field has the wrong type" },
	{ "{'manifests': [], 'annotations': 'v1'}", NULL,
	  "manifest field has the wrong type" },
	{ "{'mediaType': '" OCI_IMAGE "', 'layers': []}", NULL,
	  "image manifest has no config" },
	{ "{'mediaType': '" OCI_IMAGE "', 'config': 'x', 'layers': []}", NULL,
	  "image manifest has no config" },
	{ "{'mediaType': '" OCI_IMAGE "', 'config': {}, 'layers': []}", NULL,
	  "invalid digest" },
	{ "{'mediaType': '" OCI_IMAGE "', 'config': {'digest': 'sha256:0'},"
	  " 'layers': []}", NULL, "invalid digest" },
	{ "{'mediaType': '" OCI_IMAGE "', 'config': {'digest': '"
	  D("abcdef01") "'}}", NULL,
	  "image manifest \"layers\" is not an array" },
	{ "{'mediaType': '" DOCKER_IMAGE "', 'config': {'digest': '"
	  D("abcdef01") "'}, 'layers': {}}", NULL,
	  "image manifest \"layers\" is not an array" },
};

static void
test_parse_golden(void)
{
	struct manifest	 m;
	const char	*cause;
	char		*body;

	for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0];
	    i++) {
		const struct parse_row *r = &parse_rows[i];

		body = q(r->body);
		cause = NULL;
		CHECKF(manifest_parse(body, strlen(body), r->content_type, &m,
		    &cause) == 0, "row %zu: refused: %s", i,
		    cause ? cause : "(null)");
		CHECKF(m.kind == r->kind, "row %zu: kind %d", i, m.kind);
		CHECKF(m.media_type != NULL &&
		    strcmp(m.media_type, r->media_type) == 0,
		    "row %zu: media type %s", i,
		    m.media_type ? m.media_type : "(null)");
		CHECKF(m.n_children == r->n_children, "row %zu: %zu children",
		    i, m.n_children);
		CHECKF(r->config_digest == NULL ? m.config_digest == NULL :
		    m.config_digest != NULL &&
		    strcmp(m.config_digest, r->config_digest) == 0,
		    "row %zu: config digest", i);
		CHECKF(r->version == NULL ? m.version == NULL :
		    m.version != NULL && strcmp(m.version, r->version) == 0,
		    "row %zu: version %s", i, m.version ? m.version : "(null)");
		manifest_reset(&m);
		free(body);
	}
}

static void
test_parse_refused(void)
{
	struct manifest	 m;
	const char	*cause;
	char		*body;

	for (size_t i = 0; i < sizeof refuse_rows / sizeof refuse_rows[0];
	    i++) {
		const struct refuse_row *r = &refuse_rows[i];

		body = q(r->body);
		cause = NULL;
		memset(&m, 0xa5, sizeof m);
		CHECKF(manifest_parse(body, strlen(body), r->content_type, &m,
		    &cause) == -1, "row %zu should be refused", i);
		CHECKF(cause != NULL && strcmp(cause, r->cause) == 0,
		    "row %zu: cause \"%s\", want \"%s\"", i,
		    cause ? cause : "(null)", r->cause);
		CHECKF(m.kind == MANIFEST_UNKNOWN && m.media_type == NULL &&
		    m.children == NULL && m.n_children == 0 &&
		    m.config_digest == NULL && m.version == NULL,
		    "row %zu: out not zeroed", i);
		manifest_reset(&m);
		free(body);
	}
}

struct child_row {
	const char	*digest;
	const char	*media_type;
	const char	*os;
	const char	*arch;
	const char	*variant;
	bool		 attestation;
	const char	*version;
};

static const struct child_row hub_children[] = {
	{ D("a0a0a0a0"), OCI_IMAGE, "linux", "amd64", NULL, false,
	  "1.25.4-alpine" },
	{ D("a1a1a1a1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("b0b0b0b0"), OCI_IMAGE, "linux", "arm", "v6", false,
	  "1.25.4-alpine" },
	{ D("b1b1b1b1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("c0c0c0c0"), OCI_IMAGE, "linux", "arm", "v7", false,
	  "1.25.4-alpine" },
	{ D("c1c1c1c1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("d0d0d0d0"), OCI_IMAGE, "linux", "arm64", "v8", false,
	  "1.25.4-alpine" },
	{ D("d1d1d1d1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("e0e0e0e0"), OCI_IMAGE, "linux", "386", NULL, false,
	  "1.25.4-alpine" },
	{ D("e1e1e1e1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("f0f0f0f0"), OCI_IMAGE, "linux", "ppc64le", NULL, false,
	  "1.25.4-alpine" },
	{ D("f1f1f1f1"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
	{ D("01010101"), OCI_IMAGE, "linux", "s390x", NULL, false,
	  "1.25.4-alpine" },
	{ D("02020202"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
};

static const struct child_row ghcr_children[] = {
	{ D("30303030"), OCI_IMAGE, "linux", "amd64", NULL, false, NULL },
	{ D("31313131"), OCI_IMAGE, "linux", "arm64", NULL, false, "1.22.0" },
	{ D("32323232"), OCI_IMAGE, "unknown", "unknown", NULL, true, NULL },
};

static const struct child_row docker_children[] = {
	{ D("10101010"), DOCKER_IMAGE, "linux", "amd64", NULL, false, NULL },
	{ D("11111111"), DOCKER_IMAGE, "linux", "arm", "v5", false, NULL },
	{ D("12121212"), DOCKER_IMAGE, "linux", "arm", "v6", false, NULL },
	{ D("13131313"), DOCKER_IMAGE, "linux", "arm", "v7", false, NULL },
	{ D("14141414"), DOCKER_IMAGE, "linux", "arm64", "v8", false, NULL },
	{ D("15151515"), DOCKER_IMAGE, "linux", "386", NULL, false, NULL },
	{ D("16161616"), DOCKER_IMAGE, "linux", "ppc64le", NULL, false, NULL },
	{ D("17171717"), DOCKER_IMAGE, "linux", "s390x", NULL, false, NULL },
	{ D("18181818"), DOCKER_IMAGE, "windows", "amd64", NULL, false,
	  NULL },
};

static bool
streq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void
check_children(const char *fixture, const struct child_row *rows, size_t n)
{
	struct manifest		 m;
	const char		*cause = NULL;
	char			*body = q(fixture);

	CHECKF(manifest_parse(body, strlen(body), NULL, &m, &cause) == 0,
	    "%s", cause ? cause : "");
	CHECK_INT_EQ(m.n_children, n);
	for (size_t i = 0; i < n && i < m.n_children; i++) {
		const struct manifest_child	*c = &m.children[i];
		const struct child_row		*r = &rows[i];

		CHECKF(streq(c->digest, r->digest), "child %zu digest", i);
		CHECKF(streq(c->media_type, r->media_type),
		    "child %zu media type", i);
		CHECKF(streq(c->os, r->os), "child %zu os", i);
		CHECKF(streq(c->architecture, r->arch), "child %zu arch", i);
		CHECKF(streq(c->variant, r->variant), "child %zu variant", i);
		CHECKF(c->attestation == r->attestation,
		    "child %zu attestation", i);
		CHECKF(streq(c->version, r->version), "child %zu version %s",
		    i, c->version ? c->version : "(null)");
	}
	manifest_reset(&m);
	manifest_reset(&m);
	free(body);
}

static void
test_children(void)
{
	check_children(hub_index, hub_children,
	    sizeof hub_children / sizeof hub_children[0]);
	check_children(ghcr_index, ghcr_children,
	    sizeof ghcr_children / sizeof ghcr_children[0]);
	check_children(docker_list, docker_children,
	    sizeof docker_children / sizeof docker_children[0]);
}

static void
test_parse_edges(void)
{
	struct manifest	 m;
	const char	*cause = NULL;
	char		*body, *p;
	size_t		 n, len;

	/* Attestation by annotation alone, or by unknown/unknown alone. */
	body = q("{'manifests': [{'digest': '" D("abcdef01") "',"
	    " 'platform': {'architecture': 'amd64', 'os': 'linux'},"
	    " 'annotations': {'vnd.docker.reference.type':"
	    " 'attestation-manifest'}}, {'digest': '" D("abcdef02") "',"
	    " 'platform': {'architecture': 'unknown', 'os': 'unknown'}},"
	    " {'digest': '" D("abcdef03") "', 'platform': {'architecture':"
	    " 'unknown', 'os': 'linux'}}, {'digest': '" D("abcdef04") "',"
	    " 'annotations': {'vnd.docker.reference.type': 'signature'}},"
	    " {'digest': '" D("abcdef05") "', 'mediaType': '', 'platform':"
	    " null, 'annotations': null}]}");
	CHECK_INT_EQ(manifest_parse(body, strlen(body), NULL, &m, &cause), 0);
	CHECK_INT_EQ(m.n_children, 5);
	if (m.n_children == 5) {
		CHECK(m.children[0].attestation);
		CHECK(m.children[1].attestation);
		CHECK(!m.children[2].attestation);
		CHECK(!m.children[3].attestation);
		CHECK(!m.children[4].attestation);
		CHECK(m.children[4].media_type == NULL);
		CHECK(m.children[4].os == NULL);
	}
	manifest_reset(&m);
	free(body);

	/* The length bounds the body. */
	body = q("{'manifests': []}xyz");
	CHECK_INT_EQ(manifest_parse(body, strlen(body) - 3, NULL, &m, NULL),
	    0);
	manifest_reset(&m);
	CHECK_INT_EQ(manifest_parse(body, 5, NULL, &m, NULL), -1);
	free(body);
	CHECK_INT_EQ(manifest_parse(NULL, 0, NULL, &m, &cause), -1);

	/* MANIFEST_MAX_CHILDREN children parse, one more does not. */
	n = MANIFEST_MAX_CHILDREN + 1;
	body = malloc(32 + n * 90);
	p = stpcpy(body, "{\"manifests\": [");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"digest\": \"sha256:%064zx\"}",
		    i > 0 ? "," : "", i);
	len = (size_t)(p - body);
	strcpy(p, "]}");
	CHECK_INT_EQ(manifest_parse(body, len + 2, NULL, &m, &cause), -1);
	CHECK_STR_EQ(cause, "index has too many manifests");
	/* Cut the last child off. */
	p = strrchr(body, ',');
	strcpy(p, "]}");
	CHECK_INT_EQ(manifest_parse(body, strlen(body), NULL, &m, &cause), 0);
	CHECK_INT_EQ(m.n_children, MANIFEST_MAX_CHILDREN);
	manifest_reset(&m);
	free(body);

	/* Over MANIFEST_MAX_BODY: refused before parsing. */
	n = MANIFEST_MAX_BODY + 1;
	body = malloc(n);
	memset(body, ' ', n);
	memcpy(body, "{\"manifests\": []}", 17);
	CHECK_INT_EQ(manifest_parse(body, n, NULL, &m, &cause), -1);
	CHECK_STR_EQ(cause, "manifest is too large");
	CHECK_INT_EQ(manifest_parse(body, n - 1, NULL, &m, &cause), 0);
	manifest_reset(&m);
	free(body);
	manifest_reset(NULL);
}

struct kind_row {
	const char		*media_type;
	enum manifest_kind	 kind;
};

static const struct kind_row kind_rows[] = {
	{ OCI_INDEX, MANIFEST_INDEX },
	{ OCI_IMAGE, MANIFEST_IMAGE },
	{ DOCKER_LIST, MANIFEST_INDEX },
	{ DOCKER_IMAGE, MANIFEST_IMAGE },
	{ OCI_INDEX "; charset=utf-8", MANIFEST_INDEX },
	{ DOCKER_IMAGE ";", MANIFEST_IMAGE },
	{ "  " OCI_IMAGE "  ", MANIFEST_IMAGE },
	{ "APPLICATION/VND.DOCKER.DISTRIBUTION.MANIFEST.LIST.V2+JSON",
	  MANIFEST_INDEX },
	{ NULL, MANIFEST_UNKNOWN },
	{ "", MANIFEST_UNKNOWN },
	{ "application/json", MANIFEST_UNKNOWN },
	{ "application/vnd.docker.distribution.manifest.v1+prettyjws",
	  MANIFEST_UNKNOWN },
	{ "application/vnd.docker.distribution.manifest.v1+json",
	  MANIFEST_UNKNOWN },
	{ "application/vnd.oci.artifact.manifest.v1+json", MANIFEST_UNKNOWN },
	{ "application/vnd.oci.image.config.v1+json", MANIFEST_UNKNOWN },
	{ OCI_INDEX "x", MANIFEST_UNKNOWN },
	{ "x" OCI_INDEX, MANIFEST_UNKNOWN },
	{ "application/vnd.oci.image.index.v1", MANIFEST_UNKNOWN },
};

static void
test_kind_of(void)
{
	for (size_t i = 0; i < sizeof kind_rows / sizeof kind_rows[0]; i++)
		CHECKF(manifest_kind_of(kind_rows[i].media_type) ==
		    kind_rows[i].kind, "row %zu", i);
	CHECK_STR_EQ(MANIFEST_ACCEPT,
	    "application/vnd.oci.image.index.v1+json, "
	    "application/vnd.oci.image.manifest.v1+json, "
	    "application/vnd.docker.distribution.manifest.list.v2+json, "
	    "application/vnd.docker.distribution.manifest.v2+json");
}

struct find_row {
	const char	*fixture;
	const char	*os;
	const char	*arch;
	const char	*variant;
	const char	*digest;	/* NULL: no match */
};

static const struct find_row find_rows[] = {
	{ hub_index, "linux", "amd64", NULL, D("a0a0a0a0") },
	{ hub_index, "linux", "x86_64", "", D("a0a0a0a0") },
	{ hub_index, "Linux", "AMD64", NULL, D("a0a0a0a0") },
	{ hub_index, "linux", "aarch64", NULL, D("d0d0d0d0") },
	{ hub_index, "linux", "arm64", "v8", D("d0d0d0d0") },
	{ hub_index, "linux", "arm64", "8", D("d0d0d0d0") },
	{ hub_index, "linux", "arm64", "V8", D("d0d0d0d0") },
	{ hub_index, "linux", "arm", NULL, D("c0c0c0c0") },
	{ hub_index, "linux", "arm", "v7", D("c0c0c0c0") },
	{ hub_index, "linux", "arm", "7", D("c0c0c0c0") },
	{ hub_index, "linux", "armv7l", NULL, D("c0c0c0c0") },
	{ hub_index, "linux", "armhf", NULL, D("c0c0c0c0") },
	{ hub_index, "linux", "arm", "v6", D("b0b0b0b0") },
	{ hub_index, "linux", "armv6l", "", D("b0b0b0b0") },
	{ hub_index, "linux", "armel", NULL, D("b0b0b0b0") },
	{ hub_index, "linux", "armv7l", "v6", D("b0b0b0b0") },
	{ hub_index, "linux", "arm", "v5", NULL },
	{ hub_index, "linux", "armv5tel", NULL, NULL },
	{ hub_index, "linux", "i686", NULL, D("e0e0e0e0") },
	{ hub_index, "linux", "386", NULL, D("e0e0e0e0") },
	{ hub_index, "linux", "ppc64le", NULL, D("f0f0f0f0") },
	{ hub_index, "linux", "s390x", NULL, D("01010101") },
	{ hub_index, "linux", "riscv64", NULL, NULL },
	{ hub_index, "windows", "amd64", NULL, NULL },
	/* Attestations never match. */
	{ hub_index, "unknown", "unknown", NULL, NULL },
	{ hub_index, "unknown", "unknown", "", NULL },
	{ hub_index, NULL, "amd64", NULL, NULL },
	{ hub_index, "linux", NULL, NULL, NULL },
	{ docker_list, "windows", "amd64", NULL, D("18181818") },
	{ docker_list, "linux", "amd64", NULL, D("10101010") },
	{ docker_list, "linux", "arm", NULL, D("13131313") },
	{ docker_list, "linux", "arm", "v5", D("11111111") },
	{ docker_list, "linux", "armv5tel", NULL, D("11111111") },
	{ docker_list, "linux", "arm64", "", D("14141414") },
	{ docker_list, "linux", "arm64", "v8", D("14141414") },
	{ docker_list, "linux", "arm64", "v8.0", D("14141414") },
	/* An absent variant is v8 on arm64 and v7 on arm. */
	{ distroless_list, "linux", "arm", "v7", D("21212121") },
	{ distroless_list, "linux", "armv7l", NULL, D("21212121") },
	{ distroless_list, "linux", "arm", NULL, D("21212121") },
	{ distroless_list, "linux", "arm", "v6", NULL },
	{ distroless_list, "linux", "arm64", "v8", D("22222222") },
	{ distroless_list, "linux", "aarch64", NULL, D("22222222") },
	{ distroless_list, "linux", "arm64", "v9", NULL },
	{ ghcr_index, "linux", "arm64", NULL, D("31313131") },
	{ ghcr_index, "linux", "arm64", "v8", D("31313131") },
	{ ghcr_index, "unknown", "unknown", NULL, NULL },
	/* Any variant: none first, then v8, v7, document order. */
	{ variants_index, "linux", "amd64", NULL, D("72727272") },
	{ variants_index, "linux", "amd64", "v1", D("72727272") },
	{ variants_index, "linux", "amd64", "v2", D("71717171") },
	{ variants_index, "linux", "amd64", "v3", D("70707070") },
	{ variants_index, "linux", "amd64", "v4", NULL },
	{ variants_index, "linux", "arm64", "", D("75757575") },
	{ variants_index, "linux", "arm64", "v8", D("74747474") },
	{ variants_index, "linux", "arm64", "v9", D("73737373") },
	{ variants_index, "linux", "arm", NULL, D("77777777") },
	{ variants_index, "linux", "arm", "v6", D("76767676") },
	{ variants_index, "linux", "ppc64le", NULL, NULL },
	{ oci_image, "linux", "amd64", NULL, NULL },
};

static void
test_find_platform(void)
{
	struct manifest			 m;
	const struct manifest_child	*c;
	char				*body;

	for (size_t i = 0; i < sizeof find_rows / sizeof find_rows[0]; i++) {
		const struct find_row *r = &find_rows[i];

		body = q(r->fixture);
		CHECKF(manifest_parse(body, strlen(body), NULL, &m, NULL) == 0,
		    "row %zu", i);
		c = manifest_find_platform(&m, r->os, r->arch, r->variant);
		CHECKF(r->digest == NULL ? c == NULL :
		    c != NULL && strcmp(c->digest, r->digest) == 0,
		    "row %zu %s/%s/%s: got %s", i, r->os ? r->os : "(null)",
		    r->arch ? r->arch : "(null)",
		    r->variant ? r->variant : "(null)",
		    c ? c->digest : "(null)");
		manifest_reset(&m);
		free(body);
	}
	CHECK(manifest_find_platform(NULL, "linux", "amd64", NULL) == NULL);
}

struct norm_row {
	const char	*os;
	const char	*arch;
	const char	*want_os;
	const char	*want_arch;
	const char	*want_variant;
};

static const struct norm_row norm_rows[] = {
	{ "linux", "x86_64", "linux", "amd64", "" },
	{ "linux", "x86-64", "linux", "amd64", "" },
	{ "linux", "amd64", "linux", "amd64", "" },
	{ "Linux", "aarch64", "linux", "arm64", "" },
	{ "linux", "arm64", "linux", "arm64", "" },
	{ "linux", "armv7l", "linux", "arm", "v7" },
	{ "linux", "armv7", "linux", "arm", "v7" },
	{ "linux", "armhf", "linux", "arm", "v7" },
	{ "linux", "armv6l", "linux", "arm", "v6" },
	{ "linux", "armel", "linux", "arm", "v6" },
	{ "linux", "armv5tel", "linux", "arm", "v5" },
	{ "linux", "armv8l", "linux", "arm", "v8" },
	{ "linux", "arm", "linux", "arm", "" },
	{ "linux", "i386", "linux", "386", "" },
	{ "linux", "i686", "linux", "386", "" },
	{ "linux", "ppc64le", "linux", "ppc64le", "" },
	{ "linux", "ppc64el", "linux", "ppc64le", "" },
	{ "linux", "s390x", "linux", "s390x", "" },
	{ "linux", "riscv64", "linux", "riscv64", "" },
	{ "linux", "mips64el", "linux", "mips64le", "" },
	{ "linux", "loongarch64", "linux", "loong64", "" },
	{ "windows", "AMD64", "windows", "amd64", "" },
	{ "linux", "SPARC64", "linux", "sparc64", "" },
	{ "linux", "X86_64", "linux", "amd64", "" },
	{ NULL, NULL, "", "", "" },
	{ "", "", "", "", "" },
};

static void
test_normalize(void)
{
	char	 os[32], arch[32], variant[32], small[4];

	for (size_t i = 0; i < sizeof norm_rows / sizeof norm_rows[0]; i++) {
		const struct norm_row *r = &norm_rows[i];

		manifest_normalize_platform(r->os, r->arch, os, sizeof os,
		    arch, sizeof arch, variant, sizeof variant);
		CHECKF(strcmp(os, r->want_os) == 0 &&
		    strcmp(arch, r->want_arch) == 0 &&
		    strcmp(variant, r->want_variant) == 0,
		    "row %zu: %s/%s/%s", i, os, arch, variant);
	}

	/* Truncation, and size 0 leaves the buffer alone. */
	memcpy(variant, "keep", 5);
	manifest_normalize_platform("linux", "loongarch64", small,
	    sizeof small, arch, 1, variant, 0);
	CHECK_STR_EQ(small, "lin");
	CHECK_STR_EQ(arch, "");
	CHECK_STR_EQ(variant, "keep");
}

static const char nginx_config[] =
    "{'architecture': 'amd64', 'config': {'ExposedPorts': {'80/tcp': {}},"
    " 'Env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',"
    " 'NGINX_VERSION=1.25.4'], 'Entrypoint': ['/docker-entrypoint.sh'],"
    " 'Cmd': ['nginx', '-g', 'daemon off;'], 'Labels': {'maintainer':"
    " 'NGINX Docker Maintainers <docker-maint@nginx.com>',"
    " 'org.opencontainers.image.version': '1.25.4',"
    " 'org.label-schema.version': '1.25'}, 'StopSignal': 'SIGQUIT'},"
    " 'created': '2024-02-14T20:36:11Z', 'history': [{'created':"
    " '2024-01-27T00:30:56Z', 'created_by': '/bin/sh -c #(nop) ADD"
    " file:37a76ec18f9887751cd8473744917d08b7431fc4085097bb6a09d81b5775775"
    " in / '}], 'os': 'linux', 'rootfs': {'type': 'layers', 'diff_ids':"
    " ['" D("90909090") "']}}";

struct label_row {
	const char	*config;
	const char	*name;
	const char	*want;
};

static const struct label_row label_rows[] = {
	{ nginx_config, "org.opencontainers.image.version", "1.25.4" },
	{ nginx_config, "maintainer",
	  "NGINX Docker Maintainers <docker-maint@nginx.com>" },
	{ nginx_config, "org.label-schema.version", "1.25" },
	{ nginx_config, "ORG.OPENCONTAINERS.IMAGE.VERSION", NULL },
	{ nginx_config, "missing", NULL },
	{ "{'config': {'Labels': null}}", "a", NULL },
	{ "{'config': {'Labels': {'a': 1}}}", "a", NULL },
	{ "{'config': {'Labels': {'a': ''}}}", "a", "" },
	{ "{'config': {'Labels': ['a']}}", "a", NULL },
	{ "{'config': null}", "a", NULL },
	{ "{'Labels': {'a': 'b'}}", "a", NULL },
	{ "{'container_config': {'Labels': {'a': 'b'}}}", "a", NULL },
	/* Go matches struct fields ignoring case. */
	{ "{'Config': {'labels': {'a': 'b'}}}", "a", "b" },
	{ "{'CONFIG': {'Labels': {'a': 'x'}}, 'config': {'Labels':"
	  " {'a': 'y'}}}", "a", "y" },
	{ "[]", "a", NULL },
	{ "not json", "a", NULL },
	{ "", "a", NULL },
};

static void
test_config_label(void)
{
	char	*body, *v;

	for (size_t i = 0; i < sizeof label_rows / sizeof label_rows[0];
	    i++) {
		const struct label_row *r = &label_rows[i];

		body = q(r->config);
		v = manifest_config_label(body, strlen(body), r->name);
		CHECKF(streq(v, r->want), "row %zu: got %s", i,
		    v ? v : "(null)");
		free(v);
		free(body);
	}
	CHECK(manifest_config_label(NULL, 0, "a") == NULL);
	CHECK(manifest_config_label("{}", 2, NULL) == NULL);
	CHECK(manifest_config_label("{}", MANIFEST_MAX_CONFIG + 1, "a") ==
	    NULL);
}

struct sha_row {
	const char	*in;
	size_t		 repeat;	/* 'a' times this when in is NULL */
	const char	*hex;
};

static const struct sha_row sha_rows[] = {
	/* FIPS 180-2 appendix B, and the empty string. */
	{ "", 0,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", 0,
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0,
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 0,
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	{ NULL, 1000000,
	  "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0" },
	/* Padding boundaries. */
	{ NULL, 55,
	  "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
	{ NULL, 56,
	  "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
	{ NULL, 63,
	  "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
	{ NULL, 64,
	  "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	{ NULL, 65,
	  "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
	{ NULL, 119,
	  "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
	{ NULL, 120,
	  "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	{ NULL, 1000,
	  "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3" },
};

static void
test_sha256(void)
{
	char	*d, *buf;
	size_t	 len;

	for (size_t i = 0; i < sizeof sha_rows / sizeof sha_rows[0]; i++) {
		const struct sha_row *r = &sha_rows[i];

		if (r->in != NULL) {
			buf = strdup(r->in);
			len = strlen(buf);
		} else {
			len = r->repeat;
			buf = malloc(len + 1);
			memset(buf, 'a', len);
		}
		d = manifest_sha256_digest(buf, len);
		CHECKF(strncmp(d, "sha256:", 7) == 0 &&
		    strcmp(d + 7, r->hex) == 0, "row %zu: %s", i, d);
		free(d);
		free(buf);
	}
	d = manifest_sha256_digest(NULL, 0);
	CHECK_STR_EQ(d, "sha256:"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	free(d);
}

/* What the registry client does: the digest of the body it fetched must
 * be the digest it asked for, and parses back as a valid digest. */
static void
test_verify_body(void)
{
	struct manifest	 m;
	char		*body, *d, *idx;

	body = q(docker_image);
	d = manifest_sha256_digest(body, strlen(body));
	idx = malloc(strlen(d) + 64);
	sprintf(idx, "{\"manifests\": [{\"digest\": \"%s\"}]}", d);
	CHECK_INT_EQ(manifest_parse(idx, strlen(idx), NULL, &m, NULL), 0);
	CHECK(m.n_children == 1 && strcmp(m.children[0].digest, d) == 0);
	manifest_reset(&m);
	body[0] = ' ';
	free(idx);
	idx = manifest_sha256_digest(body, strlen(body));
	CHECK(strcmp(idx, d) != 0);
	free(idx);
	free(d);
	free(body);
}

static const struct check_case cases[] = {
	{ "parse_golden", test_parse_golden },
	{ "parse_refused", test_parse_refused },
	{ "children", test_children },
	{ "parse_edges", test_parse_edges },
	{ "kind_of", test_kind_of },
	{ "find_platform", test_find_platform },
	{ "normalize", test_normalize },
	{ "config_label", test_config_label },
	{ "sha256", test_sha256 },
	{ "verify_body", test_verify_body },
};

int
main(void)
{
	return CHECK_RUN("manifest", cases);
}
