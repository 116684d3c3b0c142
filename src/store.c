/*
 * The SQLite store: ledger of deployments and the audit trail.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "audit_chain.h"
#include "store.h"
#include "xmalloc.h"

/*
 * Prepared statements kept for the next use of the same SQL: compiling a
 * statement cost more than running it (a guarded create runs about ten).
 * Found by the text's hash and then the text itself; a statement in use
 * (a nested query of the same text) is prepared afresh and finalized.
 */
#define STORE_STMT_CACHE 64

struct cached_stmt {
	sqlite3_stmt *stmt;
	uint64_t hash; /* of its SQL text */
	bool in_use;
};

struct store {
	sqlite3 *db;
	char *path;
	int last_rc; /* of the last failure */
	struct cached_stmt cache[STORE_STMT_CACHE];
	size_t n_cache;
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
	/* 2: the audit hash chain, small facts, snapshots for restore. */
	"ALTER TABLE audit ADD COLUMN prev_hash TEXT;"
	"ALTER TABLE audit ADD COLUMN hash TEXT;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE snapshots ("
	"  id INTEGER PRIMARY KEY,"
	"  app TEXT NOT NULL,"
	"  container_id TEXT NOT NULL,"
	"  container_name TEXT,"
	"  inspect TEXT NOT NULL,"
	"  was_running INTEGER NOT NULL,"
	"  removed_at INTEGER NOT NULL,"
	"  restored_at INTEGER);"
	"CREATE INDEX snapshots_app ON snapshots(app, removed_at);",
	/* 3: what each allowed create was to make, and what came of it. */
	"CREATE TABLE creates ("
	"  id INTEGER PRIMARY KEY,"
	"  decision_id INTEGER,"
	"  app TEXT NOT NULL,"
	"  container_name TEXT,"
	"  image_ref TEXT,"
	"  image_id TEXT,"
	"  repo_digest TEXT,"
	"  version TEXT,"
	"  uid INTEGER, gid INTEGER, pid INTEGER, comm TEXT,"
	"  time_ms INTEGER NOT NULL,"
	"  status INTEGER,"
	"  container_id TEXT,"
	"  outcome_ms INTEGER,"
	"  token TEXT);"
	"CREATE INDEX creates_image ON creates(image_id, time_ms);"
	"CREATE UNIQUE INDEX creates_token ON creates(token);",
	/* 4: the status page's bounded reads: the newest rows of a rule
	   or verdict, an app's versions and live containers, each from an
	   index. */
	"CREATE INDEX IF NOT EXISTS audit_rule ON audit(rule);"
	"CREATE INDEX IF NOT EXISTS audit_verdict ON audit(verdict);"
	"CREATE INDEX IF NOT EXISTS deployments_app_version ON"
	"  deployments(app, version);"
	"CREATE INDEX IF NOT EXISTS deployments_app_removed ON"
	"  deployments(app, removed_at);",
};

static char *
db_cause(sqlite3 *db, const char *what)
{
	return xasprintf("%s: %s", what,
	    db != NULL ? sqlite3_errmsg(db) : "out of memory");
}

/* mkdir -p for the database's directory, mode 0700 for what it creates. */
static int
make_parent(const char *path, char **cause)
{
	/* dirname() may return a static "." (a bare file name): work on a
	   copy of what it returns. */
	char *copy = xstrdup(path), *dir = xstrdup(dirname(copy)), *p;
	int r = 0;

	for (p = dir + 1;; p++) {
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
	free(dir);
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
				   "than this docker-guard knows (%zu)",
		    version, n);
		return -1;
	}
	for (size_t i = (size_t)version; i < n; i++) {
		char *sql =
		    xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = "
			      "%zu; COMMIT;",
			migrations[i], i + 1);
		char *why = NULL;

		if (exec_sql(db, sql, &why) != 0) {
			char *ignored = NULL;

			exec_sql(db, "ROLLBACK", &ignored);
			free(ignored);
			*cause = xasprintf("migrating the schema to version "
					   "%zu: %s",
			    i + 1, why);
			free(why);
			free(sql);
			return -1;
		}
		free(sql);
	}
	return 0;
}

static int chain_backfill(struct store *st, char **cause);

