"""POST /images/create through the guard: pulls by tag refused with the
digest to use (rule pull_require_digest), pulls by digest allowed,
allowed_registries, imports, X-Registry-Auth passed through and never
stored.  Against docker-registry processes of our own on loopback.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_pulls.py
"""

import base64
import json
import os
import shutil

import pytest

from registry_fixtures import (DOCKER, ImageKit, RegistryServer, all_stored_bytes,
                               audit_dump, basic, guard_conf, last_audit_id,
                               make_htpasswd, require, wait_audit)
from testbed import client_env, free_port, run

COMPOSE = shutil.which("docker-compose")
ROUTE = "images/create"


@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture(scope="module")
def preg(testbed):
    r = RegistryServer(testbed.work, "pullreg").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def app_tags(preg, kit):
    """R/app:31.0.9.1 and R/app:latest pushed; their registry digests."""
    out = {}
    for tag, version in (("31.0.9.1", "31.0.9.1"), ("latest", "31.0.10.0")):
        ref = "%s/app:%s" % (preg.addr, tag)
        kit.import_image(ref, version, extra_label="dg.test.pull=%s" % tag)
        kit.push(ref)
        out[tag] = preg.digest("app", tag)
    assert out["31.0.9.1"] != out["latest"]
    return out


def gdocker(g, *args, env=None, timeout=300, **kw):
    return run([DOCKER] + list(args), env=env or g.env, timeout=timeout,
               check=False, **kw)


def pull_row(g, since):
    rows = wait_audit(g, since, 1, route=ROUTE)
    assert len(rows) == 1, rows
    return rows[0]


def local_id(testbed, ref):
    r = run([DOCKER, "image", "inspect", "--format", "{{.Id}}", ref],
            env=testbed.direct_env, timeout=30, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def fresh_remote_image(kit, reg, repo, version, env=None):
    """An image pushed to reg/repo:v1 and then removed from the engine, so
    only a real pull brings it back.  Returns its digest reference."""
    ref = "%s/%s:v1" % (reg.addr, repo)
    kit.import_image(ref, version, extra_label="dg.test.fresh=%s" % repo)
    kit.push(ref, env=env)
    dref = "%s/%s@%s" % (reg.addr, repo, reg.digest(repo, "v1"))
    kit.rmi(ref, dref)
    assert local_id(kit.testbed, dref) is None, "could not remove " + dref
    return dref


# --------------------------------------------------------------------------

def test_pull_by_tag_refused_with_registry_digest(testbed, guard_factory, preg, app_tags):
    g = guard_factory("")
    ref = "%s/app:31.0.9.1" % preg.addr
    before = local_id(testbed, ref)
    since = last_audit_id(g)
    r = gdocker(g, "pull", ref)
    assert r.returncode != 0, "a pull by tag went through"
    assert "docker-guard: refusing to pull %s: it is not pinned by digest" % ref in r.stderr, r.stderr
    assert "(rule: pull_require_digest)" in r.stderr, r.stderr
    want = "Pull by digest: docker pull %s@%s" % (ref, app_tags["31.0.9.1"])
    assert want in r.stderr, r.stderr
    row = pull_row(g, since)
    assert (row["verdict"], row["rule"], row["method"]) == ("deny", "pull_require_digest", "POST"), row
    assert row["image_ref"] == ref, row
    assert app_tags["31.0.9.1"] in (row["digest"] or "") + (row["message"] or ""), row
    assert local_id(testbed, ref) == before


def test_pull_rolling_and_all_tags_are_named(testbed, guard_factory, preg, app_tags):
    g = guard_factory("")
    for args, ref in ((("%s/app:latest" % preg.addr,), "%s/app:latest" % preg.addr),
                      (("%s/app" % preg.addr,), "%s/app:latest" % preg.addr)):
        since = last_audit_id(g)
        r = gdocker(g, "pull", *args)
        assert r.returncode != 0, "pull %s went through" % args[0]
        assert '"latest" is a rolling tag' in r.stderr, r.stderr
        assert "Pull by digest: docker pull %s@%s" % (ref, app_tags["latest"]) in r.stderr, r.stderr
        row = pull_row(g, since)
        assert (row["verdict"], row["rule"]) == ("deny", "pull_require_digest"), row
    # -a: no tag at all pulls every tag
    since = last_audit_id(g)
    r = gdocker(g, "pull", "-a", "%s/app" % preg.addr)
    assert r.returncode != 0, "pull -a went through"
    assert "pulls every tag" in r.stderr and "(rule: pull_require_digest)" in r.stderr, r.stderr
    assert pull_row(g, since)["verdict"] == "deny"


def test_pull_by_digest_allowed_and_works(testbed, guard_factory, preg, kit):
    g = guard_factory("")
    dref = fresh_remote_image(kit, preg, "bydigest", "10.0.0")
    since = last_audit_id(g)
    r = gdocker(g, "pull", dref)
    assert r.returncode == 0, r.stderr + g.log_tail()
    assert local_id(testbed, dref) is not None, "the pull did not bring the image"
    row = pull_row(g, since)
    assert row["verdict"] == "allow", row
    assert row["image_ref"] == dref, row


def test_pull_require_digest_off_allows_tag_pull(testbed, guard_factory, preg, app_tags):
    g = guard_factory(guard_conf(pull_require_digest="off"))
    since = last_audit_id(g)
    r = gdocker(g, "pull", "%s/app:31.0.9.1" % preg.addr)
    assert r.returncode == 0, r.stderr
    assert pull_row(g, since)["verdict"] == "allow"


def test_allowed_registries_refuses_other_registry(testbed, guard_factory, preg, kit):
    other = "127.0.0.1:%d" % free_port()
    g = guard_factory(guard_conf(allowed_registries=other))
    dref = fresh_remote_image(kit, preg, "notallowed", "11.0.0")
    since = last_audit_id(g)
    r = gdocker(g, "pull", dref)
    assert r.returncode != 0, "pull from a registry not in allowed_registries went through"
    assert "(rule: allowed_registries)" in r.stderr, r.stderr
    assert "registry %s is not in allowed_registries (%s)" % (preg.addr, other) in r.stderr, r.stderr
    assert local_id(testbed, dref) is None
    row = pull_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "allowed_registries"), row
    # the allowed registry itself (glob) passes
    g2 = guard_factory(guard_conf(allowed_registries="127.0.0.1:*"))
    r = gdocker(g2, "pull", dref)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("imports", ["allow", "deny"])
