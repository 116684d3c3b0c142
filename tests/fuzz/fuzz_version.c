/*
 * libFuzzer target for version: the input is up to three versions, one
 * per line.  version_compare must be a total order on them (reflexive,
 * antisymmetric, transitive), ignore the variant, and never fail.  Build
 * with -DFUZZ_STANDALONE for a main that replays the files named on the
 * command line (corpus regression).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

#define FUZZ_MAX_INPUT	1024

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_one(const char *v)
{
	char	 core[FUZZ_MAX_INPUT + 1], variant[FUZZ_MAX_INPUT + 1];
	size_t	 clen, vlen = strlen(v);

	FUZZ_ASSERT(version_compare(v, v) == 0);

	/* core is a prefix of v; the rest is "-" variant, or a lone "-". */
	version_split_variant(v, core, sizeof core, variant, sizeof variant);
	clen = strlen(core);
	FUZZ_ASSERT(clen <= vlen && memcmp(core, v, clen) == 0);
	if (*variant != '\0')
		FUZZ_ASSERT(v[clen] == '-' &&
		    strcmp(v + clen + 1, variant) == 0);
	else
		FUZZ_ASSERT(clen == vlen || (clen + 1 == vlen &&
		    v[clen] == '-'));
	FUZZ_ASSERT(version_compare(v, core) == 0);
	FUZZ_ASSERT(version_compare(core, v) == 0);

	if (version_plausible(v))
		FUZZ_ASSERT(vlen <= 128 && strpbrk(v, "0123456789") != NULL);
}

static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf, *v[3], *nl;
	int	 ab, bc, ac;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	/* Split into three strings at the first two newlines. */
	v[0] = buf;
	for (int i = 1; i < 3; i++) {
		nl = strchr(v[i - 1], '\n');
		if (nl == NULL) {
			v[i] = buf + strlen(buf);	/* "" */
			continue;
		}
		*nl = '\0';
		v[i] = nl + 1;
	}

	for (int i = 0; i < 3; i++)
		check_one(v[i]);
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 3; j++) {
			ab = version_compare(v[i], v[j]);
			FUZZ_ASSERT(ab >= -1 && ab <= 1);
			FUZZ_ASSERT(ab == -version_compare(v[j], v[i]));
		}
	}

	/* Transitivity: a <= b and b <= c imply a <= c, strictly if either
	 * step is strict; a == b == c implies a == c. */
	ab = version_compare(v[0], v[1]);
	bc = version_compare(v[1], v[2]);
	ac = version_compare(v[0], v[2]);
	if (ab == bc || ab == 0 || bc == 0)
		FUZZ_ASSERT(ac == sign(ab + bc));

	free(buf);
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
