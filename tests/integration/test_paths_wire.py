"""Wire tests of a judged build's stream (POST /build, build = judge)
against the scripted fake engine: what the engine receives before and
after the verdict, byte for byte.  No dockerd needed.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_paths_wire.py
"""

import io
import os
import sys
import tarfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_engine as fe  # noqa: E402
# The module's own temp dir and fake engine, as test_wire makes them.
from test_wire import engine, tmp  # noqa: E402,F401
from test_wire import Guard, Reader, chunk, connect, ok_bytes, req  # noqa: E402


@pytest.fixture(scope="module")
def guard(tmp, engine):
    g = Guard(tmp, "pw0", engine.path, "registry_timeout = 2\n").start()
    yield g
    alive = g.alive()
    rc = g.stop()
    assert alive, "guard died (rc %s):\n%s" % (rc, g.log_text()[-4000:])
    assert rc == 0, g.log_text()[-4000:]


@pytest.fixture(autouse=True)
def _fresh(engine, guard):
    engine.reset()
    yield
    engine.quiesce()
    errors, engine.errors = engine.errors, []
    engine.reset()
    assert errors == [], errors
    assert guard.alive(), guard.log_text()[-4000:]


def context(dockerfile, filler=0):
    """A tar build context (as Go's archive/tar or GNU tar would write it)
    and the offset of its end-of-archive block."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in (("big.bin", os.urandom(filler)),
                           ("Dockerfile", dockerfile.encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        end = buf.tell()
    return buf.getvalue(), end


def build_req(body, chunked, target=b"/v1.41/build?t=x"):
    headers = [(b"Content-Type", b"application/x-tar")]
    if chunked:
        headers.append((b"Transfer-Encoding", b"chunked"))
        data = b"".join(chunk(body[i:i + 4000])
                        for i in range(0, len(body), 4000)) + b"0\r\n\r\n"
    else:
        headers.append((b"Content-Length", b"%d" % len(body)))
        data = body
    return req(b"POST", target, headers), data


@pytest.mark.parametrize("chunked", [False, True])
def test_allowed_build_reaches_the_engine_whole(guard, engine, chunked):
    tar, _ = context("FROM scratch\nCOPY big.bin /\n", filler=300000)
    head, data = build_req(tar, chunked)
    s = connect(guard.listen)
    try:
        s.sendall(head + data)
        r = Reader(s).response(b"POST")
        assert r.status == 200, r
        [rq] = engine.wait_requests(1)
        assert rq.body == tar                  # every byte, in order
        if chunked:
            assert rq.get("transfer-encoding") == b"chunked"
        else:
            assert rq.get("content-length") == b"%d" % len(tar)
        assert rq.target == b"/v1.41/build?t=x"
    finally:
        s.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_refused_build_never_gets_the_archive_end(guard, engine, chunked):
    # A tag on a registry nobody listens on: refused by pull_require_digest
    # (the registry cannot say the digest).
    tar, end = context("FROM 127.0.0.1:1/base:1.0\n", filler=200000)
    engine.reset(lambda rq: fe.never())
    head, data = build_req(tar, chunked)
    s = connect(guard.listen)
    try:
        s.sendall(head + data)
        r = Reader(s).response(b"POST")
        assert r.status == 403, r
        assert b"refusing to build: FROM 127.0.0.1:1/base:1.0 (line 1" \
            in r.body, r.body
        # The engine got the context up to, not including, the end of
        # the archive, and its connection was dropped.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            conns = engine.client_connections()  # accepted by now?
            if conns and all(c.gone.is_set() for c in conns):
                break
            time.sleep(0.02)
        [conn] = engine.client_connections()
        assert conn.gone.is_set(), "the engine's connection stays open"
        got = conn.bytes()
        assert got.startswith(head.split(b"Content-Type")[0]), got[:200]
        body = got.split(b"\r\n\r\n", 1)[1]
        if chunked:
            assert not body.endswith(b"0\r\n\r\n")
            # (what was still queued for the engine went with the
            # dropped connection: the last chunk may be cut short)
            raw, body = body, b""
            while b"\r\n" in raw:
                line, raw = raw.split(b"\r\n", 1)
                n = int(line, 16)
                body += raw[:n]
                raw = raw[n + 2:]
        assert len(body) <= end and tar.startswith(body), (len(body), end)
    finally:
        s.close()


def test_build_held_until_the_end(guard, engine):
    """The first part of a context streams before the client is done."""
    tar, end = context("FROM scratch\n", filler=600000)
    head, data = build_req(tar, False)
    s = connect(guard.listen)
    try:
        s.sendall(head + data[:500000])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            conns = engine.client_connections()
            if conns and len(conns[0].bytes()) > 400000:
                break
            time.sleep(0.02)
        assert engine.client_connections(), "nothing reached the engine"
        assert len(engine.client_connections()[0].bytes()) > 400000
        s.sendall(data[500000:])
        r = Reader(s).response(b"POST")
        assert r.status == 200, r
        [rq] = engine.wait_requests(1)
        assert rq.body == tar
    finally:
        s.close()


def test_ping_after_allowed_build_on_same_connection(guard, engine):
    tar, _ = context("FROM scratch\n")
    head, data = build_req(tar, True)
    s = connect(guard.listen)
    try:
        s.sendall(head + data)
        rd = Reader(s)
        assert rd.response(b"POST").status == 200
        s.sendall(req(b"GET", b"/_ping"))
        assert rd.response().raw == ok_bytes(b"/_ping")
    finally:
        s.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_client_leaving_mid_context(guard, engine, chunked):
    """The client goes away halfway: the engine's connection goes too, and
    the guard serves on."""
    tar, _ = context("FROM scratch\n", filler=300000)
    engine.reset(lambda rq: fe.never())
    head, data = build_req(tar, chunked)
    s = connect(guard.listen)
    s.sendall(head + data[:100000])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not engine.client_connections():
        time.sleep(0.02)
    s.close()
    while time.monotonic() < deadline:
        conns = engine.client_connections()
        if conns and all(c.gone.is_set() for c in conns):
            break
        time.sleep(0.02)
    assert engine.client_connections() and all(
        c.gone.is_set() for c in engine.client_connections())
    engine.reset()              # the engine answers again
    s = connect(guard.listen)
    try:
        s.sendall(req(b"GET", b"/_ping"))
        assert Reader(s).response().raw == ok_bytes(b"/_ping")
    finally:
        s.close()
