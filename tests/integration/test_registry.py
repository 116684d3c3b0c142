"""The registry_presence rule and the registry client against real
registries: docker-registry processes of our own (plain, htpasswd, token
auth) on free loopback ports, a token server, a stopped registry and one
that never answers.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_registry.py
"""

import base64
import json
import os
import shutil
import time

import pytest

from registry_fixtures import (DOCKER, MT_DOCKER_V2, MT_OCI_INDEX,
                               MT_OCI_MANIFEST, ImageKit, RegistryServer, basic, http,
                               SilentServer, StatusServer, TokenServer, all_stored_bytes,
                               audit_dump, audit_rows, docker_config_json,
                               guard_conf, last_audit_id, make_htpasswd,
                               popen_docker, require, sha256_hex, wait_audit)
from testbed import client_env, run, stop_popen, unix_http, wait_for

COMPOSE = shutil.which("docker-compose")
TIMING_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "build",
                           "compose20-timing.txt")

# registry answers change between checks in these tests: no caching
NO_CACHE = dict(registry_cache_ttl=0, registry_negative_ttl=0)


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture(scope="module")
def reg(testbed):
    r = RegistryServer(testbed.work, "plainreg").start()
    yield r
    r.stop()


@pytest.fixture
def names(testbed):
    """Container names to remove (directly) after the test."""
    made = []
    yield made
    if made:
        run([DOCKER, "rm", "-f"] + made, env=testbed.direct_env, timeout=120,
            check=False)


def create(g, ref, names, testbed, timeout=120):
    """docker create through guard g; returns the CompletedProcess."""
    name = testbed.unique("rg-")
    names.append(name)
    return run([DOCKER, "create", "--network", "none", "--name", name, ref,
                "true"], env=g.env, timeout=timeout, check=False)


def only_row(g, since, route="containers/create"):
    rows = wait_audit(g, since, 1, route=route)
    assert len(rows) == 1, rows
    return rows[0]


def push_single(kit, reg, repo, tag="v1", version="1.0.0"):
    """An image pushed to reg/repo:tag; returns its digest reference."""
    ref = "%s/%s:%s" % (reg.addr, repo, tag)
    kit.import_image(ref, version, extra_label="dg.test.repo=%s" % repo)
    kit.push(ref)
    return "%s/%s@%s" % (reg.addr, repo, reg.digest(repo, tag, accept=MT_DOCKER_V2))


# --------------------------------------------------------------------------
# the retention-job story
# --------------------------------------------------------------------------

def test_index_host_child_deleted_is_refused(testbed, guard_factory, reg, kit, names):
    require("docker-registry")
    repo = "ret-amd64"
    d = kit.build_index(reg, repo, versions=("2.0.0", "2.0.0"))
    ref = "%s/%s@%s" % (reg.addr, repo, d["index"])
    kit.pull(ref)   # directly: the engine now knows the index digest
    g = guard_factory(guard_conf(**NO_CACHE))

    since = last_audit_id(g)
    ok = create(g, ref, names, testbed)
    assert ok.returncode == 0, ok.stderr + g.log_tail()
    row = only_row(g, since)
    assert row["verdict"] == "allow", row
    assert row["rule"] not in ("registry", "registry_unreachable"), row

    # the retention job: the untagged per-platform manifest goes
    reg.delete_manifest(repo, d["amd64"])
    assert reg.head_manifest(repo, d["index"])[0] == 200  # the index stays

    since = last_audit_id(g)
    bad = create(g, ref, names, testbed)
    assert bad.returncode != 0, "create succeeded although the amd64 child is gone"
    want = ("is missing from its registry: the index %s lists %s for "
            "linux/amd64, but the registry no longer has it (rule: registry)"
            % (d["index"], d["amd64"]))
    assert want in bad.stderr, bad.stderr
    assert ref in bad.stderr, bad.stderr
    row = only_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "registry"), row
    assert want in row["message"], row
    assert row["image_ref"] == ref, row


