// The full view of one session (/s/<id>): the phone's normal view.
import { startChat } from "./page.js";
import { loadProjects } from "./projects.js";
import { toast } from "./ui.js";
import { SessionView } from "./view.js";
import { startWorkspace } from "../workspace/pane.js";

const host = document.getElementById("session-host");
const id = host.dataset.session;
const { store, connection } = startChat({
  onMissing: () => {
    host.replaceChildren();
    document.getElementById("session-missing").hidden = false;
  },
});

// The page came with the transcript's snapshot: show it now; the live stream continues
// from its sequence number instead of sending it again.
const initial = document.getElementById("initial-snapshot");
if (initial) {
  const { epoch, event } = JSON.parse(initial.textContent);
  store.receive(event, epoch);
}

const view = new SessionView(store, connection, id, {
  mode: "full",
  onRemoved: (v, how) => {
    if (how === "deleted") location.assign("/");
    else toast("Archived. It stays readable here; sending a message reopens it.");
  },
});
// In place of the server's first paint of the newest messages (templates/session_preview.html),
// drawn with the same structure, so nothing moves.
host.replaceChildren(view.root);
// Drawn from the page's snapshot before it was in the document: now it can scroll to the end.
if (view.state.loaded) view.transcript.scrollTop = view.transcript.scrollHeight;
if (!matchMedia("(pointer: coarse)").matches) view.input.focus({ preventScroll: true });
loadProjects().then(() => view.renderHeader());  // the project's branch
startWorkspace({ root: document.getElementById("workspace-layout"), sessionId: id, store, view });
