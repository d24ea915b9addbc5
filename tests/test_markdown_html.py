"""Markdown rendered on the server for a session page's first paint: the browser's structure,
and nothing from the model that could run or restyle the page."""

from __future__ import annotations

import re

from nexus.ui.markdown_html import MAX_MARKDOWN_CHARS, render_markdown


def test_markdown_gets_the_browser_views_structure() -> None:
    out = render_markdown("Answer **1**:\n\n```python\nprint(1 < 2)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~")
    assert "<strong>1</strong>" in out
    # A code block under a head naming its language, focusable because it may scroll.
    assert re.search(r'<div class="code-block"><div class="code-head"><span class="code-lang">python</span></div>'
                     r'<pre tabindex="0"><code class="language-python">print\(1 &lt; 2\)', out), out
    assert '<div class="table-wrap" tabindex="0"><table>' in out and "</table></div>" in out
    assert "<s>old</s>" in out


def test_an_indented_block_is_a_code_block_named_text() -> None:
    out = render_markdown("Before\n\n    indented code\n")
    assert '<span class="code-lang">text</span></div><pre tabindex="0"><code>indented code' in out


def test_nothing_from_the_model_can_run() -> None:
    out = render_markdown('<script>alert("s")</script> <img src="x.png" onerror="alert(1)"> '
                          '[link](javascript:alert(2)) <a href="javascript:alert(3)">a</a> '
                          '<iframe src="https://evil.example"></iframe><svg onload="alert(4)"></svg>'
                          '<form action="/api/x"><button formaction="/x">b</button></form>')
    assert "alert" not in out.replace("[link](javascript:alert(2))", ""), out
    for banned in ("<script", "onerror", "<iframe", "<svg", "onload", "<form", "<button", "javascript:"):
        assert banned not in out.replace("[link](javascript:alert(2))", ""), (banned, out)
    assert '<img src="x.png"' in out  # the image stays (the CSP decides where it may load from)


def test_no_styles_ids_or_page_classes_from_the_model() -> None:
    out = render_markdown('<div class="menu-list code-block" style="position:fixed" id="conn" name="x">d</div>'
                          '<span class="visually-hidden code-lang">s</span><code class="language-js evil">c</code>'
                          '<pre tabindex="-1">p</pre>')
    assert 'class="code-block"' in out and "menu-list" not in out and "visually-hidden" not in out
    assert "style=" not in out and "id=" not in out and "name=" not in out
    assert '<code class="language-js">' in out
    assert 'tabindex="-1"' not in out


def test_links_open_apart_and_images_without_a_referrer() -> None:
    out = render_markdown("[docs](https://example.com/a) ![pic](https://example.com/p.png)")
    assert '<a href="https://example.com/a" target="_blank" rel="noopener noreferrer">docs</a>' in out
    img = re.search(r"<img [^>]*>", out)
    assert img and 'loading="lazy"' in img[0] and 'referrerpolicy="no-referrer"' in img[0], out


def test_a_huge_text_is_shown_plain_and_escaped() -> None:
    text = "# not a heading <b>\n\n" + "x" * MAX_MARKDOWN_CHARS
    out = render_markdown(text)
    assert out.startswith("<p># not a heading &lt;b&gt;</p>")
    assert "<h1>" not in out and "<b>" not in out
