/*
 * Golden tables for drift_eval.c: where a container's image is checked,
 * the findings from plain facts, which changes are reported (once), and
 * the webhook's JSON.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "drift_eval.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define IDX "sha256:453e55aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CHILD "sha256:1180c9bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NEWIDX "sha256:9a1df1cccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define IMGID "sha256:40e010dddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static void
test_target(void)
{
	static const struct {
		const char *ref, *repo_digest;
		int rc;
		const char *domain, *path, *digest, *checked, *tag_ref;
	} rows[] = {
		/* pinned by digest and tag: the digest; the tag is followed */
		{ "127.0.0.1:5000/app:prod@" IDX, NULL, 0, "127.0.0.1:5000",
		    "app", IDX, "127.0.0.1:5000/app:prod@" IDX,
		    "127.0.0.1:5000/app:prod" },
		/* a digest alone: no tag to follow */
		{ "127.0.0.1:5000/app@" IDX, NULL, 0, "127.0.0.1:5000", "app",
		    IDX, "127.0.0.1:5000/app@" IDX, NULL },
		/* a tag: the digest the ledger recorded */
		{ "127.0.0.1:5000/app:1.0", "127.0.0.1:5000/app@" IDX, 0,
		    "127.0.0.1:5000", "app", IDX, "127.0.0.1:5000/app:1.0@" IDX,
		    "127.0.0.1:5000/app:1.0" },
		/* no tag, no digest: latest */
		{ "nextcloud", "docker.io/library/nextcloud@" IDX, 0,
		    "docker.io", "library/nextcloud", IDX, "nextcloud@" IDX,
		    "nextcloud:latest" },
		/* an image ID (Ansible's recreate): the recorded digest */
		{ IMGID, "127.0.0.1:5000/app@" IDX, 0, "127.0.0.1:5000", "app",
		    IDX, "127.0.0.1:5000/app@" IDX, NULL },
		/* built or loaded here: nothing to check */
		{ "app:dev", NULL, -1, NULL, NULL, NULL, NULL, NULL },
		{ IMGID, NULL, -1, NULL, NULL, NULL, NULL, NULL },
		{ "Not A Ref", NULL, -1, NULL, NULL, NULL, NULL, NULL },
		{ NULL, NULL, -1, NULL, NULL, NULL, NULL, NULL },
		/* a recorded "digest" that is no repository digest */
		{ "app:1", IMGID, -1, NULL, NULL, NULL, NULL, NULL },
	};

	for (size_t i = 0; i < NITEMS(rows); i++) {
		struct drift_target t;
		int rc = drift_target(rows[i].ref, rows[i].repo_digest, &t);

		CHECKF(rc == rows[i].rc, "row %zu: rc %d", i, rc);
		CHECK_STR_EQ(t.domain, rows[i].domain);
		CHECK_STR_EQ(t.path, rows[i].path);
		CHECK_STR_EQ(t.digest, rows[i].digest);
		CHECK_STR_EQ(t.checked_ref, rows[i].checked);
		CHECK_STR_EQ(t.tag_ref, rows[i].tag_ref);
		drift_target_reset(&t);
	}
}

/* The facts of a running container "web" of app "shop/web" deployed
 * from reg/app:prod@IDX, version 1.0.0. */
static void
base_facts(struct drift_facts *f, struct drift_target *t)
{
	CHECK(drift_target("127.0.0.1:5000/app:prod@" IDX, NULL, t) == 0);
	memset(f, 0, sizeof *f);
	f->container_id = "3f2a9c1d0b7e5555";
	f->container_name = "web";
	f->app = "shop/web";
	f->image_ref = "127.0.0.1:5000/app:prod@" IDX;
	f->platform = "linux/amd64";
	f->target = t;
	f->version = "1.0.0";
	f->checked = true;
	f->outcome = REGISTRY_PRESENT;
	f->tag_checked = true;
	f->tag_outcome = REGISTRY_PRESENT;
	f->tag_digest = IDX;
	f->tag_version = "1.0.0";
}

struct eval_row {
	const char *what;
	/* changes to the base facts */
	enum registry_outcome outcome;
	const char *missing_digest;
	enum registry_outcome tag_outcome;
	const char *tag_digest, *tag_version, *version;
	/* the verdicts */
	enum drift_status missing, newer;
	const char *missing_key, *newer_key;
};

