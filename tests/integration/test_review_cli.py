"""docker-guard's review commands against a real guard's database:
audit (table, --json, filters, --verify), history, apps, check and sync.

A module guard records a known sequence of decisions (creates allowed and
refused, an override, removals, a client with another uid) and keeps
running: every command here reads its database while it runs (WAL).
Filters are compared with the same question asked in SQL.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_review_cli.py
"""

import calendar
import os
import re
import shutil
import sqlite3
import time

import pytest

from testbed import run, wait_for
from test_stories import (DOCKER, GUARD_BIN, NONE, audit_cli, db_rows, dg, dk,
                          history_cli,
                          json_lines, rm_f)

NEW, OLD = "31.0.9.1", "31.0.8.1"
NOBODY = 65534
AUDIT_KEYS = {"id", "time", "uid", "gid", "pid", "process", "method", "route",
              "app", "image", "digest", "version", "previous_version", "rule",
              "verdict", "message", "latency_us", "hash"}
HISTORY_KEYS = {"app", "time", "version", "digest", "image", "image_id",
                "container_id", "container_name", "uid", "process", "source",
                "removed"}
APPS_KEYS = {"app", "current", "highest", "image", "live", "last_change"}


def utc(t, fmt):
    return time.strftime(fmt, time.gmtime(t))


# `docker-guard audit` lists decisions; the engine's answers to them
# (rule outcome) only when asked (--outcomes, --rule outcome).
DECISIONS = " AND rule IS NOT 'outcome'"


def count(db, where="1", args=()):
    return db_rows(db, "SELECT count(*) AS n FROM audit WHERE (%s)%s"
                   % (where, DECISIONS), args)[0]["n"]


def ids(db, where="1", args=(), only=DECISIONS):
    return [r["id"] for r in db_rows(db, "SELECT id FROM audit WHERE (%s)%s "
                                     "ORDER BY id" % (where, only), args)]


def stable(db, fn, where, args=()):
    """fn() and the SQL ids for where, asked until no row arrived in
    between (the guard keeps writing: events of other containers)."""
    for _ in range(5):
        before = ids(db, where, args)
        got = fn()
        if ids(db, where, args) == before:
            return got, before
        time.sleep(0.5)
    raise AssertionError("the audit trail kept changing")


def copy_db(src, dst):
    """A consistent copy (WAL included) with SQLite's backup API."""
    s = sqlite3.connect("file:%s?mode=ro" % src, uri=True, timeout=10)
    d = sqlite3.connect(dst, timeout=10)
    try:
        s.backup(d)
    finally:
        s.close()
        d.close()
    return dst


def sqlite_cli(db, sql):
    """Edit a database the way an operator would: the sqlite3 shell."""
    if shutil.which("sqlite3"):
        run(["sqlite3", db, sql], timeout=30)
    else:
        con = sqlite3.connect(db, timeout=10)
        try:
            with con:
                con.execute(sql)
        finally:
            con.close()


class Review:
    """What the module guard was asked, and what it should have recorded."""


