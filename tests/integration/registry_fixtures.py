"""Extra fixtures for the registry and pull tests: real docker-registry
processes (plain, htpasswd, token auth) on free loopback ports, a Bearer
token server signing JWTs with the openssl CLI, a server that accepts and
never answers, busybox images for given platforms, audit-table readers.

Every process is started here and stopped by the PID we got; every wait
and subprocess is bounded.  Nothing here edits the shared harness.
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from testbed import (TestbedError, Proc, client_env, free_port, make_rootfs,
                     modern_cli, run, wait_for)

MT_DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ALL_MANIFEST_TYPES = ", ".join((MT_DOCKER_V2, MT_DOCKER_LIST, MT_OCI_MANIFEST,
                                MT_OCI_INDEX))

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
CLI28 = modern_cli()


def require(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip("required tool(s) not installed: %s" % ", ".join(missing))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


# --------------------------------------------------------------------------
# the registry HTTP API (for tests: digests, deletes, uploads)
# --------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def http(method, url, headers=None, body=None, timeout=15):
    """One HTTP request; returns (status, headers dict (lower-case), body)."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=dict(headers or {}))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return (resp.status, {k.lower(): v for k, v in resp.headers.items()},
                    resp.read())
    except urllib.error.HTTPError as exc:
        return (exc.code, {k.lower(): v for k, v in exc.headers.items()},
                exc.read())


class RegistryServer:
    """A docker-registry process of our own.

    auth: None, {"htpasswd": path} or {"token": {realm, service, issuer,
    rootcertbundle}}.  The storage directory survives restarts, so a
    registry can be restarted with other auth on the same port.
    """

    def __init__(self, workdir, name="reg", auth=None):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.storage = os.path.join(self.dir, "storage")
        self.config = os.path.join(self.dir, "config.yml")
        self.log = os.path.join(self.dir, "registry.log")
        self.auth = auth
        self.port = None
        self.proc = None
        self.api_auth = None     # Authorization header for our own API calls

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "http://" + self.addr

    def _write_config(self):
        lines = ["version: 0.1",
                 "log: {level: info}",
                 "storage:",
                 "  filesystem: {rootdirectory: %s}" % self.storage,
                 "  delete: {enabled: true}",
                 "http: {addr: %s}" % self.addr]
        if self.auth and "htpasswd" in self.auth:
            lines += ["auth:", "  htpasswd:",
                      "    realm: dg-basic-realm",
                      "    path: %s" % self.auth["htpasswd"]]
        elif self.auth and "token" in self.auth:
            t = self.auth["token"]
            lines += ["auth:", "  token:",
                      "    realm: %s" % t["realm"],
                      "    service: %s" % t["service"],
                      "    issuer: %s" % t["issuer"],
                      "    rootcertbundle: %s" % t["rootcertbundle"]]
        with open(self.config, "w") as fh:
            fh.write("\n".join(lines) + "\n")

    def start(self, port=None, timeout=30, attempts=3):
        """Start on port (or a free one); wait until /v2/ answers."""
        last = None
        for _ in range(1 if port else attempts):
            self.port = port or free_port()
            self._write_config()
            self.proc = Proc("registry " + self.name,
                             ["docker-registry", "serve", self.config], self.log)

            def ready():
                if not self.proc.alive():
                    raise TestbedError("registry %s exited" % self.name)
                st = http("GET", self.url + "/v2/", timeout=2)[0]
                return st in (200, 401)

            try:
                wait_for(ready, "registry " + self.addr, timeout=timeout,
                         interval=0.1, on_fail=self.proc.log_tail)
                return self
            except TestbedError as exc:
                last = exc
                self.proc.stop(grace=5)
        raise last

    def restart(self, auth="keep"):
        """Stop and start again on the same port with the same storage."""
        port = self.port
        self.stop()
        if auth != "keep":
            self.auth = auth
        # the port was ours a moment ago; a bind may race TIME_WAIT only
        # for clients, servers set SO_REUSEADDR (Go does)
        return self.start(port=port)

    def alive(self):
        return self.proc is not None and self.proc.alive()

    def stop(self, grace=10):
        if self.proc is not None and not self.proc.stopped:
            self.proc.stop(grace=grace)

    def kill(self):
        """SIGKILL by PID: the registry is gone without a goodbye."""
        if self.proc is not None and self.proc.alive():
            self.proc.popen.kill()
            self.proc.popen.wait(timeout=10)
        if self.proc is not None:
            self.proc.stop(grace=1)

    # ---- API ------------------------------------------------------------

    def _headers(self, extra=None):
        h = {}
        if self.api_auth:
            h["Authorization"] = self.api_auth() if callable(self.api_auth) \
                else self.api_auth
        h.update(extra or {})
        return h

    def head_manifest(self, repo, ref, accept=ALL_MANIFEST_TYPES):
        """(status, digest, content type) of a HEAD on the manifest."""
        st, hd, _ = http("HEAD", "%s/v2/%s/manifests/%s" % (self.url, repo, ref),
                         self._headers({"Accept": accept}))
        return st, hd.get("docker-content-digest"), hd.get("content-type")

    def digest(self, repo, ref, accept=ALL_MANIFEST_TYPES):
        st, dg, _ = self.head_manifest(repo, ref, accept)
        if st != 200 or not dg:
            raise TestbedError("HEAD %s/%s:%s -> %s" % (self.addr, repo, ref, st))
        return dg

    def get_manifest(self, repo, ref, accept=ALL_MANIFEST_TYPES):
        st, hd, body = http("GET", "%s/v2/%s/manifests/%s" % (self.url, repo, ref),
                            self._headers({"Accept": accept}))
        if st != 200:
            raise TestbedError("GET manifest %s:%s -> %s %r" % (repo, ref, st, body[:300]))
        return hd.get("content-type"), body

    def put_manifest(self, repo, ref, content_type, body):
        st, hd, resp = http("PUT", "%s/v2/%s/manifests/%s" % (self.url, repo, ref),
                            self._headers({"Content-Type": content_type}), body)
        if st != 201:
            raise TestbedError("PUT manifest %s:%s -> %s %r" % (repo, ref, st, resp[:500]))
        return hd.get("docker-content-digest")

    def delete_manifest(self, repo, digest):
        """DELETE /v2/<repo>/manifests/<digest>, as a retention job does."""
        st, _, body = http("DELETE", "%s/v2/%s/manifests/%s" % (self.url, repo, digest),
                           self._headers({"Accept": ALL_MANIFEST_TYPES}))
        if st != 202:
            raise TestbedError("DELETE %s@%s -> %s %r" % (repo, digest, st, body[:300]))
        # the registry must now say it is gone
        st2 = self.head_manifest(repo, digest)[0]
        if st2 != 404:
            raise TestbedError("after DELETE, HEAD %s@%s -> %s" % (repo, digest, st2))