static const struct eval_row eval_rows[] = {
	{ "all well", REGISTRY_PRESENT, NULL, REGISTRY_PRESENT, IDX, "1.0.0",
	    "1.0.0", DRIFT_CLEAR, DRIFT_CLEAR, NULL, NULL },
	{ "the host's child deleted", REGISTRY_ABSENT, CHILD,
	    REGISTRY_PRESENT, IDX, "1.0.0", "1.0.0", DRIFT_FOUND, DRIFT_CLEAR,
	    "missing 127.0.0.1:5000/app:prod@" IDX " " CHILD, NULL },
	{ "the manifest itself deleted", REGISTRY_ABSENT, NULL,
	    REGISTRY_ABSENT, NULL, NULL, "1.0.0", DRIFT_FOUND, DRIFT_UNKNOWN,
	    "missing 127.0.0.1:5000/app:prod@" IDX " -", NULL },
	{ "registry down: cannot say", REGISTRY_UNREACHABLE, NULL,
	    REGISTRY_UNREACHABLE, NULL, NULL, "1.0.0", DRIFT_UNKNOWN,
	    DRIFT_UNKNOWN, NULL, NULL },
	{ "unauthorized: cannot say", REGISTRY_UNAUTHORIZED, NULL,
	    REGISTRY_RATE_LIMITED, NULL, NULL, "1.0.0", DRIFT_UNKNOWN,
	    DRIFT_UNKNOWN, NULL, NULL },
	{ "a newer version behind the tag", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, "1.1.0", "1.0.0", DRIFT_CLEAR,
	    DRIFT_FOUND, NULL, "newer " NEWIDX },
	{ "the tag moved to an older version", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, "0.9.0", "1.0.0", DRIFT_CLEAR,
	    DRIFT_CLEAR, NULL, NULL },
	{ "the tag moved to the same version", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, "1.0.0", "1.0.0", DRIFT_CLEAR,
	    DRIFT_CLEAR, NULL, NULL },
	{ "the tag moved, no version there", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, NULL, "1.0.0", DRIFT_CLEAR,
	    DRIFT_UNKNOWN, NULL, NULL },
	{ "the tag moved, what runs has no version", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, "2.0.0", NULL, DRIFT_CLEAR,
	    DRIFT_UNKNOWN, NULL, NULL },
	{ "libversion order: 1.10 > 1.9", REGISTRY_PRESENT, NULL,
	    REGISTRY_PRESENT, NEWIDX, "1.10", "1.9", DRIFT_CLEAR, DRIFT_FOUND,
	    NULL, "newer " NEWIDX },
	{ "a pre-release is older", REGISTRY_PRESENT, NULL, REGISTRY_PRESENT,
	    NEWIDX, "1.0rc1", "1.0", DRIFT_CLEAR, DRIFT_CLEAR, NULL, NULL },
	{ "missing and newer at once", REGISTRY_ABSENT, CHILD,
	    REGISTRY_PRESENT, NEWIDX, "1.1.0", "1.0.0", DRIFT_FOUND,
	    DRIFT_FOUND, "missing 127.0.0.1:5000/app:prod@" IDX " " CHILD,
	    "newer " NEWIDX },
};

static void
test_eval(void)
{
	for (size_t i = 0; i < NITEMS(eval_rows); i++) {
		const struct eval_row *row = &eval_rows[i];
		struct drift_target t;
		struct drift_facts f;
		struct drift_result r;

		base_facts(&f, &t);
		f.outcome = row->outcome;
		f.missing_digest = row->missing_digest;
		if (row->missing_digest != NULL) {
			f.missing_platform = "linux/amd64";
			f.detail = "the index " IDX " lists " CHILD
				   " for linux/amd64, but the registry no "
				   "longer has it";
		}
		f.tag_outcome = row->tag_outcome;
		f.tag_digest = row->tag_digest;
		f.tag_version = row->tag_version;
		f.version = row->version;
		drift_eval(&f, &r);
		CHECKF(r.v[DRIFT_MISSING].status == row->missing,
		    "row %zu (%s): missing %d", i, row->what,
		    r.v[DRIFT_MISSING].status);
		CHECKF(r.v[DRIFT_NEWER].status == row->newer,
		    "row %zu (%s): newer %d", i, row->what,
		    r.v[DRIFT_NEWER].status);
		CHECK_STR_EQ(r.v[DRIFT_MISSING].key, row->missing_key);
		CHECK_STR_EQ(r.v[DRIFT_NEWER].key, row->newer_key);
		for (int k = 0; k < DRIFT_NKINDS; k++)
			CHECKF((r.v[k].message != NULL) ==
				(r.v[k].status != DRIFT_UNKNOWN),
			    "row %zu (%s): kind %d message", i, row->what, k);
		drift_result_reset(&r);
		drift_target_reset(&t);
	}
}

