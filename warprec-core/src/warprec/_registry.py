"""The registry container: names to entries, each a lazy reference or an object with
its source. Plain containers: the plugin host (:mod:`warprec.plugins`) owns them and
asks to be told of lookups, so that plugins are discovered on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from warprec.errors import RegistryError
from warprec.utils.names import close_matches

__all__ = ["KINDS", "Entry", "Registry", "Source", "check_name", "reference_of"]

# Hook kind -> registry kind, in the order plugins list what they provide.
KINDS = {"models": "model", "metrics": "metric", "losses": "loss", "splitters": "splitter",
         "filters": "filter", "datasets": "dataset", "commands": "command"}

@dataclass(frozen=True)
class Source:
    """Where a registry entry comes from: a plugin distribution or a Python module."""

    kind: str  # "plugin" (the core's built-ins included) or "module"
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


@dataclass
class Entry:
    """One registered name: a lazy reference or an object, and its source."""

    name: str
    target: str | Any
    source: Source
    # Set by the plugin host for what a plugin's cached manifest lists: imports the
    # plugin in this process first, then returns the object its hook registered.
    loader: Callable[[Entry], Any] | None = field(default=None, repr=False, compare=False)
    _loaded: Any = field(default=None, repr=False)

    @property
    def reference(self) -> str:
        """The ``"module:QualifiedName"`` the entry points at."""
        return reference_of(self.target)

    def load(self) -> Any:
        """Return the registered object, importing a lazy reference on first use."""
        if self._loaded is None:
            if self.loader is not None:
                self._loaded = self.loader(self)
            elif isinstance(self.target, str):
                self._loaded = _import(self)
            else:
                self._loaded = self.target
        return self._loaded


def reference_of(target: Any) -> str:
    """``"module:QualifiedName"`` of a registered object (a click command: its callback)."""
    if isinstance(target, str):
        return target
    obj = target if hasattr(target, "__qualname__") else getattr(target, "callback", target)
    return f"{getattr(obj, '__module__', '?')}:" \
           f"{getattr(obj, '__qualname__', type(obj).__name__)}"


def check_name(kind: str, name: Any) -> None:
    """A registry name is a non-empty string without ``:`` or control characters."""
    if not name or not isinstance(name, str) or ":" in name or not name.isprintable():
        raise RegistryError(f"invalid {kind} name {name!r}: a non-empty name without "
                            "':' or control characters (tab, newline...)")


def _import(entry: Entry) -> Any:
    module_name, _, attribute = entry.target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split(".") if attribute else []:
            obj = getattr(obj, part)
    except Exception as exc:  # any failure of third-party code is reported the same way
        raise RegistryError(
            f"{entry.name!r} (from {entry.source}) cannot be loaded from "
            f"{entry.target!r}: {type(exc).__name__}: {exc}"
        ) from exc
    return obj


class Registry:
    """A case-insensitive map from names to entries of one kind (models, metrics...)."""

    def __init__(self, kind: str, on_lookup: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self.on_lookup = on_lookup  # the plugin host's sync, run before every lookup
        self._entries: dict[str, list[Entry]] = {}
        # Set by the plugin host: lower-case name -> why it cannot be used (its provider
        # failed to load); failures whose names are unknown; the "install X" hint.
        self.unavailable: dict[str, str] = {}
        self.unknown_failures: list[str] = []
        self.hint: Callable[[str], str] | None = None

    def _looking_up(self) -> None:
        if self.on_lookup is not None:
            self.on_lookup()

    def snapshot(self) -> dict[str, list[Entry]]:
        """A copy of the entries, for :meth:`restore`."""
        return {key: list(entries) for key, entries in self._entries.items()}

    def restore(self, snapshot: dict[str, list[Entry]]) -> None:
        """Put back the entries of a :meth:`snapshot` (an empty one clears the registry)."""
        self._entries = {key: list(entries) for key, entries in snapshot.items()}

    def register(
        self, obj: Any = None, *, name: str | None = None, source: Source | None = None
    ) -> Any:
        """Register ``obj`` under ``name`` (default: its ``__name__``).

        Used bare (``@registry.register``), with arguments
        (``@registry.register(name="MyModel")``) or called directly. Returns ``obj``.
        """

        def decorate(target: Any) -> Any:
            module = getattr(target, "__module__", None) or "__main__"
            self.add(name or target.__name__, target, source or Source("module", module))
            return target

        return decorate if obj is None else decorate(obj)

    def add(self, name: str, target: str | Any, source: Source,
            loader: Callable[[Entry], Any] | None = None) -> Entry:
        """Add an entry; re-adding the same name from the same source replaces it."""
        check_name(self.kind, name)
        entry = Entry(name, target, source, loader)
        entries = self._entries.setdefault(name.lower(), [])
        for i, old in enumerate(entries):
            if old.source == source:
                entries[i] = entry
                return entry
            if old.reference == entry.reference and "module" in {old.source.kind, source.kind}:
                # The decorator running inside a module a plugin references lazily:
                # one entry, credited to the plugin, now loaded.
                merged = old if old.source.kind == "plugin" else entry
                merged._loaded = target if not isinstance(target, str) else old._loaded
                entries[i] = merged
                return merged
        entries.append(entry)
        return entry

    def remove_source(self, source_name: str) -> None:
        """Drop every entry a source registered (used when a plugin is unregistered)."""
        for key in list(self._entries):
            kept = [e for e in self._entries[key] if e.source.name != source_name]
            if kept:
                self._entries[key] = kept
            else:
                del self._entries[key]

    def find(self, name: str, source: Source) -> Entry | None:
        """The entry ``source`` registered under ``name`` exactly, if any (no lookup)."""
        return next((e for e in self._entries.get(name.lower(), [])
                     if e.name == name and e.source == source), None)

    def entry(self, name: str) -> Entry:
        """The entry for ``name`` (``"<source>:<Name>"`` picks one of several).

        A name a plugin that failed to load provides is refused with that plugin's
        failure, and never resolves to another source's entry by its case alone.
        """
        self._looking_up()
        source_name, _, bare = name.rpartition(":")
        candidates = self._entries.get(bare.lower(), [])
        if source_name:
            candidates = [e for e in candidates if _matches(e.source, source_name)]
        else:
            self._refuse_failed_provider(bare, candidates)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            options = ", ".join(f"'{e.source.name}:{e.name}' ({e.source})" for e in candidates)
            raise RegistryError(
                f"{self.kind} name {bare!r} is ambiguous: it is registered by "
                f"{len(candidates)} sources; use one of {options}"
            )
        raise RegistryError(self._unknown_message(name))

    def _refuse_failed_provider(self, name: str, candidates: list[Entry]) -> None:
        others = " or ".join(f"'{e.source.name}:{e.name}'" for e in candidates)
        use = f" (or write {others} for the other provider)" if others else ""
        why = self.unavailable.get(name.lower())
        if why is not None:
            raise RegistryError(f"{self.kind} {name!r} cannot be used: {why}; fix or "
                                f"uninstall that plugin{use}.")
        if candidates and self.unknown_failures and \
                not any(e.name == name for e in candidates):
            raise RegistryError(
                f"{self.kind} {name!r} is not registered under this exact name, and "
                f"{'; '.join(self.unknown_failures)} (it may provide it); write "
                f"{others} to use the {self.kind} whose name matches it only by case.")

    def get_class(self, name: str) -> Any:
        """The registered object (class or function) for ``name``."""
        return self.entry(name).load()

    def get(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build an instance: ``get_class(name)(*args, **kwargs)``."""
        return self.get_class(name)(*args, **kwargs)

    def entries(self) -> list[Entry]:
        """All entries, sorted by name."""
        self._looking_up()
        return sorted((e for es in self._entries.values() for e in es), key=_sort_key)

    def names(self) -> list[str]:
        """All registered names (a conflicting name once), sorted."""
        return sorted({e.name for e in self.entries()}, key=str.lower)

    def __contains__(self, name: object) -> bool:
        try:
            self.entry(str(name))
        except RegistryError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _unknown_message(self, name: str) -> str:
        message = f"unknown {self.kind} {name!r}"
        known = {e.name.lower(): e.name for es in self._entries.values() for e in es}
        close = close_matches(name, known.values(), n=3)
        if close:
            message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        hint = self.hint(name) if self.hint is not None else ""
        if hint:
            message += (" " if close else ". ") + hint
        elif not close:
            message += f" (known: {', '.join(sorted(known.values(), key=str.lower)) or 'none'})"
        return message


def _matches(source: Source, qualifier: str) -> bool:
    wanted = _canonical(qualifier)
    return wanted in {_canonical(source.name), _canonical(source.name.rpartition(".")[2])}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _sort_key(entry: Entry) -> tuple[str, str]:
    return entry.name.lower(), entry.source.name
