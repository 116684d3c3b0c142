/*
 * Version comparison after repology's libversion (doc/ALGORITHM.md),
 * reimplemented: split into numeric and alphabetic components, rank them,
 * compare rank first and value second, pad the shorter version with zero.
 *
 * Docker tags add two rules on top: text after the first '-' is a variant
 * ("-apache", "-alpine") and does not take part, unless it is itself a
 * pre-release ("-rc1", "-beta.2"); package revisions ("-r2", "-1") are
 * compared after the version, only when the versions are equal.
 */

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "version.h"

#define VERSION_PLAUSIBLE_MAX 128

/* Ranks, lowest first (ALGORITHM.md, "Core algorithm" step 2). */
enum version_rank {
	VERSION_PRE_RELEASE,   /* alpha, beta, rc, pre, any unknown word */
	VERSION_ZERO,	       /* 0, 000, and the padding */
	VERSION_POST_RELEASE,  /* patch, post, pl, errata */
	VERSION_NONZERO,       /* any other number */
	VERSION_LETTER_SUFFIX, /* the "a" of "1.0a" */
};

/* s[0..len) is the letters, or the digits without leading zeros. */
struct version_component {
	enum version_rank rank;
	const char *s;
	size_t len;
};

/* Walks the components of [p, end). */
struct version_iter {
	const char *p;
	const char *end;
	bool after_number; /* a number ends right at p */
	bool numbers_only; /* a revision: only its numbers */
};

/* Words that keep a "-suffix" in the version rather than the variant. */
static const char *const version_prerelease_words[] = {
	"alpha",
	"beta",
	"rc",
	"preview",
	"pre",
	"dev",
};

static bool
version_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
version_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
version_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* True if s[0..len) equals word, ignoring case. */
static bool
version_word_is(const char *s, size_t len, const char *word)
{
	if (strlen(word) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (version_lower(s[i]) != word[i])
			return false;
	}
	return true;
}

/* True if s[0..len) starts with prefix, ignoring case. */
static bool
version_word_starts(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (len < plen)
		return false;
	return version_word_is(s, plen, prefix);
}

/* True if the string s starts with word, ignoring case. */
static bool
version_prefix_is(const char *s, const char *word)
{
	for (; *word != '\0'; s++, word++) {
		if (version_lower(*s) != *word)
			return false;
	}
	return true;
}

static enum version_rank
version_word_rank(const char *s, size_t len)
{
	if (version_word_starts(s, len, "post") ||
	    version_word_starts(s, len, "patch") ||
	    version_word_is(s, len, "pl") || version_word_is(s, len, "errata"))
		return VERSION_POST_RELEASE;
	return VERSION_PRE_RELEASE;
}

/*
 * Length of the pre-release word s starts with ("rc" in "rc1"), 0 if
 * none: the word must not run on into more letters ("alphabet").
 */
static size_t
version_prerelease_word(const char *s)
{
	const char *w;
	size_t n, i;

	for (i = 0; i < sizeof version_prerelease_words /
		 sizeof version_prerelease_words[0];
	     i++) {
		w = version_prerelease_words[i];
		n = strlen(w);
		if (version_prefix_is(s, w) && !version_is_alpha(s[n]))
			return n;
	}
	return 0;
}

/*
 * Length of the package revision s starts with, 0 if none: "r" and digits
 * (Alpine's "-r2") or digits and dots (Debian's "-1", "-1.1"), running to
 * the end or to the next '-'.  *skip is how many leading bytes do not take
 * part in the order (the "r").
 */
static size_t
version_revision(const char *s, size_t *skip)
{
	const char *q = s;

	*skip = 0;
	if ((*q == 'r' || *q == 'R') && version_is_digit(q[1])) {
		q++;
		*skip = 1;
		while (version_is_digit(*q))
			q++;
	} else if (version_is_digit(*q)) {
		while (version_is_digit(*q) || *q == '.')
			q++;
	} else
		return 0;
	if (*q != '\0' && *q != '-')
		return 0;
	return q - s;
}

/*
 * Length of a "-rc1" pre-release suffix at dash ("-rc1" of "1.0-rc1"),
 * 0 if none: a pre-release word, digits and dots, then the end or '-'.
 */
static size_t
version_prerelease_suffix(const char *dash)
{
	const char *q;
	size_t n;

	if ((n = version_prerelease_word(dash + 1)) == 0)
		return 0;
	q = dash + 1 + n;
	while (version_is_digit(*q) || *q == '.')
		q++;
	if (*q != '\0' && *q != '-')
		return 0;
	return q - dash;
}

/*
 * Split v into its ordered parts and the variant:
 *   upstream  [v, v + sp->upstream_len): the version, with a "-rc1"
 *             pre-release suffix;
 *   revision  [sp->revision, sp->revision_end): the package revisions
 *             after it ("2" of "-r2", "1" of "-1", "10-01" of
 *             "2024-10-01"), empty if none;
 *   variant   sp->variant: the ignored rest ("" if none).
 * "1.0-rc1-r2-alpine" is 1.0-rc1, revision 2, variant alpine.
 */
struct version_split {
	size_t upstream_len;
	const char *revision;
	const char *revision_end;
	const char *variant;
	size_t core_len; /* upstream and revisions */
};

