"""The version an agent CLI reports, asked the way sessions launch it (through ``bash -lc``)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path

from symphony.process import reap_group, spawn_login_shell, terminate_group

VERSION = re.compile(r"(\d+\.\d+\.\d+)")


async def command_version(
    program: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
) -> tuple[str | None, str]:
    """``(version, problem)``: what ``<program> --version`` printed, or why it did not run.

    ``program`` is shell text (``${SYMPHONY_CODEX_BIN:-codex}`` expands as in the command)."""
    try:
        process = await spawn_login_shell(f"{program} --version", cwd=cwd, env=env, strip=strip_env)
    except OSError as exc:
        return None, f"could not run bash: {exc}"
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        return None, f"`{program} --version` did not finish within {timeout_s:g} s"
    finally:
        if process.returncode is None:
            await terminate_group(process)
        else:
            reap_group(process.pid)
    text = out.decode("utf-8", "replace")
    if process.returncode != 0:
        tail = (err.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        return None, f"`{program} --version` failed (exit {process.returncode}): {tail[:200]}"
    found = VERSION.search(text)
    return (found.group(1) if found else text.strip()[:40]), ""