@pytest.fixture(scope="module")
def rv(testbed):
    """A guard of this module's own (socket 0666 so that uid 65534 can use
    it), and a known sequence of decisions in its database."""
    g = testbed.start_guard("socket_mode = 0666\n", name=testbed.unique("rv"))
    new, old = testbed.images[NEW], testbed.images[OLD]
    r = Review()
    r.g, r.db, r.new, r.old = g, g.db, new, old
    tag = testbed.unique("")
    r.A, r.B, r.C, r.D = ("rv%s-%s" % (x, tag) for x in "abcd")
    made = [r.A, r.A + "-tag", r.B, r.C, r.C + "-2", r.D]
    unnamed = []
    env = g.env

    def ok(res):
        assert res.returncode == 0, res.stderr + g.log_tail()
        return res.stdout.strip()

    def refused(res):
        assert res.returncode != 0, "not refused: " + res.stdout
        return res.stderr

    try:
        # batch 1
        r.a1 = ok(dk(env, "create", "--name", r.A, *NONE, old.digest_ref, "true"))
        refused(dk(env, "create", "--name", r.A + "-tag", "--label",
                   "io.docker-guard.app=" + r.A, *NONE, new.registry_ref, "true"))
        ok(dk(env, "create", "--name", r.D, *NONE, old.digest_ref, "true"))
        # a clean second boundary between the batches
        r.split = int(time.time()) + 1
        time.sleep(max(0.0, r.split - time.time()) + 0.05)
        # batch 2
        ok(dk(env, "rm", r.A))
        r.a2 = ok(dk(env, "create", "--name", r.A, *NONE, new.digest_ref, "true"))
        # an unnamed create of app A (as `docker-guard check --app A` sees it)
        msg = refused(dk(env, "create", "--label", "io.docker-guard.app=" + r.A,
                         *NONE, old.digest_ref, "true"))
        r.downgrade_msg = msg[msg.index("docker-guard: refusing"):].strip()
        # another user (uid 65534) through the same socket
        home = testbed.tmpdir("nobody")
        os.chmod(home, 0o777)
        nb_env = dict(env, HOME=home, DOCKER_CONFIG=home)
        ok(run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                "--clear-groups", DOCKER, "create", "--name", r.B, *NONE,
                new.digest_ref, "true"], env=nb_env, timeout=60, check=False))
        ok(dk(env, "rm", r.B))
        # C: 31.0.9.1, then a deliberate rollback to 31.0.8.1, then the
        # 31.0.9.1 container goes
        ok(dk(env, "create", "--name", r.C, *NONE, new.digest_ref, "true"))
        ok(dk(env, "create", "--name", r.C + "-2", "--label", "io.docker-guard.app=" + r.C,
              "--label", "io.docker-guard.allow-downgrade=review test", *NONE,
              old.digest_ref, "true"))
        ok(dk(env, "rm", r.C))
        # removals reach the ledger through the engine's events
        wait_for(lambda: db_rows(r.db, "SELECT count(*) AS n FROM deployments "
                                 "WHERE removed_at IS NOT NULL AND app IN (?, ?, ?)",
                                 (r.A, r.B, r.C))[0]["n"] == 3,
                 "3 removals in the ledger", timeout=20)
        r.until_split = utc(r.split - 1, "%Y-%m-%dT%H:%M:%SZ")
        r.since_split = utc(r.split, "%Y-%m-%d %H:%M:%S")
        yield r
    finally:
        out = dk(testbed.direct_env, "ps", "-aq", "--filter",
                 "label=io.docker-guard.app=" + r.A).stdout.split()
        rm_f(testbed, *(made + out + unnamed))
        alive = g.alive()
        status = g.stop()
        assert alive and status == 0, "review guard: alive=%s exit=%s\n%s" % (
            alive, status, g.log_tail())


@pytest.fixture(autouse=True)
def _review_guard_runs(rv):
    """Every command here runs while the guard runs (and it survives)."""
    assert rv.g.alive()
    yield
    assert rv.g.alive(), rv.g.log_tail()


# --------------------------------------------------------------------------
# audit
# --------------------------------------------------------------------------

