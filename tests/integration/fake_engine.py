"""A scripted fake Docker engine on a Unix socket, for wire-level tests.

Every connection gets a thread.  Every byte received is recorded per
connection (Conn.data), and each request is parsed (head, then a
Content-Length or chunked body, found by the fake's own parser) into a
Request whose raw bytes are kept too.  What the fake answers is decided by
FakeEngine.handler(request) -> Action, called when the request head is
complete (so an Action can send 100 Continue before the body is read).

A handler may return None for the default answer (default_action):
image inspect (GET /images/{ref}/json: 200 with an image, or 404 for the
refs in FakeEngine.missing_images), container inspect, a 201 for
POST /containers/create, and ok() for everything else.  The guard's own
lookups (User-Agent: docker-guard) are marked Conn.internal, so tests can
look at the client traffic alone (client_connections(), client_bytes()).

Actions (see the Action constructors below):
  ok()            200, Content-Length: 2, "ok" (plus X-Target: <target>)
  raw(b)          send exactly b, then keep serving (close=True: close)
  chunked(parts)  a chunked 200 sent piece by piece with pauses
  stream()        a chunked 200 that never ends: one chunk every 50 ms
                  until the peer goes away (Conn.gone is then set)
  slow(event|s)   wait for a threading.Event (or seconds), then ok()
  never()         never answer; wait for the peer to go away
  close()         close without answering
  cont()          100 Continue right after the head, then ok() after body
  hijack()        101 UPGRADED, then echo every byte back; on EOF from the
                  peer send Action.trailer and close (half-close test);
                  hijack(engine_first=True): 101, trailer, SHUT_WR, then
                  read (recording) until the peer's EOF
  rawstream()     200 application/vnd.docker.raw-stream without framing,
                  then the same echo/EOF/trailer behaviour as hijack()
  switch101()     101 on any route, then some raw bytes (must not relay)

Everything is bounded: sockets have timeouts, waits have deadlines, and
stop() closes the listener and every connection and joins the threads.
"""

import json
import os
import select
import socket
import threading
import time
import urllib.parse

RECV_TIMEOUT = 10.0
OK_RESPONSE_FMT = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                   b"X-Target: %s\r\n\r\nok")
HIJACK_HEAD = (b"HTTP/1.1 101 UPGRADED\r\n"
               b"Content-Type: application/vnd.docker.raw-stream\r\n"
               b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
RAWSTREAM_HEAD = (b"HTTP/1.1 200 OK\r\n"
                  b"Content-Type: application/vnd.docker.raw-stream\r\n\r\n")
TRAILER = b"engine-trailer: bye\n"
IMAGE_ID = "sha256:" + "1" * 64
CONTAINER_ID = "c" * 64
CREATE_BODY = json.dumps({"Id": CONTAINER_ID, "Warnings": []},
                         separators=(",", ":")).encode()
# Content-Length last: the guard re-frames create answers by length and
# puts its Content-Length line last, so these bytes pass unchanged.
CREATE_RESPONSE = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json"
                   b"\r\nContent-Length: %d\r\n\r\n" % len(CREATE_BODY) +
                   CREATE_BODY)


def json_response(status, obj, reason=b"OK"):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (status, reason, len(body)) +
            body)


class Action:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.data = kw.get("data", b"")
        self.close_after = kw.get("close", False)
        self.parts = kw.get("parts", [])
        self.pause = kw.get("pause", 0.05)
        self.event = kw.get("event")
        self.delay = kw.get("delay", 0.0)
        self.trailer = kw.get("trailer", TRAILER)

    def __repr__(self):
        return "Action(%s)" % self.kind


def ok():
    return Action("ok")


def raw(data, close=False):
    return Action("raw", data=data, close=close)


def chunked(parts, pause=0.05):
    return Action("chunked", parts=parts, pause=pause)


def stream(pause=0.05):
    return Action("stream", pause=pause)


def slow(event=None, delay=0.0):
    return Action("slow", event=event, delay=delay)


def never():
    return Action("never")


def close():
    return Action("close")


def cont():
    return Action("continue")


