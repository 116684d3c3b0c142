"""Today's Docker clients through the guard, compared with the engine:
compose v2 (creates the new container before it stops the old one), the
generation's docker CLI (28 in sid), the newer create fields and query
parameters (platform, image mounts, /v1.45/ and /v1.51/ prefixes) and
community.docker 4.  A client the generation lacks skips with the reason.

    DOCKER_GUARD_BIN=$PWD/build/docker-guard tests/generation trixie -q \\
        tests/integration/test_modern_clients.py          (or sid)
"""

import json
import os
import re
import time

import pytest

from modern_clients import (ANSIBLE, GENERATION, Compose, dk, engine_api,
                            history, need_api, need_plugin, project_containers,
                            wait_history, write_compose)
from registry_fixtures import audit_rows, last_audit_id
from test_bypass import exchange, request
from testbed import import_image, playbook_messages, run, run_playbook

NONE = ("--network", "none")


@pytest.fixture
def compose_v2(testbed):
    return need_plugin("compose", "compose v2")


def old_new(testbed):
    return testbed.images["31.0.8.1"], testbed.images["31.0.9.1"]


def denial_line(text):
    """The docker-guard denial as the client printed it."""
    m = re.search(r"docker-guard: refusing[^\n]*", text)
    return m.group(0) if m else None


# --------------------------------------------------------------------------
# compose v2
# --------------------------------------------------------------------------

def test_compose_v2_up_and_recreate_on_new_digest(sides, testbed, guard,
                                                  compose_v2):
    """up of a digest-pinned service, then a recreate on a newer digest:
    the same on both sides; through the guard the ledger has both."""
    old, new = old_new(testbed)

    def flow(side):
        d = testbed.tmpdir("c2")
        project = "m%s%s" % (side.name[0], os.urandom(4).hex())
        c = Compose(d, project, side.env)
        out = {}
        try:
            write_compose(d, {"web": {"image": old.digest_ref}})
            up = c("up", "-d")
            out["up"] = up.returncode
            first = project_containers(side.env, project)
            out["first"] = [(n.replace(project, "<P>"), s, i)
                            for _, n, s, i in first]
            write_compose(d, {"web": {"image": new.digest_ref}})
            up2 = c("up", "-d")
            out["up2"] = (up2.returncode, up2.stderr if up2.returncode else "")
            second = project_containers(side.env, project)
            out["second"] = [(n.replace(project, "<P>"), s, i)
                             for _, n, s, i in second]
            out["replaced"] = first[0][0] != second[0][0]
            out["ids"] = (first[0][0], second[0][0])
        finally:
            c.down()
        out["project"] = project
        return out

    r = {s.name: flow(s) for s in sides}
    g, dct = r["guard"], r["direct"]
    for k in ("up", "first", "up2", "second", "replaced"):
        assert g[k] == dct[k], (k, g[k], dct[k])
    assert g["up"] == 0 and g["up2"] == (0, "")
    assert g["first"] == [("<P>-web-1", "running", old.digest_ref)]
    assert g["second"] == [("<P>-web-1", "running", new.digest_ref)]
    assert g["replaced"]
    app = "%s/web" % g["project"]
    hist = wait_history(guard.db, app, 2)
    assert [(h["version"], h["container_id"]) for h in hist] == [
        ("31.0.8.1", g["ids"][0]), ("31.0.9.1", g["ids"][1])], hist


