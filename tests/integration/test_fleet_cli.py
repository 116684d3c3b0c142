"""The fleet ledger from the command line: `docker-guard ledger import`
(idempotent, watermark per host) and `history --fleet`, `apps --fleet`,
`audit --fleet`, against a private PostgreSQL 15 per test (pgtest.py).

A module guard (plain SQLite ledger) records real rows in front of the
test dockerd; each test imports a consistent copy of its database.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_fleet_cli.py
"""

import json
import os
import re
import sqlite3

import pytest

import pgtest
from test_stories import NONE, dg, dk, json_lines, rm_f
from testbed import wait_for

NEW, OLD = "31.0.9.1", "31.0.8.1"

pytestmark = pytest.mark.skipif(not pgtest.available(),
                                reason="PostgreSQL 15 (and root) needed")


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


def rows(db, sql, args=()):
    con = sqlite3.connect(db, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def pg_rows(pg, sql, db="fleet"):
    """Rows of sql as lists of text (NULL prints as '': coalesce it)."""
    out = pg.psql(sql, db=db)
    return [line.split("|") for line in out.splitlines() if line != ""]


class Fleet:
    """The module guard's database and what was done through it."""


@pytest.fixture(scope="module")
def fleet(testbed):
    g = testbed.start_guard("", name=testbed.unique("fl"))
    new, old = testbed.images[NEW], testbed.images[OLD]
    tag = testbed.unique("")
    f = Fleet()
    f.g, f.A, f.D = g, "fla-" + tag, "fld-" + tag
    made = [f.A, f.A + "-tag", f.D]

    def ok(res):
        assert res.returncode == 0, res.stderr + g.log_tail()
        return res.stdout.strip()

    try:
        ok(dk(g.env, "create", "--name", f.A, *NONE, old.digest_ref, "true"))
        assert dk(g.env, "create", "--name", f.A + "-tag", "--label",
                  "io.docker-guard.app=" + f.A, *NONE, new.registry_ref,
                  "true").returncode != 0
        ok(dk(g.env, "create", "--name", f.D, *NONE, old.digest_ref, "true"))
        ok(dk(g.env, "rm", f.A))
        ok(dk(g.env, "create", "--name", f.A, *NONE, new.digest_ref, "true"))
        f.more = lambda name: ok(dk(g.env, "create", "--name", name, "--label",
                                    "io.docker-guard.app=" + name, *NONE,
                                    new.digest_ref, "true"))
        f.made = made
        yield f
    finally:
        rm_f(testbed, *made)
        alive = g.alive()
        status = g.stop()
        assert alive and status == 0, g.log_tail()


@pytest.fixture
def pg(tmp_path, request):
    server = pgtest.start_postgres(tmp_path)
    request.addfinalizer(server.stop)
    server.conn = server.create_user_db("guard", "fleet")
    return server


def snapshot(fleet, tmp_path, name="guard.db"):
    return copy_db(fleet.g.db, str(tmp_path / name))


def imported(res):
    assert res.returncode == 0, res.stderr
    m = re.fullmatch(r"imported (\d+) deployments and (\d+) audit rows from "
                     r"(\S+) as host (\S+) \((\d+) deployments and (\d+) "
                     r"audit rows already there\)\n", res.stdout)
    assert m, res.stdout
    return (int(m.group(1)), int(m.group(2)), m.group(3), m.group(4),
            int(m.group(5)), int(m.group(6)))


def test_import_is_idempotent_and_exact(fleet, pg, tmp_path):
    db = snapshot(fleet, tmp_path)
    nd = rows(db, "SELECT count(*) AS n FROM deployments")[0]["n"]
    na = rows(db, "SELECT count(*) AS n FROM audit")[0]["n"]
    assert nd >= 3 and na >= 4
    got = imported(dg("ledger", "import", "--database", db, "--ledger",
                      pg.conn, "--host-name", "node-1"))
    assert got == (nd, na, db, "node-1", 0, 0)
    # Every local row is there, column for column.
    local = rows(db, "SELECT id, app, version, repo_digest, image_ref, "
                 "image_id, container_id, container_name, created_at, "
                 "source FROM deployments ORDER BY id")
    shared = pg_rows(pg, "SELECT local_id, app, version, coalesce(digest, "
                     "'NULL'), image_ref, image_id, container_id, "
                     "container_name, first_seen, source, state, host "
                     "FROM dg_versions ORDER BY local_id")
    assert shared == [[str(r["id"]), r["app"], r["version"],
                       r["repo_digest"] or "NULL", r["image_ref"],
                       r["image_id"], r["container_id"],
                       r["container_name"], str(r["created_at"] * 1000),
                       r["source"], "created", "node-1"] for r in local]
    la = rows(db, "SELECT id, time_ms, verdict, rule, app, hash, prev_hash, "
              "uid FROM audit ORDER BY id")
    sa = pg_rows(pg, "SELECT local_id, time_ms, verdict, coalesce(rule, "
                 "'NULL'), coalesce(app, 'NULL'), hash, prev_hash, "
                 "coalesce(uid::text, 'NULL') FROM dg_audit ORDER BY local_id")
    assert sa == [[str(r["id"]), str(r["time_ms"]), r["verdict"],
                   r["rule"] or "NULL", r["app"] or "NULL", r["hash"],
                   r["prev_hash"], "NULL" if r["uid"] is None
                   else str(r["uid"])] for r in la]
    # Again: nothing added, nothing even sent again (a re-sent row would
    # be updated in place: a new row version, a new xmin).
    versions = "SELECT local_id, xmin FROM dg_versions ORDER BY local_id"
    before = pg_rows(pg, versions)
    again = imported(dg("ledger", "import", "--database", db, "--ledger",
                        pg.conn, "--host-name", "node-1"))
    assert again == (0, 0, db, "node-1", nd, na)
    assert pg.psql("SELECT count(*) FROM dg_versions", db="fleet").strip() \
        == str(nd)
    assert pg_rows(pg, versions) == before
    # New rows on the host: only they go.
    name = "fle-" + os.path.basename(str(tmp_path))[-12:]
    fleet.made.append(name)
    fleet.more(name)
    wait_for(lambda: rows(fleet.g.db, "SELECT count(*) AS n FROM deployments "
                          "WHERE container_name = ?", (name,))[0]["n"] == 1,
             "the new container in the local ledger", timeout=20)
    db2 = snapshot(fleet, tmp_path, "guard2.db")
    nd2 = rows(db2, "SELECT count(*) AS n FROM deployments")[0]["n"]
    na2 = rows(db2, "SELECT count(*) AS n FROM audit")[0]["n"]
    assert nd2 > nd and na2 > na
    third = imported(dg("ledger", "import", "--database", db2, "--ledger",
                        pg.conn, "--host-name", "node-1"))
    assert third == (nd2 - nd, na2 - na, db2, "node-1", nd, na)
    assert pg_rows(pg, "SELECT container_name FROM dg_versions WHERE "
                   "local_id = (SELECT max(local_id) FROM dg_versions)") \
        == [[name]]


def test_fleet_views_show_every_host(fleet, pg, tmp_path):
    db = snapshot(fleet, tmp_path)
    for host in ("node-1", "node-2"):
        imported(dg("ledger", "import", "--database", db, "--ledger",
                    pg.conn, "--host-name", host))
    nd = rows(db, "SELECT count(*) AS n FROM deployments")[0]["n"]
    # history --fleet APP: both hosts, table and JSON
    r = dg("history", "--fleet", fleet.A, "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["HOST", "APP", "TIME", "(UTC)"], lines
    assert len(lines) == 1 + 4, lines  # A old and new, on two hosts
    assert {l.split()[0] for l in lines[1:]} == {"node-1", "node-2"}
    assert all(fleet.A in l for l in lines[1:])
    r = dg("history", "--fleet", "--json", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    hist = json_lines(r.stdout)
    assert len(hist) == 2 * nd
    mine = [(h["host"], h["version"]) for h in hist if h["app"] == fleet.A]
    assert sorted(mine) == sorted([("node-1", OLD), ("node-1", NEW),
                                   ("node-2", OLD), ("node-2", NEW)])
    assert set(hist[0]) == {"host", "app", "time", "version", "digest",
                            "image", "image_id", "container_id",
                            "container_name", "source", "state"}
    # an app nobody ran
    r = dg("history", "--fleet", "no-such-app", "--ledger", pg.conn)
    assert r.returncode == 1 and "no history" in r.stderr
    # apps --fleet: one row per app and host, the highest of the fleet
    r = dg("apps", "--fleet", "--json", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    apps = {(a["app"], a["host"]): a for a in json_lines(r.stdout)}
    for host in ("node-1", "node-2"):
        a = apps[(fleet.A, host)]
        assert (a["latest"], a["highest"], a["deploys"]) == (NEW, NEW, 2), a
        assert apps[(fleet.D, host)]["latest"] == OLD
    r = dg("apps", "--fleet", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split()[:4] == ["APP", "HOST", "LATEST",
                                                   "HIGHEST"]
    # audit --fleet: every host's rows, the filters, --host
    na = rows(db, "SELECT count(*) AS n FROM audit WHERE rule IS NOT "
              "'outcome'")[0]["n"]
    r = dg("audit", "--fleet", "--json", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    aud = json_lines(r.stdout)
    assert len(aud) == 2 * na
    assert {a["host"] for a in aud} == {"node-1", "node-2"}
    r = dg("audit", "--fleet", "--json", "--host", "node-2", "--app",
           fleet.A, "--verdict", "deny", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    deny = json_lines(r.stdout)
    assert [(a["host"], a["rule"]) for a in deny] == [("node-2",
                                                      "require_digest")]
    local = json_lines(dg("audit", "--json", "--database", db, "--app",
                          fleet.A, "--verdict", "deny").stdout)
    assert [(a["id"], a["hash"], a["message"]) for a in local] == \
        [(a["id"], a["hash"], a["message"]) for a in deny]
    r = dg("audit", "--fleet", "--limit", "2", "--ledger", pg.conn)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["HOST", "TIME", "(UTC)"] and \
        len(lines) == 3, lines


def test_host_name_and_ledger_sources(fleet, pg, tmp_path):
    db = snapshot(fleet, tmp_path)
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    # no name anywhere
    r = dg("ledger", "import", "--database", db, "--ledger", pg.conn,
           "--config", str(empty))
    assert r.returncode == 1 and "--host-name" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
    # the name the guard remembered
    con = sqlite3.connect(db)
    with con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('host_name', "
                    "'engine-7')")
    con.close()
    got = imported(dg("ledger", "import", "--database", db, "--ledger",
                      pg.conn, "--config", str(empty)))
    assert got[3] == "engine-7"
    # guard.conf: ledger and host_name (over the remembered one)
    conf = tmp_path / "guard.conf"
    conf.write_text("database = %s\nledger = %s\nhost_name = conf-host\n"
                    % (db, pg.conn))
    got = imported(dg("ledger", "import", "--config", str(conf)))
    assert got[2:4] == (db, "conf-host") and got[0] > 0
    r = dg("history", "--fleet", "--json", "--config", str(conf))
    assert r.returncode == 0, r.stderr
    assert {h["host"] for h in json_lines(r.stdout)} == {"engine-7",
                                                        "conf-host"}
    # no ledger anywhere
    r = dg("ledger", "import", "--database", db, "--config", str(empty),
           "--host-name", "x")
    assert r.returncode == 1 and "no fleet ledger" in r.stderr, r.stderr
    r = dg("apps", "--fleet", "--config", str(empty))
    assert r.returncode == 1 and "no fleet ledger" in r.stderr, r.stderr
    # a bad host name
    r = dg("ledger", "import", "--database", db, "--ledger", pg.conn,
           "--host-name", "no spaces")
    assert r.returncode == 1 and "not a host name" in r.stderr


def one_line_error(res, *want):
    assert res.returncode == 1, (res.returncode, res.stdout, res.stderr)
    assert res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith("docker-guard: "), res.stderr
    for w in want:
        assert w in res.stderr, res.stderr
    assert "AddressSanitizer" not in res.stderr
    return res.stderr


def test_unreachable_bad_and_empty_ledger(fleet, pg, tmp_path):
    db = snapshot(fleet, tmp_path)
    # the schema not there yet: the views say what to do
    for cmd in (["history", "--fleet"], ["apps", "--fleet"],
                ["audit", "--fleet"]):
        one_line_error(dg(*cmd, "--ledger", pg.conn), "no docker-guard tables",
                       "ledger import")
    # a bad connection string
    one_line_error(dg("history", "--fleet", "--ledger", "host=/x bogus=1"),
                   "cannot connect to the fleet ledger", "bogus")
    # a password is never printed, even in a malformed URI
    bad_uri = "postgresql://guard:s3cr%zzet@/fleet?host=" + pg.socket_dir
    err = one_line_error(dg("apps", "--fleet", "--ledger", bad_uri),
                         "cannot connect")
    assert "s3cr" not in err
    # the store stopped: a clear line, for import and views alike
    with_pw = "postgresql://guard:hunter2@/fleet?host=%s" % pg.socket_dir
    pg.stop()
    for cmd in (["ledger", "import", "--database", db, "--host-name", "n"],
                ["history", "--fleet"], ["audit", "--fleet"]):
        err = one_line_error(dg(*cmd, "--ledger", with_pw),
                             "cannot connect to the fleet ledger")
        assert "hunter2" not in err
    one_line_error(dg("apps", "--fleet", "--ledger", pg.conn),
                   "cannot connect to the fleet ledger", pg.socket_dir)


def test_local_views_unchanged_by_fleet_options(fleet, tmp_path):
    db = snapshot(fleet, tmp_path)
    r = dg("audit", "--database", db, "--host", "node-1")
    assert r.returncode == 2 and "--fleet" in r.stderr
    r = dg("history", "--database", db, "--ledger", "host=/x")
    assert r.returncode == 2
    r = dg("audit", "--fleet", "--verify", "--database", db)
    assert r.returncode == 2
    r = dg("history", "--database", db, "--json")
    assert r.returncode == 0
    assert "host" not in json_lines(r.stdout)[0]
    r = dg("ledger")
    assert r.returncode == 2 and "ledger import" in r.stderr
