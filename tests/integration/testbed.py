"""Helpers for the real-engine integration tests of docker-guard.

Everything here is bounded: every subprocess has a timeout, every wait loop
has both an iteration count and a deadline.  Processes are only ever stopped
by the PID we got when we started them (never by name).

See /work/shared/TESTBED.md for the environment these helpers reproduce:
a private dockerd (no bridge, no iptables), a loopback registry and tiny
busybox images made with `docker import`.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_TIMEOUT = 120
BUSYBOX = shutil.which("busybox") or "/bin/busybox"

# Environment variables that would make a client talk to something other than
# the socket we point it at.
_SCRUB_ENV = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY",
              "DOCKER_CERT_PATH", "DOCKER_TLS")


class TestbedError(RuntimeError):
    __test__ = False


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

def tail(path, lines=40):
    """Last `lines` lines of a log file, for error messages."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return "<cannot read %s: %s>" % (path, exc)
    return "\n".join(data.splitlines()[-lines:])


def wait_for(predicate, what, timeout=60.0, interval=0.2, max_tries=None,
             on_fail=None):
    """Call predicate() until it returns a truthy value.

    Bounded by a deadline AND an iteration count.  predicate may raise; the
    last exception is reported.  on_fail() may return extra text (log tails).
    """
    if max_tries is None:
        max_tries = int(timeout / interval) + 10
    deadline = time.monotonic() + timeout
    last_exc = None
    for _ in range(max_tries):
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - reported below
            last_exc = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    extra = on_fail() if on_fail else ""
    raise TestbedError("timed out after %.0fs waiting for %s (last error: %r)\n%s"
                       % (timeout, what, last_exc, extra or ""))


