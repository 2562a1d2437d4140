"""Finding the native codex behind codex.command and putting it on PATH as codex-linux-sandbox.

The npm layouts are fakes in tmp_path: ``codex.js`` is a text file and the "native binary" is a
small file starting with the ELF magic, which is all the locator looks at.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from symphony.agents.codex import linux_sandbox
from symphony.agents.codex.credentials import parse_launches
from symphony.agents.codex.linux_sandbox import (
    HELPER,
    NativeCodex,
    SandboxSetup,
    helper_dir,
    helper_root,
    inspect_sandbox,
    launch_prefix,
    native_codex,
    path_prefix,
)
from symphony.process import login_shell_argv
from symphony.validate import validate_command
from tests.support.memory_tracker import MemoryProfile

X64 = "x86_64-unknown-linux-musl"
ARM64 = "aarch64-unknown-linux-musl"
COMMAND = "codex app-server"
BASH = shutil.which("bash") or "/bin/bash"


def write(path: Path, data: bytes | str, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(mode)
    return path


def native(path: Path) -> Path:
    return write(path, b"\x7fELF\x02\x01\x01fake native codex")


def link(path: Path, target: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def platform_binary(node_modules: Path, arch: str = "x64", triple: str = X64) -> Path:
    return native(
        node_modules / "@openai" / f"codex-linux-{arch}" / "vendor" / triple / "bin/codex"
    )


def npm_package(node_modules: Path) -> Path:
    """``@openai/codex`` with its wrapper and the ``.bin/codex`` symlink npm makes."""
    package = node_modules / "@openai" / "codex"
    write(package / "bin" / "codex.js", "#!/usr/bin/env node\n// wrapper\n")
    link(node_modules / ".bin" / "codex", "../@openai/codex/bin/codex.js")
    return package


@pytest.fixture
def hoisted(tmp_path: Path) -> tuple[Path, Path]:
    """``npm install --prefix P @openai/codex``: the platform package next to @openai/codex."""
    node_modules = tmp_path / "prefix" / "node_modules"
    npm_package(node_modules)
    return node_modules / ".bin" / "codex", platform_binary(node_modules)


def env_with(*directories: Path) -> dict[str, str]:
    return {"PATH": ":".join([*map(str, directories), "/usr/bin", "/bin"])}


def find(command: str, env: dict[str, str], cwd: Path, machine: str = "x86_64") -> NativeCodex:
    return native_codex(command, env, cwd=cwd, machine=machine)


# -- locating the native binary ----------------------------------------------------------------


def test_npm_wrapper_on_path_leads_to_the_hoisted_platform_package(
    hoisted: tuple[Path, Path], tmp_path: Path
) -> None:
    wrapper, binary = hoisted
    found = find(COMMAND, env_with(wrapper.parent), tmp_path)
    assert found.path == binary.resolve()
    assert str(wrapper) in found.reason
    # The same through an absolute path, a NAME=value prefix, exec and a relative path.
    for command in (
        f"{wrapper} app-server",
        f"CODEX_HOME=/x exec {wrapper} app-server --flag",
        "prefix/node_modules/.bin/codex app-server",
        f"node {wrapper.parent.parent / '@openai/codex/bin/codex.js'} app-server",
    ):
        assert find(command, env_with(), tmp_path).path == binary.resolve(), command


def test_global_install_finds_the_nested_platform_package(tmp_path: Path) -> None:
    # npm -g: /usr/local/bin/codex -> ../lib/node_modules/@openai/codex/bin/codex.js, with the
    # platform package inside @openai/codex/node_modules.
    prefix = tmp_path / "usr-local"
    package = npm_package(prefix / "lib" / "node_modules")
    binary = platform_binary(package / "node_modules")
    link(prefix / "bin" / "codex", "../lib/node_modules/@openai/codex/bin/codex.js")
    assert find(COMMAND, env_with(prefix / "bin"), tmp_path).path == binary.resolve()


def test_nested_package_wins_over_a_hoisted_one_like_node_resolves_it(tmp_path: Path) -> None:
    node_modules = tmp_path / "node_modules"
    package = npm_package(node_modules)
    platform_binary(node_modules)
    nested = platform_binary(package / "node_modules")
    assert find(COMMAND, env_with(node_modules / ".bin"), tmp_path).path == nested.resolve()


def test_platform_package_further_up_the_tree_is_found(tmp_path: Path) -> None:
    # A workspace monorepo: the wrapper lives in a package's node_modules, its platform
    # package was hoisted to the root's.
    inner = tmp_path / "repo" / "packages" / "tool" / "node_modules"
    npm_package(inner)
    binary = platform_binary(tmp_path / "repo" / "node_modules")
    assert find(COMMAND, env_with(inner / ".bin"), tmp_path).path == binary.resolve()


def test_vendor_directory_inside_the_main_package_is_the_fallback(tmp_path: Path) -> None:
    node_modules = tmp_path / "node_modules"
    package = npm_package(node_modules)
    binary = native(package / "vendor" / X64 / "bin" / "codex")
    assert find(COMMAND, env_with(node_modules / ".bin"), tmp_path).path == binary.resolve()


def test_the_machine_picks_the_platform_package(tmp_path: Path) -> None:
    node_modules = tmp_path / "node_modules"
    npm_package(node_modules)
    platform_binary(node_modules)
    arm = platform_binary(node_modules, "arm64", ARM64)
    env = env_with(node_modules / ".bin")
    assert find(COMMAND, env, tmp_path, machine="aarch64").path == arm.resolve()
    unknown = find(COMMAND, env, tmp_path, machine="riscv64")
    assert unknown.path is None and "no native codex binary" in unknown.reason


def test_a_package_manager_shim_next_to_the_package_is_followed(tmp_path: Path) -> None:
    # pnpm writes node_modules/.bin/codex as a shell script, not a symlink.
    node_modules = tmp_path / "node_modules"
    package = node_modules / "@openai" / "codex"
    write(package / "bin" / "codex.js", "// wrapper\n")
    binary = platform_binary(node_modules)
    write(node_modules / ".bin" / "codex", '#!/bin/sh\nexec node "$basedir/../x/codex.js" "$@"\n')
    assert find(COMMAND, env_with(node_modules / ".bin"), tmp_path).path == binary.resolve()


def test_a_command_that_is_the_native_binary_is_used_as_is(tmp_path: Path) -> None:
    binary = native(tmp_path / "opt" / "codex")
    linked = link(tmp_path / "bin" / "codex", str(binary))
    assert find(f"{binary} app-server", env_with(), tmp_path).path == binary
    assert find(COMMAND, env_with(linked.parent), tmp_path).path == binary.resolve()


def test_lists_and_pipelines_are_looked_through(hoisted: tuple[Path, Path], tmp_path: Path) -> None:
    wrapper, binary = hoisted
    for command in (
        f"sleep 9 >/dev/null 2>&1 </dev/null & exec {wrapper} app-server",
        f"cd /srv && {wrapper} app-server 2>>/tmp/codex.log",
        f"export X=1\n{wrapper} app-server",
        f"{wrapper} app-server | tee /tmp/log",
    ):
        assert find(command, env_with(), tmp_path).path == binary.resolve(), command


def test_two_different_codex_binaries_in_one_command_are_not_guessed(tmp_path: Path) -> None:
    first = native(tmp_path / "a" / "codex")
    second = native(tmp_path / "b" / "codex")
    found = find(f"{first} --version && {second} app-server", env_with(), tmp_path)
    assert found.path is None and "more than one codex" in found.reason


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("my-agent app-server", "not codex"),
        ("npx -y @openai/codex app-server", "through npx"),
        ("$(which codex) app-server", "cannot see through"),
        ("codex app-server", "codex was not found on PATH"),
        ("/nowhere/codex app-server", "/nowhere/codex was not found"),
    ],
)
def test_commands_without_a_findable_native_binary(
    command: str, reason: str, tmp_path: Path
) -> None:
    found = find(command, env_with(tmp_path / "empty"), tmp_path)
    assert found.path is None and reason in found.reason


def test_a_wrapper_script_named_codex_has_no_native_binary(tmp_path: Path) -> None:
    script = write(tmp_path / "bin" / "codex", '#!/bin/sh\nexec /opt/codex "$@"\n')
    found = find(f"{script} app-server", env_with(), tmp_path)
    assert found.path is None and f"no native codex binary was found for {script}" in found.reason


def test_npm_package_without_its_platform_package(tmp_path: Path) -> None:
    node_modules = tmp_path / "node_modules"
    npm_package(node_modules)
    found = find(COMMAND, env_with(node_modules / ".bin"), tmp_path)
    assert found.path is None and "no native codex binary" in found.reason


def test_parse_launches_splits_lists_and_lines() -> None:
    launches = parse_launches("a 1 && b 2 | c; d &\ne 'x;y' \"p q\"", {})
    assert launches is not None
    assert [(launch.program, launch.args) for launch in launches] == [
        ("a", ("1",)),
        ("b", ("2",)),
        ("c", ()),
        ("d", ()),
        ("e", ("x;y", "p q")),
    ]
    assert parse_launches("`which codex` app-server", {}) is None


# -- the private directory and the PATH entry --------------------------------------------------


def test_helper_dir_holds_one_link_to_the_native_binary(tmp_path: Path) -> None:
    binary = native(tmp_path / "a" / "codex")
    root = tmp_path / "cache"
    directory = helper_dir(binary, root=root)
    assert directory.parent == root
    assert [p.name for p in directory.iterdir()] == [HELPER]
    assert (directory / HELPER).readlink() == binary
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    assert helper_dir(binary, root=root) == directory  # reused
    other = native(tmp_path / "b" / "codex")
    assert helper_dir(other, root=root) != directory


def test_helper_dir_repairs_a_link_that_points_elsewhere(tmp_path: Path) -> None:
    binary = native(tmp_path / "a" / "codex")
    directory = helper_dir(binary, root=tmp_path / "cache")
    (directory / HELPER).unlink()
    (directory / HELPER).symlink_to("/bin/false")
    assert helper_dir(binary, root=tmp_path / "cache") == directory
    assert (directory / HELPER).readlink() == binary
    assert [p.name for p in directory.iterdir()] == [HELPER]


def test_helper_root_is_in_the_user_cache(tmp_path: Path) -> None:
    home = str(tmp_path)
    expected = tmp_path / ".cache" / "symphony" / HELPER
    assert helper_root({"HOME": home}) == expected
    assert helper_root({"HOME": home, "XDG_CACHE_HOME": "relative"}) == expected
    assert helper_root({"HOME": home, "XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/symphony", HELPER)


def run_shell(script: str, path: str) -> str:
    """PATH as the command after ``script`` sees it, in ``bash -c`` (no login profile)."""
    argv = [BASH, "-c", script + 'printf %s "$PATH"']
    result = subprocess.run(argv, env={"PATH": path}, capture_output=True, text=True, check=True)
    return result.stdout


def test_path_prefix_puts_the_directory_first_and_survives_odd_names(tmp_path: Path) -> None:
    directory = tmp_path / "it's a $dir"
    directory.mkdir()
    assert run_shell(path_prefix(directory), "/usr/bin:/bin") == f"{directory}:/usr/bin:/bin"
    assert run_shell(path_prefix(directory), "") == str(directory)  # no empty entry (= cwd)


def test_path_prefix_leaves_an_existing_helper_alone(tmp_path: Path) -> None:
    existing = write(tmp_path / "usr" / HELPER, "#!/bin/sh\n").parent
    path = f"{existing}:/usr/bin:/bin"
    assert run_shell(path_prefix(tmp_path / "mine"), path) == path


def test_the_prefix_runs_after_the_login_profile(tmp_path: Path) -> None:
    # Debian's /etc/profile resets PATH; a profile may too. The prefix must come after both.
    home = tmp_path / "home"
    write(home / ".bash_profile", "export PATH=/usr/bin:/bin\n", 0o644)
    directory = tmp_path / "helper"
    argv = login_shell_argv(path_prefix(directory) + 'printf %s "$PATH"', ["SECRET"])
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    assert out == f"{directory}:/usr/bin:/bin"


# -- the launch and the validate check ---------------------------------------------------------


@pytest.fixture
def fake_bwrap(tmp_path: Path) -> Path:
    return write(tmp_path / "sysbin" / "bwrap", "#!/bin/sh\nexit 1\n").parent


async def test_launch_prefix_links_the_binary_and_prepends_its_directory(
    hoisted: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linux_sandbox, "applies", lambda: True)
    monkeypatch.setattr(linux_sandbox.platform, "machine", lambda: "x86_64")
    wrapper, binary = hoisted
    root = tmp_path / "cache"
    prefix = await launch_prefix(
        f"{wrapper} app-server", env=env_with(), cwd=tmp_path, strip_env=frozenset(), root=root
    )
    (directory,) = root.iterdir()
    assert (directory / HELPER).resolve() == binary.resolve()
    assert prefix == path_prefix(directory)


async def test_launch_prefix_is_empty_off_linux(
    hoisted: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(linux_sandbox, "applies", lambda: False)
    wrapper, _ = hoisted
    root = tmp_path / "cache"
    prefix = await launch_prefix(
        f"{wrapper} app-server", env=env_with(), cwd=tmp_path, strip_env=frozenset(), root=root
    )
    assert prefix == "" and not root.exists()


async def test_launch_without_a_native_binary_warns_once_and_changes_nothing(
    fake_bwrap: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(linux_sandbox, "applies", lambda: True)
    monkeypatch.setattr(linux_sandbox, "_warned", set())
    script = write(tmp_path / "wrapper" / "codex", '#!/bin/sh\nexec codex "$@"\n')
    command = f"{script} app-server"
    caplog.set_level(logging.WARNING, logger="symphony.agents.codex")
    for _ in range(2):
        prefix = await launch_prefix(
            command, env=env_with(fake_bwrap), cwd=tmp_path, strip_env=frozenset()
        )
        assert prefix == ""
    (record,) = caplog.records
    assert "every command the agent runs will fail" in record.getMessage()
    assert repr(command) in record.getMessage()


async def test_inspect_sandbox_sees_the_login_profile_path(
    hoisted: tuple[Path, Path], fake_bwrap: Path, tmp_path: Path
) -> None:
    wrapper, binary = hoisted
    home = tmp_path / "home"
    write(home / ".bash_profile", f"export PATH={wrapper.parent}:{fake_bwrap}:$PATH\n", 0o644)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    setup = await inspect_sandbox(COMMAND, env=env, cwd=tmp_path, machine="x86_64")
    assert setup.native.path == binary.resolve()
    assert setup.bwrap == str(fake_bwrap / "bwrap")
    assert not setup.broken


def test_broken_only_with_a_bwrap_and_neither_helper_nor_binary(tmp_path: Path) -> None:
    missing = NativeCodex(None, "codex is not on PATH")
    found = NativeCodex(tmp_path / "codex", "found")
    assert SandboxSetup(missing, "/usr/bin/bwrap", None).broken
    assert not SandboxSetup(missing, None, None).broken
    assert not SandboxSetup(missing, "/usr/bin/bwrap", f"/usr/bin/{HELPER}").broken
    assert not SandboxSetup(found, "/usr/bin/bwrap", None).broken
    warning = SandboxSetup(missing, "/usr/bin/bwrap", None).warning("my-codex app-server")
    for fragment in (
        "/usr/bin/bwrap",
        "codex.command 'my-codex app-server'",
        "codex is not on PATH",
        "every command the agent runs will fail",
        f"execvp {HELPER}",
        "node_modules/.bin/codex app-server",
        "uninstall bubblewrap",
    ):
        assert fragment in warning


# -- symphony validate -------------------------------------------------------------------------

WORKFLOW = """
tracker:
  kind: memory
