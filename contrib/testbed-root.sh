#!/usr/bin/env bash
# Build (or reuse) a Debian root for the test bed and print its path.
# Usage: contrib/testbed-root.sh KIND
#   trixie        Debian 13's Docker generation: dockerd 26, compose v2,
#                 buildx, Ansible 12, plus what the suite and a package
#                 build need
#   sid           Debian unstable's generation (dockerd 28, compose 2.40,
#                 buildx 0.29, Ansible 14); may be uninstallable on a day
#   bookworm-host a Debian 12 host to boot with systemd-nspawn: systemd,
#                 dbus, docker.io, compose, Ansible and the guard's run-time
#                 libraries (a booted root has no network)
# Roots are cached under $DG_ROOT_CACHE (default
# /var/cache/docker-guard-testbed) and built again when older than a week
# or when this script's package list changes.  Debian packages only.
set -euo pipefail
kind=${1:?usage: testbed-root.sh trixie|sid|bookworm-host}
cache=${DG_ROOT_CACHE:-/var/cache/docker-guard-testbed}

common_tools=(busybox-static socat curl ca-certificates python3 python3-pytest
	python3-docker apache2-utils skopeo umoci docker-registry)
case "$kind" in
trixie | sid)
	suite=$kind
	packages=(docker.io docker-cli docker-compose docker-buildx
		"${common_tools[@]}" ansible
		meson ninja-build pkg-config gcc libevent-dev
		libcurl4-openssl-dev libjansson-dev libsqlite3-dev libpq-dev
		scdoc dpkg-dev fakeroot file)
	;;
bookworm-host)
	suite=bookworm
	packages=(systemd systemd-sysv dbus docker.io docker-compose ansible
		python3-docker adduser busybox-static curl procps iproute2
		libevent-2.1-7 libcurl4 libjansson4 libsqlite3-0 sqlite3 libpq5)
	;;
*)
	echo "testbed-root.sh: unknown kind $kind" >&2
	exit 2
	;;
esac

[ "$(id -u)" -eq 0 ] || { echo "testbed-root.sh: run as root" >&2; exit 1; }
root=$cache/$kind
stamp=$root/.docker-guard-testbed
# One build of a root at a time: a second caller (contrib/test.sh starts
# the builds in the background, the tests ask for the roots later) waits
# for the first and then finds the root ready.
mkdir -p "$cache"
exec 9>"$cache/.$kind.lock"
flock 9
want=$(printf '%s\n' "$suite" "${packages[@]}" | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -z "$(find "$stamp" -mtime +7)" ]; then
	echo "$root"
	exit 0
fi

if ! command -v debootstrap >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends debootstrap >&2
fi
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$root.new.$$
trap 'umount "$work/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
rm -rf "$work"
mkdir -p "$cache"
echo "testbed-root: debootstrap $suite into $work" >&2
debootstrap --variant=minbase "$suite" "$work" "$mirror" >&2
# debootstrap does not resolve virtual packages; apt inside the root does.
mount -t proc proc "$work/proc"
# A frozen mirror may serve an expired Release file (sid): accept it.
chroot "$work" env DEBIAN_FRONTEND=noninteractive \
	apt-get -o Acquire::Check-Valid-Until=false update >&2
# No fsync while unpacking: a root that did not finish is built again.
echo force-unsafe-io >"$work/etc/dpkg/dpkg.cfg.d/docker-guard-testbed"
chroot "$work" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${packages[@]}" >&2
chroot "$work" apt-get clean
rm -f "$work/etc/dpkg/dpkg.cfg.d/docker-guard-testbed"
umount "$work/proc"
echo "$want" >"$work/.docker-guard-testbed"
rm -rf "$root"
mv "$work" "$root"
trap - EXIT
echo "$root"