def free_port():
    """A free TCP port on 127.0.0.1 (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def write_random(path, size):
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, 1 << 20)
            fh.write(os.urandom(n))
            left -= n
    return path


def client_env(docker_host, docker_config=None, base=None):
    """A copy of os.environ (or base) that talks to docker_host only."""
    env = dict(os.environ if base is None else base)
    for k in _SCRUB_ENV:
        env.pop(k, None)
    if docker_host is not None:
        env["DOCKER_HOST"] = docker_host
    if docker_config:
        env["DOCKER_CONFIG"] = docker_config
    return env


def run(cmd, env=None, timeout=DEFAULT_TIMEOUT, input=None, check=True,
        text=True, cwd=None, stdout=subprocess.PIPE, stdin=None):
    """subprocess.run with a mandatory timeout and a useful error message."""
    if input is not None and text and isinstance(input, bytes):
        text = False
    try:
        res = subprocess.run(cmd, env=env, timeout=timeout, input=input,
                             stdout=stdout, stderr=subprocess.PIPE, text=text,
                             cwd=cwd, stdin=stdin)
    except subprocess.TimeoutExpired as exc:
        raise TestbedError("command timed out after %ss: %s\nstdout: %r\nstderr: %r"
                           % (timeout, cmd, _short(exc.stdout), _short(exc.stderr)))
    if check and res.returncode != 0:
        raise TestbedError("command failed (rc=%d): %s\nstdout: %s\nstderr: %s"
                           % (res.returncode, cmd, _short(res.stdout),
                              _short(res.stderr)))
    return res


def _short(data, limit=4000):
    if data is None:
        return ""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    return data if len(data) <= limit else data[:limit] + "...<truncated>"


def docker(env, *args, **kw):
    """Run the `docker` on PATH with env (DOCKER_HOST set by the caller)."""
    return run(["docker"] + list(args), env=env, **kw)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def unix_http(sock_path, method, path, timeout=5.0, body=None):
    """One raw HTTP/1.1 request over a Unix socket; returns (status, bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        head = "%s %s HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n" % (method, path)
        if body is not None:
            head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
        s.sendall(head.encode() + b"\r\n" + (body or b""))
        chunks = []
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            if time.monotonic() > deadline:
                break
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
        raw = b"".join(chunks)
    finally:
        s.close()
    status_line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise TestbedError("no HTTP response on %s: %r" % (sock_path, raw[:200]))
    return int(parts[1]), raw.split(b"\r\n\r\n", 1)[-1]


def socket_connectable(path):
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


# --------------------------------------------------------------------------
# Docker generations (see tests/generation and TESTBED.md)
# --------------------------------------------------------------------------
# Where a newer client legitimately differs, tests ask these helpers, so the
# knowledge of what each generation's clients do lives here only.

GENERATIONS = ("bookworm", "trixie", "sid")


def generation():
    """The Debian generation whose dockerd and clients run the tests:
    "bookworm" (this machine: dockerd 20.10, compose 1.29, Ansible 7),
    "trixie" (dockerd 26.1, compose v2.26, Ansible 12) or "sid" (dockerd
    28.5, compose 2.40, Ansible 14); tests/generation sets DG_GENERATION."""
    gen = os.environ.get("DG_GENERATION") or "bookworm"
    if gen not in GENERATIONS:
        raise TestbedError("unknown DG_GENERATION %r" % gen)
    return gen


def compose_v1():
    """True where compose is the Python docker-compose 1.29 (bookworm);
    later generations have compose v2, the Go CLI plugin."""
    return generation() == "bookworm"


def compose_cmd():
    """The argv that runs this generation's compose (["docker-compose"] or
    ["docker", "compose"]), or None when it is not installed.  (Debian 13's
    and unstable's docker-compose package also links /usr/bin/docker-compose
    to the v2 plugin: the same compose v2, not 1.29.)"""
    if compose_v1():
        exe = shutil.which("docker-compose")
        return [exe] if exe else None
    if run(["docker", "compose", "version"], check=False,
           timeout=30).returncode != 0:
        return None
    return ["docker", "compose"]


def compose_name(project, service, index=1):
    """The name compose gives a service's container: project_service_1
    (compose 1.29) or project-service-1 (compose v2)."""
    sep = "_" if compose_v1() else "-"
    return sep.join((project, service, str(index)))


def compose_recreate_name(old_id, project, service, index=1):
    """The name in compose's create when it recreates a service's container
    old_id: compose 1.29 stops the old one and renames it <id12>_<name>
    first, then creates <name>; compose v2 creates <old id12>_<name> while
    the old one still runs, then stops and removes it and renames the new."""
    name = compose_name(project, service, index)
    return name if compose_v1() else "%s_%s" % (old_id[:12], name)


def compose_text(services):
    """A compose file (JSON, which is YAML: no quoting surprises) of
    services; with the "version" compose 1.29 needs and v2 calls obsolete."""
    doc = {"services": services}
    if compose_v1():
        doc = {"version": "2.4", "services": services}
    return json.dumps(doc, indent=2)


def modern_cli():
    """A docker CLI of today (with `docker manifest`, BuildKit's build):
    /usr/local/bin/docker (CLI 28) beside Debian 12's /usr/bin/docker
    20.10; a newer generation's own `docker` (26 or 28) elsewhere."""
    if generation() == "bookworm":
        return "/usr/local/bin/docker"
    return shutil.which("docker") or "docker"


def api_version():
    """The API version this generation's dockerd speaks (and the docker
    CLI negotiates to): 1.41, 1.45 or 1.51."""
    return {"bookworm": "1.41", "trixie": "1.45", "sid": "1.51"}[generation()]


# --------------------------------------------------------------------------
# process management (by PID only)
# --------------------------------------------------------------------------

def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children_of(pid):
    """Direct children of pid (from /proc), bounded by the process table."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return kids


def kill_pid(pid, grace=10.0):
    """SIGTERM pid (not our child), wait bounded, then SIGKILL."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    for _ in range(int(grace / 0.1) + 5):
        if not pid_alive(pid) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Proc:
    """A started background process with its log file."""

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT,
                                      env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid
        self.returncode = None
        self.stopped = False

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=40):
        return "---- %s log (%s) ----\n%s" % (self.name, self.log_path,
                                              tail(self.log_path, lines))

    def stop(self, grace=20.0):
        """SIGTERM, wait bounded, SIGKILL.  Returns the exit status."""
        if self.stopped:
            return self.returncode
        self.stopped = True
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self.returncode = self.popen.returncode
        self._log.close()
        return self.returncode


