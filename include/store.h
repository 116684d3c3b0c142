/*
 * The ledger and the audit trail, in SQLite.  The only module that speaks
 * SQL.  The database is in WAL mode so the CLI can read while the guard
 * writes; the schema is migrated with PRAGMA user_version.
 *
 * Every function returns 0 on success, or -1 with an allocated *cause on
 * trouble (locked, full, corrupt): callers fail closed.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

struct store;

/* One version an app has run, with when it was first seen running. */
struct store_version {
	char	*version;
	int64_t	 since;		/* unix seconds */
	char	*digest;	/* repository digest of that deployment, or NULL */
};

struct store_versions {
	struct store_version	*items;
	size_t			 n;
};

/* A container the guard saw created. */
struct store_deployment {
	const char		*app;
	const char		*container_id;
	const char		*container_name;	/* may be NULL */
	const char		*image_ref;		/* as given */
	const char		*image_id;
	const char		*repo_digest;		/* may be NULL */
	const char		*version;		/* may be NULL */
	int64_t			 time;			/* unix seconds */
	const struct peer_cred	*peer;
	const char		*source;		/* "guard", "sync", "event" */
};

enum store_verdict {
	STORE_ALLOW,
	STORE_WARN,
	STORE_DENY,
	STORE_ERROR,
};

struct store_audit {
	int64_t			 time_ms;
	const struct peer_cred	*peer;
	const char		*method;
	const char		*route;		/* canonical route name */
	const char		*app;
	const char		*image_ref;
	const char		*digest;
	const char		*version;
	const char		*previous_version;
	const char		*rule;
	enum store_verdict	 verdict;
	const char		*message;
	int64_t			 latency_us;
};

/* Open (creating and migrating) the database at path; the parent
 * directory is created with mode 0700 if missing.  Caller closes. */
struct store	*store_open(const char *path, char **cause);
void		 store_close(struct store *st);

/* Every distinct version app has run (from the ledger), oldest first. */
int	 store_app_versions(struct store *st, const char *app,
	    struct store_versions *out, char **cause);
void	 store_versions_reset(struct store_versions *v);

int	 store_record_deployment(struct store *st,
	    const struct store_deployment *d, char **cause);

/* The container (full ID or unique ID prefix or current name) was renamed
 * or removed.  Unknown containers are ignored. */
int	 store_record_rename(struct store *st, const char *container,
	    const char *new_name, char **cause);
int	 store_record_removal(struct store *st, const char *container,
	    int64_t time, char **cause);

int	 store_audit(struct store *st, const struct store_audit *a,
	    char **cause);

const char *store_verdict_name(enum store_verdict v);

#endif
