/*
 * Body framing and sending for the proxy sessions (session_body.h).
 */
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "chunked.h"
#include "session_body.h"

size_t
session_out_len(struct bufferevent *bev)
{
	return evbuffer_get_length(bufferevent_get_output(bev));
}

size_t
session_in_len(struct bufferevent *bev)
{
	return evbuffer_get_length(bufferevent_get_input(bev));
}

void
session_body_init(struct session_body *br, enum http_framing framing,
    uint64_t length)
{
	memset(br, 0, sizeof *br);
	br->framing = framing;
	br->left = length;
	if (framing == HTTP_BODY_CHUNKED)
		chunked_init(&br->chunks);
	br->done = framing == HTTP_BODY_NONE ||
	    (framing == HTTP_BODY_LENGTH && length == 0);
}

/* Body data: sent on (raw_dst) or kept (data_dst). */
static void
move_bytes(struct evbuffer *src, size_t n, struct bufferevent *raw_dst,
    struct evbuffer *data_dst)
{
	if (raw_dst != NULL)
		session_send_from(src, n, raw_dst);
	else
		evbuffer_remove_buffer(src, data_dst, n);
}

/*
 * Move body bytes from src: raw bytes to raw_dst (framing included), or
 * de-chunked data to data_dst.  At most budget data bytes move.  Returns
 * 0, or -1 on a framing error with *cause set.
 */
int
session_body_pump(struct session_body *br, struct evbuffer *src,
    struct bufferevent *raw_dst, struct evbuffer *data_dst, size_t budget,
    const char **cause)
{
	while (!br->done && budget > 0 && evbuffer_get_length(src) > 0) {
		size_t avail = evbuffer_get_length(src), n;

		switch (br->framing) {
		case HTTP_BODY_NONE:
			br->done = true;
			break;
		case HTTP_BODY_LENGTH:
			n = avail < budget ? avail : budget;
			if (n > br->left)
				n = (size_t)br->left;
			move_bytes(src, n, raw_dst, data_dst);
			br->left -= n;
			budget -= n;
			br->done = br->left == 0;
			break;
		case HTTP_BODY_UNTIL_CLOSE:
			n = avail < budget ? avail : budget;
			move_bytes(src, n, raw_dst, data_dst);
			budget -= n;
			break;
		case HTTP_BODY_CHUNKED:
			if (chunked_in_data(&br->chunks)) {
				n = avail < budget ? avail : budget;
				if (n > chunked_data_left(&br->chunks))
					n = (size_t)chunked_data_left(
					    &br->chunks);
				move_bytes(src, n, raw_dst, data_dst);
				chunked_consume_data(&br->chunks, n);
				budget -= n;
			} else {
				size_t peek = avail < 4096 ? avail : 4096;
				unsigned char *p = evbuffer_pullup(src,
				    (ev_ssize_t)peek);

				n = chunked_scan(&br->chunks, p, peek);
				if (raw_dst != NULL)
					session_send_from(src, n, raw_dst);
				else
					evbuffer_drain(src, n);
				if (chunked_failed(&br->chunks)) {
					*cause = br->chunks.cause;
					return -1;
				}
				br->done = chunked_done(&br->chunks);
				if (n == 0 && !chunked_in_data(&br->chunks))
					return 0;
			}
			break;
		}
	}
	if (br->framing == HTTP_BODY_NONE)
		br->done = true;
	return 0;
}

/*
 * Send straight to the socket when nothing is queued ahead, so a message
 * costs one write and no epoll round; only what the socket does not take
 * goes through the bufferevent (which then waits for room as usual).
 */
