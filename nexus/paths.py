"""Where Nexus keeps its files.

The data dir holds the database, logs and anything else Nexus writes. It is chosen,
first match wins, from: an explicit argument (`--data-dir`), `NEXUS_HOME`, and the
platform's per-user data folder (via platformdirs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "nexus"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("NEXUS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "nexus.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "nexus.jsonl"

    @property
    def default_workspace(self) -> Path:
        return self.root / "workspace"

    def ensure(self) -> DataPaths:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        # The data dir holds transcripts and secrets' metadata: owner-only.
        try:
            os.chmod(self.root, 0o700)
        except OSError:
            pass
        return self
