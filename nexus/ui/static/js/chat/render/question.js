// A question the agent asked (OpenCode's question tool), answered inline like a permission:
// each question with its header, text and options (radio buttons, or checkboxes when several
// answers are allowed), an optional typed answer, then "Send answer" or "Dismiss".
import { api } from "../../api.js";
import { el, nextId, toast } from "../ui.js";

function questionFields(q, index) {
  const legendId = nextId("question");
  const group = el("fieldset", { class: "question-item", "aria-describedby": `${legendId}-text` },
    el("legend", { class: "question-header", id: legendId, text: q.header || `Question ${index + 1}` }),
    el("p", { class: "question-text", id: `${legendId}-text`, text: q.question }));
  const name = nextId("q-choice");
  const choices = [];
  for (const option of q.options || []) {
    const id = nextId("q-opt");
    const input = el("input", { type: q.multiple ? "checkbox" : "radio", name, id, value: option.label });
    choices.push(input);
    group.append(el("div", { class: "question-option" }, input,
      el("label", { for: id },
        el("span", { class: "question-label", text: option.label }),
        option.description ? el("span", { class: "question-description", text: option.description }) : null)));
  }
  let typed = null;
  if (q.custom !== false) {
    const id = nextId("q-own");
    typed = el("input", { type: "text", id, class: "question-own", maxlength: "2000", autocomplete: "off",
      placeholder: "Or type your own answer" });
    // Typing an answer of one's own replaces a single choice.
    typed.addEventListener("input", () => { if (!q.multiple && typed.value.trim()) for (const c of choices) c.checked = false; });
    for (const c of choices) c.addEventListener("change", () => { if (!q.multiple && c.checked) typed.value = ""; });
    group.append(el("label", { for: id, class: "visually-hidden", text: `Your own answer to: ${q.question}` }), typed);
  }
  const answer = () => {
    const labels = choices.filter((c) => c.checked).map((c) => c.value);
    const own = typed?.value.trim();
    if (own) labels.push(own);
    return labels;
  };
  return { group, answer };
}

export function questionPrompt(sessionId, question) {
  const titleId = nextId("ask");
  const form = el("form", { class: "question", "aria-labelledby": titleId,
    dataset: { question: question.id, detached: String(!!question.detached) } });
  form.append(el("p", { class: "question-title", id: titleId },
    el("strong", { text: "The agent asks you" }),
    question.detached ? " (OpenCode restarted meanwhile: your answer goes as your next message)" : ""));
  const fields = (question.questions || []).map(questionFields);
  for (const f of fields) form.append(f.group);
  const send = el("button", { type: "submit", class: "btn primary", text: "Send answer" });
  const dismiss = el("button", { type: "button", class: "btn", text: "Dismiss" });
  form.append(el("div", { class: "question-actions" }, send, dismiss));
  const url = `/api/sessions/${encodeURIComponent(sessionId)}/questions/${encodeURIComponent(question.id)}`;
  const submit = async (body) => {
    send.disabled = dismiss.disabled = true;
    try {
      await api(url, { method: "POST", body });
      form.dataset.answered = body.reject ? "dismissed" : "answered";
    } catch (err) {
      send.disabled = dismiss.disabled = false;
      toast(err.message);
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const answers = fields.map((f) => f.answer());
    const missing = answers.findIndex((a) => !a.length);
    if (missing >= 0) {
      toast(`Choose or type an answer to “${question.questions[missing].header || question.questions[missing].question}”, or dismiss.`);
      return;
    }
    submit({ answers });
  });
  dismiss.addEventListener("click", () => submit({ reject: true }));
  return form;
}
