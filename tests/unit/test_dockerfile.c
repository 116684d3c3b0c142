#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dockerfile.h"

struct row {
	const char	*text;
	const char	*buildargs;
	int		 ok;
	const char	*images;	/* "ref@line ref@line", or the cause's
					   start when !ok */
};

static const struct row rows[] = {
	{ "FROM app:1.0\n", NULL, 1, "app:1.0@1" },
	{ "from app@sha256:aa\nRUN x\n", NULL, 1, "app@sha256:aa@1" },
	{ "FROM scratch\nCOPY a /\n", NULL, 1, "" },
	{ "# comment\n\nFROM a AS build\nFROM b\nCOPY --from=build /x /y\n",
	  NULL, 1, "a@3 b@4" },
	{ "FROM a AS Build\nFROM BUILD\n", NULL, 1, "a@1" },
	{ "FROM a AS one\nFROM b\nCOPY --from=0 /x /y\n"
	  "COPY --from=c:1 /x /y\nCOPY --chown=1 --from=one /x /y\n", NULL, 1,
	  "a@1 b@2 c:1@4" },
	{ "FROM --platform=linux/amd64 a:1\n", NULL, 1, "a:1@1" },
	{ "FROM \\\n  a:1 \\\n  AS x\n", NULL, 1, "a:1@1" },
	{ "FROM \\\n# comment inside\n\n  a:1\n", NULL, 1, "a:1@1" },
	{ "# escape=`\nFROM `\n a:2\n", NULL, 1, "a:2@2" },
	{ "\xef\xbb\xbf" "FROM a\n", NULL, 1, "a@1" },
	{ "FROM a\r\nFROM b\r\n", NULL, 1, "a@1 b@2" },
	/* Meta ARGs: defaults, buildargs, builtins, quotes. */
	{ "ARG V=1.0\nFROM app:$V\n", NULL, 1, "app:1.0@2" },
	{ "ARG V=1.0\nFROM app:${V}\n", "{\"V\":\"2.0\"}", 1, "app:2.0@2" },
	{ "ARG V=1.0\nFROM app:${V}\n", "{\"V\":null}", 1, "app:1.0@2" },
	{ "ARG V\nFROM app:${V:-3.0}\n", NULL, 1, "app:3.0@2" },
	{ "ARG V=\nFROM app${V:+:x}\n", NULL, 1, "app@2" },
	{ "ARG V=1\nFROM app${V:+:x}\n", NULL, 1, "app:x@2" },
	{ "ARG R=reg:5000 T=\"1.0\"\nFROM $R/app:$T\n", NULL, 1,
	  "reg:5000/app:1.0@2" },
	{ "ARG A=1\nARG B=${A}.5\nFROM app:$B\n", NULL, 1, "app:1.5@3" },
	{ "ARG A=1\nARG A\nFROM app:${A:-none}\n", NULL, 1, "app:none@3" },
	{ "FROM app:$V\n", "{\"V\":\"9\"}", 1, "app:@1" },
	{ "FROM $HTTP_PROXY\n", "{\"HTTP_PROXY\":\"p:1\"}", 1, "p:1@1" },
	{ "FROM a\nARG V=2\nFROM b:$V\n", NULL, 1, "a@1 b:@3" },
	{ "ARG V='x y'\nFROM a\n", NULL, 1, "a@2" },
	/* What the guard does not guess at. */
	{ "FROM app:${V/x/y}\n", NULL, 0, "line 1: the guard cannot read" },
	{ "FROM app:${V?no}\n", NULL, 0, "line 1: the guard cannot read" },
	{ "FROM $\n", NULL, 0, "line 1: the guard cannot read" },
	{ "FROM --platform=\"a b\" x\n", NULL, 0, "line 1: FROM has flags" },
	{ "FROM a b\n", NULL, 0, "line 1: FROM needs" },
	{ "COPY --from=$X a b\nFROM a\n", NULL, 0, "line 1: the guard" },
	{ "RUN x\n", NULL, 0, "the Dockerfile has no FROM" },
	{ "", NULL, 0, "the Dockerfile has no FROM" },
	{ "# escape=x\nFROM a\n", NULL, 0, "line 1: a bad" },
	{ "FROM a\n", "[1]", 0, "" },
};

static char *
describe(const struct dockerfile_images *imgs)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < imgs->n; i++)
		len += strlen(imgs->v[i].ref) + 16;
	s = calloc(1, len);
	for (size_t i = 0; i < imgs->n; i++)
		sprintf(s + strlen(s), "%s%s@%u", i > 0 ? " " : "",
		    imgs->v[i].ref, imgs->v[i].line);
	return s;
}

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct dockerfile_args args;
		struct dockerfile_images imgs;
		char *cause = NULL, *got;
		int rc;

		rc = dockerfile_args_parse(r->buildargs, &args, &cause);
		if (rc == 0)
			rc = dockerfile_images(r->text, strlen(r->text), &args,
			    &imgs, &cause);
		CHECKF((rc == 0) == r->ok, "row %zu: rc %d (%s)", i, rc,
		    cause ? cause : "");
		if (rc == 0 && r->ok) {
			got = describe(&imgs);
			CHECKF(strcmp(got, r->images) == 0,
			    "row %zu: got \"%s\"", i, got);
			free(got);
			dockerfile_images_reset(&imgs);
		} else if (rc != 0 && !r->ok) {
			CHECKF(strncmp(cause, r->images, strlen(r->images)) ==
			    0, "row %zu: cause \"%s\"", i, cause);
		}
		free(cause);
		dockerfile_args_reset(&args);
	}
}

static void
test_args(void)
{
	struct dockerfile_args a;
	char *cause = NULL;

	CHECK_INT_EQ(dockerfile_args_parse("{\"A\":\"1\",\"A\":\"2\"}", &a,
	    &cause), -1);
	free(cause);
	cause = NULL;
	CHECK_INT_EQ(dockerfile_args_parse("{\"A\":1}", &a, &cause), -1);
	free(cause);
	CHECK_INT_EQ(dockerfile_args_parse("{\"A\":\"1\",\"B\":null}", &a,
	    &cause), 0);
	CHECK_INT_EQ(a.n, 2);
	dockerfile_args_reset(&a);
	CHECK_INT_EQ(dockerfile_args_parse(NULL, &a, &cause), 0);
	CHECK_INT_EQ(a.n, 0);
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
	{ "args", test_args },
};

int
main(void)
{
	return CHECK_RUN("dockerfile", cases);
}
