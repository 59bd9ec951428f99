"""Calling one plugin's ``warprec_register_*`` hooks through pluggy.

Both the plugin host (in this process) and the probe (in a child process) call hooks
here: through ``pm.subset_hook_caller`` restricted to one plugin, so that pluggy's
tracing, hook wrappers and blocking apply, and whatever a hook registers or raises is
the doing of that plugin.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import pluggy

from warprec import hookspecs
from warprec._registry import KINDS, check_name
from warprec.errors import PluginError
from warprec.utils.checks import shorten

__all__ = ["TRACE_ENV", "call_hooks", "hook_problem", "new_manager"]

TRACE_ENV = "WARPREC_TRACE_PLUGINS"
_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

# register(kind, name, target) for every registration a hook makes.
OnRegister = Callable[[str, str, Any], None]


def new_manager() -> pluggy.PluginManager:
    """A plugin manager with the warprec hookspecs; traced to stderr when
    ``WARPREC_TRACE_PLUGINS`` is set (as datasette does)."""
    pm = pluggy.PluginManager("warprec")
    pm.add_hookspecs(hookspecs)
    if os.environ.get(TRACE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        pm.trace.root.setwriter(lambda text: sys.stderr.write(f"[warprec plugins] {text}"))
        pm.enable_tracing()
    return pm


def call_hooks(pm: pluggy.PluginManager, name: str, on_register: OnRegister) -> list[str]:
    """Run every ``warprec_register_*`` hook of plugin ``name`` (already registered in
    ``pm``); returns the hooks it implements. A hook that raises, or registers something
    unusable, is one :class:`PluginError` naming the hook."""
    plugin = pm.get_plugin(name)
    hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
    problem = hook_problem(pm, plugin, hooks)
    if problem:
        raise PluginError(problem)
    others = [p for n, p in pm.list_name_plugin() if n != name and p is not None]
    for kind in KINDS:
        hook_name = f"warprec_register_{kind}"
        if hook_name not in hooks:
            continue

        def register(reg_name: Any, target: Any = None, *, _kind: str = kind) -> None:
            if target is None:  # register(obj): named after the object
                reg_name, target = (getattr(reg_name, "name", None)
                                    or getattr(reg_name, "__name__", None)), reg_name
            check_target(_kind, reg_name, target)
            check_name(KINDS[_kind], reg_name)
            on_register(_kind, reg_name, target)

        caller = pm.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            caller(register=register)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a plugin must not end the CLI
            raise PluginError(f"hook {hook_name} raised {type(exc).__name__}: "
                              f"{shorten(str(exc))}") from None
    return hooks


def hook_problem(pm: pluggy.PluginManager, plugin: object, hooks: list[str]) -> str | None:
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
        return "implements no warprec hook (expected functions decorated with @hookimpl, " \
               "such as warprec_register_models)"
    return None


def check_target(kind: str, name: Any, target: Any) -> None:
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
