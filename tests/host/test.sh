#!/bin/bash
# Runs inside the booted Debian 12 host (tests/host/run boots it twice with
# systemd as PID 1); /out is the harness's directory.  Boot 1 installs
# /out/docker-guard.deb and drives the docker CLI, docker-compose and
# Ansible with their default socket; boot 2 checks the ledger survived,
# then purges the package.  Each check appends "ok NAME" or
# "FAIL NAME: why" to /out/results; the log is /out/test.log.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root
unset DOCKER_HOST
exec >>/out/test.log 2>&1
R=/out/results
W=/tmp/dg-host

ok() { echo "ok $1" >>"$R"; echo "== ok $1"; }
fail() { echo "FAIL $1: $2" >>"$R"; echo "== FAIL $1: $2"; }
# check NAME COMMAND...: ok if COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "$*"; fi
}

# wait_for SECONDS COMMAND...: poll COMMAND every 0.2 s, at most SECONDS.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

engine_ok() { timeout 20 docker version >/dev/null 2>&1; }

# The guard's answers carry no Server header of dockerd's own: the test
# tells the guard from the engine by a tag-only create.
tag_only_refused() {
	local out
	out=$(timeout 60 "$@" 2>&1)
	local rc=$?
	echo "$out"
	[ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'docker-guard'
}

audit_has() { docker-guard audit --json | grep -q "$1"; }

boot1() {
	echo "=== boot 1 $(date -u +%T)"
	check "engine up before install" wait_for 60 engine_ok
	check "dpkg -i" timeout 120 dpkg -i /out/docker-guard.deb
	check "guard socket active" systemctl is-active --quiet docker-guard.socket
	check "engine socket moved" test -S /run/docker-guard-engine.sock
	check "engine socket group docker-guard" \
		test "$(stat -c %G /run/docker-guard-engine.sock)" = docker-guard
	check "docker.sock group docker" test "$(stat -c %G /var/run/docker.sock)" = docker
	check "drop-in honoured" sh -c \
		'systemctl show -p Listen docker.socket | grep -q docker-guard-engine.sock'
	check "docker version through the guard" wait_for 30 engine_ok

	# A tiny image: a busybox root imported (no registry, no network).
	mkdir -p "$W/rootfs/bin"
	cp /bin/busybox "$W/rootfs/bin/"
	for c in sh echo sleep; do ln -sf busybox "$W/rootfs/bin/$c"; done
	tar -C "$W/rootfs" -cf "$W/bb.tar" .
	check "docker import" sh -c "timeout 60 docker import \
		-c 'LABEL org.opencontainers.image.version=1.0' \
		-c 'CMD [\"/bin/sh\"]' $W/bb.tar app:1.0 >/dev/null"
	id=$(docker image inspect -f '{{.Id}}' app:1.0)

	useradd -m -G docker alice
	uid=$(id -u alice)
	check "tag-only run refused by docker-guard (uid $uid, no DOCKER_HOST)" \
		tag_only_refused runuser -u alice -- docker run --rm --network none app:1.0 echo hi
	check "image ID offered in the refusal" sh -c \
		"docker-guard audit --uid $uid --json | grep -q '${id#sha256:}'"
	check "audit shows the CLI's uid" sh -c \
		"docker-guard audit --uid $uid --verdict deny --json | grep -q '\"uid\": *$uid'"
	# Pinned by its image ID, the create is allowed.  (Containers cannot
	# start here: nspawn gives a cgroup v1 host's controllers read-only.)
	check "pinned create (image ID) allowed" sh -c \
		"runuser -u alice -- timeout 60 docker create --name pinned --network none $id sleep 3600 >/dev/null"

	mkdir -p "$W/shop"
	cat >"$W/shop/docker-compose.yml" <<YML
version: "2.4"
services:
  web:
    image: app:1.0
    network_mode: none
    command: sleep 3600
YML
	check "compose tag-only up refused by docker-guard" \
		tag_only_refused sh -c "cd $W/shop && docker-compose up -d"
	check "compose audited" audit_has '"app": *"shop_web"\|shop'

	cat >"$W/play.yml" <<YML
- hosts: localhost
  gather_facts: false
  tasks:
    - community.docker.docker_container:
        name: ans
        image: app:1.0
        network_mode: none
        command: sleep 3600
YML
	check "ansible tag-only refused by docker-guard" \
		tag_only_refused ansible-playbook -i localhost, -c local "$W/play.yml"
	check "ansible audited" audit_has '"ans"'

	# The guard's lines in the journal: text lines carry their syslog
	# priority (journald reads the <N> prefix) and no time of their own;
	# log_format = json makes each one JSON object, from the reload on.
	check "journal: a refusal at priority info, no time of its own" sh -c \
		"journalctl -u docker-guard.service -p info -o cat --no-pager |
		    grep -q '^info: docker-guard: refusing to create'"
	conf=/etc/docker-guard/guard.conf
	cp "$conf" "$W/guard.conf.orig"
	echo 'log_level = loud' >>"$conf"
	systemctl reload docker-guard.service
	check "journal: a bad reload logged at priority err" wait_for 10 sh -c \
		"journalctl -u docker-guard.service -p err -o cat --no-pager |
		    grep -q '^error: $conf:[0-9]*: log_level: \"loud\"'"
	cp "$W/guard.conf.orig" "$conf"
	echo 'log_format = json' >>"$conf"
	systemctl reload docker-guard.service
	wait_for 10 sh -c "journalctl -u docker-guard.service -o cat --no-pager |
	    grep -q '\"msg\":\"SIGHUP: configuration reloaded\"'"
	tag_only_refused docker create --network none app:1.0 >/dev/null
	# (the guard's own lines: -u would add systemd's "Reloading ...")
	check "journal: json lines after the reload" sh -c \
		"journalctl _SYSTEMD_UNIT=docker-guard.service -o cat --no-pager |
		    sed -n '/\"msg\":\"SIGHUP: configuration reloaded\"/,\$p' |
		    python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
bad = [line for line in lines if not line.startswith(\"{\")]
assert lines and not bad, bad
objs = [json.loads(line) for line in lines]
assert all(sorted(o) == [\"level\", \"msg\", \"ts\"] for o in objs), objs
assert any(\"refusing to create\" in o[\"msg\"] for o in objs), objs
'"
	cp "$W/guard.conf.orig" "$conf"
	systemctl reload docker-guard.service

	# 300 docker version calls (three clients, 100 each) while the guard
	# restarts: no error.
	pid1=$(systemctl show -p MainPID --value docker-guard.service)
	: >"$W/errors"
	t0=$SECONDS
	loops=
	for c in 1 2 3; do
		(for i in $(seq 100); do
			timeout 10 docker version >/dev/null 2>>"$W/errors" ||
				echo "client $c call $i failed at $(date +%T.%N)" >>"$W/fails"
		done) &
		loops="$loops $!"
	done
	sleep 1
	echo "restart at $(date +%T.%N)"
	timeout 60 systemctl restart docker-guard.service || echo "restart failed"
	echo "restarted at $(date +%T.%N)"
	# shellcheck disable=SC2086
	wait $loops
	echo "300 calls took $((SECONDS - t0)) s"
	pid2=$(systemctl show -p MainPID --value docker-guard.service)
	check "guard restarted (pid $pid1 -> $pid2)" test "$pid1" != "$pid2"
	check "300 docker version during a guard restart: 0 errors" \
		test ! -s "$W/fails"
	cat "$W/fails" "$W/errors" 2>/dev/null | head -n 20
	journalctl -u docker-guard.service --no-pager | tail -n 15

	# The engine away behind the guard: a Docker-shaped 502, then back.
	systemctl stop docker.socket docker.service
	code=$(curl -s -o "$W/502" -w '%{http_code}' --max-time 10 \
		--unix-socket /var/run/docker.sock http://docker/_ping)
	check "engine stopped: guard answers 502 ($code)" sh -c \
		"test '$code' = 502 && grep -q message $W/502"
	systemctl start docker.socket docker.service
	check "engine started again: docker version" wait_for 30 engine_ok
	check "systemctl restart docker" timeout 90 systemctl restart docker
	check "after systemctl restart docker: docker version" wait_for 30 engine_ok

	docker-guard audit --json | wc -l >/out/audit-rows-boot1
	docker-guard history --json >/out/history-boot1
	echo 1 >/out/phase
}

boot2() {
	echo "=== boot 2 $(date -u +%T)"
	check "boot 2: docker version through the guard" wait_for 60 engine_ok
	check "boot 2: guard socket active" systemctl is-active --quiet docker-guard.socket
	rows=$(docker-guard audit --json | wc -l)
	check "boot 2: audit rows kept ($(cat /out/audit-rows-boot1) -> $rows)" \
		test "$rows" -ge "$(cat /out/audit-rows-boot1)"
	check "boot 2: ledger kept (history of pinned)" sh -c \
		'docker-guard history pinned --json | grep -q "1.0"'
	check "boot 2: audit --verify" docker-guard audit --verify
	check "boot 2: tag-only still refused" \
		tag_only_refused docker create --network none app:1.0

	check "dpkg --purge" timeout 120 dpkg --purge docker-guard
	check "purge: docker version" wait_for 30 engine_ok
	check "purge: docker.sock group docker" \
		test "$(stat -c %G /var/run/docker.sock)" = docker
	check "purge: engine socket back" sh -c \
		'systemctl show -p Listen docker.socket | grep -q "/run/docker.sock"'
	check "purge: no guard (tag-only create works)" sh -c \
		'timeout 60 docker create --network none app:1.0 true >/dev/null'
	check "purge: engine socket gone" test ! -e /run/docker-guard-engine.sock
	check "purge: state gone" test ! -e /var/lib/docker-guard
	check "purge: user gone" sh -c '! getent passwd docker-guard'
	echo 2 >/out/phase
}

if [ -f /out/phase ]; then boot2; else boot1; fi
echo "=== done $(date -u +%T)"
