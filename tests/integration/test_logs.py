"""docker-guard's own log lines on stderr, with the real engine and CLI:

- log_format = json: every line the guard writes (start-up, a refusal of
  the docker CLI's create, bad requests, a client's control characters,
  quotes and invalid UTF-8, a message too long) is one JSON object with
  ts (RFC 3339 UTC, milliseconds), level and msg, and nothing else;
- text (the default) keeps its "<time> docker-guard <level>: " lines,
  one line per message whatever the client sent;
- SIGHUP switches the format; serve --log-format overrides the file and
  applies to the configuration's own errors;
- when JOURNAL_STREAM names stderr, text lines start with the journal's
  <N> priority and carry no time; json stays json.

    cd tests/integration && DOCKER_GUARD_BIN=... /usr/bin/python3 -m pytest -q test_logs.py
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import testbed as tb
from registry_fixtures import DOCKER

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"error", "warning", "info", "debug", "fatal"}
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z docker-guard "
                       r"(error|warning|info|debug|fatal): ")
JOURNAL_LINE = re.compile(r"^<([2-7])>(error|warning|info|debug|fatal): ")
PRIORITY = {"fatal": "2", "error": "3", "warning": "4", "info": "6",
            "debug": "7"}
LINE_MAX = 8192
# A container name with a quote, a backslash, a newline, an escape and a
# byte that is not UTF-8, as the create's query carries it.
WEIRD_QUERY = "a%22b%5Cc%0Ad%1B%5B31me%FF"
WEIRD_SHOWN = 'a"b\\c\nd\x1b[31me\ufffd'


class LogGuard(tb.Guard):
    """A guard of the testbed with extra serve arguments and, optionally,
    JOURNAL_STREAM naming a file's device and inode."""

    def __init__(self, testbed, name, config_text, args=(), journal=None):
        super().__init__(testbed, name, config_text)
        self.args = list(args)
        self.journal = journal  # "self": its own log file; a path: that

    def command(self):
        return super().command() + self.args

    def start(self, timeout=30):
        saved = os.environ.get("JOURNAL_STREAM")
        if self.journal is not None:
            path = self.log if self.journal == "self" else self.journal
            open(path, "ab").close()
            st = os.stat(path)
            os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        else:
            os.environ.pop("JOURNAL_STREAM", None)
        try:
            return super().start(timeout)
        finally:
            os.environ.pop("JOURNAL_STREAM", None)
            if saved is not None:
                os.environ["JOURNAL_STREAM"] = saved

    def lines(self):
        with open(self.log, "rb") as fh:
            data = fh.read()
        assert data.endswith(b"\n"), data[-200:]
        return data[:-1].split(b"\n")


@pytest.fixture
def start(testbed):
    started = []

    def factory(config_text="", args=(), journal=None):
        g = LogGuard(testbed, testbed.unique("lg"), config_text, args,
                     journal)
        testbed.guards.append(g)
        started.append(g)
        return g.start()

    yield factory
    for g in started:
        if g.stopped:
            continue
        alive = g.alive()
        rc = g.stop()
        assert alive, "guard %s died (rc %s)\n%s" % (g.name, rc,
                                                     g.log_tail(60))
        assert rc == 0, "guard %s exited %s\n%s" % (g.name, rc,
                                                    g.log_tail(60))


