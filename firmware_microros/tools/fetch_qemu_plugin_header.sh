#!/bin/sh
# Fetch qemu-plugin.h (GPL-2.0-or-later, not vendored) for the instruction-count plugin:
# Debian ships no plugin header in a binary package, so take it from the source package
# of the installed qemu-system-arm, with a private apt configuration (the system's apt
# sources are left untouched). Usage: fetch_qemu_plugin_header.sh OUT_DIR
set -eu
out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
if [ -f "$out/qemu-plugin.h" ]; then exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/apt_source_env.sh"
apt_source_setup "$work"
# Source version = binary version without a binNMU suffix (+bN).
version=$(dpkg-query -W -f='${Version}' qemu-system-arm | sed 's/+b[0-9]*$//')
(cd "$work" && apt-get $opts -qq source --download-only "qemu=$version")
tarball=$(ls "$work"/qemu_*.orig.tar.* | head -n 1)
top=$(tar -tf "$tarball" | head -n 1 | cut -d/ -f1)
tar -xf "$tarball" -C "$work" "$top/include/qemu/qemu-plugin.h"
cp "$work/$top/include/qemu/qemu-plugin.h" "$out/qemu-plugin.h"
echo "qemu-plugin.h from $(basename "$tarball")"
