#include <stdlib.h>
#include <string.h>

#include "tar_reader.h"
#include "xmalloc.h"

#define BLOCK 512
/* Go's archive/tar: PAX and GNU long-name data are capped at 1 MiB. */
#define SPECIAL_MAX (1024 * 1024)
/* Symbolic links remembered (an entry below one cannot be judged). */
#define LINKS_MAX 65536
#define LINK_BYTES_MAX (8 * 1024 * 1024)

enum phase {
	PH_HEADER, /* filling a header block */
	PH_DATA,   /* an entry's data, then its padding */
	PH_ENDED,  /* the end-of-archive block was seen */
	PH_FAILED,
};

/* What an entry puts at its name. */
enum entry_kind {
	EK_REGULAR,
	EK_DIR,
	EK_SYMLINK,
	EK_HARDLINK,
	EK_OTHER,   /* devices, fifos, unknown types */
	EK_NOTHING, /* a PAX global header: the name is only removed */
};

struct tar_reader {
	enum phase phase;
	const char *cause;
	uint64_t offset; /* bytes fed */
	uint64_t released;
	bool first; /* no header read yet */
	unsigned char blk[BLOCK];
	size_t fill;

	/* The entry whose data is being read. */
	uint64_t left; /* data bytes still due */
	uint64_t pad;  /* then padding */
	int keep;      /* kept file index, or -1 */
	char special;  /* 'x', 'g', 'L', 'K' or 0 */
	char *sbuf;    /* the special entry's data */
	size_t slen;
	char *gname; /* a 'g' entry's own name */

	/* Meta headers for the next entry. */
	char *long_name;
	char *pax_path;
	bool have_pax_size;
	uint64_t pax_size;
	bool pax_sparse;

	struct tar_file *files;
	size_t n_files;
	size_t max_file;
	bool bad_path; /* a kept path leaves the root */

	char **links; /* open-addressed set of names */
	size_t links_cap, n_links, link_bytes;
};

char *
tar_clean_path(const char *name)
{
	size_t len = strlen(name), n = 0;
	char *out = xmalloc(len + 1), *seg = xstrdup(name), *save = NULL;
	char **parts = xcalloc(len / 2 + 2, sizeof *parts);

	/* Go's filepath.Clean, then the root's "/" dropped: a rooted ".."
	   stays at the root, an unrooted one leaves it. */
	for (char *t = strtok_r(seg, "/", &save); t != NULL;
	     t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			if (n > 0 && strcmp(parts[n - 1], "..") != 0)
				n--;
			else if (name[0] != '/')
				parts[n++] = t;
			continue;
		}
		parts[n++] = t;
	}
	*out = '\0';
	for (size_t i = 0; i < n; i++) {
		if (strcmp(parts[i], "..") == 0) {
			free(out);
			out = NULL;
			break;
		}
		if (i > 0)
			strcat(out, "/");
		strcat(out, parts[i]);
	}
	free(parts);
	free(seg);
	return out;
}

struct tar_reader *
tar_reader_new(const char *const *paths, size_t n, size_t max_file)
{
	struct tar_reader *t = xcalloc(1, sizeof *t);

	t->phase = PH_HEADER;
	t->first = true;
	t->keep = -1;
	t->max_file = max_file;
	t->files = xcalloc(n > 0 ? n : 1, sizeof *t->files);
	t->n_files = n;
	for (size_t i = 0; i < n; i++) {
		t->files[i].path = tar_clean_path(paths[i]);
		if (t->files[i].path == NULL || *t->files[i].path == '\0') {
			free(t->files[i].path);
			t->files[i].path = xstrdup("");
			t->bad_path = true;
		}
		t->files[i].data = xstrdup("");
	}
	return t;
}

static void
clear_meta(struct tar_reader *t)
{
	free(t->long_name);
	free(t->pax_path);
	t->long_name = NULL;
	t->pax_path = NULL;
	t->have_pax_size = false;
	t->pax_sparse = false;
}

void
tar_reader_free(struct tar_reader *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_files; i++) {
		free(t->files[i].path);
		free(t->files[i].data);
	}
	free(t->files);
	for (size_t i = 0; i < t->links_cap; i++)
		free(t->links[i]);
	free(t->links);
	clear_meta(t);
	free(t->sbuf);
	free(t->gname);
	free(t);
}