def test_audit_table_and_json(rv):
    rows, sql = stable(rv.db, lambda: audit_cli(rv.db), "1")
    assert [a["id"] for a in rows] == sql and len(sql) >= 8, rows
    for a in rows:
        assert set(a) == AUDIT_KEYS, sorted(a)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", a["time"]), a
        assert a["verdict"] in ("allow", "warn", "deny", "error"), a
    mine = [a for a in rows if a["app"] in (rv.A, rv.B, rv.C, rv.D)]
    assert [(a["app"], a["verdict"], a["rule"], a["version"]) for a in mine] == [
        (rv.A, "allow", None, OLD),
        (rv.A, "deny", "require_digest", NEW),
        (rv.D, "allow", None, OLD),
        (rv.A, "allow", None, NEW),
        (rv.A, "deny", "downgrade", OLD),
        (rv.B, "allow", None, NEW),
        (rv.C, "allow", None, NEW),
        (rv.C, "allow", "override", OLD),
    ], mine
    deny = mine[4]
    assert (deny["previous_version"], deny["image"], deny["uid"], deny["process"],
            deny["method"], deny["route"]) == (
        NEW, rv.old.digest_ref, 0, "docker", "POST", "containers/create"), deny
    assert deny["message"] == rv.downgrade_msg, deny
    assert mine[5]["uid"] == NOBODY, mine[5]

    table = dg("audit", "--app", rv.A, "--database", rv.db)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("TIME (UTC)") and lines[0].split()[:3] == [
        "TIME", "(UTC)", "VERDICT"], lines[0]
    for h in ("RULE", "APP", "IMAGE", "VERSION", "PREVIOUS", "CLIENT", "MESSAGE"):
        assert h in lines[0].split(), lines[0]
    body = lines[1:]
    assert len(body) == count(rv.db, "app = ?", (rv.A,)) == 4, table.stdout
    for line, a in zip(body, [m for m in mine if m["app"] == rv.A]):
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  +%s " % a["verdict"], line), line
        assert rv.A in line and "uid 0 docker[" in line, line
    assert "downgrade" in body[3] and rv.downgrade_msg in body[3], body[3]


@pytest.mark.parametrize("args,where,sql_args", [
    (("--app", "A"), "app = ?", ("A",)),
    (("--verdict", "deny"), "verdict = 'deny'", ()),
    (("--rule", "downgrade"), "rule = 'downgrade'", ()),
    (("--uid", str(NOBODY)), "uid = %d" % NOBODY, ()),
    (("--uid", "0"), "uid = 0", ()),
    (("--since", "SPLIT"), "time_ms >= ?", ("SPLIT_MS",)),
    (("--until", "UNTIL"), "time_ms <= ?", ("UNTIL_MS",)),
    (("--app", "A", "--verdict", "deny"), "app = ? AND verdict = 'deny'", ("A",)),
], ids=["app", "verdict", "rule", "uid-nobody", "uid-root", "since-stamp",
        "until-stamp", "app-and-verdict"])
def test_audit_filters_match_sql(rv, args, where, sql_args):
    subst = {"A": rv.A, "SPLIT": rv.since_split, "UNTIL": rv.until_split,
             "SPLIT_MS": rv.split * 1000, "UNTIL_MS": rv.split * 1000 - 1}
    args = [subst.get(a, a) for a in args]
    sql_args = tuple(subst.get(a, a) for a in sql_args)
    rows, want = stable(rv.db, lambda: audit_cli(rv.db, *args), where, sql_args)
    total = count(rv.db)
    assert [a["id"] for a in rows] == want, (args, rows)
    # each filter really filters: some rows, not all
    assert 0 < len(want) < total, (args, len(want), total)


def test_audit_since_duration_limit_and_bad_values(rv):
    now_ms = int(time.time() * 1000)
    rows, want = stable(rv.db, lambda: audit_cli(rv.db, "--since", "1h"),
                        "time_ms >= ?", (now_ms - 3600 * 1000,))
    assert [a["id"] for a in rows] == want and len(want) == count(rv.db), rows
    # a duration that ends before the module started: nothing
    assert audit_cli(rv.db, "--until", "2h") == []
    # the newest 2, oldest first
    rows, every = stable(rv.db, lambda: audit_cli(rv.db, "--limit", "2"), "1")
    assert [a["id"] for a in rows] == every[-2:], rows
    rows = audit_cli(rv.db, "--app", rv.A, "--limit", "2")
    assert [(a["verdict"], a["rule"]) for a in rows] == [
        ("allow", None), ("deny", "downgrade")], rows
    # bad values: exit 2, a clear message
    r = dg("audit", "--since", "yesterday", "--database", rv.db)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout)
    assert '"yesterday" is neither a duration (24h) nor a timestamp' in r.stderr, r.stderr
    for bad in (("--until", "2026-13-01"), ("--verdict", "maybe"),
                ("--limit", "0"), ("--uid", "root")):
        r = dg("audit", *bad, "--database", rv.db)
        assert r.returncode == 2 and r.stderr.startswith("docker-guard audit: "), (
            bad, r.returncode, r.stderr)


