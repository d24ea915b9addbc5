"""The process that serves Nexus, with or without a window: `Host` (the single-instance
lock, the services and the web server), the lock itself, the hand-over a second launch
makes to the running instance, and `nexus serve`'s headless run loop.

Nothing here imports Qt or pywebview: `nexus serve` uses this package and must start without
loading a GUI toolkit. The window (`nexus.desktop`) builds on it, never the other way round:
a window the running instance has is offered to the hand-over as a callable
(`InstanceControl.show_window`).
"""
