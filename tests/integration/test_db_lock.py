"""The database never blocks the guard's event loop.

A `sqlite3` shell or a backup that holds a lock on the guard's database
must not stall other clients: passthrough requests keep flowing, guarded
creates fail closed with the database message after a bounded wait (or go
through once the lock is gone), and every write the guard could not make
while the database was locked (removals, out-of-band containers, audit
rows) lands once it can.  A full disk is the same story: writes are kept
and retried, nothing is lost once space returns.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_db_lock.py
"""

import os
import sqlite3
import threading
import time

import pytest

from testbed import run, unix_http, wait_for
from test_stories import (GUARD_BIN, NONE, audit_cli, db_rows, dg, dk,
                          history_cli, rm_f)

LOCK_SECONDS = 10.0
PING_LIMIT = 0.100


def sanitized():
    """Is the guard under test an ASan build?  (Several times slower: on
    the loaded 2-core test machine single pings through it reach 200 ms
    whatever the database does.)"""
    r = run(["ldd", GUARD_BIN], check=False, timeout=30)
    return "libasan" in r.stdout


# A loop stalled by a lock takes the whole busy timeout (1 s before this
# change); an ASan build gets a looser bound than 100 ms, never a second.
STALL_LIMIT = 0.500


def ping_latencies(socks, stop, outs, errors):
    """GET /_ping on each socket in turn until stop is set (bounded)."""
    for _ in range(100000):
        for sock, out in zip(socks, outs):
            if stop.is_set():
                return
            t0 = time.monotonic()
            try:
                status, _ = unix_http(sock, "GET", "/_ping", timeout=30)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return
            out.append((time.monotonic() - t0, status, t0))
        time.sleep(0.02)


def hold_lock(db, seconds, locked):
    """BEGIN EXCLUSIVE on the guard's database for seconds."""
    con = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        con.execute("COMMIT")
    finally:
        con.close()


def live(db, name):
    rows = [r for r in history_cli(db, name) if r["container_name"] == name]
    return rows


def test_locked_database_never_stalls_clients(testbed, guard_factory, app):
    g = guard_factory("")
    direct = testbed.direct_env
    names = []
    try:
        # recorded through the guard before the lock: removed during it
        pre = testbed.unique("lk-pre-")
        names.append(pre)
        r = dk(g.env, "create", "--name", pre, *NONE, app.digest_ref, "true")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: live(g.db, pre), "the ledger row of " + pre,
                 timeout=20)

        stop, locked = threading.Event(), threading.Event()
        # the engine's own socket alongside, to tell the machine's load
        # (2 cores, other work) from the guard
        lat, direct_lat, errors = [], [], []
        locker = threading.Thread(target=hold_lock,
                                  args=(g.db, LOCK_SECONDS, locked))
        pinger = threading.Thread(target=ping_latencies,
                                  args=((g.sock, testbed.dockerd.sock), stop,
                                        (lat, direct_lat), errors))
        pinger.start()
        time.sleep(0.5)
        locker.start()
        assert locked.wait(10), "could not lock the database"
        t_locked = time.monotonic()
        try:
            # database work for the guard while it is locked: a removal
            # through it, containers created and removed on the engine
            # directly (events), and a guarded create
            r = dk(g.env, "rm", pre)
            assert r.returncode == 0, r.stderr
            oob = []
            for i in range(3):
                n = testbed.unique("lk-oob-")
                names.append(n)
                r = dk(direct, "create", "--name", n, *NONE, app.digest_ref,
                       "true")
                assert r.returncode == 0, r.stderr
                oob.append(n)
                time.sleep(0.5)
            gone = testbed.unique("lk-gone-")
            r = dk(direct, "create", "--name", gone, *NONE, app.digest_ref,
                   "true")
            assert r.returncode == 0, r.stderr
            assert dk(direct, "rm", gone).returncode == 0
            created = testbed.unique("lk-create-")
            names.append(created)
            t0 = time.monotonic()
            cr = dk(g.env, "create", "--name", created, *NONE,
                    app.digest_ref, "true", timeout=60)
            took = time.monotonic() - t0
            still_locked = time.monotonic() - t_locked < LOCK_SECONDS - 0.5
        finally:
            locker.join(LOCK_SECONDS + 20)
            time.sleep(1)
            stop.set()
            pinger.join(40)
        assert not errors, errors
        assert len(lat) > 50, "too few pings: %d" % len(lat)
        assert all(s == 200 for _, s, _ in direct_lat), direct_lat
        assert all(s == 200 for _, s, _ in lat), lat
        worst = max(t for t, _, _ in lat)
        direct_worst = max(t for t, _, _ in direct_lat)
        slow = [(round(t * 1000), round(w - t_locked, 2))
                for t, _, w in lat if t >= PING_LIMIT]
        print("database locked %.0f s: %d pings through the guard, worst "
              "%.1f ms, median %.1f ms (engine direct: worst %.1f ms); "
              "guarded create %s in %.2f s; slow: %s" % (
                  LOCK_SECONDS, len(lat), worst * 1000,
                  sorted(t for t, _, _ in lat)[len(lat) // 2] * 1000,
                  direct_worst * 1000,
                  "refused" if cr.returncode else "created", took, slow))
        # No ping over 100 ms (more than the engine's own worst beyond
        # 100 ms: on a loaded 2-core machine the engine alone takes over
        # 100 ms now and then).
        slack = max(0.0, direct_worst - PING_LIMIT)
        limit = min(0.9, STALL_LIMIT + slack) if sanitized() else \
            PING_LIMIT + slack
        assert worst < limit, (
            "a ping took %.3f s while the database was locked (%d pings, "
            "slow ones (ms, s after the lock): %s; the engine's worst "
            "%.3f s)" % (worst, len(lat), slow, direct_worst))

        # the guarded create during the lock: fail closed, bounded
        assert took < 6, "the guarded create took %.1f s" % took
        if cr.returncode != 0:
            assert still_locked, cr.stderr
            assert "the audit trail cannot be written" in cr.stderr, cr.stderr
            assert "database is locked" in cr.stderr, cr.stderr
            assert inspect_missing(direct, created)
        # after the lock: every kept write lands
        wait_for(lambda: live(g.db, pre) and live(g.db, pre)[-1]["removed"],
                 "the removal of %s recorded" % pre, timeout=20)
        for n in oob:
            rows = wait_for(lambda n=n: audit_cli(g.db, "--rule",
                                                  "out_of_band", "--app", n),
                            "out_of_band row for " + n, timeout=20)
            assert len(rows) == 1, rows
            assert [h["source"] for h in live(g.db, n)] == ["event"]
        if cr.returncode != 0:
            rows = wait_for(lambda: [a for a in audit_cli(
                g.db, "--rule", "ledger") if created in a["message"]],
                "the fail-closed refusal recorded", timeout=20)
            assert rows[0]["verdict"] == "error", rows
        else:
            wait_for(lambda: live(g.db, created), "the create recorded",
                     timeout=20)
        v = dg("audit", "--verify", "--database", g.db)
        assert v.returncode == 0 and "audit trail intact" in v.stdout, v.stdout
    finally:
        rm_f(testbed, *names)


def inspect_missing(env, name):
    return dk(env, "inspect", name, timeout=30).returncode != 0


def test_create_waits_out_a_short_lock(testbed, guard_factory, app):
    """A lock shorter than the bounded wait only delays a create."""
    g = guard_factory("")
    name = testbed.unique("lk-short-")
    try:
        locked = threading.Event()
        locker = threading.Thread(target=hold_lock, args=(g.db, 1.0, locked))
        locker.start()
        assert locked.wait(10)
        t0 = time.monotonic()
        r = dk(g.env, "create", "--name", name, *NONE, app.digest_ref, "true",
               timeout=60)
        took = time.monotonic() - t0
        locker.join(20)
        assert r.returncode == 0, r.stderr
        assert took < 5, took
        rows = wait_for(lambda: live(g.db, name), "the ledger row",
                        timeout=20)
        assert rows[0]["source"] == "guard", rows
    finally:
        rm_f(testbed, name)


@pytest.fixture
def tiny_fs(testbed):
    """A 2 MiB tmpfs for a guard's database, unmounted afterwards."""
    d = testbed.tmpdir("fullfs")
    r = run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", d],
            check=False, timeout=30)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr)
    yield d
    run(["umount", "-l", d], check=False, timeout=30)


