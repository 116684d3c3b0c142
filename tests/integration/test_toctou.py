"""Time of check vs time of use: what the engine creates or starts is what
the guard judged, even while someone moves the reference on the engine's
own socket (README "What the engine runs is what was judged").

The guard resolves an image reference or a container name with its own
inspect, judges it, then forwards the request; the engine resolves the
reference again.  These tests move the reference between the two as fast
as the engine allows, from a thread talking to the engine's socket
directly, while creates and starts go through the guard:

- a create by tag, by bare name (":latest") and by short image ID (a
  repository named like the short ID wins over the ID prefix in the
  engine's lookup) while the tag alternates between the app's newest
  image and an older one;
- a start (and a restart) by name while `docker rename` swaps an old
  stopped container of the app into that name and back (30 rounds or 30 s:
  each start waits for its container to exit).

Nothing is slept: each round is a real request racing a real tag or
rename.  Afterwards every container the engine has for the app must run
the newest image, every create the guard let through must run the image
its ledger row names, and the old container must never have started.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_toctou.py
"""

import http.client
import json
import re
import socket
import sqlite3
import threading
import time
import urllib.parse

import pytest

from testbed import import_image

APP_LABEL = "io.docker-guard.app"
NEW, OLD = "2.0.0", "1.0.0"
ROUNDS = 60          # creates or starts per test
SECONDS = 60.0       # ... or this long, whichever comes first
PARALLEL = 4         # clients racing at once (widens the window)
CONFIG = "require_digest = off\nregistry_presence = off\n"
NEVER = "0001-01-01T00:00:00Z"


