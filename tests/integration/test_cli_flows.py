"""docker CLI flows through the guard, each compared with the direct socket.

Every flow is a function of a Side (guard or direct) that returns what is
deterministic about the result (exit codes, normalised output); the test
asserts the guard's result is right AND equal to the direct one.
"""

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import time

import pytest

from testbed import (LineReader, TestbedError, api_version, client_env,
                     generation, image_id, import_image, run, sha256_bytes,
                     sha256_file, stop_popen, write_random)

NONE = ("--network", "none")


def both(sides, flow):
    """Run flow(side) for guard and direct; return {name: result}."""
    return {s.name: flow(s) for s in sides}


def assert_same(results):
    assert results["guard"] == results["direct"], (
        "guard and direct engine disagree:\n guard:  %r\n direct: %r"
        % (results["guard"], results["direct"]))
    return results["guard"]


def rc_out(res):
    return (res.returncode, res.stdout, res.stderr)


def norm(text, *names):
    for i, n in enumerate(names):
        text = text.replace(n, "<N%d>" % i)
    return text


def start_sleeper(side, testbed, image, prefix, cmd=("sleep", "300")):
    name = testbed.unique("%s-%s-" % (prefix, side.name))
    side.docker("run", "-d", *NONE, "--name", name, image, *cmd, timeout=60)
    return name


def rm_f(side, *names):
    side.docker("rm", "-f", *names, timeout=60, check=False)


# --------------------------------------------------------------------------

def test_socket_mode(guard):
    mode = os.stat(guard.sock).st_mode & 0o777
    assert mode == 0o660, "guard socket mode is %o, want 660" % mode


def test_guard_factory_second_guard(guard_factory, guard, app):
    """A second guard (own socket, db, log, config) works independently."""
    g2 = guard_factory("")
    assert g2.sock != guard.sock and g2.db != guard.db and g2.alive()
    assert os.path.exists(g2.config) and g2.env["DOCKER_HOST"] == g2.host
    r = run(["docker", "run", "--rm", *NONE, app.digest_ref, "echo", "two"],
            env=g2.env)
    assert r.stdout == "two\n"
    status = g2.stop()
    assert status in g2.expected_exit_statuses(), g2.log_tail()
    assert not g2.alive() and guard.alive()


def test_version_and_info(sides):
    def flow(side):
        v = side.docker("version", "--format",
                        "{{.Server.Version}}|{{.Server.APIVersion}}|{{.Server.Os}}")
        i = side.docker("info", "--format",
                        "{{.ServerVersion}}|{{.Driver}}|{{.OSType}}|{{.DockerRootDir}}")
        plain_v = side.docker("version", check=False)
        plain_i = side.docker("info", check=False)
        return (v.stdout, i.stdout, plain_v.returncode, plain_i.returncode,
                "Server:" in plain_v.stdout)

    v, i, rc_v, rc_i, has_server = assert_same(both(sides, flow))
    assert v.split("|")[1].strip() == api_version()
    assert (rc_v, rc_i, has_server) == (0, 0, True)


def test_run_echo_and_exit_codes(sides, app):
    def flow(side):
        a = side.docker("run", "--rm", *NONE, app.digest_ref, "echo", "hi", check=False)
        b = side.docker("run", "--rm", *NONE, app.digest_ref, "sh", "-c",
                        "echo out; echo err >&2; exit 3", check=False)
        c = side.docker("run", "--rm", "-i", *NONE, app.digest_ref, "cat",
                        input="piped\n", check=False)
        d = side.docker("inspect", "no-such-container-xyz", check=False)
        return rc_out(a), rc_out(b), rc_out(c), (d.returncode, d.stderr.strip())

    a, b, c, d = assert_same(both(sides, flow))
    assert a == (0, "hi\n", "")
    assert b[:2] == (3, "out\n") and "err" in b[2]
    assert c[:2] == (0, "piped\n")
    assert d[0] == 1 and "No such object" in d[1]


@pytest.mark.parametrize("cli", ["/usr/bin/docker", "/usr/local/bin/docker"])
def test_run_with_both_clis_and_dash_H(sides, app, cli):
    if not os.access(cli, os.X_OK):
        pytest.skip("%s not installed" % cli)

    def flow(side):
        env = client_env(None, base=side.env)  # no DOCKER_HOST: -H only
        r = run([cli, "-H", side.host, "run", "--rm", *NONE, app.digest_ref,
                 "echo", "hi"], env=env, check=False)
        v = run([cli, "-H", side.host, "version", "--format",
                 "{{.Server.APIVersion}}"], env=env, check=False)
        return r.returncode, r.stdout, v.returncode, v.stdout.strip()

    assert assert_same(both(sides, flow)) == (0, "hi\n", 0, api_version())


