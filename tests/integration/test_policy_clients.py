"""docker-guard's policy with the real engine, registry and clients.

Each test drives a real client (Ansible community.docker, docker-compose
1.29, the docker CLI 28 and 20.10) through a guard of its own (so its
ledger starts empty) in front of the private dockerd, and checks three
things: what the user sees, the audit trail and the ledger.  The guard's
SQLite database is read read-only while the guard runs (WAL mode).

Under GUARD_STANDIN=socat every test here fails: nothing is refused and no
database is written.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time

import pytest

from testbed import (TestbedError, compose_cmd, compose_name,
                     compose_recreate_name, compose_text, compose_v1,
                     digest_ref_for, image_id, import_image, make_rootfs,
                     playbook_messages, push, run, run_playbook, unix_http,
                     wait_for)

ANSIBLE = shutil.which("ansible-playbook")
COMPOSE = compose_cmd()
CLI28 = "/usr/local/bin/docker"
CLI20 = "/usr/bin/docker"
NONE = ("--network", "none")
ALLOW_DOWNGRADE = "io.docker-guard.allow-downgrade"

NEW, OLD = "31.0.9.1", "31.0.8.1"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def db_rows(guard, sql, args=()):
    """Rows of a query on the guard's database, opened read-only."""
    con = sqlite3.connect("file:%s?mode=ro" % guard.db, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def ledger(guard, app):
    return db_rows(guard, "SELECT * FROM deployments WHERE app = ? "
                   "ORDER BY id", (app,))


def audit_rows(guard, app=None):
    # the decisions, not the engine's answers to them (rule outcome)
    if app is None:
        return db_rows(guard, "SELECT * FROM audit WHERE rule IS NOT "
                       "'outcome' ORDER BY id")
    return db_rows(guard, "SELECT * FROM audit WHERE app = ? AND rule IS "
                   "NOT 'outcome' ORDER BY id", (app,))


def wait_ledger(guard, app, n, timeout=20):
    """The ledger rows of app once there are at least n (bounded)."""
    return wait_for(lambda: (lambda rows: rows if len(rows) >= n else None)(
        ledger(guard, app)), "%d ledger rows for app %s" % (n, app),
        timeout=timeout, interval=0.1)


def vkey(version):
    return tuple(int(x) for x in re.findall(r"\d+", version))


def newest_version(rows):
    versions = [r["version"] for r in rows if r["version"]]
    return max(versions, key=vkey) if versions else None


def docker_pid(env, *args, cli="docker", timeout=120):
    """Run a docker CLI; returns (returncode, stdout, stderr, pid)."""
    p = subprocess.Popen([cli] + list(args), env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        raise TestbedError("timed out: %s\n%s\n%s" % (args, out, err))
    return p.returncode, out, err, p.pid


def dk(env, *args, cli="docker", timeout=120, check=False):
    return run([cli] + list(args), env=env, timeout=timeout, check=check)


def exists(testbed, name):
    return dk(testbed.direct_env, "container", "inspect", name,
              timeout=30).returncode == 0


def rm_f(testbed, *names):
    dk(testbed.direct_env, "rm", "-f", *names, timeout=60)


def state(testbed, name):
    """'<image id>|<running>' of a container, or None when there is none."""
    r = dk(testbed.direct_env, "container", "inspect", "--format",
           "{{.Image}}|{{.State.Running}}", name, timeout=30)
    return r.stdout.strip() if r.returncode == 0 else None


def assert_not_from(testbed, name, refused_id):
    """No container of that name runs the refused image (the guard may have
    restored the previous one: restore_on_refusal)."""
    st = state(testbed, name)
    assert st is None or not st.startswith(refused_id + "|"), (name, st)


def assert_restored(testbed, name, text, image_id, running):
    """README "Keeping the app running after a refusal": the previous
    container is back (same name and image, started if it ran) and the
    denial says so."""
    said = 'docker-guard restored the previous container "%s"%s, so the app ' \
        'keeps running.' % (name, " and started it" if running else "")
    assert said in text, "%r not in:\n%s" % (said, text)
    assert state(testbed, name) == "%s|%s" % (
        image_id, "true" if running else "false")


def assert_refused(res, *needles):
    text = res.stdout + res.stderr
    assert res.returncode != 0, "not refused: %r" % (text,)
    for n in needles:
        assert n in text, "%r not in client output:\n%s" % (n, text)
    return text


def build_image(testbed, repo, tag, version, salt, label=True, push_it=True):
    """A busybox image (version label unless label=False) tagged
    127.0.0.1:PORT/repo:tag and pushed; returns (id, tag_ref, digest_ref)."""
    env = testbed.direct_env
    local = "%s-local:%s" % (repo.replace("/", "-"), tag)
    if label:
        iid = import_image(env, testbed.work, local, version,
                           extra_files={"etc/salt": salt + "\n"})
    else:
        d = testbed.tmpdir("nolabel")
        root = os.path.join(d, "root")
        make_rootfs(root, {"etc/salt": salt + "\n"})
        tar = os.path.join(d, "root.tar")
        run(["tar", "-C", root, "-cf", tar, "."], timeout=120)
        run(["docker", "import", "-c", 'CMD ["/bin/sh"]', tar, local],
            env=env, timeout=300)
        shutil.rmtree(d, ignore_errors=True)
        iid = image_id(env, local)
    if not push_it:
        return iid, local, None
    ref = "%s/%s:%s" % (testbed.registry.addr, repo, tag)
    run(["docker", "tag", local, ref], env=env, timeout=30)
    push(env, ref)
    return iid, ref, digest_ref_for(env, ref, testbed.registry.addr, repo)


class NC:
    """The nextcloud images: 31.0.9.1, 31.0.8.1 and a rebuild of 31.0.9.1."""

    def __init__(self, testbed):
        self.new_id, self.new_tag, self.new = build_image(
            testbed, "nextcloud", NEW, NEW, "new")
        self.old_id, self.old_tag, self.old = build_image(
            testbed, "nextcloud", OLD, OLD, "old")
        self.re_id, self.re_tag, self.rebuild = build_image(
            testbed, "nextcloud", NEW + "-rebuild", NEW, "rebuild")
        assert len({self.new, self.old, self.rebuild}) == 3


@pytest.fixture(scope="module")
def nc(testbed):
    return NC(testbed)


# --------------------------------------------------------------------------
# Ansible
# --------------------------------------------------------------------------

CONTAINER_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: nextcloud
      community.docker.docker_container:
        docker_host: "{{ docker_host }}"
        name: "{{ cname }}"
        image: "{{ image }}"
        command: ["sleep", "300"]
        network_mode: none
        recreate: "{{ recreate }}"
        stop_timeout: 1
"""


@pytest.fixture(scope="module")
def ansible_dir(testbed):
    if ANSIBLE is None:
        pytest.skip("ansible-playbook not installed")
    d = testbed.tmpdir("ansible-policy")
    with open(os.path.join(d, "container.yml"), "w") as fh:
        fh.write(CONTAINER_PLAY)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    return d


def ansible(d, guard, run_id, **extra):
    """Run the container play through guard; returns (ok, text, stats)."""
    extra.setdefault("recreate", False)
    res, doc, stats = run_playbook(d, guard.env, guard.host, "container.yml",
                                   run_id, extra)
    ok = res.returncode == 0 and not stats.get("failures")
    return ok, "\n".join(playbook_messages(doc)) + "\n" + res.stderr, stats


def test_ansible_nextcloud_downgrade_refused(guard_factory, testbed, nc,
                                             ansible_dir):
    g = guard_factory("")
    rm_f(testbed, "nextcloud")
    try:
        ok, text, _ = ansible(ansible_dir, g, "nc-new", cname="nextcloud",
                              image=nc.new)
        assert ok, text
        rows = wait_ledger(g, "nextcloud", 1)
        assert [(r["version"], r["container_name"]) for r in rows] == \
            [(NEW, "nextcloud")], rows

        ok, text, _ = ansible(ansible_dir, g, "nc-old", cname="nextcloud",
                              image=nc.old)
        assert not ok, "the downgrade went through:\n" + text
        for needle in ('refusing to create app "nextcloud"',
                       "is version 31.0.8.1, older than 31.0.9.1 which this "
                       "app has run since",
                       "(rule: downgrade)",
                       "io.docker-guard.allow-downgrade=<reason>"):
            assert needle in text, "%r not in Ansible's failure:\n%s" % (
                needle, text)
        # the ledger: nothing of 31.0.8.1, newest still 31.0.9.1
        rows = ledger(g, "nextcloud")
        assert newest_version(rows) == NEW, rows
        assert OLD not in [r["version"] for r in rows], rows
        # the audit: a deny row with the client's identity
        denies = [a for a in audit_rows(g, "nextcloud")
                  if a["verdict"] == "deny"]
        assert len(denies) == 1, denies
        a = denies[0]
        assert (a["rule"], a["version"], a["previous_version"]) == \
            ("downgrade", OLD, NEW), a
        assert a["method"] == "POST" and "create" in (a["route"] or ""), a
        assert a["image_ref"] == nc.old, a
        assert a["uid"] == os.geteuid() and a["gid"] == os.getegid(), a
        assert isinstance(a["pid"], int) and a["pid"] > 1, a
        assert a["pid"] not in (os.getpid(), g.pid), a
        # the module runs under /usr/bin/python3
        assert a["comm"] and a["comm"].startswith("python"), a
        assert "is version 31.0.8.1" in a["message"], a
        rows = ledger(g, "nextcloud")
        assert {r["version"] for r in rows} == {NEW}, rows
        # Ansible stopped and removed the running 31.0.9.1 container before
        # its create (README: "a refused create would leave the app down"):
        # the guard must bring it back running
        assert_restored(testbed, "nextcloud", text, nc.new_id, True)
    finally:
        rm_f(testbed, "nextcloud")


def test_ansible_recreate_and_create_by_image_id(guard_factory, testbed, nc,
                                                 ansible_dir):
    g = guard_factory("")
    name = testbed.unique("pc-ansrec-")
    byid = testbed.unique("pc-byid-")
    try:
        ok, text, _ = ansible(ansible_dir, g, name + "1", cname=name,
                              image=nc.new)
        assert ok, text
        first = dk(testbed.direct_env, "inspect", "--format", "{{.Id}}",
                   name).stdout.strip()
        ok, text, stats = ansible(ansible_dir, g, name + "2", cname=name,
                                  image=nc.new, recreate=True)
        assert ok, "recreate: yes was refused:\n" + text
        assert stats["changed"] == 1, stats
        second = dk(testbed.direct_env, "inspect", "--format",
                    "{{.Id}}|{{.Image}}", name).stdout.strip()
        assert second.split("|")[1] == nc.new_id and \
            not second.startswith(first), (first, second)
        rows = wait_ledger(g, name, 2)
        # community.docker 3.4 sends the reference as written; an image ID
        # (which other versions send on recreate) would be judged the same
        assert rows[1]["image_ref"] in (nc.new, nc.new_id), rows
        assert [r["version"] for r in rows] == [NEW, NEW], rows
        assert rows[1]["container_id"] == second.split("|")[0], rows
        assert all(a["verdict"] == "allow" for a in audit_rows(g, name)), \
            audit_rows(g, name)

        # a container created by the image's full ID: pinned, allowed
        r = dk(g.env, "create", "--name", byid, *NONE, nc.new_id, "true")
        assert r.returncode == 0, r.stderr
        rows = wait_ledger(g, byid, 1)
        assert rows[0]["image_ref"] == nc.new_id and \
            rows[0]["version"] == NEW, rows
        verdicts = [(a["verdict"], a["image_ref"]) for a in audit_rows(g, byid)]
        assert verdicts == [("allow", nc.new_id)], verdicts
    finally:
        rm_f(testbed, name, byid)


# --------------------------------------------------------------------------
# compose: docker-compose 1.29, or compose v2 in a newer generation
# --------------------------------------------------------------------------

SERVICE_CMD = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


def test_compose_nextcloud_downgrade_refused(guard_factory, testbed, nc):
    if COMPOSE is None:
        pytest.skip("compose not installed")
    g = guard_factory("")
    d = testbed.tmpdir("compose-policy")
    path = os.path.join(d, "docker-compose.yml")
    project = "pc%s" % os.urandom(4).hex()
    app = project + "/nextcloud"
    cname = compose_name(project, "nextcloud")

    def write(image):
        with open(path, "w") as fh:
            fh.write(compose_text({"nextcloud": {
                "image": image, "network_mode": "none",
                "command": ["sh", "-c", SERVICE_CMD]}}))

    def compose(*args):
        return run(COMPOSE + ["-p", project, "-f", path] + list(args),
                   env=g.env, cwd=d, timeout=180, check=False)

    try:
        write(nc.new)
        up = compose("up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        rows = wait_ledger(g, app, 1)
        assert [(r["version"], r["container_name"]) for r in rows] == \
            [(NEW, cname)], rows
        old_id = dk(testbed.direct_env, "inspect", "--format", "{{.Id}}",
                    cname).stdout.strip()

        write(nc.old)
        up = compose("up", "-d")
        text = assert_refused(
            up, 'app "%s"' % app,
            "is version 31.0.8.1, older than 31.0.9.1 which this app has "
            "run since", "(rule: downgrade)",
            "io.docker-guard.allow-downgrade=<reason>")
        assert 'docker-guard: refusing to create container "%s"' % \
            compose_recreate_name(old_id, project, "nextcloud") in text, text
        rows = ledger(g, app)
        assert newest_version(rows) == NEW, rows
        assert OLD not in [r["version"] for r in rows], rows
        denies = [a for a in audit_rows(g, app) if a["verdict"] == "deny"]
        assert [(a["rule"], a["version"], a["previous_version"])
                for a in denies] == [("downgrade", OLD, NEW)], denies
        # nothing runs 31.0.8.1: the refused create made no container
        ids = dk(testbed.direct_env, "ps", "-aq", "--filter",
                 "label=com.docker.compose.project=" + project).stdout.split()
        images = [state(testbed, i).split("|")[0] for i in ids]
        assert images == [nc.new_id], images
        if compose_v1():
            # compose 1.29 stopped and renamed the old container before
            # the create; the guard renamed it back and started it
            assert_restored(testbed, cname, text, nc.new_id, True)
        else:
            # compose v2 creates first: the old container never stopped,
            # and there was nothing to restore
            assert "docker-guard restored" not in text, text
            assert dk(testbed.direct_env, "inspect", "--format",
                      "{{.Id}}|{{.State.Running}}|{{.RestartCount}}", cname
                      ).stdout.strip() == old_id + "|true|0"
            assert [a["verdict"] for a in audit_rows(g, app)] == \
                ["allow", "deny"], audit_rows(g, app)
    finally:
        compose("down", "-t", "1")
        ids = dk(testbed.direct_env, "ps", "-aq", "--filter",
                 "label=com.docker.compose.project=" + project).stdout.split()
        if ids:
            rm_f(testbed, *ids)


# --------------------------------------------------------------------------
# docker CLI
# --------------------------------------------------------------------------

def test_cli_downgrade_refused(guard_factory, testbed, nc):
    g = guard_factory("")
    name = testbed.unique("pc-cli-")
    try:
        r = dk(g.env, "create", "--name", name, *NONE, nc.new, "sleep", "300")
        assert r.returncode == 0, r.stderr
        wait_ledger(g, name, 1)
        assert dk(g.env, "rm", name).returncode == 0
        rc, out, err, pid = docker_pid(g.env, "create", "--name", name,
                                       *NONE, nc.old, "sleep", "300")
        assert rc != 0, out
        for needle in ('Error response from daemon: docker-guard: refusing '
                       'to create app "%s": image %s is version 31.0.8.1, '
                       'older than 31.0.9.1 which this app has run since'
                       % (name, nc.old),
                       "(rule: downgrade)",
                       "To stay on 31.0.9.1, use %s." % nc.new,
                       "io.docker-guard.allow-downgrade=<reason>"):
            assert needle in err, "%r not in:\n%s" % (needle, err)
        # the removed 31.0.9.1 container is back (created, not started)
        assert_restored(testbed, name, err, nc.new_id, False)
        rows = ledger(g, name)
        assert {r["version"] for r in rows} == {NEW}, rows
        assert rows[0]["removed_at"] is not None, rows
        deny = [a for a in audit_rows(g, name) if a["verdict"] == "deny"]
        assert len(deny) == 1, deny
        a = deny[0]
        assert (a["rule"], a["version"], a["previous_version"], a["uid"],
                a["pid"], a["comm"]) == ("downgrade", OLD, NEW, os.geteuid(),
                                         pid, "docker"), a
    finally:
        rm_f(testbed, name)


def test_same_version_new_digest_allowed_and_recorded(guard_factory, testbed,
                                                      nc):
    g = guard_factory("")
    name = testbed.unique("pc-rebuild-")
    try:
        assert dk(g.env, "create", "--name", name, *NONE, nc.new,
                  "true").returncode == 0
        wait_ledger(g, name, 1)
        assert dk(g.env, "rm", name).returncode == 0
        r = dk(g.env, "create", "--name", name, *NONE, nc.rebuild, "true")
        assert r.returncode == 0, r.stderr
        rows = wait_ledger(g, name, 2)
        assert [(r["version"], r["image_ref"]) for r in rows] == \
            [(NEW, nc.new), (NEW, nc.rebuild)], rows
        assert rows[0]["repo_digest"] != rows[1]["repo_digest"], rows
        assert rows[1]["image_id"] == nc.re_id, rows
        assert [a["verdict"] for a in audit_rows(g, name)] == \
            ["allow", "allow"]
    finally:
        rm_f(testbed, name)


# --------------------------------------------------------------------------
# require_digest
# --------------------------------------------------------------------------

def test_tag_only_refused_with_pinned_fix(guard_factory, testbed, app):
    g = guard_factory("")
    reg_digest = testbed.registry.manifest_digest("app", "31.0.9.1")
    before = set(dk(testbed.direct_env, "ps", "-aq").stdout.split())
    r = dk(g.env, "run", "--rm", *NONE, app.registry_ref, "echo", "hi")
    assert r.returncode != 0 and "hi" not in r.stdout, r
    for needle in ("image %s is not pinned by digest" % app.registry_ref,
                   "(rule: require_digest)",
                   "Pin it by digest: %s@%s" % (app.registry_ref, reg_digest)):
        assert needle in r.stderr, "%r not in:\n%s" % (needle, r.stderr)
    after = set(dk(testbed.direct_env, "ps", "-aq").stdout.split())
    assert after == before
    rows = [a for a in audit_rows(g) if a["image_ref"] == app.registry_ref]
    assert [(a["verdict"], a["rule"]) for a in rows] == \
        [("deny", "require_digest")], rows


def test_rolling_tag_latest_refused(guard_factory, testbed, app):
    g = guard_factory("")
    ref = "%s/pcroll/app:latest" % testbed.registry.addr
    run(["docker", "tag", app.tag, ref], env=testbed.direct_env, timeout=30)
    push(testbed.direct_env, ref)
    name = testbed.unique("pc-roll-")
    try:
        r = dk(g.env, "create", "--name", name, *NONE, ref, "true")
        assert_refused(r, '"latest" is a rolling tag', "(rule: require_digest)",
                       "image %s is not pinned by digest" % ref)
        assert not exists(testbed, name)
    finally:
        rm_f(testbed, name)


def test_digest_exempt_repository(guard_factory, testbed, app, nc):
    g = guard_factory("digest_exempt = %s/app\n" % testbed.registry.addr)
    r = dk(g.env, "run", "--rm", *NONE, app.registry_ref, "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    rows = [a for a in audit_rows(g) if a["image_ref"] == app.registry_ref]
    assert [(a["verdict"], a["rule"]) for a in rows] == \
        [("allow", "require_digest")], rows
    assert "digest_exempt" in rows[0]["message"], rows
    # another repository is still policed by the same guard
    r = dk(g.env, "run", "--rm", *NONE, nc.new_tag, "echo", "hi")
    assert_refused(r, "(rule: require_digest)")


# --------------------------------------------------------------------------
# warn mode
# --------------------------------------------------------------------------

@pytest.mark.parametrize("cli", [CLI28, CLI20], ids=["cli28", "cli20"])
def test_warn_mode_tag_only(guard_factory, testbed, app, cli):
    if not os.access(cli, os.X_OK):
        pytest.skip("%s not installed" % cli)
    g = guard_factory("require_digest = warn\ndowngrade = warn\n")
    name = testbed.unique("pc-warn-")
    try:
        r = dk(g.env, "create", "--name", name, *NONE, app.registry_ref,
               "true", cli=cli)
        assert r.returncode == 0, r.stderr
        assert "WARNING: docker-guard: warning: would refuse to create app " \
            "\"%s\": image %s is not pinned by digest" % (
                name, app.registry_ref) in r.stderr, r.stderr
        assert exists(testbed, name)
        rows = [a for a in audit_rows(g, name)]
        assert [(a["verdict"], a["rule"]) for a in rows] == \
            [("warn", "require_digest")], rows
        assert rows[0]["message"].startswith(
            "docker-guard: warning: would refuse to"), rows
        wait_ledger(g, name, 1)
    finally:
        rm_f(testbed, name)


def test_warn_mode_downgrade_goes_through(guard_factory, testbed, nc):
    g = guard_factory("require_digest = warn\ndowngrade = warn\n")
    name = testbed.unique("pc-warndg-")
    try:
        assert dk(g.env, "create", "--name", name, *NONE, nc.new,
                  "true").returncode == 0
        wait_ledger(g, name, 1)
        assert dk(g.env, "rm", name).returncode == 0
        r = dk(g.env, "create", "--name", name, *NONE, nc.old, "true")
        assert r.returncode == 0, r.stderr
        assert "WARNING: docker-guard: warning: would refuse to create app " \
            "\"%s\": image %s is version 31.0.8.1, older than 31.0.9.1" % (
                name, nc.old) in r.stderr, r.stderr
        rows = wait_ledger(g, name, 2)
        assert [r["version"] for r in rows] == [NEW, OLD], rows
        assert newest_version(rows) == NEW
        warns = [(a["verdict"], a["rule"], a["version"], a["previous_version"])
                 for a in audit_rows(g, name) if a["verdict"] != "allow"]
        assert warns == [("warn", "downgrade", OLD, NEW)], warns
    finally:
        rm_f(testbed, name)


# --------------------------------------------------------------------------
# overrides
# --------------------------------------------------------------------------

def _downgrade_with_label(g, testbed, nc, name):
    assert dk(g.env, "create", "--name", name, *NONE, nc.new,
              "true").returncode == 0
    wait_ledger(g, name, 1)
    assert dk(g.env, "rm", name).returncode == 0
    return docker_pid(g.env, "create", "--name", name, *NONE, "--label",
                      ALLOW_DOWNGRADE + "=restore from backup", nc.old, "true")


def test_override_label_allows_downgrade(guard_factory, testbed, nc):
    g = guard_factory("")
    name = testbed.unique("pc-ovr-")
    try:
        rc, out, err, pid = _downgrade_with_label(g, testbed, nc, name)
        assert rc == 0, err
        assert exists(testbed, name)
        rows = wait_ledger(g, name, 2)
        assert [r["version"] for r in rows] == [NEW, OLD], rows
        last = audit_rows(g, name)[-1]
        assert (last["verdict"], last["rule"], last["version"],
                last["uid"], last["pid"], last["comm"]) == \
            ("allow", "override", OLD, os.geteuid(), pid, "docker"), last
        assert "restore from backup" in last["message"], last
    finally:
        rm_f(testbed, name)


def test_override_label_ignored_when_not_honoured(guard_factory, testbed, nc):
    g = guard_factory("overrides =\n")
    name = testbed.unique("pc-noovr-")
    try:
        rc, out, err, pid = _downgrade_with_label(g, testbed, nc, name)
        assert rc != 0, "refused expected, got success"
        assert "(rule: downgrade)" in err, err
        assert "io.docker-guard.allow" not in err, err
        assert_not_from(testbed, name, nc.old_id)
        denies = [a for a in audit_rows(g, name) if a["verdict"] == "deny"]
        assert [(a["rule"], a["version"]) for a in denies] == \
            [("downgrade", OLD)], denies
        assert "allow-downgrade" not in denies[0]["message"], denies
        assert OLD not in [r["version"] for r in ledger(g, name)]
    finally:
        rm_f(testbed, name)


# --------------------------------------------------------------------------
# local_images, unknown_version
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def local_image(testbed):
    """Imported here, never pushed: no registry digest."""
    iid, tag, _ = build_image(testbed, "pclocal", "1.2.3", "1.2.3", "local",
                              push_it=False)
    return iid


def test_local_images_deny(guard_factory, testbed, local_image):
    g = guard_factory("local_images = deny\n")
    name = testbed.unique("pc-local-")
    try:
        r = dk(g.env, "create", "--name", name, *NONE, local_image, "true")
        assert_refused(r, "(rule: local_images)", local_image,
                       "has no registry digest")
        assert not exists(testbed, name)
        rows = audit_rows(g, name)
        assert [(a["verdict"], a["rule"]) for a in rows] == \
            [("deny", "local_images")], rows
        assert ledger(g, name) == []
    finally:
        rm_f(testbed, name)


def test_local_images_default_allow_audited(guard_factory, testbed,
                                            local_image):
    g = guard_factory("")
    name = testbed.unique("pc-localok-")
    try:
        r = dk(g.env, "create", "--name", name, *NONE, local_image, "true")
        assert r.returncode == 0, r.stderr
        rows = audit_rows(g, name)
        assert [(a["verdict"], a["rule"]) for a in rows] == \
            [("allow", "local_images")], rows
        assert [r["version"] for r in wait_ledger(g, name, 1)] == ["1.2.3"]
    finally:
        rm_f(testbed, name)


def test_unknown_version_deny(guard_factory, testbed, nc):
    g = guard_factory("unknown_version = deny\n")
    nover_id, tag_ref, digest_ref = build_image(
        testbed, "pcnover", "stable", None, "nover", label=False)
    # repo:tag@digest, the tag "stable" is no version
    ref = "%s@%s" % (tag_ref, digest_ref.split("@", 1)[1])
    name = testbed.unique("pc-nover-")
    try:
        assert dk(g.env, "create", "--name", name, *NONE, nc.new,
                  "true").returncode == 0
        wait_ledger(g, name, 1)
        assert dk(g.env, "rm", name).returncode == 0
        r = dk(g.env, "create", "--name", name, *NONE, ref, "true")
        assert_refused(r, "(rule: unknown_version)",
                       "no version could be found for image %s" % ref)
        assert_not_from(testbed, name, nover_id)
        denies = [a for a in audit_rows(g, name) if a["verdict"] == "deny"]
        assert [a["rule"] for a in denies] == ["unknown_version"], denies
        assert {r["version"] for r in ledger(g, name)} == {NEW}
    finally:
        rm_f(testbed, name)


# --------------------------------------------------------------------------
# renames and removals
# --------------------------------------------------------------------------

# --------------------------------------------------------------------------
# starting containers that exist
# --------------------------------------------------------------------------

APP_LABEL = "io.docker-guard.app"


def _two_versions(g, testbed, nc, app, old_labels=()):
    """Containers app-old (31.0.8.1) and app-new (31.0.9.1) of one app,
    created through the guard in that order and left stopped."""
    old, new = app + "-old", app + "-new"
    r = dk(g.env, "create", "--name", old, "--label", APP_LABEL + "=" + app,
           *old_labels, *NONE, nc.old, "sleep", "300")
    assert r.returncode == 0, r.stderr
    r = dk(g.env, "create", "--name", new, "--label", APP_LABEL + "=" + app,
           *NONE, nc.new, "sleep", "300")
    assert r.returncode == 0, r.stderr
    assert [x["version"] for x in wait_ledger(g, app, 2)] == [OLD, NEW]
    return old, new


def test_start_of_old_stopped_container_refused(guard_factory, testbed, nc):
    """A stopped container older than what its app has run since is a
    downgrade when started (docker start, restart, or by ID on the wire);
    the app's current container starts as usual."""
    g = guard_factory("")
    app = testbed.unique("pc-start-")
    old, new = app + "-old", app + "-new"
    try:
        old, new = _two_versions(g, testbed, nc, app)
        rc, out, err, pid = docker_pid(g.env, "start", old)
        assert rc != 0, out
        for needle in ('Error response from daemon: docker-guard: refusing '
                       'to start container "%s" (app "%s"): image %s is '
                       'version 31.0.8.1, older than 31.0.9.1 which this '
                       'app has run since' % (old, app, nc.old),
                       "(rule: downgrade)",
                       "To stay on 31.0.9.1, run the app's current "
                       "container, or create one from %s." % nc.new,
                       "To roll back on purpose, recreate the container "
                       "with the label io.docker-guard.allow-downgrade="
                       "<reason>."):
            assert needle in err, "%r not in:\n%s" % (needle, err)
        assert state(testbed, old) == "%s|false" % nc.old_id
        deny = [a for a in audit_rows(g, app) if a["verdict"] == "deny"]
        assert [(a["rule"], a["route"], a["version"], a["previous_version"],
                 a["pid"], a["comm"]) for a in deny] == \
            [("downgrade", "containers/{id}/start", OLD, NEW, pid,
              "docker")], deny

        # restart starts a stopped container too
        r = dk(g.env, "restart", "-t", "0", old)
        assert_refused(r, 'refusing to restart container "%s"' % old)
        # by a short ID, with the API prefix, as raw HTTP
        short = dk(testbed.direct_env, "inspect", "--format", "{{.Id}}",
                   old).stdout.strip()[:12]
        st, body = unix_http(g.sock, "POST",
                                   "/v1.41/containers/%s/start" % short)
        assert st == 403, (st, body)
        assert b"older than 31.0.9.1" in body, body
        assert state(testbed, old) == "%s|false" % nc.old_id

        # the app's current container starts, and adds no audit row: its
        # create's row already says what it runs
        n = len(audit_rows(g, app))
        r = dk(g.env, "start", new)
        assert r.returncode == 0, r.stderr
        assert state(testbed, new) == "%s|true" % nc.new_id
        assert dk(g.env, "start", new).returncode == 0
        assert len(audit_rows(g, app)) == n
        assert [x["version"] for x in ledger(g, app)] == [OLD, NEW]
    finally:
        rm_f(testbed, old, new)


def test_start_of_old_container_created_with_override(guard_factory, testbed,
                                                      nc):
    """An old container created on purpose (override label) starts; the
    override is audited."""
    g = guard_factory("")
    app = testbed.unique("pc-startovr-")
    old, new = app + "-old", app + "-new"
    try:
        old, new = _two_versions(g, testbed, nc, app, old_labels=(
            "--label", ALLOW_DOWNGRADE + "=restore from backup"))
        rc, out, err, pid = docker_pid(g.env, "start", old)
        assert rc == 0, err
        assert state(testbed, old) == "%s|true" % nc.old_id
        last = audit_rows(g, app)[-1]
        assert (last["verdict"], last["rule"], last["route"],
                last["version"], last["pid"]) == \
            ("allow", "override", "containers/{id}/start", OLD, pid), last
        assert "restore from backup" in last["message"], last
    finally:
        rm_f(testbed, old, new)


def test_start_of_unknown_container_passes_engine_error(guard_factory,
                                                        testbed):
    g = guard_factory("")
    r = dk(g.env, "start", "no-such-container-" + os.urandom(3).hex())
    assert r.returncode != 0
    assert "No such container" in r.stderr, r.stderr
    assert audit_rows(g) == []


def test_rename_and_remove_keep_ledger_straight(guard_factory, testbed, nc):
    g = guard_factory("")
    a, b = testbed.unique("pc-ren-a-"), testbed.unique("pc-ren-b-")
    try:
        assert dk(g.env, "create", "--name", a, *NONE, nc.new,
                  "true").returncode == 0
        cid = dk(testbed.direct_env, "inspect", "--format", "{{.Id}}",
                 a).stdout.strip()
        rows = wait_ledger(g, a, 1)
        assert (rows[0]["container_id"], rows[0]["container_name"],
                rows[0]["removed_at"]) == (cid, a, None), rows
        assert dk(g.env, "rename", a, b).returncode == 0

        def renamed():
            r = db_rows(g, "SELECT * FROM deployments WHERE container_id = ?",
                        (cid,))
            return r if r and r[0]["container_name"] == b else None
        row = wait_for(renamed, "ledger rename to " + b, timeout=10)[0]
        assert row["app"] == a and row["removed_at"] is None, row
        assert dk(g.env, "rm", b).returncode == 0

        def removed():
            r = db_rows(g, "SELECT * FROM deployments WHERE container_id = ?",
                        (cid,))
            return r if r and r[0]["removed_at"] is not None else None
        row = wait_for(removed, "ledger removal of " + b, timeout=10)[0]
        assert abs(row["removed_at"] - time.time()) < 120, row
        assert row["container_name"] == b
    finally:
        rm_f(testbed, a, b)


# --------------------------------------------------------------------------
# database trouble
# --------------------------------------------------------------------------

def test_locked_database_fails_closed(guard_factory, testbed, nc):
    g = guard_factory("")
    name = testbed.unique("pc-lock-")
    body = json.dumps({"Image": nc.new, "Cmd": ["true"],
                       "HostConfig": {"NetworkMode": "none"}}).encode()
    con = sqlite3.connect(g.db, timeout=10, isolation_level=None)
    try:
        con.execute("BEGIN EXCLUSIVE")
        t0 = time.monotonic()
        try:
            r = dk(g.env, "create", "--name", name, *NONE, nc.new, "true",
                   timeout=60)
            status, raw = unix_http(g.sock, "POST",
                                    "/v1.41/containers/create?name=" + name,
                                    timeout=30, body=body)
        finally:
            left = 3.0 - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)
            con.execute("ROLLBACK")
    finally:
        con.close()
    try:
        assert r.returncode != 0, "created while the database was locked"
        assert "Error response from daemon: docker-guard: refusing to " \
            "create" in r.stderr and "audit trail cannot be written" in \
            r.stderr, r.stderr
        assert status == 503, (status, raw)
        assert "audit trail cannot be written" in \
            json.loads(raw)["message"], raw
        assert not exists(testbed, name)
        assert g.alive()
        # the lock is gone: the same create works
        r = dk(g.env, "create", "--name", name, *NONE, nc.new, "true")
        assert r.returncode == 0, r.stderr
        assert [r["version"] for r in wait_ledger(g, name, 1)] == [NEW]
        assert audit_rows(g, name)[-1]["verdict"] == "allow"
    finally:
        rm_f(testbed, name)


def test_corrupt_database_refuses_to_start(testbed):
    if os.environ.get("GUARD_STANDIN"):
        pytest.fail("the stand-in has no database")
    binary = os.environ.get("DOCKER_GUARD_BIN",
                            os.path.join(os.path.dirname(__file__), "..", "..",
                                         "build", "docker-guard"))
    d = testbed.tmpdir("corrupt")
    db = os.path.join(d, "guard.db")
    with open(db, "wb") as fh:
        fh.write(b"this is not an SQLite database\n" + os.urandom(8192))
    conf = os.path.join(d, "guard.conf")
    open(conf, "w").close()
    sock = os.path.join(d, "g.sock")
    p = subprocess.Popen([binary, "serve", "--config", conf, "--listen", sock,
                          "--upstream", testbed.dockerd.sock, "--database", db],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        pytest.fail("the guard kept running on a corrupt database:\n" + err)
    assert p.returncode != 0, err
    assert db in err and "not a database" in err, err
    assert not os.path.exists(sock) or unix_http_fails(sock)


def unix_http_fails(sock):
    try:
        unix_http(sock, "GET", "/_ping", timeout=2)
    except (OSError, TestbedError):
        return True
    return False
