/*
 * libFuzzer target for imgref: any bytes either parse into a reference
 * that keeps its invariants and round-trips, or fail with a cause and
 * leave nothing allocated.  Build with -DFUZZ_STANDALONE for a main that
 * replays the files named on the command line (corpus regression).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgref.h"

#define FUZZ_MAX_INPUT	1024

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
streq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* A well-formed digest to pin with. */
static const char fuzz_digest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void
check_name(const struct imgref *ref)
{
	struct imgref	 again;
	const char	*cause;
	char		*full, *familiar, *pinned;

	FUZZ_ASSERT(ref->domain != NULL && ref->path != NULL);
	FUZZ_ASSERT(strlen(ref->path) <= 255);
	FUZZ_ASSERT(ref->digest == NULL || imgref_digest_valid(ref->digest));
	FUZZ_ASSERT(imgref_is_pinned(ref) == (ref->digest != NULL));
	FUZZ_ASSERT((imgref_effective_tag(ref) == NULL) ==
	    (ref->tag == NULL && ref->digest != NULL));

	/* The full and familiar repositories parse back to themselves. */
	full = imgref_repository(ref);
	familiar = imgref_familiar_repository(ref);
	FUZZ_ASSERT(full != NULL && familiar != NULL);
	FUZZ_ASSERT(imgref_parse(full, &again, &cause) == 0);
	FUZZ_ASSERT(again.kind == IMGREF_NAME);
	FUZZ_ASSERT(streq(again.domain, ref->domain));
	FUZZ_ASSERT(streq(again.path, ref->path));
	FUZZ_ASSERT(again.tag == NULL && again.digest == NULL);
	imgref_reset(&again);
	FUZZ_ASSERT(imgref_parse(familiar, &again, &cause) == 0);
	FUZZ_ASSERT(streq(again.domain, ref->domain));
	FUZZ_ASSERT(streq(again.path, ref->path));
	imgref_reset(&again);

	/* The pinned suggestion keeps repository and tag. */
	pinned = imgref_pinned(ref, fuzz_digest);
	FUZZ_ASSERT(imgref_parse(pinned, &again, &cause) == 0);
	FUZZ_ASSERT(again.kind == IMGREF_NAME);
	FUZZ_ASSERT(streq(again.domain, ref->domain));
	FUZZ_ASSERT(streq(again.path, ref->path));
	FUZZ_ASSERT(streq(again.tag, ref->tag));
	FUZZ_ASSERT(streq(again.digest, fuzz_digest));
	imgref_reset(&again);

	/* A glob without metacharacters matches its own repository. */
	if (strchr(full, '[') == NULL)
		FUZZ_ASSERT(imgref_repository_matches(ref, full));
	if (strchr(familiar, '[') == NULL)
		FUZZ_ASSERT(imgref_repository_matches(ref, familiar));

	free(pinned);
	free(familiar);
	free(full);
}

static void
check_id(const struct imgref *ref)
{
	char	*s;

	FUZZ_ASSERT(ref->domain == NULL && ref->path == NULL);
	FUZZ_ASSERT(ref->tag == NULL && !ref->short_id_candidate);
	FUZZ_ASSERT(imgref_digest_valid(ref->digest));
	FUZZ_ASSERT(imgref_is_pinned(ref));
	FUZZ_ASSERT(imgref_effective_tag(ref) == NULL);
	FUZZ_ASSERT(imgref_repository(ref) == NULL);
	FUZZ_ASSERT(imgref_familiar_repository(ref) == NULL);
	FUZZ_ASSERT(!imgref_repository_matches(ref, "*"));
	s = imgref_pinned(ref, NULL);
	FUZZ_ASSERT(strcmp(s, ref->digest) == 0);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imgref	 ref;
	const char	*cause = NULL;
	char		*s;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	(void)imgref_digest_valid(s);
	if (imgref_parse(s, &ref, &cause) == 0) {
		if (ref.kind == IMGREF_ID)
			check_id(&ref);
		else
			check_name(&ref);
	} else {
		FUZZ_ASSERT(cause != NULL && *cause != '\0');
		FUZZ_ASSERT(ref.domain == NULL && ref.path == NULL &&
		    ref.tag == NULL && ref.digest == NULL);
	}
	imgref_reset(&ref);
	imgref_reset(&ref);

	free(s);
	return 0;
}

#ifdef FUZZ_STANDALONE
int
main(int argc, char **argv)
{
	uint8_t	 buf[FUZZ_MAX_INPUT + 1];
	size_t	 n;
	FILE	*f;

	for (int i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
