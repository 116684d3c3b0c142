/*
 * Responses the guard writes itself, shaped like the engine's own errors
 * so every client shows them: a status, "Content-Type: application/json"
 * exactly (the moby client compares the string), and {"message":"..."}
 * with a trailing newline as Go's json.Encoder writes it.  Pure.
 */
#ifndef DENY_H
#define DENY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A complete HTTP/1.1 response carrying message.  If close is true the
 * response says "Connection: close".  Caller frees; *len is its length.
 */
char *deny_response(int status, const char *message, bool close, size_t *len);

#endif