/* The missing finding's message says what, where, why and what to do. */
static void
test_messages(void)
{
	struct drift_target t;
	struct drift_facts f;
	struct drift_result r;
	const char *m;

	base_facts(&f, &t);
	f.outcome = REGISTRY_ABSENT;
	f.missing_digest = CHILD;
	f.missing_platform = "linux/amd64";
	f.detail = "the index " IDX " lists " CHILD " for linux/amd64, but "
		   "the registry no longer has it";
	f.tag_digest = NEWIDX;
	f.tag_version = "1.1.0";
	drift_eval(&f, &r);
	m = r.v[DRIFT_MISSING].message;
	CHECK_STR_EQ(m,
	    "docker-guard: drift: container \"web\" (app \"shop/web\") runs "
	    "127.0.0.1:5000/app:prod@" IDX " (deployed as "
	    "127.0.0.1:5000/app:prod@" IDX "), which is missing from its "
	    "registry 127.0.0.1:5000: the index " IDX " lists " CHILD
	    " for linux/amd64, but the registry no longer has it (checked "
	    "for linux/amd64; rule: drift). The container keeps running, but "
	    "it cannot be started again wherever the image has to be pulled "
	    "(a restart after the image is removed here, another host, a "
	    "reschedule). Before the container is restarted, push the image "
	    "again (or restore it in the registry), or redeploy the app by a "
	    "digest the registry has.");
	m = r.v[DRIFT_NEWER].message;
	CHECK_STR_EQ(m,
	    "docker-guard: drift: container \"web\" (app \"shop/web\") runs "
	    "version 1.0.0 (127.0.0.1:5000/app:prod@" IDX "), but the tag "
	    "127.0.0.1:5000/app:prod it was deployed from now points at " NEWIDX
	    ", version 1.1.0, which is newer (rule: drift; for information: "
	    "what runs is unchanged). To move to it, deploy "
	    "127.0.0.1:5000/app:prod@" NEWIDX ".");
	CHECK_STR_EQ(r.v[DRIFT_NEWER].newer, "1.1.0");
	drift_result_reset(&r);

	/* no name: the short ID; the app alone when it is the name */
	f.container_name = NULL;
	f.outcome = REGISTRY_PRESENT;
	drift_eval(&f, &r);
	CHECK(strstr(r.v[DRIFT_MISSING].message,
		  "drift resolved: container 3f2a9c1d0b7e (app \"shop/web\") "
		  "runs ") != NULL);
	drift_result_reset(&r);
	f.container_name = "shop/web";
	drift_eval(&f, &r);
	CHECK(strstr(r.v[DRIFT_MISSING].message,
		  "container \"shop/web\" runs") != NULL);
	drift_result_reset(&r);
	drift_target_reset(&t);
}

static struct drift_verdict
verdict(enum drift_status st, const char *key)
{
	struct drift_verdict v = { 0 };

	v.status = st;
	v.key = key != NULL ? strdup(key) : NULL;
	return v;
}

/* A finding is reported when it appears and when it is resolved, not
 * every round; a registry that cannot say changes nothing. */
