"""docker-guard under systemd: socket activation and sd_notify, against the
real private dockerd, with a Python stand-in for systemd.

The stand-in (Activator) does what systemd does for docker-guard.socket and
a Type=notify service: it binds the listening Unix socket itself and keeps
it across guard restarts, starts each guard with that socket as fd 3 and
LISTEN_PID/LISTEN_FDS set, and reads the guard's notifications on a Unix
datagram socket named by NOTIFY_SOCKET.  Shown here:

- READY=1 (with MAINPID and STATUS) arrives, and clients work through the
  activated socket; the `listen` setting is ignored;
- restarts (SIGTERM, then the next guard on the same socket) under a loop
  of `docker version` / `docker ps` lose no call, each guard says
  STOPPING=1, and none removes the socket it did not bind;
- SIGHUP says RELOADING=1 (with MONOTONIC_USEC), then READY=1;
- a descriptor that is not a listening Unix stream socket, or two of
  them, is refused with a clear message and exit status 1;
- an engine restart behind the activated guard gives the Docker-shaped
  502, then the guard recovers.

The booted-host test (real systemd as PID 1, the package's units) lives
elsewhere; this one needs only root and the test bed.
"""

import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import testbed as tb

# bash: the listening socket arrives on some fd N of ours; the script moves
# it to fd 3 and sets LISTEN_PID to the pid that will exec the guard.
ACTIVATE = ('export LISTEN_PID=$$ LISTEN_FDS="$1"; exec 3<&"$2"; '
            'eval "exec $2<&-"; shift 2; exec "$@"')

SANITIZER_MARKS = ("AddressSanitizer", "UndefinedBehaviorSanitizer",
                   "runtime error:", "LeakSanitizer")



def read_to_close(sock, max_reads=100):
    """What sock receives until the peer closes (at most max_reads reads);
    the socket is closed after."""
    data = b""
    for _ in range(max_reads):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data

def guard_binary():
    return os.environ.get("DOCKER_GUARD_BIN",
                          os.path.join(tb.REPO, "build", "docker-guard"))


