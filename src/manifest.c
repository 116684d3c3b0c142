/*
 * Manifests: OCI image-spec (image-index.md, manifest.md, descriptor.md)
 * and Docker's manifest v2 schema 2 and manifest list, which share the
 * same JSON shapes.  Platform matching follows containerd's
 * platforms.Normalize; attestation children are BuildKit's
 * (docs/attestations/attestation-storage.md).
 */

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "manifest.h"
#include "xmalloc.h"

#define MANIFEST_ANN_VERSION "org.opencontainers.image.version"
#define MANIFEST_ANN_REFTYPE "vnd.docker.reference.type"
#define MANIFEST_ATTESTATION "attestation-manifest"
#define MANIFEST_SHA256_PREFIX "sha256:"
#define MANIFEST_SHA256_HEXLEN 64

static const char manifest_err_long[] = "manifest is too large";
static const char manifest_err_json[] = "manifest is not a JSON object";
static const char manifest_err_schema[] = "unsupported schemaVersion";
static const char manifest_err_type[] = "unsupported manifest media type";
static const char manifest_err_mismatch[] =
    "manifest mediaType does not match Content-Type";
static const char manifest_err_infer[] = "cannot tell the manifest type";
static const char manifest_err_ambiguous[] =
    "manifest has both index and image fields";
static const char manifest_err_manifests[] =
    "index \"manifests\" is not an array";
static const char manifest_err_many[] = "index has too many manifests";
static const char manifest_err_descriptor[] = "descriptor is not an object";
static const char manifest_err_digest[] = "invalid digest";
static const char manifest_err_field[] = "manifest field has the wrong type";
static const char manifest_err_child_type[] = "invalid child media type";
static const char manifest_err_config[] = "image manifest has no config";
static const char manifest_err_layers[] =
    "image manifest \"layers\" is not an array";

static const struct {
	const char *name;
	enum manifest_kind kind;
} manifest_types[] = {
	{ MANIFEST_TYPE_OCI_INDEX, MANIFEST_INDEX },
	{ MANIFEST_TYPE_OCI_IMAGE, MANIFEST_IMAGE },
	{ MANIFEST_TYPE_DOCKER_LIST, MANIFEST_INDEX },
	{ MANIFEST_TYPE_DOCKER_IMAGE, MANIFEST_IMAGE },
};
#define MANIFEST_NTYPES (sizeof manifest_types / sizeof manifest_types[0])

/* uname and engine arch names to OCI ones (containerd normalizeArch). */
static const struct {
	const char *alias;
	const char *arch;
	const char *variant;
} manifest_arches[] = {
	{ "x86_64", "amd64", "" },
	{ "x86-64", "amd64", "" },
	{ "amd64", "amd64", "" },
	{ "aarch64", "arm64", "" },
	{ "arm64", "arm64", "" },
	{ "armhf", "arm", "v7" },
	{ "armel", "arm", "v6" },
	{ "armv8l", "arm", "v8" },
	{ "armv7l", "arm", "v7" },
	{ "armv7", "arm", "v7" },
	{ "armv6l", "arm", "v6" },
	{ "armv6", "arm", "v6" },
	{ "armv5tel", "arm", "v5" },
	{ "armv5l", "arm", "v5" },
	{ "armv5", "arm", "v5" },
	{ "i386", "386", "" },
	{ "i486", "386", "" },
	{ "i586", "386", "" },
	{ "i686", "386", "" },
	{ "x86", "386", "" },
	{ "ppc64el", "ppc64le", "" },
	{ "mips64el", "mips64le", "" },
	{ "mipsel", "mipsle", "" },
	{ "loongarch64", "loong64", "" },
};
#define MANIFEST_NARCHES (sizeof manifest_arches / sizeof manifest_arches[0])

/* Room for normalised platform fields; longer ones cannot match. */
#define MANIFEST_PLATFORM_MAX 64

