"""Per-client access profiles (issue 15), against the real engine and CLI.

The contract is /work/notes/profiles-contract.md (see README "Profiles"):
profiles are chosen by the peer's credentials (a uid match beats a gid
match; default_profile for the rest; no profile: today's behaviour) or by
the listen_profiles socket a client connects to; a profile limits the
methods (access), the route groups (routes) and what a create, exec,
update or service may ask for (privileged, host_namespaces, capabilities,
devices, bind_mounts).  A refusal is a 403 in Docker's error shape naming
the profile and the key that would allow it, and an audit row with rule
`profile`.

Clients are real: the docker CLI run as throwaway users (`runuser -u`),
root through a listen_profiles socket, and raw HTTP from a process that
connected as the user (setuid in a forked child, the connected socket
handed back), so SO_PEERCRED is the user's.  Every refusal is also
checked in `docker-guard audit`, and for every refused create that nothing
reached the engine; every limit has an allowed case beside it, so an
over-eager guard fails too.

Tests named test_beyond_* go past the letter of the contract: each is a
way around one of its limits that a user of the feature would expect to
be closed (explained in its docstring).
"""

import contextlib
import copy
import grp
import json
import os
import pwd
import re
import socket
import time

import pytest

import testbed as tb
from conftest import _check_and_stop
from test_bypass import Conn, Resp, request

TIMEOUT = 60
BIN = os.environ.get("DOCKER_GUARD_BIN",
                     os.path.join(tb.REPO, "build", "docker-guard"))

# --------------------------------------------------------------------------
# throwaway users and groups
# --------------------------------------------------------------------------

ROLES = ("ro", "rt", "apps", "wide", "both", "grp", "supp", "named", "other")


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name = name
        self.uid = pw.pw_uid
        self.gid = pw.pw_gid
        self.groups = sorted(set(os.getgrouplist(name, pw.pw_gid)))

    def __repr__(self):
        return "User(%s uid %d gid %d groups %s)" % (
            self.name, self.uid, self.gid, self.groups)


def _sh(*cmd):
    return tb.run(list(cmd), timeout=30, check=False)


@pytest.fixture(scope="session")
def users():
    """One user per role, made with useradd and removed at the end: "both"
    and "grp" have the primary group G1; "supp" has G2 as a supplementary
    group; the others have their own group (USERGROUPS) or nogroup."""
    tag = "dgpt%04x" % (os.getpid() & 0xFFFF)
    g1, g2 = tag + "g1", tag + "g2"
    made_users, made_groups = [], []
    try:
        for g in (g1, g2):
            r = _sh("groupadd", g)
            assert r.returncode == 0, r.stderr
            made_groups.append(g)
        out = {}
        for role in ROLES:
            name = tag + role
            cmd = ["useradd", "-M", "-s", "/usr/sbin/nologin"]
            if role in ("both", "grp"):
                cmd += ["-N", "-g", g1]
            elif role == "supp":
                cmd += ["-N", "-g", "nogroup", "-G", g2]
            else:
                cmd += ["-N", "-g", "nogroup"]
            r = _sh(*(cmd + [name]))
            assert r.returncode == 0, r.stderr
            made_users.append(name)
            out[role] = User(name)
        out["g1"] = grp.getgrnam(g1)
        out["g2"] = grp.getgrnam(g2)
        yield out
    finally:
        for name in made_users:
            _sh("userdel", name)
        for g in made_groups:
            _sh("groupdel", g)


# --------------------------------------------------------------------------
# raw HTTP as a given uid
# --------------------------------------------------------------------------

