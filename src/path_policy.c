#include <stdlib.h>
#include <string.h>

#include "imgref.h"
#include "path_policy.h"
#include "xmalloc.h"

bool
path_policy_route(enum route_id id)
{
	return route_traits(id)->path_policy;
}

void
path_decision_reset(struct path_decision *d)
{
	free(d->message);
	free(d->ref);
	free(d->dockerfile);
	free(d->dockerfile_alt);
	memset(d, 0, sizeof *d);
}

static void
refuse(struct path_decision *out, int status, const char *rule, char *msg)
{
	out->action = PATH_ACT_REFUSE;
	out->status = status;
	out->rule = rule;
	out->message = msg;
}

static void
allow(struct path_decision *out, const char *rule, char *note)
{
	out->action = PATH_ACT_ALLOW;
	out->rule = rule;
	out->message = note;
}

char *
path_plugin_reference(const char *remote)
{
	struct imgref ref;
	const char *cause;
	char *out;

	if (imgref_parse(remote, &ref, &cause) != 0)
		return xstrdup(remote);
	out = ref.kind == IMGREF_NAME && ref.tag == NULL && ref.digest == NULL
	    ? xasprintf("%s:latest", remote)
	    : xstrdup(remote);
	imgref_reset(&ref);
	return out;
}

static void
buildkit(const struct path_head *in, const char *what,
    struct path_decision *out)
{
	if (in->cfg->buildkit_allow) {
		allow(out, "buildkit",
		    xasprintf(
			"%s allowed (buildkit = "
			"allow); the guard cannot see the images BuildKit pulls",
			what));
		return;
	}
	refuse(out, 403, "buildkit",
	    xasprintf(
		"docker-guard: refusing %s: "
		"BuildKit fetches base images inside its own gRPC protocol, which "
		"the guard cannot read, so pull_require_digest and "
		"allowed_registries cannot be applied to them (rule: buildkit). "
		"Build with the legacy builder (DOCKER_BUILDKIT=0 docker build), "
		"whose Dockerfile the guard judges, or set buildkit = allow.",
		what));
}

static void
build(const struct path_head *in, struct path_decision *out)
{
	const char *version = form_get(in->form, "version");
	const char *remote = form_get(in->form, "remote");
	const char *df = form_get(in->form, "dockerfile");

	if (in->media != FORM_MEDIA_OTHER &&
	    !(in->cfg->build == PATH_ALLOW && in->cfg->buildkit_allow)) {
		/* The builder's FormValue reads a form or multipart body for
		   its parameters (version, remote, dockerfile): the guard
		   would judge other parameters than the engine uses. */
		refuse(out, 400, "build",
		    xstrdup(
			"docker-guard: refusing to "
			"build: with a form or multipart Content-Type the engine "
			"would read the build's parameters from the body; send the "
			"build context as a tar stream (application/x-tar) with "
			"the parameters in the query"));
		return;
	}
	if (version != NULL && strcmp(version, "2") == 0) {
		buildkit(in, "a BuildKit build (POST /build?version=2)", out);
		return;
	}
	if (in->cfg->build == PATH_ALLOW) {
		allow(out, "build",
		    xstrdup("legacy build allowed (build = "
			    "allow); its base images are not judged"));
		return;
	}
	if (in->cfg->build == PATH_DENY) {
		refuse(out, 403, "build",
		    xstrdup(
			"docker-guard: refusing to "
			"build: builds through the engine are refused (rule: "
			"build = deny). Build elsewhere and push to a registry, "
			"or set build = judge."));
		return;
	}
	if (remote != NULL && *remote != '\0') {
		refuse(out, 403, "build",
		    xasprintf(
			"docker-guard: refusing to "
			"build from remote=%s: the engine fetches that context "
			"(git or URL) itself, so the guard cannot read its "
			"Dockerfile and judge its base images (rule: build = "
			"judge). Build from a local context, or set build = allow.",
			remote));
		return;
	}
	out->action = PATH_ACT_JUDGE_BUILD;
	out->rule = "build";
	if (df == NULL || *df == '\0' || strcmp(df, "Dockerfile") == 0) {
		out->dockerfile = xstrdup("Dockerfile");
		out->dockerfile_alt = xstrdup("dockerfile");
	} else
		out->dockerfile = xstrdup(df);
}

static void
plugin(const struct path_head *in, struct path_decision *out)
{
	const char *remote = form_get(in->form, "remote");
	const char *name = form_get(in->form, "name");
	const char *verb = in->route == ROUTE_PLUGIN_UPGRADE ? "upgrade"
	    : in->route == ROUTE_PLUGIN_CREATE		     ? "create"
							     : "install";

	if (in->cfg->plugins == PATH_ALLOW) {
		allow(out, "plugins",
		    xasprintf("plugin %s allowed (plugins = "
			      "allow)",
			verb));
		return;
	}
	if (in->cfg->plugins == PATH_DENY) {
		refuse(out, 403, "plugins",
		    xasprintf(
			"docker-guard: refusing "
			"to %s a plugin: plugins are images the engine runs, and "
			"plugins = deny. Set plugins = judge to let pinned ones "
			"through.",
			verb));
		return;
	}
	if (in->route == ROUTE_PLUGIN_CREATE) {
		if (in->cfg->imports_allow) {
			allow(out, "imports",
			    xasprintf(
				"plugin %s created from "
				"the request body allowed (imports = allow)",
				name != NULL ? name : "(unnamed)"));
			return;
		}
		refuse(out, 403, "imports",
		    xasprintf(
			"docker-guard: refusing "
			"to create plugin %s from the request body: a plugin made "
			"from local files is an image no registry has (rule: "
			"imports). Install plugins from a registry by digest, or "
			"set imports = allow.",
			name != NULL ? name : "(unnamed)"));
		return;
	}
	if (in->media == FORM_MEDIA_UNSURE ||
	    in->media == FORM_MEDIA_MULTIPART) {
		refuse(out, 400, "request",
		    xasprintf(
			"docker-guard: refusing "
			"to %s a plugin: the guard cannot tell how the engine "
			"reads this Content-Type",
			verb));
		return;
	}
	if (remote == NULL || *remote == '\0') {
		refuse(out, 400, "request",
		    xasprintf("docker-guard: refusing "
			      "to %s a plugin: no remote reference",
			verb));
		return;
	}
	out->action = PATH_ACT_JUDGE_PULL;
	out->rule = "plugins";
	out->ref = path_plugin_reference(remote);
}

void
path_policy_head(const struct path_head *in, struct path_decision *out)
{
	memset(out, 0, sizeof *out);
	if (in->form->errors > 0) {
		refuse(out, 400, "request",
		    xasprintf(
			"docker-guard: refusing "
			"%s: the query string (or form body) is malformed",
			route_name(in->route)));
		return;
	}
	switch (in->route) {
	case ROUTE_SESSION:
		buildkit(in, "a BuildKit session (POST /session)", out);
		return;
	case ROUTE_GRPC:
		buildkit(in, "a BuildKit gRPC stream (POST /grpc)", out);
		return;
	case ROUTE_BUILD:
		build(in, out);
		return;
	case ROUTE_PLUGIN_PULL:
	case ROUTE_PLUGIN_UPGRADE:
	case ROUTE_PLUGIN_CREATE:
		plugin(in, out);
		return;
	default:
		allow(out, "none", xstrdup("not a judged path"));
		return;
	}
}