def test_audit_verify_intact_then_altered_then_row_removed(rv, testbed):
    r = dg("audit", "--verify", "--database", rv.db)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.startswith("audit trail intact: "), r.stdout
    n = int(re.search(r"intact: (\d+) rows", r.stdout).group(1))
    assert n >= 8

    d = testbed.tmpdir("verify")
    # a row's message altered
    altered = copy_db(rv.db, os.path.join(d, "altered.db"))
    rows = ids(altered, only="")
    mid = rows[len(rows) // 2]
    sqlite_cli(altered, "UPDATE audit SET message = 'nothing to see' WHERE id = %d" % mid)
    r = dg("audit", "--verify", "--database", altered)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "audit trail BROKEN: row %d was altered" % mid in r.stdout, r.stdout
    # a middle row removed: the row after it does not follow
    removed = copy_db(rv.db, os.path.join(d, "removed.db"))
    sqlite_cli(removed, "DELETE FROM audit WHERE id = %d" % mid)
    after = [i for i in ids(removed, only="") if i > mid][0]
    r = dg("audit", "--verify", "--database", removed)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "audit trail BROKEN: row %d does not follow the row before it" % after \
        in r.stdout, r.stdout
    # the guard's own database is untouched
    assert dg("audit", "--verify", "--database", rv.db).returncode == 0


def test_audit_verify_altered_while_the_guard_runs(testbed, guard_factory):
    g = guard_factory("")
    img = testbed.images[NEW]
    names = [testbed.unique("vfy-") for _ in range(3)]
    try:
        for n in names:
            r = dk(g.env, "create", "--name", n, *NONE, img.digest_ref, "true")
            assert r.returncode == 0, r.stderr
        rows = ids(g.db)
        assert len(rows) == 3, rows
        sqlite_cli(g.db, "UPDATE audit SET message = 'edited' WHERE id = %d" % rows[1])
        r = dg("audit", "--verify", "--database", g.db)
        assert r.returncode == 1 and \
            "row %d was altered: its hash does not match its contents" % rows[1] \
            in r.stdout, (r.stdout, r.stderr)
        # the guard goes on writing; the first broken row is still named
        r = dk(g.env, "create", "--name", names[0] + "x", *NONE,
               img.registry_ref, "true")
        names.append(names[0] + "x")
        assert r.returncode != 0
        assert len(ids(g.db)) == 4
        r = dg("audit", "--verify", "--database", g.db)
        assert r.returncode == 1 and "row %d was altered" % rows[1] in r.stdout, r.stdout
    finally:
        rm_f(testbed, *names)


# --------------------------------------------------------------------------
# history and apps
# --------------------------------------------------------------------------

def test_history_table_json_and_unknown_app(rv):
    hist = history_cli(rv.db, rv.A)
    assert all(set(e) == HISTORY_KEYS for e in hist), hist
    sql = db_rows(rv.db, "SELECT * FROM deployments WHERE app = ? ORDER BY "
                  "created_at, id", (rv.A,))
    assert [(e["container_id"], e["version"], e["image"], e["source"])
            for e in hist] == [(s["container_id"], s["version"], s["image_ref"],
                                s["source"]) for s in sql], (hist, sql)
    assert [(e["container_id"], e["version"], e["container_name"], e["source"],
             e["uid"], e["process"]) for e in hist] == [
        (rv.a1, OLD, rv.A, "guard", 0, "docker"),
        (rv.a2, NEW, rv.A, "guard", 0, "docker")], hist
    assert hist[0]["removed"] is not None and hist[1]["removed"] is None, hist
    assert hist[1]["digest"] == rv.new.digest_ref, hist
    b = history_cli(rv.db, rv.B)
    assert [(e["uid"], e["version"]) for e in b] == [(NOBODY, NEW)], b

    r = dg("history", rv.A, "--database", rv.db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["APP", "TIME", "(UTC)", "VERSION", "DIGEST",
                                "CONTAINER", "WHO", "SOURCE", "REMOVED"], lines[0]
    assert len(lines) == 3, r.stdout
    assert OLD in lines[1] and "%s (%s)" % (rv.A, rv.a1[:12]) in lines[1], lines
    assert NEW in lines[2] and "%s (%s)" % (rv.A, rv.a2[:12]) in lines[2], lines
    assert "uid 0 docker" in lines[1] and "guard" in lines[1], lines

    # every app, as one table
    r = dg("history", "--database", rv.db)
    assert r.returncode == 0
    for app in (rv.A, rv.B, rv.C, rv.D):
        assert app in r.stdout, app

    # an app the ledger never saw
    for extra in ((), ("--json",)):
        r = dg("history", "no-such-app-" + rv.A, *extra, "--database", rv.db)
        assert r.returncode == 1, (extra, r.returncode, r.stdout)
        assert 'no history for app "no-such-app-%s"' % rv.A in r.stderr, (extra, r.stderr)


def test_apps_current_and_highest(rv):
    r = dg("apps", "--json", "--database", rv.db)
    assert r.returncode == 0, r.stderr
    apps = {a["app"]: a for a in json_lines(r.stdout)}
    assert all(set(a) == APPS_KEYS for a in apps.values()), apps
    got = {k: (apps[k]["current"], apps[k]["highest"], apps[k]["live"])
           for k in (rv.A, rv.B, rv.C, rv.D)}
    assert got == {rv.A: (NEW, NEW, 1),
                   rv.B: (None, NEW, 0),
                   rv.C: (OLD, NEW, 1),
                   rv.D: (OLD, OLD, 1)}, got
    assert apps[rv.A]["image"] == rv.new.digest_ref, apps[rv.A]
    assert apps[rv.C]["image"] == rv.old.digest_ref, apps[rv.C]

    r = dg("apps", "--database", rv.db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["APP", "CURRENT", "HIGHEST", "IMAGE"], lines[0]
    row = {l.split()[0]: l.split() for l in lines[1:]}
    assert row[rv.A][1:3] == [NEW, NEW], row[rv.A]
    assert row[rv.B][1:4] == ["(none", "running)", NEW], row[rv.B]
    assert row[rv.C][1:3] == [OLD, NEW], row[rv.C]
    assert row[rv.D][1:3] == [OLD, OLD], row[rv.D]


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------

def check_cmd(rv, testbed, image, app):
    return dg("check", image, "--app", app, "--config", rv.g.config,
              "--database", rv.db, "--upstream", testbed.dockerd.sock,
              timeout=90)


def test_check_is_a_dry_run_with_the_guards_message(rv, testbed):
    before = ids(rv.db)
    # newer than what D ran, equal to what A runs, an app never seen
    for image, app in ((rv.new.digest_ref, rv.D), (rv.new.digest_ref, rv.A),
                       (rv.old.digest_ref, "never-seen-" + rv.A)):
        r = check_cmd(rv, testbed, image, app)
        assert r.returncode == 0, (image, app, r.stdout, r.stderr)
        assert r.stdout.splitlines()[0] == "allowed", r.stdout

    # older than A runs: the guard's own refusal, word for word
    r = check_cmd(rv, testbed, rv.old.digest_ref, rv.A)
    assert r.returncode == 1, (r.stdout, r.stderr)
    first = r.stdout.splitlines()[0]
    assert first == "refused (403): " + rv.downgrade_msg, (first, rv.downgrade_msg)

    # a tag-only reference: refused with the pinned reference to use
    r = check_cmd(rv, testbed, rv.new.registry_ref, rv.A)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "image %s is not pinned by digest" % rv.new.registry_ref in r.stdout, r.stdout
    assert "(rule: require_digest). Pin it by digest: %s@%s." % (
        rv.new.registry_ref, rv.new.digest_ref.split("@", 1)[1]) in r.stdout, r.stdout

    # a dry run: not a single audit row, nothing created
    assert ids(rv.db) == before
    assert dk(testbed.direct_env, "ps", "-aq", "--filter",
              "label=io.docker-guard.app=never-seen-" + rv.A).stdout.strip() == ""


# --------------------------------------------------------------------------
# sync
# --------------------------------------------------------------------------

def test_sync_records_direct_containers_once(testbed, guard_factory):
    img = testbed.images[NEW]
    g = guard_factory("")
    made = []
    try:
        # the guard knows every container (seeded), then stops
        wait_for(lambda: db_rows(g.db, "SELECT value FROM meta WHERE key = "
                                 "'synced'"), "the first sync", timeout=20)
        assert g.stop() == 0
        # meanwhile, on the engine's own socket
        for _ in range(2):
            made.append(testbed.unique("sync-"))
            r = dk(testbed.direct_env, "create", "--name", made[-1], *NONE,
                   img.digest_ref, "true")
            assert r.returncode == 0, r.stderr
        args = ("--database", g.db, "--config", g.config,
                "--upstream", testbed.dockerd.sock)
        r = dg("sync", *args)
        assert (r.returncode, r.stdout) == (
            0, "sync: 2 container(s) recorded in the ledger\n"), (r.stdout, r.stderr)
        for n in made:
            assert [(e["container_name"], e["version"], e["source"])
                    for e in history_cli(g.db, n)] == [(n, NEW, "sync")]
        r = dg("sync", *args)
        assert (r.returncode, r.stdout) == (
            0, "sync: 0 container(s) recorded in the ledger\n"), (r.stdout, r.stderr)
        # quietly: no audit rows for them
        assert audit_cli(g.db, "--app", made[0]) == []

        # with the guard running (WAL): nothing left to record
        g.start()
        wait_for(lambda: not any(db_rows(g.db, "SELECT 1 FROM deployments WHERE "
                                         "container_id = ?", (c,)) == []
                                 for c in dk(testbed.direct_env, "ps", "-aq",
                                             "--no-trunc").stdout.split()),
                 "the ledger knows every container", timeout=20)
        r = dg("sync", *args)
        assert (r.returncode, r.stdout) == (
            0, "sync: 0 container(s) recorded in the ledger\n"), (r.stdout, r.stderr)
        assert g.alive()
    finally:
        rm_f(testbed, *made)


# --------------------------------------------------------------------------
# a database that is not there
# --------------------------------------------------------------------------

def test_missing_database_is_a_clear_error(testbed, rv):
    d = testbed.tmpdir("nodb")
    path = os.path.join(d, "absent", "guard.db")
    for cmd in (("audit",), ("audit", "--json"), ("audit", "--verify"),
                ("history",), ("history", rv.A), ("apps",),
                ("check", rv.old.digest_ref, "--app", rv.A,
                 "--upstream", testbed.dockerd.sock)):
        r = dg(*cmd, "--database", path, timeout=90)
        assert r.returncode == 1, (cmd, r.returncode, r.stdout)
        assert "cannot open the database %s" % path in r.stderr, (cmd, r.stderr)
        # a dry run on a typo'd path must not answer from an empty ledger
        assert "allowed" not in r.stdout, (cmd, r.stdout)
        assert not os.path.exists(path), "%s created %s" % (cmd, path)
        assert not os.path.exists(os.path.dirname(path)), \
            "%s created %s" % (cmd, os.path.dirname(path))


@pytest.mark.parametrize("database", ["guard.db", "./guard.db", "sub/guard.db"])
def test_sync_creates_a_relative_database(testbed, database):
    """A database path relative to the working directory, with or without
    a directory part, is created there (a bare file name once crashed)."""
    d = testbed.tmpdir("reldb")
    r = run([GUARD_BIN, "sync", "--database", database, "--upstream",
             testbed.dockerd.sock], cwd=d, timeout=90, check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "recorded in the ledger" in r.stdout, r.stdout
    assert os.path.exists(os.path.join(d, database))
