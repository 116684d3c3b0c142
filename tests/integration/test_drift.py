"""The drift watch (drift_interval) and its webhook (notify_url) against the
real dockerd and a real registry with deletes enabled: the retention job
deletes the per-platform manifests under a running container's index, and
the guard says so while the container still runs.

    cd tests/integration && DOCKER_GUARD_BIN=$PWD/../../build/docker-guard \\
        /usr/bin/python3 -m pytest -q test_drift.py
"""

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from registry_fixtures import (DOCKER, ImageKit, RegistryServer, SilentServer,
                               guard_conf, require)
from test_metrics import get, scrape_url, total
from test_stories import audit_cli
from testbed import free_port, run, unix_http, wait_for

INTERVAL = 2
# a finding must show within two intervals; the slack is for a busy
# 2-core machine (a round itself takes milliseconds)
WITHIN = 2 * INTERVAL + 1.5


class Receiver:
    """A webhook receiver on 127.0.0.1 (Python http.server in a thread)
    that records every POST (path, content type, JSON body)."""

    def __init__(self, port=None, status=200):
        self.posts = []
        self.lock = threading.Lock()
        self.port = port or free_port()
        recv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with recv.lock:
                    recv.posts.append((self.path,
                                       self.headers.get("Content-Type"),
                                       json.loads(body.decode())))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def bodies(self, name=None):
        with self.lock:
            return [b for _, _, b in self.posts
                    if name is None or b.get("container", {}).get("name") == name]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture(scope="module")
def reg(testbed):
    require("docker-registry")
    r = RegistryServer(testbed.work, "driftreg").start()
    yield r
    r.stop()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def names(testbed):
    made = []
    yield made
    if made:
        run([DOCKER, "rm", "-f"] + made, env=testbed.direct_env, timeout=120,
            check=False)


def run_through(g, ref, name, names):
    """docker run -d through guard g: a container that keeps running."""
    names.append(name)
    r = run([DOCKER, "run", "-d", "--network", "none", "--name", name,
             "--label", "io.docker-guard.app=%s" % name, ref, "sleep", "3600"],
            env=g.env, timeout=180, check=False)
    assert r.returncode == 0, r.stderr + g.log_tail()
    return r.stdout.strip()


def running(testbed, name):
    r = run([DOCKER, "inspect", "--format", "{{.State.Running}}", name],
            env=testbed.direct_env, timeout=30, check=False)
    return r.stdout.strip() == "true"


def drift_rows(g, app):
    return [r for r in audit_cli(g.db, "--rule", "drift", "--app", app)]


def wait_rows(g, app, n, timeout, pred=lambda r: True):
    return wait_for(lambda: (lambda rows: rows if len(rows) >= n else None)(
        [r for r in drift_rows(g, app) if pred(r)]),
        "%d drift row(s) for %s" % (n, app), timeout=timeout, interval=0.2,
        on_fail=lambda: g.log_tail(40))


def deployed(kit, reg, repo, versions=("2.0.0", "2.0.0")):
    d = kit.build_index(reg, repo, versions=versions)
    ref = "%s/%s:prod@%s" % (reg.addr, repo, d["index"])
    kit.pull(ref)
    return d, ref


# --------------------------------------------------------------------------
# the retention job, caught while the container runs
# --------------------------------------------------------------------------

