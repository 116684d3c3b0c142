"""The fleet ledger (issue 13): one version history for many hosts, in a
shared PostgreSQL, against real engines.

Every test starts its own guards (each in front of its own engine: the
session's private dockerd and a second private dockerd of this module,
both --bridge=none) and stops them by PID.  The PostgreSQL servers live
on unix socket directories under the test bed's temp dir: one for the
module where tests do not interfere (fresh app names per test), a private
one for every test that stops, restarts or fails over its store.

- across hosts: a version run on node-1 refuses an older one on node-2,
  naming node-1 and the time; dg_versions holds one created row per
  container with its host and ID; an unset host_name is the engine's Name;
- the store down, ledger_unreachable = deny: guarded creates get 503
  naming the fleet ledger and why; ps, inspect and logs pass; the store
  back, creates work again without a restart of the guard;
- the store down, ledger_unreachable = allow: creates judged on the
  host's own history; the rows arrive when the store is back, none lost
  or doubled; dg_audit gets the host's audit rows, with the same hashes;
- the race: two guards on two engines creating one app at the same
  moment with 14.2 and 13.9 never both pass in the order that refuses
  one (30 rounds, fresh app names, threads released by a barrier);
- failover: a primary and a streaming replica, the guard's conninfo
  naming both with target_session_attrs=read-write; the primary killed,
  the replica promoted: creates resume and every row is on the new
  primary (shipped again from its watermark);
- import: a host's SQLite ledger, imported with `docker-guard ledger
  import`, makes another host refuse a downgrade naming that host;
  importing twice adds nothing;
- the Harbor story on the several-hosts bed (hosts.py, two hosts as
  network namespaces): node-1 runs harbor-db 14.2, node-2 has 13.9 under
  the same rolling tag and is refused, naming node-1.

Under GUARD_STANDIN=socat every test here fails: nothing reaches the
store.
"""

import json
import os
import sqlite3
import pwd
import select
import socket
import tempfile
import threading
import time

import pytest

import hosts
import pgtest
import testbed as tb
from testbed import REPO, run, unix_http, wait_for

GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN",
                           os.path.join(REPO, "build", "docker-guard"))
APP_LABEL = "io.docker-guard.app"
NEW, OLD = "14.2", "13.9"
NONE = ("--network", "none")


# --------------------------------------------------------------------------
# PostgreSQL (pgtest.py), stopped and started again, with a replica
# --------------------------------------------------------------------------

class Cluster(pgtest.Postgres):
    """pgtest's private PostgreSQL, which these tests also halt and start
    again (the data kept), replicate (pg_basebackup -R) and promote."""

    def _ctl(self, *args, timeout=90, check=True):
        return pgtest._as_postgres([self._bin("pg_ctl"), "-D", self.data]
                                   + list(args), timeout=timeout, check=check)

    def _read_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as fh:
            self.pid = int(fh.readline().strip())

    def halt(self, mode="fast"):
        """Stop the server, keeping its data (mode immediate: no clean
        shutdown, as a crash)."""
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def resume(self):
        self._ctl("-l", self.log, "-w", "-t", "60", "start")
        self._read_pid()

    def promote(self):
        self._ctl("-w", "-t", "60", "promote")

    def replica(self, tmpdir):
        """A started streaming replica of this server."""
        r = Cluster(_pg_root(), tmpdir)
        pw = pwd.getpwnam("postgres")
        os.makedirs(r.socket_dir)
        os.chown(r.root, pw.pw_uid, pw.pw_gid)
        os.chown(r.socket_dir, pw.pw_uid, pw.pw_gid)
        try:
            pgtest._as_postgres([self._bin("pg_basebackup"), "-h",
                                 self.socket_dir, "-U", "postgres", "-D",
                                 r.data, "-R", "-X", "stream", "-c", "fast"],
                                timeout=120)
            with open(os.path.join(r.data, "postgresql.conf"), "a") as fh:
                fh.write("unix_socket_directories = '%s'\n" % r.socket_dir)
            r.resume()
        except BaseException:
            r.stop()
            raise
        return r

    def rows(self, sql):
        """The rows of sql on the guard database, as lists of strings."""
        return [line.split("|") for line in
                self.psql(sql, db="guard").splitlines() if line]


def _pg_root():
    root = tempfile.mkdtemp(prefix="dg-pg-", dir="/tmp")
    os.chmod(root, 0o755)
    return root


