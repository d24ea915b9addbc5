// The phone menu of the top bar: the button opens and closes the navigation drawer.
const bar = document.querySelector(".topbar");
const toggle = document.getElementById("nav-toggle");

function setOpen(open) {
  bar.dataset.menu = open ? "open" : "closed";
  toggle.setAttribute("aria-expanded", String(open));
}

if (bar && toggle) {
  toggle.addEventListener("click", () => setOpen(bar.dataset.menu !== "open"));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && bar.dataset.menu === "open") { setOpen(false); toggle.focus(); }
  });
  document.addEventListener("click", (e) => {
    if (bar.dataset.menu === "open" && !bar.contains(e.target)) setOpen(false);
  });
}
