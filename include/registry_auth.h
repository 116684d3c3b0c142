/*
 * The registry client's credentials and bearer tokens: the Docker
 * config.json it reads credentials from, the Authorization headers it
 * builds, and the cache of bearer tokens by (host, scope).  Every secret
 * it frees is wiped first.  No I/O but reading the config file.
 */
#ifndef REGISTRY_AUTH_H
#define REGISTRY_AUTH_H

#include <stddef.h>
#include <sys/queue.h>
#include <time.h>

struct reg_token;

/* Zero-initialise, then reg_auth_init; reg_auth_reset frees it all. */
struct reg_auth {
	char *docker_config; /* the config.json's text (secret), or NULL */
	size_t docker_config_len;
	TAILQ_HEAD(, reg_token) tokens;
	size_t n_tokens;
};

/* At most this many tokens are kept; the oldest goes first. */
#define REG_AUTH_MAX_TOKENS 256

/* An empty token cache and no config (a zeroed a). */
void reg_auth_init(struct reg_auth *a);
/* Wipe and free the config text and every token. */
void reg_auth_reset(struct reg_auth *a);

/*
 * Read the Docker config.json at path (at most DOCKER_AUTH_MAX_CONFIG
 * bytes) into a, replacing nothing: call reg_auth_forget_config first.
 * Returns 0, or -1 with an allocated *cause naming the file.
 */
int reg_auth_read_config(struct reg_auth *a, const char *path, char **cause);
/* Wipe and free the config text. */
void reg_auth_forget_config(struct reg_auth *a);

/*
 * Credentials for host as "user:password": configured (guard.conf's
 * registry_auth value for host, or NULL) wins, else the config.json's.
 * Returns an allocated string the caller wipes and frees, or NULL.
 */
char *reg_auth_credentials(const struct reg_auth *a, const char *configured,
    const char *host);

/* "Authorization: Basic <base64 of userpass>".  Caller frees. */
char *reg_auth_basic_header(const char *userpass);
/* "Authorization: Bearer <token>".  Caller frees. */
char *reg_auth_bearer_header(const char *token);
/* Wipe and free an Authorization header; NULL is ignored. */
void reg_auth_header_free(char *header);

/* "repository:<repo>:pull", the scope a pull check asks for.  Caller
 * frees. */
char *reg_auth_scope(const char *repo);

/*
 * The cached bearer header for (host, scope): an allocated
 * "Authorization: Bearer ..." (caller frees with reg_auth_header_free), or
 * NULL when none is cached.  Drops expired tokens on the way.
 */
char *
reg_auth_cached_header(struct reg_auth *a, const char *host, const char *scope);
/* Keep a copy of token for (host, scope) for expires_in seconds (a few
 * less, so it never expires in flight). */
void reg_auth_token_store(struct reg_auth *a, const char *host,
    const char *scope, const char *token, long expires_in);

#endif
