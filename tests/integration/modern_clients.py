"""Helpers for the tests of today's Docker clients (compose v2, buildx,
community.docker 4, the generation's docker CLI) through the guard.

Every probe is bounded and cached per process; nothing here starts a
server.  A client the generation does not have makes its test skip with
the reason (Debian 12 has no compose v2 and no buildx).
"""

import functools
import json
import os
import shutil

import pytest

from testbed import REPO, compose_text, generation, run, wait_for

GENERATION = generation()
DOCKER = shutil.which("docker") or "docker"
ANSIBLE = shutil.which("ansible-playbook")
GUARD_BIN = os.environ.get("DOCKER_GUARD_BIN",
                           os.path.join(REPO, "build", "docker-guard"))
# a service command that stops at once on SIGTERM
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.2; done"


@functools.lru_cache(maxsize=None)
def plugin_version(plugin):
    """`docker PLUGIN version --short` of the generation's CLI, or None."""
    r = run([DOCKER, plugin, "version"] + (["--short"] if plugin == "compose"
                                            else []),
            timeout=30, check=False, env={"PATH": os.environ.get("PATH", ""),
                                          "HOME": os.environ.get("HOME", "/")})
    if r.returncode != 0:
        return None
    return r.stdout.strip() or "unknown"


def need_plugin(plugin, what):
    version = plugin_version(plugin)
    if version is None:
        pytest.skip("%s: the %s generation's docker CLI has no `docker %s` "
                    "plugin" % (what, GENERATION, plugin))
    return version


def api_tuple(text):
    return tuple(int(x) for x in text.split("."))


@functools.lru_cache(maxsize=None)
def engine_api(sock):
    """The engine's (highest) API version, read on its own socket."""
    r = run([DOCKER, "-H", "unix://" + sock, "version", "--format",
             "{{.Server.APIVersion}}"], timeout=30)
    return r.stdout.strip()


def need_api(testbed, minimum, what):
    have = engine_api(testbed.dockerd.sock)
    if api_tuple(have) < api_tuple(minimum):
        pytest.skip("%s needs API %s; the %s generation's dockerd has %s"
                    % (what, minimum, GENERATION, have))
    return have


def dk(env, *args, timeout=120, **kw):
    """The generation's docker CLI, not checked."""
    return run([DOCKER] + list(args), env=env, timeout=timeout, check=False,
               **kw)


def dg(*args, timeout=60):
    """The docker-guard CLI (bounded), not checked."""
    return run([GUARD_BIN] + [str(a) for a in args], timeout=timeout,
               check=False)


def history(db, app):
    """`docker-guard history APP --json`: the app's ledger rows."""
    r = dg("history", app, "--json", "--database", db)
    assert r.returncode == 0, (app, r.returncode, r.stderr)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def wait_history(db, app, n, timeout=20):
    """Wait until the ledger holds n rows for app (a create is recorded
    when the engine's answer comes back)."""
    return wait_for(lambda: (lambda h: h if len(h) >= n else None)(
        history(db, app)), "%d ledger row(s) of %s" % (n, app),
        timeout=timeout, interval=0.2)


def project_containers(env, project):
    """[(id, name, state, Config.Image)] of a compose project, by name."""
    r = dk(env, "ps", "-a", "--no-trunc", "--filter",
           "label=com.docker.compose.project=" + project,
           "--format", "{{.ID}}|{{.Names}}|{{.State}}|{{.Image}}",
           timeout=30)
    assert r.returncode == 0, r.stderr
    return sorted(tuple(l.split("|")) for l in r.stdout.split())


def write_compose(d, services):
    """docker-compose.yml (JSON is YAML) with services {name: dict}, each
    on network_mode none with a command that prints the image's
    /etc/app-version and stops on SIGTERM."""
    full = {}
    for name, svc in services.items():
        full[name] = {"network_mode": "none",
                      "command": ["sh", "-c",
                                  "cat /etc/app-version; " + LOOP],
                      "stop_grace_period": "2s"}
        full[name].update(svc)
    path = os.path.join(d, "docker-compose.yml")
    with open(path, "w") as fh:
        fh.write(compose_text(full))
    return path


class Compose:
    """`docker compose -p PROJECT -f FILE` in dir d, on one side."""

    def __init__(self, d, project, env):
        self.d = d
        self.project = project
        self.env = env

    def __call__(self, *args, timeout=240):
        return run([DOCKER, "compose", "--progress", "plain", "-p",
                    self.project, "-f", os.path.join(self.d,
                                                     "docker-compose.yml")]
                   + list(args), env=self.env, cwd=self.d, timeout=timeout,
                   check=False)

    def down(self):
        return self("down", "-t", "1", "--remove-orphans", timeout=120)
