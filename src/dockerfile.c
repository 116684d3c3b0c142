#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "xmalloc.h"

/* bufio.Scanner's default cap on one line. */
#define LINE_MAX_BYTES (64 * 1024 - 1)

/* Build arguments every build knows without an ARG (the engine's
   builtinAllowedBuildArgs). */
static const char *const builtin_args[] = {
	"HTTP_PROXY",
	"http_proxy",
	"HTTPS_PROXY",
	"https_proxy",
	"FTP_PROXY",
	"ftp_proxy",
	"NO_PROXY",
	"no_proxy",
	"ALL_PROXY",
	"all_proxy",
};

/* ---- buildargs ------------------------------------------------------ */

void
dockerfile_args_reset(struct dockerfile_args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].value);
	}
	free(a->v);
	memset(a, 0, sizeof *a);
}

int
dockerfile_args_parse(const char *json, struct dockerfile_args *out,
    char **cause)
{
	json_error_t err;
	json_t *root, *v;
	const char *k;

	memset(out, 0, sizeof *out);
	if (json == NULL || *json == '\0')
		return 0;
	root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL || !json_is_object(root)) {
		*cause = xasprintf("buildargs is not a JSON object%s%s",
		    root == NULL ? ": " : "", root == NULL ? err.text : "");
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, k, v)
	{
		if (!json_is_string(v) && !json_is_null(v)) {
			*cause = xasprintf("buildargs: the value of \"%s\" is "
					   "not a string",
			    k);
			json_decref(root);
			dockerfile_args_reset(out);
			return -1;
		}
		out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
		out->v[out->n].key = xstrdup(k);
		out->v[out->n].value = json_is_string(v)
		    ? xstrdup(json_string_value(v))
		    : NULL;
		out->n++;
	}
	json_decref(root);
	return 0;
}

static const struct dockerfile_arg *
args_find(const struct dockerfile_args *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, key) == 0)
			return &a->v[i];
	return NULL;
}

/* ---- the substitution environment (meta ARGs) ------------------------ */

struct env {
	char **keys;
	char **values; /* NULL: declared, not set */
	size_t n;
};

static void
env_reset(struct env *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->keys[i]);
		free(e->values[i]);
	}
	free(e->keys);
	free(e->values);
	memset(e, 0, sizeof *e);
}

static void
env_set(struct env *e, const char *key, const char *value)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->keys[i], key) == 0) {
			free(e->values[i]);
			e->values[i] = value != NULL ? xstrdup(value) : NULL;
			return;
		}
	}
	e->keys = xreallocarray(e->keys, e->n + 1, sizeof *e->keys);
	e->values = xreallocarray(e->values, e->n + 1, sizeof *e->values);
	e->keys[e->n] = xstrdup(key);
	e->values[e->n] = value != NULL ? xstrdup(value) : NULL;
	e->n++;
}

/* The value of name, or NULL when it is not set (getEnv's !found). */
static const char *
env_get(const struct env *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++)
		if (strlen(e->keys[i]) == len &&
		    memcmp(e->keys[i], name, len) == 0)
			return e->values[i];
	return NULL;
}

/* ---- shell words ---------------------------------------------------- */

