"""Nothing the engine did is forgotten.

- The guard is killed (kill -9) during a burst of creates through it,
  containers are created and removed on the engine directly while it is
  down, and it is started again: every engine container has a ledger row,
  the direct ones are flagged out_of_band, the guard's own are not (even
  one whose ledger row was lost between the engine's 201 and the write:
  its create's intent, written before forwarding, names it), and the
  containers removed meanwhile are marked removed.
- dockerd restarts: containers created directly while the guard's event
  stream reconnects are recorded and flagged (events since the last one
  seen, plus a reconcile).
- The outcome of every allowed create is in the audit trail: 201, an
  error status, or no answer at all (502 to the client).

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_history.py
"""

import os
import shutil
import signal
import sqlite3
import tempfile
import threading
import time

import pytest

import fake_engine as fe
from testbed import wait_for
from test_stories import NONE, audit_cli, dg, dk, history_cli, rm_f


def rows_of(db, name):
    return [r for r in history_cli(db, name) if r["container_name"] == name]


def engine_names(env, prefix):
    r = dk(env, "ps", "-a", "--filter", "name=" + prefix, "--format",
           "{{.Names}}", timeout=60)
    assert r.returncode == 0, r.stderr
    return sorted(n for n in r.stdout.split() if n.startswith(prefix))


def flagged(db, name):
    return audit_cli(db, "--rule", "out_of_band", "--app", name)


def verify(db):
    v = dg("audit", "--verify", "--database", db)
    assert v.returncode == 0 and "audit trail intact" in v.stdout, (
        v.stdout, v.stderr)


def kill9(g):
    os.kill(g.pid, signal.SIGKILL)
    g.proc.popen.wait(timeout=10)
    g.proc.stopped = True


def test_kill9_during_a_burst_then_catch_up(testbed, guard_factory, app):
    direct = testbed.direct_env
    prefix = testbed.unique("hk") + "-"
    g = guard_factory("")
    try:
        # through the guard and recorded: one removed while the guard is
        # down, one whose ledger row is lost (see below)
        gone, lost = prefix + "gone", prefix + "lost"
        for n in (gone, lost):
            r = dk(g.env, "create", "--name", n, *NONE, app.digest_ref, "true")
            assert r.returncode == 0, r.stderr
            wait_for(lambda n=n: rows_of(g.db, n), "ledger row " + n,
                     timeout=20)
        lost_id = rows_of(g.db, lost)[0]["container_id"]

        # a burst of creates through the guard, killed in the middle
        results = {}

        def create(n):
            results[n] = dk(g.env, "create", "--name", n, *NONE,
                            app.digest_ref, "true", timeout=60)
        burst = [prefix + "burst%02d" % i for i in range(12)]
        threads = [threading.Thread(target=create, args=(n,)) for n in burst]
        for t in threads:
            t.start()
            time.sleep(0.05)
        time.sleep(0.2)
        kill9(g)
        for t in threads:
            t.join(90)

        # while the guard is down: created and removed on the engine
        direct_new = [prefix + "direct1", prefix + "direct2"]
        for n in direct_new:
            r = dk(direct, "create", "--name", n, *NONE, app.digest_ref,
                   "true")
            assert r.returncode == 0, r.stderr
        assert dk(direct, "rm", gone).returncode == 0
        # The guard killed between the engine's 201 and its ledger write:
        # staged by taking the row (and the create's outcome) back out of
        # the database, as if they had never been written.
        con = sqlite3.connect(g.db, timeout=10)
        try:
            with con:
                assert con.execute("DELETE FROM deployments WHERE "
                                   "container_id = ?", (lost_id,)).rowcount == 1
                if con.execute("SELECT count(*) FROM sqlite_master WHERE "
                               "name = 'creates'").fetchone()[0]:
                    assert con.execute(
                        "UPDATE creates SET status = NULL, container_id = "
                        "NULL, outcome_ms = NULL WHERE container_name = ?",
                        (lost,)).rowcount == 1
        finally:
            con.close()

        g.start()
        on_engine = engine_names(direct, prefix)
        assert set(direct_new) | {lost} <= set(on_engine), on_engine
        for n in on_engine:
            wait_for(lambda n=n: rows_of(g.db, n), "a ledger row for " + n,
                     timeout=30)
        for n in direct_new:
            rows = wait_for(lambda n=n: flagged(g.db, n),
                            "out_of_band row for " + n, timeout=30)
            assert len(rows) == 1 and rows[0]["verdict"] == "warn", rows
            assert rows_of(g.db, n)[0]["source"] in ("reconcile", "event")
        time.sleep(1)
        for n in on_engine:
            if n in direct_new:
                continue
            assert flagged(g.db, n) == [], n
            assert [r["source"] for r in rows_of(g.db, n)] == ["guard"], (
                n, rows_of(g.db, n))
        # the lost one, recognised by its intent, with its outcome
        outcomes = [a for a in audit_cli(g.db, "--rule", "outcome",
                                         "--app", lost)
                    if "recorded by the reconcile" in a["message"]]
        assert len(outcomes) == 1, audit_cli(g.db, "--app", lost)
        assert rows_of(g.db, lost)[0]["container_id"] == lost_id
        # removed while the guard was down
        wait_for(lambda: rows_of(g.db, gone)[-1]["removed"],
                 "the removal of " + gone, timeout=30)
        # every burst create that reached the engine has an outcome row
        for n in burst:
            if n in on_engine:
                assert any(a["verdict"] == "allow" for a in audit_cli(
                    g.db, "--rule", "outcome", "--app", n)), n
        verify(g.db)
    finally:
        rm_f(testbed, *engine_names(direct, prefix))


