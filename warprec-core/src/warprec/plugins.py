"""The plugin host: discovery, isolation, validation and listing of plugins.

Plugins are distributions with an entry point in the ``warprec`` group whose module
holds ``@hookimpl`` functions. One :class:`PluginHost` owns the plugin manager, the
registries and the plugin records. Discovery (on the first registry lookup) reads
metadata, checks each plugin's requirement on ``warprec-core``, imports its (light) hook
module and runs its ``warprec_register_*`` hooks into the registries. A plugin that
fails in any way, ``SystemExit`` included, is recorded and skipped, unless strict mode
(``WARPREC_STRICT_PLUGINS=1`` or ``--strict``) is on: then every failure is reported.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import importlib_metadata
import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from warprec import _builtins, hookspecs
from warprec._registry import KINDS, Registry, Source
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
SLOW_SECONDS = 0.5  # a plugin's hook module that takes longer to load gets a warning
_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass
class PluginInfo:
    """What ``warprec plugins list`` reports about one plugin."""

    name: str
    version: str | None
    entry_point: str | None
    status: str = "ok"  # ok | error | incompatible | disabled
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    load_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``warprec plugins list --json``."""
        return asdict(self)


class PluginHost:
    """The plugin manager, the registries and the plugin records, owned together."""

    def __init__(self) -> None:
        self.registries = {kind: Registry(name, self.sync) for kind, name in KINDS.items()}
        self.strict: bool | None = None
        self._fresh()

    def _fresh(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self._applied: dict[str, object] = {}
        self._discovered = False
        self._syncing = False
        self._failures: list[str] = []

    @contextmanager
    def isolated(self) -> Iterator[PluginHost]:
        """A fresh host for the block (nothing discovered, empty registries, strict mode
        from the environment); everything is put back as it was afterwards."""
        saved = (self.pm, self.infos, self._applied, self._discovered, self._syncing,
                 self._failures, self.strict)
        entries = {kind: registry.snapshot() for kind, registry in self.registries.items()}
        self._fresh()
        self.strict = None
        for registry in self.registries.values():
            registry.restore({})
        try:
            yield self
        finally:
            (self.pm, self.infos, self._applied, self._discovered, self._syncing,
             self._failures, self.strict) = saved
            for kind, registry in self.registries.items():
                registry.restore(entries[kind])

    def is_strict(self) -> bool:
        """Strict mode: forced by :func:`set_strict`, else ``WARPREC_STRICT_PLUGINS``."""
        if self.strict is not None:
            return self.strict
        return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}

    def list_plugins(self) -> list[PluginInfo]:
        """Every discovered plugin (the core's built-ins excluded), sorted by name."""
        self.sync()
        for info in self.infos.values():
            info.conflicts = self._conflicts(info.name)
        return sorted((i for n, i in self.infos.items() if n != CORE_NAME),
                      key=lambda i: i.name.lower())

    def sync(self) -> None:
        """Discover plugins once, then run the hooks of every plugin not yet applied.

        Also applies plugins registered in-process with ``pm.register(obj, name=...)`` and
        forgets the entries of plugins removed with ``pm.unregister``. In strict mode the
        failures (and name conflicts) of this sync raise one :class:`PluginError`.
        """
        if self._syncing:
            return
        self._syncing = True
        self._failures = []
        try:
            if not self._discovered:
                self._discovered = True
                self._discover()
            current = dict(self.pm.list_name_plugin())
            for name in [n for n in self._applied if current.get(n) is not self._applied[n]]:
                self._forget(name)
            for name, plugin in current.items():
                if name not in self._applied:
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
            self.pm.unregister(plugin, name=name)
        for name in list(self._applied):
            self._forget(name)
        self.infos.clear()
        self._discovered = False

    def _discover(self) -> None:
        self.pm.register(_builtins, name=CORE_NAME)
        self.infos[CORE_NAME] = PluginInfo(CORE_NAME, core_version(), None)
        disabled = {canonicalize_name(n.strip())
                    for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist
            name = dist.name if dist is not None else ep.name
            info = PluginInfo(name, dist.version if dist else None, f"{ep.name} = {ep.value}")
            self.infos[name] = info
            if {canonicalize_name(name), canonicalize_name(ep.name)} & disabled:
                info.status = "disabled"
                continue
            problem = _incompatibility(dist)
            if problem:
                self._fail(info, "incompatible", problem)
                continue
            start = time.perf_counter()
            try:
                module = ep.load()
                self.pm.register(module, name=name)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # SystemExit too: a plugin must not end the CLI
                self._fail(info, "error", f"cannot load entry point {ep.value!r}: "
                                          f"{type(exc).__name__}: {shorten(str(exc))}")
            finally:
                info.load_seconds = round(time.perf_counter() - start, 4)

    def _apply(self, name: str, plugin: object) -> None:
        info = self.infos.setdefault(name, PluginInfo(name, None, None))
        self._applied[name] = plugin
        source = Source("plugin", name, info.version)
        info.hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        problem = _hook_problem(self.pm, plugin, info.hooks)
        if problem:
            return self._fail(info, "error", problem)
        for kind, registry in self.registries.items():
            hook_name = f"warprec_register_{kind}"
            impls = [i for i in getattr(self.pm.hook, hook_name).get_hookimpls()
                     if i.plugin_name == name]
            for impl in impls:
                added: list[str] = []

                def register(reg_name: Any, target: Any = None, *, _kind: str = kind,
                             _registry: Registry = registry, _added: list[str] = added) -> None:
                    if target is None:  # register(obj): named after the object
                        reg_name, target = (getattr(reg_name, "name", None)
                                            or getattr(reg_name, "__name__", None)), reg_name
                    _check_target(_kind, reg_name, target)
                    _registry.add(reg_name, target, source)
                    _added.append(reg_name)

                try:
                    impl.function(*[{"register": register}[arg] for arg in impl.argnames])
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    return self._fail(info, "error", f"hook {hook_name} raised "
                                                     f"{type(exc).__name__}: {shorten(str(exc))}")
                if added:
                    info.provides.setdefault(kind, []).extend(added)

    def _conflicts(self, name: str) -> list[str]:
        """Names this source registers that another source registers too."""
        clashes = []
        for registry in self.registries.values():
            for entries in registry.snapshot().values():
                sources = {e.source.name for e in entries}
                if name in sources and len(sources) > 1:
                    clashes.append(f"{registry.kind} {entries[0].name!r}")
        return clashes

    def _forget(self, name: str) -> None:
        self._applied.pop(name, None)
        for registry in self.registries.values():
            registry.remove_source(name)
        info = self.infos.get(name)
        if info is not None and info.status == "ok" and \
                name not in dict(self.pm.list_name_plugin()):
            del self.infos[name]

    def _fail(self, info: PluginInfo, status: str, error: str) -> None:
        info.status, info.error, info.provides = status, error, {}
        for registry in self.registries.values():
            registry.remove_source(info.name)
        self._failures.append(f"plugin {info.name!r}: {error}")


def _hook_problem(pm: pluggy.PluginManager, plugin: object, hooks: list[str]) -> str | None:
    """Unknown hooks, hook functions without ``@hookimpl``, or no hook at all."""
    unknown, unmarked = [], []
    for attribute in dir(plugin):
        if not attribute.startswith("warprec_"):
            continue
        if pm.parse_hookimpl_opts(plugin, attribute) is None:
            if callable(getattr(plugin, attribute, None)):
                unmarked.append(attribute)
            continue
        caller = getattr(pm.hook, attribute, None)
        if caller is None or caller.spec is None:
            unknown.append(attribute)
    if unknown:
        return f"implements unknown hook(s) {', '.join(unknown)}"
    if unmarked:
        return f"defines {', '.join(unmarked)} without @hookimpl (from warprec import hookimpl)"
    if not hooks:
        return "implements no warprec hook (expected @hookimpl functions such as " \
               "warprec_register_models)"
    return None


def _check_target(kind: str, name: Any, target: Any) -> None:
    """What a plugin registers must be usable: a lazy ``module:Name`` reference, or a
    Recommender subclass (models), a click command (commands), a callable (the rest)."""
    if not isinstance(name, str) or not name:
        raise PluginError(f"registered a {KINDS[kind]} without a usable name ({name!r})")
    if isinstance(target, str):
        if not _REFERENCE.match(target):
            raise PluginError(f"{KINDS[kind]} {name!r}: {target!r} is not a "
                              "'package.module:Name' reference")
        return
    if kind == "commands":
        import click

        if not isinstance(target, click.Command):
            raise PluginError(f"command {name!r}: got {type(target).__name__}; expected a "
                              "click command")
    elif kind == "models":
        base = sys.modules.get("warprec.recommenders.base_recommender")
        if not (inspect.isclass(target) and base is not None
                and issubclass(target, base.Recommender)):
            raise PluginError(f"model {name!r}: got {target!r}; expected a Recommender "
                              "subclass or a 'module:Class' reference")
    elif not callable(target):
        raise PluginError(f"{KINDS[kind]} {name!r}: got {type(target).__name__}; expected a "
                          "class or function")


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


def core_version() -> str:
    """The installed version of ``warprec-core``."""
    try:
        return importlib_metadata.version(CORE_NAME)
    except importlib_metadata.PackageNotFoundError:
        from warprec import __version__

        return __version__


host = PluginHost()


def failure_note() -> str:
    """`` (plugins that failed to load: ...)`` naming each broken plugin and why, or ``""``:
    added to an unknown-name error, since the name may be one such plugin provides."""
    failed = [i for i in host.infos.values() if i.status in ("error", "incompatible")]
    if not failed:
        return ""
    return " (plugins that failed to load: " + "; ".join(
        f"{i.name} {i.version or ''}: {shorten(i.error or i.status, 160)}" for i in failed) + ")"


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
