// The workspace pane beside the chat: wires the split layout to its three tools and keeps
// Files and Changes fresh when the agent finishes a step.
import { SplitLayout } from "./layout.js";
import { FilesPanel } from "./files.js";
import { ChangesPanel } from "./changes.js";
import { CommandBox } from "./command.js";

const REFRESH_DELAY = 800;

export function startWorkspace({ root, sessionId, store, view }) {
  const files = new FilesPanel(root.querySelector("#panel-files"), sessionId, {
    attach: (file) => {
      // Same shape as a file picked from disk (the composer sends it as base64).
      const bytes = new TextEncoder().encode(file.text);
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      view.files.push({ name: file.path.split("/").pop(), mime: "text/plain", data: btoa(binary) });
      view.renderAttachments();
      layout.selectView("chat");
      view.input.focus();
    },
  });
  const changes = new ChangesPanel(root.querySelector("#panel-changes"), sessionId);
  const terminalPanel = root.querySelector("#panel-terminal");
  const command = new CommandBox(sessionId);
  let terminal = null;
  const tools = {
    files, changes,
    terminal: { show: async () => {
      // xterm.js is ~350 KB: fetched only when a terminal is first opened.
      if (!terminal) {
        const { TerminalPanel } = await import("./terminal.js");
        terminal ??= new TerminalPanel(terminalPanel, sessionId);
        terminalPanel.append(command.root);
      }
      terminal.show();
    } },
  };
  const layout = new SplitLayout(root, { onTab: (name) => tools[name]?.show() });

  // The agent finished a step (a tool call or a reply ended): files may have changed.
  let timer = null;
  store.subscribe(sessionId, (change) => {
    const stepEnded = (change.kind === "message" && change.ended) || change.kind === "part" || change.kind === "status"
      || change.revert || change.kind === "removed";  // an undo or redo restored files
    if (!stepEnded) return;
    clearTimeout(timer);
    timer = setTimeout(() => { changes.refresh(); files.refresh(); }, REFRESH_DELAY);
  });
  return layout;
}
