"""``terminal/*`` client methods: commands the agent runs through Symphony, in the workspace.

Each terminal is a process of its own session and group (so killing it reaches every
grandchild), started in a working directory inside the workspace with the agent's stripped
environment (tracker secrets never reach it, whatever ``env`` the agent asks for), its stdout
and stderr collected together up to the byte limit (the oldest output is dropped first, on a
character boundary, as the protocol asks). ``release`` and ``close_all`` kill what still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shlex
import signal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from acp import RequestError

from symphony.agents.acp.files import confine
from symphony.process import child_environment, terminate_group

READ_CHUNK = 64 * 1024
KILL_GRACE_S = 2.0


@dataclass
class Terminal:
    process: asyncio.subprocess.Process
    limit: int
    output: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    reader: asyncio.Task[None] | None = None

    def add(self, data: bytes) -> None:
        self.output += data
        excess = len(self.output) - self.limit
        if excess > 0:
            # Cut at a UTF-8 character start so the text stays decodable.
            while excess < len(self.output) and (self.output[excess] & 0xC0) == 0x80:
                excess += 1
            del self.output[:excess]
            self.truncated = True

    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")

    @property
    def exit_status(self) -> tuple[int | None, str | None] | None:
        code = self.process.returncode
        if code is None:
            return None
        if code < 0:
            return None, signal.Signals(-code).name
        return code, None


class Terminals:
    """The terminals of one session."""

    def __init__(
        self,
        workspace: Path,
        *,
        base_env: Mapping[str, str],
        strip_env: frozenset[str],
        extra_env: Mapping[str, str],
        default_limit: int,
        wrap: Callable[[str], str] | None = None,
    ) -> None:
        self._workspace = workspace
        self._wrap = wrap
        self._base_env = base_env
        self._strip = strip_env
        self._extra = dict(extra_env)
        self._default_limit = default_limit
        self._terminals: dict[str, Terminal] = {}

    def __len__(self) -> int:
        return len(self._terminals)

    @property
    def pids(self) -> list[int]:
        return [t.process.pid for t in self._terminals.values()]

    async def create(
        self,
        command: str,
        args: Iterable[str] | None,
        env: Iterable[tuple[str, str]],
        cwd: str | None,
        output_byte_limit: int | None,
    ) -> str:
        where = confine(cwd, self._workspace) if cwd else self._workspace
        if not where.is_dir():
            raise RequestError.invalid_params({"cwd": cwd, "reason": "not a directory"})
        requested = {name: value for name, value in env if name not in self._strip}
        environment = child_environment(
            self._strip, base=self._base_env, extra={**self._extra, **requested}
        )
        argv = list(args or ())
        # Without args the command is a shell line (agents send both forms).
        program = [command, *argv] if argv else ["bash", "-c", command]
        if self._wrap is not None:
            # The agent's sandbox, a fresh one per terminal (the same binds and egress).
            line = shlex.join(program) if argv else command
            program = ["bash", "-c", self._wrap(f"cd {shlex.quote(str(where))} || exit\n{line}")]
        try:
            process = await asyncio.create_subprocess_exec(
                *program,
                cwd=os.fspath(where),
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise RequestError.invalid_params({"command": command, "reason": str(exc)}) from None
        limit = output_byte_limit if output_byte_limit is not None else self._default_limit
        terminal = Terminal(process, max(min(limit, self._default_limit), 0))
        terminal.reader = asyncio.create_task(self._read(terminal), name="acp-terminal-output")
        terminal_id = f"term-{secrets.token_hex(6)}"
        self._terminals[terminal_id] = terminal
        return terminal_id

    def get(self, terminal_id: str) -> Terminal:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise RequestError.invalid_params(
                {"terminalId": terminal_id, "reason": "no such terminal (released or never made)"}
            )
        return terminal

    async def wait(self, terminal_id: str, timeout_s: float) -> Terminal:
        terminal = self.get(terminal_id)
        try:
            await asyncio.wait_for(terminal.process.wait(), timeout=timeout_s)
        except TimeoutError:
            raise RequestError.internal_error(
                {"terminalId": terminal_id, "reason": f"still running after {timeout_s:g} s"}
            ) from None
        if terminal.reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(terminal.reader), timeout=KILL_GRACE_S)
        return terminal

    async def kill(self, terminal_id: str) -> None:
        terminal = self.get(terminal_id)
        await terminate_group(terminal.process, grace_s=KILL_GRACE_S)

    async def release(self, terminal_id: str) -> None:
        terminal = self._terminals.pop(terminal_id, None)
        if terminal is not None:
            await _close(terminal)

    async def close_all(self) -> None:
        terminals = list(self._terminals.values())
        self._terminals.clear()
        await asyncio.gather(*(_close(t) for t in terminals), return_exceptions=True)

    async def _read(self, terminal: Terminal) -> None:
        stream = terminal.process.stdout
        assert stream is not None
        while chunk := await stream.read(READ_CHUNK):
            terminal.add(chunk)


async def _close(terminal: Terminal) -> None:
    await terminate_group(terminal.process, grace_s=KILL_GRACE_S)
    if terminal.reader is not None:
        terminal.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await terminal.reader