static int
manifest_fail(const char **cause, const char *msg)
{
	if (cause != NULL)
		*cause = msg;
	return -1;
}

/* Index into manifest_types, or -1. */
static int
manifest_type_index(const char *media_type)
{
	const char *s, *e;
	size_t len;

	if (media_type == NULL)
		return -1;
	s = media_type;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strcspn(s, ";");
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	len = (size_t)(e - s);
	for (size_t i = 0; i < MANIFEST_NTYPES; i++) {
		if (strlen(manifest_types[i].name) == len &&
		    strncasecmp(manifest_types[i].name, s, len) == 0)
			return (int)i;
	}
	return -1;
}

enum manifest_kind
manifest_kind_of(const char *media_type)
{
	int i = manifest_type_index(media_type);

	return i < 0 ? MANIFEST_UNKNOWN : manifest_types[i].kind;
}

/* "sha256:" and 64 lowercase hex, nothing else. */
static bool
manifest_digest_ok(const char *s)
{
	size_t plen = sizeof MANIFEST_SHA256_PREFIX - 1;

	if (strncmp(s, MANIFEST_SHA256_PREFIX, plen) != 0)
		return false;
	s += plen;
	for (size_t i = 0; i < MANIFEST_SHA256_HEXLEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[MANIFEST_SHA256_HEXLEN] == '\0';
}

/* Visible ASCII only: a child's media type may go into an Accept header. */
static bool
manifest_header_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

/*
 * An optional string member: 0 with *out a copy (or NULL if absent or
 * null), -1 if it has another type.
 */
static int
manifest_opt_string(json_t *obj, const char *key, char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* A descriptor's "digest": 0 with a copy, or -1. */
static int
manifest_digest(json_t *desc, char **out, const char **cause)
{
	json_t *v = json_object_get(desc, "digest");

	*out = NULL;
	if (!json_is_string(v) || !manifest_digest_ok(json_string_value(v)))
		return manifest_fail(cause, manifest_err_digest);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* annotations[key] of obj: 0 with a copy or NULL, -1 if mistyped. */
static int
manifest_annotation(json_t *obj, const char *key, char **out)
{
	json_t *ann = json_object_get(obj, "annotations");

	*out = NULL;
	if (ann == NULL || json_is_null(ann))
		return 0;
	if (!json_is_object(ann))
		return -1;
	return manifest_opt_string(ann, key, out);
}

static void
manifest_child_reset(struct manifest_child *c)
{
	free(c->digest);
	free(c->media_type);
	free(c->os);
	free(c->architecture);
	free(c->variant);
	free(c->version);
	memset(c, 0, sizeof *c);
}

static int
manifest_child(json_t *desc, struct manifest_child *c, const char **cause)
{
	json_t *platform;
	char *reftype;

	if (!json_is_object(desc))
		return manifest_fail(cause, manifest_err_descriptor);
	if (manifest_digest(desc, &c->digest, cause) != 0)
		return -1;
	if (manifest_opt_string(desc, "mediaType", &c->media_type) != 0)
		return manifest_fail(cause, manifest_err_field);
	if (c->media_type != NULL && *c->media_type == '\0') {
		free(c->media_type); /* "" is Go's omitted value */
		c->media_type = NULL;
	}
	if (c->media_type != NULL && !manifest_header_safe(c->media_type))
		return manifest_fail(cause, manifest_err_child_type);

	platform = json_object_get(desc, "platform");
	if (platform != NULL && !json_is_null(platform)) {
		if (!json_is_object(platform))
			return manifest_fail(cause, manifest_err_field);
		if (manifest_opt_string(platform, "os", &c->os) != 0 ||
		    manifest_opt_string(platform, "architecture",
			&c->architecture) != 0 ||
		    manifest_opt_string(platform, "variant", &c->variant) != 0)
			return manifest_fail(cause, manifest_err_field);
	}

	if (manifest_annotation(desc, MANIFEST_ANN_VERSION, &c->version) != 0 ||
	    manifest_annotation(desc, MANIFEST_ANN_REFTYPE, &reftype) != 0)
		return manifest_fail(cause, manifest_err_field);
	c->attestation = (reftype != NULL &&
			     strcmp(reftype, MANIFEST_ATTESTATION) == 0) ||
	    (c->os != NULL && strcmp(c->os, "unknown") == 0 &&
		c->architecture != NULL &&
		strcmp(c->architecture, "unknown") == 0);
	free(reftype);
	return 0;
}

static int
manifest_parse_index(json_t *root, struct manifest *m, const char **cause)
{
	json_t *list, *desc;
	size_t i, n;

	list = json_object_get(root, "manifests");
	if (!json_is_array(list))
		return manifest_fail(cause, manifest_err_manifests);
	/* CVE-2021-41190: no body may read as both an index and an image. */
	if (json_object_get(root, "config") != NULL ||
	    json_object_get(root, "layers") != NULL)
		return manifest_fail(cause, manifest_err_ambiguous);
	n = json_array_size(list);
	if (n > MANIFEST_MAX_CHILDREN)
		return manifest_fail(cause, manifest_err_many);
	if (n > 0)
		m->children = xcalloc(n, sizeof *m->children);
	json_array_foreach(list, i, desc)
	{
		m->n_children = i + 1;
		if (manifest_child(desc, &m->children[i], cause) != 0)
			return -1;
	}
	return 0;
}

static int
manifest_parse_image(json_t *root, struct manifest *m, const char **cause)
{
	json_t *config;

	config = json_object_get(root, "config");
	if (!json_is_object(config))
		return manifest_fail(cause, manifest_err_config);
	if (json_object_get(root, "manifests") != NULL)
		return manifest_fail(cause, manifest_err_ambiguous);
	if (manifest_digest(config, &m->config_digest, cause) != 0)
		return -1;
	if (!json_is_array(json_object_get(root, "layers")))
		return manifest_fail(cause, manifest_err_layers);
	return 0;
}

/* Index into manifest_types for this body, or -1 with *cause set. */
static int
manifest_pick_type(json_t *root, const char *content_type, const char **cause)
{
	json_t *v;
	int ct, bt = -1;

	v = json_object_get(root, "mediaType");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return manifest_fail(cause, manifest_err_field);
		if (json_string_length(v) > 0 &&
		    (bt = manifest_type_index(json_string_value(v))) < 0)
			return manifest_fail(cause, manifest_err_type);
	}
	ct = manifest_type_index(content_type);
	if (ct >= 0) {
		if (bt >= 0 && bt != ct)
			return manifest_fail(cause, manifest_err_mismatch);
		return ct;
	}
	if (bt >= 0)
		return bt;

	/* Neither says: the OCI type the fields imply. */
	if (json_object_get(root, "manifests") != NULL)
		return manifest_type_index(MANIFEST_TYPE_OCI_INDEX);
	if (json_object_get(root, "config") != NULL &&
	    json_object_get(root, "layers") != NULL)
		return manifest_type_index(MANIFEST_TYPE_OCI_IMAGE);
	return manifest_fail(cause, manifest_err_infer);
}

int
manifest_parse(const char *body, size_t len, const char *content_type,
    struct manifest *out, const char **cause)
{
	json_t *root, *v;
	int t, rc = -1;

	memset(out, 0, sizeof *out);
	if (body == NULL)
		return manifest_fail(cause, manifest_err_json);
	if (len > MANIFEST_MAX_BODY)
		return manifest_fail(cause, manifest_err_long);
	/*
	 * Duplicate keys are refused: the body is checked against its
	 * digest, and other parsers must not read a different manifest out
	 * of the same bytes.
	 */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return manifest_fail(cause, manifest_err_json);
	}

	v = json_object_get(root, "schemaVersion");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) != 2)) {
		manifest_fail(cause, manifest_err_schema);
		goto out;
	}
	if ((t = manifest_pick_type(root, content_type, cause)) < 0)
		goto out;
	out->kind = manifest_types[t].kind;
	out->media_type = xstrdup(manifest_types[t].name);

	if (out->kind == MANIFEST_INDEX)
		rc = manifest_parse_index(root, out, cause);
	else
		rc = manifest_parse_image(root, out, cause);
	if (rc == 0 &&
	    manifest_annotation(root, MANIFEST_ANN_VERSION, &out->version) != 0)
		rc = manifest_fail(cause, manifest_err_field);
