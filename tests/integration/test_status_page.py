"""The status page (GET / on metrics_listen) of a real guard in front of
the private dockerd and registry: after allowed creates, refusals and an
override, the page lists the apps, their versions, each refusal with its
full message and the engine's version change; strings a client chose
(app labels, an override's reason) carrying HTML are shown escaped, never
as markup.  Then the page in a real browser: Debian's headless Chromium
dumps the DOM (no element came from input) and takes a screenshot.

Chromium is required: without it the browser tests FAIL, unless
DG_NO_BROWSER=1 says to skip them.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration/test_status_page.py
"""

import html
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import tempfile
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest

from testbed import free_port, wait_for
from test_stories import NONE, audit_cli, db_rows, dg, dk, rm_f, wait_audit_rule

NEW, OLD = "31.0.9.1", "31.0.8.1"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
OLD_ENGINE = "24.0.5 (API 1.43)"
CSP = "default-src 'none'; style-src 'unsafe-inline'"


class Page(HTMLParser):
    """Every start tag (name, attributes) and the text of a document."""

    def __init__(self, doc):
        super().__init__(convert_charrefs=True)
        self.tags, self.parts = [], []
        self.feed(doc)
        self.close()
        self.text = " ".join(" ".join(self.parts).split())

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.parts.append(data)


