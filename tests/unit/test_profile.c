/*
 * Golden tables for profile.c: keys in, errors or verdicts out.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "profile.h"
#include "route.h"
#include "xmalloc.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* "name.key=value;name.key=value" into a new set; errors joined. */
static struct profile_set *
load(const char *spec, char **errors)
{
	struct profile_set *set = profile_set_new();
	char *copy = xstrdup(spec), *save = NULL, *line;
	size_t n = 0;

	*errors = xstrdup("");
	for (line = strtok_r(copy, ";", &save); line != NULL;
	     line = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(line, '='), *cause = NULL;

		*eq = '\0';
		if (profile_set_key(set, line, eq + 1, ++n, &cause) != 0) {
			char *t = xasprintf("%s%s|", *errors, cause);

			free(*errors);
			*errors = t;
			free(cause);
		}
	}
	free(copy);
	return set;
}

static const struct {
	const char *spec;
	const char *error; /* substring; "" for none */
} key_rows[] = {
	{ "a.access=read-only", "" },
	{ "a.access=full", "" },
	{ "a.access=ro", "profile.a.access: \"ro\" is not read-only or full" },
	{ "a.routes=containers images exec", "" },
	{ "a.routes=containers,images", "" },
	{ "a.routes=none", "" },
	{ "a.routes=Containers", "unknown route group \"Containers\"" },
	{ "a.routes=imagez", "unknown route group \"imagez\"" },
	{ "a.clients=uid:0 gid:998 user:alice group:docker", "" },
	{ "a.clients=uid:x", "\"uid:x\": x is not a number" },
	{ "a.clients=uid:-1", "is not a number" },
	{ "a.clients=uid:4294967295", "is not a number" },
	{ "a.clients=1000", "is not uid:N, gid:N, user:NAME or group:NAME" },
	{ "a.clients=user:", "is not a user or group name" },
	{ "a.privileged=yes", "" },
	{ "a.privileged=true", "\"true\" is not no or yes" },
	{ "a.host_namespaces=pid network", "" },
	{ "a.host_namespaces=none", "" },
	{ "a.host_namespaces=cgroup userns", "" },
	{ "a.host_namespaces=host", "unknown namespace \"host\"" },
	{ "a.capabilities=net_admin CAP_SYS_TIME", "" },
	{ "a.capabilities=all", "" },
	{ "a.capabilities=none", "" },
	{ "a.capabilities=ALL NET_ADMIN", "is not a capability name" },
	{ "a.capabilities=", "empty (say none)" },
	{ "a.devices=/dev/fuse /dev/dri/*", "" },
	{ "a.devices=fuse", "\"fuse\" is not an absolute path glob" },
	{ "a.bind_mounts=/srv/* /home/*/data", "" },
	{ "a.bind_mounts=none", "" },
	{ "a.bind_mounts=srv", "is not an absolute path glob" },
	{ "a.bind_mounts=/srv none", "\"none\" is not an absolute path glob" },
	{ "a.colour=blue", "unknown key profile.a.colour" },
	{ "A.access=full", "expected profile.NAME.KEY" },
	{ "-a.access=full", "expected profile.NAME.KEY" },
	{ "noname=full", "expected profile.NAME.KEY" },
	{ "a.access=full;a.access=read-only",
	    "\"profile.a.access\" is already set on line 1" },
	{ "a.b.access=full", "unknown key profile.a.b.access" },
};

static void
test_keys(void)
{
	for (size_t i = 0; i < NITEMS(key_rows); i++) {
		char *errors;
		struct profile_set *set = load(key_rows[i].spec, &errors);

		if (key_rows[i].error[0] == '\0')
			CHECKF(errors[0] == '\0', "%s: %s", key_rows[i].spec,
			    errors);
		else
			CHECKF(strstr(errors, key_rows[i].error) != NULL,
			    "%s: got \"%s\", want \"%s\"", key_rows[i].spec,
			    errors, key_rows[i].error);
		free(errors);
		profile_set_free(set);
	}
}

static void
report(void *arg, size_t line, const char *msg)
{
	char **out = arg, *t = xasprintf("%s%zu:%s|", *out, line, msg);

	free(*out);
	*out = t;
}

static int
fake_user(const char *name, unsigned long *id)
{
	if (strcmp(name, "alice") == 0) {
		*id = 1000;
		return 0;
	}
	return -1;
}

