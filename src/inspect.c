#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "xmalloc.h"

static json_t *
load_object(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static char **
string_array(json_t *a, size_t *n)
{
	char **out = NULL;
	size_t i;
	json_t *v;

	*n = 0;
	if (!json_is_array(a))
		return NULL;
	out = xcalloc(json_array_size(a) + 1, sizeof *out);
	json_array_foreach(a, i, v) {
		if (json_is_string(v))
			out[(*n)++] = xstrdup(json_string_value(v));
	}
	return out;
}

/* Labels and Env of an image's config object. */
static void
read_config(json_t *cfg, struct inspect_image *out)
{
	json_t *labels = json_object_get(cfg, "Labels"), *v;
	const char *k;

	if (json_is_object(labels)) {
		out->labels = xcalloc(json_object_size(labels) + 1,
		    sizeof *out->labels);
		json_object_foreach(labels, k, v) {
			if (!json_is_string(v))
				continue;
			out->labels[out->n_labels].key = xstrdup(k);
			out->labels[out->n_labels].value =
			    xstrdup(json_string_value(v));
			out->n_labels++;
		}
	}
	out->env = string_array(json_object_get(cfg, "Env"), &out->n_env);
}

int
inspect_image_parse(const char *body, size_t len, struct inspect_image *out)
{
	json_t *j = load_object(body, len), *id;

	memset(out, 0, sizeof *out);
	if (j == NULL)
		return -1;
	id = json_object_get(j, "Id");
	if (!json_is_string(id)) {
		json_decref(j);
		return -1;
	}
	out->id = xstrdup(json_string_value(id));
	out->repo_digests = string_array(json_object_get(j, "RepoDigests"),
	    &out->n_repo_digests);
	read_config(json_object_get(j, "Config"), out);
	json_decref(j);
	return 0;
}

int
inspect_config_blob_parse(const char *body, size_t len,
    struct inspect_image *out)
{
	json_t *j = load_object(body, len);

	memset(out, 0, sizeof *out);
	if (j == NULL)
		return -1;
	read_config(json_object_get(j, "config"), out);
	json_decref(j);
	return 0;
}

void
inspect_image_reset(struct inspect_image *img)
{
	free(img->id);
	for (size_t i = 0; i < img->n_repo_digests; i++)
		free(img->repo_digests[i]);
	free(img->repo_digests);
	for (size_t i = 0; i < img->n_labels; i++) {
		free(img->labels[i].key);
		free(img->labels[i].value);
	}
	free(img->labels);
	for (size_t i = 0; i < img->n_env; i++)
		free(img->env[i]);
	free(img->env);
	memset(img, 0, sizeof *img);
}

char *
inspect_container_name(const char *body, size_t len)
{
	json_t *j = load_object(body, len), *name;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	name = json_object_get(j, "Name");
	if (json_is_string(name)) {
		const char *s = json_string_value(name);

		while (*s == '/')
			s++;
		out = xstrdup(s);
	}
	json_decref(j);
	return out;
}

char *
inspect_service_previous_spec(const char *body, size_t len, size_t *out_len)
{
	json_t *j = load_object(body, len), *prev;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	prev = json_object_get(j, "PreviousSpec");
	if (json_is_object(prev)) {
		out = json_dumps(prev, JSON_COMPACT);
		if (out != NULL)
			*out_len = strlen(out);
	}
	json_decref(j);
	return out;
}

char *
inspect_error_message(const char *body, size_t len)
{
	json_t *j = load_object(body, len), *m;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	m = json_object_get(j, "message");
	if (json_is_string(m))
		out = xstrdup(json_string_value(m));
	json_decref(j);
	return out;
}

int
inspect_info_platform(const char *body, size_t len, char *os, size_t os_size,
    char *arch, size_t arch_size)
{
	json_t *j = load_object(body, len), *o, *a;
	int r = -1;

	if (j == NULL)
		return -1;
	o = json_object_get(j, "OSType");
	a = json_object_get(j, "Architecture");
	if (json_is_string(o) && json_is_string(a)) {
		snprintf(os, os_size, "%s", json_string_value(o));
		snprintf(arch, arch_size, "%s", json_string_value(a));
		r = 0;
	}
	json_decref(j);
	return r;
}
