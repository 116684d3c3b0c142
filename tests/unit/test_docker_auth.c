/*
 * Golden tables for docker_auth: which config.json entry docker/cli's
 * file store would use for a registry host, and base64 (RFC 4648 10 test
 * vectors).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "docker_auth.h"

/* As `docker login` and friends leave it, plus hand-written entries. */
static const char config[] =
    "{\n"
    "  \"auths\": {\n"
    "    \"https://index.docker.io/v1/\": {\"auth\": \"dXNlcjpwYXNz\"},\n"
    "    \"127.0.0.1:5000\": {\"username\": \"local\",\n"
    "      \"password\": \"secret\"},\n"
    "    \"https://registry.example.com\": {\n"
    "      \"auth\": \"b2N0b2NhdDpnaHBfYWJjMTIz\"},\n"
    "    \"ghcr.io\": {\"auth\": \"Z2g6dG9r\"},\n"
    "    \"quay.io/\": {\"auth\": \"dXNlcjpwYXNzMQ\"},\n"
    "    \"http://insecure.local:8080/v1/\": {\"username\": \"i\",\n"
    "      \"password\": \"j\"},\n"
    "    \"123456789012.dkr.ecr.us-east-1.amazonaws.com\": {\n"
    "      \"auth\": \"QVdTOmV5SndZWGxzYjJGa0lqb2k=\"},\n"
    "    \"helper.example.com\": {},\n"
    "    \"token.example.com\": {\"auth\": \"YWxpY2U6\",\n"
    "      \"identitytoken\": \"eyJ0b2tlbiI6\"},\n"
    "    \"colons.example.com\": {\"auth\": \"dTpwOndpdGg6Y29sb25z\"},\n"
    "    \"both.example.com\": {\"auth\": \"dXNyOnB3\",\n"
    "      \"username\": \"ignored\", \"password\": \"ignored\"},\n"
    "    \"emptyauth.example.com\": {\"auth\": \"\",\n"
    "      \"username\": \"e\", \"password\": \"f\"},\n"
    "    \"nulls.example.com\": {\"auth\": null, \"username\": \"n\",\n"
    "      \"password\": null},\n"
    "    \"Upper.Example.COM\": {\"username\": \"up\",\n"
    "      \"password\": \"per\"},\n"
    "    \"https://path.example.com/some/path\": {\"username\": \"pa\",\n"
    "      \"password\": \"th\", \"email\": \"x@example.com\"},\n"
    "    \"broken.example.com\": {\"auth\": \"bm9jb2xvbg==\"},\n"
    "    \"https://notanobject.example.com\": \"x\"\n"
    "  },\n"
    "  \"credsStore\": \"desktop\",\n"
    "  \"credHelpers\": {\"gcr.io\": \"gcloud\"},\n"
    "  \"HttpHeaders\": {\"User-Agent\": \"x\"}\n"
    "}\n";

struct lookup_row {
	const char	*host;
	int		 rc;
	const char	*username;
	const char	*password;
	const char	*token;
};

static const struct lookup_row config_rows[] = {
	{ "docker.io", 0, "user", "pass", NULL },
	{ "index.docker.io", 0, "user", "pass", NULL },
	{ "registry-1.docker.io", 0, "user", "pass", NULL },
	{ "https://index.docker.io/v1/", 0, "user", "pass", NULL },
	{ "DOCKER.IO", 0, "user", "pass", NULL },
	{ "127.0.0.1:5000", 0, "local", "secret", NULL },
	{ "127.0.0.1:5001", 1, NULL, NULL, NULL },
	{ "127.0.0.1", 1, NULL, NULL, NULL },
	{ "registry.example.com", 0, "octocat", "ghp_abc123", NULL },
	{ "REGISTRY.example.com", 0, "octocat", "ghp_abc123", NULL },
	{ "example.com", 1, NULL, NULL, NULL },
	{ "ghcr.io", 0, "gh", "tok", NULL },
	{ "quay.io", 0, "user", "pass1", NULL },
	{ "insecure.local:8080", 0, "i", "j", NULL },
	{ "insecure.local", 1, NULL, NULL, NULL },
	{ "123456789012.dkr.ecr.us-east-1.amazonaws.com", 0, "AWS",
	  "eyJwYXlsb2FkIjoi", NULL },
	/* Left empty by a credential helper setup; helpers are not run. */
	{ "helper.example.com", 1, NULL, NULL, NULL },
	{ "gcr.io", 1, NULL, NULL, NULL },
	{ "token.example.com", 0, "alice", NULL, "eyJ0b2tlbiI6" },
	{ "colons.example.com", 0, "u", "p:with:colons", NULL },
	{ "both.example.com", 0, "usr", "pw", NULL },
	{ "emptyauth.example.com", 0, "e", "f", NULL },
	{ "nulls.example.com", 0, "n", NULL, NULL },
	{ "upper.example.com", 0, "up", "per", NULL },
	{ "path.example.com", 0, "pa", "th", NULL },
	{ "broken.example.com", -1, NULL, NULL, NULL },
	{ "notanobject.example.com", -1, NULL, NULL, NULL },
	{ "", 1, NULL, NULL, NULL },
};