static int
fake_group(const char *name, unsigned long *id)
{
	if (strcmp(name, "docker") == 0) {
		*id = 998;
		return 0;
	}
	return -1;
}

static const struct {
	const char *spec;
	const char *report; /* substring; "" for none */
} check_rows[] = {
	{ "a.clients=uid:1;b.clients=uid:2", "" },
	{ "a.clients=uid:1000;b.clients=user:alice",
	    "2:uid 1000 is a client of two profiles: "
	    "profile.a.clients (line 1) and profile.b.clients" },
	{ "a.clients=gid:998;b.clients=group:docker",
	    "gid 998 is a client of two profiles" },
	{ "a.clients=uid:998;b.clients=gid:998", "" },
	{ "a.clients=user:bob", "there is no user \"bob\" on this host" },
	{ "a.clients=group:nope", "there is no group \"nope\" on this host" },
	{ "a.routes=ping version", "profile \"a\" allows nothing" },
	{ "a.routes=none", "profile \"a\" allows nothing" },
	{ "a.routes=ping events", "" },
	{ "a.access=read-only;a.routes=session build",
	    "profile \"a\" allows nothing" },
	{ "a.access=full;a.routes=session build", "" },
};

static void
test_check(void)
{
	for (size_t i = 0; i < NITEMS(check_rows); i++) {
		char *errors, *out = xstrdup("");
		struct profile_set *set = load(check_rows[i].spec, &errors);
		size_t n;

		CHECK_STR_EQ(errors, "");
		n = profile_set_resolve(set, fake_user, fake_group, report,
		    &out);
		n += profile_set_check(set, report, &out);
		if (check_rows[i].report[0] == '\0')
			CHECKF(n == 0 && out[0] == '\0', "%s: %s",
			    check_rows[i].spec, out);
		else
			CHECKF(n > 0 && strstr(out, check_rows[i].report),
			    "%s: got \"%s\"", check_rows[i].spec, out);
		free(out);
		free(errors);
		profile_set_free(set);
	}
}

static void
test_select(void)
{
	char *errors;
	struct profile_set *set = load("byuid.clients=uid:1000;"
				       "bygid.clients=gid:998 gid:50;"
				       "dflt.access=read-only",
	    &errors);
	unsigned long g50[] = { 7, 50 }, g998[] = { 998 };
	const struct profile *p;

	CHECK_STR_EQ(errors, "");
	/* a uid beats a group */
	p = profile_select(set, 1000, 998, g998, 1, NULL);
	CHECK(p != NULL && strcmp(p->name, "byuid") == 0);
	p = profile_select(set, 5, 998, NULL, 0, NULL);
	CHECK(p != NULL && strcmp(p->name, "bygid") == 0);
	/* a supplementary group */
	p = profile_select(set, 5, 6, g50, 2, NULL);
	CHECK(p != NULL && strcmp(p->name, "bygid") == 0);
	p = profile_select(set, 5, 6, NULL, 0, NULL);
	CHECK(p == NULL);
	p = profile_select(set, 5, 6, NULL, 0, "dflt");
	CHECK(p != NULL && strcmp(p->name, "dflt") == 0);
	CHECK(profile_select(NULL, 0, 0, NULL, 0, "dflt") == NULL);
	CHECK(profile_find(set, "nope") == NULL);
	CHECK(!profile_has_limits(profile_find(set, "dflt")));
	free(errors);
	profile_set_free(set);
}