@contextlib.contextmanager
def connected_as(path, user):
    """A Unix socket connected to path by a child that became user (so the
    guard's SO_PEERCRED says user's uid, gid and pid); the child stays
    alive until the block ends, so its /proc entry (groups, comm) does."""
    if user is None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(path)
        try:
            yield s
        finally:
            s.close()
        return
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # child: no Python-level cleanup, _exit always
        code = 1
        try:
            parent.close()
            os.setgroups(user.groups)
            os.setgid(user.gid)
            os.setuid(user.uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(20)
            s.connect(path)
            socket.send_fds(child, [b"s"], [s.fileno()])
            child.settimeout(120)
            child.recv(1)  # until the parent is done
            code = 0
        except BaseException:  # noqa: BLE001 - the parent sees no fd
            pass
        finally:
            os._exit(code)
    child.close()
    sock = None
    try:
        parent.settimeout(20)
        _msg, fds, _f, _a = socket.recv_fds(parent, 16, 1)
        assert fds, "the child running as %s could not connect to %s" % (
            user.name, path)
        sock = socket.socket(fileno=fds[0])
        sock.settimeout(20)
        yield sock
    finally:
        if sock is not None:
            sock.close()
        parent.close()
        os.waitpid(pid, 0)


class SockConn(Conn):
    """test_bypass's Conn on an already connected socket."""

    def __init__(self, sock, timeout=20):  # noqa: super not called on purpose
        self.s = sock
        self.buf = b""
        self.eof = False
        self.deadline = time.monotonic() + timeout * 3

    def head_only(self):
        """The answer to a HEAD: a head, never a body."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head = self.buf.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
        return Resp(int(lines[0].split()[1]), headers, b"")


# --------------------------------------------------------------------------
# clients: a user on the main socket, or root on a listen_profiles socket
# --------------------------------------------------------------------------

class Client:
    def __init__(self, guard, profile, sock, user=None, cfgdir=None,
                 kind="uid"):
        self.guard = guard
        self.profile = profile      # the profile it must get, or None
        self.sock = sock
        self.user = user
        self.cfgdir = cfgdir
        self.kind = kind

    def __repr__(self):
        return "Client(%s %s via %s)" % (self.kind, self.profile, self.sock)

    @property
    def uid(self):
        return self.user.uid if self.user else 0

    def docker(self, *args, cwd="/", timeout=TIMEOUT):
        env = tb.client_env("unix://" + self.sock, self.cfgdir)
        cmd = ["docker"] + list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user.name, "--"] + cmd
        return tb.run(cmd, env=env, timeout=timeout, check=False, cwd=cwd)

    def raw(self, method, target, body=None, headers=()):
        """One request; returns test_bypass.Resp (status, headers, body)."""
        if isinstance(method, str):
            method = method.encode()
        if isinstance(target, str):
            target = target.encode()
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        ctype = b"application/json" if body is not None else None
        conn = b"Connection: Upgrade" if any(
            h.startswith(b"Upgrade:") for h in headers) \
            else b"Connection: close"
        data = request(target, body or b"", method=method, ctype=ctype,
                       headers=[conn] + list(headers))
        with connected_as(self.sock, self.user) as s:
            c = SockConn(s)
            c.send(data)
            if method == b"HEAD":
                return c.head_only()
            return c.response()


def msg_of(resp):
    return resp.message() if resp is not None else None


# --------------------------------------------------------------------------
# audit
# --------------------------------------------------------------------------

def run_bin(*args):
    """docker-guard ARGS; the implementer's build may be replacing the
    binary right now: retry a few times on ENOENT/EACCES/ETXTBSY."""
    for _ in range(20):
        try:
            return tb.run([BIN] + list(args), timeout=30, check=False)
        except OSError:
            time.sleep(0.5)
    return tb.run([BIN] + list(args), timeout=30, check=False)


def audit_json(guard, *args):
    r = run_bin("audit", "--json", "--config", guard.config,
                "--database", guard.db, *args)
    assert r.returncode == 0, "docker-guard audit failed: %s %s" % (
        r.stdout, r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines()
            if line.strip()]


def assert_audited(client, text):
    """A deny row with rule profile, naming the profile, whose message is
    the refusal's (text: the message or the CLI's stderr holding it)."""
    rows = audit_json(client.guard, "--rule", "profile", "--verdict", "deny")
    mine = [r for r in rows
            if r.get("message") and r["message"] in text]
    assert mine, ("no `docker-guard audit` row with rule profile and this "
                  "refusal's message\nrefusal: %s\nprofile rows: %s" % (
                      text, json.dumps(rows[-5:], indent=1)))
    row = mine[-1]
    assert row.get("verdict") == "deny", row
    assert (row.get("profile") == client.profile
            or 'profile "%s"' % client.profile in row["message"]), row
    if client.user is not None:
        assert row.get("uid") == client.uid, row
    return row


def assert_cli_refused(res, client, key):
    """The docker CLI got the guard's profile refusal (the CLI does not show
    the status; the raw tests check 403), naming the profile and
    profile.NAME.KEY, and it is audited."""
    text = res.stderr
    assert res.returncode != 0, "allowed, expected a refusal by profile %s" \
        " (%s):\nstdout %s\nstderr %s" % (client.profile, key, res.stdout,
                                          res.stderr)
    assert "docker-guard: " in text, text
    assert 'profile "%s"' % client.profile in text, text
    assert "profile.%s.%s" % (client.profile, key) in text, text
    assert_audited(client, text)


def assert_raw_refused(resp, client, key):
    assert resp is not None, "no answer"
    msg = msg_of(resp)
    assert resp.status == 403, resp
    assert resp.headers.get("content-type", "").startswith(
        "application/json"), resp
    assert msg and msg.startswith("docker-guard: "), resp
    assert 'profile "%s"' % client.profile in msg, msg
    assert "profile.%s.%s" % (client.profile, key) in msg, msg
    assert_audited(client, msg)
    return msg


def assert_ok(res, what=""):
    assert res.returncode == 0, "%s refused or failed (rc %d):\nstdout %s\n" \
        "stderr %s" % (what, res.returncode, res.stdout, res.stderr)
    return res


# --------------------------------------------------------------------------
# the engine side: what exists
# --------------------------------------------------------------------------

def engine(testbed, *args, check=True):
    return tb.run(["docker"] + list(args), env=testbed.direct_env,
                  timeout=TIMEOUT, check=check)


def exists(testbed, kind, name):
    return engine(testbed, kind, "inspect", name, check=False).returncode == 0


@pytest.fixture(autouse=True)
def _engine_cleanup(request):
    """Remove the containers and volumes a test left on the engine."""
    if "testbed" not in request.fixturenames:
        yield
        return
    bed = request.getfixturevalue("testbed")

    def listing():
        c = engine(bed, "ps", "-aq", "--no-trunc").stdout.split()
        v = engine(bed, "volume", "ls", "-q").stdout.split()
        return set(c), set(v)

    c0, v0 = listing()
    yield
    c1, v1 = listing()
    if c1 - c0:
        engine(bed, "rm", "-f", *sorted(c1 - c0), check=False)
    if v1 - v0:
        engine(bed, "volume", "rm", "-f", *sorted(v1 - v0), check=False)


def create(testbed, app, client, *opts, cmd=("true",), cwd="/"):
    """`docker create` as client; returns (result, name).  --network none
    unless opts name a network."""
    name = testbed.unique("pf")
    net = [] if any(o.startswith(("--network", "--net")) for o in opts) \
        else ["--network", "none"]
    res = client.docker("create", "--name", name, *net, *opts,
                        app.digest_ref, *cmd, cwd=cwd)
    return res, name


def create_refused(testbed, app, client, key, *opts, cwd="/"):
    res, name = create(testbed, app, client, *opts, cwd=cwd)
    assert_cli_refused(res, client, key)
    assert not exists(testbed, "container", name), \
        "refused, but container %s exists on the engine" % name


def create_allowed(testbed, app, client, *opts, cwd="/"):
    res, name = create(testbed, app, client, *opts, cwd=cwd)
    assert_ok(res, "create %s as %r" % (" ".join(opts), client))
    assert exists(testbed, "container", name)
    return name


def create_body(app, host_config=None, extra=b""):
    hc = {"NetworkMode": "none"}
    hc.update(host_config or {})
    body = json.dumps({"Image": app.digest_ref, "Cmd": ["true"],
                       "HostConfig": hc}).encode()
    return body[:-1] + extra + b"}" if extra else body


def raw_create(testbed, client, body):
    name = testbed.unique("pf")
    r = client.raw("POST", "/v1.41/containers/create?name=" + name, body)
    return r, name


def raw_create_refused(testbed, client, key, body):
    r, name = raw_create(testbed, client, body)
    msg = assert_raw_refused(r, client, key)
    assert not exists(testbed, "container", name), name
    return msg


def assert_dup_refused(r, client, key):
    """A body with duplicate keys: the guard refuses those for everyone,
    before any profile (400, naming the duplicate), or the profile judges
    the value the engine would keep (the last)."""
    assert r is not None, "no answer"
    msg = msg_of(r) or ""
    if r.status == 400:
        assert msg.startswith("docker-guard: "), r
        assert "duplicate" in msg or "two keys" in msg, msg
        return msg
    return assert_raw_refused(r, client, key)


def raw_dup_refused(testbed, client, key, body):
    r, name = raw_create(testbed, client, body)
    assert_dup_refused(r, client, key)
    assert not exists(testbed, "container", name), name


# --------------------------------------------------------------------------
# the guard under test and its clients
# --------------------------------------------------------------------------

WIDE_GLOBS = " ".join(["/"] + ["/*" * n for n in range(1, 9)])


class Paths:
    """Host paths for the bind tests: W/allowed/{data,etclink,socklink}."""

    def __init__(self, testbed):
        self.base = testbed.tmpdir("pfb")
        os.chmod(self.base, 0o755)
        self.allowed = os.path.join(self.base, "allowed")
        self.data = os.path.join(self.allowed, "data")
        os.makedirs(self.data)
        os.chmod(self.allowed, 0o755)
        os.chmod(self.data, 0o777)
        self.etclink = os.path.join(self.allowed, "etclink")
        os.symlink("/etc", self.etclink)
        self.socklink = os.path.join(self.allowed, "socklink")
        os.symlink(testbed.dockerd.sock, self.socklink)
        self.rundirlink = os.path.join(self.allowed, "rundirlink")
        os.symlink(os.path.dirname(testbed.dockerd.sock), self.rundirlink)
        depth = len([p for p in self.allowed.split("/") if p])
        self.dotdot_etc = self.allowed + "/.." * depth + "/etc"
        self.glob = self.allowed + "/*"


@pytest.fixture(scope="module")
def paths(testbed):
    return Paths(testbed)


def main_config(users, paths, gdir):
    u = users
    return "\n".join([
        "socket_mode = 0666",
        "profile.ro.clients = uid:%d" % u["ro"].uid,
        "profile.ro.access = read-only",
        "profile.rt.clients = uid:%d" % u["rt"].uid,
        "profile.rt.routes = containers",
        "profile.apps.clients = uid:%d" % u["apps"].uid,
        "profile.apps.privileged = no",
        "profile.apps.host_namespaces = none",
        "profile.apps.capabilities = SYS_TIME",
        "profile.apps.devices = /dev/fuse /dev/net/*",
        "profile.apps.bind_mounts = %s" % paths.glob,
        "profile.wide.clients = uid:%d" % u["wide"].uid,
        "profile.wide.bind_mounts = %s" % WIDE_GLOBS,
        "profile.pu.clients = uid:%d" % u["both"].uid,
        "profile.pu.privileged = no",
        "profile.pg.clients = gid:%d group:%s" % (u["g1"].gr_gid,
                                                  u["g2"].gr_name),
        "profile.pg.access = read-only",
        "profile.pn.clients = user:%s" % u["named"].name,
        "profile.pn.access = read-only",
        "listen_profiles = %s/ro.sock:ro %s/apps.sock:apps %s/wide.sock:wide"
        % (gdir, gdir, gdir),
        ""])


@pytest.fixture(scope="module")
def gmain(testbed, users, paths):
    name = testbed.unique("gp")
    gdir = os.path.join(testbed.tdir, name)
    g = testbed.start_guard(main_config(users, paths, gdir), name=name)
    g.listen = {p: os.path.join(gdir, p + ".sock") for p in ("ro", "apps",
                                                            "wide")}
    yield g
    _check_and_stop(g)


@pytest.fixture(scope="module")
def cfgdirs(testbed, users):
    """A DOCKER_CONFIG directory each user may read and write."""
    out = {}
    for role in ROLES:
        d = testbed.tmpdir("cfg" + role)
        os.chmod(d, 0o777)
        out[role] = d
    return out


def uid_client(gmain, users, cfgdirs, role, profile):
    return Client(gmain, profile, gmain.sock, users[role], cfgdirs[role],
                  kind="uid")


def wait_listen(path):
    tb.wait_for(lambda: tb.socket_connectable(path),
                "listen_profiles socket %s" % path, timeout=5)


def sock_client(gmain, testbed, profile):
    wait_listen(gmain.listen[profile])
    return Client(gmain, profile, gmain.listen[profile], None,
                  testbed.docker_config, kind="socket")


# Each limit both ways: as a uid on the main socket, and on the profile's
# listen_profiles socket.  DG_QUICK_PROFILES=1 (tests/run sets it for the
# sanitized build, whose run is the slower one) keeps the uid way, which
# goes through the peer matching too; the socket way has tests of its own.
TWO_WAYS = ["uid"] if os.environ.get("DG_QUICK_PROFILES") == "1" \
    else ["uid", "socket"]


def _two_ways(role, profile):
    @pytest.fixture(scope="module", params=TWO_WAYS)
    def fx(request, gmain, users, cfgdirs, testbed):
        if request.param == "uid":
            return uid_client(gmain, users, cfgdirs, role, profile)
        return sock_client(gmain, testbed, profile)
    return fx


ro = _two_ways("ro", "ro")
apps = _two_ways("apps", "apps")
wide = _two_ways("wide", "wide")


@pytest.fixture(scope="module")
def rt(gmain, users, cfgdirs):
    return uid_client(gmain, users, cfgdirs, "rt", "rt")


@pytest.fixture(scope="module")
def admin(gmain, testbed):
    """root on the main socket: no profile matches, none by default."""
    return Client(gmain, None, gmain.sock, None, testbed.docker_config,
                  kind="root")


@pytest.fixture
def victim(testbed, app):
    """A running container made on the engine directly."""
    name = testbed.unique("pv")
    engine(testbed, "run", "-d", "--network", "none", "--name", name,
           app.digest_ref, "sleep", "600")
    return name


@pytest.fixture(scope="module")
def logged(testbed):
    """A stopped container that printed a line, made on the engine."""
    app = testbed.images["31.0.9.1"]
    name = testbed.unique("pl")
    engine(testbed, "run", "--network", "none", "--name", name,
           app.digest_ref, "echo", "hello-from-" + name)
    yield name
    engine(testbed, "rm", "-f", name, check=False)


# ==========================================================================
# access = read-only
# ==========================================================================

def test_ro_reads_work(ro, logged, app):
    assert_ok(ro.docker("version"), "docker version")
    out = assert_ok(ro.docker("ps", "-a", "--format", "{{.Names}}")).stdout
    assert logged in out.split(), out
    out = assert_ok(ro.docker("inspect", "--format", "{{.Name}}",
                              logged)).stdout
    assert out.strip() == "/" + logged
    out = assert_ok(ro.docker("logs", logged)).stdout
    assert "hello-from-" + logged in out, out
    out = assert_ok(ro.docker("images", "--format", "{{.Repository}}")).stdout
    assert "app" in out.split(), out
    assert_ok(ro.docker("image", "inspect", app.digest_ref))
    assert_ok(ro.docker("network", "ls"))
    assert_ok(ro.docker("volume", "ls"))
    assert_ok(ro.docker("info"))


RO_REFUSED = {
    "create": lambda t, a, v: ["create", "--network", "none", "--name",
                               t.unique("pr"), a.digest_ref, "true"],
    "run": lambda t, a, v: ["run", "--rm", "--network", "none", "--name",
                            t.unique("pr"), a.digest_ref, "true"],
    "rm": lambda t, a, v: ["rm", "-f", v],
    "stop": lambda t, a, v: ["stop", "-t", "1", v],
    "kill": lambda t, a, v: ["kill", v],
    "exec": lambda t, a, v: ["exec", v, "true"],
    "rename": lambda t, a, v: ["rename", v, v + "x"],
    "update": lambda t, a, v: ["update", "--cpu-shares", "512", v],
    "pull": lambda t, a, v: ["pull", a.digest_ref],
    "tag": lambda t, a, v: ["tag", a.digest_ref, "pftag:" + t.unique("x")],
    "rmi": lambda t, a, v: ["rmi", a.digest_ref],
    "network-create": lambda t, a, v: [
        "network", "create", "--config-only", "--subnet", "10.213.0.0/24",
        t.unique("pn")],
    "volume-create": lambda t, a, v: ["volume", "create", t.unique("pvol")],
    "container-prune": lambda t, a, v: ["container", "prune", "-f"],
}


@pytest.mark.parametrize("what", sorted(RO_REFUSED))
def test_ro_refuses(ro, testbed, app, victim, what):
    args = RO_REFUSED[what](testbed, app, victim)
    res = ro.docker(*args)
    assert_cli_refused(res, ro, "access")
    # nothing changed on the engine
    state = engine(testbed, "inspect", "--format", "{{.State.Running}}",
                   victim).stdout.strip()
    assert state == "true", "victim %s is no longer running" % victim
    assert exists(testbed, "image", app.digest_ref)


def test_ro_message_names_key_and_fix(ro, testbed, app):
    r, _ = raw_create(testbed, ro, create_body(app))
    msg = assert_raw_refused(r, ro, "access")
    assert "POST" in msg and "containers/create" in msg, msg
    assert "profile.ro.access = read-only" in msg, msg
    assert "profile.ro.access = full" in msg, msg


# Spellings of a create that the engine routes (or a client may try):
# method case, version prefix, percent-encoding, doubled slashes.  The
# guard must answer each itself; those it canonicalises to POST
# /containers/create must be the profile's 403.
RO_SPELLINGS = [
    ("POST", "/containers/create", True),
    ("POST", "/v1.41/containers/create", True),
    ("POST", "/v1.24/containers/create", True),
    ("POST", "/containers%2Fcreate", True),
    ("POST", "/v1.41/containers%2fcreate", True),
    ("POST", "/%63ontainers/create", True),
    ("POST", "//containers/create", False),
    ("POST", "/v1.41//containers/create", False),
    ("POST", "/containers/create/", False),
    ("POST", "/./containers/create", False),
    ("post", "/containers/create", False),
    ("Post", "/v1.41/containers/create", False),
    ("PUT", "/containers/create", False),
    ("PATCH", "/containers/create", False),
    ("DELETE", "/containers/create", False),
    ("OPTIONS", "/containers/create", False),
]


@pytest.mark.parametrize(
    "method,path,canonical", RO_SPELLINGS,
    ids=["%s %s" % (m, p) for m, p, _ in RO_SPELLINGS])
def test_ro_create_spellings(ro, testbed, app, method, path, canonical):
    name = testbed.unique("pr")
    before = set(engine(testbed, "ps", "-aq").stdout.split())
    r = ro.raw(method, path + "?name=" + name, create_body(app))
    assert r is not None, "no answer"
    if canonical:
        assert_raw_refused(r, ro, "access")
    else:
        # refused by the guard itself (profile or its path rules), never
        # forwarded to the engine
        assert r.status in (400, 403, 404, 405), r
        assert (msg_of(r) or "").startswith("docker-guard: "), r
    assert not exists(testbed, "container", name)
    assert set(engine(testbed, "ps", "-aq").stdout.split()) == before


@pytest.mark.parametrize("method,path", [
    ("GET", "/containers/json"), ("GET", "/v1.41/images/json"),
    ("GET", "/_ping"), ("HEAD", "/_ping"), ("HEAD", "/v1.41/_ping"),
    ("GET", "/version")])
def test_ro_get_and_head_pass(ro, method, path):
    r = ro.raw(method, path)
    assert r is not None and r.status == 200, r


def test_ro_head_forwarded(ro):
    """HEAD on a GET-only route reaches the engine (20.10 answers 404 or
    405 itself: it routes HEAD only where it registered it); the profile
    does not refuse it."""
    r = ro.raw("HEAD", "/containers/json")
    assert r is not None and r.status != 403, r


def test_beyond_ro_attach_ws(ro, testbed, victim):
    """GET /containers/{id}/attach/ws is a websocket that writes to the
    container's stdin: a GET, but not a read.  A read-only socket (the
    Traefik recipe) should not hand out a container's stdin."""
    r = ro.raw("GET", "/v1.41/containers/%s/attach/ws?stream=1&stdin=1"
               % victim, headers=[
                   b"Upgrade: websocket", b"Sec-WebSocket-Version: 13",
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                   b"Origin: http://localhost"])
    assert_raw_refused(r, ro, "access")


@pytest.mark.parametrize("method,path", [
    ("PUT", "/containers/%s/archive?path=/tmp"),
    ("POST", "/containers/%s/wait"),
    ("POST", "/containers/%s/pause"),
    ("DELETE", "/containers/%s?force=1"),
    ("POST", "/containers/%s/exec"),
])
def test_ro_raw_writes_refused(ro, testbed, victim, method, path):
    r = ro.raw(method, path % victim, b"{}")
    assert_raw_refused(r, ro, "access")
    state = engine(testbed, "inspect", "--format", "{{.State.Status}}",
                   victim).stdout.strip()
    assert state == "running", state


# ==========================================================================
# routes
# ==========================================================================

def test_routes_containers_only(rt, logged):
    out = assert_ok(rt.docker("ps", "-a", "--format", "{{.Names}}")).stdout
    assert logged in out.split()
    assert_ok(rt.docker("logs", logged))
    assert_ok(rt.docker("version"))


@pytest.mark.parametrize("args", [["images"], ["network", "ls"],
                                  ["volume", "ls"], ["info"]],
                         ids=["images", "networks", "volumes", "info"])
