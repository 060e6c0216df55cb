#!/bin/sh
# Fetch libjpeg-turbo's source (IJG / BSD-style licences; never vendored or committed) for
# the measured edge-only baseline (`make jpeg-report`): `apt-get source libjpeg-turbo` from
# Debian's source package, Debian's patches applied by dpkg-source, with a private apt
# configuration (the system's apt sources are left untouched), as fetch_qemu_plugin_header.sh
# does for QEMU's plugin header.
#
# Usage: fetch_libjpeg_turbo.sh OUT_DIR [VERSION]
#   OUT_DIR/src       the unpacked source tree (libjpeg-turbo-<upstream version>/)
#   OUT_DIR/VERSION   the Debian source version fetched (e.g. 1:2.1.5-2)
# VERSION (optional) pins the Debian version; default: the newest in the release's
# deb-src lists. Nothing is done when OUT_DIR/VERSION already exists.
set -eu
out=${1:?usage: $0 OUT_DIR [VERSION]}
want=${2:-}
if [ -f "$out/VERSION" ] && [ -d "$out/src" ]; then exit 0; fi
command -v apt-get >/dev/null 2>&1 || { echo "fetch_libjpeg_turbo.sh: apt-get not found (Debian/Ubuntu only)" >&2; exit 2; }
command -v dpkg-source >/dev/null 2>&1 || { echo "fetch_libjpeg_turbo.sh: dpkg-source not found (apt-get install dpkg-dev)" >&2; exit 2; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/apt_source_env.sh"
apt_source_setup "$work"
spec=libjpeg-turbo
if [ -n "$want" ]; then spec="libjpeg-turbo=$want"; fi
mkdir -p "$work/src"
(cd "$work/src" && apt-get $opts -qq source "$spec" >/dev/null)
dsc=$(ls "$work"/src/libjpeg-turbo_*.dsc | head -n 1)
version=$(sed -n 's/^Version: //p' "$dsc" | head -n 1)
tree=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'libjpeg-turbo-*' | head -n 1)
test -f "$tree/jcapimin.c" || { echo "fetch_libjpeg_turbo.sh: no source tree unpacked from $dsc" >&2; exit 1; }
rm -rf "$out/src"
mkdir -p "$out/src"
mv "$tree" "$out/src/"
echo "$version" > "$out/VERSION"
echo "libjpeg-turbo $version from Debian's source package -> $out/src/$(basename "$tree")"
