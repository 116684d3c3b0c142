/*
 * Per-client access profiles (guard.conf's profile.NAME.KEY keys): who
 * gets which profile by peer credentials, which requests a profile lets
 * through at the head (access, route groups), and the limits on what a
 * create or update may ask for, judged on plain facts.  Pure: no I/O;
 * user and group names are resolved by the caller's lookups, host paths
 * made canonical by the caller (profile_path_clean does the lexical
 * part).
 *
 * Every refusal is an allocated message naming the profile, the refused
 * thing and the key that would allow it:
 *   docker-guard: profile "ro" refused POST /containers/create: the
 *   profile is read-only (profile.ro.access = read-only); to allow it set
 *   profile.ro.access = full
 */
#ifndef PROFILE_H
#define PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "route.h"

/* Host namespaces a create may join, as bits. */
#define PROFILE_NS_PID 0x1
#define PROFILE_NS_IPC 0x2
#define PROFILE_NS_UTS 0x4
#define PROFILE_NS_NETWORK 0x8
#define PROFILE_NS_USERNS 0x10
#define PROFILE_NS_CGROUP 0x20

enum profile_client_kind {
	PROFILE_CLIENT_UID,
	PROFILE_CLIENT_GID,
	PROFILE_CLIENT_USER,  /* resolved to id by profile_set_resolve */
	PROFILE_CLIENT_GROUP, /* resolved to id by profile_set_resolve */
};

struct profile_client {
	enum profile_client_kind kind;
	unsigned long id; /* uid or gid (users and groups once resolved) */
	char *name;	  /* user: and group: entries, else NULL */
	bool resolved;	  /* id is known */
};

/* A list limit (capabilities, devices, bind_mounts): unset allows
 * anything; "none" nothing; "all" (capabilities) anything. */
struct profile_list {
	bool set;
	bool all;
	char **items; /* capabilities upper case without CAP_; globs */
	size_t n;
};

struct profile {
	char *name;
	size_t line; /* where it is first named */
	struct profile_client *clients;
	size_t n_clients;
	bool read_only;	 /* access = read-only */
	bool routes_set; /* routes given: only these groups */
	uint32_t routes; /* bit (1 << enum route_group) per group */
	int privileged;	 /* -1 unset, 0 no, 1 yes */
	bool ns_set;	 /* host_namespaces given */
	unsigned ns;	 /* PROFILE_NS_* allowed */
	struct profile_list caps, devices, binds;
	/* Lines that set each key, for repeats (profile.c's key table). */
	size_t key_line[8];
};

struct profile_set {
	struct profile *items;
	size_t n;
};

/* Report one problem found in a set: line 0 when it has none. */
typedef void (*profile_report_fn)(void *arg, size_t line, const char *msg);

/* An empty set (caller frees with profile_set_free). */
struct profile_set *profile_set_new(void);
void profile_set_free(struct profile_set *set);

/*
 * Set one key: rest is what follows "profile." in the key
 * ("apps.bind_mounts"), value the whole value.  Returns 0, or -1 with an
 * allocated *cause ("profile.apps.bind_mounts: ...").
 */
int profile_set_key(struct profile_set *set, const char *rest,
    const char *value, size_t line, char **cause);

/* The profile named name, or NULL (borrowed from set). */
const struct profile *
profile_find(const struct profile_set *set, const char *name);

/*
 * Resolve user: and group: entries with the caller's lookups (each
 * returns 0 and the id, or -1).  Each name that resolves to nothing is
 * reported; returns how many were.
 */
size_t profile_set_resolve(struct profile_set *set,
    int (*user)(const char *name, unsigned long *uid),
    int (*group)(const char *name, unsigned long *gid), profile_report_fn fn,
    void *arg);

/*
 * The checks across profiles once everything is read and resolved: one
 * uid or gid named by two profiles, profiles that allow nothing.
 * Returns how many problems were reported.
 */
size_t profile_set_check(const struct profile_set *set, profile_report_fn fn,
    void *arg);

/*
 * The profile of a client on the main socket (uid, primary gid and
 * supplementary groups): the profile naming its uid, else one naming one
 * of its groups, else default_name's (NULL: none).  Returns NULL for no
 * profile.
 */
const struct profile *profile_select(const struct profile_set *set,
    unsigned long uid, unsigned long gid, const unsigned long *groups,
    size_t n_groups, const char *default_name);

/* Does p judge create bodies (any limit set)? */
bool profile_has_limits(const struct profile *p);

/*
 * Judge a request at the head: method (canonical, "GET"), the classified
 * route r, whether it carries a body.  Returns NULL when p lets it
 * through, else the refusal (caller frees).  No allocation when it is let
 * through.
 */
char *profile_check_head(const struct profile *p, const char *method,
    const struct route *r, bool has_body);

/* One host path a request mounts, made canonical by the caller. */
struct profile_mount {
	const char *where;    /* "HostConfig.Binds[0]" */
	const char *given;    /* as the client wrote it */
	const char *path;     /* lexically clean, symlinks resolved */
	const char *driver;   /* a volume driver other than local, or NULL */
	const char *unjudged; /* why host paths cannot say what it mounts
				 (local_volume.h), or NULL */
};

/* What a create, update or exec create asks for. */
struct profile_ask {
	const char *what; /* "a container", "an exec", "a volume", ... */
	bool privileged;
	/* What lifts confinement short of privileged, one sentence each
	   (body_inspect.h's unconfined): refused like privileged. */
	const char *const *unconfined;
	size_t n_unconfined;
	unsigned ns; /* PROFILE_NS_* joined */
	const char *const *caps;
	size_t n_caps;
	const char *const *devices; /* canonical host paths */
	size_t n_devices;
	size_t n_device_rules;	  /* DeviceCgroupRules entries */
	size_t n_device_requests; /* DeviceRequests entries */
	const struct profile_mount *mounts;
	size_t n_mounts;
	/* Paths never allowed under a limited bind_mounts: the engine's
	   socket in every spelling (canonical and as configured). */
	const char *const *sockets;
	size_t n_sockets;
};

/* Judge ask under p's limits: NULL when allowed, else the refusal
 * (caller frees). */
char *profile_check_ask(const struct profile *p, const struct profile_ask *ask);

/*
 * Clean path lexically as Go's filepath.Clean does ("//", "/./", "/../"
 * and a trailing '/' go; ".." above the root stays at the root).
 * Returns an allocated string ("." for "").
 */
char *profile_path_clean(const char *path);

/* Is path (canonical) the socket or a directory holding it? */
bool profile_path_holds(const char *path, const char *socket);

/* "CAP_NET_ADMIN", "net_admin" -> "NET_ADMIN" (allocated). */
char *profile_cap_name(const char *cap);

#endif
