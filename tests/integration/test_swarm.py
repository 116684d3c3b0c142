"""Swarm services judged for real (issue 13, deliverable 6): a three-node
swarm on the several-hosts bed (hosts.py), the real docker CLI talking to
the manager's guard, tasks running on every node.

    /usr/bin/python3 -m pytest -q tests/integration/test_swarm.py

What the guard sees: `docker service create` and `update` are
POST /services/create and /services/{id}/update with the spec;
`docker service rollback` is POST /services/{id}/update?rollback=previous,
where the engine ignores the body and runs the service's PreviousSpec, so
that is what the guard judges (README, "What it refuses").  A rollback to
an older version is a downgrade like any other: refused, unless the
override label io.docker-guard.allow-downgrade is given (on the update that
goes back, since `docker service rollback` takes no other flag).
`docker stack deploy` creates and updates services the same way.
"""

import json
import os

import pytest

import hosts
import testbed as tb

OVERRIDE = "io.docker-guard.allow-downgrade"
# Quick updates: every task at once, a short stop grace (the images' PID 1
# exits on SIGTERM anyway), no monitoring pause.
FAST = ["--stop-grace-period", "2s", "--update-parallelism", "0",
        "--update-delay", "0s", "--update-monitor", "1s",
        "--rollback-parallelism", "0", "--rollback-monitor", "1s"]


@pytest.fixture(scope="module")
def bed():
    yield from hosts.bed_fixture(3)


@pytest.fixture(scope="module")
def manager(bed):
    return bed.swarm(manager=1)


@pytest.fixture(scope="module")
def app(bed):
    """Versions 1.0, 2.0 and 3.0 of one image, in the bed's registry."""
    return {v: bed.push_image("app", v) for v in ("1.0", "2.0", "3.0")}


@pytest.fixture(scope="module")
def guard(bed, manager):
    """The manager's guard: what every docker command here talks to."""
    return bed.start_guard(manager)


def dg(*args):
    binary = os.environ.get("DOCKER_GUARD_BIN",
                            os.path.join(tb.REPO, "build", "docker-guard"))
    return tb.run([binary] + list(args), timeout=60)


def history(guard, app_name):
    """The guard's ledger rows of app_name (docker-guard history --json)."""
    out = dg("history", app_name, "--json", "--database", guard.db).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def audit(guard, app_name):
    out = dg("audit", "--app", app_name, "--json", "--database",
             guard.db).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def spec_images(bed, guard, service):
    """(Spec image, PreviousSpec image or None) of a service."""
    out = bed.docker(guard, "service", "inspect", service).stdout
    svc = json.loads(out)[0]
    prev = svc.get("PreviousSpec")
    return (svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"],
            prev["TaskTemplate"]["ContainerSpec"]["Image"] if prev else None)


def running_tasks(bed, guard, service):
    """{task ID: (node, image)} of the service's tasks that run now."""
    out = bed.docker(guard, "service", "ps", "--no-trunc", "--filter",
                     "desired-state=running", "--format",
                     "{{.ID}} {{.Node}} {{.Image}} {{.CurrentState}}",
                     service).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return {r[0]: (r[1], r[2]) for r in rows if r[3] == "Running"}


def converged(bed, guard, service, image, n=3):
    """Wait until n tasks of service run image, each on its own node;
    returns running_tasks()."""
    def done():
        tasks = running_tasks(bed, guard, service)
        imgs = {i for _, i in tasks.values()}
        nodes = {node for node, _ in tasks.values()}
        # The update must also be over: swarmkit bumps the service's
        # version when it marks the update completed, and a `service
        # update` that read the version before that fails with "update
        # out of sequence".
        state = bed.docker(guard, "service", "inspect", "--format",
                           "{{if .UpdateStatus}}{{.UpdateStatus.State}}"
                           "{{end}}", service).stdout.strip()
        return tasks if len(tasks) == n and imgs == {image} and \
            len(nodes) == n and state in ("", "completed",
                                          "rollback_completed") else None
    return tb.wait_for(done, "%s to run %s on %d nodes" % (service, image, n),
                       timeout=60, interval=0.3)


def refused(res, *words):
    assert res.returncode != 0, "not refused:\n%s\n%s" % (res.stdout,
                                                          res.stderr)
    for w in words:
        assert w in res.stderr, "%r not in:\n%s" % (w, res.stderr)


def create(bed, guard, name, image, replicas=3):
    """docker service create, one task per node at most."""
    return bed.docker(guard, "service", "create", "--detach", "--name", name,
                      "--replicas", str(replicas),
                      "--replicas-max-per-node", "1",
                      "--endpoint-mode", "dnsrr", *(FAST + [image]))


