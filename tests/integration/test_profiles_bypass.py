"""test_bypass.py's attempts, again, with a profile applied (issue 15).

A profile that allows everything (access full, no routes, no limits)
must not switch the image rules off; nor must a limited profile whose
limits these bodies do not touch.  Each of test_bypass's tests runs here
unchanged against a guard where the requests get a profile, in every way
a client can get one: default_profile, a uid match (uid:0), a gid match
(gid:0), a user: match, a listen_profiles socket, and a profile with
every limit set.  test_bypass's assertions are not rewritten: only its
`guard` fixture is replaced by this module's.
"""

import os

import pytest

import testbed as tb
from conftest import _check_and_stop
from test_bypass import *  # noqa: F401,F403 - its tests and fixtures run here

LIMITS = ("profile.p.privileged = no\n"
          "profile.p.host_namespaces = none\n"
          "profile.p.capabilities = none\n"
          "profile.p.devices = none\n"
          "profile.p.bind_mounts = none\n")

WAYS = {
    "default_profile": "default_profile = p\nprofile.p.access = full\n",
    "uid-match": "profile.p.clients = uid:0\n",
    "gid-match": "profile.p.clients = gid:0\nprofile.p.access = full\n",
    "user-match": "profile.p.clients = user:root\n",
    "listen_profiles": "profile.p.access = full\n"
                       "listen_profiles = {dir}/p.sock:p\n",
    "limited-default": "default_profile = p\n" + LIMITS,
}


class ProfileSocket:
    """A started guard seen through one of its listen_profiles sockets."""

    def __init__(self, guard, sock):
        self._g = guard
        self.sock = sock
        self.host = "unix://" + sock

    def __getattr__(self, name):
        return getattr(self._g, name)


# DG_QUICK_PROFILES=1 (tests/run sets it for the sanitized build, whose
# run is the slower one): three ways, one of each kind, not six.
QUICK_WAYS = ("limited-default", "uid-match", "listen_profiles")
RUN_WAYS = sorted(w for w in WAYS if os.environ.get("DG_QUICK_PROFILES") != "1"
                  or w in QUICK_WAYS)


@pytest.fixture(scope="module", params=RUN_WAYS)
def guard(request, testbed):
    name = testbed.unique("gpb")
    gdir = os.path.join(testbed.tdir, name)
    g = testbed.start_guard(WAYS[request.param].format(dir=gdir), name=name)
    try:
        if request.param == "listen_profiles":
            sock = os.path.join(gdir, "p.sock")
            tb.wait_for(lambda: tb.socket_connectable(sock),
                        "listen_profiles socket " + sock, timeout=10)
            yield ProfileSocket(g, sock)
        else:
            yield g
    finally:
        _check_and_stop(g)


def test_profile_is_applied(guard, testbed):
    """The guards above do apply their profile: a privileged create is
    refused only by the limited one, by profile p."""
    import json
    from test_bypass import exchange, request as req
    app = testbed.images["31.0.9.1"]
    name = testbed.unique("pbp")
    body = json.dumps({"Image": app.digest_ref, "Cmd": ["true"],
                       "HostConfig": {"NetworkMode": "none",
                                      "Privileged": True}}).encode()
    [r] = exchange(guard.sock, req(b"/v1.41/containers/create?name=" +
                                   name.encode(), body))
    try:
        limited = "profile.p.privileged = no" in open(guard.config).read()
        if limited:
            assert r.status == 403, r
            assert b'profile \\"p\\"' in r.body or b'profile "p"' in r.body, r
            assert b"profile.p.privileged" in r.body, r
        else:
            assert r.status == 201, r
    finally:
        tb.run(["docker", "rm", "-f", name], env=testbed.direct_env,
               timeout=60, check=False)