void
session_send_from(struct evbuffer *src, size_t n, struct bufferevent *dst)
{
	struct evbuffer *out = bufferevent_get_output(dst);

	if (n > 0 && evbuffer_get_length(out) == 0) {
		evutil_socket_t fd = bufferevent_getfd(dst);
		struct evbuffer_iovec v;
		ssize_t w;

		/* In one piece (a head, a small message): send(2), which
		   costs less than evbuffer_write's writev. */
		if (evbuffer_peek(src, (ev_ssize_t)n, NULL, &v, 1) == 1) {
			w = send(fd, v.iov_base, n,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				evbuffer_drain(src, (size_t)w);
		} else
			w = evbuffer_write_atmost(src, fd, (ev_ssize_t)n);
		if (w > 0)
			n -= (size_t)w;
	}
	if (n > 0)
		evbuffer_remove_buffer(src, out, n);
}

void
session_send_mem(struct bufferevent *dst, const void *data, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(dst);

	if (evbuffer_get_length(out) == 0) {
		ssize_t w = send(bufferevent_getfd(dst), data, len,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w > 0) {
			data = (const char *)data + w;
			len -= (size_t)w;
		}
	}
	if (len > 0)
		evbuffer_add(out, data, len);
}

size_t
session_budget(struct bufferevent *dst)
{
	size_t used = session_out_len(dst);

	return used >= SESSION_BUF_HIGH ? 0 : SESSION_BUF_HIGH - used;
}

/*
 * The chunked framing from off in src, one contiguous piece: the bytes
 * the decoder took (0 when it needs more).
 */
static size_t
scan_chunk_framing(struct session_body *br, struct evbuffer *src, size_t off)
{
	struct evbuffer_ptr at;
	struct evbuffer_iovec v;

	if (evbuffer_ptr_set(src, &at, off, EVBUFFER_PTR_SET) != 0 ||
	    evbuffer_peek(src, -1, &at, &v, 1) < 1)
		return 0;
	return chunked_scan(&br->chunks, v.iov_base, v.iov_len);
}

/*
 * How many bytes at the front of src belong to the body, framing
 * included (*n), at most budget data bytes: the decoder moves over them,
 * the caller sends them on in one write.  Returns 0, or -1 on a framing
 * error with *cause set (*n then counts the bytes before it).
 */
static int
body_count_raw(struct session_body *br, struct evbuffer *src, size_t budget,
    size_t *n, const char **cause)
{
	size_t avail = evbuffer_get_length(src), off = 0, k;

	if (br->framing != HTTP_BODY_CHUNKED) {
		k = avail < budget ? avail : budget;
		if (br->framing == HTTP_BODY_LENGTH && k > br->left)
			k = (size_t)br->left;
		if (br->framing == HTTP_BODY_LENGTH)
			br->left -= k;
		br->done = br->framing == HTTP_BODY_NONE ||
		    (br->framing == HTTP_BODY_LENGTH && br->left == 0);
		*n = br->framing == HTTP_BODY_NONE ? 0 : k;
		return 0;
	}
	while (!br->done && budget > 0 && off < avail) {
		if (chunked_in_data(&br->chunks)) {
			k = avail - off < budget ? avail - off : budget;
			if (k > chunked_data_left(&br->chunks))
				k = (size_t)chunked_data_left(&br->chunks);
			chunked_consume_data(&br->chunks, k);
			budget -= k;
		} else {
			k = scan_chunk_framing(br, src, off);
			if (chunked_failed(&br->chunks)) {
				*n = off + k;
				*cause = br->chunks.cause;
				return -1;
			}
			br->done = chunked_done(&br->chunks);
			if (k == 0 && !chunked_in_data(&br->chunks))
				break;
		}
		off += k;
	}
	*n = off;
	return 0;
}

/*
 * Relay a body from src to dst as far as dst's room allows: what of it
 * has come goes in one write (framing included, as it came); stops when
 * the body ends, src is empty or dst is full.
 */
int
session_body_relay(struct session_body *br, struct evbuffer *src,
    struct bufferevent *dst, const char **cause)
{
	for (;;) {
		size_t budget = session_budget(dst), n;
		int r;

		if (budget == 0 || br->done)
			break;
		r = body_count_raw(br, src, budget, &n, cause);
		session_send_from(src, n, dst);
		if (r != 0)
			return -1;
		if (n == 0)
			break;
	}
	return 0;
}

/* Relay raw bytes from src to dst (a hijacked stream), the same way. */
void
session_relay_raw(struct evbuffer *src, struct bufferevent *dst)
{
	for (;;) {
		size_t n = session_budget(dst),
		       avail = evbuffer_get_length(src);

		if (n == 0 || avail == 0)
			break;
		if (n > avail)
			n = avail;
		session_send_from(src, n, dst);
	}
}

/*
 * How many bytes of buf after its first skip bytes are body bytes of a
 * message framed by length, counted as sent: they go out in one write
 * with the head.  Other framings are relayed step by step (0).
 */
size_t
session_body_take_length(struct session_body *br, struct evbuffer *buf,
    size_t skip)
{
	size_t n = evbuffer_get_length(buf) - skip;

	if (br->framing != HTTP_BODY_LENGTH || br->done)
		return 0;
	if (n > br->left)
		n = (size_t)br->left;
	br->left -= n;
	br->done = br->left == 0;
	return n;
}