static int
fail(struct tar_reader *t, const char *cause)
{
	t->phase = PH_FAILED;
	t->cause = cause;
	return -1;
}

/* ---- the set of symbolic link names ------------------------------- */

static uint64_t
hash_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static bool
links_has(const struct tar_reader *t, const char *s, size_t n)
{
	if (t->links_cap == 0)
		return false;
	for (size_t i = hash_n(s, n) & (t->links_cap - 1);;
	     i = (i + 1) & (t->links_cap - 1)) {
		if (t->links[i] == NULL)
			return false;
		if (strlen(t->links[i]) == n && memcmp(t->links[i], s, n) == 0)
			return true;
	}
}

static void
links_put(struct tar_reader *t, char *s)
{
	size_t i;

	for (i = hash_n(s, strlen(s)) & (t->links_cap - 1); t->links[i] != NULL;
	     i = (i + 1) & (t->links_cap - 1))
		;
	t->links[i] = s;
}

static int
links_add(struct tar_reader *t, const char *name)
{
	if (links_has(t, name, strlen(name)))
		return 0;
	if (t->n_links >= LINKS_MAX ||
	    t->link_bytes + strlen(name) > LINK_BYTES_MAX)
		return fail(t,
		    "the context has too many symbolic links to "
		    "follow");
	if ((t->n_links + 1) * 2 > t->links_cap) {
		char **old = t->links;
		size_t oldcap = t->links_cap;

		t->links_cap = oldcap == 0 ? 64 : oldcap * 2;
		t->links = xcalloc(t->links_cap, sizeof *t->links);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != NULL)
				links_put(t, old[i]);
		free(old);
	}
	links_put(t, xstrdup(name));
	t->n_links++;
	t->link_bytes += strlen(name);
	return 0;
}

/* ---- header fields, as Go's archive/tar parses them ---------------- */

/* parseString: up to the first NUL.  Caller frees. */
static char *
field_string(const unsigned char *b, size_t n)
{
	const unsigned char *z = memchr(b, '\0', n);

	return xstrndup((const char *)b, z != NULL ? (size_t)(z - b) : n);
}

/* parseNumeric: base-256 or octal.  -1 on what Go calls ErrHeader (and
   on negative values, which Go refuses as sizes). */
static int
field_number(const unsigned char *b, size_t n, uint64_t *out)
{
	size_t i = 0, j = n;
	uint64_t x = 0;

	if (n > 0 && (b[0] & 0x80) != 0) {
		if ((b[0] & 0x40) != 0)
			return -1;
		for (i = 0; i < n; i++) {
			if ((x >> 56) != 0)
				return -1;
			x = x << 8 | (i == 0 ? (b[i] & 0x7f) : b[i]);
		}
		if ((x >> 63) != 0)
			return -1;
		*out = x;
		return 0;
	}
	while (i < j && (b[i] == ' ' || b[i] == '\0'))
		i++;
	while (j > i && (b[j - 1] == ' ' || b[j - 1] == '\0'))
		j--;
	for (size_t k = i; k < j; k++)
		if (b[k] == '\0')
			j = k;
	if (i == j) {
		*out = 0;
		return 0;
	}
	for (; i < j; i++) {
		if (b[i] < '0' || b[i] > '7' || (x >> 61) != 0)
			return -1;
		x = x * 8 + (uint64_t)(b[i] - '0');
	}
	if ((x >> 63) != 0)
		return -1;
	*out = x;
	return 0;
}

static bool
checksum_ok(const unsigned char *b)
{
	uint64_t want, sum_u = 0;
	int64_t sum_s = 0;

	if (field_number(b + 148, 8, &want) != 0 || (b[148] & 0x80) != 0)
		return false;
	for (size_t i = 0; i < BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];

		sum_u += c;
		sum_s += (signed char)c;
	}
	return want == sum_u || (int64_t)want == sum_s;
}