def test_index_other_child_deleted_depends_on_check_all_platforms(
        testbed, guard_factory, reg, kit, names):
    repo = "ret-arm64"
    d = kit.build_index(reg, repo, versions=("2.1.0", "2.1.0"))
    ref = "%s/%s@%s" % (reg.addr, repo, d["index"])
    kit.pull(ref)
    g_host = guard_factory(guard_conf(**NO_CACHE))
    g_all = guard_factory(guard_conf(check_all_platforms="yes", **NO_CACHE))

    # before the deletion both allow
    for g in (g_host, g_all):
        r = create(g, ref, names, testbed)
        assert r.returncode == 0, (g.name, r.stderr)

    reg.delete_manifest(repo, d["arm64"])

    since = last_audit_id(g_host)
    r = create(g_host, ref, names, testbed)
    assert r.returncode == 0, "only this host's child matters by default: " + r.stderr
    assert only_row(g_host, since)["verdict"] == "allow"

    since = last_audit_id(g_all)
    r = create(g_all, ref, names, testbed)
    assert r.returncode != 0, "check_all_platforms = yes must refuse"
    want = ("the index %s lists %s for linux/arm64, but the registry no "
            "longer has it (rule: registry)" % (d["index"], d["arm64"]))
    assert want in r.stderr, r.stderr
    row = only_row(g_all, since)
    assert (row["verdict"], row["rule"]) == ("deny", "registry"), row


def test_single_platform_manifest_deleted_is_refused(testbed, guard_factory, reg,
                                                     kit, names):
    repo = "ret-single"
    ref = push_single(kit, reg, repo, version="3.0.0")
    digest = ref.split("@", 1)[1]
    g = guard_factory(guard_conf(**NO_CACHE))

    ok = create(g, ref, names, testbed)
    assert ok.returncode == 0, ok.stderr

    reg.delete_manifest(repo, digest)   # the tag goes with it
    assert reg.head_manifest(repo, "v1")[0] == 404

    since = last_audit_id(g)
    bad = create(g, ref, names, testbed)
    assert bad.returncode != 0, "create succeeded although the manifest is gone"
    assert "image %s is missing from its registry" % ref in bad.stderr, bad.stderr
    assert "(rule: registry)" in bad.stderr and digest in bad.stderr, bad.stderr
    row = only_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "registry"), row


def test_oci_index_is_an_index(testbed, guard_factory, reg, kit, names):
    """An OCI image index (not a Docker manifest list) is read as an index:
    present while its children are, and its host child's deletion is
    reported by digest and platform (a guard that took the index for an
    image would miss that)."""
    require("skopeo")
    src, repo = "oci-src", "oci-idx"
    kit.build_index(reg, src, versions=("4.0.0", "4.0.0"))
    children = {}
    for plat in ("amd64", "arm64"):
        # skopeo converts each image to an OCI manifest in the new repo
        run(["skopeo", "copy", "--format", "oci", "--src-tls-verify=false",
             "--dest-tls-verify=false",
             "docker://%s/%s:%s" % (reg.addr, src, plat),
             "docker://%s/%s:%s" % (reg.addr, repo, plat)], timeout=180)
        ctype, body = reg.get_manifest(repo, plat)
        assert ctype == MT_OCI_MANIFEST, ctype
        children[plat] = ("sha256:" + sha256_hex(body), len(body))
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, "digest": children[p][0],
         "size": children[p][1], "platform": {"architecture": p, "os": "linux"}}
        for p in ("amd64", "arm64")]}
    body = json.dumps(index, indent=2).encode()
    idx = reg.put_manifest(repo, "prod", MT_OCI_INDEX, body)
    assert idx == "sha256:" + sha256_hex(body)
    assert reg.head_manifest(repo, idx)[2] == MT_OCI_INDEX
    ref = "%s/%s@%s" % (reg.addr, repo, idx)
    kit.pull(ref)   # the engine pulls the amd64 child of the OCI index

    g = guard_factory(guard_conf(**NO_CACHE))
    since = last_audit_id(g)
    ok = create(g, ref, names, testbed)
    assert ok.returncode == 0, ok.stderr
    row = only_row(g, since)
    assert row["verdict"] == "allow" and row["rule"] != "registry", row

    reg.delete_manifest(repo, children["amd64"][0])
    since = last_audit_id(g)
    bad = create(g, ref, names, testbed)
    assert bad.returncode != 0, "the OCI index's amd64 child is gone"
    want = ("the index %s lists %s for linux/amd64, but the registry no "
            "longer has it" % (idx, children["amd64"][0]))
    assert want in bad.stderr, bad.stderr
    assert only_row(g, since)["rule"] == "registry"


