/*
 * The write-behind ledger and the store under it, against a real SQLite
 * database in a temporary directory, with a second connection playing the
 * operator's `sqlite3` shell that holds a lock.  Not pure, but no engine
 * and no network: an event loop run for a bounded time.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "check.h"
#include "ledger.h"
#include "log.h"
#include "store.h"

static char dir[64];
static char path[128];

struct fixture {
	struct event_base	*base;
	struct store		*st;
	struct ledger		*l;
	sqlite3			*other;		/* the operator's shell */
};

static void
setup(struct fixture *f)
{
	char *cause = NULL;

	snprintf(dir, sizeof dir, "/tmp/dg-ledger-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/guard.db", dir);
	f->base = event_base_new();
	f->st = store_open(path, &cause);
	if (f->st == NULL) {
		fprintf(stderr, "%s\n", cause);
		abort();
	}
	f->l = ledger_new(f->base, f->st);
	if (sqlite3_open(path, &f->other) != SQLITE_OK)
		abort();
}

static void
teardown(struct fixture *f)
{
	char *cmd;

	ledger_free(f->l);
	store_close(f->st);
	sqlite3_close(f->other);
	event_base_free(f->base);
	if (asprintf(&cmd, "rm -rf '%s'", dir) > 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
		free(cmd);
	}
}

static void
lock(struct fixture *f)
{
	CHECK(sqlite3_exec(f->other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) ==
	    SQLITE_OK);
}

