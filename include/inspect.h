/*
 * The engine's inspect answers, reduced to what the guard needs.  Pure.
 */
#ifndef INSPECT_H
#define INSPECT_H

#include <stddef.h>

#include "body_inspect.h"

struct inspect_image {
	char			*id;		/* "sha256:<hex>" */
	char			**repo_digests;	/* "repo@sha256:<hex>" */
	size_t			  n_repo_digests;
	struct body_label	*labels;	/* Config.Labels */
	size_t			  n_labels;
	char			**env;		/* Config.Env */
	size_t			  n_env;
};

/* GET /images/{name}/json.  0 on success (caller calls
 * inspect_image_reset), -1 if the body is not an image inspect. */
int	 inspect_image_parse(const char *body, size_t len,
	    struct inspect_image *out);
void	 inspect_image_reset(struct inspect_image *img);

/* An image config blob from a registry ({"config": {"Labels": ..,
 * "Env": [..]}}): only labels and env are filled.  0, or -1. */
int	 inspect_config_blob_parse(const char *body, size_t len,
	    struct inspect_image *out);

/* GET /containers/{id}/json: the container's name without the leading
 * '/'.  Caller frees; NULL if absent. */
char	*inspect_container_name(const char *body, size_t len);

/* GET /services/{id}: PreviousSpec as compact JSON, or NULL if the
 * service has none.  Caller frees; *out_len is its length. */
char	*inspect_service_previous_spec(const char *body, size_t len,
	    size_t *out_len);

/* GET /info: the engine's OSType and Architecture into the buffers
 * ("linux", "x86_64").  0, or -1 if absent. */
int	 inspect_info_platform(const char *body, size_t len, char *os,
	    size_t os_size, char *arch, size_t arch_size);

/* The "message" of an engine error body, or NULL.  Caller frees. */
char	*inspect_error_message(const char *body, size_t len);

#endif