def test_dockerd_restart_reconnect_window(testbed, guard_factory, app):
    direct = testbed.direct_env
    prefix = testbed.unique("hr") + "-"
    g = guard_factory("")
    try:
        gone = prefix + "gone"
        r = dk(g.env, "create", "--name", gone, *NONE, app.digest_ref, "true")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: rows_of(g.db, gone), "ledger row " + gone,
                 timeout=20)
        # wait until the guard follows events again after its start
        time.sleep(2)

        testbed.dockerd.stop()
        # the guard backs off (1, 2, 4, 8 s ...): restart the engine right
        # after it chose to wait 8 s, so its stream is down for a while
        wait_for(lambda: "reconnecting in 8 s" in open(g.log).read(),
                 "the guard backing off 8 s", timeout=60)
        testbed.dockerd.start(testbed.docker_config)
        # at once, while the guard's event stream is still reconnecting
        new = [prefix + "new1", prefix + "new2"]
        for n in new:
            r = dk(direct, "create", "--name", n, *NONE, app.digest_ref,
                   "true")
            assert r.returncode == 0, r.stderr
        assert dk(direct, "rm", gone).returncode == 0
        for n in new:
            rows = wait_for(lambda n=n: flagged(g.db, n),
                            "out_of_band row for " + n, timeout=60)
            assert len(rows) == 1, rows
            assert len(rows_of(g.db, n)) == 1
        wait_for(lambda: rows_of(g.db, gone)[-1]["removed"],
                 "the removal of " + gone, timeout=60)
        verify(g.db)
    finally:
        rm_f(testbed, *engine_names(direct, prefix))


# --------------------------------------------------------------------------
# outcomes of allowed creates, against a scripted engine
# --------------------------------------------------------------------------

from test_wire import GOOD_CREATE, Guard, Reader, connect, create_req  # noqa: E402


@pytest.fixture
def fake(request):
    tmp = tempfile.mkdtemp(prefix="dgh-", dir="/tmp")
    engine = fe.FakeEngine(os.path.join(tmp, "engine.sock")).start()
    g = Guard(tmp, "g", engine.path, "").start()
    yield engine, g
    alive = g.alive()
    rc = g.stop()
    engine.stop()
    log = g.log_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert alive and rc == 0, "guard died or exited %s:\n%s" % (rc, log[-6000:])


def send_create(g, name):
    s = connect(g.listen, 30)
    try:
        s.sendall(create_req(GOOD_CREATE,
                             target=b"/v1.41/containers/create?name=" +
                             name.encode()))
        return Reader(s).response()
    finally:
        s.close()


def outcome_rows(db, name):
    return wait_for(lambda: audit_cli(db, "--rule", "outcome", "--app", name),
                    "the outcome row of " + name, timeout=20)


def test_outcomes_of_allowed_creates(fake):
    engine, g = fake

    def handler(req):
        if req.method == b"POST" and b"/containers/create" in req.target:
            if b"name=c502" in req.target:
                return fe.close()
            if b"name=c409" in req.target:
                return fe.raw(fe.json_response(
                    409, {"message": "Conflict. The name is in use"},
                    b"Conflict"))
        return None
    engine.reset(handler)

    r = send_create(g, "c502")
    assert r.status == 502, r.raw
    r = send_create(g, "c409")
    assert r.status == 409, r.raw
    r = send_create(g, "c201")
    assert r.status == 201, r.raw

    allow = {n: [a for a in audit_cli(g.database, "--app", n)
                 if a["rule"] != "outcome"] for n in ("c502", "c409", "c201")}
    for n, rows in allow.items():
        assert rows and rows[0]["verdict"] in ("allow", "warn"), (n, rows)
    got = outcome_rows(g.database, "c502")
    assert len(got) == 1 and got[0]["verdict"] == "error", got
    assert got[0]["message"].startswith(
        "outcome of decision %d: no answer from the engine" % allow["c502"][0]["id"]), got
    got = outcome_rows(g.database, "c409")
    assert len(got) == 1 and got[0]["verdict"] == "error", got
    assert got[0]["message"] == (
        "outcome of decision %d: the engine answered 409: Conflict. The name "
        "is in use; nothing was created" % allow["c409"][0]["id"]), got
    got = outcome_rows(g.database, "c201")
    assert len(got) == 1 and got[0]["verdict"] == "allow", got
    assert got[0]["message"] == (
        'outcome of decision %d: the engine created container "c201" (%s)'
        % (allow["c201"][0]["id"], fe.CONTAINER_ID[:12])), got
    verify(g.database)