static const struct {
	const char *spec;
	const char *method, *target;
	const char *refusal; /* substring; NULL: let through */
} head_rows[] = {
	{ "p.privileged=no", "POST", "/v1.23/containers/x/start+",
	    "refused POST /containers/x/start with a body" },
	{ "p.privileged=no", "POST", "/v1.23/containers/x/start", NULL },
	{ "p.access=full", "POST", "/v1.23/containers/x/start+", NULL },
	{ "p.access=read-only", "GET", "/v1.41/containers/json", NULL },
	{ "p.access=read-only", "HEAD", "/_ping", NULL },
	{ "p.access=read-only", "POST", "/v1.41/containers/create",
	    "docker-guard: profile \"p\" refused POST /containers/create: "
	    "the profile is read-only (profile.p.access = read-only); to "
	    "allow it set profile.p.access = full" },
	{ "p.access=read-only", "DELETE", "/containers/x",
	    "refused DELETE /containers/x" },
	{ "p.access=read-only", "get", "/containers/json",
	    "the profile is read-only" },
	{ "p.access=read-only", "GET", "/containers/x/attach/ws",
	    "attaching writes to the container's input" },
	{ "p.access=full", "POST", "/containers/create", NULL },
	{ "p.routes=containers", "GET", "/images/json",
	    "docker-guard: profile \"p\" refused GET /images/json: route "
	    "group \"images\" is not in profile.p.routes = containers; to "
	    "allow it add images to profile.p.routes" },
	{ "p.routes=containers", "POST", "/containers/x/exec",
	    "route group \"exec\" is not in" },
	{ "p.routes=containers exec", "POST", "/containers/x/exec", NULL },
	{ "p.routes=containers", "GET", "/_ping", NULL },
	{ "p.routes=containers", "GET", "/v1.41/version", NULL },
	{ "p.routes=none", "GET", "/version", NULL },
	{ "p.routes=containers", "GET", "/nope",
	    "the path is in no route group" },
	{ "p.routes=images volumes", "GET", "/containers/json",
	    "profile.p.routes = images volumes" },
	{ "p.access=read-only;p.routes=images", "POST", "/images/create",
	    "the profile is read-only" },
	/* a legacy build's steps in the host's network */
	{ "p.host_namespaces=none", "POST", "/v1.41/build?networkmode=host",
	    "docker-guard: profile \"p\" refused a build whose steps would "
	    "run in the host's network (networkmode=host) joining the host's "
	    "network namespace (not in profile.p.host_namespaces = none)" },
	{ "p.host_namespaces=pid", "POST", "/build?t=x&networkmode=HOST",
	    "profile.p.host_namespaces = pid" },
	{ "p.host_namespaces=pid", "POST", "/build?networkmode=h%6Fst",
	    "networkmode=host" },
	{ "p.host_namespaces=network", "POST", "/build?networkmode=host",
	    NULL },
	{ "p.host_namespaces=none", "POST", "/build?networkmode=none", NULL },
	{ "p.host_namespaces=none", "POST", "/build?networkmode=default",
	    NULL },
	{ "p.privileged=no", "POST", "/build?networkmode=host", NULL },
	/* another swarm's managers, or this swarm's join tokens */
	{ "p.privileged=no", "POST", "/v1.41/swarm/join",
	    "docker-guard: profile \"p\" refused POST /swarm/join: joining, "
	    "creating or changing a swarm decides which managers may run "
	    "containers on this host" },
	{ "p.bind_mounts=/srv/*", "POST", "/swarm/init", "managers" },
	{ "p.devices=none", "POST", "/swarm/update?rotateManagerToken=1",
	    "profile.p.privileged" },
	{ "p.privileged=no", "GET", "/v1.43/swarm",
	    "the swarm's join tokens and unlock key" },
	{ "p.privileged=no", "GET", "/swarm/unlockkey", "join tokens" },
	{ "p.privileged=no", "HEAD", "/swarm", "join tokens" },
	{ "p.privileged=no", "GET", "/nodes", NULL },
	{ "p.privileged=no", "GET", "/info", NULL },
	{ "p.access=read-only", "GET", "/swarm",
	    "which a read-only profile does not hand out "
	    "(profile.p.access = read-only)" },
	{ "p.access=read-only", "GET", "/swarm/unlockkey", "join tokens" },
	{ "p.routes=swarm", "GET", "/swarm", NULL },
	{ "p.routes=swarm", "POST", "/swarm/join", NULL },
	/* a legacy build's steps with the build's securityopt values */
	{ "p.privileged=no", "POST",
	    "/v1.41/build?t=x&securityopt=seccomp%3Dunconfined",
	    "docker-guard: profile \"p\" refused a build (its steps' "
	    "containers) that lifts its confinement, securityopt "
	    "\"seccomp=unconfined\": no seccomp filter (profile.p.privileged "
	    "= no); to allow it set profile.p.privileged = yes" },
	{ "p.privileged=no", "POST",
	    "/build?securityopt=no-new-privileges&securityopt=apparmor:"
	    "unconfined",
	    "securityopt \"apparmor:unconfined\": no AppArmor profile" },
	{ "p.privileged=no", "POST",
	    "/build?securityopt=no-new-privileges&securityopt="
	    "writable-cgroups%3Dtrue",
	    "a writable cgroup file system" },
	{ "p.privileged=no", "POST", "/build?securityopt=no-new-privileges",
	    NULL },
	{ "p.privileged=yes", "POST", "/build?securityopt=seccomp=unconfined",
	    NULL },
	{ "p.host_namespaces=none", "POST",
	    "/build?securityopt=seccomp=unconfined", NULL },
	/* plugins hand out host privileges: not to a limited profile */
	{ "p.privileged=no", "POST", "/v1.41/plugins/pull?remote=x",
	    "docker-guard: profile \"p\" refused POST /plugins/pull: a "
	    "managed plugin runs as root with the host privileges" },
	{ "p.bind_mounts=/srv/*", "POST", "/plugins/x/upgrade",
	    "refused POST /plugins/x/upgrade" },
	{ "p.devices=none", "POST", "/plugins/x/set", "refused POST" },
	{ "p.capabilities=none", "POST", "/plugins/x/enable", "refused POST" },
	{ "p.host_namespaces=none", "POST", "/plugins/create?name=x",
	    "refused POST" },
	{ "p.privileged=no", "POST", "/plugins/x/disable", NULL },
	{ "p.privileged=no", "GET", "/plugins", NULL },
	{ "p.access=full", "POST", "/plugins/pull?remote=x", NULL },
};