static void
unlock(struct fixture *f)
{
	CHECK(sqlite3_exec(f->other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
}

/* Run the loop for ms. */
static void
run_for(struct fixture *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

struct seen {
	int	 order[8];
	int	 n;
	bool	 landed[8];
	int64_t	 audit_id[8];
};

struct tag {
	struct seen	*seen;
	int		 id;
};

static void
seen_cb(bool landed, const struct store_written *ids, const char *cause,
    void *arg)
{
	struct tag *t = arg;
	struct seen *s = t->seen;

	if (s->n < 8) {
		s->order[s->n] = t->id;
		s->landed[s->n] = landed;
		s->audit_id[s->n] = ids->audit_id;
		s->n++;
	}
}

static struct store_deployment
deployment(const char *id)
{
	struct store_deployment d = { 0 };

	d.app = "web";
	d.container_id = id;
	d.container_name = "web";
	d.image_ref = "app@sha256:aa";
	d.image_id = "sha256:11";
	d.version = "1.0";
	d.time = 1795262640;
	d.source = "guard";
	return d;
}

static bool
known(struct fixture *f, const char *id)
{
	bool k = false;
	char *cause = NULL;

	CHECK(store_container_known(f->st, id, &k, &cause) == 0);
	free(cause);
	return k;
}

/* Writes land at once when nothing holds the database; callbacks come
 * from the loop, never from inside ledger_write. */
static void
test_lands_at_once(void)
{
	struct fixture f;
	struct seen s = { 0 };
	struct tag t = { &s, 1 };
	struct store_deployment d = deployment("c1");
	struct store_audit a = { 0 };
	struct store_write w = { 0 };

	setup(&f);
	a.time_ms = 1;
	a.rule = "test";
	a.verdict = STORE_ALLOW;
	w.deployment = &d;
	w.audit = &a;
	ledger_write(f.l, &w, seen_cb, &t);
	CHECK_INT_EQ(s.n, 0);
	CHECK_INT_EQ(ledger_queued(f.l), 0);
	CHECK(known(&f, "c1"));
	run_for(&f, 10);
	CHECK_INT_EQ(s.n, 1);
	CHECK(s.landed[0] && s.audit_id[0] > 0);
	teardown(&f);
}

/* A lock keeps the write (and what follows it) queued, never blocking;
 * it lands once the lock is gone, in order, then the barrier. */
static void
test_kept_while_locked(void)
{
	struct fixture f;
	struct seen s = { 0 };
	struct tag t1 = { &s, 1 }, t2 = { &s, 2 }, tb = { &s, 3 };
	struct store_deployment d1 = deployment("c1"), d2 = deployment("c2");
	struct store_write w1 = { 0 }, w2 = { 0 };
	struct timespec t0, t9;

	setup(&f);
	lock(&f);
	w1.deployment = &d1;
	w2.deployment = &d2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ledger_write(f.l, &w1, seen_cb, &t1);
	ledger_write(f.l, &w2, seen_cb, &t2);
	ledger_barrier(f.l, seen_cb, &tb);
	clock_gettime(CLOCK_MONOTONIC, &t9);
	/* never waits for the lock */
	CHECK((t9.tv_sec - t0.tv_sec) * 1000 +
	    (t9.tv_nsec - t0.tv_nsec) / 1000000 < 50);
	run_for(&f, 200);
	CHECK_INT_EQ(s.n, 0);
	CHECK_INT_EQ(ledger_queued(f.l), 3);
	CHECK(ledger_error(f.l) != NULL &&
	    strstr(ledger_error(f.l), "locked") != NULL);
	CHECK(!known(&f, "c1"));
	unlock(&f);
	run_for(&f, 1200);
	CHECK_INT_EQ(ledger_queued(f.l), 0);
	CHECK(ledger_error(f.l) == NULL);
	CHECK_INT_EQ(s.n, 3);
	CHECK(s.order[0] == 1 && s.order[1] == 2 && s.order[2] == 3);
	CHECK(known(&f, "c1") && known(&f, "c2"));
	teardown(&f);
}

/* A write taken back never lands, and its callback never comes. */
static void
test_withdraw_and_forget(void)
{
	struct fixture f;
	struct seen s = { 0 };
	struct tag t1 = { &s, 1 }, t2 = { &s, 2 };
	struct store_deployment d1 = deployment("c1"), d2 = deployment("c2");
	struct store_write w1 = { 0 }, w2 = { 0 };
	uint64_t k1, k2;

	setup(&f);
	lock(&f);
	w1.deployment = &d1;
	w2.deployment = &d2;
	k1 = ledger_write(f.l, &w1, seen_cb, &t1);
	k2 = ledger_write(f.l, &w2, seen_cb, &t2);
	CHECK(ledger_withdraw(f.l, k1));
	CHECK(!ledger_withdraw(f.l, k1));
	ledger_forget(f.l, k2);
	unlock(&f);
	run_for(&f, 1200);
	CHECK_INT_EQ(s.n, 0);
	CHECK(!known(&f, "c1"));
	CHECK(known(&f, "c2"));
	teardown(&f);
}

/* Only the newest value of a fact waits to land. */
static void
test_meta_coalesced(void)
{
	struct fixture f;
	struct store_write w = { 0 };
	char *v = NULL, *cause = NULL;
	static const char *const values[] = { "1", "2", "3" };

	setup(&f);
	lock(&f);
	w.meta_key = "events_since";
	for (size_t i = 0; i < 3; i++) {
		w.meta_value = values[i];
		ledger_write(f.l, &w, NULL, NULL);
	}
	CHECK_INT_EQ(ledger_queued(f.l), 1);
	unlock(&f);
	run_for(&f, 1200);
	CHECK(store_meta_get(f.st, "events_since", &v, &cause) == 0);
	CHECK_STR_EQ(v, "3");
	free(v);
	teardown(&f);
}

/* An allowed create's intent names its container until its outcome; a
 * refusal or an error status closes it, a lost connection does not. */
static void
test_intent_and_outcome(void)
{
	struct fixture f;
	struct store_audit a = { 0 };
	struct store_intent in = { 0 };
	struct store_outcome o = { 0 };
	struct store_write w = { 0 };
	struct store_written ids;
	struct store_intent_row row;
	bool found;
	char *cause = NULL;

	setup(&f);
	a.time_ms = 1795262640000;
	a.rule = NULL;
	a.verdict = STORE_ALLOW;
	in.token = "tok-1";
	in.app = "web";
	in.container_name = "web";
	in.image_ref = "app@sha256:aa";
	in.image_id = "sha256:11";
	in.version = "1.0";
	in.time_ms = a.time_ms;
	w.audit = &a;
	w.intent = &in;
	CHECK(store_write(f.st, &w, &ids, &cause) == 0);
	CHECK(ids.audit_id > 0 && ids.intent_id > 0);

	/* another name, another image, too early: not it */
	CHECK(store_intent_match(f.st, "db", "sha256:11", 1795262641, &row,
	    &found, &cause) == 0 && !found);
	CHECK(store_intent_match(f.st, "web", "sha256:22", 1795262641, &row,
	    &found, &cause) == 0 && !found);
	CHECK(store_intent_match(f.st, "web", "sha256:11", 1795262630, &row,
	    &found, &cause) == 0 && !found);
	CHECK(store_intent_match(f.st, "web", "sha256:11", 1795262641, &row,
	    &found, &cause) == 0 && found);
	CHECK_STR_EQ(row.token, "tok-1");
	CHECK_STR_EQ(row.app, "web");
	CHECK_INT_EQ(row.decision_id, ids.audit_id);
	store_intent_row_reset(&row);

	/* no answer (502): still the guard's if the container exists */
	memset(&w, 0, sizeof w);
	o.token = "tok-1";
	o.status = 0;
	o.time_ms = a.time_ms + 5;
	w.outcome = &o;
	CHECK(store_write(f.st, &w, NULL, &cause) == 0);
	CHECK(store_intent_match(f.st, "web", "sha256:11", 1795262641, &row,
	    &found, &cause) == 0 && found);
	store_intent_row_reset(&row);
	/* 201: answered, closed */
	o.status = 201;
	o.container_id = "c1";
	CHECK(store_write(f.st, &w, NULL, &cause) == 0);
	CHECK(store_intent_match(f.st, "web", "sha256:11", 1795262641, &row,
	    &found, &cause) == 0 && !found);
	CHECK(store_audit_verify(f.st, &(int64_t){ 0 }, &(char *){ NULL },
	    &(int64_t){ 0 }, &cause) == 0);
	teardown(&f);
}

/* A database of schema 2 (before intents) is migrated and its audit
 * chain still verifies. */
static void
test_migrates_schema_2(void)
{
	struct fixture f;
	struct store_audit a = { 0 };
	int64_t bad = -1, rows = 0;
	char *what = NULL, *cause = NULL;

	setup(&f);
	a.time_ms = 5;
	a.verdict = STORE_DENY;
	a.message = "old row";
	CHECK(store_audit(f.st, &a, &cause) == 0);
	CHECK(store_audit(f.st, &a, &cause) == 0);
	ledger_free(f.l);
	store_close(f.st);
	CHECK(sqlite3_exec(f.other, "DROP TABLE creates; PRAGMA user_version "
	    "= 2", NULL, NULL, NULL) == SQLITE_OK);
	f.st = store_open(path, &cause);
	CHECK(f.st != NULL);
	f.l = ledger_new(f.base, f.st);
	CHECK(store_audit(f.st, &a, &cause) == 0);
	CHECK(store_audit_verify(f.st, &bad, &what, &rows, &cause) == 0);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(rows, 3);
	free(what);
	teardown(&f);
}

/* Rows for shipping: after a watermark, by id, bounded, owning their
 * strings past the next query. */
static void
test_rows_after(void)
{
	struct fixture f;
	struct store_deployment d;
	struct store_deployment_rows dr;
	struct store_audit_rows ar;
	struct store_audit a = { 0 };
	char ids[4][8], *cause = NULL;

	setup(&f);
	for (int i = 0; i < 4; i++) {
		snprintf(ids[i], sizeof ids[i], "c%d", i);
		d = deployment(ids[i]);
		d.repo_digest = i == 2 ? "app@sha256:bb" : NULL;
		CHECK(store_record_deployment(f.st, &d, &cause) == 0);
	}
	a.time_ms = 5;
	a.verdict = STORE_DENY;
	a.message = "no";
	a.app = "web";
	for (int i = 0; i < 3; i++)
		CHECK(store_audit(f.st, &a, &cause) == 0);
	CHECK(store_deployments_after(f.st, 1, 2, &dr, &cause) == 0);
	CHECK_INT_EQ(dr.n, 2);
	CHECK_INT_EQ(dr.items[0].id, 2);
	CHECK_INT_EQ(dr.items[1].id, 3);
	CHECK_STR_EQ(dr.items[0].container_id, "c1");
	CHECK(dr.items[0].repo_digest == NULL);
	CHECK_STR_EQ(dr.items[1].repo_digest, "app@sha256:bb");
	CHECK_STR_EQ(dr.items[1].source, "guard");
	CHECK_INT_EQ(dr.items[1].created_at, 1795262640);
	CHECK(store_audit_after(f.st, 0, 10, &ar, &cause) == 0);
	CHECK_INT_EQ(ar.n, 3);
	CHECK_INT_EQ(ar.items[2].id, 3);
	CHECK_STR_EQ(ar.items[2].verdict, "deny");
	CHECK_STR_EQ(ar.items[2].message, "no");
	CHECK_STR_EQ(ar.items[1].hash, ar.items[2].prev_hash);
	CHECK(ar.items[0].comm == NULL);
	CHECK_INT_EQ(ar.items[0].uid, -1);
	/* Still readable after other queries. */
	CHECK_STR_EQ(dr.items[1].container_id, "c2");
	store_deployment_rows_reset(&dr);
	store_audit_rows_reset(&ar);
	CHECK(dr.n == 0 && dr.items == NULL && ar.strings == NULL);
	CHECK(store_deployments_after(f.st, 4, 10, &dr, &cause) == 0);
	CHECK_INT_EQ(dr.n, 0);
	store_deployment_rows_reset(&dr);
	teardown(&f);
}

static const struct check_case cases[] = {
	{ "lands_at_once", test_lands_at_once },
	{ "kept_while_locked", test_kept_while_locked },
	{ "withdraw_and_forget", test_withdraw_and_forget },
	{ "meta_coalesced", test_meta_coalesced },
	{ "intent_and_outcome", test_intent_and_outcome },
	{ "migrates_schema_2", test_migrates_schema_2 },
	{ "rows_after", test_rows_after },
};

int
main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	return CHECK_RUN("ledger", cases);
}
