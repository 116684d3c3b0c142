/*
 * libFuzzer target for drift_eval: a deployment's reference and recorded
 * digest (from the ledger, so from a client's create) and a registry's
 * words (its detail, the missing child, the tag's digest and versions),
 * NUL-separated.  Whatever they are: drift_target either names a digest to
 * check or fails leaving nothing, drift_eval gives a message exactly for
 * what it can say, the state reports a finding once, and the payload is
 * one line of JSON.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drift_eval.h"

#define FUZZ_MAX_INPUT 4096

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first field read as a kept state: loaded whole or not at all, and
 * what loads dumps back to itself. */
static void
state_text(struct drift_state *s, const char *text)
{
	char *dump, *again;

	if (drift_state_load(s, text) != 0) {
		FUZZ_ASSERT(s->n == 0 && s->items == NULL);
		return;
	}
	dump = drift_state_dump(s);
	FUZZ_ASSERT(drift_state_load(s, dump) == 0);
	again = drift_state_dump(s);
	FUZZ_ASSERT(strcmp(dump, again) == 0);
	free(dump);
	free(again);
	drift_state_reset(s);
}

/* The next NUL-separated field of buf (at most *left bytes), or NULL. */
static const char *
field(char **p, char *end)
{
	char *s = *p;

	if (s >= end)
		return NULL;
	*p = s + strlen(s) + 1;
	return s;
}

static void
check_payload(const struct drift_facts *f, enum drift_kind k,
    const struct drift_verdict *v, bool resolved)
{
	struct drift_event e = { 0 };
	json_t *j;
	char *text;

	e.kind = k;
	e.resolved = resolved;
	e.time_ms = 1795262640123LL;
	e.host = "h";
	e.facts = f;
	e.message = v->message;
	e.newer = v->newer;
	text = drift_payload(&e);
	FUZZ_ASSERT(text != NULL && strchr(text, '\n') == NULL);
	j = json_loads(text, 0, NULL);
	FUZZ_ASSERT(json_is_object(j));
	json_decref(j);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *p, *end;
	const char *ref, *rd, *detail, *tag_digest, *tag_version, *version;
	struct drift_target t;
	struct drift_facts f = { 0 };
	struct drift_result r;
	struct drift_state s = { 0 };
	uint8_t flags;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	flags = data[0];
	buf = malloc(size + 1);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	p = buf;
	end = buf + size - 1;
	state_text(&s, buf);
	ref = field(&p, end);
	rd = field(&p, end);
	detail = field(&p, end);
	tag_digest = field(&p, end);
	tag_version = field(&p, end);
	version = field(&p, end);
	if (drift_target(ref, rd, &t) != 0) {
		FUZZ_ASSERT(t.digest == NULL && t.domain == NULL);
		free(buf);
		return 0;
	}
	FUZZ_ASSERT(t.domain != NULL && t.path != NULL && t.digest != NULL);
	FUZZ_ASSERT(strstr(t.checked_ref, t.digest) != NULL);
	FUZZ_ASSERT((t.tag == NULL) == (t.tag_ref == NULL));
	f.container_id = "0123456789abcdef";
	f.container_name = (flags & 1) ? detail : NULL;
	f.app = (flags & 2) ? version : NULL;
	f.image_ref = ref;
	f.platform = "linux/amd64";
	f.target = &t;
	f.version = version;
	f.checked = (flags & 4) != 0;
	f.outcome = (enum registry_outcome)((flags >> 3) % 5);
	f.detail = detail;
	f.missing_digest = (flags & 0x40) ? tag_digest : NULL;
	f.tag_checked = (flags & 0x80) != 0;
	f.tag_outcome = (enum registry_outcome)((flags >> 4) % 5);
	f.tag_digest = tag_digest;
	f.tag_version = tag_version;
	drift_eval(&f, &r);
	for (int k = 0; k < DRIFT_NKINDS; k++) {
		const struct drift_verdict *v = &r.v[k];
		enum drift_change c;

		FUZZ_ASSERT((v->message != NULL) == (v->status != DRIFT_UNKNOWN));
		FUZZ_ASSERT((v->key != NULL) == (v->status == DRIFT_FOUND));
		c = drift_state_apply(&s, f.container_id, (enum drift_kind)k, v);
		FUZZ_ASSERT(c == (v->status == DRIFT_FOUND ? DRIFT_APPEARED
							   : DRIFT_SAME));
		FUZZ_ASSERT(drift_state_apply(&s, f.container_id,
				(enum drift_kind)k, v) == DRIFT_SAME);
		if (v->message != NULL)
			check_payload(&f, (enum drift_kind)k, v,
			    v->status == DRIFT_CLEAR);
	}
	drift_result_reset(&r);
	drift_state_reset(&s);
	drift_target_reset(&t);
	free(buf);
	return 0;
}