def raw(sock_path, data, timeout=10.0):
    """Send bytes, read the answer up to the guard's close or a timeout."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        for _ in range(1000):
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        s.close()


def tag_only_create(query):
    body = b'{"Image":"app:31.0.9.1"}'
    return (b"POST /v1.41/containers/create?name=" + query.encode() +
            b" HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json"
            b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def make_it_log(g, testbed):
    """A refusal by the docker CLI, bad requests, a client's odd bytes and
    a message too long for one line."""
    name = testbed.unique("logs-")
    res = tb.run([DOCKER, "create", "--network", "none", "--name", name,
                  "app:31.0.9.1", "true"], env=g.env, timeout=120,
                 check=False)
    assert res.returncode != 0 and "rule: require_digest" in res.stderr, (
        res.returncode, res.stderr)
    assert b" 400 Bad Request" in raw(
        g.sock, b"GET /_ping HTTP/1.1\r\nHost: docker\r\nBad\x01: y\r\n\r\n")
    assert b" 400 Bad Request" in raw(g.sock, b"GARBAGE\r\n\r\n")
    assert raw(g.sock, tag_only_create(WEIRD_QUERY)).startswith(b"HTTP/1.1 4")
    assert raw(g.sock, tag_only_create("x" * 20000)).startswith(b"HTTP/1.1 4")
    return name


def wait_lines(g, predicate, what, timeout=10):
    tb.wait_for(lambda: any(predicate(line) for line in g.lines()), what,
                timeout=timeout, interval=0.1, on_fail=g.log_tail)


def parse_json_lines(lines):
    """Every line one JSON object with exactly ts, level and msg."""
    out = []
    for line in lines:
        assert len(line) + 1 <= LINE_MAX, len(line)
        obj = json.loads(line.decode("utf-8"))  # strict: valid UTF-8
        assert isinstance(obj, dict) and sorted(obj) == ["level", "msg",
                                                         "ts"], line
        assert TS.match(obj["ts"]), obj
        assert obj["level"] in LEVELS, obj
        assert isinstance(obj["msg"], str), obj
        out.append(obj)
    return out


def test_json_lines(start, testbed):
    g = start("log_format = json\n")
    name = make_it_log(g, testbed)
    wait_lines(g, lambda line: b"x" * 100 in line, "the long refusal logged")
    g.stop()
    objs = parse_json_lines(g.lines())
    msgs = [o["msg"] for o in objs]
    assert any(m.startswith("listening on %s" % g.sock) for m in msgs), msgs
    assert any(m == "stopped" for m in msgs), msgs
    refusal = [o for o in objs if name in o["msg"]
               and "rule: require_digest" in o["msg"]]
    assert refusal and refusal[0]["level"] == "info", objs
    bad = [m for m in msgs if "400 for" in m and "malformed request" in m]
    assert len(bad) == 2, msgs
    # the client's bytes, escaped and decoded back: one line each
    weird = [m for m in msgs if WEIRD_SHOWN in m]
    assert weird, [m for m in msgs if "a\"b" in m]
    long = [o for o in objs if "x" * 100 in o["msg"]]
    assert long, msgs
    for o in long:
        assert re.search(r" \[\.\.\. truncated: the message had \d+ bytes\]$",
                         o["msg"]), o["msg"][-200:]
    # the timestamps are now, in order
    stamps = [o["ts"] for o in objs]
    assert stamps == sorted(stamps)
    assert stamps[-1][:10] == time.strftime("%Y-%m-%d", time.gmtime())


def test_text_unchanged(start, testbed):
    g = start("")
    name = make_it_log(g, testbed)
    wait_lines(g, lambda line: b"x" * 100 in line, "the long refusal logged")
    g.stop()
    lines = [line.decode("utf-8") for line in g.lines()]
    for line in lines:
        assert TEXT_LINE.match(line), line
        assert len(line.encode()) + 1 <= LINE_MAX
        assert not re.search(r"[\x00-\x1f\x7f]", line), line
    assert any("docker-guard info: listening on %s" % g.sock in line
               for line in lines), lines
    assert any(name in line and "rule: require_digest" in line
               for line in lines), lines
    # quotes and backslashes as they were, the rest shown escaped
    assert any('a"b\\c\\nd\\x1b[31me\ufffd' in line for line in lines), [
        line for line in lines if 'a"b' in line]


def test_sighup_switches_format(start, testbed):
    g = start("")
    with open(g.config, "w") as fh:
        fh.write("log_format = json\n")
    os.kill(g.pid, signal.SIGHUP)
    wait_lines(g, lambda line: b"configuration reloaded" in line,
               "the reload logged")
    make_it_log(g, testbed)
    wait_lines(g, lambda line: b"x" * 100 in line, "the long refusal logged")
    lines = g.lines()
    cut = next(i for i, line in enumerate(lines)
               if b"configuration reloaded" in line)
    for line in lines[:cut]:
        assert TEXT_LINE.match(line.decode()), line
    objs = parse_json_lines(lines[cut:])
    assert objs[0]["msg"] == "SIGHUP: configuration reloaded", objs[0]
    assert any("400 for" in o["msg"] for o in objs), objs
    # and back: a bad value keeps the format in force and says why
    with open(g.config, "w") as fh:
        fh.write("log_format = yaml\n")
    os.kill(g.pid, signal.SIGHUP)
    wait_lines(g, lambda line: b"yaml" in line, "the bad value logged")
    objs = parse_json_lines(g.lines()[cut:])
    assert any(o["level"] == "error" and "log_format" in o["msg"]
               and "not one of text, json" in o["msg"] for o in objs), objs


def test_journal_prefix(start, testbed, tmp_path):
    text = start("", journal="self")
    js = start("log_format = json\n", journal="self")
    other = start("", journal=str(tmp_path / "not-stderr"))
    for g in (text, js, other):
        raw(g.sock, b"GARBAGE\r\n\r\n")
        wait_lines(g, lambda line: b"400 for" in line, "the refusal logged")
    lines = [line.decode() for line in text.lines()]
    for line in lines:
        m = JOURNAL_LINE.match(line)
        assert m and PRIORITY[m.group(2)] == m.group(1), line
    assert any(line.startswith("<6>info: listening on ") for line in lines)
    assert any(line.startswith("<6>info: session ") and "400 for" in line
               for line in lines), lines
    parse_json_lines(js.lines())
    for line in other.lines():
        assert TEXT_LINE.match(line.decode()), line


def test_log_format_flag(start, testbed, tmp_path):
    g = start("log_format = text\n", args=["--log-format", "json"])
    raw(g.sock, b"GARBAGE\r\n\r\n")
    wait_lines(g, lambda line: b"400 for" in line, "the refusal logged")
    parse_json_lines(g.lines())
    binary = g.command()[0]
    res = subprocess.run([binary, "serve", "--log-format", "yaml"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2, res
    assert res.stderr == ('docker-guard serve: --log-format is text or json, '
                          'not "yaml"\n'), res.stderr
    # the configuration's own errors come out as json too
    conf = tmp_path / "bad.conf"
    conf.write_text("log_format = json\nlog_level = loud\nnope = 1\n")
    res = subprocess.run([binary, "serve", "--log-format", "json",
                          "--config", str(conf)],
                         capture_output=True, timeout=30)
    assert res.returncode == 1, res
    objs = parse_json_lines(res.stderr.rstrip(b"\n").split(b"\n"))
    assert [o["level"] for o in objs] == ["error", "error"], objs
    assert objs[0]["msg"].startswith("%s:2: log_level:" % conf), objs
    assert objs[1]["msg"].startswith("%s:3: " % conf), objs