def start_cluster(tmpdir):
    """A started Cluster with a login role and database `guard`; its
    .ledger is the conninfo the guards use."""
    c = Cluster(_pg_root(), tmpdir)
    try:
        c.start()
        c.ledger = c.create_user_db("guard", "guard")
    except BaseException:
        c.stop()
        raise
    return c


# --------------------------------------------------------------------------
# engines and guards
# --------------------------------------------------------------------------

class FleetGuard(tb.Guard):
    """A guard in front of a given engine (tb.Dockerd), not only the
    session's."""

    def __init__(self, testbed, name, config_text, engine):
        super().__init__(testbed, name, config_text)
        self.engine = engine
        self.direct_env = engine.env

    def command(self):
        cmd = super().command()
        if self.standin == "socat":
            cmd[-1] = "UNIX-CONNECT:%s" % self.engine.sock
        else:
            cmd[cmd.index("--upstream") + 1] = self.engine.sock
        return cmd


def fleet_conf(ledger, host_name=None, unreachable=None):
    text = "ledger = %s\n" % ledger
    if host_name:
        text += "host_name = %s\n" % host_name
    if unreachable:
        text += "ledger_unreachable = %s\n" % unreachable
    return text


@pytest.fixture
def guards(testbed):
    """start(engine, config_text, name=None) -> a started FleetGuard,
    stopped after the test (and found alive then, unless the test
    stopped it)."""
    started = []

    def start(engine, config_text, name=None):
        g = FleetGuard(testbed, name or testbed.unique("fg"), config_text,
                       engine)
        testbed.guards.append(g)
        started.append(g)
        return g.start()

    yield start
    problems = []
    for g in started:
        if g.stopped:
            continue
        alive = g.alive()
        status = g.stop()
        if not alive or status != 0:
            problems.append("guard %s alive=%s rc=%s\n%s" % (
                g.name, alive, status, g.log_tail(60)))
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def engine2(testbed):
    """A second private dockerd (another host's engine), with the
    module's images pulled from the test bed's registry."""
    d = testbed.tmpdir("engine2-")
    os.chmod(d, 0o755)
    e = tb.Dockerd(d)
    try:
        e.start(testbed.docker_config)
        yield e
    finally:
        try:
            if e.proc and e.proc.alive():
                e.remove_all_containers()
        finally:
            e.stop()
            tb.unmount_under(d)


@pytest.fixture(scope="module")
def engine1(testbed):
    return testbed.dockerd


class Images:
    """vf/harbor-db 14.2 and 13.9 (the version in the OCI label), pushed,
    by digest, present on both engines."""

    def __init__(self, testbed, engine2):
        self.new = self._make(testbed, NEW)
        self.old = self._make(testbed, OLD)
        for ref in (self.new, self.old):
            run(["docker", "pull", "-q", ref], env=engine2.env, timeout=120)

    @staticmethod
    def _make(testbed, version):
        env = testbed.direct_env
        ref = "%s/vf/harbor-db:%s" % (testbed.registry.addr, version)
        tb.import_image(env, testbed.tmpdir("vfimg"), ref, version,
                        extra_files={"etc/harbor-db": version + "\n"})
        tb.push(env, ref)
        return tb.digest_ref_for(env, ref, testbed.registry.addr,
                                 "vf/harbor-db")


@pytest.fixture(scope="module")
def images(testbed, engine2):
    return Images(testbed, engine2)


@pytest.fixture(scope="module")
def pg(testbed):
    """The module's PostgreSQL, for the tests that leave it running."""
    p = start_cluster(testbed.tmpdir("pg-"))
    yield p
    p.stop()


@pytest.fixture
def own_pg(testbed):
    """A PostgreSQL of the test's own (it stops or fails it over)."""
    made = []

    def start():
        p = start_cluster(testbed.tmpdir("pgown-"))
        made.append(p)
        return p

    yield start
    for p in reversed(made):
        p.stop()


# --------------------------------------------------------------------------
# requests and rows
# --------------------------------------------------------------------------

