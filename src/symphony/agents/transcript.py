"""Per-issue agent transcripts: the raw lines of a session, for the agent log files."""

from __future__ import annotations

from typing import Literal, Protocol

# What a line is: sent to the agent, received from it, or written to its stderr.
TranscriptStream = Literal["send", "recv", "stderr"]


class Transcript(Protocol):
    """Receives every protocol line sent and received, and every stderr line, as text.

    Called on the event loop for each line, so it must be quick; it must not raise (a backend
    switches off a transcript that raises for the rest of the session and logs it once).
    Lines are passed as-is: redacting secrets is the implementation's job.
    """

    def write(self, stream: TranscriptStream, line: str) -> None: ...
