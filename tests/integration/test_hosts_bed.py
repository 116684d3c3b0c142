"""The several-hosts bed itself (hosts.py): three hosts as network
namespaces with their own dockerd, a registry on their lan, guards in the
machine's namespace, and nothing left behind in the machine's namespace.

    /usr/bin/python3 -m pytest -q tests/integration/test_hosts_bed.py
"""

import glob
import json
import os
import re
import subprocess
import time

import pytest

import hosts
import testbed as tb


@pytest.fixture(scope="module")
def bed():
    yield from hosts.bed_fixture(3)


@pytest.fixture(scope="module")
def image(bed):
    return bed.push_image("bedapp", "1.2.3")


def test_hosts_are_distinct_engines(bed):
    infos = [bed.docker(h, "info", "--format", "{{json .}}").stdout
             for h in bed.hosts]
    names = [json.loads(i)["Name"] for i in infos]
    ids = [json.loads(i)["ID"] for i in infos]
    assert names == ["node-1", "node-2", "node-3"]
    assert len(set(ids)) == 3 and all(ids), ids
    assert len({bed.engine_socket(h) for h in bed.hosts}) == 3


def test_each_host_has_its_bridge_and_iptables_inside(bed):
    for h in bed.hosts:
        links = hosts.ip("-n", h.ns, "-o", "link", "show").stdout
        assert " docker0:" in links, links
        rules = tb.run(hosts.in_ns(h.ns, "iptables-save"), timeout=30).stdout
        assert "DOCKER" in rules, rules
        # no default route anywhere on the bed
        assert "default" not in hosts.ip("-n", h.ns, "route").stdout
    assert "default" not in hosts.ip("-n", bed.lan_ns, "route").stdout


def test_hosts_reach_each_other_over_the_lan(bed):
    h1, h3 = bed.hosts[0], bed.hosts[2]
    res = tb.run(hosts.in_ns(h1.ns, tb.BUSYBOX, "ping", "-c", "1", "-W", "5",
                             h3.ip), timeout=30)
    assert "1 packets received" in res.stdout, res.stdout


def test_image_pushed_once_pulls_by_digest_on_every_host(bed, image):
    assert image.digest_ref.startswith(bed.registry_addr + "/bedapp@sha256:")
    for h in bed.hosts:
        before = bed.docker(h, "image", "ls", "-q", "--no-trunc").stdout
        assert image.id not in before, "%s had it before pulling" % h.name
        bed.docker(h, "pull", image.digest_ref)
        label = bed.docker(h, "image", "inspect", "--format",
                           '{{index .Config.Labels "org.opencontainers.image.version"}}',
                           image.digest_ref).stdout.strip()
        assert label == "1.2.3"
        assert tb.image_id(h.env, image.digest_ref) == image.id


def test_user_network_dns_on_one_host(bed, image):
    h = bed.hosts[1]
    bed.docker(h, "network", "create", "bednet")
    bed.docker(h, "run", "-d", "--name", "dbsrv", "--network", "bednet",
               image.digest_ref)
    addr = bed.docker(h, "inspect", "--format",
                      "{{.NetworkSettings.Networks.bednet.IPAddress}}",
                      "dbsrv").stdout.strip()
    out = bed.docker(h, "run", "--rm", "--network", "bednet",
                     image.digest_ref, "ping", "-c", "1", "dbsrv").stdout
    assert re.search(r"PING dbsrv \(%s\)" % re.escape(addr), out), out
    assert "1 packets received" in out, out
    t0 = time.monotonic()
    bed.docker(h, "rm", "-f", "dbsrv")
    bed.docker(h, "network", "rm", "bednet")
    assert time.monotonic() - t0 < 8, "PID 1 did not exit on SIGTERM"


def test_guard_in_front_of_a_host(bed, image):
    g = bed.start_guard(3, "registry_unreachable = deny\n")
    assert g.socket.startswith(bed.root)
    name = bed.docker(g, "info", "--format", "{{.Name}}").stdout.strip()
    assert name == "node-3"
    # the guard (machine namespace) checks the registry on the lan: with
    # registry_unreachable = deny, an allowed run proves it reached it
    bed.docker(g, "run", "-d", "--name", "guarded", image.digest_ref)
    bed.docker(g, "rm", "-f", "guarded")
    refused = bed.docker(g, "run", "-d", image.registry_ref, check=False)
    assert refused.returncode != 0
    assert "require_digest" in refused.stderr, refused.stderr
    assert g.stop() == 0


def test_machine_namespace_untouched_while_up(bed):
    assert hosts.machine_changes(bed.machine_before,
                                 hosts.machine_network_state()) == []
    for h in bed.hosts:
        assert h.ns in hosts.netns_names()


def test_stale_namespace_of_a_dead_run_is_removed():
    p = subprocess.Popen(["true"])
    p.wait(timeout=10)
    stale = "%s%d-1-lan" % (hosts.PREFIX, p.pid)
    hosts.ip("netns", "add", stale)
    try:
        hosts.clean_stale()
        assert stale not in hosts.netns_names()
    finally:
        hosts.ip("netns", "del", stale, check=False)


def test_a_bed_comes_down_clean_in_seconds():
    """A second, one-host bed as a context manager: up, down, nothing left
    (the module's bed checks the same at its teardown)."""
    before = hosts.machine_network_state()
    with hosts.Bed(n_hosts=1, registry=False) as b:
        h = b.hosts[0]
        name = b.docker(h, "info", "--format", "{{.Name}}").stdout.strip()
        assert name == "node-1"
    assert b.timings["up"] < 30 and b.timings["down"] < 30, b.timings
    if not os.environ.get("DG_KEEP_TESTBED"):
        assert not os.path.exists(b.root)
    assert not [n for n in hosts.netns_names() if n.startswith(b.prefix)]
    assert not glob.glob(os.path.join(hosts.CGROUP_ROOT, "*", b.prefix + "*"))
    assert hosts.machine_changes(before, hosts.machine_network_state()) == []


def test_machine_changes_names_what_moved():
    before = {"links": ["eth0", "lo"], "routes": ["r1"], "iptables_lines": 0}
    after = {"links": ["br0", "eth0", "lo"], "routes": [],
             "iptables_lines": 12}
    out = hosts.machine_changes(before, after)
    assert len(out) == 3, out
    assert "added ['br0']" in out[0] and "removed ['r1']" in out[1]
    assert "from 0 to 12" in out[2]
    assert hosts.machine_changes(before, dict(before)) == []
