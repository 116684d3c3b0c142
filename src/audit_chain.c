#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "manifest.h"
#include "xmalloc.h"

static json_t *
str_or_null(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	/* Not UTF-8 (it never should be): hash its bytes as hex instead. */
	if (s != NULL && j == NULL) {
		static const char hex[] = "0123456789abcdef";
		size_t n = strlen(s);
		char *h = xmalloc(n * 2 + 2);

		h[0] = 'x';
		for (size_t i = 0; i < n; i++) {
			h[1 + i * 2] = hex[(unsigned char)s[i] >> 4];
			h[2 + i * 2] = hex[(unsigned char)s[i] & 15];
		}
		h[1 + n * 2] = '\0';
		j = json_string(h);
		free(h);
	}
	return j != NULL ? j : json_null();
}

char *
audit_chain_hash(const struct audit_chain_row *r, const char *prev_hash)
{
	json_t *a = json_array();
	char *text, *hash;

	json_array_append_new(a, json_integer(r->id));
	json_array_append_new(a, json_integer(r->time_ms));
	json_array_append_new(a, json_integer(r->uid));
	json_array_append_new(a, json_integer(r->gid));
	json_array_append_new(a, json_integer(r->pid));
	json_array_append_new(a, str_or_null(r->comm));
	json_array_append_new(a, str_or_null(r->method));
	json_array_append_new(a, str_or_null(r->route));
	json_array_append_new(a, str_or_null(r->app));
	json_array_append_new(a, str_or_null(r->image_ref));
	json_array_append_new(a, str_or_null(r->digest));
	json_array_append_new(a, str_or_null(r->version));
	json_array_append_new(a, str_or_null(r->previous_version));
	json_array_append_new(a, str_or_null(r->rule));
	json_array_append_new(a, str_or_null(r->verdict));
	json_array_append_new(a, str_or_null(r->message));
	json_array_append_new(a, json_integer(r->latency_us));
	json_array_append_new(a,
	    json_string(prev_hash != NULL ? prev_hash : ""));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		text = xstrdup("");
	hash = manifest_sha256_digest(text, strlen(text));
	free(text);
	return hash;
}