static void
check_rows(const char *json, const struct lookup_row *rows, size_t n)
{
	struct docker_cred	 cred;
	const char		*cause;
	int			 rc;

	for (size_t i = 0; i < n; i++) {
		const struct lookup_row *r = &rows[i];

		cause = NULL;
		rc = docker_auth_lookup(json, strlen(json), r->host, &cred,
		    &cause);
		CHECKF(rc == r->rc, "row %zu \"%s\": rc %d, want %d (%s)", i,
		    r->host, rc, r->rc, cause ? cause : "-");
		CHECKF((rc == -1) == (cause != NULL), "row %zu: cause", i);
		CHECKF(r->username == NULL ? cred.username == NULL :
		    cred.username != NULL &&
		    strcmp(cred.username, r->username) == 0,
		    "row %zu \"%s\": username \"%s\"", i, r->host,
		    cred.username ? cred.username : "(null)");
		CHECKF(r->password == NULL ? cred.password == NULL :
		    cred.password != NULL &&
		    strcmp(cred.password, r->password) == 0,
		    "row %zu \"%s\": password \"%s\"", i, r->host,
		    cred.password ? cred.password : "(null)");
		CHECKF(r->token == NULL ? cred.identity_token == NULL :
		    cred.identity_token != NULL &&
		    strcmp(cred.identity_token, r->token) == 0,
		    "row %zu \"%s\": identity_token \"%s\"", i, r->host,
		    cred.identity_token ? cred.identity_token : "(null)");
		docker_cred_reset(&cred);
	}
}

static void
test_lookup_config(void)
{
	check_rows(config, config_rows,
	    sizeof config_rows / sizeof config_rows[0]);
}

/* Which of several Docker Hub keys wins. */
static const char hub_config[] =
    "{\"auths\": {\"docker.io\": {\"auth\": \"aHViQTph\"},"
    " \"https://index.docker.io/v1/\": {\"auth\": \"aHViQjpi\"},"
    " \"registry-1.docker.io\": {\"auth\": \"aHViQzpj\"}}}";

static const struct lookup_row hub_rows[] = {
	{ "docker.io", 0, "hubA", "a", NULL },
	{ "index.docker.io", 0, "hubB", "b", NULL },
	{ "registry-1.docker.io", 0, "hubC", "c", NULL },
	{ "https://index.docker.io/v1/", 0, "hubB", "b", NULL },
};

/* No login key: the first matching key in document order. */
static const char hub_order_config[] =
    "{\"auths\": {\"https://index.docker.io/v2/\": {\"auth\": \"aHViQTph\"},"
    " \"docker.io/\": {\"auth\": \"aHViQjpi\"}}}";

static const struct lookup_row hub_order_rows[] = {
	{ "docker.io", 0, "hubA", "a", NULL },
	{ "registry-1.docker.io", 0, "hubA", "a", NULL },
	{ "docker.io/", 0, "hubB", "b", NULL },
};

/* Go's encoding/json and jansson both keep the last duplicate. */
static const char dup_config[] =
    "{\"auths\": {\"ghcr.io\": {\"auth\": \"aHViQTph\"},"
    " \"ghcr.io\": {\"auth\": \"aHViQjpi\"}}}";

static const struct lookup_row dup_rows[] = {
	{ "ghcr.io", 0, "hubB", "b", NULL },
};

static void
test_lookup_precedence(void)
{
	check_rows(hub_config, hub_rows, sizeof hub_rows / sizeof hub_rows[0]);
	check_rows(hub_order_config, hub_order_rows,
	    sizeof hub_order_rows / sizeof hub_order_rows[0]);
	check_rows(dup_config, dup_rows, sizeof dup_rows / sizeof dup_rows[0]);
}

