"""Ansible community.docker (docker_image, docker_container) through the guard.

Each playbook run is `ansible-playbook -i localhost, -c local PLAY -e @VARS`
with the json stdout callback; the test reads the per-host `changed` count.
The same sequence runs against the direct socket and must give the same
changed/unchanged answers.
"""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from testbed import (import_image, image_id, playbook_messages, run,
                     run_playbook)

ANSIBLE = shutil.which("ansible-playbook")

PULL_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: pull
      community.docker.docker_image:
        docker_host: "{{ docker_host }}"
        name: "{{ repo }}"
        tag: "{{ tag }}"
        source: pull
"""

CONTAINER_PLAY = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: container
      community.docker.docker_container:
        docker_host: "{{ docker_host }}"
        name: "{{ cname }}"
        image: "{{ image }}"
        command: ["sleep", "300"]
        network_mode: none
        labels: "{{ labels }}"
        recreate: "{{ recreate }}"
        state: "{{ cstate }}"
        stop_timeout: 1
"""


@pytest.fixture(scope="module")
def ansible_dir(testbed):
    if ANSIBLE is None:
        pytest.skip("ansible-playbook not installed")
    d = testbed.tmpdir("ansible")
    for name, text in (("pull.yml", PULL_PLAY), ("container.yml", CONTAINER_PLAY)):
        with open(os.path.join(d, name), "w") as fh:
            fh.write(text)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    return d


def playbook(d, side, play, run_id, **extra):
    """Run a play; returns the localhost stats dict (changed, failures...)."""
    res, doc, stats = run_playbook(d, side.env, side.host, play,
                                   "%s-%s" % (side.name, run_id), extra)
    if res.returncode != 0 or stats.get("failures") or stats.get("unreachable"):
        raise AssertionError("ansible-playbook %s via %s failed rc=%d: %s\n%s" % (
            play, side.name, res.returncode, playbook_messages(doc),
            res.stderr[-2000:]))
    return stats


def both_parallel(sides, flow):
    """Ansible is slow (~2 s a run): run the guard and direct flows at once."""
    with ThreadPoolExecutor(max_workers=len(sides)) as ex:
        futures = {s.name: ex.submit(flow, s) for s in sides}
        return {name: f.result(timeout=900) for name, f in futures.items()}


def inspect(side, name, fmt):
    r = side.docker("inspect", "--format", fmt, name, check=False)
    return r.stdout.strip() if r.returncode == 0 else None


def test_docker_image_pull(sides, testbed, ansible_dir):
    reg = testbed.registry.addr

    def flow(side):
        # a unique image only in the registry, so the pull transfers blobs
        local = "ans-%s:%s" % (side.name, testbed.unique("v"))
        iid = import_image(testbed.direct_env, testbed.work, local, "7.7.7",
                           extra_files={"rand.bin": 128 * 1024})
        repo = "%s/ansible-pull" % reg
        tag = side.name
        d = testbed.direct_env
        run(["docker", "tag", local, "%s:%s" % (repo, tag)], env=d, timeout=30)
        run(["docker", "push", "%s:%s" % (repo, tag)], env=d, timeout=300)
        # Pull by digest: the guard refuses pulls by tag by default.
        digest = run(["docker", "image", "inspect", "--format",
                      "{{index .RepoDigests 0}}", "%s:%s" % (repo, tag)],
                     env=d, timeout=30).stdout.strip().split("@", 1)[1]
        run(["docker", "rmi", "%s:%s" % (repo, tag), local], env=d, timeout=60)
        gone = side.docker("image", "inspect", iid, check=False).returncode
        # docker_image takes a digest in the name (its tag option accepts
        # only tags); the name's digest wins over tag.
        pinned = "%s@%s" % (repo, digest)
        first = playbook(ansible_dir, side, "pull.yml", "p1", repo=pinned,
                         tag="latest")
        pulled = image_id(side.env, pinned)
        again = playbook(ansible_dir, side, "pull.yml", "p2", repo=pinned,
                         tag="latest")
        side.docker("rmi", "-f", iid, check=False)
        return gone, first["changed"], pulled == iid, again["changed"]

    r = both_parallel(sides, flow)
    assert r["guard"] == r["direct"] == (1, 1, True, 0), r


def test_docker_container_lifecycle(sides, testbed, ansible_dir):
    # start on the older version and upgrade: a downgrade of the same app
    # (container name) is what the guard's policy refuses by default
    a, b = testbed.images["31.0.8.1"], testbed.images["31.0.9.1"]
    fmt = ("{{.Id}}|{{.Image}}|{{.Config.Image}}|{{.HostConfig.NetworkMode}}|"
           "{{index .Config.Labels \"dg.test\"}}|{{.State.Running}}")

    def flow(side):
        name = testbed.unique("ans-%s-" % side.name)
        steps = []

        def step(label, **kv):
            args = dict(cname=name, image=a.digest_ref, labels={},
                        recreate=False, cstate="started")
            args.update(kv)
            stats = playbook(ansible_dir, side, "container.yml", label, **args)
            state = inspect(side, name, fmt)
            cid, rest = (state.split("|", 1) if state else (None, None))
            steps.append((label, stats["changed"], rest))
            return cid

        try:
            c1 = step("create")
            c1b = step("create-again")
            c2 = step("add-label", labels={"dg.test": "one"})
            c2b = step("add-label-again", labels={"dg.test": "one"})
            c3 = step("recreate", labels={"dg.test": "one"}, recreate=True)
            c4 = step("change-image", labels={"dg.test": "one"}, image=b.digest_ref)
            c4b = step("change-image-again", labels={"dg.test": "one"},
                       image=b.digest_ref)
            step("absent", cstate="absent")
            step("absent-again", cstate="absent")
        finally:
            side.docker("rm", "-f", name, check=False)
        ids = [c1, c1b, c2, c2b, c3, c4, c4b]
        same = [ids[i] == ids[i + 1] for i in range(len(ids) - 1)]
        return steps, same

    r = both_parallel(sides, flow)
    assert r["guard"] == r["direct"], r
    steps, same = r["guard"]
    A = "%s|%s|none|" % (a.id, a.digest_ref)
    B = "%s|%s|none|" % (b.id, b.digest_ref)
    assert steps == [
        ("create", 1, A + "<no value>|true"),
        ("create-again", 0, A + "<no value>|true"),           # idempotent
        ("add-label", 1, A + "one|true"),           # label change -> recreate
        ("add-label-again", 0, A + "one|true"),
        ("recreate", 1, A + "one|true"),            # recreate: yes
        ("change-image", 1, B + "one|true"),
        ("change-image-again", 0, B + "one|true"),
        ("absent", 1, None),
        ("absent-again", 0, None),
    ], steps
    # container IDs: same when unchanged, new on every recreate
    assert same == [True, False, True, False, False, True], same