workspace:
  root: ws
codex:
  command: {command}
"""


@pytest.fixture
def validate(
    memory_tracker: MemoryProfile,
    write_workflow: Callable[..., Path],
    fake_bwrap: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., str]:
    """``symphony validate`` output, with a ``bwrap`` on the login shell's PATH."""
    monkeypatch.setattr(linux_sandbox, "applies", lambda: True)
    # Symphony's HOME (a clean temp dir in tests): the profile bash -lc reads after /etc/profile.
    profile = Path(os.environ["HOME"]) / ".bash_profile"
    write(profile, f"export PATH={fake_bwrap}:$PATH\n", 0o644)

    def run(command: str, extra: str = "") -> str:
        path = write_workflow(WORKFLOW.format(command=json.dumps(command)) + extra)
        out, err = io.StringIO(), io.StringIO()
        assert validate_command(str(path), out=out, err=err) == 0, err.getvalue()
        return out.getvalue()

    return run


def sandbox_warnings(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  - codex sandbox:")]


def test_validate_warns_when_a_system_bwrap_has_no_helper(
    validate: Callable[..., str], fake_bwrap: Path, tmp_path: Path
) -> None:
    wrapper = write(tmp_path / "wrapper" / "codex", '#!/bin/sh\nexec codex "$@"\n')
    command = f"{wrapper} app-server"
    (warning,) = sandbox_warnings(validate(command))
    assert f"system bwrap is on codex's PATH ({fake_bwrap / 'bwrap'})" in warning
    assert f"codex.command {command!r}" in warning
    assert f"no native codex binary was found for {wrapper}" in warning
    assert "every command the agent runs will fail" in warning
    assert f"`bwrap: execvp {HELPER}: No such file or directory`" in warning
    assert "Fix: point codex.command at the npm codex" in warning


def test_validate_is_quiet_when_the_native_binary_is_found(
    validate: Callable[..., str], tmp_path: Path
) -> None:
    node_modules = tmp_path / "node_modules"
    npm_package(node_modules)
    arch, triple = linux_sandbox._TARGETS[platform.machine().lower()]
    platform_binary(node_modules, arch, triple)
    assert sandbox_warnings(validate(f"{node_modules / '.bin' / 'codex'} app-server")) == []


def test_validate_is_quiet_without_a_sandbox_or_off_linux(
    validate: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrapper = write(tmp_path / "wrapper" / "codex", '#!/bin/sh\nexec codex "$@"\n')
    command = f"{wrapper} app-server"
    assert sandbox_warnings(validate(command))  # the premise
    full_access = "  turn_sandbox_policy:\n    type: dangerFullAccess\n"
    assert sandbox_warnings(validate(command, full_access)) == []
    monkeypatch.setattr(linux_sandbox, "applies", lambda: False)
    assert sandbox_warnings(validate(command)) == []


def test_validate_leaves_a_missing_codex_to_its_own_error(validate: Callable[..., str]) -> None:
    # codex will not start at all (codex_not_found): "every command fails" would mislead.
    assert sandbox_warnings(validate("codex app-server")) == []
