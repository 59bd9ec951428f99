"""The plugin host: discovery, isolation, validation and listing of plugins.

Plugins are distributions with an entry point in the ``warprec`` group whose module
holds ``@hookimpl`` functions. One :class:`PluginHost` owns the plugin manager, the
registries and the plugin records. Discovery reads metadata only; what each plugin
registers comes from its manifest (:mod:`warprec._manifests`: made once in a child
process under a time and a memory limit, then cached), so listing imports no plugin
code and no plugin can hang or kill a command that does not use it. A plugin is
imported in this process only when something it provides is loaded; its hooks then run
through pluggy (:mod:`warprec._hooks`). A failing plugin is recorded and skipped, unless
strict mode (``WARPREC_STRICT_PLUGINS=1`` or ``--strict``) is on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import importlib_metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from warprec import _advice, _builtins
from warprec._hooks import call_hooks, new_manager
from warprec._manifests import Manifest, Target, file_state, key_of, load_manifests
from warprec._registry import KINDS, Entry, Registry, Source
from warprec.errors import PluginError
from warprec.utils.checks import shorten

__all__ = [
    "CORE_NAME",
    "ENTRY_POINT_GROUP",
    "PluginHost",
    "PluginInfo",
    "core_version",
    "failure_note",
    "host",
    "list_plugins",
    "reset",
    "set_strict",
    "sync",
]

ENTRY_POINT_GROUP = "warprec"
CORE_NAME = "warprec-core"
STRICT_ENV = "WARPREC_STRICT_PLUGINS"
DISABLE_ENV = "WARPREC_DISABLE_PLUGINS"
ALLOW_ENV = "WARPREC_ALLOW_INCOMPATIBLE"
SLOW_SECONDS = 0.5  # a plugin's hook module that takes longer to load gets a warning
_CORE_HOOKS = "warprec._builtins"
_FAILED = ("error", "incompatible")


@dataclass
class PluginInfo:
    """What ``warprec plugins list`` reports about one plugin."""

    name: str
    version: str | None
    entry_point: str | None
    status: str = "ok"  # ok | conflict | error | incompatible | disabled
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``warprec plugins list --json``."""
        return asdict(self)


