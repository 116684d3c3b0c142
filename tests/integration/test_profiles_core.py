"""Profiles (issue 15), the core: a read-only socket, one create limit, and
check-config's reports.  The wide suite (every limit and spelling, many
uids) is test_profiles*.py from the proftests branch; this file is the
implementer's own smoke proof.

    cd tests/integration && DOCKER_GUARD_BIN=$PWD/../../build/docker-guard \\
        /usr/bin/python3 -m pytest -x -q test_profiles_core.py
"""

import json
import os
import subprocess

import pytest

from testbed import REPO, run, unix_http, wait_for

NONE = ("--network", "none")


def dg_bin():
    return os.environ.get("DOCKER_GUARD_BIN",
                          os.path.join(REPO, "build", "docker-guard"))


def dk(host, *args, timeout=120):
    env = dict(os.environ)
    env.pop("DOCKER_CONTEXT", None)
    env["DOCKER_HOST"] = host
    return run(["docker"] + list(args), env=env, timeout=timeout, check=False)


def audit(db, *filters):
    r = run([dg_bin(), "audit", "--json", "--database", db, *filters],
            check=False)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def wait_profile_row(db, needle):
    def found():
        rows = [r for r in audit(db, "--rule", "profile")
                if needle in (r.get("message") or "")]
        return rows or None
    return wait_for(found, "a profile audit row with %r" % needle,
                    timeout=20, interval=0.2)


def test_read_only_socket(guard_factory, testbed, app):
    ro_sock = os.path.join(testbed.tdir, "g-ro", "ro.sock")
    os.makedirs(os.path.dirname(ro_sock), exist_ok=True)
    g = guard_factory("profile.ro.access = read-only\n"
                      "listen_profiles = %s:ro\n" % ro_sock, name="g-ro")
    ro = "unix://" + ro_sock
    # Reads work: ps, images, inspect, version, events (negotiation too).
    r = dk(ro, "ps", "-a")
    assert r.returncode == 0, r.stderr
    r = dk(ro, "version", "--format", "{{.Server.APIVersion}}")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    status, _ = unix_http(ro_sock, "HEAD", "/_ping")
    assert status == 200
    # Writes are refused with the profile, the key and the fix.
    r = dk(ro, "run", "--rm", *NONE, app.digest_ref, "true")
    assert r.returncode != 0
    assert 'profile "ro"' in r.stderr, r.stderr
    assert "profile.ro.access = read-only" in r.stderr, r.stderr
    assert "profile.ro.access = full" in r.stderr, r.stderr
    status, body = unix_http(ro_sock, "POST", "/v1.41/containers/create",
                             body=b'{"Image":"%s"}' % app.digest_ref.encode())
    assert status == 403
    assert json.loads(body)["message"].startswith(
        'docker-guard: profile "ro" refused POST /containers/create')
    # A GET that writes (attach over a websocket) is refused too.
    status, _ = unix_http(ro_sock, "GET", "/containers/x/attach/ws")
    assert status == 403
    # The main socket has no profile: it still creates.
    r = dk(g.host, "run", "--rm", *NONE, app.digest_ref, "true")
    assert r.returncode == 0, r.stderr
    rows = wait_profile_row(g.db, 'profile "ro"')
    assert rows[0]["verdict"] == "deny"


def test_routes_and_default_profile(guard_factory, app):
    g = guard_factory("profile.view.routes = containers\n"
                      "profile.view.access = read-only\n"
                      "default_profile = view\n", name="g-view")
    r = dk(g.host, "ps")
    assert r.returncode == 0, r.stderr
    r = dk(g.host, "images")
    assert r.returncode != 0
    assert 'route group "images" is not in profile.view.routes' in r.stderr
    status, _ = unix_http(g.sock, "GET", "/version")
    assert status == 200


