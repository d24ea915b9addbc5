"""Markdown from the model -> safe HTML, on the server, for the session page's first paint.

The browser renders every message itself (js/chat/render/markdown.js: marked, then DOMPurify).
This renders the few newest messages a session page opens on, so they are in the page's HTML
and painted before any script has loaded (nexus/ui/transcript_preview.py); the page's script
then draws its own view in their place. The output has the browser's structure (a code block's
head with its language, a table inside a scrolling wrapper), so nothing moves when it does.

markdown-it-py is a CommonMark parser, as marked is, with GFM's tables and strikethrough. Raw
HTML in the text passes through it, as it does through marked, and nh3 (Ammonia) then keeps
only its allowlist of tags and attributes: no scripts, event handlers, styles, forms, frames,
ids or `javascript:` URLs, which is what DOMPurify keeps out in the browser. Links open in a new
tab without a referrer; images load lazily without one (the CSP allows only Nexus's own).
"""

from __future__ import annotations

import functools
import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# Above this, a part is shown as plain text: parsing a reply of megabytes on every page view is
# not worth its first paint (the browser renders it as markdown when its view takes over).
MAX_MARKDOWN_CHARS = 100_000

# The classes the browser's renderer gives its own wrappers, and a code block's language.
_CLASSES = {"div": {"code-block", "code-head", "table-wrap"}, "span": {"code-lang"}}


def render_markdown(text: str) -> str:
    """Sanitized HTML for `text` (markdown), safe to put in a page as it is."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n\n"))
    return _clean(_parser().render(text))


@functools.cache
def _parser() -> MarkdownIt:
    # Imported on first use: a page that shows no transcript never pays for it (nor start-up).
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

    # The browser's wrappers (js/chat/render/markdown.js): a code block under a head naming its
    # language (its Copy button comes with the view), a table in a scrolling box.
    def code(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        default = renderer.fence if token.type == "fence" else renderer.code_block
        lang = (token.info or "").strip().split(" ")[0] if token.type == "fence" else ""
        pre = default(tokens, idx, options, env).replace("<pre>", '<pre tabindex="0">', 1)
        return ('<div class="code-block"><div class="code-head">'
                f'<span class="code-lang">{html.escape(lang or "text")}</span></div>{pre}</div>\n')

    md.add_render_rule("fence", code)
    md.add_render_rule("code_block", code)
    md.add_render_rule("table_open", lambda *_: '<div class="table-wrap" tabindex="0"><table>\n')
    md.add_render_rule("table_close", lambda *_: "</table></div>\n")
    return md


def _keep(tag: str, attribute: str, value: str) -> str | None:
    """nh3's per-attribute check: only the renderer's own classes and a code block's language."""
    if attribute == "class":
        if tag == "code":
            kept = [c for c in value.split() if c.startswith("language-") and c[9:].replace("-", "").replace("+", "").isalnum()]
        else:
            kept = [c for c in value.split() if c in _CLASSES.get(tag, ())]
        return " ".join(kept) or None
    if attribute == "tabindex":
        return "0" if value == "0" else None
    return value


def _clean(markup: str) -> str:
    import nh3

    return nh3.clean(markup, attributes=_attributes(), attribute_filter=_keep, link_rel="noopener noreferrer",
                     url_schemes={"http", "https", "mailto"},
                     set_tag_attribute_values={"a": {"target": "_blank"},
                                               "img": {"loading": "lazy", "referrerpolicy": "no-referrer"}})


@functools.cache
def _attributes() -> dict[str, set[str]]:
    """Ammonia's allowed attributes, plus the class and tabindex the wrappers need (made once)."""
    import nh3

    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag in ("div", "span", "code"):
        attributes.setdefault(tag, set()).add("class")
    for tag in ("div", "pre"):
        attributes.setdefault(tag, set()).add("tabindex")
    return attributes
