"""Every path by which the engine pulls or runs an image, against the real
dockerd and a registry of our own: the parameters of a pull read where the
engine reads them (a form body wins over the query), the legacy builder's
FROM and COPY --from judged by the pull rules while the context streams,
BuildKit refused by default (buildkit = allow lets it through), plugin
pulls judged by the pull rules.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_paths.py
"""

import io
import json
import os
import tarfile
import time

import pytest

from registry_fixtures import (ImageKit, RegistryServer, audit_rows, guard_conf,
                               last_audit_id, wait_audit)
from test_bypass import exchange, request
from testbed import run

CLI20 = "/usr/bin/docker"
CLI28 = "/usr/local/bin/docker"


@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture(scope="module")
def reg(testbed):
    r = RegistryServer(testbed.work, "pathsreg").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def base(reg, kit):
    """R/base:1.0 pushed (and kept locally): ref, digest, pinned ref."""
    ref = "%s/base:1.0" % reg.addr
    kit.import_image(ref, "1.0", extra_label="dg.test.paths=base")
    kit.push(ref)
    digest = reg.digest("base", "1.0")
    return {"ref": ref, "digest": digest, "repo": "%s/base" % reg.addr,
            "pinned": "%s/base@%s" % (reg.addr, digest),
            "tag_pinned": "%s@%s" % (ref, digest)}