def fill(path):
    """Fill the file system holding path; returns the filler's path."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(10000):
            try:
                os.write(fd, b"\0" * 4096)
            except OSError:
                break
    finally:
        os.close(fd)
    return filler


def test_full_disk_keeps_writes_until_space_returns(testbed, guard_factory,
                                                    app, tiny_fs):
    g = guard_factory("")
    g.stop()
    db = os.path.join(tiny_fs, "guard.db")
    g.db = db
    # the same guard, its database on the tiny file system
    cmd = g.command()
    cmd[cmd.index("--database") + 1] = db
    g.command = lambda: cmd
    g.start()
    direct = testbed.direct_env
    names = []
    try:
        # warm up: the guard has written its first rows (engine version)
        wait_for(lambda: db_rows(db, "SELECT value FROM meta WHERE key = "
                                 "'engine_version'"), "the first rows",
                 timeout=20)
        filler = fill(tiny_fs)
        # on the full disk: containers created directly (flagged and
        # recorded by the guard) and one through it then removed
        for i in range(3):
            n = testbed.unique("full-oob-")
            names.append(n)
            r = dk(direct, "create", "--name", n, *NONE, app.digest_ref,
                   "--label", "pad=" + "x" * 3000, "true")
            assert r.returncode == 0, r.stderr
        time.sleep(4)
        assert g.alive()
        # passthrough still flows
        status, _ = unix_http(g.sock, "GET", "/_ping", timeout=5)
        assert status == 200
        os.unlink(filler)
        for n in names:
            rows = wait_for(lambda n=n: audit_cli(db, "--rule", "out_of_band",
                                                  "--app", n),
                            "out_of_band row for " + n, timeout=30)
            assert len(rows) == 1, rows
            assert [h["source"] for h in live(db, n)] == ["event"]
        log = open(g.log, errors="replace").read()
        assert "kept, trying again" in log, log[-3000:]
        assert "given up" not in log, log[-3000:]
    finally:
        rm_f(testbed, *names)
        g.stop()
