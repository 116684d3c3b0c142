/*
 * WWW-Authenticate parsing.  The grammar (RFC 9110 11.6.1, 5.6):
 *
 *   WWW-Authenticate = 1#challenge
 *   challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param       = token BWS "=" BWS ( token / quoted-string )
 *   token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+"
 *                        / "/" ) *"="
 *   quoted-string    = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 *
 * Challenges and their parameters share one comma-separated list; an
 * element that is a token not followed by "=" starts a new challenge.
 * Recipients must accept empty list elements (5.6.1).
 */

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "www_auth.h"
#include "xmalloc.h"

/* tchar (RFC 9110 5.6.2). */
static bool
www_auth_is_tchar(unsigned char c)
{
	if (isascii(c) && isalnum(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The characters of token68 before its "=" padding. */
static bool
www_auth_is_t68char(unsigned char c)
{
	if (isascii(c) && isalnum(c))
		return true;
	return c != '\0' && strchr("-._~+/", c) != NULL;
}

static bool
www_auth_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static const char *
www_auth_skip_ws(const char *p)
{
	while (www_auth_is_ws((unsigned char)*p))
		p++;
	return p;
}

static const char *
www_auth_skip_token(const char *p)
{
	while (www_auth_is_tchar((unsigned char)*p))
		p++;
	return p;
}

static char *
www_auth_lower(const char *s, size_t len)
{
	char *out = xstrndup(s, len);

	for (char *c = out; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return out;
}

/* qdtext and the second byte of quoted-pair: HTAB, SP, VCHAR, obs-text. */
static bool
www_auth_is_qchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * A quoted-string starting at the DQUOTE *pp points to.  Returns the
 * unescaped value (caller frees) and moves *pp past the closing DQUOTE,
 * or NULL if it is unterminated or holds a control character.
 */
static char *
www_auth_quoted(const char **pp)
{
	const char *p = *pp + 1, *end;
	char *out, *o;

	/* Find the end first, so the copy is sized to the value. */
	for (end = p; *end != '"'; end++) {
		if (*end == '\\')
			end++;
		if (!www_auth_is_qchar((unsigned char)*end))
			return NULL;
	}

	out = o = xmalloc((size_t)(end - p) + 1);
	for (; p < end; p++) {
		if (*p == '\\')
			p++;
		*o++ = *p;
	}
	*o = '\0';
	*pp = end + 1;
	return out;
}

static void
www_auth_challenge_reset(struct www_auth_challenge *ch)
{
	for (size_t i = 0; i < ch->n_params; i++) {
		free(ch->params[i].name);
		free(ch->params[i].value);
	}
	free(ch->params);
	free(ch->scheme);
	free(ch->token68);
	memset(ch, 0, sizeof *ch);
}

/*
 * One auth-param at *pp.  On success add it to ch, move *pp past it and
 * return 0.  Return -1 without moving *pp if there is no auth-param here,
 * -2 if there is one but its name repeats.
 */
static int
www_auth_param_at(const char **pp, struct www_auth_challenge *ch)
{
	const char *p = *pp, *name = p, *name_end, *v;
	char *lname, *value;

	name_end = p = www_auth_skip_token(p);
	if (name_end == name)
		return -1;
	p = www_auth_skip_ws(p);
	if (*p != '=')
		return -1;
	p = www_auth_skip_ws(p + 1);
	if (*p == '"') {
		if ((value = www_auth_quoted(&p)) == NULL)
			return -1;
	} else {
		v = p;
		p = www_auth_skip_token(p);
		if (p == v)
			return -1;
		value = xstrndup(v, (size_t)(p - v));
	}

	/* "Each parameter name MUST only occur once per challenge." */
	lname = www_auth_lower(name, (size_t)(name_end - name));
	for (size_t i = 0; i < ch->n_params; i++) {
		if (strcmp(ch->params[i].name, lname) == 0) {
			free(lname);
			free(value);
			return -2;
		}
	}
	ch->params = xreallocarray(ch->params, ch->n_params + 1,
	    sizeof *ch->params);
	ch->params[ch->n_params].name = lname;
	ch->params[ch->n_params].value = value;
	ch->n_params++;
	*pp = p;
	return 0;
}

/* A token68 at *pp that ends the list element; -1 if there is none. */
static int
www_auth_token68_at(const char **pp, struct www_auth_challenge *ch)
{
	const char *p = *pp, *start = p, *end;

	while (www_auth_is_t68char((unsigned char)*p))
		p++;
	if (p == start)
		return -1;
	while (*p == '=')
		p++;
	end = p;
	p = www_auth_skip_ws(p);
	if (*p != '\0' && *p != ',')
		return -1;
	ch->token68 = xstrndup(start, (size_t)(end - start));
	*pp = p;
	return 0;
}

/*
 * The rest of a challenge after its scheme: the auth-params, or a token68.
 * Leaves *pp at the end of the value or at the list element that starts
 * the next challenge.  0 or -1 if malformed.
 */
static int
www_auth_challenge_body(const char **pp, struct www_auth_challenge *ch)
{
	const char *p = *pp, *q;
	int r;

	if (*p == '\0' || *p == ',')
		return 0; /* a scheme alone */
	if (!www_auth_is_ws((unsigned char)*p))
		return -1;
	p = www_auth_skip_ws(p);
	if (*p == '\0' || *p == ',') {
		*pp = p;
		return 0;
	}

	if ((r = www_auth_param_at(&p, ch)) == -2)
		return -1;
	if (r == -1) {
		if (www_auth_token68_at(&p, ch) != 0)
			return -1;
		*pp = p;
		return 0;
	}

	for (;;) {
		p = www_auth_skip_ws(p);
		if (*p == '\0')
			break;
		if (*p != ',')
			return -1;
		while (*p == ',' || www_auth_is_ws((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		/* A token followed by "=" is another parameter. */
		q = www_auth_skip_token(p);
		if (q == p)
			return -1;
		q = www_auth_skip_ws(q);
		if (*q != '=')
			break;
		if (www_auth_param_at(&p, ch) != 0)
			return -1;
	}
	*pp = p;
	return 0;
}

int
www_auth_parse(const char *header, struct www_auth *out)
{
	struct www_auth_challenge *ch;
	const char *p, *scheme;

	memset(out, 0, sizeof *out);
	if (header == NULL ||
	    strnlen(header, WWW_AUTH_MAX_HEADER + 1) > WWW_AUTH_MAX_HEADER)
		return -1;

	p = header;
	for (;;) {
		while (*p == ',' || www_auth_is_ws((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		scheme = p;
		p = www_auth_skip_token(p);
		if (p == scheme)
			goto fail;

		out->items = xreallocarray(out->items, out->n + 1,
		    sizeof *out->items);
		ch = &out->items[out->n++];
		memset(ch, 0, sizeof *ch);
		ch->scheme = www_auth_lower(scheme, (size_t)(p - scheme));
		if (www_auth_challenge_body(&p, ch) != 0)
			goto fail;
	}
	if (out->n == 0)
		goto fail;
	return 0;

fail:
	www_auth_reset(out);
	return -1;
}

void
www_auth_reset(struct www_auth *wa)
{
	if (wa == NULL)
		return;
	for (size_t i = 0; i < wa->n; i++)
		www_auth_challenge_reset(&wa->items[i]);
	free(wa->items);
	memset(wa, 0, sizeof *wa);
}

const struct www_auth_challenge *
www_auth_find(const struct www_auth *wa, const char *scheme)
{
	if (wa == NULL || scheme == NULL)
		return NULL;
	for (size_t i = 0; i < wa->n; i++) {
		if (strcasecmp(wa->items[i].scheme, scheme) == 0)
			return &wa->items[i];
	}
	return NULL;
}

const char *
www_auth_param(const struct www_auth_challenge *ch, const char *name)
{
	if (ch == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < ch->n_params; i++) {
		if (strcasecmp(ch->params[i].name, name) == 0)
			return ch->params[i].value;
	}
	return NULL;
}

/* Append "name=" and value percent-encoded (all but RFC 3986 unreserved). */
static char *
www_auth_append_query(char *o, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	o = stpcpy(o, name);
	*o++ = '=';
	for (; *value != '\0'; value++) {
		c = (unsigned char)*value;
		if ((isascii(c) && isalnum(c)) || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*o++ = (char)c;
		else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xf];
		}
	}
	*o = '\0';
	return o;
}

/* An http:// or https:// URL of printable ASCII, without a fragment. */
static bool
www_auth_realm_ok(const char *realm)
{
	const char *rest;

	if (strncasecmp(realm, "https://", 8) == 0)
		rest = realm + 8;
	else if (strncasecmp(realm, "http://", 7) == 0)
		rest = realm + 7;
	else
		return false;
	if (*rest == '\0' || *rest == '/')
		return false;
	for (const char *c = realm; *c != '\0'; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f ||
		    *c == '#')
			return false;
	}
	return true;
}

char *
www_auth_token_url(const struct www_auth_challenge *ch, const char *scope)
{
	const char *realm, *service;
	char *url, *o, sep;
	size_t size;

	if (ch == NULL || (realm = www_auth_param(ch, "realm")) == NULL ||
	    !www_auth_realm_ok(realm))
		return NULL;
	service = www_auth_param(ch, "service");
	if (scope == NULL)
		scope = www_auth_param(ch, "scope");

	size = strlen(realm) + 1;
	if (service != NULL)
		size += sizeof "&service=" + 3 * strlen(service);
	if (scope != NULL)
		size += sizeof "&scope=" + 3 * strlen(scope);
	url = xmalloc(size);

	o = stpcpy(url, realm);
	sep = strchr(realm, '?') != NULL ? '&' : '?';
	if (service != NULL) {
		*o++ = sep;
		o = www_auth_append_query(o, "service", service);
		sep = '&';
	}
	if (scope != NULL) {
		*o++ = sep;
		www_auth_append_query(o, "scope", scope);
	}
	return url;
}

/* A token fit for "Authorization: Bearer <token>": visible ASCII only, so
 * no CR or LF can reach the request head. */
static bool
www_auth_token_ok(const char *s)
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
 * jansson's own copies of the token (its lexer buffer and string value)
 * are freed unwiped: it has no per-call allocator, and a process-wide one
 * would be a global.  The caller wipes body and the returned copy.
 */
char *
www_auth_token_from_json(const char *body, size_t len, long *expires_in)
{
	json_t *root, *v;
	const char *token = NULL;
	char *out = NULL;
	double d;
	long exp = WWW_AUTH_DEFAULT_EXPIRES;

	if (expires_in != NULL)
		*expires_in = WWW_AUTH_DEFAULT_EXPIRES;
	if (body == NULL)
		return NULL;
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL)
		return NULL;
	if (!json_is_object(root))
		goto out;

	v = json_object_get(root, "token");
	if (json_is_string(v) && json_string_length(v) > 0)
		token = json_string_value(v);
	else {
		v = json_object_get(root, "access_token");
		if (json_is_string(v) && json_string_length(v) > 0)
			token = json_string_value(v);
	}
	if (token == NULL || strlen(token) != json_string_length(v) ||
	    !www_auth_token_ok(token))
		goto out;
	out = xstrdup(token);

	v = json_object_get(root, "expires_in");
	if (json_is_integer(v)) {
		if (json_integer_value(v) > WWW_AUTH_MAX_EXPIRES)
			exp = WWW_AUTH_MAX_EXPIRES;
		else if (json_integer_value(v) >= 1)
			exp = (long)json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (d > WWW_AUTH_MAX_EXPIRES)
			exp = WWW_AUTH_MAX_EXPIRES;
		else if (d >= 1)
			exp = (long)d;
	}
	if (expires_in != NULL)
		*expires_in = exp;
out:
	json_decref(root);
	return out;
}
