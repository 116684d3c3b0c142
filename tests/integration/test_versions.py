"""The version of an image is a property of the image, whatever the client
called it (README "What it refuses", Versions).

Against the real dockerd and registry, through a guard of its own per test:

- after nextcloud 31.0.9.1 ran, the 31.0.8.1 image is refused as a downgrade
  by full ID, by sha256: ID, by short ID (both spellings) and by digest, and
  a stopped container created from it by ID does not start: the image
  carries its version only in NEXTCLOUD_VERSION, named after a repository
  that an ID does not name;
- repo:31.0.9.1@sha256:<digest of 31.0.8.1> runs the 31.0.8.1 image (the
  engine ignores the tag), so it is refused naming 31.0.8.1; an image that
  is not on the host yet gets no version from a tag beside a digest;
- package revisions order: an app on 3.1.0-r2 refuses 3.1.0-r1, and one on
  2024.10.1-2 refuses 2024.10.1-1.

Under GUARD_STANDIN=socat every test here fails: nothing is refused.
"""

import os
import shutil
import sqlite3

import pytest

from testbed import (REPO, digest_ref_for, image_id, make_rootfs, push, run,
                     wait_for)

GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN",
                           os.path.join(REPO, "build", "docker-guard"))

NONE = ("--network", "none")
APP_LABEL = "io.docker-guard.app"
NEW, OLD = "31.0.9.1", "31.0.8.1"


