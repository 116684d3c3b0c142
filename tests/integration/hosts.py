"""Several Docker hosts on one machine: the bed of the fleet tests.

See /work/shared/TESTBED.md, "Several hosts: network namespaces".  The
layout, all of it made by the test and nothing in the machine's own
network namespace:

    lan        namespace dgbed-<pid>-<n>-lan: the bed's only bridge, br0,
               10.77.0.1/24, and the registry on 10.77.0.1:5000
    host K     namespace dgbed-<pid>-<n>-hK: eth0 = 10.77.0.(10+K)/24, a
               veth made in the lan namespace whose other end is a port of
               br0; its own dockerd, hostname node-K (so `docker info`
               Name and the swarm node are node-K), its default bridge and
               iptables on, inside the namespace; engine socket
               <root>/hK/docker.sock
    machine    the test code and the guards; they reach each engine by its
               socket path (unix sockets work across network namespaces).
               No namespace has a default route.

Images are named by one registry address that means the same registry in
every namespace: 127.0.0.1:P (bed.registry_addr).  In each host namespace
a socat on 127.0.0.1:P forwards over the lan to 10.77.0.1:5000; in the
machine's namespace (where the guards check registries) a socat on
127.0.0.1:P forwards to a unix socket that a socat in the lan namespace
serves.  Loopback registries are plain HTTP to dockerd and to the guard
alike, so neither needs an insecure-registry setting; each dockerd also
has --insecure-registry 10.77.0.1:5000 (bed.registry_lan_addr) for tests
that want the lan address itself.

Everything is stopped by PID; namespaces, cgroup directories and data are
removed even when a test failed, and what a crashed run left (namespaces
dgbed-<pid>-... of a PID that is gone) is removed at the next start.
"""

import glob
import itertools
import json
import os
import shlex
import shutil
import signal
import tempfile
import threading
import time

import testbed as tb

PREFIX = "dgbed-"
LAN_NET = "10.77.0."
LAN_GW = LAN_NET + "1"
LAN_REGISTRY = LAN_GW + ":5000"
CGROUP_ROOT = "/sys/fs/cgroup"
# PID 1 of the bed's images: exits at once on SIGTERM (docker stop, swarm
# task shutdown) instead of waiting out the 10 s grace.
TERM_CMD = json.dumps(["sh", "-c",
                       "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"])
REQUIRED_TOOLS = ("ip", "unshare", "dockerd", "docker", "docker-registry",
                  "socat", "iptables-save", "busybox", "tar")

_SEQ = itertools.count(1)


def ip(*args, check=True):
    """Run `ip ARGS` (bounded)."""
    return tb.run(["ip"] + [str(a) for a in args], timeout=30, check=check)


def in_ns(ns, *cmd):
    """The argv that runs cmd in network namespace ns."""
    return ["ip", "netns", "exec", ns] + [str(c) for c in cmd]


# --------------------------------------------------------------------------
# the machine's own namespace: what must not change
# --------------------------------------------------------------------------

def machine_network_state():
    """The machine's own links, IPv4 routes (every table) and the number of
    iptables-save lines: what a bed must leave as it found them."""
    links = sorted(line.split(":", 2)[1].strip().split("@")[0]
                   for line in ip("-o", "link", "show").stdout.splitlines())
    routes = sorted(ip("route", "show", "table", "all").stdout.splitlines())
    rules = tb.run(["iptables-save"], timeout=30).stdout
    return {"links": links, "routes": routes,
            "iptables_lines": len(rules.splitlines())}


def machine_changes(before, after):
    """What differs between two machine_network_state()s, as sentences."""
    out = []
    for key in ("links", "routes"):
        added = sorted(set(after[key]) - set(before[key]))
        gone = sorted(set(before[key]) - set(after[key]))
        if added or gone:
            out.append("machine %s changed: added %s, removed %s"
                       % (key, added, gone))
    if before["iptables_lines"] != after["iptables_lines"]:
        out.append("machine iptables-save went from %d to %d lines"
                   % (before["iptables_lines"], after["iptables_lines"]))
    return out


