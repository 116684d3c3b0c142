#!/usr/bin/env bash
# Build the Debian package build/docker-guard_<version>_<arch>.deb for the
# Debian release this runs on (a .deb built on Debian 12 does not install
# on Debian 13, whose libraries were renamed by the 64-bit time_t
# transition: build it inside a Debian 13 root for Debian 13).
# Usage: contrib/package.sh [--outdir DIR]     (default DIR: build)
#
# A release build (meson setup --prefix=/usr -Dbuildtype=release, with
# Debian's hardening flags) in build-deb-<codename>/, `meson install
# --destdir` into a staging root (meson.build says what is installed: the
# binary, the units, the configuration, the sysusers file, completion,
# man pages), the Debian parts from contrib/debian/, dependencies from
# dpkg-shlibdeps, packed by dpkg-deb --root-owner-group.  Needs meson,
# ninja, gcc, the -dev packages, scdoc and dpkg-dev (contrib/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

outdir=build
while [ "$#" -gt 0 ]; do
	case "$1" in
	--outdir) outdir=${2:?--outdir needs a directory}; shift ;;
	*) echo "package.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
for t in meson ninja scdoc dpkg-deb dpkg-shlibdeps dpkg-parsechangelog gzip; do
	command -v "$t" >/dev/null || { echo "package.sh: $t is missing (contrib/setup.sh installs it)" >&2; exit 1; }
done

deb=contrib/debian
version=$(meson introspect --projectinfo meson.build |
	/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
chversion=$(dpkg-parsechangelog -l "$deb/changelog" -SVersion)
if [ "$version" != "$chversion" ]; then
	echo "package.sh: meson.build says $version, $deb/changelog says $chversion" >&2
	exit 1
fi
arch=$(dpkg --print-architecture)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
SOURCE_DATE_EPOCH=$(date -d "$(dpkg-parsechangelog -l "$deb/changelog" -SDate)" +%s)
export SOURCE_DATE_EPOCH

bd=build-deb-$codename
# Debian's hardening flags, all of them (bindnow too).  The build
# directory is kept between runs, and set up again when they change.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
opts=(--prefix=/usr -Dbuildtype=release
	"-Dc_args=$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
	"-Dc_link_args=$(dpkg-buildflags --get LDFLAGS)")
if [ "$(cat "$bd/package-opts" 2>/dev/null)" != "${opts[*]}" ]; then
	rm -rf "$bd"
	meson setup "$bd" "${opts[@]}" >/dev/null
	echo "${opts[*]}" >"$bd/package-opts"
fi
ninja -C "$bd" docker-guard docker-guard.8 guard.conf.5 >/dev/null

# The staging root is debian/docker-guard of a minimal source tree, where
# dpkg-shlibdeps expects a package's files.
pkg=$bd/pkg
stage=$PWD/$pkg/debian/docker-guard
rm -rf "$pkg"
mkdir -p "$pkg/debian"
printf 'Source: docker-guard\n\nPackage: docker-guard\nArchitecture: any\n' \
	>"$pkg/debian/control"
meson install -C "$bd" --no-rebuild --strip --destdir "$stage" >/dev/null
gzip -9n "$stage"/usr/share/man/man*/*
doc=$stage/usr/share/doc/docker-guard
mkdir -p "$doc" "$stage/var/lib/docker-guard" "$stage/DEBIAN"
cp "$deb/copyright" "$doc/copyright"
gzip -9n -c "$deb/changelog" >"$doc/changelog.gz"

shlibs=$(cd "$pkg" && dpkg-shlibdeps -O debian/docker-guard/usr/bin/docker-guard |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package.sh: dpkg-shlibdeps found nothing" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
{
	sed -n '1p' "$deb/control"
	printf 'Version: %s\nArchitecture: %s\nInstalled-Size: %s\n' \
		"$version" "$arch" "$size"
	sed '1d; s/@SHLIBS@/'"$shlibs"'/' "$deb/control"
} >"$stage/DEBIAN/control"
(cd "$stage" && find etc -type f -printf '/%p\n' | sort) >"$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$deb/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"

mkdir -p "$outdir"
out=$outdir/docker-guard_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"