def test_create_by_tag_fixit_names_registry_digest(testbed, guard_factory, reg, kit,
                                                   names):
    """A tag the engine does not have: only the registry can say the digest
    the require_digest refusal tells the user to pin."""
    ref = "%s/fixit:v1" % reg.addr
    kit.import_image(ref, "3.5.0", extra_label="dg.test.repo=fixit")
    kit.push(ref)
    digest = reg.digest("fixit", "v1")
    kit.rmi(ref, "%s/fixit@%s" % (reg.addr, digest))
    g = guard_factory(guard_conf(**NO_CACHE))
    since = last_audit_id(g)
    r = create(g, ref, names, testbed)
    assert r.returncode != 0, "a create by tag went through"
    assert "(rule: require_digest)" in r.stderr, r.stderr
    assert "Pin it by digest: %s@%s" % (ref, digest) in r.stderr, r.stderr
    row = only_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "require_digest"), row


# --------------------------------------------------------------------------
# Basic auth (htpasswd)
# --------------------------------------------------------------------------

BASIC_USER = "dguser"
BASIC_PASS = "pass-Zq81vXk3"


@pytest.fixture(scope="module")
def basic_reg(testbed, kit):
    """An htpasswd registry holding one image, pushed after docker login."""
    require("htpasswd")
    r = RegistryServer(testbed.work, "basicreg")
    htp = make_htpasswd(os.path.join(r.dir, "htpasswd"), BASIC_USER, BASIC_PASS)
    r.auth = {"htpasswd": htp}
    r.start()
    r.api_auth = basic(BASIC_USER, BASIC_PASS)
    cfg = os.path.join(kit.dir, "basic-login")
    os.makedirs(cfg, exist_ok=True)
    env = client_env(testbed.dockerd.host, cfg)
    run([DOCKER, "login", "-u", BASIC_USER, "--password-stdin", r.addr],
        input=BASIC_PASS, env=env, timeout=60)
    ref = "%s/secret:v1" % r.addr
    kit.import_image(ref, "5.0.0", extra_label="dg.test.repo=secret")
    kit.push(ref, env=env)
    r.image = "%s/secret@%s" % (r.addr, r.digest("secret", "v1", accept=MT_DOCKER_V2))
    r.login_env = env
    yield r
    r.stop()


def assert_no_secret(g, *secrets):
    data = all_stored_bytes(g)
    for s in secrets:
        assert s.encode() not in data, "secret %r found in the guard's log or database" % s
    dump = audit_dump(g)
    for s in secrets:
        assert s not in dump


def _b64(s):
    return base64.b64encode(s.encode()).decode()


@pytest.mark.parametrize("how", ["registry_auth", "docker_config", "docker_login_config"])
def test_basic_auth_credentials_make_it_present(testbed, guard_factory, basic_reg,
                                                names, how, kit):
    # the registry really wants credentials
    assert http("HEAD", "%s/v2/secret/manifests/v1" % basic_reg.url)[0] == 401
    if how == "registry_auth":
        extra = dict(registry_auth="%s=%s:%s" % (basic_reg.addr, BASIC_USER, BASIC_PASS))
    elif how == "docker_config":
        path = docker_config_json(os.path.join(kit.dir, "basic-config.json"),
                                  basic_reg.addr, BASIC_USER, BASIC_PASS)
        extra = dict(docker_config=path)
    else:   # the file `docker login` itself wrote
        extra = dict(docker_config=os.path.join(basic_reg.login_env["DOCKER_CONFIG"],
                                                "config.json"))
    # deny: only "present" lets the create through
    g = guard_factory(guard_conf(registry_unreachable="deny", log_level="debug",
                                 **NO_CACHE, **extra))
    since = last_audit_id(g)
    r = create(g, basic_reg.image, names, testbed)
    assert r.returncode == 0, r.stderr + g.log_tail()
    row = only_row(g, since)
    assert row["verdict"] == "allow" and row["rule"] != "registry_unreachable", row
    assert "unauthorized" not in (row["message"] or ""), row
    assert_no_secret(g, BASIC_PASS, _b64("%s:%s" % (BASIC_USER, BASIC_PASS)))


