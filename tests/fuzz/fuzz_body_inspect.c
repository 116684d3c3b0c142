/*
 * libFuzzer target for body_inspect: arbitrary bytes as a container
 * create body, a service spec, an engine response and a Content-Type
 * value.  Nothing may crash, leak or read out of bounds, and the module's
 * own invariants must hold.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body_inspect.h"
#include "local_volume.h"
#include "xmalloc.h"
/* The readers of the engine's answers (inspects of containers, volumes,
 * networks, execs): any bytes, no crash, and what they read is whole. */
static void
engine_answers(const char *body, size_t size)
{
	struct body_host	 h;
	struct body_mount	 m;
	char			*pid, *ipc, *net, *id;
	bool			 flag;

	memset(&h, 0, sizeof h);
	if (body_container_host(body, size, &h) == 0) {
		for (size_t i = 0; i < h.n_mounts; i++)
			if (h.mounts[i].source == NULL ||
			    h.mounts[i].where == NULL)
				abort();
	}
	(void)body_container_mounts(body, size, "VolumesFrom x", &h);
	body_host_free(&h);
	if (body_container_modes(body, size, &pid, &ipc, &net) == 0) {
		free(pid);
		free(ipc);
		free(net);
	} else if (pid != NULL || ipc != NULL || net != NULL)
		abort();
	(void)body_network_is_host(body, size, &flag);
	memset(&m, 0, sizeof m);
	if (body_volume_options(body, size, &m) == 0) {
		free(m.driver);
		free(m.device);
		free(m.type);
		free(m.options);
	}
	if (body_exec_inspect(body, size, &id, &flag) == 0) {
		if (id == NULL || id[0] == '\0')
			abort();
		free(id);
	} else if (id != NULL || flag)
		abort();
}


int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_facts(int rc, struct body_facts *facts, char *cause)
{
	size_t	i;

	if (rc != 0) {
		/* A refusal always says why and leaves no facts. */
		if (cause == NULL || cause[0] < 'a' || cause[0] > 'z' ||
		    facts->image != NULL || facts->n_labels != 0 ||
		    facts->n_mount_images != 0)
			abort();
		free(cause);
		return;
	}
	if (cause != NULL)
		abort();
	for (i = 0; i < facts->n_labels; i++) {
		if (body_facts_label(facts, facts->labels[i].key) == NULL)
			abort();
	}
	for (i = 0; i < facts->n_mount_images; i++) {
		if (facts->mount_images[i][0] == '\0')
			abort();
	}
	/* Host facts (profile limits): every mount says where it is from,
	   a bind's source is the client's, never NULL. */
	for (i = 0; i < facts->host.n_mounts; i++) {
		if (facts->host.mounts[i].where == NULL ||
		    facts->host.mounts[i].source == NULL ||
		    (facts->host.mounts[i].driver != NULL &&
		     facts->host.mounts[i].driver[0] == '\0'))
			abort();
	}
	/* A local volume's options read for host paths: each one is a
	   piece of its device or of its o option. */
	for (i = 0; i < facts->host.n_mounts; i++) {
		const struct body_mount *m = &facts->host.mounts[i];
		struct local_volume_paths lv;

		local_volume_paths(m->type, m->device, m->options, &lv);
		for (size_t j = 0; j < lv.n; j++)
			if ((m->device == NULL ||
				strcmp(lv.paths[j], m->device) != 0) &&
			    (m->options == NULL ||
				strstr(m->options, lv.paths[j]) == NULL))
				abort();
		local_volume_paths_reset(&lv);
	}
	for (i = 0; i < facts->host.n_cap_add; i++)
		if (facts->host.cap_add[i] == NULL)
			abort();
	/* Each lift of confinement names where it is and what it lifts. */
	for (i = 0; i < facts->host.n_unconfined; i++)
		if (strstr(facts->host.unconfined[i], ": ") == NULL ||
		    (strncmp(facts->host.unconfined[i], "HostConfig.", 11) != 0 &&
		     strncmp(facts->host.unconfined[i], "TaskTemplate.", 13) != 0))
			abort();
	body_facts_reset(facts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const	 warnings[] = { "w1", "docker-guard: w2" };
	struct body_facts		 facts;
	const char			*body = (const char *)data;
	char				*cause, *s, *out;
	size_t				 out_len;
	int				 rc;

	cause = NULL;
	rc = body_inspect_container_create(body, size, &facts, &cause);
	check_facts(rc, &facts, cause);

	cause = NULL;
	rc = body_inspect_service_spec(body, size, &facts, &cause);
	check_facts(rc, &facts, cause);

	cause = NULL;
	rc = body_inspect_exec_create(body, size, &facts, &cause);
	check_facts(rc, &facts, cause);
	cause = NULL;
	rc = body_inspect_volume_create(body, size, &facts, &cause);
	check_facts(rc, &facts, cause);
	cause = NULL;
	rc = body_inspect_container_update(body, size, &facts, &cause);
	check_facts(rc, &facts, cause);

	s = xstrndup(body, size);
	{
		bool	 bind;
		char	*src = body_bind_source(s, &bind);

		if (src != NULL && (strlen(src) == 0 || strchr(src, ':') ||
		    bind != (src[0] == '/')))
			abort();
		free(src);
	}
	free(s);

	free(body_response_id(body, size));
	engine_answers(body, size);

	out = body_add_warnings(body, size, warnings, 2, &out_len);
	if (out != NULL) {
		if (out_len == 0 || out[out_len] != '\0' || out[0] != '{')
			abort();
		free(out);
	}

	s = xstrndup(body, size);
	(void)body_content_type_is_json(s);
	free(s);
	return (0);
}
