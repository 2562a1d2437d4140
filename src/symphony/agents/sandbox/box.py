"""One agent's sandbox: its plan, its egress servers, and the probe that bwrap works here.

A backend's session calls ``open_sandbox`` before its launch, passes its launch script through
``Sandbox.wrap`` and calls ``Sandbox.aclose`` once the agent is gone (docs/sandbox.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from symphony.agents.errors import AgentError, environment_codes
from symphony.agents.sandbox.bwrap import Bridge, SandboxPlan, wrap
from symphony.agents.sandbox.egress import LOOPBACK_HOSTS, Egress, split_endpoint
from symphony.process import ENV_ASSIGNMENT
from symphony.workflow.config import SandboxConfig

SANDBOX_UNAVAILABLE: Final = "sandbox_unavailable"
# Every agent would fail alike: shown once, dispatch backs off as a whole (core.outage).
environment_codes(SANDBOX_UNAVAILABLE)
PROBE_TIMEOUT_S: Final = 10.0
# The port the proxy listens on inside; any free port in the sandbox's own network namespace.
PROXY_PORT: Final = 3128
FIRST_UNPRIVILEGED_PORT: Final = 1024


@dataclass(frozen=True, slots=True)
class Probe:
    """Whether ``bwrap`` can build this sandbox here; ``problem`` says why not."""

    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def probe_args(network: bool) -> list[str]:
    """A trivial sandbox with the namespaces a real one uses."""
    args = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if not network:
        args.append("--unshare-net")
    return [*args, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--", "true"]


async def probe(
    config: SandboxConfig, *, env: Mapping[str, str], timeout_s: float = PROBE_TIMEOUT_S
) -> Probe:
    """Run ``bwrap … true`` (bounded by ``timeout_s``) and check ``socat`` when the network is
    off. Never raises."""
    path = env.get("PATH", os.defpath)
    program = shutil.which(config.bwrap, path=path)
    if program is None:
        return Probe(
            f"sandbox.kind is bwrap but {config.bwrap!r} was not found on PATH; install "
            "bubblewrap (Debian: apt-get install bubblewrap) or set sandbox.bwrap"
        )
    if not config.network and shutil.which("socat", path=path) is None:
        return Probe(
            "sandbox.network is false but socat (the sandbox's loopback bridge) was not found "
            "on PATH; install it (Debian: apt-get install socat)"
        )
    try:
        child = await asyncio.create_subprocess_exec(
            program,
            *probe_args(config.network),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return Probe(f"could not run {program}: {exc}")
    try:
        _, stderr = await asyncio.wait_for(child.communicate(), timeout=timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, 9)
        await child.wait()
        return Probe(f"`{program} … true` did not finish within {timeout_s:g} s")
    if child.returncode != 0:
        said = stderr.decode(errors="replace").strip()
        return Probe(
            f"bwrap cannot create its namespaces here (`{program} … true` exited "
            f"{child.returncode}: {said or 'no message'}); unprivileged user namespaces may "
            "be disabled (sysctl kernel.unprivileged_userns_clone, AppArmor's "
            "apparmor_restrict_unprivileged_userns) or the container forbids them "
            "(docs/sandbox.md)"
        )
    return Probe(None)


_probed: dict[tuple[str, bool], Probe] = {}


async def probe_once(config: SandboxConfig, *, env: Mapping[str, str]) -> Probe:
    """``probe`` remembered per (bwrap, network) once it succeeded."""
    key = (config.bwrap, config.network)
    known = _probed.get(key)
    if known is not None:
        return known
    found = await probe(config, env=env)
    if found.ok:
        _probed[key] = found
    return found


class Sandbox:
    """A prepared sandbox: ``wrap`` launch scripts with it, ``aclose`` it after the agent."""

    def __init__(self, plan: SandboxPlan, egress: Egress | None) -> None:
        self.plan = plan
        self.egress = egress

    def wrap(self, script: str) -> str:
        return wrap(script, self.plan)

    async def aclose(self) -> None:
        if self.egress is not None:
            await self.egress.aclose()
            self.egress = None


def _existing_dirs(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Absolute, de-duplicated; created when missing (bwrap cannot bind what is not there)."""
    out: list[Path] = []
    for path in paths:
        path = path.resolve()
        if path in out:
            continue
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AgentError(
                SANDBOX_UNAVAILABLE,
                f"sandbox: cannot create the writable directory {path}: {exc} (sandbox.writable)",
            ) from exc
        out.append(path)
    return tuple(out)


def _visible(paths: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(path.resolve() for path in paths))


