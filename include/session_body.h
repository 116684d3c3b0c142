/*
 * Moving bytes for the proxy sessions: where a message body ends whatever
 * its framing (length, chunked, until close), and sending over a
 * bufferevent with as few system calls as may be.  Used by session*.c
 * only; knows nothing of sessions.
 */
#ifndef SESSION_BODY_H
#define SESSION_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunked.h"
#include "http_head.h"

struct bufferevent;
struct evbuffer;

/* Buffered bytes per direction before reading pauses. */
#define SESSION_BUF_HIGH (256 * 1024)
#define SESSION_BUF_LOW (64 * 1024)
/* Bytes moved per read or write system call. */
#define SESSION_IO_CHUNK (64 * 1024)

/* Where a message body ends, whatever its framing. */
struct session_body {
	enum http_framing framing;
	uint64_t left;
	struct chunked_decoder chunks;
	bool done;
};

/* Start reading a body of this framing (length: Content-Length). */
void session_body_init(struct session_body *br, enum http_framing framing,
    uint64_t length);

/*
 * Move body bytes from src: raw bytes to raw_dst (framing included), or,
 * when raw_dst is NULL, de-chunked data to data_dst.  At most budget data
 * bytes move.  Returns 0, or -1 on a framing error with *cause (static or
 * the decoder's) set.
 */
int session_body_pump(struct session_body *br, struct evbuffer *src,
    struct bufferevent *raw_dst, struct evbuffer *data_dst, size_t budget,
    const char **cause);

/*
 * Relay a body from src to dst as far as dst's room allows: what of it
 * has come goes on in one write, framing included as it came; stops when
 * the body ends, src is empty or dst is full.  Returns 0, or -1 on a
 * framing error with *cause (the bytes before the error are sent).
 */
int session_body_relay(struct session_body *br, struct evbuffer *src,
    struct bufferevent *dst, const char **cause);

/*
 * How many bytes of buf after its first skip bytes are body bytes of a
 * message framed by length, counted as sent: the caller sends them in one
 * write with the head.  Other framings are relayed step by step (0).
 */
size_t session_body_take_length(struct session_body *br, struct evbuffer *buf,
    size_t skip);

/* Relay raw bytes from src to dst (a hijacked stream) as far as dst's
 * room allows. */
void session_relay_raw(struct evbuffer *src, struct bufferevent *dst);

/*
 * Move n bytes of src to dst: straight to the socket when nothing is
 * queued ahead (one write, no epoll round), the rest through dst's output
 * buffer.
 */
void session_send_from(struct evbuffer *src, size_t n, struct bufferevent *dst);

/* The same for len bytes at data (borrowed for the call: copied). */
void session_send_mem(struct bufferevent *dst, const void *data, size_t len);

/* How many more bytes dst's output takes before SESSION_BUF_HIGH. */
size_t session_budget(struct bufferevent *dst);

/* Bytes queued in bev's output, and waiting in its input. */
size_t session_out_len(struct bufferevent *bev);
size_t session_in_len(struct bufferevent *bev);

#endif
