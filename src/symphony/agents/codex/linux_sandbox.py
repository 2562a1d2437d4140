"""``codex-linux-sandbox`` on codex's PATH, so codex's sandbox works when a system bwrap exists.

What codex 0.169 does on Linux (checked against the real binary; docs/codex.md): without ``bwrap``
on PATH it uses the bubblewrap it bundles and every sandboxed command works. With a system ``bwrap``
on PATH (Debian's ``bubblewrap``, pulled in by Flatpak on most desktops) it runs that one, which
then executes ``codex-linux-sandbox`` *by name*. The npm package puts no such program on PATH, so
every command the agent runs fails (``bwrap: execvp codex-linux-sandbox: No such file or
directory``) while the turn still "completes".

The helper is the native codex binary under that name (it looks at ``argv[0]``). So before a
launch Symphony finds the native binary behind ``codex.command``:

* the npm wrapper ``node_modules/.bin/codex`` -> ``@openai/codex/bin/codex.js``, whose platform
  package ``@openai/codex-linux-<arch>/vendor/<triple>/bin/codex`` is found the way node's
  ``require.resolve`` finds it (nested ``@openai/codex/node_modules/...`` or hoisted next to it),
  else the package's own ``vendor/`` directory;
* ``node …/codex.js`` and a package manager's ``.bin/codex`` shim next to ``@openai/codex``;
* a command that already is the native binary (an ELF file).

It then links it as ``codex-linux-sandbox`` in a private directory (``helper_root()``, outside
``/tmp`` because the default sandbox lets the agent write there) and the launch script prepends
that directory to PATH *inside* the login shell, after the profile ran (Debian's
``/etc/profile`` resets PATH), unless a ``codex-linux-sandbox`` is already on that PATH. Only on
Linux. A command Symphony cannot see through (a wrapper script, ``npx``) is launched unchanged;
``symphony validate`` warns when that leaves a system bwrap without its helper.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from symphony.agents.codex.credentials import (
    Launch,
    codex_args,
    parse_launches,
)
from symphony.agents.codex.preflight import login_shell_values, profile_names
from symphony.logs import get_logger
from symphony.process import child_environment

log = get_logger("symphony.agents.codex")

HELPER = "codex-linux-sandbox"
BWRAP = "bwrap"
PROBE_TIMEOUT_S = 10.0
# platform.machine() -> (npm arch suffix, Rust target triple), as in @openai/codex/bin/codex.js.
_TARGETS = {
    "x86_64": ("x64", "x86_64-unknown-linux-musl"),
    "amd64": ("x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("arm64", "aarch64-unknown-linux-musl"),
    "arm64": ("arm64", "aarch64-unknown-linux-musl"),
}
_ELF = b"\x7fELF"
_PACKAGE = Path("@openai") / "codex"


def applies() -> bool:
    """Only Linux codex uses bubblewrap."""
    return sys.platform.startswith("linux")


@dataclass(frozen=True, slots=True)
class NativeCodex:
    """The native codex binary behind ``codex.command``, or ``None`` and why not."""

    path: Path | None
    reason: str
    # The command's program itself is not there: codex will not start at all (codex_not_found),
    # so a sandbox warning would only add noise.
    missing: bool = False


def native_codex(
    command: str, env: Mapping[str, str], *, cwd: Path, machine: str | None = None
) -> NativeCodex:
    """The native binary ``bash -c command`` would end up running, given ``env`` (its PATH).

    A list or pipeline (``cd x && codex app-server``, ``helper & exec codex app-server``) is
    looked through when exactly one native binary is behind the codex commands in it.
    """
    launches = parse_launches(command, env)
    if not launches:
        return NativeCodex(None, "codex.command is a shell script Symphony cannot see through")
    runs_codex = [launch for launch in launches if codex_args(launch) is not None]
    if not runs_codex:
        programs = ", ".join(repr(launch.program) for launch in launches)
        return NativeCodex(None, f"codex.command runs {programs}, not codex")
    found = [_native_for_launch(launch, cwd=cwd, machine=machine) for launch in runs_codex]
    natives = {native.path for native in found if native.path is not None}
    if len(natives) > 1:
        names = ", ".join(sorted(map(str, natives)))
        return NativeCodex(None, f"codex.command runs more than one codex ({names})")
    if natives:
        return next(native for native in found if native.path is not None)
    return found[0]


def _native_for_launch(launch: Launch, *, cwd: Path, machine: str | None) -> NativeCodex:
    name = Path(launch.program).name
    if name in ("npx", "bunx"):
        return NativeCodex(None, f"codex.command runs codex through {name}")
    if name in ("node", "nodejs"):
        script = Path(launch.args[0])
        program: Path | None = script if script.is_absolute() else cwd / script
    else:
        program = _which(launch.program, launch.env.get("PATH", ""), cwd)
    if program is None or not program.is_file():
        where = "" if "/" in launch.program else " on PATH"
        return NativeCodex(None, f"{launch.program} was not found{where}", missing=True)
    found = native_for_program(program, machine=machine)
    if found is None:
        return NativeCodex(None, f"no native codex binary was found for {program}")
    return NativeCodex(found, f"{program} runs {found}")


def native_for_program(program: Path, *, machine: str | None = None) -> Path | None:
    """The native binary for a codex program file: itself, or the one its npm package runs."""
    try:
        real = program.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if _is_elf(real):
        return real
    package: Path | None = None
    if real.name == "codex.js" and real.parent.name == "bin":
        package = real.parent.parent
    elif program.parent.name == ".bin" and (program.parent.parent / _PACKAGE).is_dir():
        package = program.parent.parent / _PACKAGE  # a pnpm/yarn shell shim, not a symlink
    if package is None:
        return None
    return vendor_binary(package, machine=machine)


def vendor_binary(package: Path, *, machine: str | None = None) -> Path | None:
    """``@openai/codex-linux-<arch>/vendor/<triple>/bin/codex`` as node would resolve it from
    ``package`` (the ``@openai/codex`` directory), else ``package/vendor/<triple>/bin/codex``."""
    target = _TARGETS.get((machine or platform.machine()).lower())
    if target is None:
        return None
    arch, triple = target
    try:
        package = package.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    tail = Path("vendor") / triple / "bin" / "codex"
    start = package / "bin"
    candidates = [
        directory / "node_modules" / "@openai" / f"codex-linux-{arch}" / tail
        for directory in (start, *start.parents)
        if directory.name != "node_modules"
    ]
    candidates.append(package / tail)
    for candidate in candidates:
        if _executable(candidate):
            return candidate.resolve()
    return None


def helper_root(env: Mapping[str, str] | None = None) -> Path:
    """Where the helper links live: ``${XDG_CACHE_HOME:-~/.cache}/symphony/codex-linux-sandbox``."""
    env = os.environ if env is None else env
    cache = Path(env.get("XDG_CACHE_HOME") or ".")
    base = cache if cache.is_absolute() else Path(env.get("HOME") or Path.home()) / ".cache"
    return base / "symphony" / HELPER


def helper_dir(native: Path, *, root: Path | None = None) -> Path:
    """A directory whose only entry is ``codex-linux-sandbox`` -> ``native``; raises OSError.

    One directory per native binary (named by a hash of its path), created on first use and
    reused after; a link that points elsewhere is replaced atomically.
    """
    root = helper_root() if root is None else root
    directory = root / hashlib.sha256(os.fsencode(native)).hexdigest()[:16]
    link = directory / HELPER
    try:
        if link.readlink() == native:
            return directory
    except OSError:
        pass
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = directory / f".{HELPER}.{os.getpid()}.{secrets.token_hex(4)}"
    temporary.symlink_to(native)
    try:
        temporary.replace(link)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return directory


def path_prefix(directory: Path) -> str:
    """Shell lines (run after the login profile) putting ``directory`` first on PATH, unless a
    ``codex-linux-sandbox`` is already on it."""
    quoted = shlex.quote(os.fspath(directory))
    return f'command -v {HELPER} >/dev/null 2>&1 || export PATH={quoted}"${{PATH:+:$PATH}}"\n'


@dataclass(frozen=True, slots=True)
class SandboxSetup:
    """What codex's sandbox will find on the PATH codex gets, and the native binary, if any."""

    native: NativeCodex
    bwrap: str | None
    helper_on_path: str | None

    @property
    def broken(self) -> bool:
        """A system bwrap will look for ``codex-linux-sandbox`` and Symphony cannot provide it."""
        return self.bwrap is not None and self.helper_on_path is None and self.native.path is None

    def warning(self, command: str) -> str:
        """For ``symphony validate`` and the launch log: what breaks and how to fix it."""
        return (
            f"codex sandbox: a system bwrap is on codex's PATH ({self.bwrap}), which runs "
            f"{HELPER} by name, and Symphony cannot find the native codex binary for "
            f"codex.command {command!r} ({self.native.reason}) to provide it: every command the "
            f"agent runs will fail (`bwrap: execvp {HELPER}: No such file or directory`) while "
            "turns still complete. Fix: point codex.command at the npm codex "
            "(`…/node_modules/.bin/codex app-server`) or the native codex binary, put a "
            f"{HELPER} symlink to the native binary on PATH, or uninstall bubblewrap "
            "(docs/troubleshooting.md)"
        )