def _index_behind_auth(testbed, guard_factory, r, kit, names, repo, auth_item):
    """An index in a registry that wants credentials: every request of the
    check (HEAD index, GET index, HEAD child) must carry them."""
    d = kit.build_index(r, repo, versions=("5.5.0", "5.5.0"), env=r.login_env)
    ref = "%s/%s@%s" % (r.addr, repo, d["index"])
    kit.pull(ref, env=r.login_env)
    g = guard_factory(guard_conf(registry_unreachable="deny", registry_auth=auth_item,
                                 **NO_CACHE))
    ok = create(g, ref, names, testbed)
    assert ok.returncode == 0, ok.stderr + g.log_tail()
    r.delete_manifest(repo, d["amd64"])
    since = last_audit_id(g)
    bad = create(g, ref, names, testbed)
    assert bad.returncode != 0
    want = ("the index %s lists %s for linux/amd64, but the registry no "
            "longer has it (rule: registry)" % (d["index"], d["amd64"]))
    assert want in bad.stderr, bad.stderr
    row = only_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "registry"), row


def test_basic_auth_index_child_deleted(testbed, guard_factory, basic_reg, kit, names):
    _index_behind_auth(testbed, guard_factory, basic_reg, kit, names, "secidx",
                       "%s=%s:%s" % (basic_reg.addr, BASIC_USER, BASIC_PASS))


@pytest.mark.parametrize("unreachable", ["allow", "deny"])
@pytest.mark.parametrize("creds", ["wrong", "none"])
def test_basic_auth_bad_credentials_are_unauthorized(testbed, guard_factory, basic_reg,
                                                     names, unreachable, creds):
    extra = {}
    if creds == "wrong":
        extra["registry_auth"] = "%s=%s:not-%s" % (basic_reg.addr, BASIC_USER, BASIC_PASS)
    g = guard_factory(guard_conf(registry_unreachable=unreachable, log_level="debug",
                                 **NO_CACHE, **extra))
    since = last_audit_id(g)
    r = create(g, basic_reg.image, names, testbed)
    row = only_row(g, since)
    assert "unauthorized" in (row["message"] or ""), row
    assert row["rule"] == "registry_unreachable", row
    if unreachable == "allow":
        assert r.returncode == 0, r.stderr
        assert row["verdict"] == "allow", row
    else:
        assert r.returncode != 0
        assert "(rule: registry_unreachable)" in r.stderr, r.stderr
        assert "unauthorized" in r.stderr, r.stderr
        assert row["verdict"] == "deny", row
    assert_no_secret(g, BASIC_PASS)


# --------------------------------------------------------------------------
# Bearer tokens: a real docker-registry with token auth + our token server
# --------------------------------------------------------------------------

TOKEN_USER = "tokuser"
TOKEN_PASS = "pass-Tk55wq0b"


@pytest.fixture(scope="module", params=["token", "access_token"])
def bearer(request, testbed, kit):
    """(registry, token server) where the registry only takes JWTs the token
    server signs; the token server answers {<param>: ..., expires_in: 60}."""
    ts = TokenServer(testbed.work, {TOKEN_USER: TOKEN_PASS}, key=request.param,
                     expires_in=60).start()
    r = RegistryServer(testbed.work, "tokreg-" + request.param,
                       auth=ts.registry_auth())
    try:
        r.start()
        r.api_auth = lambda: ts.bearer_for(TOKEN_USER, ["repository:tok:pull,push,delete"])
        cfg = os.path.join(kit.dir, "tok-login-" + request.param)
        os.makedirs(cfg, exist_ok=True)
        env = client_env(testbed.dockerd.host, cfg)
        run([DOCKER, "login", "-u", TOKEN_USER, "--password-stdin", r.addr],
            input=TOKEN_PASS, env=env, timeout=60)
        ref = "%s/tok:v1" % r.addr
        kit.import_image(ref, "6.0.0", extra_label="dg.test.repo=tok")
        kit.push(ref, env=env)
        r.image = "%s/tok@%s" % (r.addr, r.digest("tok", "v1", accept=MT_DOCKER_V2))
        r.login_env = env
        yield r, ts
    finally:
        r.stop()
        ts.stop()