struct config_row {
	const char	*json;
	int		 rc;
	const char	*cause;
};

static const struct config_row config_shapes[] = {
	{ "{}", 1, NULL },
	{ "{\"auths\": {}}", 1, NULL },
	{ "{\"auths\": null}", 1, NULL },
	{ "{\"credsStore\": \"osxkeychain\"}", 1, NULL },
	{ "{\"auths\": {\"r.io\": {\"username\": \"u\"}}}", 0, NULL },
	{ "{\"auths\": {\"r.io\": {\"password\": \"p\"}}}", 0, NULL },
	{ "{\"auths\": {\"r.io\": {\"identitytoken\": \"t\"}}}", 0, NULL },
	{ "{\"auths\": {\"r.io\": {\"auth\": \"Og==\"}}}", 1, NULL },
	{ "{\"auths\": {\"r.io\": {\"registrytoken\": \"t\"}}}", 1, NULL },
	{ "{\"auths\": {\"other.io\": 5}}", 1, NULL },
	{ "not json", -1, "config is not a JSON object" },
	{ "", -1, "config is not a JSON object" },
	{ "[]", -1, "config is not a JSON object" },
	{ "{\"auths\": {}} trailing", -1, "config is not a JSON object" },
	{ "{\"auths\": {\"r.io\\u0000\": {}}}", -1,
	  "config is not a JSON object" },
	{ "{\"auths\": []}", -1, "\"auths\" is not an object" },
	{ "{\"auths\": \"r.io\"}", -1, "\"auths\" is not an object" },
	{ "{\"auths\": {\"r.io\": \"x\"}}", -1,
	  "credentials entry is not an object" },
	{ "{\"auths\": {\"r.io\": null}}", -1,
	  "credentials entry is not an object" },
	{ "{\"auths\": {\"r.io\": {\"auth\": 5}}}", -1,
	  "credentials field is not a string" },
	{ "{\"auths\": {\"r.io\": {\"username\": [\"u\"]}}}", -1,
	  "credentials field is not a string" },
	{ "{\"auths\": {\"r.io\": {\"identitytoken\": true}}}", -1,
	  "credentials field is not a string" },
	{ "{\"auths\": {\"r.io\": {\"auth\": \"!!!!\"}}}", -1,
	  "\"auth\" is not valid base64" },
	{ "{\"auths\": {\"r.io\": {\"auth\": \"dXNlcjpwYXNz=\"}}}", -1,
	  "\"auth\" is not valid base64" },
	{ "{\"auths\": {\"r.io\": {\"auth\": \"bm9jb2xvbg==\"}}}", -1,
	  "\"auth\" is not username:password" },
	{ "{\"auths\": {\"r.io\": {\"auth\": \"YQA6Yg==\"}}}", -1,
	  "\"auth\" is not username:password" },
};

static void
test_lookup_shapes(void)
{
	struct docker_cred	 cred;
	const char		*cause;
	int			 rc;

	for (size_t i = 0; i < sizeof config_shapes / sizeof config_shapes[0];
	    i++) {
		const struct config_row *r = &config_shapes[i];

		cause = NULL;
		memset(&cred, 0xa5, sizeof cred);
		rc = docker_auth_lookup(r->json, strlen(r->json), "r.io",
		    &cred, &cause);
		CHECKF(rc == r->rc, "row %zu: rc %d, want %d", i, rc, r->rc);
		CHECKF(r->cause == NULL ? cause == NULL :
		    cause != NULL && strcmp(cause, r->cause) == 0,
		    "row %zu: cause \"%s\"", i, cause ? cause : "(null)");
		if (rc != 0)
			CHECKF(cred.username == NULL &&
			    cred.password == NULL &&
			    cred.identity_token == NULL,
			    "row %zu: out not zeroed", i);
		docker_cred_reset(&cred);
	}
}