def test_bind_mount_limit(guard_factory, testbed, app):
    base = testbed.tmpdir("prof")
    allowed = os.path.join(base, "srv")
    os.makedirs(os.path.join(allowed, "data"))
    link = os.path.join(base, "sneaky")
    os.symlink("/etc", link)
    g = guard_factory("default_profile = apps\n"
                      "profile.apps.bind_mounts = %s/*\n"
                      "profile.apps.privileged = no\n" % allowed,
                      name="g-apps")
    ok = dk(g.host, "run", "--rm", *NONE, "-v",
            "%s/data:/d:ro" % allowed, app.digest_ref, "true")
    assert ok.returncode == 0, ok.stderr
    for src in ("/etc", link, "%s/data/../../../../../etc" % allowed,
                testbed.dockerd.sock, "/run", "/"):
        r = dk(g.host, "run", "--rm", *NONE, "-v", "%s:/x" % src,
               app.digest_ref, "true")
        assert r.returncode != 0, src
        assert 'profile "apps"' in r.stderr and \
            "profile.apps.bind_mounts" in r.stderr, (src, r.stderr)
    r = dk(g.host, "run", "--rm", *NONE, "--mount",
           "type=bind,src=/etc,dst=/x", app.digest_ref, "true")
    assert r.returncode != 0 and "profile.apps.bind_mounts" in r.stderr
    r = dk(g.host, "run", "--rm", *NONE, "--privileged", app.digest_ref,
           "true")
    assert r.returncode != 0 and "profile.apps.privileged = no" in r.stderr
    wait_profile_row(g.db, "host path /etc is not in")