def test_import_follows_imports_setting(testbed, guard_factory, kit, imports):
    g = guard_factory(guard_conf(imports=imports) if imports == "deny" else "")
    ref = "imported-%s:%s" % (imports, os.urandom(3).hex())
    # a real rootfs tar (~2 MiB, more than a socket buffer holds): the
    # refusal must reach the client although it is still sending the body
    assert os.path.getsize(kit.tar) > 1 << 20
    since = last_audit_id(g)
    r = gdocker(g, "import", "-c", "LABEL dg.test.import=%s" % imports, kit.tar, ref)
    row = pull_row(g, since)
    assert row["rule"] == "imports", row
    if imports == "allow":
        assert r.returncode == 0, r.stderr
        assert local_id(testbed, ref) is not None
        assert row["verdict"] == "allow", row
    else:
        assert r.returncode != 0, "import went through with imports = deny"
        assert "(rule: imports)" in r.stderr, r.stderr
        assert local_id(testbed, ref) is None
        assert row["verdict"] == "deny", row


# --------------------------------------------------------------------------
# the nightly "compose pull && up -d" by tag
# --------------------------------------------------------------------------

def _compose(path, project, env, *args):
    return run([COMPOSE, "-p", project, "-f", path] + list(args), env=env,
               cwd=os.path.dirname(path), timeout=300, check=False)


def _project(testbed, image):
    d = testbed.tmpdir("cpull")
    path = os.path.join(d, "docker-compose.yml")
    with open(path, "w") as fh:
        json.dump({"version": "2.4", "services": {"app": {
            "image": image, "network_mode": "none",
            "command": ["sleep", "300"]}}}, fh)
    return path


def test_compose_pull_by_tag_refused_and_tag_not_moved(testbed, guard_factory, preg, kit):
    if COMPOSE is None:
        pytest.skip("docker-compose (1.29) not installed")
    ref = "%s/nightly:1.2" % preg.addr
    old = kit.import_image(ref, "1.2.0", extra_label="dg.test.nightly=old")
    kit.push(ref)
    new = kit.import_image(ref, "1.2.1", extra_label="dg.test.nightly=new")
    kit.push(ref)                      # the registry's tag moved on
    kit.docker("tag", old, ref, timeout=30)  # this host still runs the old one
    assert old != new and local_id(testbed, ref) == old
    path = _project(testbed, ref)
    g = guard_factory("")
    since = last_audit_id(g)
    r = _compose(path, "nightly" + os.urandom(3).hex(), g.env, "pull")
    assert r.returncode != 0, "compose pull by tag went through:\n" + r.stderr
    assert "(rule: pull_require_digest)" in r.stderr, r.stderr
    assert local_id(testbed, ref) == old, "the tag moved although the pull was refused"
    row = pull_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "pull_require_digest"), row
    # the same pull straight to the engine does move it: the guard stopped that
    r = _compose(path, "nightly" + os.urandom(3).hex(), g.direct_env, "pull")
    assert r.returncode == 0, r.stderr
    assert local_id(testbed, ref) == new


