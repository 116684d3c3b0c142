/*
 * Credentials from a Docker CLI config.json, following docker/cli
 * cli/config/credentials/file_store.go: look the server up by exact key,
 * else compare the keys' hostnames (ConvertToHostname: drop the scheme,
 * cut at the first "/").  configfile/file.go decodeAuth: "auth" is
 * base64("user:password") and replaces username/password.
 *
 * Not read: credsStore and credHelpers (external docker-credential-*
 * programs the guard does not run) and "registrytoken".
 */

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "docker_auth.h"
#include "xmalloc.h"

#define DOCKER_AUTH_HUB "docker.io"
/* The key `docker login` writes for Docker Hub. */
#define DOCKER_AUTH_HUB_KEY "https://index.docker.io/v1/"

static const char docker_auth_err_json[] = "config is not a JSON object";
static const char docker_auth_err_long[] = "config is too long";
static const char docker_auth_err_auths[] = "\"auths\" is not an object";
static const char docker_auth_err_entry[] =
    "credentials entry is not an object";
static const char docker_auth_err_field[] = "credentials field is not a string";
static const char docker_auth_err_b64[] = "\"auth\" is not valid base64";
static const char docker_auth_err_pair[] = "\"auth\" is not username:password";

static const char *const docker_auth_hub_names[] = {
	"docker.io",
	"index.docker.io",
	"registry-1.docker.io",
};

static const char docker_auth_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* How well a key matches the wanted host; higher is better. */
enum docker_auth_rank {
	DOCKER_AUTH_NONE,
	DOCKER_AUTH_HOSTNAME,  /* same hostname after normalising */
	DOCKER_AUTH_HUB_LOGIN, /* Docker Hub's `docker login` key */
	DOCKER_AUTH_EXACT,     /* key == host */
};

static int
docker_auth_fail(const char **cause, const char *msg)
{
	if (cause != NULL)
		*cause = msg;
	return -1;
}

static void
docker_auth_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/*
 * The hostname a key or host stands for: scheme and path dropped,
 * lower-cased, Docker Hub's aliases folded to "docker.io".  Caller frees.
 */
static char *
docker_auth_hostname(const char *s)
{
	char *h;

	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	h = xstrndup(s, strcspn(s, "/"));
	for (char *c = h; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0;
	     i < sizeof docker_auth_hub_names / sizeof docker_auth_hub_names[0];
	     i++) {
		if (strcmp(h, docker_auth_hub_names[i]) == 0) {
			free(h);
			return xstrdup(DOCKER_AUTH_HUB);
		}
	}
	return h;
}

/* A string field: 0 with *out NULL if absent, null or "", -1 if another
 * type. */
