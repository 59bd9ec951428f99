"""Plugin discovery, isolation and listing.

Plugins are distributions with an entry point in the ``warprec`` group whose module
holds ``@hookimpl`` functions. Discovery reads metadata, checks each plugin's
requirement on ``warprec-core``, imports its (light) hook module and runs its
``warprec_register_*`` hooks into the registries. A plugin that fails is recorded and
skipped, unless strict mode (``WARPREC_STRICT_PLUGINS=1`` or ``--strict``) is on.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import importlib_metadata
import pluggy
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from warprec import _builtins, hookspecs
from warprec.errors import PluginError
from warprec.utils.registry import Source, registries

__all__ = [
    "CORE_NAME",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "core_version",
    "list_plugins",
    "pm",
    "reset",
    "set_strict",
    "sync",
]

ENTRY_POINT_GROUP = "warprec"
CORE_NAME = "warprec-core"
STRICT_ENV = "WARPREC_STRICT_PLUGINS"
DISABLE_ENV = "WARPREC_DISABLE_PLUGINS"

pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
pm.add_hookspecs(hookspecs)


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``warprec plugins list --json``."""
        return asdict(self)


_infos: dict[str, PluginInfo] = {}
_applied: dict[str, object] = {}
_state = {"discovered": False, "syncing": False, "strict": None}


def core_version() -> str:
    """The installed version of ``warprec-core``."""
    try:
        return importlib_metadata.version(CORE_NAME)
    except importlib_metadata.PackageNotFoundError:
        from warprec import __version__

        return __version__


def set_strict(strict: bool | None) -> None:
    """Force strict mode on or off (``None``: follow ``WARPREC_STRICT_PLUGINS``)."""
    _state["strict"] = strict


def list_plugins() -> list[PluginInfo]:
    """Every discovered plugin (the core's built-ins excluded), sorted by name."""
    sync()
    return sorted((i for n, i in _infos.items() if n != CORE_NAME), key=lambda i: i.name.lower())


def sync() -> None:
    """Discover plugins once, then run the hooks of every plugin not yet applied.

    Also applies plugins registered in-process with ``pm.register(obj, name=...)`` and
    forgets the entries of plugins removed with ``pm.unregister``.
    """
    if _state["syncing"]:
        return
    _state["syncing"] = True
    try:
        if not _state["discovered"]:
            _state["discovered"] = True
            _discover()
        current = dict(pm.list_name_plugin())
        for name in [n for n in _applied if current.get(n) is not _applied[n]]:
            _forget(name)
        for name, plugin in current.items():
            if name not in _applied:
                _apply(name, plugin)
    finally:
        _state["syncing"] = False


def reset() -> None:
    """Unregister every plugin and forget discovery, so the next lookup rediscovers."""
    for name, plugin in list(pm.list_name_plugin()):
        pm.unregister(plugin, name=name)
    for name in list(_applied):
        _forget(name)
    _infos.clear()
    _state["discovered"] = False


def _strict() -> bool:
    if _state["strict"] is not None:
        return bool(_state["strict"])
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _discover() -> None:
    pm.register(_builtins, name=CORE_NAME)
    _infos[CORE_NAME] = PluginInfo(CORE_NAME, core_version(), None)
    disabled = {
        canonicalize_name(n.strip())
        for n in os.environ.get(DISABLE_ENV, "").split(",")
        if n.strip()
    }
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        name = dist.name if dist is not None else ep.name
        info = PluginInfo(name, dist.version if dist else None, f"{ep.name} = {ep.value}")
        _infos[name] = info
        if {canonicalize_name(name), canonicalize_name(ep.name)} & disabled:
            info.status = "disabled"
            continue
        problem = _incompatibility(dist)
        if problem:
            _fail(info, "incompatible", problem)
            continue
        try:
            pm.register(ep.load(), name=name)
        except Exception as exc:
            _fail(
                info, "error", f"cannot load entry point {ep.value!r}: {type(exc).__name__}: {exc}"
            )


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


def _apply(name: str, plugin: object) -> None:
    info = _infos.setdefault(name, PluginInfo(name, None, None))
    _applied[name] = plugin
    source = Source("plugin", name, info.version)
    info.hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
    unknown = [h for h in dir(plugin) if _is_unknown_hook(plugin, h)]
    if unknown:
        return _fail(info, "error", f"implements unknown hook(s) {', '.join(unknown)}")
    for kind, registry in registries.items():
        hook_name = f"warprec_register_{kind}"
        impls = [i for i in getattr(pm.hook, hook_name).get_hookimpls() if i.plugin_name == name]
        for impl in impls:
            added: list[str] = []

            def register(reg_name: Any, target: Any = None, *, _reg=registry, _added=added) -> None:
                if target is None:  # register(obj): named after the object
                    reg_name, target = (
                        getattr(reg_name, "name", None) or reg_name.__name__,
                        reg_name,
                    )
                _reg.add(reg_name, target, source)
                _added.append(reg_name)

            try:
                impl.function(*[{"register": register}[arg] for arg in impl.argnames])
            except Exception as exc:
                return _fail(info, "error", f"hook {hook_name} raised {type(exc).__name__}: {exc}")
            if added:
                info.provides.setdefault(kind, []).extend(added)


def _is_unknown_hook(plugin: object, attribute: str) -> bool:
    if pm.parse_hookimpl_opts(plugin, attribute) is None:
        return False
    caller = getattr(pm.hook, attribute, None)
    return caller is None or caller.spec is None


def _forget(name: str) -> None:
    _applied.pop(name, None)
    for registry in registries.values():
        registry.remove_source(name)
    info = _infos.get(name)
    if info is not None and info.status == "ok" and name not in dict(pm.list_name_plugin()):
        del _infos[name]


def _fail(info: PluginInfo, status: str, error: str) -> None:
    info.status, info.error, info.provides = status, error, {}
    for registry in registries.values():
        registry.remove_source(info.name)
    if _strict():
        raise PluginError(f"plugin {info.name!r}: {error}")
