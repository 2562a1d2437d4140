"""Will the codex about to be launched have credentials? A pure rule, checked against codex 0.169.

What the real binary does (docs/codex.md, "Credentials"): with the built-in ``openai`` model
provider, ``codex app-server`` authenticates only with what ``codex login`` stored, by default
``$CODEX_HOME/auth.json`` (``CODEX_HOME`` defaults to ``~/.codex``). ``OPENAI_API_KEY`` and
``CODEX_API_KEY`` in its environment are ignored (``codex exec`` reads ``CODEX_API_KEY``, the
app-server does not). Without credentials codex still accepts the turn and then keeps retrying
unauthenticated requests, so the attempt burns time instead of failing.

The rule answers ``missing`` only when it is sure; whenever codex could get credentials from
somewhere Symphony cannot see (another model provider, a keyring, a wrapper script, a config file
that does not parse), it answers ``unknown`` and the launch goes ahead.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

OPENAI_PROVIDER = "openai"
AUTH_FILE = "auth.json"
CONFIG_FILE = "config.toml"
SYSTEM_CONFIG = Path("/etc/codex/config.toml")
IGNORED_KEY_ENV = ("OPENAI_API_KEY", "CODEX_API_KEY")
# An agent-identity token codex may accept; its validity cannot be judged here, so it counts.
ACCESS_TOKEN_ENV = "CODEX_ACCESS_TOKEN"  # noqa: S105 (a variable name)

Status = Literal["present", "missing", "unknown"]


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """The verdict; ``reason`` says why, for logs and ``symphony validate``."""

    status: Status
    reason: str
    codex_home: Path | None = None
    # An API key variable codex would ignore, named in the advice when it is set.
    ignored_key: str | None = None
    # False when the program is not on PATH: a login profile may add it, else codex_not_found.
    program_found: bool = True

    @property
    def missing(self) -> bool:
        return self.status == "missing"

    @property
    def message(self) -> str:
        """What the operator reads on the dashboard: the problem and what to do."""
        if not self.missing:
            return self.reason
        home = f"CODEX_HOME={self.codex_home}"
        if self.ignored_key:
            key = self.ignored_key
            return (
                f"Codex has no credentials: {key} is set, but `codex app-server` does not read "
                f"API keys from the environment; store it with `printenv {key} | codex login "
                f"--with-api-key` ({home}), as the user that runs symphony"
            )
        return (
            "Codex has no credentials: run `codex login`, or `printenv OPENAI_API_KEY | codex "
            f"login --with-api-key` ({home}), as the user that runs symphony"
        )


@dataclass(frozen=True, slots=True)
class Launch:
    """``codex.command`` seen the way bash would run it, when it is that simple."""

    program: str
    args: tuple[str, ...]
    env: dict[str, str]


def check_credentials(
    command: str,
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    system_config: Path | None = SYSTEM_CONFIG,
) -> CredentialCheck:
    """The verdict for launching ``command`` with environment ``env`` in ``cwd``.

    ``env`` is the environment codex gets (after the login profile, if known); variables the
    command assigns itself (``CODEX_HOME=/x codex app-server``) are applied on top.
    """
    launch = parse_launch(command, env)
    if launch is None:
        return CredentialCheck(
            "unknown", "codex.command is a shell script; its credentials cannot be inspected"
        )
    args = codex_args(launch)
    if args is None:
        return CredentialCheck(
            "unknown", f"codex.command runs {launch.program!r}, not codex; not inspected"
        )
    if not _resolvable(launch.program, launch.env, cwd):
        reason = f"{launch.program} is not on PATH; launching reports codex_not_found"
        return CredentialCheck("unknown", reason, program_found=False)
    home = codex_home(launch.env, cwd)
    if home is None:
        return CredentialCheck("unknown", "neither CODEX_HOME nor HOME is set")
    layers: list[tuple[str, dict[str, Any]]] = []
    for path in _config_paths(home, cwd, system_config):
        try:
            layers.append((str(path), _read_toml(path)))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            return CredentialCheck(
                "unknown", f"{path} cannot be read ({exc}); codex reports it", home
            )
    overrides = config_overrides(args)
    layers.append(("codex.command -c", overrides))
    skip = _elsewhere(layers, overrides)
    if skip is not None:
        return CredentialCheck("unknown", skip, home)
    if launch.env.get(ACCESS_TOKEN_ENV):
        return CredentialCheck("unknown", f"{ACCESS_TOKEN_ENV} is set; not inspected", home)
    auth = home / AUTH_FILE
    try:
        if auth.is_file():
            return CredentialCheck("present", f"{auth} exists", home)
    except OSError as exc:
        return CredentialCheck("unknown", f"{auth} cannot be checked ({exc})", home)
    ignored = next((name for name in IGNORED_KEY_ENV if launch.env.get(name)), None)
    return CredentialCheck(
        "missing", f"no {auth} and the model provider is openai", home, ignored_key=ignored
    )


def codex_home(env: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """``$CODEX_HOME``, else ``$HOME/.codex``, the way codex resolves it."""
    value = env.get("CODEX_HOME")
    if value:
        path = Path(value)
        return path if path.is_absolute() or cwd is None else cwd / path
    home = env.get("HOME")
    return Path(home) / ".codex" if home else None


def _resolvable(program: str, env: Mapping[str, str], cwd: Path | None) -> bool:
    if "/" in program:
        path = Path(program)
        if not path.is_absolute() and cwd is not None:
            path = cwd / path
        return os.access(path, os.X_OK) and path.is_file()
    return shutil.which(program, path=env.get("PATH", "")) is not None


def codex_args(launch: Launch) -> tuple[str, ...] | None:
    """codex's own arguments when the command starts codex (directly, via node or npx)."""
    name = Path(launch.program).name
    if name in ("codex", "codex.js"):
        return launch.args
    if name in ("node", "nodejs") and launch.args and Path(launch.args[0]).name == "codex.js":
        return launch.args[1:]
    if name in ("npx", "bunx"):
        for index, arg in enumerate(launch.args):
            if arg.startswith("@openai/codex"):
                return launch.args[index + 1 :]
            if not arg.startswith("-"):
                return None
    return None


