"""Structured logs on structlog: logfmt or JSON lines, secret redaction, per-issue context, sinks
that survive each other (SPEC §13.1-2). See docs/logging.md.

Code logs through ``get_logger(name)`` with fields as keywords::

    log = get_logger("symphony.workspace")
    log.info("workspace created", workspace=path)

Inside ``issue_context(issue_id, identifier)`` (the orchestrator enters it for every worker task,
and asyncio tasks and ``to_thread`` calls inherit it) every line also carries ``issue_id`` and
``issue_identifier``. Records from plain stdlib loggers (third-party libraries) go through the
same formatter, so every line has one shape and passes the redactor, which removes registered
secret values and token-shaped strings from the message and from every field. A sink that fails
(disk full, closed stderr) never raises into the service: the other sinks get one warning when it
fails and one when it recovers.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from symphony import lean_import
from symphony.logformat import DEFAULT_LOG_FORMAT, LOG_FORMATS, LogFormat
from symphony.timefmt import format_timestamp

# Lines are rendered here, not by structlog's console renderer: its rich/greenlet extras are
# dead weight (see lean_import).
with lean_import.without("rich", "greenlet"):
    import structlog
    from structlog.contextvars import bind_contextvars, bound_contextvars, get_contextvars
    from structlog.stdlib import BoundLogger, ProcessorFormatter
    from structlog.typing import EventDict, Processor

ROOT_LOGGER = "symphony"
LOG_FILE_NAME = "symphony.log"
MAX_LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5
REDACTED = "[REDACTED]"


# Keys every line has; a field of the same name is written as ``<name>_`` instead.
_CORE_KEYS = ("ts", "level", "logger", "message", "exception")
# Context fields first, in this order; any others follow alphabetically.
_CONTEXT_ORDER = ("issue_id", "issue_identifier", "session_id")
# Event-dict entries that are about the call, not fields of the line.
_CALL_KEYS = frozenset({"event", "exc_info", "stack_info", "_record", "_from_structlog"})

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/@+\-,\[\]#]+$")
# Token shapes redacted even when nobody registered them (defense in depth), as one alternation
# so a line is scanned once (with the registered secrets, see ``Redactor``). Read each shape as
# ``\b<literal>...``: the word boundary is checked by a look-behind *after* the literal, because
# every branch of the pattern then starts with a literal character and the regex engine skips,
# at C speed, every position whose character starts no branch. A leading ``\b`` (or a group)
# makes it try every branch at every position: fourteen times slower on protocol text, which
# is what transcripts are. ``{ws}`` is the whitespace after ``Bearer``.
_TOKEN_SHAPES = (
    r"lin_(?<!\w....)(?:api|oauth)_[A-Za-z0-9]{{16,}}\b",
    r"sk-(?<!\w...)[A-Za-z0-9_\-]{{16,}}\b",
    r"gh(?<!\w..)[pousr]_[A-Za-z0-9]{{20,}}\b",
    # ``Bearer <token>``, any case; the scheme word and its whitespace are kept (group ``bearer``
    # or ``Bearer`` by the first letter's case).
    r"b(?<!\w.)(?P<bearer>(?i:earer){ws}+)[A-Za-z0-9._\-~+/]{{12,}}=*",
    r"B(?<!\w.)(?P<Bearer>(?i:earer){ws}+)[A-Za-z0-9._\-~+/]{{12,}}=*",
)
_TOKEN_SOURCE = "|".join(_TOKEN_SHAPES).format(ws=r"\s")
# For joined lines: whitespace that never crosses a newline, so no match spans two lines.
_TOKEN_SOURCE_LINES = "|".join(_TOKEN_SHAPES).format(ws=r"[^\S\n]")


# --- key=value rendering ----------------------------------------------------------------------


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


def render_fields(fields: Mapping[str, Any]) -> str:
    """Fields as stable ``key=value`` pairs; values with spaces are JSON-quoted."""
    return " ".join(f"{key}={format_value(value)}" for key, value in fields.items())


# --- redaction --------------------------------------------------------------------------------


class Redactor:
    """Replaces every registered secret value with ``[REDACTED]``; thread-safe."""

    MIN_SECRET_LENGTH = 6

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern = _compile(())
        self._lines_pattern = _compile((), lines=True)

    def register(self, values: Iterable[str | None]) -> None:
        # Very short values would redact ordinary words; such "secrets" are not secret anyway.
        fresh = {v for v in values if v and len(v) >= self.MIN_SECRET_LENGTH}
        with self._lock:
            if fresh <= self._secrets:
                return
            secrets = self._secrets | fresh
            # The pattern first: a reader that sees the new secret also finds it in the pattern.
            self._pattern = _compile(secrets)
            self._lines_pattern = _compile(secrets, lines=True)
            self._secrets = secrets

    def clear(self) -> None:
        with self._lock:
            self._secrets = frozenset()
            self._pattern = _compile(())
            self._lines_pattern = _compile((), lines=True)

    def redact(self, text: str) -> str:
        return self._pattern.sub(_replacement, text)

    def redact_lines(self, text: str) -> str:
        """``redact`` for many lines joined by newlines, in one pass: no match spans two lines,
        so the result is what redacting each line would give (a transcript's batch)."""
        return self._lines_pattern.sub(_replacement, text)


def _compile(secrets: Iterable[str], *, lines: bool = False) -> re.Pattern[str]:
    """Registered secrets (longest first, so a secret containing another is hidden whole), then
    the token shapes, as one pattern; with ``lines``, whitespace in a shape never matches a
    newline."""
    ordered = sorted(secrets, key=len, reverse=True)
    shapes = _TOKEN_SOURCE_LINES if lines else _TOKEN_SOURCE
    return re.compile("|".join([*(re.escape(s) for s in ordered), shapes]))


def _replacement(match: re.Match[str]) -> str:
    # ``Bearer <token>`` keeps the scheme word: the log still says what kind of value was there.
    scheme = match.group("bearer")
    if scheme is not None:
        return "b" + scheme + REDACTED
    scheme = match.group("Bearer")
    if scheme is not None:
        return "B" + scheme + REDACTED
    return REDACTED


REDACTOR = Redactor()


def register_secrets(values: Iterable[str | None]) -> None:
    REDACTOR.register(values)


def redact_value(value: Any) -> Any:
    """``value`` with secrets removed: JSON scalars stay as they are, containers are walked, and
    anything else becomes its redacted ``str()``."""
    if isinstance(value, str):
        return REDACTOR.redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {REDACTOR.redact(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return REDACTOR.redact(str(value))


# --- per-issue context ------------------------------------------------------------------------


@contextmanager
def issue_context(issue_id: str, issue_identifier: str, **fields: Any) -> Iterator[None]:
    """Every line logged inside (including by tasks created inside) carries the issue fields."""
    with bound_contextvars(issue_id=issue_id, issue_identifier=issue_identifier, **fields):
        yield


def issue_task_context(issue_id: str, issue_identifier: str) -> contextvars.Context:
    """A copy of the current context with the issue bound: ``create_task(..., context=...)``."""
    context = contextvars.copy_context()
    context.run(bind_contextvars, issue_id=issue_id, issue_identifier=issue_identifier)
    return context


def _bound_fields() -> dict[str, Any]:
    bound = get_contextvars()
    if not bound:
        return {}
    first = [key for key in _CONTEXT_ORDER if key in bound]
    rest = sorted(key for key in bound if key not in _CONTEXT_ORDER)
    return {key: bound[key] for key in first + rest}


def _merge_context(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Context fields first (the call's own value wins), like ``merge_contextvars`` but ordered."""
    bound = _bound_fields()
    if not bound:
        return event_dict
    merged = {key: value for key, value in bound.items() if key not in event_dict}
    merged.update(event_dict)
    return merged


# --- structlog -> stdlib ----------------------------------------------------------------------


class _Event(dict[str, Any]):
    """The event dict a structlog call hands to stdlib logging as the record's ``msg``.

    ``ProcessorFormatter`` renders it from the dict; anything else that reads the record
    (pytest's caplog, a third-party handler) gets ``message key=value ...`` from ``str()``.
    """

    def __str__(self) -> str:
        fields = {k: v for k, v in self.items() if k not in _CALL_KEYS}
        event = str(self.get("event", ""))
        return f"{event} {render_fields(fields)}" if fields else event


def _exc_info(value: Any) -> Any:
    if value is None or value is False:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple):
        return value
    info = sys.exc_info()
    return info if info[0] is not None else None


def _to_stdlib(
    logger: Any, method_name: str, event_dict: EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Final structlog processor: log ``_Event(event_dict)`` through the stdlib logger."""
    exc_info = _exc_info(event_dict.pop("exc_info", None))
    if exc_info is not None:
        event_dict["exc_info"] = exc_info
    stack_info = bool(event_dict.pop("stack_info", False))
    return (_Event(event_dict),), {
        "exc_info": exc_info,
        "stack_info": stack_info,
        "extra": {"_logger": logger, "_name": method_name},
    }


_STRUCTLOG_CHAIN: list[Processor] = [
    structlog.stdlib.filter_by_level,
    _merge_context,
    structlog.stdlib.PositionalArgumentsFormatter(),
    _to_stdlib,
]


def get_logger(name: str) -> BoundLogger:
    """A structlog logger writing through the stdlib logger ``name`` (levels, handlers, caplog)."""
    return BoundLogger(logging.getLogger(name), _STRUCTLOG_CHAIN, {})


# --- the formatter: one event dict, two renderings --------------------------------------------


_TRACEBACKS = logging.Formatter()


def _line_fields(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """``ts, level, logger, message, <fields>, exception`` from the record and the event."""
    record: logging.LogRecord = event_dict["_record"]
    ts = format_timestamp(datetime.fromtimestamp(record.created, UTC), timespec="milliseconds")
    line: dict[str, Any] = {
        "ts": ts,
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": str(event_dict.get("event", "")),
    }
    for key, value in event_dict.items():
        if key not in _CALL_KEYS:
            line[f"{key}_" if key in _CORE_KEYS else key] = value
    exc_info = _exc_info(event_dict.get("exc_info"))
    if exc_info is not None:
        line["exception"] = _TRACEBACKS.formatException(exc_info)
    return line


def _redact(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    return {key: redact_value(value) for key, value in event_dict.items()}


def _render_logfmt(_logger: Any, _method: str, line: EventDict) -> str:
    """``ts=... level=... logger=... message key=value ... exception="..."`` on one line."""
    head = f"ts={line['ts']} level={line['level']} logger={line['logger']} {line['message']}"
    fields = {k: v for k, v in line.items() if k not in _CORE_KEYS}
    if fields:
        head += " " + render_fields(fields)
    if "exception" in line:
        head += " exception=" + format_value(line["exception"])
    # Once more over the whole line, as before fields existed: field names are checked too.
    return REDACTOR.redact(head)


def _render_json(_logger: Any, _method: str, line: EventDict) -> str:
    return json.dumps(line, default=str, ensure_ascii=False)


class _LineFormatter(ProcessorFormatter):
    """Formats structlog and plain stdlib records alike: fields, context, redaction, one line."""

    def __init__(self, renderer: Processor) -> None:
        super().__init__(
            processors=[_line_fields, _redact, renderer],
            foreign_pre_chain=[_merge_context],
        )


class KeyValueFormatter(_LineFormatter):
    """``logs.format: logfmt``."""

    def __init__(self) -> None:
        super().__init__(_render_logfmt)


class JsonFormatter(_LineFormatter):
    """``logs.format: json``."""

    def __init__(self) -> None:
        super().__init__(_render_json)


def make_formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter every sink uses for ``log_format``."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "logfmt":
        return KeyValueFormatter()
    raise ValueError(f"logs.format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


# --- sinks ------------------------------------------------------------------------------------


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
            # Logging goes on through the remaining sinks; "recovered" follows once this one works.
            _warn_siblings(self, "log sink failed", sink=self.sink_name, error=exc)

    def _after_emit(self) -> None:
        if self._failing and not self._failed_this_emit:
            self._failing = False
            _warn_siblings(self, "log sink recovered", sink=self.sink_name)
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


def _warn_siblings(failed: logging.Handler, message: str, **fields: Any) -> None:
    """Hand one warning straight to the other sinks (logging through the logger would reach the
    failed one again)."""
    logger = logging.getLogger(ROOT_LOGGER)
    event = _Event(_merge_context(logger, "warning", {"event": message, **fields}))
    record = logging.LogRecord(
        ROOT_LOGGER, logging.WARNING, __file__, 0, event, None, None, "log_sink"
    )
    # Marks the record as a structlog one for the formatter, like ``_to_stdlib`` does.
    record._logger = logger
    record._name = "warning"
    for handler in logger.handlers:
        if handler is failed:
            continue
        try:
            handler.handle(record)
        except Exception:  # noqa: S112 (a second failing sink has nowhere left to report)
            continue


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogSetup:
    log_file: Path | None
    file_error: str | None


_format: LogFormat = DEFAULT_LOG_FORMAT
_log = get_logger(ROOT_LOGGER)


def current_log_format() -> LogFormat:
    return _format


def set_log_format(log_format: LogFormat) -> None:
    """Switch every installed sink (and later ``configure_logging`` calls) to ``log_format``."""
    global _format
    formatter = make_formatter(log_format)
    _format = log_format
    for handler in logging.getLogger(ROOT_LOGGER).handlers:
        handler.setFormatter(formatter)


def configure_logging(
    *,
    logs_root: Path | None,
    console: TextIO | None = None,
    console_level: int = logging.INFO,
    file_level: int = logging.DEBUG,
    log_format: LogFormat | None = None,
) -> LogSetup:
    """Install the sinks on the ``symphony`` logger (idempotent: replaces earlier sinks).

    ``log_format`` None keeps the current format (``logfmt`` until ``set_log_format``).
    """
    global _format
    formatter = make_formatter(log_format or _format)
    _format = log_format or _format
    logger = _remove_sinks()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

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
            _log.warning(
                "log file unavailable; logging to console only",
                path=path,
                error=exc.strerror or str(exc),
            )
        else:
            file_handler.setLevel(file_level)
            file_handler.setFormatter(formatter)
            logger.addHandler(file_handler)
            log_file = path
    return LogSetup(log_file=log_file, file_error=file_error)


def _remove_sinks() -> logging.Logger:
    """Close and detach every sink of the ``symphony`` logger; returns that logger."""
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    return logger


def reset_logging() -> None:
    """Remove the sinks, forget secrets and bound context, back to ``logfmt`` (for tests)."""
    global _format
    _remove_sinks().propagate = True
    REDACTOR.clear()
    structlog.contextvars.clear_contextvars()
    _format = DEFAULT_LOG_FORMAT
