#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tar_reader.h"

/* A growing archive built in memory. */
struct ar {
	unsigned char	*b;
	size_t		 len;
};

static void
ar_add(struct ar *a, const void *p, size_t n)
{
	a->b = realloc(a->b, a->len + n);
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

/* One header (ustar unless gnu) and its padded data. */
static void
entry(struct ar *a, const char *name, char type, const char *data,
    size_t size, const char *prefix, bool gnu)
{
	unsigned char h[512] = { 0 };
	unsigned sum = 0;
	char num[32];

	strncpy((char *)h, name, 100);
	memcpy(h + 100, "0000644", 7);
	snprintf(num, sizeof num, "%011zo", size);
	memcpy(h + 124, num, 11);
	h[156] = (unsigned char)type;
	if (gnu)
		memcpy(h + 257, "ustar  ", 8);
	else
		memcpy(h + 257, "ustar\0" "00", 8);
	if (prefix != NULL)
		strncpy((char *)h + 345, prefix, 155);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	ar_add(a, h, 512);
	if (data != NULL) {
		size_t pad = (512 - size % 512) % 512;
		unsigned char z[512] = { 0 };

		ar_add(a, data, size);
		ar_add(a, z, pad);
	}
}

static void
reg(struct ar *a, const char *name, const char *data)
{
	entry(a, name, '0', data, strlen(data), NULL, false);
}

static void
end(struct ar *a)
{
	unsigned char z[1024] = { 0 };

	ar_add(a, z, sizeof z);
}

/* Feed in pieces of step bytes; return the reader (caller frees). */
static struct tar_reader *
run(const struct ar *a, size_t step, const char *const *paths, size_t n,
    int *rc, const char **cause)
{
	struct tar_reader *t = tar_reader_new(paths, n, 4096);

	*rc = 0;
	for (size_t off = 0; off < a->len && *rc == 0; off += step) {
		size_t k = a->len - off < step ? a->len - off : step;

		*rc = tar_reader_feed(t, a->b + off, k, cause);
		if (*rc == 0 && !tar_reader_ended(t))
			CHECK(tar_reader_released(t) <= off + k);
	}
	if (*rc == 0)
		*rc = tar_reader_finish(t, cause);
	return t;
}

static const char *const df[] = { "Dockerfile", "dockerfile" };

static void
test_plain(void)
{
	static const size_t steps[] = { 1, 7, 511, 512, 513, 100000 };

	for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
		struct ar a = { 0 };
		struct tar_reader *t;
		const char *cause = NULL;
		size_t body_end;
		int rc;

		reg(&a, "src/main.c", "int main;\n");
		reg(&a, "./Dockerfile", "FROM old\n");
		reg(&a, "Dockerfile", "FROM app:1.0\n");
		body_end = a.len;
		end(&a);
		t = run(&a, steps[s], df, 2, &rc, &cause);
		CHECK_INT_EQ(rc, 0);
		CHECK(tar_reader_ended(t));
		CHECK_INT_EQ(tar_reader_released(t), body_end);
		CHECK_INT_EQ(tar_reader_file(t, 0)->state, TAR_FILE_REGULAR);
		CHECK_STR_EQ(tar_reader_file(t, 0)->data, "FROM app:1.0\n");
		CHECK_INT_EQ(tar_reader_file(t, 1)->state, TAR_FILE_ABSENT);
		tar_reader_free(t);
		free(a.b);
	}
}

static void
test_names(void)
{
	struct ar a = { 0 };
	struct tar_reader *t;
	const char *cause = NULL;
	const char *const p[] = { "sub/dir/Dockerfile.prod" };
	char longname[300];
	int rc;

	/* ustar prefix, a GNU long name, a PAX path; the last one wins. */
	entry(&a, "Dockerfile.prod", '0', "FROM a\n", 7, "sub/dir", false);
	memset(longname, 0, sizeof longname);
	strcpy(longname, "sub//dir/./Dockerfile.prod");
	entry(&a, "././@LongLink", 'L', longname, strlen(longname) + 1, NULL,
	    true);
	entry(&a, "ignored", '0', "FROM b\n", 7, NULL, true);
	entry(&a, "PaxHeader", 'x', "32 path=sub/dir/Dockerfile.prod\n",
	    32, NULL, false);
	entry(&a, "ignored2", '0', "FROM c\n", 7, NULL, false);
	end(&a);
	t = run(&a, 100, p, 1, &rc, &cause);
	CHECK_INT_EQ(rc, 0);
	CHECK_STR_EQ(tar_reader_file(t, 0)->data, "FROM c\n");
	tar_reader_free(t);
	free(a.b);
}

static void
test_removed(void)
{
	struct ar a = { 0 };
	struct tar_reader *t;
	const char *cause = NULL;
	const char *const p[] = { "d/Dockerfile" };
	int rc;

	reg(&a, "d/Dockerfile", "FROM a\n");
	reg(&a, "d", "now a file\n");		/* RemoveAll("d") */
	end(&a);
	t = run(&a, 512, p, 1, &rc, &cause);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(tar_reader_file(t, 0)->state, TAR_FILE_ABSENT);
	tar_reader_free(t);
	free(a.b);

	memset(&a, 0, sizeof a);
	reg(&a, "Dockerfile", "FROM a\n");
	entry(&a, "Dockerfile", '5', NULL, 0, NULL, false);
	end(&a);
	t = run(&a, 512, df, 1, &rc, &cause);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(tar_reader_file(t, 0)->state, TAR_FILE_OTHER);
	tar_reader_free(t);
	free(a.b);
}

struct bad_row {
	const char	*name;
	char		 type;
	const char	*data;
	const char	*cause;
};

