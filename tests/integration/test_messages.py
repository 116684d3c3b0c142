"""What docker-guard tells the client, with the real engine and registries:

- a reference with a digest prints as repo@sha256:..., never
  repo:sha256:... (the registry's details in a refusal or a warning);
- a create allowed only because the registry could not be asked
  (registry_unreachable = allow) says so in the create response's
  Warnings, so `docker create` and `docker run` print it, and in the audit;
- a tag-only refusal of a locally built image (no registry digest) offers
  the image ID as the pinned reference, said to be the local image that it
  pins only on this host.

Under GUARD_STANDIN=socat every test here fails.
"""

import re

import pytest

from registry_fixtures import (DOCKER, ImageKit, RegistryServer, guard_conf,
                               last_audit_id, wait_audit)
from testbed import run

NO_CACHE = dict(registry_cache_ttl=0, registry_negative_ttl=0)


@pytest.fixture(scope="module")
def kit(testbed):
    return ImageKit(testbed)


@pytest.fixture
def names(testbed):
    made = []
    yield made
    if made:
        run([DOCKER, "rm", "-f"] + made, env=testbed.direct_env, timeout=120,
            check=False)


def docker(g, *args, timeout=120):
    return run([DOCKER] + list(args), env=g.env, timeout=timeout, check=False)


def create(g, ref, names, testbed, *cmd):
    name = testbed.unique("msg-")
    names.append(name)
    return docker(g, "create", "--network", "none", "--name", name, ref,
                  *(cmd or ("true",)))


def only_row(g, since):
    rows = wait_audit(g, since, 1, route="containers/create")
    assert len(rows) == 1, rows
    return rows[0]


def pushed(kit, reg, repo, version):
    """An image pushed to reg/repo:v1; returns its digest reference."""
    ref = "%s/%s:v1" % (reg.addr, repo)
    kit.import_image(ref, version)
    kit.push(ref)
    return "%s/%s@%s" % (reg.addr, repo, reg.digest(repo, "v1"))


def no_colon_digest(text, repo_path):
    """No "<repo>:sha256:" anywhere: a digest follows an '@'."""
    bad = re.findall(re.escape(repo_path) + r":sha256:", text)
    assert not bad, "repo:sha256: in:\n%s" % text


def test_registry_detail_prints_repo_at_digest(testbed, guard_factory, kit,
                                               names):
    reg = RegistryServer(testbed.work, testbed.unique("msgreg")).start()
    try:
        ref = pushed(kit, reg, "gone", "1.0.0")
        repo_path, digest = ref.split("@", 1)
        g = guard_factory(guard_conf(**NO_CACHE))
        reg.delete_manifest("gone", digest)
        since = last_audit_id(g)
        r = create(g, ref, names, testbed)
        assert r.returncode != 0, "created although the manifest is gone"
        assert "%s@%s: the registry answered 404" % (repo_path, digest) in \
            r.stderr, r.stderr
        no_colon_digest(r.stderr, repo_path)
        row = only_row(g, since)
        assert (row["verdict"], row["rule"]) == ("deny", "registry"), row
        no_colon_digest(row["message"], repo_path)
    finally:
        reg.stop()


@pytest.mark.parametrize("how", ["create", "run"])
def test_registry_down_allowed_create_warns_the_client(testbed, guard_factory,
                                                       kit, names, how):
    reg = RegistryServer(testbed.work, testbed.unique("msgdown")).start()
    try:
        ref = pushed(kit, reg, "down", "7.0.0")
        repo_path = ref.split("@", 1)[0]
        g = guard_factory(guard_conf(**NO_CACHE))
        ok = create(g, ref, names, testbed)
        assert ok.returncode == 0, ok.stderr
        assert "docker-guard" not in ok.stderr, ok.stderr   # present: quiet
        reg.kill()
        since = last_audit_id(g)
        if how == "create":
            r = create(g, ref, names, testbed)
        else:
            name = testbed.unique("msg-")
            names.append(name)
            r = docker(g, "run", "--network", "none", "--name", name, ref,
                       "echo", "ran")
            assert "ran" in r.stdout, r
        assert r.returncode == 0, r.stderr
        for needle in ("WARNING: docker-guard: warning: allowing the create "
                       "of ",
                       "without a registry check: the registry of image %s "
                       "could not say whether it still has it (unreachable: "
                       "%s: " % (ref, ref),
                       "registry_unreachable = allow (rule: "
                       "registry_unreachable)"):
            assert needle in r.stderr, "%r not in:\n%s" % (needle, r.stderr)
        no_colon_digest(r.stderr, repo_path)
        row = only_row(g, since)
        assert (row["verdict"], row["rule"]) == \
            ("allow", "registry_unreachable"), row
        assert "registry unreachable: %s: " % ref in row["message"], row
    finally:
        reg.stop()


def test_tag_only_local_image_offered_its_id(testbed, guard_factory, kit,
                                             names):
    local = "%s:1.0" % testbed.unique("msglocal")
    kit.import_image(local, "1.0")
    iid = kit.image_id(local)
    g = guard_factory("")
    since = last_audit_id(g)
    r = create(g, local, names, testbed)
    assert r.returncode != 0, r.stdout
    for needle in ("image %s is not pinned by digest" % local,
                   "(rule: require_digest)",
                   "Pin it by its image ID: %s. That is the local image "
                   "(built or loaded on this host, no registry has it), so "
                   "its ID pins it only on this host; to pin it anywhere "
                   "else, push it and use the digest the push prints." % iid):
        assert needle in r.stderr, "%r not in:\n%s" % (needle, r.stderr)
    assert "<digest>" not in r.stderr, r.stderr
    row = only_row(g, since)
    assert (row["verdict"], row["rule"]) == ("deny", "require_digest"), row
    # the offered reference is pinned: it is let through
    ok = create(g, iid, names, testbed)
    assert ok.returncode == 0, ok.stderr
