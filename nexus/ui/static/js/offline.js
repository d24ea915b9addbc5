// The "can't reach your computer" page: it asks Nexus again (every 3 s, slowing to 30 s) and
// reloads the page that was asked for as soon as any answer comes back.
const status = document.getElementById("offline-status");
const retry = document.getElementById("offline-retry");
let wait = 3000;
let timer = null;

async function reachable() {
  try {
    // Any HTTP answer, even "sign in first", means the computer is there.
    await fetch("/healthz", { cache: "no-store", credentials: "same-origin" });
    return true;
  } catch {
    return false;
  }
}

async function attempt() {
  clearTimeout(timer);
  status.textContent = "Trying to reach Nexus…";
  if (await reachable()) {
    status.textContent = "Connected. Opening Nexus…";
    location.reload();
    return;
  }
  status.textContent = `Not reachable yet. Trying again in ${Math.round(wait / 1000)} s.`;
  timer = setTimeout(attempt, wait);
  wait = Math.min(wait * 1.5, 30000);
}

retry.addEventListener("click", () => { wait = 3000; attempt(); });
window.addEventListener("online", () => { wait = 3000; attempt(); });
timer = setTimeout(attempt, 2000);