def api_create(guard, image, app, name=None, timeout=60):
    """POST /containers/create through the guard, raw: (status, JSON or
    text of the answer)."""
    body = json.dumps({"Image": image, "Cmd": ["true"],
                       "Labels": {APP_LABEL: app},
                       "HostConfig": {"NetworkMode": "none"}}).encode()
    path = "/v1.41/containers/create"
    if name:
        path += "?name=" + name
    status, data = unix_http(guard.sock, "POST", path, timeout=timeout,
                             body=body)
    try:
        return status, json.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return status, {"message": data.decode("utf-8", "replace")}


def created(guard, image, app, name=None):
    """A create that must pass: the container's ID."""
    status, doc = api_create(guard, image, app, name)
    assert status == 201, "create of %s (app %s) through %s: %s %s\n%s" % (
        image, app, guard.name, status, doc, guard.log_tail(30))
    return doc["Id"]


def dk(env, *args, timeout=120):
    return run(["docker"] + list(args), env=env, timeout=timeout, check=False)


def remove_apps(engine, apps):
    """Remove (force) every container of these apps on engine."""
    res = dk(engine.env, "ps", "-a", "--filter", "label=" + APP_LABEL,
             "--format", '{{.ID}} {{.Label "%s"}}' % APP_LABEL)
    apps = set(apps)
    ids = [line.split()[0] for line in res.stdout.splitlines()
           if len(line.split()) == 2 and line.split()[1] in apps]
    if ids:
        dk(engine.env, "rm", "-f", *ids)


def remove_app(engine, *apps):
    remove_apps(engine, apps)


def versions(pg, where, args=""):
    """dg_versions rows (id, host, app, version, container_id, state,
    first_seen) matching where, in id order."""
    return pg.rows("SELECT id, host, app, version, coalesce(container_id, ''),"
                   " state, first_seen FROM dg_versions WHERE %s ORDER BY id"
                   % (where % args if args else where))


