"""The desktop window: pywebview (Qt on Linux) over the local web UI, and its native touches
(title, notifications, remembered geometry, external links).

It runs on `nexus.host` (the instance lock, the services, the web server, the hand-over),
which knows nothing of windows. Only `nexus.cli` imports this package, lazily, for `nexus` /
`nexus window`; nothing here imports Qt or pywebview at module level.
"""
