/*
 * The SQL of the fleet ledger, and local rows as its text parameters.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fleet_sql.h"
#include "sql_text.h"
#include "xmalloc.h"

const char *const FLEET_SQL_SCHEMA =
    "BEGIN;"
    /* No NOTICE "relation ... already exists, skipping" every start. */
    "SET LOCAL client_min_messages = warning;"
    "SELECT pg_advisory_xact_lock(7234173201455392615);" /* the lock */
    "CREATE TABLE IF NOT EXISTS dg_versions ("
    "  id bigserial PRIMARY KEY,"
    "  host text NOT NULL,"
    "  app text NOT NULL,"
    "  version text,"
    "  digest text,"
    "  image_ref text,"
    "  image_id text,"
    "  container_id text,"
    "  container_name text,"
    "  first_seen bigint NOT NULL," /* unix ms */
    "  source text NOT NULL,"	    /* claim|guard|event|sync|import */
    "  state text NOT NULL,"	    /* claimed|created */
    "  token text,"
    "  local_id bigint);" /* deployments.id in that host's SQLite */
    "CREATE UNIQUE INDEX IF NOT EXISTS dg_versions_token"
    "  ON dg_versions (host, token) WHERE token IS NOT NULL;"
    "CREATE UNIQUE INDEX IF NOT EXISTS dg_versions_container"
    "  ON dg_versions (host, container_id) WHERE container_id IS NOT NULL;"
    "CREATE UNIQUE INDEX IF NOT EXISTS dg_versions_local"
    "  ON dg_versions (host, local_id) WHERE local_id IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS dg_versions_app"
    "  ON dg_versions (app, first_seen);"
    /* The app's generation (its highest row ID), and the rows above
       one: FLEET_SQL_HISTORY and dg_claim. */
    "CREATE INDEX IF NOT EXISTS dg_versions_app_id"
    "  ON dg_versions (app, id);"
    /* FLEET_SQL_HISTORY's groups, read from the index alone. */
    "CREATE INDEX IF NOT EXISTS dg_versions_history"
    "  ON dg_versions (app, version, digest, host)"
    "  INCLUDE (first_seen, state);"
    "CREATE TABLE IF NOT EXISTS dg_audit ("
    "  host text NOT NULL,"
    "  local_id bigint NOT NULL,"
    "  time_ms bigint NOT NULL,"
    "  uid bigint, gid bigint, pid bigint, comm text,"
    "  method text, route text, app text, image_ref text, digest text,"
    "  version text, previous_version text, rule text,"
    "  verdict text NOT NULL, message text, latency_us bigint,"
    "  prev_hash text, hash text,"
    "  PRIMARY KEY (host, local_id));"
    "CREATE INDEX IF NOT EXISTS dg_audit_time ON dg_audit (time_ms);"
    "CREATE INDEX IF NOT EXISTS dg_audit_app ON dg_audit (app, time_ms);"
    "CREATE TABLE IF NOT EXISTS dg_meta (key text PRIMARY KEY, value text);"
    "INSERT INTO dg_meta (key, value) VALUES ('schema_version', '1')"
    "  ON CONFLICT (key) DO NOTHING;"
    /* A claim if no claim of the app came since generation p_gen, in one
       statement (its own transaction): the app's lock, then the check
       and the row, each statement reading a fresh snapshot (a volatile
       function's), so they see what the lock's last holder committed.
       The row's ID (the app's new generation), or NULL when the app had
       moved on.  Its plans are kept for the session.  No ON CONFLICT: the
       token is new, and a speculative insert costs more than the row. */
    "CREATE OR REPLACE FUNCTION dg_claim(p_host text, p_app text,"
    "  p_version text, p_digest text, p_image_ref text, p_image_id text,"
    "  p_container_name text, p_first_seen bigint, p_token text,"
    "  p_gen bigint) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $dg$"
    " DECLARE new_id bigint;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(hashtextextended(p_app, 0));"
    "  IF EXISTS (SELECT 1 FROM dg_versions"
    "    WHERE app = p_app AND id > p_gen) THEN"
    "   RETURN NULL;"
    "  END IF;"
    "  INSERT INTO dg_versions (host, app, version, digest, image_ref,"
    "    image_id, container_name, first_seen, token, source, state)"
    "   VALUES (p_host, p_app, p_version, p_digest, p_image_ref,"
    "    p_image_id, p_container_name, p_first_seen, p_token, 'claim',"
    "    'claimed')"
    "   RETURNING id INTO new_id;"
    "  RETURN new_id;"
    " END $dg$;"
    "COMMIT";

const char *const FLEET_SQL_SCHEMA_VERSION =
    "SELECT value FROM dg_meta WHERE key = 'schema_version'";