def test_routes_other_groups_refused(rt, args):
    assert_cli_refused(rt.docker(*args), rt, "routes")


@pytest.mark.parametrize("method,path", [
    ("GET", "/_ping"), ("HEAD", "/_ping"), ("GET", "/v1.41/_ping"),
    ("GET", "/version"), ("GET", "/v1.41/version")])
def test_routes_ping_version_always(rt, method, path):
    r = rt.raw(method, path)
    assert r is not None and r.status == 200, r


@pytest.mark.parametrize("path", [
    "/images/json", "/v1.41/images/json", "/images%2Fjson",
    "/v1.41/networks", "/info", "/system/df", "/events?until=1"])
def test_routes_raw_refused(rt, path):
    r = rt.raw("GET", path)
    assert_raw_refused(r, rt, "routes")


@pytest.mark.parametrize("path", [
    "/containers/../images/json", "/containers%2F..%2Fimages%2Fjson",
    "/v1.41/containers/..%2Fimages/json", "/containers/%2E%2E/images/json"])
def test_routes_dotdot_tricks(rt, path):
    """A containers-looking path that the engine would clean into
    /images/json: refused by the guard (its path rules or the profile)."""
    r = rt.raw("GET", path)
    assert r is not None and r.status in (400, 403, 404), r
    assert (msg_of(r) or "").startswith("docker-guard: "), r


# ==========================================================================
# matching
# ==========================================================================

def test_uid_match_beats_gid_match(gmain, users, cfgdirs, testbed, app):
    """"both" has uid in pu (full access, privileged = no) and its primary
    group in pg (read-only): pu applies."""
    c = uid_client(gmain, users, cfgdirs, "both", "pu")
    create_allowed(testbed, app, c)
    create_refused(testbed, app, c, "privileged", "--privileged")


@pytest.mark.parametrize("role", ["grp", "supp"],
                         ids=["primary-gid", "supplementary-group-name"])
def test_gid_match(gmain, users, cfgdirs, testbed, app, role):
    c = uid_client(gmain, users, cfgdirs, role, "pg")
    assert_ok(c.docker("ps"))
    create_refused(testbed, app, c, "access")


def test_gid_match_past_hundreds_of_groups(gmain, users, cfgdirs, testbed,
                                           app):
    """A client in 300 supplementary groups, G2 the last of them (the
    kernel keeps them sorted: 299 lower gids come first): every group
    counts (none cut off at a fixed list's end), so pg (read-only)
    applies; with G2 dropped, no profile does."""
    many = copy.copy(users["supp"])
    g1, g2 = users["g1"].gr_gid, users["g2"].gr_gid
    filler = [g for g in range(1, g2) if g != g1][-299:]
    assert len(filler) == 299, "G2's gid %d is too low for the test" % g2
    many.groups = filler + [users["g2"].gr_gid]
    c = Client(gmain, "pg", gmain.sock, many, cfgdirs["supp"], kind="uid")
    assert c.raw("GET", "/v1.41/containers/json").status == 200
    raw_create_refused(testbed, c, "access", create_body(app))
    many.groups = filler
    r, name = raw_create(testbed, Client(gmain, None, gmain.sock, many),
                         create_body(app))
    assert r is not None and r.status == 201, r
    assert exists(testbed, "container", name)


def test_user_name_match(gmain, users, cfgdirs, testbed, app):
    c = uid_client(gmain, users, cfgdirs, "named", "pn")
    create_refused(testbed, app, c, "access")


def test_no_profile_is_todays_behaviour(gmain, users, cfgdirs, testbed, app,
                                        paths):
    """A uid no profile names, and no default_profile: everything the
    policy allows, including what every limit above refuses."""
    c = uid_client(gmain, users, cfgdirs, "other", None)
    create_allowed(testbed, app, c, "--privileged", "--pid", "host",
                   "--cap-add", "NET_ADMIN", "--device", "/dev/loop0",
                   "-v", "/etc:/x:ro", "-v", testbed.dockerd.sock + ":/s")
    v = testbed.unique("pvol")
    assert_ok(c.docker("volume", "create", "--opt", "type=none", "--opt",
                       "o=bind", "--opt", "device=/etc", v))
    assert_ok(c.docker("images"))
    # and root too
    create_allowed(testbed, app, Client(gmain, None, gmain.sock, None,
                                        testbed.docker_config, "root"),
                   "--privileged")


def test_default_profile(guard_factory, users, cfgdirs, testbed, app):
    name = testbed.unique("gd")
    g = guard_factory("\n".join([
        "socket_mode = 0666",
        "default_profile = pd",
        "profile.pd.access = read-only",
        "profile.pu.clients = uid:%d" % users["both"].uid,
        ""]), name=name)
    other = Client(g, "pd", g.sock, users["other"], cfgdirs["other"])
    create_refused(testbed, app, other, "access")
    assert_ok(other.docker("ps"))
    root = Client(g, "pd", g.sock, None, testbed.docker_config, "root")
    create_refused(testbed, app, root, "access")
    both = Client(g, "pu", g.sock, users["both"], cfgdirs["both"])
    create_allowed(testbed, app, both, "--privileged")


def test_listen_socket_bound_regardless_of_uid(gmain, users, cfgdirs,
                                               testbed, app):
    """"both" matches pu by uid; on ro.sock it gets ro, on apps.sock apps;
    an unprofiled uid too."""
    wait_listen(gmain.listen["ro"])
    wait_listen(gmain.listen["apps"])
    for role in ("both", "other"):
        c = Client(gmain, "ro", gmain.listen["ro"], users[role],
                   cfgdirs[role])
        create_refused(testbed, app, c, "access")
        c = Client(gmain, "apps", gmain.listen["apps"], users[role],
                   cfgdirs[role])
        create_refused(testbed, app, c, "privileged", "--privileged")
        create_allowed(testbed, app, c)


def test_listen_sockets_have_socket_mode(gmain):
    for path in gmain.listen.values():
        wait_listen(path)
        st = os.stat(path)
        assert st.st_mode & 0o777 == 0o666, oct(st.st_mode)


# ==========================================================================
# limits: privileged
# ==========================================================================

def test_privileged_refused(apps, testbed, app):
    create_refused(testbed, app, apps, "privileged", "--privileged")
    create_refused(testbed, app, apps, "privileged", "--privileged=true")
    create_allowed(testbed, app, apps)
    create_allowed(testbed, app, apps, "--privileged=false")


PRIV_BODIES = {
    "Privileged": lambda a: create_body(a, {"Privileged": True}),
    "case-folded-hostconfig-privileged": lambda a: json.dumps({
        "Image": a.digest_ref, "Cmd": ["true"],
        "hostconfig": {"NetworkMode": "none", "privileged": True}}).encode(),
    "PRIVILEGED": lambda a: create_body(a, {"PRIVILEGED": True}),
    "duplicate-false-then-true": lambda a: create_body(a).replace(
        b'"NetworkMode"', b'"Privileged": false, "Privileged": true, '
        b'"NetworkMode"'),
    "escaped-key": lambda a: create_body(a).replace(
        b'"NetworkMode"', b'"\\u0050rivileged": true, "NetworkMode"'),
    "second-hostconfig": lambda a: create_body(
        a, extra=b', "hostConfig": {"NetworkMode": "none", '
        b'"Privileged": true}'),
}


@pytest.mark.parametrize("spelling", sorted(PRIV_BODIES))
def test_privileged_raw(apps, testbed, app, spelling):
    check = raw_dup_refused if spelling in (
        "duplicate-false-then-true", "second-hostconfig") \
        else raw_create_refused
    check(testbed, apps, "privileged", PRIV_BODIES[spelling](app))


# ==========================================================================
# limits: host namespaces
# ==========================================================================

HOST_NS = [("--pid", "host"), ("--pid=host",), ("--ipc", "host"),
           ("--ipc=host",), ("--uts", "host"), ("--network", "host"),
           ("--net=host",), ("--userns", "host"), ("--userns=host",)]


@pytest.mark.parametrize("opts", HOST_NS, ids=[" ".join(o) for o in HOST_NS])
def test_host_namespace_refused(apps, testbed, app, opts):
    create_refused(testbed, app, apps, "host_namespaces", *opts)


def test_private_namespaces_allowed(apps, testbed, app):
    other = create_allowed(testbed, app, apps)
    create_allowed(testbed, app, apps, "--ipc", "private",
                   "--pid", "container:" + other)


HOST_NS_RAW = {"NetworkMode": "host", "PidMode": "host", "IpcMode": "host",
               "UTSMode": "host", "UsernsMode": "host"}


@pytest.mark.parametrize("key", sorted(HOST_NS_RAW))
@pytest.mark.parametrize("fold", [False, True], ids=["exact", "lower-case"])
def test_host_namespace_raw(apps, testbed, app, key, fold):
    hc = {"NetworkMode": "none"}
    k = key.lower() if fold else key
    if key == "NetworkMode" and fold:
        hc = {}
    hc[k] = "host"
    body = json.dumps({"Image": app.digest_ref, "Cmd": ["true"],
                       "HostConfig": hc}).encode()
    raw_create_refused(testbed, apps, "host_namespaces", body)


@pytest.mark.parametrize("mode", ["--network", "--pid", "--ipc"])
def test_beyond_join_container_in_host_namespace(apps, testbed, app, mode):
    """A container that runs in the host's namespace (made by an admin)
    is the host's namespace: --network container:X / --pid container:X
    joins it as surely as --network host."""
    src = testbed.unique("phn")
    engine(testbed, "run", "-d", "--name", src, mode, "host",
           app.digest_ref, "sleep", "600")
    create_refused(testbed, app, apps, "host_namespaces",
                   mode, "container:" + src)


# ==========================================================================
# limits: what lifts confinement short of --privileged (privileged = no)
# ==========================================================================

UNCONFINED_OPTS = ["seccomp=unconfined", "seccomp:unconfined",
                   "apparmor=unconfined", "label=disable", "label:disable",
                   "label=type:spc_t", "label=level:s0:c0.c1023",
                   "systempaths=unconfined"]


@pytest.mark.parametrize("opt", UNCONFINED_OPTS)
def test_unconfined_security_opt_refused(apps, testbed, app, opt):
    """Each of these takes a container out of a confinement that
    Privileged = false alone does not keep: privileged = no refuses them
    (systempaths=unconfined is the CLI's: it sends empty MaskedPaths and
    ReadonlyPaths, which leave /proc/sys writable)."""
    create_refused(testbed, app, apps, "privileged", "--security-opt", opt)


def test_own_seccomp_profile_refused(apps, testbed, app):
    """A seccomp profile of the client's own can allow every call: the
    CLI sends the file's JSON, the guard refuses it."""
    path = os.path.join(testbed.tmpdir("seccomp"), "allow-all.json")
    with open(path, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW"}, f)
    os.chmod(os.path.dirname(path), 0o755)
    os.chmod(path, 0o644)
    create_refused(testbed, app, apps, "privileged", "--security-opt",
                   "seccomp=" + path)


def test_confined_security_opt_allowed(apps, testbed, app):
    create_allowed(testbed, app, apps, "--security-opt", "no-new-privileges")
    create_allowed(testbed, app, apps, "--security-opt",
                   "apparmor=docker-default")
    create_allowed(testbed, app, apps, "--security-opt",
                   "no-new-privileges=true", "--cgroupns", "private")


def test_unconfined_allowed_without_privileged_limit(wide, testbed, app):
    """A profile that does not limit privileged lets them through, and the
    engine gets what was asked."""
    name = create_allowed(testbed, app, wide, "--security-opt",
                          "seccomp=unconfined", "--security-opt",
                          "systempaths=unconfined")
    hc = json.loads(engine(testbed, "inspect", "--format",
                           "{{json .HostConfig}}", name).stdout)
    assert "seccomp=unconfined" in hc["SecurityOpt"], hc
    assert hc["MaskedPaths"] == [] and hc["ReadonlyPaths"] == [], hc


ENGINE_MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                 "/proc/latency_stats", "/proc/timer_list",
                 "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                 "/sys/firmware", "/sys/devices/virtual/powercap"]
ENGINE_READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                   "/proc/sysrq-trigger"]

UNCONFINED_RAW = {
    "MaskedPaths-empty": {"MaskedPaths": []},
    "MaskedPaths-without-proc-interrupts": {"MaskedPaths": ENGINE_MASKED},
    "ReadonlyPaths-empty": {"ReadonlyPaths": []},
    "ReadonlyPaths-without-proc-sys": {
        "ReadonlyPaths": [p for p in ENGINE_READONLY if p != "/proc/sys"]},
    "ReadonlyPaths-respelled": {
        "ReadonlyPaths": [p.replace("/proc/sys", "/proc//sys")
                          for p in ENGINE_READONLY]},
    "maskedpaths-lower-case": {"maskedpaths": ENGINE_MASKED[1:]},
    "securityopt-lower-case": {"securityopt": ["apparmor=unconfined"]},
    "bare-disable": {"SecurityOpt": ["disable"]},
    "writable-cgroups": {"SecurityOpt": ["writable-cgroups=true"]},
    "escaped-key": None,
}


