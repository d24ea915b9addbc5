#!/usr/bin/env bash
# Build Nexus.app and a .dmg on macOS (needs Xcode's command-line tools for sips/iconutil/hdiutil).
#   python3 -m venv .venv && .venv/bin/pip install -e '.[build]' pywebview
#   installer/macos/make-dmg.sh
# Result: build/dist/Nexus.app and build/dist/nexus-<version>-macos.dmg. The window uses the
# system WebKit (WKWebView). The app is not signed: sign and notarise it with your Developer ID
# (codesign --deep -s "Developer ID Application: ..."; xcrun notarytool submit ...) before
# giving it to others, or Gatekeeper will refuse to open it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
[[ "$(uname)" == Darwin ]] || { echo "make-dmg.sh: run this on macOS" >&2; exit 1; }

# The icon: an .icns from the 256 px PNG.
iconset=$(mktemp -d)/nexus.iconset
mkdir -p "$iconset"
for size in 16 32 64 128 256; do
    sips -z $size $size nexus/ui/static/img/icon-256.png --out "$iconset/icon_${size}x${size}.png" >/dev/null
done
iconutil -c icns "$iconset" -o build/nexus.icns

build/build.sh  # the spec adds the .app bundle on macOS
version=$(build/dist/nexus/nexus --version | awk '{print $2}')
dmg="build/dist/nexus-$version-macos.dmg"
rm -f "$dmg"
hdiutil create -volname Nexus -srcfolder build/dist/Nexus.app -ov -format UDZO "$dmg"
echo "$dmg"