out:
	if (rc != 0)
		manifest_reset(out);
	json_decref(root);
	return rc;
}

void
manifest_reset(struct manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_children; i++)
		manifest_child_reset(&m->children[i]);
	free(m->children);
	free(m->media_type);
	free(m->config_digest);
	free(m->version);
	memset(m, 0, sizeof *m);
}

/* Copy s lower-cased into buf, truncating; nothing if size is 0. */
static void
manifest_copy_lower(char *buf, size_t size, const char *s)
{
	size_t i;

	if (size == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
}

void
manifest_normalize_platform(const char *os, const char *arch, char *os_out,
    size_t os_size, char *arch_out, size_t arch_size, char *variant_out,
    size_t variant_size)
{
	const char *a = arch != NULL ? arch : "", *v = "";

	manifest_copy_lower(os_out, os_size, os != NULL ? os : "");
	for (size_t i = 0; i < MANIFEST_NARCHES; i++) {
		if (strcasecmp(a, manifest_arches[i].alias) == 0) {
			a = manifest_arches[i].arch;
			v = manifest_arches[i].variant;
			break;
		}
	}
	manifest_copy_lower(arch_out, arch_size, a);
	manifest_copy_lower(variant_out, variant_size, v);
}

/*
 * The variant as containerd compares it for a normalised arch, written
 * into buf: arm64 "", "8", "v8.0" -> "v8"; arm "" and "7" -> "v7", "5",
 * "6", "8" -> "v5".."v8"; amd64 "v1" -> "".
 */
static void
manifest_normalize_variant(const char *arch, const char *variant, char *buf,
    size_t size)
{
	manifest_copy_lower(buf, size, variant != NULL ? variant : "");
	if (strcmp(arch, "arm64") == 0) {
		if (*buf == '\0' || strcmp(buf, "8") == 0 ||
		    strcmp(buf, "v8.0") == 0)
			manifest_copy_lower(buf, size, "v8");
	} else if (strcmp(arch, "arm") == 0) {
		if (*buf == '\0' || strcmp(buf, "7") == 0)
			manifest_copy_lower(buf, size, "v7");
		else if (strcmp(buf, "5") == 0 || strcmp(buf, "6") == 0 ||
		    strcmp(buf, "8") == 0)
			snprintf(buf, size, "v%c", variant[0]);
	} else if (strcmp(arch, "amd64") == 0) {
		if (strcmp(buf, "v1") == 0)
			*buf = '\0';
	}
}

/* Preference among variants when any will do: none, v8, v7, the rest. */
static int
manifest_variant_rank(const char *variant)
{
	if (variant == NULL || *variant == '\0')
		return 0;
	if (strcasecmp(variant, "v8") == 0)
		return 1;
	if (strcasecmp(variant, "v7") == 0)
		return 2;
	return 3;
}

const struct manifest_child *
manifest_find_platform(const struct manifest *m, const char *os,
    const char *arch, const char *variant)
{
	const struct manifest_child *c, *best = NULL;
	char wos[MANIFEST_PLATFORM_MAX];
	char warch[MANIFEST_PLATFORM_MAX];
	char wvar[MANIFEST_PLATFORM_MAX];
	char cos[MANIFEST_PLATFORM_MAX];
	char carch[MANIFEST_PLATFORM_MAX];
	char cvar[MANIFEST_PLATFORM_MAX];
	char tmp[MANIFEST_PLATFORM_MAX];
	int rank, best_rank = 4;
	bool any;

	if (m == NULL || os == NULL || arch == NULL)
		return NULL;
	manifest_normalize_platform(os, arch, wos, sizeof wos, warch,
	    sizeof warch, wvar, sizeof wvar);
	/* An explicit variant wins over one the arch name implies. */
	if (variant != NULL && *variant != '\0')
		manifest_copy_lower(wvar, sizeof wvar, variant);
	any = *wvar == '\0';
	if (!any) {
		manifest_normalize_variant(warch, wvar, tmp, sizeof tmp);
		memcpy(wvar, tmp, sizeof wvar);
	}

	for (size_t i = 0; i < m->n_children; i++) {
		c = &m->children[i];
		if (c->attestation || c->os == NULL || c->architecture == NULL)
			continue;
		manifest_normalize_platform(c->os, c->architecture, cos,
		    sizeof cos, carch, sizeof carch, cvar, sizeof cvar);
		if (strcmp(cos, wos) != 0 || strcmp(carch, warch) != 0)
			continue;
		if (any) {
			rank = manifest_variant_rank(c->variant);
			if (rank < best_rank) {
				best = c;
				best_rank = rank;
			}
			continue;
		}
		if (c->variant != NULL && *c->variant != '\0')
			manifest_copy_lower(cvar, sizeof cvar, c->variant);
		manifest_normalize_variant(carch, cvar, tmp, sizeof tmp);
		if (strcmp(tmp, wvar) == 0)
			return c;
	}
	return best;
}

/* obj[key], or else the last member whose name matches it ignoring case
 * (Go's encoding/json matches struct fields that way). */
static json_t *
manifest_get_fold(json_t *obj, const char *key)
{
	json_t *v, *found;
	const char *k;

	if (!json_is_object(obj))
		return NULL;
	if ((found = json_object_get(obj, key)) != NULL)
		return found;
	json_object_foreach(obj, k, v)
	{
		if (strcasecmp(k, key) == 0)
			found = v;
	}
	return found;
}

char *
manifest_config_label(const char *config_json, size_t len, const char *name)
{
	json_t *root, *v;
	char *out = NULL;

	if (config_json == NULL || name == NULL || len > MANIFEST_MAX_CONFIG)
		return NULL;
	if ((root = json_loadb(config_json, len, 0, NULL)) == NULL)
		return NULL;
	v = manifest_get_fold(root, "config");
	v = manifest_get_fold(v, "Labels");
	if (json_is_object(v)) {
		v = json_object_get(v, name);
		if (json_is_string(v))
			out = xstrdup(json_string_value(v));
	}
	json_decref(root);
	return out;
}

/* SHA-256, FIPS 180-4 6.2. */

struct manifest_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes so far */
	unsigned char buf[64];
	size_t used;
};

