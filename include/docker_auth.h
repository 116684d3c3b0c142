/*
 * Registry credentials from a Docker CLI config.json text (the "auths"
 * map that `docker login` writes), looked up the way docker/cli's file
 * store does it.  Pure: the caller reads the file.
 *
 *   {"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
 *              "127.0.0.1:5000": {"username": "u", "password": "p"},
 *              "registry.example.com": {"identitytoken": "..."}}}
 *
 * credsStore and credHelpers are ignored: helpers are external programs
 * (docker-credential-*) and the guard does not run them.  An entry left
 * empty by a helper setup ({}) counts as not found.
 */
#ifndef DOCKER_AUTH_H
#define DOCKER_AUTH_H

#include <stddef.h>

/* Longer config texts are refused as malformed. */
#define DOCKER_AUTH_MAX_CONFIG (1024 * 1024)

struct docker_cred {
	char *username;	      /* NULL if none */
	char *password;	      /* NULL if none */
	char *identity_token; /* NULL if none */
};

/*
 * Find the credentials for registry host, given as in an image reference
 * domain ("docker.io", "127.0.0.1:5000", "ghcr.io").  Keys match after
 * dropping an http:// or https:// scheme and any path, case-insensitively;
 * "docker.io", "index.docker.io" and "registry-1.docker.io" all mean
 * Docker Hub.  A key equal to host wins, then for Docker Hub the key
 * `docker login` writes ("https://index.docker.io/v1/"), then the first
 * matching key in document order.  "auth" (base64 user:pass) overrides
 * "username"/"password" as in docker/cli.  Returns 0 and fills *out
 * (caller calls docker_cred_reset), 1 if there are none, or -1 with
 * *cause (static, if cause is not NULL) if the text is not a JSON object,
 * is longer than DOCKER_AUTH_MAX_CONFIG, or the matching entry is broken.
 * *out is zeroed unless 0 is returned.
 */
int docker_auth_lookup(const char *json, size_t len, const char *host,
    struct docker_cred *out, const char **cause);
/* Wipe (explicit_bzero) and free the strings in *cred, zero it; safe to
 * call twice. */
void docker_cred_reset(struct docker_cred *cred);
/*
 * Decode standard base64 (RFC 4648 4), padded or not.  Returns 0 and sets
 * *out to the bytes plus a NUL terminator (caller wipes and frees) and
 * *out_len (may be NULL) to their count, or -1 with *out NULL.
 */
int docker_auth_b64decode(const char *in, char **out, size_t *out_len);
/* Standard base64 with padding, for "Authorization: Basic".  Caller frees. */
char *docker_auth_b64encode(const void *in, size_t len);

#endif
