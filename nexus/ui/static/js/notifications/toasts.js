// In-page toasts: a short stack in the corner that dismisses itself (not while hovered or focused).
const SHOW_MS = 8000;
const MAX_SHOWN = 4;

export function showToast({ title, body = "", level = "info", link = "", kind = "" }) {
  const stack = document.getElementById("notification-toasts");
  if (!stack) return null;
  const toast = document.createElement("div");
  toast.className = "notification-toast";
  toast.dataset.level = level;
  if (kind) toast.dataset.kind = kind;
  const text = document.createElement("div");
  text.className = "notification-toast-text";
  const heading = document.createElement("strong");
  heading.textContent = title;
  text.append(heading);
  if (body) {
    const p = document.createElement("span");
    p.textContent = body;
    text.append(p);
  }
  if (link && link !== location.pathname) {
    const open = document.createElement("a");
    open.href = link;
    open.textContent = "Open";
    text.append(open);
  }
  const close = document.createElement("button");
  close.type = "button";
  close.className = "notification-toast-close";
  close.setAttribute("aria-label", `Dismiss: ${title}`);
  close.textContent = "×";
  close.addEventListener("click", () => toast.remove());
  toast.append(text, close);
  stack.append(toast);
  while (stack.children.length > MAX_SHOWN) stack.firstElementChild.remove();

  let timer = null;
  const arm = () => { timer = setTimeout(() => toast.remove(), SHOW_MS); };
  const hold = () => clearTimeout(timer);
  toast.addEventListener("mouseenter", hold);
  toast.addEventListener("focusin", hold);
  toast.addEventListener("mouseleave", arm);
  toast.addEventListener("focusout", arm);
  arm();
  return toast;
}