static const uint32_t manifest_sha256_k[64] = {
	0x428a2f98,
	0x71374491,
	0xb5c0fbcf,
	0xe9b5dba5,
	0x3956c25b,
	0x59f111f1,
	0x923f82a4,
	0xab1c5ed5,
	0xd807aa98,
	0x12835b01,
	0x243185be,
	0x550c7dc3,
	0x72be5d74,
	0x80deb1fe,
	0x9bdc06a7,
	0xc19bf174,
	0xe49b69c1,
	0xefbe4786,
	0x0fc19dc6,
	0x240ca1cc,
	0x2de92c6f,
	0x4a7484aa,
	0x5cb0a9dc,
	0x76f988da,
	0x983e5152,
	0xa831c66d,
	0xb00327c8,
	0xbf597fc7,
	0xc6e00bf3,
	0xd5a79147,
	0x06ca6351,
	0x14292967,
	0x27b70a85,
	0x2e1b2138,
	0x4d2c6dfc,
	0x53380d13,
	0x650a7354,
	0x766a0abb,
	0x81c2c92e,
	0x92722c85,
	0xa2bfe8a1,
	0xa81a664b,
	0xc24b8b70,
	0xc76c51a3,
	0xd192e819,
	0xd6990624,
	0xf40e3585,
	0x106aa070,
	0x19a4c116,
	0x1e376c08,
	0x2748774c,
	0x34b0bcb5,
	0x391c0cb3,
	0x4ed8aa4a,
	0x5b9cca4f,
	0x682e6ff3,
	0x748f82ee,
	0x78a5636f,
	0x84c87814,
	0x8cc70208,
	0x90befffa,
	0xa4506ceb,
	0xbef9a3f7,
	0xc67178f2,
};

