/*
 * Golden rows for the engine answers the guard reads (inspect.c): here
 * POST /containers/prune's list of removed containers, which the ledger
 * records as removals, and a service's Spec and PreviousSpec from
 * GET /services/{id} (the guard judges a rollback on the one, the monitor
 * names a swarm task's app from the other).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inspect.h"

static const struct {
	const char	*body;
	const char	*want;	/* IDs joined by ',', NULL: no list */
} pruned_rows[] = {
	{ "{\"ContainersDeleted\":[\"aa\",\"bb\"],\"SpaceReclaimed\":0}",
	  "aa,bb" },
	{ "{\"ContainersDeleted\":null,\"SpaceReclaimed\":0}", NULL },
	{ "{\"ContainersDeleted\":[],\"SpaceReclaimed\":0}", "" },
	{ "{\"ContainersDeleted\":[\"aa\",7,null,\"cc\"]}", "aa,cc" },
	{ "[\"aa\"]", NULL },
	{ "not json", NULL },
	{ "", NULL },
};

static void
test_pruned_rows(void)
{
	for (size_t i = 0; i < sizeof pruned_rows / sizeof pruned_rows[0];
	    i++) {
		const char *b = pruned_rows[i].body;
		char **ids = inspect_pruned_ids(b, strlen(b));
		char joined[256] = "";

		if (pruned_rows[i].want == NULL) {
			CHECK(ids == NULL);
			continue;
		}
		CHECK(ids != NULL);
		if (ids == NULL)
			continue;
		for (size_t j = 0; ids[j] != NULL; j++) {
			if (j > 0)
				strcat(joined, ",");
			strcat(joined, ids[j]);
			free(ids[j]);
		}
		free(ids);
		CHECK_STR_EQ(joined, pruned_rows[i].want);
	}
}

static const struct {
	const char	*body;
	const char	*spec;		/* Spec as compact JSON, NULL: none */
	const char	*previous;	/* PreviousSpec, NULL: none */
} service_rows[] = {
	{ "{\"ID\":\"s1\",\"Spec\":{\"Name\":\"web\",\"Labels\":"
	  "{\"io.docker-guard.app\":\"shop\"}},\"PreviousSpec\":{\"Name\":"
	  "\"web\"}}",
	  "{\"Name\":\"web\",\"Labels\":{\"io.docker-guard.app\":\"shop\"}}",
	  "{\"Name\":\"web\"}" },
	{ "{\"ID\":\"s1\",\"Spec\":{\"Name\":\"web\"}}", "{\"Name\":\"web\"}",
	  NULL },
	{ "{\"ID\":\"s1\",\"Spec\":\"web\",\"PreviousSpec\":null}", NULL,
	  NULL },
	{ "{\"ID\":\"s1\"}", NULL, NULL },
	{ "[{\"Spec\":{}}]", NULL, NULL },
	{ "{\"message\":\"service s1 not found\"}", NULL, NULL },
	{ "not json", NULL, NULL },
};

static void
check_member(char *got, size_t got_len, const char *want)
{
	if (want == NULL) {
		CHECK(got == NULL);
	} else {
		CHECK(got != NULL);
		if (got != NULL) {
			CHECK_STR_EQ(got, want);
			CHECK_INT_EQ(got_len, strlen(want));
		}
	}
	free(got);
}

static void
test_service_specs(void)
{
	for (size_t i = 0; i < sizeof service_rows / sizeof service_rows[0];
	    i++) {
		const char *b = service_rows[i].body;
		size_t n = 0;
		char *spec = inspect_service_spec(b, strlen(b), &n);

		check_member(spec, n, service_rows[i].spec);
		n = 0;
		spec = inspect_service_previous_spec(b, strlen(b), &n);
		check_member(spec, n, service_rows[i].previous);
	}
}

static const struct check_case cases[] = {
	{ "pruned_rows", test_pruned_rows },
	{ "service_specs", test_service_specs },
};

int
main(void)
{
	return CHECK_RUN("inspect", cases);
}
