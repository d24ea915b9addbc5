// Small accessible charts without a library: SVG bars for values per day, HTML bars for
// categories. Every chart has a table with the exact numbers for screen readers and copying.
import { el } from "../chat/ui.js";

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
};

function numbersTable(caption, header, rows) {
  const body = rows.map((r) => el("tr", {}, r.map((c, i) => el(i ? "td" : "th", i ? {} : { scope: "row" }, c))));
  return el("details", { class: "chart-table" }, el("summary", { text: "Show as a table" }),
    el("table", {}, el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, header.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, body)));
}

// Bars per day: `points` is [{day, value}], `format` turns a value into text.
export function dayBars(host, points, { name, format = String }) {
  const max = Math.max(0, ...points.map((p) => p.value));
  const width = Math.max(points.length, 1) * 10;
  const chart = svg("svg", { viewBox: `0 0 ${width} 100`, preserveAspectRatio: "none", class: "bars",
    role: "img", "aria-label": `${name} per day, highest ${format(max)}` });
  chart.append(svg("line", { x1: 0, x2: width, y1: 100, y2: 100, class: "axis" }));
  points.forEach((p, i) => {
    const h = max ? (p.value / max) * 96 : 0;
    const bar = svg("rect", { x: i * 10 + 1.5, width: 7, y: 100 - h, height: h, class: "bar" });
    bar.append(Object.assign(svg("title"), { textContent: `${p.day}: ${format(p.value)}` }));
    chart.append(bar);
  });
  const first = points[0]?.day || "", last = points[points.length - 1]?.day || "";
  host.replaceChildren(
    el("div", { class: "chart-frame" }, el("span", { class: "chart-max", text: `max ${format(max)}` }), chart),
    el("div", { class: "chart-axis" }, el("span", { text: first }), el("span", { text: last })),
    numbersTable(`${name} per day`, ["Day", name], points.map((p) => [p.day, format(p.value)])));
}

// Horizontal bars for categories: `items` is [{key, label, value, text}].
export function categoryBars(host, items, { name, empty }) {
  if (!items.length) { host.replaceChildren(el("p", { class: "empty-note", text: empty })); return; }
  const max = Math.max(0, ...items.map((i) => i.value));
  const list = el("ul", { class: "hbars", "aria-label": name });
  for (const item of items) {
    const fill = el("span", { class: "hbar-fill" });
    fill.style.width = `${max ? (item.value / max) * 100 : 0}%`;  // CSSOM: allowed by the CSP
    list.append(el("li", { class: "hbar-row", dataset: { key: item.key ?? item.label } },
      el("span", { class: "hbar-label", text: item.label }),
      el("span", { class: "hbar", "aria-hidden": "true" }, fill),
      el("span", { class: "hbar-value", text: item.text })));
  }
  host.replaceChildren(list);
}

export { numbersTable };
