"""Per-issue agent transcripts: the raw lines of a session, for the agent log files."""

from __future__ import annotations

from typing import Literal, Protocol

TranscriptStream = Literal["send", "recv", "stderr"]


class Transcript(Protocol):
    """Receives every protocol line sent and received, and every stderr line, as text.

    Called on the event loop for each line, so it must be quick; it must not raise (a transcript
    that raises is switched off for the rest of the session and the failure is logged once).
    Lines are passed as-is: redacting secrets is the implementation's job.
    """

    def write(self, stream: TranscriptStream, line: str) -> None: ...
