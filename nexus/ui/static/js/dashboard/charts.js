// Live charts of the OpenCode server's metrics (uPlot): the last five minutes, one point a
// second. Colours come from the page's CSS variables, so they follow the light/dark theme;
// each chart keeps the width of its box (down to a 375 px phone).
import uPlot from "../../vendor/uplot-1.6.32/uPlot.esm.min.js";

const WINDOW_SECONDS = 300;
const HEIGHT = 140;

// `floor` is the least the y axis shows, so an idle server draws a flat line at the bottom
// rather than noise blown up to full height.
const CHARTS = [
  { id: "chart-cpu", value: (m) => m.cpu_percent, floor: 10, format: (v) => `${+v.toFixed(1)} %` },
  // Memory in MiB, so the axis gets round steps (20, 40, 60) rather than bytes' odd ones.
  { id: "chart-rss", value: (m) => +(m.rss_bytes / 1024 ** 2).toFixed(1), floor: 64, format: (v) => `${+v.toFixed(1)} MB` },
  { id: "chart-req", value: (m) => m.requests, floor: 2, format: (v) => String(+v.toFixed(1)) },
  { id: "chart-err", value: (m) => m.errors, floor: 2, format: (v) => String(+v.toFixed(1)), danger: true },
];

const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function options(spec, width) {
  const line = spec.danger ? css("--danger") : css("--accent");
  const muted = css("--muted");
  const grid = css("--border");
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
    font: `11px ${css("--font") || "sans-serif"}` };
  return {
    width, height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      // Always the whole window, newest at the right edge, even while it is still filling.
      x: { time: true, range: (_u, _min, max) => [max - WINDOW_SECONDS, max] },
      y: { range: (_u, _min, max) => [0, Math.max(max * 1.15, spec.floor)] },
    },
    axes: [
      { ...axis, space: 70, values: (_u, ticks) => ticks.map(clock) },
      { ...axis, size: 58, values: (_u, ticks) => ticks.map((v) => spec.format(v)) },
    ],
    series: [{}, { stroke: line, width: 2, fill: /^#[0-9a-f]{6}$/i.test(line) ? `${line}22` : undefined,
      points: { show: false } }],
  };
}

class Chart {
  constructor(spec) {
    this.spec = spec;
    this.figure = document.getElementById(spec.id);
    this.box = this.figure.querySelector(".plot");
    this.xs = [];
    this.ys = [];
    this.plot = null;
    new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT })).observe(this.box);
  }

  width() {
    return Math.max(120, Math.floor(this.box.clientWidth));
  }

  draw() {
    this.plot?.destroy();
    this.plot = new uPlot(options(this.spec, this.width()), [this.xs, this.ys], this.box);
  }

  push(samples) {
    for (const m of samples) {
      if (this.xs.length && m.at <= this.xs.at(-1)) continue;  // the hello repeats what we hold
      this.xs.push(m.at);
      this.ys.push(this.spec.value(m));
    }
    const oldest = (this.xs.at(-1) ?? 0) - WINDOW_SECONDS;
    let drop = 0;
    while (drop < this.xs.length && this.xs[drop] < oldest) drop += 1;
    if (drop) { this.xs.splice(0, drop); this.ys.splice(0, drop); }
    if (this.plot) this.plot.setData([this.xs, this.ys]);
    else this.draw();
    // For tests and screen readers: how many points, and the newest value.
    this.figure.dataset.points = String(this.xs.length);
    this.figure.dataset.last = String(this.ys.at(-1) ?? "");
    this.box.setAttribute("aria-label", `${this.figure.querySelector("figcaption").textContent}: ` +
      `${this.ys.length ? this.spec.format(this.ys.at(-1)) : "no data"} now, last five minutes shown`);
  }
}

export function createCharts() {
  const charts = CHARTS.map((spec) => new Chart(spec));
  const redraw = () => charts.forEach((c) => c.plot && c.draw());
  // The theme can change with the system or with Nexus's own setting (an attribute on <html>).
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
  new MutationObserver(redraw).observe(document.documentElement, { attributes: true, attributeFilter: ["class", "data-theme", "style"] });
  return { push: (samples) => charts.forEach((c) => c.push(samples)) };
}
