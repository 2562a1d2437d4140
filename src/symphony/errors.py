"""The one error shape every layer raises for user-facing problems.

Each error carries a stable ``code`` (the spec's category names, e.g. ``missing_workflow_file``)
and a human ``message`` that names the file, key or issue and says what to do.
"""

from __future__ import annotations


class SymphonyError(Exception):
    """A problem an operator can act on; never a bug in Symphony itself."""

    code: str = "symphony_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