struct buf {
	char *s;
	size_t len;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	b->s = xrealloc(b->s, b->len + n + 1);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static bool
name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* A $ expansion at s (s[0] == '$'); appends to b, returns the bytes
   read, or 0 when outside what the guard reads. */
static size_t
expand_dollar(const char *s, const struct env *e, struct buf *b)
{
	const char *v, *name, *word;
	size_t n, wlen;
	char op;

	if (name_start(s[1])) {
		for (n = 1; name_char(s[n]); n++)
			;
		v = env_get(e, s + 1, n - 1);
		if (v != NULL)
			buf_add(b, v, strlen(v));
		return n;
	}
	if (s[1] != '{' || !name_start(s[2]))
		return 0;
	name = s + 2;
	for (n = 0; name_char(name[n]); n++)
		;
	v = env_get(e, name, n);
	if (name[n] == '}') {
		if (v != NULL)
			buf_add(b, v, strlen(v));
		return n + 3;
	}
	if (name[n] != ':' || (name[n + 1] != '-' && name[n + 1] != '+'))
		return 0;
	op = name[n + 1];
	word = name + n + 2;
	wlen = strcspn(word, "}$'\"\\`");
	if (word[wlen] != '}')
		return 0;
	if (op == '-') {
		if (v == NULL || *v == '\0')
			buf_add(b, word, wlen);
		else
			buf_add(b, v, strlen(v));
	} else if (v != NULL && *v != '\0')
		buf_add(b, word, wlen);
	return (size_t)(word + wlen + 1 - s);
}

/*
 * ProcessWord on w: quotes removed, escapes applied, $ expanded.  Returns
 * the new word (caller frees) or NULL when w is outside what the guard
 * reads.
 */
static char *
expand_word(const char *w, char esc, const struct env *e)
{
	struct buf b = { xstrdup(""), 0 };
	char quote = 0;

	for (size_t i = 0; w[i] != '\0';) {
		char c = w[i];
		size_t n;

		if ((unsigned char)c >= 0x80)
			goto unsure;
		if (quote == '\'') {
			if (c == '\'')
				quote = 0;
			else
				buf_add(&b, &c, 1);
			i++;
			continue;
		}
		if (c == esc) {
			char next = w[i + 1];

			if (next == '\0') {
				i++;
				continue;
			}
			if (quote == '"' && next != '"' && next != '$' &&
			    next != esc)
				buf_add(&b, &c, 1);
			buf_add(&b, &next, 1);
			i += 2;
			continue;
		}
		if (c == '$') {
			if ((n = expand_dollar(w + i, e, &b)) == 0)
				goto unsure;
			i += n;
			continue;
		}
		if (c == '"' && quote == '"') {
			quote = 0;
			i++;
			continue;
		}
		if ((c == '"' || c == '\'') && quote == 0) {
			quote = c;
			i++;
			continue;
		}
		buf_add(&b, &c, 1);
		i++;
	}
	if (quote != 0)
		goto unsure;
	return b.s;
unsure:
	free(b.s);
	return NULL;
}

/* parseWords: split on blanks outside quotes, keeping quotes and escapes
   for ProcessWord. */
static size_t
split_words(const char *s, char esc, char ***out)
{
	char **words = NULL, quote = 0;
	size_t n = 0;
	struct buf w = { NULL, 0 };
	bool in_word = false, blank_ok = false;

	for (size_t i = 0;; i++) {
		char c = s[i];

		if (c == '\0' || (quote == 0 && isspace((unsigned char)c))) {
			if (in_word && (blank_ok || w.len > 0)) {
				words = xreallocarray(words, n + 1,
				    sizeof *words);
				words[n++] = w.s != NULL ? w.s : xstrdup("");
				w.s = NULL;
				w.len = 0;
			}
			free(w.s);
			w.s = NULL;
			w.len = 0;
			in_word = false;
			blank_ok = false;
			if (c == '\0')
				break;
			continue;
		}
		in_word = true;
		if (quote != 0) {
			if (c == quote)
				quote = 0;
			else if (c == esc && quote != '\'' && s[i + 1] != '\0')
				buf_add(&w, &s[i++], 1);
			buf_add(&w, &s[i], 1);
			continue;
		}
		if (c == '\'' || c == '"') {
			quote = c;
			blank_ok = true;
		} else if (c == esc) {
			if (s[i + 1] == '\0')
				continue;
			buf_add(&w, &s[i++], 1);
		}
		buf_add(&w, &s[i], 1);
	}
	*out = words;
	return n;
}

static void
free_words(char **w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	free(w);
}

/* ---- lines ---------------------------------------------------------- */

struct parser {
	const char *p, *end;
	unsigned line; /* physical lines read */
	char esc;
	bool directives_done;
	bool seen_escape, seen_syntax;
	char *cause;
};

/* The next physical line (without "\n" and a final "\r"), or NULL. */
static char *
next_line(struct parser *ps)
{
	const char *nl, *s = ps->p;
	size_t n;

	if (ps->p >= ps->end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(ps->end - s));
	n = nl != NULL ? (size_t)(nl - s) : (size_t)(ps->end - s);
	ps->p = nl != NULL ? nl + 1 : ps->end;
	if (n > LINE_MAX_BYTES) {
		ps->cause = xasprintf("line %u is longer than the engine "
				      "reads",
		    ps->line + 1);
		return NULL;
	}
	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\0', n) != NULL) {
		ps->cause = xasprintf("line %u holds a NUL byte", ps->line + 1);
		return NULL;
	}
	ps->line++;
	return xstrndup(s, n);
}

