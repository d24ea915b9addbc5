// The model and agent of the next message, as two chips (native selects: keyboard, screen
// reader and phone friendly). A change applies from the next message and is remembered for
// the session (PATCH /api/sessions/<id>).
import { api } from "../../api.js";
import { el, nextId, toast } from "../ui.js";
import { agentsOf, modelsOf } from "./catalog.js";

const thousands = (n) => (n >= 1000 ? `${Math.round(n / 1000)}k` : String(n));

export class Chips {
  constructor(view) {
    this.view = view;
    const modelId = nextId("model");
    const agentId = nextId("agent");
    this.model = el("select", { id: modelId, class: "chip-select", disabled: true });
    this.agent = el("select", { id: agentId, class: "chip-select", disabled: true });
    this.el = el("div", { class: "composer-chips" },
      el("span", { class: "chip agent-chip" }, el("label", { for: agentId, class: "chip-label", text: "Agent" }),
        this.agent),
      el("span", { class: "chip" }, el("label", { for: modelId, class: "chip-label", text: "Model" }), this.model));
    this.model.addEventListener("change", () => this.remember({ model: this.model.value }));
    this.agent.addEventListener("change", () => this.remember({ agent: this.agent.value }));
    this.loaded = false;
  }

  get engine() { return this.view.state.session.engine || "opencode"; }

  async load() {
    if (this.loaded || !this.view.state.session.engine) return;
    this.loaded = true;
    try {
      const [models, agents] = await Promise.all([modelsOf(this.engine), agentsOf(this.engine)]);
      this.models = models;
      const groups = new Map();
      for (const m of models) {
        if (!groups.has(m.provider)) groups.set(m.provider, []);
        groups.get(m.provider).push(m);
      }
      this.model.replaceChildren(...[...groups].map(([provider, list]) => el("optgroup", { label: provider },
        ...list.map((m) => el("option", { value: m.id,
          text: m.context ? `${m.name} · ${thousands(m.context)} context` : m.name })))));
      this.agent.replaceChildren(...agents.map((a) => el("option", { value: a.name, text: a.name, title: a.description || "" })));
      this.agent.closest(".chip").hidden = !agents.length;
      this.model.disabled = !models.length;
      this.agent.disabled = !agents.length;
      this.update();
      this.view.meter?.update();  // the context size of the model is known now
    } catch (err) {
      this.loaded = false;
      this.model.disabled = this.agent.disabled = true;
    }
  }

  // The session's choice, else what its latest reply used, else the engine's default.
  current() {
    const s = this.view.state.session;
    const latest = this.view.state.messages.findLast?.((m) => m.role === "assistant" && m.model) || {};
    const fallback = (this.models || []).find((m) => m.default) || (this.models || [])[0];
    return { model: s.model || latest.model || fallback?.id || "", agent: s.agent || latest.agent || this.agent.options[0]?.value || "" };
  }

  update() {
    if (!this.loaded) { this.load(); return; }
    const { model, agent } = this.current();
    if (model && ![...this.model.options].some((o) => o.value === model)) {
      this.model.append(el("option", { value: model, text: model }));
    }
    this.model.value = model;
    if (agent && [...this.agent.options].some((o) => o.value === agent)) this.agent.value = agent;
  }

  contextOf(modelId) {
    return (this.models || []).find((m) => m.id === modelId)?.context || 0;
  }

  async remember(change) {
    try {
      await api(`/api/sessions/${encodeURIComponent(this.view.id)}`, { method: "PATCH", body: change });
      Object.assign(this.view.state.session, change);
      this.view.renderHeader();
    } catch (err) {
      toast(err.message);
      this.update();
    }
  }
}