# --------------------------------------------------------------------------
# mounts
# --------------------------------------------------------------------------

def mounts_under(root):
    root = os.path.realpath(root)
    found = []
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                mp = line.split()[4].replace("\\040", " ")
                if mp == root or mp.startswith(root + "/"):
                    found.append(mp)
    except OSError:
        pass
    return found


def unmount_under(root):
    for mp in sorted(mounts_under(root), key=len, reverse=True):
        run(["umount", "-l", mp], check=False, timeout=30)


# --------------------------------------------------------------------------
# dockerd, registry, guard
# --------------------------------------------------------------------------

class Dockerd:
    def __init__(self, tdir):
        self.tdir = tdir
        self.sock = os.path.join(tdir, "docker.sock")
        self.host = "unix://" + self.sock
        self.pidfile = os.path.join(tdir, "docker.pid")
        self.log = os.path.join(tdir, "dockerd.log")
        self.proc = None
        self.env = None

    def start(self, docker_config, timeout=60):
        cmd = ["dockerd",
               "--data-root", os.path.join(self.tdir, "docker"),
               "--exec-root", os.path.join(self.tdir, "exec"),
               "--host", self.host,
               "--pidfile", self.pidfile,
               "--bridge=none", "--iptables=false", "--ip6tables=false",
               "--ip-masq=false"]
        self.proc = Proc("dockerd", cmd, self.log)
        self.env = client_env(self.host, docker_config)

        def ready():
            if not self.proc.alive():
                raise TestbedError("dockerd exited rc=%s" % self.proc.popen.returncode)
            return run(["docker", "-H", self.host, "version"], env=self.env,
                       timeout=10, check=False).returncode == 0

        wait_for(ready, "dockerd to answer on " + self.sock, timeout=timeout,
                 interval=0.3, on_fail=self.proc.log_tail)

    def containerd_pid(self):
        p = os.path.join(self.tdir, "exec", "containerd", "containerd.pid")
        try:
            with open(p) as fh:
                return int(fh.read().strip())
        except (OSError, ValueError):
            return None

    def remove_all_containers(self):
        res = run(["docker", "ps", "-aq"], env=self.env, timeout=30, check=False)
        ids = res.stdout.split() if res.returncode == 0 else []
        if ids:
            run(["docker", "rm", "-f"] + ids, env=self.env, timeout=120, check=False)

    def stop(self):
        if self.proc is None:
            return
        ctrd = self.containerd_pid()
        self.proc.stop(grace=40)
        # dockerd stops its managed containerd; if it was SIGKILLed, do it.
        if ctrd and pid_alive(ctrd):
            try:
                with open("/proc/%d/cmdline" % ctrd, "rb") as fh:
                    mine = self.tdir.encode() in fh.read()
            except OSError:
                mine = False
            if mine:
                kill_pid(ctrd)


