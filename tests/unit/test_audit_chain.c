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

static const struct check_case cases[] = {
	{ "deterministic", test_deterministic },
	{ "sensitive", test_sensitive },
};

int
main(void)
{
	return CHECK_RUN("audit_chain", cases);
}
