"""Importing a library without the optional extras it would pick up just because they exist.

Some libraries import every optional integration that happens to be installed: structlog loads
rich (for its console renderer's tracebacks) and greenlet (for greenlet-local context) at import
time. Symphony renders its own log lines and uses neither, and the two cost about 6 MB of the
service's resident memory (issue #14: a 10-agent service within 50 MB). While ``without`` is
active, ``import <name>`` raises ImportError for the listed modules, which is exactly what the
library would see on a machine without them; modules already imported are left alone.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without(*names: str) -> Iterator[None]:
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
