// The sign-out control in the top bar.
import { api } from "./api.js";

document.getElementById("sign-out")?.addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } finally { location.assign("/login"); }
});