@pytest.mark.parametrize("spelling", sorted(UNCONFINED_RAW))
def test_unconfined_raw(apps, testbed, app, spelling):
    if spelling == "escaped-key":
        body = create_body(app).replace(
            b'"NetworkMode"', b'"\\u0053ecurityOpt": ["seccomp=unconfined"], '
            b'"NetworkMode"')
    else:
        body = create_body(app, UNCONFINED_RAW[spelling])
    msg = raw_create_refused(testbed, apps, "privileged", body)
    assert "lifts its confinement" in msg, msg


def test_engine_default_paths_allowed(apps, testbed, app):
    """Lists that keep every default (here with one more) are no lift."""
    r, name = raw_create(testbed, apps, create_body(app, {
        "MaskedPaths": ENGINE_MASKED + ["/proc/interrupts", "/proc/swaps"],
        "ReadonlyPaths": ENGINE_READONLY, "SecurityOpt": None}))
    assert r.status == 201, (r, msg_of(r))
    assert exists(testbed, "container", name)


@pytest.mark.parametrize("opts", [("--cgroupns", "host"),
                                  ("--cgroupns=host",)],
                         ids=["--cgroupns host", "--cgroupns=host"])
def test_host_cgroupns_refused(apps, testbed, app, opts):
    create_refused(testbed, app, apps, "host_namespaces", *opts)


# ==========================================================================
# limits: capabilities
# ==========================================================================

@pytest.mark.parametrize("cap", ["NET_ADMIN", "net_admin", "CAP_NET_ADMIN",
                                 "cap_net_admin", "Cap_Net_Admin", "ALL",
                                 "all", "CAP_ALL"])
def test_cap_add_refused(apps, testbed, app, cap):
    create_refused(testbed, app, apps, "capabilities", "--cap-add", cap)


def test_cap_add_refused_among_allowed(apps, testbed, app):
    create_refused(testbed, app, apps, "capabilities", "--cap-add",
                   "SYS_TIME", "--cap-add", "NET_ADMIN")


@pytest.mark.parametrize("cap", ["SYS_TIME", "sys_time", "CAP_SYS_TIME",
                                 "cap_sys_time"])
def test_cap_add_allowed(apps, testbed, app, cap):
    create_allowed(testbed, app, apps, "--cap-add", cap)
    create_allowed(testbed, app, apps, "--cap-drop", "ALL")


@pytest.mark.parametrize("spelling", ["CapAdd", "capadd", "CAPADD",
                                      "duplicate"])
def test_cap_add_raw(apps, testbed, app, spelling):
    if spelling == "duplicate":
        body = create_body(app).replace(
            b'"NetworkMode"', b'"CapAdd": ["SYS_TIME"], "CapAdd": '
            b'["cap_net_admin"], "NetworkMode"')
        raw_dup_refused(testbed, apps, "capabilities", body)
        return
    body = create_body(app, {spelling: ["cap_net_admin"]})
    raw_create_refused(testbed, apps, "capabilities", body)


# ==========================================================================
# limits: devices (profile.apps.devices = /dev/fuse /dev/net/*)
# ==========================================================================

@pytest.mark.parametrize("dev", ["/dev/loop0", "/dev/loop0:/dev/fuse",
                                 "/dev/net/../loop0", "/dev//loop0",
                                 "/dev/./loop0"])
def test_device_refused(apps, testbed, app, dev):
    create_refused(testbed, app, apps, "devices", "--device", dev)


@pytest.mark.parametrize("dev", ["/dev/fuse", "/dev/fuse:/dev/fuse:rwm",
                                 "/dev/net/tun", "/dev/net/tun:/dev/tun:r"])
def test_device_allowed(apps, testbed, app, dev):
    create_allowed(testbed, app, apps, "--device", dev)


@pytest.mark.parametrize("key", ["Devices", "devices"])
def test_device_raw(apps, testbed, app, key):
    body = create_body(app, {key: [{"PathOnHost": "/dev/loop0",
                                    "PathInContainer": "/dev/x",
                                    "CgroupPermissions": "rwm"}]})
    raw_create_refused(testbed, apps, "devices", body)


def test_beyond_device_cgroup_rule(apps, testbed, app):
    """--device-cgroup-rule 'b 7:* rwm' lets the container mknod and open
    every loop device (CAP_MKNOD is a default capability): the devices
    limit is void if this passes."""
    create_refused(testbed, app, apps, "devices",
                   "--device-cgroup-rule", "b 7:* rwm")


@pytest.mark.parametrize("opts", [("--gpus", "all"),
                                  ("--gpus", "device=0")],
                         ids=["--gpus all", "--gpus device=0"])
def test_beyond_device_requests(apps, testbed, app, opts):
    """--gpus sends DeviceRequests: the engine's device drivers (nvidia,
    amd, CDI) pick host devices, mounts and hooks that no path in
    profile.NAME.devices names."""
    create_refused(testbed, app, apps, "devices", *opts)


def test_beyond_device_requests_raw(apps, testbed, app):
    msg = raw_create_refused(testbed, apps, "devices", create_body(app, {
        "deviceRequests": [{"Driver": "cdi", "DeviceIDs": ["vendor/x=y"]}]}))
    assert "DeviceRequests" in msg, msg


# ==========================================================================
# limits: bind mounts (profile.apps.bind_mounts = W/allowed/*)
# ==========================================================================

def bind_refusals(p):
    return {
        "-v /etc": ["-v", "/etc:/x"],
        "-v /etc ro,z": ["-v", "/etc:/x:ro,z"],
        "--volume=/etc": ["--volume=/etc:/x"],
        "--mount src": ["--mount", "type=bind,src=/etc,dst=/x"],
        "--mount source": ["--mount",
                           "type=bind,source=/etc,target=/x,readonly"],
        "-v dotdot": ["-v", p.dotdot_etc + ":/x"],
        "--mount dotdot": ["--mount", "type=bind,src=%s,dst=/x"
                           % p.dotdot_etc],
        "-v symlink": ["-v", p.etclink + ":/x"],
        "-v symlink/file": ["-v", p.etclink + "/hostname:/x"],
        "--mount symlink": ["--mount", "type=bind,src=%s,dst=/x"
                            % p.etclink],
        "--mount symlink/missing": [
            "--mount", "type=bind,src=%s/dg-missing,dst=/x" % p.etclink],
        "-v data/..": ["-v", p.data + "/..:/x"],
        "-v allowed-itself": ["-v", p.allowed + ":/x"],
        "-v root": ["-v", "/:/x"],
        "-v second-of-two": ["-v", p.data + ":/a", "-v", "/etc:/b"],
    }


def bind_allowed(p):
    return {
        "-v data": ["-v", p.data + ":/x"],
        "-v data ro,z": ["-v", p.data + ":/x:ro,z"],
        "--mount data": ["--mount", "type=bind,src=%s,dst=/x" % p.data],
        "-v data/.": ["-v", p.data + "/.:/x"],
        "-v missing under data": ["-v", p.data + "/dg-missing/sub:/x"],
        "-v named volume": ["-v", "pfplain:/x"],
        "--tmpfs": ["--tmpfs", "/x"],
    }


BIND_REFUSED_IDS = sorted(bind_refusals(type("P", (), {
    "dotdot_etc": "", "etclink": "", "data": "", "allowed": ""})()))
BIND_ALLOWED_IDS = sorted(bind_allowed(type("P", (), {"data": ""})()))


@pytest.mark.parametrize("case", BIND_REFUSED_IDS)
def test_bind_refused(apps, testbed, app, paths, case):
    create_refused(testbed, app, apps, "bind_mounts",
                   *bind_refusals(paths)[case])


@pytest.mark.parametrize("case", BIND_ALLOWED_IDS)
def test_bind_allowed(apps, testbed, app, paths, case):
    create_allowed(testbed, app, apps, *bind_allowed(paths)[case])


def test_apps_run_end_to_end(apps, testbed, app, paths):
    """An allowed bind works all the way: docker run reads the file."""
    with open(os.path.join(paths.data, "hello"), "w") as fh:
        fh.write("hello-through-profile\n")
    res = apps.docker("run", "--rm", "--network", "none", "-v",
                      paths.data + ":/x:ro", app.digest_ref, "cat",
                      "/x/hello")
    assert_ok(res, "docker run with an allowed bind")
    assert res.stdout.strip() == "hello-through-profile", res.stdout


def test_bind_relative_paths(apps, testbed, app, paths):
    """The CLI makes ./ paths absolute from its working directory (20.10's
    ../ paths too; a newer CLI sends those as written, which the engine
    takes for a volume name: refused as a relative host path)."""
    create_allowed(testbed, app, apps, "-v", "./data:/x", cwd=paths.allowed)
    create_refused(testbed, app, apps, "bind_mounts", "-v", "./etclink:/x",
                   cwd=paths.allowed)
    up = "/".join([".."] * len([p for p in paths.data.split("/") if p]))
    create_refused(testbed, app, apps, "bind_mounts", "-v",
                   up + "/etc:/x", cwd=paths.data)
    create_refused(testbed, app, apps, "bind_mounts", "-v", "./:/x",
                   cwd="/etc")


@pytest.mark.parametrize("spelling", ["Binds", "Mounts"])
def test_volume_name_with_slash_refused(apps, testbed, spelling):
    """A relative path with a '/' sent as written ("../../etc:/x", as a
    newer CLI sends it) is no local volume's name: refused as a relative
    host path, never asked of the engine under a path it would redirect."""
    if spelling == "Binds":
        hc = {"Binds": ["../../../../etc:/x"]}
    else:
        hc = {"Mounts": [{"Type": "volume", "Source": "../../../../etc",
                          "Target": "/x"}]}
    msg = raw_create_refused(testbed, apps, "bind_mounts",
                             create_body(testbed.images["31.0.9.1"], hc))
    assert "relative host path" in msg, msg


def test_bind_message(apps, testbed, app):
    res, _ = create(testbed, app, apps, "-v", "/etc:/x")
    assert_cli_refused(res, apps, "bind_mounts")
    assert "/etc" in res.stderr, res.stderr


BIND_RAW = {
    "Binds": lambda p: {"HostConfig": {"NetworkMode": "none",
                                       "Binds": ["/etc:/x:ro,z"]}},
    "binds-lower": lambda p: {"HostConfig": {"NetworkMode": "none",
                                             "binds": ["/etc:/x"]}},
    "hostconfig-lower": lambda p: {"hostconfig": {"NetworkMode": "none",
                                                  "Binds": ["/etc:/x"]}},
    "Binds-dotdot": lambda p: {"HostConfig": {
        "NetworkMode": "none", "Binds": [p.dotdot_etc + ":/x"]}},
    "Binds-double-slash": lambda p: {"HostConfig": {
        "NetworkMode": "none", "Binds": ["//etc//:/x"]}},
    "Mounts-bind": lambda p: {"HostConfig": {"NetworkMode": "none", "Mounts": [
        {"Type": "bind", "Source": "/etc", "Target": "/x"}]}},
    "mounts-lower": lambda p: {"HostConfig": {"NetworkMode": "none", "mounts": [
        {"type": "bind", "source": "/etc", "target": "/x"}]}},
    "Mounts-symlink": lambda p: {"HostConfig": {
        "NetworkMode": "none", "Mounts": [
            {"Type": "bind", "Source": p.etclink, "Target": "/x",
             "ReadOnly": True}]}},
}


@pytest.mark.parametrize("case", sorted(BIND_RAW))
def test_bind_raw(apps, testbed, app, paths, case):
    doc = {"Image": app.digest_ref, "Cmd": ["true"]}
    doc.update(BIND_RAW[case](paths))
    raw_create_refused(testbed, apps, "bind_mounts", json.dumps(doc).encode())


@pytest.mark.parametrize("case", ["duplicate-Binds", "duplicate-HostConfig"])
def test_bind_raw_duplicates(apps, testbed, app, paths, case):
    """Go's decoder keeps the last of duplicate keys (and merges a second
    HostConfig object into the first)."""
    ok = json.dumps([paths.data + ":/x"]).encode()
    bad = json.dumps(["/etc:/x"]).encode()
    if case == "duplicate-Binds":
        body = create_body(app).replace(
            b'"NetworkMode"', b'"Binds": %s, "Binds": %s, "NetworkMode"'
            % (ok, bad))
    else:
        body = create_body(app, {"Binds": json.loads(ok)},
                           extra=b', "HostConfig": {"Binds": %s}' % bad)
    raw_dup_refused(testbed, apps, "bind_mounts", body)


# ==========================================================================
# the engine's socket, under a profile whose globs cover every path
# ==========================================================================

