"""The README's outage stories, end to end: real clients (Ansible
community.docker, compose (1.29, or v2 in a newer generation), the docker
CLI), the private dockerd
and a real registry, all through docker-guard.

Each story checks three things: what the user sees (the client's error),
the audit trail (read with `docker-guard audit --json` and read-only SQL)
and the ledger (`docker-guard history APP --json`).

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_stories.py
"""

import json
import os
import re
import shutil
import sqlite3
import time

import pytest

from registry_fixtures import MT_DOCKER_V2, ImageKit, RegistryServer
from testbed import (REPO, client_env, compose_cmd, compose_name,
                     compose_recreate_name, compose_text, compose_v1,
                     playbook_messages, run, run_playbook, unix_http,
                     wait_for)

ANSIBLE = shutil.which("ansible-playbook")
COMPOSE = compose_cmd()
DOCKER = "/usr/local/bin/docker" if os.access("/usr/local/bin/docker", os.X_OK) \
    else (shutil.which("docker") or "docker")
GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN",
                           os.path.join(REPO, "build", "docker-guard"))
NONE = ("--network", "none")
# a service command that stops at once on SIGTERM
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


# --------------------------------------------------------------------------
# helpers (also imported by test_review_cli.py)
# --------------------------------------------------------------------------

def dg(*args, timeout=60):
    """Run the docker-guard CLI (bounded); returns the CompletedProcess."""
    return run([GUARD_BIN] + [str(a) for a in args], timeout=timeout,
               check=False)


def db_rows(db, sql, args=()):
    """Rows of a query on a guard database opened read-only (WAL)."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line)
            assert isinstance(obj, dict), line
            out.append(obj)
    return out


def audit_cli(db, *filters):
    """`docker-guard audit --json` with filters -> list of dicts."""
    r = dg("audit", "--json", "--database", db, *filters)
    assert r.returncode == 0, (filters, r.returncode, r.stderr)
    return json_lines(r.stdout)


def history_cli(db, app):
    r = dg("history", app, "--json", "--database", db)
    assert r.returncode == 0, (app, r.returncode, r.stderr)
    return json_lines(r.stdout)


def wait_audit_rule(db, rule, app=None, n=1, timeout=20):
    """Wait until the audit has n rows of rule (for app); returns them."""
    def rows():
        args = ["--rule", rule] + (["--app", app] if app else [])
        found = audit_cli(db, *args)
        return found if len(found) >= n else None
    return wait_for(rows, "%d audit row(s) rule %s app %s in %s"
                    % (n, rule, app, db), timeout=timeout, interval=0.2)


def dk(env, *args, timeout=120):
    """docker (CLI 28), not checked."""
    return run([DOCKER] + list(args), env=env, timeout=timeout, check=False)


def inspect_fmt(env, ref, fmt):
    r = dk(env, "inspect", "--format", fmt, ref, timeout=30)
    return r.stdout.strip() if r.returncode == 0 else None


def rm_f(testbed, *names):
    if names:
        dk(testbed.direct_env, "rm", "-f", *names)


def session_registry(testbed):
    """The session's registry, with the registry_fixtures API helpers
    (digest, get_manifest, delete_manifest).  Never started or stopped
    here: the testbed owns the process."""
    r = RegistryServer(testbed.work, "session-registry-api")
    r.port = testbed.registry.port
    return r


def engine_version(testbed):
    """The engine's version as the guard records it: "V (API A)"."""
    status, body = unix_http(testbed.dockerd.sock, "GET", "/version")
    assert status == 200, body
    v = json.loads(body)
    return "%s (API %s)" % (v["Version"], v["ApiVersion"])


@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture(scope="module")
def sreg(testbed):
    return session_registry(testbed)