def test_bearer_token_flow_and_cache(testbed, guard_factory, bearer, names):
    r, ts = bearer
    # without a token the registry says 401 with a Bearer challenge
    st, hd, _ = http("HEAD", "%s/v2/tok/manifests/v1" % r.url)
    assert st == 401 and hd.get("www-authenticate", "").startswith("Bearer "), (st, hd)

    g = guard_factory(guard_conf(
        registry_unreachable="deny", log_level="debug",
        registry_auth="%s=%s:%s" % (r.addr, TOKEN_USER, TOKEN_PASS), **NO_CACHE))
    before = len(ts.guard_calls())
    for _ in range(2):
        since = last_audit_id(g)
        res = create(g, r.image, names, testbed)
        assert res.returncode == 0, res.stderr + g.log_tail()
        row = only_row(g, since)
        assert row["verdict"] == "allow" and row["rule"] != "registry_unreachable", row
    calls = ts.guard_calls()[before:]
    assert len(calls) == 1, "token fetched %d times for two creates (not cached): %r" % (
        len(calls), calls)
    assert calls[0]["status"] == 200 and calls[0]["user"] == TOKEN_USER, calls
    assert calls[0]["scopes"] == ["repository:tok:pull"], calls
    assert calls[0]["service"] == ts.service, calls
    assert_no_secret(g, TOKEN_PASS, _b64("%s:%s" % (TOKEN_USER, TOKEN_PASS)))


def test_bearer_index_child_deleted(testbed, guard_factory, bearer, kit, names):
    r, ts = bearer
    _index_behind_auth(testbed, guard_factory, r, kit, names, "tok",
                       "%s=%s:%s" % (r.addr, TOKEN_USER, TOKEN_PASS))


def test_bearer_token_fetched_again_after_expiry(testbed, guard_factory, bearer, names):
    r, ts = bearer
    g = guard_factory(guard_conf(
        registry_unreachable="deny",
        registry_auth="%s=%s:%s" % (r.addr, TOKEN_USER, TOKEN_PASS), **NO_CACHE))
    saved = ts.expires_in
    ts.expires_in = 2     # the registry refuses the token after 2 s too
    try:
        before = len(ts.guard_calls())
        res = create(g, r.image, names, testbed)
        assert res.returncode == 0, res.stderr + g.log_tail()
        assert len(ts.guard_calls()) - before == 1
        time.sleep(3.5)
        res = create(g, r.image, names, testbed)
        assert res.returncode == 0, "an expired token was used: " + res.stderr
        assert len(ts.guard_calls()) - before == 2, ts.guard_calls()[before:]
    finally:
        ts.expires_in = saved


@pytest.mark.parametrize("unreachable", ["allow", "deny"])
def test_bearer_wrong_credentials_are_unauthorized(testbed, guard_factory, bearer,
                                                   names, unreachable):
    r, ts = bearer
    g = guard_factory(guard_conf(
        registry_unreachable=unreachable,
        registry_auth="%s=%s:wrong-%s" % (r.addr, TOKEN_USER, TOKEN_PASS), **NO_CACHE))
    before = len(ts.guard_calls())
    since = last_audit_id(g)
    res = create(g, r.image, names, testbed)
    row = only_row(g, since)
    assert "unauthorized" in (row["message"] or ""), row
    assert row["rule"] == "registry_unreachable", row
    calls = ts.guard_calls()[before:]
    assert calls and all(c["status"] == 401 for c in calls), calls
    if unreachable == "allow":
        assert res.returncode == 0, res.stderr
        assert row["verdict"] == "allow"
    else:
        assert res.returncode != 0 and "unauthorized" in res.stderr, res.stderr
        assert row["verdict"] == "deny"


# --------------------------------------------------------------------------
# a registry that is down, or never answers
# --------------------------------------------------------------------------