static void
test_lookup_limits(void)
{
	struct docker_cred	 cred;
	const char		*cause = NULL;
	char			*big;
	size_t			 n = DOCKER_AUTH_MAX_CONFIG + 1;

	big = malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	CHECK_INT_EQ(docker_auth_lookup(big, n, "r.io", &cred, &cause), -1);
	CHECK_STR_EQ(cause, "config is too long");
	CHECK_INT_EQ(docker_auth_lookup(big + 1, n - 1, "r.io", &cred,
	    &cause), -1);
	big[1] = '{';
	CHECK_INT_EQ(docker_auth_lookup(big + 1, n - 1, "r.io", &cred,
	    &cause), 1);
	free(big);

	/* The length bounds the text; cause may be NULL. */
	CHECK_INT_EQ(docker_auth_lookup("{}xyz", 2, "r.io", &cred, NULL), 1);
	CHECK_INT_EQ(docker_auth_lookup("{", 1, "r.io", &cred, NULL), -1);
	CHECK_INT_EQ(docker_auth_lookup(NULL, 0, "r.io", &cred, NULL), -1);
	CHECK_INT_EQ(docker_auth_lookup("{}", 2, NULL, &cred, NULL), -1);

	docker_cred_reset(&cred);
	docker_cred_reset(&cred);
	docker_cred_reset(NULL);
}

struct b64_row {
	const char	*plain;
	const char	*encoded;
};

/* RFC 4648 10. */
static const struct b64_row b64_rows[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
	{ "user:pass", "dXNlcjpwYXNz" },
	{ "\xfb\xff", "+/8=" },
};

static void
test_b64_vectors(void)
{
	char	*s, *dec, unpadded[64];
	size_t	 len;

	for (size_t i = 0; i < sizeof b64_rows / sizeof b64_rows[0]; i++) {
		const struct b64_row *r = &b64_rows[i];

		s = docker_auth_b64encode(r->plain, strlen(r->plain));
		CHECKF(strcmp(s, r->encoded) == 0, "row %zu: encoded \"%s\"",
		    i, s);
		free(s);

		CHECKF(docker_auth_b64decode(r->encoded, &dec, &len) == 0,
		    "row %zu", i);
		CHECKF(dec != NULL && len == strlen(r->plain) &&
		    memcmp(dec, r->plain, len) == 0 && dec[len] == '\0',
		    "row %zu: decoded", i);
		free(dec);

		/* The same without padding. */
		snprintf(unpadded, sizeof unpadded, "%s", r->encoded);
		unpadded[strcspn(unpadded, "=")] = '\0';
		CHECKF(docker_auth_b64decode(unpadded, &dec, NULL) == 0 &&
		    strcmp(dec, r->plain) == 0, "row %zu: unpadded", i);
		free(dec);
	}
}

static const char *const b64_bad[] = {
	"Z", "Zm9vY", "Zg=", "Zg===", "Zm9v!", "Zm 9v", "Zg==Zg==", "=",
	"==", "Zm9vYmFy=", "-_-_", "Zm9v\n", "Zm9vYg==\n", "\xc3\xa9QQ=",
	"Z===",
};

static void
test_b64_bad(void)
{
	char	*dec;
	size_t	 len;

	for (size_t i = 0; i < sizeof b64_bad / sizeof b64_bad[0]; i++) {
		dec = (char *)1;
		len = 99;
		CHECKF(docker_auth_b64decode(b64_bad[i], &dec, &len) == -1,
		    "\"%s\" should be refused", b64_bad[i]);
		CHECKF(dec == NULL && len == 0, "\"%s\": out not reset",
		    b64_bad[i]);
	}
	CHECK_INT_EQ(docker_auth_b64decode(NULL, &dec, &len), -1);
}

static void
test_b64_binary(void)
{
	unsigned char	 all[256];
	char		*enc, *dec;
	size_t		 len;

	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)i;
	for (size_t n = 0; n <= sizeof all; n++) {
		enc = docker_auth_b64encode(all, n);
		CHECKF(strlen(enc) == (n + 2) / 3 * 4, "n %zu", n);
		CHECKF(docker_auth_b64decode(enc, &dec, &len) == 0 &&
		    len == n && memcmp(dec, all, n) == 0, "n %zu", n);
		free(enc);
		free(dec);
	}
}

static const struct check_case cases[] = {
	{ "lookup_config", test_lookup_config },
	{ "lookup_precedence", test_lookup_precedence },
	{ "lookup_shapes", test_lookup_shapes },
	{ "lookup_limits", test_lookup_limits },
	{ "b64_vectors", test_b64_vectors },
	{ "b64_bad", test_b64_bad },
	{ "b64_binary", test_b64_binary },
};

int
main(void)
{
	return CHECK_RUN("docker_auth", cases);
}