static void
test_head(void)
{
	for (size_t i = 0; i < NITEMS(head_rows); i++) {
		char *errors, *msg;
		struct profile_set *set = load(head_rows[i].spec, &errors);
		struct route r;
		const char *cause;

		char *target = xstrdup(head_rows[i].target);
		bool body = target[strlen(target) - 1] == '+';

		if (body)
			target[strlen(target) - 1] = '\0';
		CHECK_STR_EQ(errors, "");
		CHECK(route_classify(head_rows[i].method, target, &r, &cause) ==
		    0);
		free(target);
		msg = profile_check_head(profile_find(set, "p"),
		    head_rows[i].method, &r, body);
		if (head_rows[i].refusal == NULL)
			CHECKF(msg == NULL, "%s %s: %s", head_rows[i].method,
			    head_rows[i].target, msg);
		else
			CHECKF(msg != NULL && strstr(msg, head_rows[i].refusal),
			    "%s %s: got \"%s\"", head_rows[i].method,
			    head_rows[i].target, msg ? msg : "(allowed)");
		free(msg);
		route_reset(&r);
		free(errors);
		profile_set_free(set);
	}
	CHECK(profile_check_head(NULL, "POST", NULL, true) == NULL);
}

static const char *const sockets[] = { "/var/run/docker.sock",
	"/run/docker.sock", "/srv/engine/docker.sock" };

struct ask_row {
	const char *spec;
	bool privileged;
	unsigned ns;
	const char *cap;
	const char *device;
	const char *bind; /* canonical path */
	const char *driver;
	const char *refusal; /* substring; NULL: allowed */
};