static bool
is_zero_block(const unsigned char *b)
{
	for (size_t i = 0; i < BLOCK; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static const char *
compression_of(const unsigned char *b)
{
	if (b[0] == 0x1f && b[1] == 0x8b && b[2] == 0x08)
		return "the build context is gzip-compressed";
	if (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h')
		return "the build context is bzip2-compressed";
	if (memcmp(b,
		"\xfd"
		"7zXZ\0",
		6) == 0)
		return "the build context is xz-compressed";
	if (memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0 ||
	    ((b[0] & 0xf0) == 0x50 && b[1] == 0x2a && b[2] == 0x4d &&
		b[3] == 0x18))
		return "the build context is zstd-compressed";
	return NULL;
}

/* The entry's name: ustar/PAX/star prefix joined, as Go does. */
static char *
header_name(const unsigned char *b)
{
	char *name = field_string(b, 100), *prefix = NULL, *full;

	if (memcmp(b + 257, "ustar\0", 6) == 0) {
		bool star = memcmp(b + 508, "tar\0", 4) == 0;

		prefix = field_string(b + 345, star ? 131 : 155);
	}
	if (prefix == NULL || *prefix == '\0') {
		free(prefix);
		return name;
	}
	full = xasprintf("%s/%s", prefix, name);
	free(prefix);
	free(name);
	return full;
}

/* ---- where an entry lands ------------------------------------------ */

/* True if a is a proper ancestor directory of b ("a" of "a/b"). */
static bool
is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n == 0)
		return *b != '\0';
	return strncmp(a, b, n) == 0 && b[n] == '/';
}

static int
place_file(struct tar_reader *t, struct tar_file *f, const char *name,
    enum entry_kind kind, size_t index)
{
	if (strcmp(name, f->path) == 0) {
		if (kind == EK_SYMLINK || kind == EK_HARDLINK)
			return fail(t,
			    "the Dockerfile is a link; the guard "
			    "judges only a regular Dockerfile");
		free(f->data);
		f->data = xstrdup("");
		f->len = 0;
		f->state = kind == EK_REGULAR ? TAR_FILE_REGULAR
		    : kind == EK_NOTHING      ? TAR_FILE_ABSENT
					      : TAR_FILE_OTHER;
		if (kind == EK_REGULAR)
			t->keep = (int)index;
	} else if (is_ancestor(name, f->path) && kind != EK_DIR) {
		if (kind == EK_SYMLINK)
			return fail(t,
			    "a directory above the Dockerfile is "
			    "a symbolic link");
		f->state = TAR_FILE_ABSENT; /* RemoveAll */
	} else if (is_ancestor(f->path, name) && f->state != TAR_FILE_REGULAR) {
		f->state = TAR_FILE_OTHER; /* MkdirAll */
	}
	return 0;
}

static int
place(struct tar_reader *t, const char *raw, enum entry_kind kind)
{
	char *name = tar_clean_path(raw);
	int r = 0;

	if (name == NULL)
		return fail(t, "an entry's name leaves the context (\"..\")");
	if (*name == '\0') {
		free(name);
		if (kind == EK_DIR)
			return 0;
		return fail(t, "an entry replaces the root of the context");
	}
	for (char *s = strchr(name, '/'); s != NULL; s = strchr(s + 1, '/'))
		if (links_has(t, name, (size_t)(s - name))) {
			free(name);
			return fail(t,
			    "an entry is written through a "
			    "symbolic link");
		}
	t->keep = -1;
	for (size_t i = 0; i < t->n_files && r == 0; i++)
		r = place_file(t, &t->files[i], name, kind, i);
	if (r == 0 && kind == EK_SYMLINK)
		r = links_add(t, name);
	free(name);
	return r;
}

/* ---- PAX records --------------------------------------------------- */

static int
pax_parse(struct tar_reader *t, const char *s, size_t len, bool global)
{
	if (!global) {
		free(t->pax_path);
		t->pax_path = NULL;
		t->have_pax_size = false;
		t->pax_sparse = false;
	}
	while (len > 0) {
		const char *sp = memchr(s, ' ', len), *rec, *eq;
		size_t n = 0, nlen, rlen;

		if (sp == NULL || sp == s || (size_t)(sp - s) > 18)
			return fail(t, "a malformed PAX header");
		nlen = (size_t)(sp - s);
		for (size_t i = 0; i < nlen; i++) {
			if (s[i] < '0' || s[i] > '9')
				return fail(t, "a malformed PAX header");
			n = n * 10 + (size_t)(s[i] - '0');
		}
		if (n < 5 || n > len || n <= nlen + 1 || s[n - 1] != '\n')
			return fail(t, "a malformed PAX header");
		rec = sp + 1;
		rlen = n - nlen - 2;
		eq = memchr(rec, '=', rlen);
		if (eq == NULL || eq == rec || memchr(rec, '\0', rlen) != NULL)
			return fail(t, "a malformed PAX header");
		if (!global) {
			size_t klen = (size_t)(eq - rec);
			const char *v = eq + 1;
			size_t vlen = rlen - klen - 1;

			if (klen == 4 && memcmp(rec, "path", 4) == 0) {
				free(t->pax_path);
				t->pax_path = xstrndup(v, vlen);
			} else if (klen == 4 && memcmp(rec, "size", 4) == 0) {
				uint64_t x = 0;

				if (vlen == 0 || vlen > 18)
					return fail(t, "a malformed PAX size");
				for (size_t i = 0; i < vlen; i++) {
					if (v[i] < '0' || v[i] > '9')
						return fail(t,
						    "a malformed "
						    "PAX size");
					x = x * 10 + (uint64_t)(v[i] - '0');
				}
				t->pax_size = x;
				t->have_pax_size = true;
			} else if (klen >= 10 &&
			    memcmp(rec, "GNU.sparse", 10) == 0)
				t->pax_sparse = true;
		}
		s += n;
		len -= n;
	}
	return 0;
}

/* A special entry's data is complete. */
static int
special_done(struct tar_reader *t)
{
	char c = t->special;
	int r = 0;

	t->special = 0;
	switch (c) {
	case 'x':
		r = pax_parse(t, t->sbuf, t->slen, false);
		break;
	case 'g':
		r = pax_parse(t, t->sbuf, t->slen, true);
		clear_meta(t);
		if (r == 0)
			r = place(t, t->gname, EK_NOTHING);
		break;
	case 'L':
		free(t->long_name);
		t->long_name = field_string((unsigned char *)t->sbuf, t->slen);
		break;
	default:
		break; /* 'K': link names do not matter here */
	}
	free(t->sbuf);
	t->sbuf = NULL;
	t->slen = 0;
	free(t->gname);
	t->gname = NULL;
	return r;
}

static enum entry_kind
kind_of(char type, const char *name)
{
	switch (type) {
	case '0':
	case '7':
		return EK_REGULAR;
	case '\0':
		return name[0] != '\0' && name[strlen(name) - 1] == '/'
		    ? EK_DIR
		    : EK_REGULAR;
	case '1':
		return EK_HARDLINK;
	case '2':
		return EK_SYMLINK;
	case '5':
		return EK_DIR;
	default:
		return EK_OTHER;
	}
}

/* A header block is complete. */
static int
header_done(struct tar_reader *t)
{
	const unsigned char *b = t->blk;
	char type = (char)b[156], *name;
	uint64_t size;
	enum entry_kind kind;
	int r;

	if (t->first) {
		const char *c = compression_of(b);

		t->first = false;
		if (c != NULL)
			return fail(t, c);
	}
	if (is_zero_block(b)) {
		t->phase = PH_ENDED;
		return 0;
	}
	if (!checksum_ok(b))
		return fail(t, "a tar header has a bad checksum");
	if (field_number(b + 124, 12, &size) != 0)
		return fail(t, "a tar header has a bad size");
	t->keep = -1;
	t->pad = 0;
	if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
		if (size > SPECIAL_MAX)
			return fail(t,
			    "a PAX or GNU long-name header is too "
			    "long");
		t->special = type;
		t->sbuf = xmalloc((size_t)size + 1);
		t->slen = 0;
		if (type == 'g')
			t->gname = header_name(b);
	} else {
		if (type == 'S' || t->pax_sparse) {
			clear_meta(t);
			return fail(t, "the context holds a sparse file");
		}
		name = t->long_name != NULL ? xstrdup(t->long_name)
		    : t->pax_path != NULL   ? xstrdup(t->pax_path)
					    : header_name(b);
		if (t->have_pax_size)
			size = t->pax_size;
		kind = kind_of(type, name);
		if (kind == EK_DIR || kind == EK_SYMLINK ||
		    kind == EK_HARDLINK || type == '3' || type == '4' ||
		    type == '6')
			size = 0; /* header-only types */
		clear_meta(t);
		r = place(t, name, kind);
		free(name);
		if (r != 0)
			return r;
	}
	t->left = size;
	t->pad = (BLOCK - size % BLOCK) % BLOCK;
	t->phase = PH_DATA;
	if (t->left == 0 && t->pad == 0) {
		t->phase = PH_HEADER;
		if (t->special != 0)
			return special_done(t);
	}
	return 0;
}

