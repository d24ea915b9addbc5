// How full the model's context is: the tokens of the latest reply (what the model read and
// wrote) against the model's context size, and "Compact", which has OpenCode summarize
// the conversation so far.
import { api } from "../../api.js";
import { compact, el, toast } from "../ui.js";

export class ContextMeter {
  constructor(view, chips) {
    this.view = view;
    this.chips = chips;
    this.meter = el("meter", { class: "context-meter", min: "0", max: "1", value: "0", low: "0.7", high: "0.9", optimum: "0" });
    this.text = el("span", { class: "context-text" });
    this.compactBtn = el("button", { type: "button", class: "btn compact", text: "Compact",
      title: "Summarize the conversation so far to free context", onclick: () => this.compact() });
    this.el = el("div", { class: "context", role: "group", "aria-label": "Context used" }, this.meter, this.text, this.compactBtn);
  }

  used() {
    const last = this.view.state.messages.findLast?.((m) => m.role === "assistant" && m.tokens
      && Object.values(m.tokens).some(Boolean));
    if (!last) return { tokens: 0, model: null };
    const t = last.tokens;
    return { tokens: (t.input || 0) + (t.output || 0) + (t.reasoning || 0) + (t.cache_read || 0) + (t.cache_write || 0),
      model: last.model };
  }

  update() {
    const { tokens, model } = this.used();
    const limit = this.chips.contextOf(this.view.state.session.model || model);
    this.meter.hidden = !limit;
    if (limit) this.meter.value = Math.min(1, tokens / limit);
    const share = limit ? ` (${Math.round((tokens / limit) * 100)}%)` : "";
    this.text.textContent = limit ? `${compact(tokens)} / ${compact(limit)} context${share}` : `${compact(tokens)} context`;
    this.meter.setAttribute("aria-label", `Context used: ${this.text.textContent}`);
    this.el.hidden = !tokens;
    this.compactBtn.hidden = (this.view.state.session.engine || "opencode") !== "opencode";
    this.compactBtn.disabled = this.view.busy;
  }

  async compact() {
    this.compactBtn.disabled = true;
    try {
      await api(`/api/sessions/${encodeURIComponent(this.view.id)}/compact`, { method: "POST" });
    } catch (err) {
      toast(err.message);
      this.compactBtn.disabled = false;
    }
  }
}
