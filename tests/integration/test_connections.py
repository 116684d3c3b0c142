"""Connection life and limits of docker-guard, against a scripted fake engine.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_connections.py

What a session does when it ends early (a refusal on a connection that is
not kept alive, an engine that is missing or refuses) and the limits on
connections: idle_timeout, max_connections, running out of descriptors.
Run them on an ASan build (DOCKER_GUARD_BIN): a session used after it was
freed aborts the guard there.  Helpers come from test_wire.py; every socket
has a timeout, every loop a bound; guards are stopped by their PID.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_engine as fe  # noqa: E402
# The module's own temp dir and fake engine, as test_wire makes them.
from test_wire import engine, tmp  # noqa: E402,F401
from test_wire import (Guard, Reader, assert_closing_refusal,  # noqa: E402
                       assert_refusal, connect, create_req, ping, req,
                       wait_until)

TIMEOUT = 5.0
# A create the guard refuses on its own (tag only: require_digest).
TAG_ONLY_CREATE = b'{"Image":"foo:1.0"}'


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _fresh_engine(engine):
    engine.reset()
    yield
    engine.quiesce()
    errors, engine.errors = engine.errors, []
    engine.reset()
    assert errors == [], "fake engine errors: %r" % errors


@pytest.fixture
def guards(tmp, engine):
    """Start guards; each must be alive at the end and exit 0 on SIGTERM."""
    started = []

    def factory(config_text="", upstream=None):
        g = Guard(tmp, "c%d_%d" % (os.getpid(), len(started)),
                  upstream or engine.path, config_text)
        started.append(g)
        return g.start()

    yield factory
    for g in started:
        if g.stopped:
            continue
        alive = g.alive()
        rc = g.stop()
        assert alive, "guard died (rc %s):\n%s" % (rc, g.log_text()[-4000:])
        assert rc == 0, "guard exited %s on SIGTERM:\n%s" % (
            rc, g.log_text()[-4000:])


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_over(pid, seconds):
    c0 = cpu_seconds(pid)
    time.sleep(seconds)
    return cpu_seconds(pid) - c0


def log_lines(g):
    return g.log_text().count("\n")


def assert_served(g):
    """A fresh client gets its ping answered by the engine."""
    s = connect(g.listen)
    try:
        s.sendall(ping())
        resp = Reader(s).response()
        assert resp.status == 200 and resp.body == b"ok", resp
    finally:
        s.close()


def closed_by_guard(sock, timeout):
    """True if the guard closes sock within timeout (EOF, nothing sent)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# --------------------------------------------------------------------------
# refusals on connections that end with them
# --------------------------------------------------------------------------

def refused_create(g, version=b"HTTP/1.1", extra=()):
    s = connect(g.listen)
    try:
        data = create_req(TAG_ONLY_CREATE, extra=list(extra))
        if version != b"HTTP/1.1":
            data = data.replace(b"HTTP/1.1\r\n", version + b"\r\n", 1)
        s.sendall(data)
        r = Reader(s)
        resp = r.response()
        return assert_closing_refusal(resp, r, 403)
    finally:
        s.close()


def test_refused_create_with_connection_close(guards, engine):
    g = guards()
    for _ in range(3):
        msg = refused_create(g, extra=[(b"Connection", b"close")])
        assert "require_digest" in msg, msg
    assert g.alive(), g.log_text()[-4000:]
    assert_served(g)


def test_refused_create_http10(guards, engine):
    g = guards()
    for _ in range(3):
        msg = refused_create(g, version=b"HTTP/1.0")
        assert "require_digest" in msg, msg
    assert g.alive(), g.log_text()[-4000:]
    assert_served(g)


