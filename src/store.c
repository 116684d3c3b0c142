/*
 * The SQLite store: ledger of deployments and the audit trail.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store.h"
#include "xmalloc.h"

struct store {
	sqlite3	*db;
	char	*path;
};

/*
 * Migrations, applied in order; PRAGMA user_version is the number applied.
 * Never edit a released step: add a new one.
 */
static const char *const migrations[] = {
	/* 1: the ledger and the audit trail. */
	"CREATE TABLE deployments ("
	"  id INTEGER PRIMARY KEY,"
	"  app TEXT NOT NULL,"
	"  container_id TEXT NOT NULL,"
	"  container_name TEXT,"
	"  image_ref TEXT NOT NULL,"
	"  image_id TEXT,"
	"  repo_digest TEXT,"
	"  version TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  removed_at INTEGER,"
	"  uid INTEGER, gid INTEGER, pid INTEGER, comm TEXT,"
	"  source TEXT NOT NULL DEFAULT 'guard');"
	"CREATE INDEX deployments_app ON deployments(app, created_at);"
	"CREATE UNIQUE INDEX deployments_container ON"
	"  deployments(container_id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  time_ms INTEGER NOT NULL,"
	"  uid INTEGER, gid INTEGER, pid INTEGER, comm TEXT,"
	"  method TEXT, route TEXT, app TEXT, image_ref TEXT, digest TEXT,"
	"  version TEXT, previous_version TEXT, rule TEXT,"
	"  verdict TEXT NOT NULL, message TEXT, latency_us INTEGER);"
	"CREATE INDEX audit_time ON audit(time_ms);"
	"CREATE INDEX audit_app ON audit(app, time_ms);",
};

static char *
db_cause(sqlite3 *db, const char *what)
{
	return xasprintf("%s: %s", what, db != NULL ? sqlite3_errmsg(db) :
	    "out of memory");
}

/* mkdir -p for the database's directory, mode 0700 for what it creates. */
static int
make_parent(const char *path, char **cause)
{
	char *copy = xstrdup(path), *dir = dirname(copy), *p;
	int r = 0;

	for (p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
				*cause = xasprintf("cannot create %s: %s", dir,
				    strerror(errno));
				r = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return r;
}

static int
exec_sql(sqlite3 *db, const char *sql, char **cause)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		*cause = xasprintf("%s", err != NULL ? err : "error");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
migrate(sqlite3 *db, char **cause)
{
	sqlite3_stmt *st;
	int version = 0;
	size_t n = sizeof migrations / sizeof migrations[0];

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK) {
		*cause = db_cause(db, "reading the schema version");
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > (int)n) {
		*cause = xasprintf("the database schema (version %d) is newer "
		    "than this docker-guard knows (%zu)", version, n);
		return -1;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = "
		    "%zu; COMMIT;", migrations[i], i + 1);
		char *why = NULL;

		if (exec_sql(db, sql, &why) != 0) {
			exec_sql(db, "ROLLBACK", &(char *){ NULL });
			*cause = xasprintf("migrating the schema to version "
			    "%zu: %s", i + 1, why);
			free(why);
			free(sql);
			return -1;
		}
		free(sql);
	}
	return 0;
}

struct store *
store_open(const char *path, char **cause)
{
	struct store *st;
	sqlite3 *db = NULL;
	char *why = NULL;

	if (make_parent(path, cause) != 0)
		return NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		*cause = xasprintf("cannot open the database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 1000);
	if (exec_sql(db, "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
	    &why) != 0 || migrate(db, &why) != 0) {
		*cause = xasprintf("database %s: %s", path, why);
		free(why);
		sqlite3_close(db);
		return NULL;
	}
	st = xcalloc(1, sizeof *st);
	st->db = db;
	st->path = xstrdup(path);
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

static int
prepare(struct store *st, const char *sql, sqlite3_stmt **out, char **cause)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errmsg(st->db));
		return -1;
	}
	return 0;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* Step a statement that returns no rows, then finalize it. */
static int
step_done(struct store *st, sqlite3_stmt *s, char **cause)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

