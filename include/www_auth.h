/*
 * WWW-Authenticate challenges (RFC 9110 11.6.1, RFC 6750 3) and the
 * token-server side of the registry token dance (distribution
 * docs/content/spec/auth/token.md).  Pure: no I/O.
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io"
 *   Basic realm="Registry Realm"
 *   Basic realm=x, Bearer realm="https://ghcr.io/token",service="ghcr.io"
 */
#ifndef WWW_AUTH_H
#define WWW_AUTH_H

#include <stddef.h>

/* Longer header values are refused as malformed. */
#define WWW_AUTH_MAX_HEADER 16384
/* expires_in: the token spec's default when absent or < 1; capped at a
 * day so the caller's time arithmetic cannot overflow. */
#define WWW_AUTH_DEFAULT_EXPIRES 60
#define WWW_AUTH_MAX_EXPIRES 86400

struct www_auth_param {
	char *name;  /* lower-cased */
	char *value; /* quoted-string unescaped */
};

struct www_auth_challenge {
	char *scheme; /* lower-cased */
	struct www_auth_param *params;
	size_t n_params;
	char *token68; /* "Negotiate abc==": the
						   token68 form instead of
						   params; else NULL */
};

struct www_auth {
	struct www_auth_challenge *items;
	size_t n;
};

/*
 * Parse a WWW-Authenticate field value: one or more challenges, each a
 * scheme and then either a token68 or a comma-separated list of
 * name=token or name="quoted" parameters.  A new challenge starts at a
 * list element that is a token not followed by "=".  Empty list elements
 * are skipped.  Returns 0 and fills *out (caller calls www_auth_reset),
 * or -1 with *out zeroed if the value is malformed, empty, longer than
 * WWW_AUTH_MAX_HEADER or repeats a parameter name within a challenge.
 */
int www_auth_parse(const char *header, struct www_auth *out);
/* Free what www_auth_parse filled and zero *wa; safe to call twice. */
void www_auth_reset(struct www_auth *wa);
/* The first challenge with this scheme (case-insensitive), or NULL. */
const struct www_auth_challenge *
www_auth_find(const struct www_auth *wa, const char *scheme);
/* The value of parameter name (case-insensitive) or NULL; borrowed. */
const char *
www_auth_param(const struct www_auth_challenge *ch, const char *name);
/*
 * The token endpoint URL for a Bearer challenge:
 * realm "?" service=S "&" scope=SC, each value percent-encoded ("&" when
 * the realm has a query already).  The caller's scope wins over the
 * challenge's; the challenge's is used only if scope is NULL.  Absent
 * service or scope are left out.  NULL if there is no realm or it is not
 * an http:// or https:// URL of printable ASCII.  Caller frees.
 */
char *
www_auth_token_url(const struct www_auth_challenge *ch, const char *scope);
/*
 * The token in a token-server JSON answer: "token", or else
 * "access_token" (non-empty strings).  *expires_in (if not NULL) gets
 * "expires_in" in seconds, WWW_AUTH_DEFAULT_EXPIRES when absent, not a
 * number or < 1, at most WWW_AUTH_MAX_EXPIRES.  NULL if neither token is
 * there, the chosen one holds anything but visible ASCII (it goes into a
 * request header), or the body is not a JSON object.  Caller wipes and
 * frees.
 */
char *www_auth_token_from_json(const char *body, size_t len, long *expires_in);

#endif