def socket_spellings(testbed, paths):
    s = testbed.dockerd.sock
    d = os.path.dirname(s)
    return {
        "upstream": ["-v", s + ":/s"],
        "upstream ro": ["-v", s + ":/s:ro"],
        "upstream --mount": ["--mount", "type=bind,src=%s,dst=/s" % s],
        "upstream //": ["-v", "/" + s.replace("/", "//") + ":/s"],
        "upstream /./": ["-v", d + "/./docker.sock:/s"],
        "upstream ..": ["-v", d + "/work/../docker.sock:/s"],
        "upstream symlink": ["-v", paths.socklink + ":/s"],
        "upstream dir symlink": ["-v", paths.rundirlink + ":/s"],
        "upstream via dir symlink": ["-v", paths.rundirlink +
                                     "/docker.sock:/s"],
        "upstream dir": ["-v", d + ":/s"],
        "/tmp": ["-v", "/tmp:/s"],
        "/": ["-v", "/:/s"],
        "/run": ["-v", "/run:/s"],
        "/var/run": ["-v", "/var/run:/s"],
        "/var": ["-v", "/var:/s"],
        "/proc/self/root + upstream": ["-v", "/proc/self/root" + s + ":/s"],
        "/proc/self/root + upstream dir": ["-v", "/proc/self/root" + d + ":/s"],
        "/var/run/docker.sock": ["--mount",
                                 "type=bind,src=/var/run/docker.sock,dst=/s"],
        "/run/docker.sock": ["--mount",
                             "type=bind,src=/run/docker.sock,dst=/s"],
        "//var/run//docker.sock": [
            "--mount", "type=bind,src=//var/run//docker.sock,dst=/s"],
        "/var/run/../run/docker.sock": [
            "--mount", "type=bind,src=/var/run/../run/docker.sock,dst=/s"],
    }


SOCKET_IDS = sorted(socket_spellings(
    type("T", (), {"dockerd": type("D", (), {"sock": "/x/docker.sock"})})(),
    type("P", (), {"socklink": "", "rundirlink": ""})()))


def test_wide_allows_other_paths(wide, testbed, app, paths):
    """The control: the wide profile's globs do allow host paths."""
    create_allowed(testbed, app, wide, "-v", "/etc:/x:ro")
    create_allowed(testbed, app, wide, "-v", testbed.work + ":/x")
    create_allowed(testbed, app, wide, "-v", paths.etclink + ":/x")


@pytest.mark.parametrize("case", SOCKET_IDS)
def test_engine_socket_refused(wide, testbed, app, paths, case):
    create_refused(testbed, app, wide, "bind_mounts",
                   *socket_spellings(testbed, paths)[case])


@pytest.mark.parametrize("case", SOCKET_IDS)
def test_engine_socket_refused_apps(apps, testbed, app, paths, case):
    create_refused(testbed, app, apps, "bind_mounts",
                   *socket_spellings(testbed, paths)[case])


def test_engine_socket_raw(wide, testbed, app):
    s = testbed.dockerd.sock
    for hc in ({"Binds": [s + ":/s"]},
               {"Mounts": [{"Type": "bind", "Source": "/" + s,
                            "Target": "/s"}]},
               {"binds": [os.path.dirname(s) + "/:/s"]}):
        raw_create_refused(testbed, wide, "bind_mounts",
                           create_body(app, hc))


def test_beyond_engine_socket_hardlink(wide, testbed, app, paths):
    """A hard link to the engine's socket (anyone with read-write access
    to it may make one, protected_hardlinks allows that) is the engine's
    socket under another name with no symlink to resolve: judged by
    device and inode, it is refused."""
    link = os.path.join(paths.allowed, testbed.unique("hardsock"))
    os.link(testbed.dockerd.sock, link)
    try:
        create_refused(testbed, app, wide, "bind_mounts", "-v", link + ":/s")
    finally:
        os.unlink(link)


def test_beyond_guard_own_sockets(wide, testbed, app, gmain):
    """The guard's own sockets are the engine for whoever is root in the
    container (uid 0 has no profile on this guard): a limited profile must
    not hand them out either."""
    for path in [gmain.sock] + sorted(gmain.listen.values()):
        create_refused(testbed, app, wide, "bind_mounts", "-v", path + ":/s")


# ==========================================================================
# volumes whose driver options bind a host path
# ==========================================================================

BIND_OPTS = {
    "o=bind": ["type=none", "o=bind"],
    "o=bind,ro": ["type=none", "o=bind,ro"],
    "o=rbind": ["type=none", "o=rbind"],
    "o=ro,bind": ["type=none", "o=ro,bind"],
}


def vol_create_args(name, device, opts=("type=none", "o=bind")):
    args = ["volume", "create"]
    for o in list(opts) + ["device=" + device]:
        args += ["--opt", o]
    return args + [name]


@pytest.mark.parametrize("opts", sorted(BIND_OPTS))
def test_volume_create_bind_refused(apps, testbed, opts):
    name = testbed.unique("pvol")
    res = apps.docker(*vol_create_args(name, "/etc", BIND_OPTS[opts]))
    assert_cli_refused(res, apps, "bind_mounts")
    assert not exists(testbed, "volume", name)


@pytest.mark.parametrize("which", ["symlink", "dotdot", "engine-socket-dir"])
def test_volume_create_bind_path_spellings(apps, testbed, paths, which):
    dev = {"symlink": paths.etclink, "dotdot": paths.dotdot_etc,
           "engine-socket-dir": os.path.dirname(testbed.dockerd.sock)}[which]
    name = testbed.unique("pvol")
    assert_cli_refused(apps.docker(*vol_create_args(name, dev)), apps,
                       "bind_mounts")
    assert not exists(testbed, "volume", name)


def test_volume_create_allowed(apps, testbed, paths):
    assert_ok(apps.docker(*vol_create_args(testbed.unique("pvol"),
                                           paths.data)))
    assert_ok(apps.docker("volume", "create", testbed.unique("pvol")))


# What the local driver mounts past its device option (moby's
# mount.Mount(device, path, type, o)): a relative device (read from
# dockerd's working directory), an overlay's directories, and kernel file
# systems that dockerd mounts as the host sees them.
LOCAL_OPTS_REFUSED = {
    "relative device etc": ["type=none", "o=bind", "device=etc"],
    "relative device, no type": ["o=bind", "device=../etc"],
    "overlay upperdir /etc": ["type=overlay", "device=overlay",
                              "o=lowerdir=/srv/a:/srv/b,upperdir=/etc,"
                              "workdir=/srv/w"],
    "overlay lowerdir /etc": ["type=overlay", "device=overlay",
                              "o=lowerdir=/etc"],
    "proc": ["type=proc", "device=proc"],
    "sysfs": ["type=sysfs", "device=sysfs"],
    "cgroup": ["type=cgroup", "device=cgroup", "o=memory"],
    "ext4 on /dev/sda": ["type=ext4", "device=/dev/sda"],
}


@pytest.mark.parametrize("case", sorted(LOCAL_OPTS_REFUSED))
def test_volume_create_local_options_refused(apps, testbed, case):
    name = testbed.unique("pvol")
    args = ["volume", "create"]
    for o in LOCAL_OPTS_REFUSED[case]:
        args += ["--opt", o]
    res = apps.docker(*args, name)
    assert_cli_refused(res, apps, "bind_mounts")
    assert not exists(testbed, "volume", name)


def test_volume_create_tmpfs_allowed(apps, testbed):
    name = testbed.unique("pvol")
    assert_ok(apps.docker("volume", "create", "--opt", "type=tmpfs", "--opt",
                          "device=tmpfs", "--opt", "o=size=1m", name))
    assert exists(testbed, "volume", name)


def test_existing_proc_volume_refused(apps, testbed, app):
    """A volume an admin made with type=proc mounts the host's /proc (the
    one dockerd sees): using it is refused, however the create names it."""
    name = testbed.unique("pev")
    engine(testbed, "volume", "create", "--opt", "type=proc", "--opt",
           "device=proc", name)
    try:
        create_refused(testbed, app, apps, "bind_mounts", "-v", name + ":/x")
        create_refused(testbed, app, apps, "bind_mounts", "--mount",
                       "type=volume,src=%s,dst=/x" % name)
    finally:
        engine(testbed, "volume", "rm", "-f", name, check=False)


def test_mount_volume_proc_options_raw(apps, testbed, app):
    msg = raw_create_refused(testbed, apps, "bind_mounts", create_body(app, {
        "Mounts": [{"Type": "volume", "Source": testbed.unique("pvol"),
                    "Target": "/x", "VolumeOptions": {"DriverConfig": {
                        "Options": {"type": "proc", "device": "proc"}}}}]}))
    assert "cannot judge" in msg, msg


def test_volume_create_raw_case_folded(apps, testbed):
    name = testbed.unique("pvol")
    r = apps.raw("POST", "/v1.41/volumes/create", {
        "name": name, "driver": "local",
        "driveropts": {"type": "none", "o": "bind", "device": "/etc"}})
    assert_raw_refused(r, apps, "bind_mounts")
    assert not exists(testbed, "volume", name)


@pytest.fixture
def etc_volume(testbed):
    """A local volume binding /etc, made by an admin on the engine."""
    name = testbed.unique("pev")
    engine(testbed, *vol_create_args(name, "/etc"))
    yield name
    engine(testbed, "volume", "rm", "-f", name, check=False)


@pytest.mark.parametrize("how", ["-v", "-v ro", "--volume-driver",
                                 "--mount volume"])
def test_create_using_bind_volume_refused(apps, testbed, app, etc_volume,
                                          how):
    opts = {"-v": ["-v", etc_volume + ":/x"],
            "-v ro": ["-v", etc_volume + ":/x:ro"],
            "--volume-driver": ["--volume-driver", "local", "-v",
                                etc_volume + ":/x"],
            "--mount volume": ["--mount", "type=volume,src=%s,dst=/x"
                               % etc_volume]}[how]
    create_refused(testbed, app, apps, "bind_mounts", *opts)


@pytest.mark.parametrize("src", ["anonymous", "named"])
def test_mount_volume_with_bind_driver_opts(apps, testbed, app, src):
    """--mount type=volume with volume-opt creates the volume on the fly."""
    spec = "type=volume,dst=/x,volume-driver=local,volume-opt=type=none," \
        "volume-opt=o=bind,volume-opt=device=/etc"
    if src == "named":
        spec += ",src=" + testbed.unique("pvol")
    create_refused(testbed, app, apps, "bind_mounts", "--mount", spec)


def test_mount_volume_driver_config_raw(apps, testbed, app):
    raw_create_refused(testbed, apps, "bind_mounts", create_body(app, {
        "Mounts": [{"Type": "volume", "Source": testbed.unique("pvol"),
                    "Target": "/x", "VolumeOptions": {"DriverConfig": {
                        "Name": "local", "Options": {
                            "type": "none", "o": "bind",
                            "device": "/etc"}}}}]}))


def test_create_using_allowed_volumes(apps, testbed, app, paths):
    v = testbed.unique("pvol")
    engine(testbed, *vol_create_args(v, paths.data))
    create_allowed(testbed, app, apps, "-v", v + ":/x")
    create_allowed(testbed, app, apps, "--volume-driver", "local", "-v",
                   testbed.unique("pvol") + ":/y")


# ==========================================================================
# VolumesFrom
# ==========================================================================

@pytest.mark.parametrize("src_mount", ["bind /etc", "volume binding /etc",
                                       "engine socket"])
@pytest.mark.parametrize("suffix", ["", ":ro", ":rw"])
def test_volumes_from_refused(apps, testbed, app, src_mount, suffix):
    src = testbed.unique("pvf")
    if src_mount == "bind /etc":
        opt = ["-v", "/etc:/x"]
    elif src_mount == "engine socket":
        opt = ["-v", testbed.dockerd.sock + ":/s"]
    else:
        v = testbed.unique("pev")
        engine(testbed, *vol_create_args(v, "/etc"))
        opt = ["-v", v + ":/x"]
    engine(testbed, "create", "--network", "none", "--name", src, *opt,
           app.digest_ref, "true")
    create_refused(testbed, app, apps, "bind_mounts", "--volumes-from",
                   src + suffix)


def test_volumes_from_chain_refused(apps, testbed, app):
    """B took its mounts from A (a bind of /etc); C takes B's."""
    a, b = testbed.unique("pvf"), testbed.unique("pvf")
    engine(testbed, "create", "--network", "none", "--name", a, "-v",
           "/etc:/x", app.digest_ref, "true")
    engine(testbed, "create", "--network", "none", "--name", b,
           "--volumes-from", a, app.digest_ref, "true")
    create_refused(testbed, app, apps, "bind_mounts", "--volumes-from", b)


def test_volumes_from_allowed(apps, testbed, app, paths):
    src = testbed.unique("pvf")
    engine(testbed, "create", "--network", "none", "--name", src, "-v",
           paths.data + ":/x", "-v", "/y", app.digest_ref, "true")
    create_allowed(testbed, app, apps, "--volumes-from", src)


