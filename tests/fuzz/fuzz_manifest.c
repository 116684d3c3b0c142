/*
 * libFuzzer target for manifest: any bytes as a manifest body under
 * several Content-Types, as an image config blob, as a media type and as
 * an arch name.  A parse either fails with a cause leaving nothing, or
 * gives a kind that agrees with its media type, valid sha256 digests,
 * header-safe child media types, platform matches that are never
 * attestations, and the same result again when its own media type is
 * given as the Content-Type.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

#define FUZZ_MAX_INPUT	65536

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
	NULL,
	MANIFEST_TYPE_OCI_INDEX,
	MANIFEST_TYPE_OCI_IMAGE,
	MANIFEST_TYPE_DOCKER_LIST "; charset=utf-8",
	MANIFEST_TYPE_DOCKER_IMAGE,
	"application/json",
};

static const char *const platforms[][3] = {
	{ "linux", "amd64", NULL },
	{ "linux", "x86_64", "" },
	{ "linux", "arm64", "v8" },
	{ "linux", "aarch64", NULL },
	{ "linux", "arm", "v7" },
	{ "linux", "armv6l", NULL },
	{ "unknown", "unknown", NULL },
	{ "windows", "amd64", NULL },
};

static bool
digest_ok(const char *d)
{
	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	return strspn(d + 7, "0123456789abcdef") == 64;
}

static bool
visible_ascii(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

static void
check_parsed(const struct manifest *m, const char *body, size_t len)
{
	const struct manifest_child	*c;
	struct manifest			 again;

	FUZZ_ASSERT(m->kind != MANIFEST_UNKNOWN);
	FUZZ_ASSERT(manifest_kind_of(m->media_type) == m->kind);
	if (m->kind == MANIFEST_IMAGE) {
		FUZZ_ASSERT(digest_ok(m->config_digest));
		FUZZ_ASSERT(m->n_children == 0 && m->children == NULL);
	} else {
		FUZZ_ASSERT(m->config_digest == NULL);
		FUZZ_ASSERT(m->n_children <= MANIFEST_MAX_CHILDREN);
	}
	for (size_t i = 0; i < m->n_children; i++) {
		c = &m->children[i];
		FUZZ_ASSERT(digest_ok(c->digest));
		FUZZ_ASSERT(c->media_type == NULL ||
		    visible_ascii(c->media_type));
	}
	for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++) {
		c = manifest_find_platform(m, platforms[i][0],
		    platforms[i][1], platforms[i][2]);
		FUZZ_ASSERT(c == NULL || (c >= m->children &&
		    c < m->children + m->n_children && !c->attestation &&
		    c->os != NULL && c->architecture != NULL));
	}

	FUZZ_ASSERT(manifest_parse(body, len, m->media_type, &again,
	    NULL) == 0);
	FUZZ_ASSERT(again.kind == m->kind &&
	    strcmp(again.media_type, m->media_type) == 0 &&
	    again.n_children == m->n_children);
	manifest_reset(&again);
}

static void
check_strings(const char *s)
{
	char	 os[16], arch[16], variant[16];
	char	*d, *d2;

	(void)manifest_kind_of(s);
	manifest_normalize_platform(s, s, os, sizeof os, arch, sizeof arch,
	    variant, sizeof variant);
	FUZZ_ASSERT(strlen(os) < sizeof os && strlen(arch) < sizeof arch);
	for (const char *p = arch; *p != '\0'; p++)
		FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
	FUZZ_ASSERT(*variant == '\0' || strcmp(arch, "arm") == 0);

	d = manifest_sha256_digest(s, strlen(s));
	d2 = manifest_sha256_digest(s, strlen(s));
	FUZZ_ASSERT(digest_ok(d) && strcmp(d, d2) == 0);
	free(d);
	free(d2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest	 m;
	const char	*body = (const char *)data, *cause;
	char		*s, *label;
	int		 rc;

	if (size > FUZZ_MAX_INPUT)
		return 0;

	for (size_t i = 0; i < sizeof content_types / sizeof content_types[0];
	    i++) {
		cause = NULL;
		rc = manifest_parse(body, size, content_types[i], &m, &cause);
		if (rc == 0)
			check_parsed(&m, body, size);
		else {
			FUZZ_ASSERT(rc == -1 && cause != NULL);
			FUZZ_ASSERT(m.kind == MANIFEST_UNKNOWN &&
			    m.media_type == NULL && m.children == NULL &&
			    m.n_children == 0 && m.config_digest == NULL &&
			    m.version == NULL);
		}
		manifest_reset(&m);
	}

	label = manifest_config_label(body, size,
	    "org.opencontainers.image.version");
	free(label);

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_strings(s);
	free(s);
	return 0;
}
