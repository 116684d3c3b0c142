#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chain.h"
#include "check.h"

static struct audit_chain_row
sample(void)
{
	struct audit_chain_row r = { 0 };

	r.id = 7;
	r.time_ms = 1795262640123;
	r.uid = 1000;
	r.gid = 1000;
	r.pid = 4242;
	r.comm = "ansible";
	r.method = "POST";
	r.route = "containers/create";
	r.app = "nextcloud";
	r.image_ref = "127.0.0.1:5000/nextcloud@sha256:aa";
	r.version = "31.0.8.1";
	r.previous_version = "31.0.9.1";
	r.rule = "downgrade";
	r.verdict = "deny";
	r.message = "refused";
	r.latency_us = 812;
	return r;
}

static void
test_deterministic(void)
{
	struct audit_chain_row r = sample();
	char *a = audit_chain_hash(&r, "sha256:prev");
	char *b = audit_chain_hash(&r, "sha256:prev");

	CHECK(strncmp(a, "sha256:", 7) == 0 && strlen(a) == 71);
	CHECK_STR_EQ(a, b);
	free(a);
	free(b);
}

/* Any field, the previous hash, or NULL vs "" changes the hash. */
static void
test_sensitive(void)
{
	struct audit_chain_row r = sample(), m;
	char *base = audit_chain_hash(&r, "sha256:prev"), *h;

	h = audit_chain_hash(&r, "sha256:other");
	CHECK(strcmp(base, h) != 0);
	free(h);
	m = r; m.verdict = "allow";
	h = audit_chain_hash(&m, "sha256:prev");
	CHECK(strcmp(base, h) != 0);
	free(h);
	m = r; m.id = 8;
	h = audit_chain_hash(&m, "sha256:prev");
	CHECK(strcmp(base, h) != 0);
	free(h);
	m = r; m.digest = "";
	h = audit_chain_hash(&m, "sha256:prev");
	CHECK(strcmp(base, h) != 0);
	free(h);
	/* Fields cannot be shifted into each other. */
	m = r; m.app = "nextcloud\",\"x"; m.image_ref = NULL;
	h = audit_chain_hash(&m, "sha256:prev");
	CHECK(strcmp(base, h) != 0);
	free(h);
	m = r; m.message = "bad \xff utf8";
	h = audit_chain_hash(&m, "sha256:prev");
	CHECK(h != NULL && strlen(h) == 71);
	free(h);
	free(base);
}

/*
 * Known answers: a chain of three rows and the exact hashes the code must
 * give.  A change to the hashed serialization (field order, JSON spelling,
 * escaping, the non-UTF-8 fallback, how the previous hash is chained)
 * fails here instead of silently breaking `audit --verify` on databases
 * already written.  The expected hashes were computed independently of
 * this code, with Python's json and hashlib over the serialization
 * include/audit_chain.h documents:
 *
 *   json.dumps([id, time_ms, uid, gid, pid, comm, method, route, app,
 *               image_ref, digest, version, previous_version, rule,
 *               verdict, message, latency_us, prev_hash],
 *              separators=(",", ":"), ensure_ascii=False)
 *
 * (None for NULL; a string that is not UTF-8 as "x" + hex of its bytes),
 * hashed as UTF-8 with hashlib.sha256.  The first row's text is
 *
 *   [1,1795262640123,1000,1000,4242,"ansible","POST","containers/create",
 *   "nextcloud","127.0.0.1:5000/nextcloud@sha256:aa",null,"31.0.8.1",
 *   "31.0.9.1","downgrade","deny","refused",812,""]
 */
static void
test_known_answers(void)
{
	static const char *const want[] = {
		"sha256:"
		"bf93bf642f9a911d7fd6fc81e32079dc0a0d041c41f4ccc8d9ffe3f87a0fef18",
		"sha256:"
		"7c18d58f48d5cd6ebfaf74682847ccea39b287bc904da89cf641d2cab574bbb8",
		"sha256:"
		"94153ad64e9b1a487a02202c12da473034a6ff615261894e987ea6fbbe788325",
	};
	struct audit_chain_row rows[3] = { { 0 } };
	char *prev = strdup(""), *h;

	rows[0] = sample();
	rows[0].id = 1;
	/* Unknown client, NULLs, an empty string, UTF-8, quotes, a
	   backslash, a slash and control characters. */
	rows[1].id = 2;
	rows[1].time_ms = 1795262641000;
	rows[1].uid = rows[1].gid = rows[1].pid = -1;
	rows[1].app = "caf\xc3\xa9";
	rows[1].image_ref = "";
	rows[1].digest = "sha256:"
			 "0000000000000000000000000000000000000000000000000000000000000000";
	rows[1].rule = "out_of_band";
	rows[1].verdict = "warn";
	rows[1].message = "say \"hi\"\\ back/slash\n\ttab";
	rows[1].latency_us = 0;
	/* The extremes of the integers, and a message that is not UTF-8. */
	rows[2].id = INT64_MAX;
	rows[2].time_ms = 0;
	rows[2].uid = rows[2].gid = 0;
	rows[2].pid = 1;
	rows[2].comm = "docker";
	rows[2].method = "DELETE";
	rows[2].route = "containers/{id}";
	rows[2].app = "app";
	rows[2].image_ref = "img";
	rows[2].rule = "outcome";
	rows[2].verdict = "allow";
	rows[2].message = "bad \xff utf8";
	rows[2].latency_us = -5;
	for (size_t i = 0; i < 3; i++) {
		h = audit_chain_hash(&rows[i], prev);
		CHECK_STR_EQ(h, want[i]);
		free(prev);
		prev = h;
	}
	free(prev);
}

static const struct check_case cases[] = {
	{ "deterministic", test_deterministic },
	{ "sensitive", test_sensitive },
	{ "known_answers", test_known_answers },
};

int
main(void)
{
	return CHECK_RUN("audit_chain", cases);
}
