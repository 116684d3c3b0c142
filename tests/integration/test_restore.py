"""The guard's own restore after a refusal (README "Keeping the app running
after a refusal") passes the rules a client's request meets, and a
snapshot is kept for every way of spelling a removal.

- A restore that would recreate (from a snapshot) or rename back and start
  (compose 1.29's old container) a container whose image is older than the
  app's newest is not done; the denial and the audit say why.  With the
  docker CLI, docker-compose 1.29 and Ansible.
- `docker rm` by name, full ID, short ID prefix, with the /v1.41/ prefix,
  with ?force=1, `docker rm -f` of a running container and
  `POST /containers/prune` each leave a snapshot keyed by the full ID, and
  the ledger records the removal.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_restore.py
"""

import http.client
import json
import os
import shutil
import socket
import sqlite3
import urllib.parse

import pytest

from testbed import playbook_messages, run, run_playbook, wait_for

ANSIBLE = shutil.which("ansible-playbook")
COMPOSE = shutil.which("docker-compose")
NONE = ("--network", "none")
APP_LABEL = "io.docker-guard.app"
NEW, OLD = "31.0.9.1", "31.0.8.1"
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


def db_rows(db, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def dk(env, *args, timeout=120):
    return run(["docker"] + list(args), env=env, timeout=timeout, check=False)


def state(testbed, ref):
    """(image id, running) of a container, or None."""
    r = dk(testbed.direct_env, "container", "inspect", "--format",
           "{{.Image}}|{{.State.Running}}", ref, timeout=30)
    if r.returncode != 0:
        return None
    iid, running = r.stdout.strip().split("|")
    return iid, running == "true"


def full_id(testbed, ref):
    return dk(testbed.direct_env, "container", "inspect", "--format",
              "{{.Id}}", ref).stdout.strip()


def rm_f(testbed, *refs):
    if refs:
        dk(testbed.direct_env, "rm", "-f", *refs, timeout=60)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60.0):
        super().__init__("docker", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def api(sock, method, path):
    """One keep-alive HTTP/1.1 request: (status, body text)."""
    c = UnixConnection(sock)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def snapshots(g, container_id):
    return db_rows(g.db, "SELECT * FROM snapshots WHERE container_id = ?",
                   (container_id,))


def audit_rows(g, app):
    return db_rows(g.db, "SELECT * FROM audit WHERE app = ? ORDER BY id",
                   (app,))


def images(testbed):
    return testbed.images[NEW], testbed.images[OLD]


# --------------------------------------------------------------------------
# a snapshot for every removal spelling
# --------------------------------------------------------------------------

def unique_prefix(testbed, cid):
    """The shortest prefix (at least 4) no other container shares."""
    others = dk(testbed.direct_env, "ps", "-aq", "--no-trunc").stdout.split()
    for n in range(4, 64):
        if sum(1 for o in others if o.startswith(cid[:n])) == 1:
            return cid[:n]
    return cid


REMOVALS = {
    "name": lambda g, t, name, cid: dk(g.env, "rm", name),
    "full_id": lambda g, t, name, cid: dk(g.env, "rm", cid),
    "short_prefix": lambda g, t, name, cid: dk(g.env, "rm",
                                               unique_prefix(t, cid)),
    "v1.41_prefix": lambda g, t, name, cid: api(
        g.sock, "DELETE", "/v1.41/containers/" + unique_prefix(t, cid)),
    "force": lambda g, t, name, cid: api(
        g.sock, "DELETE", "/containers/%s?force=1" % unique_prefix(t, cid)),
    "rm_f_running": lambda g, t, name, cid: dk(g.env, "rm", "-f",
                                               unique_prefix(t, cid)),
    "prune": lambda g, t, name, cid: api(
        g.sock, "POST", "/v1.41/containers/prune?filters=" +
        urllib.parse.quote(json.dumps({"label": ["%s=%s" % (APP_LABEL,
                                                            name)]}))),
}


@pytest.mark.parametrize("spelling", sorted(REMOVALS))
def test_every_removal_spelling_keeps_a_snapshot(guard_factory, testbed,
                                                 spelling):
    g = guard_factory("")
    new, _ = images(testbed)
    name = testbed.unique("rs-")
    running = spelling == "rm_f_running"
    try:
        args = ["run", "-d"] if running else ["create"]
        r = dk(g.env, *args, "--name", name, "--label",
               "%s=%s" % (APP_LABEL, name), *NONE, new.digest_ref,
               "sh", "-c", LOOP)
        assert r.returncode == 0, r.stderr
        cid = full_id(testbed, name)
        res = REMOVALS[spelling](g, testbed, name, cid)
        status = getattr(res, "returncode", None)
        if status is None:
            assert res[0] in (200, 204), res
        else:
            assert status == 0, res.stderr
        assert state(testbed, cid) is None, "not removed"
        snaps = snapshots(g, cid)
        assert len(snaps) == 1, "no snapshot after a removal by %s" % spelling
        assert snaps[0]["app"] == name and \
            snaps[0]["was_running"] == (1 if running else 0), snaps
        # the ledger has the removal (by the full ID, whatever the spelling)
        wait_for(lambda: db_rows(g.db, "SELECT removed_at FROM deployments "
                                 "WHERE container_id = ?", (cid,))[0]
                 ["removed_at"], "the removal in the ledger", timeout=20)
        # and a refused create brings that container back
        _, old = images(testbed)
        r = dk(g.env, "create", "--name", name, "--label",
               "%s=%s" % (APP_LABEL, name), *NONE, old.digest_ref, "true")
        assert r.returncode != 0, r.stdout
        said = 'docker-guard restored the previous container "%s"' % name
        assert said in r.stderr, r.stderr
        assert state(testbed, name) == (new.id, running)
    finally:
        rm_f(testbed, name)


# --------------------------------------------------------------------------
# the restore is judged
# --------------------------------------------------------------------------

def assert_not_restored(text, name, old):
    said = ('docker-guard did not restore the previous container "%s": its '
            'image %s is version %s, older than %s which this app has run '
            '(rule: downgrade).' % (name, old, OLD, NEW))
    assert said in text, "%r not in:\n%s" % (said, text)
    assert "docker-guard restored" not in text, text


def assert_restore_audited(g, app):
    rows = [a for a in audit_rows(g, app) if a["rule"] == "restore"]
    assert [a["verdict"] for a in rows] == ["deny"], rows
    assert rows[0]["version"] == OLD and rows[0]["previous_version"] == NEW, \
        rows
    assert "did not restore the previous container" in rows[0]["message"]


def test_cli_snapshot_older_than_newest_is_not_restored(guard_factory,
                                                        testbed):
    """The app ran 31.0.8.1, then 31.0.9.1 in a second container; both are
    removed, the 31.0.8.1 one last.  A refused create of 31.0.8.1 must not
    bring the 31.0.8.1 container back."""
    g = guard_factory("")
    new, old = images(testbed)
    app = testbed.unique("ro-")
    label = ("--label", "%s=%s" % (APP_LABEL, app))
    try:
        assert dk(g.env, "run", "-d", "--name", app, *label, *NONE,
                  old.digest_ref, "sh", "-c", LOOP).returncode == 0
        assert dk(g.env, "run", "-d", "--name", app + "-b", *label, *NONE,
                  new.digest_ref, "sh", "-c", LOOP).returncode == 0
        assert dk(g.env, "rm", "-f", app + "-b").returncode == 0
        assert dk(g.env, "rm", "-f", app).returncode == 0
        r = dk(g.env, "run", "-d", "--name", app, *label, *NONE,
               old.digest_ref, "sh", "-c", LOOP)
        assert r.returncode != 0, r.stdout
        assert "(rule: downgrade)" in r.stderr, r.stderr
        assert state(testbed, app) is None, "restored: %r" % (
            state(testbed, app),)
        assert_not_restored(r.stderr, app, old.id)
        assert_restore_audited(g, app)
    finally:
        rm_f(testbed, app, app + "-b")


def test_compose_rename_back_of_an_older_container_is_judged(guard_factory,
                                                             testbed):
    """compose 1.29 ran web on 31.0.8.1; the app then ran 31.0.9.1 (another
    container with the same compose labels, removed since).  An `up` that
    recreates web on 31.0.8.1 is refused; the guard must not rename the
    31.0.8.1 container back and start it."""
    if COMPOSE is None:
        pytest.skip("docker-compose not installed")
    g = guard_factory("")
    new, old = images(testbed)
    d = testbed.tmpdir("compose-restore")
    path = os.path.join(d, "docker-compose.yml")
    project = "cr%s" % os.urandom(4).hex()
    app = project + "/web"

    def write(image, cmd):
        with open(path, "w") as fh:
            json.dump({"version": "2.4", "services": {"web": {
                "image": image, "network_mode": "none",
                "command": ["sh", "-c", cmd]}}}, fh)

    def compose(*args):
        return run([COMPOSE, "-p", project, "-f", path] + list(args),
                   env=g.env, cwd=d, timeout=180, check=False)

    def containers():
        ids = dk(testbed.direct_env, "ps", "-aq", "--filter",
                 "label=com.docker.compose.project=" + project).stdout.split()
        return [(i,) + state(testbed, i) for i in ids]

    try:
        write(old.digest_ref, LOOP)
        up = compose("up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        side = project + "-side"
        r = dk(g.env, "run", "-d", "--name", side, "--label",
               "com.docker.compose.project=" + project, "--label",
               "com.docker.compose.service=web", *NONE, new.digest_ref,
               "sh", "-c", LOOP)
        assert r.returncode == 0, r.stderr
        assert dk(g.env, "rm", "-f", side).returncode == 0

        write(old.digest_ref, LOOP + " # changed")
        up = compose("up", "-d")
        text = up.stdout + up.stderr
        assert up.returncode != 0, text
        assert "(rule: downgrade)" in text, text
        running = [c for c in containers() if c[2]]
        assert running == [], "the old container runs again: %r" % running
        assert_not_restored(text, project + "_web_1", old.digest_ref)
        assert_restore_audited(g, app)
    finally:
        compose("down", "-t", "1")
        rm_f(testbed, *[c[0] for c in containers()])


PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: web
      community.docker.docker_container:
        docker_host: "{{ docker_host }}"
        name: "{{ cname }}"
        image: "{{ image }}"
        command: ["sh", "-c", "{{ cmd }}"]
        labels: {"io.docker-guard.app": "{{ cname }}"}
        network_mode: none
        stop_timeout: 1
"""


def test_ansible_snapshot_older_than_newest_is_not_restored(guard_factory,
                                                            testbed):
    """Ansible made web on 31.0.8.1; the app then ran 31.0.9.1 in another
    container (removed since).  A play that recreates web on 31.0.8.1 stops
    and removes it, and its create is refused: the guard must not recreate
    the 31.0.8.1 container."""
    if ANSIBLE is None:
        pytest.skip("ansible-playbook not installed")
    g = guard_factory("")
    new, old = images(testbed)
    d = testbed.tmpdir("ansible-restore")
    with open(os.path.join(d, "play.yml"), "w") as fh:
        fh.write(PLAY)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    app = testbed.unique("ra-")

    def play(run_id, cmd):
        res, doc, stats = run_playbook(d, g.env, g.host, "play.yml", run_id,
                                       {"cname": app, "image": old.digest_ref,
                                        "cmd": cmd})
        ok = res.returncode == 0 and not stats.get("failures")
        return ok, "\n".join(playbook_messages(doc)) + "\n" + res.stderr

    try:
        ok, text = play("one", LOOP)
        assert ok, text
        r = dk(g.env, "run", "-d", "--name", app + "-b", "--label",
               "%s=%s" % (APP_LABEL, app), *NONE, new.digest_ref,
               "sh", "-c", LOOP)
        assert r.returncode == 0, r.stderr
        assert dk(g.env, "rm", "-f", app + "-b").returncode == 0
        ok, text = play("two", LOOP + " # changed")
        assert not ok, text
        assert "(rule: downgrade)" in text, text
        assert state(testbed, app) is None, "restored: %r" % (
            state(testbed, app),)
        assert_not_restored(text, app, old.id)
        assert_restore_audited(g, app)
    finally:
        rm_f(testbed, app, app + "-b")