def local_id(testbed, ref):
    r = run([CLI28, "image", "inspect", "--format", "{{.Id}}", ref],
            env=testbed.direct_env, timeout=30, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def remote_only(kit, reg, repo, version):
    """reg/repo:v1 pushed, then removed from the engine: only a pull brings
    it back.  Returns (tag ref, digest ref)."""
    ref = "%s/%s:v1" % (reg.addr, repo)
    kit.import_image(ref, version, extra_label="dg.test.paths=%s" % repo)
    kit.push(ref)
    dref = "%s/%s@%s" % (reg.addr, repo, reg.digest(repo, "v1"))
    kit.rmi(ref, dref)
    assert local_id(kit.testbed, dref) is None
    assert local_id(kit.testbed, ref) is None
    return ref, dref


def message(resp):
    assert resp is not None, "no answer"
    return resp.message() or ""


def build_ctx(testbed, dockerfile, extra=None):
    d = testbed.tmpdir("bctx")
    with open(os.path.join(d, "Dockerfile"), "w") as fh:
        fh.write(dockerfile)
    with open(os.path.join(d, "hello.txt"), "w") as fh:
        fh.write("hello\n")
    for name, data in (extra or {}).items():
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    return d


def legacy_build(g, ctx, tag, *args, cli=CLI20, timeout=300):
    env = dict(g.env, DOCKER_BUILDKIT="0")
    return run([cli, "build", "--network", "none", "-t", tag] + list(args)
               + [ctx], env=env, timeout=timeout, check=False)


# --------------------------------------------------------------------------
# POST /images/create: a form body is read as the engine reads it
# --------------------------------------------------------------------------

FORM = b"application/x-www-form-urlencoded"


def test_form_body_tag_wins_over_query_digest(testbed, guard_factory, kit, reg):
    g = guard_factory("")
    ref, dref = remote_only(kit, reg, "formtag", "2.0")
    repo, tag = ref.rsplit(":", 1)
    # The query names the digest, the body the tag; Go's ParseForm puts
    # the body first, so the engine pulls the tag.
    target = b"/v1.41/images/create?fromImage=" + dref.encode()
    for ctype, chunked in ((FORM, False),
                           (b"Application/X-WWW-Form-Urlencoded; charset=utf-8", True)):
        since = last_audit_id(g)
        body = b"fromImage=%s&tag=%s" % (repo.encode(), tag.encode())
        [r] = exchange(g.sock, request(target, body, ctype=ctype,
                                       chunked=chunked))
        msg = message(r)
        assert r.status == 403, r
        assert "docker-guard: refusing to pull %s: it is not pinned by " \
            "digest" % ref in msg, msg
        assert dref.split("@")[1] in msg, msg      # the digest to use
        assert local_id(testbed, ref) is None, "the engine pulled the tag"
        [row] = wait_audit(g, since, 1, route="images/create")
        assert (row["verdict"], row["image_ref"]) == ("deny", ref), row


def test_form_body_digest_wins_over_query_tag(testbed, guard_factory, kit, reg):
    g = guard_factory("")
    ref, dref = remote_only(kit, reg, "formdigest", "3.0")
    repo = dref.split("@")[0]
    digest = dref.split("@")[1]
    # The query says a tag, the body the digest: the engine pulls the
    # digest, and the guard judges that same pull.
    target = b"/v1.41/images/create?fromImage=" + ref.encode()
    body = b"fromImage=%s&tag=%s" % (repo.encode(), digest.encode())
    since = last_audit_id(g)
    [r] = exchange(g.sock, request(target, body, ctype=FORM), n=1)
    assert r.status == 200, r
    assert b"docker-guard" not in r.body, r
    assert local_id(testbed, dref) is not None, "the digest was not pulled"
    [row] = wait_audit(g, since, 1, route="images/create")
    assert (row["verdict"], row["image_ref"]) == ("allow", dref), row


def test_form_body_edge_cases(testbed, guard_factory, kit, reg):
    g = guard_factory("")
    ref, dref = remote_only(kit, reg, "formedge", "4.0")
    repo, tag = ref.rsplit(":", 1)
    target = b"/v1.41/images/create?fromImage=" + dref.encode()
    # Percent-escapes and '+' in the body are decoded as Go does.
    body = b"fromImage=%s&tag=%%76%s" % (repo.replace(":", "%3A").encode(),
                                          tag[1:].encode())
    [r] = exchange(g.sock, request(target, body, ctype=FORM))
    assert r.status == 403 and "not pinned by digest" in message(r), r
    # A Content-Type Go versions read differently is refused.
    [r] = exchange(g.sock, request(target, b"tag=" + tag.encode(),
                                   ctype=FORM + b"; a=1; a=2"))
    assert r.status == 400 and message(r).startswith("docker-guard: "), r
    # A ';' in the body is an error to Go (>= 1.17): the engine says 400,
    # so does the guard.
    [r] = exchange(g.sock, request(target, b"tag=%s;x=1" % tag.encode(),
                                   ctype=FORM))
    assert r.status == 400 and "malformed" in message(r), r
    assert local_id(testbed, ref) is None
    # A rename with its new name in a form body: the ledger follows the
    # query, so the guard refuses.
    [r] = exchange(g.sock, request(b"/v1.41/containers/none/rename",
                                   b"name=x", ctype=FORM))
    assert r.status == 400 and "form body" in message(r), r
    assert g.alive()


# --------------------------------------------------------------------------
# the legacy builder: FROM and COPY --from judged as pulls
# --------------------------------------------------------------------------

def test_legacy_build_from_tag_refused_with_digest(testbed, guard_factory, base):
    g = guard_factory("")
    ctx = build_ctx(testbed, "FROM %s\nCOPY hello.txt /hello.txt\n" % base["ref"])
    tag = testbed.unique("built-")
    since = last_audit_id(g)
    r = legacy_build(g, ctx, tag)
    out = r.stdout + r.stderr
    assert r.returncode != 0, "a build FROM a tag went through:\n" + out
    assert "docker-guard: refusing to build: FROM %s (line 1 of Dockerfile)" \
        % base["ref"] in out, out
    assert base["tag_pinned"] in out, out          # the digest to use
    assert "(rule: pull_require_digest)" in out, out
    assert local_id(testbed, tag) is None
    rows = wait_audit(g, since, 1, route="build")
    assert rows[-1]["verdict"] == "deny" and rows[-1]["image_ref"] == base["ref"], rows
    # --pull by tag: the same refusal
    r = legacy_build(g, ctx, tag, "--pull")
    assert r.returncode != 0 and "refusing to build" in r.stderr + r.stdout
    # by digest: built
    ctx2 = build_ctx(testbed, "FROM %s\nCOPY hello.txt /hello.txt\n" % base["pinned"])
    r = legacy_build(g, ctx2, tag)
    assert r.returncode == 0, r.stdout + r.stderr + g.log_tail()
    assert local_id(testbed, tag) is not None
    # and with CLI 28's legacy builder
    r = legacy_build(g, ctx, tag + "-28", cli=CLI28)
    assert r.returncode != 0 and "refusing to build" in r.stderr + r.stdout, \
        r.stdout + r.stderr
    assert local_id(testbed, tag + "-28") is None


def test_legacy_build_args_stages_and_copy_from(testbed, guard_factory, base):
    g = guard_factory("")
    tag = testbed.unique("built-")
    # A FROM made of ARGs: the default is a tag, refused ...
    df = "ARG BASE=%s\nFROM ${BASE} AS one\nCOPY hello.txt /\n" % base["ref"]
    ctx = build_ctx(testbed, df)
    r = legacy_build(g, ctx, tag)
    assert r.returncode != 0 and "FROM %s (line 2" % base["ref"] in \
        r.stdout + r.stderr, r.stdout + r.stderr
    # ... --build-arg makes it a digest: built.
    r = legacy_build(g, ctx, tag, "--build-arg", "BASE=" + base["pinned"])
    assert r.returncode == 0, r.stdout + r.stderr
    # Stages are no pulls; COPY --from=<image by tag> is.
    df = ("FROM %s AS first\nFROM first\nCOPY --from=first /bin/busybox /x\n"
          "COPY --from=0 /bin/busybox /y\n" % base["pinned"])
    r = legacy_build(g, build_ctx(testbed, df), tag)
    assert r.returncode == 0, r.stdout + r.stderr
    df = "FROM %s\nCOPY --from=%s /bin/sh /z\n" % (base["pinned"], base["ref"])
    r = legacy_build(g, build_ctx(testbed, df), tag + "-copy")
    assert r.returncode != 0 and "COPY --from %s (line 2" % base["ref"] in \
        r.stdout + r.stderr, r.stdout + r.stderr
    assert local_id(testbed, tag + "-copy") is None
    # -f names another Dockerfile; the default one names a pinned image.
    ctx = build_ctx(testbed, "FROM %s\n" % base["pinned"],
                    {"Other.Dockerfile": ("FROM %s\n" % base["ref"]).encode()})
    r = legacy_build(g, ctx, tag + "-f", "-f",
                     os.path.join(ctx, "Other.Dockerfile"))
    assert r.returncode != 0 and "line 1 of Other.Dockerfile" in \
        r.stdout + r.stderr, r.stdout + r.stderr


def test_legacy_build_policies(testbed, guard_factory, base):
    ctx = build_ctx(testbed, "FROM %s\n" % base["ref"])
    tag = testbed.unique("built-")
    # compressed contexts cannot be read
    g = guard_factory("")
    r = legacy_build(g, build_ctx(testbed, "FROM %s\n" % base["pinned"]),
                     tag, "--compress")
    assert r.returncode != 0 and "gzip-compressed" in r.stdout + r.stderr, \
        r.stdout + r.stderr
    # remote contexts cannot be seen
    [resp] = exchange(g.sock, request(
        b"/v1.41/build?remote=https%3A%2F%2Fexample.invalid%2Fx.git&t=x",
        b"", ctype=None))
    assert resp.status == 403 and "remote=" in message(resp), resp
    # build = deny refuses every build; build = allow judges none
    g = guard_factory(guard_conf(build="deny"))
    r = legacy_build(g, ctx, tag)
    assert r.returncode != 0 and "build = deny" in r.stdout + r.stderr
    g = guard_factory(guard_conf(build="allow"))
    since = last_audit_id(g)
    r = legacy_build(g, ctx, tag)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = wait_audit(g, since, 1, route="build")
    assert rows[-1]["verdict"] == "allow" and rows[-1]["rule"] == "build", rows


def test_legacy_build_large_context_streams(testbed, guard_factory, base,
                                            monkeypatch):
    """A 256 MiB context goes through with the guard's memory flat."""
    # Under ASan, freed buffers sit in a quarantine of up to 256 MiB: keep
    # it small so RSS shows what the guard holds.
    monkeypatch.setenv("ASAN_OPTIONS", (os.environ.get("ASAN_OPTIONS", "") +
                                        ":quarantine_size_mb=4").lstrip(":"))
    g = guard_factory("")
    big = os.urandom(1 << 20) * 256
    ctx = build_ctx(testbed, "FROM %s\nCOPY hello.txt /\n" % base["pinned"],
                    {"big.bin": big})
    del big

    def rss_kib():
        with open("/proc/%d/status" % g.pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    before = rss_kib()
    tag = testbed.unique("big-")
    r = legacy_build(g, ctx, tag, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    after = rss_kib()
    assert after - before < 64 * 1024, (before, after)


def test_raw_build_refusal_drops_the_engine(testbed, guard_factory, base):
    """Raw: a tar context whose Dockerfile names a tag; the guard answers
    403 and the engine never builds (no image with the tag)."""
    g = guard_factory("")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        data = ("FROM %s\nLABEL dg.test=raw\n" % base["ref"]).encode()
        ti = tarfile.TarInfo("./Dockerfile")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    tag = testbed.unique("raw-")
    for chunked in (False, True):
        [r] = exchange(g.sock, request(b"/v1.41/build?t=" + tag.encode(),
                                       buf.getvalue(), ctype=b"application/x-tar",
                                       chunked=chunked))
        assert r.status == 403, r
        assert "refusing to build" in message(r), r
    time.sleep(0.5)
    assert local_id(testbed, tag) is None


# --------------------------------------------------------------------------
# BuildKit: refused by default, allowed with buildkit = allow
# --------------------------------------------------------------------------

def test_buildkit_refused_by_default(testbed, guard_factory, base):
    g = guard_factory("")
    since = last_audit_id(g)
    for target in (b"/v1.41/session", b"/v1.41/grpc",
                   b"/v1.41/build?version=2&t=x"):
        [r] = exchange(g.sock, request(target, b"", ctype=None,
                                       headers=[b"Upgrade: h2c",
                                                b"Connection: Upgrade"]))
        assert r.status == 403, (target, r)
        assert "(rule: buildkit)" in message(r) and "buildkit = allow" in \
            message(r), r
    rows = audit_rows(g, since_id=since)
    assert [x["route"] for x in rows] == ["session", "grpc", "build"], rows
    assert all(x["verdict"] == "deny" and x["rule"] == "buildkit" for x in rows)
    # the 20.10 CLI with BuildKit
    ctx = build_ctx(testbed, "FROM %s\n" % base["pinned"])
    env = dict(g.env, DOCKER_BUILDKIT="1")
    r = run([CLI20, "build", "-t", testbed.unique("bk-"), ctx], env=env,
            timeout=120, check=False)
    assert r.returncode != 0, r.stdout + r.stderr
    # The CLI opens /session and posts /build?version=2 at once; it shows
    # the refusal of whichever came back first (of /session, only the
    # status: "unable to upgrade to h2c, received 403").
    out = r.stdout + r.stderr
    assert "docker-guard: refusing a BuildKit build" in out or \
        "received 403" in out, out
    rows = [x for x in audit_rows(g, since_id=since)
            if x["route"] in ("session", "build")]
    assert rows and all(x["verdict"] == "deny" and x["rule"] == "buildkit"
                        for x in rows), rows


def test_buildkit_allowed_with_the_key(testbed, guard_factory):
    g = guard_factory(guard_conf(buildkit="allow"))
    since = last_audit_id(g)
    [r] = exchange(g.sock, request(b"/v1.41/session", b"", ctype=None,
                                   headers=[b"Upgrade: h2c",
                                            b"Connection: Upgrade",
                                            b"X-Docker-Expose-Session-Uuid: dg-test"]))
    # the engine answers (switching protocols, or its own error)
    assert r is None or not (r.message() or "").startswith("docker-guard"), r
    rows = audit_rows(g, since_id=since)
    assert rows and rows[-1]["route"] == "session" and \
        rows[-1]["verdict"] == "allow", rows


# --------------------------------------------------------------------------
# plugins: the remote is judged by the pull rules
# --------------------------------------------------------------------------

def test_plugin_install_by_tag_refused(testbed, guard_factory, reg):
    g = guard_factory("")
    since = last_audit_id(g)
    for target, name in ((b"/v1.41/plugins/pull?remote=%s/plug:1.0&name=p1",
                          "%s/plug:1.0"),
                         (b"/v1.41/plugins/pull?remote=%s/plug", "%s/plug:latest"),
                         (b"/v1.41/plugins/p1/upgrade?remote=%s/plug:2.0",
                          "%s/plug:2.0")):
        t = target.replace(b"%s", reg.addr.encode())
        [r] = exchange(g.sock, request(t, b"[]"))
        assert r.status == 403, r
        assert "docker-guard: refusing to pull %s: it is not pinned by " \
            "digest" % (name % reg.addr) in message(r), r
    rows = audit_rows(g, since_id=since)
    assert [x["route"] for x in rows] == ["plugins/pull", "plugins/pull",
                                          "plugins/{name}/upgrade"], rows
    # by digest, it reaches the engine (which has no such plugin)
    t = b"/v1.41/plugins/pull?remote=%s/plug@sha256:%s" % (
        reg.addr.encode(), b"a" * 64)
    [r] = exchange(g.sock, request(t, b"[]"))
    assert not (r.message() or "").startswith("docker-guard"), r
    # remote in a form body is read too
    t = b"/v1.41/plugins/pull?remote=%s/plug@sha256:%s" % (
        reg.addr.encode(), b"a" * 64)
    [r] = exchange(g.sock, request(t, b"remote=%s/plug:1.0" % reg.addr.encode(),
                                   ctype=FORM))
    assert r.status == 403 and "not pinned" in message(r), r
    # plugins = deny; plugins/create follows imports
    g2 = guard_factory(guard_conf(plugins="deny"))
    [r] = exchange(g2.sock, request(t, b"[]"))
    assert r.status == 403 and "plugins = deny" in message(r), r
    g3 = guard_factory(guard_conf(imports="deny"))
    [r] = exchange(g3.sock, request(b"/v1.41/plugins/create?name=local",
                                    b"", ctype=b"application/x-tar"))
    assert r.status == 403 and "(rule: imports)" in message(r), r