def fetch(url, method="GET"):
    """(status, headers, body) of url; errors are answers too."""
    req = urllib.request.Request(url, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def refused(res):
    assert res.returncode != 0, "not refused: " + res.stdout
    msg = res.stderr
    return " ".join(msg[msg.index("docker-guard: refusing"):].split())


def no_markup_from_input(page):
    """The page has no script, img, svg or iframe element and no event
    handler attribute: nothing a client wrote became markup."""
    bad = [(t, a) for t, a in page.tags
           if t in ("script", "img", "svg", "iframe", "a", "object", "embed")
           or any(k.startswith("on") for k, _ in a)]
    assert not bad, bad


@pytest.fixture(scope="module")
def sp(testbed):
    """A guard with metrics_listen, a known sequence of decisions, and an
    engine upgrade staged: the database remembered an older engine."""
    port = free_port()
    g = testbed.start_guard("metrics_listen = 127.0.0.1:%d\n" % port,
                            name=testbed.unique("sp"))
    new, old = testbed.images[NEW], testbed.images[OLD]
    tag = testbed.unique("")
    s = type("SP", (), {})()
    s.g, s.url, s.new, s.old = g, "http://127.0.0.1:%d/" % port, new, old
    s.app = "status-" + tag
    s.hostile_app = SCRIPT + tag
    s.img_app = IMG + tag
    names = ["sp%s-%s" % (x, tag) for x in "abcdef"]
    env = g.env
    try:
        # an allowed create, then a refused downgrade of the same app
        r = dk(env, "create", "--name", names[0], "--label",
               "io.docker-guard.app=" + s.app, *NONE, new.digest_ref, "true")
        assert r.returncode == 0, r.stderr + g.log_tail()
        s.downgrade_msg = refused(dk(
            env, "create", "--name", names[1], "--label",
            "io.docker-guard.app=" + s.app, *NONE, old.digest_ref, "true"))
        # a refused create whose app label is a script (by tag:
        # require_digest)
        s.hostile_msg = refused(dk(
            env, "create", "--name", names[2], "--label",
            "io.docker-guard.app=" + s.hostile_app, *NONE,
            new.registry_ref, "true"))
        # an app named like an image tag with a handler, rolled back on
        # purpose with an override whose reason is the same
        r = dk(env, "create", "--name", names[3], "--label",
               "io.docker-guard.app=" + s.img_app, *NONE, new.digest_ref,
               "true")
        assert r.returncode == 0, r.stderr + g.log_tail()
        r = dk(env, "create", "--name", names[4], "--label",
               "io.docker-guard.app=" + s.img_app, "--label",
               "io.docker-guard.allow-downgrade=" + IMG, *NONE,
               old.digest_ref, "true")
        assert r.returncode == 0, r.stderr + g.log_tail()
        wait_audit_rule(g.db, "override", app=s.img_app)
        # the engine upgrade, staged as test_stories does: the database
        # remembers an older engine, the guard started again meets the
        # real one
        wait_for(lambda: db_rows(g.db, "SELECT value FROM meta WHERE key = "
                                 "'engine_version'"), "engine_version recorded",
                 timeout=20)
        s.engine = db_rows(g.db, "SELECT value FROM meta WHERE key = "
                           "'engine_version'")[0]["value"]
        assert g.stop() == 0
        con = sqlite3.connect(g.db, timeout=10)
        try:
            with con:
                con.execute("UPDATE meta SET value = ? WHERE key = "
                            "'engine_version'", (OLD_ENGINE,))
        finally:
            con.close()
        g.start()
        wait_audit_rule(g.db, "engine_version")
        wait_for(lambda: fetch(s.url)[0] == 200, "the status page", timeout=20)
        yield s
    finally:
        rm_f(testbed, *names)
        alive = g.alive()
        status = g.stop()
        assert alive and status == 0, "status guard: alive=%s exit=%s\n%s" % (
            alive, status, g.log_tail())


def test_page_lists_apps_refusals_and_engine(sp):
    status, headers, body = fetch(sp.url)
    assert status == 200, body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == CSP
    assert headers["Cache-Control"] == "no-store"
    doc = body.decode("utf-8")
    page = Page(doc)
    t = page.text
    # the app, its current and highest versions, its timeline
    assert sp.app in t
    row = "%s %s %s" % (sp.app, NEW, NEW)
    assert row in t, t
    assert sp.new.digest_ref in t
    # the refusals, each with its full message as the client saw it
    assert sp.downgrade_msg in t, (sp.downgrade_msg, t)
    assert sp.hostile_msg in t, (sp.hostile_msg, t)
    assert "downgrade" in t and "require_digest" in t
    # the override with its reason
    assert "Recent overrides" in t and IMG in t
    # the engine's version change
    assert "engine %s -> %s at " % (OLD_ENGINE, sp.engine) in t, t
    # the guard's health
    assert "Engine reachable , version %s" % sp.engine in t, t
    assert "Ledger writing , 0 waiting" in t, t


def test_engine_version_metrics(sp):
    """The version change the page shows is in /metrics too."""
    status, _, body = fetch(sp.url + "metrics")
    assert status == 200
    lines = body.decode().splitlines()
    version, api = sp.engine[:-1].split(" (API ")
    info = [ln for ln in lines if ln.startswith("docker_guard_engine_info{")]
    assert info == ['docker_guard_engine_info{version="%s",api_version="%s"} 1'
                    % (version, api)], info
    assert "docker_guard_engine_version_changes_total 1" in lines, lines


def test_engine_change_in_the_audit(sp):
    """`docker-guard audit` shows the same change, old and new version,
    and the chain still verifies."""
    rows = audit_cli(sp.g.db, "--rule", "engine_version")
    assert [(r["previous_version"], r["version"], r["verdict"]) for r in rows] \
        == [(OLD_ENGINE, sp.engine, "warn")], rows
    table = dg("audit", "--rule", "engine_version", "--database", sp.g.db)
    assert table.returncode == 0 and OLD_ENGINE in table.stdout, table.stdout
    verify = dg("audit", "--verify", "--database", sp.g.db)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_hostile_strings_escaped(sp):
    _, _, body = fetch(sp.url)
    doc = body.decode("utf-8")
    for s in (SCRIPT, IMG):
        assert s not in doc
        assert html.escape(s, quote=True).replace("&#x27;", "&#39;") in doc
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "&lt;img src=x onerror=alert(1)&gt;" in doc
    page = Page(doc)
    no_markup_from_input(page)
    # shown as text, whole
    assert sp.hostile_app in page.text and sp.img_app in page.text


def test_read_only_and_no_secrets(sp, testbed):
    status, headers, body = fetch(sp.url, "HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Security-Policy"] == CSP
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = fetch(sp.url, method)
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
    assert fetch(sp.url + "nope")[0] == 404
    _, _, body = fetch(sp.url)
    doc = body.decode("utf-8")
    for secret in ("registry_auth", "docker_config", "password",
                   testbed.docker_config):
        assert secret not in doc, secret


# --------------------------------------------------------------------------
# a real browser
# --------------------------------------------------------------------------

def chromium():
    exe = shutil.which("chromium")
    if exe is None:
        if os.environ.get("DG_NO_BROWSER") == "1":
            pytest.skip("DG_NO_BROWSER=1: the browser tests are skipped")
        pytest.fail("chromium is not installed (contrib/setup.sh installs "
                    "it; DG_NO_BROWSER=1 skips the browser tests)")
    return exe


def run_chromium(args, timeout=90):
    """Headless Chromium with a profile of its own; the whole process
    group is killed if it hangs."""
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="dg-chromium-") as prof:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
               "--no-proxy-server", "--no-first-run",
               "--user-data-dir=" + prof] + args
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise AssertionError("chromium hung: %s" % cmd)
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert p.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8", errors="replace")


def test_browser_dom(sp):
    dom = run_chromium(["--dump-dom", sp.url])
    page = Page(dom)
    t = page.text
    assert sp.app in t, dom[:2000]
    assert sp.downgrade_msg in t
    assert sp.hostile_app in t and sp.img_app in t
    no_markup_from_input(page)


def test_browser_screenshot(sp, testbed):
    path = os.path.join(testbed.tmpdir("shot"), "status.png")
    run_chromium(["--screenshot=" + path, "--window-size=1280,1600",
                  "--hide-scrollbars", sp.url])
    with open(path, "rb") as fh:
        png = fh.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n", png[:16]
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 1600), (width, height)
    assert len(png) > 10000, len(png)