def test_create_start_stop_rm_inspect_ps(sides, app, testbed):
    fmt = ("{{.Name}}|{{.Config.Image}}|{{.HostConfig.NetworkMode}}|"
           "{{json .Config.Cmd}}|{{.State.Status}}|"
           "{{index .Config.Labels \"org.opencontainers.image.version\"}}")

    def flow(side):
        name = testbed.unique("csr-%s-" % side.name)
        out = []
        try:
            cid = side.docker("create", *NONE, "--name", name, app.digest_ref,
                              "sleep", "300").stdout.strip()
            out.append(bool(re.fullmatch(r"[0-9a-f]{64}", cid)))
            out.append(norm(side.docker("inspect", "--format", fmt, name).stdout, name))
            full = side.docker("inspect", name).stdout
            doc = json.loads(full)
            out.append((len(doc), doc[0]["Id"] == cid, doc[0]["Image"] == app.id))
            out.append(norm(side.docker("start", name).stdout, name))
            out.append(side.docker("inspect", "--format", "{{.State.Status}}",
                                   name).stdout)
            ps = side.docker("ps", "--filter", "name=^%s$" % name, "--format",
                             "{{.Names}}|{{.Image}}|{{.Command}}|{{.ID}}").stdout
            out.append(norm(ps.replace(cid[:12], "<ID>"), name))
            out.append(norm(side.docker("stop", "-t", "1", name).stdout, name))
            out.append(side.docker("inspect", "--format",
                                   "{{.State.Status}} {{.State.ExitCode}}",
                                   name).stdout)
            ps_a = side.docker("ps", "-a", "--filter", "name=^%s$" % name,
                               "--format", "{{.Names}}").stdout
            out.append(norm(ps_a, name))
            out.append(norm(side.docker("rm", name).stdout, name))
            gone = side.docker("inspect", name, check=False)
            out.append((gone.returncode, norm(gone.stderr.strip(), name)))
        finally:
            rm_f(side, name)
        return out

    r = assert_same(both(sides, flow))
    assert r[0] is True
    assert r[1] == '/<N0>|%s|none|["sleep","300"]|created|31.0.9.1\n' % app.digest_ref
    assert r[2] == (1, True, True)
    assert r[3] == "<N0>\n" and r[4] == "running\n"
    assert r[5].startswith('<N0>|') and r[5].endswith('|"sleep 300"|<ID>\n'), r[5]
    assert r[6] == "<N0>\n" and r[7] == "exited 137\n"
    assert r[8] == "<N0>\n" and r[9] == "<N0>\n"
    assert r[10][0] == 1 and "No such object" in r[10][1]


def test_exec_stdin_half_close_1mib(sides, app, testbed):
    """exec -i: stdin EOF must be half-closed through to the process."""
    src = os.path.join(testbed.tmpdir("exec"), "rand.bin")
    write_random(src, 1 << 20)
    want = sha256_file(src)

    def flow(side):
        name = start_sleeper(side, testbed, app.digest_ref, "exi")
        try:
            with open(src, "rb") as fh:
                cat = run(["docker", "exec", "-i", name, "cat"], env=side.env,
                          stdin=fh, text=False, timeout=60, check=False)
            with open(src, "rb") as fh:
                wc = run(["docker", "exec", "-i", name, "wc", "-c"], env=side.env,
                         stdin=fh, timeout=60, check=False)
            empty = run(["docker", "exec", "-i", name, "cat"], env=side.env,
                        input=b"", timeout=30, check=False)
            return (cat.returncode, len(cat.stdout), sha256_bytes(cat.stdout),
                    wc.returncode, wc.stdout.strip(), empty.returncode,
                    empty.stdout)
        finally:
            rm_f(side, name)

    r = assert_same(both(sides, flow))
    assert r == (0, 1 << 20, want, 0, str(1 << 20), 0, b"")


