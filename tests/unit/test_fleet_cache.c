/* fleet_cache: what a host keeps of its own last claim of each app. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fleet_cache.h"

static char s142[] = "14.2", s150[] = "15.0", saa[] = "sha256:aa",
	    node1[] = "node-1", node2[] = "node-2";
static struct fleet_version v142 = { s142, saa, node1, 100, false };
static struct fleet_version v150 = { s150, NULL, node2, 200, true };

static void
test_put_get(void)
{
	struct fleet_cache *c = fleet_cache_new(4, 1000);
	struct fleet_history read = { &v142, 1 }, got = { 0 };
	int64_t gen = 0;

	CHECK(!fleet_cache_get(c, "db", 0, &got, &gen));
	fleet_cache_put(c, "db", &read, &v150, 42, 5000);
	CHECK(fleet_cache_get(c, "db", 5500, &got, &gen));
	CHECK_INT_EQ(gen, 42);
	CHECK_INT_EQ(got.n, 2);
	CHECK_STR_EQ(got.items[0].version, "14.2");
	CHECK_STR_EQ(got.items[0].digest, "sha256:aa");
	CHECK_STR_EQ(got.items[1].version, "15.0");
	CHECK(got.items[1].digest == NULL);
	CHECK_STR_EQ(got.items[1].host, "node-2");
	CHECK(got.items[1].claimed);
	/* the caller's copy is its own */
	free(got.items[0].version);
	got.items[0].version = strdup("x");
	fleet_history_reset(&got);
	CHECK(fleet_cache_get(c, "db", 5500, &got, &gen));
	CHECK_STR_EQ(got.items[0].version, "14.2");
	fleet_history_reset(&got);
	/* another app is not this one */
	CHECK(!fleet_cache_get(c, "db2", 5500, &got, &gen));
	/* stale after ttl, and gone then; a clock gone back is stale too */
	CHECK(!fleet_cache_get(c, "db", 6001, &got, &gen));
	CHECK(!fleet_cache_get(c, "db", 5500, &got, &gen));
	fleet_cache_put(c, "db", &read, &v150, 43, 5000);
	CHECK(!fleet_cache_get(c, "db", 4999, &got, &gen));
	fleet_cache_free(c);
}

static void
test_drop_and_room(void)
{
	struct fleet_cache *c = fleet_cache_new(2, 100000);
	struct fleet_history none = { NULL, 0 }, got = { 0 };
	int64_t gen = 0;

	fleet_cache_put(c, "a", &none, &v142, 1, 10);
	fleet_cache_put(c, "b", &none, &v142, 2, 20);
	fleet_cache_drop(c, "a");
	CHECK(!fleet_cache_get(c, "a", 30, &got, &gen));
	CHECK(fleet_cache_get(c, "b", 30, &got, &gen));
	fleet_history_reset(&got);
	/* full: the oldest makes room */
	fleet_cache_put(c, "a", &none, &v142, 3, 30);
	fleet_cache_put(c, "c", &none, &v142, 4, 40);
	CHECK(!fleet_cache_get(c, "b", 50, &got, &gen));
	CHECK(fleet_cache_get(c, "a", 50, &got, &gen) && gen == 3);
	fleet_history_reset(&got);
	CHECK(fleet_cache_get(c, "c", 50, &got, &gen) && gen == 4);
	CHECK_INT_EQ(got.n, 1);
	fleet_history_reset(&got);
	/* a new claim of an app replaces its entry */
	fleet_cache_put(c, "c", &none, &v150, 5, 60);
	CHECK(fleet_cache_get(c, "c", 70, &got, &gen) && gen == 5);
	CHECK_STR_EQ(got.items[0].version, "15.0");
	fleet_history_reset(&got);
	/* everything */
	fleet_cache_drop(c, NULL);
	CHECK(!fleet_cache_get(c, "a", 70, &got, &gen));
	CHECK(!fleet_cache_get(c, "c", 70, &got, &gen));
	fleet_cache_free(c);
	fleet_cache_free(NULL);
}

static const struct check_case cases[] = {
	{ "put_get", test_put_get },
	{ "drop_and_room", test_drop_and_room },
};

int
main(void)
{
	return CHECK_RUN("fleet_cache", cases);
}