def update(bed, guard, name, *args, check=False):
    return bed.docker(guard, "service", "update", "--detach", *args, name,
                      check=check)


def test_create_by_digest_is_allowed_recorded_and_runs_on_every_node(
        bed, guard, app):
    create(bed, guard, "web", app["2.0"].digest_ref)
    tasks = converged(bed, guard, "web", app["2.0"].digest_ref)
    assert {node for node, _ in tasks.values()} == {"node-1", "node-2",
                                                     "node-3"}
    rows = history(guard, "web")
    assert [r["version"] for r in rows] == ["2.0"], rows
    assert any(a["verdict"] == "allow" and a["version"] == "2.0"
               for a in audit(guard, "web"))


def test_tasks_are_containers_on_the_workers(bed, guard, app):
    """The swarm is real: each worker's own engine runs a task container
    of the service, from the image pulled from the lan registry."""
    converged(bed, guard, "web", app["2.0"].digest_ref)
    for h in bed.hosts[1:]:
        ids = bed.docker(h, "ps", "-q", "--filter",
                         "label=com.docker.swarm.service.name=web").stdout.split()
        assert len(ids) == 1, (h.name, ids)
        out = bed.docker(h, "inspect", "--format",
                         "{{.Config.Image}} {{.State.Status}}", ids[0]).stdout
        assert out.split() == [app["2.0"].digest_ref, "running"], (h.name, out)
        assert tb.image_id(h.env, app["2.0"].digest_ref) == app["2.0"].id


def test_tasks_of_a_judged_service_are_its_own_and_a_bypass_is_flagged(
        bed, guard, app):
    """The manager's engine runs a task container of every service, which
    its guard's monitor sees being created.  A task of "web" (judged at
    service create) is that judgement running: no warning, and no app of
    its own named after the task container (web.1.<task>).  A service made
    at the manager's engine itself, past the guard, runs tasks nobody
    judged: flagged out_of_band under the service's app, naming the
    service, and recorded in its history."""
    converged(bed, guard, "web", app["2.0"].digest_ref)
    manager_engine = bed.hosts[0]
    bed.docker(manager_engine, "service", "create", "--detach", "--name",
               "sneaky", "--replicas", "3", "--replicas-max-per-node", "1",
               "--endpoint-mode", "dnsrr", *(FAST + [app["1.0"].digest_ref]))
    try:
        converged(bed, guard, "sneaky", app["1.0"].digest_ref)

        def flagged():
            return [a for a in audit(guard, "sneaky")
                    if a["rule"] == "out_of_band"] or None
        rows = tb.wait_for(flagged, "the bypassing service's task flagged",
                           timeout=60, interval=0.5)
        assert len(rows) == 1, rows
        assert rows[0]["verdict"] == "warn"
        assert 'is a task of swarm service "sneaky" (app "sneaky")' in \
            rows[0]["message"], rows[0]["message"]
        assert "without passing through docker-guard" in rows[0]["message"]
        assert [r["version"] for r in history(guard, "sneaky")] == ["1.0"]
        # By now the monitor has handled web's task (created earlier).
        assert not [a for a in audit(guard, "web")
                    if a["rule"] == "out_of_band"]
        assert [r["version"] for r in history(guard, "web")] == ["2.0"]
        out = dg("apps", "--json", "--database", guard.db).stdout
        apps = [json.loads(line)["app"] for line in out.splitlines()
                if line.strip()]
        assert not [a for a in apps if a.startswith(("web.", "sneaky."))], \
            apps
    finally:
        bed.docker(manager_engine, "service", "rm", "sneaky", check=False)


def test_update_to_an_older_version_is_refused_and_2_0_keeps_running(
        bed, guard, app):
    before = converged(bed, guard, "web", app["2.0"].digest_ref)
    res = update(bed, guard, "web", "--image", app["1.0"].digest_ref)
    refused(res, 'refusing to update app "web"', "version 1.0",
            "older than 2.0", "rule: downgrade", app["2.0"].digest_ref)
    assert spec_images(bed, guard, "web")[0] == app["2.0"].digest_ref
    # the same tasks, still running 2.0: nothing reached the orchestrator
    assert running_tasks(bed, guard, "web") == before
    assert [r["version"] for r in history(guard, "web")] == ["2.0"]
    assert any(a["verdict"] == "deny" and a["rule"] == "downgrade"
               for a in audit(guard, "web"))