const char *const FLEET_SQL_LOCK_APP =
    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

const char *const FLEET_SQL_HISTORY =
    "WITH h AS (SELECT version, digest, host,"
    "  min(first_seen) AS first_seen_ms,"
    "  bool_and(state = 'claimed') AS claimed"
    "  FROM dg_versions WHERE app = $1 AND version IS NOT NULL"
    "  GROUP BY version, digest, host),"
    " g AS (SELECT coalesce(max(id), 0) AS gen FROM dg_versions"
    "  WHERE app = $1)"
    " SELECT h.version, h.digest, h.host, h.first_seen_ms, h.claimed, g.gen"
    " FROM g LEFT JOIN h ON true"
    " ORDER BY h.first_seen_ms, h.host, h.version";

const char *const FLEET_SQL_CLAIM =
    "INSERT INTO dg_versions (host, app, version, digest, image_ref,"
    " image_id, container_name, first_seen, token, source, state)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'claim', 'claimed')"
    " ON CONFLICT DO NOTHING";

/* keep.ok is one non-NULL boolean: the UPDATE takes the claim when it is
 * true, the DELETE when it is false, never both. */
/* Row IDs are taken under the app's lock by every claim, so "no row of
 * the app above gen" means no claim came since the history was read
 * (dg_claim in FLEET_SQL_SCHEMA). */
const char *const FLEET_SQL_CLAIM_IF_UNCHANGED =
    "SELECT dg_claim($1, $2, $3, $4, $5, $6, $7, $8::bigint, $9,"
    " $10::bigint)";

const char *const FLEET_SQL_OUTCOME =
    "WITH c AS (SELECT id FROM dg_versions"
    "  WHERE host = $1 AND token = $2 AND state = 'claimed'),"
    " keep AS (SELECT coalesce($4::int BETWEEN 200 AND 299"
    "  AND NOT EXISTS (SELECT 1 FROM dg_versions"
    "   WHERE host = $1 AND container_id = $3::text), false) AS ok),"
    " upd AS (UPDATE dg_versions v SET container_id = $3::text,"
    "  state = 'created' FROM c, keep WHERE v.id = c.id AND keep.ok"
    "  RETURNING v.id),"
    " del AS (DELETE FROM dg_versions v USING c, keep"
    "  WHERE v.id = c.id AND NOT keep.ok RETURNING v.id)"
    " SELECT (SELECT count(*) FROM upd) AS updated,"
    " (SELECT count(*) FROM del) AS deleted";

const char *const FLEET_SQL_WATERMARK_VERSIONS =
    "SELECT coalesce(max(local_id), 0) FROM dg_versions WHERE host = $1";

const char *const FLEET_SQL_WATERMARK_AUDIT =
    "SELECT coalesce(max(local_id), 0) FROM dg_audit WHERE host = $1";

const char *const FLEET_SQL_SHIP_DEPLOYMENT =
    "INSERT INTO dg_versions (host, app, version, digest, image_ref,"
    " image_id, container_id, container_name, first_seen, source, state,"
    " local_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'created', $11)"
    " ON CONFLICT (host, container_id) WHERE container_id IS NOT NULL"
    " DO UPDATE SET local_id = EXCLUDED.local_id";

const char *const FLEET_SQL_SHIP_AUDIT =
    "INSERT INTO dg_audit (host, local_id, time_ms, uid, gid, pid, comm,"
    " method, route, app, image_ref, digest, version, previous_version,"
    " rule, verdict, message, latency_us, prev_hash, hash)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
    " $15, $16, $17, $18, $19, $20)"
    " ON CONFLICT DO NOTHING";

const char *const FLEET_SQL_VIEW_HISTORY =
    "SELECT host, app, version, digest, image_ref, image_id, container_id,"
    " container_name, first_seen, source, state FROM dg_versions"
    " WHERE $1::text IS NULL OR app = $1::text"
    " ORDER BY app, first_seen, host, id";

const char *const FLEET_SQL_VIEW_AUDIT =
    "SELECT * FROM (SELECT host, local_id, time_ms, uid, gid, pid, comm,"
    " method, route, app, image_ref, digest, version, previous_version,"
    " rule, verdict, message, latency_us, prev_hash, hash FROM dg_audit"
    " WHERE ($1::bigint = 0 OR time_ms >= $1::bigint)"
    " AND ($2::bigint = 0 OR time_ms <= $2::bigint)"
    " AND ($3::text IS NULL OR app = $3::text)"
    " AND ($4::text IS NULL OR verdict = $4::text)"
    " AND ($5::text IS NULL OR rule = $5::text)"
    " AND ($6::bigint < 0 OR uid = $6::bigint)"
    " AND ($8::boolean OR $5::text IS NOT NULL"
    "  OR rule IS DISTINCT FROM 'outcome')"
    " AND ($9::text IS NULL OR host = $9::text)"
    " ORDER BY time_ms DESC, host DESC, local_id DESC LIMIT $7::bigint)"
    " AS newest ORDER BY time_ms, host, local_id";