def test_volumes_from_raw_case_folded(apps, testbed, app):
    src = testbed.unique("pvf")
    engine(testbed, "create", "--network", "none", "--name", src, "-v",
           "/etc:/x", app.digest_ref, "true")
    raw_create_refused(testbed, apps, "bind_mounts",
                       create_body(app, {"volumesfrom": [src]}))


# ==========================================================================
# exec, update
# ==========================================================================

def test_exec_privileged_refused(apps, testbed, victim):
    assert_cli_refused(apps.docker("exec", "--privileged", victim, "true"),
                       apps, "privileged")
    assert_ok(apps.docker("exec", victim, "true"), "plain exec")


@pytest.mark.parametrize("spelling", ["Privileged", "privileged",
                                      "duplicate"])
def test_exec_privileged_raw(apps, testbed, victim, spelling):
    if spelling == "duplicate":
        body = b'{"Cmd":["true"],"Privileged":false,"Privileged":true}'
    else:
        body = json.dumps({"Cmd": ["true"], spelling: True}).encode()
    r = apps.raw("POST", "/v1.41/containers/%s/exec" % victim, body)
    if spelling == "duplicate":
        assert_dup_refused(r, apps, "privileged")
    else:
        assert_raw_refused(r, apps, "privileged")


EXEC_TARGETS = {
    "privileged": (["--privileged"], "privileged"),
    "seccomp=unconfined": (["--security-opt", "seccomp=unconfined"],
                           "privileged"),
    "systempaths=unconfined": (["--security-opt", "systempaths=unconfined"],
                               "privileged"),
    "uts host": (["--uts", "host"], "host_namespaces"),
    # the engine adds label=disable to a container in the host's PID
    # namespace itself: the namespace is what is refused
    "pid host": (["--pid", "host"], "host_namespaces"),
    "cap SYS_ADMIN": (["--cap-add", "SYS_ADMIN"], "capabilities"),
    "bind /etc": (["-v", "/etc:/hostetc:ro"], "bind_mounts"),
}


@pytest.mark.parametrize("case", sorted(EXEC_TARGETS))
def test_exec_into_container_beyond_limits_refused(apps, testbed, app, case):
    """An exec runs with what its container has: one made (by an admin)
    with what the profile may not create is no way in for its clients."""
    opts, key = EXEC_TARGETS[case]
    name = testbed.unique("pxt")
    # created, not started (a privileged container cannot start in every
    # test bed): the guard judges the container before the engine would
    # answer that it is not running
    engine(testbed, "create", "--network", "none", "--name", name, *opts,
           app.digest_ref, "sleep", "600")
    res = apps.docker("exec", name, "true")
    assert_cli_refused(res, apps, key)


def test_exec_into_plain_container_allowed(apps, testbed, victim):
    assert_ok(apps.docker("exec", victim, "true"), "plain exec")
    r = apps.raw("POST", "/v1.41/containers/no-such-ctr/exec",
                 {"Cmd": ["true"]})
    assert r.status == 404, (r, msg_of(r))


def test_exec_into_container_with_bind_volume_refused(apps, testbed, app):
    """The exec's container mounts a named local volume whose options bind
    /etc: the volume is asked of the engine, as a create's would be."""
    vol, name = testbed.unique("pxv"), testbed.unique("pxt")
    engine(testbed, "volume", "create", "--opt", "type=none", "--opt",
           "o=bind", "--opt", "device=/etc", vol)
    try:
        engine(testbed, "create", "--network", "none", "--name", name, "-v",
               vol + ":/x:ro", app.digest_ref, "sleep", "600")
        assert_cli_refused(apps.docker("exec", name, "true"), apps,
                           "bind_mounts")
    finally:
        engine(testbed, "rm", "-f", name, check=False)
        engine(testbed, "volume", "rm", "-f", vol, check=False)


def test_exec_into_container_joining_host_pid_refused(apps, testbed, app):
    """B shares A's PID namespace, and A is in the host's: an exec in B
    sees the host's processes."""
    a, b = testbed.unique("pxj"), testbed.unique("pxj")
    engine(testbed, "run", "-d", "--network", "none", "--pid", "host",
           "--name", a, app.digest_ref, "sleep", "600")
    engine(testbed, "run", "-d", "--network", "none", "--pid",
           "container:" + a, "--name", b, app.digest_ref, "sleep", "600")
    assert_cli_refused(apps.docker("exec", b, "true"), apps,
                       "host_namespaces")


# ==========================================================================
# acting in a container made by someone else: start, attach, copies
# ==========================================================================

def outside_dir(paths):
    """A host directory outside profile.apps.bind_mounts, with a file."""
    d = os.path.join(paths.base, "outside")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("host secret\n")
    return d


def beyond_container(testbed, app, paths, case, start):
    """A container made on the engine directly with what profile apps may
    not create (EXEC_TARGETS' cases; the bind is of a directory outside
    the allowed paths, so a test that fails writes nowhere that
    matters)."""
    opts, key = EXEC_TARGETS[case]
    if case == "bind /etc":
        opts, key = ["-v", outside_dir(paths) + ":/hostdir"], "bind_mounts"
    name = testbed.unique("pet")
    engine(testbed, "run" if start else "create", *(["-d"] if start else []),
           "--network", "none", "--name", name, *opts, app.digest_ref,
           "sleep", "600")
    return name, key


@pytest.mark.parametrize("case", sorted(EXEC_TARGETS))
def test_start_of_container_beyond_limits_refused(apps, testbed, app, paths,
                                                  case):
    """Starting a container an admin made privileged (or binding a host
    path) runs it with that: the profile refuses as it would the create,
    and the container stays stopped."""
    name, key = beyond_container(testbed, app, paths, case, start=False)
    assert_cli_refused(apps.docker("start", name), apps, key)
    state = engine(testbed, "inspect", "--format", "{{.State.Status}}",
                   name).stdout.strip()
    assert state == "created", state


@pytest.mark.parametrize("case", ["bind /etc", "cap SYS_ADMIN", "pid host"])
def test_restart_of_container_beyond_limits_refused(apps, testbed, app,
                                                    paths, case):
    name, key = beyond_container(testbed, app, paths, case, start=False)
    r = apps.raw("POST", "/v1.41/containers/%s/restart?t=1" % name)
    assert_raw_refused(r, apps, key)


@pytest.mark.parametrize("case", ["bind /etc", "cap SYS_ADMIN", "uts host"])
def test_copy_into_container_beyond_limits_refused(apps, testbed, app,
                                                   paths, case):
    """docker cp into a container made with a host bind writes on the host
    through it."""
    name, key = beyond_container(testbed, app, paths, case, start=True)
    src = os.path.join(paths.data, testbed.unique("cpsrc"))
    with open(src, "w") as f:
        f.write("from the client\n")
    os.chmod(src, 0o644)
    res = apps.docker("cp", src, name + ":/hostdir/planted")
    assert_cli_refused(res, apps, key)
    assert not os.path.exists(os.path.join(outside_dir(paths), "planted"))


@pytest.mark.parametrize("case", ["bind /etc", "privileged"])
def test_copy_out_of_container_beyond_limits_refused(apps, testbed, app,
                                                     paths, case):
    """docker cp out of it reads the host's files through the bind."""
    name, key = beyond_container(testbed, app, paths, case, start=False)
    res = apps.docker("cp", name + ":/hostdir/secret", "-")
    assert_cli_refused(res, apps, key)
    assert "host secret" not in res.stdout


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT"])
def test_archive_raw_beyond_limits_refused(apps, testbed, app, paths,
                                           method):
    name, key = beyond_container(testbed, app, paths, "bind /etc",
                                 start=False)
    target = "/v1.41/containers/%s/archive?path=/hostdir" % name
    body = b"" if method != "PUT" else b"\0" * 1024
    r = apps.raw(method, target, body if method == "PUT" else None)
    assert r is not None and r.status == 403, r
    if method != "HEAD":
        assert_raw_refused(r, apps, key)


def test_old_api_copy_beyond_limits_refused(apps, testbed, app, paths):
    """POST /containers/{name}/copy: the copy out of API 1.23 and older,
    still served by the engines that take those versions."""
    name, key = beyond_container(testbed, app, paths, "bind /etc",
                                 start=False)
    r = apps.raw("POST", "/v1.23/containers/%s/copy" % name,
                 {"Resource": "/hostdir/secret"})
    assert_raw_refused(r, apps, key)
    assert b"host secret" not in r.body


def test_attach_to_container_beyond_limits_refused(apps, testbed, app,
                                                   paths):
    """Attaching writes to the input of a process that runs with a host
    bind (a shell, say)."""
    name, key = beyond_container(testbed, app, paths, "bind /etc",
                                 start=True)
    r = apps.raw("POST", "/v1.41/containers/%s/attach?stream=1&stdin=1"
                 "&stdout=1" % name, headers=[b"Upgrade: tcp"])
    assert_raw_refused(r, apps, key)
    r = apps.raw("GET", "/v1.41/containers/%s/attach/ws?stream=1" % name,
                 headers=[b"Upgrade: websocket",
                          b"Sec-WebSocket-Version: 13",
                          b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
    assert_raw_refused(r, apps, key)


def engine_api(testbed, method, target, body=None):
    """One request to the engine directly (as an admin would)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(20)
        s.connect(testbed.dockerd.sock)
        c = SockConn(s)
        c.send(request(target.encode(),
                       json.dumps(body).encode() if body else b"",
                       method=method.encode(),
                       headers=[b"Connection: close"]))
        return c.response()


def engine_exec_create(testbed, container, privileged=False):
    """An exec made on the engine directly (by an admin), not started."""
    r = engine_api(testbed, "POST", "/v1.41/containers/%s/exec" % container,
                   {"Cmd": ["true"], "Privileged": privileged})
    assert r is not None and r.status == 201, r
    return json.loads(r.body)["Id"]


def exec_ran(testbed, exec_id):
    r = engine_api(testbed, "GET", "/v1.41/exec/%s/json" % exec_id)
    assert r is not None and r.status == 200, r
    info = json.loads(r.body)
    return info.get("Running") or info.get("ExitCode") is not None


@pytest.mark.parametrize("case", ["privileged exec", "bind /etc"])
def test_start_of_exec_beyond_limits_refused(apps, testbed, app, paths,
                                             victim, case):
    """An exec an admin made (privileged, or in a container binding a host
    path) and did not start yet: starting it runs it with that."""
    if case == "privileged exec":
        exec_id, key = engine_exec_create(testbed, victim, True), \
            "privileged"
    else:
        name, key = beyond_container(testbed, app, paths, case, start=True)
        exec_id = engine_exec_create(testbed, name)
    r = apps.raw("POST", "/v1.41/exec/%s/start" % exec_id,
                 {"Detach": True, "Tty": False})
    assert_raw_refused(r, apps, key)
    assert not exec_ran(testbed, exec_id)


def test_start_of_plain_exec_allowed(apps, testbed, victim):
    exec_id = engine_exec_create(testbed, victim)
    r = apps.raw("POST", "/v1.41/exec/%s/start" % exec_id,
                 {"Detach": True, "Tty": False})
    assert r is not None and r.status == 200, r
    deadline = time.monotonic() + 20
    while not exec_ran(testbed, exec_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exec_ran(testbed, exec_id)
    r = apps.raw("POST", "/v1.41/exec/%s/start" % ("0" * 64),
                 {"Detach": True, "Tty": False})
    assert r is not None and r.status == 404, r


def test_acting_in_plain_container_allowed(apps, testbed, app, paths):
    """A container within the profile's limits (made by an admin, with a
    bind inside the allowed paths): start, copies in and out, attach, all
    go through."""
    name = testbed.unique("pet")
    engine(testbed, "create", "--network", "none", "--name", name, "-v",
           paths.data + ":/data", app.digest_ref, "sleep", "600")
    assert_ok(apps.docker("start", name), "start")
    src = os.path.join(paths.data, testbed.unique("cpsrc"))
    with open(src, "w") as f:
        f.write("copied in\n")
    os.chmod(src, 0o644)
    assert_ok(apps.docker("cp", src, name + ":/tmp/in"), "cp in")
    out = assert_ok(apps.docker("cp", name + ":/tmp/in", "-"), "cp out")
    assert "copied in" in out.stdout
    r = apps.raw("HEAD", "/v1.41/containers/%s/archive?path=/tmp/in" % name)
    assert r is not None and r.status == 200, r
    assert "x-docker-container-path-stat" in r.headers, r
    r = apps.raw("POST", "/v1.41/containers/%s/attach?stream=1&stdout=1"
                 % name, headers=[b"Upgrade: tcp"])
    assert r is not None and r.status in (101, 200), r
    assert_ok(apps.docker("restart", "-t", "1", name), "restart")


def test_start_of_older_container_under_limits_is_a_downgrade(apps,
                                                              testbed):
    """Under a profile with limits a start is judged twice from one look at
    the container: by the profile, then by the app's history (an older
    stopped container of the app is a downgrade; the current one starts)."""
    app = testbed.unique("pds")
    old, new = app + "-old", app + "-new"
    for name, version in ((old, "31.0.8.1"), (new, "31.0.9.1")):
        assert_ok(apps.docker("create", "--network", "none", "--name", name,
                              "--label", "io.docker-guard.app=" + app,
                              testbed.images[version].digest_ref, "sleep",
                              "300"), "create " + version)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(
            [r for r in audit_json(apps.guard, "--app", app)
             if r.get("verdict") == "allow"]) < 2:
        time.sleep(0.2)
    res = apps.docker("start", old)
    assert res.returncode != 0, res
    assert "(rule: downgrade)" in res.stderr, res.stderr
    assert "older than 31.0.9.1" in res.stderr, res.stderr
    state = engine(testbed, "inspect", "--format", "{{.State.Running}}",
                   old).stdout.strip()
    assert state == "false", state
    assert_ok(apps.docker("start", new), "start of the current container")


def test_run_under_limits_allowed(apps, testbed, app):
    """docker run attaches to and starts the container it just made: both
    are judged, and both hold."""
    name = testbed.unique("pet")
    res = assert_ok(apps.docker("run", "--network", "none", "--name", name,
                                app.digest_ref, "echo", "ran here"), "run")
    assert "ran here" in res.stdout


def test_acting_in_missing_container_is_404(apps, testbed):
    """No such container: answered as the engine does, the HEAD without a
    body (the connection stays in step)."""
    r = apps.raw("POST", "/v1.41/containers/no-such-ctr/start")
    assert r.status == 404 and "No such container" in (msg_of(r) or ""), r
    r = apps.raw("GET", "/v1.41/containers/no-such-ctr/archive?path=/")
    assert r.status == 404 and "No such container" in (msg_of(r) or ""), r
    assert head_then_ping(apps, "/v1.41/containers/no-such-ctr/archive"
                          "?path=/") == 404


def head_then_ping(client, target):
    """HEAD target then GET /_ping on one connection: the HEAD's status,
    once the ping's answer is read as the ping's (a HEAD's answer with a
    body would be read in its place)."""
    with connected_as(client.sock, client.user) as s:
        c = SockConn(s)
        c.send(b"HEAD %s HTTP/1.1\r\nHost: docker\r\n\r\n"
               b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
               % target.encode())
        head = c.head_only()
        assert head is not None, "no answer to the HEAD"
        c.buf = c.buf.split(b"\r\n\r\n", 1)[1]
        ping = c.response()
        assert ping is not None and ping.status == 200 and \
            ping.body == b"OK", ping
        return head.status


def test_head_refusal_has_no_body(rt):
    """A refused HEAD is answered with a head alone: a body would be read
    as the answer to the client's next request on the connection."""
    assert head_then_ping(rt, "/v1.41/images/json") == 403