def db_rows(db, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


class UnixConnection(http.client.HTTPConnection):
    """A keep-alive HTTP/1.1 connection over a Unix socket."""

    def __init__(self, path, timeout=60.0):
        super().__init__("docker", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def unix_http(sock, method, path, body=None, timeout=60.0, conn=None):
    """One request (on conn if given, kept alive): (status, body bytes)."""
    c = conn or UnixConnection(sock, timeout)
    try:
        headers = {"Content-Type": "application/json"} if body else {}
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        if conn is None:
            c.close()


def engine(testbed, method, path, body=None, timeout=30.0):
    """One request on the engine's own socket: (status, parsed JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    status, raw = unix_http(testbed.dockerd.sock, method, path,
                            timeout=timeout, body=data)
    text = raw.decode("utf-8", "replace").strip()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def tag(testbed, image_id, repo, tg):
    q = urllib.parse.urlencode({"repo": repo, "tag": tg})
    status, _ = engine(testbed, "POST", "/images/%s/tag?%s" % (image_id, q))
    assert status == 201, (status, image_id, repo, tg)


def app_containers(testbed, app):
    flt = urllib.parse.quote(json.dumps({"label": ["%s=%s" % (APP_LABEL,
                                                              app)]}))
    status, rows = engine(testbed, "GET",
                          "/containers/json?all=1&filters=" + flt)
    assert status == 200, rows
    return rows


def inspect(testbed, ref):
    status, c = engine(testbed, "GET", "/containers/%s/json" % ref)
    return c if status == 200 else None


def remove_app(testbed, app):
    for c in app_containers(testbed, app):
        engine(testbed, "DELETE", "/containers/%s?force=1" % c["Id"])


class Mover:
    """A thread that flips a reference between two states on the engine's
    socket until stopped (bounded in count and time)."""

    def __init__(self, flip, flop, limit=20000, seconds=SECONDS + 30):
        self.flip, self.flop = flip, flop
        self.limit, self.seconds = limit, seconds
        self.stop = threading.Event()
        self.moves = 0
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        deadline = time.monotonic() + self.seconds
        try:
            for _ in range(self.limit):
                if self.stop.is_set() or time.monotonic() > deadline:
                    break
                self.flip()
                self.flop()
                self.moves += 1
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(exc))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "mover did not stop"


def images(testbed, prefix):
    """Two local images of one repository: NEW and OLD (no registry)."""
    repo = testbed.unique(prefix)
    ids = {}
    for v in (NEW, OLD):
        ids[v] = import_image(testbed.direct_env, testbed.tmpdir(), "%s:%s"
                              % (repo, v), v)
    return repo, ids[NEW], ids[OLD]


def seed(g, app, new_id, name):
    """The app has run NEW through the guard: OLD is now a downgrade."""
    body = json.dumps({"Image": new_id, "Cmd": ["true"],
                       "Labels": {APP_LABEL: app},
                       "HostConfig": {"NetworkMode": "none"}}).encode()
    status, raw = unix_http(g.sock, "POST", "/v1.41/containers/create?name="
                            + name, body=body)
    assert status == 201, raw


def race_creates(g, testbed, app, ref, mover):
    """PARALLEL clients create from ref through the guard while mover
    runs; returns [(status, container id or None, message)]."""
    results = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS
    counter = iter(range(ROUNDS))

    def client():
        body = json.dumps({"Image": ref, "Cmd": ["true"],
                           "Labels": {APP_LABEL: app},
                           "HostConfig": {"NetworkMode": "none"}}).encode()
        conn = UnixConnection(g.sock)
        for _ in range(ROUNDS):
            with lock:
                n = next(counter, None)
            if n is None or time.monotonic() > deadline:
                break
            status, raw = unix_http(g.sock, "POST",
                                    "/v1.41/containers/create", body=body,
                                    conn=conn)
            text = raw.decode("utf-8", "replace")
            m = re.search(r'"Id"\s*:\s*"([0-9a-f]{64})"', text)
            with lock:
                results.append((status, m.group(1) if m else None, text))
        conn.close()

    with mover:
        threads = [threading.Thread(target=client, daemon=True)
                   for _ in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 60)
        assert not any(t.is_alive() for t in threads), "clients hung"
    assert not mover.errors, mover.errors
    return results


def check_creates(g, testbed, app, new_id, old_id, results):
    """No container of app runs OLD; every 201 runs the ledger's image."""
    created = [cid for status, cid, _ in results if status == 201]
    refused = [(s, t) for s, cid, t in results if s != 201]
    for s, t in refused:
        assert s == 403 and "docker-guard" in t, (s, t)
    wrong = []
    for c in app_containers(testbed, app):
        if c["ImageID"] != new_id:
            wrong.append((c["Id"][:12], c["ImageID"][:19], c["Image"]))
    n_old = len(wrong)
    ledger = {r["container_id"]: r["image_id"] for r in db_rows(
        g.db, "SELECT container_id, image_id FROM deployments WHERE app = ?",
        (app,))}
    for cid in created:
        c = inspect(testbed, cid)
        assert c is not None, "an allowed create's container is gone: " + cid
        if ledger.get(cid) not in (None, c["Image"]):
            wrong.append((cid[:12], "ledger says", ledger.get(cid)[:19],
                          "engine has", c["Image"][:19]))
    assert not wrong, (
        "%d of %d creates (%d allowed) made a container of the older image "
        "%s:\n%s" % (n_old, len(results), len(created), old_id[:19],
                     "\n".join(map(str, wrong))))
    return created, refused


def toctou_rows(g, app):
    return db_rows(g.db, "SELECT * FROM audit WHERE app = ? AND rule = "
                   "'toctou' ORDER BY id", (app,))


def run_create_race(guard_factory, testbed, make_ref):
    g = guard_factory(CONFIG)
    repo, new_id, old_id = images(testbed, "tt")
    app = testbed.unique("tapp")
    try:
        seed(g, app, new_id, app + "-seed")
        ref, flip, flop = make_ref(repo, new_id, old_id)
        flop()
        results = race_creates(g, testbed, app, ref, Mover(flip, flop))
        created, refused = check_creates(g, testbed, app, new_id, old_id,
                                         results)
        # the race really ran both ways: some creates judged OLD (refused
        # as a downgrade), some judged NEW
        assert created, results[:5]
        assert any("rule: downgrade" in t for _, t in refused), \
            "the tag never moved under a create: %r" % (results[:5],)
        rows = toctou_rows(g, app)
        for row in rows:
            assert row["verdict"] == "deny", row
        print("%s: %d creates, %d allowed, %d undone (rule toctou)"
              % (ref, len(results), len(created), len(rows)))
        for _, t in refused:
            if "rule: toctou" in t:
                assert "was moved while the request was being decided" \
                    in t, t
        return results
    finally:
        remove_app(testbed, app)


def test_create_by_tag_races_a_tag_move(guard_factory, testbed):
    def make(repo, new_id, old_id):
        return ("%s:cur" % repo,
                lambda: tag(testbed, old_id, repo, "cur"),
                lambda: tag(testbed, new_id, repo, "cur"))
    run_create_race(guard_factory, testbed, make)


def test_create_by_name_races_a_tag_move(guard_factory, testbed):
    def make(repo, new_id, old_id):
        return (repo,
                lambda: tag(testbed, old_id, repo, "latest"),
                lambda: tag(testbed, new_id, repo, "latest"))
    run_create_race(guard_factory, testbed, make)


def test_create_by_short_id_races_a_repository_named_like_it(
        guard_factory, testbed):
    """The engine looks a 12-hex reference up as a repository first
    (docker.io/library/<hex>:latest) and only then as an ID prefix: tagging
    the old image with the new image's short ID redirects the create."""
    def make(repo, new_id, old_id):
        short = new_id[len("sha256:"):][:12]

        def untag():
            engine(testbed, "DELETE", "/images/%s:latest?noprune=1" % short)
        return (short, lambda: tag(testbed, old_id, short, "latest"), untag)
    run_create_race(guard_factory, testbed, make)


@pytest.mark.parametrize("verb", ["start", "restart"])
def test_start_races_a_rename_swap(guard_factory, testbed, verb):
    """`docker start web` (or restart) through the guard while `docker
    rename` swaps an old stopped container of the app into the name web
    and back: the old container must never start."""
    g = guard_factory(CONFIG)
    repo, new_id, old_id = images(testbed, "ts")
    app = testbed.unique("sapp")
    name, spare = app + "-web", app + "-tmp"
    old_name = app + "-old"
    try:
        seed(g, app, new_id, name)
        # the old container was made behind the guard's back, long ago
        status, body = engine(testbed, "POST", "/containers/create?name="
                              + old_name, {"Image": old_id, "Cmd": ["true"],
                                           "Labels": {APP_LABEL: app},
                                           "HostConfig": {
                                               "NetworkMode": "none"}})
        assert status == 201, body
        web_id = inspect(testbed, name)["Id"]
        old_id_c = body["Id"]

        def rename(ref, to):
            engine(testbed, "POST", "/containers/%s/rename?name=%s"
                   % (ref, to))

        def flip():          # the old container takes the name
            rename(web_id, spare)
            rename(old_id_c, name)

        def flop():          # and gives it back
            rename(old_id_c, old_name)
            rename(web_id, name)

        outcomes = []
        conn = UnixConnection(g.sock)
        deadline = time.monotonic() + SECONDS / 2
        with Mover(flip, flop) as mover:
            for _ in range(ROUNDS // 2):
                if time.monotonic() > deadline:
                    break
                status, raw = unix_http(g.sock, "POST",
                                        "/v1.41/containers/%s/%s" % (name,
                                                                    verb),
                                        conn=conn)
                outcomes.append((status, raw[:300]))
                old = inspect(testbed, old_id_c)
                if old["State"]["StartedAt"] != NEVER:
                    break
                # wait (bounded) until web's `true` has exited again
                for _ in range(200):
                    c = inspect(testbed, web_id)
                    if not c["State"]["Running"]:
                        break
                    time.sleep(0.01)
        conn.close()
        assert not mover.errors, mover.errors
        old = inspect(testbed, old_id_c)
        started = sum(1 for s, _ in outcomes if s == 204)
        assert old["State"]["StartedAt"] == NEVER, (
            "the old container (image %s) was started through the guard "
            "after %d start(s) (%d allowed, %d renames): %r"
            % (OLD, len(outcomes), started, mover.moves, outcomes[-3:]))
        assert started > 0, outcomes[:5]
        for s, raw in outcomes:
            assert s in (204, 304, 403, 404), (s, raw)
    finally:
        remove_app(testbed, app)