# --------------------------------------------------------------------------
# namespaces and cgroups, including what a crashed run left
# --------------------------------------------------------------------------

def netns_names():
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines()
            if line.strip()]


def destroy_netns(ns):
    """Stop every process still in ns (by PID), then delete ns."""
    res = ip("netns", "pids", ns, check=False)
    for pid in (int(p) for p in res.stdout.split() if p.isdigit()):
        tb.kill_pid(pid, grace=10)
    ip("netns", "del", ns, check=False)


def _owner(name):
    """The PID in a dgbed-<pid>-... name, or None."""
    parts = name.split("-")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else None


def remove_cgroup(path):
    """rmdir path and the directories under it, deepest first."""
    for root, dirs, _ in sorted(os.walk(path), key=lambda w: -len(w[0])):
        for d in dirs:
            try:
                os.rmdir(os.path.join(root, d))
            except OSError:
                pass
    try:
        os.rmdir(path)
    except OSError:
        pass


def clean_stale():
    """Remove the namespaces and cgroup directories of beds whose process
    is gone (a crashed or killed run); never those of a live one."""
    for ns in netns_names():
        pid = _owner(ns) if ns.startswith(PREFIX) else None
        if pid is not None and pid != os.getpid() and not tb.pid_alive(pid):
            destroy_netns(ns)
    for path in glob.glob(os.path.join(CGROUP_ROOT, "*", PREFIX + "*")):
        pid = _owner(os.path.basename(path))
        if pid is not None and pid != os.getpid() and not tb.pid_alive(pid):
            remove_cgroup(path)


def cgroup_mount_script():
    """Shell lines that mount the machine's cgroup hierarchies again (on a
    fresh /sys, as `ip netns exec` leaves it), in mountinfo order."""
    lines = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            pre, post = line.split(" - ", 1)
            mp = pre.split()[4]
            fstype, _, opts = post.split()[:3]
            if mp != CGROUP_ROOT and not mp.startswith(CGROUP_ROOT + "/"):
                continue
            q = shlex.quote(mp)
            if fstype == "tmpfs":
                lines.append("mount -t tmpfs -o mode=755 tmpfs %s" % q)
            elif fstype in ("cgroup", "cgroup2"):
                lines.append("mkdir -p %s && mount -t %s -o %s %s %s"
                             % (q, fstype, shlex.quote(opts), fstype, q))
    for entry in sorted(os.listdir(CGROUP_ROOT)):
        full = os.path.join(CGROUP_ROOT, entry)
        if os.path.islink(full):
            lines.append("ln -sfn %s %s" % (shlex.quote(os.readlink(full)),
                                            shlex.quote(full)))
    return lines


def listening(pid, addr_hex, port):
    """True when the network namespace of pid has a TCP socket listening
    on addr_hex (as /proc/net/tcp writes it) and port."""
    want = "%s:%04X" % (addr_hex, port)
    try:
        with open("/proc/%d/net/tcp" % pid) as fh:
            rows = [line.split() for line in fh.readlines()[1:]]
    except OSError:
        return False
    return any(r[1] == want and r[3] == "0A" for r in rows)


def _hex_ip(addr):
    return "".join("%02X" % int(b) for b in reversed(addr.split(".")))


def _stop_proc(proc, grace=5):
    """Stop a tb.Proc and the children it forked (socat's connections)."""
    if proc is None:
        return
    kids = tb.children_of(proc.pid) if proc.alive() else []
    proc.stop(grace=grace)
    for kid in kids:
        tb.kill_pid(kid, grace=2)


# --------------------------------------------------------------------------
# one host: a namespace and its dockerd
# --------------------------------------------------------------------------