static uint32_t
manifest_ror(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void
manifest_sha256_block(struct manifest_sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		t1 = manifest_ror(w[i - 2], 17) ^ manifest_ror(w[i - 2], 19) ^
		    (w[i - 2] >> 10);
		t2 = manifest_ror(w[i - 15], 7) ^ manifest_ror(w[i - 15], 18) ^
		    (w[i - 15] >> 3);
		w[i] = t1 + w[i - 7] + t2 + w[i - 16];
	}
	a = s->h[0];
	b = s->h[1];
	c = s->h[2];
	d = s->h[3];
	e = s->h[4];
	f = s->h[5];
	g = s->h[6];
	h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h +
		    (manifest_ror(e, 6) ^ manifest_ror(e, 11) ^
			manifest_ror(e, 25)) +
		    ((e & f) ^ (~e & g)) + manifest_sha256_k[i] + w[i];
		t2 = (manifest_ror(a, 2) ^ manifest_ror(a, 13) ^
			 manifest_ror(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s->h[0] += a;
	s->h[1] += b;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
	s->h[5] += f;
	s->h[6] += g;
	s->h[7] += h;
}

static void
manifest_sha256_init(struct manifest_sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667,
		0xbb67ae85,
		0x3c6ef372,
		0xa54ff53a,
		0x510e527f,
		0x9b05688c,
		0x1f83d9ab,
		0x5be0cd19,
	};

	memset(s, 0, sizeof *s);
	memcpy(s->h, iv, sizeof s->h);
}

static void
manifest_sha256_update(struct manifest_sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	s->len += len;
	while (len > 0) {
		if (s->used == 0 && len >= sizeof s->buf) {
			manifest_sha256_block(s, p);
			p += sizeof s->buf;
			len -= sizeof s->buf;
			continue;
		}
		n = sizeof s->buf - s->used;
		if (n > len)
			n = len;
		memcpy(s->buf + s->used, p, n);
		s->used += n;
		p += n;
		len -= n;
		if (s->used == sizeof s->buf) {
			manifest_sha256_block(s, s->buf);
			s->used = 0;
		}
	}
}

static void
manifest_sha256_final(struct manifest_sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->len * 8;
	unsigned char pad[72];
	size_t padlen;

	/* 0x80, zeros to 56 mod 64, then the length in bits, big-endian. */
	padlen = (s->used < 56 ? 56 : 120) - s->used;
	memset(pad, 0, sizeof pad);
	pad[0] = 0x80;
	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	manifest_sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

char *
manifest_sha256_digest(const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct manifest_sha256 s;
	unsigned char md[32];
	char *out, *o;

	manifest_sha256_init(&s);
	if (len > 0)
		manifest_sha256_update(&s, data, len);
	manifest_sha256_final(&s, md);

	out = xmalloc(sizeof MANIFEST_SHA256_PREFIX + 2 * sizeof md);
	o = stpcpy(out, MANIFEST_SHA256_PREFIX);
	for (size_t i = 0; i < sizeof md; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 0xf];
	}
	*o = '\0';
	return out;
}
