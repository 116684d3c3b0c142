/*
 * Golden rows for the engine answers the guard reads (inspect.c): here
 * POST /containers/prune's list of removed containers, which the ledger
 * records as removals.
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

static const struct check_case cases[] = {
	{ "pruned_rows", test_pruned_rows },
};

int
main(void)
{
	return CHECK_RUN("inspect", cases);
}
