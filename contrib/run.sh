#!/usr/bin/env bash
# Set everything up on a Debian 12 machine and run docker-guard in front of
# the local Docker engine.  If no engine answers on /var/run/docker.sock, a
# private one is started (no bridge, no iptables) so the demo works anywhere.
# Prints the DOCKER_HOST line to use.  Run as root.
#   GUARD_CONFIG=/path/guard.conf   use this configuration file
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/setup.sh

bin=$(pwd)/build/docker-guard
engine=/var/run/docker.sock
listen=/run/docker-guard.sock
state=/var/lib/docker-guard
log=/var/log/docker-guard.log
mkdir -p "$state"

engine_up() { docker -H "unix://$1" version >/dev/null 2>&1; }

if ! engine_up "$engine"; then
	demo=/run/docker-guard-demo
	engine=$demo/docker.sock
	if ! engine_up "$engine"; then
		echo "No Docker engine answers on /var/run/docker.sock;" \
		    "starting a private one at $engine"
		mkdir -p "$demo"
		dockerd --data-root /var/lib/docker-guard-demo \
		    --exec-root "$demo/exec" --host "unix://$engine" \
		    --pidfile "$demo/docker.pid" --bridge=none \
		    --iptables=false --ip6tables=false --ip-masq=false \
		    >"$demo/dockerd.log" 2>&1 &
		for _ in $(seq 60); do engine_up "$engine" && break; sleep 1; done
		engine_up "$engine" || { echo "dockerd did not start; see $demo/dockerd.log" >&2; exit 1; }
	fi
fi

if [ -f /run/docker-guard.pid ] && kill -0 "$(cat /run/docker-guard.pid)" 2>/dev/null; then
	echo "docker-guard is already running (pid $(cat /run/docker-guard.pid))"
else
	args=(serve --listen "$listen" --upstream "$engine" --database "$state/guard.db")
	[ -n "${GUARD_CONFIG:-}" ] && args+=(--config "$GUARD_CONFIG")
	nohup "$bin" "${args[@]}" >>"$log" 2>&1 &
	echo $! >/run/docker-guard.pid
	for _ in $(seq 50); do [ -S "$listen" ] && break; sleep 0.1; done
	[ -S "$listen" ] || { echo "docker-guard did not start; see $log" >&2; exit 1; }
fi

cat <<MSG

docker-guard is running in front of $engine (log: $log, pid $(cat /run/docker-guard.pid)).
Point your clients at it:

    export DOCKER_HOST=unix://$listen

Stop it with: kill \$(cat /run/docker-guard.pid)
MSG
