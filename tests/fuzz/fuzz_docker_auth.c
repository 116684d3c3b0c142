/*
 * libFuzzer target for docker_auth: any bytes as a config.json text
 * (looked up for several hosts) and as base64.  A lookup returns 0 with
 * some non-empty credential, 1 with nothing, or -1 with a cause and
 * nothing; base64 decoding and encoding round-trip.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_auth.h"

#define FUZZ_MAX_INPUT	8192

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = {
	"docker.io", "index.docker.io", "127.0.0.1:5000", "ghcr.io",
	"registry.example.com", "",
};

static bool
empty(const struct docker_cred *c)
{
	return c->username == NULL && c->password == NULL &&
	    c->identity_token == NULL;
}

static void
check_lookup(const char *json, size_t len, const char *host)
{
	struct docker_cred	 cred;
	const char		*cause = NULL;
	int			 rc;

	rc = docker_auth_lookup(json, len, host, &cred, &cause);
	FUZZ_ASSERT(rc >= -1 && rc <= 1);
	if (rc == 0) {
		FUZZ_ASSERT(!empty(&cred));
		FUZZ_ASSERT(cred.username == NULL || *cred.username != '\0');
		FUZZ_ASSERT(cred.password == NULL || *cred.password != '\0');
		FUZZ_ASSERT(cred.identity_token == NULL ||
		    *cred.identity_token != '\0');
	} else {
		FUZZ_ASSERT(empty(&cred));
		FUZZ_ASSERT((rc == -1) == (cause != NULL));
	}
	docker_cred_reset(&cred);
	FUZZ_ASSERT(empty(&cred));
}

static void
check_b64(const uint8_t *data, size_t size, const char *s)
{
	char	*dec, *enc, *again;
	size_t	 len, again_len, n;

	/* Encoding then decoding gives the bytes back. */
	enc = docker_auth_b64encode(data, size);
	FUZZ_ASSERT(strlen(enc) == (size + 2) / 3 * 4);
	FUZZ_ASSERT(docker_auth_b64decode(enc, &dec, &len) == 0);
	FUZZ_ASSERT(len == size && memcmp(dec, data, size) == 0);
	FUZZ_ASSERT(dec[len] == '\0');
	free(dec);
	free(enc);

	/* Whatever decodes re-encodes to something that decodes the same. */
	if (docker_auth_b64decode(s, &dec, &len) != 0) {
		FUZZ_ASSERT(dec == NULL && len == 0);
		return;
	}
	n = strcspn(s, "=");
	FUZZ_ASSERT(len == n * 3 / 4);
	enc = docker_auth_b64encode(dec, len);
	FUZZ_ASSERT(docker_auth_b64decode(enc, &again, &again_len) == 0);
	FUZZ_ASSERT(again_len == len && memcmp(again, dec, len) == 0);
	free(again);
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
		check_lookup((const char *)data, size, hosts[i]);
	check_b64(data, size, s);

	free(s);
	return 0;
}