def test_deleted_children_are_a_drift_finding_and_a_webhook(
        testbed, guard_factory, reg, kit, receiver, names):
    repo = "drift-ret"
    d, ref = deployed(kit, reg, repo)
    mport = free_port()
    g = guard_factory(guard_conf(drift_interval=INTERVAL,
                                 metrics_listen="127.0.0.1:%d" % mport,
                                 notify_url=receiver.url + "?token=s3cr3t-Tok"))
    metrics = "http://127.0.0.1:%d/metrics" % mport
    name = testbed.unique("drift-")
    cid = run_through(g, ref, name, names)

    # rounds run with everything present: no finding, no notice
    time.sleep(2 * INTERVAL + 0.5)
    assert drift_rows(g, name) == [], g.log_tail()
    assert receiver.bodies(name) == []

    # the retention job deletes the untagged per-platform manifests
    reg.delete_manifest(repo, d["amd64"])
    reg.delete_manifest(repo, d["arm64"])
    t0 = time.monotonic()
    rows = wait_rows(g, name, 1, WITHIN)
    took = time.monotonic() - t0
    assert took <= WITHIN, took
    row = rows[0]
    assert (row["verdict"], row["rule"]) == ("warn", "drift"), row
    assert row["image"] == ref, row
    want = ("the index %s lists %s for linux/amd64, but the registry no "
            "longer has it" % (d["index"], d["amd64"]))
    msg = row["message"]
    assert want in msg, msg
    assert 'container "%s"' % name in msg or '"%s"' % name in msg, msg
    assert reg.addr in msg and "push the image again" in msg, msg
    assert "Before the container is restarted" in msg, msg
    assert running(testbed, name), "the container stopped"

    # the webhook got the same finding as JSON
    bodies = wait_for(lambda: receiver.bodies(name) or None, "webhook POST",
                      timeout=10, interval=0.1, on_fail=g.log_tail)
    b = bodies[0]
    assert (b["event"], b["kind"], b["state"]) == ("drift", "missing", "found"), b
    assert b["container"] == {"id": cid, "name": name}, b
    assert b["app"] == name and b["image"] == ref, b
    assert (b["registry"], b["digest"]) == (reg.addr, d["index"]), b
    assert (b["missing_digest"], b["missing_platform"]) == (d["amd64"], "linux/amd64"), b
    assert b["platform"] == "linux/amd64" and b["message"] == msg, b
    with receiver.lock:
        path, ctype, _ = receiver.posts[0]
    assert ctype == "application/json" and path == "/hook?token=s3cr3t-Tok"

    # not repeated every round
    time.sleep(3 * INTERVAL)
    assert len(drift_rows(g, name)) == 1, drift_rows(g, name)
    assert len(receiver.bodies(name)) == 1, receiver.bodies(name)
    m = scrape_url(metrics)
    assert get(m, "docker_guard_drift_findings_total", kind="missing") == 1, m
    assert get(m, "docker_guard_drift_findings_total", kind="newer") == 0
    assert get(m, "docker_guard_drift_checks_total") >= 4
    assert get(m, "docker_guard_decisions_total", verdict="warn",
               rule="drift") == 1
    assert total(m, "docker_guard_registry_checks_total", outcome="missing") >= 3
    assert get(m, "docker_guard_notify_failures_total") == 0
    # the status page on the same listener shows the finding and the
    # watch's health (its interval, a last round)
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/" % mport,
                                timeout=10) as res:
        page = res.read().decode()
    assert "lists %s for linux/amd64" % d["amd64"] in page, page[-3000:]
    assert "every %d s" % INTERVAL in page, page[-3000:]
    assert "no round recorded yet" not in page
    # the URL's token never reaches the log
    with open(g.log, "rb") as fh:
        log = fh.read()
    assert b"s3cr3t-Tok" not in log
    assert b"notices to http://127.0.0.1:%d" % receiver.port in log, g.log_tail()

    # pushed again: resolved, once
    kit.push("%s/%s:amd64" % (reg.addr, repo))
    assert reg.head_manifest(repo, d["amd64"])[0] == 200
    rows = wait_rows(g, name, 1, WITHIN, pred=lambda r: r["verdict"] == "allow")
    assert "drift resolved" in rows[0]["message"], rows
    resolved = wait_for(lambda: [x for x in receiver.bodies(name)
                                 if x["state"] == "resolved"] or None,
                        "resolved POST", timeout=10, interval=0.1)
    assert resolved[0]["kind"] == "missing"
    time.sleep(2 * INTERVAL)
    assert len(drift_rows(g, name)) == 2, drift_rows(g, name)
    assert running(testbed, name)
    # the hash chain holds with the drift rows in it
    r = run([__import__("test_stories").GUARD_BIN, "audit", "--verify",
             "--database", g.db], timeout=60, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_newer_version_behind_the_deployed_tag(testbed, guard_factory, reg, kit,
                                               receiver, names):
    repo = "drift-newer"
    d, ref = deployed(kit, reg, repo, versions=("2.0.0", "2.0.0"))
    g = guard_factory(guard_conf(drift_interval=INTERVAL,
                                 notify_url=receiver.url))
    name = testbed.unique("drift-")
    run_through(g, ref, name, names)
    time.sleep(INTERVAL + 0.5)
    assert drift_rows(g, name) == []

    # a newer release is pushed behind the tag it was deployed from
    d2 = kit.build_index(reg, repo, versions=("2.1.0", "2.1.0"))
    assert d2["index"] != d["index"]
    rows = wait_rows(g, name, 1, WITHIN)
    row = rows[0]
    assert (row["verdict"], row["rule"]) == ("warn", "drift"), row
    msg = row["message"]
    assert "runs version 2.0.0" in msg and "version 2.1.0, which is newer" in msg, msg
    assert "%s/%s:prod@%s" % (reg.addr, repo, d2["index"]) in msg, msg
    b = wait_for(lambda: receiver.bodies(name) or None, "webhook POST",
                 timeout=10, interval=0.1)[0]
    assert (b["kind"], b["state"], b["newer_version"], b["tag_digest"]) == (
        "newer", "found", "2.1.0", d2["index"]), b
    assert b["tag"] == "%s/%s:prod" % (reg.addr, repo), b
    time.sleep(2 * INTERVAL)
    assert len(drift_rows(g, name)) == 1
    assert running(testbed, name)


def test_a_finding_outlives_a_restart(testbed, guard_factory, reg, kit,
                                      receiver, names):
    """What the watch reported is kept in the ledger: a restarted guard
    does not report a standing finding again, and a finding resolved while
    the guard was stopped is reported resolved once it is back."""
    repo = "drift-restart"
    d, ref = deployed(kit, reg, repo)
    g = guard_factory(guard_conf(drift_interval=INTERVAL,
                                 notify_url=receiver.url))
    name = testbed.unique("drift-")
    run_through(g, ref, name, names)
    reg.delete_manifest(repo, d["amd64"])
    wait_rows(g, name, 1, WITHIN)
    wait_for(lambda: receiver.bodies(name) or None, "webhook POST",
             timeout=10, interval=0.1)

    # restarted: rounds run, the finding stands, nothing is repeated
    assert g.stop() == 0, g.log_tail()
    g.start()
    time.sleep(3 * INTERVAL + 0.5)
    assert len(drift_rows(g, name)) == 1, drift_rows(g, name)
    assert len(receiver.bodies(name)) == 1, receiver.bodies(name)
    with open(g.log, "rb") as fh:
        assert b"drift watch: every" in fh.read(), g.log_tail()

    # resolved while the guard is stopped: reported when it is back
    assert g.stop() == 0, g.log_tail()
    kit.push("%s/%s:amd64" % (reg.addr, repo))
    assert reg.head_manifest(repo, d["amd64"])[0] == 200
    g.start()
    rows = wait_rows(g, name, 1, WITHIN, pred=lambda r: r["verdict"] == "allow")
    assert "drift resolved" in rows[0]["message"], rows
    states = wait_for(lambda: (lambda b: b if len(b) >= 2 else None)(
        [x["state"] for x in receiver.bodies(name)]), "resolved POST",
        timeout=10, interval=0.1)
    assert states == ["found", "resolved"], states
    time.sleep(2 * INTERVAL)
    assert len(drift_rows(g, name)) == 2, drift_rows(g, name)


def test_drift_interval_zero_runs_nothing(testbed, guard_factory, reg, kit,
                                          receiver, names):
    repo = "drift-off"
    d, ref = deployed(kit, reg, repo)
    g = guard_factory(guard_conf(notify_url=receiver.url))   # the default: 0
    name = testbed.unique("drift-")
    run_through(g, ref, name, names)
    reg.delete_manifest(repo, d["amd64"])
    time.sleep(3 * INTERVAL)
    assert drift_rows(g, name) == []
    assert receiver.bodies() == []
    with open(g.log) as fh:
        log = fh.read()
    assert "drift watch: every" not in log and "drift:" not in log, log[-2000:]

    # SIGHUP with drift_interval set starts the watch
    with open(g.config, "a") as fh:
        fh.write("drift_interval = %d\n" % INTERVAL)
    os.kill(g.pid, signal.SIGHUP)
    wait_rows(g, name, 1, WITHIN + 2)
    assert receiver.bodies(name), receiver.bodies()


def test_webhook_down_retries_logs_and_never_blocks(testbed, guard_factory, reg,
                                                    kit, names):
    repo = "drift-down"
    d, ref = deployed(kit, reg, repo)
    port = free_port()      # nobody listens there
    mport = free_port()
    g = guard_factory(guard_conf(drift_interval=INTERVAL, notify_tries=3,
                                 notify_timeout=2,
                                 metrics_listen="127.0.0.1:%d" % mport,
                                 notify_url="http://127.0.0.1:%d/x?k=pw-Q9z" % port))
    name = testbed.unique("drift-")
    run_through(g, ref, name, names)
    reg.delete_manifest(repo, d["amd64"])
    wait_rows(g, name, 1, WITHIN)

    # while it retries, requests are served at once
    for _ in range(20):
        t = time.monotonic()
        st = unix_http(g.sock, "GET", "/_ping", timeout=5)
        assert time.monotonic() - t < 0.5, "a ping took %.2f s" % (time.monotonic() - t)
        del st
        time.sleep(0.1)

    def gave_up():
        with open(g.log) as fh:
            text = fh.read()
        return "notify: giving up on a notice to http://127.0.0.1:%d after 3 tries" \
            % port in text and text
    text = wait_for(gave_up, "the webhook given up", timeout=20, interval=0.2,
                    on_fail=g.log_tail)
    assert "notify: POST to http://127.0.0.1:%d failed (try 1 of 3)" % port in text
    assert "(try 2 of 3)" in text, text[-3000:]
    assert "pw-Q9z" not in text
    assert g.alive()
    m = scrape_url("http://127.0.0.1:%d/metrics" % mport)
    assert get(m, "docker_guard_notify_failures_total") == 1, m
    # and a receiver that comes back gets the next finding
    recv = Receiver(port=port)
    try:
        kit.build_index(reg, repo, versions=("2.5.0", "2.5.0"))
        b = wait_for(lambda: recv.bodies(name) or None, "a POST after the "
                     "receiver came back", timeout=WITHIN + 10, interval=0.2,
                     on_fail=g.log_tail)
        assert b[0]["kind"] in ("newer", "missing"), b
    finally:
        recv.stop()
    assert running(testbed, name)


def test_webhook_that_never_answers_times_out(testbed, guard_factory, reg, kit,
                                              names):
    """A receiver that accepts and never answers: each POST ends at
    notify_timeout, is tried notify_tries times, then dropped with a log
    line; the guard serves requests meanwhile."""
    repo = "drift-silent"
    d, ref = deployed(kit, reg, repo)
    silent = SilentServer()
    try:
        g = guard_factory(guard_conf(drift_interval=INTERVAL, notify_tries=2,
                                     notify_timeout=1,
                                     notify_url="http://%s/h" % silent.addr))
        name = testbed.unique("drift-")
        run_through(g, ref, name, names)
        reg.delete_manifest(repo, d["amd64"])
        wait_rows(g, name, 1, WITHIN)
        t = time.monotonic()
        unix_http(g.sock, "GET", "/_ping", timeout=5)
        assert time.monotonic() - t < 0.5

        def gave_up():
            with open(g.log) as fh:
                text = fh.read()
            return ("notify: giving up on a notice to http://%s after 2 tries"
                    % silent.addr) in text and text
        text = wait_for(gave_up, "the silent webhook given up", timeout=15,
                        interval=0.2, on_fail=g.log_tail)
        assert "(try 1 of 2)" in text and "timed out" in text.lower(), text[-2000:]
        assert silent.accepted >= 2, silent.accepted
        assert g.alive()
    finally:
        silent.stop()


def test_other_platform_child_follows_check_all_platforms(testbed, guard_factory,
                                                           reg, kit, names):
    """Only the engine's platform's child counts, unless
    check_all_platforms = yes, as at create.  The second guard knows the
    container only from its first-start sync of the engine."""
    repo = "drift-arm"
    d, ref = deployed(kit, reg, repo)
    g = guard_factory(guard_conf(drift_interval=INTERVAL))
    name = testbed.unique("drift-")
    run_through(g, ref, name, names)
    g_all = guard_factory(guard_conf(drift_interval=INTERVAL,
                                     check_all_platforms="yes"))
    reg.delete_manifest(repo, d["arm64"])
    rows = wait_rows(g_all, name, 1, WITHIN)
    msg = rows[0]["message"]
    assert ("lists %s for linux/arm64, but the registry no longer has it"
            % d["arm64"]) in msg, msg
    time.sleep(2 * INTERVAL)   # g has had rounds since the deletion too
    assert drift_rows(g, name) == [], drift_rows(g, name)
    assert running(testbed, name)


def test_a_round_checks_at_most_drift_max_containers(testbed, guard_factory, reg,
                                                      kit, names):
    """drift_max_containers = 1: each round checks one container and the
    next round goes on with the next, so every container is reached."""
    repo = "drift-cap"
    d, ref = deployed(kit, reg, repo)
    g = guard_factory(guard_conf(drift_interval=INTERVAL, drift_max_containers=1,
                                 log_level="debug"))
    a, b = testbed.unique("drift-a-"), testbed.unique("drift-b-")
    run_through(g, ref, a, names)
    run_through(g, ref, b, names)
    reg.delete_manifest(repo, d["amd64"])
    # how many containers run on this engine (other tests' too) bounds how
    # many rounds it takes to reach both
    n = len(run([DOCKER, "ps", "-q"], env=testbed.direct_env,
                timeout=30).stdout.split())
    wait_rows(g, a, 1, (n + 1) * (INTERVAL + 1))
    wait_rows(g, b, 1, (n + 1) * (INTERVAL + 1))
    with open(g.log) as fh:
        log = fh.read()
    assert "containers run; checking 1 this round" in log, log[-2000:]