class HostDockerd(tb.Dockerd):
    """testbed.Dockerd, started in a host's namespace (stop, containerd
    and container removal are testbed's)."""

    def __init__(self, host):
        super().__init__(host.dir)
        self.h = host

    def launch(self, docker_config):
        """Start dockerd; ready() says when it answers."""
        h = self.h
        etc = os.path.join(h.dir, "etc-docker")
        os.makedirs(etc, exist_ok=True)
        cmd = ["dockerd",
               "--data-root", os.path.join(h.dir, "docker"),
               "--exec-root", os.path.join(h.dir, "exec"),
               "--host", self.host, "--pidfile", self.pidfile,
               "--cgroup-parent", h.cgroup_parent,
               "--insecure-registry", LAN_REGISTRY]
        script = cgroup_mount_script() + [
            "mount --bind %s /etc/docker" % shlex.quote(etc),
            "hostname %s" % shlex.quote(h.name),
            "exec " + " ".join(shlex.quote(c) for c in cmd)]
        sh = "set -e\n" + "\n".join(script)
        self.proc = tb.Proc("dockerd " + h.name,
                            in_ns(h.ns, "unshare", "--uts", "sh", "-c", sh),
                            self.log)
        self.env = tb.client_env(self.host, docker_config)

    def ready(self):
        if not self.proc.alive():
            raise tb.TestbedError("dockerd of %s exited rc=%s" % (
                self.h.name, self.proc.popen.returncode))
        return tb.run(["docker", "-H", self.host, "version"], env=self.env,
                      timeout=10, check=False).returncode == 0


class Host:
    """Host K of a bed.  It also stands for a testbed.Testbed where
    testbed.Guard needs one (tdir, docker_config, dockerd)."""

    def __init__(self, bed, index):
        self.index = index
        self.name = "node-%d" % index
        self.ns = "%sh%d" % (bed.prefix, index)
        self.ip = LAN_NET + str(10 + index)
        self.dir = os.path.join(bed.root, "h%d" % index)
        os.makedirs(self.dir, exist_ok=True)
        self.tdir = self.dir
        self.docker_config = bed.docker_config
        self.cgroup_parent = "/%sh%d" % (bed.prefix, index)
        self.dockerd = HostDockerd(self)
        self.forwarder = None

    @property
    def sock(self):
        return self.dockerd.sock

    @property
    def docker_host(self):
        return self.dockerd.host

    @property
    def env(self):
        return tb.client_env(self.dockerd.host, self.docker_config)

    def __repr__(self):
        return "Host(%s %s)" % (self.name, self.ip)


# --------------------------------------------------------------------------
# the bed
# --------------------------------------------------------------------------