def test_refusal_pending_while_draining_after_sigterm(guards, engine):
    """The verdict arrives after SIGTERM: the client still gets its 403
    (with Connection: close) and the guard exits 0."""
    looked_up = threading.Event()
    release = threading.Event()

    def handler(rq):
        if rq.get("user-agent") == b"docker-guard" and \
                b"/images/" in rq.target:
            looked_up.set()
            release.wait(10)
        return None

    engine.reset(handler)
    g = guards()
    s = connect(g.listen)
    try:
        s.sendall(create_req(TAG_ONLY_CREATE))
        assert looked_up.wait(TIMEOUT), "the guard never looked the image up"
        g.signal(signal.SIGTERM)
        time.sleep(0.2)
        release.set()
        r = Reader(s)
        resp = r.response()
        msg = assert_closing_refusal(resp, r, 403)
        assert "require_digest" in msg, msg
    finally:
        release.set()
        s.close()
    rc = g.wait(TIMEOUT)
    g.stopped = True
    g.log.close()
    assert rc == 0, "guard exited %s:\n%s" % (rc, g.log_text()[-4000:])


# --------------------------------------------------------------------------
# passthrough with no engine to pass to
# --------------------------------------------------------------------------

ROUNDS = 200


def hammer_502(g, rounds=ROUNDS, budget=60.0):
    """rounds requests on fresh keep-alive connections: each gets a 502 in
    Docker's error shape and the connection is closed."""
    t0 = time.monotonic()
    for i in range(rounds):
        assert time.monotonic() - t0 < budget, "only %d rounds in %ss" % (
            i, budget)
        s = connect(g.listen)
        try:
            s.sendall(req(b"GET", b"/v1.41/containers/json"))
            r = Reader(s)
            resp = r.response()
            msg = assert_closing_refusal(resp, r, 502)
            assert msg.startswith("docker-guard: cannot reach the Docker "
                                  "engine at %s: " % g.upstream), msg
        finally:
            s.close()
        assert g.alive(), "guard died after %d rounds:\n%s" % (
            i + 1, g.log_text()[-4000:])


def assert_quiet(g):
    used = cpu_over(g.pid, 1.0)
    assert used < 0.2, "guard used %.2f s of CPU in 1 s doing nothing" % used


def test_passthrough_engine_socket_missing(tmp, guards):
    g = guards(upstream=os.path.join(tmp, "no-engine.sock"))
    hammer_502(g)
    assert_quiet(g)


def test_passthrough_engine_socket_refusing(tmp, guards):
    """A socket file nobody listens on: connect() is refused."""
    path = os.path.join(tmp, "refusing.sock")
    if os.path.exists(path):
        os.unlink(path)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    try:
        g = guards(upstream=path)
        hammer_502(g)
        assert_quiet(g)
    finally:
        os.unlink(path)


def test_passthrough_engine_closes_at_once(tmp, guards):
    """An engine that accepts and closes before answering."""
    path = os.path.join(tmp, "closing.sock")
    if os.path.exists(path):
        os.unlink(path)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(64)
    lsock.settimeout(0.2)
    stop = threading.Event()

    def closer():
        while not stop.is_set():
            try:
                c, _ = lsock.accept()
            except (socket.timeout, OSError):
                continue
            c.close()

    t = threading.Thread(target=closer, daemon=True)
    t.start()
    try:
        g = guards(upstream=path)
        hammer_502(g)
        assert_quiet(g)
    finally:
        stop.set()
        t.join(5)
        lsock.close()
        os.unlink(path)


# --------------------------------------------------------------------------
# idle_timeout
# --------------------------------------------------------------------------

def test_idle_connection_closed_after_timeout(guards, engine):
    g = guards("idle_timeout = 1\n")
    silent = connect(g.listen)
    try:
        t0 = time.monotonic()
        assert closed_by_guard(silent, 4.0), \
            "a silent connection was not closed after idle_timeout"
        took = time.monotonic() - t0
        assert 0.8 <= took < 3.0, took
    finally:
        silent.close()
    assert g.alive()


def test_idle_timeout_spares_answered_and_streaming(guards, engine):
    """A keep-alive connection that was answered is kept (clients pool
    them); a stream that runs longer than idle_timeout is not cut."""
    def handler(rq):
        if b"/events" in rq.target and rq.get("user-agent") != \
                b"docker-guard":
            return fe.stream(pause=0.1)
        return None

    engine.reset(handler)
    g = guards("idle_timeout = 1\n")
    pooled = connect(g.listen)
    events = connect(g.listen)
    try:
        pooled.sendall(ping())
        pr = Reader(pooled)
        assert pr.response().status == 200
        events.sendall(req(b"GET", b"/v1.41/events"))
        er = Reader(events)
        er.until(b"\r\n\r\n")
        time.sleep(2.5)
        er.until(b"log line 20\n")
        pooled.sendall(ping())
        assert pr.response().status == 200
    finally:
        pooled.close()
        events.close()


