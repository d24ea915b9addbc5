// The full session view's split: chat beside the workspace pane, a draggable divider, either
// side hideable, all remembered on this device. On a phone the split becomes tabs.
const KEY = "nexus.workspace.layout";
const PHONE = matchMedia("(max-width: 760px)");
// Files first: the terminal library (xterm, ~350 KB) loads only when someone opens the Terminal tab.
const DEFAULTS = { ratio: 50, chat: true, pane: true, tab: "files" };

function load() {
  try { return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(KEY) || "{}") }; } catch { return { ...DEFAULTS }; }
}

export class SplitLayout {
  // onTab(name) is called whenever a workspace tool becomes visible (to load it lazily).
  constructor(root, { onTab }) {
    this.root = root;
    this.onTab = onTab;
    this.state = load();
    this.view = "chat"; // what a phone shows
    this.split = root.querySelector("#split");
    this.divider = root.querySelector("#split-divider");
    for (const tab of root.querySelectorAll(".pane-tab")) tab.addEventListener("click", () => this.selectTab(tab.dataset.view));
    for (const tab of root.querySelectorAll(".view-tab")) tab.addEventListener("click", () => this.selectView(tab.dataset.view));
    for (const list of root.querySelectorAll('[role="tablist"]')) list.addEventListener("keydown", (e) => this.arrowKeys(e));
    root.querySelector("#pane-hide").addEventListener("click", () => this.setShown("pane", false));
    root.querySelector("#pane-show").addEventListener("click", () => this.setShown("pane", true));
    root.querySelector("#chat-show").addEventListener("click", () => this.setShown("chat", true));
    root.querySelector("#chat-hide").addEventListener("click", () => this.setShown("chat", false));
    this.dragging();
    PHONE.addEventListener("change", () => this.apply());
    this.apply();
  }

  save() { try { localStorage.setItem(KEY, JSON.stringify(this.state)); } catch { /* private mode */ } }

  selectTab(name) {
    this.state.tab = name;
    this.state.pane = true;
    this.save();
    this.apply();
  }

  selectView(name) {
    this.view = name;
    if (name !== "chat") this.state.tab = name;
    this.save();
    this.apply();
  }

  setShown(side, shown) {
    this.state[side] = shown;
    // Never both hidden: hiding one side shows the other.
    if (!shown) this.state[side === "chat" ? "pane" : "chat"] = true;
    this.save();
    this.apply();
  }

  apply() {
    const { ratio, chat, pane, tab } = this.state;
    const phone = PHONE.matches;
    const showChat = phone ? this.view === "chat" : chat;
    const showPane = phone ? this.view !== "chat" : pane;
    this.root.dataset.chat = showChat ? "shown" : "hidden";
    this.root.dataset.pane = showPane ? "shown" : "hidden";
    this.split.style.setProperty("--chat-share", `${ratio}%`);
    this.divider.setAttribute("aria-valuenow", String(Math.round(ratio)));
    this.divider.hidden = phone || !(showChat && showPane);
    this.root.querySelector("#pane-show").hidden = phone || pane;
    this.root.querySelector("#chat-show").hidden = phone || chat;
    this.root.querySelector("#chat-hide").hidden = phone || !chat;
    for (const t of this.root.querySelectorAll(".pane-tab")) {
      const on = t.dataset.view === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
    }
    for (const t of this.root.querySelectorAll(".view-tab")) {
      const on = t.dataset.view === this.view;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
    }
    for (const panel of this.root.querySelectorAll(".pane-panel")) panel.hidden = panel.id !== `panel-${tab}`;
    if (showPane) this.onTab(tab);
  }

  arrowKeys(e) {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) return;
    const tabs = [...e.currentTarget.querySelectorAll('[role="tab"]')];
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const next = e.key === "Home" ? 0 : e.key === "End" ? tabs.length - 1 : (i + (e.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length;
    tabs[next].focus();
    tabs[next].click();
  }

  setRatio(ratio) {
    this.state.ratio = Math.min(80, Math.max(20, ratio));
    this.apply();
  }

  dragging() {
    const d = this.divider;
    d.addEventListener("pointerdown", (e) => {
      d.setPointerCapture(e.pointerId);
      this.root.classList.add("resizing");
      const box = this.split.getBoundingClientRect();
      const move = (ev) => this.setRatio(((ev.clientX - box.left) / box.width) * 100);
      const up = () => {
        d.removeEventListener("pointermove", move);
        this.root.classList.remove("resizing");
        this.save();
        window.dispatchEvent(new Event("workspace-resize"));
      };
      d.addEventListener("pointermove", move);
      d.addEventListener("pointerup", up, { once: true });
      d.addEventListener("pointercancel", up, { once: true });
    });
    d.addEventListener("keydown", (e) => {
      const step = { ArrowLeft: -5, ArrowRight: 5 }[e.key];
      if (!step) return;
      e.preventDefault();
      this.setRatio(this.state.ratio + step);
      this.save();
      window.dispatchEvent(new Event("workspace-resize"));
    });
  }
}