def hijack(trailer=TRAILER, engine_first=False):
    """engine_first: send trailer and SHUT_WR at once, then keep reading
    (recording) until the peer's EOF."""
    return Action("hijack_engine_first" if engine_first else "hijack",
                  trailer=trailer)


def rawstream(trailer=TRAILER):
    return Action("rawstream", trailer=trailer)


def switch101(data=b"raw bytes after a 101\n"):
    return Action("switch101", data=data)


class Request:
    def __init__(self, head):
        self.head = head                      # raw head bytes incl. CRLFCRLF
        lines = head[:-4].split(b"\r\n")
        parts = lines[0].split(b" ")
        self.method = parts[0] if parts else b""
        self.target = parts[1] if len(parts) > 1 else b""
        self.version = parts[2] if len(parts) > 2 else b""
        self.headers = []                     # [(lower name, value)]
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers.append((name.strip().lower(), value.strip()))
        self.body_raw = b""                   # body as received (framing)
        self.body = b""                       # body decoded
        self.complete = False

    def get(self, name):
        name = name.lower().encode() if isinstance(name, str) else name
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def all(self, name):
        name = name.lower().encode() if isinstance(name, str) else name
        return [v for n, v in self.headers if n == name]

    def __repr__(self):
        return "Request(%r %r)" % (self.method, self.target)


class PeerGone(Exception):
    pass


