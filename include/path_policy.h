/*
 * The other paths by which the engine pulls or runs an image: the legacy
 * builder (POST /build), BuildKit (POST /session, POST /grpc, POST
 * /build?version=2) and plugins (POST /plugins/pull,
 * /plugins/{name}/upgrade, /plugins/create).  From the request's head and
 * parameters (read as the engine reads them, see form.h) and the
 * configuration (build, buildkit, plugins, imports), decide what the
 * guard does with the request.  Pure: no I/O.
 */
#ifndef PATH_POLICY_H
#define PATH_POLICY_H

#include <stdbool.h>

#include "config.h"
#include "form.h"
#include "route.h"

enum path_action {
	PATH_ACT_REFUSE,      /* status, rule, message */
	PATH_ACT_ALLOW,	      /* let it through; rule and message say why */
	PATH_ACT_JUDGE_BUILD, /* stream the context, judge the Dockerfile
				   (dockerfile, dockerfile_alt, buildargs) */
	PATH_ACT_JUDGE_PULL,  /* judge ref by the pull rules */
};

struct path_decision {
	enum path_action action;
	int status;	      /* REFUSE: 400 or 403 */
	const char *rule;     /* "build", "buildkit", ... */
	char *message;	      /* REFUSE: the denial; ALLOW:
						   the audit note */
	char *ref;	      /* JUDGE_PULL: what is pulled */
	char *dockerfile;     /* JUDGE_BUILD: its path */
	char *dockerfile_alt; /* "dockerfile", the engine's
						    fallback, or NULL */
};

struct path_head {
	const struct guard_config *cfg;
	enum route_id route;
	const struct form *form; /* the parameters, merged */
	enum form_media media;	 /* of the request body */
	const char *name;	 /* {name} of an upgrade */
};

/* True for the routes this module decides: route_traits(id)->path_policy
 * (route.h). */
bool path_policy_route(enum route_id id);

/* Decide.  Always fills *out (caller calls path_decision_reset). */
void path_policy_head(const struct path_head *in, struct path_decision *out);
void path_decision_reset(struct path_decision *d);

/*
 * The reference a plugin pull names, as the engine's parseRemoteRef
 * reads it: a name without tag or digest means ":latest".  Caller frees.
 */
char *path_plugin_reference(const char *remote);

#endif