class Activator:
    """systemd's part: the listening socket, the notify socket, the
    guard processes started on them (stopped by PID)."""

    def __init__(self, testbed, name, config_text="", notify_abstract=False):
        self.testbed = testbed
        self.dir = testbed.tmpdir(name)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "docker.sock")
        self.unused = os.path.join(self.dir, "listen-setting.sock")
        self.config = os.path.join(self.dir, "guard.conf")
        self.db = os.path.join(self.dir, "guard.db")
        with open(self.config, "w") as fh:
            fh.write("listen = %s\n%s" % (self.unused, config_text))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.sock)
        os.chmod(self.sock, 0o660)
        self.listener.listen(4096)
        self.inode = os.stat(self.sock).st_ino
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if notify_abstract:
            name = "dg-notify-%d-%s" % (os.getpid(), os.urandom(4).hex())
            self.notify.bind("\0" + name)
            self.notify_addr = "@" + name
        else:
            self.notify_addr = os.path.join(self.dir, "notify.sock")
            self.notify.bind(self.notify_addr)
        self.messages = []  # (pid, {key: value}) in arrival order
        self.procs = []
        self.env = tb.client_env("unix://" + self.sock,
                                 testbed.docker_config)

    # -- processes ---------------------------------------------------------

    def start(self, fd=None, n_fds="1", extra_args=(), notify=None):
        """Start a guard on the listening socket (or on fd) as fd 3;
        notify: another NOTIFY_SOCKET value."""
        fd = self.listener.fileno() if fd is None else fd
        n = len(self.procs)
        log = open(os.path.join(self.dir, "guard%d.log" % n), "ab")
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = notify or self.notify_addr
        for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            env.pop(k, None)
        cmd = ["bash", "-c", ACTIVATE, "activate", n_fds, str(fd),
               guard_binary(), "serve", "--config", self.config,
               "--upstream", self.testbed.dockerd.sock,
               "--database", self.db] + list(extra_args)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env,
                             pass_fds=(fd,), start_new_session=True)
        p.log_path = log.name
        log.close()
        self.procs.append(p)
        return p

    def log(self, p):
        with open(p.log_path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def stop(self, p, grace=20):
        """SIGTERM by PID, bounded wait, SIGKILL; the exit status."""
        return tb.stop_popen(p, grace=grace)

    def close(self):
        statuses = [self.stop(p) for p in self.procs]
        self.listener.close()
        self.notify.close()
        return statuses

    # -- notifications -----------------------------------------------------

    def _read(self, timeout):
        self.notify.settimeout(timeout)
        try:
            data, _ = self.notify.recvfrom(4096)
        except socket.timeout:
            return False
        pairs = dict(line.split("=", 1)
                     for line in data.decode().split("\n") if line)
        self.messages.append(pairs)
        return True

    def wait_message(self, key, value="1", pid=None, timeout=30.0,
                     since=0):
        """The first message at index >= since with key=value (and
        MAINPID=pid when given), waiting up to timeout."""
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            for i in range(since, len(self.messages)):
                m = self.messages[i]
                if m.get(key) == value and (
                        pid is None or m.get("MAINPID", str(pid)) == str(pid)):
                    return i, m
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._read(min(left, 1.0))
        raise AssertionError("no %s=%s from the guard within %ss; got %r"
                             % (key, value, timeout, self.messages))

    def drain_messages(self, settle=0.3):
        while self._read(settle):
            pass


@pytest.fixture
def activator(testbed):
    made = []

    def make(config_text="", **kw):
        a = Activator(testbed, testbed.unique("sd"), config_text, **kw)
        made.append(a)
        return a

    yield make
    for a in made:
        statuses = a.close()
        logs = "\n".join(a.log(p)[-3000:] for p in a.procs)
        for mark in SANITIZER_MARKS:
            assert mark not in logs, logs


def docker_ok(env, *args, timeout=60):
    return tb.run(["docker"] + list(args), env=env, timeout=timeout,
                  check=False)


def start_ready(a, **kw):
    p = a.start(**kw)
    _, msg = a.wait_message("READY", pid=p.pid)
    return p, msg


# --------------------------------------------------------------------------
# readiness and requests through the activated socket
# --------------------------------------------------------------------------

@pytest.mark.parametrize("abstract", [False, True],
                         ids=["notify-path", "notify-abstract"])
def test_ready_and_requests_through_activated_socket(activator, abstract):
    a = activator(notify_abstract=abstract)
    p, ready = start_ready(a)
    assert ready["MAINPID"] == str(p.pid), ready
    assert a.sock in ready.get("STATUS", ""), ready
    r = docker_ok(a.env, "version", "--format", "{{.Server.Version}}")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    r = docker_ok(a.env, "ps")
    assert r.returncode == 0, r.stderr
    status, body = tb.unix_http(a.sock, "GET", "/_ping")
    assert (status, body) == (200, b"OK")
    log = a.log(p)
    assert "listening on %s (socket from systemd" % a.sock in log, log
    # the `listen` setting is not bound when activated
    assert not os.path.exists(a.unused)
    assert a.stop(p) == 0, a.log(p)
    assert os.stat(a.sock).st_ino == a.inode


# --------------------------------------------------------------------------
# restarts under load
# --------------------------------------------------------------------------

def client_loop(env, stop, results, max_calls=300, budget=60.0):
    """Alternate `docker version` and `docker ps` until max_calls, the
    budget or stop; append (ok, what) per call."""
    deadline = time.monotonic() + budget
    for i in range(max_calls):
        if stop.is_set() or time.monotonic() > deadline:
            break
        args = ("version",) if i % 2 == 0 else ("ps", "-q")
        try:
            r = docker_ok(env, *args, timeout=60)
            results.append((r.returncode == 0,
                            "%s rc=%d %s" % (args[0], r.returncode,
                                             r.stderr.strip()[-300:])))
        except tb.TestbedError as exc:
            results.append((False, "%s: %s" % (args[0], exc)))


def test_restart_loop_loses_no_call(activator):
    a = activator()
    p, _ = start_ready(a)
    stop = threading.Event()
    results = []
    t = threading.Thread(target=client_loop,
                         args=(a.env, stop, results), daemon=True)
    t.start()
    restarts = 0
    stopping_seen = 0
    t0 = time.monotonic()
    try:
        for _ in range(8):
            # let some calls land on this guard, then restart it like
            # `systemctl restart`: SIGTERM, wait for the exit, start anew
            before = len(results)
            tb.wait_for(lambda: len(results) >= before + 8 or not t.is_alive(),
                        "calls through guard %d" % p.pid, timeout=40)
            if not t.is_alive():
                break
            since = len(a.messages)
            p.send_signal(signal.SIGTERM)
            a.wait_message("STOPPING", since=since, timeout=10)
            assert p.wait(timeout=20) == 0, a.log(p)[-3000:]
            restarts += 1
            assert os.path.exists(a.sock), "the guard removed systemd's socket"
            assert os.stat(a.sock).st_ino == a.inode
            p, _ = start_ready(a)
            stopping_seen += 1
    finally:
        t.join(timeout=90)
        stop.set()
    elapsed = time.monotonic() - t0
    bad = [w for ok, w in results if not ok]
    print("restart loop: %d calls, %d restarts, %.1f s, %d errors"
          % (len(results), restarts, elapsed, len(bad)))
    assert restarts >= 3, (restarts, len(results))
    assert stopping_seen == restarts
    assert not bad, "%d of %d calls failed across %d restarts:\n%s" % (
        len(bad), len(results), restarts, "\n".join(bad[:10]))
    assert len(results) >= 50, len(results)
    # every guard's log says it took the socket and stopped cleanly
    for q in a.procs[:-1]:
        log = a.log(q)
        assert "socket from systemd" in log and "stopped" in log, log[-2000:]


def test_sigterm_finishes_in_flight_and_keeps_socket(activator):
    """A request in flight at SIGTERM ends with its answer; a client that
    connects while no guard runs is served by the next one."""
    a = activator()
    p, _ = start_ready(a)
    # `docker events --since` with --until in the future: a response that
    # runs for a while (in flight at SIGTERM)
    until = str(int(time.time()) + 3)
    events = subprocess.Popen(
        ["docker", "events", "--since", "0", "--until", until,
         "--format", "{{.Type}}"],
        env=a.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        time.sleep(1.0)
        since = len(a.messages)
        p.send_signal(signal.SIGTERM)
        a.wait_message("STOPPING", since=since, timeout=10)
        # no guard accepts now: a connection waits in systemd's backlog
        waiting = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        waiting.settimeout(30)
        waiting.connect(a.sock)
        waiting.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n"
                        b"Connection: close\r\n\r\n")
        out, err = events.communicate(timeout=30)
        assert events.returncode == 0, err
        assert p.wait(timeout=20) == 0, a.log(p)
        assert os.stat(a.sock).st_ino == a.inode
        q, _ = start_ready(a)
        data = read_to_close(waiting)
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        assert data.endswith(b"OK"), data[-200:]
    finally:
        if events.poll() is None:
            events.kill()
            events.wait(timeout=10)


# --------------------------------------------------------------------------
# reload
# --------------------------------------------------------------------------

def test_sighup_reloading_then_ready(activator):
    a = activator()
    p, _ = start_ready(a)
    since = len(a.messages)
    p.send_signal(signal.SIGHUP)
    i, reloading = a.wait_message("RELOADING", since=since, timeout=10)
    usec = int(reloading["MONOTONIC_USEC"])
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert 0 < usec <= now and now - usec < 30_000_000, (usec, now)
    j, ready = a.wait_message("READY", pid=p.pid, since=i + 1, timeout=10)
    assert j > i
    # listen is not the guard's to change when activated: no warning
    with open(a.config, "w") as fh:
        fh.write("listen = %s.other\n" % a.unused)
    since = len(a.messages)
    p.send_signal(signal.SIGHUP)
    i, _ = a.wait_message("RELOADING", since=since, timeout=10)
    a.wait_message("READY", pid=p.pid, since=i + 1, timeout=10)
    assert a.log(p).count("configuration reloaded") == 2, a.log(p)
    assert "take effect at the next start" not in a.log(p), a.log(p)
    # a broken configuration is refused, and READY=1 still follows
    with open(a.config, "a") as fh:
        fh.write("no_such_setting = 1\n")
    since = len(a.messages)
    p.send_signal(signal.SIGHUP)
    i, _ = a.wait_message("RELOADING", since=since, timeout=10)
    a.wait_message("READY", pid=p.pid, since=i + 1, timeout=10)
    r = docker_ok(a.env, "version")
    assert r.returncode == 0, r.stderr
    assert "keeping the running one" in a.log(p)


# --------------------------------------------------------------------------
# what the guard refuses to take
# --------------------------------------------------------------------------

def _regular_file(a):
    f = open(os.path.join(a.dir, "regular-file"), "w+")
    return f, "it is not a socket"


def _dgram_socket(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(os.path.join(a.dir, "dgram.sock"))
    return s, "it is not a stream socket"


def _not_listening(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(a.dir, "unlistened.sock"))
    return s, "it is not listening"


def _tcp_socket(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, "it is not a Unix socket"


@pytest.mark.parametrize("make", [_regular_file, _dgram_socket,
                                  _not_listening, _tcp_socket],
                         ids=["regular-file", "dgram", "not-listening",
                              "tcp"])
def test_bad_fd_is_refused_clearly(activator, make):
    a = activator()
    obj, why = make(a)
    try:
        p = a.start(fd=obj.fileno())
        assert p.wait(timeout=30) == 1, a.log(p)
    finally:
        obj.close()
    log = a.log(p)
    assert "fd 3 from systemd cannot serve: " + why in log, log
    assert not any(m in log for m in SANITIZER_MARKS), log
    assert not os.path.exists(a.unused)
    assert not any("READY" in m for m in a.messages), a.messages


def test_two_sockets_refused(activator):
    a = activator()
    p = a.start(n_fds="2")
    assert p.wait(timeout=30) == 1, a.log(p)
    log = a.log(p)
    assert "systemd passed 2 sockets (LISTEN_FDS=2)" in log, log
    assert os.stat(a.sock).st_ino == a.inode


def test_socket_that_is_upstream_refused(activator, testbed):
    """A docker.socket drop-in that did not apply: systemd hands the guard
    the engine's own socket path.  Shown with upstream = the activated
    socket."""
    a = activator()
    p = a.start(extra_args=("--upstream", a.sock))
    assert p.wait(timeout=30) == 1, a.log(p)
    assert "is upstream itself" in a.log(p), a.log(p)


# --------------------------------------------------------------------------
# the engine restarts behind the activated guard
# --------------------------------------------------------------------------

def test_engine_restart_502_then_recovers(activator, testbed):
    a = activator()
    p, _ = start_ready(a)
    assert docker_ok(a.env, "version").returncode == 0
    testbed.dockerd.stop()
    try:
        status, body = tb.unix_http(a.sock, "GET", "/_ping", timeout=10)
        assert status == 502, (status, body)
        msg = json.loads(body)["message"]
        assert msg.startswith("docker-guard: cannot reach the Docker engine "
                              "at %s" % testbed.dockerd.sock), msg
        r = docker_ok(a.env, "version")
        assert r.returncode != 0
        assert "cannot reach the Docker engine" in r.stderr, r.stderr
    finally:
        testbed.dockerd.start(testbed.docker_config)
    tb.wait_for(lambda: docker_ok(a.env, "ps").returncode == 0,
                "docker ps through the guard after the engine restart",
                timeout=60, interval=0.5)
    assert p.poll() is None, a.log(p)
    assert a.stop(p) == 0, a.log(p)


def test_sigterm_serves_a_connection_that_has_not_spoken_yet(activator):
    """A client the guard accepted just before SIGTERM, whose request
    arrives after it: not an idle keep-alive connection but a request
    about to be made.  It is answered, then closed (the loop above read to
    EOF), not dropped; a keep-alive connection idle after a response is
    closed at once."""
    a = activator()
    p, _ = start_ready(a)
    fresh = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fresh.settimeout(20)
    fresh.connect(a.sock)
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.settimeout(20)
    idle.connect(a.sock)
    idle.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
    first = idle.recv(65536)
    assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"OK"), first
    time.sleep(0.5)  # the guard has accepted both
    since = len(a.messages)
    p.send_signal(signal.SIGTERM)
    a.wait_message("STOPPING", since=since, timeout=10)
    assert idle.recv(65536) == b"", "idle keep-alive connection kept open"
    idle.close()
    time.sleep(0.3)
    fresh.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
    data = read_to_close(fresh)
    assert data.startswith(b"HTTP/1.1 200"), data[:300]
    assert data.endswith(b"OK"), data[-200:]
    assert p.wait(timeout=20) == 0, a.log(p)


@pytest.mark.parametrize("notify", ["/nonexistent/notify.sock", "relative",
                                    "@"],
                         ids=["missing", "relative", "empty-abstract"])
def test_notify_failure_never_stops_the_guard(activator, notify):
    """NOTIFY_SOCKET that cannot be reached or parsed: logged once, the
    guard serves, reloads and stops as usual."""
    a = activator()
    p = a.start(notify=notify)
    tb.wait_for(lambda: docker_ok(a.env, "version").returncode == 0,
                "docker version through a guard that cannot notify",
                timeout=30, interval=0.3)
    for i in range(2):
        p.send_signal(signal.SIGHUP)
        tb.wait_for(lambda: a.log(p).count("configuration reloaded") > i,
                    "reload %d" % (i + 1), timeout=10)
    assert docker_ok(a.env, "ps").returncode == 0
    assert a.stop(p) == 0, a.log(p)
    log = a.log(p)
    assert log.count("cannot notify the service manager") == 1, log
    assert a.messages == [] and not a._read(0.2)