static const char *
skip_ws(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

/* possibleParserDirective: "# key = value" before anything else. */
static int
directive(struct parser *ps, const char *line)
{
	const char *k, *v;
	size_t klen, vlen;
	char key[16];

	if (ps->directives_done)
		return 0;
	if (line[0] != '#')
		goto done;
	k = skip_ws(line + 1);
	if (!isalpha((unsigned char)*k))
		goto done;
	for (klen = 0; isalnum((unsigned char)k[klen]); klen++)
		;
	v = skip_ws(k + klen);
	if (*v != '=')
		goto done;
	v = skip_ws(v + 1);
	vlen = strlen(v);
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen == 0 || klen >= sizeof key)
		goto done;
	for (size_t i = 0; i < klen; i++)
		key[i] = (char)tolower((unsigned char)k[i]);
	key[klen] = '\0';
	if (strcmp(key, "escape") == 0) {
		if (ps->seen_escape ||
		    (vlen != 1 || (v[0] != '\\' && v[0] != '`'))) {
			ps->cause =
			    xasprintf("line %u: a bad or repeated escape "
				      "directive",
				ps->line);
			return -1;
		}
		ps->seen_escape = true;
		ps->esc = v[0];
		return 0;
	}
	if (strcmp(key, "syntax") == 0) {
		if (ps->seen_syntax) {
			ps->cause = xasprintf("line %u: a repeated syntax "
					      "directive",
			    ps->line);
			return -1;
		}
		ps->seen_syntax = true;
		return 0;
	}
done:
	ps->directives_done = true;
	return 0;
}

/* trimContinuationCharacter: true (and the token removed) when line ends
   with the escape token, blanks after it allowed. */
static bool
continues(char *line, char esc)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || line[n - 1] != esc)
		return false;
	if (n >= 2 && line[n - 2] == esc)
		return false;
	line[n - 1] = '\0';
	return true;
}

/*
 * The next logical line (continuations joined, comments dropped), its
 * first physical line in *start.  NULL at the end or on an error
 * (ps->cause set).
 */
static char *
next_logical(struct parser *ps, unsigned *start)
{
	char *raw, *line;
	const char *t;

	for (;;) {
		if ((raw = next_line(ps)) == NULL)
			return NULL;
		t = raw;
		if (ps->line == 1 && strncmp(t, "\xef\xbb\xbf", 3) == 0)
			t += 3;
		t = skip_ws(t);
		if (directive(ps, t) != 0) {
			free(raw);
			return NULL;
		}
		line = xstrdup(*t == '#' ? "" : t);
		free(raw);
		*start = ps->line;
		if (!continues(line, ps->esc)) {
			if (*line == '\0') {
				free(line);
				continue;
			}
			return line;
		}
		break;
	}
	while ((raw = next_line(ps)) != NULL) {
		bool more;

		if (directive(ps, raw) != 0) {
			free(raw);
			free(line);
			return NULL;
		}
		t = skip_ws(raw);
		if (*t == '#' || *t == '\0') {
			free(raw);
			continue;
		}
		more = continues(raw, ps->esc);
		line = xrealloc(line, strlen(line) + strlen(raw) + 1);
		strcat(line, raw);
		free(raw);
		if (!more)
			break;
	}
	if (ps->cause != NULL) {
		free(line);
		return NULL;
	}
	return line;
}

/* ---- instructions ---------------------------------------------------- */

