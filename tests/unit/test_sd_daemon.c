#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "sd_daemon.h"

static const long me = 4242;

struct listen_row {
	const char *pid; /* LISTEN_PID, NULL: unset */
	const char *fds; /* LISTEN_FDS, NULL: unset */
	int ok;
	int want; /* descriptors, when ok */
};

static const struct listen_row listen_rows[] = {
	{ NULL, NULL, 1, 0 },	     /* not activated */
	{ NULL, "1", 1, 0 },	     /* LISTEN_FDS alone: not for us */
	{ "4242", "1", 1, 1 },	     /* the usual case */
	{ "4242", "2", 1, 2 },	     /* two sockets: the caller decides */
	{ "4242", "0", 1, 0 },	     /* nothing passed */
	{ "4243", "1", 1, 0 },	     /* another process's sockets */
	{ "1", "1", 1, 0 },	     /* init's */
	{ "4242", NULL, 0, 0 },	     /* ours but no count */
	{ "4242", "", 0, 0 },	     /* empty */
	{ "4242", "-1", 0, 0 },	     /* negative */
	{ "4242", "+1", 0, 0 },	     /* sign */
	{ "4242", " 1", 0, 0 },	     /* space */
	{ "4242", "1 ", 0, 0 },	     /* trailing space */
	{ "4242", "1x", 0, 0 },	     /* junk */
	{ "4242", "2147483645", 0, 0 }, /* past INT_MAX from fd 3 */
	{ "4242", "99999999999999999999", 0, 0 }, /* overflow */
	{ "", "1", 0, 0 },	     /* empty pid */
	{ "0", "1", 0, 0 },	     /* no such pid */
	{ "-4242", "1", 0, 0 },	     /* negative pid */
	{ "42x", "1", 0, 0 },	     /* junk pid */
	{ "04242", "1", 1, 1 },	     /* leading zero: still a number */
};

static void
test_listen_rows(void)
{
	for (size_t i = 0; i < sizeof listen_rows / sizeof listen_rows[0];
	     i++) {
		const struct listen_row *r = &listen_rows[i];
		char *cause = NULL;
		int n = -7;
		int rc = sd_listen_parse(r->pid, r->fds, me, &n, &cause);

		CHECKF((rc == 0) == (r->ok != 0), "row %zu (%s, %s): %d", i,
		    r->pid ? r->pid : "unset", r->fds ? r->fds : "unset", rc);
		if (rc == 0) {
			CHECKF(n == r->want, "row %zu: %d, want %d", i, n,
			    r->want);
			CHECKF(cause == NULL, "row %zu: a cause on success", i);
		} else {
			CHECKF(n == 0, "row %zu: %d on failure", i, n);
			CHECKF(cause != NULL && *cause != '\0',
			    "row %zu: no cause", i);
		}
		free(cause);
	}
}

struct addr_row {
	const char *in;
	int ok;
	int abstract;
};

static const char long_path[] = "/run/"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				"xxxxxxxxxxxxxxxxxxxxxx"; /* 107 bytes */
static const char too_long_path[] = "/run/"
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				    "xxxxxxxxxxxxxxxxxxxxxxx"; /* 108 */
static const char long_abstract[] = "@"
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				    "xxxxxxxxxxxxxxxxxxxxxxxxxxx"; /* 108 */
static const char too_long_abstract[] = "@"
					"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
					"xxxxxxxxxxxxxxxxxxxxxxxxxxxx"; /* 109 */

static const struct addr_row addr_rows[] = {
	{ "/run/systemd/notify", 1, 0 },
	{ "@/org/freedesktop/systemd1/notify/123", 1, 1 },
	{ "@n", 1, 1 },
	{ "/s", 1, 0 },
	{ long_path, 1, 0 },
	{ long_abstract, 1, 1 },
	{ too_long_path, 0, 0 },
	{ too_long_abstract, 0, 0 },
	{ "", 0, 0 },
	{ "@", 0, 0 },
	{ "/", 0, 0 },
	{ "run/notify", 0, 0 },
	{ "vsock:2:1234", 0, 0 },
};

static void
check_addr(size_t i, const struct addr_row *r, const struct sockaddr_un *sun,
    socklen_t len)
{
	size_t l = strlen(r->in);
	size_t base = offsetof(struct sockaddr_un, sun_path);

	CHECKF(sun->sun_family == AF_UNIX, "row %zu: family", i);
	if (r->abstract) {
		CHECKF(sun->sun_path[0] == '\0', "row %zu: not abstract", i);
		CHECKF(memcmp(sun->sun_path + 1, r->in + 1, l - 1) == 0,
		    "row %zu: name", i);
		CHECKF(len == base + l, "row %zu: len %u", i, (unsigned)len);
	} else {
		CHECKF(strcmp(sun->sun_path, r->in) == 0, "row %zu: path", i);
		CHECKF(len == base + l + 1, "row %zu: len %u", i,
		    (unsigned)len);
	}
}

static void
test_addr_rows(void)
{
	for (size_t i = 0; i < sizeof addr_rows / sizeof addr_rows[0]; i++) {
		const struct addr_row *r = &addr_rows[i];
		struct sockaddr_un sun;
		socklen_t len = 0;
		char *cause = NULL;
		int rc = sd_notify_addr(r->in, &sun, &len, &cause);

		CHECKF((rc == 0) == (r->ok != 0), "row %zu \"%s\": %d", i,
		    r->in, rc);
		if (rc == 0 && r->ok)
			check_addr(i, r, &sun, len);
		if (rc != 0)
			CHECKF(cause != NULL && *cause != '\0',
			    "row %zu: no cause", i);
		free(cause);
	}
	{
		struct sockaddr_un sun;
		socklen_t len;
		char *cause = NULL;

		CHECK(sd_notify_addr(NULL, &sun, &len, &cause) == -1);
		CHECK(cause != NULL);
		free(cause);
	}
}

static void
test_lengths_are_what_the_rows_say(void)
{
	CHECK_INT_EQ(strlen(long_path), 107);
	CHECK_INT_EQ(strlen(too_long_path), 108);
	CHECK_INT_EQ(strlen(long_abstract), 108);
	CHECK_INT_EQ(strlen(too_long_abstract), 109);
}

static const struct check_case cases[] = {
	{ "lengths", test_lengths_are_what_the_rows_say },
	{ "listen_rows", test_listen_rows },
	{ "addr_rows", test_addr_rows },
};

int
main(void)
{
	return CHECK_RUN("sd_daemon", cases);
}