def test_update_to_newer_then_rollback_is_a_refused_downgrade(
        bed, guard, app):
    update(bed, guard, "web", "--image", app["3.0"].digest_ref, check=True)
    converged(bed, guard, "web", app["3.0"].digest_ref)
    assert spec_images(bed, guard, "web") == (app["3.0"].digest_ref,
                                              app["2.0"].digest_ref)
    res = bed.docker(guard, "service", "rollback", "--detach", "web",
                     check=False)
    refused(res, 'refusing to roll back app "web"', "version 2.0",
            "older than 3.0", "rule: downgrade")
    converged(bed, guard, "web", app["3.0"].digest_ref)
    assert spec_images(bed, guard, "web")[0] == app["3.0"].digest_ref


def test_going_back_on_purpose_takes_the_override_label(bed, guard, app):
    converged(bed, guard, "web", app["3.0"].digest_ref)
    res = update(bed, guard, "web", "--image", app["2.0"].digest_ref,
                 "--label-add", OVERRIDE + "=swarm test: 3.0 is broken")
    assert res.returncode == 0, res.stderr
    converged(bed, guard, "web", app["2.0"].digest_ref)
    last = audit(guard, "web")[-1]
    assert (last["verdict"], last["rule"], last["version"],
            last["previous_version"]) == ("allow", "override", "2.0", "3.0")
    assert OVERRIDE + "=swarm test: 3.0 is broken" in last["message"]


def test_rollback_to_the_same_version_is_allowed(bed, guard, app):
    """A rollback is judged, not refused as such: back to a spec of the
    same version is no downgrade."""
    create(bed, guard, "api", app["2.0"].digest_ref, replicas=1)
    converged(bed, guard, "api", app["2.0"].digest_ref, n=1)
    update(bed, guard, "api", "--env-add", "MODE=new", check=True)
    bed.docker(guard, "service", "rollback", "--detach", "api")
    tb.wait_for(lambda: "MODE=new" not in bed.docker(
        guard, "service", "inspect", "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", "api").stdout,
        "api to roll back", timeout=30, interval=0.3)
    converged(bed, guard, "api", app["2.0"].digest_ref, n=1)


def stack_file(d, name, image):
    path = os.path.join(d, name)
    with open(path, "w") as fh:
        json.dump({"version": "3.8", "services": {"db": {
            "image": image,
            "stop_grace_period": "2s",
            "deploy": {"replicas": 1, "endpoint_mode": "dnsrr",
                       "update_config": {"parallelism": 0}}}}}, fh)
    return path


def test_stack_deploy_then_redeploy_older_is_refused(bed, guard, app,
                                                     tmp_path):
    f20 = stack_file(str(tmp_path), "v2.yml", app["2.0"].digest_ref)
    bed.docker(guard, "stack", "deploy", "--detach=true", "-c", f20, "shop")
    converged(bed, guard, "shop_db", app["2.0"].digest_ref, n=1)
    assert [r["version"] for r in history(guard, "shop_db")] == ["2.0"]
    f10 = stack_file(str(tmp_path), "v1.yml", app["1.0"].digest_ref)
    res = bed.docker(guard, "stack", "deploy", "--detach=true", "-c", f10,
                     "shop", check=False)
    refused(res, "shop_db", "version 1.0", "older than 2.0",
            "rule: downgrade")
    assert spec_images(bed, guard, "shop_db")[0] == app["2.0"].digest_ref
    converged(bed, guard, "shop_db", app["2.0"].digest_ref, n=1)


def test_stack_with_a_tag_only_image(bed, guard, app, tmp_path):
    """Unresolved (--resolve-image never), the spec names a tag: refused by
    require_digest.  Resolved (the CLI's default), the CLI pins the tag to
    the registry's digest itself: what the spec names is what runs."""
    f = stack_file(str(tmp_path), "tag.yml", app["2.0"].registry_ref)
    res = bed.docker(guard, "stack", "deploy", "--detach=true",
                     "--resolve-image", "never", "-c", f, "tagged",
                     check=False)
    refused(res, app["2.0"].registry_ref, "rule: require_digest",
            app["2.0"].digest_ref.split("@")[1])
    assert bed.docker(guard, "service", "ls", "-q", "--filter",
                      "name=tagged_db").stdout.strip() == ""
    bed.docker(guard, "stack", "deploy", "--detach=true", "-c", f, "pinned")
    image = spec_images(bed, guard, "pinned_db")[0]
    assert image == "%s@%s" % (app["2.0"].registry_ref,
                               app["2.0"].digest_ref.split("@")[1])
    converged(bed, guard, "pinned_db", image, n=1)