async def inspect_sandbox(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str] = frozenset(),
    probe_login_shell: bool | None = None,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
    machine: str | None = None,
) -> SandboxSetup:
    """The sandbox setup for ``command`` launched like ``launch()`` does.

    PATH is the one ``bash -lc`` ends up with (its login profile may change it). That costs one
    login shell, so by default it is asked only when the command runs codex by a bare name
    (``codex app-server``); ``probe_login_shell=True`` always asks (``symphony validate``).
    """
    child = child_environment(strip_env, base=env)
    if probe_login_shell is None:
        launches = parse_launches(command, child) or []
        probe_login_shell = any(
            "/" not in launch.program for launch in launches if codex_args(launch) is not None
        )
    if probe_login_shell:
        names = profile_names(command, strip_env)  # the credentials check's question: one probe
        profiled = await login_shell_values(
            names, env=child, cwd=cwd, strip_env=strip_env, timeout_s=probe_timeout_s
        )
        if profiled is not None:
            child = {k: v for k, v in child.items() if k not in names} | profiled
    path = child.get("PATH", "")
    return SandboxSetup(
        native=native_codex(command, child, cwd=cwd, machine=machine),
        bwrap=shutil.which(BWRAP, path=path),
        helper_on_path=shutil.which(HELPER, path=path),
    )


