"""One logging setup for the whole app.

- A JSON-lines file in the data dir, rotated by size, so the logs page and exports can
  parse it. Each line: time, level, logger, source (nexus, opencode, cloudflared), message,
  and optional structured fields passed as `extra={"fields": {...}}`.
- Rotated files older than `retention_days` are deleted at each rotation and whenever the
  settings are applied (0 keeps them whatever their age; `backup_count` still caps them).
- Readable lines on the console for whoever started `nexus serve`.
- A RedactionFilter on every handler, so no path around it exists.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path

from nexus.logs.redaction import RedactionFilter

ROOT_LOGGER = "nexus"
# Third-party loggers whose records go through the same (redacting) handlers.
_ADOPTED_LOGGERS = {"werkzeug": logging.WARNING, "alembic": logging.WARNING, "flask_sock": logging.WARNING}
_HANDLER_MARK = "_nexus_handler"


class RetainingFileHandler(logging.handlers.RotatingFileHandler):
    """A size-rotated file that also forgets rotated copies older than `retention_days`."""

    def __init__(self, filename: Path, *, max_bytes: int, backup_count: int, retention_days: float) -> None:
        super().__init__(filename, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self.retention_days = retention_days
        self.prune()

    def doRollover(self) -> None:
        super().doRollover()
        self.prune()

    def prune(self) -> None:
        prune_rotated(Path(self.baseFilename), self.backupCount, self.retention_days)


def prune_rotated(path: Path, backup_count: int, retention_days: float) -> list[Path]:
    """Delete rotated copies beyond `backup_count` or older than `retention_days`. The oldest
    go first and the numbering keeps no gaps (.1 is always the newest). Returns what went."""
    from nexus.logs.reader import log_files

    rotated = log_files(path)[1:]
    cutoff = time.time() - retention_days * 86400 if retention_days > 0 else None
    keep = min(len(rotated), backup_count)
    if cutoff is not None:
        for index, file in enumerate(rotated[:keep]):
            try:
                if file.stat().st_mtime < cutoff:
                    keep = index
                    break
            except FileNotFoundError:
                keep = index
                break
    removed = []
    for file in rotated[keep:]:
        try:
            file.unlink()
            removed.append(file)
        except FileNotFoundError:
            pass
        except OSError as exc:  # in use elsewhere (Windows): try again at the next rotation
            logging.getLogger(__name__).warning("could not delete the old log file %s: %s", file, exc)
    return removed


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "source": getattr(record, "source", "nexus"),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry["fields"] = fields
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(source)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "source"):
            record.source = "nexus"
        return super().format(record)


def configure_logging(
    log_file: Path | None,
    *,
    level: str = "INFO",
    max_bytes: int = 10 * 1024 * 1024,
    backup_count: int = 5,
    retention_days: float = 0,
    console: bool = True,
) -> None:
    """Install Nexus's handlers on the `nexus` logger (idempotent: reconfiguring replaces them)."""
    root = logging.getLogger(ROOT_LOGGER)
    shutdown_logging()
    root.setLevel(level.upper())
    root.propagate = False
    handlers: list[logging.Handler] = []
    redaction = RedactionFilter()
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = RetainingFileHandler(log_file, max_bytes=max_bytes, backup_count=backup_count,
                                            retention_days=retention_days)
        file_handler.setFormatter(JsonLineFormatter())
        file_handler.addFilter(redaction)
        handlers.append(file_handler)
    if console:
        console_handler = logging.StreamHandler(sys.stderr)
        console_handler.setFormatter(ConsoleFormatter())
        console_handler.addFilter(redaction)
        handlers.append(console_handler)
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    # Werkzeug's per-request lines would repeat query strings; its warnings and errors
    # still reach the log, through the same redaction.
    for name, adopted_level in _ADOPTED_LOGGERS.items():
        adopted = logging.getLogger(name)
        adopted.setLevel(adopted_level)
        adopted.propagate = False
        for handler in handlers:
            adopted.addHandler(handler)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)  # "Running upgrade ..." lines


def shutdown_logging() -> None:
    for name in (ROOT_LOGGER, *_ADOPTED_LOGGERS):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if getattr(handler, _HANDLER_MARK, False):
                logger.removeHandler(handler)
                handler.close()
