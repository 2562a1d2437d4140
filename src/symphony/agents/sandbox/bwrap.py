"""The bubblewrap command line that wraps an agent's launch script (docs/sandbox.md). Pure.

The output is shell text, ``exec bwrap <args> -- bash -c <inner>``, to be run by the login shell
that launches the agent (``process.spawn_login_shell_lines``), so it composes with any launcher
that takes a script: the local one, or ``ssh host bash -lc``. The login profile runs outside the
sandbox (it may set PATH); the inner script starts the loopback bridges, waits until they
listen, then runs the original script.

Posture: the root file system read-only, the workspace, the backend's state and
``sandbox.writable`` writable, private ``/tmp``, ``/run`` and ``/dev``, a private ``/proc`` in its
own pid namespace (when the outermost process dies the kernel kills every process in it, even
those that started their own session), no network namespace sharing unless ``sandbox.network``.
No ``--new-session``: the agent stays in the process group Symphony kills on stop, and the
launch has no terminal whose input could be faked (TIOCSTI).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

LOOPBACK: Final = "127.0.0.1"
# How long the inner script waits for its bridges to listen before it gives up (exit 125).
BRIDGE_READY_TRIES: Final = 500
BRIDGE_READY_EXIT: Final = 125
# Resolver state a network-enabled sandbox still needs from the private /run.
_RUN_KEEP: Final = ("/run/systemd/resolve",)
PROXY_VARS: Final = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
NO_PROXY_LOOPBACK: Final = "localhost,127.0.0.1,::1"


@dataclass(frozen=True, slots=True)
class Bridge:
    """Inside, ``127.0.0.1:port`` forwards to the Unix socket ``socket`` (Symphony's side)."""

    port: int
    socket: Path


@dataclass(frozen=True, slots=True)
class SandboxPlan:
    """Everything the command line depends on; built by ``box.open_sandbox``."""

    workspace: Path
    bwrap: str = "bwrap"
    writable: tuple[Path, ...] = ()
    # Paths under the private /tmp or /run that must stay visible (read-only), e.g. the
    # backend's per-session config files and HOME.
    read_only: tuple[Path, ...] = ()
    network: bool = False
    # The directory of the bridge sockets, bound in at the same path.
    socket_dir: Path | None = None
    bridges: tuple[Bridge, ...] = ()
    # The bridge port that is the allowlisting HTTP proxy, if any.
    proxy_port: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)


def proxy_env(port: int) -> dict[str, str]:
    """Proxy variables for both spellings; loopback goes direct, to the bridges."""
    url = f"http://{LOOPBACK}:{port}"
    env = {name: url for name in PROXY_VARS}
    env |= {name.lower(): url for name in PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = NO_PROXY_LOOPBACK
    return env


def bwrap_args(plan: SandboxPlan) -> list[str]:
    """bwrap's options (without the program and the command)."""
    args = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if not plan.network:
        args.append("--unshare-net")
    args += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # /run holds daemons' sockets (a read-only mount does not stop connect() on a socket).
    args += ["--tmpfs", "/tmp", "--tmpfs", "/run"]  # noqa: S108 - a new, private tmpfs
    if plan.network:
        for kept in _RUN_KEEP:
            args += ["--ro-bind-try", kept, kept]
    for path in plan.read_only:
        args += ["--ro-bind-try", str(path), str(path)]
    for path in (plan.workspace, *plan.writable):
        args += ["--bind", str(path), str(path)]
    if plan.socket_dir is not None:
        # Read-only is enough to connect() to a socket, and keeps the agent from swapping them.
        args += ["--ro-bind", str(plan.socket_dir), str(plan.socket_dir)]
    env = dict(plan.env)
    if plan.proxy_port is not None:
        env |= proxy_env(plan.proxy_port)
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    args += ["--chdir", str(plan.workspace)]
    return args


def _listening(port: int) -> str:
    """A shell test: something listens on 127.0.0.1:port (read from /proc, no connection made)."""
    return f"grep -q ' 0100007F:{port:04X} 00000000:0000 0A ' /proc/net/tcp"


def inner_script(script: str, plan: SandboxPlan) -> str:
    """What runs inside: the bridges in the background, a bounded wait until they listen, then
    ``script``."""
    if not plan.bridges:
        return script
    lines = []
    for bridge in plan.bridges:
        listen = f"TCP-LISTEN:{bridge.port},bind={LOOPBACK},fork,reuseaddr"
        target = f"UNIX-CONNECT:{bridge.socket}"
        lines.append(f"socat {shlex.quote(listen)} {shlex.quote(target)} </dev/null >/dev/null &")
    ready = " && ".join(_listening(bridge.port) for bridge in plan.bridges)
    lines.append(
        f"_symphony_tries={BRIDGE_READY_TRIES}\n"
        f"until {ready}; do\n"
        "  _symphony_tries=$((_symphony_tries - 1))\n"
        '  if [ "$_symphony_tries" -le 0 ]; then\n'
        "    echo 'symphony sandbox: the loopback bridges (socat) did not start' >&2\n"
        f"    exit {BRIDGE_READY_EXIT}\n"
        "  fi\n"
        "  sleep 0.01\n"
        "done\n"
        "unset _symphony_tries"
    )
    return "\n".join(lines) + "\n" + script


def wrap(script: str, plan: SandboxPlan) -> str:
    """Shell text that runs ``script`` (shell text, as the launcher would have run it) inside
    the sandbox; the login shell that runs it execs bwrap, which stays the group leader."""
    inner = inner_script(script, plan)
    command = shlex.join([plan.bwrap, *bwrap_args(plan), "--", "bash", "-c", inner])
    return f"exec {command}"
