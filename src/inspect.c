#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	json_array_foreach(a, i, v)
	{
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
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v))
				continue;
			out->labels[out->n_labels].key = xstrdup(k);
			out->labels[out->n_labels].value = xstrdup(
			    json_string_value(v));
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
	out->repo_tags = string_array(json_object_get(j, "RepoTags"),
	    &out->n_repo_tags);
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
	for (size_t i = 0; i < img->n_repo_tags; i++)
		free(img->repo_tags[i]);
	free(img->repo_tags);
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

/* The object member key of the object in body, as compact JSON (caller
 * frees, *out_len its length), or NULL if absent or not an object. */
static char *
object_member_json(const char *body, size_t len, const char *key,
    size_t *out_len)
{
	json_t *j = load_object(body, len), *member;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	member = json_object_get(j, key);
	if (json_is_object(member)) {
		out = json_dumps(member, JSON_COMPACT);
		if (out != NULL)
			*out_len = strlen(out);
	}
	json_decref(j);
	return out;
}

char *
inspect_service_previous_spec(const char *body, size_t len, size_t *out_len)
{
	return object_member_json(body, len, "PreviousSpec", out_len);
}

char *
inspect_service_spec(const char *body, size_t len, size_t *out_len)
{
	return object_member_json(body, len, "Spec", out_len);
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

char *
inspect_info_name(const char *body, size_t len)
{
	json_t *j = load_object(body, len), *n;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	n = json_object_get(j, "Name");
	if (json_is_string(n) && json_string_length(n) > 0 &&
	    json_string_length(n) <= 253 &&
	    strlen(json_string_value(n)) == json_string_length(n))
		out = xstrdup(json_string_value(n));
	json_decref(j);
	return out;
}

char *
inspect_engine_version(const char *body, size_t len)
{
	json_t *j = load_object(body, len), *v, *a;
	char *out = NULL;

	if (j == NULL)
		return NULL;
	v = json_object_get(j, "Version");
	a = json_object_get(j, "ApiVersion");
	if (json_is_string(v))
		out = json_is_string(a)
		    ? xasprintf("%s (API %s)", json_string_value(v),
			  json_string_value(a))
		    : xstrdup(json_string_value(v));
	json_decref(j);
	return out;
}

static char *
dup_string(json_t *v)
{
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int
inspect_event_parse(const char *line, size_t len, struct inspect_event *out)
{
	json_t *j = load_object(line, len), *actor;

	memset(out, 0, sizeof *out);
	if (j == NULL)
		return -1;
	if (!json_is_string(json_object_get(j, "Type")) ||
	    strcmp(json_string_value(json_object_get(j, "Type")),
		"container") != 0) {
		json_decref(j);
		return -1;
	}
	actor = json_object_get(j, "Actor");
	out->action = dup_string(json_object_get(j, "Action"));
	out->id = dup_string(json_object_get(actor, "ID"));
	out->name = dup_string(
	    json_object_get(json_object_get(actor, "Attributes"), "name"));
	if (json_is_integer(json_object_get(j, "timeNano")))
		out->time_nano = json_integer_value(
		    json_object_get(j, "timeNano"));
	else if (json_is_integer(json_object_get(j, "time")) &&
	    json_integer_value(json_object_get(j, "time")) > 0 &&
	    json_integer_value(json_object_get(j, "time")) <
		INT64_MAX / 1000000000)
		out->time_nano = json_integer_value(
				     json_object_get(j, "time")) *
		    1000000000;
	if (out->time_nano < 0)
		out->time_nano = 0;
	json_decref(j);
	if (out->action == NULL || out->id == NULL) {
		inspect_event_reset(out);
		return -1;
	}
	return 0;
}

void
inspect_event_reset(struct inspect_event *ev)
{
	free(ev->action);
	free(ev->id);
	free(ev->name);
	memset(ev, 0, sizeof *ev);
}

char **
inspect_container_ids(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL), *v;
	char **out;
	size_t i, n = 0;

	if (!json_is_array(j)) {
		json_decref(j);
		return NULL;
	}
	out = xcalloc(json_array_size(j) + 1, sizeof *out);
	json_array_foreach(j, i, v)
	{
		json_t *id = json_object_get(v, "Id");

		if (json_is_string(id))
			out[n++] = xstrdup(json_string_value(id));
	}
	json_decref(j);
	return out;
}

char **
inspect_pruned_ids(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL), *list, *v;
	char **out;
	size_t i, n = 0;

	list = json_object_get(j, "ContainersDeleted");
	if (!json_is_array(list)) {
		json_decref(j);
		return NULL;
	}
	out = xcalloc(json_array_size(list) + 1, sizeof *out);
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v))
			out[n++] = xstrdup(json_string_value(v));
	}
	json_decref(j);
	return out;
}

