/*
 * The images a Dockerfile makes the legacy builder pull or use: every
 * FROM that is not "scratch" or an earlier stage, and every COPY --from
 * that is not a stage, read as the engine's parser (BuildKit's
 * frontend/dockerfile/parser, vendored by dockerd) reads them: parser
 * directives (escape), comments, line continuations, ARGs before the
 * first FROM substituted into FROM from their defaults and the build's
 * buildargs.  Pure: no I/O.
 *
 * The guard reads a subset of the shell-word syntax: $NAME, ${NAME},
 * ${NAME:-word}, ${NAME:+word} with a literal word, quotes and the escape
 * token.  A FROM, COPY --from or meta ARG outside that subset is an error
 * ("cannot judge"), never a guess.
 */
#ifndef DOCKERFILE_H
#define DOCKERFILE_H

#include <stddef.h>

struct dockerfile_arg {
	char *key;
	char *value; /* NULL: given as null (no value) */
};

/* The build's arguments (?buildargs=, a JSON object of strings). */
struct dockerfile_args {
	struct dockerfile_arg *v;
	size_t n;
};

struct dockerfile_image {
	char *ref;	  /* after substitution */
	unsigned line;	  /* 1-based */
	const char *what; /* "FROM" or "COPY --from" (static) */
};

struct dockerfile_images {
	struct dockerfile_image *v;
	size_t n;
};

/*
 * Parse the buildargs JSON (NULL or "": none) as the engine's
 * json.Unmarshal into map[string]*string does; duplicate keys are
 * refused.  Returns 0, or -1 with *cause (caller frees).
 */
int dockerfile_args_parse(const char *json, struct dockerfile_args *out,
    char **cause);
void dockerfile_args_reset(struct dockerfile_args *a);

/*
 * The images of the Dockerfile text (len bytes).  Returns 0 and fills
 * *out (caller resets), or -1 with *cause (caller frees) when the guard
 * cannot read the Dockerfile as the engine would.
 */
int dockerfile_images(const char *text, size_t len,
    const struct dockerfile_args *args, struct dockerfile_images *out,
    char **cause);
void dockerfile_images_reset(struct dockerfile_images *imgs);

#endif