static void
test_state(void)
{
	static const struct {
		const char *cid;
		enum drift_kind kind;
		enum drift_status st;
		const char *key;
		enum drift_change want;
	} rows[] = {
		{ "c1", DRIFT_MISSING, DRIFT_CLEAR, NULL, DRIFT_SAME },
		{ "c1", DRIFT_MISSING, DRIFT_FOUND, "k1", DRIFT_APPEARED },
		{ "c1", DRIFT_MISSING, DRIFT_FOUND, "k1", DRIFT_SAME },
		{ "c1", DRIFT_MISSING, DRIFT_UNKNOWN, NULL, DRIFT_SAME },
		{ "c1", DRIFT_MISSING, DRIFT_FOUND, "k1", DRIFT_SAME },
		{ "c1", DRIFT_NEWER, DRIFT_FOUND, "n1", DRIFT_APPEARED },
		{ "c2", DRIFT_MISSING, DRIFT_FOUND, "k1", DRIFT_APPEARED },
		{ "c1", DRIFT_MISSING, DRIFT_FOUND, "k2", DRIFT_APPEARED },
		{ "c1", DRIFT_MISSING, DRIFT_CLEAR, NULL, DRIFT_RESOLVED },
		{ "c1", DRIFT_MISSING, DRIFT_CLEAR, NULL, DRIFT_SAME },
		{ "c1", DRIFT_NEWER, DRIFT_FOUND, "n1", DRIFT_SAME },
		{ "c1", DRIFT_NEWER, DRIFT_FOUND, "n2", DRIFT_APPEARED },
		{ "c1", DRIFT_NEWER, DRIFT_UNKNOWN, NULL, DRIFT_SAME },
		{ "c1", DRIFT_NEWER, DRIFT_CLEAR, NULL, DRIFT_RESOLVED },
	};
	struct drift_state s = { 0 };
	char c1[] = "c1", *live[] = { c1 };

	for (size_t i = 0; i < NITEMS(rows); i++) {
		struct drift_verdict v = verdict(rows[i].st, rows[i].key);
		enum drift_change c = drift_state_apply(&s, rows[i].cid,
		    rows[i].kind, &v);

		CHECKF(c == rows[i].want, "row %zu: %d, want %d", i, c,
		    rows[i].want);
		free(v.key);
	}
	CHECK_INT_EQ(s.n, 1); /* c2's missing */
	/* c2 stopped: forgotten; c1 runs on */
	drift_state_prune(&s, live, 1);
	CHECK_INT_EQ(s.n, 0);
	{
		struct drift_verdict v = verdict(DRIFT_FOUND, "k1");

		CHECK(drift_state_apply(&s, "c1", DRIFT_MISSING, &v) ==
		    DRIFT_APPEARED);
		CHECK(drift_state_apply(&s, "c2", DRIFT_MISSING, &v) ==
		    DRIFT_APPEARED);
		drift_state_prune(&s, live, 1);
		CHECK_INT_EQ(s.n, 1);
		CHECK(drift_state_apply(&s, "c1", DRIFT_MISSING, &v) ==
		    DRIFT_SAME);
		/* c2 comes back running: reported again */
		CHECK(drift_state_apply(&s, "c2", DRIFT_MISSING, &v) ==
		    DRIFT_APPEARED);
		free(v.key);
	}
	drift_state_reset(&s);
	CHECK(s.n == 0 && s.items == NULL);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
test_payload(void)
{
	struct drift_target t;
	struct drift_facts f;
	struct drift_event e = { 0 };
	json_t *j;
	char *text;

	base_facts(&f, &t);
	f.outcome = REGISTRY_ABSENT;
	f.missing_digest = CHILD;
	f.missing_platform = "linux/amd64";
	e.kind = DRIFT_MISSING;
	e.time_ms = 1795262640123LL; /* 2026-11-21 12:04:00.123 UTC */
	e.host = "node-1";
	e.facts = &f;
	e.message = "docker-guard: drift: ...";
	text = drift_payload(&e);
	CHECK(strchr(text, '\n') == NULL);
	j = json_loads(text, 0, NULL);
	CHECK(json_is_object(j));
	CHECK_STR_EQ(jstr(j, "source"), "docker-guard");
	CHECK_STR_EQ(jstr(j, "event"), "drift");
	CHECK_STR_EQ(jstr(j, "kind"), "missing");
	CHECK_STR_EQ(jstr(j, "state"), "found");
	CHECK_STR_EQ(jstr(j, "time"), "2026-11-21T12:04:00.123Z");
	CHECK_STR_EQ(jstr(j, "host"), "node-1");
	CHECK_STR_EQ(jstr(json_object_get(j, "container"), "id"),
	    "3f2a9c1d0b7e5555");
	CHECK_STR_EQ(jstr(json_object_get(j, "container"), "name"), "web");
	CHECK_STR_EQ(jstr(j, "app"), "shop/web");
	CHECK_STR_EQ(jstr(j, "image"), "127.0.0.1:5000/app:prod@" IDX);
	CHECK_STR_EQ(jstr(j, "registry"), "127.0.0.1:5000");
	CHECK_STR_EQ(jstr(j, "digest"), IDX);
	CHECK_STR_EQ(jstr(j, "platform"), "linux/amd64");
	CHECK_STR_EQ(jstr(j, "missing_digest"), CHILD);
	CHECK_STR_EQ(jstr(j, "missing_platform"), "linux/amd64");
	CHECK(json_object_get(j, "tag") == NULL);
	CHECK_STR_EQ(jstr(j, "message"), "docker-guard: drift: ...");
	json_decref(j);
	free(text);

	/* newer, resolved; a name that is not UTF-8 is left out, not a
	   broken document */
	f.container_name = "bad\xff";
	f.tag_digest = NEWIDX;
	e.kind = DRIFT_NEWER;
	e.resolved = true;
	e.newer = "1.1.0";
	text = drift_payload(&e);
	j = json_loads(text, 0, NULL);
	CHECK(json_is_object(j));
	CHECK_STR_EQ(jstr(j, "kind"), "newer");
	CHECK_STR_EQ(jstr(j, "state"), "resolved");
	CHECK_STR_EQ(jstr(j, "tag"), "127.0.0.1:5000/app:prod");
	CHECK_STR_EQ(jstr(j, "tag_digest"), NEWIDX);
	CHECK_STR_EQ(jstr(j, "newer_version"), "1.1.0");
	CHECK(json_object_get(j, "missing_digest") == NULL);
	CHECK(json_object_get(json_object_get(j, "container"), "name") ==
	    NULL);
	json_decref(j);
	free(text);
	drift_target_reset(&t);
}

static void
test_kind_name(void)
{
	CHECK_STR_EQ(drift_kind_name(DRIFT_MISSING), "missing");
	CHECK_STR_EQ(drift_kind_name(DRIFT_NEWER), "newer");
}

/* What was reported survives a restart: dumped to text and read back, a
 * standing finding is the same, its end is a resolution. */
static void
test_state_dump(void)
{
	struct drift_state s = { 0 }, back = { 0 };
	struct drift_verdict k = verdict(DRIFT_FOUND, "missing a@sha256:1 x");
	struct drift_verdict n = verdict(DRIFT_FOUND, "newer sha256:2");
	struct drift_verdict clear = verdict(DRIFT_CLEAR, NULL);
	char *text;
	static const char *const bad[] = { "", "{}", "[1]", "[{}]",
		"[{\"container\":\"c\",\"kind\":\"old\",\"key\":\"k\"}]",
		"[{\"container\":\"c\",\"kind\":\"newer\",\"key\":1}]",
		"[{\"container\":\"c\",\"kind\":\"newer\",\"key\":\"a\"},"
		"{\"container\":\"c\",\"kind\":\"newer\",\"key\":\"b\"}]" };

	text = drift_state_dump(&s);
	CHECK_STR_EQ(text, "[]");
	free(text);
	drift_state_apply(&s, "c1", DRIFT_MISSING, &k);
	drift_state_apply(&s, "c1", DRIFT_NEWER, &n);
	drift_state_apply(&s, "c2", DRIFT_MISSING, &k);
	text = drift_state_dump(&s);
	CHECK(drift_state_load(&back, text) == 0);
	free(text);
	CHECK_INT_EQ(back.n, 3);
	CHECK(drift_state_apply(&back, "c1", DRIFT_MISSING, &k) == DRIFT_SAME);
	CHECK(drift_state_apply(&back, "c1", DRIFT_NEWER, &n) == DRIFT_SAME);
	CHECK(drift_state_apply(&back, "c2", DRIFT_MISSING, &clear) ==
	    DRIFT_RESOLVED);
	CHECK(drift_state_apply(&back, "c3", DRIFT_MISSING, &k) ==
	    DRIFT_APPEARED);
	for (size_t i = 0; i < NITEMS(bad); i++) {
		CHECKF(drift_state_load(&back, bad[i]) == -1, "bad %zu", i);
		CHECKF(back.n == 0, "bad %zu left %zu", i, back.n);
	}
	drift_state_reset(&back);
	drift_state_reset(&s);
	free(k.key);
	free(n.key);
}

static const struct check_case cases[] = {
	{ "target", test_target },
	{ "eval", test_eval },
	{ "messages", test_messages },
	{ "state", test_state },
	{ "state_dump", test_state_dump },
	{ "payload", test_payload },
	{ "kind_name", test_kind_name },
};

int
main(void)
{
	return CHECK_RUN("drift_eval", cases);
}
