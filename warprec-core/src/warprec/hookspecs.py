"""The hooks a WarpRec plugin can implement.

Each hook receives a ``register`` callback. Data-like kinds take a name and a lazy
``"package.module:Object"`` reference (or the object itself), so that discovering and
listing plugins imports neither torch nor any model module::

    @hookimpl
    def warprec_register_models(register):
        register("EASE", "warprec_models_classic.ease:EASE")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("warprec")
hookimpl = pluggy.HookimplMarker("warprec")

Register = Callable[..., Any]


@hookspec
def warprec_register_models(register: Register) -> None:
    """Register recommender models: ``register(name, "package.module:Class")``."""


@hookspec
def warprec_register_metrics(register: Register) -> None:
    """Register evaluation metrics: ``register(name, "package.module:Class")``."""


@hookspec
def warprec_register_losses(register: Register) -> None:
    """Register training losses: ``register(name, "package.module:Class")``."""


@hookspec
def warprec_register_splitters(register: Register) -> None:
    """Register data splitters: ``register(name, "package.module:Class")``."""


@hookspec
def warprec_register_filters(register: Register) -> None:
    """Register data filters: ``register(name, "package.module:Class")``."""


@hookspec
def warprec_register_datasets(register: Register) -> None:
    """Register bundled or downloadable datasets: ``register(name, "package.module:loader")``."""


@hookspec
def warprec_register_commands(register: Register) -> None:
    """Add click commands to the ``warprec`` CLI: ``register(click_command)``."""
