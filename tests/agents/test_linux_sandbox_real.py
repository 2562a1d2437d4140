"""The real codex (0.169.0) with a system bubblewrap installed: the agent's commands must work.

With a ``bwrap`` on PATH codex runs it instead of its bundled copy, and that one executes
``codex-linux-sandbox`` by name (docs/codex.md, "Linux sandbox helper"). These tests need
Debian's ``bubblewrap`` (``scripts/setup --with-browser``, run by ``scripts/test``, installs it):
codex ignored a stand-in ``bwrap`` put on PATH from a temporary directory, so it cannot be faked.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from symphony.agents import events
from symphony.agents.codex import linux_sandbox
from tests.agents.test_codex_real import CODEX_BIN, ISSUE, PROMPT, Harness, harness
from tests.support.fake_model import Reply

# The real-codex harness fixture, shared with test_codex_real.
__all__ = ["harness"]

SYSTEM_BWRAP = shutil.which("bwrap")

pytestmark = [
    pytest.mark.codex,
    pytest.mark.skipif(not CODEX_BIN.exists(), reason=f"real codex not found at {CODEX_BIN}"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="codex uses bwrap on Linux"),
    pytest.mark.skipif(
        SYSTEM_BWRAP is None,
        reason="no system bwrap (apt-get install bubblewrap; scripts/setup --with-browser does)",
    ),
]

COMMAND = "printf 'written in the sandbox' > made.txt"


async def run_one_command(harness: Harness) -> str:
    harness.model.script(Reply.exec_command(COMMAND), Reply.message("Done."))
    session = await harness.start()
    try:
        result = await session.run_turn(PROMPT, issue=ISSUE)
    finally:
        await session.stop()
    assert result.status == "completed"
    (output,) = harness.model.requests[1].function_call_outputs().values()
    return output


async def test_agent_command_writes_in_the_workspace_with_a_system_bwrap(
    harness: Harness,
) -> None:
    output = await run_one_command(harness)

    made = harness.workspace / "made.txt"
    assert made.is_file(), f"the agent's command did not run; codex told the model: {output}"
    assert made.read_text() == "written in the sandbox"
    assert "exited with code 0" in output
    assert f"ran: {COMMAND} (exit 0)" in [e.message for e in harness.named(events.NOTIFICATION)]
    # The helper Symphony put on codex's PATH: the npm package's native binary.
    (link,) = linux_sandbox.helper_root().glob(f"*/{linux_sandbox.HELPER}")
    native = linux_sandbox.native_for_program(CODEX_BIN)
    assert native is not None and link.resolve() == native


async def test_without_the_helper_codex_fails_every_command(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pins the codex behaviour the helper works around: if a codex release stops needing it,
    # this fails and the workaround can go.
    monkeypatch.setattr(linux_sandbox, "applies", lambda: False)
    output = await run_one_command(harness)

    assert f"bwrap: execvp {linux_sandbox.HELPER}: No such file or directory" in output
    assert not (harness.workspace / "made.txt").exists()
    assert not Path(linux_sandbox.helper_root()).exists()