_warned: set[str] = set()


async def launch_prefix(
    command: str,
    *,
    env: Mapping[str, str],
    cwd: Path,
    strip_env: frozenset[str],
    root: Path | None = None,
) -> str:
    """The shell lines to put before ``command`` so codex finds its sandbox helper ("" if none).

    Never fails the launch: anything that goes wrong is logged and the command runs unchanged.
    """
    if not applies():
        return ""
    setup = await inspect_sandbox(command, env=env, cwd=cwd, strip_env=strip_env)
    native = setup.native.path
    if native is None:
        if setup.broken and command not in _warned:
            _warned.add(command)
            log.warning("codex sandbox helper unavailable: %s", setup.warning(command))
        return ""
    try:
        directory = helper_dir(native, root=root)
    except (OSError, RuntimeError) as exc:  # RuntimeError: no home directory to cache in
        log.warning("could not link %s -> %s: %s", HELPER, native, exc)
        return ""
    if ":" in os.fspath(directory):
        log.warning("cannot put %s on PATH: its directory %s contains ':'", HELPER, directory)
        return ""
    log.debug("codex sandbox helper %s -> %s (bwrap: %s)", directory / HELPER, native, setup.bwrap)
    return path_prefix(directory)


def _which(program: str, path: str, cwd: Path) -> Path | None:
    if "/" in program:
        candidate = Path(program)
        return candidate if candidate.is_absolute() else cwd / candidate
    found = shutil.which(program, path=path)
    return Path(found) if found else None


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == _ELF
    except OSError:
        return False


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
