#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "path_policy.h"

struct row {
	enum route_id	 route;
	const char	*query;
	enum form_media	 media;
	const char	*config;	/* "build=deny" style, one key */
	enum path_action want;
	const char	*detail;	/* message prefix, ref or dockerfile */
};

static const struct row rows[] = {
	{ ROUTE_SESSION, "", FORM_MEDIA_OTHER, NULL, PATH_ACT_REFUSE,
	  "docker-guard: refusing a BuildKit session" },
	{ ROUTE_GRPC, "", FORM_MEDIA_OTHER, "buildkit", PATH_ACT_ALLOW,
	  "a BuildKit gRPC stream (POST /grpc) allowed" },
	{ ROUTE_BUILD, "version=2&t=x", FORM_MEDIA_OTHER, NULL,
	  PATH_ACT_REFUSE, "docker-guard: refusing a BuildKit build" },
	{ ROUTE_BUILD, "version=2", FORM_MEDIA_OTHER, "buildkit",
	  PATH_ACT_ALLOW, "a BuildKit build" },
	{ ROUTE_BUILD, "t=x", FORM_MEDIA_OTHER, NULL, PATH_ACT_JUDGE_BUILD,
	  "Dockerfile" },
	{ ROUTE_BUILD, "version=1&dockerfile=sub%2FDockerfile.prod",
	  FORM_MEDIA_OTHER, NULL, PATH_ACT_JUDGE_BUILD,
	  "sub/Dockerfile.prod" },
	{ ROUTE_BUILD, "remote=https://x/y.git", FORM_MEDIA_OTHER, NULL,
	  PATH_ACT_REFUSE, "docker-guard: refusing to build from remote=" },
	{ ROUTE_BUILD, "", FORM_MEDIA_MULTIPART, NULL, PATH_ACT_REFUSE,
	  "docker-guard: refusing to build: with a form" },
	{ ROUTE_BUILD, "version=2", FORM_MEDIA_URLENCODED, "buildkit",
	  PATH_ACT_REFUSE, "docker-guard: refusing to build: with a form" },
	{ ROUTE_BUILD, "", FORM_MEDIA_URLENCODED, "build=allow",
	  PATH_ACT_REFUSE, "docker-guard: refusing to build: with a form" },
	{ ROUTE_BUILD, "", FORM_MEDIA_OTHER, "build=deny", PATH_ACT_REFUSE,
	  "docker-guard: refusing to build: builds" },
	{ ROUTE_BUILD, "remote=x", FORM_MEDIA_OTHER, "build=allow",
	  PATH_ACT_ALLOW, "legacy build allowed" },
	{ ROUTE_BUILD, "t=a;b", FORM_MEDIA_OTHER, NULL, PATH_ACT_REFUSE,
	  "docker-guard: refusing build: the query" },
	{ ROUTE_PLUGIN_PULL, "remote=reg:5000/p:1.0&name=p", FORM_MEDIA_OTHER,
	  NULL, PATH_ACT_JUDGE_PULL, "reg:5000/p:1.0" },
	{ ROUTE_PLUGIN_PULL, "remote=vieux/sshfs", FORM_MEDIA_OTHER, NULL,
	  PATH_ACT_JUDGE_PULL, "vieux/sshfs:latest" },
	{ ROUTE_PLUGIN_UPGRADE, "remote=", FORM_MEDIA_OTHER, NULL,
	  PATH_ACT_REFUSE, "docker-guard: refusing to upgrade a plugin: no" },
	{ ROUTE_PLUGIN_PULL, "remote=x", FORM_MEDIA_UNSURE, NULL,
	  PATH_ACT_REFUSE, "docker-guard: refusing to install a plugin: the" },
	{ ROUTE_PLUGIN_PULL, "remote=x", FORM_MEDIA_OTHER, "plugins=deny",
	  PATH_ACT_REFUSE, "docker-guard: refusing to install a plugin: plug" },
	{ ROUTE_PLUGIN_CREATE, "name=p", FORM_MEDIA_OTHER, NULL,
	  PATH_ACT_ALLOW, "plugin p created" },
	{ ROUTE_PLUGIN_CREATE, "name=p", FORM_MEDIA_OTHER, "imports=deny",
	  PATH_ACT_REFUSE, "docker-guard: refusing to create plugin p" },
};

static void
test_rows(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct guard_config *cfg = config_new();
		struct form f = { 0 };
		struct path_head in = { 0 };
		struct path_decision d;
		const char *got;

		if (r->config != NULL && strcmp(r->config, "buildkit") == 0)
			cfg->buildkit_allow = true;
		else if (r->config != NULL && strcmp(r->config, "build=deny") == 0)
			cfg->build = PATH_DENY;
		else if (r->config != NULL && strcmp(r->config, "build=allow") == 0)
			cfg->build = PATH_ALLOW;
		else if (r->config != NULL && strcmp(r->config, "plugins=deny") == 0)
			cfg->plugins = PATH_DENY;
		else if (r->config != NULL && strcmp(r->config, "imports=deny") == 0)
			cfg->imports_allow = false;
		form_parse(&f, r->query, strlen(r->query));
		in.cfg = cfg;
		in.route = r->route;
		in.form = &f;
		in.media = r->media;
		path_policy_head(&in, &d);
		CHECKF(d.action == r->want, "row %zu: action %d", i,
		    (int)d.action);
		got = d.action == PATH_ACT_JUDGE_PULL ? d.ref :
		    d.action == PATH_ACT_JUDGE_BUILD ? d.dockerfile : d.message;
		CHECKF(got != NULL && strncmp(got, r->detail,
		    strlen(r->detail)) == 0, "row %zu: \"%s\"", i,
		    got ? got : "(null)");
		path_decision_reset(&d);
		form_reset(&f);
		config_free(cfg);
	}
}

static const struct check_case cases[] = {
	{ "rows", test_rows },
};

int
main(void)
{
	return CHECK_RUN("path_policy", cases);
}