# -- the command line ----------------------------------------------------------------------

_CONTROL = frozenset({";", "&", "&&", "|", "||", "|&", "(", ")", ";;"})
_SEPARATOR_CHARS = frozenset(";&|()\n")  # a run of them (``&\n``) separates commands too
_REDIRECT = re.compile(r"^[0-9]*(<|>|>>|<<|<<<|>&|<&|&>|&>>|>\|)$")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_PARAM = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def referenced_names(command: str) -> set[str]:
    """Environment variables ``command`` expands (they may come from a login profile)."""
    return {match[1] or match[4] for match in _PARAM.finditer(command)}


def parse_launch(command: str, env: Mapping[str, str]) -> Launch | None:
    """Program, arguments and environment of a simple command; None for anything else.

    Understood: ``NAME=value`` prefixes, ``exec``, ``env [-i] [-u NAME] [NAME=value]``,
    redirections, ``$NAME``/``${NAME}``/``${NAME:-default}`` expansion and a leading ``~``.
    Pipelines, lists, subshells and command substitution are scripts: None.
    """
    words = _words(command, env)
    if words is None or any(word in _CONTROL for word in words):
        return None
    return _simple_command(words, env)


def parse_launches(command: str, env: Mapping[str, str]) -> list[Launch] | None:
    """The simple commands of a list or pipeline (``a & b``, ``a && b``, one per line), in order.

    Each is read like ``parse_launch`` reads a whole command, with the environment as it was
    before the script ran (what earlier commands set is not modelled); those it cannot read are
    left out. None when the command cannot be tokenized (command substitution, ``${x#y}``...).
    """
    words = _words(command, env, newline_separates=True)
    if words is None:
        return None
    launches: list[Launch] = []
    segment: list[str] = []
    for word in [*words, ";"]:
        if word in _CONTROL or (word and set(word) <= _SEPARATOR_CHARS):
            launch = _simple_command(segment, env)
            if launch is not None:
                launches.append(launch)
            segment = []
        else:
            segment.append(word)
    return launches


