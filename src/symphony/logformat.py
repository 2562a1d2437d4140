"""The service log's formats (``logs.format``): a name list light enough for the config models,
which the board CLI loads without the logging stack."""

from __future__ import annotations

from typing import Literal, get_args

LogFormat = Literal["logfmt", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
DEFAULT_LOG_FORMAT: LogFormat = "logfmt"
