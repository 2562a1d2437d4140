"""Credentials preflight before a codex launch: fail fast instead of burning the attempt.

The rule (``credentials.check_credentials``) is evaluated on the environment codex would get.
Codex runs under ``bash -lc``, whose login profile may export ``CODEX_HOME`` or put codex on
``PATH`` (nvm, for one), so a "missing" verdict, or a codex not on Symphony's own PATH, is
checked once more against the variables a login shell actually ends up with before the attempt
is failed. The happy path costs no process.

What a login shell ends up with is kept for ``PROFILE_TTL_S`` for the sandbox helper's lookup
(``linux_sandbox``), which shares the credentials check's probe: a default ``codex app-server``
command would otherwise cost a ``bash -lc`` (nvm profiles take a few hundred ms) per agent start.
A credentials verdict is never taken from that memory: a fixed profile counts at the next try.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from pathlib import Path

from symphony.agents.codex.credentials import (
    ACCESS_TOKEN_ENV,
    IGNORED_KEY_ENV,
    CredentialCheck,
    check_credentials,
    referenced_names,
)
from symphony.agents.codex.errors import CODEX_NOT_AUTHENTICATED, AgentError
from symphony.logs import get_logger
from symphony.process import child_environment, reap_group, spawn_login_shell, terminate_group

log = get_logger("symphony.agents.codex")

PROBE_TIMEOUT_S = 10.0
PROFILE_TTL_S = 60.0
_SECRET = (*IGNORED_KEY_ENV, ACCESS_TOKEN_ENV)  # probed for presence only
_PROBED = ("CODEX_HOME", "HOME", "PATH", *_SECRET)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


async def assess_credentials(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str] = frozenset(),
    probe_timeout_s: float = PROBE_TIMEOUT_S,
) -> CredentialCheck:
    """The verdict for ``command`` launched like ``launch()`` does (same env, cwd, stripping)."""
    child = child_environment(strip_env, base=env)
    check = check_credentials(command, child, cwd=cwd)
    if not check.missing and check.program_found:
        return check
    names = profile_names(command, strip_env)
    profiled = await login_shell_values(
        names, env=child, cwd=cwd, strip_env=strip_env, timeout_s=probe_timeout_s, reuse=False
    )
    if profiled is None:
        return check
    after = {k: v for k, v in child.items() if k not in names} | profiled
    return check_credentials(command, after, cwd=cwd)


async def ensure_credentials(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str] = frozenset(),
) -> CredentialCheck:
    """``assess_credentials``, raising ``AgentError(codex_not_authenticated)`` when missing."""
    check = await assess_credentials(command, env=env, cwd=cwd, strip_env=strip_env)
    if check.missing:
        raise AgentError(
            CODEX_NOT_AUTHENTICATED,
            check.message,
            details={"codex_home": str(check.codex_home), "reason": check.reason},
        )
    return check


def profile_names(command: str, strip_env: frozenset[str]) -> list[str]:
    """The variables a launch check of ``command`` asks the login shell about."""
    return sorted((set(_PROBED) | referenced_names(command)) - strip_env)


_Key = tuple[tuple[str, ...], tuple[tuple[str, str | None], ...], frozenset[str]]
_profiles: dict[_Key, tuple[float, asyncio.Future[dict[str, str] | None]]] = {}


async def login_shell_values(
    names: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
    reuse: bool = True,
) -> dict[str, str] | None:
    """The values of ``names`` in a ``bash -lc`` like codex's; None if the shell fails.

    Credential variables are reported as set or not, never read. With ``reuse``, an answer to
    the same question from the last ``PROFILE_TTL_S`` (or one being asked right now) is shared;
    without, the shell is asked again and its answer kept for the others. The working directory
    is not part of the question: login profiles do not depend on it.
    """
    key: _Key = (
        tuple(names),
        tuple((n, env.get(n)) for n in sorted({*names, "PATH", "HOME"})),
        strip_env,
    )
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    cached = _profiles.get(key)
    fresh = cached is not None and now - cached[0] < PROFILE_TTL_S
    if reuse and fresh and cached is not None and cached[1].get_loop() is loop:
        return await asyncio.shield(cached[1])
    for stale in [k for k, (at, _) in _profiles.items() if now - at >= PROFILE_TTL_S]:
        del _profiles[stale]
    answer = loop.create_task(
        _probe_login_shell(names, env=env, cwd=cwd, strip_env=strip_env, timeout_s=timeout_s)
    )
    _profiles[key] = (now, answer)
    result = await asyncio.shield(answer)
    if result is None:
        _profiles.pop(key, None)  # a failed shell is asked again next time
    return result


async def _probe_login_shell(
    names: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    timeout_s: float,
) -> dict[str, str] | None:
    lines = []
    for name in names:
        if not _NAME.match(name):
            continue
        value = '"x"' if name in _SECRET else f'"${name}"'
        lines.append(f'if [ -n "${{{name}+x}}" ]; then printf "%s=%s\\0" {name} {value}; fi')
    try:
        process = await spawn_login_shell(
            "\n".join(lines) or ":",
            cwd=cwd,
            env=env,
            strip=strip_env,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        log.debug("credentials probe could not start", error=exc)
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=timeout_s)
    except TimeoutError:
        log.debug("credentials probe timed out after %s s", timeout_s)
        return None
    finally:
        if process.returncode is None:
            await terminate_group(process)
        else:
            reap_group(process.pid)  # whatever the profile left running in the background
    if process.returncode != 0:
        return None
    values: dict[str, str] = {}
    for entry in out.decode("utf-8", "replace").split("\0"):
        name, sep, value = entry.partition("=")
        if sep:
            values[name] = value
    return values
