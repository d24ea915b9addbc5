"""A second launch hands over to the Nexus already running on the same data dir."""

from __future__ import annotations

import logging
import webbrowser
from typing import Any

from nexus.host.instance_lock import TOKEN_HEADER, InstanceInfo

log = logging.getLogger(__name__)


def ask_to_focus(info: InstanceInfo, timeout: float = 5.0) -> dict[str, Any] | None:
    """Ask the running instance to show its window. Its answer says whether it had one, and
    otherwise carries a one-time sign-in link for a browser. None if it did not answer."""
    import httpx2

    try:
        response = httpx2.post(f"{info.url}/api/desktop/focus", headers={TOKEN_HEADER: info.token}, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        log.warning("the running Nexus did not answer the focus request: %s", exc)
        return None


def hand_over(info: InstanceInfo, *, open_browser: bool) -> str:
    """Show the running instance to the user (its window, else a browser when `open_browser`);
    returns what to tell them. Without `open_browser` (a second `nexus serve`) it only says where."""
    if not open_browser:
        return f"Nexus is already running at {info.url} (pid {info.pid}); not starting a second one."
    answer = ask_to_focus(info)
    if answer and answer.get("window"):
        return f"Nexus is already running (pid {info.pid}); its window was brought to the front."
    webbrowser.open((answer or {}).get("signin_url") or info.url)
    return f"Nexus is already running in the background at {info.url} (pid {info.pid}); opened it in your browser."
