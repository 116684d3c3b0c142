#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deny.h"

static void
test_shape(void)
{
	size_t len;
	char *r = deny_response(403, "docker-guard: refusing \"x\"", false,
	    &len);
	const char *body;
	json_t *j;

	CHECK_INT_EQ(len, strlen(r));
	CHECK(strncmp(r, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	/* Exactly this header: the moby client compares the string. */
	CHECK(strstr(r, "\r\nContent-Type: application/json\r\n") != NULL);
	CHECK(strstr(r, "Connection: close") == NULL);
	body = strstr(r, "\r\n\r\n") + 4;
	CHECK(body[strlen(body) - 1] == '\n');
	j = json_loads(body, 0, NULL);
	CHECK(j != NULL);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "message")),
	    "docker-guard: refusing \"x\"");
	{
		char cl[64];

		snprintf(cl, sizeof cl, "Content-Length: %zu\r\n",
		    strlen(body));
		CHECK(strstr(r, cl) != NULL);
	}
	json_decref(j);
	free(r);
}

static void
test_close_and_status(void)
{
	size_t len;
	char *r = deny_response(502, "docker-guard: cannot reach", true, &len);

	CHECK(strncmp(r, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
	CHECK(strstr(r, "\r\nConnection: close\r\n") != NULL);
	free(r);
	r = deny_response(413, "big", false, &len);
	CHECK(strncmp(r, "HTTP/1.1 413 ", 13) == 0);
	free(r);
}

static void
test_not_utf8(void)
{
	size_t len;
	char *r = deny_response(400, "bad \xff byte \xc0\x80 \xe2\x82\xac",
	    false, &len);

	/* The message is kept; each bad byte is U+FFFD, good ones stay. */
	CHECK(strstr(r,
		  "\"bad \xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd "
		  "\xe2\x82\xac\"") != NULL);
	free(r);
}

static const struct check_case cases[] = {
	{ "shape", test_shape },
	{ "close_and_status", test_close_and_status },
	{ "not_utf8", test_not_utf8 },
};

int
main(void)
{
	return CHECK_RUN("deny", cases);
}