/* Entry data: kept, collected or skipped. */
static int
data_bytes(struct tar_reader *t, const unsigned char *p, size_t n)
{
	if (t->special != 0) {
		memcpy(t->sbuf + t->slen, p, n);
		t->slen += n;
	} else if (t->keep >= 0) {
		struct tar_file *f = &t->files[t->keep];

		if (f->len + n > t->max_file)
			return fail(t,
			    "the Dockerfile is larger than the "
			    "guard reads");
		f->data = xrealloc(f->data, f->len + n + 1);
		memcpy(f->data + f->len, p, n);
		f->len += n;
		f->data[f->len] = '\0';
	}
	return 0;
}

int
tar_reader_feed(struct tar_reader *t, const unsigned char *p, size_t len,
    const char **cause)
{
	if (t->bad_path && t->phase != PH_FAILED)
		fail(t, "the Dockerfile's path leaves the context");
	while (len > 0 && t->phase != PH_FAILED && t->phase != PH_ENDED) {
		size_t n;

		if (t->phase == PH_HEADER) {
			n = BLOCK - t->fill < len ? BLOCK - t->fill : len;
			memcpy(t->blk + t->fill, p, n);
			t->fill += n;
			t->offset += n;
			p += n;
			len -= n;
			if (t->fill < BLOCK)
				break;
			t->fill = 0;
			if (header_done(t) != 0)
				break;
			if (t->phase != PH_ENDED)
				t->released = t->offset;
			continue;
		}
		if (t->left > 0) {
			n = t->left < len ? (size_t)t->left : len;
			if (data_bytes(t, p, n) != 0)
				break;
			t->left -= n;
		} else {
			n = t->pad < len ? (size_t)t->pad : len;
			t->pad -= n;
		}
		t->offset += n;
		t->released = t->offset;
		p += n;
		len -= n;
		if (t->left == 0 && t->pad == 0) {
			t->phase = PH_HEADER;
			if (t->special != 0 && special_done(t) != 0)
				break;
		}
	}
	if (t->phase == PH_ENDED)
		t->offset += len;
	if (t->phase == PH_FAILED) {
		*cause = t->cause;
		return -1;
	}
	return 0;
}

uint64_t
tar_reader_released(const struct tar_reader *t)
{
	return t->released;
}

bool
tar_reader_ended(const struct tar_reader *t)
{
	return t->phase == PH_ENDED;
}

int
tar_reader_finish(struct tar_reader *t, const char **cause)
{
	if (t->bad_path && t->phase != PH_FAILED)
		fail(t, "the Dockerfile's path leaves the context");
	if (t->phase == PH_HEADER && t->first && t->fill > 0) {
		/* A compressed context shorter than one block. */
		const char *c;

		memset(t->blk + t->fill, 0, BLOCK - t->fill);
		if ((c = compression_of(t->blk)) != NULL)
			fail(t, c);
	}
	if (t->phase == PH_HEADER && (t->fill != 0 || t->first))
		fail(t,
		    t->first ? "the build context is not a tar archive"
			     : "the build context ends inside a tar header");
	else if (t->phase == PH_DATA)
		fail(t, "the build context ends inside a file");
	if (t->phase == PH_FAILED) {
		*cause = t->cause;
		return -1;
	}
	return 0;
}

const struct tar_file *
tar_reader_file(const struct tar_reader *t, size_t i)
{
	return i < t->n_files ? &t->files[i] : NULL;
}