def test_update_allowed_for_apps(apps, victim):
    assert_ok(apps.docker("update", "--cpu-shares", "512", "--restart",
                          "on-failure:2", victim), "docker update")


@pytest.mark.parametrize("body", [
    {"Devices": [{"PathOnHost": "/dev/loop0", "PathInContainer": "/dev/x",
                  "CgroupPermissions": "rwm"}]},
    {"devices": [{"PathOnHost": "/dev/loop0", "PathInContainer": "/dev/x",
                  "CgroupPermissions": "rwm"}]},
    {"DeviceCgroupRules": ["b 7:* rwm"]},
], ids=["Devices", "devices", "DeviceCgroupRules"])
def test_update_cannot_add_devices(apps, testbed, victim, body):
    """What an update may change is limited as on create: a forbidden
    device is refused by the profile, or (where this engine ignores the
    field on update) never reaches the container."""
    r = apps.raw("POST", "/v1.41/containers/%s/update" % victim, body)
    hc = json.loads(engine(testbed, "inspect", "--format",
                           "{{json .HostConfig}}", victim).stdout)
    if r.status == 403:
        assert_raw_refused(r, apps, "devices")
    assert not hc.get("Devices") and not hc.get("DeviceCgroupRules"), (r, hc)


# ==========================================================================
# services (the guard decides before the engine: no swarm needed)
# ==========================================================================

def service_body(name, app, spec):
    cs = {"Image": app.digest_ref, "Command": ["sleep", "300"]}
    cs.update(spec)
    return {"Name": name, "TaskTemplate": {"ContainerSpec": cs},
            "Mode": {"Replicated": {"Replicas": 1}}}


SERVICE_CASES = {
    "bind /etc": ({"Mounts": [{"Type": "bind", "Source": "/etc",
                               "Target": "/x"}]}, "bind_mounts"),
    "bind engine socket": ({"Mounts": [{"Type": "bind", "Source":
                                        "/var/run/docker.sock",
                                        "Target": "/s"}]}, "bind_mounts"),
    "volume binding /etc": ({"Mounts": [{
        "Type": "volume", "Source": "pfsv", "Target": "/x",
        "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": {
            "type": "none", "o": "bind", "device": "/etc"}}}}]},
        "bind_mounts"),
    "CapabilityAdd": ({"CapabilityAdd": ["CAP_NET_ADMIN"]}, "capabilities"),
    "capabilityadd": ({"capabilityadd": ["net_admin"]}, "capabilities"),
    "seccomp unconfined": ({"Privileges": {"Seccomp": {
        "Mode": "unconfined"}}}, "privileged"),
    "seccomp custom": ({"Privileges": {"Seccomp": {
        "Mode": "custom", "Profile": "e30="}}}, "privileged"),
    "apparmor disabled": ({"privileges": {"AppArmor": {
        "Mode": "disabled"}}}, "privileged"),
    "selinux disabled": ({"Privileges": {"SELinuxContext": {
        "Disable": True}}}, "privileged"),
}


@pytest.mark.parametrize("case", sorted(SERVICE_CASES))
@pytest.mark.parametrize("route", ["create", "update"])
def test_service_limits(apps, testbed, app, case, route):
    spec, key = SERVICE_CASES[case]
    name = testbed.unique("psv")
    target = "/v1.41/services/create" if route == "create" else \
        "/v1.41/services/%s/update?version=1" % name
    r = apps.raw("POST", target, service_body(name, app, spec))
    assert_raw_refused(r, apps, key)


def host_network_id(testbed):
    return engine(testbed, "network", "inspect", "--format", "{{.Id}}",
                  "host").stdout.strip()


@pytest.mark.parametrize("how", ["name", "id", "id-prefix", "top-level"])
def test_service_on_host_network_refused(apps, testbed, app, how):
    """A task attached to the swarm's predefined host network runs in the
    host's network namespace: the network is asked of the engine, however
    the service names it."""
    hid = host_network_id(testbed)
    target = {"name": "host", "id": hid, "id-prefix": hid[:12],
              "top-level": "host"}[how]
    name = testbed.unique("psv")
    body = service_body(name, app, {})
    if how == "top-level":
        body["Networks"] = [{"Target": target}]
    else:
        body["TaskTemplate"]["Networks"] = [{"Target": target}]
    r = apps.raw("POST", "/v1.41/services/create", body)
    msg = assert_raw_refused(r, apps, "host_namespaces")
    assert "network namespace" in msg, msg


def test_service_on_other_network_not_refused(apps, testbed, app):
    """Any other network is not the host's: the guard lets the engine
    answer (this engine is no swarm manager: 503)."""
    name = testbed.unique("psv")
    body = service_body(name, app, {})
    body["TaskTemplate"]["Networks"] = [{"Target": "none"},
                                        {"Target": "no-such-net"}]
    r = apps.raw("POST", "/v1.41/services/create", body)
    assert r.status != 403, (r, msg_of(r))


# ==========================================================================
# audit: the table shows the profile too
# ==========================================================================

def test_audit_table_names_profile(ro, testbed, app):
    r, _ = raw_create(testbed, ro, create_body(app))
    assert_raw_refused(r, ro, "access")
    out = run_bin("audit", "--rule", "profile", "--config",
                  ro.guard.config, "--database", ro.guard.db)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if "deny" in ln]
    assert lines and "profile" in lines[-1] and '"ro"' in out.stdout, \
        out.stdout[-3000:]


# ==========================================================================
# check-config
# ==========================================================================

def check_config(tmp_path, lines):
    path = tmp_path / "guard.conf"
    path.write_text("\n".join(lines) + "\n")
    r = run_bin("check-config", "--config", str(path))
    return r, str(path), r.stdout + r.stderr


def lines_of(lines, needle):
    return [i + 1 for i, ln in enumerate(lines) if needle in ln]


CHECKS = {
    "unknown-route-group": (
        ["profile.a.clients = uid:4201", "profile.a.routes = containers imagez"],
        ["profile.a.routes"], "imagez", True),
    "overlapping-uid": (
        ["profile.a.clients = uid:4202", "profile.a.access = read-only",
         "profile.b.clients = user:root uid:4202"],
        ["profile.a.clients", "profile.b.clients"], "4202", None),
    "overlapping-gid": (
        ["profile.a.clients = gid:4203", "profile.b.clients = gid:4203",
         "profile.b.access = read-only"],
        ["profile.a.clients", "profile.b.clients"], "4203", None),
    "allows-nothing-ping-version": (
        ["profile.a.clients = uid:4204", "profile.a.routes = ping version"],
        ["profile.a."], '"a"', None),
    # read-only, and its only group has no GET or HEAD route (POST /session)
    "allows-nothing-read-only-session": (
        ["profile.a.clients = uid:4204", "profile.a.access = read-only",
         "profile.a.routes = session"],
        ["profile.a."], '"a"', None),
    "listen-undefined-profile": (
        ["profile.a.clients = uid:4205",
         "listen_profiles = /run/dg-x.sock:a /run/dg-y.sock:nosuch"],
        ["listen_profiles"], "nosuch", True),
    "default-undefined-profile": (
        ["default_profile = nosuch"], ["default_profile"], "nosuch", True),
    "unknown-profile-key": (
        ["profile.a.clients = uid:4206", "profile.a.privilegd = no"],
        ["profile.a.privilegd"], "privilegd", True),
    "bad-access": (
        ["profile.a.access = readonly"], ["profile.a.access"], "readonly",
        True),
    "bad-namespace": (
        ["profile.a.host_namespaces = pid hots"],
        ["profile.a.host_namespaces"], "hots", True),
    "bad-privileged": (
        ["profile.a.privileged = maybe"], ["profile.a.privileged"], "maybe",
        True),
    "bad-profile-name": (
        ["profile.Bad!.access = full"], ["profile.Bad!"], "Bad!", True),
    "unknown-user": (
        ["profile.a.clients = user:dg-no-such-user-x"],
        ["profile.a.clients"], "dg-no-such-user-x", True),
    "bad-client-entry": (
        ["profile.a.clients = uid:abc"], ["profile.a.clients"], "uid:abc",
        True),
}


@pytest.mark.parametrize("case", sorted(CHECKS))
def test_check_config_reports(tmp_path, case):
    lines, at, needle, must_fail = CHECKS[case]
    r, path, out = check_config(tmp_path, lines)
    where = ["%s:%d:" % (path, n) for a in at for n in lines_of(lines, a)]
    hits = [ln for ln in out.splitlines()
            if any(ln.startswith(w) for w in where)]
    assert hits, "no report at %s\n%s" % (" or ".join(where), out)
    assert any(needle in ln for ln in hits), out
    if must_fail:
        assert r.returncode == 1, out


def test_check_config_clean_profiles(tmp_path):
    """The control: a sound profile configuration reports nothing."""
    lines = ["profile.ro.clients = uid:4301 gid:4302 user:root",
             "profile.ro.access = read-only",
             "profile.ro.routes = containers images info version ping",
             "profile.apps.clients = group:root",
             "profile.apps.privileged = no",
             "profile.apps.host_namespaces = none",
             "profile.apps.capabilities = NET_ADMIN cap_sys_time",
             "profile.apps.devices = /dev/fuse /dev/dri/*",
             "profile.apps.bind_mounts = /srv/* /home/*/data",
             "profile.all.host_namespaces = pid ipc uts network userns",
             "profile.all.capabilities = all",
             "profile.all.devices = none",
             "profile.all.bind_mounts = none",
             "default_profile = ro",
             "listen_profiles = /run/dg-ro.sock:ro /run/dg-apps.sock:apps"]
    r, path, out = check_config(tmp_path, lines)
    assert r.returncode == 0, out
    assert not re.search(re.escape(path) + r":[0-9]+:", out), out


# ==========================================================================
# other real clients: compose and the Python SDK (docker-py)
# ==========================================================================