static const struct ask_row ask_rows[] = {
	{ "p.privileged=no", true, 0, NULL, NULL, NULL, NULL,
	    "docker-guard: profile \"p\" refused a container that is "
	    "privileged (profile.p.privileged = no); to allow it set "
	    "profile.p.privileged = yes" },
	{ "p.privileged=yes", true, 0, NULL, NULL, NULL, NULL, NULL },
	{ "p.bind_mounts=/srv/*", true, 0, NULL, NULL, NULL, NULL, NULL },
	{ "p.host_namespaces=none", false, PROFILE_NS_PID, NULL, NULL, NULL,
	    NULL,
	    "a container joining the host's pid namespace (not in "
	    "profile.p.host_namespaces = none); to allow it add pid to "
	    "profile.p.host_namespaces" },
	{ "p.host_namespaces=network", false, PROFILE_NS_NETWORK, NULL, NULL,
	    NULL, NULL, NULL },
	{ "p.host_namespaces=network", false, PROFILE_NS_CGROUP, NULL, NULL,
	    NULL, NULL,
	    "a container joining the host's cgroup namespace (not in "
	    "profile.p.host_namespaces = network); to allow it add cgroup to "
	    "profile.p.host_namespaces" },
	{ "p.host_namespaces=cgroup", false, PROFILE_NS_CGROUP, NULL, NULL,
	    NULL, NULL, NULL },
	{ "p.host_namespaces=network", false,
	    PROFILE_NS_NETWORK | PROFILE_NS_IPC, NULL, NULL, NULL, NULL,
	    "host's ipc namespace (not in profile.p.host_namespaces = "
	    "network)" },
	{ "p.capabilities=NET_ADMIN", false, 0, "cap_net_admin", NULL, NULL,
	    NULL, NULL },
	{ "p.capabilities=NET_ADMIN", false, 0, "net_admin", NULL, NULL, NULL,
	    NULL },
	{ "p.capabilities=NET_ADMIN", false, 0, "CAP_SYS_ADMIN", NULL, NULL,
	    NULL,
	    "adding capability SYS_ADMIN (not in profile.p.capabilities = "
	    "NET_ADMIN); to allow it add SYS_ADMIN to "
	    "profile.p.capabilities" },
	{ "p.capabilities=NET_ADMIN", false, 0, "ALL", NULL, NULL, NULL,
	    "adding all capabilities (not in profile.p.capabilities = "
	    "NET_ADMIN); to allow it set profile.p.capabilities = all" },
	{ "p.capabilities=all", false, 0, "ALL", NULL, NULL, NULL, NULL },
	{ "p.capabilities=none", false, 0, "CHOWN", NULL, NULL, NULL,
	    "profile.p.capabilities = none" },
	{ "p.devices=/dev/fuse", false, 0, NULL, "/dev/fuse", NULL, NULL,
	    NULL },
	{ "p.devices=/dev/dri/*", false, 0, NULL, "/dev/dri/card0", NULL, NULL,
	    NULL },
	{ "p.devices=/dev/fuse", false, 0, NULL, "/dev/sda", NULL, NULL,
	    "with host device /dev/sda (not in profile.p.devices = "
	    "/dev/fuse)" },
	{ "p.devices=/dev/*", false, 0, NULL, "rules", NULL, NULL,
	    "a container with DeviceCgroupRules (device access by number, "
	    "which profile.p.devices = /dev/* cannot judge)" },
	{ "p.bind_mounts=/srv/*", false, 0, NULL, NULL, "/srv/app", NULL,
	    NULL },
	{ "p.bind_mounts=/srv/*", false, 0, NULL, NULL, "/srv/app/data/x", NULL,
	    NULL },
	{ "p.bind_mounts=/opt/*", false, 0, NULL, NULL, "/opt", NULL,
	    "host path /opt is not in profile.p.bind_mounts = /opt/*" },
	{ "p.bind_mounts=/srv/*", false, 0, NULL, NULL, "/etc", NULL,
	    "refused bind mount of /etc (HostConfig.Binds[0]; host path /etc "
	    "is not in profile.p.bind_mounts = /srv/*); to allow it add /etc "
	    "to profile.p.bind_mounts" },
	{ "p.bind_mounts=/home/*/data", false, 0, NULL, NULL, "/home/al/data/x",
	    NULL, NULL },
	{ "p.bind_mounts=/home/*/data", false, 0, NULL, NULL, "/home/al/other",
	    NULL, "is not in" },
	{ "p.bind_mounts=/*", false, 0, NULL, NULL, "/run", NULL,
	    "host path /run holds the engine's socket /run/docker.sock" },
	{ "p.bind_mounts=/*", false, 0, NULL, NULL, "/", NULL,
	    "holds the engine's socket" },
	{ "p.bind_mounts=/*", false, 0, NULL, NULL, "/var/run/docker.sock",
	    NULL, "is the engine's socket" },
	{ "p.bind_mounts=/srv/*", false, 0, NULL, NULL, "/srv/engine", NULL,
	    "holds the engine's socket /srv/engine/docker.sock" },
	{ "p.bind_mounts=/*", false, 0, NULL, NULL, "/var/lib", NULL, NULL },
	{ "p.bind_mounts=none", false, 0, NULL, NULL, "/srv/x", NULL,
	    "profile.p.bind_mounts = none" },
	{ "p.bind_mounts=/srv/*", false, 0, NULL, NULL, NULL, "rexray",
	    "a volume of driver \"rexray\"" },
	{ "p.privileged=no", false, 0, NULL, NULL, "/etc", "x", NULL },
};