struct state {
	struct env env;
	char **stages;	 /* lower-cased names */
	size_t n_stages; /* FROMs so far */
	bool seen_from;
	struct dockerfile_images *out;
};

static bool
is_stage(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->n_stages; i++)
		if (st->stages[i] != NULL &&
		    strcasecmp(st->stages[i], name) == 0)
			return true;
	return false;
}

static void
add_image(struct state *st, const char *ref, unsigned line, const char *what)
{
	struct dockerfile_images *o = st->out;

	o->v = xreallocarray(o->v, o->n + 1, sizeof *o->v);
	o->v[o->n].ref = xstrdup(ref);
	o->v[o->n].line = line;
	o->v[o->n].what = what;
	o->n++;
}

/* Leading "--flag" words (extractBuilderFlags); *rest after them.  A flag
   the guard cannot split plainly (quotes, escapes, "--") is refused. */
static int
take_flags(const char *s, char esc, char ***flags, size_t *n, const char **rest)
{
	*flags = NULL;
	*n = 0;
	s = skip_ws(s);
	while (s[0] == '-' && s[1] == '-') {
		size_t len = strcspn(s, " \t\v\f\r");

		if (len == 2 || memchr(s, '"', len) != NULL ||
		    memchr(s, '\'', len) != NULL ||
		    memchr(s, esc, len) != NULL) {
			free_words(*flags, *n);
			*flags = NULL;
			*n = 0;
			return -1;
		}
		*flags = xreallocarray(*flags, *n + 1, sizeof **flags);
		(*flags)[(*n)++] = xstrndup(s, len);
		s = skip_ws(s + len);
	}
	*rest = s;
	return 0;
}

static size_t
split_blanks(const char *s, char ***out)
{
	char **w = NULL;
	size_t n = 0;

	for (s = skip_ws(s); *s != '\0'; s = skip_ws(s)) {
		size_t len = strcspn(s, " \t\v\f\r\n");

		w = xreallocarray(w, n + 1, sizeof *w);
		w[n++] = xstrndup(s, len);
		s += len;
	}
	*out = w;
	return n;
}

static int
do_from(struct parser *ps, struct state *st, const char *args, unsigned line)
{
	char **flags, **w, *ref;
	const char *rest;
	size_t nf, n;

	if (take_flags(args, ps->esc, &flags, &nf, &rest) != 0) {
		ps->cause = xasprintf("line %u: FROM has flags the guard "
				      "cannot read",
		    line);
		return -1;
	}
	free_words(flags, nf);
	n = split_blanks(rest, &w);
	if (n != 1 && !(n == 3 && strcasecmp(w[1], "as") == 0)) {
		free_words(w, n);
		ps->cause = xasprintf("line %u: FROM needs an image and "
				      "optionally \"AS name\"",
		    line);
		return -1;
	}
	ref = expand_word(w[0], ps->esc, &st->env);
	if (ref == NULL || *ref == '\0') {
		ps->cause = xasprintf(
		    "line %u: the guard cannot read FROM %s "
		    "(substitutions beyond $NAME, ${NAME}, ${NAME:-word} and "
		    "${NAME:+word})",
		    line, w[0]);
		free(ref);
		free_words(w, n);
		return -1;
	}
	if (strcmp(ref, "scratch") != 0 && !is_stage(st, ref))
		add_image(st, ref, line, "FROM");
	st->stages = xreallocarray(st->stages, st->n_stages + 1,
	    sizeof *st->stages);
	st->stages[st->n_stages++] = n == 3 ? xstrdup(w[2]) : NULL;
	st->seen_from = true;
	free(ref);
	free_words(w, n);
	return 0;
}