static void
test_refused(void)
{
	static const struct bad_row rows[] = {
		{ "Dockerfile", '2', NULL, "the Dockerfile is a link" },
		{ "Dockerfile", '1', NULL, "the Dockerfile is a link" },
		{ "../Dockerfile", '0', "x", "an entry's name leaves" },
		{ "Dockerfile", 'S', "x", "the context holds a sparse" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct ar a = { 0 };
		struct tar_reader *t;
		const char *cause = NULL;
		int rc;

		entry(&a, rows[i].name, rows[i].type, rows[i].data,
		    rows[i].data ? strlen(rows[i].data) : 0, NULL, false);
		end(&a);
		t = run(&a, 512, df, 2, &rc, &cause);
		CHECKF(rc == -1 && cause != NULL && strncmp(cause,
		    rows[i].cause, strlen(rows[i].cause)) == 0, "row %zu: %s",
		    i, cause ? cause : "(none)");
		tar_reader_free(t);
		free(a.b);
	}
}

static void
test_through_link(void)
{
	struct ar a = { 0 };
	struct tar_reader *t;
	const char *cause = NULL;
	int rc;

	entry(&a, "lnk", '2', NULL, 0, NULL, false);
	reg(&a, "lnk/Dockerfile", "FROM x\n");
	end(&a);
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "an entry is written through a symbolic link");
	tar_reader_free(t);
	free(a.b);
}

static void
test_framing(void)
{
	struct ar a = { 0 };
	struct tar_reader *t;
	const char *cause = NULL;
	unsigned char gz[600] = { 0x1f, 0x8b, 0x08 };
	int rc;

	/* Compressed. */
	ar_add(&a, gz, sizeof gz);
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "the build context is gzip-compressed");
	tar_reader_free(t);
	free(a.b);

	/* Compressed, shorter than a block. */
	memset(&a, 0, sizeof a);
	ar_add(&a, "BZh91AY", 7);
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "the build context is bzip2-compressed");
	tar_reader_free(t);
	free(a.b);

	/* A corrupted checksum. */
	memset(&a, 0, sizeof a);
	reg(&a, "Dockerfile", "FROM a\n");
	a.b[0] ^= 1;
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "a tar header has a bad checksum");
	tar_reader_free(t);
	free(a.b);

	/* Ends inside data; ends at a header boundary (fine). */
	memset(&a, 0, sizeof a);
	reg(&a, "Dockerfile", "FROM a\n");
	a.len -= 100;
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "the build context ends inside a file");
	tar_reader_free(t);
	a.len += 100;
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, 0);
	CHECK(!tar_reader_ended(t));
	CHECK_INT_EQ(tar_reader_released(t), a.len);
	tar_reader_free(t);
	free(a.b);

	/* Not a tar at all; too big a Dockerfile. */
	memset(&a, 0, sizeof a);
	ar_add(&a, "FROM a\n", 7);
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	tar_reader_free(t);
	free(a.b);
	memset(&a, 0, sizeof a);
	{
		char *big = malloc(5000);

		memset(big, 'x', 5000);
		entry(&a, "Dockerfile", '0', big, 5000, NULL, false);
		free(big);
	}
	t = run(&a, 512, df, 2, &rc, &cause);
	CHECK_INT_EQ(rc, -1);
	CHECK_STR_EQ(cause, "the Dockerfile is larger than the guard reads");
	tar_reader_free(t);
	free(a.b);
}

static void
test_clean(void)
{
	static const char *const rows[][2] = {
		{ "Dockerfile", "Dockerfile" },
		{ "./Dockerfile", "Dockerfile" },
		{ "/Dockerfile", "Dockerfile" },
		{ "a//b/./c/", "a/b/c" },
		{ "a/../b", "b" },
		{ "/../x", "x" },
		{ "../x", NULL },
		{ "a/../../x", NULL },
		{ ".", "" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *c = tar_clean_path(rows[i][0]);

		CHECKF(rows[i][1] == NULL ? c == NULL : c != NULL &&
		    strcmp(c, rows[i][1]) == 0, "row %zu: %s", i,
		    c ? c : "(null)");
		free(c);
	}
}

/* Archives GNU tar wrote (ustar, pax, gnu), from the fuzz corpus. */
static void
test_gnu_tar(void)
{
	static const char *const files[] = { "plain.tar", "pax.tar",
	    "gnu.tar" };

	for (size_t i = 0; i < 3; i++) {
		char path[512];
		FILE *f;
		struct ar a = { 0 };
		unsigned char buf[4096];
		size_t n;
		struct tar_reader *t;
		const char *cause = NULL;
		const char *const p[] = { "Dockerfile", "sub/Dockerfile" };
		int rc;

		snprintf(path, sizeof path, "%s/tests/fuzz/corpus/tar_reader/%s",
		    SOURCE_ROOT, files[i]);
		f = fopen(path, "rb");
		CHECK(f != NULL);
		if (f == NULL)
			continue;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			ar_add(&a, buf, n);
		fclose(f);
		t = run(&a, 333, p, 2, &rc, &cause);
		CHECKF(rc == 0, "%s: %s", files[i], cause ? cause : "");
		CHECK(tar_reader_ended(t));
		CHECK_STR_EQ(tar_reader_file(t, 0)->data, "FROM a\n");
		CHECK_STR_EQ(tar_reader_file(t, 1)->data, "FROM b\n");
		tar_reader_free(t);
		free(a.b);
	}
}

static const struct check_case cases[] = {
	{ "gnu_tar", test_gnu_tar },
	{ "plain", test_plain },
	{ "names", test_names },
	{ "removed", test_removed },
	{ "refused", test_refused },
	{ "through_link", test_through_link },
	{ "framing", test_framing },
	{ "clean", test_clean },
};

int
main(void)
{
	return CHECK_RUN("tar_reader", cases);
}
