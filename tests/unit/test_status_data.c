/*
 * The status page's facts read from a real SQLite ledger in a temporary
 * directory (store.c), and the page rendered from them: the bounds, the
 * order, and the hostile strings a client left in the ledger escaped.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "status_data.h"
#include "status_page.h"
#include "store.h"
#include "xmalloc.h"

static char dir[64];
static char path[128];

static struct store *
setup(void)
{
	char *cause = NULL;
	struct store *st;

	snprintf(dir, sizeof dir, "/tmp/dg-status-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/guard.db", dir);
	st = store_open(path, &cause);
	if (st == NULL) {
		fprintf(stderr, "%s\n", cause);
		abort();
	}
	return st;
}

static void
teardown(struct store *st)
{
	store_close(st);
	unlink(path);
	{
		char *wal = xasprintf("%s-wal", path), *shm = xasprintf(
							   "%s-shm", path);

		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	rmdir(dir);
}

static void
deploy(struct store *st, const char *app, const char *id, const char *version,
    int64_t t)
{
	struct store_deployment d = { 0 };
	char *cause = NULL;

	d.app = app;
	d.container_id = id;
	d.container_name = id;
	d.image_ref = "127.0.0.1:5000/app:x";
	d.image_id = "sha256:1";
	d.version = version;
	d.time = t;
	d.source = "guard";
	CHECK(store_record_deployment(st, &d, &cause) == 0);
	free(cause);
}

static void
audit(struct store *st, const char *rule, enum store_verdict v,
    const char *app, const char *message, int64_t t)
{
	struct store_audit a = { 0 };
	char *cause = NULL;

	a.time_ms = t * 1000;
	a.method = "POST";
	a.route = "containers/create";
	a.app = app;
	a.rule = rule;
	a.verdict = v;
	a.message = message;
	CHECK(store_audit(st, &a, &cause) == 0);
	free(cause);
}

static void
test_load(void)
{
	struct store *st = setup();
	struct status_data d;
	char *cause = NULL, *html;
	size_t len;

	deploy(st, "nextcloud", "c1", "31.0.8.1", 1000);
	deploy(st, "nextcloud", "c2", "31.0.9.1", 2000);
	CHECK(store_record_removal(st, "c2", 2500, &cause) == 0);
	deploy(st, "nextcloud", "c3", "31.0.8.1", 3000);
	deploy(st, "<script>alert(1)</script>", "c4", NULL, 500);
	audit(st, "downgrade", STORE_DENY, "nextcloud",
	    "refusing <img src=x onerror=alert(1)>", 3100);
	audit(st, "require_digest", STORE_ALLOW, "nextcloud", "allowed", 3200);
	audit(st, "drift", STORE_WARN, "nextcloud", "gone from registry", 3300);
	audit(st, "override", STORE_ALLOW, "nextcloud", "reason <b>", 3350);
	CHECK(store_meta_set(st, "engine_version", "26.1.5 (API 1.45)",
		  &cause) == 0);
	CHECK(store_meta_set(st, "drift_last_round", "3400", &cause) == 0);

	status_data_load(&d, st);
	CHECK(d.page.error == NULL);
	CHECK_INT_EQ(d.page.n_apps, 2);
	CHECK_STR_EQ(d.page.apps[0].name, "nextcloud");
	CHECK_STR_EQ(d.page.apps[0].current, "31.0.8.1");
	CHECK_STR_EQ(d.page.apps[0].highest, "31.0.9.1");
	CHECK_INT_EQ(d.page.apps[0].live, 2);
	CHECK_INT_EQ(d.page.apps[0].last_change, 3000);
	CHECK_INT_EQ(d.page.apps[0].n_timeline, 3);
	CHECK_INT_EQ(d.page.apps[0].timeline[0].time, 3000);
	CHECK_INT_EQ(d.page.apps[0].timeline[1].removed_at, 2500);
	CHECK_STR_EQ(d.page.apps[1].current, "unknown");
	CHECK(d.page.apps[1].highest == NULL);
	CHECK_INT_EQ(d.page.refusals.n, 1);
	CHECK_STR_EQ(d.page.refusals.items[0].rule, "downgrade");
	CHECK_INT_EQ(d.page.drift.n, 1);
	CHECK_INT_EQ(d.page.overrides.n, 1);
	CHECK_INT_EQ(d.page.engine.n, 0);
	CHECK_STR_EQ(d.page.health.engine_version, "26.1.5 (API 1.45)");
	CHECK_INT_EQ(d.page.health.last_drift_round, 3400);

	d.page.now = 4000;
	html = status_page_render(&d.page, &len);
	CHECK(strstr(html, "<td class=\"ref\">&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
	CHECK(strstr(html, "refusing &lt;img src=x onerror=alert(1)&gt;"));
	CHECK(strstr(html, "reason &lt;b&gt;"));
	CHECK(strstr(html, "<script") == NULL && strstr(html, "<img") == NULL);
	free(html);
	status_data_reset(&d);
	teardown(st);
}

/* Bounded: the newest rows only, newest first, the cut said. */
static void
test_bounds(void)
{
	struct store *st = setup();
	struct status_data d;

	for (int i = 0; i < STATUS_DATA_REFUSALS + 5; i++) {
		char msg[32];

		snprintf(msg, sizeof msg, "refusal %d", i);
		audit(st, "downgrade", STORE_DENY, "a", msg, 100 + i);
	}
	for (int i = 0; i < STATUS_DATA_TIMELINE + 3; i++) {
		char id[16], v[16];

		snprintf(id, sizeof id, "c%d", i);
		snprintf(v, sizeof v, "1.%d", i);
		deploy(st, "a", id, v, 1000 + i);
	}
	status_data_load(&d, st);
	CHECK_INT_EQ(d.page.refusals.n, STATUS_DATA_REFUSALS);
	CHECK(d.page.refusals.cut);
	CHECK_STR_EQ(d.page.refusals.items[0].message, "refusal 54");
	CHECK_STR_EQ(d.page.refusals.items[STATUS_DATA_REFUSALS - 1].message,
	    "refusal 5");
	CHECK_INT_EQ(d.page.apps[0].n_timeline, STATUS_DATA_TIMELINE);
	CHECK(d.page.apps[0].timeline_cut);
	CHECK_STR_EQ(d.page.apps[0].timeline[0].version, "1.22");
	CHECK_STR_EQ(d.page.apps[0].highest, "1.22");
	CHECK(!d.page.apps_cut);
	status_data_reset(&d);
	teardown(st);
}

int
main(void)
{
	static const struct check_case cases[] = {
		{ "load", test_load },
		{ "bounds", test_bounds },
	};

	return CHECK_RUN("status_data", cases);
}