def _words(
    command: str, env: Mapping[str, str], *, newline_separates: bool = False
) -> list[str] | None:
    expanded = _expand(command, env)
    if expanded is None:
        return None
    try:
        if newline_separates:
            lexer = shlex.shlex(
                expanded.replace("\\\n", ""), posix=True, punctuation_chars="();<>|&\n"
            )
            lexer.whitespace = " \t\r"
        else:
            lexer = shlex.shlex(expanded, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        return list(lexer)
    except ValueError:
        return None


def _simple_command(words: list[str], env: Mapping[str, str]) -> Launch | None:
    child = dict(env)
    argv: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif _REDIRECT.match(word):
            skip_next = True
        else:
            argv.append(word)
    while argv:
        assignment = _ASSIGNMENT.match(argv[0])
        if assignment is not None:
            child[assignment[1]] = _tilde(assignment[2], env)
            argv.pop(0)
        elif argv[0] == "exec":
            argv.pop(0)
        elif argv[0] == "env":
            argv.pop(0)
            if not _apply_env_options(argv, child, env):
                return None
        else:
            break
    if not argv:
        return None
    return Launch(_tilde(argv[0], env), tuple(argv[1:]), child)


def config_overrides(args: Iterable[str]) -> dict[str, Any]:
    """``-c key=value`` / ``--config key=value`` as a nested table (values parsed as TOML)."""
    table: dict[str, Any] = {}
    items = list(args)
    for index, arg in enumerate(items):
        if arg in ("-c", "--config"):
            text = items[index + 1] if index + 1 < len(items) else ""
        elif arg.startswith("--config="):
            text = arg.removeprefix("--config=")
        elif arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            text = arg[2:]
        else:
            continue
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            continue
        parts = [part.strip().strip("\"'") for part in key.split(".")]
        node = table
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = _toml_value(raw)
    return table


def _toml_value(raw: str) -> Any:
    # codex: "The value portion is parsed as TOML. If it fails to parse, the raw string is used."
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env_options(argv: list[str], child: dict[str, str], shell: Mapping[str, str]) -> bool:
    while argv:
        word = argv[0]
        if word in ("-i", "--ignore-environment", "-"):
            child.clear()
        elif word in ("-u", "--unset") and len(argv) > 1:
            argv.pop(0)
            child.pop(argv[0], None)
        elif word.startswith("--unset="):
            child.pop(word.removeprefix("--unset="), None)
        elif word.startswith("-"):
            return False  # -C, -S, --chdir...: not worth modelling
        else:
            assignment = _ASSIGNMENT.match(word)
            if assignment is None:
                return True
            child[assignment[1]] = _tilde(assignment[2], shell)
        argv.pop(0)
    return True


def _expand(command: str, env: Mapping[str, str]) -> str | None:
    """Parameter expansion outside single quotes; None for ``$(...)``, backticks, ``${x#y}``..."""
    out: list[str] = []
    index = 0
    single = double = False
    while index < len(command):
        char = command[index]
        if single:
            single = char != "'"
        elif char == "\\" and index + 1 < len(command):
            out.append(command[index : index + 2])
            index += 2
            continue
        elif char == "'" and not double:
            single = True
        elif char == '"':
            double = not double
        elif char == "`":
            return None
        elif char == "$":
            match = _PARAM.match(command, index)
            if match is None:
                return None
            name = match[1] or match[4]
            value = env.get(name)
            if (match[2] == ":-" and not value) or (match[2] == "-" and value is None):
                value = _expand(match[3], env)
                if value is None:
                    return None
            value = value or ""
            out.append(_quote_in_double(value) if double else value)
            index = match.end()
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _quote_in_double(value: str) -> str:
    # shlex (POSIX) honours a backslash inside double quotes only before a quote or another.
    return re.sub(r'(["\\\\])', r"\\\1", value)


def _tilde(word: str, shell: Mapping[str, str]) -> str:
    # The shell expands ``~`` with its own HOME, before ``env -i`` or an assignment applies.
    home = shell.get("HOME")
    if home and (word == "~" or word.startswith("~/")):
        return home + word[1:]
    return word


# -- codex's configuration -------------------------------------------------------------------


def _config_paths(home: Path, cwd: Path | None, system: Path | None) -> list[Path]:
    """System, user, then project layers (``.codex/config.toml`` from the outermost dir in)."""
    paths = [system] if system is not None else []
    paths.append(home / CONFIG_FILE)
    if cwd is not None:
        project = [d / ".codex" / CONFIG_FILE for d in (cwd, *cwd.parents)]
        paths.extend(p for p in reversed(project) if p != home / CONFIG_FILE)
    return paths


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except NotADirectoryError:
        return {}
    return tomllib.loads(text)


def _elsewhere(layers: list[tuple[str, dict[str, Any]]], cli: dict[str, Any]) -> str | None:
    """Why codex might authenticate in a way this rule cannot see, or None.

    Deliberately generous: every layer counts (codex ignores an untrusted project's layer, and
    a profile may be selected elsewhere), so a doubt never turns into a false "missing".
    """
    profile = _last(layers, "profile")
    named: list[tuple[str, Any]] = []
    if "model_provider" in cli:  # the command line wins over every file
        named.append(("codex.command", cli["model_provider"]))
    else:
        for where, layer in layers:
            for table in (layer, _profile(layer, profile)):
                if "model_provider" in table:
                    named.append((where, table["model_provider"]))
    for where, provider in named:
        if provider != OPENAI_PROVIDER:
            return f"model_provider {provider!r} is configured ({where}); not inspected"
    for where, layer in layers:
        for table in (layer, _profile(layer, profile)):
            if table.get("openai_base_url") is not None:
                return f"openai_base_url is configured ({where}); that server may need no key"
            store = table.get("cli_auth_credentials_store")
            if store is not None and store != "file":
                return f"cli_auth_credentials_store = {store!r} ({where}); not inspected"
    return None


def _last(layers: list[tuple[str, dict[str, Any]]], key: str) -> Any:
    found = None
    for _, layer in layers:
        if key in layer:
            found = layer[key]
    return found


def _profile(layer: Mapping[str, Any], name: Any) -> Mapping[str, Any]:
    profiles = layer.get("profiles")
    if isinstance(name, str) and isinstance(profiles, Mapping):
        selected = profiles.get(name)
        if isinstance(selected, Mapping):
            return selected
    return {}