def q(text):
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def local_rows(guard, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % guard.db, uri=True, timeout=10)
    try:
        return [tuple(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def wait_rows(what, fetch, want, timeout=30, interval=0.2):
    """Poll fetch() until it returns want (bounded); the rows."""
    seen = {}

    def ok():
        seen["rows"] = fetch()
        return seen["rows"] == want

    try:
        wait_for(ok, what, timeout=timeout, interval=interval)
    except tb.TestbedError:
        raise AssertionError("%s: want %r, have %r" % (what, want,
                                                        seen.get("rows")))
    return seen["rows"]


def message(doc):
    return doc.get("message", "") if isinstance(doc, dict) else str(doc)


# --------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------

def test_downgrade_refused_naming_the_other_host(testbed, engine1, engine2,
                                                 images, pg, guards):
    """node-1 ran 14.2: node-2 refuses 13.9 for the app, naming 14.2,
    13.9, node-1 and since when; it may run 14.2 itself."""
    app = testbed.unique("vf-cross-")
    g1 = guards(engine1, fleet_conf(pg.ledger, "node-1"))
    g2 = guards(engine2, fleet_conf(pg.ledger, "node-2"))
    try:
        cid = created(g1, images.new, app)
        rows = wait_rows("the created row of node-1",
                         lambda: [r[1:6] for r in versions(
                             pg, "app = %s", q(app))],
                         [["node-1", app, NEW, cid, "created"]])
        status, doc = api_create(g2, images.old, app)
        text = message(doc)
        assert status == 403, (status, doc)
        for needle in (NEW, OLD, "node-1", "since"):
            assert needle in text, "%r not in %r" % (needle, text)
        # the CLI shows it too, and nothing was made on node-2
        r = dk(g2.env, "create", "--label", APP_LABEL + "=" + app, *NONE,
               images.old, "true")
        assert r.returncode != 0 and "node-1" in r.stderr, r
        assert dk(engine2.env, "ps", "-aq", "--filter", "label=%s=%s" % (
            APP_LABEL, app)).stdout.split() == []
        # the same version is no downgrade anywhere
        cid2 = created(g2, images.new, app)
        rows = wait_rows("both hosts' rows",
                         lambda: sorted(r[1:6] for r in versions(
                             pg, "app = %s", q(app))),
                         sorted([["node-1", app, NEW, cid, "created"],
                                 ["node-2", app, NEW, cid2, "created"]]))
        assert len(rows) == 2
        # the local ledger of each host has its own container only
        assert local_rows(g1, "SELECT container_id, version FROM deployments"
                          " WHERE app = ?", (app,)) == [(cid, NEW)]
        assert local_rows(g2, "SELECT container_id, version FROM deployments"
                          " WHERE app = ?", (app,)) == [(cid2, NEW)]
    finally:
        remove_app(engine1, app)
        remove_app(engine2, app)


def test_host_name_defaults_to_engine_name(testbed, engine2, images, pg,
                                           guards):
    app = testbed.unique("vf-name-")
    name = dk(engine2.env, "info", "--format", "{{.Name}}").stdout.strip()
    assert name
    g = guards(engine2, fleet_conf(pg.ledger))
    try:
        cid = created(g, images.new, app)
        wait_rows("the row under the engine's name",
                  lambda: [r[1:6] for r in versions(pg, "app = %s", q(app))],
                  [[name, app, NEW, cid, "created"]])
    finally:
        remove_app(engine2, app)


class SlowInfoRelay:
    """A relay on a unix socket in front of an engine that holds the first
    connection asking GET .../info for `delay` seconds (the guard asks
    the engine's name that way, one connection per question): an engine
    slow to say its name while a guard starts."""

    def __init__(self, path, engine, delay=3.0):
        self.sock = path
        self.host = "unix://" + path
        self.env = engine.env
        self.upstream = engine.sock
        self.delay = delay
        self.held = threading.Event()
        self._stop = threading.Event()
        self._threads = []
        self._lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._lsock.bind(path)
        self._lsock.listen(64)
        self._lsock.settimeout(0.2)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, c):
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.settimeout(30)
            first = c.recv(65536)
            line = first.split(b"\r\n", 1)[0].split()
            if (len(line) >= 2 and line[0] == b"GET"
                    and line[1].split(b"?")[0].endswith(b"/info")
                    and not self.held.is_set()):
                self.held.set()
                self._stop.wait(self.delay)
            u.connect(self.upstream)
            u.sendall(first)
            self._pump(c, u)
        except OSError:
            pass
        finally:
            c.close()
            u.close()

    def _pump(self, c, u):
        open_ = {c: u, u: c}
        deadline = time.monotonic() + 120
        while open_ and time.monotonic() < deadline and not self._stop.is_set():
            ready, _, _ = select.select(list(open_), [], [], 0.2)
            for s_ in ready:
                data = s_.recv(65536)
                if data:
                    open_[s_].sendall(data)
                else:
                    try:
                        open_[s_].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    del open_[s_]

    def stop(self):
        self._stop.set()
        self._lsock.close()
        for t in self._threads:
            t.join(timeout=5)


def test_first_create_after_start(testbed, engine2, images, pg, guards):
    """A create sent while a starting guard still waits for the engine's
    name (host_name unset; the engine slow to answer /info: a busy engine
    at boot, a client queued on a socket-activated guard) waits for the
    fleet ledger to be ready, the name included, and passes: no 503 from
    a guard that is merely starting."""
    app = testbed.unique("vf-first-")
    relay = SlowInfoRelay(os.path.join(testbed.tmpdir("relay"), "e.sock"),
                          engine2, delay=3.0)
    try:
        g = guards(relay, fleet_conf(pg.ledger))
        assert relay.held.is_set(), "the guard never asked the engine's name"
        status, doc = api_create(g, images.new, app)
        assert status == 201, (status, doc, g.log_tail(20))
        name = dk(engine2.env, "info", "--format", "{{.Name}}").stdout.strip()
        wait_rows("the row under the engine's name",
                  lambda: [r[1:6] for r in versions(pg, "app = %s", q(app))],
                  [[name, app, NEW, doc["Id"], "created"]])
    finally:
        remove_app(engine2, app)
        relay.stop()


def wait_create_status(guard, image, app, want, timeout=60):
    """Try a create every half second until its status is want (bounded);
    (status, doc) of the last try and how many tries were made."""
    last = {}

    def ok():
        last["n"] = last.get("n", 0) + 1
        last["answer"] = api_create(guard, image, app)
        return last["answer"][0] == want

    try:
        wait_for(ok, "a create answered %d" % want, timeout=timeout,
                 interval=0.5)
    except tb.TestbedError:
        raise AssertionError("no %d within %ss: last %r\n%s" % (
            want, timeout, last.get("answer"), guard.log_tail(40)))
    return last["answer"], last["n"]


def test_store_down_deny_then_back(testbed, engine1, images, own_pg, guards):
    """ledger_unreachable = deny (the default): the store stopped, guarded
    creates get 503 saying the fleet ledger cannot be reached and why;
    passthrough works; the store back, creates pass again (the same
    guard process)."""
    p = own_pg()
    app = testbed.unique("vf-deny-")
    g = guards(engine1, fleet_conf(p.ledger, "node-1"))
    try:
        cid = created(g, images.new, app, name=app + "-up")
        wait_rows("the first row", lambda: len(versions(p, "app = %s", q(app))), 1)
        pid = g.pid
        p.halt()
        status, doc = api_create(g, images.new, app)
        text = message(doc)
        assert status == 503, (status, doc)
        low = text.lower()
        assert "fleet ledger" in low and "reach" in low, text
        # and why: libpq's words about the socket or the connection
        assert any(w in low for w in ("connect", "socket", "server")), text
        r = dk(g.env, "create", "--label", APP_LABEL + "=" + app, *NONE,
               images.new, "true")
        assert r.returncode != 0 and "fleet ledger" in r.stderr.lower(), r
        # passthrough is not touched
        ps = dk(g.env, "ps", "-a", "--filter", "label=%s=%s" % (APP_LABEL, app),
                "--format", "{{.ID}}")
        assert ps.returncode == 0 and cid.startswith(ps.stdout.strip()), ps
        ins = dk(g.env, "inspect", "--format", "{{.Id}}", cid)
        assert ins.returncode == 0 and ins.stdout.strip() == cid, ins
        assert dk(g.env, "logs", cid).returncode == 0
        assert dk(engine1.env, "ps", "-aq", "--filter", "label=%s=%s" % (
            APP_LABEL, app)).stdout.split() == [cid[:12]]
        # the store back: creates pass again, without a restart
        p.resume()
        (status, doc), _ = wait_create_status(g, images.new, app, 201,
                                              timeout=60)
        assert g.pid == pid and g.alive()
        wait_rows("both rows, created", lambda: sorted(
            (r[4], r[5]) for r in versions(p, "app = %s", q(app))),
            sorted([(cid, "created"), (doc["Id"], "created")]))
    finally:
        remove_app(engine1, app)


def host_rows(pg, host):
    """(container_id, state) of every dg_versions row of host, sorted."""
    return sorted((r[4], r[5]) for r in versions(pg, "host = %s", q(host)))


def audit_pairs_local(guard):
    return sorted(local_rows(guard, "SELECT id, hash FROM audit"))


def audit_pairs_fleet(pg, host):
    return sorted((int(r[0]), r[1]) for r in pg.rows(
        "SELECT local_id, coalesce(hash, '') FROM dg_audit WHERE host = %s"
        % q(host)))


def test_store_down_allow_ships_rows_when_back(testbed, engine1, images,
                                               own_pg, guards):
    """ledger_unreachable = allow: while the store is down creates are
    judged on the host's own history (a local downgrade is still refused)
    and recorded locally; when it is back every row arrives once: as many
    dg_versions rows for the host as containers, and the host's audit rows
    with the same hashes."""
    p = own_pg()
    host = testbed.unique("node-a")
    apps = [testbed.unique("vf-allow-") for _ in range(3)]
    g = guards(engine1, fleet_conf(p.ledger, host, "allow"))
    ids = []
    try:
        ids.append(created(g, images.new, apps[0]))
        wait_rows("the first row", lambda: host_rows(p, host),
                  [(ids[0], "created")])
        p.halt()
        # down: allowed, on this host's history, and the client is told
        status, doc = api_create(g, images.new, apps[0])
        assert status == 201, (status, doc)
        assert any("fleet ledger cannot be reached" in w and
                   "ledger_unreachable = allow" in w
                   for w in doc.get("Warnings") or []), doc
        ids.append(doc["Id"])
        ids.append(created(g, images.new, apps[1]))
        ids.append(created(g, images.old, apps[2]))
        ids.append(created(g, images.new, apps[2]))
        # this host ran 14.2 for apps[0]: 13.9 is still a downgrade here
        status, doc = api_create(g, images.old, apps[0])
        assert status == 403 and OLD in message(doc), (status, doc)
        local = sorted(r[0] for r in local_rows(
            g, "SELECT container_id FROM deployments WHERE app IN (?,?,?)",
            tuple(apps)))
        assert local == sorted(ids)
        p.resume()
        rows = wait_rows("every container's row, once",
                         lambda: host_rows(p, host),
                         sorted((i, "created") for i in ids), timeout=60)
        assert len({r[0] for r in rows}) == len(ids) == 5
        # the audit rows too, hash for hash
        wait_rows("the host's audit rows", lambda: audit_pairs_fleet(p, host),
                  audit_pairs_local(g), timeout=60)
        # and nothing more comes later
        time.sleep(2)
        assert host_rows(p, host) == rows
        assert audit_pairs_fleet(p, host) == audit_pairs_local(g)
    finally:
        remove_app(engine1, *apps)


def race_round(g1, g2, images, app):
    """14.2 through g1 and 13.9 through g2, released together by a
    barrier: {"new": (status, doc), "old": (status, doc)}."""
    barrier = threading.Barrier(2, timeout=30)
    res = {}

    def go(key, g, image):
        try:
            barrier.wait()
            res[key] = api_create(g, image, app, timeout=30)
        except Exception as exc:  # noqa: BLE001 - checked by the caller
            res[key] = (None, {"message": repr(exc)})

    ts = [threading.Thread(target=go, args=("new", g1, images.new)),
          threading.Thread(target=go, args=("old", g2, images.old))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in ts), "a create hung (%s)" % app
    return res


def test_own_last_claim_does_not_hide_another_hosts(testbed, engine1, engine2,
                                                   images, pg, guards):
    """A host's redeploy starts from its own last claim of the app (one
    round trip), but that claim never hides what another host recorded
    since: 13.9 on cache-2 (twice: the second from its own last claim),
    14.2 on cache-1, then 13.9 again on cache-2 is refused naming
    cache-1, and recorded nowhere."""
    g1 = guards(engine1, fleet_conf(pg.ledger, "cache-1"))
    g2 = guards(engine2, fleet_conf(pg.ledger, "cache-2"))
    app = testbed.unique("vf-cache-")
    try:
        created(g2, images.old, app)
        created(g2, images.old, app)
        created(g1, images.new, app)
        status, doc = api_create(g2, images.old, app)
        assert status == 403, (status, doc, g2.log_tail(30))
        assert "cache-1" in message(doc) and NEW in message(doc), doc
        wait_rows("claims closed", lambda: [
            r for r in versions(pg, "app = %s" % q(app))
            if r[5] != "created"], [], timeout=30)
        rows = [(r[1], r[3]) for r in versions(pg, "app = %s" % q(app))]
        assert rows == [("cache-2", OLD), ("cache-2", OLD),
                        ("cache-1", NEW)], rows
    finally:
        remove_apps(engine1, [app])
        remove_apps(engine2, [app])


def test_race_two_hosts_one_app(testbed, engine1, engine2, images, pg,
                                guards):
    """Two guards, two engines, one app, 14.2 and 13.9 released at the same
    moment, 30 rounds (a fresh app each): never both allowed with 14.2's
    claim first, 14.2 never refused, a refused 13.9 names race-1."""
    g1 = guards(engine1, fleet_conf(pg.ledger, "race-1"))
    g2 = guards(engine2, fleet_conf(pg.ledger, "race-2"))
    prefix = testbed.unique("vf-race-")
    apps = ["%s-%02d" % (prefix, k) for k in range(30)]
    deadline = time.monotonic() + 90
    results = {}
    try:
        for app in apps:
            assert time.monotonic() < deadline, "the race rounds took too long"
            results[app] = race_round(g1, g2, images, app)
        where = "app LIKE %s" % q(prefix + "-%")
        wait_rows("no claim left open", lambda: [
            r for r in versions(pg, where) if r[5] != "created"], [],
            timeout=30)
        rows = {}
        for r in versions(pg, where):
            rows.setdefault(r[2], []).append((r[1], r[3]))
        outcomes = {"both allowed, 13.9 first": 0, "13.9 refused": 0}
        for app in apps:
            (sn, dn), (so, do) = results[app]["new"], results[app]["old"]
            assert sn == 201, ("14.2 refused", app, dn)
            if so == 201:
                outcomes["both allowed, 13.9 first"] += 1
                assert rows.get(app) == [("race-2", OLD), ("race-1", NEW)], (
                    "both allowed, 14.2's claim first", app, rows.get(app))
            else:
                outcomes["13.9 refused"] += 1
                assert so == 403, (app, so, do)
                assert "race-1" in message(do) and NEW in message(do), do
                assert rows.get(app) == [("race-1", NEW)], (app, rows.get(app))
    finally:
        remove_apps(engine1, apps)
        remove_apps(engine2, apps)
    print("race outcomes over %d rounds: %r" % (len(apps), outcomes))


def test_failover_to_promoted_replica(testbed, engine1, images, own_pg,
                                      guards):
    """A primary and its streaming replica in one conninfo with
    target_session_attrs=read-write.  The replica stops receiving (as a
    lagging standby), two more containers are created (their rows only on
    the primary), the primary is killed and the replica promoted: the
    guard's creates resume within a bounded window, and every container's
    row is on the new primary, once: the rows the old primary never sent
    on were shipped again from the guard's own database."""
    primary = own_pg()
    replica = primary.replica(testbed.tmpdir("pgrep-"))
    host = testbed.unique("node-f")
    app = testbed.unique("vf-fail-")
    conninfo = ("host=%s,%s dbname=guard user=guard "
                "target_session_attrs=read-write connect_timeout=5" % (
                    primary.socket_dir, replica.socket_dir))
    g = guards(engine1, fleet_conf(conninfo, host))
    ids = []
    try:
        for _ in range(3):
            ids.append(created(g, images.new, app))
        want = sorted((i, "created") for i in ids)
        wait_rows("the rows on the primary", lambda: host_rows(primary, host),
                  want)
        wait_rows("the rows streamed to the replica",
                  lambda: host_rows(replica, host), want)
        # the replica falls behind: its WAL receiver stops
        replica.psql("ALTER SYSTEM SET primary_conninfo = ''")
        replica.psql("SELECT pg_reload_conf()")
        wait_rows("the replica's WAL receiver gone", lambda: replica.psql(
            "SELECT count(*) FROM pg_stat_wal_receiver").strip(), "0")
        late = [created(g, images.new, app) for _ in range(2)]
        ids += late
        wait_rows("the late rows on the primary",
                  lambda: host_rows(primary, host),
                  sorted((i, "created") for i in ids))
        assert host_rows(replica, host) == want, "the replica was not behind"
        # the primary dies at once (no clean shutdown); the replica takes
        # over
        primary.halt(mode="immediate")
        replica.promote()
        (status, doc), tries = wait_create_status(g, images.new, app, 201,
                                                  timeout=60)
        ids.append(doc["Id"])
        ids.append(created(g, images.new, app))
        rows = wait_rows("every container's row on the new primary",
                         lambda: host_rows(replica, host),
                         sorted((i, "created") for i in ids), timeout=60)
        assert len(rows) == len(ids) == 7
        local = sorted(r[0] for r in local_rows(
            g, "SELECT container_id FROM deployments WHERE app = ?", (app,)))
        assert local == sorted(ids)
        print("failover: the first create after it passed at try %d" % tries)
    finally:
        remove_app(engine1, app)
        replica.stop()


def test_import_of_a_host_ledger(testbed, engine1, engine2, images, pg,
                                 guards):
    """A host that ran without the fleet imports its SQLite ledger as
    node-2 (twice: the second adds nothing); a guard of the fleet on
    another engine then refuses a downgrade of an app only node-2 ran,
    naming node-2."""
    host = testbed.unique("node-i")
    app = testbed.unique("vf-import-")
    solo = guards(engine2, "")          # no fleet: its own SQLite only
    try:
        cid = created(solo, images.new, app)
        solo.stop()
        assert solo.exit_status == 0
        cmd = [GUARD_BIN, "ledger", "import", "--database", solo.db,
               "--ledger", pg.ledger, "--host-name", host]
        r = run(cmd, timeout=60, check=False)
        assert r.returncode == 0, (r.stdout, r.stderr)
        rows = [r_[1:6] for r_ in versions(pg, "host = %s", q(host))]
        assert rows == [[host, app, NEW, cid, "created"]], rows
        audit = audit_pairs_fleet(pg, host)
        assert audit and audit == audit_pairs_local(solo), audit
        r = run(cmd, timeout=60, check=False)
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert [r_[1:6] for r_ in versions(pg, "host = %s", q(host))] == rows
        assert audit_pairs_fleet(pg, host) == audit
        g = guards(engine1, fleet_conf(pg.ledger, testbed.unique("node-j")))
        status, doc = api_create(g, images.old, app)
        text = message(doc)
        assert status == 403, (status, doc)
        for needle in (NEW, OLD, host):
            assert needle in text, "%r not in %r" % (needle, text)
    finally:
        remove_app(engine1, app)
        remove_app(engine2, app)


# --------------------------------------------------------------------------
# the Harbor story, on the several-hosts bed (hosts.py)
# --------------------------------------------------------------------------

@pytest.fixture
def bed():
    yield from hosts.bed_fixture(2)


def test_harbor_story_on_two_hosts(bed, pg):
    """Host node-1 runs harbor-db 14.2 (the rolling tag moved on, the
    data migrated); host node-2 still has 13.9 under the same tag and is
    asked to start the database: its guard refuses, naming 14.2, 13.9,
    node-1 and since when.  Both guards take the engine's name as their
    host name; the app is the container's name."""
    conf = fleet_conf(pg.ledger) + "require_digest = warn\n"
    new = bed.push_image("goharbor/harbor-db", NEW)
    old = bed.push_image("goharbor/harbor-db", OLD)
    rolling = "%s/goharbor/harbor-db:v2" % bed.registry_addr
    h1, h2 = bed.hosts
    # node-1 pulled the tag after it moved to 14.2; node-2 before
    for h, img in ((h1, new), (h2, old)):
        bed.docker(h, "pull", "-q", img.digest_ref)
        bed.docker(h, "tag", img.digest_ref, rolling)
    bed.docker(h1, "push", "-q", rolling)
    g1 = bed.start_guard(1, conf)
    g2 = bed.start_guard(2, conf)
    r = bed.docker(g1, "run", "-d", "--name", "harbor-db", rolling)
    cid = r.stdout.strip()
    rows = wait_rows("harbor-db's row of node-1", lambda: [
        r_[1:6] for r_ in versions(pg, "app = 'harbor-db'")],
        [["node-1", "harbor-db", NEW, cid, "created"]])
    r = bed.docker(g2, "run", "-d", "--name", "harbor-db", rolling,
                   check=False)
    text = r.stdout + r.stderr
    assert r.returncode != 0, text
    print("node-2 was told: %s" % text.strip())
    for needle in ("is version %s, older than %s" % (OLD, NEW), "node-1",
                   "since", "(rule: downgrade)"):
        assert needle in text, "%r not in %r" % (needle, text)
    assert bed.docker(h2, "ps", "-aq", "--filter",
                      "name=harbor-db").stdout.split() == []
    assert [r_[1:6] for r_ in versions(pg, "app = 'harbor-db'")] == rows
    # node-2 pulls the tag as it is now: 14.2 runs there too
    bed.docker(h2, "pull", "-q", rolling)
    r = bed.docker(g2, "run", "-d", "--name", "harbor-db", rolling)
    cid2 = r.stdout.strip()
    wait_rows("harbor-db's rows of both hosts", lambda: sorted(
        r_[1:6] for r_ in versions(pg, "app = 'harbor-db'")),
        sorted([["node-1", "harbor-db", NEW, cid, "created"],
                ["node-2", "harbor-db", NEW, cid2, "created"]]))


def test_app_names_that_are_sql_are_only_names(testbed, engine1, engine2,
                                               images, pg, guards):
    """An app name holding quotes, a backslash, a $1 and SQL goes into the
    claim's text as one string literal: it is stored as given, its lock
    and history are its own, and a downgrade is still refused by name."""
    app = testbed.unique("vf-q-") + "'); DROP TABLE dg_versions; -- \\' $1 E'x"
    g1 = guards(engine1, fleet_conf(pg.ledger, "node-1"))
    g2 = guards(engine2, fleet_conf(pg.ledger, "node-2"))
    try:
        cid = created(g1, images.new, app)
        wait_rows("the created row, named as given",
                  lambda: [r[1:6] for r in versions(pg, "app = %s", q(app))],
                  [["node-1", app, NEW, cid, "created"]])
        status, doc = api_create(g2, images.old, app)
        assert status == 403, (status, doc)
        assert "node-1" in message(doc) and NEW in message(doc), doc
        assert int(pg.rows("SELECT count(*) FROM dg_versions")[0][0]) > 0
    finally:
        remove_app(engine1, app)
        remove_app(engine2, app)
