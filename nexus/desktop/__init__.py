"""The desktop shell: a native window (pywebview) over the local web UI, one instance per
data dir, and the small native touches (title, notifications, external links).

Nothing here imports Qt or pywebview at module level: `nexus serve` uses the single-instance
lock from this package and must start without loading a GUI toolkit.
"""
