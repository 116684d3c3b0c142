"""Fixtures for docker-guard's real-engine integration tests.

    cd <repo> && /usr/bin/python3 -m pytest -q tests/integration

Environment:
  DOCKER_GUARD_BIN   guard binary (default <repo>/build/docker-guard)
  GUARD_STANDIN      "socat": run a plain socat proxy instead of the guard
  DG_KEEP_TESTBED    keep the temp dir (logs, registry) after the run

Fixtures:
  testbed        session: private dockerd + loopback registry + base images
  guard_config_text  session: config text for the session guard (override it)
  guard          session: the guard in front of the private dockerd
  guard_factory  function: start more guards with other configs
  sides          [Side("guard"), Side("direct")] for compare-both-ways tests
"""

import os
import shutil
import warnings

import pytest

import testbed as tb

_STATE = {"testbed": None}

REQUIRED_TOOLS = ("dockerd", "docker", "docker-registry", "busybox", "tar")


def _missing(tools):
    return [t for t in tools if shutil.which(t) is None]


def require_tools(*tools):
    missing = _missing(tools)
    if missing:
        pytest.skip("required tool(s) not installed: %s" % ", ".join(missing))


@pytest.fixture(scope="session")
def testbed():
    require_tools(*REQUIRED_TOOLS)
    if os.geteuid() != 0:
        pytest.skip("a private dockerd needs root")
    bed = tb.Testbed()
    _STATE["testbed"] = bed
    try:
        bed.start()
    except BaseException:
        errors = bed.teardown()
        if errors:
            warnings.warn("testbed teardown: %s" % "; ".join(errors))
        _STATE["testbed"] = None
        raise
    yield bed
    _STATE["testbed"] = None
    errors = bed.teardown()
    assert not errors, "testbed teardown problems: %s" % "; ".join(errors)


@pytest.fixture(scope="session")
def guard_config_text():
    """Config text for the session guard; override in a conftest/module."""
    return ""


def _check_and_stop(guard):
    """A guard we started must still be alive and must exit cleanly."""
    if guard.stopped:
        return
    alive = guard.alive()
    status = guard.stop()
    assert alive, "guard %s (pid %s) died during the tests (rc=%s)\n%s" % (
        guard.name, guard.pid, status, guard.log_tail(60))
    assert status in guard.expected_exit_statuses(), (
        "guard %s exited %s on SIGTERM (expected %s)\n%s" % (
            guard.name, status, guard.expected_exit_statuses(),
            guard.log_tail(60)))


@pytest.fixture(scope="session")
def guard(testbed, guard_config_text):
    if os.environ.get("GUARD_STANDIN") == "socat":
        require_tools("socat")
    g = testbed.start_guard(guard_config_text, name="g0")
    yield g
    _check_and_stop(g)


@pytest.fixture
def guard_factory(testbed):
    """factory(config_text="", name=None) -> a started Guard, stopped after
    the test (and checked to be alive then, unless the test stopped it)."""
    started = []

    def factory(config_text="", name=None):
        g = testbed.start_guard(config_text, name=name)
        started.append(g)
        return g

    yield factory
    for g in started:
        _check_and_stop(g)


@pytest.fixture
def sides(guard, testbed):
    return [tb.Side("guard", guard.host, guard.env),
            tb.Side("direct", testbed.dockerd.host, guard.direct_env)]


@pytest.fixture
def app(testbed):
    """The main base image (app:31.0.9.1)."""
    return testbed.images["31.0.9.1"]


@pytest.fixture(autouse=True)
def _guards_stay_alive():
    """After every test, every guard not deliberately stopped is alive."""
    yield
    bed = _STATE["testbed"]
    if bed is None:
        return
    dead = [g for g in bed.guards if not g.stopped and not g.alive()
            and not getattr(g, "reported_dead", False)]
    for g in dead:  # report each crash once, at the test that saw it
        g.reported_dead = True
    if dead:
        pytest.fail("guard process died: %s\n%s" % (
            ", ".join("%s pid %s rc %s" % (g.name, g.pid, g.proc.popen.returncode)
                      for g in dead),
            "\n".join(g.log_tail(60) for g in dead)), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    bed = _STATE["testbed"]
    if rep.failed and bed is not None:
        try:
            rep.sections.append(("testbed logs (tail)", bed.diagnostics()))
        except Exception:  # noqa: BLE001 - diagnostics are best effort
            pass