class Registry:
    def __init__(self, tdir):
        self.tdir = tdir
        self.config = os.path.join(tdir, "registry.yml")
        self.log = os.path.join(tdir, "registry.log")
        self.port = None
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=30, attempts=3):
        last = None
        for _ in range(attempts):  # the free port may be stolen in between
            self.port = free_port()
            with open(self.config, "w") as fh:
                fh.write("version: 0.1\n"
                         "log: {level: info}\n"
                         "storage:\n"
                         "  filesystem: {rootdirectory: %s}\n"
                         "  delete: {enabled: true}\n"
                         "http: {addr: %s}\n"
                         % (os.path.join(self.tdir, "registry"), self.addr))
            self.proc = Proc("registry", ["docker-registry", "serve", self.config],
                             self.log)

            def ready():
                if not self.proc.alive():
                    raise TestbedError("registry exited")
                return http_get("http://%s/v2/" % self.addr, timeout=2)[0] == 200

            try:
                wait_for(ready, "registry on " + self.addr, timeout=timeout,
                         interval=0.2, on_fail=self.proc.log_tail)
                return
            except TestbedError as exc:
                last = exc
                self.proc.stop(grace=5)
        raise last

    def manifest_digest(self, repo, ref):
        req = urllib.request.Request(
            "http://%s/v2/%s/manifests/%s" % (self.addr, repo, ref), method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.headers["Docker-Content-Digest"]

    def stop(self):
        if self.proc:
            self.proc.stop(grace=10)


class Guard:
    """A running docker-guard (or the socat stand-in) in front of dockerd."""

    def __init__(self, testbed, name, config_text=""):
        self.testbed = testbed
        self.name = name
        self.dir = os.path.join(testbed.tdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "guard.sock")
        self.host = "unix://" + self.sock
        self.config = os.path.join(self.dir, "guard.conf")
        self.db = os.path.join(self.dir, "guard.db")
        self.log = os.path.join(self.dir, "guard.log")
        with open(self.config, "w") as fh:
            fh.write(config_text or "")
        self.env = client_env(self.host, testbed.docker_config)
        self.direct_env = client_env(testbed.dockerd.host, testbed.docker_config)
        self.standin = os.environ.get("GUARD_STANDIN", "")
        self.proc = None
        self.exit_status = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def command(self):
        if self.standin == "socat":
            # -t: after EOF on one side keep the other direction open (the
            # default 0.5 s would truncate half-closed exec/attach streams).
            return ["socat", "-t", "60",
                    "UNIX-LISTEN:%s,fork,mode=660" % self.sock,
                    "UNIX-CONNECT:%s" % self.testbed.dockerd.sock]
        if self.standin:
            raise TestbedError("unknown GUARD_STANDIN=%r (only 'socat')" % self.standin)
        binary = os.environ.get("DOCKER_GUARD_BIN",
                                os.path.join(REPO, "build", "docker-guard"))
        if not os.access(binary, os.X_OK):
            raise TestbedError(
                "docker-guard binary not found at %s: build it, point "
                "DOCKER_GUARD_BIN at it, or run with GUARD_STANDIN=socat" % binary)
        return [binary, "serve", "--config", self.config, "--listen", self.sock,
                "--upstream", self.testbed.dockerd.sock, "--database", self.db]

    def start(self, timeout=30):
        self.proc = Proc("guard " + self.name, self.command(), self.log)

        def ready():
            if not self.proc.alive():
                raise TestbedError("guard exited rc=%s" % self.proc.popen.returncode)
            if not socket_connectable(self.sock):
                return False
            # any HTTP answer means it is serving (policy may refuse /_ping)
            unix_http(self.sock, "GET", "/_ping", timeout=5)
            return True

        wait_for(ready, "guard socket " + self.sock, timeout=timeout, interval=0.1,
                 on_fail=self.proc.log_tail)
        return self

    def alive(self):
        return self.proc is not None and self.proc.alive()

    @property
    def stopped(self):
        return self.proc is None or self.proc.stopped

    def stop(self, grace=15):
        """SIGTERM, wait bounded, SIGKILL; returns the exit status."""
        if self.proc is None:
            return None
        kids = children_of(self.proc.pid) if self.proc.alive() else []
        self.exit_status = self.proc.stop(grace=grace)
        for kid in kids:  # socat's forked per-connection children
            kill_pid(kid, grace=2)
        return self.exit_status

    def expected_exit_statuses(self):
        # the real guard must exit 0 on SIGTERM; socat exits 128+15
        return (0, 143) if self.standin == "socat" else (0,)

    def log_tail(self, lines=40):
        return self.proc.log_tail(lines) if self.proc else ""


class Image:
    def __init__(self, tag, image_id, version, registry_ref=None, digest_ref=None):
        self.tag = tag                    # app:31.0.9.1
        self.id = image_id                # sha256:...
        self.version = version            # 31.0.9.1
        self.registry_ref = registry_ref  # 127.0.0.1:PORT/app:31.0.9.1
        self.digest_ref = digest_ref      # 127.0.0.1:PORT/app@sha256:...

    def __repr__(self):
        return "Image(%s %s %s)" % (self.tag, self.id[:19], self.digest_ref)


def make_rootfs(path, extra_files=None):
    """A busybox rootfs with every applet linked into /bin."""
    bindir = os.path.join(path, "bin")
    os.makedirs(bindir, exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(bindir, "busybox"))
    applets = run([BUSYBOX, "--list"], timeout=10).stdout.split()
    for applet in applets:
        if applet == "busybox" or "/" in applet:
            continue
        link = os.path.join(bindir, applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    for d in ("tmp", "etc", "root", "proc", "sys", "dev"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    with open(os.path.join(path, "etc", "passwd"), "w") as fh:
        fh.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(path, "etc", "group"), "w") as fh:
        fh.write("root:x:0:\n")
    for rel, content in (extra_files or {}).items():
        full = os.path.join(path, rel.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(content, int):
            write_random(full, content)
        else:
            with open(full, "wb") as fh:
                fh.write(content if isinstance(content, bytes) else content.encode())
    return path


def import_image(env, workdir, tag, version, extra_files=None, timeout=300,
                 cmd='["/bin/sh"]'):
    """Build a busybox image with `docker import` (CMD cmd, a JSON array);
    returns its image ID."""
    os.makedirs(workdir, exist_ok=True)
    rootfs = tempfile.mkdtemp(prefix="rootfs", dir=workdir)
    make_rootfs(rootfs, extra_files)
    tar_path = rootfs + ".tar"
    run(["tar", "-C", rootfs, "-cf", tar_path, "."], timeout=timeout)
    try:
        run(["docker", "import",
             "-c", "LABEL org.opencontainers.image.version=%s" % version,
             "-c", "CMD " + cmd, tar_path, tag], env=env, timeout=timeout)
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
        os.unlink(tar_path)
    return image_id(env, tag)


def image_id(env, ref):
    return run(["docker", "image", "inspect", "--format", "{{.Id}}", ref],
               env=env, timeout=30).stdout.strip()


def repo_digests(env, ref):
    out = run(["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", ref],
              env=env, timeout=30).stdout
    return json.loads(out) or []


def push(env, ref, timeout=300):
    res = run(["docker", "push", ref], env=env, timeout=timeout)
    return res


def digest_ref_for(env, ref, registry_addr, repo):
    prefix = "%s/%s@" % (registry_addr, repo)
    for d in repo_digests(env, ref):
        if d.startswith(prefix):
            return d
    raise TestbedError("no repo digest %s* for %s" % (prefix, ref))


class Testbed:
    """Private dockerd + registry + base images.  One per session."""

    __test__ = False

    BASE_VERSIONS = ("31.0.9.1", "31.0.8.1")

    def __init__(self):
        self.tdir = tempfile.mkdtemp(prefix="dg", dir="/tmp")
        os.chmod(self.tdir, 0o755)
        self.docker_config = os.path.join(self.tdir, "dockercfg")
        os.makedirs(self.docker_config, exist_ok=True)
        self.work = os.path.join(self.tdir, "work")
        os.makedirs(self.work, exist_ok=True)
        self.dockerd = Dockerd(self.tdir)
        self.registry = Registry(self.tdir)
        self.images = {}
        self.guards = []
        self._counter = 0
        self._lock = threading.Lock()

    @property
    def direct_env(self):
        return self.dockerd.env

    def unique(self, prefix="t"):
        with self._lock:
            self._counter += 1
            return "%s%d%s" % (prefix, self._counter, os.urandom(3).hex())

    def start(self):
        self.dockerd.start(self.docker_config)
        self.registry.start()
        for version in self.BASE_VERSIONS:
            tag = "app:" + version
            iid = import_image(self.direct_env, self.work, tag, version,
                               extra_files={"etc/app-version": version + "\n"})
            rref = "%s/app:%s" % (self.registry.addr, version)
            run(["docker", "tag", tag, rref], env=self.direct_env, timeout=30)
            push(self.direct_env, rref)
            dref = digest_ref_for(self.direct_env, rref, self.registry.addr, "app")
            self.images[version] = Image(tag, iid, version, rref, dref)
        return self

    def start_guard(self, config_text="", name=None):
        g = Guard(self, name or self.unique("g"), config_text)
        self.guards.append(g)
        return g.start()

    def tmpdir(self, prefix="w"):
        return tempfile.mkdtemp(prefix=prefix, dir=self.work)

    def diagnostics(self):
        parts = [self.dockerd.proc.log_tail(20) if self.dockerd.proc else ""]
        for g in self.guards:
            if g.proc:
                parts.append(g.log_tail(40))
        return "\n".join(p for p in parts if p)

    def teardown(self):
        errors = []
        try:
            if self.dockerd.proc and self.dockerd.proc.alive():
                self.dockerd.remove_all_containers()
        except Exception as exc:  # noqa: BLE001
            errors.append("removing containers: %r" % exc)
        for g in self.guards:
            try:
                g.stop()
            except Exception as exc:  # noqa: BLE001
                errors.append("stopping guard %s: %r" % (g.name, exc))
        for part in (self.registry, self.dockerd):
            try:
                part.stop()
            except Exception as exc:  # noqa: BLE001
                errors.append("stopping %s: %r" % (type(part).__name__, exc))
        unmount_under(self.tdir)
        if os.environ.get("DG_KEEP_TESTBED"):
            return errors
        shutil.rmtree(self.tdir, ignore_errors=True)
        if os.path.exists(self.tdir):
            unmount_under(self.tdir)
            shutil.rmtree(self.tdir, ignore_errors=True)
        if os.path.exists(self.tdir):
            errors.append("could not remove %s" % self.tdir)
        return errors


# --------------------------------------------------------------------------
# streaming helpers
# --------------------------------------------------------------------------

class LineReader:
    """Read lines from a Popen's stdout in a thread, with bounded waits."""

    def __init__(self, popen):
        self.popen = popen
        self.lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        try:
            for raw in iter(self.popen.stdout.readline, b""):
                with self._cond:
                    self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def wait(self, predicate, timeout):
        """Wait until predicate(lines) is true; returns it (bounded)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            for _ in range(100000):
                value = predicate(self.lines)
                if value or self._eof:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return value
                self._cond.wait(min(left, 0.5))
        return predicate(self.lines)


def stop_popen(popen, grace=5):
    """SIGTERM, wait bounded, SIGKILL.  grace=0: SIGKILL at once (CLI 28's
    `docker attach --sig-proxy=false` ignores SIGTERM and SIGINT)."""
    if popen.poll() is None and grace <= 0:
        popen.kill()
        popen.wait(timeout=10)
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=10)
    return popen.returncode


class Side:
    """One way of reaching the engine: through the guard or directly."""

    def __init__(self, name, host, env):
        self.name = name    # "guard" or "direct"
        self.host = host    # unix:///...
        self.env = env      # os.environ copy with DOCKER_HOST=host

    @property
    def sock(self):
        return self.host[len("unix://"):]

    def docker(self, *args, **kw):
        return run(["docker"] + list(args), env=self.env, **kw)

    def __repr__(self):
        return "Side(%s)" % self.name


def run_playbook(d, env, docker_host, play, run_id, extra, timeout=180):
    """Run ansible-playbook on localhost with the json callback: play is a
    file in d, extra the play's variables (docker_host added).  Returns
    (completed process, parsed output, localhost stats); an output that
    does not parse raises AssertionError with both streams."""
    vars_path = os.path.join(d, "vars-%s.json" % run_id)
    with open(vars_path, "w") as fh:
        json.dump(dict(extra, docker_host=docker_host), fh)
    env = dict(env,
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
               ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCAL_TEMP=os.path.join(d, "tmp"),
               ANSIBLE_REMOTE_TEMP=os.path.join(d, "tmp"))
    res = run([shutil.which("ansible-playbook"), "-i", "localhost,", "-c",
               "local", os.path.join(d, play), "-e", "@" + vars_path],
              env=env, cwd=d, timeout=timeout, check=False)
    try:
        doc = json.loads(res.stdout)
        stats = doc["stats"]["localhost"]
    except (ValueError, KeyError) as exc:
        raise AssertionError("ansible-playbook %s rc=%d, unparsable output "
                             "(%r)\nstdout: %s\nstderr: %s" % (
                                 play, res.returncode, exc,
                                 res.stdout[-3000:], res.stderr[-3000:]))
    return res, doc, stats


def playbook_messages(doc):
    """Every task result's msg, in order."""
    return [str(h.get("msg", "")) for p in doc.get("plays", [])
            for t in p["tasks"] for h in t["hosts"].values()]