struct store *
store_open(const char *path, char **cause)
{
	struct store *st;
	sqlite3 *db = NULL;
	char *why = NULL;

	if (make_parent(path, cause) != 0)
		return NULL;
	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_FULLMUTEX,
		NULL) != SQLITE_OK) {
		*cause = xasprintf("cannot open the database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 1000);
	if (exec_sql(db,
		"PRAGMA journal_mode = WAL; "
		"PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
		&why) != 0 ||
	    migrate(db, &why) != 0) {
		*cause = xasprintf("database %s: %s", path, why);
		free(why);
		sqlite3_close(db);
		return NULL;
	}
	st = xcalloc(1, sizeof *st);
	st->db = db;
	st->path = xstrdup(path);
	if (chain_backfill(st, &why) != 0) {
		*cause = xasprintf("database %s: chaining old audit rows: %s",
		    path, why);
		free(why);
		store_close(st);
		return NULL;
	}
	/* From now on a lock held by someone else fails at once: the
	   caller retries later instead of stalling its event loop. */
	sqlite3_busy_timeout(db, 0);
	return st;
}

void
store_set_busy_timeout(struct store *st, int ms)
{
	sqlite3_busy_timeout(st->db, ms);
}

bool
store_transient(struct store *st)
{
	switch (st->last_rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
	case SQLITE_READONLY:
	case SQLITE_NOMEM:
		return true;
	default:
		return false;
	}
}

struct store *
store_open_readonly(const char *path, char **cause)
{
	struct store *st;
	sqlite3 *db = NULL;
	sqlite3_stmt *s;
	int version = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		*cause = xasprintf("cannot open the database %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			version = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
	}
	if (version != (int)(sizeof migrations / sizeof migrations[0])) {
		*cause = version <= 0
		    ? xasprintf(
			  "%s is not a docker-guard "
			  "database (or it is empty): start the guard once to "
			  "create it",
			  path)
		    : xasprintf(
			  "the database %s has schema "
			  "version %d; this docker-guard reads version %zu",
			  path, version,
			  sizeof migrations / sizeof migrations[0]);
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
	for (size_t i = 0; i < st->n_cache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* FNV-1a of an SQL text. */
static uint64_t
sql_hash(const char *sql)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

/* The cached statement of sql, or NULL. */
static struct cached_stmt *
cache_find(struct store *st, const char *sql, uint64_t hash)
{
	for (size_t i = 0; i < st->n_cache; i++) {
		struct cached_stmt *c = &st->cache[i];

		if (c->hash == hash && strcmp(sqlite3_sql(c->stmt), sql) == 0)
			return c;
	}
	return NULL;
}

/*
 * A statement of sql, ready to bind and step (the cached one when it is
 * free).  Give it back with release().  0, or -1 with *cause.
 */
static int
prepare(struct store *st, const char *sql, sqlite3_stmt **out, char **cause)
{
	uint64_t hash = sql_hash(sql);
	struct cached_stmt *c = cache_find(st, sql, hash);

	if (c != NULL && !c->in_use) {
		c->in_use = true;
		*out = c->stmt;
		return 0;
	}
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK) {
		st->last_rc = sqlite3_extended_errcode(st->db);
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errmsg(st->db));
		return -1;
	}
	if (c == NULL && st->n_cache < STORE_STMT_CACHE) {
		c = &st->cache[st->n_cache++];
		c->stmt = *out;
		c->hash = hash;
		c->in_use = true;
	}
	return 0;
}

/* Done with a statement from prepare(): reset for its next use (cached)
 * or finalized. */
static void
release(struct store *st, sqlite3_stmt *s)
{
	for (size_t i = 0; i < st->n_cache; i++) {
		if (st->cache[i].stmt == s) {
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			st->cache[i].in_use = false;
			return;
		}
	}
	sqlite3_finalize(s);
}

/* Roll back whatever is open, keeping the error code of the failure. */
static void
st_rollback(struct store *st)
{
	int rc = st->last_rc;

	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->last_rc = rc;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* Bind the client's uid, gid, pid and process name to parameters first
 * .. first + 3; left NULL when the peer is unknown. */
static void
bind_peer(sqlite3_stmt *s, int first, const struct peer_cred *peer)
{
	if (peer == NULL)
		return;
	sqlite3_bind_int64(s, first, peer->uid);
	sqlite3_bind_int64(s, first + 1, peer->gid);
	sqlite3_bind_int64(s, first + 2, peer->pid);
	bind_text(s, first + 3, peer->comm);
}

/* Release a statement whose rows were read; rc is the last step's. */
static int
finish_rows(struct store *st, sqlite3_stmt *s, int rc, char **cause)
{
	release(st, s);
	if (rc != SQLITE_DONE) {
		st->last_rc = rc;
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

/* Step a statement that returns no rows, then release it. */
static int
step_done(struct store *st, sqlite3_stmt *s, char **cause)
{
	int rc = sqlite3_step(s);

	return finish_rows(st, s, rc, cause);
}

int
store_app_versions(struct store *st, const char *app,
    struct store_versions *out, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	if (prepare(st,
		"SELECT version, MIN(created_at), repo_digest "
		"FROM deployments WHERE app = ?1 AND version IS NOT NULL "
		"GROUP BY version ORDER BY MIN(created_at)",
		&s, cause) != 0)
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
	release(st, s);
	if (rc != SQLITE_DONE) {
		st->last_rc = rc;
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

	if (prepare(st,
		"INSERT INTO deployments (app, container_id, "
		"container_name, image_ref, image_id, repo_digest, version, "
		"created_at, uid, gid, pid, comm, source) VALUES (?1, ?2, ?3, ?4, "
		"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
		"ON CONFLICT(container_id) DO NOTHING",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, d->app);
	bind_text(s, 2, d->container_id);
	bind_text(s, 3, d->container_name);
	bind_text(s, 4, d->image_ref);
	bind_text(s, 5, d->image_id);
	bind_text(s, 6, d->repo_digest);
	bind_text(s, 7, d->version);
	sqlite3_bind_int64(s, 8, d->time);
	bind_peer(s, 9, d->peer);
	bind_text(s, 13, d->source != NULL ? d->source : "guard");
	return step_done(st, s, cause);
}

/* WHERE clause matching a live container by full ID, ID prefix (at least
 * 12 characters, as Docker prints them) or current name. */
#define MATCH_CONTAINER                                                       \
	"removed_at IS NULL AND (container_id = ?1 OR "                       \
	"(length(?1) >= 12 AND substr(container_id, 1, length(?1)) = ?1) OR " \
	"container_name = ?1 OR container_name = '/' || ?1)"

int
store_record_rename(struct store *st, const char *container,
    const char *new_name, char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"UPDATE deployments SET container_name = ?2 WHERE " MATCH_CONTAINER,
		&s, cause) != 0)
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

	if (prepare(st,
		"UPDATE deployments SET removed_at = ?2 WHERE " MATCH_CONTAINER,
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, container);
	sqlite3_bind_int64(s, 2, time);
	return step_done(st, s, cause);
}

const char *
store_verdict_name(enum store_verdict v)
{
	switch (v) {
	case STORE_ALLOW:
		return "allow";
	case STORE_WARN:
		return "warn";
	case STORE_DENY:
		return "deny";
	case STORE_ERROR:
		return "error";
	}
	return "error";
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int64_t
col_int_or(sqlite3_stmt *s, int i, int64_t dflt)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL
	    ? dflt
	    : sqlite3_column_int64(s, i);
}

/* The hash of the newest audit row, or "" (caller frees). */
static int
last_hash(struct store *st, char **hash, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	*hash = NULL;
	if (prepare(st, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1", &s,
		cause) != 0)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*hash = xstrdup(col_text(s, 0) != NULL ? col_text(s, 0) : "");
	else if (rc == SQLITE_DONE)
		*hash = xstrdup("");
	release(st, s);
	if (*hash == NULL) {
		st->last_rc = rc;
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

/* Insert audit row a, chained to the newest, inside the caller's write
 * transaction; *id is its row ID. */
static int
audit_insert(struct store *st, const struct store_audit *a, int64_t *id,
    char **cause)
{
	struct audit_chain_row r = { 0 };
	sqlite3_stmt *s;
	char *prev = NULL, *hash;

	if (last_hash(st, &prev, cause) != 0)
		return -1;
	if (prepare(st,
		"INSERT INTO audit (time_ms, uid, gid, pid, comm, "
		"method, route, app, image_ref, digest, version, previous_version, "
		"rule, verdict, message, latency_us) VALUES (?1, ?2, ?3, ?4, ?5, "
		"?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
		&s, cause) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, a->time_ms);
	bind_peer(s, 2, a->peer);
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
	if (step_done(st, s, cause) != 0)
		goto fail;
	*id = sqlite3_last_insert_rowid(st->db);
	r.id = *id;
	r.time_ms = a->time_ms;
	r.uid = a->peer != NULL ? (int64_t)a->peer->uid : -1;
	r.gid = a->peer != NULL ? (int64_t)a->peer->gid : -1;
	r.pid = a->peer != NULL ? (int64_t)a->peer->pid : -1;
	r.comm = a->peer != NULL ? a->peer->comm : NULL;
	r.method = a->method;
	r.route = a->route;
	r.app = a->app;
	r.image_ref = a->image_ref;
	r.digest = a->digest;
	r.version = a->version;
	r.previous_version = a->previous_version;
	r.rule = a->rule;
	r.verdict = store_verdict_name(a->verdict);
	r.message = a->message;
	r.latency_us = a->latency_us;
	hash = audit_chain_hash(&r, prev);
	if (prepare(st,
		"UPDATE audit SET prev_hash = ?1, hash = ?2 WHERE "
		"id = ?3",
		&s, cause) != 0) {
		free(hash);
		goto fail;
	}
	bind_text(s, 1, prev);
	bind_text(s, 2, hash);
	sqlite3_bind_int64(s, 3, *id);
	free(hash);
	if (step_done(st, s, cause) != 0)
		goto fail;
	free(prev);
	return 0;
fail:
	free(prev);
	return -1;
}

int
store_audit(struct store *st, const struct store_audit *a, char **cause)
{
	struct store_write w = { 0 };

	w.audit = a;
	return store_write(st, &w, NULL, cause);
}

static int
intent_insert(struct store *st, const struct store_intent *in,
    int64_t decision_id, int64_t *id, char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"INSERT INTO creates (decision_id, app, "
		"container_name, image_ref, image_id, repo_digest, version, uid, "
		"gid, pid, comm, time_ms, token) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
		"?7, ?8, ?9, ?10, ?11, ?12, ?13)",
		&s, cause) != 0)
		return -1;
	sqlite3_bind_int64(s, 1, decision_id);
	bind_text(s, 2, in->app);
	bind_text(s, 3, in->container_name);
	bind_text(s, 4, in->image_ref);
	bind_text(s, 5, in->image_id);
	bind_text(s, 6, in->repo_digest);
	bind_text(s, 7, in->version);
	bind_peer(s, 8, in->peer);
	sqlite3_bind_int64(s, 12, in->time_ms);
	bind_text(s, 13, in->token);
	if (step_done(st, s, cause) != 0)
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int
outcome_update(struct store *st, const struct store_outcome *o, char **cause)
{
	sqlite3_stmt *s;

	if (o->token == NULL)
		return 0;
	if (prepare(st,
		"UPDATE creates SET status = ?2, container_id = "
		"coalesce(?3, container_id), outcome_ms = ?4 WHERE token = ?1",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, o->token);
	sqlite3_bind_int(s, 2, o->status);
	bind_text(s, 3, o->container_id);
	sqlite3_bind_int64(s, 4, o->time_ms);
	return step_done(st, s, cause);
}

/* The parts of w, inside the open transaction. */
static int
write_parts(struct store *st, const struct store_write *w,
    struct store_written *out, char **cause)
{
	if (w->deployment != NULL &&
	    store_record_deployment(st, w->deployment, cause) != 0)
		return -1;
	if (w->outcome != NULL && outcome_update(st, w->outcome, cause) != 0)
		return -1;
	if (w->removed != NULL &&
	    store_record_removal(st, w->removed, w->removed_at, cause) != 0)
		return -1;
	if (w->renamed != NULL &&
	    store_record_rename(st, w->renamed, w->new_name, cause) != 0)
		return -1;
	if (w->meta_key != NULL &&
	    store_meta_set(st, w->meta_key, w->meta_value, cause) != 0)
		return -1;
	if (w->audit != NULL &&
	    audit_insert(st, w->audit, &out->audit_id, cause) != 0)
		return -1;
	if (w->audit != NULL && w->intent != NULL &&
	    intent_insert(st, w->intent, out->audit_id, &out->intent_id,
		cause) != 0)
		return -1;
	return 0;
}

/* Run one statement of sql that returns no rows (cached, see prepare). */
static int
run_stmt(struct store *st, const char *sql, char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, sql, &s, cause) != 0)
		return -1;
	return step_done(st, s, cause);
}

int
store_write(struct store *st, const struct store_write *w,
    struct store_written *out, char **cause)
{
	struct store_written ignored;

	if (out == NULL)
		out = &ignored;
	memset(out, 0, sizeof *out);
	/* One writer at a time, so the audit chain has no forks. */
	if (run_stmt(st, "BEGIN IMMEDIATE", cause) != 0)
		return -1;
	if (write_parts(st, w, out, cause) != 0 ||
	    run_stmt(st, "COMMIT", cause) != 0) {
		st_rollback(st);
		memset(out, 0, sizeof *out);
		return -1;
	}
	return 0;
}

int
store_intent_match(struct store *st, const char *name, const char *image_id,
    int64_t created, struct store_intent_row *out, bool *found, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	*found = false;
	if (image_id == NULL)
		return 0;
	/* The engine stamps Created after the guard wrote the intent; the
	   window allows a slow engine and clock steps. */
	if (prepare(st,
		"SELECT id, decision_id, time_ms, app, container_name, "
		"image_ref, image_id, repo_digest, version, comm, uid, gid, pid, "
		"token FROM creates WHERE (status IS NULL OR status = 0) AND "
		"image_id = ?1 AND (container_name IS NULL OR container_name = ?2) "
		"AND time_ms <= (?3 + 2) * 1000 AND time_ms >= (?3 - 600) * 1000 "
		"ORDER BY container_name IS NULL, time_ms DESC LIMIT 1",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, image_id);
	bind_text(s, 2, name);
	sqlite3_bind_int64(s, 3, created);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v;

		*found = true;
		out->id = sqlite3_column_int64(s, 0);
		out->decision_id = sqlite3_column_int64(s, 1);
		out->time_ms = sqlite3_column_int64(s, 2);
#define DUP(f, i) out->f = (v = col_text(s, i)) != NULL ? xstrdup(v) : NULL
		DUP(app, 3);
		DUP(container_name, 4);
		DUP(image_ref, 5);
		DUP(image_id, 6);
		DUP(repo_digest, 7);
		DUP(version, 8);
		DUP(comm, 9);
		DUP(token, 13);
#undef DUP
		out->uid = col_int_or(s, 10, -1);
		out->gid = col_int_or(s, 11, -1);
		out->pid = col_int_or(s, 12, -1);
		rc = SQLITE_DONE;
	}
	if (finish_rows(st, s, rc, cause) != 0) {
		store_intent_row_reset(out);
		*found = false;
		return -1;
	}
	return 0;
}

void
store_intent_row_reset(struct store_intent_row *r)
{
	free(r->app);
	free(r->container_name);
	free(r->image_ref);
	free(r->image_id);
	free(r->repo_digest);
	free(r->version);
	free(r->comm);
	free(r->token);
	memset(r, 0, sizeof *r);
}

int
store_live_containers(struct store *st, int64_t before, char ***ids,
    char **cause)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int rc;

	*ids = xcalloc(1, sizeof **ids);
	if (prepare(st,
		"SELECT container_id FROM deployments WHERE "
		"removed_at IS NULL AND container_id NOT LIKE 'service:%' AND "
		"created_at < ?1",
		&s, cause) != 0)
		goto fail;
	sqlite3_bind_int64(s, 1, before);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*ids = xreallocarray(*ids, n + 2, sizeof **ids);
		(*ids)[n++] = xstrdup(col_text(s, 0));
		(*ids)[n] = NULL;
	}
	if (finish_rows(st, s, rc, cause) == 0)
		return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free((*ids)[i]);
	free(*ids);
	*ids = NULL;
	return -1;
}

/* A copy of v (NULL stays NULL) kept in *strings (grown by doubling). */
static const char *
own_str(char ***strings, size_t *n, const char *v)
{
	char *copy;

	if (v == NULL)
		return NULL;
	if (*n == 0 || (*n & (*n - 1)) == 0)
		*strings = xreallocarray(*strings, *n == 0 ? 16 : *n * 2,
		    sizeof **strings);
	copy = xstrdup(v);
	(*strings)[(*n)++] = copy;
	return copy;
}

static void
free_strings(char **strings, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(strings[i]);
	free(strings);
}

/* Prepare sql (?1 after_id, ?2 limit) and bind it. */
static int
prepare_after(struct store *st, const char *sql, int64_t after_id, size_t limit,
    sqlite3_stmt **s, char **cause)
{
	if (prepare(st, sql, s, cause) != 0)
		return -1;
	sqlite3_bind_int64(*s, 1, after_id);
	sqlite3_bind_int64(*s, 2,
	    limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
	return 0;
}

/* Read the audit row at the statement's current position. */
static void
read_audit_row(sqlite3_stmt *s, struct store_audit_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->time_ms = sqlite3_column_int64(s, 1);
	r->uid = col_int_or(s, 2, -1);
	r->gid = col_int_or(s, 3, -1);
	r->pid = col_int_or(s, 4, -1);
	r->comm = col_text(s, 5);
	r->method = col_text(s, 6);
	r->route = col_text(s, 7);
	r->app = col_text(s, 8);
	r->image_ref = col_text(s, 9);
	r->digest = col_text(s, 10);
	r->version = col_text(s, 11);
	r->previous_version = col_text(s, 12);
	r->rule = col_text(s, 13);
	r->verdict = col_text(s, 14);
	r->message = col_text(s, 15);
	r->latency_us = sqlite3_column_int64(s, 16);
	r->prev_hash = col_text(s, 17);
	r->hash = col_text(s, 18);
}

#define AUDIT_COLUMNS                                                       \
	"id, time_ms, uid, gid, pid, comm, method, route, app, image_ref, " \
	"digest, version, previous_version, rule, verdict, message, "       \
	"latency_us, prev_hash, hash"

int
store_audit_query(struct store *st, const struct store_audit_filter *f,
    void (*cb)(const struct store_audit_row *, void *), void *arg, char **cause)
{
	sqlite3_stmt *s;
	char *sql;
	int rc;

	/* The newest N, shown oldest first. */
	sql = xasprintf(
	    "SELECT * FROM (SELECT " AUDIT_COLUMNS " FROM audit "
	    "WHERE (?1 = 0 OR time_ms >= ?1) AND (?2 = 0 OR time_ms <= ?2) "
	    "AND (?3 IS NULL OR app = ?3) AND (?4 IS NULL OR verdict = ?4) "
	    "AND (?5 IS NULL OR rule = ?5) AND (?6 < 0 OR uid = ?6) "
	    "AND (?8 OR ?5 IS NOT NULL OR rule IS NOT 'outcome') "
	    "ORDER BY id DESC LIMIT ?7) ORDER BY id");
	rc = prepare(st, sql, &s, cause);
	free(sql);
	if (rc != 0)
		return -1;
	sqlite3_bind_int64(s, 1, f->since_ms);
	sqlite3_bind_int64(s, 2, f->until_ms);
	bind_text(s, 3, f->app);
	bind_text(s, 4, f->verdict);
	bind_text(s, 5, f->rule);
	sqlite3_bind_int64(s, 6, f->uid);
	sqlite3_bind_int64(s, 7, f->limit > 0 ? f->limit : -1);
	sqlite3_bind_int(s, 8, f->outcomes ? 1 : 0);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_audit_row r;

		read_audit_row(s, &r);
		cb(&r, arg);
	}
	return finish_rows(st, s, rc, cause);
}

/* Make the strings of the newest row of out its own. */
static void
own_audit(struct store_audit_rows *out)
{
	struct store_audit_row *r = &out->items[out->n - 1];
	char ***sv = &out->strings;
	size_t *n = &out->n_strings;

	r->comm = own_str(sv, n, r->comm);
	r->method = own_str(sv, n, r->method);
	r->route = own_str(sv, n, r->route);
	r->app = own_str(sv, n, r->app);
	r->image_ref = own_str(sv, n, r->image_ref);
	r->digest = own_str(sv, n, r->digest);
	r->version = own_str(sv, n, r->version);
	r->previous_version = own_str(sv, n, r->previous_version);
	r->rule = own_str(sv, n, r->rule);
	r->verdict = own_str(sv, n, r->verdict);
	r->message = own_str(sv, n, r->message);
	r->prev_hash = own_str(sv, n, r->prev_hash);
	r->hash = own_str(sv, n, r->hash);
}

int
store_audit_after(struct store *st, int64_t after_id, size_t limit,
    struct store_audit_rows *out, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	if (prepare_after(st,
		"SELECT " AUDIT_COLUMNS " FROM audit "
		"WHERE id > ?1 ORDER BY id LIMIT ?2",
		after_id, limit, &s, cause) != 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		out->items = xreallocarray(out->items, out->n + 1,
		    sizeof *out->items);
		read_audit_row(s, &out->items[out->n++]);
		own_audit(out);
	}
	if (finish_rows(st, s, rc, cause) != 0) {
		store_audit_rows_reset(out);
		return -1;
	}
	return 0;
}

/* The fields of an audit row that its chain hash covers (borrowed). */
static void
chain_row_of(const struct store_audit_row *r, struct audit_chain_row *c)
{
	c->id = r->id;
	c->time_ms = r->time_ms;
	c->uid = r->uid;
	c->gid = r->gid;
	c->pid = r->pid;
	c->comm = r->comm;
	c->method = r->method;
	c->route = r->route;
	c->app = r->app;
	c->image_ref = r->image_ref;
	c->digest = r->digest;
	c->version = r->version;
	c->previous_version = r->previous_version;
	c->rule = r->rule;
	c->verdict = r->verdict;
	c->message = r->message;
	c->latency_us = r->latency_us;
}

int
store_audit_verify(struct store *st, int64_t *bad_id, char **what,
    int64_t *rows, char **cause)
{
	sqlite3_stmt *s;
	char *prev = xstrdup("");
	int rc;

	*bad_id = 0;
	*what = NULL;
	*rows = 0;
	if (prepare(st, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY id", &s,
		cause) != 0) {
		free(prev);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_audit_row r;
		struct audit_chain_row c;
		char *want;

		read_audit_row(s, &r);
		(*rows)++;
		chain_row_of(&r, &c);
		if (r.prev_hash == NULL || strcmp(r.prev_hash, prev) != 0) {
			*bad_id = r.id;
			*what = xasprintf(
			    "row %lld does not follow the row "
			    "before it: a row before it was removed or "
			    "altered",
			    (long long)r.id);
			break;
		}
		want = audit_chain_hash(&c, prev);
		if (r.hash == NULL || strcmp(r.hash, want) != 0) {
			*bad_id = r.id;
			*what = xasprintf("row %lld was altered: its hash does "
					  "not match its contents",
			    (long long)r.id);
			free(want);
			break;
		}
		free(prev);
		prev = want;
	}
	release(st, s);
	free(prev);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(*what);
		*what = NULL;
		*cause = xasprintf("database %s: %s", st->path,
		    sqlite3_errstr(rc));
		return -1;
	}
	return 0;
}

#define DEPLOYMENT_COLUMNS                                                  \
	"id, app, container_id, container_name, image_ref, image_id, "      \
	"repo_digest, version, comm, source, created_at, removed_at, uid, " \
	"pid"

/* Read the deployments row (DEPLOYMENT_COLUMNS) at the statement's
 * current position; strings are borrowed until the next step. */
static void
read_deployment_row(sqlite3_stmt *s, struct store_deployment_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->app = col_text(s, 1);
	r->container_id = col_text(s, 2);
	r->container_name = col_text(s, 3);
	r->image_ref = col_text(s, 4);
	r->image_id = col_text(s, 5);
	r->repo_digest = col_text(s, 6);
	r->version = col_text(s, 7);
	r->comm = col_text(s, 8);
	r->source = col_text(s, 9);
	r->created_at = sqlite3_column_int64(s, 10);
	r->removed_at = col_int_or(s, 11, 0);
	r->uid = col_int_or(s, 12, -1);
	r->pid = col_int_or(s, 13, -1);
}

/* Each row of s (prepared, bound) as a deployment, to cb; then
 * finish_rows. */
static int
deployment_rows(struct store *st, sqlite3_stmt *s,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_deployment_row r;

		read_deployment_row(s, &r);
		cb(&r, arg);
	}
	return finish_rows(st, s, rc, cause);
}

int
store_history(struct store *st, const char *app,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"SELECT " DEPLOYMENT_COLUMNS " FROM deployments "
		"WHERE ?1 IS NULL OR app = ?1 ORDER BY app, created_at, id",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	return deployment_rows(st, s, cb, arg, cause);
}

int
store_deployment_of(struct store *st, const char *container_id,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"SELECT " DEPLOYMENT_COLUMNS " FROM deployments "
		"WHERE container_id = ?1",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, container_id);
	return deployment_rows(st, s, cb, arg, cause);
}

int
store_history_newest(struct store *st, const char *app, long limit,
    void (*cb)(const struct store_deployment_row *, void *), void *arg,
    char **cause)
{
	sqlite3_stmt *s;

	/* The deployments_app index (app, created_at) walked backwards:
	   at most limit rows are read. */
	if (prepare(st,
		"SELECT " DEPLOYMENT_COLUMNS " FROM deployments "
		"WHERE app = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	sqlite3_bind_int64(s, 2, limit);
	return deployment_rows(st, s, cb, arg, cause);
}

int
store_apps_recent(struct store *st, long limit,
    void (*cb)(const struct store_app_row *, void *), void *arg, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	/* The apps from one pass over the covering index deployments_app
	   (app, created_at); then, per app shown, a few searches of
	   deployments_app_removed (app, removed_at) and the current
	   container by its id. */
	if (prepare(st,
		"SELECT a.app, a.created, a.live, a.removed, a.cur, "
		" d.version, d.image_ref FROM (SELECT g.app, g.created, "
		"(SELECT count(*) FROM deployments x WHERE x.app = g.app "
		" AND x.removed_at IS NULL) AS live, "
		"(SELECT removed_at FROM deployments x WHERE x.app = g.app "
		" AND x.removed_at IS NOT NULL ORDER BY removed_at DESC "
		" LIMIT 1) AS removed, "
		"(SELECT id FROM deployments x INDEXED BY "
		" deployments_app_removed WHERE x.app = g.app AND "
		" x.removed_at IS NULL ORDER BY created_at DESC, id DESC "
		" LIMIT 1) AS cur "
		"FROM (SELECT app, MAX(created_at) AS created FROM deployments "
		" GROUP BY app ORDER BY created DESC, app LIMIT ?1) g) a "
		"LEFT JOIN deployments d ON d.id = a.cur "
		"ORDER BY a.created DESC, a.app",
		&s, cause) != 0)
		return -1;
	sqlite3_bind_int64(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_app_row r;
		int64_t removed = col_int_or(s, 3, 0);
		bool live = sqlite3_column_type(s, 4) != SQLITE_NULL;

		r.app = col_text(s, 0);
		r.last_change = sqlite3_column_int64(s, 1);
		if (removed > r.last_change)
			r.last_change = removed;
		r.live = (int)sqlite3_column_int64(s, 2);
		r.current_version = !live    ? NULL
		    : col_text(s, 5) != NULL ? col_text(s, 5)
					     : "";
		r.current_image = col_text(s, 6);
		cb(&r, arg);
	}
	return finish_rows(st, s, rc, cause);
}

int
store_app_version_names(struct store *st, const char *app,
    void (*cb)(const char *version, void *), void *arg, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	/* The covering index deployments_app_version (app, version). */
	if (prepare(st,
		"SELECT DISTINCT version FROM deployments WHERE app = ?1 "
		"AND version IS NOT NULL",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		cb(col_text(s, 0), arg);
	return finish_rows(st, s, rc, cause);
}

int
store_audit_newest(struct store *st, const char *rule, const char *verdict,
    long limit, void (*cb)(const struct store_audit_row *, void *), void *arg,
    char **cause)
{
	sqlite3_stmt *s;
	int rc;

	/* One fixed equality each, so that the index audit_rule or
	   audit_verdict serves it: at most limit rows are read. */
	if (prepare(st,
		rule != NULL ? "SELECT " AUDIT_COLUMNS " FROM audit WHERE "
			       "rule = ?1 ORDER BY id DESC LIMIT ?2"
			     : "SELECT " AUDIT_COLUMNS " FROM audit WHERE "
			       "verdict = ?1 ORDER BY id DESC LIMIT ?2",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, rule != NULL ? rule : verdict);
	sqlite3_bind_int64(s, 2, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_audit_row r;

		read_audit_row(s, &r);
		cb(&r, arg);
	}
	return finish_rows(st, s, rc, cause);
}

void
store_deployment_rows_reset(struct store_deployment_rows *rows)
{
	free_strings(rows->strings, rows->n_strings);
	free(rows->items);
	memset(rows, 0, sizeof *rows);
}

void
store_audit_rows_reset(struct store_audit_rows *rows)
{
	free_strings(rows->strings, rows->n_strings);
	free(rows->items);
	memset(rows, 0, sizeof *rows);
}

/* Make the strings of the newest row of out its own. */
static void
own_deployment(struct store_deployment_rows *out)
{
	struct store_deployment_row *r = &out->items[out->n - 1];
	char ***sv = &out->strings;
	size_t *n = &out->n_strings;

	r->app = own_str(sv, n, r->app);
	r->container_id = own_str(sv, n, r->container_id);
	r->container_name = own_str(sv, n, r->container_name);
	r->image_ref = own_str(sv, n, r->image_ref);
	r->image_id = own_str(sv, n, r->image_id);
	r->repo_digest = own_str(sv, n, r->repo_digest);
	r->version = own_str(sv, n, r->version);
	r->comm = own_str(sv, n, r->comm);
	r->source = own_str(sv, n, r->source);
}

int
store_deployments_after(struct store *st, int64_t after_id, size_t limit,
    struct store_deployment_rows *out, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	memset(out, 0, sizeof *out);
	if (prepare_after(st,
		"SELECT " DEPLOYMENT_COLUMNS " FROM deployments "
		"WHERE id > ?1 ORDER BY id LIMIT ?2",
		after_id, limit, &s, cause) != 0)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		out->items = xreallocarray(out->items, out->n + 1,
		    sizeof *out->items);
		read_deployment_row(s, &out->items[out->n++]);
		own_deployment(out);
	}
	if (finish_rows(st, s, rc, cause) != 0) {
		store_deployment_rows_reset(out);
		return -1;
	}
	return 0;
}

/* Run a one-value query; *out is the integer or text (allocated). */
static int
query_one(struct store *st, const char *sql, const char *p1, const char *p2,
    int64_t *num, char **text, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	if (num != NULL)
		*num = 0;
	if (text != NULL)
		*text = NULL;
	if (prepare(st, sql, &s, cause) != 0)
		return -1;
	bind_text(s, 1, p1);
	if (p2 != NULL)
		bind_text(s, 2, p2);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (num != NULL)
			*num = sqlite3_column_int64(s, 0);
		if (text != NULL && col_text(s, 0) != NULL)
			*text = xstrdup(col_text(s, 0));
		rc = SQLITE_DONE;
	}
	return finish_rows(st, s, rc, cause);
}

int
store_container_known(struct store *st, const char *container_id, bool *known,
    char **cause)
{
	int64_t n;

	if (query_one(st,
		"SELECT count(*) FROM deployments WHERE "
		"container_id = ?1",
		container_id, NULL, &n, NULL, cause) != 0)
		return -1;
	*known = n > 0;
	return 0;
}

int
store_app_live(struct store *st, const char *app, int *count, char **cause)
{
	int64_t n;

	if (query_one(st,
		"SELECT count(*) FROM deployments WHERE app = ?1 AND "
		"removed_at IS NULL",
		app, NULL, &n, NULL, cause) != 0)
		return -1;
	*count = (int)n;
	return 0;
}

int
store_app_of_container(struct store *st, const char *container, char **app,
    char **cause)
{
	return query_one(st,
	    "SELECT app FROM deployments WHERE " MATCH_CONTAINER
	    " ORDER BY created_at DESC LIMIT 1",
	    container, NULL, NULL, app, cause);
}

int
store_meta_get(struct store *st, const char *key, char **value, char **cause)
{
	return query_one(st, "SELECT value FROM meta WHERE key = ?1", key, NULL,
	    NULL, value, cause);
}

int
store_meta_set(struct store *st, const char *key, const char *value,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"INSERT INTO meta (key, value) VALUES (?1, ?2) "
		"ON CONFLICT(key) DO UPDATE SET value = ?2",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, key);
	bind_text(s, 2, value);
	return step_done(st, s, cause);
}

int
store_snapshot_put(struct store *st, const char *app, const char *container_id,
    const char *name, const char *inspect, bool was_running, int64_t time,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st,
		"INSERT INTO snapshots (app, container_id, "
		"container_name, inspect, was_running, removed_at) VALUES (?1, ?2, "
		"?3, ?4, ?5, ?6)",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	bind_text(s, 2, container_id);
	bind_text(s, 3, name);
	bind_text(s, 4, inspect);
	sqlite3_bind_int(s, 5, was_running ? 1 : 0);
	sqlite3_bind_int64(s, 6, time);
	return step_done(st, s, cause);
}

int
store_snapshot_latest(struct store *st, const char *app, int64_t since,
    int64_t *id, char **inspect, bool *was_running, char **cause)
{
	sqlite3_stmt *s;
	int rc;

	*inspect = NULL;
	*id = 0;
	*was_running = false;
	if (prepare(st,
		"SELECT id, inspect, was_running FROM snapshots WHERE "
		"app = ?1 AND removed_at >= ?2 AND restored_at IS NULL "
		"ORDER BY removed_at DESC, id DESC LIMIT 1",
		&s, cause) != 0)
		return -1;
	bind_text(s, 1, app);
	sqlite3_bind_int64(s, 2, since);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		*inspect = xstrdup(col_text(s, 1));
		*was_running = sqlite3_column_int(s, 2) != 0;
		rc = SQLITE_DONE;
	}
	return finish_rows(st, s, rc, cause);
}

int
store_snapshot_restored(struct store *st, int64_t id, int64_t time,
    char **cause)
{
	sqlite3_stmt *s;

	if (prepare(st, "UPDATE snapshots SET restored_at = ?2 WHERE id = ?1",
		&s, cause) != 0)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, time);
	return step_done(st, s, cause);
}

/* Rows written before the chain existed (schema 1) get chained now, in
 * order, once. */
static int
chain_backfill(struct store *st, char **cause)
{
	sqlite3_stmt *s, *u;
	char *prev = NULL, *why = NULL;
	int64_t n = 0;
	int rc;

	if (query_one(st, "SELECT count(*) FROM audit WHERE hash IS NULL", NULL,
		NULL, &n, NULL, cause) != 0)
		return -1;
	if (n == 0)
		return 0;
	if (exec_sql(st->db, "BEGIN IMMEDIATE", &why) != 0) {
		*cause = why;
		return -1;
	}
	prev = xstrdup("");
	if (prepare(st, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY id", &s,
		cause) != 0)
		goto fail;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_audit_row r;
		struct audit_chain_row c;
		char *h;

		read_audit_row(s, &r);
		if (r.hash != NULL) {
			free(prev);
			prev = xstrdup(r.hash);
			continue;
		}
		chain_row_of(&r, &c);
		h = audit_chain_hash(&c, prev);
		if (prepare(st,
			"UPDATE audit SET prev_hash = ?1, hash = ?2 "
			"WHERE id = ?3",
			&u, cause) != 0) {
			free(h);
			release(st, s);
			goto fail;
		}
		bind_text(u, 1, prev);
		bind_text(u, 2, h);
		sqlite3_bind_int64(u, 3, r.id);
		if (step_done(st, u, cause) != 0) {
			free(h);
			release(st, s);
			goto fail;
		}
		free(prev);
		prev = h;
	}
	release(st, s);
	free(prev);
	if (exec_sql(st->db, "COMMIT", &why) != 0) {
		*cause = why;
		exec_sql(st->db, "ROLLBACK", &why);
		return -1;
	}
	return 0;
fail:
	free(prev);
	exec_sql(st->db, "ROLLBACK", &why);
	free(why);
	return -1;
}
