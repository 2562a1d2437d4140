"""SSH worker hosts: target parsing, the ``ssh`` argv and the remote shell text (SPEC Appendix A).

Everything here is pure text: the callers (remote workspaces, the remote agent launch) run the
argv with the local process primitives (``symphony.process``). A remote command always runs as
``bash -lc <script>`` on the host, so the host's login profile applies as it does locally, and
the script is quoted once with ``shlex`` for the remote user's shell.

SSH carries no environment, so whatever a remote script needs (hook variables) is written into
the script itself; tracker secrets never are.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

SSH_CONFIG_ENV = "SYMPHONY_SSH_CONFIG"
# ssh exits 255 when the connection failed or dropped (refused, timeout, auth, reset, keep-alive).
SSH_FAILED_EXIT = 255
HOST_UNREACHABLE = "host_unreachable"
CONNECT_TIMEOUT_S = 10
# A frozen host (no reset) is given up after about ALIVE_INTERVAL_S * (ALIVE_COUNT + 1) seconds.
ALIVE_INTERVAL_S = 2
ALIVE_COUNT = 3
# The first stderr line of a remote agent: its process group on the host (stopped over SSH).
PGID_MARKER = "__symphony_remote_pgid "
WORKSPACE_MARKER = "__symphony_workspace "

_HOSTNAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TargetError(ValueError):
    """A ``worker.ssh_hosts`` entry that is not ``host``, ``host:port``, ``user@host:port`` or
    ``[v6]:port``."""


@dataclass(frozen=True, slots=True)
class SshTarget:
    """One worker host. ``raw`` is the entry exactly as configured (the API's ``worker_host``)."""

    raw: str
    host: str
    user: str | None = None
    port: int | None = None

    @property
    def destination(self) -> str:
        """What ``ssh`` is given: ``user@host`` or ``host`` (a name may be an ``ssh -F`` alias)."""
        return f"{self.user}@{self.host}" if self.user else self.host


def parse_target(raw: str) -> SshTarget:
    """Parse one ``worker.ssh_hosts`` entry; ``TargetError`` says what is wrong with it."""
    if not isinstance(raw, str) or not raw.strip():
        raise TargetError("worker.ssh_hosts: an entry is empty; write host, host:port or user@host")
    text = raw.strip()
    user: str | None = None
    if "@" in text:
        user, text = text.split("@", 1)
        if not _USER.match(user):
            raise TargetError(f"worker.ssh_hosts: {raw!r} has an invalid user name {user!r}")
    port_text: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise TargetError(f"worker.ssh_hosts: {raw!r} opens '[' without closing it")
        host = text[1:end]
        rest = text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise TargetError(f"worker.ssh_hosts: {raw!r} has text after ']' that is no :port")
            port_text = rest[1:]
        if not host or not re.match(r"^[0-9A-Fa-f:.%A-Za-z]+$", host) or ":" not in host:
            raise TargetError(f"worker.ssh_hosts: {raw!r} has no IPv6 address inside [...]")
    elif text.count(":") > 1:
        raise TargetError(
            f"worker.ssh_hosts: {raw!r} looks like a bare IPv6 address; write it as [addr] or "
            "[addr]:port"
        )
    else:
        host, sep, port_text_found = text.partition(":")
        port_text = port_text_found if sep else None
        if not host or not _HOSTNAME.match(host) or host.startswith("-"):
            raise TargetError(f"worker.ssh_hosts: {raw!r} has an invalid host name {host!r}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise TargetError(
                f"worker.ssh_hosts: {raw!r} has an invalid port {port_text!r} (1-65535)"
            )
        port = int(port_text)
    return SshTarget(raw=raw, host=host, user=user, port=port)


def ssh_argv(
    target: SshTarget,
    remote_command: str,
    *,
    config_file: str | None = None,
    connect_timeout_s: int = CONNECT_TIMEOUT_S,
) -> list[str]:
    """``ssh [-F cfg] -T [-p port] -o … dest <remote_command>``.

    BatchMode: a host that wants a password or an unknown host key fails at once instead of
    waiting for a prompt nobody answers. The keep-alive notices a host that froze without
    resetting the connection.
    """
    argv = ["ssh"]
    if config_file:
        argv += ["-F", config_file]
    argv.append("-T")
    if target.port is not None:
        argv += ["-p", str(target.port)]
    argv += [
        "-o",
        "BatchMode=yes",
        "-o",
        f"ConnectTimeout={connect_timeout_s}",
        "-o",
        f"ServerAliveInterval={ALIVE_INTERVAL_S}",
        "-o",
        f"ServerAliveCountMax={ALIVE_COUNT}",
        "--",
        target.destination,
        remote_command,
    ]
    return argv


def config_file(env: Mapping[str, str] | None = None) -> str | None:
    """The ``ssh -F`` file from ``SYMPHONY_SSH_CONFIG``, if set."""
    value = (os.environ if env is None else env).get(SSH_CONFIG_ENV, "").strip()
    return value or None


def remote_login_command(script: str) -> str:
    """The command string sshd hands to the user's shell: ``bash -lc <script>``."""
    return f"bash -lc {shlex.quote(script)}"


def local_ssh_script(
    target: SshTarget,
    script: str,
    *,
    config: str | None = None,
    connect_timeout_s: int = CONNECT_TIMEOUT_S,
) -> str:
    """Local shell text that replaces itself with ``ssh`` running ``script`` on the host."""
    argv = ssh_argv(
        target,
        remote_login_command(script),
        config_file=config,
        connect_timeout_s=connect_timeout_s,
    )
    return "exec " + shlex.join(argv)


def remote_path(raw: str) -> str:
    """Shell text for a path on the host: a leading ``~`` is the remote ``$HOME``."""
    if raw == "~":
        return '"$HOME"'
    if raw.startswith("~/"):
        rest = raw[2:]
        return '"$HOME"/' + shlex.quote(rest) if rest else '"$HOME"'
    return shlex.quote(raw)


def exports(values: Mapping[str, str]) -> str:
    """``export NAME=value`` lines (names that are no shell identifier are left out)."""
    lines = [
        f"export {name}={shlex.quote(value.replace(chr(0), ''))}"
        for name, value in values.items()
        if _ENV_NAME.match(name)
    ]
    return "".join(line + "\n" for line in lines)


def unsets(names: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    """An ``unset`` line for secret names a remote profile might export."""
    wanted = sorted(n for n in names if _ENV_NAME.match(n))
    return f"unset {' '.join(wanted)}\n" if wanted else ""


def valid_remote_path(path: str) -> bool:
    """An absolute path a remote script printed: non-blank, no CR, LF or NUL."""
    return bool(path.strip()) and path.startswith("/") and not any(c in path for c in "\r\n\0")


def agent_script(
    workspace: str, command: str, *, prelude: str = "", secrets: frozenset[str]
) -> str:
    """The remote agent: report the process group, enter the workspace, exec the command.

    sshd starts a command without a terminal in a session of its own, so the group reported is
    the agent's and a second connection can kill it (and anything the agent started in it).
    """
    return (
        unsets(secrets)
        + "pgid=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')\n"
        + f"printf '%s%s\\n' {shlex.quote(PGID_MARKER)} \"${{pgid:-$$}}\" >&2\n"
        + f"cd -- {shlex.quote(workspace)} || exit 1\n"
        + prelude
        + f"{command}\n"
    )


def kill_group_script(pgid: int, grace_s: float) -> str:
    """TERM a remote process group, KILL what is left after ``grace_s``."""
    if pgid <= 1:
        raise ValueError(f"not a process group to kill: {pgid}")
    steps = max(int(grace_s * 10), 1)
    return (
        f"kill -TERM -- -{pgid} 2>/dev/null || exit 0\n"
        f"i=0; while [ $i -lt {steps} ] && kill -0 -- -{pgid} 2>/dev/null; do "
        "sleep 0.1; i=$((i+1)); done\n"
        f"kill -KILL -- -{pgid} 2>/dev/null\n"
        "exit 0\n"
    )
