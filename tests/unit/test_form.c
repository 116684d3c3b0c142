#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "form.h"

/* r.Form after ParseForm: body (if any) then query; what Get returns. */
struct row {
	const char	*body;		/* NULL: no form body */
	const char	*query;
	const char	*key;
	const char	*get;		/* NULL: absent */
	size_t		 count;
	size_t		 errors;
};

static const struct row rows[] = {
	{ NULL, "fromImage=app&tag=1.0", "tag", "1.0", 1, 0 },
	{ NULL, "fromImage=a+b", "fromImage", "a b", 1, 0 },
	{ NULL, "fromImage=a%2Bb", "fromImage", "a+b", 1, 0 },
	{ NULL, "fromImage=a%3ab", "fromImage", "a:b", 1, 0 },
	{ NULL, "%74ag=x", "tag", "x", 1, 0 },
	{ NULL, "tag", "tag", "", 1, 0 },
	{ NULL, "tag=", "tag", "", 1, 0 },
	{ NULL, "tag=a=b", "tag", "a=b", 1, 0 },
	{ NULL, "&&tag=1&&", "tag", "1", 1, 0 },
	{ NULL, "tag=1&tag=2", "tag", "1", 2, 0 },
	{ NULL, "Tag=1", "tag", NULL, 0, 0 },
	/* Go >= 1.17: ';' is no separator; the pair is dropped, an error. */
	{ NULL, "tag=1;x=2", "tag", NULL, 0, 1 },
	{ NULL, "x=1;y&tag=2", "tag", "2", 1, 1 },
	{ NULL, "tag=%zz&tag=2", "tag", "2", 1, 1 },
	{ NULL, "tag=%4", "tag", NULL, 0, 1 },
	{ NULL, "tag=%", "tag", NULL, 0, 1 },
	{ NULL, "%=1&tag=3", "tag", "3", 1, 1 },
	{ NULL, "tag=a%00b", "tag", NULL, 0, 1 },
	{ NULL, "", "tag", NULL, 0, 0 },
	/* The body comes first: Form.Get prefers it over the query. */
	{ "fromImage=app&tag=1.0", "fromImage=app&tag=sha256:x", "tag",
	  "1.0", 2, 0 },
	{ "tag=1.0", "tag=2.0&tag=3.0", "tag", "1.0", 3, 0 },
	{ "x=1", "tag=2.0", "tag", "2.0", 1, 0 },
	{ "tag=a+b%21\n", "", "tag", "a b!\n", 1, 0 },
	{ "tag=1;", "tag=2", "tag", "2", 1, 1 },
	{ "", "tag=2", "tag", "2", 1, 0 },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct form f = { 0 };

		if (r->body != NULL)
			form_parse(&f, r->body, strlen(r->body));
		form_parse(&f, r->query, strlen(r->query));
		CHECKF(r->get == NULL ? form_get(&f, r->key) == NULL :
		    form_get(&f, r->key) != NULL &&
		    strcmp(form_get(&f, r->key), r->get) == 0,
		    "row %zu: get %s", i, r->key);
		CHECKF(form_count(&f, r->key) == r->count, "row %zu: count %zu",
		    i, form_count(&f, r->key));
		CHECKF(f.errors == r->errors, "row %zu: errors %zu", i,
		    f.errors);
		form_reset(&f);
	}
}

static void
test_cap(void)
{
	struct form f = { 0 };
	size_t len = (FORM_MAX_PAIRS + 10) * 4;
	char *s = malloc(len + 1);

	for (size_t i = 0; i < FORM_MAX_PAIRS + 10; i++)
		memcpy(s + i * 4, "a=1&", 4);
	s[len] = '\0';
	form_parse(&f, s, len);
	CHECK_INT_EQ(f.n, FORM_MAX_PAIRS);
	CHECK_INT_EQ(f.errors, 10);
	form_reset(&f);
	free(s);
}

struct media_row {
	const char	*ct;
	enum form_media	 want;
};

static const struct media_row media_rows[] = {
	{ NULL, FORM_MEDIA_OTHER },
	{ "", FORM_MEDIA_OTHER },
	{ "application/json", FORM_MEDIA_OTHER },
	{ "text/plain", FORM_MEDIA_OTHER },
	{ "application/x-tar", FORM_MEDIA_OTHER },
	{ "application/x-www-form-urlencoded", FORM_MEDIA_URLENCODED },
	{ "Application/X-WWW-Form-Urlencoded", FORM_MEDIA_URLENCODED },
	{ "  application/x-www-form-urlencoded  ", FORM_MEDIA_URLENCODED },
	{ "application/x-www-form-urlencoded; charset=utf-8",
	  FORM_MEDIA_URLENCODED },
	{ "application/x-www-form-urlencoded;charset=\"utf-8\"",
	  FORM_MEDIA_URLENCODED },
	{ "application/x-www-form-urlencoded;", FORM_MEDIA_URLENCODED },
	/* ErrInvalidMediaParameter keeps the media type. */
	{ "application/x-www-form-urlencoded; junk", FORM_MEDIA_URLENCODED },
	{ "application/x-www-form-urlencoded; a=1 b", FORM_MEDIA_URLENCODED },
	{ "application/x-www-form-urlencoded; a=", FORM_MEDIA_URLENCODED },
	/* Duplicates: Go drops the type when they differ; refuse either
	   way.  RFC 2231 continuations likewise. */
	{ "application/x-www-form-urlencoded; a=1; A=2", FORM_MEDIA_UNSURE },
	{ "application/x-www-form-urlencoded; a=1; a=1", FORM_MEDIA_UNSURE },
	{ "application/x-www-form-urlencoded; a*=x", FORM_MEDIA_UNSURE },
	{ "application/x-www-form-urlencoded\xc2\xa0", FORM_MEDIA_UNSURE },
	{ "application/x-www-form-urlencoded/x", FORM_MEDIA_OTHER },
	{ "application/ x-www-form-urlencoded", FORM_MEDIA_OTHER },
	{ "application/x-www-form-urlencoded , text/plain", FORM_MEDIA_OTHER },
	{ "multipart/form-data; boundary=x", FORM_MEDIA_MULTIPART },
	{ "MULTIPART/FORM-DATA", FORM_MEDIA_MULTIPART },
	{ "application", FORM_MEDIA_OTHER },
};

static void
test_media(void)
{
	for (size_t i = 0; i < sizeof media_rows / sizeof media_rows[0]; i++)
		CHECKF(form_media_type(media_rows[i].ct) == media_rows[i].want,
		    "row %zu: %s -> %d", i, media_rows[i].ct ?
		    media_rows[i].ct : "(null)",
		    (int)form_media_type(media_rows[i].ct));
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
	{ "cap", test_cap },
	{ "media", test_media },
};

int
main(void)
{
	return CHECK_RUN("form", cases);
}
