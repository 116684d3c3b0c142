"""Prometheus metrics (issue 14): metrics_listen serves /metrics.

Against the real dockerd and registry: a refused create moves
docker_guard_decisions_total{verdict="deny",rule=<the audit row's rule>}
by exactly one, an allowed one the allow series; the latency histogram,
the registry outcomes, the connection gauges and engine_up follow.  A
scripted engine that goes away turns engine_up to 0.  The listener on a
unix socket; a non-loopback address refused; garbage and huge requests
to the listener leave the guard serving.  Every scrape is parsed
strictly against the table of names, types and labels.

Under GUARD_STANDIN=socat every test here fails (socat serves no
metrics).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

import fake_engine as fe
from registry_fixtures import DOCKER, audit_rows, last_audit_id, wait_audit
from testbed import free_port, run, wait_for
from test_wire import Guard as WireGuard

GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build",
    "docker-guard")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# /work/notes/metrics-names.md: name -> (type, label names)
TABLE = {
    "docker_guard_build_info": ("gauge", {"version"}),
    "docker_guard_decisions_total": ("counter", {"verdict", "rule"}),
    "docker_guard_decision_duration_seconds": ("histogram", set()),
    "docker_guard_registry_checks_total": ("counter", {"outcome"}),
    "docker_guard_engine_up": ("gauge", set()),
    "docker_guard_engine_info": ("gauge", {"version", "api_version"}),
    "docker_guard_engine_version_changes_total": ("counter", set()),
    "docker_guard_events_lag_seconds": ("gauge", set()),
    "docker_guard_events_reconnects_total": ("counter", set()),
    "docker_guard_ledger_errors_total": ("counter", set()),
    "docker_guard_ledger_queued_writes": ("gauge", set()),
    "docker_guard_fleet_ledger_up": ("gauge", set()),
    "docker_guard_connections_open": ("gauge", set()),
    "docker_guard_connections_total": ("counter", set()),
    "docker_guard_drift_findings_total": ("counter", {"kind"}),
    "docker_guard_drift_checks_total": ("counter", set()),
    "docker_guard_notify_failures_total": ("counter", set()),
}
LABEL_VALUES = {
    "verdict": {"allow", "deny", "warn"},
    "outcome": {"present", "missing", "unreachable", "auth_failed", "error"},
    "kind": {"missing", "newer"},
}
BUCKETS = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
           "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % NAME)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
VALUE = re.compile(r"^(NaN|[+-]Inf|-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)$")


def parse_labels(text):
    """'a="x",b="y"' -> {"a": "x", "b": "y"}, strictly."""
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        assert m, "bad label text at %r" % text[pos:]
        value = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1),
                                                           e.group(1)),
                       m.group(2))
        assert m.group(1) not in labels, "label %s twice" % m.group(1)
        labels[m.group(1)] = value
        pos = m.end()
        if m.group(3) == "":
            assert pos == len(text)
    return labels


def parse(text):
    """The exposition, strictly: {(name, ((label, value), ...)): float}.
    Every line is a HELP, TYPE or sample line; every family is in TABLE
    with its type, HELP then TYPE once each, before its samples; every
    sample's labels are the family's; histograms are whole and
    cumulative."""
    assert text.endswith("\n"), "the text must end with a newline"
    samples, families, current = {}, {}, None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name in TABLE, "unknown family %s" % name
            assert name not in families, "family %s twice" % name
            families[name] = None
            current = name
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            assert name == current and families[name] is None, line
            assert typ == TABLE[name][0], "%s is a %s" % (name, typ)
            families[name] = typ
            continue
        assert not line.startswith("#"), "stray comment %r" % line
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), parse_labels(m.group(3) or "")
        assert VALUE.match(m.group(4)), "bad value in %r" % line
        assert current is not None and families[current] is not None
        want = set(TABLE[current][1])
        if TABLE[current][0] == "histogram":
            suffix = name[len(current):]
            assert name.startswith(current) and suffix in (
                "_bucket", "_sum", "_count"), line
            if suffix == "_bucket":
                want.add("le")
        else:
            assert name == current, "%s under family %s" % (name, current)
        assert set(labels) == want, "labels of %r" % line
        for k, v in labels.items():
            if k in LABEL_VALUES:
                assert v in LABEL_VALUES[k], "label value in %r" % line
        key = (name, tuple(sorted(labels.items())))
        assert key not in samples, "sample twice: %r" % line
        samples[key] = float(m.group(4))
    assert set(families) == set(TABLE), set(TABLE) - set(families)
    hist = "docker_guard_decision_duration_seconds"
    counts = [samples[(hist + "_bucket", (("le", le),))] for le in BUCKETS]
    assert counts == sorted(counts), "buckets not cumulative: %r" % counts
    assert counts[-1] == samples[(hist + "_count", ())]
    return samples


def get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels):
    """Sum over the series of name whose labels include labels."""
    return sum(v for (n, ls), v in samples.items() if n == name and
               set(labels.items()) <= set(ls))


def scrape_url(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == CONTENT_TYPE
        return parse(resp.read().decode("utf-8"))


def unix_request(path, raw, timeout=10):
    """Send raw bytes to the unix socket, read until EOF; the bytes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(raw)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)
    finally:
        s.close()