def check_config(tmp_path, text):
    path = tmp_path / "guard.conf"
    path.write_text(text)
    r = subprocess.run([dg_bin(), "check-config", "--config", str(path)],
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stderr + r.stdout


@pytest.mark.parametrize("text,needle", [
    ("profile.a.routes = containers imagez\n", 'unknown route group "imagez"'),
    ("profile.a.clients = uid:1000\nprofile.b.clients = uid:1000 gid:5\n",
     "uid 1000 is a client of two profiles"),
    ("profile.a.routes = ping version\n", 'profile "a" allows nothing'),
    ("profile.a.colour = blue\n", "unknown key profile.a.colour"),
    ("profile.a.access = full\nlisten_profiles = /run/x.sock:b\n",
     'names profile "b", which is not defined'),
    ("default_profile = nope\n", 'profile "nope" is not defined'),
    ("profile.a.clients = user:no-such-user-here\n",
     'there is no user "no-such-user-here"'),
])
def test_check_config_reports(tmp_path, text, needle):
    rc, out = check_config(tmp_path, text)
    assert rc == 1, out
    assert needle in out, out


def test_check_config_accepts_profiles(tmp_path):
    rc, out = check_config(tmp_path,
                           "profile.ro.access = read-only\n"
                           "profile.ro.clients = uid:0 group:root\n"
                           "profile.apps.routes = containers images exec\n"
                           "profile.apps.bind_mounts = /srv/* /home/*/data\n"
                           "profile.apps.capabilities = net_admin CAP_SYS_TIME\n"
                           "profile.apps.host_namespaces = none\n"
                           "profile.apps.devices = /dev/fuse\n"
                           "default_profile = apps\n")
    assert rc == 0, out


def test_volumes_exec_and_volumes_from(guard_factory, testbed, app):
    base = testbed.tmpdir("profv")
    allowed = os.path.join(base, "srv")
    os.makedirs(os.path.join(allowed, "ok"))
    g = guard_factory("default_profile = apps\n"
                      "profile.apps.bind_mounts = %s/*\n"
                      "profile.apps.privileged = no\n" % allowed,
                      name="g-vol")
    direct = testbed.dockerd.host
    tag = testbed.unique("pv")
    # A local volume binding /etc, made behind the guard's back: using it
    # by name is judged as a bind of /etc; making one through the guard
    # is refused outright.
    r = dk(direct, "volume", "create", "--opt", "type=none", "--opt",
           "o=bind", "--opt", "device=/etc", tag + "-etc")
    assert r.returncode == 0, r.stderr
    r = dk(g.host, "volume", "create", "--opt", "type=none", "--opt",
           "o=bind", "--opt", "device=/etc", tag + "-etc2")
    assert r.returncode != 0 and "profile.apps.bind_mounts" in r.stderr
    r = dk(g.host, "volume", "create", "--opt", "type=none", "--opt",
           "o=bind", "--opt", "device=%s/ok" % allowed, tag + "-ok")
    assert r.returncode == 0, r.stderr
    for spec in ("-v", "%s-etc:/x" % tag), \
            ("--mount", "type=volume,src=%s-etc,dst=/x" % tag):
        r = dk(g.host, "run", "--rm", *NONE, *spec, app.digest_ref, "true")
        assert r.returncode != 0, spec
        assert "volume %s-etc" % tag in r.stderr and \
            "profile.apps.bind_mounts" in r.stderr, r.stderr
    for spec in ("-v", "%s-ok:/x" % tag), ("-v", "%s-fresh:/x" % tag):
        r = dk(g.host, "run", "--rm", *NONE, *spec, app.digest_ref, "true")
        assert r.returncode == 0, (spec, r.stderr)
    # VolumesFrom takes the other container's mounts: judged as those.
    r = dk(direct, "create", *NONE, "--name", tag + "-src", "-v",
           "/etc:/hostetc", app.digest_ref, "true")
    assert r.returncode == 0, r.stderr
    r = dk(g.host, "run", "--rm", *NONE, "--volumes-from", tag + "-src:ro",
           app.digest_ref, "true")
    assert r.returncode != 0
    assert "VolumesFrom %s-src" % tag in r.stderr, r.stderr
    # Exec with --privileged.
    r = dk(direct, "run", "-d", *NONE, "--name", tag + "-run",
           app.digest_ref, "sleep", "300")
    assert r.returncode == 0, r.stderr
    try:
        r = dk(g.host, "exec", tag + "-run", "true")
        assert r.returncode == 0, r.stderr
        r = dk(g.host, "exec", "--privileged", tag + "-run", "true")
        assert r.returncode != 0
        assert "an exec that is privileged" in r.stderr, r.stderr
    finally:
        dk(direct, "rm", "-f", tag + "-run", tag + "-src")
        dk(direct, "volume", "rm", "-f", tag + "-etc", tag + "-ok",
           tag + "-fresh")


def test_update_devices_and_namespaces(guard_factory, testbed, app):
    g = guard_factory("profile.lim.devices = /dev/fuse\n"
                      "profile.lim.host_namespaces = none\n"
                      "profile.lim.capabilities = NET_ADMIN\n"
                      "default_profile = lim\n", name="g-lim")
    r = dk(g.host, "run", "--rm", *NONE, "--pid", "host", app.digest_ref,
           "true")
    assert r.returncode != 0
    assert "host's pid namespace" in r.stderr and \
        "profile.lim.host_namespaces = none" in r.stderr
    r = dk(g.host, "run", "--rm", "--network", "host", app.digest_ref, "true")
    assert r.returncode != 0 and "network namespace" in r.stderr
    r = dk(g.host, "run", "--rm", *NONE, "--cap-add", "net_admin",
           app.digest_ref, "true")
    assert r.returncode == 0, r.stderr
    r = dk(g.host, "run", "--rm", *NONE, "--cap-add", "SYS_ADMIN",
           app.digest_ref, "true")
    assert r.returncode != 0 and "capability SYS_ADMIN" in r.stderr
    r = dk(g.host, "run", "--rm", *NONE, "--device", "/dev/null",
           app.digest_ref, "true")
    assert r.returncode != 0 and "host device /dev/null" in r.stderr
    # An update that maps a device, over the raw API.
    status, body = unix_http(g.sock, "POST", "/v1.41/containers/nope/update",
                             body=b'{"Devices":[{"PathOnHost":"/dev/mem",'
                                  b'"PathInContainer":"/dev/mem",'
                                  b'"CgroupPermissions":"rwm"}]}')
    assert status == 403, body
    assert b"profile.lim.devices" in body
    status, body = unix_http(g.sock, "POST", "/v1.41/containers/nope/update",
                             body=b'{"Memory":0}')
    assert status == 404, body  # judged, then the engine's own answer
    # Before API 1.24 a start's body is a HostConfig the engine applies.
    status, body = unix_http(g.sock, "POST", "/v1.23/containers/nope/start",
                             body=b'{"Privileged":true,"Binds":["/:/h"]}')
    assert status == 403, body
    assert b"with a body" in body and b'profile \\"lim\\"' in body, body
