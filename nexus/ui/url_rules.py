"""URL rules whose URL builders are compiled on first use (issue 16: start-up).

Werkzeug compiles two Python functions per rule when the rule is added, to build its URL
(`url_for`): generated ASTs put through `compile()`, ~0.2 ms per rule, ~25 ms of CPU for
Nexus's ~120 rules at every start, while the first request (and most requests) build none.
Matching is untouched: it uses the rule's parsed parts, done when the rule is added as before.
Here each builder is compiled by Werkzeug's own `_compile_builder` the first time it is
called, and replaces itself. Should a Werkzeug release stop calling `_compile_builder`, this
override is simply never used: the rules then compile eagerly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_now = super()._compile_builder
        attribute = "_build_unknown" if append_unknown else "_build"

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            # Werkzeug binds the returned function to the rule (`__get__`), as it does here.
            compiled = compile_now(append_unknown).__get__(rule, None)
            setattr(rule, attribute, compiled)
            result: tuple[str, str] = compiled(*args, **kwargs)
            return result

        return build