static int
docker_auth_field(json_t *entry, const char *name, const char **out)
{
	json_t *v = json_object_get(entry, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return 0;
}

/* Fill *out from one "auths" entry: 0, 1 if it holds nothing, or -1. */
static int
docker_auth_entry(json_t *entry, struct docker_cred *out, const char **cause)
{
	const char *auth, *user, *pass, *token;
	char *dec, *colon;
	size_t declen;

	if (!json_is_object(entry))
		return docker_auth_fail(cause, docker_auth_err_entry);
	if (docker_auth_field(entry, "auth", &auth) != 0 ||
	    docker_auth_field(entry, "username", &user) != 0 ||
	    docker_auth_field(entry, "password", &pass) != 0 ||
	    docker_auth_field(entry, "identitytoken", &token) != 0)
		return docker_auth_fail(cause, docker_auth_err_field);

	if (auth != NULL) {
		if (docker_auth_b64decode(auth, &dec, &declen) != 0)
			return docker_auth_fail(cause, docker_auth_err_b64);
		if (strlen(dec) != declen ||
		    (colon = strchr(dec, ':')) == NULL) {
			explicit_bzero(dec, declen);
			free(dec);
			return docker_auth_fail(cause, docker_auth_err_pair);
		}
		*colon = '\0';
		if (*dec != '\0')
			out->username = xstrdup(dec);
		if (colon[1] != '\0')
			out->password = xstrdup(colon + 1);
		explicit_bzero(dec, declen);
		free(dec);
	} else {
		if (user != NULL)
			out->username = xstrdup(user);
		if (pass != NULL)
			out->password = xstrdup(pass);
	}
	if (token != NULL)
		out->identity_token = xstrdup(token);

	if (out->username == NULL && out->password == NULL &&
	    out->identity_token == NULL)
		return 1;
	return 0;
}

/*
 * jansson's copies of the secrets (lexer buffer, string values) are freed
 * unwiped: it has no per-call allocator, and a process-wide one would be
 * a global.  The caller wipes json.
 */
int
docker_auth_lookup(const char *json, size_t len, const char *host,
    struct docker_cred *out, const char **cause)
{
	json_t *root, *auths, *entry, *best = NULL;
	const char *key;
	char *want, *have;
	enum docker_auth_rank rank, best_rank = DOCKER_AUTH_NONE;
	bool hub;
	int rc;

	memset(out, 0, sizeof *out);
	if (json == NULL || host == NULL)
		return docker_auth_fail(cause, docker_auth_err_json);
	if (len > DOCKER_AUTH_MAX_CONFIG)
		return docker_auth_fail(cause, docker_auth_err_long);
	root = json_loadb(json, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return docker_auth_fail(cause, docker_auth_err_json);
	}
	auths = json_object_get(root, "auths");
	if (auths == NULL || json_is_null(auths)) {
		json_decref(root);
		return 1;
	}
	if (!json_is_object(auths)) {
		json_decref(root);
		return docker_auth_fail(cause, docker_auth_err_auths);
	}

	want = docker_auth_hostname(host);
	hub = strcmp(want, DOCKER_AUTH_HUB) == 0;
	json_object_foreach(auths, key, entry)
	{
		if (strcmp(key, host) == 0)
			rank = DOCKER_AUTH_EXACT;
		else if (hub && strcmp(key, DOCKER_AUTH_HUB_KEY) == 0)
			rank = DOCKER_AUTH_HUB_LOGIN;
		else {
			have = docker_auth_hostname(key);
			rank = strcmp(have, want) == 0 ? DOCKER_AUTH_HOSTNAME
						       : DOCKER_AUTH_NONE;
			free(have);
		}
		if (rank > best_rank) {
			best_rank = rank;
			best = entry;
		}
	}
	free(want);

	rc = 1;
	if (best != NULL) {
		rc = docker_auth_entry(best, out, cause);
		if (rc != 0)
			docker_cred_reset(out);
	}
	json_decref(root);
	return rc;
}

void
docker_cred_reset(struct docker_cred *cred)
{
	if (cred == NULL)
		return;
	docker_auth_free_secret(cred->username);
	docker_auth_free_secret(cred->password);
	docker_auth_free_secret(cred->identity_token);
	memset(cred, 0, sizeof *cred);
}

static int
docker_auth_b64value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(docker_auth_b64, c)) == NULL)
		return -1;
	return (int)(p - docker_auth_b64);
}

int
docker_auth_b64decode(const char *in, char **out, size_t *out_len)
{
	size_t len, n, o = 0;
	uint32_t acc = 0;
	int v, bits = 0;
	unsigned char *buf;

	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (in == NULL)
		return -1;
	len = n = strlen(in);
	/* Padding: at most two "=", and only on a whole last quantum. */
	while (n > 0 && len - n < 2 && in[n - 1] == '=')
		n--;
	if ((n != len && len % 4 != 0) || n % 4 == 1)
		return -1;

	buf = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		if ((v = docker_auth_b64value(in[i])) < 0) {
			explicit_bzero(buf, o);
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	buf[o] = '\0';
	*out = (char *)buf;
	if (out_len != NULL)
		*out_len = o;
	return 0;
}

char *
docker_auth_b64encode(const void *in, size_t len)
{
	const unsigned char *p = in;
	char *out, *o;
	uint32_t v;
	size_t i;

	out = o = xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = docker_auth_b64[v >> 18];
		*o++ = docker_auth_b64[(v >> 12) & 0x3f];
		*o++ = docker_auth_b64[(v >> 6) & 0x3f];
		*o++ = docker_auth_b64[v & 0x3f];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = docker_auth_b64[v >> 18];
		*o++ = docker_auth_b64[(v >> 12) & 0x3f];
		*o++ = i + 1 < len ? docker_auth_b64[(v >> 6) & 0x3f] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