def test_compose_v2_downgrade_refused_app_keeps_running(testbed, guard,
                                                        compose_v2):
    """Compose v2 creates the replacement (under a temporary name
    <old-id-12>_<P>-web-1) before it stops the old container.  The guard
    refuses that create: no new container exists, the old one is still
    running and serving, compose exits non-zero with the denial."""
    old, new = old_new(testbed)
    d = testbed.tmpdir("c2down")
    project = "mdown%s" % os.urandom(4).hex()
    app = "%s/web" % project
    c = Compose(d, project, guard.env)
    try:
        write_compose(d, {"web": {"image": new.digest_ref}})
        up = c("up", "-d")
        assert up.returncode == 0, up.stderr
        [(cid, name, state, image)] = project_containers(guard.env, project)
        assert (name, state, image) == ("%s-web-1" % project, "running",
                                        new.digest_ref)
        wait_history(guard.db, app, 1)
        started = dk(guard.env, "inspect", "--format",
                     "{{.State.Pid}}|{{.State.StartedAt}}|{{.RestartCount}}",
                     cid).stdout
        since = last_audit_id(guard)

        write_compose(d, {"web": {"image": old.digest_ref}})
        down = c("up", "-d")
        assert down.returncode != 0, down.stdout + down.stderr
        # compose v2's create of the replacement, under its temporary name
        line = denial_line(down.stderr)
        assert line and re.match(
            r'docker-guard: refusing to create container "[0-9a-f]{12}_%s-web-1"'
            r' \(app "%s"\)' % (project, re.escape(app)), line), down.stderr
        assert line.startswith("docker-guard: refusing to create container "
                               "\"%s_" % cid[:12]), (cid, line)
        assert "31.0.8.1" in down.stderr and "31.0.9.1" in down.stderr, \
            down.stderr
        assert "(rule: downgrade)" in down.stderr, down.stderr
        # nothing to restore: compose v2 never stopped the old container
        assert "restored" not in down.stderr, down.stderr

        # the engine's view: still exactly the old container, running
        after = project_containers(testbed.direct_env, project)
        assert after == [(cid, "%s-web-1" % project, "running",
                          new.digest_ref)], after
        names = dk(testbed.direct_env, "ps", "-a", "--format",
                   "{{.Names}}").stdout.split()
        assert not [n for n in names if n.endswith("_%s-web-1" % project)], \
            names
        # ... and serving: the same process as before (not restarted), its
        # output through the guard.  (Not `docker exec`: in the Debian 13
        # root the test bed runs in, an exec lands outside the container.)
        fmt = "{{.State.Pid}}|{{.State.StartedAt}}|{{.RestartCount}}"
        assert dk(guard.env, "inspect", "--format", fmt, cid).stdout == \
            started, "the old container was restarted"
        logs = dk(guard.env, "logs", "%s-web-1" % project, timeout=60)
        assert logs.returncode == 0 and logs.stdout.split() == ["31.0.9.1"], \
            logs
        rows = audit_rows(guard, since_id=since)
        denies = [x for x in rows if x["verdict"] == "deny"]
        assert [(x["route"], x["rule"], x["app"], x["version"],
                 x["previous_version"]) for x in denies] == [
            ("containers/create", "downgrade", app, "31.0.8.1", "31.0.9.1")], \
            rows
        # the ledger has no row of the refused version
        assert [h["version"] for h in history(guard.db, app)] == ["31.0.9.1"]

        # the engine alone would have done the downgrade: same project
        # file on the direct socket recreates the container
        direct = Compose(d, project, testbed.direct_env)
        r = direct("up", "-d")
        assert r.returncode == 0, r.stderr
        [(cid2, _, state2, image2)] = project_containers(testbed.direct_env,
                                                         project)
        assert cid2 != cid and (state2, image2) == ("running", old.digest_ref)
    finally:
        Compose(d, project, testbed.direct_env).down()


def test_compose_v2_tag_only_refused(sides, testbed, compose_v2):
    """A service image by tag only: refused with the guard's message (the
    pinned reference to use); the engine alone runs it."""
    _, new = old_new(testbed)
    out = {}
    for side in sides:
        d = testbed.tmpdir("c2tag")
        project = "mtag%s" % os.urandom(4).hex()
        c = Compose(d, project, side.env)
        try:
            write_compose(d, {"web": {"image": new.registry_ref}})
            r = c("up", "-d")
            out[side.name] = (r.returncode, r.stderr,
                              project_containers(testbed.direct_env, project))
        finally:
            Compose(d, project, testbed.direct_env).down()
    rc, err, conts = out["guard"]
    assert rc != 0 and conts == [], (rc, err, conts)
    assert "is not pinned by digest" in err and "(rule: require_digest)" \
        in err, err
    assert new.digest_ref.split("@")[1] in err, err
    assert out["direct"][0] == 0 and len(out["direct"][2]) == 1, out["direct"]


