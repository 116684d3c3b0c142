#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "route.h"
#include "xmalloc.h"

void
form_reset(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->pairs[i].key);
		free(f->pairs[i].value);
	}
	free(f->pairs);
	memset(f, 0, sizeof *f);
}

/* One "key=value" segment (no '&'). */
static void
parse_pair(struct form *f, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - p) : len;
	char *key, *value;

	if (len == 0)
		return;
	if (memchr(p, ';', len) != NULL) {
		f->errors++;
		return;
	}
	key = route_query_unescape(p, klen);
	value = eq != NULL ? route_query_unescape(eq + 1, len - klen - 1)
			   : xstrdup("");
	if (key == NULL || value == NULL) {
		free(key);
		free(value);
		f->errors++;
		return;
	}
	if (f->n >= FORM_MAX_PAIRS) {
		free(key);
		free(value);
		f->errors++;
		return;
	}
	f->pairs = xreallocarray(f->pairs, f->n + 1, sizeof *f->pairs);
	f->pairs[f->n].key = key;
	f->pairs[f->n].value = value;
	f->n++;
}

void
form_parse(struct form *f, const char *s, size_t len)
{
	while (len > 0) {
		const char *amp = memchr(s, '&', len);
		size_t n = amp != NULL ? (size_t)(amp - s) : len;

		parse_pair(f, s, n);
		if (amp == NULL)
			break;
		s += n + 1;
		len -= n + 1;
	}
}

const char *
form_get(const struct form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].key, key) == 0)
			return f->pairs[i].value;
	return NULL;
}

size_t
form_count(const struct form *f, const char *key)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->pairs[i].key, key) == 0)
			n++;
	return n;
}

/* ---- Content-Type, as Go's mime.ParseMediaType reads it -------------- */

static bool
is_tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL && c != '\0';
}

static bool
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

/* unicode.IsSpace, for ASCII (non-ASCII makes the type unsure). */
static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

static const char *
skip_space(const char *s)
{
	while (is_space((unsigned char)*s))
		s++;
	return s;
}

static size_t
token_len(const char *s)
{
	size_t n = 0;

	while (is_token_char((unsigned char)s[n]))
		n++;
	return n;
}

/* checkMediaTypeDisposition on the lower-cased, trimmed base. */
static bool
media_base_ok(const char *s)
{
	size_t n = token_len(s);

	if (n == 0)
		return false;
	s += n;
	if (*s == '\0')
		return true;
	if (*s != '/')
		return false;
	s++;
	n = token_len(s);
	return n > 0 && s[n] == '\0';
}

/*
 * consumeValue: a token or a quoted string.  Sets *end past it and returns
 * the value's length in raw bytes (quoted values are compared raw, which
 * is stricter than Go's unquoted comparison).  Returns 0 with *end = s
 * when there is none.
 */
static size_t
value_len(const char *s, const char **end)
{
	*end = s;
	if (*s != '"') {
		size_t n = token_len(s);

		*end = s + n;
		return n;
	}
	for (size_t i = 1; s[i] != '\0'; i++) {
		if (s[i] == '"') {
			*end = s + i + 1;
			return i + 1;
		}
		if (s[i] == '\\' && s[i + 1] != '\0' &&
		    is_tspecial((unsigned char)s[i + 1])) {
			i++;
			continue;
		}
		if (s[i] == '\r' || s[i] == '\n')
			return 0;
	}
	return 0;
}

/*
 * The parameters after the base.  Returns FORM_MEDIA_OTHER when Go would
 * drop the media type (a duplicate with another value), FORM_MEDIA_UNSURE
 * for what Go versions read differently, or want when Go keeps the base
 * (also on ErrInvalidMediaParameter, which keeps it).
 */
static enum form_media
media_params(const char *v, enum form_media want)
{
	const char *keys[32];
	size_t klens[32], n = 0;

	for (;;) {
		const char *k, *val, *end;
		size_t klen;

		v = skip_space(v);
		if (*v == '\0')
			return want;
		if (*v != ';')
			return want; /* ErrInvalidMediaParameter */
		k = skip_space(v + 1);
		klen = token_len(k);
		if (klen == 0) {
			/* A trailing ';' is fine; anything else is an invalid
			   parameter, which keeps the base. */
			return want;
		}
		if (memchr(k, '*', klen) != NULL)
			return FORM_MEDIA_UNSURE; /* RFC 2231 */
		val = skip_space(k + klen);
		if (*val != '=')
			return want;
		val = skip_space(val + 1);
		if (value_len(val, &end) == 0)
			return want;
		for (size_t i = 0; i < n; i++)
			if (klens[i] == klen &&
			    strncasecmp(keys[i], k, klen) == 0)
				return FORM_MEDIA_UNSURE;
		if (n == 32)
			return FORM_MEDIA_UNSURE;
		keys[n] = k;
		klens[n++] = klen;
		v = end;
	}
}

enum form_media
form_media_type(const char *ct)
{
	const char *semi;
	char *base, *b, *e;
	enum form_media m;

	if (ct == NULL || *ct == '\0')
		return FORM_MEDIA_OTHER; /* application/octet-stream */
	for (const char *s = ct; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return FORM_MEDIA_UNSURE;
	semi = strchr(ct, ';');
	base = xstrndup(ct, semi != NULL ? (size_t)(semi - ct) : strlen(ct));
	for (b = base; *b != '\0'; b++)
		if (*b >= 'A' && *b <= 'Z')
			*b = (char)(*b - 'A' + 'a');
	b = base;
	while (is_space((unsigned char)*b))
		b++;
	e = b + strlen(b);
	while (e > b && is_space((unsigned char)e[-1]))
		*--e = '\0';
	if (!media_base_ok(b))
		m = FORM_MEDIA_OTHER;
	else if (strcmp(b, "application/x-www-form-urlencoded") == 0)
		m = FORM_MEDIA_URLENCODED;
	else if (strcmp(b, "multipart/form-data") == 0)
		m = FORM_MEDIA_MULTIPART;
	else
		m = FORM_MEDIA_OTHER;
	if (m != FORM_MEDIA_OTHER && semi != NULL)
		m = media_params(semi, m);
	free(base);
	return m;
}
