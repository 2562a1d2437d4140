"""Plugins found through Python entry points: one registry of implementations per ``kind``.

A package adds an implementation by declaring an entry point in its own metadata, e.g. ::

    [project.entry-points."symphony.trackers"]
    github = "symphony_github:PROFILE"

The entry-point name is the ``kind`` users write in WORKFLOW.md. Listing kinds reads package
metadata only; an implementation is imported the first time its kind is asked for, so a broken or
heavy plugin never affects the others. A plugin that fails to import, or loads something that is
not what the group expects, raises ``PluginError`` naming the entry point, its package and what to
do. Tests can ``register`` implementations that no package declares, or override declared ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

from symphony.errors import SymphonyError

T = TypeVar("T")

PLUGIN_LOAD_FAILED = "plugin_load_failed"

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint
Discover = Callable[[str], Iterable["EntryPoint"]]


class PluginError(SymphonyError):
    """A declared plugin cannot be used: it failed to import or is not what its group expects."""

    code = PLUGIN_LOAD_FAILED


class PluginContractError(Exception):
    """Raised by a registry's ``check`` when a loaded object is not a usable implementation."""


def _discover(group: str) -> Iterable[EntryPoint]:
    # Imported here: importlib.metadata is slow to import, and `symphony board` never needs it.
    import importlib.metadata

    return importlib.metadata.entry_points(group=group)


def describe(entry_point: EntryPoint) -> str:
    """``'name = module:attr' from package dist 1.0`` (the package part only when known)."""
    text = f"entry point '{entry_point.name} = {entry_point.value}' (group {entry_point.group})"
    dist = getattr(entry_point, "dist", None)
    if dist is not None:
        text += f" from package {dist.name} {dist.version}"
    return text


def require_attributes(*names: str) -> Callable[[str, object], None]:
    """A ``check`` that the loaded object has every attribute in ``names`` and a matching kind."""

    def check(kind: str, plugin: object) -> None:
        missing = [name for name in names if not hasattr(plugin, name)]
        if missing:
            raise PluginContractError(
                f"the loaded {type(plugin).__name__} has no {', '.join(missing)}"
            )
        declared = getattr(plugin, "kind", kind)
        if declared != kind:
            raise PluginContractError(
                f"the loaded object says its kind is {declared!r}, not {kind!r}"
            )

    return check


class PluginRegistry(Generic[T]):
    """Implementations of one entry-point ``group`` by kind, imported on first use and kept.

    ``noun`` and ``setting`` only shape messages ("tracker", "tracker.kind"). ``check`` receives
    ``(kind, loaded object)`` and raises ``PluginContractError`` if the object is unusable.
    ``discover`` replaces the entry-point scan (tests pass fake entry points).
    """

    def __init__(
        self,
        group: str,
        *,
        noun: str,
        setting: str,
        check: Callable[[str, object], None],
        error_code: str = PLUGIN_LOAD_FAILED,
        discover: Discover = _discover,
    ) -> None:
        self.group = group
        self.noun = noun
        self.setting = setting
        self._check = check
        self._error_code = error_code
        self._discover = discover
        self._registered: dict[str, T] = {}
        # Keyed by entry point, not kind: what is installed can change while we run (tests).
        self._loaded: dict[EntryPoint, T] = {}

    # -- test hooks -------------------------------------------------------------------------

    def register(self, kind: str, plugin: T) -> None:
        """Add an implementation no package declares, or shadow a declared one (tests)."""
        self._registered[kind] = plugin

    def unregister(self, kind: str) -> None:
        """Drop a ``register``ed implementation; a declared one of that kind shows again."""
        self._registered.pop(kind, None)

    # -- lookups ----------------------------------------------------------------------------

    def entry_points(self) -> dict[str, list[EntryPoint]]:
        """Declared entry points by kind (several when packages disagree). Imports nothing."""
        found: dict[str, list[EntryPoint]] = {}
        for entry_point in self._discover(self.group):
            found.setdefault(entry_point.name, []).append(entry_point)
        return found

    def kinds(self) -> list[str]:
        """Every kind that is registered or declared, sorted. Imports no plugin."""
        return sorted(set(self._registered) | set(self.entry_points()))

    def get(self, kind: str) -> T | None:
        """The implementation for ``kind``, None if nothing provides it.

        Raises ``PluginError`` when a package declares ``kind`` but it cannot be used.
        """
        if kind in self._registered:
            return self._registered[kind]
        declared = self.entry_points()
        candidates = declared.get(kind)
        if not candidates:
            if not declared:
                raise self._error(
                    f"no {self.noun} is installed: no package declares a {self.group!r} entry "
                    "point. Symphony's own package metadata is missing or out of date; reinstall "
                    "it (scripts/setup, or pip install -e . in a source checkout)"
                )
            return None
        if len(candidates) > 1:
            raise self._error(
                f"{self.noun} kind {kind!r} is declared by more than one package: "
                + "; ".join(describe(ep) for ep in candidates)
                + ". Uninstall all but one of them"
            )
        [entry_point] = candidates
        if entry_point not in self._loaded:
            self._loaded[entry_point] = self._load(kind, entry_point)
        return self._loaded[entry_point]

    def _load(self, kind: str, entry_point: EntryPoint) -> T:
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise self._error(
                f"{self.noun} kind {kind!r} could not be loaded: {describe(entry_point)} "
                f"failed with {type(exc).__name__}: {exc}. Reinstall or upgrade that package "
                "(a dependency of it may be missing), uninstall it, or choose another "
                f"{self.setting}"
            ) from exc
        try:
            self._check(kind, plugin)
        except PluginContractError as exc:
            raise self._error(
                f"{self.noun} kind {kind!r} is not usable: {describe(entry_point)} does not "
                f"provide a {self.noun} implementation ({exc}). Report this to that package's "
                f"authors, uninstall it, or choose another {self.setting}"
            ) from exc
        result: T = plugin
        return result

    def _error(self, message: str) -> PluginError:
        return PluginError(f"{self.setting}: {message}", code=self._error_code)
