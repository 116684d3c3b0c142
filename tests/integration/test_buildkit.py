"""BuildKit through the guard: `docker buildx build` and `docker build`
(BuildKit is the CLI's default since 23, through the buildx plugin).

What the guard can see of a BuildKit build: the POST /grpc and POST
/session upgrades (h2c) and POST /build?version=2's query; the Dockerfile
and the context come over the session's gRPC file sync, and the base
images are resolved by BuildKit's own puller.  So `buildkit = deny` (the
default) refuses the build with the reason, `buildkit = allow` lets it
through unjudged (the hijacked h2c streams must work), and the legacy
builder (DOCKER_BUILDKIT=0) stays judged.  Whatever a build made, a create
from it is still judged: a local image is pinned only by its ID, and the
version it inherited from its base counts for downgrades.

    DOCKER_GUARD_BIN=$PWD/build/docker-guard tests/generation trixie -q \\
        tests/integration/test_buildkit.py                 (or sid)
"""

import json
import os

import pytest

from modern_clients import dk, need_plugin
from registry_fixtures import audit_rows, guard_conf, last_audit_id

NONE = ("--network", "none")


@pytest.fixture
def buildx(testbed):
    return need_plugin("buildx", "BuildKit through buildx")


def context(testbed, base, label):
    d = testbed.tmpdir("bk")
    with open(os.path.join(d, "Dockerfile"), "w") as fh:
        fh.write("FROM %s\nCOPY hello.txt /hello.txt\nLABEL dg.test.bk=%s\n"
                 % (base, label))
    with open(os.path.join(d, "hello.txt"), "w") as fh:
        fh.write("hello %s\n" % label)
    return d


def buildx_build(env, ctx, tag, *extra, timeout=300):
    return dk(env, "buildx", "build", "--progress", "plain", "--load",
              "-t", tag, *extra, ctx, timeout=timeout)


def local_id(testbed, ref):
    r = dk(testbed.direct_env, "image", "inspect", "--format", "{{.Id}}", ref,
           timeout=30)
    return r.stdout.strip() if r.returncode == 0 else None


def routes(guard, since):
    return [(x["route"], x["rule"], x["verdict"])
            for x in audit_rows(guard, since_id=since)]


@pytest.mark.parametrize("how", ["buildx", "build"])
def test_buildkit_refused_by_default(testbed, guard, buildx, how):
    """`docker buildx build` / `docker build` (BuildKit by default):
    refused with the reason, nothing built, every refusal audited."""
    new = testbed.images["31.0.9.1"]
    ctx = context(testbed, new.digest_ref, how)
    tag = testbed.unique("bkdeny-")
    since = last_audit_id(guard)
    if how == "buildx":
        r = buildx_build(guard.env, ctx, tag)
    else:
        r = dk(guard.env, "build", "-t", tag, ctx, timeout=300)
    out = r.stdout + r.stderr
    print(out)  # what the client shows (pytest -rP)
    assert r.returncode != 0, out
    # the client shows the guard's reason or, for the h2c upgrade, the
    # status only (the reason is in the audit trail)
    assert "docker-guard: refusing" in out or "403" in out, out
    rows = routes(guard, since)
    assert ("grpc", "buildkit", "deny") in rows or \
        ("session", "buildkit", "deny") in rows, "%r\n%s" % (rows, out)
    # buildx takes a refused /grpc for an engine without BuildKit and falls
    # back to its docker-container driver: it pulls moby/buildkit by tag to
    # run BuildKit in a container, and pull_require_digest refuses that
    others = [x for x in rows if x[1] != "buildkit"]
    assert all(x == ("images/create", "pull_require_digest", "deny")
               for x in others), "%r\n%s" % (rows, out)
    if others:  # ... and the refusal says why the user sees that pull
        assert "refusing to pull moby/buildkit:buildx-stable-1" in out, out
        assert "buildx pulls moby/buildkit to run BuildKit in a container " \
            "when the engine's own BuildKit is refused (rule: buildkit)" \
            in out, out
    assert all(v == "deny" for _, _, v in rows), rows
    assert local_id(testbed, tag) is None


