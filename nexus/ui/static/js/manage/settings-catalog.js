// What people see of each setting: the group (page) it is on, a human label, and whether a
// change needs OpenCode to restart. The server's description is the help text. Settings not
// listed here (internal tuning, and any added later) appear under Advanced with their raw key.
export const GROUPS = [
  { id: "general", title: "General", save: "Save general settings",
    note: "The name and colours of Nexus, and what its window does." },
  { id: "opencode", title: "OpenCode servers", save: "Save OpenCode settings",
    note: "How Nexus runs OpenCode, the coding agent behind every session." },
  { id: "remote", title: "Remote access", save: "Save remote access settings",
    note: "Reach Nexus from your phone through a Cloudflare tunnel. Sign-in is always required there." },
  { id: "security", title: "Security", save: "Save security settings",
    link: { href: "/security", text: "Password, API keys and signed-in devices" } },
  { id: "notifications", title: "Notifications", save: "Save notification settings",
    note: "What Nexus tells you about, in the bell and on the desktop." },
  { id: "logs", title: "Logs", save: "Save log settings", link: { href: "/logs", text: "Open the logs" } },
  { id: "advanced", title: "Advanced", save: "Save advanced settings",
    note: "Fine tuning. The defaults suit almost everyone; each setting shows its internal name." },
];

const S = (group, label, restart = false) => ({ group, label, restart });

export const CATALOG = {
  "general.instance_name": S("general", "Name of this Nexus"),
  "general.theme": S("general", "Colours"),
  "desktop.close_action": S("general", "When the window is closed"),
  "desktop.notifications": S("general", "Notify while the window is hidden"),
  "server.workspace": S("general", "Project folder", true),

  "server.autostart": S("opencode", "Start OpenCode with Nexus"),
  "server.binary": S("opencode", "OpenCode program", true),
  "server.url": S("opencode", "Use an OpenCode server that already runs", true),
  "server.protect": S("opencode", "Protect OpenCode with a password only Nexus knows", true),
  "server.env": S("opencode", "Environment variables for OpenCode", true),
  "restart.enabled": S("opencode", "Restart OpenCode when it crashes"),
  "anthropic.base_url": S("opencode", "Anthropic API address (built-in engine)"),

  "tunnel.mode": S("remote", "Remote access"),
  "tunnel.hostname": S("remote", "Your domain (named tunnel)"),
  "tunnel.autostart": S("remote", "Connect when Nexus starts"),
  "tunnel.protocol": S("remote", "Connection type"),
  "terminal.remote_enabled": S("remote", "Allow terminals from remote devices"),

  "security.require_login_locally": S("security", "Ask for the password on this computer too"),
  "security.session_idle_minutes": S("security", "Sign out when unused for (minutes)"),
  "security.session_max_days": S("security", "Sign out after (days)"),
  "security.lockout_failures": S("security", "Failed sign-ins before locking"),
  "security.lockout_minutes": S("security", "Locked for (minutes)"),

  "notifications.permission": S("notifications", "A session needs your permission"),
  "notifications.reply_finished": S("notifications", "A long reply finished"),
  "notifications.long_reply_seconds": S("notifications", "A reply is long after (seconds)"),
  "notifications.server_crash": S("notifications", "OpenCode crashed or stopped answering"),
  "notifications.server_restart": S("notifications", "OpenCode runs again after a crash"),
  "notifications.server_gave_up": S("notifications", "Nexus gave up restarting OpenCode"),
  "notifications.tunnel_up": S("notifications", "The tunnel connected"),
  "notifications.tunnel_down": S("notifications", "The tunnel disconnected"),
  "notifications.desktop": S("notifications", "Also show them on the desktop"),
  "notifications.keep": S("notifications", "Notifications kept"),

  "logs.level": S("logs", "Detail written to the log"),
  "logs.retention_days": S("logs", "Keep old log files for (days)"),
  "logs.backup_count": S("logs", "Old log files kept"),
};

const WORDS = { url: "URL", env: "Environment" };

// The entry for a key: a listed one, or Advanced with a label made from the key.
export function describe(key) {
  if (CATALOG[key]) return { ...CATALOG[key], raw: false };
  const last = key.split(".").slice(1).join(".") || key;
  const words = WORDS[last] || last.replace(/_/g, " ");
  return { group: "advanced", label: words.charAt(0).toUpperCase() + words.slice(1),
    restart: /^server\./.test(key), raw: true };
}