const char *const FLEET_SQL_COUNT_VERSIONS =
    "SELECT count(local_id) FROM dg_versions WHERE host = $1";

const char *const FLEET_SQL_COUNT_AUDIT =
    "SELECT count(*) FROM dg_audit WHERE host = $1";

/* Start out with no parameters. */
static void
params_init(struct fleet_params *out)
{
	memset(out, 0, sizeof *out);
}

/* Append a borrowed string (NULL: SQL NULL). */
static void
put_str(struct fleet_params *out, const char *v)
{
	out->values[out->n++] = v;
}

/* Append an integer, formatted into out's own buffer. */
static void
put_int(struct fleet_params *out, int64_t v)
{
	snprintf(out->num[out->n], sizeof out->num[out->n], "%" PRId64, v);
	out->values[out->n] = out->num[out->n];
	out->n++;
}

/* Append an integer, or NULL when it is negative (unknown). */
static void
put_known(struct fleet_params *out, int64_t v)
{
	if (v < 0)
		put_str(out, NULL);
	else
		put_int(out, v);
}

void
fleet_sql_deployment_params(const struct store_deployment_row *r,
    const char *host, struct fleet_params *out)
{
	params_init(out);
	put_str(out, host);
	put_str(out, r->app);
	put_str(out, r->version);
	put_str(out, r->repo_digest);
	put_str(out, r->image_ref);
	put_str(out, r->image_id);
	put_str(out, r->container_id);
	put_str(out, r->container_name);
	put_int(out, r->created_at * 1000);
	put_str(out, r->source != NULL ? r->source : "guard");
	put_int(out, r->id);
}

void
fleet_sql_audit_params(const struct store_audit_row *r, const char *host,
    struct fleet_params *out)
{
	params_init(out);
	put_str(out, host);
	put_int(out, r->id);
	put_int(out, r->time_ms);
	put_known(out, r->uid);
	put_known(out, r->gid);
	put_known(out, r->pid);
	put_str(out, r->comm);
	put_str(out, r->method);
	put_str(out, r->route);
	put_str(out, r->app);
	put_str(out, r->image_ref);
	put_str(out, r->digest);
	put_str(out, r->version);
	put_str(out, r->previous_version);
	put_str(out, r->rule);
	put_str(out, r->verdict != NULL ? r->verdict : "error");
	put_str(out, r->message);
	put_int(out, r->latency_us);
	put_str(out, r->prev_hash);
	put_str(out, r->hash);
}

void
fleet_sql_claim_params(const struct fleet_record *rec, const char *host,
    struct fleet_params *out)
{
	params_init(out);
	put_str(out, host);
	put_str(out, rec->app);
	put_str(out, rec->version);
	put_str(out, rec->digest);
	put_str(out, rec->image_ref);
	put_str(out, rec->image_id);
	put_str(out, rec->container_name);
	put_int(out, rec->time_ms);
	put_str(out, rec->token);
}

void
fleet_sql_claim_if_unchanged_params(const struct fleet_record *rec,
    const char *host, int64_t gen, struct fleet_params *out)
{
	fleet_sql_claim_params(rec, host, out);
	put_int(out, gen);
}

void
fleet_sql_outcome_params(const char *host, const char *token,
    const char *container_id, int status, struct fleet_params *out)
{
	params_init(out);
	put_str(out, host);
	put_str(out, token);
	put_str(out, container_id);
	put_int(out, status);
}

void
fleet_sql_audit_filter_params(const struct store_audit_filter *f,
    const char *host, struct fleet_params *out)
{
	params_init(out);
	put_int(out, f->since_ms);
	put_int(out, f->until_ms);
	put_str(out, f->app);
	put_str(out, f->verdict);
	put_str(out, f->rule);
	put_int(out, f->uid);
	if (f->limit > 0)
		put_int(out, f->limit);
	else
		put_str(out, NULL);
	put_str(out, f->outcomes ? "true" : "false");
	put_str(out, host);
}

/* The passwords conninfo carries, at most max, as [start, end) spans of
 * conninfo.  Returns how many. */