# --------------------------------------------------------------------------
# htpasswd and token auth material
# --------------------------------------------------------------------------

def make_htpasswd(path, user, password):
    require("htpasswd")
    out = run(["htpasswd", "-Bbn", user, password], timeout=30).stdout
    with open(path, "w") as fh:
        fh.write(out.strip() + "\n")
    return path


class TokenServer:
    """A Bearer token service on loopback (Python http.server).

    GET /token?service=S&scope=repository:NAME:ACTIONS[&scope=...] with
    Basic credentials of `users` answers {key: JWT, "expires_in": N}; the
    JWT is RS256-signed with the openssl CLI and carries the signing cert
    in "x5c", as docker-registry's token auth verifies against its
    rootcertbundle.  Wrong or missing credentials get 401.  Every call is
    recorded (user agent, user, scopes, status).
    """

    def __init__(self, workdir, users, service="dg-registry",
                 issuer="dg-token-issuer", key="token", expires_in=60):
        require("openssl")
        self.dir = tempfile.mkdtemp(prefix="tok", dir=workdir)
        self.users = dict(users)
        self.service = service
        self.issuer = issuer
        self.key_field = key
        self.expires_in = expires_in
        self.calls = []
        self._lock = threading.Lock()
        self.keyfile = os.path.join(self.dir, "key.pem")
        self.certfile = os.path.join(self.dir, "cert.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", self.keyfile, "-out", self.certfile, "-days", "2",
             "-subj", "/CN=dg-token-signer"], timeout=60)
        der = run(["openssl", "x509", "-in", self.certfile, "-outform", "DER"],
                  timeout=30, text=False).stdout
        self.x5c = base64.b64encode(der).decode()
        self.httpd = None
        self.thread = None

    @property
    def realm(self):
        return "http://127.0.0.1:%d/token" % self.httpd.server_address[1]

    def registry_auth(self):
        return {"token": {"realm": self.realm, "service": self.service,
                          "issuer": self.issuer,
                          "rootcertbundle": self.certfile}}

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = "%s.%s" % (b64url(json.dumps(header).encode()),
                                   b64url(json.dumps(claims).encode()))
        sig = run(["openssl", "dgst", "-sha256", "-sign", self.keyfile],
                  input=signing_input.encode(), text=False, timeout=30).stdout
        return signing_input + "." + b64url(sig)

    def token_for(self, user, scopes):
        now = int(time.time())
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) >= 3:
                access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                               "actions": [a for a in parts[-1].split(",") if a]})
        claims = {"iss": self.issuer, "sub": user, "aud": self.service,
                  "exp": now + self.expires_in, "nbf": now - 30, "iat": now,
                  "jti": os.urandom(8).hex(), "access": access}
        return self.sign(claims)

    def guard_calls(self):
        with self._lock:
            return [c for c in self.calls if c["agent"].startswith("docker-guard")]

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                user = None
                ok = False
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        u_, p_ = base64.b64decode(auth[6:]).decode().split(":", 1)
                        user = u_
                        ok = server.users.get(u_) == p_
                    except Exception:  # noqa: BLE001
                        ok = False
                scopes = q.get("scope", [])
                status = 200 if (u.path == "/token" and ok) else 401
                with server._lock:
                    server.calls.append({"agent": self.headers.get("User-Agent", ""),
                                         "user": user, "scopes": scopes,
                                         "service": q.get("service", [None])[0],
                                         "status": status})
                if status == 200:
                    tok = server.token_for(user, scopes)
                    body = json.dumps({server.key_field: tok,
                                       "expires_in": server.expires_in,
                                       "issued_at": time.strftime(
                                           "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
                else:
                    body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                                   "message": "bad credentials"}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        return self

    def bearer_for(self, user, scopes):
        """An Authorization header value for our own API calls."""
        return "Bearer " + self.token_for(user, scopes)

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=10)
            self.httpd = None


class StatusServer:
    """Answers every request with one HTTP status (429, 503, ...)."""

    def __init__(self, port, status, headers=None):
        server = self
        self.status = status
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self):
                server.requests.append((self.command, self.path))
                body = b"" if self.command == "HEAD" else b'{"errors":[]}'
                self.send_response(server.status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_HEAD = _answer

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class SilentServer:
    """Accepts TCP connections on loopback and never answers a byte."""

    def __init__(self, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def _loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepted += 1
            self._conns.append(conn)   # held open, never read or written

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=5)
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


# --------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------

class ImageKit:
    """Builds tiny busybox images on the private engine (direct socket)."""

    def __init__(self, testbed):
        self.testbed = testbed
        self.env = testbed.direct_env
        self.dir = testbed.tmpdir("regkit")
        self.cfgdir = os.path.join(self.dir, "dockercfg")
        os.makedirs(self.cfgdir, exist_ok=True)
        # a client config of our own (docker manifest keeps state there)
        self.own_env = client_env(testbed.dockerd.host, self.cfgdir)
        rootfs = tempfile.mkdtemp(prefix="rootfs", dir=self.dir)
        make_rootfs(rootfs)
        self.tar = os.path.join(self.dir, "bb.tar")
        run(["tar", "-C", rootfs, "-cf", self.tar, "."], timeout=120)
        shutil.rmtree(rootfs, ignore_errors=True)

    def docker(self, *args, env=None, **kw):
        return run([DOCKER] + list(args), env=env or self.env, **kw)

    def import_image(self, ref, version, platform=None, extra_label=None):
        args = ["import"]
        if platform:
            args += ["--platform", platform]
        args += ["-c", "LABEL org.opencontainers.image.version=%s" % version]
        if extra_label:
            args += ["-c", "LABEL %s" % extra_label]
        args += ["-c", 'CMD ["/bin/sh"]', self.tar, ref]
        self.docker(*args, timeout=180)
        return self.image_id(ref)

    def image_id(self, ref):
        return self.docker("image", "inspect", "--format", "{{.Id}}", ref,
                           timeout=30).stdout.strip()

    def push(self, ref, env=None):
        self.docker("push", ref, env=env, timeout=300)

    def pull(self, ref, env=None):
        return self.docker("pull", ref, env=env, timeout=300)

    def rmi(self, *refs, env=None):
        return self.docker("rmi", "-f", *refs, env=env, timeout=60, check=False)

    def build_index(self, reg, repo, versions=("1.0.0", "1.0.0"), env=None):
        """Push linux/amd64 and linux/arm64 images to reg/repo and a Docker
        manifest list R/repo:prod over them (CLI 28 docker manifest).
        Returns dict(index=, amd64=, arm64=) digests."""
        base = "%s/%s" % (reg.addr, repo)
        out = {}
        for plat, ver in zip(("amd64", "arm64"), versions):
            ref = "%s:%s" % (base, plat)
            self.import_image(ref, ver, platform="linux/" + plat,
                              extra_label="dg.test.repo=%s" % repo)
            self.push(ref, env=env)
            out[plat] = reg.digest(repo, plat, accept=MT_DOCKER_V2)
        run([CLI28, "manifest", "create", "--insecure", base + ":prod",
             base + ":amd64", base + ":arm64"], env=env or self.own_env, timeout=120)
        # dockerd 20.10's import takes only the OS from --platform (the
        # config says the host's architecture): annotate, as one does for
        # images built elsewhere
        for plat in ("amd64", "arm64"):
            run([CLI28, "manifest", "annotate", "--os", "linux", "--arch", plat,
                 base + ":prod", base + ":" + plat], env=env or self.own_env, timeout=60)
        res = run([CLI28, "manifest", "push", "--purge", "--insecure", base + ":prod"],
                  env=env or self.own_env, timeout=120)
        out["index"] = reg.digest(repo, "prod")
        pushed = res.stdout.strip().split()[-1] if res.stdout.strip() else ""
        if pushed and pushed != out["index"]:
            raise TestbedError("manifest push said %s, registry says %s"
                               % (pushed, out["index"]))
        ctype, body = reg.get_manifest(repo, out["index"])
        if ctype != MT_DOCKER_LIST:
            raise TestbedError("the index is served as %r" % ctype)
        listed = {(m["platform"]["os"], m["platform"]["architecture"]): m["digest"]
                  for m in json.loads(body)["manifests"]}
        want = {("linux", "amd64"): out["amd64"], ("linux", "arm64"): out["arm64"]}
        if listed != want:
            raise TestbedError("the index lists %r, want %r" % (listed, want))
        return out


# --------------------------------------------------------------------------
# audit trail
# --------------------------------------------------------------------------

def audit_rows(guard, route=None, since_id=0):
    """Audit rows (dicts) of a guard's database, oldest first: the
    decisions, not the engine's answers to them (rule outcome)."""
    db = sqlite3.connect(guard.db, timeout=10)
    try:
        db.row_factory = sqlite3.Row
        sql = "SELECT * FROM audit WHERE id > ? AND rule IS NOT 'outcome'"
        args = [since_id]
        if route:
            sql += " AND route = ?"
            args.append(route)
        rows = [dict(r) for r in db.execute(sql + " ORDER BY id", args)]
    finally:
        db.close()
    return rows


def last_audit_id(guard):
    rows = audit_rows(guard)
    return rows[-1]["id"] if rows else 0


def wait_audit(guard, since_id, n=1, route=None, timeout=15):
    """Wait until n new audit rows exist (the row is written before the
    verdict is sent, but be tolerant of ordering)."""
    return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
        audit_rows(guard, route=route, since_id=since_id)),
        "%d audit row(s) in %s" % (n, guard.db), timeout=timeout, interval=0.1)


def all_stored_bytes(guard):
    """Everything the guard wrote: its log and its database files."""
    data = b""
    for p in (guard.log, guard.db, guard.db + "-wal", guard.db + "-journal"):
        try:
            with open(p, "rb") as fh:
                data += fh.read()
        except OSError:
            pass
    return data


def audit_dump(guard):
    return "\n".join(json.dumps(r, sort_keys=True) for r in audit_rows(guard))


def guard_conf(**kw):
    """Config text from keyword arguments (None values are left out)."""
    return "".join("%s = %s\n" % (k, v) for k, v in kw.items() if v is not None)


def docker_config_json(path, host, user, password):
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    with open(path, "w") as fh:
        json.dump({"auths": {host: {"auth": auth}}}, fh)
    os.chmod(path, 0o600)
    return path


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def popen_docker(args, env):
    return subprocess.Popen([DOCKER] + list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)