class PluginHost:
    """The plugin manager, the registries and the plugin records, owned together."""

    def __init__(self) -> None:
        self.registries = {kind: Registry(name, self.sync) for kind, name in KINDS.items()}
        for kind, registry in self.registries.items():
            registry.hint = lambda name, _kind=kind: self._hint(_kind, name)
        self.strict: bool | None = None
        self._fresh()

    def _fresh(self) -> None:
        self.pm = new_manager()
        self.infos: dict[str, PluginInfo] = {}
        self.manifests: dict[str, Manifest] = {}
        self._entry_points: dict[str, Any] = {}
        self._applied: dict[str, object] = {}
        self._discovered = self._loaded = self._syncing = False
        self._failures: list[str] = []

    def _state(self) -> tuple[Any, ...]:
        return (self.pm, self.infos, self.manifests, self._entry_points, self._applied,
                self._discovered, self._loaded, self._syncing, self._failures, self.strict)

    @contextmanager
    def isolated(self) -> Iterator[PluginHost]:
        """A fresh host for the block (nothing discovered, empty registries, strict mode
        from the environment); everything is put back as it was afterwards."""
        saved = self._state()
        entries = {kind: (r.snapshot(), r.unavailable, r.unknown_failures)
                   for kind, r in self.registries.items()}
        self._fresh()
        self.strict = None
        for registry in self.registries.values():
            registry.restore({})
            registry.unavailable, registry.unknown_failures = {}, []
        try:
            yield self
        finally:
            (self.pm, self.infos, self.manifests, self._entry_points, self._applied,
             self._discovered, self._loaded, self._syncing, self._failures,
             self.strict) = saved
            for kind, registry in self.registries.items():
                snapshot, registry.unavailable, registry.unknown_failures = entries[kind]
                registry.restore(snapshot)

    def is_strict(self) -> bool:
        """Strict mode: forced by :func:`set_strict`, else ``WARPREC_STRICT_PLUGINS``."""
        if self.strict is not None:
            return self.strict
        return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}

    def list_plugins(self) -> list[PluginInfo]:
        """Every discovered plugin (the core's built-ins excluded), sorted by name; a
        plugin whose names another source also registers has the status ``conflict``."""
        self.sync()
        for info in self.infos.values():
            info.conflicts = self._conflicts(info.name)
            if info.status in ("ok", "conflict"):
                info.status = "conflict" if info.conflicts else "ok"
        return sorted((i for n, i in self.infos.items() if n != CORE_NAME),
                      key=lambda i: i.name.lower())

    def discover(self) -> None:
        """Read the installed plugins' metadata (imports nothing): the disabled, the
        incompatible, and the fenced ones ``WARPREC_ALLOW_INCOMPATIBLE`` lets in (each
        with a warning on stderr)."""
        if self._discovered:
            return
        self._discovered = True
        self.infos[CORE_NAME] = PluginInfo(CORE_NAME, core_version(), None)
        disabled, allowed = _names(DISABLE_ENV), _names(ALLOW_ENV)
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            name = dist.name if dist is not None else ep.name
            info = PluginInfo(name, dist.version if dist else None, f"{ep.name} = {ep.value}")
            self.infos[name] = info
            self._entry_points[name] = ep
            if {canonicalize_name(name), canonicalize_name(ep.name)} & disabled:
                info.status = "disabled"
                self.pm.set_blocked(name)
                continue
            problem = _incompatibility(dist)
            if problem and canonicalize_name(name) in allowed:
                info.warning = f"plugin {name} {problem}; loaded anyway because {ALLOW_ENV} " \
                               "names it (widen its range once it works)"
                sys.stderr.write(f"Warning: {info.warning}\n")
            elif problem:
                self._fail(info, "incompatible", problem)

    def sync(self) -> None:
        """Discover plugins and read their manifests once, then apply the plugins
        registered in this process with ``pm.register(obj, name=...)`` and forget those
        removed with ``pm.unregister``. In strict mode the failures (and name conflicts)
        raise one :class:`PluginError`."""
        if self._syncing:
            return
        self._syncing = True
        try:
            if not self._loaded:
                self._failures = []
                self.discover()
                self._loaded = True
                self.pm.register(_builtins, name=CORE_NAME)
                self._apply(CORE_NAME, _builtins)
                self._read_manifests()
            current = dict(self.pm.list_name_plugin())
            for name in [n for n in self._applied if current.get(n) is not self._applied[n]]:
                self._forget(name)
            for name, plugin in current.items():
                if name not in self._applied and plugin is not None:
                    self._apply(name, plugin)
        finally:
            self._syncing = False
        if self.is_strict():
            problems = self._failures + [f"plugin {n!r}: provides names another source also "
                                         f"registers: {', '.join(c)}"
                                         for n in self.infos if (c := self._conflicts(n))]
            if problems:
                raise PluginError(f"{len(problems)} plugin problem(s): " + "; ".join(problems))

    def reset(self) -> None:
        """Unregister every plugin and forget discovery, so the next lookup rediscovers."""
        for name, plugin in list(self.pm.list_name_plugin()):
            if plugin is not None:
                self.pm.unregister(plugin, name=name)
        for name in list(self._applied):
            self._forget(name)
        for registry in self.registries.values():
            registry.unavailable, registry.unknown_failures = {}, []
        self._fresh()

    def targets(self, names: list[str] | None = None) -> list[Target]:
        """What to probe: the core and every enabled, compatible (or allowed) plugin, or
        only those ``names``."""
        self.discover()
        core = _core_state()
        wanted = {canonicalize_name(n) for n in names} if names is not None else None
        targets = [Target(CORE_NAME, core_version(), _CORE_HOOKS, key_of(core))]
        for name, ep in self._entry_points.items():
            info = self.infos[name]
            if info.status in ("disabled", "incompatible") or \
                    (wanted is not None and canonicalize_name(name) not in wanted):
                continue
            state = file_state(ep.dist) if ep.dist is not None else name
            targets.append(Target(name, info.version, ep.value, key_of(core, state)))
        return targets

    def description(self, kind: str, entry: Entry) -> dict[str, Any] | None:
        """What the manifest of the entry's plugin says about it (``params``, ``help``
        or ``error``); ``None`` when the entry has no manifest (registered in-process)."""
        manifest = self.manifests.get(entry.source.name)
        if manifest is None or entry.source.kind != "plugin":
            return None
        return manifest.entry(kind, entry.name)

    def activate(self, name: str) -> None:
        """Import plugin ``name`` in this process and run its hooks (once); a failure is
        one :class:`PluginError` naming the plugin."""
        if name in self._applied:
            return
        info = self.infos[name]
        ep = self._entry_points[name]
        label = f"plugin {name} {info.version or ''}".rstrip()
        try:
            module = ep.load()
            self.pm.register(module, name=name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a plugin must not end the CLI
            raise PluginError(f"{label}: cannot load entry point {ep.value!r}: "
                              f"{type(exc).__name__}: {shorten(str(exc))}") from None
        if not self._apply(name, module):
            raise PluginError(f"{label}: {info.error}")

    def _read_manifests(self) -> None:
        self.manifests = load_manifests(self.targets())
        unknown = []
        for name, manifest in self.manifests.items():
            if name != CORE_NAME and not self._feed(self.infos[name], manifest):
                unknown.append(f"plugin {name} failed to load "
                               f"({shorten(manifest.error or '', 120)})")
        # Model names only: a broken plugin of unknown names must not change which model
        # a config's name picks (metrics and the rest keep their case-insensitive lookup).
        self.registries["models"].unknown_failures = unknown

    def _feed(self, info: PluginInfo, manifest: Manifest) -> bool:
        """Registry entries from a manifest (they import the plugin when loaded). For a
        plugin that failed, the names it is known to provide (what its hooks registered
        before the failure, the known-plugins index) are marked unavailable; ``False``
        when there are none."""
        info.hooks, info.load_seconds = manifest.hooks, manifest.load_seconds
        source = Source("plugin", info.name, info.version)
        if manifest.status == "ok":
            for kind, entries in manifest.entries.items():
                for item in entries:
                    self.registries[kind].add(item["name"], item["reference"], source,
                                              loader=partial(self._load_entry, kind))
                    info.provides.setdefault(kind, []).append(item["name"])
            return True
        self._fail(info, "error", manifest.error or "failed")
        claimed = {k: [e["name"] for e in es] for k, es in manifest.entries.items()}
        why = f"it is provided by plugin {info.name} {info.version or ''}, which failed to " \
              f"load: {shorten(info.error or '')}"
        for kind, names in {**_advice.known_plugins().get(info.name, {}), **claimed}.items():
            for reg_name in names:
                self.registries[kind].unavailable[reg_name.lower()] = why
        return any(claimed.values()) or info.name in _advice.known_plugins()

    def _load_entry(self, kind: str, entry: Entry) -> Any:
        self.activate(entry.source.name)
        fresh = self.registries[kind].find(entry.name, entry.source)
        if fresh is not None and fresh.loader is None:
            return fresh.load()
        raise PluginError(f"plugin {entry.source}: {entry.name!r} is in its cached manifest "
                          "but its hooks no longer register it (run warprec plugins doctor "
                          f"{entry.source.name} to read it again)")

    def _apply(self, name: str, plugin: object) -> bool:
        """Run the hooks of a plugin registered in this process into the registries."""
        info = self.infos.setdefault(name, PluginInfo(name, None, None))
        self._applied[name] = plugin
        source = Source("plugin", name, info.version)
        provides: dict[str, list[str]] = {}

        def on_register(kind: str, reg_name: str, target: Any) -> None:
            self.registries[kind].add(reg_name, target, source)
            provides.setdefault(kind, []).append(reg_name)

        try:
            info.hooks = call_hooks(self.pm, name, on_register)
        except PluginError as exc:
            self._fail(info, "error", str(exc))
            return False
        info.provides = provides
        return True

    def _conflicts(self, name: str) -> list[str]:
        """Names this source registers that another source registers too, with the
        qualified names that pick one."""
        clashes = []
        for registry in self.registries.values():
            for entries in registry.snapshot().values():
                entries = sorted(entries, key=lambda e: e.source.name)
                sources = [e.source.name for e in entries]
                if name in sources and len(set(sources)) > 1:
                    others = ", ".join(dict.fromkeys(s for s in sources if s != name))
                    own = next(e.name for e in entries if e.source.name == name)
                    qualified = " or ".join(f"'{e.source.name}:{e.name}'" for e in entries)
                    clashes.append(f"{registry.kind} {own!r} (also from {others}; write "
                                   f"{qualified})")
        return clashes

    def _forget(self, name: str) -> None:
        self._applied.pop(name, None)
        for registry in self.registries.values():
            registry.remove_source(name)
        info = self.infos.get(name)
        if info is not None and info.status == "ok" and name not in self._entry_points \
                and name not in dict(self.pm.list_name_plugin()):
            del self.infos[name]

    def _fail(self, info: PluginInfo, status: str, error: str) -> None:
        info.status, info.error, info.provides = status, error, {}
        for registry in self.registries.values():
            registry.remove_source(info.name)
        self._failures.append(f"plugin {info.name!r}: {error}")

    def _hint(self, kind: str, name: str) -> str:
        if kind != "models":
            return ""
        provided = {n: {k: [e["name"] for e in es] for k, es in m.entries.items()}
                    for n, m in self.manifests.items() if n != CORE_NAME}
        installed = {n: i.status for n, i in self.infos.items() if n != CORE_NAME}
        any_case = not self.registries[kind].unknown_failures
        return _advice.install_hint(kind, name, installed, provided, any_case=any_case)


def _names(env: str) -> set[str]:
    return {canonicalize_name(n.strip()) for n in os.environ.get(env, "").split(",")
            if n.strip()}


def _incompatibility(dist: Any) -> str | None:
    installed = core_version()
    for line in (dist.requires or []) if dist is not None else []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != CORE_NAME:
            continue
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            return f"needs {CORE_NAME}{requirement.specifier}, installed {installed}"
    return None


def _core_state() -> str:
    try:
        return file_state(importlib_metadata.distribution(CORE_NAME))
    except importlib_metadata.PackageNotFoundError:
        return core_version()


def core_version() -> str:
    """The installed version of ``warprec-core``."""
    try:
        return importlib_metadata.version(CORE_NAME)
    except importlib_metadata.PackageNotFoundError:
        from warprec import __version__

        return __version__


host = PluginHost()


def failure_note() -> str:
    """A sentence naming each plugin that failed to load and why, or ``""``: added to an
    unknown-name error, since the name may be one such plugin provides."""
    failed = [i for i in host.infos.values() if i.status in _FAILED]
    if not failed:
        return ""
    return " It may be provided by a plugin that failed to load: " + "; ".join(
        f"{i.name} {i.version or ''}: {shorten(i.error or i.status, 160)}"
        for i in failed).rstrip(".") + "."


def set_strict(strict: bool | None) -> None:
    """Force strict mode on or off (``None``: follow ``WARPREC_STRICT_PLUGINS``)."""
    host.strict = strict


def list_plugins() -> list[PluginInfo]:
    """Every discovered plugin of the default host (the core excluded), sorted by name."""
    return host.list_plugins()


def sync() -> None:
    """Discover and apply plugins of the default host (see :meth:`PluginHost.sync`)."""
    host.sync()


def reset() -> None:
    """Forget the default host's plugins, so the next lookup rediscovers them."""
    host.reset()


def __getattr__(name: str) -> Any:
    if name == "pm":  # the current plugin manager (a fresh host swaps it)
        return host.pm
    raise AttributeError(f"module 'warprec.plugins' has no attribute {name!r}")
