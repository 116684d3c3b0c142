/*
 * libFuzzer target for www_auth: any bytes as a WWW-Authenticate value
 * and as a token-server answer.  A parse either fails leaving nothing, or
 * gives lower-cased schemes and parameter names, no repeated names, and
 * a result that, written back out in canonical form, parses to the same
 * thing.  Token URLs and tokens stay visible ASCII (they go on the wire).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "www_auth.h"

#define FUZZ_MAX_INPUT	4096

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
visible_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	}
	return true;
}

static bool
lower_nonempty(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			return false;
	}
	return true;
}

/* scheme [SP token68 | SP name="value" *(", " name="value")], ", "... */
static char *
write_back(const struct www_auth *wa)
{
	size_t	 size = 16;
	char	*buf, *o;

	for (size_t i = 0; i < wa->n; i++) {
		size += strlen(wa->items[i].scheme) + 4;
		if (wa->items[i].token68 != NULL)
			size += strlen(wa->items[i].token68);
		for (size_t j = 0; j < wa->items[i].n_params; j++)
			size += strlen(wa->items[i].params[j].name) +
			    2 * strlen(wa->items[i].params[j].value) + 6;
	}
	buf = o = malloc(size);
	FUZZ_ASSERT(buf != NULL);
	for (size_t i = 0; i < wa->n; i++) {
		const struct www_auth_challenge *ch = &wa->items[i];

		if (i > 0)
			o = stpcpy(o, ", ");
		o = stpcpy(o, ch->scheme);
		if (ch->token68 != NULL) {
			*o++ = ' ';
			o = stpcpy(o, ch->token68);
			continue;
		}
		for (size_t j = 0; j < ch->n_params; j++) {
			o = stpcpy(o, j == 0 ? " " : ", ");
			o = stpcpy(o, ch->params[j].name);
			*o++ = '=';
			*o++ = '"';
			for (const char *v = ch->params[j].value; *v != '\0';
			    v++) {
				if (*v == '"' || *v == '\\')
					*o++ = '\\';
				*o++ = *v;
			}
			*o++ = '"';
		}
	}
	*o = '\0';
	return buf;
}

static void
same(const struct www_auth *a, const struct www_auth *b)
{
	FUZZ_ASSERT(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct www_auth_challenge *x = &a->items[i];
		const struct www_auth_challenge *y = &b->items[i];

		FUZZ_ASSERT(strcmp(x->scheme, y->scheme) == 0);
		FUZZ_ASSERT((x->token68 == NULL) == (y->token68 == NULL));
		FUZZ_ASSERT(x->token68 == NULL ||
		    strcmp(x->token68, y->token68) == 0);
		FUZZ_ASSERT(x->n_params == y->n_params);
		for (size_t j = 0; j < x->n_params; j++) {
			FUZZ_ASSERT(strcmp(x->params[j].name,
			    y->params[j].name) == 0);
			FUZZ_ASSERT(strcmp(x->params[j].value,
			    y->params[j].value) == 0);
		}
	}
}

static void
check_parsed(const struct www_auth *wa)
{
	const struct www_auth_challenge	*ch, *found;
	struct www_auth			 again;
	char				*text, *url;
	const char			*realm;

	FUZZ_ASSERT(wa->n >= 1 && wa->items != NULL);
	for (size_t i = 0; i < wa->n; i++) {
		ch = &wa->items[i];
		FUZZ_ASSERT(lower_nonempty(ch->scheme));
		FUZZ_ASSERT(ch->token68 == NULL || ch->n_params == 0);
		found = www_auth_find(wa, ch->scheme);
		FUZZ_ASSERT(found != NULL && found <= ch &&
		    strcmp(found->scheme, ch->scheme) == 0);
		for (size_t j = 0; j < ch->n_params; j++) {
			FUZZ_ASSERT(lower_nonempty(ch->params[j].name));
			/* Names are unique, so the lookup finds this one. */
			FUZZ_ASSERT(www_auth_param(ch, ch->params[j].name) ==
			    ch->params[j].value);
		}

		realm = www_auth_param(ch, "realm");
		url = www_auth_token_url(ch, "repository:library/x:pull");
		FUZZ_ASSERT(url == NULL || (realm != NULL &&
		    strncmp(url, realm, strlen(realm)) == 0 &&
		    visible_ascii(url)));
		free(url);
		url = www_auth_token_url(ch, NULL);
		FUZZ_ASSERT(url == NULL || visible_ascii(url));
		free(url);
	}

	text = write_back(wa);
	FUZZ_ASSERT(www_auth_parse(text, &again) == 0);
	same(wa, &again);
	www_auth_reset(&again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct www_auth	 wa;
	char		*s, *tok;
	long		 exp;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (www_auth_parse(s, &wa) == 0)
		check_parsed(&wa);
	else
		FUZZ_ASSERT(wa.n == 0 && wa.items == NULL);
	www_auth_reset(&wa);

	exp = -1;
	tok = www_auth_token_from_json((const char *)data, size, &exp);
	FUZZ_ASSERT(exp >= 1 && exp <= WWW_AUTH_MAX_EXPIRES);
	FUZZ_ASSERT(tok == NULL || (*tok != '\0' && visible_ascii(tok)));
	free(tok);

	free(s);
	return 0;
}
