"""Attempts to slip a tag-only (or older) image past the guard to the REAL
engine, with hand-written HTTP over the guard's Unix socket.

Every request here would make the real engine create a container (or be
answered by the engine itself) if it reached it unchecked, so each test
asserts two things: the guard answered with its own refusal (a JSON
{"message": "docker-guard: ..."}), and no container appeared on the engine
(listed on the engine's own socket).  Against a plain socat proxy every
test fails.  The guard must be alive after each attempt.
"""

import json
import socket
import time

import pytest

from testbed import run

TIMEOUT = 20


# --------------------------------------------------------------------------
# raw HTTP over a Unix socket
# --------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def message(self):
        try:
            return json.loads(self.body.decode("utf-8"))["message"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None

    def __repr__(self):
        return "Resp(%d %r %r)" % (self.status, self.headers, self.body[:600])


class Conn:
    """One client connection; every read is bounded by a socket timeout
    and an overall deadline."""

    def __init__(self, path, timeout=TIMEOUT):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.eof = False
        self.deadline = time.monotonic() + timeout * 3

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        self.s.close()

    def _fill(self):
        if self.eof:
            return False
        if time.monotonic() > self.deadline:
            raise TimeoutError("no complete answer in time: %r" % self.buf)
        try:
            data = self.s.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _need(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise AssertionError("connection closed mid-answer: %r"
                                     % self.buf)

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise AssertionError("connection closed mid-line")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def response(self):
        """The next response, or None when the guard closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                if self.buf:
                    raise AssertionError("partial response head: %r"
                                         % self.buf)
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
        if 100 <= status < 200 or status in (204, 304):
            return Resp(status, headers, b"")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            for _ in range(100000):
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line() != b"":
                        pass
                    break
                self._need(size + 2)
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
            return Resp(status, headers, body)
        if "content-length" in headers:
            n = int(headers["content-length"])
            self._need(n)
            body, self.buf = self.buf[:n], self.buf[n:]
            return Resp(status, headers, body)
        while self._fill():
            pass
        body, self.buf = self.buf, b""
        return Resp(status, headers, body)


def request(target, body, headers=(), method=b"POST", ctype=b"application/json",
            chunked=False):
    """Exact request bytes."""
    h = [b"%s %s HTTP/1.1" % (method, target), b"Host: docker",
         b"User-Agent: dg-bypass/1"]
    if ctype is not None:
        h.append(b"Content-Type: " + ctype)
    h += list(headers)
    if chunked:
        h.append(b"Transfer-Encoding: chunked")
        data = b""
        for i in range(0, len(body), 7):
            piece = body[i:i + 7]
            data += b"%x\r\n%s\r\n" % (len(piece), piece)
        data += b"0\r\n\r\n"
    else:
        h.append(b"Content-Length: %d" % len(body))
        data = body
    return b"\r\n".join(h) + b"\r\n\r\n" + data


def exchange(sock_path, data, n=1, pieces=None, pause=0.0):
    """Send data (in pieces with pauses if asked); read up to n answers."""
    c = Conn(sock_path)
    try:
        if pieces:
            for i in range(0, len(data), pieces):
                c.send(data[i:i + pieces])
                time.sleep(pause)
        else:
            c.send(data)
        out = []
        for _ in range(n):
            r = c.response()
            if r is None:
                break
            out.append(r)
        return out
    finally:
        c.close()


# --------------------------------------------------------------------------
# fixtures and checks
# --------------------------------------------------------------------------

def container_ids(testbed):
    return set(run(["docker", "ps", "-aq", "--no-trunc"], env=testbed.direct_env,
                   timeout=30).stdout.split())


class Attempt:
    def __init__(self, guard, testbed, app, old):
        self.guard = guard
        self.testbed = testbed
        self.name = testbed.unique("bp-")
        self.tag = app.registry_ref.encode()        # tag-only, present
        self.pinned = app.digest_ref.encode()       # pinned, newest
        self.old = old.digest_ref.encode()          # pinned, older
        self.target = b"/v1.41/containers/create?name=" + self.name.encode()
        self.before = container_ids(testbed)

    def body(self, image_part, extra=b""):
        return (b'{' + image_part + b',"Cmd":["echo","hi"],'
                b'"HostConfig":{"NetworkMode":"none"}' + extra + b'}')

    def send(self, data, n=1, **kw):
        return exchange(self.guard.sock, data, n=n, **kw)

    def assert_nothing_created(self):
        r = run(["docker", "container", "inspect", self.name],
                env=self.testbed.direct_env, timeout=30, check=False)
        assert r.returncode != 0, "container %s was created: %s" % (
            self.name, r.stdout[:2000])
        new = container_ids(self.testbed) - self.before
        assert not new, "containers appeared on the engine: %s" % new
        assert self.guard.alive(), self.guard.log_tail()
        # and it still serves
        ping = exchange(self.guard.sock, b"GET /_ping HTTP/1.1\r\n"
                        b"Host: docker\r\nConnection: close\r\n\r\n")
        assert ping and ping[0].status == 200 and ping[0].body == b"OK", ping

    def cleanup(self):
        new = container_ids(self.testbed) - self.before
        if new:
            run(["docker", "rm", "-f"] + sorted(new),
                env=self.testbed.direct_env, timeout=60, check=False)


@pytest.fixture
def at(guard, testbed, app):
    a = Attempt(guard, testbed, app, testbed.images["31.0.8.1"])
    yield a
    a.cleanup()


def assert_guard_refusal(resp, statuses=(400, 403)):
    assert resp is not None, "no answer"
    msg = resp.message()
    assert resp.status in statuses, resp
    assert resp.headers.get("content-type", "").startswith(
        "application/json"), resp
    assert msg is not None and msg.startswith("docker-guard: "), resp
    return msg


def assert_not_pinned(resp, at):
    msg = assert_guard_refusal(resp, (403,))
    assert "image %s is not pinned by digest" % at.tag.decode() in msg, msg
    assert "(rule: require_digest)" in msg, msg
    return msg


# --------------------------------------------------------------------------
# JSON keys the engine (Go encoding/json) matches case-insensitively
# --------------------------------------------------------------------------

def test_lowercase_image_key_alone(at):
    [r] = at.send(request(at.target, at.body(b'"image":"%s"' % at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_lowercase_image_key_after_pinned_image(at):
    # Go takes the last of the two for Config.Image: the tag-only one
    [r] = at.send(request(at.target, at.body(
        b'"Image":"%s","image":"%s"' % (at.pinned, at.tag))))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_duplicate_image_keys(at):
    [r] = at.send(request(at.target, at.body(
        b'"Image":"%s","Image":"%s"' % (at.pinned, at.tag))))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_duplicate_image_keys_older_version(at):
    """The first key is the newest version, the one the engine would use
    (the last) is older: a downgrade hidden behind a duplicate."""
    [r] = at.send(request(at.target, at.body(
        b'"Image":"%s","Image":"%s"' % (at.pinned, at.old))))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_escaped_image_key_alone_is_policed(at):
    # "\u0049mage" is "Image" once decoded
    [r] = at.send(request(at.target, at.body(b'"\\u0049mage":"%s"' % at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_escaped_image_key_with_image(at):
    [r] = at.send(request(at.target, at.body(
        b'"Image":"%s","\\u0049mage":"%s"' % (at.pinned, at.tag))))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_mixed_case_hostconfig_duplicates(at):
    """A pinned Image, a harmless HostConfig and a second "hostconfig"
    carrying an image mount with a tag-only source: Go merges both into
    one HostConfig."""
    mount = (b'"hostconfig":{"NetworkMode":"none","Mounts":[{"Type":"image",'
             b'"Source":"%s","Target":"/mnt"}]}' % at.tag)
    body = (b'{"Image":"%s","Cmd":["echo","hi"],'
            b'"HostConfig":{"NetworkMode":"none"},%s}' % (at.pinned, mount))
    [r] = at.send(request(at.target, body))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_mixed_case_hostconfig_duplicates_tag_only_image(at):
    body = (b'{"Image":"%s","Cmd":["echo","hi"],'
            b'"HostConfig":{"NetworkMode":"none"},'
            b'"hostconfig":{"NetworkMode":"none"}}' % at.tag)
    [r] = at.send(request(at.target, body))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_image_mount_with_tag_only_source(at):
    """API 1.41 engines reject image mounts themselves; the guard must
    refuse first, naming the mount's image."""
    body = at.body(b'"Image":"%s"' % at.pinned).replace(
        b'"NetworkMode":"none"',
        b'"NetworkMode":"none","Mounts":[{"Type":"image","Source":"%s",'
        b'"Target":"/mnt"}]' % at.tag)
    [r] = at.send(request(at.target, body))
    msg = assert_guard_refusal(r, (403,))
    # The refusal names the image as the mount it is.
    assert "image mount %s is not pinned by digest" % at.tag.decode() in msg, msg
    assert "(rule: require_digest)" in msg, msg
    at.assert_nothing_created()
    # the user must be told which container is refused, as for the main
    # image ('refusing to create app "NAME"'), not "create the request"
    assert 'refusing to create app "%s"' % at.name in msg, msg


# --------------------------------------------------------------------------
# framing
# --------------------------------------------------------------------------

def test_chunked_body(at):
    [r] = at.send(request(at.target, at.body(b'"Image":"%s"' % at.tag),
                          chunked=True))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_body_split_across_writes_with_pauses(at):
    data = request(at.target, at.body(b'"Image":"%s"' % at.tag))
    [r] = at.send(data, pieces=max(1, len(data) // 6), pause=0.3)
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_chunked_body_split_with_pauses(at):
    data = request(at.target, at.body(b'"Image":"%s"' % at.tag), chunked=True)
    [r] = at.send(data, pieces=13, pause=0.02)
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_content_length_zero_then_json_body(at):
    """An empty create, then the JSON as if it were a body: it is not one;
    the guard must not take it for a request either."""
    head = (b"POST %s HTTP/1.1\r\nHost: docker\r\n"
            b"Content-Type: application/json\r\nContent-Length: 0\r\n\r\n"
            % at.target)
    trailing = at.body(b'"Image":"%s"' % at.tag) + b"\r\n\r\n"
    resps = at.send(head + trailing, n=2)
    assert resps, "no answer"
    # the empty create: refused by the guard or by the engine; never 201
    assert resps[0].status >= 400, resps
    # the JSON after it is no HTTP request: the guard refuses it itself
    assert len(resps) == 2, resps
    assert_guard_refusal(resps[1], (400,))
    at.assert_nothing_created()


def test_connection_upgrade_on_create(at):
    data = request(at.target, at.body(b'"Image":"%s"' % at.tag),
                   headers=[b"Connection: Upgrade", b"Upgrade: tcp"])
    [r] = at.send(data)
    assert_guard_refusal(r)
    assert r.status != 101, r
    at.assert_nothing_created()


def test_content_type_with_charset(at):
    data = request(at.target, at.body(b'"Image":"%s"' % at.tag),
                   ctype=b"application/json; charset=utf-8")
    [r] = at.send(data)
    assert_not_pinned(r, at)
    at.assert_nothing_created()


# --------------------------------------------------------------------------
# other spellings of the route
# --------------------------------------------------------------------------

def test_unversioned_path(at):
    target = b"/containers/create?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_unversioned_path_older_version(at, guard, testbed):
    """The downgrade rule on the unversioned route: history first (through
    the guard, pinned: allowed), then the older version by raw request."""
    body = at.body(b'"Image":"%s"' % at.pinned)
    [r] = at.send(request(at.target, body))
    assert r.status == 201, r
    # removed on the engine's own socket: the guard keeps no snapshot to
    # restore (restore_on_refusal), so nothing at all may appear below
    run(["docker", "rm", "-f", at.name], env=testbed.direct_env, timeout=60)
    at.before = container_ids(testbed)
    target = b"/containers/create?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.old)))
    msg = assert_guard_refusal(r, (403,))
    assert "(rule: downgrade)" in msg and "is version 31.0.8.1" in msg, msg
    at.assert_nothing_created()


def test_double_slash_path(at):
    target = b"//containers/create?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.tag)))
    assert_guard_refusal(r)
    at.assert_nothing_created()


def test_percent_encoded_slash_is_policed(at):
    target = b"/containers%2Fcreate?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_versioned_percent_encoded_slash_is_policed(at):
    target = b"/v1.41/containers%2fcreate?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_trailing_slash(at):
    target = b"/containers/create/?name=" + at.name.encode()
    [r] = at.send(request(target, at.body(b'"Image":"%s"' % at.tag)))
    assert_guard_refusal(r)
    at.assert_nothing_created()


# --------------------------------------------------------------------------
# services (swarm not active: the engine itself would answer 503)
# --------------------------------------------------------------------------

@pytest.fixture
def no_swarm(testbed):
    state = run(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
                env=testbed.direct_env, timeout=30).stdout.strip()
    if state != "inactive":
        pytest.skip("swarm is %s on the test engine" % state)


def service_spec(name, image):
    return (b'{"Name":"%s","TaskTemplate":{"ContainerSpec":{"Image":"%s",'
            b'"Command":["sleep","300"]}},"Mode":{"Replicated":'
            b'{"Replicas":1}}}' % (name.encode(), image))


def test_service_create_tag_only_refused(at, no_swarm):
    [r] = at.send(request(b"/v1.41/services/create",
                          service_spec(at.name, at.tag)))
    msg = assert_not_pinned(r, at)
    assert "swarm" not in msg, msg       # not the engine's 503
    at.assert_nothing_created()


def test_service_create_escaped_key_refused(at, no_swarm):
    body = service_spec(at.name, at.tag).replace(b'"Image"', b'"\\u0049mage"')
    [r] = at.send(request(b"/services/create", body))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_service_update_tag_only_refused(at, no_swarm):
    [r] = at.send(request(b"/v1.41/services/%s/update?version=1" %
                          at.name.encode(), service_spec(at.name, at.tag)))
    assert_not_pinned(r, at)
    at.assert_nothing_created()


def test_service_update_rollback_previous(at, no_swarm):
    """rollback=previous: the engine ignores the body and runs the
    previous spec, which the guard must read first; with no swarm it
    cannot, so it refuses itself (fail closed) instead of forwarding."""
    [r] = at.send(request(b"/v1.41/services/%s/update?version=1&"
                          b"rollback=previous" % at.name.encode(),
                          service_spec(at.name, at.tag)))
    msg = assert_guard_refusal(r, (400, 403, 502, 503))
    assert "roll back service %s" % at.name in msg, msg
    at.assert_nothing_created()