def test_exec_without_stdin(sides, app, testbed):
    def flow(side):
        name = start_sleeper(side, testbed, app.digest_ref, "exo")
        try:
            a = side.docker("exec", name, "echo", "hello", check=False)
            b = side.docker("exec", name, "sh", "-c", "echo e >&2; exit 7",
                            check=False)
            c = run(["docker", "exec", "-t", name, "echo", "tty"], env=side.env,
                    text=False, check=False, timeout=30)
            d = side.docker("exec", "-d", name, "touch", "/tmp/detached",
                            check=False)
            e = side.docker("exec", name, "sh", "-c",
                            "for i in 1 2 3 4 5 6 7 8 9 10; do "
                            "[ -e /tmp/detached ] && exit 0; sleep 0.2; done; exit 1",
                            check=False)
            return rc_out(a), rc_out(b), (c.returncode, c.stdout), d.returncode, \
                e.returncode
        finally:
            rm_f(side, name)

    r = assert_same(both(sides, flow))
    assert r == ((0, "hello\n", ""), (7, "", "e\n"), (0, b"tty\r\n"), 0, 0)


def test_attach(sides, app, testbed):
    def flow(side):
        # 1) attach with stdin to a container that printed, then reads a line.
        # Keep our stdin open until the output arrived: for a container whose
        # StdinOnce is false (run -d -i) the engine ends the attach streams as
        # soon as the attach's stdin reaches EOF.
        name = testbed.unique("att-%s-" % side.name)
        side.docker("run", "-d", "-i", *NONE, "--name", name, app.digest_ref, "sh", "-c",
                    "echo start; read a; echo got-$a; echo bye")
        # 2) attach --no-stdin to a container printing forever
        ticker = start_sleeper(side, testbed, app.digest_ref, "tick", cmd=(
            "sh", "-c", "i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.1; done"))
        try:
            logs_ok = _wait_logs(side, name, "start")
            p = subprocess.Popen(["docker", "attach", name], env=side.env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            try:
                reader = LineReader(p)
                p.stdin.write(b"hello\n")
                p.stdin.flush()
                got = reader.wait(lambda ls: "bye" in ls, timeout=30)
                p.stdin.close()
                rc = p.wait(timeout=30)
                attached = (got, rc, list(reader.lines))
            finally:
                stop_popen(p)
            p = subprocess.Popen(["docker", "attach", "--no-stdin",
                                  "--sig-proxy=false", ticker], env=side.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL)
            try:
                lines = LineReader(p).wait(
                    lambda ls: list(ls[:3]) if len(ls) >= 3 else None, timeout=30)
            finally:
                stop_popen(p, grace=0)  # CLI 28 attach ignores SIGTERM/SIGINT
            ticks = bool(lines) and all(re.fullmatch(r"tick\d+", x) for x in lines)
            running = side.docker("inspect", "--format", "{{.State.Running}}",
                                  ticker).stdout.strip()
            return logs_ok, attached, ticks, running
        finally:
            rm_f(side, name, ticker)

    r = assert_same(both(sides, flow))
    assert r == (True, (True, 0, ["got-hello", "bye"]), True, "true")


def _wait_logs(side, name, needle, timeout=20):
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.1) + 5):
        if needle in side.docker("logs", name, timeout=30).stdout:
            return True
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return False


def test_logs_follow_and_demux(sides, app, testbed):
    n = 20

    def flow(side):
        name = start_sleeper(side, testbed, app.digest_ref, "logf", cmd=(
            "sh", "-c", "i=0; while :; do echo line$i; i=$((i+1)); sleep 0.05; done"))
        done = testbed.unique("logd-%s-" % side.name)
        try:
            p = subprocess.Popen(["docker", "logs", "-f", name], env=side.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL)
            t0 = time.monotonic()
            try:
                lines = LineReader(p).wait(
                    lambda ls: list(ls[:n]) if len(ls) >= n else None, timeout=30)
            finally:
                stop_popen(p)
            fast = time.monotonic() - t0 < 30
            # stdout/stderr demultiplexing of a finished container
            side.docker("run", *NONE, "--name", done, app.digest_ref, "sh", "-c",
                        "echo o1; echo e1 >&2; sleep 0.3; echo o2")
            logs = side.docker("logs", done)
            tail = side.docker("logs", "--tail", "1", done)
            return lines, fast, logs.stdout, logs.stderr, tail.stdout
        finally:
            rm_f(side, name, done)

    r = assert_same(both(sides, flow))
    assert r == (["line%d" % i for i in range(n)], True, "o1\no2\n", "e1\n", "o2\n")