static void
version_split(const char *v, struct version_split *sp)
{
	const char *dash = strchr(v, '-');
	size_t n, skip;

	if (dash == NULL) {
		sp->upstream_len = sp->core_len = strlen(v);
		sp->revision = sp->revision_end = sp->variant = v +
		    sp->core_len;
		return;
	}
	if ((n = version_prerelease_suffix(dash)) != 0)
		dash += n;
	sp->upstream_len = dash - v;
	sp->revision = sp->revision_end = dash;
	while (*dash == '-' && (n = version_revision(dash + 1, &skip)) != 0) {
		if (sp->revision == sp->revision_end)
			sp->revision = dash + 1 + skip;
		dash += 1 + n;
		sp->revision_end = dash;
	}
	sp->core_len = dash - v;
	sp->variant = *dash == '-' ? dash + 1 : dash;
}

/* Walk the upstream part of v ("v1.2" is 1.2; a lone "v" or "version"
   stays a word). */
static void
version_iter_upstream(struct version_iter *it, const char *v,
    const struct version_split *sp)
{
	it->p = v;
	it->end = v + sp->upstream_len;
	it->after_number = false;
	it->numbers_only = false;
	if (sp->upstream_len >= 2 && (v[0] == 'v' || v[0] == 'V') &&
	    version_is_digit(v[1]))
		it->p++;
}

/* Walk the revisions of v: their numbers ("-r2-1" is 2, 1). */
static void
version_iter_revision(struct version_iter *it, const struct version_split *sp)
{
	it->p = sp->revision;
	it->end = sp->revision_end;
	it->after_number = false;
	it->numbers_only = true;
}

/* Next component into *c; once exhausted, ZERO padding and false. */
static bool
version_iter_next(struct version_iter *it, struct version_component *c)
{
	const char *start;

	while (it->p < it->end && !version_is_digit(*it->p) &&
	    (it->numbers_only || !version_is_alpha(*it->p))) {
		it->p++;
		it->after_number = false;
	}
	if (it->p == it->end) {
		c->rank = VERSION_ZERO;
		c->s = it->p;
		c->len = 0;
		return false;
	}

	if (version_is_digit(*it->p)) {
		while (it->p < it->end && *it->p == '0')
			it->p++;
		start = it->p;
		while (it->p < it->end && version_is_digit(*it->p))
			it->p++;
		c->s = start;
		c->len = it->p - start;
		c->rank = c->len == 0 ? VERSION_ZERO : VERSION_NONZERO;
		it->after_number = true;
		return true;
	}

	start = it->p;
	while (it->p < it->end && version_is_alpha(*it->p))
		it->p++;
	c->s = start;
	c->len = it->p - start;
	/* One letter glued to a number and not followed by one: "1.0a". */
	if (it->after_number && c->len == 1 &&
	    (it->p == it->end || !version_is_digit(*it->p)))
		c->rank = VERSION_LETTER_SUFFIX;
	else
		c->rank = version_word_rank(c->s, c->len);
	it->after_number = false;
	return true;
}

static int
version_component_compare(const struct version_component *a,
    const struct version_component *b)
{
	int r;
	char ca, cb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	switch (a->rank) {
	case VERSION_ZERO:
		return 0;
	case VERSION_NONZERO:
		/* No leading zeros: longer is bigger, then by digits. */
		if (a->len != b->len)
			return a->len < b->len ? -1 : 1;
		r = memcmp(a->s, b->s, a->len);
		return (r > 0) - (r < 0);
	case VERSION_PRE_RELEASE:
	case VERSION_POST_RELEASE:
	case VERSION_LETTER_SUFFIX:
		/* Words compare by first letter: "a" == "alpha". */
		ca = version_lower(a->s[0]);
		cb = version_lower(b->s[0]);
		return (ca > cb) - (ca < cb);
	}
	return 0;
}

/* Compare two walks component by component, padding with zero. */
static int
version_iter_compare(struct version_iter *ia, struct version_iter *ib)
{
	struct version_component ca, cb;
	bool more_a, more_b;
	int r;

	for (;;) {
		more_a = version_iter_next(ia, &ca);
		more_b = version_iter_next(ib, &cb);
		if (!more_a && !more_b)
			return 0;
		if ((r = version_component_compare(&ca, &cb)) != 0)
			return r;
	}
}

/* The upstream versions first; only when they are equal, the package
   revisions ("1.0-5" < "1.0.1", "3.1.0-r1" < "3.1.0-r2"). */
int
version_compare(const char *a, const char *b)
{
	struct version_split sa, sb;
	struct version_iter ia, ib;
	int r;

	a = a != NULL ? a : "";
	b = b != NULL ? b : "";
	version_split(a, &sa);
	version_split(b, &sb);
	version_iter_upstream(&ia, a, &sa);
	version_iter_upstream(&ib, b, &sb);
	if ((r = version_iter_compare(&ia, &ib)) != 0)
		return r;
	version_iter_revision(&ia, &sa);
	version_iter_revision(&ib, &sb);
	return version_iter_compare(&ia, &ib);
}

bool
version_plausible(const char *s)
{
	bool digit = false;
	size_t i;

	if (s == NULL)
		return false;
	if (!version_is_digit(s[0]) &&
	    !((s[0] == 'v' || s[0] == 'V') && version_is_digit(s[1])))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= VERSION_PLAUSIBLE_MAX)
			return false;
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
		if (version_is_digit(s[i]))
			digit = true;
	}
	return digit;
}

/* Copy len bytes of src into dst of size, truncating, always terminated. */
static void
version_copy(char *dst, size_t size, const char *src, size_t len)
{
	if (dst == NULL || size == 0)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void
version_split_variant(const char *v, char *core, size_t core_size,
    char *variant, size_t variant_size)
{
	struct version_split sp;

	if (v == NULL)
		v = "";
	version_split(v, &sp);
	version_copy(core, core_size, v, sp.core_len);
	version_copy(variant, variant_size, sp.variant, strlen(sp.variant));
}