_EXPANSION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")
# What the sandbox's private mounts hide (bwrap.py): a program installed below them must be
# bound back, or the agent cannot even start.
_HIDDEN_ROOTS = (Path("/tmp"), Path("/run"))  # noqa: S108 - paths the sandbox replaces


def program_roots(command: str, env: Mapping[str, str]) -> list[Path]:
    """Where the program ``command`` starts lives, when the private /tmp or /run would hide it:
    its npm prefix (the directory holding ``node_modules``: a CLI needs its whole package),
    else its directory, for the path as written and for where its links lead."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    word = next((w for w in words if w != "exec" and not ENV_ASSIGNMENT.match(w)), None)
    if word is None:
        return []
    expanded = _EXPANSION.sub(
        lambda m: env.get(m[1] or m[3]) or (m[2] if m[2] is not None else ""), word
    )
    found = shutil.which(expanded, path=env.get("PATH", os.defpath))
    if found is None:
        return []
    roots: list[Path] = []
    for path in dict.fromkeys((Path(found).absolute(), Path(found).resolve())):
        if not any(path.is_relative_to(hidden) for hidden in _HIDDEN_ROOTS):
            continue
        parts = path.parts
        root = (
            Path(*parts[: parts.index("node_modules")]) if "node_modules" in parts else path.parent
        )
        if root not in roots:
            roots.append(root)
    return roots


async def open_sandbox(
    config: SandboxConfig,
    *,
    workspace: Path,
    env: Mapping[str, str],
    state: Sequence[Path] = (),
    read_only: Sequence[Path] = (),
    endpoints: Sequence[str] = (),
    command: str = "",
) -> Sandbox:
    """The sandbox of one agent in ``workspace``.

    ``state`` are the backend's own writable directories (CODEX_HOME, CLAUDE_CONFIG_DIR),
    ``read_only`` paths that would be hidden by the private /tmp and /run but must be seen
    (the program of ``command`` is added to them when it lives there),
    ``endpoints`` the ``host:port`` entries the agent needs (its model API, Symphony's tool
    endpoint) on top of ``sandbox.allowed_hosts``. Raises ``AgentError``
    (``sandbox_unavailable``) when bwrap cannot run here.
    """
    found = await probe_once(config, env=env)
    if found.problem is not None:
        raise AgentError(SANDBOX_UNAVAILABLE, found.problem)
    writable = _existing_dirs([*state, *config.writable])
    home = env.get("HOME")
    plan = SandboxPlan(
        workspace=workspace,
        bwrap=config.bwrap,
        writable=tuple(p for p in writable if p != workspace),
        read_only=_visible(
            [*read_only, *program_roots(command, env), *([Path(home)] if home else [])]
        ),
        network=config.network,
    )
    if config.network:
        return Sandbox(plan, None)
    allowed = sorted({*endpoints, *config.allowed_hosts})
    try:
        egress = Egress.create()
    except OSError as exc:
        message = f"sandbox: cannot make its socket directory: {exc}"
        raise AgentError(SANDBOX_UNAVAILABLE, message) from exc
    try:
        bridges: list[Bridge] = []
        for entry in allowed:
            host, port = split_endpoint(entry)
            if host in LOOPBACK_HOSTS and port < FIRST_UNPRIVILEGED_PORT:
                raise AgentError(
                    SANDBOX_UNAVAILABLE,
                    f"sandbox: {entry} cannot be bridged into the sandbox (binding a port below "
                    f"{FIRST_UNPRIVILEGED_PORT} there needs a capability it does not have); serve "
                    "the local endpoint on a higher port",
                )
            if (
                host in LOOPBACK_HOSTS
                and port != PROXY_PORT
                and port not in {b.port for b in bridges}
            ):
                target = "::1" if host == "[::1]" else "127.0.0.1"
                bridges.append(Bridge(port, await egress.bridge(port, host=target)))
        proxy = await egress.proxy(allowed)
        bridges.append(Bridge(PROXY_PORT, proxy))
    except BaseException as exc:
        await egress.aclose()
        if isinstance(exc, OSError):  # e.g. a TMPDIR too long for a Unix socket path
            raise AgentError(
                SANDBOX_UNAVAILABLE, f"sandbox: cannot serve its egress sockets: {exc}"
            ) from exc
        raise
    plan = SandboxPlan(
        workspace=plan.workspace,
        bwrap=plan.bwrap,
        writable=plan.writable,
        read_only=plan.read_only,
        network=False,
        socket_dir=egress.directory,
        bridges=tuple(bridges),
        proxy_port=PROXY_PORT,
    )
    return Sandbox(plan, egress)