def test_compose_pull_by_digest_pulls(testbed, guard_factory, preg, kit):
    if COMPOSE is None:
        pytest.skip("docker-compose (1.29) not installed")
    dref = fresh_remote_image(kit, preg, "pinnedcompose", "12.0.0")
    path = _project(testbed, dref)
    g = guard_factory("")
    since = last_audit_id(g)
    r = _compose(path, "pinned" + os.urandom(3).hex(), g.env, "pull")
    assert r.returncode == 0, r.stderr + g.log_tail()
    assert local_id(testbed, dref) is not None, "compose pull did not bring the image"
    row = pull_row(g, since)
    assert row["verdict"] == "allow" and row["image_ref"] == dref, row


# --------------------------------------------------------------------------
# X-Registry-Auth
# --------------------------------------------------------------------------

AUTH_USER = "pulluser"
AUTH_PASS = "pass-Pu11xR9q"


@pytest.fixture(scope="module")
def auth_reg(testbed):
    require("htpasswd")
    r = RegistryServer(testbed.work, "pullauthreg")
    r.auth = {"htpasswd": make_htpasswd(os.path.join(r.dir, "htpasswd"),
                                        AUTH_USER, AUTH_PASS)}
    r.start()
    r.api_auth = basic(AUTH_USER, AUTH_PASS)
    yield r
    r.stop()


def test_x_registry_auth_is_passed_and_never_stored(testbed, guard_factory, auth_reg, kit):
    g = guard_factory(guard_conf(log_level="debug"))
    cfg = os.path.join(kit.dir, "pull-login")
    os.makedirs(cfg, exist_ok=True)
    env = client_env(g.host, cfg)              # through the guard
    anon = client_env(g.host, os.path.join(kit.dir, "pull-anon"))
    os.makedirs(anon["DOCKER_CONFIG"], exist_ok=True)

    r = run([DOCKER, "login", "-u", AUTH_USER, "--password-stdin", auth_reg.addr],
            input=AUTH_PASS, env=env, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(cfg, "config.json")) as fh:
        stored = json.load(fh)["auths"][auth_reg.addr]["auth"]
    assert base64.b64decode(stored).decode() == "%s:%s" % (AUTH_USER, AUTH_PASS)
    dref = fresh_remote_image(kit, auth_reg, "private", "13.0.0", env=env)

    # without credentials the engine cannot pull it (the registry wants them)
    since = last_audit_id(g)
    r = gdocker(g, "pull", dref, env=anon)
    assert r.returncode != 0, "pulled from an htpasswd registry without credentials"
    assert pull_row(g, since)["verdict"] == "allow"
    assert local_id(testbed, dref) is None

    # with docker login's credentials (sent as X-Registry-Auth) it can
    since = last_audit_id(g)
    r = gdocker(g, "pull", dref, env=env)
    assert r.returncode == 0, r.stderr + g.log_tail()
    assert local_id(testbed, dref) is not None
    row = pull_row(g, since)
    assert row["verdict"] == "allow" and row["image_ref"] == dref, row

    # what the CLI sends as X-Registry-Auth (base64url of this JSON)
    xra = base64.urlsafe_b64encode(json.dumps(
        {"username": AUTH_USER, "password": AUTH_PASS,
         "serveraddress": auth_reg.addr}, separators=(",", ":")).encode()).decode()
    data = all_stored_bytes(g)
    dump = audit_dump(g)
    for secret in (AUTH_PASS, stored, xra, xra.rstrip("=")):
        assert secret.encode() not in data, "%r in the guard's log or database" % secret
        assert secret not in dump


def test_pull_by_tag_from_auth_registry_names_digest(testbed, guard_factory, auth_reg, kit):
    """The fix-it digest of a tag in a registry that wants credentials comes
    from the guard's own registry_auth; without it the guard says it could
    not tell."""
    cfg = os.path.join(kit.dir, "pull-login-direct")
    os.makedirs(cfg, exist_ok=True)
    env = client_env(testbed.dockerd.host, cfg)
    run([DOCKER, "login", "-u", AUTH_USER, "--password-stdin", auth_reg.addr],
        input=AUTH_PASS, env=env, timeout=60)
    ref = "%s/tagged:2.0" % auth_reg.addr
    kit.import_image(ref, "2.0.0", extra_label="dg.test.tagged=1")
    kit.push(ref, env=env)
    digest = auth_reg.digest("tagged", "2.0")
    g = guard_factory(guard_conf(log_level="debug", registry_auth="%s=%s:%s" % (
        auth_reg.addr, AUTH_USER, AUTH_PASS)))
    since = last_audit_id(g)
    r = gdocker(g, "pull", ref, env=client_env(g.host, cfg))
    assert r.returncode != 0
    assert "Pull by digest: docker pull %s@%s" % (ref, digest) in r.stderr, r.stderr
    assert pull_row(g, since)["rule"] == "pull_require_digest"
    assert AUTH_PASS.encode() not in all_stored_bytes(g)
    g2 = guard_factory("")
    r = gdocker(g2, "pull", ref, env=client_env(g2.host, cfg))
    assert r.returncode != 0
    assert "the registry could not say the digest" in r.stderr, r.stderr