static int
do_arg(struct parser *ps, struct state *st, const char *args,
    const struct dockerfile_args *bargs, unsigned line)
{
	char **w;
	size_t n = split_words(args, ps->esc, &w);

	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(w[i], '='), *value = NULL;
		const struct dockerfile_arg *given;

		if (eq != NULL)
			*eq = '\0';
		if (*w[i] == '\0' || strpbrk(w[i], "$'\"`\\") != NULL) {
			ps->cause = xasprintf("line %u: the guard cannot read "
					      "this ARG's name",
			    line);
			free_words(w, n);
			return -1;
		}
		if (eq != NULL &&
		    (value = expand_word(eq + 1, ps->esc, &st->env)) == NULL) {
			ps->cause = xasprintf("line %u: the guard cannot read "
					      "the default of ARG %s",
			    line, w[i]);
			free_words(w, n);
			return -1;
		}
		given = args_find(bargs, w[i]);
		if (given != NULL && given->value != NULL)
			env_set(&st->env, w[i], given->value);
		else
			env_set(&st->env, w[i], value); /* NULL: unset */
		free(value);
	}
	free_words(w, n);
	return 0;
}

static int
do_copy(struct parser *ps, struct state *st, const char *args, unsigned line)
{
	char **flags;
	const char *rest, *from = NULL;
	size_t nf;
	char *end;

	if (take_flags(args, ps->esc, &flags, &nf, &rest) != 0) {
		ps->cause = xasprintf("line %u: COPY has flags the guard "
				      "cannot read",
		    line);
		return -1;
	}
	for (size_t i = 0; i < nf; i++)
		if (strncmp(flags[i], "--from=", 7) == 0)
			from = flags[i] + 7;
	if (from != NULL && *from != '\0') {
		(void)strtoul(from, &end, 10);
		if (strchr(from, '$') != NULL) {
			ps->cause = xasprintf("line %u: the guard cannot read "
					      "COPY --from=%s",
			    line, from);
			free_words(flags, nf);
			return -1;
		}
		if (!(isdigit((unsigned char)*from) && *end == '\0') &&
		    !is_stage(st, from))
			add_image(st, from, line, "COPY --from");
	}
	free_words(flags, nf);
	return 0;
}

static int
instruction(struct parser *ps, struct state *st, const char *line,
    const struct dockerfile_args *bargs, unsigned start)
{
	size_t n = strcspn(line, " \t\v\f\r");
	const char *args = skip_ws(line + n);

	if (n == 4 && strncasecmp(line, "from", 4) == 0)
		return do_from(ps, st, args, start);
	if (n == 3 && strncasecmp(line, "arg", 3) == 0 && !st->seen_from)
		return do_arg(ps, st, args, bargs, start);
	if (n == 4 && strncasecmp(line, "copy", 4) == 0)
		return do_copy(ps, st, args, start);
	return 0;
}

void
dockerfile_images_reset(struct dockerfile_images *imgs)
{
	for (size_t i = 0; i < imgs->n; i++)
		free(imgs->v[i].ref);
	free(imgs->v);
	memset(imgs, 0, sizeof *imgs);
}

int
dockerfile_images(const char *text, size_t len,
    const struct dockerfile_args *args, struct dockerfile_images *out,
    char **cause)
{
	struct parser ps = { 0 };
	struct state st = { 0 };
	unsigned start = 0;
	char *line;
	int r = 0;

	memset(out, 0, sizeof *out);
	ps.p = text;
	ps.end = text + len;
	ps.esc = '\\';
	st.out = out;
	for (size_t i = 0; i < sizeof builtin_args / sizeof builtin_args[0];
	     i++) {
		const struct dockerfile_arg *a = args_find(args,
		    builtin_args[i]);

		if (a != NULL && a->value != NULL)
			env_set(&st.env, a->key, a->value);
	}
	while (r == 0 && (line = next_logical(&ps, &start)) != NULL) {
		r = instruction(&ps, &st, line, args, start);
		free(line);
	}
	if (r == 0 && ps.cause == NULL && !st.seen_from)
		ps.cause = xstrdup("the Dockerfile has no FROM");
	env_reset(&st.env);
	for (size_t i = 0; i < st.n_stages; i++)
		free(st.stages[i]);
	free(st.stages);
	if (ps.cause != NULL) {
		*cause = ps.cause;
		dockerfile_images_reset(out);
		return -1;
	}
	return 0;
}