static void
test_ask(void)
{
	for (size_t i = 0; i < NITEMS(ask_rows); i++) {
		const struct ask_row *row = &ask_rows[i];
		char *errors, *msg;
		struct profile_set *set = load(row->spec, &errors);
		struct profile_ask a = { 0 };
		struct profile_mount m = { 0 };

		CHECK_STR_EQ(errors, "");
		a.what = "a container";
		a.privileged = row->privileged;
		a.ns = row->ns;
		a.caps = &row->cap;
		a.n_caps = row->cap != NULL;
		a.devices = &row->device;
		a.n_devices = row->device != NULL;
		a.n_device_rules = row->device != NULL &&
		    strcmp(row->device, "rules") == 0;
		a.n_devices -= a.n_device_rules;
		m.where = "HostConfig.Binds[0]";
		m.given = row->bind != NULL ? row->bind : "vol";
		m.path = row->bind != NULL ? row->bind : "";
		m.driver = row->driver;
		a.mounts = &m;
		a.n_mounts = row->bind != NULL || row->driver != NULL;
		a.sockets = sockets;
		a.n_sockets = NITEMS(sockets);
		msg = profile_check_ask(profile_find(set, "p"), &a);
		if (row->refusal == NULL)
			CHECKF(msg == NULL, "row %zu: %s", i, msg);
		else
			CHECKF(msg != NULL && strstr(msg, row->refusal),
			    "row %zu: got \"%s\"", i, msg ? msg : "(allowed)");
		free(msg);
		free(errors);
		profile_set_free(set);
	}
}

static void
test_clean(void)
{
	static const char *const rows[][2] = {
		{ "", "." },
		{ "/", "/" },
		{ "//", "/" },
		{ "/etc/", "/etc" },
		{ "/srv//app/./x/", "/srv/app/x" },
		{ "/srv/app/../../etc", "/etc" },
		{ "/../../etc", "/etc" },
		{ "/srv/..", "/" },
		{ "a/b/../c", "a/c" },
		{ "../a", "../a" },
		{ "a/../..", ".." },
		{ "./", "." },
		{ "/.../x", "/.../x" },
		{ "/srv/..x/.", "/srv/..x" },
	};

	for (size_t i = 0; i < NITEMS(rows); i++) {
		char *c = profile_path_clean(rows[i][0]);

		CHECKF(strcmp(c, rows[i][1]) == 0,
		    "\"%s\": \"%s\", want \"%s\"", rows[i][0], c, rows[i][1]);
		free(c);
	}
	CHECK(profile_path_holds("/", "/run/docker.sock"));
	CHECK(profile_path_holds("/run", "/run/docker.sock"));
	CHECK(profile_path_holds("/run/docker.sock", "/run/docker.sock"));
	CHECK(!profile_path_holds("/ru", "/run/docker.sock"));
	CHECK(!profile_path_holds("/run/docker.sock2", "/run/docker.sock"));
}

/* What lifts confinement is refused by privileged = no, and only by it. */
static void
test_ask_unconfined(void)
{
	static const char *const lifted[] = {
		"HostConfig.SecurityOpt[0] \"seccomp=unconfined\": no seccomp "
		"filter",
	};
	static const struct {
		const char *spec;
		const char *refusal;
	} rows[] = {
		{ "p.privileged=no",
		    "docker-guard: profile \"p\" refused a container that "
		    "lifts its confinement, HostConfig.SecurityOpt[0] "
		    "\"seccomp=unconfined\": no seccomp filter "
		    "(profile.p.privileged = no); to allow it set "
		    "profile.p.privileged = yes" },
		{ "p.privileged=yes", NULL },
		{ "p.host_namespaces=none", NULL },
	};

	for (size_t i = 0; i < NITEMS(rows); i++) {
		char *errors, *msg;
		struct profile_set *set = load(rows[i].spec, &errors);
		struct profile_ask a = { 0 };

		a.what = "a container";
		a.unconfined = lifted;
		a.n_unconfined = 1;
		msg = profile_check_ask(profile_find(set, "p"), &a);
		if (rows[i].refusal == NULL)
			CHECKF(msg == NULL, "row %zu: %s", i, msg);
		else
			CHECKF(msg != NULL && strstr(msg, rows[i].refusal),
			    "row %zu: got \"%s\"", i, msg ? msg : "(allowed)");
		free(msg);
		free(errors);
		profile_set_free(set);
	}
}

static const struct check_case cases[] = {
	{ "keys", test_keys },
	{ "check", test_check },
	{ "select", test_select },
	{ "head", test_head },
	{ "ask", test_ask },
	{ "ask_unconfined", test_ask_unconfined },
	{ "clean", test_clean },
};

int
main(void)
{
	return CHECK_RUN("profile", cases);
}
