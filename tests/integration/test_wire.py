"""Wire-level tests of docker-guard against a scripted fake engine.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_wire.py

Raw AF_UNIX sockets send exact bytes to the guard; the fake engine
(fake_engine.py) records every byte the guard forwards.  No dockerd needed.
Every socket has a timeout, every wait a deadline; processes are stopped by
the PID we started.
"""

import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_engine as fe  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN",
                           os.path.join(REPO, "build", "docker-guard"))
TIMEOUT = 5.0
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

if not os.access(GUARD_BIN, os.X_OK):
    pytest.skip("guard binary %s not built (ninja -C build)" % GUARD_BIN,
                allow_module_level=True)


# --------------------------------------------------------------------------
# the guard process
# --------------------------------------------------------------------------

class Guard:
    def __init__(self, tmp, name, upstream, config_text="", listen=None):
        self.tmp = tmp
        self.name = name
        self.listen = listen or os.path.join(tmp, name + ".sock")
        self.upstream = upstream
        self.database = os.path.join(tmp, name + ".db")
        self.config = os.path.join(tmp, name + ".conf")
        self.logpath = os.path.join(tmp, name + ".log")
        with open(self.config, "w") as fh:
            fh.write(config_text)
        self.proc = None
        self.stopped = False

    def argv(self):
        return [GUARD_BIN, "serve", "--listen", self.listen, "--upstream",
                self.upstream, "--database", self.database,
                "--config", self.config]

    def start(self, wait=True):
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("guard %s exited %s at start:\n%s" % (
                    self.name, self.proc.returncode, self.log_text()))
            try:
                s = connect(self.listen, 1.0)
                s.close()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("guard %s not listening after %ss:\n%s" % (
            self.name, timeout, self.log_text()))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=TIMEOUT):
        """SIGTERM by PID, SIGKILL if it lingers.  Returns the exit status."""
        if self.proc is None or self.stopped:
            return self.proc.returncode if self.proc else None
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.proc.kill()
                self.proc.wait(timeout)
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.logpath, "rb") as fh:
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""


# --------------------------------------------------------------------------
# raw HTTP helpers
# --------------------------------------------------------------------------

