#!/usr/bin/env bash
# Package the one-folder app (build/build.sh) as nexus-<version>-linux-<arch>.tar.gz with the
# menu entry, the icon and install.sh. Usage: installer/linux/build-tarball.sh [DIST_DIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dist=${1:-$root/build/dist}
[[ -x "$dist/nexus/nexus" ]] || { echo "build-tarball.sh: $dist/nexus/nexus is missing; run build/build.sh first" >&2; exit 1; }
version=$("$dist/nexus/nexus" --version | awk '{print $2}')
name="nexus-$version-linux-$(uname -m)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp -R "$dist/nexus" "$stage/$name/app"
cp "$root/installer/linux/install.sh" "$root/installer/linux/nexus.desktop" "$stage/$name/"
cp "$root/nexus/ui/static/img/icon-256.png" "$stage/$name/nexus.png"
chmod 0755 "$stage/$name/install.sh"
tar -C "$stage" -czf "$dist/$name.tar.gz" "$name"
echo "$dist/$name.tar.gz"