@pytest.fixture
def doomed_reg(testbed, kit):
    """A registry holding one image; the test stops it."""
    r = RegistryServer(testbed.work, testbed.unique("doomed")).start()
    r.image = push_single(kit, r, "doomed", version="7.0.0")
    yield r
    r.stop()


@pytest.mark.parametrize("unreachable", ["allow", "deny"])
def test_registry_stopped_follows_registry_unreachable(testbed, guard_factory,
                                                       doomed_reg, names, unreachable):
    g = guard_factory(guard_conf(registry_unreachable=unreachable, **NO_CACHE))
    ok = create(g, doomed_reg.image, names, testbed)
    assert ok.returncode == 0, ok.stderr      # present while it runs
    doomed_reg.kill()
    since = last_audit_id(g)
    res = create(g, doomed_reg.image, names, testbed)
    row = only_row(g, since)
    assert "unreachable" in (row["message"] or ""), row
    assert row["rule"] == "registry_unreachable", row
    if unreachable == "allow":
        assert res.returncode == 0, res.stderr
        assert row["verdict"] == "allow", row
    else:
        assert res.returncode != 0, "registry down + deny must refuse"
        assert "(rule: registry_unreachable)" in res.stderr, res.stderr
        assert row["verdict"] == "deny", row


@pytest.mark.parametrize("status,cls", [(429, "rate-limited"), (500, "unreachable"),
                                        (503, "unreachable"), (401, "unauthorized"),
                                        (403, "unauthorized")])
def test_registry_error_status_classes(testbed, guard_factory, doomed_reg, names,
                                       status, cls):
    """A registry answering an error status: the indeterminate classes follow
    registry_unreachable and are audited with their class; none is taken
    for "absent"."""
    port, image = doomed_reg.port, doomed_reg.image
    doomed_reg.kill()
    srv = StatusServer(port, status)
    try:
        g_allow = guard_factory(guard_conf(**NO_CACHE))
        g_deny = guard_factory(guard_conf(registry_unreachable="deny", **NO_CACHE))
        since = last_audit_id(g_allow)
        ok = create(g_allow, image, names, testbed)
        assert ok.returncode == 0, ok.stderr
        row = only_row(g_allow, since)
        assert (row["verdict"], row["rule"]) == ("allow", "registry_unreachable"), row
        assert "registry %s:" % cls in row["message"], row
        since = last_audit_id(g_deny)
        bad = create(g_deny, image, names, testbed)
        assert bad.returncode != 0
        assert "(%s:" % cls in bad.stderr and "(rule: registry_unreachable)" in bad.stderr, \
            bad.stderr
        row = only_row(g_deny, since)
        assert (row["verdict"], row["rule"]) == ("deny", "registry_unreachable"), row
        assert srv.requests, "the guard never asked the registry"
    finally:
        srv.stop()


def test_silent_registry_times_out_without_blocking_others(testbed, guard_factory,
                                                           doomed_reg, names):
    port = doomed_reg.port
    image = doomed_reg.image
    doomed_reg.kill()
    silent = SilentServer(port)   # same address: the image's registry
    try:
        g = guard_factory(guard_conf(registry_timeout=2, **NO_CACHE))
        name = testbed.unique("rg-")
        names.append(name)
        since = last_audit_id(g)
        t0 = time.monotonic()
        p = popen_docker(["create", "--network", "none", "--name", name, image,
                          "true"], g.env)
        try:
            # the check is in flight once the guard has connected to the
            # registry: the guard must still serve others meanwhile
            wait_for(lambda: silent.accepted >= 1 or p.poll() is not None,
                     "the guard to connect to the silent registry", timeout=30,
                     interval=0.02)
            time.sleep(0.2)
            assert p.poll() is None, "the create did not wait for the registry"
            t1 = time.monotonic()
            st, body = unix_http(g.sock, "GET", "/_ping", timeout=5)
            ping = time.monotonic() - t1
            t1 = time.monotonic()
            ps = run([DOCKER, "ps", "-q"], env=g.env, timeout=30, check=False)
            ps_time = time.monotonic() - t1
            in_flight = p.poll() is None
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                stop_popen(p, grace=0)
        elapsed = time.monotonic() - t0
        print("\nsilent registry: create decided in %.2fs; /_ping %.3fs, "
              "docker ps %.3fs while it was in flight" % (elapsed, ping, ps_time))
        assert silent.accepted >= 1, "the guard never connected to the registry"
        assert (st, body) == (200, b"OK")
        assert ps.returncode == 0, ps.stderr
        assert in_flight, "the create finished before /_ping and ps were timed"
        # A guard blocked by the check would answer only when it ends,
        # about 1.6 s after these start (registry_timeout = 2); loaded CI
        # machines (ASan, 2 cores) need some room below that.
        assert ping < 1.2, "/_ping took %.2fs during a slow registry check" % ping
        assert ps_time < 1.2, "docker ps took %.2fs during a slow registry check" % ps_time
        assert p.returncode == 0, err          # registry_unreachable = allow
        assert 1.8 <= elapsed <= 4.5, "decided after %.2fs with registry_timeout = 2" % elapsed
        row = only_row(g, since)
        assert row["verdict"] == "allow" and row["rule"] == "registry_unreachable", row
        assert "unreachable" in row["message"], row
    finally:
        silent.stop()


