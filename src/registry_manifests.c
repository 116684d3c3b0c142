/*
 * The registry client's manifest cache, least recently used last.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_manifests.h"
#include "xmalloc.h"

void
reg_manifests_init(struct reg_manifests *c)
{
	TAILQ_INIT(&c->list);
	c->n = 0;
}

static void
manifest_drop(struct reg_manifests *c, struct reg_manifest *m)
{
	TAILQ_REMOVE(&c->list, m, entry);
	c->n--;
	free(m->digest);
	free(m->content_type);
	free(m->body);
	free(m);
}

void
reg_manifests_reset(struct reg_manifests *c)
{
	struct reg_manifest *m;

	while ((m = TAILQ_FIRST(&c->list)) != NULL)
		manifest_drop(c, m);
}

const struct reg_manifest *
reg_manifests_get(struct reg_manifests *c, const char *digest)
{
	struct reg_manifest *m;

	TAILQ_FOREACH(m, &c->list, entry)
	{
		if (strcmp(m->digest, digest) == 0) {
			/* Most recently used last. */
			TAILQ_REMOVE(&c->list, m, entry);
			TAILQ_INSERT_TAIL(&c->list, m, entry);
			return m;
		}
	}
	return NULL;
}

void
reg_manifests_put(struct reg_manifests *c, const char *digest,
    const char *content_type, const char *body, size_t len)
{
	struct reg_manifest *m;

	if (reg_manifests_get(c, digest) != NULL)
		return;
	if (c->n >= REG_MANIFESTS_MAX) {
		manifest_drop(c, TAILQ_FIRST(&c->list));
	}
	m = xcalloc(1, sizeof *m);
	m->digest = xstrdup(digest);
	m->content_type = content_type != NULL ? xstrdup(content_type) : NULL;
	m->body = xmalloc(len + 1);
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	TAILQ_INSERT_TAIL(&c->list, m, entry);
	c->n++;
}