def _fresh_remote_image(testbed, repo, version):
    """R/repo:version pushed to the session registry and removed from the
    engine: only a pull brings it back.  Returns the digest reference."""
    env = testbed.direct_env
    ref = "%s/%s:%s" % (testbed.registry.addr, repo, version)
    import_image(env, testbed.tmpdir("fresh"), ref, version,
                 extra_files={"etc/app-version": version + "\n"})
    r = dk(env, "push", ref, timeout=180)
    assert r.returncode == 0, r.stderr
    digest = testbed.registry.manifest_digest(repo, version)
    dk(env, "rmi", ref)
    return "%s/%s@%s" % (testbed.registry.addr, repo, digest)


def test_compose_v2_pull_by_digest_and_up_wait(testbed, guard, compose_v2):
    """`compose pull` of a digest-pinned service pulls through the guard;
    `up -d --wait` returns once the healthcheck passes; a service by tag
    is refused at the pull with the digest to pull instead."""
    repo = "mpull%s" % os.urandom(3).hex()
    pinned = _fresh_remote_image(testbed, repo, "2.0.0")
    d = testbed.tmpdir("c2pull")
    project = "mpull%s" % os.urandom(4).hex()
    c = Compose(d, project, guard.env)
    try:
        write_compose(d, {"web": {"image": pinned, "healthcheck": {
            "test": ["CMD", "true"], "interval": "1s", "timeout": "2s",
            "retries": 3, "start_period": "1s"}}})
        since = last_audit_id(guard)
        p = c("pull")
        assert p.returncode == 0, p.stderr
        pulls = [x for x in audit_rows(guard, since_id=since)
                 if x["route"] == "images/create"]
        assert pulls and all(x["verdict"] == "allow" for x in pulls), pulls
        assert dk(testbed.direct_env, "image", "inspect", pinned,
                  timeout=30).returncode == 0
        t0 = time.monotonic()
        up = c("up", "-d", "--wait", "--wait-timeout", "60")
        assert up.returncode == 0, up.stderr
        [(cid, _, state, image)] = project_containers(guard.env, project)
        assert (state, image) == ("running", pinned)
        health = dk(guard.env, "inspect", "--format",
                    "{{.State.Health.Status}}", cid).stdout.strip()
        assert health == "healthy", (health, time.monotonic() - t0)

        # a pull by tag: the guard names the digest to pull
        tagged = "%s/%s:2.0.0" % (testbed.registry.addr, repo)
        write_compose(d, {"web": {"image": tagged}})
        p = c("pull")
        assert p.returncode != 0, p.stdout + p.stderr
        assert "docker-guard: refusing to pull" in p.stderr, p.stderr
        assert pinned.split("@")[1] in p.stderr, p.stderr
    finally:
        Compose(d, project, testbed.direct_env).down()


# --------------------------------------------------------------------------
# the generation's docker CLI: run, pull, image inspect
# --------------------------------------------------------------------------

