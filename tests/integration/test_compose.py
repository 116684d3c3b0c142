"""Compose through the guard vs the direct socket: docker-compose 1.29
(docker-py 5) on Debian 12, compose v2 (`docker compose`) in the newer
generations (tests/generation)."""

import os
import re
import time

import pytest

from testbed import compose_cmd, compose_name, compose_text, compose_v1, run

COMPOSE = compose_cmd()

SERVICE_CMD = ("trap 'exit 0' TERM; echo %s-started; "
               "while :; do sleep 0.2; done")


def compose_file(web_image, worker_image):
    def svc(name, image):
        return {"image": image, "network_mode": "none",
                "command": ["sh", "-c", SERVICE_CMD % name],
                "labels": {"dg.test.role": name}}
    return compose_text({"web": svc("web", web_image),
                         "worker": svc("worker", worker_image)})


@pytest.fixture
def compose_project(testbed):
    if COMPOSE is None:
        pytest.skip("compose not installed")
    web, worker = testbed.images["31.0.9.1"], testbed.images["31.0.8.1"]
    d = testbed.tmpdir("compose")
    path = os.path.join(d, "docker-compose.yml")
    with open(path, "w") as fh:
        fh.write(compose_file(web.digest_ref, worker.digest_ref))
    return d, path, web, worker


# What each compose says, where the two legitimately differ: the last word
# of a finished step ("Creating X ... done"; " Container X  Started"), and
# `ps` (v2's table has ages in it: its --format instead).
DONE = ("... done",) if compose_v1() else ("  Started", "  Removed")
PS = ("ps",) if compose_v1() else (
    "ps", "--format", "{{.Name}} {{.Service}} {{.State}}")


def _lines(text, project, done_only=False):
    """Normalised, sorted lines.  done_only: compose's finished steps
    (progress lines come in any order).  Compose 2.26 starts its `logs`
    lines with an erase-line escape even with --no-color (dropped), and
    pads their service prefix to the longest name it has seen so far
    (made one space)."""
    lines = [l.replace(project, "<P>").replace("\x1b[2K", "").rstrip()
             for l in text.splitlines()]
    if not compose_v1():  # v2 pads `logs` prefixes to the names seen so far
        lines = [re.sub(r"^(\S+) +\| ", r"\1 | ", l) for l in lines]
    # "Attaching to a, b": the order varies from run to run
    lines = ["Attaching to " + ", ".join(sorted(l[13:].split(", ")))
             if l.startswith("Attaching to ") else l for l in lines]
    return sorted(l for l in lines
                  if l.strip() and (not done_only or l.endswith(DONE)))


def test_compose_up_ps_logs_down(sides, testbed, compose_project):
    d, path, web, worker = compose_project

    def flow(side):
        # same length for both sides, so table column widths match
        project = "dg%s%s" % (side.name[0], os.urandom(4).hex())

        def compose(*args, timeout=180):
            return run(COMPOSE + ["-p", project, "-f", path] + list(args),
                       env=side.env, cwd=d, timeout=timeout, check=False)

        def listed():
            return sorted(side.docker(
                "ps", "-a", "--filter", "label=com.docker.compose.project=" + project,
                "--format", "{{.Names}}").stdout.split())

        nets_before = side.docker("network", "ls", "-q").stdout.split()
        out = {}
        try:
            up = compose("up", "-d")
            out["up"] = (up.returncode, _lines(up.stderr, project, True))
            names = listed()
            out["names"] = [n.replace(project, "<P>") for n in names]
            fmt = ("{{.Config.Image}}|{{.Image}}|{{.HostConfig.NetworkMode}}|"
                   "{{index .Config.Labels \"com.docker.compose.project\"}}|"
                   "{{index .Config.Labels \"com.docker.compose.service\"}}|"
                   "{{index .Config.Labels \"dg.test.role\"}}|{{.State.Running}}")
            out["inspect"] = [side.docker("inspect", "--format", fmt, n).stdout
                              .strip().replace(project, "<P>") for n in names]
            # logs: the services print once at start (asynchronously)
            logs = None
            deadline = time.monotonic() + 30
            for _ in range(300):
                logs = compose("logs", "--no-color")
                if ("web-started" in logs.stdout and "worker-started" in logs.stdout) \
                        or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            out["logs"] = (logs.returncode, _lines(logs.stdout, project))
            ps = compose(*PS)
            out["ps"] = (ps.returncode, _lines(ps.stdout, project))
            psq = compose("ps", "-q")
            out["psq"] = (psq.returncode, len(psq.stdout.split()))
            down = compose("down", "-t", "5")
            out["down"] = (down.returncode, _lines(down.stderr, project, True))
            out["after"] = listed()
            out["nets"] = sorted(side.docker("network", "ls", "-q").stdout.split()) \
                == sorted(nets_before)
        finally:
            compose("down", "-t", "1", timeout=120)
        return out

    r = {s.name: flow(s) for s in sides}
    g, dct = r["guard"], r["direct"]
    assert g == dct, "guard and direct disagree:\n%r\n%r" % (g, dct)
    web_1, worker_1 = compose_name("<P>", "web"), compose_name("<P>", "worker")
    if compose_v1():
        up = ["Creating <P>_web_1    ... done", "Creating <P>_worker_1 ... done"]
        logs = ["web_1     | web-started", "worker_1  | worker-started"]
        ps = (4, "<P>_web_1 ", " Up")     # header, rule, two rows
        down = "Removing <P>_web_1    ... done"
    else:
        up = [" Container %s  Started" % n for n in (web_1, worker_1)]
        logs = ["web-1 | web-started", "worker-1 | worker-started"]
        ps = (2, web_1 + " ", " web running")
        down = " Container %s  Removed" % web_1
    assert g["up"] == (0, up), g["up"]
    assert g["names"] == [web_1, worker_1]
    assert g["inspect"] == [
        "%s|%s|none|<P>|web|web|true" % (web.digest_ref, web.id),
        "%s|%s|none|<P>|worker|worker|true" % (worker.digest_ref, worker.id)]
    assert g["logs"][0] == 0
    for line in logs:
        assert line in g["logs"][1], g["logs"]
    assert g["ps"][0] == 0 and len(g["ps"][1]) == ps[0], g["ps"]
    assert any(l.startswith(ps[1]) and ps[2] in l for l in g["ps"][1]), g["ps"]
    assert g["psq"] == (0, 2)
    assert g["down"][0] == 0
    assert down in g["down"][1], g["down"]
    assert g["after"] == [] and g["nets"] is True
