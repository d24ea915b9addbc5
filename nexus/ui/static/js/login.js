// The sign-in form: JSON to /api/auth/login; a locked account shows how long it stays locked.
import { api } from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");
let timer = null;

function minutes(seconds) {
  const m = Math.ceil(seconds / 60);
  return m <= 1 ? "1 minute" : `${m} minutes`;
}

function lockedFor(seconds) {
  clearInterval(timer);
  let left = seconds;
  const show = () => {
    if (left <= 0) {
      clearInterval(timer);
      error.textContent = "";
      submit.disabled = false;
      return;
    }
    error.textContent = `Sign-in is locked after too many failed attempts. Try again in ${minutes(left)}.`;
    submit.disabled = true;
    left -= 1;
  };
  show();
  timer = setInterval(show, 1000);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = "Enter the user name and the password.";
    (username ? form.password : form.username).focus();
    return;
  }
  submit.disabled = true;
  try {
    await api("/api/auth/login", { method: "POST", body: { username, password } });
    location.assign(form.dataset.next || "/");
  } catch (e) {
    submit.disabled = false;
    if (e.code === "locked" && e.details?.retry_after) {
      lockedFor(e.details.retry_after);
    } else {
      error.textContent = e.message;
    }
    form.password.value = "";
    form.password.focus();
  }
});

const locked = Number(form.dataset.lockedFor || 0);
if (locked > 0) lockedFor(locked);
(form.username.value ? form.password : form.username).focus();