def test_events(sides, app, testbed):
    def flow(side):
        name = testbed.unique("ev-%s-" % side.name)
        since = str(int(time.time()) - 1)
        fmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"
        p = subprocess.Popen(["docker", "events", "--since", since,
                              "--filter", "container=" + name, "--format", fmt],
                             env=side.env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            reader = LineReader(p)
            time.sleep(0.3)
            side.docker("create", *NONE, "--name", name, app.digest_ref, "true")
            created = reader.wait(
                lambda ls: "container create %s" % name in ls, timeout=20)
            side.docker("rm", name)
            destroyed = reader.wait(
                lambda ls: "container destroy %s" % name in ls, timeout=20)
        finally:
            stop_popen(p)
            rm_f(side, name)
        until = str(int(time.time()) + 1)
        bounded = side.docker("events", "--since", since, "--until", until,
                              "--filter", "container=" + name, "--format", fmt,
                              timeout=30)
        return created, destroyed, norm(bounded.stdout, name)

    r = assert_same(both(sides, flow))
    assert r == (True, True, "container create <N0>\ncontainer destroy <N0>\n")


def test_cp_both_ways(sides, app, testbed):
    work = testbed.tmpdir("cp")
    src = write_random(os.path.join(work, "in.bin"), 300 * 1024 + 7)
    want = sha256_file(src)

    def flow(side):
        name = testbed.unique("cp-%s-" % side.name)
        out = os.path.join(work, "out-%s.bin" % side.name)
        side.docker("create", *NONE, "--name", name, app.digest_ref, "sleep", "300")
        try:
            into = side.docker("cp", src, name + ":/tmp/f.bin", check=False)
            back = side.docker("cp", name + ":/tmp/f.bin", out, check=False)
            back_sha = sha256_file(out) if os.path.exists(out) else None
            tar = run(["docker", "cp", name + ":/etc/app-version", "-"],
                      env=side.env, text=False, timeout=60)
            with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as tf:
                members = tf.getnames()
                version = tf.extractfile("app-version").read()
            side.docker("start", name)
            inside = side.docker("exec", name, "sha256sum", "/tmp/f.bin").stdout.split()[0]
            missing = side.docker("cp", name + ":/nonexistent", out + ".x", check=False)
            return (into.returncode, back.returncode, back_sha, members, version,
                    inside, missing.returncode)
        finally:
            rm_f(side, name)

    r = assert_same(both(sides, flow))
    assert r == (0, 0, want, ["app-version"], b"31.0.9.1\n", want, 1)


@pytest.fixture(scope="module")
def big_image(testbed):
    """An image whose rootfs holds a 100 MiB random file (made directly)."""
    tag = "bigimg:" + testbed.unique("v")
    iid = import_image(testbed.direct_env, testbed.work, tag, "1.0",
                       extra_files={"big.bin": 100 << 20}, timeout=600)
    return tag, iid


def _pipe(cmd1, cmd2, env, timeout=600):
    """cmd1 | cmd2, both bounded; returns (rc1, rc2, stdout2, stderr2)."""
    p1 = subprocess.Popen(cmd1, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    p2 = subprocess.Popen(cmd2, env=env, stdin=p1.stdout, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    p1.stdout.close()
    try:
        out, err = p2.communicate(timeout=timeout)
        p1.wait(timeout=60)
    except subprocess.TimeoutExpired:
        for p in (p1, p2):
            p.kill()
            p.wait(timeout=10)
        raise TestbedError("pipeline timed out: %s | %s" % (cmd1, cmd2))
    return p1.returncode, p2.returncode, out, err


def save_digest(path):
    """What must be equal in two `docker save` outputs of one image: every
    byte on Debian 12 (dockerd 20.10); dockerd 26 stamps the headers of
    index.json and blobs/sha256/ with the time of the save, so there the
    names, types, sizes and contents of the members, in order."""
    if generation() == "bookworm":
        return sha256_file(path)
    h = hashlib.sha256()
    with tarfile.open(path) as tf:
        for m in tf:
            h.update(("%s|%s|%d|" % (m.name, m.type, m.size)).encode())
            if m.isfile():
                with tf.extractfile(m) as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()


def test_save_load_100mib(sides, testbed, big_image):
    tag, iid = big_image
    work = testbed.tmpdir("save")

    def flow(side):
        path = os.path.join(work, "%s.tar" % side.name)
        with open(path, "wb") as fh:
            save = run(["docker", "save", tag], env=side.env, stdout=fh,
                       text=False, timeout=600, check=False)
        size, digest = os.path.getsize(path), save_digest(path)
        rmi = side.docker("rmi", tag, check=False)
        gone = side.docker("image", "inspect", iid, check=False).returncode
        with open(path, "rb") as fh:
            load = run(["docker", "load"], env=side.env, stdin=fh, timeout=600,
                       check=False)
        loaded_id = image_id(side.env, tag)
        # and the classic pipeline, both ends through the same socket
        rc1, rc2, pout, _ = _pipe(["docker", "save", tag], ["docker", "load"],
                                  side.env)
        os.unlink(path)
        return (save.returncode, size, digest, rmi.returncode, gone,
                load.returncode, load.stdout.strip().splitlines()[-1:],
                loaded_id, rc1, rc2, pout.strip().splitlines()[-1:])

    r = assert_same(both(sides, flow))
    assert r[0] == 0 and r[1] > 100 << 20
    assert r[3:7] == (0, 1, 0, ["Loaded image: " + tag])
    assert r[7] == iid
    assert r[8:] == (0, 0, ["Loaded image: " + tag])


def test_build_legacy_builder(sides, app, testbed):
    ctx = testbed.tmpdir("ctx")
    data = write_random(os.path.join(ctx, "data.bin"), 2 << 20)
    want = sha256_file(data)
    with open(os.path.join(ctx, "Dockerfile"), "w") as fh:
        # FROM by digest: the guard judges a build's base images by the
        # pull rules (build = judge), and a tag is refused (test_paths.py)
        fh.write("FROM %s\nCOPY data.bin /data.bin\n"
                 "RUN echo built-by-legacy > /x\nCMD [\"cat\", \"/x\"]\n"
                 % app.digest_ref)

    def flow(side):
        env = dict(side.env, DOCKER_BUILDKIT="0")
        tag = "built-%s:1" % side.name
        b = run(["docker", "build", "--network", "none", "--no-cache", "-t", tag,
                 ctx], env=env, timeout=300, check=False)
        ok = "Successfully tagged %s" % tag in b.stdout
        # run by image ID: a local build has no registry digest, and an ID
        # is pinned (a tag-only reference is refused by the guard's policy)
        iid = image_id(side.env, tag) if b.returncode == 0 else tag
        x = side.docker("run", "--rm", *NONE, iid, check=False)
        s = side.docker("run", "--rm", *NONE, iid, "sha256sum", "/data.bin",
                        check=False)
        side.docker("rmi", tag, check=False)
        return b.returncode, ok, x.returncode, x.stdout, s.stdout.split()[:1]

    assert assert_same(both(sides, flow)) == (0, True, 0, "built-by-legacy\n", [want])


def test_push_pull_local_registry(sides, testbed):
    reg = testbed.registry.addr

    def flow(side):
        # a unique image (own layer) so the pull really transfers blobs
        local = "pp-%s:%s" % (side.name, testbed.unique("v"))
        iid = import_image(testbed.direct_env, testbed.work, local, "9.9.9",
                           extra_files={"rand.bin": 256 * 1024})
        ref = "%s/pushpull:%s" % (reg, side.name)
        side.docker("tag", local, ref)
        push = side.docker("push", ref, check=False, timeout=300)
        m = re.search(r"digest: (sha256:[0-9a-f]{64})", push.stdout)
        digest = m.group(1) if m else None
        reg_digest = testbed.registry.manifest_digest("pushpull", side.name)
        rmi = side.docker("rmi", ref, local, check=False)
        gone = side.docker("image", "inspect", iid, check=False).returncode
        pull = side.docker("pull", "%s/pushpull@%s" % (reg, digest), check=False,
                           timeout=300)
        pulled = image_id(side.env, "%s/pushpull@%s" % (reg, digest))
        # A digest the registry does not have: the engine's own error
        # comes through (pulls by tag are refused by the guard's default
        # policy, see test_pulls.py).
        missing = side.docker("pull", "%s/pushpull@sha256:%s" % (reg, "0" * 64),
                              check=False, timeout=120)
        side.docker("rmi", "-f", iid, check=False)
        return (push.returncode, digest is not None, digest == reg_digest,
                rmi.returncode, gone, pull.returncode, pulled == iid,
                missing.returncode, "not found" in missing.stderr.lower() or
                "unknown" in missing.stderr.lower())

    r = assert_same(both(sides, flow))
    assert r == (0, True, True, 0, 1, 0, True, 1, True)