def pushed(kit, reg, repo, tag, version, salt):
    """An image reg/repo:tag with the version label, pushed; returns
    (image ID, tag ref, digest ref)."""
    ref = "%s/%s:%s" % (reg.addr, repo, tag)
    iid = kit.import_image(ref, version, extra_label="dg.story=%s" % salt)
    kit.push(ref)
    digest = reg.digest(repo, tag, accept=MT_DOCKER_V2)
    return iid, ref, "%s/%s@%s" % (reg.addr, repo, digest)


# --------------------------------------------------------------------------
# 1. Ansible from a stale branch recreates Nextcloud with an older digest
# --------------------------------------------------------------------------

NEXTCLOUD_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: nextcloud
      community.docker.docker_container:
        docker_host: "{{ docker_host }}"
        name: nextcloud
        image: "{{ image }}"
        command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
        network_mode: none
        volumes: ["{{ volume }}:/data"]
        state: started
        stop_timeout: 1
"""


def ansible_play(d, guard, play, run_id, **extra):
    """Run a playbook through guard; returns (ok, message text, stats)."""
    res, doc, stats = run_playbook(d, guard.env, guard.host, play, run_id,
                                   extra, timeout=240)
    ok = res.returncode == 0 and not stats.get("failures")
    return ok, "\n".join(playbook_messages(doc)), stats


def test_story_ansible_stale_branch_downgrade(testbed, guard_factory, kit, sreg):
    if ANSIBLE is None:
        pytest.skip("ansible-playbook not installed")
    new_id, _, new = pushed(kit, sreg, "nextcloud", "31.0.9.1", "31.0.9.1",
                            "story1-new")
    old_id, _, old = pushed(kit, sreg, "nextcloud", "31.0.8.1", "31.0.8.1",
                            "story1-old")
    assert new_id != old_id and new != old
    d = testbed.tmpdir("story1")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    with open(os.path.join(d, "nextcloud.yml"), "w") as fh:
        fh.write(NEXTCLOUD_PLAY)
    volume = testbed.unique("nc-data-")
    payload = "nextcloud data " + os.urandom(8).hex()
    g = guard_factory("")
    rm_f(testbed, "nextcloud")
    try:
        # main branch: 31.0.9.1, and the app writes its data
        ok, text, stats = ansible_play(d, g, "nextcloud.yml", "main",
                                       image=new, volume=volume)
        assert ok, text
        first = inspect_fmt(g.env, "nextcloud", "{{.Id}}|{{.Image}}|{{.State.Running}}")
        assert first is not None and first.endswith("|%s|true" % new_id), first
        first_id = first.split("|")[0]
        w = dk(g.env, "exec", "nextcloud", "sh", "-c",
               "echo '%s' > /data/config.php && cat /data/config.php" % payload)
        assert w.returncode == 0 and payload in w.stdout, w.stderr

        # the stale branch: 31.0.8.1
        ok, text, stats = ansible_play(d, g, "nextcloud.yml", "stale",
                                       image=old, volume=volume)
        assert not ok, "Ansible downgraded nextcloud:\n" + text
        want = ('docker-guard: refusing to create app "nextcloud": image %s is '
                'version 31.0.8.1, older than 31.0.9.1 which this app has run '
                'since ' % old)
        assert want in text, "%r not in Ansible's failure:\n%s" % (want, text)
        # Everything below is what the user and the operator see; collect
        # every difference, so one run shows the whole story.
        problems = []

        def check(cond, what):
            if not cond:
                problems.append(what)

        for needle in ("(rule: downgrade). To stay on 31.0.9.1, use %s." % new,
                       "To roll back on purpose, add the label "
                       "io.docker-guard.allow-downgrade=<reason>.",
                       'docker-guard restored the previous container '
                       '"nextcloud" and started it, so the app keeps running.'):
            check(needle in text, "%r not in Ansible's failure: %s" % (needle, text))

        # the app is running 31.0.9.1 again, with its data
        now = inspect_fmt(g.env, "nextcloud",
                          "{{.Id}}|{{.Image}}|{{.Config.Image}}|{{.State.Running}}")
        assert now is not None, "no container nextcloud after the refusal"
        now_id, now_image, now_ref, running = now.split("|")
        check((now_image, running) == (new_id, "true"),
              "after the refusal nextcloud is (image, running) = %r, want (%s, true)"
              % ((now_image, running), new_id))
        check(now_id != first_id, "Ansible did not remove the first container")
        check(now_ref in (new, new_id), "restored with image %r" % now_ref)
        mounts = inspect_fmt(g.env, "nextcloud",
                             "{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}")
        check(mounts.split() == ["%s:/data" % volume], "mounts %r" % mounts)
        if running != "true":   # read the volume anyway
            dk(g.env, "start", "nextcloud")
        r = dk(g.env, "exec", "nextcloud", "cat", "/data/config.php")
        check(r.returncode == 0 and r.stdout.strip() == payload,
              "the data in the volume: %r %r" % (r.stdout, r.stderr))

        # the audit: the downgrade refused, the restore done
        rows = audit_cli(g.db, "--app", "nextcloud")
        assert [(a["verdict"], a["rule"]) for a in rows][:3] == [
            ("allow", None), ("deny", "downgrade"), ("allow", "restore")], rows
        deny, restore = rows[1], rows[2]
        check((deny["version"], deny["previous_version"], deny["image"]) == (
            "31.0.8.1", "31.0.9.1", old), "deny row %r" % deny)
        check(deny["message"].startswith(want), "deny message %r" % deny)
        check((deny["process"] or "").startswith("python"), "deny process %r" % deny)
        check(restore["message"] == (
            'restored the previous container "nextcloud" (%s) of app '
            '"nextcloud" after a refusal' % now_id[:12]), "restore row %r" % restore)

        # the ledger: the newest version is 31.0.9.1 (the restored
        # container), nothing of 31.0.8.1
        hist = wait_for(lambda: (lambda h: h if any(
            e["container_id"] == now_id for e in h) else None)(
                history_cli(g.db, "nextcloud")),
            "the restored container in the ledger", timeout=20)
        check([e["version"] for e in hist] == ["31.0.9.1", "31.0.9.1"],
              "ledger versions %r" % hist)
        check(hist[-1]["container_id"] == now_id and hist[-1]["removed"] is None,
              "ledger newest %r" % hist)
        check(hist[0]["container_id"] == first_id and hist[0]["removed"],
              "ledger first %r" % hist)
        check(db_rows(g.db, "SELECT version FROM deployments WHERE app = ? "
                      "ORDER BY created_at DESC, id DESC LIMIT 1",
                      ("nextcloud",)) == [{"version": "31.0.9.1"}], "ledger SQL")
        # the guard's own restore is not someone bypassing the guard: it is
        # recorded as a restore and never flagged out_of_band (the create
        # event is looked at 2 s later: wait past that)
        time.sleep(3.5)
        flagged = audit_cli(g.db, "--app", "nextcloud", "--rule", "out_of_band")
        check(flagged == [], "the guard's own restore was flagged out_of_band: %r"
              % [f["message"] for f in flagged])
        hist = history_cli(g.db, "nextcloud")
        check(hist[-1]["source"] == "restore",
              "the restored container is in the ledger with source %r, not "
              "'restore'" % hist[-1]["source"])
        assert not problems, "\n".join(["%d problem(s):" % len(problems)] + problems)
    finally:
        rm_f(testbed, "nextcloud")
        dk(testbed.direct_env, "volume", "rm", "-f", volume)


# --------------------------------------------------------------------------
# 2. A retention job deletes the per-platform manifests of a prod index
# --------------------------------------------------------------------------

def compose_run(path, project, env, *args, timeout=300):
    return run(COMPOSE + ["-p", project, "-f", path] + list(args), env=env,
               cwd=os.path.dirname(path), timeout=timeout, check=False)


def write_compose(path, services):
    with open(path, "w") as fh:
        fh.write(compose_text(services))


def test_story_retention_job_deletes_index_children(testbed, guard_factory, kit, sreg):
    if COMPOSE is None:
        pytest.skip("compose not installed")
    repo = "svc"
    # CLI 28 `docker manifest create/annotate/push --insecure` over a
    # linux/amd64 and a linux/arm64 import, both pushed
    d = kit.build_index(sreg, repo, versions=("4.2.0", "4.2.0"))
    ref = "%s/%s@%s" % (sreg.addr, repo, d["index"])
    g = guard_factory("registry_cache_ttl = 0\nregistry_negative_ttl = 0\n")
    wd = testbed.tmpdir("story2")
    path = os.path.join(wd, "docker-compose.yml")
    project = "ret" + os.urandom(3).hex()
    app = "%s/web" % project
    web_1 = compose_name(project, "web")

    def svc(deploy):
        return {"web": {"image": ref, "network_mode": "none",
                        "command": ["sh", "-c", LOOP],
                        "environment": {"DEPLOY": deploy}}}

    def containers():
        out = dk(testbed.direct_env, "ps", "-a", "--filter",
                 "label=com.docker.compose.project=" + project, "--format",
                 "{{.ID}}|{{.Names}}|{{.State}}").stdout.split()
        return sorted(out)

    try:
        # deploy 1 by the index digest: compose pulls it (by digest) and runs it
        write_compose(path, svc("1"))
        r = compose_run(path, project, g.env, "up", "-d")
        assert r.returncode == 0, r.stderr + g.log_tail()
        before = containers()
        assert len(before) == 1 and before[0].endswith("|%s|running" % web_1), before
        old_id = inspect_fmt(testbed.direct_env, web_1, "{{.Id}}")
        rows = audit_cli(g.db, "--app", app)
        assert [(a["verdict"], a["rule"]) for a in rows] == [("allow", None)], rows

        # the retention job: the untagged per-platform manifests go, the
        # index stays
        for plat in ("amd64", "arm64"):
            sreg.delete_manifest(repo, d[plat])
        assert sreg.head_manifest(repo, d["index"])[0] == 200

        # deploy 2 (a changed env var makes compose recreate)
        write_compose(path, svc("2"))
        r = compose_run(path, project, g.env, "up", "-d")
        assert r.returncode != 0, "compose recreated on a broken index:\n" + r.stderr
        want = ('docker-guard: refusing to create container "%s" (app "%s"): '
                'image %s is missing from its registry: the index %s lists %s for '
                'linux/amd64, but the registry no longer has it (rule: registry).'
                % (compose_recreate_name(old_id, project, "web"), app, ref,
                   d["index"], d["amd64"]))
        assert want in r.stderr, "%r not in compose's error:\n%s" % (want, r.stderr)
        assert "Push the image again (or restore it in the registry)" in r.stderr, r.stderr

        # the service still runs its old container, with the old config
        after = containers()
        assert len(after) == 1, after
        assert after[0].endswith("|%s|running" % web_1), (after, r.stderr)
        assert inspect_fmt(testbed.direct_env, web_1, "{{.Id}}") == old_id
        env = inspect_fmt(testbed.direct_env, old_id, "{{json .Config.Env}}")
        assert "DEPLOY=1" in json.loads(env), env

        rows = audit_cli(g.db, "--app", app)
        got = [(a["verdict"], a["rule"]) for a in rows]
        # compose 1.29 stops and renames the old container before its
        # create: the guard renames it back and starts it, and says so
        restored = 'docker-guard restored the previous container "%s" ' \
            'and started it, so the app keeps running.' % web_1
        # (compose v2 creates the new container first: the old one never
        # stopped, and there is nothing to restore)
        if restored in r.stderr:
            assert compose_v1(), r.stderr
            assert got == [("allow", None), ("deny", "registry"),
                           ("allow", "restore")], rows
        else:
            assert got == [("allow", None), ("deny", "registry")], rows
            assert "docker-guard could not restore" not in r.stderr, r.stderr
        deny = rows[1]
        assert deny["image"] == ref and want in deny["message"], deny
        # nothing new in the ledger: a refused create never enters it
        hist = history_cli(g.db, app)
        assert [(e["container_id"], e["removed"]) for e in hist] == [(old_id, None)], hist
    finally:
        compose_run(path, project, testbed.direct_env, "down", "-t", "1",
                    timeout=120)


# --------------------------------------------------------------------------
# 3. A rolling :dev tag, and an older image present locally
# --------------------------------------------------------------------------

def test_story_rolling_dev_tag_and_older_local_image(testbed, guard_factory, kit, sreg):
    repo = "devapp" + os.urandom(2).hex()
    new_id, dev_ref, new = pushed(kit, sreg, repo, "dev", "2.0", "story3-new")
    old_id, old_tag, old = pushed(kit, sreg, repo, "1.0", "1.0", "story3-old")
    # somebody rebuilt :dev locally from the older tree: the host's :dev is
    # the 1.0 image, the registry's :dev is 2.0
    kit.docker("tag", old_tag, dev_ref, timeout=30)
    assert kit.image_id(dev_ref) == old_id != new_id
    g = guard_factory("")
    names = []

    def name(prefix):
        names.append(testbed.unique(prefix))
        return names[-1]

    try:
        # docker run by the rolling tag: refused, and nothing runs
        n = name("dev-run-")
        r = dk(g.env, "run", "--rm", "--name", n, *NONE, dev_ref, "true")
        assert r.returncode != 0, "docker run by :dev went through"
        assert '"dev" is a rolling tag' in r.stderr, r.stderr
        assert "image %s is not pinned by digest" % dev_ref in r.stderr, r.stderr
        assert "(rule: require_digest)" in r.stderr, r.stderr
        # the fix-it pins what the registry's :dev is now (2.0), not the
        # older local rebuild
        assert "Pin it by digest: %s@%s." % (dev_ref, new.split("@", 1)[1]) \
            in r.stderr, r.stderr
        assert inspect_fmt(testbed.direct_env, n, "{{.Id}}") is None
        rows = audit_cli(g.db, "--app", n)
        assert [(a["verdict"], a["rule"], a["image"]) for a in rows] == [
            ("deny", "require_digest", dev_ref)], rows

        # the database ran 2.0 (pinned)
        app = testbed.unique("devdb-")
        n1 = name("devdb-a-")
        r = dk(g.env, "run", "-d", "--name", n1, "--label",
               "io.docker-guard.app=" + app, *NONE, new, "sleep", "300")
        assert r.returncode == 0, r.stderr
        # the rescheduled pod pins the older local image: by digest, then
        # by image ID; both are refused as downgrades
        # (an image ID is shown with the digest it was pulled or pushed by)
        for pin, shown in ((old, old), (old_id, "%s (%s)" % (old_id, old))):
            n2 = name("devdb-b-")
            r = dk(g.env, "create", "--name", n2, "--label",
                   "io.docker-guard.app=" + app, *NONE, pin, "sleep", "300")
            assert r.returncode != 0, "downgrade by %s went through" % pin
            assert ('refusing to create container "%s" (app "%s"): image %s is '
                    'version 1.0, older than 2.0 which this app has run since '
                    % (n2, app, shown)) in r.stderr, r.stderr
            assert "(rule: downgrade). To stay on 2.0, use %s." % new in r.stderr, r.stderr
            assert inspect_fmt(testbed.direct_env, n2, "{{.Id}}") is None
        rows = audit_cli(g.db, "--app", app)
        assert [(a["verdict"], a["rule"], a["image"], a["version"],
                 a["previous_version"]) for a in rows] == [
            ("allow", None, new, "2.0", None),
            ("deny", "downgrade", old, "1.0", "2.0"),
            ("deny", "downgrade", old_id, "1.0", "2.0")], rows
        hist = history_cli(g.db, app)
        assert [(e["version"], e["container_name"], e["removed"]) for e in hist] \
            == [("2.0", n1, None)], hist
        # the 2.0 database still runs
        assert inspect_fmt(testbed.direct_env, n1, "{{.Image}}|{{.State.Running}}") \
            == "%s|true" % new_id
    finally:
        rm_f(testbed, *names)


# --------------------------------------------------------------------------
# 4. The nightly `docker-compose pull && docker-compose up -d` by tag
# --------------------------------------------------------------------------

def test_story_nightly_compose_pull_by_tag(testbed, guard_factory, kit, sreg):
    if COMPOSE is None:
        pytest.skip("compose not installed")
    repo = "nightly" + os.urandom(2).hex()
    ref = "%s/%s:1.4" % (sreg.addr, repo)
    old_id, _, _ = pushed(kit, sreg, repo, "1.4", "1.4.0", "story4-old")
    wd = testbed.tmpdir("story4")
    path = os.path.join(wd, "docker-compose.yml")
    project = "nightly" + os.urandom(3).hex()
    app = "%s/app" % project
    write_compose(path, {"app": {"image": ref, "network_mode": "none",
                                 "command": ["sh", "-c", LOOP]}})
    try:
        # deployed by tag before docker-guard was installed (the engine's
        # own socket); then the guard comes (and seeds its ledger)
        r = compose_run(path, project, testbed.direct_env, "up", "-d")
        assert r.returncode == 0, r.stderr
        cname = compose_name(project, "app")
        cid = inspect_fmt(testbed.direct_env, cname, "{{.Id}}")
        assert cid is not None
        g = guard_factory("")
        wait_for(lambda: history_cli(g.db, app), "the seeded ledger", timeout=20)

        # meanwhile the registry's tag moved on to 1.4.1
        new_id, _, new = pushed(kit, sreg, repo, "1.4", "1.4.1", "story4-new")
        kit.docker("tag", old_id, ref, timeout=30)   # the host still has 1.4.0
        assert kit.image_id(ref) == old_id != new_id
        since = max([a["id"] for a in audit_cli(g.db)] or [0])

        # the nightly job, through the guard
        r = run(["sh", "-c", '$COMPOSE -p "$P" -f "$F" pull && '
                 '$COMPOSE -p "$P" -f "$F" up -d'],
                env=dict(g.env, COMPOSE=" ".join(COMPOSE), P=project, F=path),
                cwd=wd, timeout=300, check=False)
        assert r.returncode != 0, "the nightly pull by tag went through:\n" + r.stderr
        want = ("docker-guard: refusing to pull %s: it is not pinned by digest"
                % ref)
        assert want in r.stderr, r.stderr
        assert "(rule: pull_require_digest)" in r.stderr, r.stderr
        digest = new.split("@", 1)[1]
        assert "Pull by digest: docker pull %s@%s" % (ref, digest) in r.stderr, r.stderr

        # nothing changed
        assert inspect_fmt(testbed.direct_env, cname,
                           "{{.Id}}|{{.Image}}|{{.State.Running}}") == \
            "%s|%s|true" % (cid, old_id)
        assert kit.image_id(ref) == old_id, "the tag moved although the pull was refused"
        rows = [a for a in audit_cli(g.db) if a["id"] > since]
        assert [(a["verdict"], a["rule"], a["route"], a["image"]) for a in rows] == [
            ("deny", "pull_require_digest", "images/create", ref)], rows
        assert digest in rows[0]["message"], rows
        hist = history_cli(g.db, app)
        assert [(e["container_id"], e["source"], e["removed"]) for e in hist] == [
            (cid, "sync", None)], hist
    finally:
        compose_run(path, project, testbed.direct_env, "down", "-t", "1",
                    timeout=120)


# --------------------------------------------------------------------------
# 5. Knowing the host: engine upgrades, first sync, out-of-band creates
# --------------------------------------------------------------------------

def test_story_engine_upgrade_sync_and_out_of_band(testbed, guard_factory, app):
    real = engine_version(testbed)
    direct = testbed.direct_env
    names = []
    try:
        # a container from before the guard was installed
        pre = testbed.unique("pre-guard-")
        names.append(pre)
        r = dk(direct, "create", "--name", pre, *NONE, app.digest_ref, "true")
        assert r.returncode == 0, r.stderr
        pre_id = r.stdout.strip()

        g = guard_factory("")
        # first start: the ledger is seeded (source sync), quietly
        hist = wait_for(lambda: history_cli(g.db, pre), "the seeded ledger",
                        timeout=20)
        assert [(e["container_id"], e["version"], e["source"]) for e in hist] == [
            (pre_id, app.version, "sync")], hist
        assert db_rows(g.db, "SELECT value FROM meta WHERE key = 'engine_version'") \
            == [{"value": real}]
        assert audit_cli(g.db, "--rule", "engine_version") == []

        # a container created on the engine's own socket, bypassing the guard
        oob = testbed.unique("oob-")
        names.append(oob)
        r = dk(direct, "create", "--name", oob, *NONE, app.digest_ref, "true")
        assert r.returncode == 0, r.stderr
        oob_id = r.stdout.strip()
        rows = wait_audit_rule(g.db, "out_of_band", app=oob, timeout=15)
        assert len(rows) == 1, rows
        assert rows[0]["verdict"] == "warn", rows
        assert rows[0]["message"] == (
            'container "%s" (app "%s") was created without passing through '
            'docker-guard: image %s, version %s' % (oob, oob, app.digest_ref,
                                                    app.version)), rows
        hist = history_cli(g.db, oob)
        assert [(e["container_id"], e["source"]) for e in hist] == [
            (oob_id, "event")], hist
        # the seeded one was never flagged
        assert audit_cli(g.db, "--app", pre) == []

        # The engine is replaced by a newer version.  One cannot install a
        # second dockerd version on this machine, so the upgrade is staged
        # from the other side: the database remembers an older engine
        # (what the guard would have recorded before the upgrade), and the
        # guard, started again, meets the real one.  For the guard this is
        # exactly an upgrade: the stored engine_version differs from what
        # GET /version now says.
        assert g.stop() == 0
        old = "20.10.5 (API 1.41)"
        con = sqlite3.connect(g.db, timeout=10)
        try:
            with con:
                n = con.execute("UPDATE meta SET value = ? WHERE key = "
                                "'engine_version'", (old,)).rowcount
        finally:
            con.close()
        assert n == 1
        g.start()
        rows = wait_audit_rule(g.db, "engine_version", timeout=20)
        assert len(rows) == 1, rows
        row = rows[0]
        assert row["message"] == "the Docker engine changed from %s to %s" % (
            old, real), row
        assert (row["verdict"], row["version"]) == ("warn", real), row
        assert db_rows(g.db, "SELECT value FROM meta WHERE key = 'engine_version'") \
            == [{"value": real}]
        table = dg("audit", "--rule", "engine_version", "--database", g.db)
        assert table.returncode == 0 and "the Docker engine changed from " \
            "20.10.5 (API 1.41) to " in table.stdout, table.stdout

        # started again on the same engine: no new engine_version row, and
        # no second seeding
        assert g.stop() == 0
        g.start()
        time.sleep(2)
        assert len(audit_cli(g.db, "--rule", "engine_version")) == 1
        assert len(history_cli(g.db, pre)) == 1
        v = dg("audit", "--verify", "--database", g.db)
        assert v.returncode == 0 and "audit trail intact" in v.stdout, v.stdout
    finally:
        rm_f(testbed, *names)
