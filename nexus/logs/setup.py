"""One logging setup for the whole app.

- A JSON-lines file in the data dir, rotated by size, so the logs page and exports can
  parse it. Each line: time, level, logger, source (nexus, opencode, cloudflared), message,
  and optional structured fields passed as `extra={"fields": {...}}`.
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

from nexus.logs.redact import RedactionFilter

ROOT_LOGGER = "nexus"
# Third-party loggers whose records go through the same (redacting) handlers.
_ADOPTED_LOGGERS = {"werkzeug": logging.WARNING, "alembic": logging.WARNING, "flask_sock": logging.WARNING}
_HANDLER_MARK = "_nexus_handler"


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
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
        )
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