def db_rows(guard, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % guard.db, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def ledger(guard, app):
    return db_rows(guard, "SELECT * FROM deployments WHERE app = ? "
                   "ORDER BY id", (app,))


def audit_rows(guard, app):
    return db_rows(guard, "SELECT * FROM audit WHERE app = ? ORDER BY id",
                   (app,))


def wait_ledger(guard, app, n, timeout=20):
    return wait_for(lambda: (lambda rows: rows if len(rows) >= n else None)(
        ledger(guard, app)), "%d ledger rows for app %s" % (n, app),
        timeout=timeout, interval=0.1)


def dk(env, *args, timeout=120):
    return run(["docker"] + list(args), env=env, timeout=timeout, check=False)


def rm_f(testbed, *names):
    dk(testbed.direct_env, "rm", "-f", *names, timeout=60)


def refused(res, *needles):
    text = res.stdout + res.stderr
    assert res.returncode != 0, "not refused: %r" % (text,)
    for n in needles:
        assert n in text, "%r not in client output:\n%s" % (n, text)
    return text


def imported(testbed, repo, tag, changes, salt, push_it=True):
    """A busybox image made by `docker import -c CHANGE...`, tagged
    REGISTRY/repo:tag and pushed; returns (image ID, tag ref, digest ref)."""
    env = testbed.direct_env
    d = testbed.tmpdir("vimg")
    root = os.path.join(d, "root")
    make_rootfs(root, {"etc/salt": salt + "\n"})
    tar = os.path.join(d, "root.tar")
    run(["tar", "-C", root, "-cf", tar, "."], timeout=120)
    ref = "%s/%s:%s" % (testbed.registry.addr, repo, tag)
    cmd = ["docker", "import"]
    for c in list(changes) + ['CMD ["/bin/sh"]']:
        cmd += ["-c", c]
    run(cmd + [tar, ref], env=env, timeout=300)
    shutil.rmtree(d, ignore_errors=True)
    iid = image_id(env, ref)
    if not push_it:
        return iid, ref, None
    push(env, ref)
    return iid, ref, digest_ref_for(env, ref, testbed.registry.addr, repo)


class Nextcloud:
    """vt/nextcloud 31.0.9.1 and 31.0.8.1, versioned only by
    NEXTCLOUD_VERSION, as the official images are."""

    def __init__(self, testbed):
        self.new_id, self.new_tag, self.new = imported(
            testbed, "vt/nextcloud", NEW, ["ENV NEXTCLOUD_VERSION=" + NEW],
            "vt-nc-new")
        self.old_id, self.old_tag, self.old = imported(
            testbed, "vt/nextcloud", OLD, ["ENV NEXTCLOUD_VERSION=" + OLD],
            "vt-nc-old")


@pytest.fixture(scope="module")
def nc(testbed):
    return Nextcloud(testbed)


def run_new(g, testbed, app, ref):
    """The app runs ref (its newest version) through the guard."""
    name = app + "-now"
    r = dk(g.env, "run", "-d", "--name", name, "--label", APP_LABEL + "=" +
           app, *NONE, ref, "sleep", "300")
    assert r.returncode == 0, r.stderr
    return name


def test_old_image_refused_by_every_spelling(guard_factory, testbed, nc):
    g = guard_factory("")
    app = testbed.unique("vt-spell-")
    hexid = nc.old_id.split(":", 1)[1]
    spellings = [
        ("full ID", nc.old_id),
        ("bare full ID", hexid),
        ("short ID", hexid[:12]),
        ("sha256: short ID", "sha256:" + hexid[:12]),
        ("digest", nc.old),
    ]
    names = [run_new(g, testbed, app, nc.new)]
    try:
        rows = wait_ledger(g, app, 1)
        assert [r["version"] for r in rows] == [NEW], rows
        for i, (how, ref) in enumerate(spellings):
            name = "%s-%d" % (app, i)
            names.append(name)
            r = dk(g.env, "create", "--name", name, "--label",
                   APP_LABEL + "=" + app, *NONE, ref, "true")
            refused(r, "(rule: downgrade)",
                    "image %s" % ref,
                    "is version 31.0.8.1, older than 31.0.9.1")
            assert dk(testbed.direct_env, "container", "inspect",
                      name).returncode != 0, how
        deny = [a for a in audit_rows(g, app) if a["verdict"] == "deny"]
        assert [(a["rule"], a["image_ref"], a["version"],
                 a["previous_version"]) for a in deny] == \
            [("downgrade", ref, OLD, NEW) for _, ref in spellings], deny
        assert [r["version"] for r in ledger(g, app)] == [NEW]
    finally:
        rm_f(testbed, *names)


def test_start_of_old_container_created_by_id_refused(guard_factory, testbed,
                                                      nc):
    """Containers created from the old image by ID and short ID (their
    Config.Image names no repository) before the app moved on do not
    start again; the ledger has their real version."""
    g = guard_factory("")
    app = testbed.unique("vt-start-")
    hexid = nc.old_id.split(":", 1)[1]
    by_id, by_short = app + "-id", app + "-short"
    names = [by_id, by_short]
    try:
        for name, ref in ((by_id, nc.old_id), (by_short, hexid[:12])):
            r = dk(g.env, "create", "--name", name, "--label",
                   APP_LABEL + "=" + app, *NONE, ref, "sleep", "300")
            assert r.returncode == 0, r.stderr
        assert [r["version"] for r in wait_ledger(g, app, 2)] == [OLD, OLD]
        names.append(run_new(g, testbed, app, nc.new))
        wait_ledger(g, app, 3)
        for name in (by_id, by_short):
            r = dk(g.env, "start", name)
            refused(r, 'refusing to start container "%s" (app "%s")'
                    % (name, app), "is version 31.0.8.1, older than "
                    "31.0.9.1", "(rule: downgrade)")
            st = dk(testbed.direct_env, "container", "inspect", "--format",
                    "{{.State.Running}}", name)
            assert st.stdout.strip() == "false", st
        # the dry run says the same
        r = run([GUARD_BIN, "check", hexid[:12], "--app", app, "--config", g.config,
                 "--database", g.db, "--upstream", testbed.dockerd.sock],
                timeout=90, check=False)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert "is version 31.0.8.1, older than 31.0.9.1" in r.stdout + \
            r.stderr, r.stdout
    finally:
        rm_f(testbed, *names)


@pytest.fixture(scope="module")
def tagged(testbed):
    """vt/tagonly 31.0.9.1 and 31.0.8.1: no label, no env, the version is
    only in the tag."""
    new = imported(testbed, "vt/tagonly", NEW, [], "vt-tag-new")
    old = imported(testbed, "vt/tagonly", OLD, [], "vt-tag-old")
    return new, old


def test_tag_beside_digest_lends_nothing(guard_factory, testbed, tagged):
    (new_id, new_tag, new), (old_id, old_tag, old) = tagged
    g = guard_factory("")
    app = testbed.unique("vt-beside-")
    repo = new.split("@", 1)[0]
    names = []
    try:
        # the app runs 31.0.9.1 by tag@digest: the image's own tag says it
        names.append(run_new(g, testbed, app, "%s:%s@%s" % (
            repo, NEW, new.split("@", 1)[1])))
        assert [r["version"] for r in wait_ledger(g, app, 1)] == [NEW]
        # the 31.0.9.1 tag written beside the old digest: the engine runs
        # the old image, and so the guard judges it
        lie = "%s:%s@%s" % (repo, NEW, old.split("@", 1)[1])
        name = app + "-lie"
        names.append(name)
        r = dk(g.env, "create", "--name", name, "--label",
               APP_LABEL + "=" + app, *NONE, lie, "true")
        refused(r, "image %s is version 31.0.8.1, older than 31.0.9.1" % lie,
                "(rule: downgrade)")
        deny = [a for a in audit_rows(g, app) if a["verdict"] == "deny"]
        assert [(a["version"], a["previous_version"]) for a in deny] == \
            [(OLD, NEW)], deny
    finally:
        rm_f(testbed, *names)


def test_tag_beside_digest_of_image_not_here(guard_factory, testbed):
    """Not on the host: the registry has no version for it, and the tag
    beside its digest is no version either (unknown_version = deny)."""
    _, tag_ref, digest_ref = imported(testbed, "vt/absent", "1.0", [],
                                      "vt-absent")
    env = testbed.direct_env
    assert dk(env, "rmi", tag_ref).returncode == 0
    assert dk(env, "image", "inspect", digest_ref).returncode != 0
    g = guard_factory("unknown_version = deny\n")
    app = testbed.unique("vt-absent-")
    ref = "%s:9.9@%s" % (digest_ref.split("@", 1)[0],
                         digest_ref.split("@", 1)[1])
    r = dk(g.env, "create", "--name", app, *NONE, ref, "true")
    try:
        refused(r, "(rule: unknown_version)",
                "no version could be found for image %s" % ref)
        rows = audit_rows(g, app)
        assert [(a["verdict"], a["rule"], a["version"]) for a in rows] == \
            [("deny", "unknown_version", None)], rows
    finally:
        rm_f(testbed, app)


@pytest.mark.parametrize("have,older", [("3.1.0-r2", "3.1.0-r1"),
                                        ("2024.10.1-2", "2024.10.1-1")])
def test_package_revision_downgrade_refused(guard_factory, testbed, have,
                                            older):
    label = "LABEL org.opencontainers.image.version=%s"
    repo = "vt/rev-" + have.split(".", 1)[0]
    _, _, cur = imported(testbed, repo, have, [label % have], "rev-" + have)
    _, _, old = imported(testbed, repo, older, [label % older],
                         "rev-" + older)
    g = guard_factory("")
    app = testbed.unique("vt-rev-")
    names = [run_new(g, testbed, app, cur)]
    try:
        assert [r["version"] for r in wait_ledger(g, app, 1)] == [have]
        name = app + "-old"
        names.append(name)
        r = dk(g.env, "create", "--name", name, "--label",
               APP_LABEL + "=" + app, *NONE, old, "true")
        refused(r, "image %s is version %s, older than %s" % (old, older,
                                                               have),
                "(rule: downgrade)")
    finally:
        rm_f(testbed, *names)