# --------------------------------------------------------------------------
# concurrency: a 20-service compose project
# --------------------------------------------------------------------------

def test_compose_20_services_guard_vs_direct(testbed, guard_factory, reg, kit):
    if COMPOSE is None:
        pytest.skip("docker-compose (1.29) not installed")
    n = 20
    digests = []
    for i in range(n):
        ref = "%s/c20:s%02d" % (reg.addr, i)
        kit.import_image(ref, "8.0.%d" % i, extra_label="dg.test.c20=%d" % i)
        kit.push(ref)
        digests.append("%s/c20@%s" % (reg.addr, reg.digest("c20", "s%02d" % i,
                                                           accept=MT_DOCKER_V2)))
    assert len(set(digests)) == n
    d = testbed.tmpdir("c20")
    path = os.path.join(d, "docker-compose.yml")
    services = {"s%02d" % i: {"image": digests[i], "network_mode": "none",
                              "command": ["sh", "-c", "trap 'exit 0' TERM; "
                                          "while :; do sleep 1; done"]}
                for i in range(n)}
    with open(path, "w") as fh:
        json.dump({"version": "2.4", "services": services}, fh, indent=1)
    g = guard_factory("")

    def up(env, project):
        t0 = time.monotonic()
        res = run([COMPOSE, "-p", project, "-f", path, "up", "-d"], env=env,
                  cwd=d, timeout=300, check=False)
        return res, time.monotonic() - t0

    def running(project):
        return run([DOCKER, "ps", "--filter", "label=com.docker.compose.project=" + project,
                    "--filter", "status=running", "-q"], env=testbed.direct_env,
                   timeout=60).stdout.split()

    def down(env, project):
        run([COMPOSE, "-p", project, "-f", path, "down", "-t", "1"], env=env,
            cwd=d, timeout=300, check=False)

    pd, pg = "c20d" + os.urandom(3).hex(), "c20g" + os.urandom(3).hex()
    since = last_audit_id(g)
    try:
        rd, td = up(g.direct_env, pd)
        rg, tg = up(g.env, pg)
        assert rd.returncode == 0, rd.stderr
        assert rg.returncode == 0, rg.stderr + g.log_tail()
        nd, ng = len(running(pd)), len(running(pg))
    finally:
        down(g.direct_env, pd)
        down(g.direct_env, pg)
    line = ("compose up -d of %d services: guard %.2fs, direct %.2fs "
            "(guard/direct %.2fx)" % (n, tg, td, tg / td if td else 0))
    print("\n" + line)
    os.makedirs(os.path.dirname(TIMING_FILE), exist_ok=True)
    with open(TIMING_FILE, "w") as fh:
        fh.write(line + "\n")
    assert (nd, ng) == (n, n)
    rows = audit_rows(g, route="containers/create", since_id=since)
    assert len(rows) == n, rows
    assert all(r["verdict"] == "allow" for r in rows), rows
    assert sorted(r["image_ref"] for r in rows) == sorted(digests)
