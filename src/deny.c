#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "deny.h"
#include "http_head.h"
#include "utf8.h"
#include "xmalloc.h"

char *
deny_response(int status, const char *message, bool close, size_t *len)
{
	json_t *obj = json_object(), *msg = json_string(message);
	char *body, *out;

	if (msg == NULL) {
		/* A client's bytes in it are not UTF-8: keep the message,
		   each bad byte as U+FFFD. */
		char *clean = utf8_scrub(message);

		msg = json_string(clean);
		free(clean);
	}
	json_object_set_new(obj, "message", msg);
	body = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (body == NULL)
		body = xstrdup(
		    "{\"message\":\"docker-guard: internal error\"}");
	out = xasprintf("HTTP/1.1 %d %s\r\n"
			"Content-Type: application/json\r\n"
			"Content-Length: %zu\r\n"
			"%s"
			"\r\n"
			"%s\n",
	    status, http_reason(status), strlen(body) + 1,
	    close ? "Connection: close\r\n" : "", body);
	free(body);
	*len = strlen(out);
	return out;
}