class Bed:
    """n_hosts Docker hosts on a lan, a registry, guards in front of them.

    Bed(tmpdir, n_hosts=3, registry=True) makes its files under a new
    directory in tmpdir (short paths: sockets); start() brings it up,
    stop() takes it down and returns a list of problems (empty when all
    went well, including the machine's own namespace being unchanged).
    As a context manager, leaving raises if stop() found a problem."""

    __test__ = False

    def __init__(self, tmpdir=None, n_hosts=3, registry=True):
        self.prefix = "%s%d-%d-" % (PREFIX, os.getpid(), next(_SEQ))
        self.root = tempfile.mkdtemp(prefix="dgbed", dir=tmpdir or "/tmp")
        os.chmod(self.root, 0o755)
        self.docker_config = os.path.join(self.root, "dockercfg")
        os.makedirs(self.docker_config, exist_ok=True)
        self.work = os.path.join(self.root, "work")
        os.makedirs(self.work, exist_ok=True)
        self.lan_ns = self.prefix + "lan"
        self.hosts = [Host(self, k) for k in range(1, n_hosts + 1)]
        self.with_registry = registry
        self.registry_port = None
        self.registry_sock = os.path.join(self.root, "registry.sock")
        self.registry_procs = []
        self.guards = []
        self.manager = None
        self.namespaces = []
        self.machine_before = None
        self.timings = {}
        self._n = itertools.count(1)

    # ---- life cycle ------------------------------------------------------

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type, exc, tb_):
        problems = self.stop()
        if problems and exc_type is None:
            raise tb.TestbedError("bed teardown: " + "; ".join(problems))
        return False

    def start(self, timeout=60):
        """Bring the bed up: namespaces, lan, registry, one dockerd per
        host (all answering).  Returns self."""
        t0 = time.monotonic()
        clean_stale()
        self.machine_before = machine_network_state()
        self._make_lan()
        for h in self.hosts:
            h.dockerd.launch(self.docker_config)
        if self.with_registry:
            self._start_registry()
        for h in self.hosts:
            tb.wait_for(h.dockerd.ready, "dockerd of %s" % h.name,
                        timeout=timeout, interval=0.1,
                        on_fail=h.dockerd.proc.log_tail)
        self.timings["up"] = time.monotonic() - t0
        return self

    def _make_lan(self):
        lan = self.lan_ns
        for ns in [lan] + [h.ns for h in self.hosts]:
            ip("netns", "add", ns)
            self.namespaces.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", lan, "link", "add", "br0", "type", "bridge")
        ip("-n", lan, "addr", "add", LAN_GW + "/24", "dev", "br0")
        ip("-n", lan, "link", "set", "br0", "up")
        for h in self.hosts:
            port = "v%d" % h.index
            # Made in the lan namespace, one end moved straight into the
            # host's: nothing ever exists in the machine's namespace.
            ip("-n", lan, "link", "add", port, "type", "veth",
               "peer", "name", "eth0", "netns", h.ns)
            ip("-n", lan, "link", "set", port, "master", "br0", "up")
            ip("-n", h.ns, "addr", "add", h.ip + "/24", "dev", "eth0")
            ip("-n", h.ns, "link", "set", "eth0", "up")

    def _registry_proc(self, name, cmd):
        p = tb.Proc(name, cmd, os.path.join(self.root, name + ".log"))
        self.registry_procs.append(p)
        return p

    def _start_registry(self, timeout=30):
        cfg = os.path.join(self.root, "registry.yml")
        with open(cfg, "w") as fh:
            fh.write("version: 0.1\nlog: {level: warn}\nstorage:\n"
                     "  filesystem: {rootdirectory: %s}\n"
                     "  delete: {enabled: true}\n"
                     "http: {addr: '%s', relativeurls: true}\n"
                     % (os.path.join(self.root, "registry"), LAN_REGISTRY))
        reg = self._registry_proc(
            "registry", in_ns(self.lan_ns, "docker-registry", "serve", cfg))
        self._registry_proc("registry-unix", in_ns(
            self.lan_ns, "socat",
            "UNIX-LISTEN:%s,fork,unlink-early,mode=600" % self.registry_sock,
            "TCP:" + LAN_REGISTRY))
        self.registry_port = tb.free_port()
        listen = "TCP-LISTEN:%d,bind=127.0.0.1,fork,reuseaddr" % self.registry_port
        machine = self._registry_proc("registry-machine", [
            "socat", listen, "UNIX-CONNECT:" + self.registry_sock])
        for h in self.hosts:
            h.forwarder = self._registry_proc("registry-" + h.name, in_ns(
                h.ns, "socat", listen, "TCP:" + LAN_REGISTRY))

        def ready():
            for p in self.registry_procs:
                if not p.alive():
                    raise tb.TestbedError("%s exited" % p.name)
            if not listening(reg.pid, _hex_ip(LAN_GW), 5000):
                return False
            if not all(listening(h.forwarder.pid, _hex_ip("127.0.0.1"),
                                 self.registry_port) for h in self.hosts):
                return False
            return tb.http_get(self.registry_url + "/v2/", timeout=2)[0] == 200

        tb.wait_for(ready, "the bed's registry", timeout=timeout,
                    interval=0.05, on_fail=lambda: "\n".join(
                        p.log_tail(10) for p in self.registry_procs) + "\n"
                    + machine.log_tail(5))

    def stop(self):
        """Take everything down by PID; returns a list of problems."""
        t0 = time.monotonic()
        errors = []
        for g in self.guards:
            errors += self._stop_guard(g)
        self._parallel(self._empty_host, errors)
        for h in self.hosts:  # SIGTERM all at once, then wait for each
            if h.dockerd.proc and h.dockerd.proc.alive():
                os.kill(h.dockerd.proc.pid, signal.SIGTERM)
        self._parallel(lambda h: h.dockerd.stop(), errors)
        for p in self.registry_procs:
            _stop_proc(p)
        for ns in reversed(self.namespaces):
            destroy_netns(ns)
        self.namespaces = []
        for h in self.hosts:
            for path in glob.glob(os.path.join(CGROUP_ROOT, "*",
                                               h.cgroup_parent.lstrip("/"))):
                remove_cgroup(path)
        left = [ns for ns in netns_names() if ns.startswith(self.prefix)]
        if left:
            errors.append("namespaces left: %s" % left)
        if self.machine_before is not None:
            errors += machine_changes(self.machine_before,
                                      machine_network_state())
        if not os.environ.get("DG_KEEP_TESTBED"):
            tb.unmount_under(self.root)
            shutil.rmtree(self.root, ignore_errors=True)
        self.timings["down"] = time.monotonic() - t0
        return errors

    def _parallel(self, fn, errors):
        """fn(host) for every host at once; exceptions become errors."""
        def one(h):
            try:
                fn(h)
            except Exception as exc:  # noqa: BLE001 - reported
                errors.append("%s: %r" % (h.name, exc))
        threads = [threading.Thread(target=one, args=(h,)) for h in self.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)

    def _empty_host(self, h):
        """Remove the services (on the manager) and every container."""
        d = h.dockerd
        if d.proc is None or not d.proc.alive():
            return
        if h is self.manager:
            ids = self.docker(h, "service", "ls", "-q", check=False).stdout.split()
            if ids:
                self.docker(h, "service", "rm", *ids, check=False)
        d.remove_all_containers()

    def _stop_guard(self, g):
        """Stop a guard the test did not stop; a guard that died or did
        not exit 0 on SIGTERM is a problem."""
        if g.stopped:
            return []
        alive = g.alive()
        status = g.stop()
        if not alive:
            return ["guard %s died during the test (rc=%s)\n%s"
                    % (g.name, status, g.log_tail(30))]
        if status not in g.expected_exit_statuses():
            return ["guard %s exited %s on SIGTERM\n%s"
                    % (g.name, status, g.log_tail(30))]
        return []

    # ---- using it --------------------------------------------------------

    def host(self, which):
        """Host by index (1..n), name (node-K) or Host."""
        if isinstance(which, Host):
            return which
        if isinstance(which, int):
            return self.hosts[which - 1]
        for h in self.hosts:
            if which in (h.name, h.ns):
                return h
        raise KeyError(which)

    def engine_socket(self, which):
        """The path of host which's engine socket (reachable from here)."""
        return self.host(which).sock

    def env(self, target):
        """A client environment for target: a host (index, name, Host), a
        guard (anything with .host = unix://...), or a socket path or
        unix:// address."""
        if isinstance(target, str) and (target.startswith("unix://")
                                        or target.startswith("/")):
            addr = target if target.startswith("unix://") else "unix://" + target
            return tb.client_env(addr, self.docker_config)
        if hasattr(target, "host") and isinstance(target.host, str):
            return tb.client_env(target.host, self.docker_config)
        return self.host(target).env

    def docker(self, target, *args, **kw):
        """Run the docker CLI against target (see env()); keyword
        arguments as testbed.run (check, timeout, input, cwd)."""
        kw.setdefault("timeout", 120)
        return tb.run(["docker"] + [str(a) for a in args],
                      env=self.env(target), **kw)

    def lan(self, *cmd, **kw):
        """Run cmd in the lan namespace (where 10.77.0.0/24 is local)."""
        kw.setdefault("timeout", 60)
        return tb.run(in_ns(self.lan_ns, *cmd), **kw)

    @property
    def registry_addr(self):
        """host:port naming the bed's registry in every namespace."""
        return "127.0.0.1:%d" % self.registry_port

    @property
    def registry_url(self):
        return "http://" + self.registry_addr

    registry_lan_addr = LAN_REGISTRY

    def push_image(self, name, version, extra_files=None, builder=1):
        """Build a busybox image name:version (label
        org.opencontainers.image.version=version, a PID 1 that exits on
        SIGTERM) on host builder, push it to the bed's registry and remove
        it from builder again, so no host has it until it pulls.  Returns
        a testbed.Image: .digest_ref is registry_addr/name@sha256:...,
        .registry_ref the tag, .id the image ID."""
        h = self.host(builder)
        rref = "%s/%s:%s" % (self.registry_addr, name, version)
        files = {"etc/app-version": version + "\n"}
        files.update(extra_files or {})
        iid = tb.import_image(h.env, self.work, rref, version,
                              extra_files=files, cmd=TERM_CMD)
        tb.push(h.env, rref)
        dref = tb.digest_ref_for(h.env, rref, self.registry_addr, name)
        self.docker(h, "image", "rm", rref)
        return tb.Image(rref, iid, version, rref, dref)

    def swarm(self, manager=1, timeout=60):
        """Make the hosts one swarm: init on manager (advertising its lan
        address), every other host joins as a worker.  Returns the
        manager's Host once `docker node ls` shows every node Ready."""
        m = self.host(manager)
        self.docker(m, "swarm", "init", "--advertise-addr", m.ip)
        token = self.docker(m, "swarm", "join-token", "-q",
                            "worker").stdout.strip()
        self.manager = m
        workers = [h for h in self.hosts if h is not m]
        errors = []
        self._parallel(lambda h: h in workers and self.docker(
            h, "swarm", "join", "--token", token, "--advertise-addr", h.ip,
            "%s:2377" % m.ip), errors)
        if errors:
            raise tb.TestbedError("swarm join: " + "; ".join(errors))

        def all_ready():
            out = self.docker(m, "node", "ls", "--format",
                              "{{.Hostname}} {{.Status}}").stdout.split("\n")
            rows = [line.split() for line in out if line.strip()]
            return (len(rows) == len(self.hosts)
                    and all(r[1] == "Ready" for r in rows))

        tb.wait_for(all_ready, "every swarm node Ready", timeout=timeout,
                    interval=0.2)
        return m

    def start_guard(self, which, extra_conf="", name=None):
        """Start a docker-guard here, in the machine's namespace, in front
        of host which's engine, with its own socket, config and database
        under that host's directory (testbed.Guard: .sock (also .socket),
        .host, .db, .env, .stop()).  The bed stops it at the end."""
        h = self.host(which)
        g = tb.Guard(h, name or "g%d" % next(self._n), extra_conf)
        g.socket = g.sock
        self.guards.append(g)
        return g.start()

    def diagnostics(self):
        parts = [h.dockerd.proc.log_tail(15) for h in self.hosts
                 if h.dockerd.proc]
        parts += [g.log_tail(40) for g in self.guards if g.proc]
        return "\n".join(parts)


def bed_fixture(n_hosts=3, **kw):
    """The body of a pytest fixture (module or session scope):
    `yield from hosts.bed_fixture(3)`.  Skips without root or the tools;
    fails the teardown when stop() found a problem (a guard that died, the
    machine's own namespace changed)."""
    import pytest
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip("required tool(s) not installed: %s" % ", ".join(missing))
    if os.geteuid() != 0:
        pytest.skip("network namespaces and dockerds need root")
    bed = Bed(n_hosts=n_hosts, **kw)
    try:
        bed.start()
    except BaseException:
        bed.stop()
        raise
    yield bed
    problems = bed.stop()
    assert not problems, "bed teardown: %s" % "\n".join(problems)