def test_idle_timeout_zero_disables(guards, engine):
    g = guards("idle_timeout = 0\n")
    silent = connect(g.listen)
    try:
        assert not closed_by_guard(silent, 1.5)
        silent.sendall(ping())
        silent.settimeout(TIMEOUT)
        assert Reader(silent).response().status == 200
    finally:
        silent.close()


# --------------------------------------------------------------------------
# max_connections
# --------------------------------------------------------------------------

def test_connection_cap_refused_cleanly_and_lifted(guards, engine):
    g = guards("max_connections = 3\n")
    held = []
    try:
        # The guard's readiness probe may still count for a moment.
        deadline = time.monotonic() + TIMEOUT
        while len(held) < 3 and time.monotonic() < deadline:
            s = connect(g.listen)
            s.sendall(ping())
            if Reader(s).response().status == 200:
                held.append(s)
            else:
                s.close()
                time.sleep(0.05)
        assert len(held) == 3
        refused = []
        for _ in range(5):
            # Kept open: clients being refused do not hold the cap.
            s = connect(g.listen)
            refused.append(s)
            s.sendall(ping())
            r = Reader(s)
            resp = r.response()
            msg = assert_closing_refusal(resp, r, 503)
            assert "max_connections is 3" in msg, msg
        held.pop().close()
        held += refused

        def served():
            s = connect(g.listen)
            try:
                s.sendall(ping())
                return Reader(s).response().status == 200
            except (EOFError, OSError):
                return False
            finally:
                s.close()
        assert wait_until(served, TIMEOUT), "the cap was not lifted"
    finally:
        for s in held:
            s.close()
    text = g.log_text()
    assert text.count("max_connections is 3") <= 2, \
        "refusals not rate-limited in the log:\n" + text[-3000:]


# --------------------------------------------------------------------------
# out of file descriptors
# --------------------------------------------------------------------------

def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def set_nofile(pid, n):
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d" % (n, n)],
                   check=True, timeout=10)


@pytest.mark.skipif(shutil.which("prlimit") is None,
                    reason="prlimit (util-linux) not installed")
def test_emfile_no_busy_loop_and_recovery(guards, engine):
    g = guards()
    assert_served(g)
    time.sleep(0.3)
    limit = open_fds(g.pid) + 8
    set_nofile(g.pid, limit)
    socks, answers = [], []
    try:
        # More clients than descriptors: those beyond the limit must get
        # an answer (503), not hang; those accepted get theirs too (200,
        # or 502 when the engine connection finds no descriptor).
        for _ in range(30):
            s = connect(g.listen)
            socks.append(s)
            s.sendall(ping())
        for s in socks:
            s.settimeout(TIMEOUT)
            resp = Reader(s).response()
            answers.append(resp.status)
            if resp.status != 200:
                msg = assert_refusal(resp, resp.status)
                assert resp.status in (502, 503), resp
                if resp.status == 503:
                    assert "file descriptors" in msg, msg
        assert 503 in answers, answers
        # Hold them all, plus a few more clients: the guard must idle.
        for _ in range(20):
            s = connect(g.listen)
            socks.append(s)
        lines0 = log_lines(g)
        used = cpu_over(g.pid, 2.0)
        assert used < 0.3, "guard used %.2f s of CPU in 2 s at EMFILE" % used
        assert log_lines(g) - lines0 < 20, "log flooded:\n" + \
            g.log_text()[-3000:]
    finally:
        for s in socks:
            s.close()
    assert g.alive(), g.log_text()[-4000:]

    # Descriptors come back as the clients go: new clients are served.
    def served():
        try:
            assert_served(g)
            return True
        except (AssertionError, EOFError, OSError):
            return False
    assert wait_until(served, TIMEOUT, 0.1), g.log_text()[-3000:]