def connect(path, timeout=TIMEOUT):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def send_quietly(sock, data):
    """sendall, ignoring the guard closing on us (it may refuse early)."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


class Response:
    def __init__(self, raw_head, status, reason, headers, body, raw):
        self.raw_head = raw_head
        self.status = status
        self.reason = reason
        self.headers = headers      # [(name, value)] as sent
        self.body = body            # decoded
        self.raw = raw              # every byte of this response

    def get(self, name):
        vals = self.all(name)
        return vals[0] if vals else None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.raw[:300])


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False

    def _fill(self):
        if self.eof:
            raise EOFError("connection closed; have %r" % bytes(self.buf))
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            raise EOFError("connection closed; have %r" % bytes(self.buf))
        self.buf += chunk

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i + 2])
        del self.buf[:i + 2]
        return out

    def until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def rest(self, limit=64 * 1024 * 1024):
        """Everything up to EOF (bounded by the socket timeout)."""
        while not self.eof and len(self.buf) < limit:
            try:
                self._fill()
            except EOFError:
                break
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def response(self, method=b"GET"):
        head = self.until(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        version, status, reason = (lines[0].split(b" ", 2) + [b""])[:3]
        assert version in (b"HTTP/1.1", b"HTTP/1.0"), head
        status = int(status)
        headers = []
        for line in lines[1:]:
            n, _, v = line.partition(b":")
            headers.append((n.decode("latin-1"), v.strip().decode("latin-1")))
        r = Response(head, status, reason, headers, b"", head)
        te = r.get("Transfer-Encoding")
        cl = r.get("Content-Length")
        if status < 200 or status in (204, 304) or method == b"HEAD":
            return r
        if te is not None and te.lower() == "chunked":
            raw, body = [], []
            while True:
                sl = self.line()
                raw.append(sl)
                size = int(sl[:-2].split(b";")[0], 16)
                if size == 0:
                    while True:
                        t = self.line()
                        raw.append(t)
                        if t == b"\r\n":
                            break
                    break
                d = self.exact(size + 2)
                raw.append(d)
                body.append(d[:-2])
            r.body = b"".join(body)
            r.raw = head + b"".join(raw)
        elif cl is not None:
            r.body = self.exact(int(cl))
            r.raw = head + r.body
        else:
            r.body = self.rest()
            r.raw = head + r.body
        return r


def req(method, target, headers=(), body=b"", version=b"HTTP/1.1",
        host=True):
    """Build request bytes.  headers: list of (name, value) bytes/str."""
    def b(x):
        return x.encode() if isinstance(x, str) else x
    out = [b"%s %s %s\r\n" % (b(method), b(target), b(version))]
    if host:
        out.append(b"Host: docker\r\n")
    for n, v in headers:
        out.append(b"%s: %s\r\n" % (b(n), b(v)))
    out.append(b"\r\n")
    return b"".join(out) + b(body)


def ping(target=b"/_ping"):
    return req(b"GET", target)


def ok_bytes(target):
    return fe.OK_RESPONSE_FMT % target


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def chunked_body(*parts):
    return b"".join(chunk(p) for p in parts) + b"0\r\n\r\n"


def create_req(body, ctype=b"application/json", extra=(), chunked=False,
               target=b"/v1.41/containers/create"):
    headers = []
    if ctype is not None:
        headers.append((b"Content-Type", ctype))
    headers += list(extra)
    if chunked:
        headers.append((b"Transfer-Encoding", b"chunked"))
        return req(b"POST", target, headers, chunked_body(body))
    headers.append((b"Content-Length", b"%d" % len(body)))
    return req(b"POST", target, headers, body)


def exchange(path, data, method=b"GET"):
    """One request on a fresh connection; returns (Response, rest-to-EOF)."""
    s = connect(path)
    try:
        send_quietly(s, data)
        r = Reader(s)
        resp = r.response(method)
        return resp, r
    except BaseException:
        s.close()
        raise


def wait_until(pred, timeout=TIMEOUT, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def assert_refusal(resp, status):
    """A guard refusal: status, exact Content-Type, JSON message, close."""
    assert resp.status == status, resp
    assert resp.all("Content-Type") == ["application/json"], resp
    body = resp.json()
    assert list(body) == ["message"], body
    assert body["message"].startswith("docker-guard: "), body
    # deny.c's fallback for a message that is not UTF-8: every message
    # the guard means to send is ASCII, so seeing it means corruption.
    assert "(message was not UTF-8)" not in body["message"], body
    return body["message"]


def assert_closing_refusal(resp, reader, status):
    msg = assert_refusal(resp, status)
    assert resp.all("Connection") == ["close"], resp
    assert reader.rest() == b"", "bytes after a refusal with close"
    assert reader.eof, "the guard did not close after Connection: close"
    return msg


# The guard's engine monitor (version, event stream, first sync) talks to
# the engine on its own schedule; those connections are not about the
# request under test.
MONITOR_REQUESTS = (b"GET /version ", b"GET /events?", b"GET /containers/json?all=1 ")


def request_connections(engine):
    # A connection with no bytes yet is the monitor's, just opened: the
    # guard writes a request as soon as it connects for a client.
    return [c for c in engine.connections()
            if c.bytes() and not c.bytes().startswith(MONITOR_REQUESTS)]


def assert_engine_untouched(engine, settle=0.15):
    """Not a byte of the request reached the engine, not even a guard
    lookup made for it."""
    time.sleep(settle)
    conns = request_connections(engine)
    data = b"".join(c.bytes() for c in conns)
    assert data == b"", data[:300]
    assert conns == [], "the guard connected to the engine"


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tmp():
    d = tempfile.mkdtemp(prefix="dgw-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def engine(tmp):
    e = fe.FakeEngine(os.path.join(tmp, "engine.sock")).start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def guard(tmp, engine):
    # The wire, not the registry: busybox@sha256 is on docker.io, which
    # cannot be asked here, and every create would carry that warning.
    g = Guard(tmp, "g0", engine.path, "registry_presence = off\n").start()
    yield g
    alive = g.alive()
    rc = g.stop()
    assert alive, "guard died (rc %s):\n%s" % (rc, g.log_text()[-4000:])
    assert rc == 0, "guard exited %s on SIGTERM:\n%s" % (
        rc, g.log_text()[-4000:])


@pytest.fixture(autouse=True)
def _fresh_engine_and_live_guard(request, engine):
    engine.reset()
    yield
    engine.quiesce()
    errors, engine.errors = engine.errors, []
    engine.reset()
    assert errors == [], "fake engine errors: %r" % errors
    if "guard" in request.fixturenames:
        g = request.getfixturevalue("guard")
        assert g.alive(), "guard died during the test (rc %s):\n%s" % (
            g.proc.returncode, g.log_text()[-4000:])


@pytest.fixture
def guards(tmp, engine):
    """Start extra guards; each is stopped by PID after the test."""
    started = []
    counter = [0]

    def factory(config_text="", upstream=None, listen=None, wait=True):
        counter[0] += 1
        g = Guard(tmp, "x%d_%d" % (os.getpid(), counter[0]),
                  upstream or engine.path, config_text, listen=listen)
        started.append(g)
        return g.start(wait=wait)

    yield factory
    for g in started:
        g.stop()


@pytest.fixture
def client(guard):
    socks = []

    def factory():
        s = connect(guard.listen)
        socks.append(s)
        return s, Reader(s)

    yield factory
    for s in socks:
        s.close()


# --------------------------------------------------------------------------
# framing passthrough
# --------------------------------------------------------------------------

def test_socket_mode_is_0660(guard):
    st = os.stat(guard.listen)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


def test_keep_alive_two_requests_in_order(guard, engine, client):
    s, r = client()
    r1 = req(b"GET", b"/v1.41/containers/json?all=1",
             [(b"User-Agent", b"wire-test/1")])
    r2 = req(b"GET", b"/v1.41/info")
    s.sendall(r1)
    a = r.response()
    assert a.raw == ok_bytes(b"/v1.41/containers/json?all=1")
    s.sendall(r2)
    b = r.response()
    assert b.raw == ok_bytes(b"/v1.41/info")
    conns = engine.client_connections()
    assert len(conns) == 1, "keep-alive should reuse one engine connection"
    assert conns[0].bytes() == r1 + r2


@pytest.mark.parametrize("n", [2, 10])
def test_pipelined_requests_in_one_send(guard, engine, client, n):
    s, r = client()
    reqs = [req(b"GET", b"/v1.41/containers/c%d/top" % i,
                [(b"X-Seq", b"%d" % i)]) for i in range(n)]
    s.sendall(b"".join(reqs))
    for i in range(n):
        resp = r.response()
        assert resp.raw == ok_bytes(b"/v1.41/containers/c%d/top" % i), i
    assert engine.client_bytes() == b"".join(reqs)
    got = engine.requests()
    assert [x.target for x in got] == [
        b"/v1.41/containers/c%d/top" % i for i in range(n)]


def test_pipelined_posts_with_bodies(guard, engine, client):
    bodies = [b"x" * 10, b"", b"y" * 3000]
    reqs = [req(b"POST", b"/v1.41/images/load",
                [(b"Content-Length", b"%d" % len(bd))], bd) for bd in bodies]
    s, r = client()
    s.sendall(b"".join(reqs))
    for _ in bodies:
        assert r.response().status == 200
    assert engine.client_bytes() == b"".join(reqs)
    assert [x.body for x in engine.requests()] == bodies


def test_chunked_request_body_passthrough(guard, engine, client):
    s, r = client()
    head = req(b"POST", b"/v1.41/images/load?quiet=1",
               [(b"Content-Type", b"application/x-tar"),
                (b"Transfer-Encoding", b"chunked")])
    body = (chunk(b"hello") + b"1A;name=value\r\n" + b"z" * 26 + b"\r\n" +
            chunk(b"\x00\r\n\xff" * 100) + b"0\r\n\r\n")
    s.sendall(head)
    for i in range(0, len(body), 7):
        s.sendall(body[i:i + 7])
        if i % 70 == 0:
            time.sleep(0.01)
    assert r.response().raw == ok_bytes(b"/v1.41/images/load?quiet=1")
    # The end of the chunked body was found: the connection goes on.
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")
    assert engine.client_connections()[0].bytes() == head + body + ping()
    assert engine.requests()[0].body == (b"hello" + b"z" * 26 +
                                         b"\x00\r\n\xff" * 100)


def test_chunked_request_with_trailer_passthrough(guard, engine, client):
    s, r = client()
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Transfer-Encoding", b"chunked")])
    body = chunk(b"abc") + b"0\r\nX-Checksum: 1234\r\n\r\n"
    s.sendall(head + body)
    assert r.response().status == 200
    s.sendall(ping())
    assert r.response().status == 200
    assert engine.client_bytes() == head + body + ping()


def test_chunked_response_passthrough(guard, engine, client):
    parts = [b"5\r\nhello\r\n", b"6;x=y\r\n", b" world\r\n",
             b"1", b"0\r\n" + b"0123456789abcdef" + b"\r\n", b"0\r\n\r\n"]

    def handler(rq):
        if rq.target.endswith(b"/logs"):
            return fe.chunked(parts, pause=0.05)
        return fe.ok()
    engine.reset(handler)
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/containers/x/logs"))
    resp = r.response()
    assert resp.raw == (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n" +
                        b"".join(parts))
    assert resp.body == b"hello world0123456789abcdef"
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_content_length_body_split_with_pauses(guard, engine, client):
    body = bytes(range(256)) * 12
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Content-Type", b"application/x-tar"),
                (b"Content-Length", b"%d" % len(body))])
    s, r = client()
    s.sendall(head[:10])
    time.sleep(0.1)
    s.sendall(head[10:])
    for i in range(0, len(body), 1000):
        time.sleep(0.1)
        s.sendall(body[i:i + 1000])
    assert r.response().raw == ok_bytes(b"/v1.41/images/load")
    assert engine.client_bytes() == head + body
    assert engine.requests()[0].body == body


def test_expect_100_continue_passthrough(guard, engine, client):
    engine.reset(lambda rq: fe.cont())
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Content-Length", b"5"), (b"Expect", b"100-continue")])
    s, r = client()
    s.sendall(head)
    interim = r.response()
    assert interim.raw == CONTINUE
    s.sendall(b"hello")
    assert r.response().raw == ok_bytes(b"/v1.41/images/load")
    assert engine.client_bytes() == head + b"hello"


def test_head_response_has_no_body(guard, engine, client):
    engine.reset(lambda rq: fe.raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\n")
        if rq.method == b"HEAD" else fe.ok())
    s, r = client()
    s.sendall(req(b"HEAD", b"/_ping"))
    resp = r.response(method=b"HEAD")
    assert resp.raw == (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                        b"Api-Version: 1.41\r\n\r\n")
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_204_response_keeps_connection(guard, engine, client):
    engine.reset(lambda rq: fe.raw(b"HTTP/1.1 204 No Content\r\n\r\n")
                 if rq.target.endswith(b"/start") else fe.ok())
    s, r = client()
    s.sendall(req(b"POST", b"/v1.41/containers/x/start"))
    assert r.response().raw == b"HTTP/1.1 204 No Content\r\n\r\n"
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_engine_connection_close_response_closes_client(guard, engine,
                                                        client):
    answer = (b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
              b"Content-Length: 3\r\n\r\nbye")
    engine.reset(lambda rq: fe.raw(answer, close=True))
    s, r = client()
    s.sendall(ping())
    assert r.response().raw == answer
    assert r.rest() == b"" and r.eof


def test_engine_closes_idle_connection_then_reconnect(guard, engine, client):
    engine.reset(lambda rq: fe.raw(ok_bytes(rq.target), close=True))
    s, r = client()
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")
    first = engine.client_connections()[0]
    assert first.closed.wait(TIMEOUT)
    time.sleep(0.2)
    s.sendall(req(b"GET", b"/v1.41/version"))
    assert r.response().raw == ok_bytes(b"/v1.41/version")
    conns = engine.client_connections()
    assert len(conns) == 2
    assert conns[1].bytes() == req(b"GET", b"/v1.41/version")


def test_until_close_response_on_plain_route(guard, engine, client):
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body"
    engine.reset(lambda rq: fe.raw(answer, close=True))
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/containers/json"))
    assert r.rest() == answer
    assert r.eof


def test_large_response_with_slow_reader(guard, engine, client):
    body = bytes(random.Random(7).randrange(256) for _ in range(4096)) * 2048
    engine.reset(lambda rq: fe.raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body))
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/images/get?names=x"))
    time.sleep(0.5)   # let the guard's buffers fill: backpressure
    resp = r.response()
    assert len(resp.body) == len(body) and resp.body == body
    s.sendall(ping())
    assert r.response().status == 200


def test_large_request_body_streamed(guard, engine, client):
    body = bytes(random.Random(8).randrange(256) for _ in range(4096)) * 2048
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Content-Length", b"%d" % len(body))])
    s, r = client()
    s.sendall(head + body)
    assert r.response().raw == ok_bytes(b"/v1.41/images/load")
    got = engine.requests()[0]
    assert got.head == head and got.body == body


# Long bodies sent in pieces, with pauses, so that the guard meets each
# chunk boundary and the body's end with nothing buffered; the bytes after
# a body (the next request) must stay the next request's.

def chunk_frames(data, size):
    return [b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size])
            for i in range(0, len(data), size)]


def send_in_pieces(s, frames, cut=10, pause=0.02):
    for f in frames:
        s.sendall(f[:cut])
        time.sleep(pause)
        s.sendall(f[cut:])
        time.sleep(pause)


def test_big_chunks_request_then_pipelined_request(guard, engine, client):
    body = random.Random(11).randbytes(600 * 1024)
    frames = chunk_frames(body, 96 * 1024 + 3)
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Transfer-Encoding", b"chunked")])
    s, r = client()
    s.sendall(head)
    send_in_pieces(s, frames)
    # the body's end and the next request in one write
    s.sendall(b"0\r\n\r\n" + ping())
    assert r.response().raw == ok_bytes(b"/v1.41/images/load")
    assert r.response().raw == ok_bytes(b"/_ping")
    got = engine.requests()
    assert [g.target for g in got] == [b"/v1.41/images/load", b"/_ping"]
    assert got[0].head == head and got[0].body == body
    assert got[0].body_raw == b"".join(frames) + b"0\r\n\r\n"
    assert got[1].head == ping()


def test_length_body_in_pieces_then_pipelined_request(guard, engine, client):
    body = random.Random(12).randbytes(300 * 1024 + 5)
    head = req(b"PUT", b"/v1.41/containers/x/archive?path=/tmp",
               [(b"Content-Length", b"%d" % len(body))])
    s, r = client()
    s.sendall(head + body[:10])
    time.sleep(0.05)
    # the rest of the body and the next request in one write: the guard
    # must take exactly the body's bytes by splice, not the request after
    s.sendall(body[10:] + ping())
    assert r.response().raw == ok_bytes(b"/v1.41/containers/x/archive?path=/tmp")
    assert r.response().raw == ok_bytes(b"/_ping")
    got = engine.requests()
    assert got[0].head == head and got[0].body == body
    assert got[1].head == ping()


def test_big_chunks_response_exact(guard, engine, client):
    body = random.Random(13).randbytes(500 * 1024)
    frames = chunk_frames(body, 64 * 1024 + 1)
    parts = [p for f in frames for p in (f[:9], f[9:])] + [b"0\r\n\r\n"]
    engine.reset(lambda rq: fe.chunked(parts, pause=0.02)
                 if rq.target.startswith(b"/v1.41/images/get") else None)
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/images/get?names=x"))
    resp = r.response()
    assert resp.raw == resp.raw_head + b"".join(frames) + b"0\r\n\r\n"
    assert resp.body == body
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_length_response_cut_short_closes_client(guard, engine, client):
    sent = random.Random(14).randbytes(200 * 1024)
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 20)
    engine.reset(lambda rq: fe.raw(head + sent, close=True)
                 if b"/archive" in rq.target else None)
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/containers/x/archive?path=/"))
    got = r.rest()
    assert r.eof and got == head + sent
    s2, r2 = client()
    s2.sendall(ping())
    assert r2.response().raw == ok_bytes(b"/_ping")


def test_client_gone_mid_length_body_drops_engine(guard, engine, client):
    body = random.Random(15).randbytes(256 * 1024)
    head = req(b"POST", b"/v1.41/images/load",
               [(b"Content-Length", b"%d" % (1 << 20))])
    engine.reset(lambda rq: fe.never()
                 if rq.target == b"/v1.41/images/load" else None)
    s, r = client()
    s.sendall(head + body[:100])
    time.sleep(0.05)
    s.sendall(body[100:])
    time.sleep(0.05)
    s.close()
    conn = engine.client_connections()[0]
    assert conn.closed.wait(TIMEOUT), "the engine's connection outlived the client"
    assert conn.bytes() == head + body
    s2, r2 = client()
    s2.sendall(ping())
    assert r2.response().raw == ok_bytes(b"/_ping")


def test_http10_request_closes_after_response(guard, engine):
    data = b"GET /_ping HTTP/1.0\r\n\r\n"
    resp, r = exchange(guard.listen, data)
    try:
        assert resp.raw == ok_bytes(b"/_ping")
        assert r.rest() == b"" and r.eof
    finally:
        r.sock.close()
    assert engine.client_bytes() == data


def test_connection_close_request_closes_after_response(guard, engine):
    data = req(b"GET", b"/_ping", [(b"Connection", b"close")])
    resp, r = exchange(guard.listen, data + ping())
    try:
        assert resp.raw == ok_bytes(b"/_ping")
        assert r.rest() == b"" and r.eof
    finally:
        r.sock.close()
    time.sleep(0.1)
    assert engine.client_bytes() == data


@pytest.mark.parametrize("kind", ["ping", "create", "partial_next"])
def test_client_half_close_after_request_still_answered(guard, engine, kind):
    """printf 'GET ...' | socat - UNIX-CONNECT:...: the request is complete
    and the client shuts its write side; the response must still arrive.
    The engine answers after 100 ms, so the guard sees the EOF first."""
    engine.reset(lambda rq: fe.slow(delay=0.1)
                 if rq.get("user-agent") != b"docker-guard" and
                 rq.target == b"/_ping" else None)
    data = {"ping": ping(), "create": create_req(GOOD_CREATE),
            # A complete request, then the start of another, then EOF.
            "partial_next": ping() + b"GET /_pi"}[kind]
    want = CREATED if kind == "create" else ok_bytes(b"/_ping")
    if kind == "create":
        engine.reset(lambda rq: fe.Action("raw", data=CREATED, delay=0.1)
                     if rq.method == b"POST" else None)
    s = connect(guard.listen)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        r = Reader(s)
        got = r.rest()
        assert got == want, "response lost after client half-close"
        assert r.eof
    finally:
        s.close()


def test_malformed_chunked_passthrough_body_closes(guard, engine):
    head = req(b"POST", b"/v1.41/images/load", [(b"Transfer-Encoding", b"chunked")])
    engine.reset(lambda rq: fe.never())
    s = connect(guard.listen)
    try:
        s.sendall(head + chunk(b"abc") + b"zz\r\nxx\r\n0\r\n\r\n")
        r = Reader(s)
        got = r.rest()
        assert r.eof and b"200 OK" not in got
    finally:
        s.close()
    conn = engine.wait_conn()
    assert conn.gone.wait(TIMEOUT), "engine connection left open"
    assert b"zz" not in conn.bytes()


def test_pipelined_create_then_ping(guard, engine, client):
    c = create_req(GOOD_CREATE, chunked=True)
    s, r = client()
    s.sendall(c + ping() + create_req(GOOD_CREATE) + ping())
    for want in (CREATED, ok_bytes(b"/_ping"), CREATED,
                 ok_bytes(b"/_ping")):
        assert r.response().raw == want
    got = engine.requests()
    assert [x.target for x in got] == [b"/v1.41/containers/create",
                                       b"/_ping",
                                       b"/v1.41/containers/create",
                                       b"/_ping"]
    assert got[0].body_raw == GOOD_CREATE and got[2].body_raw == GOOD_CREATE


# --------------------------------------------------------------------------
# hijack
# --------------------------------------------------------------------------

def _relay_and_half_close(engine, s, r, sent_head, head_expected):
    assert r.until(b"\r\n\r\n") == head_expected
    conn = engine.client_connections()[0]
    sent = b""
    for msg in (b"ping\n", b"\x00\x01\x02binary\xff", b"x" * 70000):
        s.sendall(msg)
        sent += msg
        assert r.exact(len(msg)) == msg
    s.shutdown(socket.SHUT_WR)
    assert conn.eof.wait(TIMEOUT), "client EOF did not reach the engine"
    assert r.rest() == fe.TRAILER, "trailing engine output lost"
    assert r.eof
    assert conn.bytes() == sent_head + sent


def test_hijack_exec_start_101_half_close(guard, engine, client):
    engine.reset(lambda rq: fe.hijack() if rq.target.endswith(b"/start")
                 else fe.ok())
    body = b'{"Detach":false,"Tty":false}'
    head = req(b"POST", b"/v1.41/exec/x/start",
               [(b"Content-Type", b"application/json"),
                (b"Connection", b"Upgrade"), (b"Upgrade", b"tcp"),
                (b"Content-Length", b"%d" % len(body))], body)
    s, r = client()
    s.sendall(head)
    _relay_and_half_close(engine, s, r, head, fe.HIJACK_HEAD)


def test_hijack_attach_200_raw_stream_half_close(guard, engine, client):
    engine.reset(lambda rq: fe.rawstream() if b"/attach" in rq.target
                 else fe.ok())
    head = req(b"POST",
               b"/v1.41/containers/x/attach?stream=1&stdin=1&stdout=1")
    s, r = client()
    s.sendall(head)
    _relay_and_half_close(engine, s, r, head, fe.RAWSTREAM_HEAD)


def test_hijack_client_bytes_sent_before_101(guard, engine, client):
    engine.reset(lambda rq: fe.hijack())
    head = req(b"POST", b"/v1.41/exec/x/start",
               [(b"Connection", b"Upgrade"), (b"Upgrade", b"tcp")])
    s, r = client()
    s.sendall(head + b"early bytes\n")
    assert r.until(b"\r\n\r\n") == fe.HIJACK_HEAD
    assert r.exact(12) == b"early bytes\n"
    s.shutdown(socket.SHUT_WR)
    assert r.rest() == fe.TRAILER and r.eof


def test_hijack_engine_closes_first(guard, engine, client):
    """The engine's output ends (SHUT_WR) while stdin is still open: the
    client sees EOF, and can still send until it shuts down too."""
    engine.reset(lambda rq: fe.hijack(engine_first=True))
    head = req(b"POST", b"/v1.41/containers/x/attach?stream=1&stdin=1",
               [(b"Connection", b"Upgrade"), (b"Upgrade", b"tcp")])
    s, r = client()
    s.sendall(head)
    assert r.until(b"\r\n\r\n") == fe.HIJACK_HEAD
    assert r.rest() == fe.TRAILER and r.eof
    conn = engine.client_connections()[0]
    s.sendall(b"stdin after engine EOF\n")
    s.shutdown(socket.SHUT_WR)
    assert conn.eof.wait(TIMEOUT), "client EOF not passed on"
    assert conn.bytes() == head + b"stdin after engine EOF\n"


def test_exec_start_detached_200_with_length_is_not_hijack(guard, engine,
                                                           client):
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    engine.reset(lambda rq: fe.raw(answer) if rq.target.endswith(b"/start")
                 else fe.ok())
    body = b'{"Detach":true}'
    s, r = client()
    s.sendall(req(b"POST", b"/v1.41/exec/x/start",
                  [(b"Content-Type", b"application/json"),
                   (b"Content-Length", b"%d" % len(body))], body))
    assert r.response().raw == answer
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_101_on_non_hijack_route_is_not_relayed(guard, engine, client):
    engine.reset(lambda rq: fe.switch101())
    s, r = client()
    s.sendall(req(b"GET", b"/v1.41/containers/json"))
    got = r.rest()
    assert r.eof, "the guard kept the connection after a stray 101"
    assert b"raw bytes after a 101" not in got
    assert got == b"", got
    conn = engine.client_connections()[0]
    assert conn.gone.wait(TIMEOUT), "engine connection left open"


# --------------------------------------------------------------------------
# smuggling and ambiguity: refused before the engine
# --------------------------------------------------------------------------

BAD_HEADS = [
    ("cl_and_te", 400,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two_content_lengths", 400,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("content_length_list", 400,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Content-Length: 5, 5\r\n\r\nhello"),
    ("content_length_plus", 400,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Content-Length: +5\r\n\r\nhello"),
    ("te_gzip_chunked", 501,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("te_unknown", 501,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Transfer-Encoding: identity\r\n\r\n"),
    ("te_duplicate_headers", 501,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n"),
    ("te_on_http10", 400,
     b"POST /v1.41/images/load HTTP/1.0\r\nHost: docker\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("bare_lf", 400, b"GET /_ping HTTP/1.1\nHost: docker\n\n"),
    ("bare_lf_in_header", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\nX-A: b\r\n\r\n"),
    ("bare_cr", 400, b"GET /_ping HTTP/1.1\r\nHost: docker\rX-A: b\r\n\r\n"),
    ("obs_fold", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-A: a\r\n b\r\n\r\n"),
    ("obs_fold_tab", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-A: a\r\n\tb\r\n\r\n"),
    ("space_before_colon", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-A : b\r\n\r\n"),
    ("space_before_colon_te", 400,
     b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
     b"Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc"),
    ("invalid_name_char", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX(A): b\r\n\r\n"),
    ("empty_name", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\n: b\r\n\r\n"),
    ("nul_in_value", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-A: a\x00b\r\n\r\n"),
    ("nul_in_target", 400, b"GET /_p\x00ing HTTP/1.1\r\nHost: docker\r\n\r\n"),
    ("ctl_in_value", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-A: a\x01b\r\n\r\n"),
    ("missing_host", 400, b"GET /_ping HTTP/1.1\r\nUser-Agent: x\r\n\r\n"),
    ("two_hosts", 400,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nHost: other\r\n\r\n"),
    ("absolute_form", 400,
     b"GET http://x/_ping HTTP/1.1\r\nHost: docker\r\n\r\n"),
    ("asterisk_form", 400, b"OPTIONS * HTTP/1.1\r\nHost: docker\r\n\r\n"),
    ("http2_version", 505, b"GET /_ping HTTP/2.0\r\nHost: docker\r\n\r\n"),
    ("request_line_extra_space", 400,
     b"GET  /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"),
    ("head_over_64k", 431,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Big: " + b"a" * 70000 +
     b"\r\n\r\n"),
    ("head_over_64k_unterminated", 431,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Big: " + b"a" * 70000),
    ("over_100_headers", 431,
     b"GET /_ping HTTP/1.1\r\nHost: docker\r\n" +
     b"".join(b"X-H%d: v\r\n" % i for i in range(100)) + b"\r\n"),
]


@pytest.mark.parametrize("name,status,data", BAD_HEADS,
                         ids=[x[0] for x in BAD_HEADS])
def test_ambiguous_request_refused_before_engine(guard, engine, name, status,
                                                 data):
    resp, r = exchange(guard.listen, data)
    try:
        assert_closing_refusal(resp, r, status)
    finally:
        r.sock.close()
    assert_engine_untouched(engine)


def test_exactly_100_headers_accepted(guard, engine):
    data = (b"GET /_ping HTTP/1.1\r\nHost: docker\r\n" +
            b"".join(b"X-H%d: v\r\n" % i for i in range(99)) + b"\r\n")
    resp, r = exchange(guard.listen, data)
    r.sock.close()
    assert resp.raw == ok_bytes(b"/_ping")
    assert engine.client_bytes() == data


def test_refusal_after_good_request_on_same_connection(guard, engine, client):
    """A smuggled second request on a keep-alive connection never leaves."""
    s, r = client()
    good = ping()
    bad = (b"POST /v1.41/images/load HTTP/1.1\r\nHost: docker\r\n"
           b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"0\r\n\r\nGET /v1.41/containers/json HTTP/1.1\r\n"
           b"Host: docker\r\n\r\n")
    s.sendall(good + bad)
    assert r.response().raw == ok_bytes(b"/_ping")
    assert_closing_refusal(r.response(), r, 400)
    time.sleep(0.1)
    assert engine.client_bytes() == good


# --------------------------------------------------------------------------
# path ambiguity
# --------------------------------------------------------------------------

BAD_PATHS = [
    b"//containers/create",
    b"/v1.41//containers/create",
    b"/containers/./create",
    b"/containers/x/../create",
    b"/containers/create/",
    b"/v1.41/containers/create/",
    b"/containers%2F%2Fcreate",
    b"/containers%2f.%2fcreate",
    b"/containers/create%00",
    b"/containers%00/create",
    b"/containers/create%zz",
    b"/containers/create%2",
    b"/containers/create#frag",
    b"/containers/create?name=a#frag",
]


@pytest.mark.parametrize("target", BAD_PATHS,
                         ids=[t.decode() for t in BAD_PATHS])
def test_ambiguous_path_refused(guard, engine, target):
    body = b'{"Image":"busybox"}'
    data = create_req(body, target=target)
    resp, r = exchange(guard.listen, data)
    try:
        assert_closing_refusal(resp, r, 400)
    finally:
        r.sock.close()
    assert_engine_untouched(engine)


def test_encoded_slash_create_is_guarded(guard, engine, client):
    """/containers%2Fcreate decodes to /containers/create: the body is read
    whole and forwarded with Content-Length, even when sent chunked."""
    body = b'{"Image":"' + PINNED + b'"}'
    data = create_req(body, chunked=True, target=b"/containers%2Fcreate")
    s, r = client()
    s.sendall(data)
    assert r.response().raw == CREATED
    got = engine.requests()[0]
    assert got.target == b"/containers%2Fcreate"
    assert got.all("Content-Length") == [b"%d" % len(body)]
    assert got.all("Transfer-Encoding") == []
    assert got.body_raw == body


def test_encoded_slash_create_bad_json_refused(guard, engine, client):
    """Proof that %2F-create is inspected: a duplicate Image key is
    refused without reaching the engine."""
    body = b'{"Image":"a","image":"b"}'
    s, r = client()
    s.sendall(create_req(body, target=b"/containers%2Fcreate"))
    msg = assert_refusal(r.response(), 400)
    assert "refusing to create a container" in msg, msg
    assert_engine_untouched(engine)


# --------------------------------------------------------------------------
# guarded create bodies
# --------------------------------------------------------------------------

DIGEST = b"sha256:" + b"a" * 64
PINNED = b"busybox@" + DIGEST
GOOD_CREATE = (b'{"Image":"' + PINNED +
               b'","Cmd":["echo","hi"],"Labels":{"a":"b"}}')
CREATED = fe.CREATE_RESPONSE


def test_create_chunked_is_dechunked_with_content_length(guard, engine,
                                                         client):
    target = b"/v1.41/containers/create?name=web"
    head = req(b"POST", target,
               [(b"Content-Type", b"application/json"),
                (b"User-Agent", b"wire/1"),
                (b"Transfer-Encoding", b"chunked")])
    body = chunk(GOOD_CREATE[:10]) + chunk(GOOD_CREATE[10:]) + b"0\r\n\r\n"
    s, r = client()
    s.sendall(head + body)
    assert r.response().raw == CREATED
    got = engine.requests()[0]
    assert got.all("Transfer-Encoding") == []
    assert got.all("Content-Length") == [b"%d" % len(GOOD_CREATE)]
    assert got.body_raw == GOOD_CREATE
    # Other header lines pass unchanged, in order.
    assert got.head == (b"POST " + target + b" HTTP/1.1\r\nHost: docker\r\n"
                        b"Content-Type: application/json\r\n"
                        b"User-Agent: wire/1\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(GOOD_CREATE))
    assert engine.client_bytes() == got.head + GOOD_CREATE


def test_create_content_length_forwarded_exactly(guard, engine, client):
    data = create_req(GOOD_CREATE)
    s, r = client()
    s.sendall(data)
    assert r.response().raw == CREATED
    assert engine.client_bytes() == data


def test_create_body_split_with_pauses(guard, engine, client):
    data = create_req(GOOD_CREATE)
    s, r = client()
    for i in range(0, len(data), 25):
        s.sendall(data[i:i + 25])
        time.sleep(0.05)
    assert r.response().raw == CREATED
    assert engine.client_bytes() == data


def test_create_chunked_answer_reframed_by_length(guard, engine, client):
    """The guard reads a create's answer whole (to learn the new ID) and
    sends it on framed by Content-Length, body unchanged."""
    answer_body = fe.CREATE_BODY
    chunked_answer = (b"HTTP/1.1 201 Created\r\nContent-Type: "
                      b"application/json\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n" + chunk(answer_body[:20]) +
                      chunk(answer_body[20:]) + b"0\r\n\r\n")
    engine.reset(lambda rq: fe.raw(chunked_answer) if rq.method == b"POST"
                 else None)
    s, r = client()
    s.sendall(create_req(GOOD_CREATE))
    assert r.response().raw == CREATED
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")


def test_create_over_body_limit_content_length_413(guard, engine):
    body = b'{"Image":"busybox","Env":["' + b"a" * (1024 * 1024) + b'"]}'
    resp, r = exchange(guard.listen, create_req(body))
    try:
        assert_closing_refusal(resp, r, 413)
    finally:
        r.sock.close()
    assert_engine_untouched(engine)


def test_create_over_body_limit_chunked_413(guard, engine):
    body = b'{"Image":"busybox","Env":["' + b"a" * (1024 * 1024) + b'"]}'
    head = req(b"POST", b"/v1.41/containers/create",
               [(b"Content-Type", b"application/json"),
                (b"Transfer-Encoding", b"chunked")])
    data = head + b"".join(chunk(body[i:i + 65536])
                           for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    s = connect(guard.listen)
    try:
        r = Reader(s)
        send_quietly(s, data)
        assert_closing_refusal(r.response(), r, 413)
    finally:
        s.close()
    assert_engine_untouched(engine)


def test_create_malformed_chunked_body_400(guard, engine):
    head = req(b"POST", b"/v1.41/containers/create",
               [(b"Content-Type", b"application/json"),
                (b"Transfer-Encoding", b"chunked")])
    data = head + b"5 \r\n{\"Ima\r\n0\r\n\r\n"
    resp, r = exchange(guard.listen, data)
    try:
        msg = assert_closing_refusal(resp, r, 400)
    finally:
        r.sock.close()
    assert "chunked" in msg, msg
    assert_engine_untouched(engine)


def test_create_exactly_body_limit_accepted(guard, engine, client):
    pad = 1024 * 1024 - len(b'{"Image":"' + PINNED + b'","Env":[""]}')
    body = b'{"Image":"' + PINNED + b'","Env":["' + b"a" * pad + b'"]}'
    assert len(body) == 1024 * 1024
    s, r = client()
    s.sendall(create_req(body, chunked=True))
    assert r.response().raw == CREATED
    assert engine.requests()[0].body_raw == body


@pytest.mark.parametrize("ctype", [b"text/plain", b"application/jsonx",
                                   b"application/x-www-form-urlencoded"])
def test_create_non_json_content_type_400(guard, engine, client, ctype):
    s, r = client()
    s.sendall(create_req(GOOD_CREATE, ctype=ctype))
    msg = assert_refusal(r.response(), 400)
    assert msg == ("docker-guard: refusing to create a container: "
                   "Content-Type \"%s\" must be application/json" %
                   ctype.decode()), msg
    assert_engine_untouched(engine)


def test_create_missing_content_type_400(guard, engine, client):
    s, r = client()
    s.sendall(create_req(GOOD_CREATE, ctype=None))
    msg = assert_refusal(r.response(), 400)
    assert msg == ("docker-guard: refusing to create a container: "
                   "Content-Type (none) must be application/json"), msg
    assert_engine_untouched(engine)


@pytest.mark.parametrize("ctype", [b"application/json; charset=utf-8",
                                   b"Application/JSON"])
def test_create_json_content_type_variants_accepted(guard, engine, client,
                                                    ctype):
    data = create_req(GOOD_CREATE, ctype=ctype)
    s, r = client()
    s.sendall(data)
    assert r.response().raw == CREATED
    assert engine.client_bytes() == data


@pytest.mark.parametrize("body", [
    b'{"Image":"a","Image":"b"}',
    b'{"Image":"a","image":"b"}',
    b'{"image":"a","IMAGE":"b"}',
    b'{"Image":"a","\\u0049mage":"b"}',
    b'{"Image":"a"',
    b'{"Image":"a"} {"Image":"b"}',
    b'not json',
    b'["Image"]',
    b'{"Image":5}',
], ids=["dup", "case", "case2", "escaped", "truncated", "trailing",
        "notjson", "array", "wrongtype"])
def test_create_ambiguous_or_invalid_json_400(guard, engine, client, body):
    s, r = client()
    s.sendall(create_req(body))
    msg = assert_refusal(r.response(), 400)
    assert "create a container" in msg, msg
    assert_engine_untouched(engine)


def test_create_refused_by_body_keeps_connection(guard, engine, client):
    s, r = client()
    s.sendall(create_req(b'{"Image":"a","image":"b"}'))
    resp = r.response()
    msg = assert_refusal(resp, 400)
    assert "refusing to create a container" in msg, msg
    assert resp.all("Connection") == []
    s.sendall(ping())
    assert r.response().raw == ok_bytes(b"/_ping")
    s.sendall(create_req(GOOD_CREATE))
    assert r.response().raw == CREATED
    assert engine.client_bytes() == ping() + create_req(GOOD_CREATE)


def test_create_content_length_zero_then_json_is_not_a_body(guard, engine,
                                                           client):
    target = b"/v1.41/containers/create"
    first = req(b"POST", target, [(b"Content-Type", b"application/json"),
                                  (b"Content-Length", b"0")])
    trailing = b'{"Image":"' + PINNED + b'"}\r\n\r\n'
    s, r = client()
    s.sendall(first + trailing)
    a = r.response()
    if a.status == 201:
        # Forwarded as an empty create.
        got = engine.requests()[0]
        assert got.body_raw == b""
        assert got.all("Content-Length") == [b"0"]
    else:
        msg = assert_refusal(a, 400)
        assert "refusing to create a container" in msg, msg
        assert a.all("Connection") == []
    b = r.response()
    assert_closing_refusal(b, r, 400)
    time.sleep(0.1)
    assert b"Image" not in engine.client_bytes()
    assert PINNED not in engine.all_bytes()  # not even looked up


def test_create_expect_continue_answered_by_guard(guard, engine, client):
    head = req(b"POST", b"/v1.41/containers/create",
               [(b"Content-Type", b"application/json"),
                (b"Expect", b"100-continue"),
                (b"Content-Length", b"%d" % len(GOOD_CREATE))])
    s, r = client()
    s.sendall(head)
    assert r.response().raw == CONTINUE
    assert_engine_untouched(engine, settle=0.05)
    s.sendall(GOOD_CREATE)
    assert r.response().raw == CREATED
    got = engine.requests()[0]
    assert got.all("Expect") == []
    assert got.body_raw == GOOD_CREATE


def test_service_create_is_guarded(guard, engine, client):
    s, r = client()
    body = b'{"Name":"a","name":"b"}'
    s.sendall(create_req(body, target=b"/v1.41/services/create"))
    msg = assert_refusal(r.response(), 400)
    assert "refusing to create a service" in msg, msg
    assert_engine_untouched(engine)


# --------------------------------------------------------------------------
# engine trouble
# --------------------------------------------------------------------------

def test_engine_down_502(tmp, guards):
    missing = os.path.join(tmp, "no-engine.sock")
    g = guards(upstream=missing)
    resp, r = exchange(g.listen, ping())
    try:
        assert_closing_refusal(resp, r, 502)
    finally:
        r.sock.close()
    assert resp.json() == {
        "message": "docker-guard: cannot reach the Docker engine at %s: "
                   "No such file or directory" % missing}
    assert g.alive()


def test_engine_closes_without_answer_502(guard, engine):
    engine.reset(lambda rq: fe.close())
    resp, r = exchange(guard.listen, ping())
    try:
        msg = assert_closing_refusal(resp, r, 502)
    finally:
        r.sock.close()
    assert msg.startswith("docker-guard: cannot reach the Docker engine at "
                          "%s: " % engine.path), msg


def test_engine_malformed_response_502(guard, engine):
    engine.reset(lambda rq: fe.raw(b"HTTP/1.1 2x0 OK\r\n\r\n", close=True))
    resp, r = exchange(guard.listen, ping())
    try:
        msg = assert_closing_refusal(resp, r, 502)
    finally:
        r.sock.close()
    assert engine.path in msg


def test_client_disconnect_cancels_streaming_response(guard, engine):
    engine.reset(lambda rq: fe.stream())
    s = connect(guard.listen)
    r = Reader(s)
    s.sendall(req(b"GET", b"/v1.41/containers/x/logs?follow=1"))
    r.until(b"log line 3\n")
    conn = engine.client_connections()[0]
    t0 = time.monotonic()
    s.close()
    assert conn.gone.wait(TIMEOUT), "the engine never saw the client leave"
    assert time.monotonic() - t0 < TIMEOUT


def test_client_half_close_reaches_engine_on_long_poll(guard, engine):
    engine.reset(lambda rq: fe.never())
    s = connect(guard.listen)
    try:
        s.sendall(req(b"GET", b"/v1.41/events"))
        conn = engine.wait_conn()
        engine.wait_requests(1)
        s.shutdown(socket.SHUT_WR)
        assert conn.eof.wait(TIMEOUT), "client EOF not passed to the engine"
    finally:
        s.close()


# --------------------------------------------------------------------------
# robustness
# --------------------------------------------------------------------------

def _garbage(rng, i):
    kind = i % 5
    n = rng.randrange(1, 400)
    junk = bytes(rng.randrange(256) for _ in range(n))
    if kind == 0:
        return junk
    if kind == 1:
        return junk + b"\r\n\r\n"
    if kind == 2:
        return b"GET /_ping HTTP/1.1\r\n" + junk + b"\r\n\r\n"
    if kind == 3:
        return (b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\n"
                b"Transfer-Encoding: chunked\r\nContent-Type: "
                b"application/json\r\n\r\n" + junk)
    tokens = [b"GET", b"POST", b" ", b"/", b"%", b"HTTP/1.1", b"\r\n", b"\n",
              b"\r", b":", b"Host", b"Content-Length", b"Transfer-Encoding",
              b"chunked", b"0", b"5", b"\x00", b"\t", b"#", b"..", b"//"]
    return b"".join(rng.choice(tokens) for _ in range(rng.randrange(1, 40)))


def test_guard_survives_garbage(guard, engine):
    rng = random.Random(0x5eed)
    deadline = time.monotonic() + 60
    statuses = {}
    for i in range(200):
        assert time.monotonic() < deadline, "garbage loop too slow"
        data = _garbage(rng, i)
        s = connect(guard.listen, 2.0)
        try:
            send_quietly(s, data)
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            r = Reader(s)
            got = r.rest()
        finally:
            s.close()
        if got:
            assert got.startswith(b"HTTP/1.1 "), (data, got[:200])
            code = int(got[9:12])
            statuses[code] = statuses.get(code, 0) + 1
            # 200/404 only if the engine got a well-formed request.
            assert 400 <= code < 600 or code in (100, 200), (data, got[:200])
        else:
            statuses["close"] = statuses.get("close", 0) + 1
        assert guard.alive(), "guard died on %r" % data
    resp, r = exchange(guard.listen, ping())
    r.sock.close()
    print("garbage outcomes:", statuses)
    assert resp.raw == ok_bytes(b"/_ping"), statuses


def test_many_connections_at_once(guard, engine):
    socks = [connect(guard.listen) for _ in range(50)]
    try:
        for i, s in enumerate(socks):
            s.sendall(req(b"GET", b"/v1.41/c%d" % i))
        for i, s in enumerate(socks):
            assert Reader(s).response().raw == ok_bytes(b"/v1.41/c%d" % i)
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# signals and process life
# --------------------------------------------------------------------------

def test_sigterm_finishes_in_flight_request(guards, engine):
    release = threading.Event()
    engine.reset(lambda rq: fe.slow(event=release))
    g = guards()
    s = connect(g.listen)
    try:
        s.sendall(req(b"GET", b"/v1.41/slow"))
        engine.wait_requests(1)
        g.signal(signal.SIGTERM)

        def refused():
            try:
                connect(g.listen, 0.5).close()
                return False
            except OSError:
                return True
        assert wait_until(refused), "still accepting after SIGTERM"
        assert g.alive(), "exited with a request in flight"
        release.set()
        r = Reader(s)
        assert r.response().raw == ok_bytes(b"/v1.41/slow")
        assert r.rest() == b"" and r.eof
    finally:
        release.set()
        s.close()
    assert g.wait(TIMEOUT) == 0, g.log_text()
    assert not os.path.exists(g.listen)


def test_sigterm_with_idle_keep_alive_exits_promptly(guards, engine):
    g = guards()
    s = connect(g.listen)
    try:
        r = Reader(s)
        s.sendall(ping())
        assert r.response().status == 200
        t0 = time.monotonic()
        g.signal(signal.SIGTERM)
        assert g.wait(TIMEOUT) == 0, g.log_text()
        assert time.monotonic() - t0 < 2.0
        assert r.rest() == b"" and r.eof
    finally:
        s.close()


def test_sighup_with_broken_config_keeps_running(guards, engine):
    g = guards("body_limit = 1K\n")
    body = b'{"Image":"' + PINNED + b'","Env":["' + b"a" * 1500 + b'"]}'

    def create_status():
        resp, r = exchange(g.listen, create_req(body))
        r.sock.close()
        return resp.status

    assert create_status() == 413
    with open(g.config, "w") as fh:
        fh.write("body_limit = 4K\nrequire_digest = enfroce\n")
    g.signal(signal.SIGHUP)
    assert wait_until(lambda: "SIGHUP: the configuration has errors"
                      in g.log_text()), g.log_text()
    assert g.alive()
    assert create_status() == 413, "broken config partly applied"
    resp, r = exchange(g.listen, ping())
    r.sock.close()
    assert resp.status == 200
    # A good file is then applied.
    with open(g.config, "w") as fh:
        fh.write("body_limit = 4K\n")
    g.signal(signal.SIGHUP)
    assert wait_until(lambda: "SIGHUP: configuration reloaded"
                      in g.log_text()), g.log_text()
    assert create_status() == 201


def test_check_config_reports_file_and_line(tmp):
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as fh:
        fh.write("# comment\nrequire_digest = enfroce\nbogus = 1\n")
    p = subprocess.run([GUARD_BIN, "check-config", "--config", bad],
                       capture_output=True, timeout=TIMEOUT)
    assert p.returncode != 0
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(bad + ":2: "), lines
    assert lines[1].startswith(bad + ":3: "), lines
    assert "enfroce" in lines[0] and "bogus" in lines[1], lines

    good = os.path.join(tmp, "good.conf")
    with open(good, "w") as fh:
        fh.write("require_digest = warn\n")
    p = subprocess.run([GUARD_BIN, "check-config", "--config", good],
                       capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0, p.stderr


def test_stale_socket_is_replaced(tmp, guards, engine):
    path = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    g = guards(listen=path)
    resp, r = exchange(g.listen, ping())
    r.sock.close()
    assert resp.raw == ok_bytes(b"/_ping")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660


def test_live_socket_is_not_taken_over(guards, engine):
    a = guards()
    b = guards(listen=a.listen, wait=False)
    rc = b.wait(TIMEOUT)
    assert rc is not None and rc != 0, "second guard did not exit non-zero"
    assert "another process is listening on %s" % a.listen in b.log_text()
    assert a.alive()
    resp, r = exchange(a.listen, ping())
    r.sock.close()
    assert resp.status == 200


def test_listen_equal_to_upstream_refused(tmp, guards, engine):
    g = guards(upstream=engine.path, listen=engine.path, wait=False)
    rc = g.wait(TIMEOUT)
    assert rc is not None and rc != 0
    assert "same socket" in g.log_text(), g.log_text()
    # The engine's socket was left alone.
    resp, r = exchange(engine.path, ping())
    r.sock.close()
    assert resp.status == 200
