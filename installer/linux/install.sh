#!/bin/sh
# Install Nexus for the current user (no root): the app in ~/.local/opt/nexus, the `nexus`
# command in ~/.local/bin, a menu entry and its icon. Run it from the unpacked tarball.
#   ./install.sh              install (or update: the previous copy of the app is replaced)
#   ./install.sh --uninstall  remove the app, command, menu entry and icon (your data stays
#                             in ~/.local/share/nexus)
# NEXUS_INSTALL_DIR and XDG_DATA_HOME change where things go.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data_home=${XDG_DATA_HOME:-$HOME/.local/share}
app_dir=${NEXUS_INSTALL_DIR:-$HOME/.local/opt/nexus}
bin_dir=$HOME/.local/bin
desktop_file=$data_home/applications/nexus.desktop
icon_file=$data_home/icons/hicolor/256x256/apps/nexus.png

refresh_menus() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data_home/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
    [ -L "$bin_dir/nexus" ] && rm -f "$bin_dir/nexus"
    rm -rf "$app_dir"
    rm -f "$desktop_file" "$icon_file"
    refresh_menus
    echo "Nexus is uninstalled (your data in $data_home/nexus is kept)."
    exit 0
fi

[ -x "$here/app/nexus" ] || { echo "install.sh: run me from the unpacked Nexus folder (app/nexus is missing)" >&2; exit 1; }
mkdir -p "$(dirname "$app_dir")" "$bin_dir" "$(dirname "$desktop_file")" "$(dirname "$icon_file")"
# Copy next to the target, then swap, so a failed copy never leaves half an app behind.
rm -rf "$app_dir.new"
cp -R "$here/app" "$app_dir.new"
rm -rf "$app_dir"
mv "$app_dir.new" "$app_dir"
ln -sfn "$app_dir/nexus" "$bin_dir/nexus"
cp "$here/nexus.png" "$icon_file"
sed "s|@EXEC@|\"$app_dir/nexus\"|" "$here/nexus.desktop" > "$desktop_file"
chmod 0644 "$desktop_file" "$icon_file"
refresh_menus
echo "Nexus is installed: open it from your applications menu, or run $bin_dir/nexus"
case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "(add $bin_dir to your PATH to run plain \`nexus\`)";; esac