def test_cli_run_pull_inspect(testbed, guard):
    old, new = old_new(testbed)
    env = guard.env
    name = testbed.unique("mcli")
    try:
        r = dk(env, "run", "--rm", *NONE, new.digest_ref, "cat",
               "/etc/app-version")
        assert (r.returncode, r.stdout.strip()) == (0, "31.0.9.1"), r
        r = dk(env, "run", "--rm", *NONE, new.registry_ref, "true")
        assert r.returncode != 0 and "is not pinned by digest" in r.stderr, r
        assert new.digest_ref.split("@")[1] in r.stderr, r.stderr
        # a named app: new, then a refused downgrade
        r = dk(env, "run", "-d", "--name", name, *NONE, new.digest_ref,
               "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done")
        assert r.returncode == 0, r.stderr
        dk(testbed.direct_env, "rm", "-f", name)
        r = dk(env, "run", "-d", "--name", name, *NONE, old.digest_ref, "true")
        assert r.returncode != 0 and "(rule: downgrade)" in r.stderr, r.stderr
        # pulls: by digest allowed, by tag refused with the digest
        r = dk(env, "pull", new.digest_ref)
        assert r.returncode == 0, r.stderr
        r = dk(env, "pull", new.registry_ref)
        assert r.returncode != 0 and "docker-guard: refusing to pull" in \
            r.stderr and new.digest_ref.split("@")[1] in r.stderr, r.stderr
        # image inspect: the same answer through the guard as direct
        fmt = "{{.Id}}|{{json .RepoDigests}}|{{json .Config.Labels}}"
        g = dk(env, "image", "inspect", "--format", fmt, new.digest_ref)
        dct = dk(testbed.direct_env, "image", "inspect", "--format", fmt,
                 new.digest_ref)
        assert g.returncode == 0 and (g.stdout, g.returncode) == \
            (dct.stdout, dct.returncode), (g, dct)
    finally:
        dk(testbed.direct_env, "rm", "-f", name)


# --------------------------------------------------------------------------
# raw API: prefixes, platform, fields new since 1.41, image mounts
# --------------------------------------------------------------------------

def create_body(image, **extra):
    body = {"Image": image, "Cmd": ["true"],
            "HostConfig": {"NetworkMode": "none"}}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(body.get(k), dict):
            body[k].update(v)
        else:
            body[k] = v
    return json.dumps(body).encode()


def raw_create(sock, target, body):
    [r] = exchange(sock, request(target.encode(), body))
    return r


def rm_quiet(testbed, *names):
    if names:
        dk(testbed.direct_env, "rm", "-f", *names)


@pytest.mark.parametrize("version", ["1.45", "1.51"])
def test_versioned_tag_only_create_refused_by_the_guard(testbed, guard,
                                                        version):
    """A tag-only create under /v1.45/ and /v1.51/ is refused by the guard
    whatever the engine supports; a pinned one goes to the engine, which
    creates it or rejects the version itself."""
    _, new = old_new(testbed)
    name = testbed.unique("mver")
    try:
        r = raw_create(guard.sock, "/v%s/containers/create?name=%s"
                       % (version, name), create_body(new.registry_ref))
        assert r.status == 403 and "(rule: require_digest)" in \
            (r.message() or ""), r
        r = raw_create(guard.sock, "/v%s/containers/create?name=%s"
                       % (version, name), create_body(new.digest_ref))
        d = raw_create(testbed.dockerd.sock, "/v%s/containers/create?name=%s2"
                       % (version, name), create_body(new.digest_ref))
        assert r.status == d.status, (r, d)
        assert r.status == 201 if api_ok(testbed, version) else r.status == 400
    finally:
        rm_quiet(testbed, name, name + "2")


def api_ok(testbed, version):
    have = engine_api(testbed.dockerd.sock)
    return tuple(map(int, version.split("."))) <= tuple(
        map(int, have.split(".")))


def test_platform_query_on_create_and_pull(testbed, guard):
    """?platform= on create and pull (CLI --platform, compose platform:)
    reaches the engine: same answers as direct."""
    _, new = old_new(testbed)
    v = engine_api(testbed.dockerd.sock)
    name = testbed.unique("mplat")
    try:
        for side, sock in (("guard", guard.sock),
                           ("direct", testbed.dockerd.sock)):
            r = raw_create(sock, "/v%s/containers/create?name=%s-%s&"
                           "platform=linux%%2Famd64" % (v, name, side),
                           create_body(new.digest_ref))
            assert r.status == 201, (side, r)
        r = raw_create(guard.sock, "/v%s/containers/create?name=%s-tag&"
                       "platform=linux%%2Famd64" % (v, name),
                       create_body(new.registry_ref))
        assert r.status == 403, r
        g = dk(guard.env, "pull", "--platform", "linux/amd64", new.digest_ref)
        assert g.returncode == 0, g.stderr
        g = dk(guard.env, "pull", "--platform", "linux/amd64",
               new.registry_ref)
        assert g.returncode != 0 and "refusing to pull" in g.stderr, g.stderr
    finally:
        rm_quiet(testbed, name + "-guard", name + "-direct", name + "-tag")