def test_compose_under_profile(apps, testbed, app, paths):
    """docker-compose as the apps profile: a privileged service is refused
    with the profile's message; the same file without it comes up."""
    cmd = tb.compose_cmd()
    if cmd is None:
        pytest.skip("compose not installed")
    d = testbed.tmpdir("pcomp")
    os.chmod(d, 0o777)
    project = testbed.unique("pc")
    svc = {"image": app.digest_ref, "network_mode": "none",
           "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 60 & wait"],
           "volumes": [paths.data + ":/x:ro"]}
    path = os.path.join(d, "docker-compose.yml")
    for privileged in (True, False):
        with open(path, "w") as fh:
            fh.write(tb.compose_text({"web": dict(svc, privileged=True)}
                                     if privileged else {"web": svc}))
        os.chmod(path, 0o644)
        env = tb.client_env("unix://" + apps.sock, apps.cfgdir)
        argv = cmd + ["-p", project, "-f", path, "up", "-d"]
        if apps.user:
            argv = ["runuser", "-u", apps.user.name, "--"] + argv
        res = tb.run(argv, env=env, cwd=d, timeout=120, check=False)
        if privileged:
            out = res.stdout + res.stderr
            assert res.returncode != 0, out
            assert 'profile "apps"' in out and "profile.apps.privileged" \
                in out, out
        else:
            assert_ok(res, "compose up without privileged")
    down = cmd + ["-p", project, "-f", path, "down", "-t", "1"]
    tb.run(down, env=testbed.direct_env, cwd=d, timeout=120, check=False)


SDK_SCRIPT = r"""
import json, sys, docker
c = docker.DockerClient(base_url=sys.argv[1], version="1.41", timeout=30)
out = {}
for name, kw in (("priv", {"privileged": True}),
                 ("bind", {"volumes": {"/etc": {"bind": "/x", "mode": "ro"}}}),
                 ("ok", {"volumes": {sys.argv[3]: {"bind": "/x"}}})):
    try:
        ct = c.containers.create(sys.argv[2], ["true"], network_mode="none",
                                 name=sys.argv[4] + name, **kw)
        out[name] = [201, ct.id]
    except docker.errors.APIError as e:
        out[name] = [e.status_code, e.explanation]
print(json.dumps(out))
"""


def test_python_sdk_under_profile(apps, testbed, app, paths):
    """docker-py (what compose 1.29 and Ansible use) as the apps profile."""
    script = os.path.join(testbed.tmpdir("psdk"), "sdk.py")
    os.chmod(os.path.dirname(script), 0o755)
    with open(script, "w") as fh:
        fh.write(SDK_SCRIPT)
    os.chmod(script, 0o644)
    prefix = testbed.unique("psdk")
    argv = ["/usr/bin/python3", script, "unix://" + apps.sock,
            app.digest_ref, paths.data, prefix]
    if apps.user:
        argv = ["runuser", "-u", apps.user.name, "--"] + argv
    res = tb.run(argv, env=tb.client_env(None), cwd="/", timeout=120,
                 check=False)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for name, key in (("priv", "privileged"), ("bind", "bind_mounts")):
        status, msg = out[name]
        assert status == 403, out
        assert 'profile "apps"' in msg and "profile.apps." + key in msg, msg
        assert_audited(apps, msg)
        assert not exists(testbed, "container", prefix + name)
    assert out["ok"][0] == 201, out


# ==========================================================================
# a start that carries a HostConfig (API < 1.24: the engine applies it)
# ==========================================================================

@pytest.mark.parametrize("hc", [{"Privileged": True},
                                {"Binds": ["/etc:/x"]},
                                {"privileged": True},
                                {"CapAdd": ["NET_ADMIN"]},
                                {"PidMode": "host"}],
                         ids=["Privileged", "Binds", "privileged-lower",
                              "CapAdd", "PidMode"])
def test_old_api_start_with_hostconfig(apps, testbed, app, hc):
    name = create_allowed(testbed, app, apps)
    r = apps.raw("POST", "/v1.23/containers/%s/start" % name, hc)
    assert r is not None and r.status == 403, r
    msg = msg_of(r) or ""
    # no key allows this (the HostConfig belongs to the create): the
    # message names the profile and what to do instead
    assert msg.startswith("docker-guard: ") and 'profile "apps"' in msg, msg
    assert_audited(apps, msg)
    info = json.loads(engine(testbed, "inspect", name).stdout)[0]
    assert not info["State"]["Running"] and info["State"]["StartedAt"] \
        .startswith("0001"), info["State"]
    assert not info["HostConfig"]["Privileged"]
    assert not info["HostConfig"]["Binds"]


def test_old_api_start_without_body_allowed(apps, testbed, app):
    """The guard lets it through; an engine without API 1.23 (dockerd 25
    and later) refuses the version itself."""
    name = create_allowed(testbed, app, apps)
    r = apps.raw("POST", "/v1.23/containers/%s/start" % name)
    assert r is not None, r
    if r.status == 400 and "too old" in (msg_of(r) or ""):
        assert not msg_of(r).startswith("docker-guard"), r
        return
    assert r.status == 204, r


# ==========================================================================
# reload
# ==========================================================================

def test_sighup_reloads_profiles(guard_factory, users, cfgdirs, testbed, app):
    """SIGHUP re-reads the profiles (README: SIGHUP re-reads the
    configuration; only listen_profiles waits for the next start)."""
    name = testbed.unique("gh")
    g = guard_factory("socket_mode = 0666\n"
                      "profile.pr.clients = uid:%d\n"
                      "profile.pr.access = read-only\n"
                      % users["other"].uid, name=name)
    c = Client(g, "pr", g.sock, users["other"], cfgdirs["other"])
    create_refused(testbed, app, c, "access")
    with open(g.config, "w") as fh:
        fh.write("socket_mode = 0666\n"
                 "profile.pr.clients = uid:%d\n"
                 "profile.pr.privileged = no\n" % users["other"].uid)
    g.proc.popen.send_signal(1)
    tb.wait_for(lambda: create(testbed, app, c)[0].returncode == 0,
                "the reloaded profile to allow a create", timeout=20,
                interval=0.5)
    create_refused(testbed, app, c, "privileged", "--privileged")


# ==========================================================================
# beyond: builds and plugins, which run containers of their own
# ==========================================================================

def build_context(testbed, app):
    d = testbed.tmpdir("pbctx")
    os.chmod(d, 0o755)
    path = os.path.join(d, "Dockerfile")
    with open(path, "w") as fh:
        fh.write("FROM %s\nRUN true\n" % app.digest_ref)
    os.chmod(path, 0o644)
    return d


def test_beyond_build_network_host(apps, testbed, app):
    """A legacy build's RUN steps are containers: `docker build --network
    host` runs them in the host's network namespace, which
    host_namespaces = none refuses to a create."""
    ctx = build_context(testbed, app)
    base = ["env", "DOCKER_BUILDKIT=0", "/usr/bin/docker", "build", "-q"]
    env = tb.client_env("unix://" + apps.sock, apps.cfgdir)

    def build(net):
        argv = base + ["--network", net, "-t", testbed.unique("pbt"), ctx]
        if apps.user:
            argv = ["runuser", "-u", apps.user.name, "--"] + argv
        return tb.run(argv, env=env, cwd="/", timeout=180, check=False)

    assert_ok(build("none"), "a build with --network none")
    assert_cli_refused(build("host"), apps, "host_namespaces")


@pytest.mark.parametrize("opts", [
    ("--security-opt", "seccomp=unconfined"),
    ("--security-opt", "no-new-privileges", "--security-opt",
     "apparmor=unconfined"),
], ids=["seccomp=unconfined", "second-apparmor=unconfined"])
def test_beyond_build_security_opt(apps, testbed, app, opts):
    """A legacy build gives its securityopt values to every RUN step's
    container: what privileged = no refuses to a create."""
    ctx = build_context(testbed, app)
    argv = ["env", "DOCKER_BUILDKIT=0", "/usr/bin/docker", "build", "-q",
            "--network", "none", *opts, "-t", testbed.unique("pbt"), ctx]
    if apps.user:
        argv = ["runuser", "-u", apps.user.name, "--"] + argv
    res = tb.run(argv, env=tb.client_env("unix://" + apps.sock, apps.cfgdir),
                 cwd="/", timeout=180, check=False)
    assert_cli_refused(res, apps, "privileged")
    assert "lifts its confinement" in res.stderr, res.stderr


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/v1.41/swarm/join", {"RemoteAddrs": ["192.0.2.1:2377"],
                                   "JoinToken": "SWMTKN-1-x-y"}),
    # an address the engine refuses, should the guard ever forward it
    ("POST", "/v1.41/swarm/init", {"ListenAddr": "no-such-address:99999"}),
    ("POST", "/v1.41/swarm/update?version=1", {}),
    ("GET", "/v1.41/swarm", None),
    ("GET", "/swarm/unlockkey", None),
], ids=["join", "init", "update", "inspect", "unlockkey"])
def test_beyond_swarm_join_and_tokens(apps, testbed, method, path, body):
    """Joining another swarm lets its managers run anything here; the join
    tokens let another machine join this one as a manager.  A limited
    profile does neither (the engine is no swarm member: had the guard
    forwarded, it would have answered 503 or joined)."""
    r = apps.raw(method, path, body)
    msg = assert_raw_refused(r, apps, "privileged")
    assert "swarm" in msg, msg
    info = json.loads(engine(testbed, "info", "--format",
                             "{{json .Swarm}}").stdout)
    assert info.get("LocalNodeState") == "inactive", info


def test_beyond_swarm_tokens_read_only(ro, testbed):
    r = ro.raw("GET", "/v1.41/swarm")
    msg = assert_raw_refused(r, ro, "access")
    assert "join tokens" in msg, msg
    # the rest of the swarm's views stay readable (the engine answers)
    r = ro.raw("GET", "/v1.41/nodes")
    assert r.status != 403, (r, msg_of(r))


def test_beyond_plugin_privileges(guard_factory, testbed):
    """A managed plugin runs with the privileges granted at pull: host
    mounts, devices, capabilities, the host's namespaces.  A limited
    profile must not grant them (the plugin does not exist: if the guard
    forwards, the engine fails the pull, nothing is installed).  The
    pull rules are off here so that only the profile can refuse."""
    g = guard_factory("default_profile = lim\n"
                      "profile.lim.privileged = no\n"
                      "profile.lim.host_namespaces = none\n"
                      "profile.lim.capabilities = none\n"
                      "profile.lim.devices = none\n"
                      "profile.lim.bind_mounts = none\n"
                      "pull_require_digest = off\n"
                      "registry_presence = off\n",
                      name=testbed.unique("gpl"))
    apps = Client(g, "lim", g.sock, None, testbed.docker_config, "root")
    remote = "%s/pfnoplugin:1" % testbed.registry.addr
    privileges = [{"Name": "network", "Value": ["host"]},
                  {"Name": "mount", "Value": ["/etc"]},
                  {"Name": "device", "Value": ["/dev/loop0"]},
                  {"Name": "capabilities", "Value": ["CAP_SYS_ADMIN"]}]
    r = apps.raw("POST", "/v1.41/plugins/pull?remote=%s&name=pfp" % remote,
                 privileges)
    assert r is not None and r.status == 403, r
    msg = msg_of(r) or ""
    assert msg.startswith("docker-guard: ") and 'profile "lim"' in msg, msg
    assert "profile.lim." in msg, msg
    assert_audited(apps, msg)


# ==========================================================================
# the limits' other values: none, all, yes, a subset of namespaces
# ==========================================================================

def test_limit_values(guard_factory, testbed, app, paths):
    g = guard_factory("default_profile = v\n"
                      "profile.v.privileged = yes\n"
                      "profile.v.host_namespaces = pid uts\n"
                      "profile.v.capabilities = all\n"
                      "profile.v.devices = none\n"
                      "profile.v.bind_mounts = none\n",
                      name=testbed.unique("gv"))
    c = Client(g, "v", g.sock, None, testbed.docker_config, "root")
    create_allowed(testbed, app, c, "--privileged", "--pid", "host",
                   "--uts", "host", "--cap-add", "ALL", "--cap-add",
                   "NET_ADMIN", "-v", "pfnamed:/x", "--tmpfs", "/t")
    create_refused(testbed, app, c, "host_namespaces", "--network", "host")
    create_refused(testbed, app, c, "host_namespaces", "--ipc", "host")
    create_refused(testbed, app, c, "devices", "--device", "/dev/fuse")
    create_refused(testbed, app, c, "bind_mounts", "-v", paths.data + ":/x")
    create_refused(testbed, app, c, "bind_mounts", "--mount",
                   "type=bind,src=%s,dst=/x" % paths.data)


def test_capabilities_none(guard_factory, testbed, app):
    g = guard_factory("default_profile = n\n"
                      "profile.n.capabilities = none\n",
                      name=testbed.unique("gn"))
    c = Client(g, "n", g.sock, None, testbed.docker_config, "root")
    create_refused(testbed, app, c, "capabilities", "--cap-add", "SYS_TIME")
    create_allowed(testbed, app, c, "--cap-drop", "ALL")
    # limits unset stay today's behaviour
    create_allowed(testbed, app, c, "--privileged", "-v", "/etc:/x:ro")