def test_legacy_builder_still_judged(testbed, guard):
    """DOCKER_BUILDKIT=0 with this generation's CLI: the legacy builder,
    whose Dockerfile the guard reads: FROM by digest builds, by tag is
    refused with the digest to use."""
    new = testbed.images["31.0.9.1"]
    env = dict(guard.env, DOCKER_BUILDKIT="0")
    tag = testbed.unique("bklegacy-")
    r = dk(env, "build", *NONE, "-t", tag,
           context(testbed, new.digest_ref, "legacy"), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert local_id(testbed, tag)
    r = dk(env, "build", *NONE, "-t", tag + "t",
           context(testbed, new.registry_ref, "legacy-tag"), timeout=300)
    assert r.returncode != 0 and "refusing to build" in r.stderr, r.stderr
    assert new.digest_ref.split("@")[1] in r.stderr, r.stderr
    assert local_id(testbed, tag + "t") is None


def test_buildkit_allowed_builds_like_the_engine(testbed, guard_factory,
                                                 buildx):
    """buildkit = allow: `docker buildx build` through the guard (/grpc and
    /session h2c hijacks) builds the same image as on the engine's socket;
    `docker build` too."""
    g = guard_factory(guard_conf(buildkit="allow"))
    new = testbed.images["31.0.9.1"]
    ctx = context(testbed, new.digest_ref, "allow")
    since = last_audit_id(g)
    tg, td = testbed.unique("bkg-"), testbed.unique("bkd-")
    r = buildx_build(g.env, ctx, tg)
    assert r.returncode == 0, r.stdout + r.stderr
    r = buildx_build(testbed.direct_env, ctx, td)
    assert r.returncode == 0, r.stdout + r.stderr
    fmt = "{{json .Config.Labels}}|{{json .RootFS.Layers}}"
    got = [dk(testbed.direct_env, "image", "inspect", "--format", fmt, t,
              timeout=30).stdout for t in (tg, td)]
    assert got[0] == got[1] and got[0], got
    run_out = dk(g.env, "run", "--rm", *NONE, local_id(testbed, tg), "cat",
                 "/hello.txt")
    assert run_out.stdout.strip() == "hello allow", run_out
    rows = routes(g, since)
    assert ("grpc", "buildkit", "allow") in rows or \
        ("session", "buildkit", "allow") in rows, rows
    tb2 = testbed.unique("bkb-")
    r = dk(g.env, "build", "-t", tb2, ctx, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert local_id(testbed, tb2)


def test_buildkit_allowed_base_unjudged_but_result_judged(testbed,
                                                          guard_factory,
                                                          buildx):
    """What `buildkit = allow` gives up, and what still holds: a FROM by tag
    builds (the guard never sees it), but the result is a local image:
    a create by its tag is refused (pin it by its ID), and a create by ID
    of a build on an older base is a downgrade for an app that ran newer."""
    g = guard_factory(guard_conf(buildkit="allow"))
    old, new = testbed.images["31.0.8.1"], testbed.images["31.0.9.1"]
    tag = testbed.unique("bkold-")
    r = buildx_build(g.env, context(testbed, old.registry_ref, "old"), tag)
    assert r.returncode == 0, r.stdout + r.stderr  # unjudged: documented
    built = local_id(testbed, tag)
    labels = json.loads(dk(testbed.direct_env, "image", "inspect", "--format",
                           "{{json .Config.Labels}}", built).stdout)
    assert labels.get("org.opencontainers.image.version") == "31.0.8.1"
    name = testbed.unique("bkapp")
    try:
        r = dk(g.env, "create", *NONE, "--name", name + "x", tag, "true")
        assert r.returncode != 0 and "is not pinned by digest" in r.stderr \
            and built in r.stderr, r.stderr
        r = dk(g.env, "create", *NONE, "--name", name, new.digest_ref, "true")
        assert r.returncode == 0, r.stderr
        dk(testbed.direct_env, "rm", "-f", name)
        r = dk(g.env, "create", *NONE, "--name", name, built, "true")
        assert r.returncode != 0 and "(rule: downgrade)" in r.stderr, r.stderr
    finally:
        dk(testbed.direct_env, "rm", "-f", name, name + "x")

