"""Structured ``key=value`` logs, secret redaction, sinks that survive each other (SPEC §13.1-2).

Messages carry their context as ``key=value`` pairs (use ``kv()``); issue lines carry
``issue_id`` and ``issue_identifier``, agent-session lines ``session_id``. Every line passes
the redactor, which removes registered secret values and token-shaped strings wherever they
appear. A sink that fails (disk full, closed stderr) never raises into the service: the other
sinks get one warning when it fails and one when it recovers.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from symphony.timefmt import format_timestamp

ROOT_LOGGER = "symphony"
LOG_FILE_NAME = "symphony.log"
MAX_LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5
REDACTED = "[REDACTED]"

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/@+\-,\[\]#]+$")
# Token shapes worth catching even if nobody registered them (defense in depth).
_TOKEN_PATTERNS = [
    re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]{16,}\b"),
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._\-~+/]{12,}=*"),
]


def kv(**fields: Any) -> str:
    """Render fields as stable ``key=value`` pairs; values with spaces are JSON-quoted."""
    parts = []
    for key, value in fields.items():
        parts.append(f"{key}={format_value(value)}")
    return " ".join(parts)


def format_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and _SAFE_VALUE.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class Redactor:
    """Replaces every registered secret value with ``[REDACTED]``; thread-safe."""

    MIN_SECRET_LENGTH = 6

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def register(self, values: Iterable[str | None]) -> None:
        # Very short values would redact ordinary words; such "secrets" are not secret anyway.
        fresh = {v for v in values if v and len(v) >= self.MIN_SECRET_LENGTH}
        with self._lock:
            if fresh <= self._secrets:
                return
            self._secrets = self._secrets | fresh
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def clear(self) -> None:
        with self._lock:
            self._secrets = frozenset()
            self._pattern = None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for token in _TOKEN_PATTERNS:
            text = token.sub(lambda m: (m.group(1) if m.lastindex else "") + REDACTED, text)
        return text


REDACTOR = Redactor()


def register_secrets(values: Iterable[str | None]) -> None:
    REDACTOR.register(values)


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... msg`` with the exception folded onto the same line."""

    def format(self, record: logging.LogRecord) -> str:
        ts = format_timestamp(datetime.fromtimestamp(record.created, UTC), timespec="milliseconds")
        message = record.getMessage()
        line = f"ts={ts} level={record.levelname.lower()} logger={record.name} {message}"
        if record.exc_info:
            exc_text = self.formatException(record.exc_info)
            line += " exception=" + format_value(exc_text)
        return REDACTOR.redact(line)


class _GuardedHandlerMixin(logging.Handler):
    """Turns a sink failure into one warning through the other sinks, never an exception."""

    sink_name = "sink"
    _failing = False
    _failed_this_emit = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_this_emit = True
        if not self._failing:
            self._failing = True
            exc = sys.exc_info()[1]
            _warn_siblings(
                self,
                f"log sink failed sink={self.sink_name} error={format_value(exc)}"
                "; continuing with the remaining sinks",
            )

    def _after_emit(self) -> None:
        if self._failing and not self._failed_this_emit:
            self._failing = False
            _warn_siblings(self, f"log sink recovered sink={self.sink_name}")
        self._failed_this_emit = False


class GuardedFileHandler(_GuardedHandlerMixin, logging.handlers.RotatingFileHandler):
    sink_name = "file"

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        self._after_emit()


class GuardedStreamHandler(_GuardedHandlerMixin, logging.StreamHandler[TextIO]):
    sink_name = "console"

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        self._after_emit()


def _warn_siblings(failed: logging.Handler, message: str) -> None:
    record = logging.LogRecord(
        ROOT_LOGGER, logging.WARNING, __file__, 0, message, None, None, "log_sink"
    )
    for handler in logging.getLogger(ROOT_LOGGER).handlers:
        if handler is failed:
            continue
        try:
            handler.handle(record)
        except Exception:  # noqa: S112 (a second failing sink has nowhere left to report)
            continue


@dataclass(frozen=True, slots=True)
class LogSetup:
    log_file: Path | None
    file_error: str | None


def configure_logging(
    *,
    logs_root: Path | None,
    console: TextIO | None = None,
    console_level: int = logging.INFO,
    file_level: int = logging.DEBUG,
) -> LogSetup:
    """Install the sinks on the ``symphony`` logger (idempotent: replaces earlier sinks)."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    formatter = KeyValueFormatter()

    if console is not None:
        stream = GuardedStreamHandler(console)
        stream.setLevel(console_level)
        stream.setFormatter(formatter)
        logger.addHandler(stream)

    log_file: Path | None = None
    file_error: str | None = None
    if logs_root is not None:
        path = logs_root / LOG_FILE_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = GuardedFileHandler(
                path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            file_error = f"{path}: {exc.strerror or exc}"
            logger.warning(
                "log file unavailable %s; logging to console only",
                kv(path=path, error=exc.strerror or str(exc)),
            )
        else:
            file_handler.setLevel(file_level)
            file_handler.setFormatter(formatter)
            logger.addHandler(file_handler)
            log_file = path
    return LogSetup(log_file=log_file, file_error=file_error)
