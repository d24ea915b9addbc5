"""Page weight and first paint of the main page `/` and of a session page `/s/<id>`, in
headless Chromium (Debian's build).

    .venv/bin/python bench/page_weight.py [--runs 7] [--sessions 2]

Starts an in-process Nexus on a scratch data dir (OpenCode not started; `--sessions N` seeds N
stored sessions so cards are drawn), then loads `/` N times, each in a fresh browser context
(cold cache), and reports:

  * JS and CSS bytes: as transferred (Nexus serves static files uncompressed today), decoded,
    and gzip -9 of the same bytes (what they would weigh if Nexus compressed static files);
  * time until every session on the page shows its newest message (each card, or the full
    view), checked every animation frame;
  * time to first paint and first contentful paint (Paint Timing), median of the runs, and
    the trivial page's (bench/trivial_page.py) first contentful paint, interleaved: the ratio.

Targets: `/` JS + CSS under 200 KB compressed; first paint under 150 ms on localhost and its
first contentful paint at most 2x the trivial page's; the
session page's JS + CSS as transferred at most 150 KB, without the terminal library (xterm
loads only when a terminal opens).
Prints JSON; exit code 0 when both targets are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUDGET_BYTES = 200 * 1024
BUDGET_PAINT_MS = 150.0
BUDGET_PAINT_RATIO = 2.0  # issue 16: `/`'s first contentful paint at most 2x the trivial page's
SESSION_BUDGET_BYTES = 150 * 1024
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")


# When every session on the page (each card, or the full view) shows its newest message: checked
# every animation frame from navigation start, by a script injected before the page loads.
NEWEST_VISIBLE = """
(() => {
  const check = () => {
    const sessions = [...document.querySelectorAll('article.session')];
    const shown = sessions.length && sessions.every((s) => {
      const last = [...s.querySelectorAll('.msg')].pop();
      const r = last?.getBoundingClientRect();
      return r && r.height > 0 && r.top >= 0 && r.bottom <= innerHeight + 1;
    });
    if (shown) window.__newestVisible = performance.now(); else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();
"""


def measure(url: str, runs: int, trivial_url: str | None = None, secured_url: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright
    from trivial_page import first_paint

    paints, fcps, dcls, trivial, secured, newest = [], [], [], [], [], []
    resources: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs + 1):  # the first run warms the server (templates, imports) and is not counted
            if trivial_url:
                trivial.append(first_paint(browser, trivial_url))
            if secured_url:
                secured.append(first_paint(browser, secured_url))
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(NEWEST_VISIBLE)
            page = context.new_page()
            bodies: dict[str, bytes] = {}

            def keep(response, bodies=bodies) -> None:
                if response.request.resource_type in ("script", "stylesheet"):
                    try:
                        bodies[response.url] = response.body()
                    except Exception:
                        pass

            page.on("response", keep)
            page.goto(url, wait_until="load")
            # The home page says when its cards are drawn; a session page when its transcript is.
            page.wait_for_function("() => document.body.dataset.ready === '1' || "
                                   "document.querySelector('.session.full[data-loaded=\"1\"]')", timeout=10_000)
            page.wait_for_load_state("networkidle")
            timing = page.evaluate("""() => {
              const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
              const nav = performance.getEntriesByType('navigation')[0];
              const res = performance.getEntriesByType('resource').map(r => ({name: r.name,
                transfer: r.transferSize, encoded: r.encodedBodySize, decoded: r.decodedBodySize}));
              return {fp: paint['first-paint'], fcp: paint['first-contentful-paint'],
                      dcl: nav.domContentLoadedEventEnd, res};
            }""")
            page.wait_for_function("() => window.__newestVisible !== undefined", timeout=10_000)
            newest.append(page.evaluate("window.__newestVisible"))
            paints.append(timing["fp"])
            fcps.append(timing["fcp"])
            dcls.append(timing["dcl"])
            for r in timing["res"]:
                body = bodies.get(r["name"])
                kind = "css" if r["name"].split("?")[0].endswith(".css") else \
                    "js" if r["name"].split("?")[0].endswith((".js", ".mjs")) else None
                if kind and body is not None:
                    resources[r["name"]] = {"kind": kind, "transfer": r["transfer"], "decoded": len(body),
                                            "gzip": len(gzip.compress(body, 9))}
            context.close()
        browser.close()
    paints, fcps, dcls, trivial, secured, newest = paints[1:], fcps[1:], dcls[1:], trivial[1:], secured[1:], newest[1:]
    comparison = {}
    if trivial:
        comparison = {"trivial_page_first_contentful_paint_ms_median": round(statistics.median(trivial), 1),
                      "first_contentful_paint_ratio_to_trivial": round(statistics.median(fcps) / statistics.median(trivial), 2)}
    if secured:  # the same trivial page with Nexus's security headers (bench/trivial_page.py)
        comparison.update({
            "trivial_page_with_nexus_headers_first_contentful_paint_ms_median": round(statistics.median(secured), 1),
            "first_contentful_paint_ratio_to_trivial_with_nexus_headers":
                round(statistics.median(fcps) / statistics.median(secured), 2)})
    totals = {k: sum(r[k] for r in resources.values()) for k in ("transfer", "decoded", "gzip")}
    return {
        "runs": runs,
        "first_paint_ms_median": round(statistics.median(paints), 1),
        "first_contentful_paint_ms_median": round(statistics.median(fcps), 1),
        "newest_messages_visible_ms_median": round(statistics.median(newest), 1),
        "dom_content_loaded_ms_median": round(statistics.median(dcls), 1),
        **comparison,
        "first_paint_ms_all": [round(x, 1) for x in paints],
        "js_css_bytes": totals,
        "by_kind": {kind: {k: sum(r[k] for r in resources.values() if r["kind"] == kind)
                           for k in ("transfer", "decoded", "gzip")} for kind in ("js", "css")},
        "files": {name.split("/static/", 1)[-1]: r for name, r in sorted(resources.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sessions", type=int, default=2, help="stored sessions drawn as cards")
    args = parser.parse_args(argv)

    from trivial_page import trivial_page

    from tests.browser.chat_fixtures import chat_nexus, seed_long_session

    with tempfile.TemporaryDirectory(prefix="nexus-bench-page-") as scratch:
        os.environ["NEXUS_HOME"] = str(Path(scratch) / "home")
        with chat_nexus(Path(scratch), opencode=False) as nx:
            for i in range(args.sessions):
                sid = seed_long_session(nx.runtime, 40, title=f"Bench card {i + 1}")
                nx.runtime.chat.repo.update_session(sid, state="active")
            with trivial_page() as trivial_url, trivial_page(nexus_headers=True) as secured_url:
                result = measure(nx.url + "/", args.runs, trivial_url, secured_url)
            session = measure(f"{nx.url}/s/{sid}", args.runs)
    result["session_page"] = {
        "js_css_bytes": session["js_css_bytes"], "by_kind": session["by_kind"],
        "first_contentful_paint_ms_median": session["first_contentful_paint_ms_median"],
        "newest_messages_visible_ms_median": session["newest_messages_visible_ms_median"],
        "requests": len(session["files"]),
        "terminal_library_loaded": any("xterm" in name for name in session["files"]),
        "target_transfer_bytes_max": SESSION_BUDGET_BYTES,
        "met": session["js_css_bytes"]["transfer"] <= SESSION_BUDGET_BYTES
        and not any("xterm" in name for name in session["files"]),
    }
    result["targets"] = {"js_css_gzip_bytes_max": BUDGET_BYTES, "first_paint_ms_max": BUDGET_PAINT_MS,
                         "first_contentful_paint_ratio_to_trivial_max": BUDGET_PAINT_RATIO}
    result["met"] = {"bytes_compressed": result["js_css_bytes"]["gzip"] < BUDGET_BYTES,
                     "bytes_as_served": result["js_css_bytes"]["transfer"] < BUDGET_BYTES,
                     "first_paint": result["first_paint_ms_median"] < BUDGET_PAINT_MS,
                     "first_contentful_paint_ratio": result["first_contentful_paint_ratio_to_trivial"] <= BUDGET_PAINT_RATIO}
    print(json.dumps(result, indent=2))
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