def tcp_request(port, raw, timeout=15):
    """Send raw bytes to 127.0.0.1:port, read until EOF or reset."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    chunks = []
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        s.close()
    return b"".join(chunks)


@pytest.fixture
def names(testbed):
    made = []
    yield made
    if made:
        run([DOCKER, "rm", "-f"] + made, env=testbed.direct_env, timeout=120,
            check=False)


@pytest.fixture
def mguard(guard_factory):
    port = free_port()
    g = guard_factory("metrics_listen = 127.0.0.1:%d\n" % port)
    g.metrics_port = port
    g.url = "http://127.0.0.1:%d/metrics" % port
    return g


def create(g, ref, names, testbed):
    name = testbed.unique("met-")
    names.append(name)
    return run([DOCKER, "create", "--network", "none", "--name", name, ref,
                "true"], env=g.env, timeout=120, check=False)


def decisions(samples):
    return {ls: v for (n, ls), v in samples.items()
            if n == "docker_guard_decisions_total"}


def test_decisions_move_by_exactly_one(mguard, testbed, app, names):
    g = mguard
    before = scrape_url(g.url)
    assert get(before, "docker_guard_engine_up") == 1
    since = last_audit_id(g)

    # A tag-only reference: refused.
    r = create(g, app.registry_ref, names, testbed)
    assert r.returncode != 0, r.stdout
    row = wait_audit(g, since, 1, route="containers/create")[-1]
    assert row["verdict"] == "deny", row
    mid = scrape_url(g.url)
    deny = (("rule", row["rule"]), ("verdict", "deny"))
    assert dict(decisions(mid)).get(deny, 0) - \
        dict(decisions(before)).get(deny, 0) == 1, (row, decisions(mid))
    # Every other series stayed, but for rows the same create wrote.
    rows = audit_rows(g, since_id=since)
    assert total(mid, "docker_guard_decisions_total") - \
        total(before, "docker_guard_decisions_total") == len(rows), rows

    # Pinned by digest: allowed, after a registry check that finds it.
    since = last_audit_id(g)
    r = create(g, app.digest_ref, names, testbed)
    assert r.returncode == 0, r.stderr
    row = wait_audit(g, since, 1, route="containers/create")[-1]
    assert row["verdict"] == "allow", row
    after = scrape_url(g.url)
    allow = (("rule", row["rule"] or "none"), ("verdict", "allow"))
    assert dict(decisions(after)).get(allow, 0) - \
        dict(decisions(mid)).get(allow, 0) == 1, (row, decisions(after))
    assert get(after, "docker_guard_decisions_total", verdict="deny",
               rule=deny[0][1]) == get(mid, "docker_guard_decisions_total",
                                       verdict="deny", rule=deny[0][1])

    hist = "docker_guard_decision_duration_seconds_count"
    assert get(mid, hist) - get(before, hist) == 1
    assert get(after, hist) - get(mid, hist) == 1
    assert get(after, "docker_guard_decision_duration_seconds_sum") > 0
    assert get(after, "docker_guard_registry_checks_total",
               outcome="present") > get(mid, "docker_guard_registry_checks_total",
                                        outcome="present")
    assert get(after, "docker_guard_connections_total") > \
        get(before, "docker_guard_connections_total")
    assert get(after, "docker_guard_engine_up") == 1
    assert get(after, "docker_guard_build_info", version=get_version()) == 1


def get_version():
    out = subprocess.run([GUARD_BIN, "--version"], capture_output=True,
                         text=True, timeout=10).stdout
    return out.split()[-1]


def test_missing_image_counts_missing(mguard, testbed, names):
    g = mguard
    before = scrape_url(g.url)
    ref = "%s/nosuch-%s@sha256:%s" % (testbed.registry.addr,
                                      testbed.unique("m"), "ab" * 32)
    r = create(g, ref, names, testbed)
    assert r.returncode != 0
    after = wait_for(lambda: (lambda s: s if get(
        s, "docker_guard_registry_checks_total", outcome="missing") > get(
        before, "docker_guard_registry_checks_total", outcome="missing")
        else None)(scrape_url(g.url)), "a missing registry check",
        timeout=20)
    assert get(after, "docker_guard_registry_checks_total",
               outcome="present") == get(
        before, "docker_guard_registry_checks_total", outcome="present")


def test_connections_gauge(mguard):
    g = mguard
    base = get(scrape_url(g.url), "docker_guard_connections_open")
    total0 = get(scrape_url(g.url), "docker_guard_connections_total")
    socks = []
    try:
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(g.sock)
            socks.append(s)
        wait_for(lambda: get(scrape_url(g.url),
                             "docker_guard_connections_open") == base + 3,
                 "3 more open connections", timeout=10)
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: get(scrape_url(g.url),
                         "docker_guard_connections_open") == base,
             "the connections closed", timeout=10)
    assert get(scrape_url(g.url),
               "docker_guard_connections_total") == total0 + 3


def test_http_surface(mguard):
    g, port = mguard, mguard.metrics_port
    head = tcp_request(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"\r\n\r\n" in head and head.split(b"\r\n\r\n", 1)[1] == b""
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    with urllib.request.urlopen(g.url, timeout=5) as resp:
        assert abs(len(resp.read()) - length) < 200  # counters move
    assert CONTENT_TYPE.encode() in head
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen("http://127.0.0.1:%d/nope" % port, timeout=5)
    assert e.value.code == 404
    # HEAD of a missing page: a head alone, and the connection goes on.
    two = tcp_request(port, b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
    first, rest = two.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 404 "), two
    assert rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(b"\r\n\r\n"), \
        two
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        req = urllib.request.Request(g.url, method=method, data=b"")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code == 405, method
        assert e.value.headers["Allow"] == "GET, HEAD"
    # The query does not matter.
    scrape_url(g.url + "?x=1")


def test_bad_requests_do_not_hurt(mguard):
    g, port = mguard, mguard.metrics_port
    bad = [
        b"\x00\xff garbage\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 +
        b"\r\n\r\n",
        b"GET /" + b"m" * 100000 + b" HTTP/1.1\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 5000 + b"\r\n",
        b"POST /metrics HTTP/1.1\r\nContent-Length: 999999999\r\n\r\nabc",
        b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffff\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n" * 50,
    ]
    for raw in bad:
        answer = tcp_request(port, raw)
        if answer:
            assert answer.startswith(b"HTTP/1."), answer[:100]
            status = int(answer.split()[1])
            assert status < 500 or status == 505, answer[:200]
        assert g.alive(), g.log_tail(30)
    # A client that sends half a head and waits is let go.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t0 = time.monotonic()
        s.recv(100)
        assert time.monotonic() - t0 < 25
    finally:
        s.close()
    # Many at once (the cap and the backlog), all closed: it still serves.
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _ in range(100)]
    for s in socks:
        s.close()
    scrape_url(g.url)
    assert g.alive()


def test_connection_cap(mguard):
    """At most 32 connections at once: idle ones hold the listener, a
    scrape waits in the backlog and is served once they go."""
    g = mguard
    fds_before = len(os.listdir("/proc/%d/fd" % g.pid))
    socks = [socket.create_connection(("127.0.0.1", g.metrics_port),
                                      timeout=5) for _ in range(100)]
    try:
        time.sleep(0.5)
        fds = len(os.listdir("/proc/%d/fd" % g.pid))
        assert fds - fds_before <= 33, (fds_before, fds)
        with pytest.raises(OSError):
            urllib.request.urlopen(g.url, timeout=1)
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: scrape_url(g.url), "a scrape after the idle clients "
             "went", timeout=15)
    wait_for(lambda: len(os.listdir("/proc/%d/fd" % g.pid)) <= fds_before,
             "the guard's descriptors back to %d" % fds_before, timeout=15)


def test_unix_socket_listener(guard_factory, testbed):
    tmp = tempfile.mkdtemp(prefix="dgm-", dir="/tmp")
    path = os.path.join(tmp, "metrics.sock")
    # A stale socket file is replaced.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    try:
        g = guard_factory("metrics_listen = %s\n" % path)
        answer = unix_request(path, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                              b"Connection: close\r\n\r\n")
        head, body = answer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert CONTENT_TYPE.encode() in head
        samples = parse(body.decode())
        assert get(samples, "docker_guard_engine_up") == 1
        assert oct(os.stat(path).st_mode & 0o777) == oct(0o660)
        g.stop()
        assert not os.path.exists(path), "the socket file is removed"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("addr", ["0.0.0.0:9323", "192.0.2.1:9323",
                                  "[::]:9323", "example.com:9323",
                                  "127.0.0.1:0", "relative.sock"])
def test_non_loopback_refused(addr, tmp_path):
    conf = tmp_path / "guard.conf"
    conf.write_text("metrics_listen = %s\n" % addr)
    r = subprocess.run([GUARD_BIN, "check-config", "--config", str(conf)],
                       capture_output=True, text=True, timeout=10)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "%s:1: metrics_listen" % conf in out, out
    assert "loopback" in out and addr in out, out
    # The flag is judged the same way.
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    r = subprocess.run([GUARD_BIN, "serve", "--config", str(empty),
                        "--listen", str(tmp_path / "g.sock"), "--upstream",
                        str(tmp_path / "none.sock"), "--database",
                        str(tmp_path / "g.db"), "--metrics-listen", addr],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "metrics_listen" in r.stderr and "loopback" in r.stderr, r.stderr


def test_engine_up_goes_to_zero():
    """A scripted engine answers, then goes away: engine_up 1, then 0,
    and the event stream's reconnects are counted; an event that
    happened 5 s before it came shows as 5 s of lag."""
    tmp = tempfile.mkdtemp(prefix="dgm-", dir="/tmp")
    engine = fe.FakeEngine(os.path.join(tmp, "engine.sock")).start()
    # The event stream: one event that happened 5 s ago, then open until
    # the engine goes; the guard then reconnects within a second.
    def events(req):
        if b"/events" not in req.target:
            return None
        line = json.dumps({
            "Type": "container", "Action": "die",
            "Actor": {"ID": "c0ffee", "Attributes": {"name": "x"}},
            "timeNano": time.time_ns() - 5 * 10**9}).encode() + b"\n"
        return fe.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                      b"\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n"
                      % (len(line), line))
    engine.reset(events)
    port = free_port()
    url = "http://127.0.0.1:%d/metrics" % port
    g = WireGuard(tmp, "g", engine.path,
                  "metrics_listen = 127.0.0.1:%d\n" % port).start()
    try:
        wait_for(lambda: get(scrape_url(url), "docker_guard_engine_up") == 1,
                 "engine_up 1", timeout=20)
        lag = wait_for(lambda: get(scrape_url(url),
                                   "docker_guard_events_lag_seconds"),
                       "the event's lag", timeout=20)
        assert 4.5 < lag < 30, lag
        engine.stop()
        s = wait_for(lambda: (lambda x: x if get(
            x, "docker_guard_engine_up") == 0 else None)(scrape_url(url)),
            "engine_up 0", timeout=30)
        assert get(s, "docker_guard_events_reconnects_total") >= 1
        assert g.alive()
    finally:
        alive = g.alive()
        rc = g.stop()
        engine.stop()
        log = g.log_text()
        shutil.rmtree(tmp, ignore_errors=True)
    assert alive and rc == 0, "guard died or exited %s:\n%s" % (rc, log)


def test_sighup_keeps_the_listener(guard_factory):
    """SIGHUP with another metrics_listen: logged, still served where it
    was (it takes effect at the next start)."""
    port, other = free_port(), free_port()
    g = guard_factory("metrics_listen = 127.0.0.1:%d\n" % port)
    url = "http://127.0.0.1:%d/metrics" % port
    scrape_url(url)
    with open(g.config, "w") as fh:
        fh.write("metrics_listen = 127.0.0.1:%d\n" % other)
    os.kill(g.pid, signal.SIGHUP)
    wait_for(lambda: "metrics_listen takes effect at the next start" in
             open(g.log).read(), "the SIGHUP warning", timeout=10)
    scrape_url(url)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:%d/metrics" % other,
                               timeout=2)


def test_fleet_ledger_up(guard_factory, testbed, request):
    """With a fleet ledger: fleet_ledger_up 1 while its PostgreSQL runs,
    0 (and database errors counted) once it stops.  Without: no sample."""
    import pgtest
    if not pgtest.available():
        pytest.skip("PostgreSQL 15 is not installed")
    plain = free_port()
    guard_factory("metrics_listen = 127.0.0.1:%d\n" % plain)
    plain_url = "http://127.0.0.1:%d/metrics" % plain
    assert not [k for k in scrape_url(plain_url)
                if k[0] == "docker_guard_fleet_ledger_up"]
    pg = pgtest.start_postgres(testbed.tmpdir("pgm-"))
    request.addfinalizer(pg.stop)
    conn = pg.create_user_db("guard", "guard")
    port = free_port()
    url = "http://127.0.0.1:%d/metrics" % port
    guard_factory("metrics_listen = 127.0.0.1:%d\nledger = %s\n"
                  "ledger_unreachable = allow\n" % (port, conn))
    wait_for(lambda: get(scrape_url(url), "docker_guard_fleet_ledger_up")
             == 1, "fleet_ledger_up 1", timeout=30)
    errors = get(scrape_url(url), "docker_guard_ledger_errors_total")
    pg.stop()
    s = wait_for(lambda: (lambda x: x if get(
        x, "docker_guard_fleet_ledger_up") == 0 else None)(scrape_url(url)),
        "fleet_ledger_up 0", timeout=60)
    assert get(s, "docker_guard_ledger_errors_total") > errors
