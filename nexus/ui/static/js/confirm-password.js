// "Confirm your password": security changes need the owner, present (the password typed in
// the last 10 minutes). api.js opens this when the server answers
// password_confirmation_required, then repeats the request once.
let pending = null;

export function confirmPassword(reason) {
  if (pending) return pending;  // several refused calls share one dialog
  pending = new Promise((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.setAttribute("aria-labelledby", "confirm-password-title");
    const form = document.createElement("form");
    form.method = "dialog";
    form.className = "confirm-password";
    const title = document.createElement("h2");
    title.id = "confirm-password-title";
    title.textContent = "Confirm your password";
    const why = document.createElement("p");
    why.className = "muted";
    why.textContent = reason || "Security changes need your password again.";
    const label = document.createElement("label");
    label.htmlFor = "confirm-password-input";
    label.textContent = "Password";
    const input = document.createElement("input");
    input.id = "confirm-password-input";
    input.type = "password";
    input.autocomplete = "current-password";
    input.required = true;
    const error = document.createElement("p");
    error.className = "form-error";
    error.id = "confirm-password-error";
    error.setAttribute("role", "alert");
    input.setAttribute("aria-describedby", error.id);
    const actions = document.createElement("div");
    actions.className = "dialog-actions";
    const cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "btn"; cancel.textContent = "Cancel";
    const ok = document.createElement("button");
    ok.type = "submit"; ok.className = "btn primary"; ok.textContent = "Confirm";
    actions.append(cancel, ok);
    form.append(title, why, label, input, error, actions);
    dialog.append(form);
    document.body.append(dialog);

    const finish = (confirmed) => { dialog.close(); dialog.remove(); pending = null; resolve(confirmed); };
    cancel.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); finish(false); });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      ok.disabled = true;
      try {
        const res = await fetch("/api/auth/confirm", {
          method: "POST",
          headers: { Accept: "application/json", "Content-Type": "application/json",
            "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]')?.content || "" },
          body: JSON.stringify({ password: input.value }),
        });
        const data = await res.json().catch(() => null);
        if (!res.ok) {
          error.textContent = data?.error?.message || `${res.status} ${res.statusText}`;
          input.setAttribute("aria-invalid", "true");
          input.select();
          return;
        }
        // Confirming may have signed this browser in (local sign-in off): new CSRF token.
        const meta = document.querySelector('meta[name="csrf-token"]');
        if (meta && data?.csrf_token) meta.content = data.csrf_token;
        finish(true);
      } finally {
        ok.disabled = false;
      }
    });
    dialog.showModal();
    input.focus();
  });
  return pending;
}