class Conn:
    """One connection accepted from the guard."""

    def __init__(self, sock, index):
        self.sock = sock
        self.index = index
        self.data = bytearray()       # every byte received, in order
        self.requests = []
        self.lock = threading.Lock()
        self.eof = threading.Event()  # recv returned b"" (peer SHUT_WR/close)
        self.gone = threading.Event()  # peer gone (EOF seen or send failed)
        self.closed = threading.Event()  # we closed our side
        self.buf = bytearray()        # received, not yet consumed by parser
        self.accepted_at = time.monotonic()
        self.internal = False         # a docker-guard lookup connection
        self.gone_at = None
        self.error = None

    def bytes(self):
        with self.lock:
            return bytes(self.data)

    def _recv(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise PeerGone("timeout")
        except OSError as exc:
            self._mark_gone()
            raise PeerGone(str(exc))
        if not chunk:
            self.eof.set()
            self._mark_gone()
            raise PeerGone("eof")
        with self.lock:
            self.data += chunk
        self.buf += chunk
        return chunk

    def _mark_gone(self):
        if not self.gone.is_set():
            self.gone_at = time.monotonic()
            self.gone.set()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self._mark_gone()
            raise PeerGone(str(exc))

    def _take(self, n):
        while len(self.buf) < n:
            self._recv()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _take_line(self, limit=65536):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > limit:
                raise PeerGone("line too long")
            self._recv()

    def read_head(self):
        """The next request head, or raise PeerGone (eof before a head)."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > 1024 * 1024:
                raise PeerGone("head too long")
            self._recv()

    def read_body(self, req):
        te = req.get("transfer-encoding")
        cl = req.get("content-length")
        if te is not None and te.lower() == b"chunked":
            raw_parts, body = [], []
            while True:
                line = self._take_line()
                raw_parts.append(line)
                size = int(line[:-2].split(b";")[0], 16)
                if size == 0:
                    while True:  # trailers up to the blank line
                        t = self._take_line()
                        raw_parts.append(t)
                        if t == b"\r\n":
                            break
                    break
                data = self._take(size + 2)
                raw_parts.append(data)
                body.append(data[:-2])
            req.body_raw = b"".join(raw_parts)
            req.body = b"".join(body)
        elif cl is not None:
            n = int(cl)
            req.body_raw = req.body = self._take(n)
        req.complete = True

    def wait_gone(self):
        """Block (bounded) until the peer goes away, reading and recording."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.gone.is_set():
            try:
                self._recv()
            except PeerGone:
                return

    def echo_until_eof(self, trailer):
        """Relay mode: echo bytes; on EOF send trailer and close."""
        deadline = time.monotonic() + 30
        if self.buf:
            data = bytes(self.buf)
            self.buf.clear()
            self.send(data)
        while time.monotonic() < deadline:
            try:
                chunk = self._recv()
            except PeerGone:
                break
            self.buf.clear()
            self.send(chunk)
        if self.eof.is_set():
            # The peer half-closed: our side still works.
            time.sleep(0.05)
            self.send(trailer)


class FakeEngine:
    def __init__(self, path):
        self.path = path
        self.handler = lambda req: ok()
        self.conns = []
        self.lock = threading.Lock()
        self.listener = None
        self.thread = None
        self.threads = []
        self.stopping = False
        self.errors = []

    # --- life cycle -----------------------------------------------------
    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.listen(64)
        s.settimeout(0.2)
        self.listener = s
        self.thread = threading.Thread(target=self._accept_loop,
                                       name="fake-engine-accept",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        if self.thread is not None:
            self.thread.join(5)
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            conns = list(self.conns)
            threads = list(self.threads)
        for c in conns:
            self._close(c)
        for t in threads:
            t.join(2)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def reset(self, handler=None):
        """Forget recorded connections and set the handler (default:
        default_action for every request)."""
        with self.lock:
            self.conns = []
        self.handler = handler or (lambda req: None)
        self.missing_images = set()

    def default_action(self, req):
        path = urllib.parse.unquote(
            req.target.split(b"?")[0].decode("latin-1"))
        parts = path.split("/")
        if len(parts) > 1 and parts[1].startswith("v") and \
                parts[1][1:2].isdigit():
            path = "/" + "/".join(parts[2:])
        if req.method == b"GET" and path.startswith("/images/") and \
                path.endswith("/json"):
            ref = path[len("/images/"):-len("/json")]
            if ref in self.missing_images:
                return raw(json_response(404, {
                    "message": "No such image: %s" % ref}, b"Not Found"))
            repo = ref.split("@")[0]
            digests = [ref] if "@" in ref else []
            return raw(json_response(200, {
                "Id": IMAGE_ID, "RepoTags": [], "RepoDigests": digests,
                "Config": {"Labels": {}, "Env": []}, "Repo": repo}))
        if req.method == b"GET" and path.startswith("/containers/") and \
                path.endswith("/json") and path.count("/") == 3:
            # the container the fake created, from the fake's image
            return raw(json_response(200, {
                "Id": CONTAINER_ID, "Name": "/fake_name",
                "Image": IMAGE_ID}))
        if req.method == b"POST" and path == "/containers/create":
            return raw(CREATE_RESPONSE)
        return ok()

    # --- inspection -----------------------------------------------------
    def connections(self):
        with self.lock:
            return list(self.conns)

    def all_bytes(self):
        return b"".join(c.bytes() for c in self.connections())

    # The guard's engine monitor opens these on its own schedule; its
    # requests are recognised by their first bytes, so a connection whose
    # head is not parsed yet is never taken for client traffic.
    MONITOR_REQUESTS = (b"GET /version ", b"GET /events?",
                        b"GET /containers/json?all=1 ")

    def client_connections(self):
        """Connections carrying client traffic (not the guard's lookups)."""
        return [c for c in self.connections() if not c.internal and
                not c.bytes().startswith(self.MONITOR_REQUESTS)]

    def client_bytes(self):
        return b"".join(c.bytes() for c in self.client_connections())

    def lookups(self):
        return [r for c in self.connections() if c.internal
                for r in c.requests]

    def requests(self):
        """Client requests, in arrival order per connection."""
        return [r for c in self.client_connections() for r in c.requests]

    def wait_requests(self, n, timeout=5.0, complete=True):
        """Wait until n requests (with complete bodies) were received."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reqs = [r for r in self.requests() if r.complete or not complete]
            if len(reqs) >= n:
                return reqs
            time.sleep(0.01)
        raise AssertionError("fake engine got %d request(s), wanted %d: %r" %
                             (len(self.requests()), n, self.requests()))

    def quiesce(self, timeout=3.0, quiet=0.05):
        """Wait (bounded) until every connection is closed and no new one
        came for `quiet` seconds: the guard's late lookups (the container
        name after a create) then belong to the test that caused them."""
        deadline = time.monotonic() + timeout
        last_n, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            conns = self.connections()
            if len(conns) != last_n:
                last_n, since = len(conns), time.monotonic()
            if all(c.closed.is_set() for c in conns) and \
                    time.monotonic() - since >= quiet:
                return True
            time.sleep(0.01)
        return False

    def wait_conn(self, timeout=5.0):
        """The first connection carrying client traffic (the guard's
        monitor connections do not count)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conns = [c for c in self.connections() if c.bytes() and
                     not c.bytes().startswith(self.MONITOR_REQUESTS) and
                     not c.internal]
            if conns:
                return conns[0]
            time.sleep(0.01)
        raise AssertionError("the fake engine got no connection")

    # --- serving --------------------------------------------------------
    def _accept_loop(self):
        n = 0
        while not self.stopping:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(RECV_TIMEOUT)
            n += 1
            conn = Conn(sock, n)
            t = threading.Thread(target=self._serve, args=(conn,),
                                 name="fake-engine-%d" % n, daemon=True)
            with self.lock:
                self.conns.append(conn)
                self.threads = [x for x in self.threads if x.is_alive()]
                self.threads.append(t)
            t.start()

    def _close(self, conn):
        if conn.closed.is_set():
            return
        conn.closed.set()
        try:
            conn.sock.close()
        except OSError:
            pass

    def _serve(self, conn):
        try:
            while not self.stopping:
                try:
                    head = conn.read_head()
                except PeerGone:
                    return
                req = Request(head)
                if not conn.requests and \
                        req.get("user-agent") == b"docker-guard":
                    conn.internal = True
                conn.requests.append(req)
                action = self.handler(req) or self.default_action(req)
                if action.kind == "continue":
                    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                conn.read_body(req)
                if not self._answer(conn, req, action):
                    return
                conn_hdr = (req.get("connection") or b"").lower()
                if conn_hdr == b"close" or (
                        req.version == b"HTTP/1.0" and
                        conn_hdr != b"keep-alive"):
                    return
        except PeerGone:
            return
        except Exception as exc:  # noqa: BLE001 - recorded for the tests
            conn.error = exc
            self.errors.append(exc)
        finally:
            self._close(conn)

    def _answer(self, conn, req, action):
        """Answer one request.  Return False to close the connection."""
        k = action.kind
        if k in ("ok", "continue"):
            conn.send(OK_RESPONSE_FMT % req.target)
            return True
        if k == "raw":
            if action.delay:
                time.sleep(action.delay)
            conn.send(action.data)
            return not action.close_after
        if k == "chunked":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            for part in action.parts:
                time.sleep(action.pause)
                conn.send(part)
            return True
        if k == "stream":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            deadline = time.monotonic() + 30
            i = 0
            while time.monotonic() < deadline:
                i += 1
                line = b"log line %d\n" % i
                conn.send(b"%x\r\n%s\r\n" % (len(line), line))
                r, _, _ = select.select([conn.sock], [], [], action.pause)
                if r:
                    conn._recv()  # raises PeerGone on EOF
            return False
        if k == "slow":
            if action.event is not None:
                action.event.wait(30)
            if action.delay:
                time.sleep(action.delay)
            conn.send(OK_RESPONSE_FMT % req.target)
            return True
        if k == "never":
            conn.wait_gone()
            return False
        if k == "close":
            return False
        if k == "hijack":
            conn.send(HIJACK_HEAD)
            conn.echo_until_eof(action.trailer)
            return False
        if k == "hijack_engine_first":
            conn.send(HIJACK_HEAD + action.trailer)
            conn.sock.shutdown(socket.SHUT_WR)
            conn.wait_gone()
            return False
        if k == "rawstream":
            conn.send(RAWSTREAM_HEAD)
            conn.echo_until_eof(action.trailer)
            return False
        if k == "switch101":
            conn.send(HIJACK_HEAD)
            time.sleep(0.05)
            conn.send(action.data)
            conn.wait_gone()
            return False
        raise ValueError("unknown action %r" % k)
