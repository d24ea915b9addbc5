// Markdown from the model -> sanitized DOM. marked turns text into HTML; DOMPurify removes
// anything that could run (scripts, event handlers, javascript: URLs, forms, styles) and the
// result is inserted as a DOM fragment, never as an HTML string. Code blocks get a copy
// button; highlighting happens once the text is final.
import { marked } from "../../../vendor/marked/marked.esm.js";
import { el } from "../ui.js";
import { highlight } from "./highlight.js";

marked.use({ gfm: true, breaks: false, async: false });

const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "option", "iframe", "frame", "object",
    "embed", "svg", "math", "link", "meta", "base"],
  FORBID_ATTR: ["style", "id", "name", "srcset", "formaction", "action"],
  ALLOW_DATA_ATTR: false,
};

let hooked = false;
function purifier() {
  const purify = window.DOMPurify;
  if (!hooked) {
    hooked = true;
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A" && node.hasAttribute("href")) {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
      if (node.tagName === "IMG") {
        node.setAttribute("loading", "lazy");
        node.setAttribute("referrerpolicy", "no-referrer");
      }
    });
  }
  return purify;
}

// Sanitize an HTML string into a fragment (the only way model output becomes markup).
export function sanitize(html) {
  return purifier().sanitize(html, PURIFY);
}

// Render markdown into `target` (its children are replaced). `final` adds highlighting.
export function renderMarkdown(target, text, { final = true } = {}) {
  let html;
  try {
    html = marked.parse(text || "");
  } catch (err) {
    target.replaceChildren(el("p", { text }));
    return;
  }
  const fragment = sanitize(html);
  const codes = [];
  for (const pre of fragment.querySelectorAll("pre")) {
    const code = pre.querySelector("code") || pre;
    const lang = /language-([\w+-]+)/.exec(code.className || "")?.[1] || "";
    const wrap = el("div", { class: "code-block" },
      el("div", { class: "code-head" },
        el("span", { class: "code-lang", text: lang || "text" }),
        copyButton(() => code.textContent, "Copy code")));
    pre.replaceWith(wrap);
    pre.tabIndex = 0;  // scrollable regions must be reachable by keyboard
    wrap.append(pre);
    if (final && lang) codes.push(code);
  }
  for (const table of fragment.querySelectorAll("table")) {
    const scroller = el("div", { class: "table-wrap", tabindex: "0" });
    table.replaceWith(scroller);
    scroller.append(table);
  }
  target.replaceChildren(fragment);
  if (codes.length) highlight(codes);
}

export function copyButton(getText, label = "Copy") {
  const button = el("button", { type: "button", class: "btn tiny copy", text: "Copy", "aria-label": label });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(getText());
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  return button;
}
