// Applies a theme setting to the open page at once (base.html applies the stored one on load;
// nexus/ui/navigation.py holds the same table for the server side).
const DARK_MEDIA = { light: "not all", dark: "all", system: "(prefers-color-scheme: dark)" };
const COLOR_SCHEME = { light: "light", dark: "dark", system: "light dark" };

export function applyTheme(theme) {
  if (!(theme in DARK_MEDIA)) return;
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme-dark")?.setAttribute("media", DARK_MEDIA[theme]);
  document.querySelector('meta[name="color-scheme"]')?.setAttribute("content", COLOR_SCHEME[theme]);
}