int
inspect_container_parse(const char *body, size_t len,
    struct inspect_container *out)
{
	json_t *j = load_object(body, len), *cfg, *labels, *v, *state;
	const char *k, *name;
	struct tm tm;

	memset(out, 0, sizeof *out);
	if (j == NULL)
		return -1;
	out->id = dup_string(json_object_get(j, "Id"));
	if (out->id == NULL) {
		json_decref(j);
		return -1;
	}
	name = json_string_value(json_object_get(j, "Name"));
	if (name != NULL) {
		while (*name == '/')
			name++;
		out->name = xstrdup(name);
	}
	cfg = json_object_get(j, "Config");
	out->image_ref = dup_string(json_object_get(cfg, "Image"));
	out->image_id = dup_string(json_object_get(j, "Image"));
	state = json_object_get(j, "State");
	out->running = json_is_true(json_object_get(state, "Running"));
	memset(&tm, 0, sizeof tm);
	if (json_is_string(json_object_get(j, "Created")) &&
	    strptime(json_string_value(json_object_get(j, "Created")),
		"%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		out->created = (int64_t)timegm(&tm);
	memset(&tm, 0, sizeof tm);
	if (json_is_string(json_object_get(state, "FinishedAt")) &&
	    strptime(json_string_value(json_object_get(state, "FinishedAt")),
		"%Y-%m-%dT%H:%M:%S", &tm) != NULL &&
	    tm.tm_year > 70)
		out->finished = (int64_t)timegm(&tm);
	labels = json_object_get(cfg, "Labels");
	if (json_is_object(labels)) {
		out->facts.labels = xcalloc(json_object_size(labels) + 1,
		    sizeof *out->facts.labels);
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v))
				continue;
			out->facts.labels[out->facts.n_labels].key = xstrdup(k);
			out->facts.labels[out->facts.n_labels].value = xstrdup(
			    json_string_value(v));
			out->facts.n_labels++;
		}
	}
	json_decref(j);
	return 0;
}

void
inspect_container_reset(struct inspect_container *c)
{
	free(c->id);
	free(c->name);
	free(c->image_ref);
	free(c->image_id);
	body_facts_reset(&c->facts);
	memset(c, 0, sizeof *c);
}

char *
inspect_restore_body(const char *body, size_t len)
{
	json_t *j = load_object(body, len), *cfg, *host, *out, *image, *nets;
	const char *mode, *cref;
	char *text;

	if (j == NULL)
		return NULL;
	cfg = json_object_get(j, "Config");
	host = json_object_get(j, "HostConfig");
	image = json_object_get(j, "Image");
	if (!json_is_object(cfg) || !json_is_string(image)) {
		json_decref(j);
		return NULL;
	}
	out = json_deep_copy(cfg);
	/* Run exactly the image that ran: a digest, or the image ID. */
	cref = json_string_value(json_object_get(cfg, "Image"));
	if (cref == NULL || strstr(cref, "@sha256:") == NULL)
		json_object_set(out, "Image", image);
	if (json_is_object(host))
		json_object_set(out, "HostConfig", host);
	mode = json_string_value(json_object_get(host, "NetworkMode"));
	nets = json_object_get(json_object_get(j, "NetworkSettings"),
	    "Networks");
	if (mode != NULL && json_is_object(nets) && strcmp(mode, "none") != 0 &&
	    strcmp(mode, "host") != 0 && strcmp(mode, "bridge") != 0 &&
	    strcmp(mode, "default") != 0 &&
	    strncmp(mode, "container:", 10) != 0) {
		json_t *ep = json_object_get(nets, mode);

		if (json_is_object(ep)) {
			json_t *e = json_object(), *ec = json_object(),
			       *nc = json_object();

			if (json_is_array(json_object_get(ep, "Aliases")))
				json_object_set(e, "Aliases",
				    json_object_get(ep, "Aliases"));
			if (json_is_object(json_object_get(ep, "IPAMConfig")))
				json_object_set(e, "IPAMConfig",
				    json_object_get(ep, "IPAMConfig"));
			json_object_set_new(ec, mode, e);
			json_object_set_new(nc, "EndpointsConfig", ec);
			json_object_set_new(out, "NetworkingConfig", nc);
		}
	}
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	json_decref(j);
	return text;
}
