"""The window's size and position, remembered in the store between launches.

It is kept in the settings table under a key that is not a user setting (Settings ignores
keys it does not declare), so no migration is needed and `nexus settings` does not list it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from nexus.settings_repository import SettingsRepository

GEOMETRY_KEY = "desktop.window_geometry"
MIN_WIDTH, MIN_HEIGHT = 360, 480
DEFAULT_WIDTH, DEFAULT_HEIGHT = 1200, 800


@dataclass(frozen=True)
class Geometry:
    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    x: int | None = None  # None lets the window system place it
    y: int | None = None


class GeometryStore:
    def __init__(self, repo: SettingsRepository) -> None:
        self._repo = repo

    def load(self) -> Geometry:
        raw = self._repo.load_raw().get(GEOMETRY_KEY)
        try:
            data = json.loads(raw) if raw else {}
            width, height = int(data.get("width", DEFAULT_WIDTH)), int(data.get("height", DEFAULT_HEIGHT))
            x, y = data.get("x"), data.get("y")
            x = int(x) if x is not None else None
            y = int(y) if y is not None else None
        except (ValueError, TypeError, AttributeError):
            return Geometry()  # a damaged row: start with the defaults, the next close rewrites it
        # A window far off every screen (a monitor since unplugged) is worse than a centred one.
        if x is not None and y is not None and not (-200 <= x <= 10000 and -50 <= y <= 10000):
            x = y = None
        return Geometry(max(width, MIN_WIDTH), max(height, MIN_HEIGHT), x, y)

    def save(self, geometry: Geometry) -> None:
        self._repo.save({GEOMETRY_KEY: {"width": geometry.width, "height": geometry.height,
                                        "x": geometry.x, "y": geometry.y}})
