// The full view of one session (/s/<id>): the phone's normal view.
import { startChat } from "./page.js";
import { toast } from "./ui.js";
import { SessionView } from "./view.js";

const host = document.getElementById("session-host");
const id = host.dataset.session;
const { store, connection } = startChat({
  onMissing: () => {
    host.replaceChildren();
    document.getElementById("session-missing").hidden = false;
  },
});

const view = new SessionView(store, connection, id, {
  mode: "full",
  onRemoved: (v, how) => {
    if (how === "deleted") location.assign("/");
    else toast("Archived. It stays readable here; sending a message reopens it.");
  },
});
host.replaceChildren(view.root);
if (!matchMedia("(pointer: coarse)").matches) view.input.focus({ preventScroll: true });