static size_t
find_passwords(const char *conninfo, const char **start, const char **end,
    size_t max)
{
	const char *p, *auth, *at, *colon;
	size_t n = 0;

	/* postgresql://user:PASSWORD@host,... */
	if ((p = strstr(conninfo, "://")) != NULL) {
		auth = p + 3;
		at = NULL;
		for (p = auth; *p != '\0' && *p != '/' && *p != '?'; p++)
			if (*p == '@')
				at = p;
		colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth))
				   : NULL;
		if (colon != NULL && colon + 1 < at) {
			start[n] = colon + 1;
			end[n++] = at;
		}
	}
	/* password=... (key = value, or a URI parameter) */
	for (p = conninfo; n < max && (p = strstr(p, "password")) != NULL;) {
		const char *v = p + strlen("password");

		p = v;
		while (*v == ' ')
			v++;
		if (*v++ != '=')
			continue;
		while (*v == ' ')
			v++;
		start[n] = v;
		if (*v == '\'') {
			/* 'quoted', \' and \\ escaped */
			for (v++; *v != '\0' && *v != '\''; v++)
				if (*v == '\\' && v[1] != '\0')
					v++;
			if (*v == '\'')
				v++;
		} else {
			while (*v != '\0' && *v != '&' && *v != ' ')
				v++;
		}
		if (v > start[n])
			end[n++] = v;
	}
	return n;
}

/* Replace each [start[i], end[i]) text found in *line by "***". */
static void
mask_spans(char **line, const char *const *start, const char *const *end,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *from = start[i];
		size_t len = (size_t)(end[i] - start[i]);
		char *hit, *was;

		/* Quoted values: what is inside the quotes. */
		if (len > 2 && *from == '\'') {
			from++;
			len -= 2;
		}
		while (
		    (hit = memmem(*line, strlen(*line), from, len)) != NULL) {
			was = *line;
			*line = xasprintf("%.*s***%s", (int)(hit - was), was,
			    hit + len);
			free(was);
		}
	}
}

/* Trim blanks and ';' at the end of line[0..w): the new length. */
static size_t
trim_end(const char *line, size_t w)
{
	while (w > 0 &&
	    (line[w - 1] == ' ' || line[w - 1] == '\t' || line[w - 1] == '\r' ||
		line[w - 1] == ';'))
		w--;
	return w;
}

char *
fleet_sql_error_line(const char *msg, const char *conninfo)
{
	const char *start[8], *end[8];
	const char *in = msg != NULL && *msg != '\0' ? msg : "unknown error";
	char *line = xmalloc(2 * strlen(in) + 1);
	size_t w = 0;

	for (const char *r = in; *r != '\0'; r++) {
		if (*r != '\n') {
			line[w++] = *r;
			continue;
		}
		w = trim_end(line, w);
		while (r[1] == ' ' || r[1] == '\t')
			r++;
		if (w > 0 && r[1] != '\0' && r[1] != '\n') {
			line[w++] = ';';
			line[w++] = ' ';
		}
	}
	line[trim_end(line, w)] = '\0';
	if (conninfo != NULL)
		mask_spans(&line, start, end,
		    find_passwords(conninfo, start, end, 8));
	return line;
}

/* A batch's statements, then joined into one text. */
struct stmts {
	char **items;
	size_t n, len;
};

static void
stmts_add(struct stmts *st, const char *sql, const struct fleet_params *p)
{
	char *stmt = sql_bind(sql, p->n, p->values);

	if (stmt == NULL)
		abort(); /* the statements are constants */
	st->items = xreallocarray(st->items, st->n + 1, sizeof *st->items);
	st->items[st->n++] = stmt;
	st->len += strlen(stmt) + 2;
}

/* "BEGIN; s1; s2; ...; COMMIT", freeing the statements. */
static char *
stmts_join(struct stmts *st)
{
	char *text = xmalloc(st->len + sizeof "BEGIN; COMMIT"), *p = text;

	p = stpcpy(p, "BEGIN; ");
	for (size_t i = 0; i < st->n; i++) {
		p = stpcpy(stpcpy(p, st->items[i]), "; ");
		free(st->items[i]);
	}
	stpcpy(p, "COMMIT");
	free(st->items);
	return text;
}

char *
fleet_sql_ship_text(const struct store_deployment_rows *dep,
    const struct store_audit_rows *aud, const char *host)
{
	struct stmts st = { 0 };
	struct fleet_params p;

	for (size_t i = 0; i < dep->n; i++) {
		fleet_sql_deployment_params(&dep->items[i], host, &p);
		stmts_add(&st, FLEET_SQL_SHIP_DEPLOYMENT, &p);
	}
	for (size_t i = 0; i < aud->n; i++) {
		fleet_sql_audit_params(&aud->items[i], host, &p);
		stmts_add(&st, FLEET_SQL_SHIP_AUDIT, &p);
	}
	return stmts_join(&st);
}
