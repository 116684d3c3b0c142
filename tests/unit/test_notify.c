/*
 * notify.c's URL as the log shows it: scheme, host and port only, so a
 * token in the user part, path, query or fragment never reaches the log.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "notify.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
test_redacted(void)
{
	static const struct {
		const char *url, *want;
	} rows[] = {
		{ "http://127.0.0.1:9999/hook", "http://127.0.0.1:9999" },
		{ "https://hooks.example.com/services/T0/B1/XyZsecret",
		    "https://hooks.example.com" },
		{ "https://user:pa55@hooks.example.com:8443/a?token=t#f",
		    "https://hooks.example.com:8443" },
		{ "http://a@b@host/x", "http://host" },
		{ "http://[::1]:8080?k=v", "http://[::1]:8080" },
		{ "HTTP://Example.COM#frag", "HTTP://Example.COM" },
		{ "http://host/p@q", "http://host" },
		{ "no scheme", "(a URL)" },
	};
	char buf[64];

	for (size_t i = 0; i < NITEMS(rows); i++)
		CHECK_STR_EQ(notify_url_redacted(rows[i].url, buf, sizeof buf),
		    rows[i].want);
	/* cut short, never overrun */
	notify_url_redacted("https://a-very-long-host-name.example.com/x", buf,
	    12);
	CHECK_STR_EQ(buf, "https://a-v");
}

static const struct check_case cases[] = {
	{ "redacted", test_redacted },
};

int
main(void)
{
	return CHECK_RUN("notify", cases);
}