NEW_FIELDS = {
    # HostConfig: 1.42 ConsoleSize, 1.43 Annotations, 1.41+ CgroupnsMode;
    # mounts: BindOptions.CreateMountpoint (1.42), ReadOnlyNonRecursive
    # (1.44); VolumeOptions.Subpath (1.45); TmpfsOptions.Options (1.46)
    "HostConfig": {
        "ConsoleSize": [24, 80], "Annotations": {"dg.test/a": "1"},
        "CgroupnsMode": "private", "Init": False,
        "Mounts": [
            {"Type": "tmpfs", "Target": "/scratch",
             "TmpfsOptions": {"SizeBytes": 1048576,
                              "Options": [["exec"]]}}]},
    # NetworkingConfig.EndpointsConfig: 1.44 MacAddress, 1.46 DriverOpts,
    # 1.48 GwPriority; none of it is used on network_mode none
    "NetworkingConfig": {"EndpointsConfig": {}},
    "StopTimeout": 2, "Healthcheck": {"Test": ["NONE"]},
}


def test_newer_create_fields_pass_unchanged(testbed, guard):
    """Fields the newer clients send that do not change what runs pass
    to the engine unchanged: the engine answers alike on both sockets and
    the created containers inspect alike."""
    _, new = old_new(testbed)
    v = engine_api(testbed.dockerd.sock)
    name = testbed.unique("mnew")
    fields = json.loads(json.dumps(NEW_FIELDS))
    if api_tuple_of(v) < (1, 46):
        del fields["HostConfig"]["Mounts"][0]["TmpfsOptions"]["Options"]
    body = create_body(new.digest_ref, **fields)
    try:
        got = {}
        for side, sock in (("guard", guard.sock),
                           ("direct", testbed.dockerd.sock)):
            r = raw_create(sock, "/v%s/containers/create?name=%s-%s"
                           % (v, name, side), body)
            fmt = ("{{json .HostConfig.Annotations}}|{{.HostConfig.CgroupnsMode}}"
                   "|{{json .HostConfig.Mounts}}|{{.Config.StopTimeout}}")
            got[side] = (r.status, dk(testbed.direct_env, "inspect",
                                      "--format", fmt, "%s-%s" % (name, side)
                                      ).stdout)
        assert got["guard"] == got["direct"] and got["guard"][0] == 201, got
    finally:
        rm_quiet(testbed, name + "-guard", name + "-direct")


def api_tuple_of(v):
    return tuple(int(x) for x in v.split("."))


def test_image_mount_judged_like_the_image(testbed, guard):
    """Mounts[].Type=image (API 1.48, dockerd 28) runs another image's
    content: a tag-only source is refused, a digest-pinned one runs, through
    the CLI's --mount type=image as on the raw API."""
    v = need_api(testbed, "1.48", "an image mount")
    old, new = old_new(testbed)
    name = testbed.unique("mmnt")
    mnt = "type=image,target=/mnt,source=%s"
    try:
        r = dk(guard.env, "run", "--rm", *NONE, "--mount",
               mnt % old.digest_ref, new.digest_ref, "cat",
               "/mnt/etc/app-version")
        assert (r.returncode, r.stdout.strip()) == (0, "31.0.8.1"), r
        r = dk(guard.env, "run", "--rm", *NONE, "--mount",
               mnt % old.registry_ref, new.digest_ref, "true")
        assert r.returncode != 0 and "is not pinned by digest" in r.stderr, \
            r.stderr
        assert old.digest_ref.split("@")[1] in r.stderr, r.stderr
        body = create_body(new.digest_ref, HostConfig={"Mounts": [
            {"Type": "image", "Source": old.registry_ref, "Target": "/mnt"}]})
        g = raw_create(guard.sock, "/v%s/containers/create?name=%s" % (v, name),
                       body)
        assert g.status == 403, g
        d = raw_create(testbed.dockerd.sock, "/v%s/containers/create?name=%s"
                       % (v, name), body)
        assert d.status == 201, d   # the engine alone runs the tag
    finally:
        rm_quiet(testbed, name)


