"""The kinds of notification; each is switched on or off by the setting `notifications.<kind>`.

`reply_finished` is noticed in the browser (a long reply ended while its tab was in the
background); the others come from events on the bus.
"""

from __future__ import annotations

KINDS = ("server_crash", "server_restart", "server_gave_up", "tunnel_up", "tunnel_down", "permission",
         "reply_finished")


def setting_key(kind: str) -> str:
    return f"notifications.{kind}"