int
store_app_versions(struct store *st, const char *app,
    struct store_versions *out, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	if (prepare(st, "SELECT version, MIN(created_at), repo_digest "
	    "FROM deployments WHERE app = ?1 AND version IS NOT NULL "
	    "GROUP BY version ORDER BY MIN(created_at)", &s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_version *v;
		const char *digest = (const char *)sqlite3_column_text(s, 2);

		out->items = xreallocarray(out->items, out->n + 1,
		    sizeof *out->items);
		v = &out->items[out->n++];
		v->version = xstrdup((const char *)sqlite3_column_text(s, 0));
		v->since = sqlite3_column_int64(s, 1);
		v->digest = digest != NULL ? xstrdup(digest) : NULL;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE) {
		store_versions_reset(out);
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

void
store_versions_reset(struct store_versions *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i].version);
		free(v->items[i].digest);
	}
	free(v->items);
	memset(v, 0, sizeof *v);
}

int
store_record_deployment(struct store *st, const struct store_deployment *d,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, "INSERT INTO deployments (app, container_id, "
	    "container_name, image_ref, image_id, repo_digest, version, "
	    "created_at, uid, gid, pid, comm, source) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
	    "ON CONFLICT(container_id) DO NOTHING", &s, cause) != 0)
		return -1;
	bind_text(s, 1, d->app);
	bind_text(s, 2, d->container_id);
	bind_text(s, 3, d->container_name);
	bind_text(s, 4, d->image_ref);
	bind_text(s, 5, d->image_id);
	bind_text(s, 6, d->repo_digest);
	bind_text(s, 7, d->version);
	sqlite3_bind_int64(s, 8, d->time);
	if (d->peer != NULL) {
		sqlite3_bind_int64(s, 9, d->peer->uid);
		sqlite3_bind_int64(s, 10, d->peer->gid);
		sqlite3_bind_int64(s, 11, d->peer->pid);
		bind_text(s, 12, d->peer->comm);
	}
	bind_text(s, 13, d->source != NULL ? d->source : "guard");
	return step_done(st, s, cause);
}

/* WHERE clause matching a live container by full ID, ID prefix (at least
 * 12 characters, as Docker prints them) or current name. */
#define MATCH_CONTAINER							\
	"removed_at IS NULL AND (container_id = ?1 OR "			\
	"(length(?1) >= 12 AND substr(container_id, 1, length(?1)) = ?1) OR " \
	"container_name = ?1 OR container_name = '/' || ?1)"

int
store_record_rename(struct store *st, const char *container,
    const char *new_name, char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, "UPDATE deployments SET container_name = ?2 WHERE "
	    MATCH_CONTAINER, &s, cause) != 0)
		return -1;
	bind_text(s, 1, container);
	bind_text(s, 2, new_name);
	return step_done(st, s, cause);
}

int
store_record_removal(struct store *st, const char *container, int64_t time,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, "UPDATE deployments SET removed_at = ?2 WHERE "
	    MATCH_CONTAINER, &s, cause) != 0)
		return -1;
	bind_text(s, 1, container);
	sqlite3_bind_int64(s, 2, time);
	return step_done(st, s, cause);
}

const char *
store_verdict_name(enum store_verdict v)
{
	switch (v) {
	case STORE_ALLOW: return "allow";
	case STORE_WARN: return "warn";
	case STORE_DENY: return "deny";
	case STORE_ERROR: return "error";
	}
	return "error";
}

int
store_audit(struct store *st, const struct store_audit *a, char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, "INSERT INTO audit (time_ms, uid, gid, pid, comm, "
	    "method, route, app, image_ref, digest, version, previous_version, "
	    "rule, verdict, message, latency_us) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)", &s,
	    cause) != 0)
		return -1;
	sqlite3_bind_int64(s, 1, a->time_ms);
	if (a->peer != NULL) {
		sqlite3_bind_int64(s, 2, a->peer->uid);
		sqlite3_bind_int64(s, 3, a->peer->gid);
		sqlite3_bind_int64(s, 4, a->peer->pid);
		bind_text(s, 5, a->peer->comm);
	}
	bind_text(s, 6, a->method);
	bind_text(s, 7, a->route);
	bind_text(s, 8, a->app);
	bind_text(s, 9, a->image_ref);
	bind_text(s, 10, a->digest);
	bind_text(s, 11, a->version);
	bind_text(s, 12, a->previous_version);
	bind_text(s, 13, a->rule);
	bind_text(s, 14, store_verdict_name(a->verdict));
	bind_text(s, 15, a->message);
	sqlite3_bind_int64(s, 16, a->latency_us);
	return step_done(st, s, cause);
}