# --------------------------------------------------------------------------
# community.docker 4: docker_container and docker_compose_v2
# --------------------------------------------------------------------------

CONTAINER_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: container
      community.docker.docker_container:
        docker_host: "{{ docker_host }}"
        name: "{{ cname }}"
        image: "{{ image }}"
        command: ["sleep", "300"]
        network_mode: none
        stop_timeout: 1
"""

COMPOSE_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: compose
      community.docker.docker_compose_v2:
        docker_host: "{{ docker_host }}"
        project_src: "{{ project_src }}"
        project_name: "{{ project }}"
        state: present
"""


@pytest.fixture
def ansible_dir(testbed):
    if ANSIBLE is None:
        pytest.skip("ansible-playbook not installed in the %s generation"
                    % GENERATION)
    d = testbed.tmpdir("mans")
    for fname, text in (("container.yml", CONTAINER_PLAY),
                        ("compose.yml", COMPOSE_PLAY)):
        with open(os.path.join(d, fname), "w") as fh:
            fh.write(text)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    return d


def play(d, guard, name, run_id, **extra):
    res, doc, stats = run_playbook(d, guard.env, guard.host, name, run_id,
                                   extra, timeout=300)
    return res, stats, "\n".join(playbook_messages(doc))


def test_ansible_docker_container(testbed, guard, ansible_dir):
    old, new = old_new(testbed)
    cname = testbed.unique("mans")
    try:
        res, stats, msg = play(ansible_dir, guard, "container.yml", cname + "1",
                               cname=cname, image=new.digest_ref)
        assert res.returncode == 0 and stats["changed"] == 1, msg
        res, stats, msg = play(ansible_dir, guard, "container.yml", cname + "2",
                               cname=cname + "t", image=new.registry_ref)
        assert res.returncode != 0 and stats["failures"] == 1, msg
        assert "is not pinned by digest" in msg and \
            new.digest_ref.split("@")[1] in msg, msg
        res, stats, msg = play(ansible_dir, guard, "container.yml", cname + "3",
                               cname=cname, image=old.digest_ref)
        assert res.returncode != 0 and "(rule: downgrade)" in msg, msg
        # Ansible removed the old container first: the guard restored it
        st = dk(testbed.direct_env, "inspect", "--format",
                "{{.State.Running}}|{{.Config.Image}}", cname)
        assert st.stdout.strip() == "true|%s" % new.digest_ref, (st, msg)
    finally:
        rm_quiet(testbed, cname, cname + "t")


def test_ansible_docker_compose_v2(testbed, guard, ansible_dir, compose_v2):
    """docker_compose_v2 drives `docker compose`: up, a refused downgrade
    with the denial in the task failure and the app still running."""
    r = run([ANSIBLE.replace("ansible-playbook", "ansible-doc"), "-l",
             "community.docker"], timeout=120, check=False)
    if "docker_compose_v2" not in r.stdout:
        pytest.skip("community.docker has no docker_compose_v2 module here")
    old, new = old_new(testbed)
    d = testbed.tmpdir("mansc")
    project = "mansc%s" % os.urandom(4).hex()
    try:
        write_compose(d, {"web": {"image": new.digest_ref}})
        res, stats, msg = play(ansible_dir, guard, "compose.yml", project + "1",
                               project_src=d, project=project)
        assert res.returncode == 0 and stats["changed"] == 1, msg
        [(cid, _, state, _)] = project_containers(guard.env, project)
        assert state == "running"
        write_compose(d, {"web": {"image": old.digest_ref}})
        res, stats, msg = play(ansible_dir, guard, "compose.yml", project + "2",
                               project_src=d, project=project)
        assert res.returncode != 0 and "(rule: downgrade)" in msg, msg
        assert project_containers(testbed.direct_env, project) == [
            (cid, "%s-web-1" % project, "running", new.digest_ref)]
    finally:
        Compose(d, project, testbed.direct_env).down()
